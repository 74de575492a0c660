/*
 * main.c — the ferry command line.
 *
 *   ferry run FILE          run the pipelines in FILE until SIGTERM/SIGINT
 *   ferry validate FILE     check FILE (YAML, worker, every connector) and exit
 *   ferry plugins           list connectors and their options (--json, --markdown)
 *   ferry dev-kafka         run an in-memory Kafka broker for development
 *   ferry offsets FILE      print the stored source offsets as JSON
 *   ferry archive verify    check an s3-sink archive (connectors/s3/s3_verify.c)
 *   ferry tck PLUGIN.so     drive a plugin through the host contract (runtime/tck/)
 *   ferry version           print the version
 *   ferry help [COMMAND]    the command list, or one command's usage
 *
 * Each command accepts only its own options (the table `commands`).
 * Exit codes: 0 success; 1 runtime failure (Kafka unreachable, a task did
 * not stop in time, ...); 2 bad usage or invalid configuration.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build_info.h"
#include "config/config.h"
#include "engine/engine.h"
#include "kafka/kafka.h"
#include "kafka/kafka_check.h"
#include "offsets/offsets.h"
#include "plugin/plugin.h"
#include "util/log.h"
#include "util/strutil.h"
#include "rest/rest.h"
#include "s3_verify.h"
#include "tck/tck.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_requested = 1;
    else
        stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static const char *const usage_main =
    "usage: ferry <command> [options]\n"
    "\n"
    "commands:\n"
    "  run FILE            run the connectors in FILE until SIGTERM/SIGINT\n"
    "  validate FILE       check FILE and every connector config; exit 0 when valid\n"
    "  plugins             list the available connectors and their options\n"
    "  dev-kafka           run an in-memory Kafka broker (development and tests only)\n"
    "  offsets FILE        print the stored source offsets as JSON\n"
    "  archive verify      check an s3-sink archive in a bucket\n"
    "  status              print a running worker's connectors and tasks (REST API)\n"
    "  tck PLUGIN.so       check a plugin against the host contract, without Kafka\n"
    "  version             print the version\n"
    "  help [COMMAND]      show this text, or the options of COMMAND\n"
    "\n"
    "Run `ferry help <command>` or `ferry <command> --help` for the options of a command.\n"
    "Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration.\n";

static const char *const usage_run =
    "usage: ferry run FILE [--plugin-path DIR]... [--log-level LEVEL]\n"
    "Runs the worker and connectors described in FILE. SIGTERM or SIGINT stops\n"
    "polling, drains producers, flushes sinks, stores offsets and exits 0.\n"
    "FILE is validated first, as by `ferry validate`; a file without connectors\n"
    "is an error. LEVEL is error, warn, info or debug (default: worker.log.level).\n";
static const char *const usage_validate =
    "usage: ferry validate FILE [--plugin-path DIR]...\n"
    "Parses FILE, loads plugins and validates every connector against its option\n"
    "table, and every librdkafka property the way its client would take it.\n"
    "Prints every error (FILE:LINE:COL) and exits 2 if there is any.\n";
static const char *const usage_plugins =
    "usage: ferry plugins [--json | --markdown] [--plugin-path DIR]... [FILE]\n"
    "Lists every connector found on the plugin path (from FILE's worker.plugin.path\n"
    "when given) with its options, types, defaults and descriptions.\n";
static const char *const usage_dev_kafka =
    "usage: ferry dev-kafka [--brokers N] [--topic NAME[:PARTITIONS]]...\n"
    "Runs librdkafka's in-memory mock cluster of N brokers (1 to 16, default 1)\n"
    "with the topic ferry-offsets (25 partitions) and the given topics (4\n"
    "partitions unless given). Prints the bootstrap address as the first line\n"
    "of stdout and serves until SIGTERM/SIGINT. No persistence, no compaction,\n"
    "no CreateTopics: for development and tests only.\n";
static const char *const usage_offsets =
    "usage: ferry offsets FILE [--connector NAME]\n"
    "Reads the offset store configured in FILE (the offsets topic or file) and\n"
    "prints the stored source offsets as a JSON array.\n";
static const char *const usage_archive =
    "usage: ferry archive verify --bucket NAME [--prefix DIR] [--endpoint URL] [--region R]\n"
    "                            [--virtual-hosted] [--insecure]\n"
    "Reads every object of an s3-sink archive under s3://NAME/DIR (default topics):\n"
    "each must decode, and offsets per topic/partition must strictly increase\n"
    "across objects (gaps are allowed). Prints a line per topic/partition and\n"
    "each problem with its object key. Credentials from AWS_ACCESS_KEY_ID,\n"
    "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Exit status: 0 sound,\n"
    "1 problems found, 2 the archive could not be read.\n";
static const char *const usage_status =
    "usage: ferry status [--url URL]\n"
    "Prints the connectors and tasks of a running worker, read from its REST API\n"
    "(default URL http://127.0.0.1:8083). A bearer token is taken from the\n"
    "environment variable FERRY_REST_TOKEN. Exit status: 0 every task RUNNING,\n"
    "1 some task is not, 2 the API could not be read.\n";
static const char *const usage_tck =
    "usage: ferry tck PLUGIN.so [--config FILE] [--connector NAME] [--log-level LEVEL]\n"
    "Loads PLUGIN.so with the loader's checks and drives each of its connectors\n"
    "(or NAME) through the host contract in process, without Kafka: descriptor\n"
    "and options, open failures, poll budget and should_stop, offsets, commit\n"
    "twice, put and flush limits, stop from another thread, leaks across\n"
    "open/close cycles. Prints \"PASS|FAIL|SKIP CONNECTOR RULE: reason\" per rule.\n"
    "FILE (YAML or key=value) holds the connectors' options and tck.* keys (see\n"
    "docs/plugin-guide.md; sdk/tck/ has files for the built-in connectors).\n"
    "LEVEL (default warn) is for the plugin's log lines, on stderr.\n"
    "Exit status: 0 no rule failed, 1 a rule failed, 2 bad usage or FILE.\n";
static const char *const usage_version =
    "usage: ferry version\n"
    "Prints the version of ferry, of its plugin ABI and of librdkafka.\n";
static const char *const usage_help =
    "usage: ferry help [COMMAND]\n"
    "Shows the list of commands, or the usage and options of COMMAND.\n";

/* ---- command line -------------------------------------------------------------- */

