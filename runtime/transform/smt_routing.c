/*
 * smt_routing.c — transforms that change where a record goes and what
 * headers it carries: Connect's RegexRouter, TimestampRouter, Filter,
 * InsertHeader, DropHeaders and HeaderFrom$Key/$Value, with Connect 4.x's
 * names, options and defaults, and ferry's content router "route".
 *
 * Header values are bytes as Connect's SimpleHeaderConverter writes them:
 * a string as its text, anything else as its JSON text, null as a null
 * header.
 *
 * The content router sends a record to a topic chosen by one field of its
 * value or by one header. A route's target may name several topics
 * ("t1|t2|t3"); a chain turns one record into one record, so the record
 * goes to the first topic and the others are left for the engine in the
 * record's fanout field (never a header, so nothing a connector or another
 * transform writes can ask for copies):
 *   - the remaining topics in the configured order, joined by '|' ("t2|t3"),
 *     each a valid Kafka topic name, never empty; NULL for one target;
 *   - set afresh whenever the router routes a record;
 *   - the engine, after the whole chain, produces one copy of the record
 *     (key, value, headers, timestamp) to each, the partition left to the
 *     partitioner (sources only: a sink's chain may not route).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transform/transform_internal.h"
#include "transform/xf_regex.h"
#include "util/strutil.h"

#define CONNECT_PKG "org.apache.kafka.connect.transforms."

/* Connect's message for a required option without a default. */
static const char *required(const xf_opts_t *o, const char *key, char *err, size_t errlen)
{
    const char *v = xf_opt(o, key);
    if (!v) snprintf(err, errlen, "missing required option '%s' (it has no default)", key);
    return v;
}

/* ---- RegexRouter ---------------------------------------------------------------------------- */

typedef struct regex_router {
    xf_regex_t re;
    char *replacement;
} regex_router_t;

static const char *const regex_router_options[] = {"regex", "replacement", NULL};

static void regex_router_free(void *state)
{
    regex_router_t *s = state;
    xf_regex_free(&s->re);
    free(s->replacement);
    free(s);
}

static void *regex_router_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    (void)side;
    const char *regex = required(o, "regex", err, errlen);
    const char *repl = regex ? required(o, "replacement", err, errlen) : NULL;
    if (!repl) return NULL;
    regex_router_t *s = xcalloc(1, sizeof(*s));
    s->replacement = str_dup(repl);
    if (xf_regex_compile(&s->re, regex, err, errlen) != 0 ||
        xf_regex_check_replacement(&s->re, repl, err, errlen) != 0) {
        regex_router_free(s);
        return NULL;
    }
    return s;
}

static xf_result_t regex_router_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    regex_router_t *s = state;
    char *topic;
    if (xf_regex_replace(&s->re, r->topic, s->replacement, &topic)) {
        xf_record_set_topic(r, topic);
        free(topic);
    }
    return XF_KEEP; /* a topic that does not match passes unchanged */
}

/* ---- TimestampRouter: java.text.SimpleDateFormat in UTC ---------------------------------- */

typedef struct timestamp_router {
    char *topic_format, *timestamp_format;
} timestamp_router_t;

static const char *const timestamp_router_options[] = {"topic.format", "timestamp.format", NULL};

static const char *const month_names[] = {"January", "February", "March",     "April",   "May",      "June",
                                          "July",    "August",   "September", "October", "November", "December"};
static const char *const day_names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

/* Appends n zero-padded to width to out. */
static void put_number(char **out, long n, int width)
{
    char *s = str_printf("%s%0*ld", *out, width, n);
    free(*out);
    *out = s;
}

static void put_text(char **out, const char *text, int len)
{
    char *s = str_printf("%s%.*s", *out, len, text);
    free(*out);
    *out = s;
}

/* One pattern letter repeated count times, for the time tm and the
 * milliseconds ms. 0, or -1 when SimpleDateFormat would take the letter
 * but ferry does not (week-based fields), or it is not a pattern letter. */
