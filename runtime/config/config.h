/*
 * config.h — YAML pipeline files → worker settings + validated connector configs.
 *
 * Loading happens in two steps so that `ferry validate` can report every
 * error at once:
 *   1. worker_config_load() parses the YAML (libyaml), reads the worker's
 *      config.providers.* options from it, substitutes ${env:NAME} and
 *      ${file:/path} in scalars under them, validates the `worker:`
 *      section and collects each connector's raw flat mapping.
 *   2. connector_config_build() validates one connector's mapping against
 *      the framework options (config_framework_options()) plus the
 *      connector's option table, applies defaults and returns a
 *      ferry_config_t, the object the SDK's cfg_* getters read.
 * Every error is "FILE:LINE:COL: connector NAME: message" (without the
 * connector part for worker errors) and goes into a cfg_errors_t.
 *
 * Threads: none of these functions are thread-safe on the same object; a
 * built ferry_config_t is immutable and may be read from any thread.
 */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include <ferry/ferry.h>
#include <stddef.h>
#include <stdint.h>

/* ---- error list ---------------------------------------------------------- */
typedef struct cfg_errors {
    char **items; /* owned; each a full message line */
    size_t count;
} cfg_errors_t;

void cfg_errors_add(cfg_errors_t *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The longest value or key a message shows; a longer one is cut in the
 * middle (str_elide_middle) so that the reason after it stays readable. */
#define CFG_SHOWN_MAX 80
/* What stands in a message for a value that must never be shown. */
#define CFG_HIDDEN "[hidden]"
/* Adds "FILE:LINE:COL: LABELmessage": without ":LINE:COL" when line is 0,
 * without "FILE: " when file is NULL; label may be NULL. */
void cfg_errors_add_at(cfg_errors_t *errs, const char *file, int line, int col, const char *label,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void cfg_errors_clear(cfg_errors_t *errs); /* frees items, leaves an empty list */

/* ---- YAML tree ----------------------------------------------------------- */
typedef enum cfg_node_kind { CFG_SCALAR, CFG_SEQ, CFG_MAP } cfg_node_kind_t;

typedef struct cfg_node cfg_node_t;
struct cfg_node {
    cfg_node_kind_t kind;
    char *scalar;          /* CFG_SCALAR: value after ${..} substitution; NULL for YAML null (~, empty) */
    int line, col;         /* 1-based position of the node in the file */
    size_t count;          /* CFG_SEQ / CFG_MAP: number of children */
    char **keys;           /* CFG_MAP: keys (scalar) */
    int *key_lines, *key_cols; /* CFG_MAP: positions of the keys */
    cfg_node_t **items;    /* children */
    int secret_subst;      /* 1 when a ${env:}/${file:} reference was substituted in */
};

/* Parses a YAML file into a tree. Duplicate keys, anchors/aliases misuse,
 * non-scalar keys and malformed YAML are errors. NULL on error. Scalars are
 * substituted as in an operator's own file with no policy options
 * (CFG_SUBST_OPERATOR below); worker_config_load applies the file's own
 * policy instead. */
cfg_node_t *cfg_yaml_load_file(const char *path, cfg_errors_t *errs);
/* Same, from a buffer; `name` is used in messages instead of a path. */
cfg_node_t *cfg_yaml_load_buffer(const char *name, const char *buf, size_t len, cfg_errors_t *errs);
typedef struct cfg_subst_ctx cfg_subst_ctx_t;
/* The same with substitution under subst; subst NULL = none at all: scalars
 * keep their ${..} text as written (used to read the policy options first). */
cfg_node_t *cfg_yaml_load_file_with(const char *path, const cfg_subst_ctx_t *subst, cfg_errors_t *errs);
cfg_node_t *cfg_yaml_load_buffer_with(const char *name, const char *buf, size_t len,
                                      const cfg_subst_ctx_t *subst, cfg_errors_t *errs);
void cfg_node_free(cfg_node_t *node);
/* 1 when two trees hold the same keys and scalars in the same order. */
int cfg_node_equal(const cfg_node_t *a, const cfg_node_t *b);
/* Child of a map by key, or NULL. */
const cfg_node_t *cfg_node_get(const cfg_node_t *map, const char *key);

/* ---- ${env:}/${file:} substitution (config_subst.c) ------------------------ */
/* The worker options that limit substitution, named as in Kafka Connect
 * (KIP-993's FileConfigProvider/DirectoryConfigProvider allowed.paths and
 * KIP-887's EnvVarConfigProvider allowlist.pattern). */
#define CFG_OPT_FILE_ALLOWED_PATHS "config.providers.file.param.allowed.paths"
#define CFG_OPT_ENV_ALLOWLIST_PATTERN "config.providers.env.param.allowlist.pattern"

/* Which files and variables references may read. Built once from the
 * worker options; immutable afterwards and then safe to share by threads. */
typedef struct cfg_subst_policy cfg_subst_policy_t;
cfg_subst_policy_t *cfg_subst_policy_new(void); /* no option set */
void cfg_subst_policy_free(cfg_subst_policy_t *policy); /* NULL is a no-op */
/* Sets allowed.paths from its YAML value (a list or a comma-separated
 * string; YAML null = unset). Each path must be absolute and exist; it is
 * kept resolved (realpath). Any error (reported at its position in file)
 * leaves the option invalid, which refuses every file reference. An
 * empty list allows no file. 0 or -1. */
int cfg_subst_policy_paths(cfg_subst_policy_t *policy, const char *file, const cfg_node_t *node,
                           cfg_errors_t *errs);
/* Sets allowlist.pattern: a POSIX extended regular expression that a
 * variable's whole name must match. Errors as above; an invalid pattern
 * refuses every variable. 0 or -1. */
int cfg_subst_policy_env_pattern(cfg_subst_policy_t *policy, const char *file, const cfg_node_t *node,
                                 cfg_errors_t *errs);

/* Who wrote the config being substituted. The zero value is untrusted. */
struct cfg_subst_ctx {
    const cfg_subst_policy_t *policy; /* borrowed; NULL = no option set */
    /* 1: the operator's own file. An option that is not set allows
     *    everything, as in Kafka Connect, so existing files keep working.
     * 0: an untrusted source, e.g. a config PUT through the REST API. An
     *    option that is not set allows nothing: such a config reads only
     *    files within allowed.paths and variables matching allowlist.pattern.
     * A set option restricts both alike. */
    int trusted;
};
/* The context of cfg_yaml_load_file/_buffer: trusted, no policy. */
extern const cfg_subst_ctx_t CFG_SUBST_OPERATOR;

/* Replaces ${env:NAME} and ${file:/path} in s ("$${" is a literal "${");
 * sets *substituted when a reference was replaced. Returns a malloc'd
 * string, or NULL after adding one error per bad reference to errs. Each
 * message starts with "WHERE:LINE:COL: " (or "WHERE: " when line is 0, or
 * nothing when where is NULL), names the reference and, when the policy
 * refused it, the option to set; it never contains a substituted value.
 * A REST handler substitutes each value of an incoming config with
 *     cfg_subst_ctx_t ctx = {.policy = wc->subst_policy, .trusted = 0};
 *     char *v = cfg_subst_string(&ctx, raw, "connector x: option 'k'", 0, 0, &subst, errs);
 * and treats a value with subst set as a secret (redacted like one). */
char *cfg_subst_string(const cfg_subst_ctx_t *ctx, const char *s, const char *where, int line, int col,
                       int *substituted, cfg_errors_t *errs);

/* ---- worker section ------------------------------------------------------ */
typedef enum offsets_store_kind { OFFSETS_STORE_KAFKA = 0, OFFSETS_STORE_FILE = 1 } offsets_store_kind_t;

typedef struct connector_spec {
    char *name;             /* the key under `connectors:` */
    char *connector;        /* value of `connector` / `connector.class`, or NULL if missing */
    int line, col;          /* position of the name key */
    const cfg_node_t *node; /* the connector's raw mapping (owned by the worker config's tree) */
} connector_spec_t;

typedef struct worker_config {
    char *path;               /* the file it came from */
    char **kafka_keys;        /* worker.kafka: librdkafka properties, passed through */
    char **kafka_values;
    size_t kafka_count;
    const cfg_node_t *kafka;  /* worker.kafka as written (inside root), or NULL: positions for messages */
    offsets_store_kind_t offsets_store; /* worker.offsets.store, default kafka */
    char *offsets_topic;      /* worker.offsets.topic, default "ferry-offsets" */
    char *offsets_file;       /* worker.offsets.file, default "ferry-offsets.dat" (store: file) */
    int64_t offsets_flush_ms; /* worker.offsets.flush.interval, default 5s */
    char *config_topic;       /* worker.config.topic, default "ferry-configs": connectors from REST (store: kafka) */
    char *config_file;        /* worker.config.file, default NAME.connectors.json beside the YAML (store: file) */
    int offsets_partitions;   /* worker.offsets.partitions, default 25 */
    int offsets_replication;  /* worker.offsets.replication.factor, default -1 (broker default) */
    char **plugin_path;       /* worker.plugin.path: list of directories; NULL/0 = built-in default */
    size_t plugin_path_count;
    int64_t shutdown_timeout_ms; /* worker.shutdown.timeout, default 30s */
    int64_t progress_interval_ms;/* worker.progress.interval, default 10s; 0 = off */
    char *group_id;           /* worker.group.id, or NULL: this worker runs every task */
    char *tasks_topic;        /* worker.tasks.topic, default <group.id>-tasks (group.id set) */
    int64_t group_session_ms; /* worker.group.session.timeout, default 10s */
    int eos_source;           /* worker.exactly.once.source.support: enabled */
    char *log_level;          /* worker.log.level, default "info" */
    connector_spec_t *connectors; /* in file order */
    size_t connector_count;
    cfg_node_t *root;         /* owned: the whole parsed document */
    const cfg_node_t *rest;   /* worker.rest mapping as written (inside root), or NULL; read by the REST subsystem */
    cfg_subst_policy_t *subst_policy; /* owned: worker.config.providers.*; configs from REST use it untrusted */
} worker_config_t;

/* Loads and validates FILE's YAML and worker section. Returns NULL when
 * nothing usable could be read; otherwise a config (errors may still have
 * been added: the caller checks errs->count). */
worker_config_t *worker_config_load(const char *path, cfg_errors_t *errs);
void worker_config_free(worker_config_t *wc);
/* 1 when name may name a connector: letters, digits, '.', '_' and '-'. */
int config_connector_name_ok(const char *name);
/* The worker option table (for docs and validation). */
const ferry_option_t *config_worker_options(void);

/* ---- connector configs ------------------------------------------------------ */

/* Options every connector has, handled by the host: connector (alias
 * connector.class), tasks.max, errors.retry.timeout, errors.retry.delay.max,
 * batch.max.records, and for sinks topics (required) and flush.interval.
 * Prefixed keys producer.override.* / consumer.override.* are allowed for
 * the librdkafka properties in config_override_allowed(). */
const ferry_option_t *config_framework_options(ferry_kind_t kind);
/* 1 when a librdkafka property may be overridden per connector (an allow-list:
 * nothing that loads or executes code). */
int config_override_allowed(const char *property);

/* Validates spec against the framework options and desc->options: unknown
 * keys (with did-you-mean), wrong types, bounds, enums, missing required
 * options; then desc->validate if present. Adds every error to errs; returns
 * NULL if any. `file` is used for positions. */
ferry_config_t *connector_config_build(const char *file, const connector_spec_t *spec,
                                       const ferry_connector_t *desc, const ferry_host_t *host,
                                       cfg_errors_t *errs);
/* Same from flat key/value strings (REST, tests). A NULL value means unset;
 * lists are comma-separated, maps are "k=v,k2=v2". substituted (NULL =
 * none) marks values that came from ${..} substitution: secrets, never
 * shown in messages or views. Messages have no position:
 * "connector NAME: message". */
ferry_config_t *connector_config_from_kv(const char *name, const char *const *keys,
                                         const char *const *values, const int *substituted, size_t count,
                                         const ferry_connector_t *desc, const ferry_host_t *host,
                                         cfg_errors_t *errs);
/* A copy of base with extra string entries (task overrides). Keys that the
 * option table declares are parsed by their type; unknown keys are kept as
 * strings, readable with config_string(). */
ferry_config_t *config_overlay(const ferry_config_t *base, const char *const *keys,
                               const char *const *values, size_t count);
void config_free(ferry_config_t *cfg);

/* Typed getters behind the SDK's host->cfg_* functions (same semantics). */
const char *config_string(const ferry_config_t *cfg, const char *name);
int64_t config_int(const ferry_config_t *cfg, const char *name);
int config_bool(const ferry_config_t *cfg, const char *name);
double config_double(const ferry_config_t *cfg, const char *name);
int64_t config_duration_ms(const ferry_config_t *cfg, const char *name);
int64_t config_size(const ferry_config_t *cfg, const char *name);
size_t config_list(const ferry_config_t *cfg, const char *name, const char *const **items);
size_t config_map(const ferry_config_t *cfg, const char *name, const char *const **keys,
                  const char *const **values);
int config_is_set(const ferry_config_t *cfg, const char *name);
/* 1 when name's value is never shown: a FERRY_OPT_SECRET option, or a value
 * that came from ${..} substitution. */
int config_is_hidden(const ferry_config_t *cfg, const char *name);
/* 1 when a and b hold the same values (secrets included: compared, never shown). */
int config_equal(const ferry_config_t *a, const ferry_config_t *b);
/* Connector name (the key under connectors:). */
const char *config_name(const ferry_config_t *cfg);
/* Entries whose key starts with prefix, prefix stripped; arrays owned by cfg
 * until the next call with the same cfg (not thread-safe). */
size_t config_prefixed(const ferry_config_t *cfg, const char *prefix, const char *const **keys,
                       const char *const **values);
/* The whole config as a compact JSON object of strings, in option order;
 * secrets (FERRY_OPT_SECRET, and any value that came from ${..} substitution
 * when redact_substituted) are replaced by "[hidden]". malloc'd. */
char *config_to_json(const ferry_config_t *cfg, int redact);
/* msg with every secret value of cfg (FERRY_OPT_SECRET options and values
 * that came from ${..} substitution, 3 bytes or longer) replaced by
 * "[hidden]"; malloc'd. Any thread. */
char *config_scrub(const ferry_config_t *cfg, const char *msg);

/* ---- value parsing (shared with tests) ------------------------------------ */
/* Each returns 0 on success, -1 with a message naming the expected form. */
int config_parse_duration_ms(const char *s, int64_t *out, char *err, size_t errlen);
int config_parse_size(const char *s, int64_t *out, char *err, size_t errlen);
int config_parse_bool(const char *s, int *out);
/* Best suggestion among candidates (edit distance ≤ 3, or a prefix match), or NULL. */
const char *config_did_you_mean(const char *key, const char *const *candidates, size_t count);

#endif
