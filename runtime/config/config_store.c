/*
 * config_store.c — the built ferry_config_t: entries, typed getters,
 * overlays for per-task keys, prefixed views and JSON output.
 *
 * Getters look entries up by name with a linear scan: configs hold a few
 * dozen entries and are read at open(), not per record.
 */
#include "config/config_internal.h"
#include "util/strutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN CFG_HIDDEN

ferry_config_t *cfg_config_new(const char *name, ferry_kind_t kind)
{
    ferry_config_t *cfg = xcalloc(1, sizeof(*cfg));
    cfg->name = str_dup(name ? name : "");
    cfg->kind = kind;
    return cfg;
}

cfg_entry_t *cfg_config_add(ferry_config_t *cfg, const char *name)
{
    if (cfg->count == cfg->cap) {
        cfg->cap = cfg->cap ? cfg->cap * 2 : 16;
        cfg->entries = xrealloc(cfg->entries, cfg->cap * sizeof(*cfg->entries));
    }
    cfg_entry_t *e = &cfg->entries[cfg->count++];
    memset(e, 0, sizeof(*e));
    e->name = str_dup(name);
    e->type = FERRY_OPT_STRING;
    return e;
}

cfg_entry_t *cfg_config_find(const ferry_config_t *cfg, const char *name)
{
    if (!cfg || !name) return NULL;
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].name, name) == 0) return &cfg->entries[i];
    return NULL;
}

void cfg_entry_clear_value(cfg_entry_t *e)
{
    for (size_t i = 0; i < e->count; i++) {
        free(e->items[i]);
        if (e->values) free(e->values[i]);
    }
    free(e->items);
    free(e->values);
    free(e->text);
    e->items = e->values = NULL;
    e->text = NULL;
    e->count = 0;
    e->num = 0;
    e->dbl = 0;
    e->subst = 0;
}

void cfg_entry_copy_value(cfg_entry_t *e, const cfg_entry_t *src)
{
    cfg_entry_clear_value(e);
    e->type = src->type;
    e->declared = src->declared;
    e->is_set = src->is_set;
    e->subst = src->subst;
    e->text = str_dup(src->text);
    e->num = src->num;
    e->dbl = src->dbl;
    e->count = src->count;
    if (src->items) {
        e->items = xcalloc(src->count ? src->count : 1, sizeof(*e->items));
        for (size_t i = 0; i < src->count; i++) e->items[i] = str_dup(src->items[i]);
    }
    if (src->values) {
        e->values = xcalloc(src->count ? src->count : 1, sizeof(*e->values));
        for (size_t i = 0; i < src->count; i++) e->values[i] = str_dup(src->values[i]);
    }
}

int cfg_entry_is_secret(const cfg_entry_t *e)
{
    return e->type == FERRY_OPT_SECRET || e->subst;
}

void config_free(ferry_config_t *cfg)
{
    if (!cfg) return;
    for (size_t i = 0; i < cfg->count; i++) {
        cfg_entry_clear_value(&cfg->entries[i]);
        free(cfg->entries[i].name);
    }
    free(cfg->entries);
    free(cfg->scratch_keys);
    free(cfg->scratch_values);
    free(cfg->name);
    free(cfg);
}

/* ---- scrubbing ------------------------------------------------------------------ */

static char *replace_all(char *msg, const char *needle)
{
    size_t nlen = strlen(needle);
    if (nlen < 3) return msg;
    char *out = str_replace_all(msg, needle, HIDDEN);
    size_t len = strlen(out);
    out = xrealloc(out, len + sizeof(HIDDEN)); /* room for the tail below */
    /* Messages are cut at a fixed size (ferry_error_t), which can cut a
     * secret too: a tail of the message that is the start of the secret
     * (3 bytes or more) is hidden as well. */
    size_t max = len < nlen ? len : nlen;
    for (size_t k = max; k >= 3; k--) {
        if (memcmp(out + len - k, needle, k) == 0) {
            memcpy(out + len - k, HIDDEN, sizeof(HIDDEN));
            break;
        }
    }
    free(msg);
    return out;
}

