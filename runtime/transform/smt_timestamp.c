/*
 * smt_timestamp.c — Connect's TimestampConverter$Key and $Value: a
 * timestamp (a field, or the whole key or value) converted between a
 * string, Unix time, and Connect's Date, Time and Timestamp, in UTC.
 *
 * Strings are written and read with a Java SimpleDateFormat pattern; the
 * common letters are implemented (y M d H h k K m s S D E a z Z X and quoted
 * text), the rest are refused when the transform is configured, so that a
 * pattern never means something other than what it means in Connect.
 *
 * Without a schema, Connect's Date, Time and Timestamp are java.util.Date
 * objects that JsonConverter cannot write; ferry writes them as epoch
 * milliseconds (what a Timestamp is with a schema) so that chains work.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "transform/transform_internal.h"
#include "util/strutil.h"

#define MS_PER_DAY 86400000LL

typedef enum ts_type { TS_STRING, TS_UNIX, TS_DATE, TS_TIME, TS_TIMESTAMP } ts_type_t;

static const char *const ts_type_names[] = {"string", "unix", "Date", "Time", "Timestamp"};

/* One element of a SimpleDateFormat pattern: a letter repeated count
 * times, or literal text (letter 0). */
typedef struct ts_token {
    char letter;
    int count;
    char *text;
} ts_token_t;

typedef struct timestamp_converter {
    xf_side_t side;
    char *field;  /* "" = the whole key or value */
    ts_type_t target;
    int64_t unit; /* nanoseconds per unit of Unix time: 1e9, 1e6, 1e3 or 1 */
    char *format; /* the pattern as configured, NULL when none */
    ts_token_t *tokens;
    size_t ntokens;
} timestamp_converter_t;

static const char *const timestamp_converter_options[] = {"field", "target.type", "format", "unix.precision",
                                                          "replace.null.with.default", NULL};

static void timestamp_converter_free(void *state)
{
    timestamp_converter_t *s = state;
    for (size_t i = 0; i < s->ntokens; i++) free(s->tokens[i].text);
    free(s->tokens);
    free(s->format);
    free(s->field);
    free(s);
}

/* ---- patterns ----------------------------------------------------------------------------------- */

static void add_token(timestamp_converter_t *s, char letter, int count, const char *text, size_t len)
{
    /* Adjacent literal text is one token, so that parsing matches it whole. */
    if (!letter && s->ntokens && !s->tokens[s->ntokens - 1].letter) {
        char *t = str_printf("%s%.*s", s->tokens[s->ntokens - 1].text, (int)len, text);
        free(s->tokens[s->ntokens - 1].text);
        s->tokens[s->ntokens - 1].text = t;
        return;
    }
    s->tokens = xrealloc(s->tokens, (s->ntokens + 1) * sizeof(*s->tokens));
    s->tokens[s->ntokens++] = (ts_token_t){letter, count, letter ? NULL : str_printf("%.*s", (int)len, text)};
}

static int compile_pattern(timestamp_converter_t *s, const char *p, char *err, size_t errlen)
{
    static const char supported[] = "yMdHhkKmsSDEazZX", java_only[] = "GYLwWFu";
    while (*p) {
        if (*p == '\'') {
            if (p[1] == '\'') { /* '' is a quote */
                add_token(s, 0, 0, "'", 1);
                p += 2;
                continue;
            }
            p++;
            char *text = str_dup("");
            while (*p && !(*p == '\'' && p[1] != '\'')) {
                char *t = str_printf("%s%c", text, *p);
                free(text);
                text = t;
                p += *p == '\'' ? 2 : 1;
            }
            if (!*p) {
                snprintf(err, errlen, "option 'format': unterminated quote in pattern '%s'", s->format);
                free(text);
                return -1;
            }
            add_token(s, 0, 0, text, strlen(text));
            free(text);
            p++;
        } else if (isalpha((unsigned char)*p)) {
            int n = 1;
            while (p[n] == *p) n++;
            if (!strchr(supported, *p)) {
                snprintf(err, errlen, "option 'format': pattern letter '%c' %s (pattern '%s')", *p,
                         strchr(java_only, *p) ? "is not supported by ferry" : "is not a SimpleDateFormat letter",
                         s->format);
                return -1;
            }
            add_token(s, *p, n, NULL, 0);
            p += n;
        } else {
            add_token(s, 0, 0, p, 1);
            p++;
        }
    }
    return 0;
}

static const char *const months[] = {"January", "February", "March",     "April",   "May",      "June",
                                     "July",    "August",   "September", "October", "November", "December"};
