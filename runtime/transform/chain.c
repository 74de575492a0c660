/*
 * chain.c — a connector's transforms and predicates, from Connect's flat
 * configuration: transforms=a,b; transforms.a.type=<class>; transforms.a.*
 * its options; transforms.a.predicate=p and transforms.a.negate; predicates=p;
 * predicates.p.type=<class>; predicates.p.* its options.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "transform/transform_internal.h"
#include "transform/xf_regex.h"
#include "util/strutil.h"

/* ---- options ------------------------------------------------------------------------------- */

const char *xf_opt(const xf_opts_t *o, const char *key)
{
    for (size_t i = 0; i < o->count; i++)
        if (strcmp(o->keys[i], key) == 0) return o->values[i];
    return NULL;
}

size_t xf_opt_list(const xf_opts_t *o, const char *key, char ***items)
{
    *items = NULL;
    const char *v = xf_opt(o, key);
    size_t n = 0;
    while (v && *v) {
        const char *comma = strchr(v, ',');
        size_t len = comma ? (size_t)(comma - v) : strlen(v);
        const char *s = v, *e = v + len;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (e > s) {
            *items = xrealloc(*items, (n + 1) * sizeof(**items));
            (*items)[n++] = str_printf("%.*s", (int)(e - s), s);
        }
        v = comma ? comma + 1 : NULL;
    }
    return n;
}

void xf_list_free(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++) free(items[i]);
    free(items);
}

int xf_opt_bool(const xf_opts_t *o, const char *key, int dflt, char *err, size_t errlen)
{
    const char *v = xf_opt(o, key);
    int b = dflt;
    if (v && config_parse_bool(v, &b) != 0) {
        snprintf(err, errlen, "option '%s': '%s' is not true or false", key, v);
        return -1;
    }
    return b;
}

json_t *xf_side_object(xf_record_t *r, xf_side_t side, int *null, const char *what, char *err, size_t errlen)
{
    xf_data_t *d = xf_side_data(r, side);
    *null = 0;
    if (xf_data_parse(d, err, errlen) != 0) return NULL;
    if (!d->value) {
        *null = 1;
        return NULL;
    }
    if (!json_is_object(d->value)) {
        snprintf(err, errlen, "%s needs a %s that is a Struct or a Map (a JSON object), not %s", what,
                 side == XF_SIDE_KEY ? "key" : "value",
                 d->form == XF_BYTES ? "raw bytes (set the converter: json)" : "a JSON scalar or array");
        return NULL;
    }
    return d->value;
}

json_t *xf_schema_field(const json_t *schema, const char *name)
{
    json_t *fields = json_object_get(schema, "fields");
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        const char *n = json_string_value(json_object_get(f, "field"));
        if (n && strcmp(n, name) == 0) return f;
    }
    return NULL;
}

json_t *xf_schema_primitive(const char *type, int optional)
{
    return json_pack("{s:s, s:b}", "type", type, "optional", optional);
}

/* ---- predicates ------------------------------------------------------------------------------ */

typedef enum pred_kind { PRED_TOPIC, PRED_HEADER, PRED_TOMBSTONE } pred_kind_t;

typedef struct predicate {
    char *name;
    pred_kind_t kind;
    xf_regex_t rx;      /* TopicNameMatches: Java's syntax, the whole name */
    char *header;
} predicate_t;

static const struct {
    const char *name;
    pred_kind_t kind;
    const char *option; /* its one option, or NULL */
} pred_types[] = {
    {"TopicNameMatches", PRED_TOPIC, "pattern"},
    {"HasHeaderKey", PRED_HEADER, "name"},
    {"RecordIsTombstone", PRED_TOMBSTONE, NULL},
};

static int pred_test(const predicate_t *p, const xf_record_t *r)
{
    switch (p->kind) {
    case PRED_TOPIC: return regexec(&p->rx.rx, r->topic, 0, NULL, 0) == 0;
    case PRED_HEADER: return xf_header_last(r, p->header) != NULL;
    default: return r->value.parsed ? r->value.value == NULL : r->value.raw == NULL;
    }
}

/* ---- the chain ---------------------------------------------------------------------------- */

typedef struct step {
    char *name;
    const xf_type_t *type;
    void *state;
    const predicate_t *predicate; /* NULL = every record */
    int negate;
} step_t;

struct xf_chain {
    step_t *steps;
    size_t nsteps;
    predicate_t *preds;
    size_t npreds;
};

static const char *const packages[] = {"org.apache.kafka.connect.transforms.",
                                       "org.apache.kafka.connect.transforms.predicates.",
                                       "io.debezium.transforms.outbox.", "io.debezium.transforms.", NULL};