#define CLI_MAX_PLUGIN_PATHS 16
#define CLI_MAX_TOPICS 64
#define CLI_MAX_BROKERS 16
#define CLI_MAX_PARTITIONS 10000
#define TOPIC_NAME_MAX 249 /* Kafka's limit */

/* The options, each accepted by the commands whose flags include its bit. */
enum {
    OPT_PLUGIN_PATH = 1 << 0,
    OPT_LOG_LEVEL = 1 << 1,
    OPT_CONNECTOR = 1 << 2,
    OPT_JSON = 1 << 3,
    OPT_MARKDOWN = 1 << 4,
    OPT_BROKERS = 1 << 5,
    OPT_TOPIC = 1 << 6,
    OPT_URL = 1 << 7,
    OPT_CONFIG = 1 << 8,
};

typedef struct cli_option {
    const char *name;
    unsigned bit;
    int takes_value;
} cli_option_t;

static const cli_option_t cli_options[] = {
    {"--plugin-path", OPT_PLUGIN_PATH, 1}, {"--log-level", OPT_LOG_LEVEL, 1}, {"--connector", OPT_CONNECTOR, 1},
    {"--json", OPT_JSON, 0},               {"--markdown", OPT_MARKDOWN, 0},   {"--brokers", OPT_BROKERS, 1},
    {"--topic", OPT_TOPIC, 1},             {"--url", OPT_URL, 1},             {"--config", OPT_CONFIG, 1},
    {NULL, 0, 0}};

typedef struct cli_opts {
    const char *file; /* the positional argument: FILE, or COMMAND for `help` */
    const char *connector;
    const char *url;
    const char *config; /* tck --config */
    const char *log_level;
    const char *plugin_paths[CLI_MAX_PLUGIN_PATHS];
    int nplugin_paths;
    int json, markdown;
    int brokers;
    const char *topics[CLI_MAX_TOPICS];
    int ntopics;
} cli_opts_t;

typedef enum positional { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED } positional_t;

typedef struct command {
    const char *name;
    int (*run)(const cli_opts_t *o);
    const char *usage;
    unsigned options;     /* the OPT_ bits it accepts */
    positional_t arg;     /* FILE (COMMAND for help) */
} command_t;

