/*
 * config_connector.c — validating a flat set of options against option
 * tables (the engine behind connector configs and the worker section), the
 * framework options every connector has, and the per-connector librdkafka
 * override allow-list.
 *
 * The engine reports every problem it finds instead of stopping at the
 * first, so that `ferry validate` shows a user all of them in one run.
 */
#include "config/config_internal.h"
#include "util/strutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>

#define MAX_LISTED_OPTIONS 10

/* ---- framework options ---------------------------------------------------------- */

static const char *const tolerance_values[] = {"none", "all", NULL};

#define FRAMEWORK_COMMON                                                                           \
    {"connector", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,                          \
     "Name of the connector implementation (alias: connector.class)."},                           \
    {"tasks.max", FERRY_OPT_INT, "1", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 1024, NULL,        \
     "Maximum number of tasks the connector may run."},                                           \
    {"errors.retry.timeout", FERRY_OPT_DURATION, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,               \
     "How long a callback that returns RETRY is retried (exponential backoff with jitter) before the task fails; 0 = without limit, like a RetriableException in Kafka Connect."},      \
    {"errors.retry.delay.max", FERRY_OPT_DURATION, "60s", FERRY_OPT_HAS_MIN, 0, 0, NULL,           \
     "Upper bound of the exponential backoff between retries."},                                  \
    {"errors.restart.enabled", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL,                              \
     "Restart a task that failed with ERROR (FATAL never restarts); false = it stays FAILED."},    \
    {"errors.restart.backoff.max", FERRY_OPT_DURATION, "60s", FERRY_OPT_HAS_MIN, 1000, 0, NULL,    \
     "Restarts wait 1s, doubling up to this; the doubling starts over once a task has run this long."}, \
    {"errors.restart.max", FERRY_OPT_INT, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,                      \
     "How many restarts in a row (without running errors.restart.backoff.max in between) before a failed task stays FAILED; 0 = no limit."}, \
    {"errors.tolerance", FERRY_OPT_ENUM, "none", 0, 0, 0, tolerance_values,                        \
     "What a record that can never be delivered does: none = the task fails (and is not restarted: it would meet the same record); all = it is skipped, or sent to the dead-letter queue, and the pipeline goes on."}, \
    {"errors.log.enable", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL,                                  \
     "Log every record error with its stage and position (errors.tolerance: all)."},             \
    {"errors.log.include.messages", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL,                        \
     "Include the record's key and value in those log lines."},                                   \
    {"errors.deadletterqueue.topic.name", FERRY_OPT_STRING, "", FERRY_OPT_TOPIC, 0, 0, NULL,       \
     "Topic that receives records that failed (errors.tolerance: all); empty = none. Sources have one too, unlike Kafka Connect."}, \
    {"errors.deadletterqueue.context.headers.enable", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL,      \
     "Add __connect.errors.* headers (original topic, partition, offset, connector, task, stage, exception class and message) to dead-letter records."}, \
    {"errors.deadletterqueue.topic.replication.factor", FERRY_OPT_INT, "-1",                       \
     FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, -1, 32767, NULL,                                       \
     "Replication factor when ferry creates the dead-letter topic; -1 = the broker's default (Kafka Connect's default is 3)."}, \
    {"batch.max.records", FERRY_OPT_INT, "2000", FERRY_OPT_HAS_MIN, 1, 0, NULL,                    \
     "Maximum number of records per batch."},                                                     \
    {"batch.max.bytes", FERRY_OPT_SIZE, "1MiB", FERRY_OPT_HAS_MIN, 1, 0, NULL,                     \
     "Maximum size of a batch."},                                                                     \
    {"key.converter", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,                                          \
     "How keys are written to (sources) or read from (sinks) Kafka: json, string or bytes (Connect's " \
     "class names too); unset: as they are. Options as key.converter.*."},                            \
    {"value.converter", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,                                        \
     "As key.converter, for values (value.converter.schemas.enable for json, default true)."},        \
    {"header.converter", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,                                       \
     "simple (Connect's SimpleHeaderConverter, the default and the only one): header values "          \
     "transforms write are text, numbers and booleans as text, structures as JSON."},                   \
    {"transforms", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,                                               \
     "Names of the transforms to apply in order, each configured by transforms.NAME.type and its "    \
     "options (Connect's single-message transforms)."},                                               \
    {"predicates", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,                                               \
     "Names of predicates (predicates.NAME.type) that transforms may name as transforms.X.predicate."}, \
    {"rate.limit.records", FERRY_OPT_INT, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,                         \
     "At most this many records a second, for all the connector's tasks on a worker together; 0 = "   \
     "no limit."},                                                                                    \
    {"rate.limit.bytes", FERRY_OPT_SIZE, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,                          \
     "At most this many bytes (keys and values) a second, likewise; 0 = no limit."}

