/*
 * pg_schema.c — Kafka Connect schemas for postgres-cdc's records, as
 * Debezium's PostgreSQL connector declares them, for tasks whose converter
 * writes schemas (JsonConverter with schemas.enable: true; the host says so
 * through converter_schemas, SDK 1.2). The record then leaves as
 * {"schema":...,"payload":...} flagged as an envelope, and the converter
 * writes it unparsed; without schemas nothing here runs.
 *
 * Per table: the key schema (<topic>.Key: the key columns, required) and the
 * value schema (<topic>.Envelope, version 2: before/after as <topic>.Value,
 * Debezium's Source block, the transaction block, op, ts_ms/us/ns). A
 * column's schema follows its type (and typmod) with Debezium's defaults:
 * Decimal / VariableScaleDecimal for numeric, io.debezium.time.* by
 * precision (adaptive), Json, Uuid, Xml, Bits, arrays of the element's
 * schema; "optional" is the column's nullability and "default" its default
 * when that is a literal. Built once per relation and kept until the
 * relation changes (a Relation message, or another column list).
 *
 * Floor: record building, beside pg_record.c; asks the catalog (pg_conn.c)
 * for nullability and defaults.
 */
#include "pg_conn.h"

#include <stdlib.h>
#include <string.h>

/* Built-in type oids (pg_type.dat). */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_CHAR = 18, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23,
    OID_TEXT = 25, OID_OID = 26, OID_JSON = 114, OID_XML = 142, OID_POINT = 600, OID_FLOAT4 = 700,
    OID_FLOAT8 = 701, OID_MONEY = 790, OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_DATE = 1082,
    OID_TIME = 1083, OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184, OID_INTERVAL = 1186, OID_TIMETZ = 1266,
    OID_BIT = 1560, OID_VARBIT = 1562, OID_NUMERIC = 1700, OID_UUID = 2950, OID_JSONB = 3802
};

/* Built-in array type oids and their element types. */
static const uint32_t builtin_arrays[][2] = {
    {1000, OID_BOOL}, {1001, OID_BYTEA}, {1002, OID_CHAR}, {1003, OID_NAME}, {1005, OID_INT2},
    {1007, OID_INT4}, {1009, OID_TEXT}, {1014, OID_BPCHAR}, {1015, OID_VARCHAR}, {1016, OID_INT8},
    {1021, OID_FLOAT4}, {1022, OID_FLOAT8}, {1028, OID_OID}, {1115, OID_TIMESTAMP}, {1182, OID_DATE},
    {1183, OID_TIME}, {1185, OID_TIMESTAMPTZ}, {1187, OID_INTERVAL}, {1231, OID_NUMERIC},
    {1270, OID_TIMETZ}, {199, OID_JSON}, {143, OID_XML}, {2951, OID_UUID}, {3807, OID_JSONB},
    {791, OID_MONEY}, {1561, OID_BIT}, {1563, OID_VARBIT},
};

/* One column of a table as the catalog describes it. */
typedef struct pg_colmeta {
    char *name;
    int notnull;
    char *default_text; /* the default as Debezium reads it (text for the formatter), or NULL */
    char *enum_values;  /* an enum's labels in order, comma-separated, or NULL */
} pg_colmeta_t;

struct pg_schema_entry {
    uint32_t oid;
    uint64_t sig;      /* of the relation's column list: another list, another schema */
    char *key_schema;  /* NULL: the table has no key */
    char *value_schema;
};

/* ---- catalog: nullability and literal defaults ---------------------------------------- */

/* Default values, as Debezium's PostgreSQL connector reads them: only for
 * some built-in types (not domains, enums, arrays, bytea, money, ...); a
 * function call ("nextval(...)", "now()") stands for the type's placeholder
 * below; otherwise the text between the first pair of quotes, or the whole
 * expression when it has none ("1.5", "true"); NULL::type is no default.
 * The text then goes through the value formatter like a column value. */