static int cmd_run(const cli_opts_t *o);
static int cmd_validate(const cli_opts_t *o);
static int cmd_plugins(const cli_opts_t *o);
static int cmd_dev_kafka(const cli_opts_t *o);
static int cmd_offsets(const cli_opts_t *o);
static int cmd_version(const cli_opts_t *o);
static int cmd_archive(const cli_opts_t *o);
static int cmd_status(const cli_opts_t *o);
static int cmd_tck(const cli_opts_t *o);
static int cmd_help(const cli_opts_t *o);

static const command_t commands[] = {
    {"run", cmd_run, usage_run, OPT_PLUGIN_PATH | OPT_LOG_LEVEL, ARG_REQUIRED},
    {"validate", cmd_validate, usage_validate, OPT_PLUGIN_PATH, ARG_REQUIRED},
    {"plugins", cmd_plugins, usage_plugins, OPT_JSON | OPT_MARKDOWN | OPT_PLUGIN_PATH, ARG_OPTIONAL},
    {"dev-kafka", cmd_dev_kafka, usage_dev_kafka, OPT_BROKERS | OPT_TOPIC, ARG_NONE},
    {"offsets", cmd_offsets, usage_offsets, OPT_CONNECTOR, ARG_REQUIRED},
    {"archive", cmd_archive, usage_archive, 0, ARG_OPTIONAL},
    {"status", cmd_status, usage_status, OPT_URL, ARG_NONE},
    {"tck", cmd_tck, usage_tck, OPT_CONFIG | OPT_CONNECTOR | OPT_LOG_LEVEL, ARG_REQUIRED},
    {"version", cmd_version, usage_version, 0, ARG_NONE},
    {"help", cmd_help, usage_help, 0, ARG_OPTIONAL},
    {NULL, NULL, NULL, 0, ARG_NONE}};

static const command_t *command_find(const char *name)
{
    for (const command_t *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

/* "PREFIX: unknown command 'X' (did you mean 'Y'?)" and the command list, to stderr. */
static void unknown_command(const char *prefix, const char *name)
{
    const char *names[sizeof(commands) / sizeof(commands[0])];
    size_t n = 0;
    for (const command_t *c = commands; c->name; c++) names[n++] = c->name;
    const char *hint = config_did_you_mean(name, names, n);
    fprintf(stderr, "%s: unknown command '%s'%s%s%s\n%s", prefix, name, hint ? " (did you mean '" : "",
            hint ? hint : "", hint ? "'?)" : "", usage_main);
}

/* Prints "ferry CMD: message" and the command's usage to stderr; returns -1. */
static int usage_error(const command_t *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const command_t *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = str_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "ferry %s: %s\n%s", cmd->name, msg, cmd->usage);
    free(msg);
    return -1;
}

/* An option the command does not take: name the commands that do, or the
 * option the user probably meant. */
static int unknown_option(const command_t *cmd, const char *arg, size_t len)
{
    const cli_option_t *opt = NULL;
    const char *mine[sizeof(cli_options) / sizeof(cli_options[0])];
    size_t nmine = 0;
    for (const cli_option_t *o = cli_options; o->name; o++) {
        if (strlen(o->name) == len && strncmp(o->name, arg, len) == 0) opt = o;
        if (cmd->options & o->bit) mine[nmine++] = o->name;
    }
    if (opt) {
        char owners[128] = "";
        for (const command_t *c = commands; c->name; c++)
            if (c->options & opt->bit)
                snprintf(owners + strlen(owners), sizeof(owners) - strlen(owners), "%s'ferry %s'",
                         owners[0] ? ", " : "", c->name);
        return usage_error(cmd, "unknown option '%s' (that is an option of %s)", opt->name, owners);
    }
    char *name = str_printf("%.*s", (int)len, arg);
    const char *hint = config_did_you_mean(name, mine, nmine);
    int rc = hint ? usage_error(cmd, "unknown option '%s' (did you mean '%s'?)", name, hint)
                  : usage_error(cmd, "unknown option '%s'", name);
    free(name);
    return rc;
}

/* s as a whole decimal number in [min, max]; -1 otherwise. */
static int parse_count(const char *s, long min, long max, int *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)s[0])) return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

