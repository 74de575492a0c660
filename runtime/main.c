/*
 * main.c — the ferry command line.
 *
 *   ferry run FILE          run the pipelines in FILE until SIGTERM/SIGINT
 *   ferry validate FILE     check FILE (YAML, worker, every connector) and exit
 *   ferry plugins           list connectors and their options (--json, --markdown)
 *   ferry dev-kafka         run an in-memory Kafka broker for development
 *   ferry offsets FILE      print the stored source offsets as JSON
 *   ferry version           print the version
 *
 * Exit codes: 0 success; 1 runtime failure (Kafka unreachable, a task did
 * not stop in time, ...); 2 bad usage or invalid configuration.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build_info.h"
#include "config/config.h"
#include "engine/engine.h"
#include "kafka/kafka.h"
#include "offsets/offsets.h"
#include "plugin/plugin.h"
#include "util/log.h"
#include "util/strutil.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
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
    "  version             print the version\n"
    "\n"
    "Run `ferry <command> --help` for the options of a command.\n"
    "Exit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration.\n";

static const char *const usage_run =
    "usage: ferry run FILE [--plugin-path DIR]... [--log-level LEVEL]\n"
    "Runs the worker and connectors described in FILE. SIGTERM or SIGINT stops\n"
    "polling, drains producers, flushes sinks, stores offsets and exits 0.\n";
static const char *const usage_validate =
    "usage: ferry validate FILE [--plugin-path DIR]...\n"
    "Parses FILE, loads plugins and validates every connector against its option\n"
    "table. Prints every error (FILE:LINE:COL) and exits 2 if there is any.\n";
static const char *const usage_plugins =
    "usage: ferry plugins [--json | --markdown] [--plugin-path DIR]... [FILE]\n"
    "Lists every connector found on the plugin path (from FILE's worker.plugin.path\n"
    "when given) with its options, types, defaults and descriptions.\n";
static const char *const usage_dev_kafka =
    "usage: ferry dev-kafka [--brokers N] [--topic NAME[:PARTITIONS]]...\n"
    "Runs librdkafka's in-memory mock cluster with the topic ferry-offsets (25\n"
    "partitions) and the given topics. Prints the bootstrap address as the\n"
    "first line of stdout and serves until SIGTERM/SIGINT. No persistence, no\n"
    "compaction, no CreateTopics: for development and tests only.\n";
static const char *const usage_offsets =
    "usage: ferry offsets FILE [--connector NAME]\n"
    "Reads the offset store configured in FILE (the offsets topic or file) and\n"
    "prints the stored source offsets as a JSON array.\n";

typedef struct cli_opts {
    const char *file;
    const char *connector;
    const char *log_level;
    const char *plugin_paths[16];
    int nplugin_paths;
    int json, markdown;
    int brokers;
    const char *topics[64];
    int ntopics;
} cli_opts_t;

/* Parses options shared by the commands; returns 0, 1 for --help, -1 on error. */
static int parse_opts(int argc, char **argv, cli_opts_t *o, const char *usage)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
#define NEXT_ARG()                                                                                 \
    (i + 1 < argc ? argv[++i] : (fprintf(stderr, "ferry: option %s needs a value\n%s", a, usage), (char *)NULL))
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        } else if (strcmp(a, "--plugin-path") == 0) {
            const char *v = NEXT_ARG();
            if (!v) return -1;
            if (o->nplugin_paths < 16) o->plugin_paths[o->nplugin_paths++] = v;
        } else if (strcmp(a, "--log-level") == 0) {
            if (!(o->log_level = NEXT_ARG())) return -1;
        } else if (strcmp(a, "--connector") == 0) {
            if (!(o->connector = NEXT_ARG())) return -1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--markdown") == 0) {
            o->markdown = 1;
        } else if (strcmp(a, "--brokers") == 0) {
            const char *v = NEXT_ARG();
            if (!v) return -1;
            o->brokers = atoi(v);
            if (o->brokers < 1 || o->brokers > 16) {
                fprintf(stderr, "ferry: --brokers must be between 1 and 16, not '%s'\n", v);
                return -1;
            }
        } else if (strcmp(a, "--topic") == 0) {
            const char *v = NEXT_ARG();
            if (!v) return -1;
            if (o->ntopics < 64) o->topics[o->ntopics++] = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ferry: unknown option '%s'\n%s", a, usage);
            return -1;
        } else if (!o->file) {
            o->file = a;
        } else {
            fprintf(stderr, "ferry: unexpected argument '%s'\n%s", a, usage);
            return -1;
        }
#undef NEXT_ARG
    }
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

/* Loads FILE, plugins and every connector config; on success returns a
 * worker (not started). Errors are printed; *code is the exit code. */
static worker_t *prepare(const cli_opts_t *o, worker_config_t **wc_out, plugin_registry_t **reg_out, int *code)
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