static const struct {
    uint32_t oid;
    const char *generated; /* what a function-call default stands for; NULL: none */
} default_types[] = {
    {OID_BIT, "00"}, {OID_VARBIT, "0"}, {OID_BOOL, "false"}, {OID_BPCHAR, ""}, {OID_VARCHAR, ""},
    {OID_TEXT, ""}, {OID_NUMERIC, "0.0"}, {OID_FLOAT4, "0.0"}, {OID_FLOAT8, "0.0"}, {OID_INT2, "0"},
    {OID_INT4, "0"}, {OID_INT8, "0"}, {OID_JSON, "{}"}, {OID_JSONB, "{}"}, {OID_XML, ""},
    {OID_UUID, "00000000-0000-0000-0000-000000000000"}, {OID_DATE, "1970-01-01"}, {OID_TIME, "00:00"},
    {OID_TIMESTAMP, "1970-01-01 00:00:00"}, {OID_TIMESTAMPTZ, "1970-01-01 00:00:00+00"},
};

/* 1 when expr starts with a function call: name(...) or (name(...). */
static int is_function_call(const char *expr)
{
    const char *p = expr;
    if (*p == '(')
        p++;
    const char *name = p;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    return p > name && *p == '(' && strchr(p, ')') != NULL;
}

/* The default's text for a column of type oid, or NULL when Debezium gives
 * the column none. */
static char *default_text(uint32_t oid, const char *expr)
{
    const char *generated = NULL;
    int known = 0;
    for (size_t i = 0; i < sizeof(default_types) / sizeof(default_types[0]); i++)
        if (default_types[i].oid == oid) {
            generated = default_types[i].generated;
            known = 1;
        }
    if (!known || strncmp(expr, "NULL::", 6) == 0)
        return NULL;
    if (is_function_call(expr))
        return generated ? strdup(generated) : NULL;
    if (oid == OID_BOOL) /* Java's Boolean.parseBoolean */
        return strdup(strcmp(expr, "true") == 0 ? "t" : "f");
    const char *q = strchr(expr, '\'');
    if (!q)
        return strdup(expr);
    const char *end = strchr(q + 1, '\'');
    if (!end)
        return NULL;
    char *s = malloc((size_t)(end - q));
    if (s) {
        memcpy(s, q + 1, (size_t)(end - q - 1));
        s[end - q - 1] = '\0';
    }
    return s;
}

static void colmeta_free(pg_colmeta_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].default_text);
        free(m[i].enum_values);
    }
    free(m);
}

/* The table's columns from the catalog; NULL (and ctx->lookup_failed) when
 * the lookup failed. */
static pg_colmeta_t *colmeta_lookup(pg_ctx_t *ctx, uint32_t oid, size_t *count)
{
    char oidbuf[16];
    snprintf(oidbuf, sizeof(oidbuf), "%u", oid);
    const char *params[1] = {oidbuf};
    ferry_status_t st;
    ferry_error_t err;
    PGresult *res = pg_query(ctx, ctx->sql,
                             "SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.atttypid, "
                             "(SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e "
                             "WHERE e.enumtypid = a.atttypid) FROM pg_attribute a "
                             "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                             "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped",
                             1, params, PGRES_TUPLES_OK, "looking up a table's columns for its schema", &st, &err);
    if (!res) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "%s", err.msg);
        ctx->lookup_failed = 1;
        return NULL;
    }
    size_t n = (size_t)PQntuples(res);
    pg_colmeta_t *m = calloc(n ? n : 1, sizeof(*m));
    for (size_t i = 0; m && i < n; i++) {
        m[i].name = strdup(PQgetvalue(res, (int)i, 0));
        m[i].notnull = PQgetvalue(res, (int)i, 1)[0] == 't';
        uint32_t type = (uint32_t)strtoul(PQgetvalue(res, (int)i, 3), NULL, 10);
        if (!PQgetisnull(res, (int)i, 2))
            m[i].default_text = default_text(type, PQgetvalue(res, (int)i, 2));
        if (!PQgetisnull(res, (int)i, 4))
            m[i].enum_values = strdup(PQgetvalue(res, (int)i, 4));
    }
    PQclear(res);
    if (!m)
        ctx->lookup_failed = 1;
    *count = n;
    return m;
}

