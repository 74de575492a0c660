/*
 * smt_schema.c — helpers the smt_*.c files share for Connect schemas as
 * JsonConverter writes them, and for messages about JSON values. The
 * bottom floor of the transforms: it calls none of them.
 */
#include <string.h>

#include "transform/transform_internal.h"

/* JsonConverter writes a schema's keys in this order; "field" (a struct's
 * field entry) comes last. */
static const char *const schema_key_order[] = {"type",    "fields", "items",      "keys",    "values", "optional",
                                               "name",    "version", "doc",       "parameters", "default", NULL};

static int is_ordered_key(const char *key)
{
    for (const char *const *k = schema_key_order; *k; k++)
        if (strcmp(*k, key) == 0) return 1;
    return strcmp(key, "field") == 0;
}

json_t *xf_schema_ordered(json_t *schema)
{
    json_t *out = json_object();
    for (const char *const *k = schema_key_order; *k; k++) {
        json_t *v = json_object_get(schema, *k);
        if (v) json_object_set(out, *k, v);
    }
    const char *key;
    json_t *v;
    json_object_foreach(schema, key, v) {
        if (!is_ordered_key(key)) json_object_set(out, key, v);
    }
    json_t *field = json_object_get(schema, "field");
    if (field) json_object_set(out, "field", field);
    json_decref(schema);
    return out;
}

const char *xf_schema_type(const json_t *schema)
{
    const char *t = json_string_value(json_object_get(schema, "type"));
    return t ? t : "";
}

int xf_schema_optional(const json_t *schema) { return json_is_true(json_object_get(schema, "optional")); }

const char *xf_schema_name(const json_t *schema) { return json_string_value(json_object_get(schema, "name")); }

json_t *xf_schema_basics(const json_t *src, const char *type)
{
    json_t *s = json_pack("{s:s, s:b}", "type", type, "optional", 0);
    static const char *const basics[] = {"name", "version", "doc", "parameters", NULL};
    for (const char *const *k = basics; *k; k++) {
        json_t *v = json_object_get(src, *k);
        if (v && !json_is_null(v)) json_object_set_new(s, *k, json_deep_copy(v));
    }
    return s;
}

json_t *xf_schema_of_field(const json_t *field)
{
    json_t *s = json_deep_copy(field);
    json_object_del(s, "field");
    return s;
}

void xf_schema_append(json_t *struct_schema, const char *name, json_t *field_schema)
{
    json_t *fields = json_object_get(struct_schema, "fields");
    if (!json_is_array(fields)) json_object_set_new(struct_schema, "fields", fields = json_array());
    json_object_set_new(field_schema, "field", json_string(name));
    json_array_append_new(fields, xf_schema_ordered(field_schema));
}

json_t *xf_struct_get(const json_t *obj, const json_t *field)
{
    const char *name = json_string_value(json_object_get(field, "field"));
    json_t *v = name ? json_object_get(obj, name) : NULL;
    if (!v || json_is_null(v)) v = json_object_get(field, "default");
    return v && !json_is_null(v) ? v : NULL;
}

const char *xf_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a floating-point number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

json_t *xf_require_map(xf_data_t *d, const char *purpose, char *err, size_t errlen)
{
    if (json_is_object(d->value)) return d->value;
    snprintf(err, errlen, "only Map objects supported in absence of schema for [%s], found %s%s", purpose,
             d->value ? xf_json_kind(d->value) : "null",
             d->form == XF_BYTES ? " (raw bytes: set the converter to json)" : "");
    return NULL;
}

int xf_require_struct(xf_data_t *d, const char *purpose, int null_ok, char *err, size_t errlen)
{
    if (strcmp(xf_schema_type(d->schema), "struct") != 0) {
        snprintf(err, errlen, "only Struct objects supported for [%s], found a schema of type '%s'", purpose,
                 xf_schema_type(d->schema));
        return -1;
    }
    if (json_is_object(d->value) || (null_ok && !d->value)) return 0;
    snprintf(err, errlen, "only Struct objects supported for [%s], found %s", purpose,
             d->value ? xf_json_kind(d->value) : "null");
    return -1;
}