static const char *const weekdays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

/* Splits epoch milliseconds into a UTC calendar time and its milliseconds. */
static void split_ms(int64_t ms, struct tm *tm, int *millis)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)secs;
    gmtime_r(&t, tm);
    *millis = (int)(ms - secs * 1000);
}

static void append(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *piece = str_vprintf(fmt, ap);
    va_end(ap);
    char *joined = str_printf("%s%s", *out, piece);
    free(piece);
    free(*out);
    *out = joined;
}

static char *format_ms(const timestamp_converter_t *s, int64_t ms)
{
    struct tm tm;
    int millis;
    split_ms(ms, &tm, &millis);
    char *out = str_dup("");
    for (size_t i = 0; i < s->ntokens; i++) {
        const ts_token_t *t = &s->tokens[i];
        int n = t->count, h12 = tm.tm_hour % 12;
        switch (t->letter) {
        case 0: append(&out, "%s", t->text); break;
        case 'y':
            if (n == 2) append(&out, "%02d", (tm.tm_year + 1900) % 100);
            else append(&out, "%0*d", n, tm.tm_year + 1900);
            break;
        case 'M':
            if (n >= 4) append(&out, "%s", months[tm.tm_mon]);
            else if (n == 3) append(&out, "%.3s", months[tm.tm_mon]);
            else append(&out, "%0*d", n, tm.tm_mon + 1);
            break;
        case 'd': append(&out, "%0*d", n, tm.tm_mday); break;
        case 'D': append(&out, "%0*d", n, tm.tm_yday + 1); break;
        case 'H': append(&out, "%0*d", n, tm.tm_hour); break;
        case 'k': append(&out, "%0*d", n, tm.tm_hour ? tm.tm_hour : 24); break;
        case 'K': append(&out, "%0*d", n, h12); break;
        case 'h': append(&out, "%0*d", n, h12 ? h12 : 12); break;
        case 'm': append(&out, "%0*d", n, tm.tm_min); break;
        case 's': append(&out, "%0*d", n, tm.tm_sec); break;
        case 'S': append(&out, "%0*d", n, millis); break;
        case 'E': append(&out, n >= 4 ? "%s" : "%.3s", weekdays[tm.tm_wday]); break;
        case 'a': append(&out, "%s", tm.tm_hour < 12 ? "AM" : "PM"); break;
        case 'z': append(&out, "%s", n >= 4 ? "Coordinated Universal Time" : "UTC"); break;
        case 'Z': append(&out, "+0000"); break;
        default: append(&out, "Z"); break; /* X: ISO 8601 zone, Z for UTC */
        }
    }
    return out;
}

/* Days since 1970-01-01 of a proleptic Gregorian date; the month may be
 * out of 1..12 and the day out of the month (SimpleDateFormat is lenient). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y += (m - 1 >= 0 ? (m - 1) / 12 : -((12 - m) / 12));
    m = ((m - 1) % 12 + 12) % 12 + 1;
    if (m <= 2) y--;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* SimpleDateFormat reads "yy" within 80 years before and 20 after now. */
static int64_t two_digit_year(int64_t yy)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int64_t base = tm.tm_year + 1900 - 80, year = base - base % 100 + yy;
    return year < base ? year + 100 : year;
}

static int is_numeric_letter(char c) { return c && strchr("ydDHkKhmsSM", c) != NULL; }

/* Reads digits at *p: exactly width of them when width > 0, else as many as there are. */
static int read_number(const char **p, int width, int64_t *out)
{
    const char *q = *p;
    int64_t v = 0;
    int n = 0;
    while (isdigit((unsigned char)*q) && (width <= 0 || n < width) && n < 18) v = v * 10 + (*q++ - '0'), n++;
    if (n == 0 || (width > 0 && n < width)) return -1;
    *p = q;
    *out = v;
    return 0;
}

static int read_name(const char **p, const char *const *names, int count, int *index)
{
    for (int i = 0; i < count; i++) {
        size_t full = strlen(names[i]);
        if (strncasecmp(*p, names[i], full) == 0) return *index = i, *p += full, 0;
    }
    for (int i = 0; i < count; i++)
        if (strncasecmp(*p, names[i], 3) == 0) return *index = i, *p += 3, 0;
    return -1;
}

