/*
 * transform_internal.h — what a transform type is, for chain.c and the
 * smt_*.c files that define them.
 */
#ifndef FERRY_TRANSFORM_INTERNAL_H
#define FERRY_TRANSFORM_INTERNAL_H

#include <stdio.h>

#include "transform/transform.h"

/* A transform's options: transforms.NAME.* with the prefix stripped. */
typedef struct xf_opts {
    const char *const *keys, *const *values;
    size_t count;
    const char *name; /* the transform's name, for messages */
    int sink;         /* on a sink connector's records (else a source's) */
} xf_opts_t;

/* The option's value, or NULL when not set. */
const char *xf_opt(const xf_opts_t *o, const char *key);
/* A comma-separated list option: its items trimmed (array and items
 * malloc'd; free with xf_list_free). Empty items are dropped. */
size_t xf_opt_list(const xf_opts_t *o, const char *key, char ***items);
void xf_list_free(char **items, size_t n);
/* A boolean option with a default; -1 with err when it is not one. */
int xf_opt_bool(const xf_opts_t *o, const char *key, int dflt, char *err, size_t errlen);

/* Which part of a record a $Key/$Value transform works on. */
typedef enum xf_side { XF_SIDE_NONE = 0, XF_SIDE_KEY, XF_SIDE_VALUE } xf_side_t;

typedef struct xf_type {
    const char *name;           /* as in Connect's class name after the package: "InsertField$Value" */
    const char *package;        /* Connect's (or Debezium's) package, for the full class name */
    xf_side_t side;
    const char *const *options; /* the option keys it takes, NULL-terminated */
    /* Builds the state from the options; NULL with err. */
    void *(*init)(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen);
    xf_result_t (*apply)(void *state, xf_record_t *r, char *err, size_t errlen);
    void (*free)(void *state);
} xf_type_t;

/* The types each smt_*.c file defines, NULL-terminated arrays. */
extern const xf_type_t *const xf_types_fields[];  /* smt_fields.c */
extern const xf_type_t *const xf_types_routing[]; /* smt_routing.c */
extern const xf_type_t *const xf_types_debezium[]; /* smt_debezium.c */

/* The part of r a transform of that side works on. */
static inline xf_data_t *xf_side_data(xf_record_t *r, xf_side_t side) { return side == XF_SIDE_KEY ? &r->key : &r->value; }

/* Parses the side's data and requires a JSON object (a Struct or a Map),
 * or null (returned as NULL with *null set). */
json_t *xf_side_object(xf_record_t *r, xf_side_t side, int *null, const char *what, char *err, size_t errlen);

/* Connect schema helpers (JsonConverter's JSON form of a schema). */
/* The struct schema's field entry named name, or NULL. */
json_t *xf_schema_field(const json_t *schema, const char *name);
/* A schema {"type": type, "optional": optional}. */
json_t *xf_schema_primitive(const char *type, int optional);

char *xf_base64(const void *data, size_t len);
/* A JSON value as a header's bytes (malloc'd; NULL for null), as
 * SimpleHeaderConverter writes it: strings as their text, the rest as JSON. */
char *xf_header_text(const json_t *v, size_t *len);
/* A double as Java's Double.toString writes it. */
void xf_java_double(double d, char *out, size_t n);

/* ---- smt_schema.c: helpers shared by the smt_*.c files ---- */

/* Connect's logical types, as schema names. */
#define XF_LOGICAL_DATE "org.apache.kafka.connect.data.Date"
#define XF_LOGICAL_TIME "org.apache.kafka.connect.data.Time"
#define XF_LOGICAL_TIMESTAMP "org.apache.kafka.connect.data.Timestamp"
#define XF_LOGICAL_DECIMAL "org.apache.kafka.connect.data.Decimal"

/* schema (taken) with its keys in JsonConverter's order: "type", then
 * "fields"/"items"/"keys"/"values", "optional", "name", "version", "doc",
 * "parameters", "default", anything else, and "field" last. */
json_t *xf_schema_ordered(json_t *schema);
/* The schema's "type" ("" when it has none), "optional", "name" (or NULL). */
const char *xf_schema_type(const json_t *schema);
int xf_schema_optional(const json_t *schema);
const char *xf_schema_name(const json_t *schema);
/* Connect's SchemaUtil.copySchemaBasics: a schema of type with src's name,
 * version, doc and parameters, and "optional": false (not src's). */
json_t *xf_schema_basics(const json_t *src, const char *type);
/* A struct field entry's schema: a copy without its "field". */
json_t *xf_schema_of_field(const json_t *field);
/* Appends field_schema (taken) as field name to struct_schema's "fields". */
void xf_schema_append(json_t *struct_schema, const char *name, json_t *field_schema);
/* Connect's Struct.get: obj's value of the field entry, or the field's
 * default when that is null; NULL for null (borrowed). */
json_t *xf_struct_get(const json_t *obj, const json_t *field);
/* "an object", "a string", ... for messages. */
const char *xf_json_kind(const json_t *v);
/* Connect's Requirements: d's value as a Map (schemaless), or NULL with err
 * naming purpose and what was found. */
json_t *xf_require_map(xf_data_t *d, const char *purpose, char *err, size_t errlen);
/* d has a struct schema and an object value (or null when null_ok);
 * 0, or -1 with err. */
int xf_require_struct(xf_data_t *d, const char *purpose, int null_ok, char *err, size_t errlen);

/* The types smt_cast.c and smt_timestamp.c define (listed in xf_types_fields). */
extern const xf_type_t xf_cast_key, xf_cast_value;
extern const xf_type_t xf_timestamp_converter_key, xf_timestamp_converter_value;

#endif
