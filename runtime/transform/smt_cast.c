/*
 * smt_cast.c — Connect's Cast$Key and Cast$Value: fields of a struct or a
 * map, or the whole key or value, cast to int8..int64, float32, float64,
 * boolean or string, with the schema updated as Connect updates it.
 *
 * Numbers convert as Java's Number.xxxValue() does (integers wrap to the
 * narrower width, floating-point values saturate to int first), strings
 * parse as Java's Integer.parseInt / Double.parseDouble / Boolean.parseBoolean,
 * and numbers print as Java's toString, because those are what Connect runs.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "transform/transform_internal.h"
#include "util/strutil.h"

typedef enum cast_type { CT_INT8, CT_INT16, CT_INT32, CT_INT64, CT_FLOAT32, CT_FLOAT64, CT_BOOLEAN, CT_STRING } cast_type_t;

static const char *const cast_names[] = {"int8", "int16", "int32", "int64", "float32", "float64", "boolean", "string"};
#define CAST_TARGETS "int8, int16, int32, int64, float32, float64, boolean, string"

typedef struct cast {
    xf_side_t side;
    int whole;             /* one type for the whole key or value */
    cast_type_t whole_type;
    char **fields;         /* field casts: names and their types */
    cast_type_t *types;
    size_t n;
} cast_t;

static const char *const cast_options[] = {"spec", "replace.null.with.default", NULL};

static void cast_free(void *state)
{
    cast_t *s = state;
    xf_list_free(s->fields, s->n);
    free(s->types);
    free(s);
}

/* A type of the spec (Connect's Schema.Type names, any case); -1 with err. */
static int cast_type_parse(const char *name, char *err, size_t errlen)
{
    char t[32];
    size_t len = strlen(name);
    while (len && isspace((unsigned char)name[len - 1])) len--;
    while (len && isspace((unsigned char)*name)) name++, len--;
    snprintf(t, sizeof(t), "%.*s", (int)len, name);
    for (size_t i = 0; i < sizeof(cast_names) / sizeof(cast_names[0]); i++)
        if (strcasecmp(t, cast_names[i]) == 0) return (int)i;
    static const char *const other[] = {"bytes", "array", "map", "struct", NULL};
    for (const char *const *o = other; *o; o++) {
        if (strcasecmp(t, *o) == 0) {
            snprintf(err, errlen, "option 'spec': Cast does not support casting to %s; supported types are " CAST_TARGETS,
                     *o);
            return -1;
        }
    }
    snprintf(err, errlen, "option 'spec': invalid type '%s' (" CAST_TARGETS ")", t);
    return -1;
}

/* One item of the spec: "type" or "field:type" (Java's split(":") drops
 * trailing empty parts, so "f:" is the type "f"). */
static int cast_spec_item(cast_t *s, const char *item, size_t nitems, char *err, size_t errlen)
{
    size_t len = strlen(item);
    while (len && item[len - 1] == ':') len--;
    char *it = str_printf("%.*s", (int)len, item), *colon = strchr(it, ':');
    int rc = -1;
    if (colon && strchr(colon + 1, ':')) {
        snprintf(err, errlen, "option 'spec': invalid cast mapping '%s' (want field:type or one type)", item);
    } else if (!colon) {
        int t = cast_type_parse(it, err, errlen);
        if (t >= 0 && nitems > 1)
            snprintf(err, errlen, "option 'spec': a cast of the whole value (a type alone) must be the only cast");
        else if (t >= 0)
            s->whole = 1, s->whole_type = (cast_type_t)t, rc = 0;
    } else {
        *colon = '\0';
        int t = cast_type_parse(colon + 1, err, errlen);
        if (t >= 0) {
            char **one;
            xf_opts_t fake = {.keys = (const char *const[]){"f"}, .values = (const char *const[]){it}, .count = 1};
            xf_opt_list(&fake, "f", &one); /* trimmed as Connect trims */
            s->fields = xrealloc(s->fields, (s->n + 1) * sizeof(char *));
            s->types = xrealloc(s->types, (s->n + 1) * sizeof(cast_type_t));
            s->fields[s->n] = one ? one[0] : str_dup("");
            s->types[s->n++] = (cast_type_t)t;
            free(one);
            rc = 0;
        }
    }
    free(it);
    return rc;
}

static void *cast_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    cast_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    char **items;
    size_t n = xf_opt_list(o, "spec", &items);
    int rc = n ? 0 : -1;
    if (!n) snprintf(err, errlen, "option 'spec' needs at least one cast (field:type,... or one type)");
    for (size_t i = 0; i < n && rc == 0; i++) rc = cast_spec_item(s, items[i], n, err, errlen);
    xf_list_free(items, n);
    if (rc == 0 && xf_opt_bool(o, "replace.null.with.default", 1, err, errlen) < 0) rc = -1;
    if (rc != 0) {
        cast_free(s);
        return NULL;
    }
    return s;
}