/* name without a known package. */
static const char *short_name(const char *name)
{
    for (const char *const *p = packages; *p; p++)
        if (strncmp(name, *p, strlen(*p)) == 0 && !strchr(name + strlen(*p), '.')) return name + strlen(*p);
    return name;
}

static const xf_type_t *find_type(const char *name)
{
    const char *s = short_name(name);
    const xf_type_t *const *const lists[] = {xf_types_fields, xf_types_routing, xf_types_debezium};
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
        for (const xf_type_t *const *t = lists[l]; *t; t++)
            if (strcmp((*t)->name, s) == 0) return *t;
    return NULL;
}

/* The options under prefix (copied: config_prefixed's arrays are reused). */
static xf_opts_t opts_of(const ferry_config_t *cfg, const char *prefix, const char *name)
{
    const char *const *keys = NULL, *const *values = NULL;
    size_t n = config_prefixed(cfg, prefix, &keys, &values);
    xf_opts_t o = {.count = n, .name = name};
    const char **k = xcalloc(n + 1, sizeof(*k)), **v = xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) k[i] = str_dup(keys[i]), v[i] = str_dup(values[i] ? values[i] : "");
    o.keys = k;
    o.values = v;
    return o;
}

static void opts_free(xf_opts_t *o)
{
    for (size_t i = 0; i < o->count; i++) free((char *)o->keys[i]), free((char *)o->values[i]);
    free((void *)o->keys);
    free((void *)o->values);
}

