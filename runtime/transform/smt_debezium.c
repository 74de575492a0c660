/*
 * smt_debezium.c — Debezium's transforms of its change events:
 * ExtractNewRecordState (the row after the change, with the envelope's
 * metadata as fields or headers) and the outbox EventRouter.
 *
 * A change event is Debezium's envelope {"before", "after", "source", "op",
 * "ts_ms", "transaction"}: with a schema (JsonConverter's envelope, a
 * struct schema named "*.Envelope") as Debezium requires, or — ferry's
 * addition — schemaless JSON, recognised by a string "op" and a "before" or
 * "after" field. Other records (heartbeats, schema changes) pass unchanged,
 * as in Debezium.
 *
 * Header values are bytes as SimpleHeaderConverter writes them: a string as
 * its text, anything else as its JSON text, null as a null header.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transform/transform_internal.h"
#include "transform/xf_regex.h"
#include "util/strutil.h"

#define DEBEZIUM_PKG "io.debezium.transforms."
#define OUTBOX_PKG "io.debezium.transforms.outbox."

/* ---- envelopes and schemas -------------------------------------------------------------- */

/* The value's envelope object, or NULL when r's value is not a change
 * event (*bad set when it could not even be read). */
static json_t *envelope_of(xf_record_t *r, int *bad, char *err, size_t errlen)
{
    *bad = 0;
    if (xf_data_parse(&r->value, err, errlen) != 0) {
        *bad = 1;
        return NULL;
    }
    json_t *v = r->value.value, *schema = r->value.schema;
    if (!json_is_object(v)) return NULL;
    if (schema) {
        const char *name = json_string_value(json_object_get(schema, "name"));
        size_t n = name ? strlen(name) : 0;
        int ok = n >= 9 && strcmp(name + n - 9, ".Envelope") == 0 &&
                 strcmp(json_string_value(json_object_get(schema, "type")) ?: "", "struct") == 0;
        return ok ? v : NULL;
    }
    int ok = json_is_string(json_object_get(v, "op")) && (json_object_get(v, "after") || json_object_get(v, "before"));
    return ok ? v : NULL;
}

/* A field entry's schema without its "field" key, other keys in order. */
static json_t *schema_of_field(const json_t *field)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)field, key, v) {
        if (strcmp(key, "field") != 0) json_object_set_new(out, key, json_deep_copy(v));
    }
    return out;
}

/* A field entry: schema (taken) with "field": name last, as JsonConverter
 * writes it. */
static json_t *field_entry(json_t *schema, const char *name)
{
    json_object_del(schema, "field");
    json_object_set_new(schema, "field", json_string(name));
    return schema;
}

static void schema_append(json_t *schema, json_t *entry)
{
    json_t *fields = json_object_get(schema, "fields");
    if (!json_is_array(fields)) json_object_set_new(schema, "fields", fields = json_array());
    json_array_append_new(fields, entry);
}

/* A copy of a schema made optional, as Debezium's SchemaUtil.copySchemaBasics
 * (...).optional(): its default is not kept. "optional" goes after the
 * structure keys (fields, items, keys, values), as JsonConverter orders it. */
static json_t *schema_optional(const json_t *schema)
{
    static const char *const head[] = {"type", "fields", "items", "keys", "values", NULL};
    json_t *out = json_object();
    for (const char *const *k = head; *k; k++) {
        json_t *v = json_object_get(schema, *k);
        if (v) json_object_set_new(out, *k, json_deep_copy(v));
    }
    json_object_set_new(out, "optional", json_true());
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)schema, key, v) {
        if (!json_object_get(out, key) && strcmp(key, "default") != 0 && strcmp(key, "field") != 0)
            json_object_set_new(out, key, json_deep_copy(v));
    }
    return out;
}

/* A struct schema rebuilt as Connect's SchemaUtil.copySchemaBasics does
 * before adding fields: its fields, name, version, doc and parameters, but
 * neither its optional flag (so false) nor its default. */
