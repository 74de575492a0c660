/*
 * transform.h — records in flight: converters (json, string, bytes) and
 * Kafka Connect's single-message transforms with their predicates.
 *
 * A record's key and value are kept as the bytes they came as; they are
 * parsed (once, lazily) only when a transform or a converter needs their
 * structure, and written again only when something changed. Without
 * transforms, and with converters that do not change the form, bytes pass
 * unchanged (DESIGN.md §4).
 *
 * The data model is Connect's as JSON: a value is a JSON value (objects for
 * Structs and Maps, strings, numbers, booleans, arrays, null) with an
 * optional Connect schema (the JSON of JsonConverter's "schema" field).
 *
 * Not thread-safe: a chain belongs to one task.
 */
#ifndef FERRY_TRANSFORM_H
#define FERRY_TRANSFORM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "ferry/ferry.h"

/* What bytes are: raw bytes, UTF-8 text, JSON, or JSON in JsonConverter's
 * {"schema", "payload"} envelope. */
typedef enum xf_form { XF_BYTES = 0, XF_STRING, XF_JSON, XF_ENVELOPE } xf_form_t;

/* A key or a value. */
typedef struct xf_data {
    const void *raw;    /* the bytes as they came (borrowed); NULL = null */
    size_t raw_len;
    xf_form_t form;     /* what raw is */
    int parsed;         /* value/schema hold it (raw may be stale once changed) */
    int changed;        /* written again on the way out */
    json_t *value;      /* owned once parsed: the payload; NULL = null */
    json_t *schema;     /* owned once parsed: its Connect schema, or NULL (schemaless) */
    int from_kafka;     /* read by a sink's converter: text and bytes are optional, as Connect's
                         * StringConverter and ByteArrayConverter make them */
} xf_data_t;

typedef struct xf_header {
    char *name;         /* owned */
    void *value;        /* owned; NULL = null */
    size_t len;
} xf_header_t;

/* A record on its way between a connector and Kafka. */
typedef struct xf_record {
    char *topic;        /* owned */
    int32_t partition;  /* -1 = the partitioner's choice */
    xf_data_t key, value;
    xf_header_t *headers; /* owned */
    size_t nheaders, headers_cap;
    int64_t timestamp_ms;
    int64_t kafka_offset; /* sinks: where it was read; -1 for sources */
    char *fanout;         /* owned: route's further topics ("t2|t3") for the engine to produce
                           * copies to (smt_routing.c), or NULL */
} xf_record_t;

/* ---- converters ---------------------------------------------------------------------------- */

typedef enum xf_conv_kind { XF_CONV_NONE = 0, XF_CONV_BYTES, XF_CONV_STRING, XF_CONV_JSON } xf_conv_kind_t;

typedef struct xf_converter {
    xf_conv_kind_t kind;
    int schemas_enable; /* json: JsonConverter's schemas.enable (default true) */
} xf_converter_t;

/* Reads "PREFIX" (key.converter, value.converter) and "PREFIX.schemas.enable"
 * from cfg: Connect's class names or ferry's short names (json, string,
 * bytes). 0, or -1 with err. */
int xf_converter_from_config(const ferry_config_t *cfg, const char *prefix, xf_converter_t *out, char *err,
                             size_t errlen);
/* The form Kafka's bytes have under this converter (sinks). */
xf_form_t xf_converter_wire_form(const xf_converter_t *c);

/* ---- records --------------------------------------------------------------------------------- */

void xf_record_init(xf_record_t *r, const char *topic, int32_t partition, const void *key, size_t key_len,
                    xf_form_t key_form, const void *value, size_t value_len, xf_form_t value_form,
                    int64_t timestamp_ms);
void xf_record_clear(xf_record_t *r);
void xf_header_add(xf_record_t *r, const char *name, const void *value, size_t len);
/* Removes every header by that name. */
void xf_header_remove(xf_record_t *r, const char *name);
const xf_header_t *xf_header_last(const xf_record_t *r, const char *name);
void xf_record_set_topic(xf_record_t *r, const char *topic);

/* Parses d (once). 0, or -1 with err (not JSON, no envelope, not UTF-8). */
int xf_data_parse(xf_data_t *d, char *err, size_t errlen);
/* Replaces d's payload and schema (both taken; NULL = null / schemaless). */
void xf_data_set(xf_data_t *d, json_t *value, json_t *schema);
/* d's bytes under converter c (XF_CONV_NONE: its own form): *out points at
 * raw when nothing needs writing, else at *owned (malloc'd, free it).
 * NULL *out = null. 0, or -1 with err. */
int xf_data_bytes(xf_data_t *d, const xf_converter_t *c, const void **out, size_t *len, char **owned, char *err,
                  size_t errlen);
/* A sink's view: the payload as the connector gets it (strings as their
 * text, other JSON compact, bytes as they are), and its form. */
int xf_data_payload_bytes(xf_data_t *d, const void **out, size_t *len, char **owned, xf_form_t *form, char *err,
                          size_t errlen);

/* ---- chains ------------------------------------------------------------------------------------ */

typedef struct xf_chain xf_chain_t;

typedef enum xf_result { XF_KEEP = 0, XF_DROP = 1, XF_FAIL = -1 } xf_result_t;

/* The transforms and predicates cfg configures (transforms, transforms.N.*,
 * predicates, predicates.N.*), or NULL when it names none. Errors (unknown
 * type, bad option) go to errs, prefixed with the connector's name. */
xf_chain_t *xf_chain_new(const char *connector, const ferry_config_t *cfg, int sink, cfg_errors_t *errs);
void xf_chain_free(xf_chain_t *ch);
/* Runs every transform whose predicate holds, in order. XF_DROP: a
 * transform dropped the record; XF_FAIL: err says which transform failed
 * and why ("transform NAME (TYPE): ..."). */
xf_result_t xf_chain_apply(xf_chain_t *ch, xf_record_t *r, char *err, size_t errlen);
size_t xf_chain_length(const xf_chain_t *ch);

/* Checks a config's transforms without keeping them (validation); sink:
 * the connector is a sink (some options are for one side only). */
int xf_chain_check(const char *connector, const ferry_config_t *cfg, int sink, cfg_errors_t *errs);

#endif
