/*
 * smt_fields.c — Connect's transforms of a key's or a value's fields, with
 * their names and options, schemaless (JSON objects) and with a schema
 * (JsonConverter's schema JSON, updated as Connect updates it): InsertField,
 * ReplaceField, MaskField, ValueToKey, ExtractField, HoistField,
 * SetSchemaMetadata and Flatten here; Cast (smt_cast.c) and
 * TimestampConverter (smt_timestamp.c) are listed here too.
 *
 * Where Connect's behaviour is surprising (MaskField failing on a
 * tombstone, ReplaceField's new schema never optional), it is kept: a
 * pipeline moved from Connect must give the same records.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transform/transform_internal.h"
#include "util/strutil.h"

#define CONNECT_PKG "org.apache.kafka.connect.transforms."

/* ---- InsertField ------------------------------------------------------------------------------ */

typedef struct insert_field {
    xf_side_t side;
    /* name (without its ! or ? suffix) and whether the schema field is optional */
    char *topic, *partition, *offset, *timestamp, *stat;
    int topic_opt, partition_opt, offset_opt, timestamp_opt, stat_opt;
    char *static_value;
} insert_field_t;

static const char *const insert_field_options[] = {"topic.field", "partition.field", "offset.field",
                                                   "timestamp.field", "static.field", "static.value", NULL};

/* "name!" (required) or "name?" / "name" (optional). */
static char *field_spec(const char *v, int *optional)
{
    if (!v || !*v) return NULL;
    size_t n = strlen(v);
    *optional = v[n - 1] != '!';
    if (v[n - 1] == '!' || v[n - 1] == '?') n--;
    return str_printf("%.*s", (int)n, v);
}

static void insert_field_free(void *state)
{
    insert_field_t *s = state;
    free(s->topic);
    free(s->partition);
    free(s->offset);
    free(s->timestamp);
    free(s->stat);
    free(s->static_value);
    free(s);
}

static void *insert_field_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    insert_field_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    s->topic = field_spec(xf_opt(o, "topic.field"), &s->topic_opt);
    s->partition = field_spec(xf_opt(o, "partition.field"), &s->partition_opt);
    s->offset = field_spec(xf_opt(o, "offset.field"), &s->offset_opt);
    s->timestamp = field_spec(xf_opt(o, "timestamp.field"), &s->timestamp_opt);
    s->stat = field_spec(xf_opt(o, "static.field"), &s->stat_opt);
    const char *sv = xf_opt(o, "static.value");
    s->static_value = sv ? str_dup(sv) : NULL;
    if (s->offset && !o->sink) {
        /* Connect fails each record (a SourceRecord has no Kafka offset);
         * here the config is refused. */
        snprintf(err, errlen, "offset.field is for sink connectors only (a source record has no Kafka offset yet)");
        insert_field_free(s);
        return NULL;
    }
    if (s->stat && !s->static_value) {
        snprintf(err, errlen, "static.field needs static.value");
        insert_field_free(s);
        return NULL;
    }
    if (!s->topic && !s->partition && !s->offset && !s->timestamp && !s->stat) {
        snprintf(err, errlen, "no field to insert (topic.field, partition.field, offset.field, timestamp.field or "
                 "static.field)");
        insert_field_free(s);
        return NULL;
    }
    return s;
}

/* Appends a field to a struct schema (a copy of it). */
static void schema_add_field(json_t *schema, const char *name, json_t *field_schema)
{
    json_t *fields = json_object_get(schema, "fields");
    if (!json_is_array(fields)) json_object_set_new(schema, "fields", fields = json_array());
    json_object_set_new(field_schema, "field", json_string(name));
    json_array_append_new(fields, field_schema);
}

/* A struct schema with "type" and "fields" first, as Connect writes one. */
static json_t *schema_copy(const json_t *schema)
{
    json_t *c = json_object();
    json_object_set(c, "type", json_object_get(schema, "type"));
    json_object_set_new(c, "fields", json_deep_copy(json_object_get(schema, "fields")));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)schema, key, v) {
        if (strcmp(key, "type") && strcmp(key, "fields")) json_object_set(c, key, v);
    }
    return c;
}