static const pg_colmeta_t *colmeta_find(const pg_colmeta_t *m, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].name && strcmp(m[i].name, name) == 0)
            return &m[i];
    return NULL;
}

/* ---- column schemas ------------------------------------------------------------------------ */

/* Follows domains down to their base type; arrays come back as 'a' with
 * *elem set. */
static uint32_t resolve(const pg_ctx_t *ctx, uint32_t oid, char *kind, uint32_t *elem, int32_t *typmod)
{
    *kind = 0;
    for (int depth = 0; depth < 16; depth++) {
        for (size_t i = 0; i < sizeof(builtin_arrays) / sizeof(builtin_arrays[0]); i++)
            if (builtin_arrays[i][0] == oid) {
                *kind = 'a';
                *elem = builtin_arrays[i][1];
                return oid;
            }
        if (oid < 10000 || !ctx->types.resolve)
            return oid;
        uint32_t base = 0, el = 0;
        int32_t base_typmod = -1;
        char k = ctx->types.resolve(ctx->types.ctx, oid, &base, &base_typmod, &el);
        if (k == 'd' && base) {
            /* A domain is its base type, with the domain's typmod. */
            oid = base;
            if (base_typmod >= 0)
                *typmod = base_typmod;
            continue;
        }
        if (k == 'a') {
            *kind = 'a';
            *elem = el;
        } else {
            *kind = k;
        }
        return oid;
    }
    return oid;
}

/* The (type, logical name, version, parameters) of a scalar type. */
typedef struct scalar {
    const char *type;
    const char *name;   /* NULL: none */
    char params[96];    /* JSON members of "parameters", or "" */
    const char *doc;    /* NULL: none */
    int struct_kind;    /* 1: VariableScaleDecimal, 2: Point */
} scalar_t;