static json_t *schema_rebuilt(const json_t *field)
{
    static const char *const basics[] = {"name", "version", "doc", "parameters", NULL};
    json_t *out = json_pack("{s:s, s:o, s:b}", "type", "struct", "fields",
                            json_deep_copy(json_object_get(field, "fields")) ?: json_array(), "optional", 0);
    for (const char *const *k = basics; *k; k++) {
        json_t *v = json_object_get(field, *k);
        if (v) json_object_set_new(out, *k, json_deep_copy(v));
    }
    return out;
}

static void header_add_json(xf_record_t *r, const char *name, const json_t *v)
{
    size_t len;
    char *text = xf_header_text(v, &len);
    xf_header_add(r, name, text, len);
    free(text);
}

/* ---- ExtractNewRecordState: metadata references --------------------------------------------- */

/* One item of add.fields / add.headers: "op", "table", "source.ts_ms",
 * "ts_ms:EVENT_TS" (an alias after ':'). */
typedef struct field_ref {
    char *parent; /* "source", "transaction", … or NULL for the envelope itself */
    char *field;
    char *name;   /* the added field's or header's name, with the prefix */
} field_ref_t;

/* Which envelope struct holds a field named without one (Debezium's rule). */
static const char *ref_parent(const char *field)
{
    if (!strcmp(field, "id") || !strcmp(field, "data_collection_order") || !strcmp(field, "total_order"))
        return "transaction";
    if (!strcmp(field, "op") || !strcmp(field, "ts_ms") || !strcmp(field, "ts_us") || !strcmp(field, "ts_ns"))
        return NULL;
    if (!strcmp(field, "updateDescription")) return "updateDescription";
    return "source";
}

static int refs_parse(const xf_opts_t *o, const char *key, const char *prefix, field_ref_t **refs, size_t *nrefs,
                      char *err, size_t errlen)
{
    char **items;
    size_t n = xf_opt_list(o, key, &items);
    *refs = xcalloc(n + 1, sizeof(**refs));
    *nrefs = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *colon = strchr(items[i], ':');
        if (colon && (strchr(colon + 1, ':') || !colon[1] || colon == items[i])) {
            snprintf(err, errlen, "option '%s': unexpected field name '%s'", key, items[i]);
            rc = -1;
            break;
        }
        char *path = str_printf("%.*s", (int)(colon ? (size_t)(colon - items[i]) : strlen(items[i])), items[i]);
        char *dot = strchr(path, '.');
        field_ref_t *ref = &(*refs)[(*nrefs)++];
        if (dot) {
            *dot = '\0';
            ref->parent = str_dup(path);
            ref->field = str_printf("%.*s", (int)strcspn(dot + 1, "."), dot + 1);
        } else {
            ref->field = str_dup(path);
            ref->parent = str_dup(ref_parent(path));
        }
        ref->name = colon ? str_printf("%s%s", prefix, colon + 1)
                    : dot ? str_printf("%s%s_%s", prefix, ref->parent, ref->field)
                          : str_printf("%s%s", prefix, ref->field);
        free(path);
    }
    xf_list_free(items, n);
    return rc;
}

static void refs_free(field_ref_t *refs, size_t n)
{
    for (size_t i = 0; i < n; i++) free(refs[i].parent), free(refs[i].field), free(refs[i].name);
    free(refs);
}

/* The value a reference names in env (schema: env's schema or NULL), and
 * its field schema in *fschema (borrowed). 0 when env has no such field
 * (then nothing is added), else 1 (*value may be NULL for null). */
