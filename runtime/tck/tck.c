/*
 * tck.c — `ferry tck PLUGIN.so`: loads the plugin with the loader's own
 * checks, then for each connector (or the one --connector names) runs the
 * rules and prints one line per rule on stdout. The rules that need no
 * running connector:
 *   descriptor    the loader accepted the plugin (ABI, sizes, callbacks, option table)
 *   options       every option has a description and a plain name; the connector a
 *                 version and a description
 *   config        the --config options validate against the option table
 *   open-failure  (tck_lifecycle.c)
 * and then, unless tck.skip.runtime says why not, the kind's rules
 * (tck_source.c, tck_sink.c), stop and cycles (tck_lifecycle.c).
 *
 * A rule that hangs is cut short by an alarm: the TCK reports it and exits
 * at once (a thread inside the plugin cannot be taken back).
 */
#include "tck/tck.h"

#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/plugin.h"
#include "tck/tck_internal.h"
#include "util/strutil.h"

#define TCK_PHASE_TIMEOUT_S 60

static int counts[3]; /* by tck_result_t */

/* The phase under way, for the alarm handler (main thread writes). */
static char phase[256];

void tck_report(const char *connector, const char *rule, tck_result_t result, const char *fmt, ...)
{
    static const char *const names[] = {"PASS", "FAIL", "SKIP"};
    va_list ap;
    va_start(ap, fmt);
    char *reason = str_vprintf(fmt, ap);
    va_end(ap);
    printf("%s %s %s: %s\n", names[result], connector, rule, reason);
    fflush(stdout);
    free(reason);
    counts[result]++;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char tail[] = ": did not finish within 60 s; giving up\n";
    ssize_t rc = write(STDOUT_FILENO, "FAIL ", 5);
    rc = write(STDOUT_FILENO, phase, strlen(phase));
    rc = write(STDOUT_FILENO, tail, sizeof(tail) - 1);
    (void)rc;
    _exit(1);
}

static void phase_start(const char *connector, const char *rules)
{
    snprintf(phase, sizeof(phase), "%s %s", connector, rules);
    alarm(TCK_PHASE_TIMEOUT_S);
}

static int plain_name(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-')) return 0;
    return 1;
}

static void rule_options(const ferry_connector_t *conn)
{
    size_t n = 0;
    char problem[512] = "";
    if (!conn->version || !conn->version[0]) snprintf(problem, sizeof(problem), "the connector has no version");
    else if (!conn->description || !conn->description[0])
        snprintf(problem, sizeof(problem), "the connector has no description");
    for (; conn->options && conn->options[n].name; n++) {
        const ferry_option_t *opt = &conn->options[n];
        if (problem[0]) continue;
        if (!plain_name(opt->name))
            snprintf(problem, sizeof(problem), "option '%s': names are lower case letters, digits, '.', '_' and '-'",
                     opt->name);
        else if (!opt->description || !opt->description[0])
            snprintf(problem, sizeof(problem), "option '%s' has no description (docs and `ferry plugins` show it)",
                     opt->name);
    }
    if (problem[0])
        tck_report(conn->name, "options", TCK_FAIL, "%s", problem);
    else
        tck_report(conn->name, "options", TCK_PASS, "%zu option(s), each named plainly and described", n);
}

static const char *const source_runtime_rules[] = {"open", "poll-budget", "records", "offsets", "commit-twice",
                                                   "should-stop", "stop", "cycles", NULL};
static const char *const sink_runtime_rules[] = {"open", "put-flush", "flush-limits", "stop", "cycles", NULL};