/* NAME[:PARTITIONS] for dev-kafka. */
static int check_topic_arg(const command_t *cmd, const char *v)
{
    const char *colon = strrchr(v, ':');
    size_t len = colon ? (size_t)(colon - v) : strlen(v);
    int parts;
    if (len == 0 || len > TOPIC_NAME_MAX)
        return usage_error(cmd, "--topic '%s': the topic name must have 1 to %d characters", v, TOPIC_NAME_MAX);
    if (colon && parse_count(colon + 1, 1, CLI_MAX_PARTITIONS, &parts) < 0)
        return usage_error(cmd, "--topic '%s': PARTITIONS must be a whole number from 1 to %d", v,
                           CLI_MAX_PARTITIONS);
    return 0;
}

static int add_repeated(const command_t *cmd, const char *name, const char **list, int *n, int max,
                        const char *v)
{
    if (*n == max) return usage_error(cmd, "too many %s options (at most %d)", name, max);
    list[(*n)++] = v;
    return 0;
}

static char *level_list(void)
{
    char *list = str_dup("");
    for (const char *const *l = log_level_names; *l; l++) {
        char *next = str_printf("%s%s%s", list, list[0] ? ", " : "", *l);
        free(list);
        list = next;
    }
    return list;
}

static int set_option(const command_t *cmd, cli_opts_t *o, const cli_option_t *opt, const char *v)
{
    switch (opt->bit) {
    case OPT_PLUGIN_PATH:
        return add_repeated(cmd, opt->name, o->plugin_paths, &o->nplugin_paths, CLI_MAX_PLUGIN_PATHS, v);
    case OPT_TOPIC:
        if (check_topic_arg(cmd, v) < 0) return -1;
        return add_repeated(cmd, opt->name, o->topics, &o->ntopics, CLI_MAX_TOPICS, v);
    case OPT_LOG_LEVEL:
        if (log_level_parse(v) < 0) {
            char *levels = level_list();
            int rc = usage_error(cmd, "invalid --log-level '%s' (valid levels: %s)", v, levels);
            free(levels);
            return rc;
        }
        o->log_level = v;
        return 0;
    case OPT_BROKERS:
        if (parse_count(v, 1, CLI_MAX_BROKERS, &o->brokers) < 0)
            return usage_error(cmd, "--brokers must be a whole number from 1 to %d, not '%s'", CLI_MAX_BROKERS, v);
        return 0;
    case OPT_CONNECTOR: o->connector = v; return 0;
    case OPT_URL: o->url = v; return 0;
    case OPT_CONFIG: o->config = v; return 0;
    case OPT_JSON: o->json = 1; break;
    case OPT_MARKDOWN: o->markdown = 1; break;
    }
    if (o->json && o->markdown) return usage_error(cmd, "--json and --markdown cannot be combined");
    return 0;
}

/* Parses argv (after the command name) for cmd, accepting only its own
 * options, as "--name value" or "--name=value". Returns 0, 1 after --help
 * (printed), -1 after a usage error (printed). */
static int parse_opts(const command_t *cmd, int argc, char **argv, cli_opts_t *o)
{
    int only_args = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_args && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            fputs(cmd->usage, stdout);
            return 1;
        }
        if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1; /* what follows is FILE, even when it starts with '-' */
            continue;
        }
        if (!only_args && a[0] == '-' && a[1]) {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            const cli_option_t *opt = NULL;
            for (const cli_option_t *c = cli_options; c->name; c++)
                if ((cmd->options & c->bit) && strlen(c->name) == len && strncmp(c->name, a, len) == 0) opt = c;
            if (!opt) return unknown_option(cmd, a, len);
            const char *v = eq ? eq + 1 : NULL;
            if (!opt->takes_value && v) return usage_error(cmd, "option %s takes no value", opt->name);
            if (opt->takes_value && !v && (v = i + 1 < argc ? argv[++i] : NULL) == NULL)
                return usage_error(cmd, "option %s needs a value", opt->name);
            if (set_option(cmd, o, opt, v) < 0) return -1;
            continue;
        }
        if (cmd->arg == ARG_NONE || o->file) return usage_error(cmd, "unexpected argument '%s'", a);
        o->file = a;
    }
    if (cmd->arg == ARG_REQUIRED && !o->file) return usage_error(cmd, "missing FILE");
    return 0;
}

/* The built-in plugin directory: "plugins" next to the executable when it
 * runs from the build tree, else the installed directory. */
static void default_plugin_dir(char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, size, "%s/plugins", exe);
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) return;
        }
    }
    snprintf(buf, size, "%s", FERRY_INSTALL_PLUGIN_DIR);
}