static int ref_lookup(const field_ref_t *ref, const json_t *env, const json_t *schema, json_t **value,
                      const json_t **fschema)
{
    json_t *parent = ref->parent ? json_object_get(env, ref->parent) : (json_t *)env;
    *fschema = NULL;
    if (schema) {
        const json_t *ps = ref->parent ? xf_schema_field(schema, ref->parent) : schema;
        const json_t *fs = ps ? xf_schema_field(ps, ref->field) : NULL;
        if (!fs) { /* another transform may have put it at the top */
            fs = xf_schema_field(schema, ref->field);
            parent = (json_t *)env;
        }
        if (!fs) return 0;
        *fschema = fs;
        *value = json_is_object(parent) ? json_object_get(parent, ref->field) : NULL;
        return 1;
    }
    if (!json_is_object(parent) || !json_object_get(parent, ref->field)) parent = (json_t *)env;
    *value = json_object_get(parent, ref->field);
    return *value != NULL;
}

/* ---- ExtractNewRecordState ------------------------------------------------------------------ */

typedef enum on_delete { DELETE_DROP, DELETE_NULL_VALUE, DELETE_TOMBSTONE, DELETE_REWRITE } on_delete_t;

typedef struct extract_state {
    on_delete_t on_delete;
    int keep_tombstones;
    int rewrite;          /* inserts and updates get "__deleted": "false" */
    field_ref_t *fields, *headers;
    size_t nfields, nheaders;
    char *route_by;
} extract_state_t;

static const char *const extract_state_options[] = {
    "delete.tombstone.handling.mode", "delete.handling.mode", "drop.tombstones", "add.fields", "add.fields.prefix",
    "add.headers", "add.headers.prefix", "route.by.field", "replace.null.with.default", NULL};

static void extract_state_free(void *state)
{
    extract_state_t *s = state;
    refs_free(s->fields, s->nfields);
    refs_free(s->headers, s->nheaders);
    free(s->route_by);
    free(s);
}

/* delete.tombstone.handling.mode (Debezium 2.5+), which takes precedence,
 * or the older pair delete.handling.mode + drop.tombstones as Debezium 2.x
 * read them (defaults: drop, true). */
static int extract_state_modes(extract_state_t *s, const xf_opts_t *o, char *err, size_t errlen)
{
    const char *mode = xf_opt(o, "delete.tombstone.handling.mode");
    if (mode) {
        static const struct {
            const char *name;
            on_delete_t on_delete;
            int keep_tombstones, rewrite;
        } modes[] = {{"drop", DELETE_DROP, 0, 0},           {"tombstone", DELETE_NULL_VALUE, 0, 0},
                     {"rewrite", DELETE_REWRITE, 0, 1},     {"rewrite-with-tombstone", DELETE_REWRITE, 1, 1},
                     {"delete-to-tombstone", DELETE_TOMBSTONE, 0, 0}};
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
            if (strcasecmp(mode, modes[i].name) == 0) {
                s->on_delete = modes[i].on_delete;
                s->keep_tombstones = modes[i].keep_tombstones;
                s->rewrite = modes[i].rewrite;
                return 0;
            }
        snprintf(err, errlen, "option 'delete.tombstone.handling.mode': '%s' is not one of drop, tombstone, rewrite, "
                 "rewrite-with-tombstone, delete-to-tombstone", mode);
        return -1;
    }
    const char *legacy = xf_opt(o, "delete.handling.mode");
    int drop = xf_opt_bool(o, "drop.tombstones", 1, err, errlen);
    if (drop < 0) return -1;
    s->keep_tombstones = !drop;
    if (!legacy || strcasecmp(legacy, "drop") == 0) s->on_delete = DELETE_DROP;
    else if (strcasecmp(legacy, "none") == 0) s->on_delete = DELETE_NULL_VALUE;
    else if (strcasecmp(legacy, "rewrite") == 0) s->on_delete = DELETE_REWRITE, s->rewrite = 1;
    else {
        snprintf(err, errlen, "option 'delete.handling.mode': '%s' is not one of drop, none, rewrite", legacy);
        return -1;
    }
    return 0;
}