static int cmd_run(int argc, char **argv)
{
    cli_opts_t o = {0};
    int rc = parse_opts(argc, argv, &o, usage_run);
    if (rc) return rc > 0 ? 0 : EXIT_USAGE;
    if (!o.file) {
        fprintf(stderr, "ferry run: missing FILE\n%s", usage_run);
        return EXIT_USAGE;
    }
    install_signals();
    worker_config_t *wc = NULL;
    plugin_registry_t *reg = NULL;
    int code;
    worker_t *w = prepare(&o, &wc, &reg, &code);
    if (!w) return code;
    log_info("ferry %s starting %zu connector(s) from %s", FERRY_VERSION, wc->connector_count, o.file);
    if (worker_start(w) != 0) {
        /* worker_start fails before any task starts. */
        code = EXIT_RUNTIME;
    } else {
        code = worker_run(w, &stop_requested);
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

static int cmd_validate(int argc, char **argv)
{
    cli_opts_t o = {0};
    int rc = parse_opts(argc, argv, &o, usage_validate);
    if (rc) return rc > 0 ? 0 : EXIT_USAGE;
    if (!o.file) {
        fprintf(stderr, "ferry validate: missing FILE\n%s", usage_validate);
        return EXIT_USAGE;
    }
    worker_config_t *wc = NULL;
    plugin_registry_t *reg = NULL;
    int code;
    worker_t *w = prepare(&o, &wc, &reg, &code);
    if (!w) return code;
    printf("%s: OK (%zu connector(s))\n", o.file, wc->connector_count);
    worker_free(w);
    plugin_registry_free(reg);
    worker_config_free(wc);
    return 0;
}

static int cmd_plugins(int argc, char **argv)
{
    cli_opts_t o = {0};
    int rc = parse_opts(argc, argv, &o, usage_plugins);
    if (rc) return rc > 0 ? 0 : EXIT_USAGE;
    worker_config_t *wc = NULL;
    cfg_errors_t errs = {0};
    if (o.file) {
        wc = worker_config_load(o.file, &errs);
        if (errs.count) {
            print_errors(&errs);
            cfg_errors_clear(&errs);
            worker_config_free(wc);
            return EXIT_USAGE;
        }
    }
    plugin_registry_t *reg = plugin_registry_new();
    int bad = load_plugins(reg, &o, wc);
    if (o.json) {
        char *json = plugin_registry_to_json(reg);
        printf("%s\n", json);
        free(json);
    } else if (o.markdown) {
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

static int cmd_dev_kafka(int argc, char **argv)
{
    cli_opts_t o = {.brokers = 1};
    int rc = parse_opts(argc, argv, &o, usage_dev_kafka);
    if (rc) return rc > 0 ? 0 : EXIT_USAGE;
    if (o.file) {
        fprintf(stderr, "ferry dev-kafka: unexpected argument '%s'\n%s", o.file, usage_dev_kafka);
        return EXIT_USAGE;
    }
    install_signals();
    return kafka_dev_broker_run(o.brokers, o.topics, (size_t)o.ntopics, &stop_requested);
}

static int cmd_offsets(int argc, char **argv)
{
    cli_opts_t o = {0};
    int rc = parse_opts(argc, argv, &o, usage_offsets);
    if (rc) return rc > 0 ? 0 : EXIT_USAGE;
    if (!o.file) {
        fprintf(stderr, "ferry offsets: missing FILE\n%s", usage_offsets);
        return EXIT_USAGE;
    }
    log_set_level(FERRY_LOG_WARN);
    cfg_errors_t errs = {0};
    worker_config_t *wc = worker_config_load(o.file, &errs);
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
                        o.file);
            rd_kafka_conf_t *conf = kafka_conf_new(env, KAFKA_CONSUMER, NULL, NULL, 0, err, sizeof(err));
            if (!conf || offsets_kafka_load(conf, wc->offsets_topic, map, 30000, err, sizeof(err)) != 0) {
                fprintf(stderr, "ferry offsets: topic '%s': %s\n", wc->offsets_topic, err);
                code = EXIT_RUNTIME;
            }
            kafka_env_free(env);
        }
    }
    if (code == 0) {
        char *json = offset_map_to_json(map, o.connector);
        printf("%s\n", json);
        free(json);
    }
    offset_map_free(map);
    worker_config_free(wc);
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "validate") == 0) return cmd_validate(argc - 2, argv + 2);
    if (strcmp(cmd, "plugins") == 0) return cmd_plugins(argc - 2, argv + 2);
    if (strcmp(cmd, "dev-kafka") == 0) return cmd_dev_kafka(argc - 2, argv + 2);
    if (strcmp(cmd, "offsets") == 0) return cmd_offsets(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ferry %s (plugin ABI %d.%d, librdkafka %s)\n", FERRY_VERSION, FERRY_ABI_MAJOR, FERRY_ABI_MINOR,
               rd_kafka_version_str());
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    fprintf(stderr, "ferry: unknown command '%s'\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
