/*
 * pgoutput_decode.c — decodes the messages of PostgreSQL's logical replication
 * protocol as written by the pgoutput plugin (proto_version 1 and 2; see
 * "Logical Replication Message Formats" in the PostgreSQL documentation).
 *
 * The input is untrusted: every read goes through a reader that checks the
 * remaining length first, and every count read from the wire is checked
 * against the bytes that are actually left before anything is allocated for
 * it, so truncated or garbage input yields an error message, never an
 * over-read or a huge allocation.
 *
 * Memory: the decoder owns the relation cache and scratch arrays (tuple
 * columns, truncated relations) that messages point into; strings and datum
 * bytes in a message point into the caller's input buffer. Both stay valid
 * until the next pgoutput_decode call (and the input buffer must live as long).
 */
#include "pgoutput.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC). */
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000)

/* ---- relation cache: open addressing keyed by oid (0 = empty slot) ------------------ */

struct pgoutput_decoder {
    int proto_version;
    int in_stream;          /* between Stream Start and Stream Stop (v2) */
    pg_relation_t **slots;  /* owned; each entry owned */
    size_t nslots, nrels;   /* nslots is 0 or a power of two; load kept ≤ 1/2 */
    /* Scratch owned by the decoder, reused by each message. */
    pg_datum_t *old_cols, *new_cols;
    int old_cap, new_cap;
    const pg_relation_t **truncated;
    int truncated_cap;
};

static size_t oid_hash(uint32_t oid)
{
    /* Relation oids are dense; a multiplicative hash spreads them. */
    return (size_t)(oid * UINT32_C(2654435761));
}

static void relation_free(pg_relation_t *rel)
{
    if (!rel)
        return;
    for (int i = 0; i < rel->ncols; i++)
        free(rel->cols[i].name);
    free(rel->cols);
    free(rel->schema);
    free(rel->table);
    free(rel);
}

static pg_relation_t **cache_slot(const pgoutput_decoder_t *dec, uint32_t oid)
{
    if (!dec->nslots)
        return NULL;
    size_t mask = dec->nslots - 1;
    for (size_t i = oid_hash(oid) & mask;; i = (i + 1) & mask) {
        pg_relation_t **slot = &dec->slots[i];
        if (!*slot || (*slot)->oid == oid)
            return slot;
    }
}

static int cache_grow(pgoutput_decoder_t *dec)
{
    size_t n = dec->nslots ? dec->nslots * 2 : 64;
    pg_relation_t **old = dec->slots;
    size_t oldn = dec->nslots;
    dec->slots = calloc(n, sizeof *dec->slots);
    if (!dec->slots) {
        dec->slots = old;
        return -1;
    }
    dec->nslots = n;
    for (size_t i = 0; i < oldn; i++)
        if (old[i])
            *cache_slot(dec, old[i]->oid) = old[i];
    free(old);
    return 0;
}

/* Takes ownership of rel; replaces (and frees) an entry with the same oid. */
static int cache_put(pgoutput_decoder_t *dec, pg_relation_t *rel)
{
    if ((dec->nrels + 1) * 2 > dec->nslots && cache_grow(dec) < 0)
        return -1;
    pg_relation_t **slot = cache_slot(dec, rel->oid);
    if (*slot)
        relation_free(*slot);
    else
        dec->nrels++;
    *slot = rel;
    return 0;
}

const pg_relation_t *pgoutput_relation(const pgoutput_decoder_t *dec, uint32_t oid)
{
    if (!dec || oid == 0)
        return NULL;
    pg_relation_t **slot = cache_slot(dec, oid);
    return slot ? *slot : NULL;
}

pgoutput_decoder_t *pgoutput_decoder_new(int proto_version)
{
    if (proto_version < 1 || proto_version > 2)
        return NULL;
    pgoutput_decoder_t *dec = calloc(1, sizeof *dec);
    if (dec)
        dec->proto_version = proto_version;
    return dec;
}

void pgoutput_decoder_free(pgoutput_decoder_t *dec)
{
    if (!dec)
        return;
    for (size_t i = 0; i < dec->nslots; i++)
        relation_free(dec->slots[i]);
    free(dec->slots);
    free(dec->old_cols);
    free(dec->new_cols);
    free(dec->truncated);
    free(dec);
}