static xf_result_t insert_field_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    insert_field_t *s = state;
    int null = 0;
    json_t *obj = xf_side_object(r, s->side, &null, "InsertField", err, errlen);
    if (null) return XF_KEEP; /* a tombstone passes as it is */
    if (!obj) return XF_FAIL;
    xf_data_t *d = xf_side_data(r, s->side);
    json_t *out = json_copy(obj); /* top-level fields are added: the rest is shared */
    json_t *schema = NULL;
    if (d->schema) {
        if (!json_is_object(d->schema) ||
            strcmp(json_string_value(json_object_get(d->schema, "type")) ?: "", "struct") != 0) {
            snprintf(err, errlen, "InsertField with a schema needs a struct schema");
            json_decref(out);
            return XF_FAIL;
        }
        schema = schema_copy(d->schema);
    }
    if (s->topic) {
        json_object_set_new(out, s->topic, json_string(r->topic));
        if (schema) schema_add_field(schema, s->topic, xf_schema_primitive("string", s->topic_opt));
    }
    if (s->partition) {
        json_object_set_new(out, s->partition, r->partition >= 0 ? json_integer(r->partition) : json_null());
        if (schema) schema_add_field(schema, s->partition, xf_schema_primitive("int32", s->partition_opt));
    }
    if (s->offset) {
        json_object_set_new(out, s->offset, json_integer(r->kafka_offset));
        if (schema) schema_add_field(schema, s->offset, xf_schema_primitive("int64", s->offset_opt));
    }
    if (s->timestamp) {
        json_object_set_new(out, s->timestamp, r->timestamp_ms > 0 ? json_integer(r->timestamp_ms) : json_null());
        if (schema)
            schema_add_field(schema, s->timestamp,
                             json_pack("{s:s, s:b, s:s, s:i}", "type", "int64", "optional", s->timestamp_opt, "name",
                                       "org.apache.kafka.connect.data.Timestamp", "version", 1));
    }
    if (s->stat) {
        json_object_set_new(out, s->stat, json_string(s->static_value));
        if (schema) schema_add_field(schema, s->stat, xf_schema_primitive("string", s->stat_opt));
    }
    xf_data_set(d, out, schema);
    return XF_KEEP;
}

static const xf_type_t insert_field_key = {"InsertField$Key", CONNECT_PKG, XF_SIDE_KEY, insert_field_options,
                                           insert_field_init, insert_field_apply, insert_field_free};
static const xf_type_t insert_field_value = {"InsertField$Value", CONNECT_PKG, XF_SIDE_VALUE, insert_field_options,
                                             insert_field_init, insert_field_apply, insert_field_free};

/* ---- shared by the transforms below ---------------------------------------------------------- */

/* The side's data, parsed; NULL with err when its bytes are not readable. */
static xf_data_t *side_parsed(xf_record_t *r, xf_side_t side, char *err, size_t errlen)
{
    xf_data_t *d = xf_side_data(r, side);
    return xf_data_parse(d, err, errlen) == 0 ? d : NULL;
}

/* Connect's replace.null.with.default: accepted; defaults are applied as
 * Struct.get applies them (xf_struct_get) either way. */
static int check_null_default(const xf_opts_t *o, char *err, size_t errlen)
{
    return xf_opt_bool(o, "replace.null.with.default", 1, err, errlen) < 0 ? -1 : 0;
}

static int list_has(char *const *items, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i], name) == 0) return 1;
    return 0;
}

/* A required, non-empty list option (Connect's NonEmptyListValidator). */
static size_t required_list(const xf_opts_t *o, const char *key, char ***items, char *err, size_t errlen)
{
    size_t n = xf_opt_list(o, key, items);
    if (n == 0) snprintf(err, errlen, "option '%s' needs at least one field name", key);
    return n;
}

/* A struct value for schema: every field of it, in its order, null where
 * value has none. */
static json_t *struct_fill(const json_t *schema, json_t *value)
{
    json_t *out = json_object(), *f;
    size_t i;
    json_array_foreach(json_object_get(schema, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        json_t *v = json_object_get(value, name);
        json_object_set(out, name, v ? v : json_null());
    }
    json_decref(value);
    return out;
}

/* ---- ReplaceField: keep, drop and rename fields ------------------------------------------------ */

typedef struct replace_field {
    xf_side_t side;
    char **exclude, **include, **from, **to;
    size_t nexclude, ninclude, nrenames;
} replace_field_t;

static const char *const replace_field_options[] = {"exclude", "include", "renames", "blacklist", "whitelist",
                                                    "replace.null.with.default", NULL};

static void replace_field_free(void *state)
{
    replace_field_t *s = state;
    xf_list_free(s->exclude, s->nexclude);
    xf_list_free(s->include, s->ninclude);
    xf_list_free(s->from, s->nrenames);
    xf_list_free(s->to, s->nrenames);
    free(s);
}

/* "old:new" pairs; Java's split(":") drops a trailing empty part, so
 * "a:" is as invalid as "a" and "a:b:c". */
static int parse_renames(replace_field_t *s, const xf_opts_t *o, char *err, size_t errlen)
{
    char **items;
    size_t n = xf_opt_list(o, "renames", &items);
    s->from = xcalloc(n + 1, sizeof(char *));
    s->to = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(items[i], ':');
        if (!colon || !colon[1] || strchr(colon + 1, ':')) {
            snprintf(err, errlen, "option 'renames': invalid rename mapping '%s' (want old:new)", items[i]);
            xf_list_free(items, n);
            return -1;
        }
        s->from[s->nrenames] = str_printf("%.*s", (int)(colon - items[i]), items[i]);
        s->to[s->nrenames++] = str_dup(colon + 1);
    }
    xf_list_free(items, n);
    return 0;
}