static const char *const eos_support_values[] = {"requested", "required", NULL};
static const char *const txn_boundary_values[] = {"poll", "interval", NULL};

static const ferry_option_t source_options[] = {
    FRAMEWORK_COMMON,
    {"exactly.once.support", FERRY_OPT_ENUM, "requested", 0, 0, 0, eos_support_values,
     "With the worker's exactly.once.source.support: enabled: requested = transactions when the setup allows "
     "them, otherwise at-least-once with a warning; required = refuse to start without them."},
    {"transaction.boundary", FERRY_OPT_ENUM, "poll", 0, 0, 0, txn_boundary_values,
     "Exactly-once: poll = one transaction per non-empty poll() batch; interval = one per "
     "transaction.boundary.interval.ms."},
    {"transaction.boundary.interval.ms", FERRY_OPT_DURATION, NULL, FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "Length of a transaction with transaction.boundary: interval; default the worker's offsets.flush.interval."},
    FERRY_OPTIONS_END};

static const char *const delivery_values[] = {"at-least-once", "at-most-once", NULL};

static const ferry_option_t sink_options[] = {
    FRAMEWORK_COMMON,
    {"topics", FERRY_OPT_LIST, NULL, FERRY_OPT_HAS_MIN | FERRY_OPT_TOPIC, 1, 0, NULL,
     "Kafka topics to consume (a list or a comma-separated string); this or topics.regex."},
    {"topics.regex", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Consume every topic whose whole name matches this regular expression (POSIX extended syntax), "
     "including topics created later; instead of topics."},
    {"flush.interval", FERRY_OPT_DURATION, "5s", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "How often the sink is asked to make its data durable before consumer offsets are committed."},
    {"delivery.guarantee", FERRY_OPT_ENUM, "at-least-once", 0, 0, 0, delivery_values,
     "at-least-once: consumer offsets are committed after the records were put and flushed (a crash "
     "delivers some again); at-most-once: before put (a crash loses the batch in flight, never "
     "duplicates)."},
    FERRY_OPTIONS_END};

const ferry_option_t *config_framework_options(ferry_kind_t kind)
{
    return kind == FERRY_SINK ? sink_options : source_options;
}

/* librdkafka properties that are safe per connector: tuning only. Anything
 * that names files, commands or engines to load (plugin.library.paths,
 * sasl.kerberos.kinit.cmd, ssl.engine.location, ...) or that the runtime
 * owns (bootstrap.servers, group.id, enable.auto.commit, transactional.id)
 * stays in the worker's kafka: section. */
static const char *const override_allow[] = {
    "batch.size", "linger.ms", "compression.type", "compression.codec", "acks",
    "request.required.acks", "message.max.bytes", "queue.buffering.max.messages",
    "queue.buffering.max.kbytes", "queue.buffering.max.ms", "batch.num.messages",
    "max.in.flight.requests.per.connection", "retries", "retry.backoff.ms", "request.timeout.ms",
    "message.timeout.ms", "delivery.timeout.ms", "fetch.min.bytes", "fetch.max.bytes",
    "fetch.wait.max.ms", "max.partition.fetch.bytes", "fetch.message.max.bytes",
    "max.poll.interval.ms", "session.timeout.ms", "heartbeat.interval.ms", "auto.offset.reset",
    "isolation.level", "client.id", "partition.assignment.strategy", "queued.min.messages",
    "queued.max.messages.kbytes", "statistics.interval.ms", "socket.timeout.ms", NULL};