static int put_field(char **out, char letter, int count, const struct tm *tm, int ms)
{
    int hour12 = tm->tm_hour % 12;
    switch (letter) {
    case 'G': put_text(out, "AD", 2); break;
    case 'y': put_number(out, count == 2 ? (tm->tm_year + 1900) % 100 : tm->tm_year + 1900, count); break;
    case 'M':
    case 'L':
        if (count >= 3) put_text(out, month_names[tm->tm_mon], count == 3 ? 3 : (int)strlen(month_names[tm->tm_mon]));
        else put_number(out, tm->tm_mon + 1, count);
        break;
    case 'd': put_number(out, tm->tm_mday, count); break;
    case 'D': put_number(out, tm->tm_yday + 1, count); break;
    case 'E': put_text(out, day_names[tm->tm_wday], count >= 4 ? (int)strlen(day_names[tm->tm_wday]) : 3); break;
    case 'u': put_number(out, tm->tm_wday ? tm->tm_wday : 7, count); break;
    case 'a': put_text(out, tm->tm_hour < 12 ? "AM" : "PM", 2); break;
    case 'H': put_number(out, tm->tm_hour, count); break;
    case 'k': put_number(out, tm->tm_hour ? tm->tm_hour : 24, count); break;
    case 'K': put_number(out, hour12, count); break;
    case 'h': put_number(out, hour12 ? hour12 : 12, count); break;
    case 'm': put_number(out, tm->tm_min, count); break;
    case 's': put_number(out, tm->tm_sec, count); break;
    case 'S': put_number(out, ms, count); break;
    case 'z': put_text(out, count >= 4 ? "Coordinated Universal Time" : "UTC", count >= 4 ? 26 : 3); break;
    case 'Z': put_text(out, "+0000", 5); break;
    case 'X': put_text(out, "Z", 1); break;
    default: return -1;
    }
    return 0;
}

/* Formats ms (since the epoch, UTC) by a SimpleDateFormat pattern: letters
 * are fields, 'text' is literal ('' a quote), the rest is copied. With
 * out NULL it only checks the pattern. 0, or -1 with err. */
static int format_time(const char *pattern, int64_t ms, char **out, char *err, size_t errlen)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char *scratch = str_dup("");
    char **o = out ? out : &scratch;
    if (out) *out = str_dup("");
    int rc = 0;
    for (const char *p = pattern; *p && rc == 0;) {
        if (*p == '\'') {
            if (p[1] == '\'') {
                put_text(o, "'", 1);
                p += 2;
                continue;
            }
            const char *e = p + 1;
            while (*e && !(e[0] == '\'' && e[1] != '\'')) {
                put_text(o, e, 1);
                e += e[0] == '\'' ? 2 : 1;
            }
            if (!*e) {
                snprintf(err, errlen, "timestamp.format '%s': unterminated quote", pattern);
                rc = -1;
            }
            p = *e ? e + 1 : e;
        } else if (isalpha((unsigned char)*p)) {
            int count = 1;
            while (p[count] == *p) count++;
            if (put_field(o, *p, count, &tm, (int)(ms - secs * 1000)) != 0) {
                snprintf(err, errlen, "timestamp.format '%s': pattern letter '%c' is not supported (ferry takes "
                         "G y M L d D E u a H k K h m s S z Z X)", pattern, *p);
                rc = -1;
            }
            p += count;
        } else {
            put_text(o, p++, 1);
        }
    }
    free(scratch);
    if (rc != 0 && out) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

static void timestamp_router_free(void *state)
{
    timestamp_router_t *s = state;
    free(s->topic_format);
    free(s->timestamp_format);
    free(s);
}

static void *timestamp_router_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    (void)side;
    const char *tf = xf_opt(o, "topic.format"), *tsf = xf_opt(o, "timestamp.format");
    timestamp_router_t *s = xcalloc(1, sizeof(*s));
    s->topic_format = str_dup(tf ? tf : "${topic}-${timestamp}");
    s->timestamp_format = str_dup(tsf ? tsf : "yyyyMMdd");
    if (format_time(s->timestamp_format, 0, NULL, err, errlen) != 0) {
        timestamp_router_free(s);
        return NULL;
    }
    return s;
}