static void *replace_field_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    replace_field_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    /* blacklist and whitelist are the names Connect used before 2.7 (gone in 4.0). */
    s->nexclude = xf_opt_list(o, xf_opt(o, "exclude") ? "exclude" : "blacklist", &s->exclude);
    s->ninclude = xf_opt_list(o, xf_opt(o, "include") ? "include" : "whitelist", &s->include);
    if (parse_renames(s, o, err, errlen) != 0 || check_null_default(o, err, errlen) != 0) {
        replace_field_free(s);
        return NULL;
    }
    return s;
}

static int replace_keeps(const replace_field_t *s, const char *name)
{
    return !list_has(s->exclude, s->nexclude, name) && (s->ninclude == 0 || list_has(s->include, s->ninclude, name));
}

static const char *replace_renamed(const replace_field_t *s, const char *name)
{
    for (size_t i = 0; i < s->nrenames; i++)
        if (strcmp(s->from[i], name) == 0) return s->to[i];
    return name;
}

static xf_result_t replace_field_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    replace_field_t *s = state;
    xf_data_t *d = side_parsed(r, s->side, err, errlen);
    if (!d) return XF_FAIL;
    if (!d->value) return XF_KEEP;
    if (!d->schema) {
        json_t *in = xf_require_map(d, "field replacement", err, errlen), *v, *out;
        const char *key;
        if (!in) return XF_FAIL;
        out = json_object();
        json_object_foreach(in, key, v) {
            if (replace_keeps(s, key)) json_object_set(out, replace_renamed(s, key), v);
        }
        xf_data_set(d, out, NULL);
        return XF_KEEP;
    }
    if (xf_require_struct(d, "field replacement", 0, err, errlen) != 0) return XF_FAIL;
    /* Connect builds the new schema from copySchemaBasics: it is not optional. */
    json_t *schema = xf_schema_basics(d->schema, "struct"), *out = json_object(), *f;
    json_object_set_new(schema, "fields", json_array());
    size_t i;
    json_array_foreach(json_object_get(d->schema, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "field"));
        if (!name || !replace_keeps(s, name)) continue;
        json_t *v = xf_struct_get(d->value, f);
        json_object_set(out, replace_renamed(s, name), v ? v : json_null());
        xf_schema_append(schema, replace_renamed(s, name), xf_schema_of_field(f));
    }
    xf_data_set(d, out, xf_schema_ordered(schema));
    return XF_KEEP;
}

/* ---- MaskField: a field's value replaced by its type's empty value ------------------------------- */

typedef struct mask_field {
    xf_side_t side;
    char **fields;
    size_t nfields;
    char *replacement; /* NULL: mask by type */
} mask_field_t;

static const char *const mask_field_options[] = {"fields", "replacement", "replace.null.with.default", NULL};

static void mask_field_free(void *state)
{
    mask_field_t *s = state;
    xf_list_free(s->fields, s->nfields);
    free(s->replacement);
    free(s);
}

static void *mask_field_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    mask_field_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    const char *rep = xf_opt(o, "replacement");
    s->replacement = rep ? str_dup(rep) : NULL;
    s->nfields = required_list(o, "fields", &s->fields, err, errlen);
    if (s->nfields == 0 || check_null_default(o, err, errlen) != 0) {
        mask_field_free(s);
        return NULL;
    }
    if (rep && !*rep) {
        snprintf(err, errlen, "option 'replacement': must not be empty (leave it out to mask by type)");
        mask_field_free(s);
        return NULL;
    }
    return s;
}

/* The kinds of value Connect can mask. */
typedef enum mask_kind { MASK_INT, MASK_FLOAT, MASK_BOOL, MASK_STRING, MASK_ARRAY, MASK_MAP, MASK_NONE } mask_kind_t;

static int is_date_logical(const char *name)
{
    return name && (!strcmp(name, XF_LOGICAL_DATE) || !strcmp(name, XF_LOGICAL_TIME) ||
                    !strcmp(name, XF_LOGICAL_TIMESTAMP));
}

static mask_kind_t mask_kind_of_schema(const json_t *schema)
{
    const char *t = xf_schema_type(schema), *name = xf_schema_name(schema);
    if (name && strcmp(name, XF_LOGICAL_DECIMAL) == 0) return MASK_NONE;
    if (!strcmp(t, "int8") || !strcmp(t, "int16") || !strcmp(t, "int32") || !strcmp(t, "int64")) return MASK_INT;
    if (!strcmp(t, "float32") || !strcmp(t, "float64")) return MASK_FLOAT;
    if (!strcmp(t, "boolean")) return MASK_BOOL;
    if (!strcmp(t, "string")) return MASK_STRING;
    if (!strcmp(t, "array")) return MASK_ARRAY;
    if (!strcmp(t, "map")) return MASK_MAP;
    return MASK_NONE;
}