char *cfg_config_scrub(const ferry_config_t *cfg, const char *msg)
{
    char *out = str_dup(msg ? msg : "");
    for (size_t i = 0; cfg && i < cfg->count; i++) {
        const cfg_entry_t *e = &cfg->entries[i];
        if (!cfg_entry_is_secret(e)) continue;
        if (e->text) out = replace_all(out, e->text);
        for (size_t j = 0; j < e->count; j++) {
            out = replace_all(out, e->items[j]);
            if (e->values) out = replace_all(out, e->values[j]);
        }
    }
    return out;
}

/* ---- getters -------------------------------------------------------------------- */

const char *config_name(const ferry_config_t *cfg) { return cfg ? cfg->name : NULL; }

const char *config_string(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = cfg_config_find(cfg, name);
    return e ? e->text : NULL;
}

static const cfg_entry_t *find_typed(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = cfg_config_find(cfg, name);
    return e && e->declared && e->text ? e : NULL;
}

int64_t config_int(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = find_typed(cfg, name);
    if (!e) return 0;
    if (e->type == FERRY_OPT_DOUBLE) return (int64_t)e->dbl;
    return e->type == FERRY_OPT_INT || e->type == FERRY_OPT_DURATION || e->type == FERRY_OPT_SIZE ||
                   e->type == FERRY_OPT_BOOL
               ? e->num
               : 0;
}

int config_bool(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = find_typed(cfg, name);
    return e && e->type == FERRY_OPT_BOOL ? (int)e->num : 0;
}

double config_double(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = find_typed(cfg, name);
    if (!e) return 0;
    if (e->type == FERRY_OPT_DOUBLE) return e->dbl;
    return e->type == FERRY_OPT_INT ? (double)e->num : 0;
}

int64_t config_duration_ms(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = find_typed(cfg, name);
    return e && e->type == FERRY_OPT_DURATION ? e->num : 0;
}

int64_t config_size(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = find_typed(cfg, name);
    return e && e->type == FERRY_OPT_SIZE ? e->num : 0;
}

size_t config_list(const ferry_config_t *cfg, const char *name, const char *const **items)
{
    const cfg_entry_t *e = find_typed(cfg, name);
    if (items) *items = NULL;
    if (!e || e->type != FERRY_OPT_LIST) return 0;
    if (items) *items = (const char *const *)e->items;
    return e->count;
}

size_t config_map(const ferry_config_t *cfg, const char *name, const char *const **keys,
                  const char *const **values)
{
    const cfg_entry_t *e = find_typed(cfg, name);
    if (keys) *keys = NULL;
    if (values) *values = NULL;
    if (!e || e->type != FERRY_OPT_MAP) return 0;
    if (keys) *keys = (const char *const *)e->items;
    if (values) *values = (const char *const *)e->values;
    return e->count;
}

int config_is_set(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = cfg_config_find(cfg, name);
    return e ? e->is_set : 0;
}

int config_is_hidden(const ferry_config_t *cfg, const char *name)
{
    const cfg_entry_t *e = cfg_config_find(cfg, name);
    return e && (e->type == FERRY_OPT_SECRET || e->subst);
}

int config_equal(const ferry_config_t *a, const ferry_config_t *b)
{
    if (!a || !b || a->count != b->count || strcmp(a->name, b->name) != 0) return 0;
    for (size_t i = 0; i < a->count; i++) {
        const cfg_entry_t *x = &a->entries[i], *y = &b->entries[i];
        if (strcmp(x->name, y->name) != 0 || x->is_set != y->is_set || (!x->text) != (!y->text) ||
            (x->text && strcmp(x->text, y->text) != 0))
            return 0;
    }
    return 1;
}

