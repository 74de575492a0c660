/*
 * config_worker.c — the top level of a pipeline file: the `worker:` section
 * and the raw `connectors:` entries.
 *
 * The worker section is validated by the same engine as connector configs:
 * nested mappings are flattened into dotted names first, so
 * `offsets: {flush.interval: 5s}` and `offsets.flush.interval: 5s` mean the
 * same and both match the documented name "offsets.flush.interval".
 */
#include "config/config_internal.h"
#include "util/log.h"
#include "util/strutil.h"

#include <stdlib.h>
#include <string.h>

static const char *const store_values[] = {"kafka", "file", NULL};
static const char *const eos_values[] = {"disabled", "enabled", NULL};

static const ferry_option_t worker_options[] = {
    {"kafka", FERRY_OPT_MAP, NULL, 0, 0, 0, NULL,
     "librdkafka properties passed through to every client, e.g. bootstrap.servers "
     "(\"embedded\", the default, starts an in-process mock broker)."},
    {"offsets.store", FERRY_OPT_ENUM, "kafka", 0, 0, 0, store_values,
     "Where source offsets are kept: a compacted Kafka topic or a local file (standalone)."},
    {"offsets.topic", FERRY_OPT_STRING, "ferry-offsets", FERRY_OPT_TOPIC, 0, 0, NULL,
     "The offsets topic (store: kafka)."},
    {"offsets.file", FERRY_OPT_STRING, "ferry-offsets.dat", 0, 0, 0, NULL,
     "The offsets file (store: file)."},
    {"config.topic", FERRY_OPT_STRING, "ferry-configs", FERRY_OPT_TOPIC, 0, 0, NULL,
     "Where connectors created, changed, paused or stopped over the REST API are kept (offsets.store: "
     "kafka): a compacted topic, as Kafka Connect's config.storage.topic. With group.id the default is "
     "<group.id>-configs, the group's, which every worker of it follows."},
    {"config.file", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "The same with offsets.store: file: a JSON file, by default beside the YAML file "
     "(NAME.yaml -> NAME.connectors.json)."},
    {"offsets.flush.interval", FERRY_OPT_DURATION, "5s", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "How often acknowledged source offsets are written to the store."},
    {"offsets.partitions", FERRY_OPT_INT, "25", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 100000, NULL,
     "Partitions of the offsets topic when ferry creates it."},
    {"offsets.replication.factor", FERRY_OPT_INT, "-1", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, -1,
     32767, NULL, "Replication factor of the offsets topic; -1 = the broker's default."},
    {"group.id", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Names a cluster of workers that divide the source tasks between them through a Kafka consumer group "
     "of this name (Kafka Connect's group.id); unset: this worker runs every task. Every worker of a group "
     "runs the same connectors."},
    {"tasks.topic", FERRY_OPT_STRING, NULL, FERRY_OPT_TOPIC, 0, 0, NULL,
     "The topic whose partitions stand for the source tasks (group.id set); default <group.id>-tasks. "
     "Created with one partition per source task; nothing is ever written to it."},
    {"group.session.timeout", FERRY_OPT_DURATION, "10s", FERRY_OPT_HAS_MIN, 1000, 0, NULL,
     "How long a worker of the group may go silent before its tasks move to the others; the broker accepts "
     "group.min.session.timeout.ms to group.max.session.timeout.ms (6s to 30m by default)."},
    {"exactly.once.source.support", FERRY_OPT_ENUM, "disabled", 0, 0, 0, eos_values,
     "enabled: source tasks write their records and the offsets that cover them in one Kafka transaction "
     "(KIP-618); needs offsets.store: kafka and a broker with transactions."},
    {"plugin.path", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Directories searched for connector plugins (a list or a comma-separated string)."},
    {"shutdown.timeout", FERRY_OPT_DURATION, "30s", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "How long a graceful shutdown may take before the worker gives up."},
    {"progress.interval", FERRY_OPT_DURATION, "10s", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "How often progress is logged; 0 = never."},
    {"log.level", FERRY_OPT_ENUM, "info", 0, 0, 0, log_level_names, "Log threshold."},
    {"rest", FERRY_OPT_MAP, NULL, 0, 0, 0, NULL, "The admin REST API: listen (HOST:PORT, default 127.0.0.1:8083; off), token (bearer token, required off loopback), body.max.bytes (default 1MiB)."},
    {CFG_OPT_FILE_ALLOWED_PATHS, FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Absolute files and directories that ${file:} references may read; paths are compared after "
     "resolving '..' and symlinks. Unset: any file for this YAML file, none for configs from the REST API. "
     "May not use ${...} itself."},
    {CFG_OPT_ENV_ALLOWLIST_PATTERN, FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "POSIX extended regular expression that the whole name of a variable read by ${env:} must match. "
     "Unset: any variable for this YAML file, none for configs from the REST API. May not use ${...} itself."},
    FERRY_OPTIONS_END};

const ferry_option_t *config_worker_options(void) { return worker_options; }

static int is_option_prefix(const char *prefix)
{
    size_t n = strlen(prefix);
    for (const ferry_option_t *o = worker_options; o->name; o++)
        if (strncmp(o->name, prefix, n) == 0 && o->name[n] == '.') return 1;
    return 0;
}

static int is_option(const char *name)
{
    for (const ferry_option_t *o = worker_options; o->name; o++)
        if (strcmp(o->name, name) == 0) return 1;
    return 0;
}

typedef struct flat {
    cfg_input_t *inputs;
    char **owned_keys;
    size_t count;
} flat_t;

static void flat_add(flat_t *flat, char *key, const cfg_node_t *node, int line, int col)
{
    flat->inputs = xrealloc(flat->inputs, (flat->count + 1) * sizeof(*flat->inputs));
    flat->owned_keys = xrealloc(flat->owned_keys, (flat->count + 1) * sizeof(*flat->owned_keys));
    flat->owned_keys[flat->count] = key;
    flat->inputs[flat->count] = (cfg_input_t){.key = key, .node = node, .line = line, .col = col};
    flat->count++;
}

static void flat_free(flat_t *flat)
{
    for (size_t i = 0; i < flat->count; i++) free(flat->owned_keys[i]);
    free(flat->owned_keys);
    free(flat->inputs);
}

/* Flattens map into dotted keys. A nested mapping is descended into only
 * when its dotted name is a prefix of some option ("offsets"); options whose
 * value is itself a mapping ("kafka") are kept whole. */
static void worker_flatten(flat_t *flat, const char *prefix, const cfg_node_t *map)
{
    for (size_t i = 0; i < map->count; i++) {
        char *key = prefix ? str_printf("%s.%s", prefix, map->keys[i]) : str_dup(map->keys[i]);
        const cfg_node_t *val = map->items[i];
        if (val->kind == CFG_MAP && !is_option(key) && is_option_prefix(key)) {
            worker_flatten(flat, key, val);
            free(key);
        } else {
            flat_add(flat, key, val, map->key_lines[i], map->key_cols[i]);
        }
    }
}

/* NAME.yaml (or .yml) -> NAME.connectors.json, in the same directory. */
static char *default_config_file(const char *path)
{
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".yaml") == 0)
        n -= 5;
    else if (n > 4 && strcmp(path + n - 4, ".yml") == 0)
        n -= 4;
    return str_printf("%.*s.connectors.json", (int)n, path);
}