static mask_kind_t mask_kind_of_value(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER: return MASK_INT;
    case JSON_REAL: return MASK_FLOAT;
    case JSON_TRUE:
    case JSON_FALSE: return MASK_BOOL;
    case JSON_STRING: return MASK_STRING;
    case JSON_ARRAY: return MASK_ARRAY;
    case JSON_OBJECT: return MASK_MAP;
    default: return MASK_NONE;
    }
}

/* The replacement as a number of that kind (Connect's Values conversions
 * truncate a decimal for an integer field). */
static json_t *mask_number(const char *rep, mask_kind_t kind)
{
    char *end;
    errno = 0;
    if (kind == MASK_INT) {
        long long n = strtoll(rep, &end, 10);
        if (!*end && end != rep && errno == 0) return json_integer(n);
    }
    errno = 0;
    double x = strtod(rep, &end);
    if (*end || end == rep || errno || !isfinite(x) || !(isdigit((unsigned char)rep[0]) || rep[0] == '-' ||
                                                      rep[0] == '+' || rep[0] == '.'))
        return NULL;
    return kind == MASK_INT ? json_integer((json_int_t)x) : json_real(x);
}

/* The masked form of v (a field's value, not null); NULL with err. */
static json_t *mask_value(const mask_field_t *s, const char *field, mask_kind_t kind, const json_t *v, char *err,
                          size_t errlen)
{
    json_t *out = NULL;
    if (s->replacement) {
        if (kind == MASK_STRING) out = json_string(s->replacement);
        else if (kind == MASK_INT || kind == MASK_FLOAT) out = mask_number(s->replacement, kind);
        if (!out && (kind == MASK_INT || kind == MASK_FLOAT))
            snprintf(err, errlen, "field '%s': unable to convert replacement '%s' to a number", field, s->replacement);
        else if (!out)
            snprintf(err, errlen, "field '%s': cannot mask %s with a custom replacement (numbers and strings only)",
                     field, xf_json_kind(v));
        return out;
    }
    switch (kind) {
    case MASK_INT: return json_integer(0);
    case MASK_FLOAT: return json_real(0);
    case MASK_BOOL: return json_false();
    case MASK_STRING: return json_string("");
    case MASK_ARRAY: return json_array();
    case MASK_MAP: return json_object();
    default: snprintf(err, errlen, "field '%s': cannot mask %s", field, xf_json_kind(v)); return NULL;
    }
}

static xf_result_t mask_field_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    mask_field_t *s = state;
    xf_data_t *d = side_parsed(r, s->side, err, errlen);
    if (!d) return XF_FAIL;
    /* Connect's MaskField fails on a null key or value (a tombstone) too. */
    if (!d->schema && !xf_require_map(d, "mask fields", err, errlen)) return XF_FAIL;
    if (d->schema && xf_require_struct(d, "mask fields", 0, err, errlen) != 0) return XF_FAIL;
    json_t *out = json_copy(d->value); /* only top-level fields change */
    for (size_t i = 0; i < s->nfields; i++) {
        const json_t *f = d->schema ? xf_schema_field(d->schema, s->fields[i]) : NULL;
        if (d->schema && !f) continue; /* a struct is masked where it has the field */
        json_t *v = f ? xf_struct_get(d->value, f) : json_object_get(d->value, s->fields[i]);
        json_t *m = NULL;
        if (v && !json_is_null(v)) {
            mask_kind_t kind = f ? mask_kind_of_schema(f) : mask_kind_of_value(v);
            /* Date, Time and Timestamp are java.util.Date in Connect: masked to
             * the epoch, and no replacement converts to one. */
            if (f && is_date_logical(xf_schema_name(f))) kind = s->replacement ? MASK_NONE : MASK_INT;
            if (!(m = mask_value(s, s->fields[i], kind, v, err, errlen))) {
                json_decref(out);
                return XF_FAIL;
            }
        }
        /* Schemaless, Connect puts every listed field, null where it was missing. */
        json_object_set_new(out, s->fields[i], m ? m : json_null());
    }
    xf_data_set(d, out, d->schema ? json_incref(d->schema) : NULL);
    return XF_KEEP;
}

/* ---- ValueToKey: the key made of value fields ----------------------------------------------------- */

typedef struct value_to_key {
    char **fields;
    size_t nfields;
} value_to_key_t;

static const char *const value_to_key_options[] = {"fields", "replace.null.with.default", NULL};

static void value_to_key_free(void *state)
{
    value_to_key_t *s = state;
    xf_list_free(s->fields, s->nfields);
    free(s);
}