static void *extract_state_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    (void)side;
    extract_state_t *s = xcalloc(1, sizeof(*s));
    const char *fp = xf_opt(o, "add.fields.prefix"), *hp = xf_opt(o, "add.headers.prefix");
    const char *route = xf_opt(o, "route.by.field");
    s->route_by = route && *route ? str_dup(route) : NULL;
    if (extract_state_modes(s, o, err, errlen) != 0 ||
        xf_opt_bool(o, "replace.null.with.default", 1, err, errlen) < 0 ||
        refs_parse(o, "add.fields", fp ? fp : "__", &s->fields, &s->nfields, err, errlen) != 0 ||
        refs_parse(o, "add.headers", hp ? hp : "__", &s->headers, &s->nheaders, err, errlen) != 0) {
        extract_state_free(s);
        return NULL;
    }
    return s;
}

/* The row (before or after) with its schema, "__deleted" when rewriting
 * and the add.fields metadata. *value and *schema are new references.
 * Debezium rebuilds the row's schema whenever it keeps a row, even with
 * nothing to add, so the schema is never the envelope's field as it is. */
static void extract_row(const extract_state_t *s, const json_t *env, const json_t *env_schema, const char *which,
                        const char *deleted, json_t **value, json_t **schema)
{
    json_t *row = json_object_get(env, which);
    const json_t *fs = env_schema ? xf_schema_field(env_schema, which) : NULL;
    *value = json_is_object(row) ? json_deep_copy(row) : NULL;
    *schema = fs && *value ? schema_rebuilt(fs) : NULL;
    if (!*value) return;
    if (deleted) {
        json_object_set_new(*value, "__deleted", json_string(deleted));
        if (*schema) schema_append(*schema, field_entry(xf_schema_primitive("string", 1), "__deleted"));
    }
    for (size_t i = 0; i < s->nfields; i++) {
        json_t *v;
        const json_t *vs;
        if (!ref_lookup(&s->fields[i], env, env_schema, &v, &vs)) continue;
        json_object_set(*value, s->fields[i].name, v ? v : json_null());
        if (*schema) schema_append(*schema, field_entry(schema_optional(vs), s->fields[i].name));
    }
}

static xf_result_t extract_state_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    extract_state_t *s = state;
    int bad;
    json_t *env = envelope_of(r, &bad, err, errlen);
    if (bad) return XF_FAIL;
    if (!r->value.value) { /* a tombstone: only "op" can be told, and it is "d" */
        for (size_t i = 0; i < s->nheaders; i++)
            if (!s->headers[i].parent && strcmp(s->headers[i].field, "op") == 0) xf_header_add(r, s->headers[i].name, "d", 1);
        return s->keep_tombstones ? XF_KEEP : XF_DROP;
    }
    if (!env) return XF_KEEP;
    const json_t *env_schema = r->value.schema;
    for (size_t i = 0; i < s->nheaders; i++) {
        json_t *v;
        const json_t *vs;
        if (ref_lookup(&s->headers[i], env, env_schema, &v, &vs)) header_add_json(r, s->headers[i].name, v);
    }
    json_t *after = json_object_get(env, "after"), *before = json_object_get(env, "before");
    int has_after = json_is_object(after), has_before = json_is_object(before);
    if (!has_after && !has_before) return XF_DROP; /* a truncate, dropped as Debezium does */
    json_t *value = NULL, *schema = NULL;
    const char *row = has_after ? "after" : "before";
    if (has_after) {
        extract_row(s, env, env_schema, "after", s->rewrite ? "false" : NULL, &value, &schema);
    } else if (s->on_delete == DELETE_DROP) {
        return XF_DROP;
    } else if (s->on_delete == DELETE_REWRITE) {
        extract_row(s, env, env_schema, "before", "true", &value, &schema);
    } else if (s->on_delete == DELETE_NULL_VALUE && env_schema) {
        /* The value is null but keeps the row's schema, as Debezium's (the JDBC sink reads it as a delete). */
        const json_t *fs = xf_schema_field(env_schema, "after");
        schema = fs ? schema_of_field(fs) : NULL;
    }
    const char *topic = NULL;
    if (s->route_by) {
        json_t *t = json_object_get(json_object_get(env, row), s->route_by);
        if (t && !json_is_string(t) && !json_is_null(t)) {
            snprintf(err, errlen, "route.by.field '%s' is not a string in the %s row", s->route_by, row);
            json_decref(value);
            json_decref(schema);
            return XF_FAIL;
        }
        topic = json_string_value(t);
    }
    if (topic && *topic) xf_record_set_topic(r, topic); /* topic is env's: before env goes */
    xf_data_set(&r->value, value, schema);
    return XF_KEEP;
}