static void worker_defaults(worker_config_t *wc)
{
    wc->offsets_store = OFFSETS_STORE_KAFKA;
    wc->offsets_topic = str_dup("ferry-offsets");
    wc->offsets_file = str_dup("ferry-offsets.dat");
    wc->config_topic = str_dup("ferry-configs");
    wc->config_file = default_config_file(wc->path);
    wc->offsets_flush_ms = 5000;
    wc->offsets_partitions = 25;
    wc->offsets_replication = -1;
    wc->shutdown_timeout_ms = 30000;
    wc->progress_interval_ms = 10000;
    wc->group_session_ms = 10000;
    wc->log_level = str_dup("info");
}

static char **copy_strings(const char *const *src, size_t n)
{
    if (!n) return NULL;
    char **dst = xcalloc(n, sizeof(*dst));
    for (size_t i = 0; i < n; i++) dst[i] = str_dup(src[i]);
    return dst;
}

static void worker_section(worker_config_t *wc, const cfg_node_t *section, cfg_errors_t *errs)
{
    cfg_build_ctx_t ctx = {.file = wc->path, .label = "", .noun = "worker option", .errs = errs};
    if (section->kind != CFG_MAP) {
        if (section->kind == CFG_SCALAR && !section->scalar) return; /* `worker:` left empty */
        cfg_build_error(&ctx, section->line, section->col, "'worker' must be a mapping");
        return;
    }
    ctx.line = section->line;
    ctx.col = section->col;
    flat_t flat = {0};
    worker_flatten(&flat, NULL, section);
    /* `rest` belongs to the REST subsystem, which reads the raw node. */
    size_t n = 0;
    for (size_t i = 0; i < flat.count; i++) {
        if (strcmp(flat.inputs[i].key, "kafka") == 0) wc->kafka = flat.inputs[i].node;
        if (strcmp(flat.inputs[i].key, "rest") == 0) {
            const cfg_node_t *rest = flat.inputs[i].node;
            if (rest->kind == CFG_MAP)
                wc->rest = rest;
            else if (rest->kind != CFG_SCALAR || rest->scalar)
                cfg_build_error(&ctx, rest->line, rest->col, "worker option 'rest' must be a mapping");
            continue;
        }
        flat.inputs[n++] = flat.inputs[i];
    }
    const ferry_option_t *tables[1] = {worker_options};
    ferry_config_t *cfg = cfg_build(&ctx, "worker", FERRY_SOURCE, tables, 1, flat.inputs, n);

    const char *const *keys, *const *values;
    size_t count = config_map(cfg, "kafka", &keys, &values);
    wc->kafka_keys = copy_strings(keys, count);
    wc->kafka_values = copy_strings(values, count);
    wc->kafka_count = count;
    const char *store = config_string(cfg, "offsets.store");
    wc->offsets_store = store && strcmp(store, "file") == 0 ? OFFSETS_STORE_FILE : OFFSETS_STORE_KAFKA;
    if (config_string(cfg, "offsets.topic")) {
        free(wc->offsets_topic);
        wc->offsets_topic = str_dup(config_string(cfg, "offsets.topic"));
    }
    if (config_string(cfg, "offsets.file")) {
        free(wc->offsets_file);
        wc->offsets_file = str_dup(config_string(cfg, "offsets.file"));
    }
    if (config_string(cfg, "config.topic")) {
        free(wc->config_topic);
        wc->config_topic = str_dup(config_string(cfg, "config.topic"));
    }
    if (config_string(cfg, "config.file")) {
        free(wc->config_file);
        wc->config_file = str_dup(config_string(cfg, "config.file"));
    }
    if (config_string(cfg, "offsets.flush.interval"))
        wc->offsets_flush_ms = config_duration_ms(cfg, "offsets.flush.interval");
    if (config_string(cfg, "offsets.partitions"))
        wc->offsets_partitions = (int)config_int(cfg, "offsets.partitions");
    if (config_string(cfg, "offsets.replication.factor")) {
        wc->offsets_replication = (int)config_int(cfg, "offsets.replication.factor");
        if (wc->offsets_replication == 0) {
            const cfg_node_t *node = NULL;
            for (size_t i = 0; i < n; i++)
                if (strcmp(flat.inputs[i].key, "offsets.replication.factor") == 0) node = flat.inputs[i].node;
            cfg_build_error(&ctx, node ? node->line : 0, node ? node->col : 0,
                            "worker option 'offsets.replication.factor': must be -1 (broker default) or at least 1");
            wc->offsets_replication = -1;
        }
    }
    if (config_string(cfg, "group.id") && *config_string(cfg, "group.id")) {
        wc->group_id = str_dup(config_string(cfg, "group.id"));
        const char *topic = config_string(cfg, "tasks.topic");
        wc->tasks_topic = topic ? str_dup(topic) : str_printf("%s-tasks", wc->group_id);
        /* The group's connectors, shared by its workers only. */
        if (!config_is_set(cfg, "config.topic")) {
            free(wc->config_topic);
            wc->config_topic = str_printf("%s-configs", wc->group_id);
        }
    }
    if (wc->group_id && wc->offsets_store == OFFSETS_STORE_FILE)
        cfg_build_error(&ctx, ctx.line, ctx.col,
                        "worker option 'group.id' needs offsets.store: kafka: a source task that moves to another "
                        "worker must find its offsets there");
    if (config_string(cfg, "group.session.timeout"))
        wc->group_session_ms = config_duration_ms(cfg, "group.session.timeout");
    const char *eos = config_string(cfg, "exactly.once.source.support");
    wc->eos_source = eos && strcmp(eos, "enabled") == 0;
    const char *const *items;
    count = config_list(cfg, "plugin.path", &items);
    wc->plugin_path = copy_strings(items, count);
    wc->plugin_path_count = count;
    if (config_string(cfg, "shutdown.timeout"))
        wc->shutdown_timeout_ms = config_duration_ms(cfg, "shutdown.timeout");
    if (config_string(cfg, "progress.interval"))
        wc->progress_interval_ms = config_duration_ms(cfg, "progress.interval");
    if (config_string(cfg, "log.level")) {
        free(wc->log_level);
        wc->log_level = str_dup(config_string(cfg, "log.level"));
    }
    config_free(cfg);
    flat_free(&flat);
}