/* ---- bounds-checked reader ------------------------------------------------------------ */

typedef struct reader {
    const uint8_t *p;
    size_t len, pos;
    const char *what; /* message name for errors */
    char *err;
    size_t errlen;
    int failed;
} reader_t;

static void rd_fail(reader_t *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rd_fail(reader_t *rd, const char *fmt, ...)
{
    if (rd->failed)
        return;
    rd->failed = 1;
    if (!rd->err || !rd->errlen)
        return;
    int n = snprintf(rd->err, rd->errlen, "pgoutput: ");
    if (n < 0 || (size_t)n >= rd->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rd->err + n, rd->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int rd_need(reader_t *rd, size_t n)
{
    if (rd->failed)
        return 0;
    if (rd->len - rd->pos < n) {
        rd_fail(rd, "truncated %s message at byte %zu (need %zu more, have %zu)", rd->what, rd->pos,
                n, rd->len - rd->pos);
        return 0;
    }
    return 1;
}

static uint8_t rd_u8(reader_t *rd)
{
    if (!rd_need(rd, 1))
        return 0;
    return rd->p[rd->pos++];
}

static uint16_t rd_u16(reader_t *rd)
{
    if (!rd_need(rd, 2))
        return 0;
    const uint8_t *q = rd->p + rd->pos;
    rd->pos += 2;
    return (uint16_t)((q[0] << 8) | q[1]);
}

static uint32_t rd_u32(reader_t *rd)
{
    if (!rd_need(rd, 4))
        return 0;
    const uint8_t *q = rd->p + rd->pos;
    rd->pos += 4;
    return ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
}

static uint64_t rd_u64(reader_t *rd)
{
    uint64_t hi = rd_u32(rd);
    uint64_t lo = rd_u32(rd);
    return (hi << 32) | lo;
}

/* A NUL-terminated string inside the buffer; returns a pointer into it. */
static const char *rd_str(reader_t *rd)
{
    if (rd->failed)
        return NULL;
    const uint8_t *start = rd->p + rd->pos;
    const uint8_t *nul = memchr(start, 0, rd->len - rd->pos);
    if (!nul) {
        rd_fail(rd, "truncated %s message at byte %zu (unterminated string)", rd->what, rd->pos);
        return NULL;
    }
    rd->pos += (size_t)(nul - start) + 1;
    return (const char *)start;
}

/* PostgreSQL timestamps count microseconds from 2000-01-01; saturate rather
 * than overflow on absurd values (signed overflow is undefined behaviour). */
static int64_t pg_ts_to_unix_us(uint64_t raw)
{
    int64_t ts = (int64_t)raw;
    if (ts > INT64_MAX - PG_EPOCH_OFFSET_US)
        return INT64_MAX;
    return ts + PG_EPOCH_OFFSET_US;
}

/* Grows a decoder-owned scratch array to at least n elements. */
static int scratch_reserve(void **arr, int *cap, int n, size_t elem)
{
    if (n <= *cap)
        return 0;
    int c = *cap ? *cap : 16;
    while (c < n)
        c *= 2;
    void *p = realloc(*arr, (size_t)c * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

/* TupleData: Int16 ncols, then per column a kind byte and, for 't'/'b', an
 * Int32 length and that many bytes. */
static void rd_tuple(reader_t *rd, pgoutput_decoder_t *dec, int which_old, pg_tuple_t *tup,
                     const pg_relation_t *rel)
{
    int n = rd_u16(rd);
    if (rd->failed)
        return;
    /* Each column takes at least one byte: reject counts the buffer cannot hold. */
    if ((size_t)n > rd->len - rd->pos) {
        rd_fail(rd, "truncated %s message at byte %zu (%d columns announced, %zu bytes left)",
                rd->what, rd->pos, n, rd->len - rd->pos);
        return;
    }
    if (n != rel->ncols) {
        rd_fail(rd, "%s for relation %" PRIu32 " (%s.%s) has %d columns, the relation has %d",
                rd->what, rel->oid, rel->schema, rel->table, n, rel->ncols);
        return;
    }
    pg_datum_t **arr = which_old ? &dec->old_cols : &dec->new_cols;
    int *cap = which_old ? &dec->old_cap : &dec->new_cap;
    if (scratch_reserve((void **)arr, cap, n ? n : 1, sizeof(pg_datum_t)) < 0) {
        rd_fail(rd, "out of memory decoding %s", rd->what);
        return;
    }
    for (int i = 0; i < n; i++) {
        pg_datum_t *d = &(*arr)[i];
        size_t at = rd->pos;
        uint8_t kind = rd_u8(rd);
        d->data = NULL;
        d->len = 0;
        switch (kind) {
        case 'n': d->kind = PG_DATUM_NULL; break;
        case 'u': d->kind = PG_DATUM_UNCHANGED_TOAST; break;
        case 't':
        case 'b': {
            d->kind = kind == 't' ? PG_DATUM_TEXT : PG_DATUM_BINARY;
            uint32_t len = rd_u32(rd);
            if (len > INT32_MAX && !rd->failed) {
                rd_fail(rd, "%s column %d has negative length at byte %zu", rd->what, i + 1, at + 1);
                return;
            }
            if (!rd_need(rd, len))
                return;
            d->data = (const char *)rd->p + rd->pos;
            d->len = len;
            rd->pos += len;
            break;
        }
        default:
            if (!rd->failed)
                rd_fail(rd, "%s column %d has unknown kind 0x%02x at byte %zu", rd->what, i + 1,
                        kind, at);
            return;
        }
        if (rd->failed)
            return;
    }
    tup->ncols = n;
    tup->cols = *arr;
}

/* The relation an Insert/Update/Delete refers to, or an error. */
static const pg_relation_t *rd_relation_ref(reader_t *rd, const pgoutput_decoder_t *dec)
{
    uint32_t oid = rd_u32(rd);
    if (rd->failed)
        return NULL;
    const pg_relation_t *rel = pgoutput_relation(dec, oid);
    if (!rel)
        rd_fail(rd, "%s refers to unknown relation id %" PRIu32 " (no Relation message seen)",
                rd->what, oid);
    return rel;
}

static char *dup_str(reader_t *rd, const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        rd_fail(rd, "out of memory decoding %s", rd->what);
    return d;
}

/* Relation: Int32 oid, String namespace ("" for pg_catalog), String name,
 * Int8 replica identity, Int16 ncols, per column: Int8 flags (1 = key),
 * String name, Int32 type oid, Int32 typmod. */
static void decode_relation(reader_t *rd, pgoutput_decoder_t *dec, pgoutput_msg_t *msg)
{
    uint32_t oid = rd_u32(rd);
    const char *nsp = rd_str(rd);
    const char *name = rd_str(rd);
    uint8_t ident = rd_u8(rd);
    int ncols = rd_u16(rd);
    if (rd->failed)
        return;
    if (oid == 0) {
        rd_fail(rd, "Relation message with relation id 0");
        return;
    }
    /* Every column takes at least 10 bytes (flags, "", type, typmod). */
    if ((size_t)ncols > (rd->len - rd->pos) / 10) {
        rd_fail(rd, "truncated Relation message at byte %zu (%d columns announced, %zu bytes left)",
                rd->pos, ncols, rd->len - rd->pos);
        return;
    }
    pg_relation_t *rel = calloc(1, sizeof *rel);
    if (!rel) {
        rd_fail(rd, "out of memory decoding Relation");
        return;
    }
    rel->oid = oid;
    rel->replident = (char)ident;
    rel->schema = dup_str(rd, nsp[0] ? nsp : "pg_catalog");
    rel->table = dup_str(rd, name);
    rel->cols = calloc(ncols ? (size_t)ncols : 1, sizeof *rel->cols);
    if (!rel->cols)
        rd_fail(rd, "out of memory decoding Relation");
    for (int i = 0; i < ncols && !rd->failed; i++) {
        pg_column_t *col = &rel->cols[i];
        uint8_t flags = rd_u8(rd);
        const char *cname = rd_str(rd);
        col->type_oid = rd_u32(rd);
        col->typmod = (int32_t)rd_u32(rd);
        if (rd->failed)
            break;
        col->is_key = flags & 1;
        col->name = dup_str(rd, cname);
        rel->ncols = i + 1; /* counts the columns whose name is owned, for relation_free */
    }
    if (rd->failed || cache_put(dec, rel) < 0) {
        rd_fail(rd, "out of memory caching a relation");
        relation_free(rel);
        return;
    }
    msg->rel = rel;
}

static void decode_truncate(reader_t *rd, pgoutput_decoder_t *dec, pgoutput_msg_t *msg)
{
    uint32_t n = rd_u32(rd);
    msg->truncate_flags = rd_u8(rd);
    if (rd->failed)
        return;
    if (n > (rd->len - rd->pos) / 4) {
        rd_fail(rd, "truncated Truncate message at byte %zu (%" PRIu32 " relations announced)", rd->pos, n);
        return;
    }
    if (scratch_reserve((void **)&dec->truncated, &dec->truncated_cap, n ? (int)n : 1,
                        sizeof *dec->truncated) < 0) {
        rd_fail(rd, "out of memory decoding Truncate");
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        const pg_relation_t *rel = rd_relation_ref(rd, dec);
        if (!rel)
            return;
        dec->truncated[i] = rel;
    }
    msg->ntruncated = (int)n;
    msg->truncated = dec->truncated;
}

static void decode_message(reader_t *rd, pgoutput_msg_t *msg)
{
    uint8_t flags = rd_u8(rd);
    msg->transactional = flags & 1;
    msg->message_lsn = rd_u64(rd);
    msg->prefix = rd_str(rd);
    uint32_t len = rd_u32(rd);
    if (rd->failed)
        return;
    if (len > INT32_MAX) {
        rd_fail(rd, "Message content has negative length");
        return;
    }
    if (!rd_need(rd, len))
        return;
    msg->content = (const char *)rd->p + rd->pos;
    msg->content_len = len;
    rd->pos += len;
}

static const char *kind_name(uint8_t k)
{
    switch (k) {
    case PGO_BEGIN: return "Begin";
    case PGO_COMMIT: return "Commit";
    case PGO_ORIGIN: return "Origin";
    case PGO_RELATION: return "Relation";
    case PGO_TYPE: return "Type";
    case PGO_INSERT: return "Insert";
    case PGO_UPDATE: return "Update";
    case PGO_DELETE: return "Delete";
    case PGO_TRUNCATE: return "Truncate";
    case PGO_MESSAGE: return "Message";
    case PGO_STREAM_START: return "Stream Start";
    case PGO_STREAM_STOP: return "Stream Stop";
    case PGO_STREAM_COMMIT: return "Stream Commit";
    case PGO_STREAM_ABORT: return "Stream Abort";
    default: return NULL;
    }
}

int pgoutput_decode(pgoutput_decoder_t *dec, const uint8_t *buf, size_t len, pgoutput_msg_t *msg,
                    char *err, size_t errlen)
{
    reader_t rdv = {.p = buf, .len = buf ? len : 0, .what = "pgoutput", .err = err, .errlen = errlen};
    reader_t *rd = &rdv;
    if (err && errlen)
        err[0] = '\0';
    memset(msg, 0, sizeof *msg);
    if (!dec) {
        rd_fail(rd, "no decoder");
        return -1;
    }
    if (rd->len == 0) {
        rd_fail(rd, "empty message");
        return -1;
    }
    uint8_t k = rd_u8(rd);
    const char *name = kind_name(k);
    if (!name || (dec->proto_version < 2 && (k == PGO_STREAM_START || k == PGO_STREAM_STOP ||
                                             k == PGO_STREAM_COMMIT || k == PGO_STREAM_ABORT))) {
        if (k >= 0x20 && k < 0x7f)
            rd_fail(rd, "unknown message type '%c' (0x%02x) for proto_version %d", k, k,
                    dec->proto_version);
        else
            rd_fail(rd, "unknown message type 0x%02x for proto_version %d", k, dec->proto_version);
        return -1;
    }
    rd->what = name;
    msg->kind = (pgoutput_kind_t)k;

    /* Inside a streamed transaction (v2), data messages carry the xid first. */
    if (dec->in_stream && (k == PGO_RELATION || k == PGO_TYPE || k == PGO_INSERT || k == PGO_UPDATE ||
                           k == PGO_DELETE || k == PGO_TRUNCATE || k == PGO_MESSAGE))
        msg->xid = rd_u32(rd);

    switch (k) {
    case PGO_BEGIN:
        msg->final_lsn = rd_u64(rd);
        msg->commit_ts_us = pg_ts_to_unix_us(rd_u64(rd));
        msg->xid = rd_u32(rd);
        break;
    case PGO_COMMIT:
        (void)rd_u8(rd); /* flags, currently unused */
        msg->commit_lsn = rd_u64(rd);
        msg->end_lsn = rd_u64(rd);
        msg->commit_ts_us = pg_ts_to_unix_us(rd_u64(rd));
        break;
    case PGO_ORIGIN:
        msg->origin_lsn = rd_u64(rd);
        msg->origin_name = rd_str(rd);
        break;
    case PGO_RELATION:
        decode_relation(rd, dec, msg);
        break;
    case PGO_TYPE:
        msg->type_oid = rd_u32(rd);
        msg->type_schema = rd_str(rd);
        msg->type_name = rd_str(rd);
        if (msg->type_schema && !msg->type_schema[0])
            msg->type_schema = "pg_catalog";
        break;
    case PGO_INSERT: {
        msg->rel = rd_relation_ref(rd, dec);
        uint8_t t = rd_u8(rd);
        if (!rd->failed && t != 'N')
            rd_fail(rd, "Insert expected 'N' at byte %zu, got 0x%02x", rd->pos - 1, t);
        if (!rd->failed)
            rd_tuple(rd, dec, 0, &msg->new_tuple, msg->rel);
        break;
    }
    case PGO_UPDATE: {
        msg->rel = rd_relation_ref(rd, dec);
        uint8_t t = rd_u8(rd);
        if (!rd->failed && (t == 'K' || t == 'O')) {
            msg->old_kind = (char)t;
            rd_tuple(rd, dec, 1, &msg->old_tuple, msg->rel);
            t = rd_u8(rd);
        }
        if (!rd->failed && t != 'N')
            rd_fail(rd, "Update expected 'K', 'O' or 'N' at byte %zu, got 0x%02x", rd->pos - 1, t);
        if (!rd->failed)
            rd_tuple(rd, dec, 0, &msg->new_tuple, msg->rel);
        break;
    }
    case PGO_DELETE: {
        msg->rel = rd_relation_ref(rd, dec);
        uint8_t t = rd_u8(rd);
        if (!rd->failed && t != 'K' && t != 'O')
            rd_fail(rd, "Delete expected 'K' or 'O' at byte %zu, got 0x%02x", rd->pos - 1, t);
        if (!rd->failed) {
            msg->old_kind = (char)t;
            rd_tuple(rd, dec, 1, &msg->old_tuple, msg->rel);
        }
        break;
    }
    case PGO_TRUNCATE:
        decode_truncate(rd, dec, msg);
        break;
    case PGO_MESSAGE:
        decode_message(rd, msg);
        break;
    case PGO_STREAM_START: {
        msg->xid = rd_u32(rd);
        (void)rd_u8(rd); /* 1 = first segment of this transaction */
        if (!rd->failed)
            dec->in_stream = 1;
        break;
    }
    case PGO_STREAM_STOP:
        dec->in_stream = 0;
        break;
    case PGO_STREAM_COMMIT:
        msg->xid = rd_u32(rd);
        (void)rd_u8(rd); /* flags, currently unused */
        msg->commit_lsn = rd_u64(rd);
        msg->end_lsn = rd_u64(rd);
        msg->commit_ts_us = pg_ts_to_unix_us(rd_u64(rd));
        break;
    case PGO_STREAM_ABORT:
        msg->xid = rd_u32(rd);
        msg->sub_xid = rd_u32(rd);
        break;
    }
    if (rd->failed) {
        memset(msg, 0, sizeof *msg);
        return -1;
    }
    /* Extra bytes mean we and the server disagree about the format: say so
     * rather than silently ignore part of a change. */
    if (rd->pos != rd->len) {
        rd_fail(rd, "%s message has %zu unexpected trailing bytes at byte %zu", name,
                rd->len - rd->pos, rd->pos);
        memset(msg, 0, sizeof *msg);
        return -1;
    }
    return 0;
}

int pgoutput_in_stream(const pgoutput_decoder_t *dec)
{
    return dec ? dec->in_stream : 0;
}