/* ---- EventRouter: the outbox ---------------------------------------------------------------- */

typedef enum placement { PLACE_HEADER, PLACE_ENVELOPE, PLACE_PARTITION } placement_t;

typedef struct extra_field {
    char *field, *alias;
    placement_t placement;
} extra_field_t;

typedef struct event_router {
    char *id, *key, *payload, *timestamp, *route_by, *replacement;
    xf_regex_t re;
    extra_field_t *extras;
    size_t nextras;
    int in_envelope;      /* some extra field goes into the value: it becomes {"payload", …} */
    int ignore_missing;   /* table.field.additional.missing: ignore (else error) */
    int fail_on_update;   /* table.op.invalid.behavior: fatal */
    int tombstone_on_empty, expand_json;
} event_router_t;

static const char *const event_router_options[] = {
    "table.field.event.id",       "table.field.event.key",          "table.field.event.type",
    "table.field.event.payload",  "table.field.event.timestamp",    "table.fields.additional.placement",
    "table.field.additional.missing", "table.op.invalid.behavior",  "route.by.field",
    "route.topic.regex",          "route.topic.replacement",        "route.tombstone.on.empty.payload",
    "table.expand.json.payload",  NULL};

static void event_router_free(void *state)
{
    event_router_t *s = state;
    free(s->id), free(s->key), free(s->payload), free(s->timestamp), free(s->route_by), free(s->replacement);
    xf_regex_free(&s->re);
    for (size_t i = 0; i < s->nextras; i++) free(s->extras[i].field), free(s->extras[i].alias);
    free(s->extras);
    free(s);
}

static char *opt_or(const xf_opts_t *o, const char *key, const char *dflt)
{
    const char *v = xf_opt(o, key);
    return str_dup(v && *v ? v : dflt);
}

/* table.fields.additional.placement: "field:header[:alias],field:envelope[:alias],field:partition". */
static int extras_parse(event_router_t *s, const xf_opts_t *o, char *err, size_t errlen)
{
    char **items;
    size_t n = xf_opt_list(o, "table.fields.additional.placement", &items);
    s->extras = xcalloc(n + 1, sizeof(*s->extras));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *parts[3] = {NULL, NULL, NULL}, *save = NULL, *copy = str_dup(items[i]);
        size_t np = 0;
        for (char *t = strtok_r(copy, ":", &save); t && np < 3; t = strtok_r(NULL, ":", &save)) parts[np++] = t;
        placement_t p = PLACE_HEADER;
        if (np < 2 || strtok_r(NULL, ":", &save)) rc = -1;
        else if (!strcmp(parts[1], "header")) p = PLACE_HEADER;
        else if (!strcmp(parts[1], "envelope")) p = PLACE_ENVELOPE, s->in_envelope = 1;
        else if (!strcmp(parts[1], "partition")) p = PLACE_PARTITION;
        else rc = -1;
        if (rc == 0) {
            extra_field_t *x = &s->extras[s->nextras++];
            x->field = str_dup(parts[0]);
            x->alias = str_dup(np == 3 ? parts[2] : parts[0]);
            x->placement = p;
        } else {
            snprintf(err, errlen, "option 'table.fields.additional.placement': '%s' is not field:header, "
                     "field:envelope or field:partition (with an optional :alias)", items[i]);
        }
        free(copy);
    }
    xf_list_free(items, n);
    return rc;
}

