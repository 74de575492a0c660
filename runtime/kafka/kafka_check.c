/* kafka_check.c — see kafka_check.h. */
#include "kafka/kafka_check.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

/* ---- librdkafka's property names ---------------------------------------------- */

/* Every property this librdkafka knows and what each stands for (an
 * alias's target, else itself), read once from its own table
 * (rd_kafka_conf_properties_show), so that suggestions and aliases follow
 * the installed version. Never freed: it lives as long as the process. */
typedef struct known_props {
    char **names, **targets;
    size_t count;
} known_props_t;

static known_props_t known;
static pthread_once_t known_once = PTHREAD_ONCE_INIT;

static char *trimmed_copy(const char *s, size_t n)
{
    while (n > 0 && *s == ' ') s++, n--;
    while (n > 0 && s[n - 1] == ' ') n--;
    char *out = xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* One row of the table: "name | scope | range | default | importance |
 * description", where an alias's description starts "Alias for `target`". */
static void known_add_row(const char *row)
{
    static const char alias_mark[] = "Alias for `";
    const char *bar = strchr(row, '|');
    if (!bar) return;
    char *name = trimmed_copy(row, (size_t)(bar - row));
    if (!name[0] || name[0] == '-' || strcmp(name, "Property") == 0) {
        free(name);
        return;
    }
    const char *alias = strstr(bar, alias_mark), *end = NULL;
    if (alias) end = strchr(alias += sizeof(alias_mark) - 1, '`');
    known.names = xrealloc(known.names, (known.count + 1) * sizeof(*known.names));
    known.targets = xrealloc(known.targets, (known.count + 1) * sizeof(*known.targets));
    known.names[known.count] = name;
    known.targets[known.count] = end ? trimmed_copy(alias, (size_t)(end - alias)) : str_dup(name);
    known.count++;
}

static void known_load(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return; /* no suggestions, aliases matched by name only */
    rd_kafka_conf_properties_show(f);
    fclose(f);
    char *save = NULL;
    for (char *row = strtok_r(text, "\n", &save); row; row = strtok_r(NULL, "\n", &save)) known_add_row(row);
    free(text);
}

/* The property `name` stands for: an alias's target, else name itself. */
static const char *known_target(const char *name)
{
    pthread_once(&known_once, known_load);
    for (size_t i = 0; i < known.count; i++)
        if (strcmp(known.names[i], name) == 0) return known.targets[i];
    return name;
}

static const char *known_suggestion(const char *name)
{
    pthread_once(&known_once, known_load);
    return config_did_you_mean(name, (const char *const *)known.names, known.count);
}

/* ---- the user's properties ---------------------------------------------------------- */

/* A property as written in the file. */
typedef struct kprop {
    const char *key;      /* as written: "producer.linger.ms", "producer.override.acks" */
    const char *property; /* what goes to kafka_conf_fill: the key, or an override's property */
    const char *value;
    int line, col;        /* of the key */
    int secret;           /* the value came from a substitution: never shown */
    int reported;         /* an error names it already */
} kprop_t;

typedef struct kset {
    kprop_t *props;
    const char **keys, **values; /* the properties as kafka_conf_fill takes them */
    size_t count;
    int worker;                  /* 1 = worker.kafka, 0 = a connector's overrides */
} kset_t;

static void kset_add(kset_t *set, const kprop_t *p)
{
    size_t n = set->count + 1;
    set->props = xrealloc(set->props, n * sizeof(*set->props));
    set->keys = xrealloc(set->keys, n * sizeof(*set->keys));
    set->values = xrealloc(set->values, n * sizeof(*set->values));
    set->props[set->count] = *p;
    set->keys[set->count] = p->property;
    set->values[set->count] = p->value;
    set->count = n;
}

static void kset_free(kset_t *set)
{
    free(set->props);
    free(set->keys);
    free(set->values);
    memset(set, 0, sizeof(*set));
}

static kafka_props_t kset_view(const kset_t *set)
{
    return (kafka_props_t){set->keys, set->values, set->count, 0};
}

/* worker.kafka, placed by the mapping it was written as (a "k=v,..." string
 * has one position for all). */
static void worker_kset(kset_t *set, const worker_config_t *wc)
{
    const cfg_node_t *node = wc->kafka;
    set->worker = 1;
    for (size_t i = 0; i < wc->kafka_count; i++) {
        kprop_t p = {.key = wc->kafka_keys[i], .property = wc->kafka_keys[i], .value = wc->kafka_values[i]};
        if (node) {
            p.line = node->line, p.col = node->col, p.secret = node->secret_subst;
            for (size_t j = 0; node->kind == CFG_MAP && j < node->count; j++) {
                if (strcmp(node->keys[j], p.key) != 0) continue;
                p.line = node->key_lines[j], p.col = node->key_cols[j], p.secret = node->items[j]->secret_subst;
            }
        }
        kset_add(set, &p);
    }
}

/* The connector's overrides that config validation accepts. */
static void override_kset(kset_t *set, const connector_spec_t *spec, const char *prefix)
{
    const cfg_node_t *map = spec->node;
    size_t plen = strlen(prefix);
    for (size_t i = 0; map && map->kind == CFG_MAP && i < map->count; i++) {
        const cfg_node_t *val = map->items[i];
        if (strncmp(map->keys[i], prefix, plen) != 0 || !config_override_allowed(map->keys[i] + plen)) continue;
        if (val->kind != CFG_SCALAR || !val->scalar) continue;
        kprop_t p = {.key = map->keys[i], .property = map->keys[i] + plen, .value = val->scalar,
                     .line = map->key_lines[i], .col = map->key_cols[i], .secret = val->secret_subst};
        kset_add(set, &p);
    }
}

/* ---- messages ------------------------------------------------------------------------ */

typedef struct check {
    const worker_config_t *wc;
    cfg_errors_t *errs;
    size_t errors;
    kset_t worker;
    const connector_spec_t *spec; /* the connector being checked, or NULL */
    kset_t over;                  /* its overrides */
    int refused[3];               /* rd_kafka_new refused worker.kafka alone for an unknown reason, by client kind */
} check_t;

static void check_error(check_t *ck, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void check_error(check_t *ck, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = str_vprintf(fmt, ap);
    va_end(ap);
    char *label = ck->spec ? str_printf("connector %s: ", ck->spec->name) : NULL;
    cfg_errors_add_at(ck->errs, ck->wc->path, line, col, label, "%s", msg);
    free(label);
    free(msg);
    ck->errors++;
}

/* Where an error that no property can be blamed for goes. */
static void check_fallback_position(const check_t *ck, int *line, int *col)
{
    const cfg_node_t *kafka = ck->wc->kafka;
    *line = ck->spec ? ck->spec->line : kafka ? kafka->line : 0;
    *col = ck->spec ? ck->spec->col : kafka ? kafka->col : 0;
}

/* "worker option 'kafka': property 'linger.ms'" or "option 'producer.override.acks'". */
static char *subject(const kset_t *set, const kprop_t *p)
{
    return set->worker ? str_printf("worker option 'kafka': property '%s'", p->key)
                       : str_printf("option '%s'", p->key);
}

/* librdkafka's message about p, with p's value hidden (a secret) or cut in
 * the middle (a long one). malloc'd. */
static char *message_about(const kprop_t *p, const char *msg)
{
    size_t vlen = strlen(p->value);
    if (p->secret && vlen < 3 && strstr(msg, p->value)) return str_dup("invalid value (" CFG_HIDDEN ")");
    if (p->secret && vlen >= 3) return str_replace_all(msg, p->value, CFG_HIDDEN);
    if (vlen <= CFG_SHOWN_MAX) return str_dup(msg);
    char *shown = str_elide_middle(p->value, CFG_SHOWN_MAX);
    char *out = str_replace_all(msg, p->value, shown);
    free(shown);
    return out;
}

static void report_refused_property(check_t *ck, kset_t *set, kprop_t *p, rd_kafka_conf_res_t res,
                                    const char *msg)
{
    if (p->reported) return;
    p->reported = 1;
    char *what = subject(set, p);
    if (res == RD_KAFKA_CONF_UNKNOWN) {
        /* A suggestion keeps the key's own prefix ("producer.", "producer.override."). */
        const char *hint = known_suggestion(p->property);
        int plen = (int)(strlen(p->key) - strlen(p->property));
        if (hint)
            check_error(ck, p->line, p->col, "%s: no such librdkafka property (did you mean '%.*s%s'?)", what,
                        plen, p->key, hint);
        else
            check_error(ck, p->line, p->col, "%s: no such librdkafka property", what);
    } else {
        char *shown = message_about(p, msg);
        check_error(ck, p->line, p->col, "%s: %s", what, shown);
        free(shown);
    }
    free(what);
}

/* kafka_conf_fill's error hook: the worker layer is worker.kafka as given
 * to it, whose keys still carry their "producer."-style prefixes. */
static void on_refused(void *arg, kafka_layer_t layer, size_t index, const char *property,
                       rd_kafka_conf_res_t res, const char *msg)
{
    check_t *ck = arg;
    if (layer == KAFKA_LAYER_WORKER) {
        kprop_t *p = &ck->worker.props[index];
        p->property = property; /* the key without its "producer."-style prefix, for a suggestion */
        report_refused_property(ck, &ck->worker, p, res, msg);
        p->property = p->key;
    } else if (layer == KAFKA_LAYER_OVERRIDES) {
        report_refused_property(ck, &ck->over, &ck->over.props[index], res, msg);
    } else {
        int line, col;
        check_fallback_position(ck, &line, &col);
        check_error(ck, line, col, "this librdkafka refuses ferry's default '%s': %s", property, msg);
    }
}

/* ---- rd_kafka_new ----------------------------------------------------------------- */

static const char *kind_name(kafka_client_kind_t kind)
{
    return kind == KAFKA_PRODUCER ? "producer" : kind == KAFKA_CONSUMER ? "consumer" : "admin client";
}

/* The user's property whose name (or alias) is `name` and that no error
 * names yet, or NULL. */
static kprop_t *kset_find(kset_t *set, kafka_client_kind_t kind, const char *name)
{
    const char *target = known_target(name);
    for (size_t i = 0; i < set->count; i++) {
        kprop_t *p = &set->props[i];
        if (p->reported) continue;
        const char *property = set->worker ? kafka_worker_property(p->key, kind) : p->property;
        if (property && strcmp(known_target(property), target) == 0) return p;
    }
    return NULL;
}

/* The property librdkafka's message blames: its messages quote property
 * names in backticks. The connector's overrides go first (worker.kafka
 * alone was accepted when they are checked), then worker.kafka. */
static kprop_t *blame(check_t *ck, kafka_client_kind_t kind, const char *msg, kset_t **set_out)
{
    kset_t *sets[2] = {&ck->over, &ck->worker};
    for (int s = 0; s < 2; s++) {
        for (const char *open = strchr(msg, '`'), *close; open && (close = strchr(open + 1, '`'));
             open = strchr(close + 1, '`')) {
            char *name = trimmed_copy(open + 1, (size_t)(close - open - 1));
            kprop_t *p = kset_find(sets[s], kind, name);
            free(name);
            if (p) {
                *set_out = sets[s];
                return p;
            }
        }
    }
    return NULL;
}

/* Returns 1 when the refusal was put on a property. */
static int report_refused_client(check_t *ck, kafka_client_kind_t kind, const char *msg)
{
    kset_t *set = NULL;
    kprop_t *p = blame(ck, kind, msg, &set);
    const char *why = kind == KAFKA_PRODUCER && strstr(msg, "enable.idempotence")
                          ? " (ferry's producers are always idempotent)"
                          : "";
    if (p) {
        p->reported = 1;
        char *what = subject(set, p);
        char *shown = message_about(p, msg);
        check_error(ck, p->line, p->col, "%s: librdkafka refuses it for the %s: %s%s", what, kind_name(kind),
                    shown, why);
        free(shown);
        free(what);
    } else {
        int line, col;
        check_fallback_position(ck, &line, &col);
        check_error(ck, line, col, "librdkafka refuses the %s configuration%s: %s%s", kind_name(kind),
                    ck->spec ? " (worker.kafka with this connector's overrides)" : " of worker.kafka", msg, why);
    }
    return p != NULL;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf;
}

/* Builds a client of this kind for a task of `connector` the way the engine
 * does and reports what librdkafka refuses. rd_kafka_new runs only when
 * `create`. Returns 0, or -1 when rd_kafka_new refused the configuration
 * and no property could be blamed. */
static int check_client(check_t *ck, kafka_client_kind_t kind, const char *connector, int create)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    kafka_defaults_t d;
    kafka_client_defaults(&d, kind, connector, 0);
    kafka_props_t worker = kset_view(&ck->worker), defaults = {d.keys, d.values, d.count, d.tunable},
                  over = kset_view(&ck->over);
    kafka_conf_fill(conf, kind, &worker, &defaults, &over, on_refused, ck);
    /* Nothing to connect to and no security plugin to start: see kafka_check.h. */
    rd_kafka_conf_set(conf, "bootstrap.servers", "", NULL, 0);
    rd_kafka_conf_set(conf, "security.protocol", "plaintext", NULL, 0);
    if (!create) {
        rd_kafka_conf_destroy(conf);
        return 0;
    }
    char msg[512];
    rd_kafka_t *rk = rd_kafka_new(kind == KAFKA_CONSUMER ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, msg,
                                  sizeof(msg));
    if (rk) {
        rd_kafka_destroy(rk); /* takes conf with it */
        return 0;
    }
    rd_kafka_conf_destroy(conf);
    return report_refused_client(ck, kind, msg) ? 0 : -1;
}

/* The worker properties no error names yet: each connector is checked with
 * these, so that a refused worker property does not hide its problems. */
static void kset_unreported(kset_t *dst, const kset_t *src)
{
    dst->worker = src->worker;
    for (size_t i = 0; i < src->count; i++)
        if (!src->props[i].reported) kset_add(dst, &src->props[i]);
}

size_t kafka_check_config(const worker_config_t *wc, const int *kinds, cfg_errors_t *errs)
{
    check_t ck = {.wc = wc, .errs = errs};
    worker_kset(&ck.worker, wc);
    static const kafka_client_kind_t all[] = {KAFKA_PRODUCER, KAFKA_CONSUMER, KAFKA_ADMIN};
    for (size_t k = 0; k < 3; k++) ck.refused[all[k]] = check_client(&ck, all[k], "worker", 1) < 0;
    kset_t all_worker = ck.worker;
    ck.worker = (kset_t){0};
    kset_unreported(&ck.worker, &all_worker);
    kset_free(&all_worker);
    for (size_t i = 0; i < wc->connector_count; i++) {
        if (!kinds || kinds[i] < 0) continue;
        kafka_client_kind_t kind = (kafka_client_kind_t)kinds[i];
        ck.spec = &wc->connectors[i];
        override_kset(&ck.over, ck.spec, kind == KAFKA_CONSUMER ? "consumer.override." : "producer.override.");
        if (ck.over.count) check_client(&ck, kind, ck.spec->name, !ck.refused[kind]);
        kset_free(&ck.over);
    }
    kset_free(&ck.worker);
    return ck.errors;
}