/* Returns -1 when a task thread of the plugin is stuck. */
static int run_connector(const ferry_connector_t *conn, const ferry_plugin_t *plugin, const tck_file_t *file,
                         const char *const *names, size_t nnames)
{
    const char *cn = conn->name;
    const ferry_host_t *host = conn->kind == FERRY_SINK ? tck_host_sink() : tck_host_source();
    tck_report(cn, "descriptor", TCK_PASS, "%s %s of plugin %s (ABI %u.%u): accepted by the loader's checks",
               conn->kind == FERRY_SINK ? "sink" : "source", conn->version ? conn->version : "?",
               plugin->name ? plugin->name : "?", FERRY_ABI_VERSION_MAJOR(plugin->abi_version),
               FERRY_ABI_VERSION_MINOR(plugin->abi_version));
    rule_options(conn);

    tck_spec_t spec;
    tck_file_spec(file, cn, names, nnames, &spec);
    cfg_errors_t errs = {0};
    phase_start(cn, "config");
    ferry_config_t *cfg = tck_config_build(conn, host, &spec.options, NULL, NULL, &errs);
    char *skip = NULL;
    if (!cfg) {
        char *why = tck_errors_join(&errs);
        tck_report(cn, "config", TCK_FAIL, "the options given do not validate: %s", why);
        free(why);
        skip = str_dup("no valid config (see the config rule)");
    } else {
        tck_report(cn, "config", TCK_PASS, "%zu option(s) given, valid", spec.options.count);
        if (spec.skip_runtime) skip = str_printf("tck.skip.runtime: %s", spec.skip_runtime);
    }
    cfg_errors_clear(&errs);

    phase_start(cn, "open-failure");
    tck_rule_open_failure(conn, &spec);

    int rc = 0;
    if (skip) {
        for (const char *const *r = conn->kind == FERRY_SINK ? sink_runtime_rules : source_runtime_rules; *r; r++)
            tck_report(cn, *r, TCK_SKIP, "%s", skip);
    } else {
        offset_map_t *offsets = offset_map_new();
        phase_start(cn, conn->kind == FERRY_SINK ? "put-flush" : "poll-budget");
        if (conn->kind == FERRY_SINK)
            tck_sink_rules(conn, cfg);
        else
            tck_source_rules(conn, cfg, offsets);
        phase_start(cn, "stop");
        rc = tck_rule_stop(conn, cfg);
        if (rc == 0) {
            phase_start(cn, "cycles");
            tck_rule_cycles(conn, cfg, offsets);
        } else {
            tck_report(cn, "cycles", TCK_SKIP, "a task thread is stuck in the plugin");
        }
        offset_map_free(offsets);
    }
    alarm(0);
    free(skip);
    if (rc == 0) config_free(cfg); /* a stuck task thread may still read it */
    tck_spec_clear(&spec);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int tck_main(const tck_opts_t *o)
{
    char dir[] = "/tmp/ferry-tck.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("ferry tck: mkdtemp");
        return 1;
    }
    setenv("FERRY_TCK_DIR", dir, 1); /* before the file is read: ${env:FERRY_TCK_DIR} */
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    char err[1024];
    int code = 0, stuck = 0;
    tck_file_t *file = tck_file_load(o->config, dir, err, sizeof(err));
    plugin_registry_t *reg = file ? plugin_registry_new() : NULL;
    if (!file) {
        fprintf(stderr, "ferry tck: --config %s: %s\n", o->config, err);
        code = 2;
    } else if (plugin_registry_load_file(reg, o->plugin, err, sizeof(err)) != 0) {
        tck_report(o->plugin, "descriptor", TCK_FAIL, "%s", err);
    } else {
        const char *const *names = NULL;
        size_t n = plugin_registry_names(reg, &names);
        if (o->connector && !plugin_registry_find(reg, o->connector, NULL)) {
            fprintf(stderr, "ferry tck: %s has no connector '%s' (it has:", o->plugin, o->connector);
            for (size_t i = 0; i < n; i++) fprintf(stderr, " %s", names[i]);
            fprintf(stderr, ")\n");
            code = 2;
        }
        for (size_t i = 0; code == 0 && !stuck && i < n; i++) {
            const ferry_plugin_t *plugin = NULL;
            const ferry_connector_t *conn = plugin_registry_get(reg, i, &plugin, NULL);
            if (o->connector && strcmp(conn->name, o->connector) != 0) continue;
            stuck = run_connector(conn, plugin, file, names, n) < 0;
        }
    }
    if (code == 0) {
        printf("ferry tck: %s: %d passed, %d failed, %d skipped\n", o->plugin, counts[TCK_PASS], counts[TCK_FAIL],
               counts[TCK_SKIP]);
        code = counts[TCK_FAIL] ? 1 : 0;
    }
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    fflush(stdout);
    if (stuck) _exit(code); /* unloading the plugin under its own thread would crash */
    plugin_registry_free(reg);
    tck_file_free(file);
    return code;
}