/* A zone: Z, UTC/GMT, or ±hh[[:]mm]; its offset in minutes. */
static int read_zone(const char **p, int64_t *minutes)
{
    const char *q = *p;
    *minutes = 0;
    if (*q == 'Z') return *p = q + 1, 0;
    if (!strncasecmp(q, "UTC", 3) || !strncasecmp(q, "GMT", 3)) q += 3;
    if (*q != '+' && *q != '-') return q != *p ? (*p = q, 0) : -1;
    int sign = *q++ == '-' ? -1 : 1;
    int64_t hh, mm = 0;
    if (read_number(&q, 2, &hh) != 0) return -1;
    if (*q == ':') q++;
    if (isdigit((unsigned char)*q) && read_number(&q, 2, &mm) != 0) return -1;
    *minutes = sign * (hh * 60 + mm);
    *p = q;
    return 0;
}

/* Parses text with the pattern into epoch milliseconds (trailing text is
 * ignored, as DateFormat.parse ignores it). */
static int parse_ms(const timestamp_converter_t *s, const char *text, int64_t *ms)
{
    int64_t year = 1970, month = 1, day = 1, yday = 0, hour = 0, min = 0, sec = 0, milli = 0, zone = 0, v;
    int pm = -1, idx;
    const char *p = text;
    for (size_t i = 0; i < s->ntokens; i++) {
        const ts_token_t *t = &s->tokens[i];
        int width = i + 1 < s->ntokens && is_numeric_letter(s->tokens[i + 1].letter) ? t->count : 0;
        if (!t->letter) {
            if (strncmp(p, t->text, strlen(t->text)) != 0) return -1;
            p += strlen(t->text);
        } else if (t->letter == 'M' && t->count >= 3) {
            if (read_name(&p, months, 12, &idx) != 0) return -1;
            month = idx + 1;
        } else if (t->letter == 'E') {
            if (read_name(&p, weekdays, 7, &idx) != 0) return -1;
        } else if (t->letter == 'a') {
            if (strncasecmp(p, "AM", 2) && strncasecmp(p, "PM", 2)) return -1;
            pm = toupper((unsigned char)*p) == 'P';
            p += 2;
        } else if (strchr("zZX", t->letter)) {
            if (read_zone(&p, &zone) != 0) return -1;
        } else {
            const char *start = p;
            if (read_number(&p, width, &v) != 0) return -1;
            switch (t->letter) {
            case 'y': year = t->count == 2 && p - start == 2 ? two_digit_year(v) : v; break;
            case 'M': month = v; break;
            case 'd': day = v; break;
            case 'D': yday = v; break;
            case 'H': case 'k': hour = t->letter == 'k' && v == 24 ? 0 : v; break;
            case 'h': case 'K': hour = v % 12; break;
            case 'm': min = v; break;
            case 's': sec = v; break;
            default: milli = v; break;
            }
        }
    }
    if (pm > 0 && hour < 12) hour += 12;
    int64_t days = yday ? days_from_civil(year, 1, yday) : days_from_civil(year, month, day);
    *ms = days * MS_PER_DAY + ((hour * 60 + min - zone) * 60 + sec) * 1000 + milli;
    return 0;
}

/* ---- options ------------------------------------------------------------------------------------ */

static int pick(const char *v, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) return (int)i;
    return -1;
}

static int blank(const char *v)
{
    while (v && *v && isspace((unsigned char)*v)) v++;
    return !v || !*v;
}

static void *timestamp_converter_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    static const char *const precisions[] = {"seconds", "milliseconds", "microseconds", "nanoseconds"};
    static const int64_t units[] = {1000000000, 1000000, 1000, 1};
    const char *target = xf_opt(o, "target.type"), *format = xf_opt(o, "format"), *field = xf_opt(o, "field");
    const char *precision = xf_opt(o, "unix.precision");
    int t = target ? pick(target, ts_type_names, 5) : -1, u = pick(precision ? precision : "milliseconds", precisions, 4);
    if (!target) {
        snprintf(err, errlen, "missing option 'target.type' (string, unix, Date, Time or Timestamp)");
        return NULL;
    }
    if (t < 0) {
        snprintf(err, errlen, "option 'target.type': '%s' is not one of string, unix, Date, Time, Timestamp", target);
        return NULL;
    }
    if (u < 0) {
        snprintf(err, errlen, "option 'unix.precision': '%s' is not one of seconds, milliseconds, microseconds, "
                 "nanoseconds", precision);
        return NULL;
    }
    if (t == TS_STRING && blank(format)) {
        snprintf(err, errlen, "option 'format' is required when target.type is string");
        return NULL;
    }
    timestamp_converter_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    s->field = str_dup(field ? field : "");
    s->target = (ts_type_t)t;
    s->unit = units[u];
    s->format = blank(format) ? NULL : str_dup(format);
    if ((s->format && compile_pattern(s, s->format, err, errlen) != 0) ||
        xf_opt_bool(o, "replace.null.with.default", 1, err, errlen) < 0) {
        timestamp_converter_free(s);
        return NULL;
    }
    return s;
}

