/*
 * config_values.c — parsing one option value by its declared type, bounds,
 * and the did-you-mean helper.
 *
 * Messages written here never contain the value: the caller knows whether
 * the value is a secret (or came from ${..}) and adds it only when not.
 */
#include "config/config_internal.h"
#include "util/strutil.h"
#include "util/topic_name.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DURATION_FORM "expected a duration like 250ms, 5s, 2m, 1h or 1d (a bare number is milliseconds)"
#define SIZE_FORM "expected a size like 512, 64KiB, 16MiB, 1GiB, 10KB or 1MB (a bare number is bytes)"

/* ---- scalar parsers -------------------------------------------------------- */

int cfg_parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    if (!isdigit((unsigned char)*p)) return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end) return -1;
    *out = (int64_t)v;
    return 0;
}

int cfg_parse_double(const char *s, double *out)
{
    if (!*s || isspace((unsigned char)*s)) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int config_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    if (!s) return -1;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Reads an unsigned decimal number with an optional fraction ("1", "1.5")
 * and returns where the unit starts, or NULL. */
static const char *parse_number(const char *s, double *out)
{
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return NULL;
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return NULL;
        while (isdigit((unsigned char)*p)) p++;
    }
    char *end;
    *out = strtod(s, &end);
    if (end != p) return NULL;
    while (*p == ' ') p++;
    return p;
}

typedef struct unit {
    const char *name;
    double factor;
} unit_t;

/* Shared by durations and sizes: a number, optional spaces, a unit from the
 * table; the result is rounded to an integer and must fit in int64. */
static int parse_with_units(const char *s, const unit_t *units, int nocase, int64_t *out)
{
    if (!s) return -1;
    double num;
    const char *unit = parse_number(s, &num);
    if (!unit) return -1;
    double factor = -1;
    for (const unit_t *u = units; u->name; u++) {
        if (nocase ? strcasecmp(unit, u->name) == 0 : strcmp(unit, u->name) == 0) {
            factor = u->factor;
            break;
        }
    }
    if (factor < 0) return -1;
    /* Non-negative, so adding 0.5 and truncating rounds to nearest (and
     * keeps libm out of the link). */
    double v = num * factor + 0.5;
    if (v >= 9.2e18) return -1;
    *out = (int64_t)v;
    return 0;
}

int config_parse_duration_ms(const char *s, int64_t *out, char *err, size_t errlen)
{
    /* Units are case-sensitive: "M" would be ambiguous (minutes or mega). */
    static const unit_t units[] = {{"", 1},         {"ms", 1},        {"s", 1000},
                                   {"m", 60000.0},  {"h", 3600000.0}, {"d", 86400000.0},
                                   {NULL, 0}};
    if (parse_with_units(s, units, 0, out) == 0) return 0;
    if (err && errlen) snprintf(err, errlen, "%s", DURATION_FORM);
    return -1;
}

int config_parse_size(const char *s, int64_t *out, char *err, size_t errlen)
{
    static const unit_t units[] = {
        {"", 1},           {"B", 1},
        {"KB", 1e3},       {"MB", 1e6},           {"GB", 1e9},                     {"TB", 1e12},
        {"KiB", 1024.0},   {"MiB", 1048576.0},    {"GiB", 1073741824.0},          {"TiB", 1099511627776.0},
        {NULL, 0}};
    if (parse_with_units(s, units, 1, out) == 0) return 0;
    if (err && errlen) snprintf(err, errlen, "%s", SIZE_FORM);
    return -1;
}

const char *config_did_you_mean(const char *key, const char *const *candidates, size_t count)
{
    if (!key || !*key) return NULL;
    const char *best = NULL;
    size_t best_dist = (size_t)-1;
    size_t klen = strlen(key);
    for (size_t i = 0; i < count; i++) {
        const char *c = candidates[i];
        if (!c) continue;
        /* Short keys: a distance of 3 would suggest almost anything. */
        size_t limit = klen <= 3 ? 1 : klen <= 5 ? 2 : 3;
        /* The distance is at least the length difference: skip the
         * quadratic computation when that alone is too far. */
        size_t clen = strlen(c);
        if ((clen > klen ? clen - klen : klen - clen) > limit) continue;
        size_t d = str_edit_distance(key, c);
        if (d <= limit && d < best_dist) {
            best = c;
            best_dist = d;
        }
    }
    if (best) return best;
    /* A prefix in either direction ("batch" → "batch.max.records"). */
    for (size_t i = 0; i < count; i++) {
        const char *c = candidates[i];
        if (!c) continue;
        size_t clen = strlen(c);
        if (klen >= 3 && clen >= 3 &&
            (strncmp(c, key, klen < clen ? klen : clen) == 0))
            return c;
    }
    return NULL;
}

/* ---- lists ------------------------------------------------------------------- */