int config_override_allowed(const char *property)
{
    if (!property) return 0;
    for (const char *const *p = override_allow; *p; p++)
        if (strcmp(*p, property) == 0) return 1;
    return 0;
}

/* ---- the engine ------------------------------------------------------------------ */

void cfg_build_error(cfg_build_ctx_t *ctx, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = str_vprintf(fmt, ap);
    va_end(ap);
    cfg_errors_add_at(ctx->errs, ctx->file, line, col, ctx->label, "%s", msg);
    free(msg);
    ctx->errors++;
}

/* The merged view of the tables: one option per name, in display order. */
typedef struct optset {
    const ferry_option_t **opts;
    size_t *origin; /* index of the table each option came from */
    size_t count;
} optset_t;

static optset_t optset_merge(const ferry_option_t *const *tables, size_t ntables)
{
    optset_t set = {0};
    size_t cap = 0;
    for (size_t t = 0; t < ntables; t++)
        for (const ferry_option_t *o = tables[t]; o && o->name; o++) cap++;
    set.opts = xcalloc(cap ? cap : 1, sizeof(*set.opts));
    set.origin = xcalloc(cap ? cap : 1, sizeof(*set.origin));
    for (size_t t = 0; t < ntables; t++) {
        for (const ferry_option_t *o = tables[t]; o && o->name; o++) {
            size_t i;
            for (i = 0; i < set.count; i++)
                if (strcmp(set.opts[i]->name, o->name) == 0) break;
            if (i == set.count) set.count++;
            set.opts[i] = o; /* a later table redefines an option in place */
            set.origin[i] = t;
        }
    }
    return set;
}

static size_t optset_find(const optset_t *set, const char *name)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->opts[i]->name, name) == 0) return i;
    return (size_t)-1;
}

static void report_unknown(cfg_build_ctx_t *ctx, const optset_t *set, const cfg_input_t *in)
{
    const char **names = xcalloc(set->count ? set->count : 1, sizeof(*names));
    for (size_t i = 0; i < set->count; i++) names[i] = set->opts[i]->name;
    const char *hint = config_did_you_mean(in->key, names, set->count);
    char *key = str_elide_middle(in->key, CFG_SHOWN_MAX);
    if (hint) {
        cfg_build_error(ctx, in->line, in->col, "unknown %s '%s' (did you mean '%s'?)", ctx->noun,
                        key, hint);
    } else {
        char list[768];
        size_t off = 0;
        list[0] = '\0';
        /* Most specific first: the options of the last table (the
         * connector's own) are what a user most likely meant. */
        size_t shown = 0, last = set->count ? set->origin[set->count - 1] : 0;
        for (size_t pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < set->count; i++) {
                if ((set->origin[i] == last) != (pass == 0)) continue;
                if (shown == MAX_LISTED_OPTIONS || off >= sizeof(list)) break;
                off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", shown ? ", " : "",
                                        names[i]);
                shown++;
            }
        }
        cfg_build_error(ctx, in->line, in->col, "unknown %s '%s' (valid options: %s%s)", ctx->noun,
                        key, list, set->count > shown ? ", ..." : "");
    }
    free(key);
    free(names);
}

/* The value as it may appear in a message, or NULL when it must not. */
static const char *shown_value(const ferry_option_t *opt, const cfg_input_t *in)
{
    if (opt->type == FERRY_OPT_SECRET) return NULL;
    if (in->node) {
        if (in->node->kind != CFG_SCALAR || in->node->secret_subst) return NULL;
        return in->node->scalar;
    }
    return in->subst ? NULL : in->str;
}

static int value_line(const cfg_input_t *in) { return in->node ? in->node->line : in->line; }
static int value_col(const cfg_input_t *in) { return in->node ? in->node->col : in->col; }