static void *value_to_key_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    value_to_key_t *s = xcalloc(1, sizeof(*s));
    s->nfields = required_list(o, "fields", &s->fields, err, errlen);
    if (s->nfields == 0 || check_null_default(o, err, errlen) != 0) {
        value_to_key_free(s);
        return NULL;
    }
    return s;
}

static xf_result_t value_to_key_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    value_to_key_t *s = state;
    xf_data_t *d = side_parsed(r, XF_SIDE_VALUE, err, errlen);
    if (!d) return XF_FAIL;
    json_t *key = json_object(), *schema = NULL;
    if (!d->schema) {
        if (!xf_require_map(d, "copying fields from value to key", err, errlen)) goto fail;
        for (size_t i = 0; i < s->nfields; i++) {
            json_t *v = json_object_get(d->value, s->fields[i]);
            json_object_set(key, s->fields[i], v ? v : json_null());
        }
    } else {
        if (xf_require_struct(d, "copying fields from value to key", 0, err, errlen) != 0) goto fail;
        schema = json_pack("{s:s, s:[], s:b}", "type", "struct", "fields", "optional", 0);
        for (size_t i = 0; i < s->nfields; i++) {
            const json_t *f = xf_schema_field(d->schema, s->fields[i]);
            if (!f) {
                snprintf(err, errlen, "field '%s' is not in the value's schema", s->fields[i]);
                goto fail;
            }
            json_t *v = xf_struct_get(d->value, f);
            json_object_set(key, s->fields[i], v ? v : json_null());
            xf_schema_append(schema, s->fields[i], xf_schema_of_field(f));
        }
    }
    xf_data_set(&r->key, key, schema);
    return XF_KEEP;
fail:
    json_decref(key);
    json_decref(schema);
    return XF_FAIL;
}

/* ---- ExtractField: a field's value becomes the whole key or value -------------------------------- */

typedef struct extract_field {
    xf_side_t side;
    char *path;    /* as configured, for messages */
    char **steps;  /* the field names along the path (one with field.syntax.version V1) */
    size_t nsteps;
} extract_field_t;

static const char *const extract_field_options[] = {"field", "field.syntax.version", "replace.null.with.default",
                                                    NULL};

static void extract_field_free(void *state)
{
    extract_field_t *s = state;
    xf_list_free(s->steps, s->nsteps);
    free(s->path);
    free(s);
}

static void add_step(extract_field_t *s, const char *from, size_t len)
{
    s->steps = xrealloc(s->steps, (s->nsteps + 1) * sizeof(char *));
    s->steps[s->nsteps++] = str_printf("%.*s", (int)len, from);
}

/* A backticked step starting at p[at] == '`': it ends at a backtick that is
 * followed by a dot or ends the path and is not escaped by a backslash;
 * "\`." inside stands for "`.". Returns the index after it, or -1. */
static long backticked_step(extract_field_t *s, const char *p, size_t at)
{
    size_t n = strlen(p), start = at + 1, k = start;
    char *buf = str_dup("");
    for (;;) {
        const char *bt = strchr(p + k, '`');
        if (!bt) break;
        k = (size_t)(bt - p);
        int escaped = p[k - 1] == '\\';
        if (k + 1 >= n) {
            if (escaped) break;
            char *step = str_printf("%s%.*s", buf, (int)(k - start), p + start);
            add_step(s, step, strlen(step));
            free(step), free(buf);
            return (long)(k + 1);
        }
        if (p[k + 1] != '.') {
            k++;
        } else if (escaped) {
            char *more = str_printf("%s%.*s`", buf, (int)(k - 1 - start), p + start);
            free(buf);
            buf = more;
            start = ++k;
        } else {
            char *step = str_printf("%s%.*s", buf, (int)(k - start), p + start);
            add_step(s, step, strlen(step));
            free(step), free(buf);
            return (long)(k + 2);
        }
    }
    free(buf);
    return -1;
}

/* Connect's field.syntax.version V2: dotted steps, backticks around names with dots. */
static int parse_path_v2(extract_field_t *s, const char *p, char *err, size_t errlen)
{
    size_t n = strlen(p), i = 0;
    while (i < n) {
        if (p[i] != '`') {
            const char *dot = strchr(p + i, '.');
            size_t len = dot ? (size_t)(dot - (p + i)) : n - i;
            add_step(s, p + i, len);
            i += len + (dot ? 1 : 0);
            continue;
        }
        long next = backticked_step(s, p, i);
        if (next < 0) {
            snprintf(err, errlen, "option 'field': incomplete backtick pair in path '%s', consider adding a backslash "
                     "before the backtick at position %zu to escape it", p, i);
            return -1;
        }
        i = (size_t)next;
    }
    if (n > 0 && p[n - 1] == '.') add_step(s, "", 0);
    return 0;
}