/* Loads plugins from --plugin-path, else FERRY_PLUGIN_PATH (colon-separated),
 * else worker.plugin.path, else the default directory. Returns the number
 * of directories that could not be read. */
static int load_plugins(plugin_registry_t *reg, const cli_opts_t *o, const worker_config_t *wc)
{
    int bad = 0;
    if (o->nplugin_paths > 0) {
        for (int i = 0; i < o->nplugin_paths; i++) bad += plugin_registry_load_dir(reg, o->plugin_paths[i]) < 0;
        return bad;
    }
    const char *env = getenv("FERRY_PLUGIN_PATH");
    if (env && *env) {
        char *copy = str_dup(env), *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
            bad += plugin_registry_load_dir(reg, d) < 0;
        free(copy);
        return bad;
    }
    if (wc && wc->plugin_path_count > 0) {
        for (size_t i = 0; i < wc->plugin_path_count; i++) bad += plugin_registry_load_dir(reg, wc->plugin_path[i]) < 0;
        return bad;
    }
    char dir[PATH_MAX];
    default_plugin_dir(dir, sizeof(dir));
    return plugin_registry_load_dir(reg, dir) < 0;
}

static void print_errors(const cfg_errors_t *errs)
{
    for (size_t i = 0; i < errs->count; i++) fprintf(stderr, "%s\n", errs->items[i]);
}

static void apply_log_level(const cli_opts_t *o, const worker_config_t *wc)
{
    const char *name = o->log_level ? o->log_level : (wc ? wc->log_level : NULL);
    int lvl = name ? log_level_parse(name) : -1;
    if (lvl >= 0) log_set_level((ferry_log_level_t)lvl);
}

/* Connector i's Kafka client for kafka_check_config: a producer for a
 * source, a consumer for a sink, -1 when its plugin was not found (an
 * error worker_new reports). malloc'd. */
static int *connector_client_kinds(const worker_config_t *wc, const plugin_registry_t *reg)
{
    int *kinds = xcalloc(wc->connector_count ? wc->connector_count : 1, sizeof(*kinds));
    for (size_t i = 0; i < wc->connector_count; i++) {
        const char *name = wc->connectors[i].connector;
        const ferry_connector_t *desc = name ? plugin_registry_find(reg, name, NULL) : NULL;
        kinds[i] = !desc ? -1 : desc->kind == FERRY_SINK ? KAFKA_CONSUMER : KAFKA_PRODUCER;
    }
    return kinds;
}

/* Loads FILE, plugins, every connector config and the librdkafka
 * properties; on success returns a worker (not started). A file without
 * connectors is an error when require_connectors, else a warning. Errors
 * are printed; *code is the exit code. */
static worker_t *prepare(const cli_opts_t *o, int require_connectors, worker_config_t **wc_out,
                         plugin_registry_t **reg_out, int *code)
{
    cfg_errors_t errs = {0};
    *code = 0;
    worker_config_t *wc = worker_config_load(o->file, &errs);
    plugin_registry_t *reg = plugin_registry_new();
    worker_t *w = NULL;
    if (wc) {
        apply_log_level(o, wc);
        if (load_plugins(reg, o, wc) > 0)
            cfg_errors_add(&errs, "%s: a plugin directory could not be read (see above)", o->file);
        /* Connector errors are reported together with worker errors. */
        w = worker_new(wc, reg, &errs);
        int *kinds = connector_client_kinds(wc, reg);
        kafka_check_config(wc, kinds, &errs);
        free(kinds);
        rest_config_check(wc, &errs);
        if (errs.count == 0 && wc->connector_count == 0) {
            /* With the REST API on, connectors may come from there. */
            if (rest_enabled(wc)) {
                if (require_connectors) log_info("%s: no connectors: create them over the REST API", o->file);
            } else if (require_connectors) {
                cfg_errors_add(&errs, "%s: no connectors to run (define them under 'connectors:', or turn the REST "
                               "API on to create them there)", o->file);
            } else {
                fprintf(stderr, "%s: warning: no connectors: `ferry run` refuses this file (rest.listen is off)\n",
                        o->file);
            }
        }
    }
    if (errs.count > 0 || !w) {
        print_errors(&errs);
        if (errs.count == 0) fprintf(stderr, "ferry: %s: invalid configuration\n", o->file);
        fprintf(stderr, "ferry: %s: %zu error(s)\n", o->file, errs.count ? errs.count : 1);
        cfg_errors_clear(&errs);
        worker_free(w);
        plugin_registry_free(reg);
        worker_config_free(wc);
        *code = EXIT_USAGE;
        return NULL;
    }
    cfg_errors_clear(&errs);
    *wc_out = wc;
    *reg_out = reg;
    return w;
}