static void apply_input(cfg_build_ctx_t *ctx, const ferry_option_t *opt, cfg_entry_t *e,
                        const cfg_input_t *in)
{
    char err[512];
    if (cfg_value_parse(opt, in->node, in->str, e, err, sizeof(err)) < 0) {
        const char *v = shown_value(opt, in);
        if (v && opt->type != FERRY_OPT_LIST && opt->type != FERRY_OPT_MAP) {
            char *shown = str_elide_middle(v, CFG_SHOWN_MAX);
            cfg_build_error(ctx, value_line(in), value_col(in), "%s '%s': invalid value '%s': %s",
                            ctx->noun, opt->name, shown, err);
            free(shown);
        } else
            cfg_build_error(ctx, value_line(in), value_col(in), "%s '%s': invalid value: %s",
                            ctx->noun, opt->name, err);
        cfg_entry_clear_value(e);
        return;
    }
    e->is_set = 1;
    e->subst |= in->subst;
    if (cfg_value_check_bounds(opt, e, shown_value(opt, in) != NULL, err, sizeof(err)) < 0)
        cfg_build_error(ctx, value_line(in), value_col(in), "%s '%s': %s", ctx->noun, opt->name, err);
}

static void apply_default(cfg_build_ctx_t *ctx, const ferry_option_t *opt, cfg_entry_t *e)
{
    if ((opt->flags & FERRY_OPT_REQUIRED) || !opt->default_value) return;
    char err[512];
    if (cfg_value_parse(opt, NULL, opt->default_value, e, err, sizeof(err)) < 0) {
        /* A bug in the option table, but the user should hear about it
         * before the task fails in a confusing way. */
        cfg_build_error(ctx, ctx->line, ctx->col, "%s '%s': invalid default in the option table: %s",
                        ctx->noun, opt->name, err);
        cfg_entry_clear_value(e);
    }
}

/* Prefixes of keys kept as raw strings for the transforms and converters,
 * which check them (transform.c). */
static const char *const raw_prefixes[] = {"transforms.", "predicates.", "key.converter.", "value.converter.",
                                           "header.converter.", NULL};


/* The input's value as a raw string entry of cfg (an override, a prefixed
 * key): one scalar, not set twice; null leaves it unset. Returns 1 (handled). */
static int add_raw_string(cfg_build_ctx_t *ctx, ferry_config_t *cfg, const cfg_input_t *in)
{
    const char *value = in->node ? in->node->scalar : in->str;
    if (in->node && in->node->kind != CFG_SCALAR) {
        cfg_build_error(ctx, value_line(in), value_col(in), "'%s' must be a single value", in->key);
        return 1;
    }
    if (!value) return 1; /* null = unset */
    if (cfg_config_find(cfg, in->key)) {
        cfg_build_error(ctx, in->line, in->col, "'%s' is set twice", in->key);
        return 1;
    }
    cfg_entry_t *e = cfg_config_add(cfg, in->key);
    e->text = str_dup(value);
    e->is_set = 1;
    e->subst = in->node ? in->node->secret_subst : in->subst;
    return 1;
}

/* producer.override.X / consumer.override.X (or a raw_prefixes key): kept
 * as raw strings. Returns 1 when the key had such a prefix (handled, maybe
 * with an error). */
static int apply_override(cfg_build_ctx_t *ctx, ferry_config_t *cfg, const cfg_input_t *in)
{
    int raw = 0;
    for (const char *const *p = raw_prefixes; *p && !raw; p++) raw = strncmp(in->key, *p, strlen(*p)) == 0;
    if (ctx->wrong_override_prefix &&
        strncmp(in->key, ctx->wrong_override_prefix, strlen(ctx->wrong_override_prefix)) == 0) {
        cfg_build_error(ctx, in->line, in->col, "'%s' does not apply to a %s connector (use '%s...')",
                        in->key, cfg->kind == FERRY_SINK ? "sink" : "source", ctx->override_prefix);
        return 1;
    }
    if (!ctx->override_prefix) return 0;
    size_t plen = strlen(ctx->override_prefix);
    if (!raw && strncmp(in->key, ctx->override_prefix, plen) != 0) return 0;
    const char *property = in->key + plen;
    if (!raw && !config_override_allowed(property)) {
        cfg_build_error(ctx, in->line, in->col, "property %s may not be overridden per connector",
                        property);
        return 1;
    }
    return add_raw_string(ctx, cfg, in);
}