static void *extract_field_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    const char *field = xf_opt(o, "field"), *syntax = xf_opt(o, "field.syntax.version");
    if (!field) {
        snprintf(err, errlen, "missing option 'field'");
        return NULL;
    }
    if (syntax && strcasecmp(syntax, "V1") != 0 && strcasecmp(syntax, "V2") != 0) {
        snprintf(err, errlen, "option 'field.syntax.version': '%s' is not V1 or V2", syntax);
        return NULL;
    }
    extract_field_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    s->path = str_dup(field);
    int rc = 0;
    if (syntax && strcasecmp(syntax, "V2") == 0) rc = parse_path_v2(s, field, err, errlen);
    else add_step(s, field, strlen(field));
    if (rc != 0 || check_null_default(o, err, errlen) != 0) {
        extract_field_free(s);
        return NULL;
    }
    return s;
}

/* The field entry at the path in a struct schema, or NULL. */
static const json_t *extract_schema_field(const extract_field_t *s, const json_t *schema)
{
    const json_t *f = NULL;
    for (size_t i = 0; i < s->nsteps; i++) {
        if (strcmp(xf_schema_type(schema), "struct") != 0) return NULL;
        if (!(f = xf_schema_field(schema, s->steps[i]))) return NULL;
        schema = f;
    }
    return f;
}

/* The value at the path (borrowed; NULL for null); -1 with err when a step
 * on the way is neither an object nor null. */
static int extract_value(const extract_field_t *s, const json_t *v, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    for (size_t i = 0; i + 1 < s->nsteps; i++) {
        v = json_object_get(v, s->steps[i]);
        if (!v || json_is_null(v)) return 0;
        if (!json_is_object(v)) {
            snprintf(err, errlen, "field '%s' on the path '%s' is %s, not a Struct or a Map", s->steps[i], s->path,
                     xf_json_kind(v));
            return -1;
        }
    }
    json_t *last = json_object_get(v, s->steps[s->nsteps - 1]);
    *out = last && !json_is_null(last) ? last : NULL;
    return 0;
}

static xf_result_t extract_field_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    extract_field_t *s = state;
    xf_data_t *d = side_parsed(r, s->side, err, errlen);
    if (!d) return XF_FAIL;
    json_t *schema = NULL, *v = NULL;
    if (!d->schema) {
        if (!d->value) return XF_KEEP;
        if (!xf_require_map(d, "field extraction", err, errlen)) return XF_FAIL;
    } else {
        if (xf_require_struct(d, "field extraction", 1, err, errlen) != 0) return XF_FAIL;
        const json_t *f = extract_schema_field(s, d->schema);
        if (!f) {
            snprintf(err, errlen, "unknown field: '%s' is not in the %s's schema", s->path,
                     s->side == XF_SIDE_KEY ? "key" : "value");
            return XF_FAIL;
        }
        schema = xf_schema_of_field(f);
        if (!d->value) {
            xf_data_set(d, NULL, schema);
            return XF_KEEP;
        }
    }
    if (extract_value(s, d->value, &v, err, errlen) != 0) {
        json_decref(schema);
        return XF_FAIL;
    }
    /* A missing field gives null, as in Connect (schemaless: Map.get). */
    if (!v && schema) v = json_object_get(schema, "default");
    xf_data_set(d, v && !json_is_null(v) ? json_incref(v) : NULL, schema);
    return XF_KEEP;
}

/* ---- HoistField: the whole key or value wrapped in a one-field struct --------------------------- */

typedef struct hoist_field {
    xf_side_t side;
    char *field;
} hoist_field_t;

static const char *const hoist_field_options[] = {"field", NULL};

static void hoist_field_free(void *state)
{
    hoist_field_t *s = state;
    free(s->field);
    free(s);
}

static void *hoist_field_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    const char *field = xf_opt(o, "field");
    if (!field) {
        snprintf(err, errlen, "missing option 'field'");
        return NULL;
    }
    hoist_field_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    s->field = str_dup(field);
    return s;
}

static xf_result_t hoist_field_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    hoist_field_t *s = state;
    xf_data_t *d = side_parsed(r, s->side, err, errlen);
    if (!d) return XF_FAIL;
    json_t *schema = NULL;
    if (d->schema) {
        if (!d->value && !xf_schema_optional(d->schema)) {
            snprintf(err, errlen, "invalid value: null used for required field '%s', schema type %s", s->field,
                     xf_schema_type(d->schema));
            return XF_FAIL;
        }
        schema = json_pack("{s:s, s:[], s:b}", "type", "struct", "fields", "optional", 0);
        xf_schema_append(schema, s->field, json_deep_copy(d->schema));
    }
    json_t *out = json_object();
    json_object_set(out, s->field, d->value ? d->value : json_null());
    xf_data_set(d, out, schema);
    return XF_KEEP;
}

