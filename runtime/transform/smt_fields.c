/*
 * smt_fields.c — Connect's transforms of a key's or a value's fields, with
 * their names and options, schemaless (JSON objects) and with a schema
 * (JsonConverter's schema JSON, updated as Connect updates it).
 */
#include <stdlib.h>
#include <string.h>

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
    if (s->offset && r->kafka_offset < 0) {
        snprintf(err, errlen, "offset.field is for sink connectors only (a source record has no Kafka offset yet)");
        return XF_FAIL;
    }
    xf_data_t *d = xf_side_data(r, s->side);
    json_t *out = json_deep_copy(obj);
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

const xf_type_t *const xf_types_fields[] = {&insert_field_key, &insert_field_value, NULL};