/* ---- Java's number conversions and printing ----------------------------------------------------- */

/* Java's (int) and (long) of a double: NaN is 0, out of range saturates. */
static int64_t java_d2l(double x)
{
    if (isnan(x)) return 0;
    if (x >= 9223372036854775807.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
}

static int32_t java_d2i(double x)
{
    if (isnan(x)) return 0;
    if (x >= 2147483647.0) return INT32_MAX;
    if (x <= -2147483648.0) return INT32_MIN;
    return (int32_t)x;
}

/* Java's Double.toString / Float.toString: the shortest digits that read
 * back as the same value, plain for 1e-3 <= |x| < 1e7, else d.dddE±n. */
static char *java_float_string(double x, int is_float)
{
    if (isnan(x)) return str_dup("NaN");
    if (isinf(x)) return str_dup(x > 0 ? "Infinity" : "-Infinity");
    if (x == 0) return str_dup(signbit(x) ? "-0.0" : "0.0");
    char buf[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, x);
        double back = strtod(buf, NULL);
        if (is_float ? (float)back == (float)x : back == x) break;
    }
    /* buf: [-]d[.ddd]e±XX */
    int neg = buf[0] == '-';
    char digits[32];
    size_t nd = 0;
    const char *p = buf + neg;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p)) digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';
    double ax = fabs(x);
    if (ax >= 1e-3 && ax < 1e7) {
        if (exp >= 0) {
            char ip[32], fp[32];
            size_t ni = (size_t)exp + 1;
            for (size_t i = 0; i < ni; i++) ip[i] = i < nd ? digits[i] : '0';
            ip[ni] = '\0';
            snprintf(fp, sizeof(fp), "%s", nd > ni ? digits + ni : "0");
            return str_printf("%s%s.%s", neg ? "-" : "", ip, fp);
        }
        char zeros[32];
        size_t nz = (size_t)(-exp - 1);
        memset(zeros, '0', nz);
        zeros[nz] = '\0';
        return str_printf("%s0.%s%s", neg ? "-" : "", zeros, digits);
    }
    return str_printf("%s%c.%sE%d", neg ? "-" : "", digits[0], nd > 1 ? digits + 1 : "0", exp);
}