static scalar_t scalar_of(uint32_t oid, int32_t typmod, const pg_format_t *f)
{
    scalar_t s = {.type = "string"};
    /* decimal.handling.mode double / string; binary.handling.mode other
     * than bytes; time.precision.mode connect / isostring;
     * interval.handling.mode string. */
    if ((oid == OID_NUMERIC || oid == OID_MONEY) && f->decimal != PG_DECIMAL_PRECISE) {
        s.type = f->decimal == PG_DECIMAL_DOUBLE ? "double" : "string";
        return s;
    }
    if (oid == OID_BYTEA && f->binary != PG_BINARY_BYTES)
        return s;
    if (f->time == PG_TIME_CONNECT && (oid == OID_DATE || oid == OID_TIME || oid == OID_TIMESTAMP)) {
        s.type = oid == OID_TIMESTAMP ? "int64" : "int32";
        s.name = oid == OID_DATE   ? "org.apache.kafka.connect.data.Date"
                 : oid == OID_TIME ? "org.apache.kafka.connect.data.Time"
                                   : "org.apache.kafka.connect.data.Timestamp";
        return s;
    }
    if (f->time == PG_TIME_ISOSTRING && (oid == OID_DATE || oid == OID_TIME || oid == OID_TIMESTAMP)) {
        s.name = oid == OID_DATE ? "io.debezium.time.IsoDate"
                 : oid == OID_TIME ? "io.debezium.time.IsoTime" : "io.debezium.time.IsoTimestamp";
        return s;
    }
    if (oid == OID_INTERVAL && f->interval == PG_INTERVAL_STRING) {
        s.name = "io.debezium.time.Interval";
        return s;
    }
    switch (oid) {
    case OID_BOOL: s.type = "boolean"; break;
    case OID_INT2: s.type = "int16"; break;
    case OID_INT4: s.type = "int32"; break;
    case OID_INT8:
    case OID_OID: s.type = "int64"; break;
    case OID_FLOAT4: s.type = "float"; break;
    case OID_FLOAT8: s.type = "double"; break;
    case OID_BYTEA: s.type = "bytes"; break;
    case OID_NUMERIC:
        if (typmod >= 4) {
            int32_t t = typmod - 4;
            s.type = "bytes";
            s.name = "org.apache.kafka.connect.data.Decimal";
            snprintf(s.params, sizeof(s.params), "\"scale\":\"%d\",\"connect.decimal.precision\":\"%d\"",
                     (int)(t & 0xffff), (int)((t >> 16) & 0xffff));
        } else {
            s.type = "struct";
            s.name = "io.debezium.data.VariableScaleDecimal";
            s.doc = "Variable scaled decimal";
            s.struct_kind = 1;
        }
        break;
    case OID_MONEY:
        s.type = "bytes";
        s.name = "org.apache.kafka.connect.data.Decimal";
        snprintf(s.params, sizeof(s.params), "\"scale\":\"%d\"", f->money_digits_set ? f->money_digits : 2);
        break;
    case OID_DATE: s.type = "int32"; s.name = "io.debezium.time.Date"; break;
    case OID_TIME:
        if (typmod >= 0 && typmod <= 3 && f->time != PG_TIME_ADAPTIVE_MICROS) {
            s.type = "int32";
            s.name = "io.debezium.time.Time";
        } else {
            s.type = "int64";
            s.name = "io.debezium.time.MicroTime";
        }
        break;
    case OID_TIMESTAMP:
        s.type = "int64";
        s.name = typmod >= 0 && typmod <= 3 ? "io.debezium.time.Timestamp" : "io.debezium.time.MicroTimestamp";
        break;
    case OID_TIMETZ: s.name = "io.debezium.time.ZonedTime"; break;
    case OID_TIMESTAMPTZ: s.name = "io.debezium.time.ZonedTimestamp"; break;
    case OID_INTERVAL: s.type = "int64"; s.name = "io.debezium.time.MicroDuration"; break;
    case OID_UUID: s.name = "io.debezium.data.Uuid"; break;
    case OID_JSON:
    case OID_JSONB: s.name = "io.debezium.data.Json"; break;
    case OID_XML: s.name = "io.debezium.data.Xml"; break;
    case OID_BIT:
    case OID_VARBIT:
        if (oid == OID_BIT && typmod == 1) {
            s.type = "boolean";
        } else {
            s.type = "bytes";
            s.name = "io.debezium.data.Bits";
            snprintf(s.params, sizeof(s.params), "\"length\":\"%d\"", typmod > 0 ? (int)typmod : 2147483647);
        }
        break;
    case OID_POINT:
        s.type = "struct";
        s.name = "io.debezium.data.geometry.Point";
        s.doc = "Geometry (POINT)";
        s.struct_kind = 2;
        break;
    default: break;
    }
    return s;
}

/* Everything of a (non-array) type's schema up to and including "optional":. */
static void scalar_head(pg_buf_t *out, const scalar_t *s)
{
    pg_buf_printf(out, "{\"type\":\"%s\",", s->type);
    if (s->struct_kind == 1)
        pg_buf_puts(out, "\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
                         "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],");
    else if (s->struct_kind == 2)
        pg_buf_puts(out, "\"fields\":[{\"type\":\"double\",\"optional\":false,\"field\":\"x\"},"
                         "{\"type\":\"double\",\"optional\":false,\"field\":\"y\"},"
                         "{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"},"
                         "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],");
    pg_buf_puts(out, "\"optional\":");
}

/* The members after "optional": name, version, doc, parameters. */
static void scalar_tail(pg_buf_t *out, const scalar_t *s)
{
    if (s->name)
        pg_buf_printf(out, ",\"name\":\"%s\",\"version\":1", s->name);
    if (s->doc)
        pg_buf_printf(out, ",\"doc\":\"%s\"", s->doc);
    if (s->params[0])
        pg_buf_printf(out, ",\"parameters\":{%s}", s->params);
}

/* A column's schema without its closing brace: {"type":...,"optional":B,...
 * (the caller adds "default" and "field"). An array's elements keep the
 * column's typmod (numeric(5,2)[] has Decimal elements of scale 2); an
 * enum lists its labels (enum_values, from the catalog). Sets *type to the
 * Connect type written. */