/* ---- SetSchemaMetadata: the schema's name and version -------------------------------------------- */

typedef struct set_schema_metadata {
    xf_side_t side;
    char *name;  /* NULL: unchanged */
    int has_version;
    json_int_t version;
} set_schema_metadata_t;

static const char *const set_schema_metadata_options[] = {"schema.name", "schema.version",
                                                          "replace.null.with.default", NULL};

static void set_schema_metadata_free(void *state)
{
    set_schema_metadata_t *s = state;
    free(s->name);
    free(s);
}

static void *set_schema_metadata_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    const char *name = xf_opt(o, "schema.name"), *version = xf_opt(o, "schema.version");
    set_schema_metadata_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    s->name = name ? str_dup(name) : NULL;
    if (version && *version) {
        char *end;
        errno = 0;
        long long v = strtoll(version, &end, 10);
        if (*end || errno || v < INT32_MIN || v > INT32_MAX) {
            snprintf(err, errlen, "option 'schema.version': '%s' is not a 32-bit integer", version);
            set_schema_metadata_free(s);
            return NULL;
        }
        s->has_version = 1;
        s->version = v;
    }
    if (!s->name && !s->has_version) {
        snprintf(err, errlen, "neither schema.name nor schema.version is set");
        set_schema_metadata_free(s);
        return NULL;
    }
    if (check_null_default(o, err, errlen) != 0) {
        set_schema_metadata_free(s);
        return NULL;
    }
    return s;
}

static xf_result_t set_schema_metadata_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    set_schema_metadata_t *s = state;
    xf_data_t *d = side_parsed(r, s->side, err, errlen);
    if (!d) return XF_FAIL;
    if (!d->schema && !d->value) return XF_KEEP;
    if (!d->schema) {
        snprintf(err, errlen, "schema required for [updating schema metadata]: the %s has none (use the json "
                 "converter with schemas.enable: true)", s->side == XF_SIDE_KEY ? "key" : "value");
        return XF_FAIL;
    }
    json_t *schema = json_deep_copy(d->schema);
    if (s->name) json_object_set_new(schema, "name", json_string(s->name));
    if (s->has_version) json_object_set_new(schema, "version", json_integer(s->version));
    xf_data_set(d, d->value ? json_incref(d->value) : NULL, xf_schema_ordered(schema));
    return XF_KEEP;
}

/* ---- Flatten: nested structs and maps as top-level fields ---------------------------------------- */

typedef struct flatten {
    xf_side_t side;
    char *delimiter;
} flatten_t;

static const char *const flatten_options[] = {"delimiter", NULL};

static void flatten_free(void *state)
{
    flatten_t *s = state;
    free(s->delimiter);
    free(s);
}

static void *flatten_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    const char *delim = xf_opt(o, "delimiter");
    flatten_t *s = xcalloc(1, sizeof(*s));
    s->side = side;
    s->delimiter = str_dup(delim ? delim : ".");
    return s;
}

static char *flat_name(const flatten_t *s, const char *prefix, const char *name)
{
    return *prefix ? str_printf("%s%s%s", prefix, s->delimiter, name) : str_dup(name);
}

/* Schemaless: maps are opened, everything else (arrays too) is kept. */
static void flatten_map(const flatten_t *s, const json_t *in, const char *prefix, json_t *out)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v) {
        char *name = flat_name(s, prefix, key);
        if (json_is_object(v)) flatten_map(s, v, name, out);
        else json_object_set(out, name, v);
        free(name);
    }
}

static int flatten_supported(const char *type)
{
    static const char *const kept[] = {"int8",    "int16",   "int32",  "int64", "float32", "float64",
                                       "boolean", "string",  "bytes",  "array", NULL};
    for (const char *const *k = kept; *k; k++)
        if (strcmp(*k, type) == 0) return 1;
    return 0;
}

/* The flattened schema's fields: a field is optional when it or any struct
 * above it is, and takes its default from itself or the struct above. */
static int flatten_schema(const flatten_t *s, const json_t *schema, const char *prefix, int optional,
                          const json_t *parent_default, json_t *out, char *err, size_t errlen)
{
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(schema, "fields"), i, f) {
        const char *type = xf_schema_type(f), *fname = json_string_value(json_object_get(f, "field"));
        char *name = flat_name(s, prefix, fname ? fname : "");
        int opt = optional || xf_schema_optional(f);
        json_t *dflt = json_object_get(f, "default");
        if ((!dflt || json_is_null(dflt)) && parent_default) dflt = json_object_get(parent_default, fname);
        if (dflt && json_is_null(dflt)) dflt = NULL;
        int rc = 0;
        if (strcmp(type, "struct") == 0) {
            rc = flatten_schema(s, f, name, opt, dflt, out, err, errlen);
        } else if (flatten_supported(type)) {
            json_t *fs = xf_schema_basics(f, type);
            if (strcmp(type, "array") == 0) json_object_set(fs, "items", json_object_get(f, "items"));
            json_object_set_new(fs, "optional", json_boolean(opt));
            if (dflt) json_object_set(fs, "default", dflt);
            xf_schema_append(out, name, xf_schema_ordered(fs));
        } else {
            snprintf(err, errlen, "Flatten does not support %s for records with schemas (field '%s')", type, name);
            rc = -1;
        }
        free(name);
        if (rc != 0) return -1;
    }
    return 0;
}