static xf_result_t timestamp_router_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    timestamp_router_t *s = state;
    /* ferry's records carry no timestamp as 0 or below (librdkafka's -1). */
    if (r->timestamp_ms <= 0) {
        snprintf(err, errlen, "Timestamp missing on record (topic %s)", r->topic);
        return XF_FAIL;
    }
    char *stamp = NULL;
    if (format_time(s->timestamp_format, r->timestamp_ms, &stamp, err, errlen) != 0) return XF_FAIL;
    /* As Connect: ${topic} first, then ${timestamp} in the result. */
    char *with_topic = str_replace_all(s->topic_format, "${topic}", r->topic);
    char *topic = str_replace_all(with_topic, "${timestamp}", stamp);
    xf_record_set_topic(r, topic);
    free(topic);
    free(with_topic);
    free(stamp);
    return XF_KEEP;
}

/* ---- Filter, InsertHeader, DropHeaders --------------------------------------------------- */

static const char *const no_options[] = {NULL};

static void *filter_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    (void)o, (void)side, (void)err, (void)errlen;
    return xcalloc(1, 1); /* stateless, but NULL would mean failure */
}

static xf_result_t filter_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    (void)state, (void)r, (void)err, (void)errlen;
    return XF_DROP;
}

typedef struct insert_header {
    char *header, *value;
} insert_header_t;

static const char *const insert_header_options[] = {"header", "value.literal", NULL};

static void insert_header_free(void *state)
{
    insert_header_t *s = state;
    free(s->header);
    free(s->value);
    free(s);
}

static void *insert_header_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    (void)side;
    const char *h = required(o, "header", err, errlen);
    const char *v = h ? required(o, "value.literal", err, errlen) : NULL;
    if (!v) return NULL;
    insert_header_t *s = xcalloc(1, sizeof(*s));
    s->header = str_dup(h);
    s->value = str_dup(v);
    return s;
}

static xf_result_t insert_header_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    insert_header_t *s = state;
    xf_header_add(r, s->header, s->value, strlen(s->value));
    return XF_KEEP;
}

typedef struct drop_headers {
    char **names;
    size_t count;
} drop_headers_t;

static const char *const drop_headers_options[] = {"headers", NULL};

static void drop_headers_free(void *state)
{
    drop_headers_t *s = state;
    xf_list_free(s->names, s->count);
    free(s);
}

static void *drop_headers_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    (void)side;
    drop_headers_t *s = xcalloc(1, sizeof(*s));
    s->count = xf_opt_list(o, "headers", &s->names);
    if (s->count == 0) {
        snprintf(err, errlen, "option 'headers': needs at least one header name");
        drop_headers_free(s);
        return NULL;
    }
    return s;
}

static xf_result_t drop_headers_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    drop_headers_t *s = state;
    for (size_t i = 0; i < s->count; i++) xf_header_remove(r, s->names[i]);
    return XF_KEEP;
}

/* ---- HeaderFrom ------------------------------------------------------------------------------ */

typedef struct header_from {
    xf_side_t side;
    char **fields, **headers;
    size_t count, nheaders; /* equal once configured */
    int move, null_to_default;
} header_from_t;

static const char *const header_from_options[] = {"fields", "headers", "operation", "replace.null.with.default",
                                                  NULL};

static void header_from_free(void *state)
{
    header_from_t *s = state;
    xf_list_free(s->fields, s->count);
    xf_list_free(s->headers, s->nheaders);
    free(s);
}