static void column_schema(pg_buf_t *out, const pg_ctx_t *ctx, uint32_t oid, int32_t typmod, int optional,
                          const char *enum_values, int depth, const char **type)
{
    char kind;
    uint32_t elem = 0;
    uint32_t base = resolve(ctx, oid, &kind, &elem, &typmod);
    if (kind == 'a' && depth < 6) {
        const char *item_type;
        pg_buf_puts(out, "{\"type\":\"array\",\"items\":");
        column_schema(out, ctx, elem, typmod, 1, NULL, depth + 1, &item_type);
        pg_buf_printf(out, "},\"optional\":%s", optional ? "true" : "false");
        *type = "array";
        return;
    }
    if (kind == 'e') {
        pg_buf_printf(out, "{\"type\":\"string\",\"optional\":%s,\"name\":\"io.debezium.data.Enum\",\"version\":1",
                      optional ? "true" : "false");
        if (enum_values) {
            pg_buf_puts(out, ",\"parameters\":{\"allowed\":");
            pg_buf_json_string(out, enum_values, strlen(enum_values));
            pg_buf_puts(out, "}");
        }
        *type = "string";
        return;
    }
    if (kind == 'h') {
        if (ctx->format.hstore == PG_HSTORE_MAP) {
            pg_buf_printf(out, "{\"type\":\"map\",\"keys\":{\"type\":\"string\",\"optional\":false},"
                               "\"values\":{\"type\":\"string\",\"optional\":true},\"optional\":%s",
                          optional ? "true" : "false");
            *type = "map";
        } else {
            pg_buf_printf(out, "{\"type\":\"string\",\"optional\":%s,\"name\":\"io.debezium.data.Json\",\"version\":1",
                          optional ? "true" : "false");
            *type = "string";
        }
        return;
    }
    scalar_t s = scalar_of(base, typmod, &ctx->format);
    scalar_head(out, &s);
    pg_buf_puts(out, optional ? "true" : "false");
    scalar_tail(out, &s);
    *type = s.type;
}

/* 1 when the formatted default v fits a field of Connect type: numbers for
 * numeric types, true/false for boolean, a string for string and bytes. */
static int default_fits(const char *type, const pg_buf_t *v)
{
    if (!v->len)
        return 0;
    char c = v->data[0];
    if (!strcmp(type, "boolean"))
        return c == 't' || c == 'f';
    if (!strcmp(type, "string") || !strcmp(type, "bytes"))
        return c == '"';
    if (!strncmp(type, "int", 3) || !strcmp(type, "float") || !strcmp(type, "double"))
        return c == '-' || (c >= '0' && c <= '9');
    return 0; /* structs, arrays: Debezium gives none */
}

/* Appends "schema.table" as Debezium's schema names have it: the topic. */
static void topic_name(pg_buf_t *out, const pg_ctx_t *ctx, const pg_relation_t *rel, const char *suffix)
{
    pg_buf_t t = {0};
    pg_buf_printf(&t, "%s.%s.%s", ctx->prefix, rel->schema, rel->table);
    pg_topic_sanitize(&t);
    pg_buf_puts(&t, suffix);
    pg_buf_json_string(out, t.data, t.len);
    pg_buf_free(&t);
}

/* One field of a row struct. */
static void field_schema(pg_buf_t *out, pg_ctx_t *ctx, const pg_column_t *col, const pg_colmeta_t *meta, int key)
{
    const char *type;
    column_schema(out, ctx, col->type_oid, col->typmod, key ? 0 : !(meta && meta->notnull),
                  meta ? meta->enum_values : NULL, 0, &type);
    if (meta && meta->default_text) {
        pg_buf_t v = {0};
        pg_value_json(&v, col->type_oid, col->typmod, meta->default_text, strlen(meta->default_text), &ctx->format);
        if (default_fits(type, &v)) {
            pg_buf_puts(out, ",\"default\":");
            pg_buf_append(out, v.data, v.len);
        }
        pg_buf_free(&v);
    }
    pg_buf_puts(out, ",\"field\":");
    pg_buf_json_string(out, col->name, strlen(col->name));
    pg_buf_puts(out, "}");
}