/* Options that take one of a few words; -1 with err for others. */
static int opt_choice(const xf_opts_t *o, const char *key, const char *const *words, char *err, size_t errlen)
{
    const char *v = xf_opt(o, key);
    if (!v) return 0;
    for (int i = 0; words[i]; i++)
        if (strcasecmp(v, words[i]) == 0) return i;
    snprintf(err, errlen, "option '%s': '%s' is not one of %s%s%s%s%s", key, v, words[0], words[1] ? ", " : "",
             words[1] ? words[1] : "", words[1] && words[2] ? ", " : "", words[1] && words[2] ? words[2] : "");
    return -1;
}

static void *event_router_init(const xf_opts_t *o, xf_side_t side, char *err, size_t errlen)
{
    (void)side;
    static const char *const missing[] = {"error", "ignore", NULL}, *const invalid[] = {"warn", "error", "fatal", NULL};
    event_router_t *s = xcalloc(1, sizeof(*s));
    s->id = opt_or(o, "table.field.event.id", "id");
    s->key = opt_or(o, "table.field.event.key", "aggregateid");
    s->payload = opt_or(o, "table.field.event.payload", "payload");
    s->timestamp = xf_opt(o, "table.field.event.timestamp") ? opt_or(o, "table.field.event.timestamp", "") : NULL;
    s->route_by = opt_or(o, "route.by.field", "aggregatetype");
    s->replacement = opt_or(o, "route.topic.replacement", "outbox.event.${routedByValue}");
    char *regex = opt_or(o, "route.topic.regex", "(?<routedByValue>.*)");
    int miss = opt_choice(o, "table.field.additional.missing", missing, err, errlen);
    int inv = miss < 0 ? -1 : opt_choice(o, "table.op.invalid.behavior", invalid, err, errlen);
    s->ignore_missing = miss == 1;
    s->fail_on_update = inv == 2;
    int rc = inv < 0 ? -1 : 0;
    if (rc == 0) s->tombstone_on_empty = xf_opt_bool(o, "route.tombstone.on.empty.payload", 0, err, errlen);
    if (rc == 0 && s->tombstone_on_empty >= 0) s->expand_json = xf_opt_bool(o, "table.expand.json.payload", 0, err, errlen);
    if (rc == 0 && (s->tombstone_on_empty < 0 || s->expand_json < 0)) rc = -1;
    if (rc == 0 && (xf_regex_compile(&s->re, regex, err, errlen) != 0 ||
                    xf_regex_check_replacement(&s->re, s->replacement, err, errlen) != 0 ||
                    extras_parse(s, o, err, errlen) != 0))
        rc = -1;
    free(regex);
    if (rc != 0) {
        event_router_free(s);
        return NULL;
    }
    return s;
}

/* The outbox row's field: 1 and *value (borrowed, NULL for null) and
 * *fschema (borrowed, NULL schemaless), or 0 when the row has no such field. */
static int row_field(const json_t *row, const json_t *row_schema, const char *name, json_t **value,
                     const json_t **fschema)
{
    *fschema = row_schema ? xf_schema_field(row_schema, name) : NULL;
    *value = json_object_get(row, name);
    if (*value && json_is_null(*value)) *value = NULL;
    return row_schema ? *fschema != NULL : json_object_get(row, name) != NULL;
}

/* The event's time: table.field.event.timestamp when set and not null
 * (Timestamp, MicroTimestamp or NanoTimestamp), else the envelope's ts_ms. */