/* ---- conversions -------------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* The type a schema says a timestamp is in; -1 with err. */
static int type_of_schema(const json_t *schema, char *err, size_t errlen)
{
    const char *name = xf_schema_name(schema), *type = xf_schema_type(schema);
    if (name && !strcmp(name, XF_LOGICAL_TIMESTAMP)) return TS_TIMESTAMP;
    if (name && !strcmp(name, XF_LOGICAL_DATE)) return TS_DATE;
    if (name && !strcmp(name, XF_LOGICAL_TIME)) return TS_TIME;
    if (!strcmp(type, "string")) return TS_STRING;
    if (!strcmp(type, "int64")) return TS_UNIX;
    snprintf(err, errlen, "schema of type %s%s%s is not a timestamp type (string, int64, Date, Time, Timestamp)", type,
             name ? " named " : "", name ? name : "");
    return -1;
}

/* What a schemaless timestamp is: an integer is Unix time, a string text. */
static int type_of_value(const json_t *v, char *err, size_t errlen)
{
    if (json_is_integer(v)) return TS_UNIX;
    if (json_is_string(v)) return TS_STRING;
    snprintf(err, errlen, "TimestampConverter does not support %s as a timestamp", xf_json_kind(v));
    return -1;
}

/* v (not null) of type `from`, as epoch milliseconds; -1 with err. */
static int to_ms(const timestamp_converter_t *s, const json_t *v, int from, int64_t *ms, char *err, size_t errlen)
{
    if (from == TS_STRING) {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "expected a string timestamp, found %s", xf_json_kind(v));
            return -1;
        }
        if (!s->format) {
            snprintf(err, errlen, "a string timestamp needs the option 'format' to be read");
            return -1;
        }
        if (parse_ms(s, json_string_value(v), ms) != 0) {
            snprintf(err, errlen, "could not parse timestamp: value (%s) does not match pattern (%s)",
                     json_string_value(v), s->format);
            return -1;
        }
        return 0;
    }
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "expected an integer %s timestamp, found %s", ts_type_names[from], xf_json_kind(v));
        return -1;
    }
    int64_t n = json_integer_value(v);
    if (from == TS_DATE) *ms = n * MS_PER_DAY;
    else if (from != TS_UNIX) *ms = n;
    else if (s->unit >= 1000000) *ms = n * (s->unit / 1000000); /* TimeUnit.toMillis truncates toward zero */
    else *ms = n / (1000000 / s->unit);
    return 0;
}

static json_t *from_ms(const timestamp_converter_t *s, int64_t ms)
{
    switch (s->target) {
    case TS_STRING: {
        char *text = format_ms(s, ms);
        json_t *j = json_string(text);
        free(text);
        return j;
    }
    case TS_UNIX: return json_integer(s->unit >= 1000000 ? ms / (s->unit / 1000000) : ms * (1000000 / s->unit));
    case TS_DATE: return json_integer(floor_div(ms, MS_PER_DAY));
    case TS_TIME: return json_integer(ms - floor_div(ms, MS_PER_DAY) * MS_PER_DAY);
    default: return json_integer(ms);
    }
}

/* The schemaless form of Date and Time: epoch milliseconds (see the top). */
static json_t *from_ms_schemaless(const timestamp_converter_t *s, int64_t ms)
{
    if (s->target == TS_DATE) return json_integer(floor_div(ms, MS_PER_DAY) * MS_PER_DAY);
    if (s->target == TS_TIME) return json_integer(ms - floor_div(ms, MS_PER_DAY) * MS_PER_DAY);
    return from_ms(s, ms);
}

/* v converted; from < 0: inferred (schemaless). NULL with err. */
static json_t *convert(const timestamp_converter_t *s, const json_t *v, int from, char *err, size_t errlen)
{
    int schemaless = from < 0;
    if (schemaless && (from = type_of_value(v, err, errlen)) < 0) return NULL;
    int64_t ms;
    if (to_ms(s, v, from, &ms, err, errlen) != 0) return NULL;
    return schemaless ? from_ms_schemaless(s, ms) : from_ms(s, ms);
}