static const char SOURCE_SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,\"parameters\":"
    "{\"allowed\":\"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental\"},"
    "\"default\":\"false\",\"field\":\"snapshot\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"origin\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"origin_lsn\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\",\"version\":1,\"field\":\"source\"}";

static const char TRANSACTION_SCHEMA[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],"
    "\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}";

/* The row struct <topic>.Value (or .Key: the key columns, required, in key
 * order), with the columns column.include/exclude.list keep. */
static void row_schema(pg_buf_t *out, pg_ctx_t *ctx, const pg_relation_t *rel, const int *key_idx, int nkey,
                       const pg_colmeta_t *meta, size_t nmeta, int key, const char *field)
{
    pg_buf_puts(out, "{\"type\":\"struct\",\"fields\":[");
    const unsigned char *keep = key ? NULL : pg_colmask(ctx, rel);
    int n = key ? nkey : rel->ncols;
    for (int k = 0, written = 0; k < n; k++) {
        int i = key ? key_idx[k] : k;
        if (keep && !keep[i])
            continue;
        if (written++)
            pg_buf_puts(out, ",");
        field_schema(out, ctx, &rel->cols[i], colmeta_find(meta, nmeta, rel->cols[i].name), key);
    }
    pg_buf_printf(out, "],\"optional\":%s,\"name\":", key ? "false" : "true");
    topic_name(out, ctx, rel, key ? ".Key" : ".Value");
    if (field) {
        pg_buf_puts(out, ",\"field\":");
        pg_buf_json_string(out, field, strlen(field));
    }
    pg_buf_puts(out, "}");
}

static uint64_t relation_sig(const pg_relation_t *rel)
{
    uint64_t h = 1469598103934665603ull;
#define MIX(p, n)                                                                                                \
    for (size_t k_ = 0; k_ < (n); k_++) h = (h ^ ((const unsigned char *)(p))[k_]) * 1099511628211ull
    MIX(rel->schema, strlen(rel->schema) + 1);
    MIX(rel->table, strlen(rel->table) + 1);
    MIX(&rel->replident, 1);
    for (int i = 0; i < rel->ncols; i++) {
        MIX(rel->cols[i].name, strlen(rel->cols[i].name) + 1);
        MIX(&rel->cols[i].type_oid, sizeof(rel->cols[i].type_oid));
        MIX(&rel->cols[i].typmod, sizeof(rel->cols[i].typmod));
        MIX(&rel->cols[i].is_key, sizeof(rel->cols[i].is_key));
    }
#undef MIX
    return h;
}

static void entry_free(pg_schema_entry_t *e)
{
    free(e->key_schema);
    free(e->value_schema);
    memset(e, 0, sizeof(*e));
}

/* The table's schemas, built on first use; NULL when the catalog lookup
 * failed (ctx->lookup_failed says so). */