static int event_time(const event_router_t *s, const json_t *env, const json_t *row, const json_t *row_schema,
                      int64_t *ms, char *err, size_t errlen)
{
    json_t *v = NULL;
    const json_t *fs = NULL;
    if (s->timestamp && !row_field(row, row_schema, s->timestamp, &v, &fs)) {
        snprintf(err, errlen, "Unable to find timestamp field %s in event", s->timestamp);
        return -1;
    }
    if (!json_is_integer(v)) {
        v = json_object_get(env, "ts_ms");
        if (json_is_integer(v)) *ms = json_integer_value(v);
        return 0;
    }
    const char *name = fs ? json_string_value(json_object_get(fs, "name")) : "io.debezium.time.Timestamp";
    int64_t t = json_integer_value(v);
    if (name && (!strcmp(name, "org.apache.kafka.connect.data.Timestamp") || !strcmp(name, "io.debezium.time.Timestamp")))
        *ms = t;
    else if (name && !strcmp(name, "io.debezium.time.MicroTimestamp")) *ms = t / 1000;
    else if (name && !strcmp(name, "io.debezium.time.NanoTimestamp")) *ms = t / 1000000;
    else {
        snprintf(err, errlen, "Unsupported field type %s for event timestamp", name ? name : "(without logical schema name)");
        return -1;
    }
    return 0;
}

/* The envelope struct's schema name: "<prefix>.<routed>.Envelope" from
 * the change event's "<prefix>.Envelope". */
static char *envelope_schema_name(const json_t *env_schema, const char *routed)
{
    const char *name = json_string_value(json_object_get(env_schema, "name"));
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!name) return str_dup(routed);
    if (!dot) return str_printf("%s.%s", routed, name);
    return str_printf("%.*s%s.%s", (int)(dot - name + 1), name, routed, dot + 1);
}

/* Headers, partition and envelope fields from table.fields.additional.placement. */
static int event_extras(const event_router_t *s, xf_record_t *r, const json_t *row, const json_t *row_schema,
                        json_t *out, json_t *out_schema, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->nextras; i++) {
        const extra_field_t *x = &s->extras[i];
        json_t *v;
        const json_t *fs;
        if (!row_field(row, row_schema, x->field, &v, &fs)) {
            if (s->ignore_missing) continue;
            snprintf(err, errlen, "Unable to find field %s in event", x->field);
            return -1;
        }
        if (x->placement == PLACE_HEADER) header_add_json(r, x->alias, v);
        else if (x->placement == PLACE_PARTITION) r->partition = json_is_integer(v) ? (int32_t)json_integer_value(v) : -1;
        else {
            json_object_set(out, x->alias, v ? v : json_null());
            if (out_schema) schema_append(out_schema, field_entry(schema_of_field(fs), x->alias));
        }
    }
    return 0;
}

/* A JSON string payload holding an object or an array, parsed
 * (table.expand.json.payload); anything else stays as it is. */
static json_t *expand_payload(json_t *payload)
{
    const char *text = json_string_value(payload);
    if (!text || (text[0] != '{' && text[0] != '[')) return json_incref(payload);
    json_t *parsed = json_loads(text, JSON_DECODE_ANY, NULL);
    return parsed ? parsed : json_incref(payload);
}

static int payload_is_empty(const json_t *payload)
{
    const char *t = json_string_value(payload);
    if (!payload) return 1;
    if (!t) return 0;
    while (isspace((unsigned char)*t)) t++;
    return *t == '\0';
}