static void *header_from_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    header_from_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    s->count = xf_opt_list(o, "fields", &s->fields);
    size_t nh = s->nheaders = xf_opt_list(o, "headers", &s->headers);
    const char *op = xf_opt(o, "operation");
    s->null_to_default = xf_opt_bool(o, "replace.null.with.default", 1, err, errlen);
    if (s->count == 0 || nh == 0) {
        snprintf(err, errlen, "option '%s': needs at least one name", s->count ? "headers" : "fields");
    } else if (nh != s->count) {
        snprintf(err, errlen, "'fields' config must have the same number of elements as 'headers' config (%zu and "
                 "%zu)", s->count, nh);
    } else if (!op || (strcmp(op, "move") != 0 && strcmp(op, "copy") != 0)) {
        snprintf(err, errlen, "option 'operation': %s%s%s (move or copy)", op ? "'" : "required", op ? op : "",
                 op ? "' is not one of" : "");
    } else if (s->null_to_default >= 0) {
        s->move = strcmp(op, "move") == 0;
        return s;
    }
    header_from_free(s);
    return NULL;
}

static int header_from_is_moved(const header_from_t *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->fields[i], name) == 0) return 1;
    return 0;
}

/* The struct schema without the moved fields, other keys in their order. */
static json_t *header_from_schema(const header_from_t *s, const json_t *schema)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)schema, key, v) {
        if (strcmp(key, "fields") != 0) {
            json_object_set(out, key, v);
            continue;
        }
        json_t *fields = json_array(), *f;
        size_t i;
        json_array_foreach(v, i, f) {
            const char *n = json_string_value(json_object_get(f, "field"));
            if (!n || !header_from_is_moved(s, n)) json_array_append(fields, f);
        }
        json_object_set_new(out, key, fields);
    }
    return out;
}

static xf_result_t header_from_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    header_from_t *s = state;
    const char *op = s->move ? "move" : "copy";
    int null = 0;
    json_t *obj = xf_side_object(r, s->side, &null, "HeaderFrom", err, errlen);
    xf_data_t *d = xf_side_data(r, s->side);
    if (null) /* Connect's requireMap / requireStruct refuse null too */
        snprintf(err, errlen, "Only Map objects supported in absence of schema for [header %s], found: null", op);
    if (!obj) return XF_FAIL;
    if (d->schema && strcmp(json_string_value(json_object_get(d->schema, "type")) ?: "", "struct") != 0) {
        snprintf(err, errlen, "HeaderFrom with a schema needs a struct schema");
        return XF_FAIL;
    }
    for (size_t i = 0; i < s->count; i++) {
        json_t *fs = d->schema ? xf_schema_field(d->schema, s->fields[i]) : NULL;
        if (d->schema && !fs) {
            snprintf(err, errlen, "field '%s' is not in the %s's schema", s->fields[i],
                     s->side == XF_SIDE_KEY ? "key" : "value");
            return XF_FAIL;
        }
    }
    for (size_t i = 0; i < s->count; i++) {
        json_t *v = json_object_get(obj, s->fields[i]);
        json_t *fs = d->schema ? xf_schema_field(d->schema, s->fields[i]) : NULL;
        if ((!v || json_is_null(v)) && fs && s->null_to_default) v = json_object_get(fs, "default");
        size_t len = 0;
        char *text = xf_header_text(v, &len);
        xf_header_add(r, s->headers[i], text, len);
        free(text);
    }
    if (!s->move) return XF_KEEP;
    json_t *out = json_deep_copy(obj);
    for (size_t i = 0; i < s->count; i++) json_object_del(out, s->fields[i]);
    xf_data_set(d, out, d->schema ? header_from_schema(s, d->schema) : NULL);
    return XF_KEEP;
}

/* ---- route: ferry's content router ------------------------------------------------------ */

typedef enum unmatched { UNMATCHED_DROP, UNMATCHED_KEEP, UNMATCHED_FAIL } unmatched_t;

typedef struct route_rule {
    char *value;   /* the field's or header's text; NULL for a regex rule */
    xf_regex_t re; /* a regex rule's pattern */
    char *targets; /* "topic" or "t1|t2"; a regex rule's may hold $1 references */
} route_rule_t;

typedef struct route {
    char *field;   /* a top-level field, or a JSON pointer when it starts with '/' */
    char *header;
    route_rule_t *rules; /* the direct routes first, then the regex rules in order */
    size_t nroutes, nrules;
    char *default_topic;
    unmatched_t unmatched;
} route_t;

