/*
 * pgoutput.h — decoding PostgreSQL's logical replication protocol (pgoutput,
 * proto_version 1 and 2) and turning row images into JSON values.
 *
 * This is the contract between the decoder (pgoutput_decode.c, pg_types.c,
 * pg_envelope.c) and the connector (postgres.c, pg_stream.c, pg_snapshot.c).
 * Everything here is pure: no I/O, no libpq; callers own every buffer.
 * Threads: a decoder is used by one task thread only.
 */
#ifndef FERRY_PG_PGOUTPUT_H
#define FERRY_PG_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>

/* Growing byte buffer (NUL-terminated for convenience). */
typedef struct pg_buf {
    char *data;
    size_t len, cap;
} pg_buf_t;
void pg_buf_append(pg_buf_t *b, const void *data, size_t len);
void pg_buf_puts(pg_buf_t *b, const char *s);
void pg_buf_printf(pg_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pg_buf_reset(pg_buf_t *b); /* len = 0, keeps memory */
void pg_buf_free(pg_buf_t *b);
/* Appends s as a JSON string literal (quotes, escapes; UTF-8 kept raw). */
void pg_buf_json_string(pg_buf_t *b, const char *s, size_t len);

/* ---- relations (cached per relation id) --------------------------------- */
typedef struct pg_column {
    char *name;
    uint32_t type_oid;
    int32_t typmod;
    int is_key;          /* part of the replica identity (flag 1 in the Relation message) */
} pg_column_t;

typedef struct pg_relation {
    uint32_t oid;
    char *schema, *table;
    char replident;      /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    int ncols;
    pg_column_t *cols;
} pg_relation_t;

/* ---- row images ------------------------------------------------------------ */
typedef enum pg_datum_kind {
    PG_DATUM_NULL = 'n',
    PG_DATUM_UNCHANGED_TOAST = 'u',
    PG_DATUM_TEXT = 't',
    PG_DATUM_BINARY = 'b'
} pg_datum_kind_t;

typedef struct pg_datum {
    pg_datum_kind_t kind;
    const char *data; /* points into the message buffer; not NUL-terminated */
    uint32_t len;
} pg_datum_t;

typedef struct pg_tuple {
    int ncols;
    pg_datum_t *cols; /* owned by the message (see pgoutput_msg_t) */
} pg_tuple_t;

/* ---- messages ---------------------------------------------------------------- */
typedef enum pgoutput_kind {
    PGO_BEGIN = 'B', PGO_COMMIT = 'C', PGO_ORIGIN = 'O', PGO_RELATION = 'R', PGO_TYPE = 'Y',
    PGO_INSERT = 'I', PGO_UPDATE = 'U', PGO_DELETE = 'D', PGO_TRUNCATE = 'T', PGO_MESSAGE = 'M',
    PGO_STREAM_START = 'S', PGO_STREAM_STOP = 'E', PGO_STREAM_COMMIT = 'c', PGO_STREAM_ABORT = 'A'
} pgoutput_kind_t;

typedef struct pgoutput_msg {
    pgoutput_kind_t kind;
    uint32_t xid;              /* Begin, and every message inside a streamed transaction (v2); else 0 */
    /* Begin/Commit */
    uint64_t final_lsn;        /* Begin: LSN of the commit record */
    uint64_t commit_lsn, end_lsn; /* Commit */
    int64_t commit_ts_us;      /* Begin/Commit: microseconds since the Unix epoch (converted from the PG epoch) */
    /* Relation (also the cached relation for Insert/Update/Delete) */
    const pg_relation_t *rel;  /* owned by the decoder's cache */
    /* Insert: new; Update: old (kind 'K' key or 'O' old tuple, or none) + new; Delete: old */
    char old_kind;             /* 'K', 'O' or 0 */
    pg_tuple_t old_tuple, new_tuple;
    /* Truncate */
    int ntruncated;
    const pg_relation_t **truncated; /* owned by the msg */
    uint8_t truncate_flags;    /* 1 cascade, 2 restart identity */
    /* Origin */
    const char *origin_name; uint64_t origin_lsn;
    /* Type */
    uint32_t type_oid; const char *type_schema, *type_name;
    /* Message (pg_logical_emit_message) */
    int transactional; uint64_t message_lsn; const char *prefix; const char *content; uint32_t content_len;
    /* Stream commit/abort (v2) */
    uint32_t sub_xid;
} pgoutput_msg_t;

typedef struct pgoutput_decoder pgoutput_decoder_t;
pgoutput_decoder_t *pgoutput_decoder_new(int proto_version);
void pgoutput_decoder_free(pgoutput_decoder_t *dec);
/* Decodes one XLogData payload (the bytes after the 'w' header). Relation
 * messages update the cache (schema changes replace the entry). Returns 0, or
 * -1 with err filled ("pgoutput: truncated Insert message at byte 12", "unknown
 * relation id 16384", ...). msg stays valid until the next decode call. */
int pgoutput_decode(pgoutput_decoder_t *dec, const uint8_t *buf, size_t len, pgoutput_msg_t *msg,
                    char *err, size_t errlen);
/* Looks up a cached relation. A relation pointer (here, in msg->rel or
 * msg->truncated) stays valid until a Relation message for the same oid is
 * decoded (it replaces and frees the entry) or the decoder is freed. */
const pg_relation_t *pgoutput_relation(const pgoutput_decoder_t *dec, uint32_t oid);
/* 1 between a Stream Start and its Stream Stop (proto v2), else 0. */
int pgoutput_in_stream(const pgoutput_decoder_t *dec);

/* ---- values ------------------------------------------------------------------------ */
/* Type information beyond built-in oids (enums, domains, arrays of those,
 * hstore). The connector fills it from pg_type; the formatter asks it. */
typedef struct pg_type_resolver {
    /* Returns the category for a non-built-in oid: 'e' enum (→ string), 'd'
     * domain (then *base_oid and *base_typmod, the domain's typmod or -1, set),
     * 'a' array (then *elem_oid set), 'h' the hstore extension's type, 0
     * unknown (→ string). */
    char (*resolve)(void *ctx, uint32_t oid, uint32_t *base_oid, int32_t *base_typmod, uint32_t *elem_oid);
    void *ctx;
} pg_type_resolver_t;

/* Debezium's value options (PostgresConnectorConfig), one field each. */
typedef enum pg_decimal_mode { PG_DECIMAL_PRECISE, PG_DECIMAL_DOUBLE, PG_DECIMAL_STRING } pg_decimal_mode_t;
typedef enum pg_time_mode {
    PG_TIME_ADAPTIVE,              /* adaptive */
    PG_TIME_ADAPTIVE_MICROS,       /* adaptive_time_microseconds */
    PG_TIME_CONNECT,               /* connect */
    PG_TIME_ISOSTRING              /* isostring */
} pg_time_mode_t;
typedef enum pg_interval_mode { PG_INTERVAL_NUMERIC, PG_INTERVAL_STRING } pg_interval_mode_t;
typedef enum pg_hstore_mode { PG_HSTORE_JSON, PG_HSTORE_MAP } pg_hstore_mode_t;
typedef enum pg_binary_mode { PG_BINARY_BYTES, PG_BINARY_BASE64, PG_BINARY_BASE64_URL_SAFE, PG_BINARY_HEX } pg_binary_mode_t;

/* Everything that decides how a value is written: decimal.handling.mode,
 * time.precision.mode, interval.handling.mode, hstore.handling.mode,
 * binary.handling.mode, money.fraction.digits, unavailable.value.placeholder
 * and the type resolver. All-zero (or a NULL pointer) means Debezium's
 * defaults: precise, adaptive, numeric, json, bytes, 2 digits,
 * "__debezium_unavailable_value", no resolver. The same settings decide the
 * Connect schema of each column. */
typedef struct pg_format {
    pg_decimal_mode_t decimal;
    pg_time_mode_t time;
    pg_interval_mode_t interval;
    pg_hstore_mode_t hstore;
    pg_binary_mode_t binary;
    int money_digits;         /* 0..: money.fraction.digits; set money_digits_set */
    int money_digits_set;     /* 0: the default 2 */
    const char *unavailable;  /* NULL: "__debezium_unavailable_value" */
    const pg_type_resolver_t *types; /* may be NULL */
} pg_format_t;

/* Appends the JSON value for one datum in PostgreSQL text output format, as
 * Debezium's PostgreSQL connector (3.6) writes it through JsonConverter
 * without schemas. typmod is the column's (atttypmod; -1 none). The session
 * must use DateStyle=ISO, IntervalStyle=iso_8601, TimeZone=UTC,
 * extra_float_digits=3, bytea_output=hex, lc_monetary=C. Mapping (defaults
 * first, then the other modes):
 *   int2/int4/int8/oid → number; bool → true/false;
 *   float4/float8 → number (always with a fraction or exponent, as Java
 *     writes doubles), NaN/Infinity/-Infinity → string;
 *   numeric(p,s) precise → base64 of the unscaled value at scale s,
 *     big-endian two's complement, minimal length (Connect Decimal);
 *     numeric without typmod precise → {"scale":n,"value":base64} with
 *     trailing zeros stripped (VariableScaleDecimal); NaN/±Infinity → null;
 *     double → number (NaN, ±Infinity and numbers beyond the double range
 *     as the strings "NaN", "Infinity", "-Infinity"); string → the digits
 *     as PostgreSQL prints them, NaN/±Infinity as "NAN",
 *     "POSITIVE_INFINITY", "NEGATIVE_INFINITY";
 *   money → as numeric(∞, money.fraction.digits) (precise base64, double,
 *     string);
 *   date → days since 1970-01-01 (isostring: "2024-02-29Z");
 *   time(p) adaptive → p≤3 milliseconds, else microseconds since midnight;
 *     adaptive_time_microseconds and p>3 → microseconds; connect →
 *     milliseconds; isostring → "13:45:56.123456Z" (fraction trimmed);
 *   timestamp(p) adaptive/adaptive_time_microseconds → p≤3 milliseconds,
 *     else microseconds since the epoch; connect → milliseconds; isostring →
 *     "2024-02-29T13:45:56.123456Z" (fraction trimmed); ±infinity → the
 *     JDBC sentinels 9223372036825200000 / -9223372036832400000 (÷1000 in
 *     milliseconds; isostring formats them as microseconds), as Debezium;
 *   timestamptz(p) → UTC "2024-02-29T11:45:56.123456Z" with exactly p
 *     fraction digits (6 without typmod); timetz → UTC "11:45:56.5Z"
 *     (fraction without trailing zeros); date and timestamptz
 *     infinity/-infinity → as PostgreSQL prints them;
 *   interval numeric → microseconds (a month is 30.4375 days, a year 12
 *     months); string → "P1Y2M3DT4H5M6.789S" (every field, Debezium's form);
 *   bytea bytes/base64 → base64; base64-url-safe → URL-safe base64; hex →
 *     lowercase hex;
 *   bit(1)/varbit(1) → true/false; other bit/varbit → base64 of the bits as
 *     little-endian bytes, without high zero bytes (Debezium's Bits);
 *   point → {"x":..,"y":..,"wkb":base64,"srid":null};
 *   json/jsonb/xml → the document as a string; hstore json → a string
 *     holding a JSON object, map → a JSON object (null values kept; keys in
 *     the order Debezium's HashMap gives them);
 *   uuid, text, varchar, char, name, inet, cidr, macaddr, ranges, enums,
 *     and unknown types → string; domains → as their base type (with the
 *     domain's typmod);
 *   arrays → JSON arrays of the element type's values (NULL elements →
 *     null; nested arrays nested, where Debezium writes nulls).
 * NULL text → null. Text that does not have its type's shape is written as
 * a string (never a guessed value). */
void pg_value_json(pg_buf_t *out, uint32_t type_oid, int32_t typmod, const char *text, size_t len,
                   const pg_format_t *fmt);
/* As pg_value_json for a datum; an unchanged TOAST datum → the placeholder as
 * Debezium writes it for the type: a string; for bytea the placeholder's
 * bytes (base64) in bytes mode, the string in hex mode, null in the base64
 * modes; for text/varchar/json/jsonb arrays a one-string array; for
 * int4/int8/date arrays the placeholder's bytes as numbers; for hstore the
 * map {placeholder: placeholder} (in hstore.handling.mode). */
void pg_datum_json(pg_buf_t *out, uint32_t type_oid, int32_t typmod, const pg_datum_t *datum,
                   const pg_format_t *fmt);

/* ---- Debezium envelope ------------------------------------------------------------------- */
typedef struct pg_event_source {
    const char *version;   /* connector version */
    const char *name;      /* topic.prefix (Debezium's "name"/server name) */
    const char *db;        /* database name */
    int64_t ts_ms;         /* commit time in ms (snapshot: when the snapshot began) */
    int64_t ts_us;         /* the same in microseconds; 0: ts_ms * 1000 */
    const char *snapshot;  /* "first", "first_in_data_collection", "true", "last_in_data_collection", "last", "false" */
    uint64_t txid;         /* stream: the 32-bit xid; snapshot: txid_current() of the snapshot transaction */
    uint64_t lsn;
    /* source.sequence is the JSON string ["<last_commit_lsn>","<lsn>"]
     * (Debezium's ["lastCommitLsn","lsn"]); 0 writes null for the first. */
    uint64_t last_commit_lsn;
    uint64_t xmin;         /* 0: null (xmin.fetch.interval.ms is not supported) */
    const char *origin;    /* replication origin of the transaction, or NULL (origin and origin_lsn null) */
    uint64_t origin_lsn;
    const char *transaction; /* the "transaction" block as JSON, or NULL (null) */
    int64_t now_ns;        /* wall clock for the top-level ts_*; 0: now_ms * 1000000 */
} pg_event_source_t;

/* Appends a row image {"col":value,...} (all columns of the tuple, using the
 * relation's column names and types); key_only: only key columns. */
void pg_row_json(pg_buf_t *out, const pg_relation_t *rel, const pg_tuple_t *tuple, int key_only,
                 const pg_format_t *fmt);
/* Appends Debezium's change-event value:
 * {"before":..,"after":..,"source":{"version","connector":"postgresql","name","ts_ms","snapshot","db",
 * "sequence","ts_us","ts_ns","schema","table","txId","lsn","xmin","origin","origin_lsn"},"transaction":..,
 * "op":"c|u|d|r|t","ts_ms":now,"ts_us","ts_ns"} -- Debezium 3.x's fields in its order.
 * before/after: row JSON or null. op 't' (truncate) has before/after null. */
void pg_envelope_json(pg_buf_t *out, char op, const pg_relation_t *rel, const char *before_json,
                      const char *after_json, const pg_event_source_t *src, int64_t now_ms);

/* Replaces characters Kafka does not allow in topic names with '_'. */
void pg_topic_sanitize(pg_buf_t *topic);

/* Value of a hexadecimal digit, or -1. */
int pg_hex_digit(int c);

/* LSN text form "16/B374D848" <-> integer. */
int pg_lsn_parse(const char *s, uint64_t *out);
void pg_lsn_format(uint64_t lsn, char buf[32]);

/* ---- helpers shared by the decoder's files ------------------------------------------------ */
/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid/truncated. */
size_t pg_utf8_seq_len(const char *s, size_t len);
/* 1 if s is exactly one valid JSON document (RFC 8259, UTF-8), else 0. */
int pg_json_valid(const char *s, size_t len);

#endif