size_t cfg_split_list(const char *s, char ***items)
{
    size_t n = 0;
    *items = NULL;
    const char *p = s;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a)) a++;
        while (b > a && isspace((unsigned char)b[-1])) b--;
        if (b > a) {
            *items = xrealloc(*items, (n + 1) * sizeof(**items));
            char *item = xmalloc((size_t)(b - a) + 1);
            memcpy(item, a, (size_t)(b - a));
            item[b - a] = '\0';
            (*items)[n++] = item;
        }
        p = comma ? comma + 1 : end;
    }
    return n;
}

static char *join_list(char *const *items, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(items[i]) + 1;
    char *s = xmalloc(len);
    s[0] = '\0';
    char *p = s;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(items[i]);
        if (i) *p++ = ',';
        memcpy(p, items[i], l);
        p += l;
        *p = '\0';
    }
    return s;
}

static const char *node_kind_name(const cfg_node_t *node)
{
    return node->kind == CFG_SEQ ? "a list" : node->kind == CFG_MAP ? "a mapping" : "a scalar";
}

static int parse_list(const cfg_node_t *node, const char *str, cfg_entry_t *e, char *err, size_t errlen)
{
    if (!node || node->kind == CFG_SCALAR) {
        e->count = cfg_split_list(node ? node->scalar : str, &e->items);
    } else if (node->kind == CFG_SEQ) {
        e->items = xcalloc(node->count ? node->count : 1, sizeof(*e->items));
        for (size_t i = 0; i < node->count; i++) {
            const cfg_node_t *item = node->items[i];
            if (item->kind != CFG_SCALAR || !item->scalar) {
                snprintf(err, errlen, "list item %zu (at %d:%d) must be a non-empty scalar", i + 1,
                         item->line, item->col);
                return -1;
            }
            e->items[e->count++] = str_dup(item->scalar);
        }
    } else {
        snprintf(err, errlen, "expected a list or a comma-separated string, got a mapping");
        return -1;
    }
    e->text = join_list(e->items, e->count);
    return 0;
}

static void map_add(cfg_entry_t *e, const char *key, size_t klen, const char *value)
{
    e->items = xrealloc(e->items, (e->count + 1) * sizeof(*e->items));
    e->values = xrealloc(e->values, (e->count + 1) * sizeof(*e->values));
    char *k = xmalloc(klen + 1);
    memcpy(k, key, klen);
    k[klen] = '\0';
    e->items[e->count] = k;
    e->values[e->count] = str_dup(value);
    e->count++;
}

/* The string form of a map is "k=v,k2=v2" (also what kv input may use). */
static char *join_map(const cfg_entry_t *e)
{
    char **pairs = xcalloc(e->count ? e->count : 1, sizeof(*pairs));
    for (size_t i = 0; i < e->count; i++) pairs[i] = str_printf("%s=%s", e->items[i], e->values[i]);
    char *s = join_list(pairs, e->count);
    for (size_t i = 0; i < e->count; i++) free(pairs[i]);
    free(pairs);
    return s;
}

static int parse_map(const cfg_node_t *node, const char *str, cfg_entry_t *e, char *err, size_t errlen)
{
    if (node && node->kind == CFG_MAP) {
        for (size_t i = 0; i < node->count; i++) {
            const cfg_node_t *v = node->items[i];
            if (v->kind != CFG_SCALAR || !v->scalar) {
                snprintf(err, errlen, "entry '%s' (at %d:%d) must have a scalar value, not %s",
                         node->keys[i], v->line, v->col, v->scalar || v->kind != CFG_SCALAR ? node_kind_name(v) : "null");
                return -1;
            }
            map_add(e, node->keys[i], strlen(node->keys[i]), v->scalar);
        }
    } else if (!node || node->kind == CFG_SCALAR) {
        char **pairs;
        size_t n = cfg_split_list(node ? node->scalar : str, &pairs);
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            const char *eq = strchr(pairs[i], '=');
            if (!eq || eq == pairs[i]) bad = 1;
            else map_add(e, pairs[i], (size_t)(eq - pairs[i]), eq + 1);
            free(pairs[i]);
        }
        free(pairs);
        if (bad) {
            snprintf(err, errlen, "expected a mapping (or key=value pairs separated by commas)");
            return -1;
        }
    } else {
        snprintf(err, errlen, "expected a mapping, got a list");
        return -1;
    }
    e->text = join_map(e);
    return 0;
}

/* ---- one value by type --------------------------------------------------------- */

static int parse_enum(const ferry_option_t *opt, const char *s, cfg_entry_t *e, char *err, size_t errlen)
{
    for (const char *const *v = opt->enum_values; v && *v; v++) {
        if (strcasecmp(s, *v) == 0) {
            e->text = str_dup(*v); /* the table's spelling */
            return 0;
        }
    }
    size_t off = (size_t)snprintf(err, errlen, "must be one of:");
    for (const char *const *v = opt->enum_values; v && *v && off < errlen; v++)
        off += (size_t)snprintf(err + off, errlen - off, "%s %s", v == opt->enum_values ? "" : ",", *v);
    return -1;
}