static const char *const route_options[] = {"field", "header", "routes", "regex", "default.topic", "on.unmatched",
                                            NULL};

static void route_free(void *state)
{
    route_t *s = state;
    for (size_t i = 0; i < s->nrules; i++) {
        free(s->rules[i].value);
        xf_regex_free(&s->rules[i].re);
        free(s->rules[i].targets);
    }
    free(s->rules);
    free(s->field);
    free(s->header);
    free(s->default_topic);
    free(s);
}

/* Targets "t1|t2": each a Kafka topic name (at most 249 of [A-Za-z0-9._-]). */
static int route_check_targets(const char *targets, char *err, size_t errlen)
{
    const char *p = targets;
    for (;;) {
        size_t n = strcspn(p, "|");
        size_t ok = 0;
        while (ok < n && (isalnum((unsigned char)p[ok]) || strchr("._-", p[ok]))) ok++;
        if (n == 0 || n > 249 || ok < n || (n <= 2 && strncmp(p, "..", n) == 0)) {
            snprintf(err, errlen, "'%s' is not a topic name (or topics joined by '|'): a topic is 1 to 249 of "
                     "letters, digits, '.', '_' and '-'", targets);
            return -1;
        }
        if (!p[n]) return 0;
        p += n + 1;
    }
}

static char *trimmed(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return str_printf("%.*s", (int)n, s);
}

static route_rule_t *route_add(route_t *s)
{
    s->rules = xrealloc(s->rules, (s->nrules + 1) * sizeof(*s->rules));
    route_rule_t *rule = &s->rules[s->nrules++];
    memset(rule, 0, sizeof(*rule));
    return rule;
}

/* routes: "value:topic,value2:t1|t2"; the last ':' splits, since topic
 * names have none. */
static int route_parse_routes(route_t *s, const xf_opts_t *o, char *err, size_t errlen)
{
    char **items;
    size_t n = xf_opt_list(o, "routes", &items);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *colon = strrchr(items[i], ':');
        if (!colon) {
            snprintf(err, errlen, "option 'routes': '%s' is not value:topic", items[i]);
            rc = -1;
            break;
        }
        char *value = trimmed(items[i], (size_t)(colon - items[i])), *targets = trimmed(colon + 1, strlen(colon + 1));
        for (size_t k = 0; k < s->nrules; k++)
            if (strcmp(s->rules[k].value, value) == 0) {
                snprintf(err, errlen, "option 'routes': value '%s' is routed twice", value);
                rc = -1;
            }
        if (rc == 0 && route_check_targets(targets, err, errlen) != 0) rc = -1;
        if (rc == 0) {
            route_rule_t *rule = route_add(s);
            rule->value = value;
            rule->targets = targets;
            s->nroutes++;
        } else {
            free(value);
            free(targets);
        }
    }
    xf_list_free(items, n);
    return rc;
}

/* regex: "pattern=>target,pattern2=>target2"; a comma inside (), [] or {}
 * belongs to the pattern. */
static int route_parse_regex(route_t *s, const char *v, char *err, size_t errlen)
{
    while (v && *v) {
        int depth = 0;
        const char *e = v;
        for (; *e && !(*e == ',' && depth == 0); e++) {
            if (*e == '\\' && e[1]) e++;
            else if (strchr("([{", *e)) depth++;
            else if (strchr(")]}", *e) && depth > 0) depth--;
        }
        char *item = trimmed(v, (size_t)(e - v));
        v = *e ? e + 1 : NULL;
        if (!*item) {
            free(item);
            continue;
        }
        const char *arrow = NULL;
        for (const char *a = strstr(item, "=>"); a; a = strstr(a + 1, "=>")) arrow = a;
        if (!arrow) {
            snprintf(err, errlen, "option 'regex': '%s' is not pattern=>topic", item);
            free(item);
            return -1;
        }
        char *pattern = trimmed(item, (size_t)(arrow - item));
        route_rule_t *rule = route_add(s);
        rule->targets = trimmed(arrow + 2, strlen(arrow + 2));
        int rc = xf_regex_compile(&rule->re, pattern, err, errlen) != 0 ||
                         xf_regex_check_replacement(&rule->re, rule->targets, err, errlen) != 0
                     ? -1
                     : 0;
        if (rc == 0 && !*rule->targets) {
            snprintf(err, errlen, "option 'regex': '%s' has no topic after '=>'", item);
            rc = -1;
        }
        free(pattern);
        free(item);
        if (rc != 0) return -1;
    }
    return 0;
}