/* The target type's schema, as Connect's Date/Time/Timestamp builders write it. */
static json_t *target_schema(const timestamp_converter_t *s, int optional)
{
    static const char *const types[] = {"string", "int64", "int32", "int32", "int64"};
    static const char *const names[] = {NULL, NULL, XF_LOGICAL_DATE, XF_LOGICAL_TIME, XF_LOGICAL_TIMESTAMP};
    json_t *schema = xf_schema_primitive(types[s->target], optional);
    if (names[s->target]) {
        json_object_set_new(schema, "name", json_string(names[s->target]));
        json_object_set_new(schema, "version", json_integer(1));
    }
    return schema;
}

/* ---- records ------------------------------------------------------------------------------------ */

static xf_result_t apply_schemaless(timestamp_converter_t *s, xf_data_t *d, char *err, size_t errlen)
{
    if (!d->value) return XF_KEEP;
    json_t *out;
    if (!*s->field) {
        if (!(out = convert(s, d->value, -1, err, errlen))) return XF_FAIL;
    } else {
        if (!xf_require_map(d, "converting timestamp formats", err, errlen)) return XF_FAIL;
        json_t *v = json_object_get(d->value, s->field), *c = json_null();
        if (v && !json_is_null(v) && !(c = convert(s, v, -1, err, errlen))) return XF_FAIL;
        out = json_deep_copy(d->value);
        json_object_set_new(out, s->field, c); /* Connect puts the field, null when it was missing */
    }
    xf_data_set(d, out, NULL);
    return XF_KEEP;
}

/* A struct value (or default) with the field converted; NULL with err. */
static json_t *convert_struct(timestamp_converter_t *s, const json_t *schema, const json_t *value, char *err,
                              size_t errlen)
{
    json_t *out = json_object(), *f;
    size_t i;
    json_array_foreach(json_object_get(schema, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        json_t *v = xf_struct_get(value, f);
        if (name && !strcmp(name, s->field) && v) {
            int from = type_of_schema(f, err, errlen);
            if (from < 0 || !(v = convert(s, v, from, err, errlen))) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, name, v);
        } else {
            json_object_set(out, name, v ? v : json_null());
        }
    }
    return out;
}

static xf_result_t apply_schema(timestamp_converter_t *s, xf_data_t *d, char *err, size_t errlen)
{
    json_t *out = NULL, *schema;
    if (!*s->field) {
        int from = type_of_schema(d->schema, err, errlen);
        if (from < 0 || (d->value && !(out = convert(s, d->value, from, err, errlen)))) return XF_FAIL;
        xf_data_set(d, out, target_schema(s, xf_schema_optional(d->schema)));
        return XF_KEEP;
    }
    if (xf_require_struct(d, "converting timestamp formats", 1, err, errlen) != 0) return XF_FAIL;
    schema = xf_schema_basics(d->schema, "struct");
    json_object_set_new(schema, "fields", json_array());
    json_object_set_new(schema, "optional", json_boolean(xf_schema_optional(d->schema)));
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(d->schema, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        int ours = name && !strcmp(name, s->field);
        xf_schema_append(schema, name, ours ? target_schema(s, xf_schema_optional(f)) : xf_schema_of_field(f));
    }
    json_t *dflt = json_object_get(d->schema, "default");
    if (json_is_object(dflt)) {
        json_t *c = convert_struct(s, d->schema, dflt, err, errlen);
        if (!c) goto fail;
        json_object_set_new(schema, "default", c);
    }
    if (d->value && !(out = convert_struct(s, d->schema, d->value, err, errlen))) goto fail;
    xf_data_set(d, out, xf_schema_ordered(schema));
    return XF_KEEP;
fail:
    json_decref(schema);
    return XF_FAIL;
}

static xf_result_t timestamp_converter_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    timestamp_converter_t *s = state;
    xf_data_t *d = xf_side_data(r, s->side);
    if (xf_data_parse(d, err, errlen) != 0) return XF_FAIL;
    return d->schema ? apply_schema(s, d, err, errlen) : apply_schemaless(s, d, err, errlen);
}

#define CONNECT_PKG "org.apache.kafka.connect.transforms."

const xf_type_t xf_timestamp_converter_key = {"TimestampConverter$Key", CONNECT_PKG, XF_SIDE_KEY,
                                              timestamp_converter_options, timestamp_converter_init,
                                              timestamp_converter_apply, timestamp_converter_free};
const xf_type_t xf_timestamp_converter_value = {"TimestampConverter$Value", CONNECT_PKG, XF_SIDE_VALUE,
                                                timestamp_converter_options, timestamp_converter_init,
                                                timestamp_converter_apply, timestamp_converter_free};