static const pg_schema_entry_t *entry_for(pg_ctx_t *ctx, const pg_relation_t *rel)
{
    uint64_t sig = relation_sig(rel);
    pg_schema_entry_t *slot = NULL;
    for (size_t i = 0; i < ctx->nschemas; i++) {
        if (ctx->schemas[i].oid != rel->oid)
            continue;
        if (ctx->schemas[i].sig == sig)
            return &ctx->schemas[i];
        slot = &ctx->schemas[i];
        entry_free(slot);
        break;
    }
    size_t nmeta = 0;
    pg_colmeta_t *meta = colmeta_lookup(ctx, rel->oid, &nmeta);
    int *key_idx = malloc(((size_t)rel->ncols + 1) * sizeof(int));
    int nkey = key_idx ? pg_key_columns(ctx, rel, key_idx) : 0;
    if (!meta || !key_idx || ctx->lookup_failed) {
        colmeta_free(meta, nmeta);
        free(key_idx);
        ctx->lookup_failed = 1;
        return NULL;
    }
    if (!slot) {
        if (ctx->nschemas == ctx->capschemas) {
            size_t cap = ctx->capschemas ? ctx->capschemas * 2 : 8;
            pg_schema_entry_t *ns = realloc(ctx->schemas, cap * sizeof(*ns));
            if (!ns) {
                colmeta_free(meta, nmeta);
                free(key_idx);
                ctx->lookup_failed = 1;
                return NULL;
            }
            ctx->schemas = ns;
            ctx->capschemas = cap;
        }
        slot = &ctx->schemas[ctx->nschemas++];
        memset(slot, 0, sizeof(*slot));
    }
    slot->oid = rel->oid;
    slot->sig = sig;

    int has_key = nkey > 0;
    if (has_key) {
        pg_buf_t k = {0};
        row_schema(&k, ctx, rel, key_idx, nkey, meta, nmeta, 1, NULL);
        slot->key_schema = k.data;
    }
    pg_buf_t v = {0};
    pg_buf_puts(&v, "{\"type\":\"struct\",\"fields\":[");
    row_schema(&v, ctx, rel, key_idx, nkey, meta, nmeta, 0, "before");
    pg_buf_puts(&v, ",");
    row_schema(&v, ctx, rel, key_idx, nkey, meta, nmeta, 0, "after");
    pg_buf_puts(&v, ",");
    pg_buf_puts(&v, SOURCE_SCHEMA);
    pg_buf_puts(&v, ",");
    pg_buf_puts(&v, TRANSACTION_SCHEMA);
    pg_buf_puts(&v, ",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
                    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
                    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
                    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}],"
                    "\"optional\":false,\"name\":");
    topic_name(&v, ctx, rel, ".Envelope");
    pg_buf_puts(&v, ",\"version\":2}");
    slot->value_schema = v.data;
    colmeta_free(meta, nmeta);
    free(key_idx);
    if (!slot->value_schema || (has_key && !slot->key_schema)) {
        entry_free(slot);
        ctx->lookup_failed = 1;
        return NULL;
    }
    return slot;
}

/* ---- records ------------------------------------------------------------------------------- */

static void wrap(pg_buf_t *out, const char *schema, const void *payload, size_t len)
{
    pg_buf_reset(out);
    pg_buf_puts(out, "{\"schema\":");
    pg_buf_puts(out, schema);
    pg_buf_puts(out, ",\"payload\":");
    pg_buf_append(out, payload, len);
    pg_buf_puts(out, "}");
}

int pg_schema_wrap(pg_ctx_t *ctx, const pg_relation_t *rel, ferry_record_t *rec)
{
    if (!ctx->schemas_key && !ctx->schemas_value)
        return 0;
    const pg_schema_entry_t *e = entry_for(ctx, rel);
    if (!e)
        return -1;
    uint32_t flags = FERRY_RECORD_KEY_JSON | FERRY_RECORD_VALUE_JSON;
    if (ctx->schemas_key && rec->key && e->key_schema) {
        wrap(&ctx->skbuf, e->key_schema, rec->key, rec->key_len);
        rec->key = ctx->skbuf.data;
        rec->key_len = ctx->skbuf.len;
        flags = (flags & ~FERRY_RECORD_KEY_JSON) | FERRY_RECORD_KEY_ENVELOPE;
    }
    if (ctx->schemas_value && rec->value) {
        wrap(&ctx->svbuf, e->value_schema, rec->value, rec->value_len);
        rec->value = ctx->svbuf.data;
        rec->value_len = ctx->svbuf.len;
        flags = (flags & ~FERRY_RECORD_VALUE_JSON) | FERRY_RECORD_VALUE_ENVELOPE;
    }
    rec->flags = flags;
    return 0;
}

void pg_schema_forget(pg_ctx_t *ctx, uint32_t oid)
{
    for (size_t i = 0; i < ctx->nschemas; i++) {
        if (ctx->schemas[i].oid != oid)
            continue;
        entry_free(&ctx->schemas[i]);
        ctx->schemas[i] = ctx->schemas[--ctx->nschemas];
        return;
    }
}

void pg_schema_free(pg_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->nschemas; i++)
        entry_free(&ctx->schemas[i]);
    free(ctx->schemas);
    ctx->schemas = NULL;
    ctx->nschemas = ctx->capschemas = 0;
    pg_buf_free(&ctx->skbuf);
    pg_buf_free(&ctx->svbuf);
}