size_t config_prefixed(const ferry_config_t *cfg, const char *prefix, const char *const **keys,
                       const char *const **values)
{
    if (keys) *keys = NULL;
    if (values) *values = NULL;
    if (!cfg || !prefix) return 0;
    /* The scratch arrays are the documented mutable part of a config. */
    ferry_config_t *mut = (ferry_config_t *)cfg;
    size_t plen = strlen(prefix), n = 0;
    if (mut->scratch_cap < cfg->count + 1) {
        mut->scratch_cap = cfg->count + 1;
        mut->scratch_keys = xrealloc(mut->scratch_keys, mut->scratch_cap * sizeof(char *));
        mut->scratch_values = xrealloc(mut->scratch_values, mut->scratch_cap * sizeof(char *));
    }
    for (size_t i = 0; i < cfg->count; i++) {
        const cfg_entry_t *e = &cfg->entries[i];
        if (!e->text || strncmp(e->name, prefix, plen) != 0 || !e->name[plen]) continue;
        mut->scratch_keys[n] = e->name + plen;
        mut->scratch_values[n] = e->text;
        n++;
    }
    if (keys) *keys = mut->scratch_keys;
    if (values) *values = mut->scratch_values;
    return n;
}

/* ---- overlay ---------------------------------------------------------------------- */

ferry_config_t *config_overlay(const ferry_config_t *base, const char *const *keys,
                               const char *const *values, size_t count)
{
    if (!base) return NULL;
    ferry_config_t *cfg = cfg_config_new(base->name, base->kind);
    for (size_t i = 0; i < base->count; i++) {
        cfg_entry_t *e = cfg_config_add(cfg, base->entries[i].name);
        cfg_entry_copy_value(e, &base->entries[i]);
    }
    for (size_t i = 0; i < count; i++) {
        if (!keys[i]) continue;
        const char *value = values[i] ? values[i] : "";
        cfg_entry_t *e = cfg_config_find(cfg, keys[i]);
        if (!e) {
            e = cfg_config_add(cfg, keys[i]);
            e->text = str_dup(value);
            e->is_set = 1;
            continue;
        }
        if (e->declared) {
            /* Parse into a scratch entry; on failure keep the previous typed
             * value and only replace the string (task_configs is plugin code
             * we trust, and overlays have no error path). */
            ferry_option_t opt = {.name = e->name, .type = e->type};
            cfg_entry_t tmp;
            memset(&tmp, 0, sizeof(tmp));
            tmp.type = e->type;
            tmp.declared = 1;
            char err[256];
            if (e->type != FERRY_OPT_ENUM && cfg_value_parse(&opt, NULL, value, &tmp, err, sizeof(err)) == 0) {
                tmp.is_set = 1;
                cfg_entry_copy_value(e, &tmp);
                cfg_entry_clear_value(&tmp);
                continue;
            }
            cfg_entry_clear_value(&tmp);
            int64_t num = e->num;
            double dbl = e->dbl;
            cfg_entry_clear_value(e);
            e->num = num;
            e->dbl = dbl;
        } else {
            cfg_entry_clear_value(e);
        }
        e->text = str_dup(value);
        e->is_set = 1;
    }
    return cfg;
}

/* ---- JSON ------------------------------------------------------------------------ */

char *config_to_json(const ferry_config_t *cfg, int redact)
{
    json_t *obj = json_object();
    for (size_t i = 0; cfg && i < cfg->count; i++) {
        const cfg_entry_t *e = &cfg->entries[i];
        if (!e->text) continue;
        int hide = e->type == FERRY_OPT_SECRET || (redact && e->subst);
        json_t *val;
        if (hide) {
            val = json_string(HIDDEN);
        } else if (e->declared && e->type == FERRY_OPT_MAP) {
            val = json_object();
            for (size_t j = 0; j < e->count; j++)
                json_object_set_new(val, e->items[j], json_string(e->values[j]));
        } else {
            val = json_string(e->text);
        }
        /* json_string() refuses invalid UTF-8; keep the key with a marker
         * rather than dropping it silently. */
        if (!val) val = json_string("[invalid UTF-8]");
        json_object_set_new(obj, e->name, val);
    }
    char *out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    char *copy = str_dup(out ? out : "{}");
    free(out);
    return copy;
}

char *config_scrub(const ferry_config_t *cfg, const char *msg) { return cfg_config_scrub(cfg, msg); }