int config_connector_name_ok(const char *name)
{
    if (!*name) return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Fills spec->connector from `connector` or its alias `connector.class`. */
static void connector_class(worker_config_t *wc, connector_spec_t *spec, cfg_errors_t *errs)
{
    const cfg_node_t *map = spec->node;
    const cfg_node_t *a = cfg_node_get(map, "connector"), *b = cfg_node_get(map, "connector.class");
    if (a && b) {
        size_t i = 0;
        while (strcmp(map->keys[i], "connector.class") != 0) i++;
        cfg_errors_add(errs, "%s:%d:%d: connector %s: both 'connector' and 'connector.class' are set; use only one",
                       wc->path, map->key_lines[i], map->key_cols[i], spec->name);
    }
    const cfg_node_t *node = a ? a : b;
    if (!node || (node->kind == CFG_SCALAR && !node->scalar)) {
        cfg_errors_add(errs, "%s:%d:%d: connector %s: missing required option 'connector'", wc->path,
                       spec->line, spec->col, spec->name);
        return;
    }
    if (node->kind != CFG_SCALAR || !node->scalar[0]) {
        cfg_errors_add(errs, "%s:%d:%d: connector %s: option 'connector' must be a connector name",
                       wc->path, node->line, node->col, spec->name);
        return;
    }
    spec->connector = str_dup(node->scalar);
}

static void connectors_section(worker_config_t *wc, const cfg_node_t *section, cfg_errors_t *errs)
{
    if (section->kind == CFG_SCALAR && !section->scalar) return; /* `connectors:` left empty */
    if (section->kind != CFG_MAP) {
        cfg_errors_add(errs, "%s:%d:%d: 'connectors' must be a mapping of connector name to options",
                       wc->path, section->line, section->col);
        return;
    }
    wc->connectors = xcalloc(section->count ? section->count : 1, sizeof(*wc->connectors));
    for (size_t i = 0; i < section->count; i++) {
        const char *name = section->keys[i];
        const cfg_node_t *node = section->items[i];
        int line = section->key_lines[i], col = section->key_cols[i];
        if (!config_connector_name_ok(name)) {
            cfg_errors_add(errs, "%s:%d:%d: invalid connector name '%s' (use letters, digits, '.', '_' and '-')",
                           wc->path, line, col, name);
            continue;
        }
        if (node->kind != CFG_MAP) {
            cfg_errors_add(errs, "%s:%d:%d: connector %s: expected a mapping of options", wc->path,
                           node->line, node->col, name);
            continue;
        }
        connector_spec_t *spec = &wc->connectors[wc->connector_count++];
        spec->name = str_dup(name);
        spec->line = line;
        spec->col = col;
        spec->node = node;
        connector_class(wc, spec, errs);
    }
}

/* The substitution policy in the worker section of raw, a tree read without
 * substitution. Values that are not of the options' types are reported by
 * worker_section later; here they only leave the option invalid. */
static cfg_subst_policy_t *worker_subst_policy(const cfg_node_t *raw, const char *path, cfg_errors_t *errs)
{
    cfg_subst_policy_t *policy = cfg_subst_policy_new();
    const cfg_node_t *section = raw->kind == CFG_MAP ? cfg_node_get(raw, "worker") : NULL;
    if (!section || section->kind != CFG_MAP) return policy;
    flat_t flat = {0};
    worker_flatten(&flat, NULL, section);
    for (size_t i = 0; i < flat.count; i++) {
        const cfg_input_t *in = &flat.inputs[i];
        if (strcmp(in->key, CFG_OPT_FILE_ALLOWED_PATHS) == 0) cfg_subst_policy_paths(policy, path, in->node, errs);
        if (strcmp(in->key, CFG_OPT_ENV_ALLOWLIST_PATTERN) == 0)
            cfg_subst_policy_env_pattern(policy, path, in->node, errs);
    }
    flat_free(&flat);
    return policy;
}

/* The worker section limits what ${..} references in the same file may
 * read, so its policy options are read, from a first parse without
 * substitution, before anything is substituted. */
static cfg_node_t *worker_load_tree(const char *path, cfg_subst_policy_t **policy, cfg_errors_t *errs)
{
    cfg_node_t *raw = cfg_yaml_load_file_with(path, NULL, errs);
    if (!raw) return NULL;
    *policy = worker_subst_policy(raw, path, errs);
    cfg_node_free(raw);
    cfg_subst_ctx_t ctx = {.policy = *policy, .trusted = 1};
    cfg_node_t *root = cfg_yaml_load_file_with(path, &ctx, errs);
    if (!root) {
        cfg_subst_policy_free(*policy);
        *policy = NULL;
    }
    return root;
}

worker_config_t *worker_config_load(const char *path, cfg_errors_t *errs)
{
    cfg_subst_policy_t *policy = NULL;
    cfg_node_t *root = worker_load_tree(path, &policy, errs);
    if (!root) return NULL;
    worker_config_t *wc = xcalloc(1, sizeof(*wc));
    wc->path = str_dup(path);
    wc->root = root;
    wc->subst_policy = policy;
    worker_defaults(wc);
    if (root->kind != CFG_MAP) {
        cfg_errors_add(errs, "%s:%d:%d: expected a mapping with 'worker' and 'connectors'", path,
                       root->line, root->col);
        return wc;
    }
    static const char *const top[] = {"worker", "connectors"};
    for (size_t i = 0; i < root->count; i++) {
        const char *key = root->keys[i];
        if (strcmp(key, "worker") == 0) {
            worker_section(wc, root->items[i], errs);
        } else if (strcmp(key, "connectors") == 0) {
            connectors_section(wc, root->items[i], errs);
        } else {
            const char *hint = config_did_you_mean(key, top, 2);
            if (hint)
                cfg_errors_add(errs, "%s:%d:%d: unknown top-level key '%s' (did you mean '%s'?)", path,
                               root->key_lines[i], root->key_cols[i], key, hint);
            else
                cfg_errors_add(errs, "%s:%d:%d: unknown top-level key '%s' (expected 'worker' or 'connectors')",
                               path, root->key_lines[i], root->key_cols[i], key);
        }
    }
    return wc;
}

void worker_config_free(worker_config_t *wc)
{
    if (!wc) return;
    for (size_t i = 0; i < wc->kafka_count; i++) {
        free(wc->kafka_keys[i]);
        free(wc->kafka_values[i]);
    }
    free(wc->kafka_keys);
    free(wc->kafka_values);
    free(wc->offsets_topic);
    free(wc->offsets_file);
    free(wc->config_topic);
    free(wc->config_file);
    for (size_t i = 0; i < wc->plugin_path_count; i++) free(wc->plugin_path[i]);
    free(wc->plugin_path);
    free(wc->log_level);
    free(wc->group_id);
    free(wc->tasks_topic);
    for (size_t i = 0; i < wc->connector_count; i++) {
        free(wc->connectors[i].name);
        free(wc->connectors[i].connector);
    }
    free(wc->connectors);
    cfg_node_free(wc->root);
    cfg_subst_policy_free(wc->subst_policy);
    free(wc->path);
    free(wc);
}