static int cmd_run(const cli_opts_t *o)
{
    install_signals();
    worker_config_t *wc = NULL;
    plugin_registry_t *reg = NULL;
    int code;
    worker_t *w = prepare(o, 1, &wc, &reg, &code);
    if (!w) return code;
    log_info("ferry %s starting %zu connector(s) from %s", FERRY_VERSION, wc->connector_count, o->file);
    rest_t *rest = NULL;
    if (rest_enabled(wc)) worker_use_store(w);
    if (worker_start(w) != 0) {
        /* worker_start fails before any task starts. */
        code = EXIT_RUNTIME;
    } else {
        char err[512];
        int disabled = 0;
        rest = rest_start(w, wc, reg, &disabled, err, sizeof(err));
        if (!rest && !disabled) {
            log_error("%s", err);
            stop_requested = 1; /* worker_run then stops the tasks it started */
        }
        code = worker_run(w, &stop_requested, &reload_requested);
        rest_stop(rest);
        if (!rest && !disabled && code == 0) code = EXIT_RUNTIME;
        if (code != 0) {
            /* A task is stuck inside a plugin: freeing (and unloading) what
             * it still uses would be worse than leaving right away. */
            log_error("exiting without a clean shutdown");
            _exit(code);
        }
    }
    worker_free(w);
    plugin_registry_free(reg);
    worker_config_free(wc);
    return code;
}

static int cmd_validate(const cli_opts_t *o)
{
    worker_config_t *wc = NULL;
    plugin_registry_t *reg = NULL;
    int code;
    worker_t *w = prepare(o, 0, &wc, &reg, &code);
    if (!w) return code;
    printf("%s: OK (%zu connector(s))\n", o->file, wc->connector_count);
    worker_free(w);
    plugin_registry_free(reg);
    worker_config_free(wc);
    return 0;
}

static int cmd_plugins(const cli_opts_t *o)
{
    worker_config_t *wc = NULL;
    cfg_errors_t errs = {0};
    if (o->file) {
        wc = worker_config_load(o->file, &errs);
        if (errs.count) {
            print_errors(&errs);
            cfg_errors_clear(&errs);
            worker_config_free(wc);
            return EXIT_USAGE;
        }
    }
    plugin_registry_t *reg = plugin_registry_new();
    int bad = load_plugins(reg, o, wc);
    if (o->json) {
        char *json = plugin_registry_to_json(reg);
        printf("%s\n", json);
        free(json);
    } else if (o->markdown) {
        /* The generated reference (docs/connectors.md): worker options, the
         * options every connector has, then each connector's own. */
        printf("<!-- Generated by `ferry plugins --markdown`; do not edit. -->\n\n");
        printf("## Worker options\n\nKeys of the `worker:` section (dotted names are nested maps or flat keys).\n\n");
        plugin_options_print_markdown(config_worker_options(), stdout);
        printf("\n## Options of every source connector\n\nHandled by the runtime. `producer.override.<property>` "
               "sets an allow-listed librdkafka producer property for this connector.\n\n");
        plugin_options_print_markdown(config_framework_options(FERRY_SOURCE), stdout);
        printf("\n## Options of every sink connector\n\nHandled by the runtime. `consumer.override.<property>` "
               "sets an allow-listed librdkafka consumer property for this connector.\n\n");
        plugin_options_print_markdown(config_framework_options(FERRY_SINK), stdout);
        printf("\n## Connectors\n\n");
        plugin_registry_print_markdown(reg, stdout);
    } else {
        plugin_registry_print_text(reg, stdout);
    }
    plugin_registry_free(reg);
    worker_config_free(wc);
    return bad ? EXIT_RUNTIME : 0;
}

static int cmd_dev_kafka(const cli_opts_t *o)
{
    install_signals();
    return kafka_dev_broker_run(o->brokers, o->topics, (size_t)o->ntopics, &stop_requested);
}