/* Every key of o is one of known (plus extra), or an error for each other. */
static int opts_known(const xf_opts_t *o, const char *const *known, const char *const *extra, const char *what,
                      const char *connector, cfg_errors_t *errs)
{
    int bad = 0;
    for (size_t i = 0; i < o->count; i++) {
        int ok = 0;
        for (const char *const *k = known; k && *k && !ok; k++) ok = strcmp(*k, o->keys[i]) == 0;
        for (const char *const *k = extra; k && *k && !ok; k++) ok = strcmp(*k, o->keys[i]) == 0;
        if (ok) continue;
        const char *cands[64];
        size_t nc = 0;
        for (const char *const *k = known; k && *k && nc < 60; k++) cands[nc++] = *k;
        for (const char *const *k = extra; k && *k && nc < 63; k++) cands[nc++] = *k;
        const char *dym = config_did_you_mean(o->keys[i], cands, nc);
        cfg_errors_add(errs, "connector %s: %s: unknown option '%s'%s%s%s", connector, what, o->keys[i],
                       dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
        bad = 1;
    }
    return bad ? -1 : 0;
}

static int pred_init(predicate_t *p, const char *connector, const char *name, const ferry_config_t *cfg,
                     cfg_errors_t *errs)
{
    memset(p, 0, sizeof(*p));
    p->name = str_dup(name);
    char *prefix = str_printf("predicates.%s.", name);
    xf_opts_t o = opts_of(cfg, prefix, name);
    free(prefix);
    char *what = str_printf("predicate %s", name);
    int rc = -1;
    const char *type = xf_opt(&o, "type");
    size_t t = 0, nt = sizeof(pred_types) / sizeof(pred_types[0]);
    while (type && t < nt && strcmp(short_name(type), pred_types[t].name) != 0) t++;
    if (!type) {
        cfg_errors_add(errs, "connector %s: %s: missing 'predicates.%s.type'", connector, what, name);
    } else if (t == nt) {
        cfg_errors_add(errs, "connector %s: %s: unknown type '%s' (TopicNameMatches, HasHeaderKey, "
                       "RecordIsTombstone)", connector, what, type);
    } else {
        const char *known[] = {"type", pred_types[t].option, NULL};
        p->kind = pred_types[t].kind;
        const char *arg = pred_types[t].option ? xf_opt(&o, pred_types[t].option) : NULL;
        if (opts_known(&o, known, NULL, what, connector, errs) != 0) {
        } else if (pred_types[t].option && (!arg || !*arg)) {
            cfg_errors_add(errs, "connector %s: %s: missing option '%s'", connector, what, pred_types[t].option);
        } else if (p->kind == PRED_TOPIC) {
            /* Java's matches(): the whole name (xf_regex anchors it). */
            char why[256];
            if (xf_regex_compile(&p->rx, arg, why, sizeof(why)) != 0)
                cfg_errors_add(errs, "connector %s: %s: pattern '%s': %s", connector, what, arg, why);
            else
                rc = 0;
        } else {
            if (p->kind == PRED_HEADER) p->header = str_dup(arg);
            rc = 0;
        }
    }
    free(what);
    opts_free(&o);
    return rc;
}

static void pred_clear(predicate_t *p)
{
    xf_regex_free(&p->rx);
    free(p->header);
    free(p->name);
}

void xf_chain_free(xf_chain_t *ch)
{
    if (!ch) return;
    for (size_t i = 0; i < ch->nsteps; i++) {
        if (ch->steps[i].type && ch->steps[i].state) ch->steps[i].type->free(ch->steps[i].state);
        free(ch->steps[i].name);
    }
    for (size_t i = 0; i < ch->npreds; i++) pred_clear(&ch->preds[i]);
    free(ch->steps);
    free(ch->preds);
    free(ch);
}

xf_chain_t *xf_chain_new(const char *connector, const ferry_config_t *cfg, int sink, cfg_errors_t *errs)
{
    const char *const *names = NULL, *const *pnames = NULL;
    size_t n = config_list(cfg, "transforms", &names);
    size_t np = config_list(cfg, "predicates", &pnames);
    size_t before = errs->count;
    xf_chain_t *ch = xcalloc(1, sizeof(*ch));
    ch->preds = xcalloc(np + 1, sizeof(*ch->preds));
    for (size_t i = 0; i < np; i++) {
        for (size_t k = 0; k < i; k++)
            if (strcmp(pnames[k], pnames[i]) == 0)
                cfg_errors_add(errs, "connector %s: predicates: duplicate name '%s'", connector, pnames[i]);
        /* Kept even when invalid: a transform naming it is not a second error. */
        pred_init(&ch->preds[ch->npreds++], connector, pnames[i], cfg, errs);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(names[k], names[i]) == 0)
                cfg_errors_add(errs, "connector %s: transforms: duplicate name '%s'", connector, names[i]);
    ch->steps = xcalloc(n + 1, sizeof(*ch->steps));
    for (size_t i = 0; i < n; i++) {
        step_t *st = &ch->steps[ch->nsteps];
        char *prefix = str_printf("transforms.%s.", names[i]);
        xf_opts_t o = opts_of(cfg, prefix, names[i]);
        o.sink = sink;
        free(prefix);
        const char *type = xf_opt(&o, "type");
        char *what = str_printf("transform %s", names[i]);
        st->name = str_dup(names[i]);
        ch->nsteps++;
        if (!type) {
            cfg_errors_add(errs, "connector %s: %s: missing 'transforms.%s.type'", connector, what, names[i]);
        } else if (!(st->type = find_type(type))) {
            cfg_errors_add(errs, "connector %s: %s: unknown type '%s' (see the README's list of transforms)",
                           connector, what, type);
        } else {
            static const char *const common[] = {"type", "predicate", "negate", NULL};
            const char *pred = xf_opt(&o, "predicate");
            char err[512] = "";
            int negate = xf_opt_bool(&o, "negate", 0, err, sizeof(err));
            if (opts_known(&o, st->type->options, common, what, connector, errs) != 0) {
            } else if (negate < 0) {
                cfg_errors_add(errs, "connector %s: %s: %s", connector, what, err);
            } else if (pred && *pred && !(st->predicate = NULL)) {
                for (size_t k = 0; k < ch->npreds; k++)
                    if (strcmp(ch->preds[k].name, pred) == 0) st->predicate = &ch->preds[k];
                if (!st->predicate)
                    cfg_errors_add(errs, "connector %s: %s: predicate '%s' is not one of 'predicates'", connector,
                                   what, pred);
            }
            st->negate = negate > 0;
            if (errs->count == before && !(st->state = st->type->init(&o, st->type->side, err, sizeof(err))))
                cfg_errors_add(errs, "connector %s: %s (%s): %s", connector, what, st->type->name,
                               err[0] ? err : "invalid options");
        }
        free(what);
        opts_free(&o);
    }
    if (errs->count > before || (n == 0 && np == 0)) {
        xf_chain_free(ch);
        return NULL;
    }
    return ch;
}

int xf_chain_check(const char *connector, const ferry_config_t *cfg, int sink, cfg_errors_t *errs)
{
    size_t before = errs->count;
    xf_chain_t *ch = xf_chain_new(connector, cfg, sink, errs);
    xf_chain_free(ch);
    return errs->count > before ? -1 : 0;
}

size_t xf_chain_length(const xf_chain_t *ch) { return ch ? ch->nsteps : 0; }

xf_result_t xf_chain_apply(xf_chain_t *ch, xf_record_t *r, char *err, size_t errlen)
{
    for (size_t i = 0; ch && i < ch->nsteps; i++) {
        const step_t *st = &ch->steps[i];
        if (st->predicate && pred_test(st->predicate, r) == st->negate) continue;
        char why[512] = "";
        xf_result_t res = st->type->apply(st->state, r, why, sizeof(why));
        if (res == XF_FAIL) {
            snprintf(err, errlen, "transform %s (%s): %s", st->name, st->type->name, why[0] ? why : "failed");
            return XF_FAIL;
        }
        if (res == XF_DROP) return XF_DROP;
    }
    return XF_KEEP;
}