int cfg_value_parse(const ferry_option_t *opt, const cfg_node_t *node, const char *str,
                    cfg_entry_t *e, char *err, size_t errlen)
{
    err[0] = '\0';
    e->subst = node ? node->secret_subst : 0;
    if (opt->type == FERRY_OPT_LIST) return parse_list(node, str, e, err, errlen);
    if (opt->type == FERRY_OPT_MAP) return parse_map(node, str, e, err, errlen);
    if (node && node->kind != CFG_SCALAR) {
        snprintf(err, errlen, "expected a single value, got %s", node_kind_name(node));
        return -1;
    }
    const char *s = node ? node->scalar : str;
    if (!s) s = "";
    int rc = 0;
    switch (opt->type) {
    case FERRY_OPT_STRING:
    case FERRY_OPT_SECRET: break;
    case FERRY_OPT_INT:
        rc = cfg_parse_int(s, &e->num);
        if (rc) snprintf(err, errlen, "expected an integer");
        e->dbl = (double)e->num;
        break;
    case FERRY_OPT_BOOL: {
        int b = 0;
        rc = config_parse_bool(s, &b);
        if (rc) snprintf(err, errlen, "expected a boolean (true/false, yes/no, on/off, 1/0)");
        e->num = b;
        break;
    }
    case FERRY_OPT_DOUBLE:
        rc = cfg_parse_double(s, &e->dbl);
        if (rc) snprintf(err, errlen, "expected a number");
        break;
    case FERRY_OPT_DURATION: rc = config_parse_duration_ms(s, &e->num, err, errlen); break;
    case FERRY_OPT_SIZE: rc = config_parse_size(s, &e->num, err, errlen); break;
    case FERRY_OPT_ENUM: return parse_enum(opt, s, e, err, errlen);
    default:
        snprintf(err, errlen, "option type %d is unknown to this ferry", (int)opt->type);
        return -1;
    }
    if (rc) return -1;
    e->text = str_dup(s);
    return 0;
}

static void format_bound(const ferry_option_t *opt, double bound, char *buf, size_t len)
{
    switch (opt->type) {
    case FERRY_OPT_DURATION: snprintf(buf, len, "%.0fms", bound); break;
    case FERRY_OPT_SIZE: snprintf(buf, len, "%.0f bytes", bound); break;
    case FERRY_OPT_LIST: snprintf(buf, len, "%.0f item%s", bound, bound == 1 ? "" : "s"); break;
    default: snprintf(buf, len, "%.17g", bound); break;
    }
}

/* FERRY_OPT_TOPIC: every name must be one Kafka accepts (an empty string
 * means "none" and is allowed). */
static int check_topics(const ferry_option_t *opt, const cfg_entry_t *e, int show, char *err, size_t errlen)
{
    if (!(opt->flags & FERRY_OPT_TOPIC)) return 0;
    const char *bad = NULL, *why = NULL;
    if (opt->type == FERRY_OPT_LIST) {
        for (size_t i = 0; i < e->count && !why; i++) why = topic_name_problem(bad = e->items[i]);
    } else if (e->text && *e->text) {
        why = topic_name_problem(bad = e->text);
    }
    if (!why) return 0;
    if (show && strlen(bad) <= 80)
        snprintf(err, errlen, "'%s' is not a valid topic name: %s", bad, why);
    else
        snprintf(err, errlen, "not a valid topic name: %s", why);
    return -1;
}

int cfg_value_check_bounds(const ferry_option_t *opt, const cfg_entry_t *e, int show, char *err,
                           size_t errlen)
{
    if (check_topics(opt, e, show, err, errlen) != 0) return -1;
    double v;
    switch (opt->type) {
    case FERRY_OPT_INT:
    case FERRY_OPT_DURATION:
    case FERRY_OPT_SIZE: v = (double)e->num; break;
    case FERRY_OPT_DOUBLE: v = e->dbl; break;
    case FERRY_OPT_LIST: v = (double)e->count; break;
    default: return 0;
    }
    int low = (opt->flags & FERRY_OPT_HAS_MIN) && v < opt->min;
    int high = (opt->flags & FERRY_OPT_HAS_MAX) && v > opt->max;
    if (!low && !high) return 0;
    char bound[64], value[64];
    format_bound(opt, low ? opt->min : opt->max, bound, sizeof(bound));
    if (opt->type == FERRY_OPT_LIST) {
        snprintf(err, errlen, "needs at %s %s, got %zu", low ? "least" : "most", bound, e->count);
        return -1;
    }
    if (show)
        format_bound(opt, v, value, sizeof(value));
    else
        snprintf(value, sizeof(value), "the value");
    snprintf(err, errlen, "%s is %s the %s of %s", value, low ? "below" : "above",
             low ? "minimum" : "maximum", bound);
    return -1;
}