static void flatten_struct(const flatten_t *s, const json_t *schema, const json_t *in, const char *prefix,
                           json_t *out)
{
    json_t *f;
    size_t i;
    json_array_foreach(json_object_get(schema, "fields"), i, f) {
        const char *fname = json_string_value(json_object_get(f, "field"));
        char *name = flat_name(s, prefix, fname ? fname : "");
        json_t *v = xf_struct_get(in, f);
        if (strcmp(xf_schema_type(f), "struct") == 0) {
            if (json_is_object(v)) flatten_struct(s, f, v, name, out);
        } else if (v) {
            json_object_set(out, name, v);
        }
        free(name);
    }
}

static xf_result_t flatten_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    flatten_t *s = state;
    xf_data_t *d = side_parsed(r, s->side, err, errlen);
    if (!d) return XF_FAIL;
    if (!d->value) return XF_KEEP;
    if (!d->schema) {
        if (!xf_require_map(d, "flattening", err, errlen)) return XF_FAIL;
        json_t *out = json_object();
        flatten_map(s, d->value, "", out);
        xf_data_set(d, out, NULL);
        return XF_KEEP;
    }
    if (xf_require_struct(d, "flattening", 0, err, errlen) != 0) return XF_FAIL;
    /* copySchemaBasics: the flattened schema is not optional. */
    json_t *schema = xf_schema_basics(d->schema, "struct");
    json_object_set_new(schema, "fields", json_array());
    json_t *dflt = json_object_get(d->schema, "default");
    if (flatten_schema(s, d->schema, "", xf_schema_optional(d->schema), json_is_object(dflt) ? dflt : NULL, schema,
                       err, errlen) != 0) {
        json_decref(schema);
        return XF_FAIL;
    }
    json_t *out = json_object();
    flatten_struct(s, d->schema, d->value, "", out);
    schema = xf_schema_ordered(schema);
    xf_data_set(d, struct_fill(schema, out), schema);
    return XF_KEEP;
}

/* ---- the types, for chain.c ---------------------------------------------------------------------- */

#define XF_TYPE(var, name, side, prefix)                                                                        \
    static const xf_type_t var = {name, CONNECT_PKG, side, prefix##_options, prefix##_init, prefix##_apply,        \
                                  prefix##_free}

XF_TYPE(replace_field_key, "ReplaceField$Key", XF_SIDE_KEY, replace_field);
XF_TYPE(replace_field_value, "ReplaceField$Value", XF_SIDE_VALUE, replace_field);
XF_TYPE(mask_field_key, "MaskField$Key", XF_SIDE_KEY, mask_field);
XF_TYPE(mask_field_value, "MaskField$Value", XF_SIDE_VALUE, mask_field);
XF_TYPE(value_to_key, "ValueToKey", XF_SIDE_VALUE, value_to_key);
XF_TYPE(extract_field_key, "ExtractField$Key", XF_SIDE_KEY, extract_field);
XF_TYPE(extract_field_value, "ExtractField$Value", XF_SIDE_VALUE, extract_field);
XF_TYPE(hoist_field_key, "HoistField$Key", XF_SIDE_KEY, hoist_field);
XF_TYPE(hoist_field_value, "HoistField$Value", XF_SIDE_VALUE, hoist_field);
XF_TYPE(set_schema_metadata_key, "SetSchemaMetadata$Key", XF_SIDE_KEY, set_schema_metadata);
XF_TYPE(set_schema_metadata_value, "SetSchemaMetadata$Value", XF_SIDE_VALUE, set_schema_metadata);
XF_TYPE(flatten_key, "Flatten$Key", XF_SIDE_KEY, flatten);
XF_TYPE(flatten_value, "Flatten$Value", XF_SIDE_VALUE, flatten);

const xf_type_t *const xf_types_fields[] = {
    &insert_field_key,        &insert_field_value,        &replace_field_key,  &replace_field_value,
    &mask_field_key,          &mask_field_value,          &value_to_key,       &extract_field_key,
    &extract_field_value,     &hoist_field_key,           &hoist_field_value,  &set_schema_metadata_key,
    &set_schema_metadata_value, &flatten_key,             &flatten_value,      &xf_cast_key,
    &xf_cast_value,           &xf_timestamp_converter_key, &xf_timestamp_converter_value, NULL};