/* "<name>.<suffix>" of an option declared with FERRY_OPT_PREFIX: kept as a
 * raw string for the connector. Returns 1 when the key is one (handled). */
static int apply_prefixed(cfg_build_ctx_t *ctx, const optset_t *set, ferry_config_t *cfg, const cfg_input_t *in)
{
    const ferry_option_t *opt = NULL;
    for (size_t i = 0; i < set->count && !opt; i++) {
        size_t n = strlen(set->opts[i]->name);
        if ((set->opts[i]->flags & FERRY_OPT_PREFIX) && strncmp(in->key, set->opts[i]->name, n) == 0 &&
            in->key[n] == '.' && in->key[n + 1])
            opt = set->opts[i];
    }
    if (!opt) return 0;
    return add_raw_string(ctx, cfg, in);
}

static int input_is_null(const cfg_input_t *in)
{
    return in->node ? (in->node->kind == CFG_SCALAR && !in->node->scalar) : !in->str;
}

ferry_config_t *cfg_build(cfg_build_ctx_t *ctx, const char *name, ferry_kind_t kind,
                          const ferry_option_t *const *tables, size_t ntables,
                          const cfg_input_t *inputs, size_t ninputs)
{
    optset_t set = optset_merge(tables, ntables);
    ferry_config_t *cfg = cfg_config_new(name, kind);
    /* Which input set each option, to report aliases given twice. */
    const cfg_input_t **given = xcalloc(set.count ? set.count : 1, sizeof(*given));
    for (size_t i = 0; i < set.count; i++) {
        cfg_entry_t *e = cfg_config_add(cfg, set.opts[i]->name);
        e->type = set.opts[i]->type;
        e->declared = 1;
    }
    for (size_t k = 0; k < ninputs; k++) {
        const cfg_input_t *in = &inputs[k];
        const char *key = in->key;
        /* Kafka Connect spells it connector.class; accept that too. */
        if (strcmp(key, "connector.class") == 0 && optset_find(&set, "connector.class") == (size_t)-1)
            key = "connector";
        size_t idx = optset_find(&set, key);
        if (idx == (size_t)-1) {
            if (!apply_override(ctx, cfg, in) && !apply_prefixed(ctx, &set, cfg, in)) report_unknown(ctx, &set, in);
            continue;
        }
        if (given[idx]) {
            if (strcmp(given[idx]->key, in->key) != 0)
                cfg_build_error(ctx, in->line, in->col, "both '%s' and '%s' are set; use only one",
                                given[idx]->key, in->key);
            else
                cfg_build_error(ctx, in->line, in->col, "%s '%s' is set twice", ctx->noun, in->key);
            continue;
        }
        given[idx] = in;
        if (input_is_null(in)) continue; /* YAML null: unset, the default applies */
        apply_input(ctx, set.opts[idx], &cfg->entries[idx], in);
    }
    for (size_t i = 0; i < set.count; i++) {
        const ferry_option_t *opt = set.opts[i];
        cfg_entry_t *e = &cfg->entries[i];
        if (e->is_set || (given[i] && !input_is_null(given[i]))) continue; /* set (or failed) */
        if (opt->flags & FERRY_OPT_REQUIRED)
            cfg_build_error(ctx, ctx->line, ctx->col, "missing required %s '%s'", ctx->noun, opt->name);
        else
            apply_default(ctx, opt, e);
    }
    free(given);
    free(set.opts);
    free(set.origin);
    return cfg;
}