static int cmd_offsets(const cli_opts_t *o)
{
    log_set_level(FERRY_LOG_WARN);
    cfg_errors_t errs = {0};
    worker_config_t *wc = worker_config_load(o->file, &errs);
    if (!wc || errs.count) {
        print_errors(&errs);
        cfg_errors_clear(&errs);
        worker_config_free(wc);
        return EXIT_USAGE;
    }
    char err[512];
    offset_map_t *map = offset_map_new();
    int code = 0;
    if (wc->offsets_store == OFFSETS_STORE_FILE) {
        if (offsets_file_load(wc->offsets_file, map, err, sizeof(err)) != 0) {
            fprintf(stderr, "ferry offsets: %s\n", err);
            code = EXIT_RUNTIME;
        }
    } else {
        kafka_env_t *env = kafka_env_new((const char *const *)wc->kafka_keys, (const char *const *)wc->kafka_values,
                                         wc->kafka_count, err, sizeof(err));
        if (!env) {
            fprintf(stderr, "ferry offsets: kafka: %s\n", err);
            code = EXIT_RUNTIME;
        } else {
            if (kafka_env_is_embedded(env))
                fprintf(stderr, "ferry offsets: note: %s uses the embedded broker, which keeps nothing between runs\n",
                        o->file);
            rd_kafka_conf_t *conf = kafka_conf_new(env, KAFKA_CONSUMER, NULL, NULL, 0, err, sizeof(err));
            if (!conf || offsets_kafka_load(conf, wc->offsets_topic, map, 30000, err, sizeof(err)) != 0) {
                fprintf(stderr, "ferry offsets: topic '%s': %s\n", wc->offsets_topic, err);
                code = EXIT_RUNTIME;
            }
            kafka_env_free(env);
        }
    }
    if (code == 0) {
        char *json = offset_map_to_json(map, o->connector);
        printf("%s\n", json);
        free(json);
    }
    offset_map_free(map);
    worker_config_free(wc);
    return code;
}

static int cmd_version(const cli_opts_t *o)
{
    (void)o;
    printf("ferry %s (plugin ABI %d.%d, librdkafka %s)\n", FERRY_VERSION, FERRY_ABI_MAJOR, FERRY_ABI_MINOR,
           rd_kafka_version_str());
    return 0;
}

static int cmd_help(const cli_opts_t *o)
{
    if (!o->file) {
        fputs(usage_main, stdout);
        return 0;
    }
    const command_t *cmd = command_find(o->file);
    if (!cmd) {
        unknown_command("ferry help", o->file);
        return EXIT_USAGE;
    }
    fputs(cmd->usage, stdout);
    return 0;
}

/* `ferry archive` without `verify` (or with something else). */
static int cmd_archive(const cli_opts_t *o)
{
    (void)o;
    fputs(usage_archive, stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) name = "help";
    if (strcmp(name, "--version") == 0) name = "version";
    const command_t *cmd = command_find(name);
    if (!cmd) {
        unknown_command("ferry", name);
        return EXIT_USAGE;
    }
    if (cmd->run == cmd_archive && argc >= 3 && strcmp(argv[2], "verify") == 0) {
        /* Its options are its own (s3_verify.c). */
        return s3_verify_main(argc - 2, argv + 2);
    }
    cli_opts_t o = {.brokers = 1};
    int rc = parse_opts(cmd, argc - 2, argv + 2, &o);
    if (rc) return rc > 0 ? 0 : EXIT_USAGE;
    return cmd->run(&o);
}

static int cmd_status(const cli_opts_t *o)
{
    char err[512];
    const char *url = o->url ? o->url : "http://127.0.0.1:8083";
    size_t n = strlen(url);
    char *base = str_dup(url);
    while (n > 0 && base[n - 1] == '/') base[--n] = '\0'; /* "http://h:p/" and "http://h:p" alike */
    int rc = rest_status_print(base, getenv("FERRY_REST_TOKEN"), stdout, err, sizeof(err));
    free(base);
    if (rc == 2) fprintf(stderr, "ferry status: %s\n", err);
    return rc;
}

static int cmd_tck(const cli_opts_t *o)
{
    log_set_level(o->log_level ? (ferry_log_level_t)log_level_parse(o->log_level) : FERRY_LOG_WARN);
    tck_opts_t t = {.plugin = o->file, .config = o->config, .connector = o->connector};
    return tck_main(&t);
}