/* Java's Long.parseLong: an optional sign and decimal digits, nothing else. */
static int java_parse_long(const char *str, int64_t min, int64_t max, int64_t *out)
{
    const char *p = str;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return -1;
    errno = 0;
    long long v = strtoll(str, NULL, 10);
    if (errno || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* Java's Double.parseDouble: surrounding blanks allowed, an f/F/d/D suffix,
 * NaN and Infinity spelled so. */
static int java_parse_double(const char *str, double *out)
{
    while (*str && (unsigned char)*str <= ' ') str++;
    size_t len = strlen(str);
    while (len && (unsigned char)str[len - 1] <= ' ') len--;
    char *t = str_printf("%.*s", (int)len, str);
    const char *body = t + (t[0] == '+' || t[0] == '-');
    int rc = -1;
    if (!strcmp(body, "NaN") || !strcmp(body, "Infinity")) {
        *out = !strcmp(body, "NaN") ? NAN : t[0] == '-' ? -INFINITY : INFINITY;
        rc = 0;
    } else if (len && (isdigit((unsigned char)*body) || *body == '.')) {
        if (strchr("fFdD", t[len - 1])) t[--len] = '\0';
        char *end;
        *out = strtod(t, &end);
        rc = len && !*end ? 0 : -1;
    }
    free(t);
    return rc;
}

/* ---- one value ---------------------------------------------------------------------------------- */

/* What Connect's Values.dateFormatFor gives a Date, Time or Timestamp. */
static json_t *date_string(int64_t ms)
{
    const int64_t day = 86400000;
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[64];
    int millis = (int)(ms - secs * 1000);
    if (ms < day)
        snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%03dZ", tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    else if (ms % day == 0)
        snprintf(buf, sizeof(buf), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    else
        snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return json_string(buf);
}

static const char *inferred_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER: return "int64";
    case JSON_REAL: return "float64";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    default: return "map";
    }
}

static json_t *cast_integer(int64_t n, cast_type_t to)
{
    switch (to) {
    case CT_INT8: return json_integer((int8_t)n);
    case CT_INT16: return json_integer((int16_t)n);
    case CT_INT32: return json_integer((int32_t)n);
    case CT_INT64: return json_integer(n);
    case CT_FLOAT32: return json_real((float)n);
    case CT_FLOAT64: return json_real((double)n);
    case CT_BOOLEAN: return json_boolean(n != 0);
    default: {
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld", (long long)n);
        return json_string(buf);
    }
    }
}

static json_t *cast_double(double x, int is_float, cast_type_t to)
{
    switch (to) {
    case CT_INT8: return json_integer((int8_t)java_d2i(x));
    case CT_INT16: return json_integer((int16_t)java_d2i(x));
    case CT_INT32: return json_integer(java_d2i(x));
    case CT_INT64: return json_integer(java_d2l(x));
    case CT_FLOAT32: return json_real((float)x);
    case CT_FLOAT64: return json_real(x);
    case CT_BOOLEAN: return json_boolean(java_d2l(x) != 0);
    default: {
        char *t = java_float_string(x, is_float);
        json_t *j = json_string(t);
        free(t);
        return j;
    }
    }
}

static json_t *cast_string(const char *str, cast_type_t to, char *err, size_t errlen)
{
    static const int64_t lim[][2] = {{INT8_MIN, INT8_MAX}, {INT16_MIN, INT16_MAX}, {INT32_MIN, INT32_MAX},
                                     {INT64_MIN, INT64_MAX}};
    int64_t n;
    double x;
    if (to <= CT_INT64) {
        if (java_parse_long(str, lim[to][0], lim[to][1], &n) == 0) return json_integer(n);
    } else if (to <= CT_FLOAT64) {
        if (java_parse_double(str, &x) == 0) return json_real(to == CT_FLOAT32 ? (float)x : x);
    } else {
        return to == CT_BOOLEAN ? json_boolean(strcasecmp(str, "true") == 0) : json_string(str);
    }
    snprintf(err, errlen, "value '%s' is not a number or out of range for %s", str, cast_names[to]);
    return NULL;
}

/* v (not null) cast to `to`; schema is its schema, or NULL (schemaless). */
static json_t *cast_value(const json_t *schema, const json_t *v, cast_type_t to, char *err, size_t errlen)
{
    const char *type = schema ? xf_schema_type(schema) : inferred_type(v), *name = xf_schema_name(schema);
    static const char *const inputs[] = {"int8", "int16", "int32",   "int64",  "float32",
                                         "float64", "boolean", "string", "bytes", NULL};
    const char *const *in = inputs;
    while (*in && strcmp(*in, type) != 0) in++;
    if (!*in) {
        snprintf(err, errlen, "Cast does not support casting from %s; supported types are int8, int16, int32, int64, "
                 "float32, float64, boolean, string, bytes", type);
        return NULL;
    }
    if (name && strcmp(name, XF_LOGICAL_DECIMAL) == 0) {
        snprintf(err, errlen, "Cast of a Decimal is not supported by ferry");
        return NULL;
    }
    json_t *out = NULL;
    int is_date = name && (!strcmp(name, XF_LOGICAL_DATE) || !strcmp(name, XF_LOGICAL_TIME) ||
                           !strcmp(name, XF_LOGICAL_TIMESTAMP));
    if (is_date && to == CT_STRING && json_is_integer(v)) {
        int64_t n = json_integer_value(v);
        return date_string(strcmp(name, XF_LOGICAL_DATE) == 0 ? n * 86400000 : n);
    }
    if (!strcmp(type, "bytes")) {
        if (to == CT_STRING && json_is_string(v)) return json_string(json_string_value(v)); /* base64 already */
        snprintf(err, errlen, "bytes can only be cast to string (base64), not to %s", cast_names[to]);
        return NULL;
    }
    if (json_is_boolean(v)) {
        out = to == CT_STRING ? json_string(json_is_true(v) ? "true" : "false") : cast_integer(json_is_true(v), to);
    } else if (json_is_string(v)) {
        out = cast_string(json_string_value(v), to, err, errlen);
        if (!out) return NULL;
    } else if (json_is_integer(v) && strncmp(type, "float", 5) != 0) {
        out = cast_integer(json_integer_value(v), to);
    } else if (json_is_number(v)) {
        double x = json_number_value(v);
        if (!strcmp(type, "float32")) x = (float)x;
        out = cast_double(x, !strcmp(type, "float32"), to);
    } else {
        snprintf(err, errlen, "%s does not match its schema type %s", xf_json_kind(v), type);
        return NULL;
    }
    if (!out) snprintf(err, errlen, "the result of casting to %s is not representable in JSON", cast_names[to]);
    return out;
}

/* ---- schemas and records ------------------------------------------------------------------------ */

/* A cast field's schema: the bare target type, optional as before, its
 * default cast too (Connect's convertFieldType; name and doc are dropped). */
static json_t *cast_field_schema(const json_t *field, cast_type_t to, char *err, size_t errlen)
{
    json_t *fs = xf_schema_primitive(cast_names[to], xf_schema_optional(field));
    json_t *dflt = json_object_get(field, "default");
    if (dflt && !json_is_null(dflt)) {
        json_t *c = cast_value(field, dflt, to, err, errlen);
        if (!c) {
            json_decref(fs);
            return NULL;
        }
        json_object_set_new(fs, "default", c);
    }
    return fs;
}

static int cast_index(const cast_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->fields[i], name) == 0) return (int)i;
    return -1;
}