/* ---- connector configs -------------------------------------------------------------- */

/* A sink names its topics one way: a list, or a pattern that compiles. */
static void sink_topics_check(cfg_build_ctx_t *ctx, const ferry_config_t *cfg)
{
    const char *const *topics = NULL;
    size_t n = config_is_set(cfg, "topics") ? config_list(cfg, "topics", &topics) : 0;
    const char *re = config_string(cfg, "topics.regex");
    const char *dlq = config_string(cfg, "errors.deadletterqueue.topic.name");
    if (n == 0 && (!re || !re[0])) {
        cfg_build_error(ctx, ctx->line, ctx->col, "missing required option 'topics' (or 'topics.regex')");
    } else if (n > 0 && re && re[0]) {
        cfg_build_error(ctx, ctx->line, ctx->col, "set 'topics' or 'topics.regex', not both");
    } else if (re && re[0]) {
        regex_t rx;
        char *anchored = str_printf("^(%s)$", re);
        int rc = regcomp(&rx, anchored, REG_EXTENDED | REG_NOSUB);
        free(anchored);
        if (rc != 0) {
            char why[128];
            regerror(rc, &rx, why, sizeof(why));
            cfg_build_error(ctx, ctx->line, ctx->col, "topics.regex '%s': %s", re, why);
            return;
        }
        /* A sink reading its own dead-letter topic would feed its failures
         * back to itself forever (Kafka Connect refuses this too). */
        if (dlq && dlq[0] && regexec(&rx, dlq, 0, NULL, 0) == 0)
            cfg_build_error(ctx, ctx->line, ctx->col,
                            "topics.regex '%s' matches the dead-letter topic '%s': the sink would consume its own "
                            "failures", re, dlq);
        regfree(&rx);
    }
    for (size_t i = 0; dlq && dlq[0] && i < n; i++)
        if (strcmp(topics[i], dlq) == 0)
            cfg_build_error(ctx, ctx->line, ctx->col, "topics lists the dead-letter topic '%s'", dlq);
}