static void *route_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    (void)side;
    route_t *s = xcalloc(1, sizeof(*s));
    const char *field = xf_opt(o, "field"), *header = xf_opt(o, "header"), *dflt = xf_opt(o, "default.topic");
    const char *unmatched = xf_opt(o, "on.unmatched");
    s->field = field && *field ? str_dup(field) : NULL;
    s->header = header && *header ? str_dup(header) : NULL;
    s->default_topic = dflt && *dflt ? str_dup(dflt) : NULL;
    int rc = -1;
    if (!s->field == !s->header) {
        snprintf(err, errlen, s->field ? "'field' and 'header' exclude each other: route by one of them"
                                       : "set 'field' (a value field, or a JSON pointer like /a/b) or 'header' to route by");
    } else if (unmatched && s->default_topic) {
        snprintf(err, errlen, "'on.unmatched' and 'default.topic' exclude each other (unmatched records go to "
                 "default.topic)");
    } else if (unmatched && strcmp(unmatched, "drop") && strcmp(unmatched, "keep") && strcmp(unmatched, "fail")) {
        snprintf(err, errlen, "option 'on.unmatched': '%s' is not one of drop, keep, fail", unmatched);
    } else if (s->default_topic && route_check_targets(s->default_topic, err, errlen) != 0) {
    } else if (route_parse_routes(s, o, err, errlen) == 0 && route_parse_regex(s, xf_opt(o, "regex"), err, errlen) == 0) {
        if (s->nrules == 0 && !s->default_topic)
            snprintf(err, errlen, "nothing to route by: set 'routes', 'regex' or 'default.topic'");
        else
            rc = 0;
    }
    s->unmatched = !unmatched || !strcmp(unmatched, "drop") ? UNMATCHED_DROP
                   : !strcmp(unmatched, "keep")             ? UNMATCHED_KEEP
                                                            : UNMATCHED_FAIL;
    if (rc != 0) {
        route_free(s);
        return NULL;
    }
    return s;
}

/* RFC 6901: the value at pointer (starting with '/') in root, or NULL. */
static json_t *json_at_pointer(json_t *root, const char *pointer)
{
    json_t *cur = root;
    for (const char *p = pointer; cur && *p == '/';) {
        const char *e = strchr(p + 1, '/');
        size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);
        char *tok = xmalloc(n + 1), *t = tok;
        for (size_t i = 0; i < n; i++) {
            const char *c = p + 1 + i;
            if (c[0] == '~' && i + 1 < n && (c[1] == '0' || c[1] == '1')) *t++ = c[1] == '0' ? '~' : '/', i++;
            else *t++ = *c;
        }
        *t = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long idx = strtoul(tok, &end, 10);
            cur = *tok && !*end && isdigit((unsigned char)*tok) ? json_array_get(cur, idx) : NULL;
        } else {
            cur = NULL;
        }
        free(tok);
        p = e ? e : p + 1 + n;
    }
    return cur;
}

/* What the record is routed by, as text (malloc'd), or NULL when it has
 * none (a tombstone, a missing field or header, a null). *fail on bad input. */
static char *route_key(const route_t *s, xf_record_t *r, int *fail, char *err, size_t errlen)
{
    *fail = 0;
    size_t len = 0;
    if (s->header) {
        const xf_header_t *h = xf_header_last(r, s->header);
        return h && h->value ? str_printf("%.*s", (int)h->len, (const char *)h->value) : NULL;
    }
    int null = 0;
    json_t *obj = xf_side_object(r, XF_SIDE_VALUE, &null, "route (by field)", err, errlen);
    if (null) return NULL;
    if (!obj) {
        *fail = 1;
        return NULL;
    }
    json_t *v = s->field[0] == '/' ? json_at_pointer(obj, s->field) : json_object_get(obj, s->field);
    return xf_header_text(v, &len);
}