static xf_result_t cast_fields_schemaless(cast_t *s, xf_data_t *d, char *err, size_t errlen)
{
    if (!xf_require_map(d, "cast types", err, errlen)) return XF_FAIL;
    json_t *out = json_deep_copy(d->value);
    for (size_t i = 0; i < s->n; i++) {
        json_t *v = json_object_get(d->value, s->fields[i]), *c = json_null();
        if (v && !json_is_null(v) && !(c = cast_value(NULL, v, s->types[i], err, errlen))) {
            json_decref(out);
            return XF_FAIL;
        }
        json_object_set_new(out, s->fields[i], c); /* Connect puts every listed field */
    }
    xf_data_set(d, out, NULL);
    return XF_KEEP;
}

static xf_result_t cast_fields_schema(cast_t *s, xf_data_t *d, char *err, size_t errlen)
{
    if (xf_require_struct(d, "cast types", 0, err, errlen) != 0) return XF_FAIL;
    json_t *schema = xf_schema_basics(d->schema, "struct"), *out = json_object(), *f;
    json_object_set_new(schema, "fields", json_array());
    json_object_set_new(schema, "optional", json_boolean(xf_schema_optional(d->schema)));
    size_t i;
    json_array_foreach(json_object_get(d->schema, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        int k = name ? cast_index(s, name) : -1;
        json_t *v = xf_struct_get(d->value, f), *fs = k < 0 ? xf_schema_of_field(f) : NULL;
        if (k >= 0 && !(fs = cast_field_schema(f, s->types[k], err, errlen))) goto fail;
        if (k >= 0 && v && !(v = cast_value(f, v, s->types[k], err, errlen))) {
            snprintf(err + strlen(err), errlen - strlen(err), " (field '%s')", name);
            json_decref(fs);
            goto fail;
        } else if (k >= 0 || !v) {
            json_object_set_new(out, name, v ? v : json_null());
        } else {
            json_object_set(out, name, v);
        }
        xf_schema_append(schema, name, fs);
    }
    xf_data_set(d, out, xf_schema_ordered(schema));
    return XF_KEEP;
fail:
    json_decref(schema);
    json_decref(out);
    return XF_FAIL;
}

/* The whole key or value: its schema keeps name, version, doc and
 * parameters (copySchemaBasics) with the new type. */
static xf_result_t cast_whole(cast_t *s, xf_data_t *d, char *err, size_t errlen)
{
    json_t *v = cast_value(d->schema, d->value, s->whole_type, err, errlen), *schema = NULL;
    if (!v) return XF_FAIL;
    if (d->schema) {
        schema = xf_schema_basics(d->schema, cast_names[s->whole_type]);
        json_object_set_new(schema, "optional", json_boolean(xf_schema_optional(d->schema)));
        json_t *dflt = json_object_get(d->schema, "default");
        if (dflt && !json_is_null(dflt)) {
            json_t *c = cast_value(d->schema, dflt, s->whole_type, err, errlen);
            if (!c) {
                json_decref(v);
                json_decref(schema);
                return XF_FAIL;
            }
            json_object_set_new(schema, "default", c);
        }
        schema = xf_schema_ordered(schema);
    }
    xf_data_set(d, v, schema);
    return XF_KEEP;
}

static xf_result_t cast_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    cast_t *s = state;
    xf_data_t *d = xf_side_data(r, s->side);
    if (xf_data_parse(d, err, errlen) != 0) return XF_FAIL;
    if (!d->value) return XF_KEEP;
    if (s->whole) return cast_whole(s, d, err, errlen);
    return d->schema ? cast_fields_schema(s, d, err, errlen) : cast_fields_schemaless(s, d, err, errlen);
}

#define CONNECT_PKG "org.apache.kafka.connect.transforms."

const xf_type_t xf_cast_key = {"Cast$Key", CONNECT_PKG, XF_SIDE_KEY, cast_options, cast_init, cast_apply, cast_free};
const xf_type_t xf_cast_value = {"Cast$Value", CONNECT_PKG, XF_SIDE_VALUE, cast_options,
                                 cast_init,    cast_apply,  cast_free};