static ferry_config_t *connector_build(cfg_build_ctx_t *ctx, const char *name,
                                       const ferry_connector_t *desc, const ferry_host_t *host,
                                       const cfg_input_t *inputs, size_t ninputs)
{
    ferry_kind_t kind = desc ? desc->kind : FERRY_SOURCE;
    const ferry_option_t *tables[2] = {config_framework_options(kind), desc ? desc->options : NULL};
    ctx->noun = "option";
    ctx->override_prefix = kind == FERRY_SINK ? "consumer.override." : "producer.override.";
    ctx->wrong_override_prefix = kind == FERRY_SINK ? "producer.override." : "consumer.override.";
    ferry_config_t *cfg = cfg_build(ctx, name, kind, tables, 2, inputs, ninputs);
    if (ctx->errors == 0 && kind == FERRY_SINK) sink_topics_check(ctx, cfg);
    if (ctx->errors == 0 && desc && desc->validate) {
        ferry_error_t err;
        memset(&err, 0, sizeof(err));
        ferry_status_t st = desc->validate(host, cfg, &err);
        if (st != FERRY_OK) {
            /* The plugin wrote the message; make sure it does not echo a secret. */
            char *msg = cfg_config_scrub(cfg, err.msg[0] ? err.msg : "validation failed");
            cfg_build_error(ctx, ctx->line, ctx->col, "%s", msg);
            free(msg);
        }
    }
    if (ctx->errors) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

ferry_config_t *connector_config_build(const char *file, const connector_spec_t *spec,
                                       const ferry_connector_t *desc, const ferry_host_t *host,
                                       cfg_errors_t *errs)
{
    if (!spec) return NULL;
    char *label = str_printf("connector %s: ", spec->name ? spec->name : "?");
    cfg_build_ctx_t ctx = {.file = file, .label = label, .line = spec->line, .col = spec->col, .errs = errs};
    const cfg_node_t *map = spec->node;
    cfg_input_t *inputs = NULL;
    size_t n = 0;
    if (!map || map->kind != CFG_MAP) {
        cfg_build_error(&ctx, spec->line, spec->col, "expected a mapping of options");
        free(label);
        return NULL;
    }
    size_t cap = map->count ? map->count : 1;
    inputs = xcalloc(cap, sizeof(*inputs));
    char **made = NULL; /* keys and values written here, freed at the end */
    size_t nmade = 0;
    for (size_t i = 0; i < map->count; i++) {
        const cfg_node_t *item = map->items[i];
        int sugar = (strcmp(map->keys[i], "transforms") == 0 || strcmp(map->keys[i], "predicates") == 0) &&
                    item && item->kind == CFG_SEQ && item->count > 0 && item->items[0]->kind == CFG_MAP;
        if (!sugar) {
            if (n == cap) inputs = xrealloc(inputs, (cap *= 2) * sizeof(*inputs));
            inputs[n++] = (cfg_input_t){.key = map->keys[i], .node = item, .line = map->key_lines[i],
                                        .col = map->key_cols[i]};
            continue;
        }
        /* YAML's list form, [{name: a, type: T, opt: v}, ...]: Connect's
         * flat form, transforms: a,... with transforms.a.type: T, ... */
        char *names = str_dup("");
        for (size_t k = 0; k < item->count; k++) {
            const cfg_node_t *m = item->items[k];
            const cfg_node_t *nm = m->kind == CFG_MAP ? cfg_node_get(m, "name") : NULL;
            if (!nm || nm->kind != CFG_SCALAR || !nm->scalar || !*nm->scalar) {
                cfg_build_error(&ctx, m->line, m->col, "'%s' item %zu: a mapping with a 'name' is expected",
                                map->keys[i], k + 1);
                continue;
            }
            char *more = str_printf("%s%s%s", names, *names ? "," : "", nm->scalar);
            free(names);
            names = more;
            for (size_t f = 0; f < m->count; f++) {
                if (strcmp(m->keys[f], "name") == 0) continue;
                char *key = str_printf("%s.%s.%s", map->keys[i], nm->scalar, m->keys[f]);
                made = xrealloc(made, (nmade + 1) * sizeof(*made));
                made[nmade++] = key;
                if (n == cap) inputs = xrealloc(inputs, (cap *= 2) * sizeof(*inputs));
                inputs[n++] = (cfg_input_t){.key = key, .node = m->items[f], .line = m->key_lines[f],
                                            .col = m->key_cols[f]};
            }
        }
        made = xrealloc(made, (nmade + 1) * sizeof(*made));
        made[nmade++] = names;
        if (n == cap) inputs = xrealloc(inputs, (cap *= 2) * sizeof(*inputs));
        inputs[n++] = (cfg_input_t){.key = map->keys[i], .str = names, .line = map->key_lines[i],
                                    .col = map->key_cols[i]};
    }
    ferry_config_t *cfg = ctx.errors ? NULL : connector_build(&ctx, spec->name, desc, host, inputs, n);
    for (size_t i = 0; i < nmade; i++) free(made[i]);
    free(made);
    free(inputs);
    free(label);
    return cfg;
}

ferry_config_t *connector_config_from_kv(const char *name, const char *const *keys,
                                         const char *const *values, const int *substituted, size_t count,
                                         const ferry_connector_t *desc, const ferry_host_t *host,
                                         cfg_errors_t *errs)
{
    char *label = str_printf("connector %s: ", name ? name : "?");
    cfg_build_ctx_t ctx = {.file = NULL, .label = label, .errs = errs};
    cfg_input_t *inputs = xcalloc(count ? count : 1, sizeof(*inputs));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (!keys[i]) continue;
        inputs[n].key = keys[i];
        inputs[n].str = values ? values[i] : NULL;
        inputs[n].subst = substituted ? substituted[i] : 0;
        n++;
    }
    ferry_config_t *cfg = connector_build(&ctx, name, desc, host, inputs, n);
    free(inputs);
    free(label);
    return cfg;
}