static xf_result_t event_router_emit(const event_router_t *s, xf_record_t *r, const json_t *env, char *err,
                                     size_t errlen)
{
    json_t *row = json_object_get(env, "after");
    const json_t *env_schema = r->value.schema;
    const json_t *after_fs = env_schema ? xf_schema_field(env_schema, "after") : NULL;
    const json_t *row_schema = after_fs;
    json_t *payload, *id, *key, *routed;
    const json_t *payload_fs, *id_fs, *key_fs, *routed_fs;
    int64_t ts = r->timestamp_ms;
    if (!json_is_object(row)) {
        snprintf(err, errlen, "Only Struct objects supported for [Read Outbox Event], found: %s",
                 row ? "a non-object \"after\"" : "null");
        return XF_FAIL;
    }
    if (!row_field(row, row_schema, s->payload, &payload, &payload_fs)) {
        snprintf(err, errlen, "Unable to find payload field %s in event", s->payload);
        return XF_FAIL;
    }
    if (!row_field(row, row_schema, s->id, &id, &id_fs)) {
        snprintf(err, errlen, "Unable to find event-id field %s in event", s->id);
        return XF_FAIL;
    }
    if (!row_field(row, row_schema, s->route_by, &routed, &routed_fs) || !json_is_string(routed)) {
        snprintf(err, errlen, "route.by.field '%s' is %s in the outbox row", s->route_by,
                 routed ? "not a string" : "missing or null");
        return XF_FAIL;
    }
    int has_key = row_field(row, row_schema, s->key, &key, &key_fs);
    if (event_time(s, env, row, row_schema, &ts, err, errlen) != 0) return XF_FAIL;
    /* Expansion needs the payload's schema worked out from its JSON: schemaless only. */
    json_t *body = s->expand_json && !env_schema ? expand_payload(payload) : json_incref(payload);
    json_t *out = NULL, *out_schema = NULL;
    if (s->in_envelope) {
        out = json_object();
        json_object_set(out, "payload", body ? body : json_null());
        if (env_schema) {
            char *name = envelope_schema_name(env_schema, json_string_value(routed));
            out_schema = json_pack("{s:s, s:[o], s:b, s:s}", "type", "struct", "fields",
                                   field_entry(schema_of_field(payload_fs), "payload"), "optional", 0, "name", name);
            free(name);
        }
    }
    header_add_json(r, "id", id);
    r->partition = -1; /* Debezium leaves it to the partitioner unless a field is placed there */
    if (event_extras(s, r, row, row_schema, out, out_schema, err, errlen) != 0) {
        json_decref(body), json_decref(out), json_decref(out_schema);
        return XF_FAIL;
    }
    char *topic;
    if (!xf_regex_replace(&s->re, json_string_value(routed), s->replacement, &topic))
        topic = str_dup(json_string_value(routed));
    xf_record_set_topic(r, topic);
    free(topic);
    r->timestamp_ms = ts;
    xf_data_set(&r->key, has_key && key ? json_incref(key) : NULL,
                env_schema ? (has_key ? schema_of_field(key_fs) : xf_schema_primitive("string", 0)) : NULL);
    if (s->tombstone_on_empty && payload_is_empty(payload)) {
        json_decref(body), json_decref(out), json_decref(out_schema);
        xf_data_set(&r->value, NULL, NULL);
    } else if (s->in_envelope) {
        json_decref(body);
        xf_data_set(&r->value, out, out_schema);
    } else {
        xf_data_set(&r->value, body, env_schema ? schema_of_field(payload_fs) : NULL);
    }
    return XF_KEEP;
}

static xf_result_t event_router_apply(void *state, xf_record_t *r, char *err, size_t errlen)
{
    event_router_t *s = state;
    int bad;
    json_t *env = envelope_of(r, &bad, err, errlen);
    if (bad) return XF_FAIL;
    if (!r->value.value) return XF_DROP; /* tombstones are ignored */
    if (!env) return XF_KEEP;
    const char *op = json_string_value(json_object_get(env, "op"));
    if (op && !strcmp(op, "d")) return XF_DROP; /* the outbox row's deletion is no event */
    if (op && !strcmp(op, "u")) {
        if (!s->fail_on_update) return XF_DROP;
        snprintf(err, errlen, "Unexpected update message received (an outbox row is only inserted), fail.");
        return XF_FAIL;
    }
    return event_router_emit(s, r, env, err, errlen);
}

/* ---- the types ------------------------------------------------------------------------------- */

static const xf_type_t extract_new_record_state = {"ExtractNewRecordState", DEBEZIUM_PKG, XF_SIDE_NONE,
                                                   extract_state_options, extract_state_init,
                                                   extract_state_apply, extract_state_free};
static const xf_type_t event_router = {"EventRouter", OUTBOX_PKG, XF_SIDE_NONE, event_router_options,
                                       event_router_init, event_router_apply, event_router_free};

const xf_type_t *const xf_types_debezium[] = {&extract_new_record_state, &event_router, NULL};