/* Sends r to the first of targets; the others go to its fanout field. */
static void route_to(xf_record_t *r, const char *targets)
{
    const char *bar = strchr(targets, '|');
    char *first = str_printf("%.*s", (int)(bar ? (size_t)(bar - targets) : strlen(targets)), targets);
    xf_record_set_topic(r, first);
    free(first);
    free(r->fanout);
    r->fanout = bar ? str_dup(bar + 1) : NULL;
}

static xf_result_t route_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    route_t *s = state;
    int fail;
    char *key = route_key(s, r, &fail, err, errlen);
    if (fail) return XF_FAIL;
    char *targets = NULL;
    for (size_t i = 0; key && i < s->nroutes && !targets; i++)
        if (strcmp(s->rules[i].value, key) == 0) targets = str_dup(s->rules[i].targets);
    for (size_t i = s->nroutes; key && i < s->nrules && !targets; i++) {
        if (xf_regex_replace(&s->rules[i].re, key, s->rules[i].targets, &targets) &&
            route_check_targets(targets, err, errlen) != 0) {
            char why[300];
            snprintf(why, sizeof(why), "%s", err);
            snprintf(err, errlen, "regex rule %zu made a bad topic from '%s': %s", i - s->nroutes + 1, key, why);
            free(targets);
            free(key);
            return XF_FAIL;
        }
    }
    if (!targets && s->default_topic) targets = str_dup(s->default_topic);
    xf_result_t res = XF_KEEP;
    if (targets) route_to(r, targets);
    else if (s->unmatched == UNMATCHED_DROP) res = XF_DROP;
    else if (s->unmatched == UNMATCHED_FAIL) {
        snprintf(err, errlen, "no route for %s '%s' %s%s%s", s->header ? "header" : "field",
                 s->header ? s->header : s->field, key ? "= '" : "(missing or null)", key ? key : "", key ? "'" : "");
        res = XF_FAIL;
    }
    free(targets);
    free(key);
    return res;
}

/* ---- the types ------------------------------------------------------------------------------- */

static const xf_type_t regex_router = {"RegexRouter", CONNECT_PKG, XF_SIDE_NONE, regex_router_options,
                                       regex_router_init, regex_router_apply, regex_router_free};
static const xf_type_t timestamp_router = {"TimestampRouter", CONNECT_PKG, XF_SIDE_NONE, timestamp_router_options,
                                           timestamp_router_init, timestamp_router_apply, timestamp_router_free};
static const xf_type_t filter = {"Filter", CONNECT_PKG, XF_SIDE_NONE, no_options, filter_init, filter_apply, free};
static const xf_type_t insert_header = {"InsertHeader", CONNECT_PKG, XF_SIDE_NONE, insert_header_options,
                                        insert_header_init, insert_header_apply, insert_header_free};
static const xf_type_t drop_headers = {"DropHeaders", CONNECT_PKG, XF_SIDE_NONE, drop_headers_options,
                                       drop_headers_init, drop_headers_apply, drop_headers_free};
static const xf_type_t header_from_key = {"HeaderFrom$Key", CONNECT_PKG, XF_SIDE_KEY, header_from_options,
                                          header_from_init, header_from_apply, header_from_free};
static const xf_type_t header_from_value = {"HeaderFrom$Value", CONNECT_PKG, XF_SIDE_VALUE, header_from_options,
                                            header_from_init, header_from_apply, header_from_free};
static const xf_type_t route = {"route", "", XF_SIDE_NONE, route_options, route_init, route_apply, route_free};

const xf_type_t *const xf_types_routing[] = {&regex_router,     &timestamp_router, &filter,
                                             &insert_header,    &drop_headers,     &header_from_key,
                                             &header_from_value, &route,            NULL};
