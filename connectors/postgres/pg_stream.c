/*
 * pg_stream.c — the logical replication stream: START_REPLICATION over a
 * replication=database connection, CopyData messages (XLogData decoded with
 * pgoutput_decode, primary keepalives), Debezium change events, standby
 * status updates carrying only what commit() made durable, and heartbeats.
 *
 * Deduplication and the meaning of offsets are described in pg_conn.h. In
 * short: every record of a unit (a transaction, or a heartbeat message) has an
 * index; a record is emitted only if its (unit position, index) comes after
 * (emit_pos, emit_cnt), and emitting it moves that pair. After a reconnect the
 * server resends from the last confirmed position and the pair drops what was
 * already handed to the host.
 */
#include "pg_conn.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000)

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)(v & 0xff);
}

void pg_stream_reset(pg_ctx_t *ctx)
{
    pgoutput_decoder_free(ctx->dec);
    ctx->dec = NULL;
    ctx->in_txn = 0;
    ctx->streaming = 0;
}

int pg_stream_send_status(pg_ctx_t *ctx, int keepalive_reply)
{
    if (!ctx->repl || !ctx->streaming)
        return -1;
    /* flush/apply = the last LSN durable in the offset store: the slot must
     * never move past what a restart can resume from. write = the server's
     * WAL end we have seen (it does not move the slot).
     *
     * Keepalive replies carry no flush position at all (InvalidXLogRecPtr,
     * which the server ignores for the slot). The reason is shutdown: a
     * walsender only exits once the client's flush position (or, when that
     * is invalid, its write position) equals what it sent, and our durable
     * position always trails the WAL end, so a PostgreSQL restart would hang
     * until pg_ctl gives up. With an invalid flush the walsender compares the
     * write position, which we report as the WAL end it announced. */
    uint64_t flush = keepalive_reply ? 0 : ctx->committed_lsn;
    uint64_t write = ctx->received_lsn > ctx->server_wal_end ? ctx->received_lsn : ctx->server_wal_end;
    if (write < ctx->committed_lsn)
        write = ctx->committed_lsn;
    uint8_t msg[34];
    msg[0] = 'r';
    put_be64(msg + 1, write);
    put_be64(msg + 9, flush);
    put_be64(msg + 17, flush);
    put_be64(msg + 25, (uint64_t)(wall_us() - PG_EPOCH_OFFSET_US));
    msg[33] = 0;
    if (!keepalive_reply)
        ctx->last_status_ms = pg_now_ms();
    if (ctx->server_wal_end > ctx->committed_lsn)
        ctx->host->metric_set(ctx->task, "slot_lag_bytes", (double)(ctx->server_wal_end - ctx->committed_lsn));
    else
        ctx->host->metric_set(ctx->task, "slot_lag_bytes", 0);
    if (PQputCopyData(ctx->repl, (const char *)msg, sizeof(msg)) != 1 || PQflush(ctx->repl) != 0)
        return -1;
    return 0;
}

/* xmin.fetch.interval.ms: the slot's catalog_xmin, Debezium's source.xmin.
 * A failed query is a lost connection (retry) or a warning (the value
 * stays). */
static ferry_status_t fetch_xmin(pg_ctx_t *ctx, ferry_error_t *err)
{
    ctx->last_xmin_ms = pg_now_ms();
    const char *params[1] = {ctx->slot};
    ferry_status_t st;
    ferry_error_t qerr;
    PGresult *res = pg_query(ctx, ctx->sql,
                             "SELECT catalog_xmin::text FROM pg_replication_slots WHERE slot_name = $1", 1, params,
                             PGRES_TUPLES_OK, "reading the slot's xmin (xmin.fetch.interval.ms)", &st, &qerr);
    if (!res) {
        if (st == FERRY_RETRY) {
            *err = qerr;
            return st;
        }
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "%s", qerr.msg);
        return FERRY_OK;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        ctx->slot_xmin = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return FERRY_OK;
}

static ferry_status_t stream_start(pg_ctx_t *ctx, ferry_error_t *err)
{
    ferry_status_t st;
    if (!ctx->sql && (st = pg_connect(ctx, 0, &ctx->sql, err)) != FERRY_OK)
        return st;
    /* The slot may have been dropped or invalidated while we were away. */
    int exists = 0;
    uint64_t confirmed = 0;
    if ((st = pg_slot_state(ctx, &exists, &confirmed, err)) != FERRY_OK)
        return st;
    char a[32], b[32];
    pg_lsn_format(ctx->committed_lsn, b);
    if (!exists)
        return ferry_error_set(err, FERRY_ERROR,
                               "replication slot \"%s\" does not exist (dropped?): changes after %s cannot be "
                               "read. Drop the stored offsets (ferry offsets ...) and restart to re-snapshot "
                               "into a new slot",
                               ctx->slot, b);
    if (confirmed > ctx->committed_lsn) {
        pg_lsn_format(confirmed, a);
        return ferry_error_set(err, FERRY_ERROR,
                               "slot %s has confirmed LSN %s beyond the stored offset %s: events in between were "
                               "lost; drop the slot and the stored offsets (ferry offsets ...) to re-snapshot",
                               ctx->slot, a, b);
    }
    if ((st = pg_connect(ctx, 1, &ctx->repl, err)) != FERRY_OK)
        return st;

    /* After a new snapshot (snapshot.mode always) the stream begins at its
     * consistent point even while the slot still confirms less. */
    uint64_t from = ctx->committed_lsn > ctx->stream_floor ? ctx->committed_lsn : ctx->stream_floor;
    pg_lsn_format(from, b);
    char *slot = pg_quote_ident(ctx->repl, ctx->slot);
    char *pub = pg_quote_ident(ctx->repl, ctx->publication);
    char *publit = pub ? pg_quote_literal(ctx->repl, pub) : NULL;
    pg_buf_t cmd = {0};
    if (slot && publit)
        pg_buf_printf(&cmd,
                      "START_REPLICATION SLOT %s LOGICAL %X/%X (proto_version '1', publication_names %s, "
                      "messages 'true')",
                      slot, (unsigned)(from >> 32), (unsigned)from, publit);
    free(slot);
    free(pub);
    free(publit);
    if (!cmd.data)
        return ferry_error_set(err, FERRY_RETRY, "START_REPLICATION: out of memory");
    PGresult *res = PQexec(ctx->repl, cmd.data);
    pg_buf_free(&cmd);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        char what[160];
        snprintf(what, sizeof(what), "START_REPLICATION of slot %s at %s", ctx->slot, b);
        return pg_fail(ctx, ctx->repl, res, what, err);
    }
    PQclear(res);
    pgoutput_decoder_free(ctx->dec);
    ctx->dec = pgoutput_decoder_new(1);
    if (!ctx->dec)
        return ferry_error_set(err, FERRY_RETRY, "pgoutput decoder: out of memory");
    ctx->in_txn = 0;
    ctx->streaming = 1;
    /* The server resends from the unit at committed_lsn (<= emit_pos): only
     * that unit's records can still be new, and they need the value they had. */
    ctx->last_commit_lsn = ctx->emit_last_commit;
    ctx->lookup_failed = 0;
    ctx->last_recv_ms = pg_now_ms();
    /* Relations may have changed while we were away: the server sends
     * Relation messages again on the new stream, and the keys follow. */
    while (ctx->nkeys)
        pg_keyinfo_forget(ctx, ctx->keycache[0].oid);
    pg_stream_send_status(ctx, 0);
    ctx->host->log(ctx->task, FERRY_LOG_INFO, "streaming slot %s from %s", ctx->slot, b);
    if (ctx->xmin_ms > 0 && (st = fetch_xmin(ctx, err)) != FERRY_OK)
        return st;
    return FERRY_OK;
}

/* ---- records ------------------------------------------------------------------ */

#define PG_FP_BASIS 2166136261u /* FNV-1a */

static uint32_t fp_mix(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return (h ^ 0xffu) * 16777619u; /* a separator */
}

/* Notes the kind of the unit's next record ('c', 'u', 'd', 'r' tombstone,
 * 't', 'o' outbox) in the unit's fingerprint; called once per index,
 * whether the record is emitted or skipped. */
static void unit_note(pg_ctx_t *ctx, char what, const pg_relation_t *rel)
{
    char w[2] = {what, '\0'};
    ctx->cur_fp = fp_mix(fp_mix(fp_mix(ctx->cur_fp, w), rel->schema), rel->table);
}

/* 1 when the next record of the current unit was already handed out. */
static int unit_skip_next(const pg_ctx_t *ctx)
{
    return ctx->cur_pos < ctx->emit_pos || (ctx->cur_pos == ctx->emit_pos && ctx->cur_idx < ctx->emit_cnt);
}

/* The unit at emit_pos does not number its records as it did when they
 * were handed out: forget the count and read the unit again from a fresh
 * stream, so that all of it is emitted (see pg_conn.h). */
static ferry_status_t unit_renumbered(pg_ctx_t *ctx, const char *why, ferry_error_t *err)
{
    char at[32];
    pg_lsn_format(ctx->emit_pos, at);
    ctx->host->log(ctx->task, FERRY_LOG_WARN,
                   "the transaction at %s yields other records than when its first %" PRId64 " were emitted (%s: "
                   "table lists, outbox list, tombstones.on.delete or a table's key changed meanwhile); emitting "
                   "the whole transaction again: its records may appear twice, none is lost",
                   at, ctx->emit_cnt, why);
    ctx->emit_cnt = 0;
    ctx->emit_fp_known = 0;
    return ferry_error_set(err, FERRY_RETRY, "re-reading the transaction at %s", at);
}

/* Skips the next record (already handed out). Reaching the count of the
 * unit at emit_pos, the records skipped must be those that were emitted. */
static ferry_status_t unit_skip(pg_ctx_t *ctx, ferry_error_t *err)
{
    ctx->cur_idx++;
    if (ctx->cur_pos == ctx->emit_pos && ctx->cur_idx == ctx->emit_cnt && ctx->emit_fp_known &&
        ctx->cur_fp != ctx->emit_fp)
        return unit_renumbered(ctx, "other kinds or tables", err);
    return FERRY_OK;
}

/* ,"txm":N when the event count of the offset numbers BEGIN/END records
 * (see emit_txm in pg_conn.h). */
static void txm_field(pg_ctx_t *ctx)
{
    if (ctx->emit_txm && ctx->emit_cnt > 0)
        pg_buf_printf(&ctx->obuf, ",\"txm\":%d", ctx->emit_txm);
}

/* Consumes the next index of the unit and writes the record's offset into
 * ctx->obuf (canonical: keys sorted, compact). */
static const char *unit_take(pg_ctx_t *ctx, uint64_t lsn)
{
    int64_t idx = ++ctx->cur_idx;
    ctx->emit_pos = ctx->cur_pos;
    ctx->emit_cnt = idx;
    ctx->emit_last_commit = ctx->last_commit_lsn;
    ctx->emit_txm = ctx->txm_enabled ? (ctx->txm_taking_end ? 2 : 1) : 0;
    ctx->emit_fp = ctx->cur_fp;
    ctx->emit_fp_known = 1;
    pg_buf_reset(&ctx->obuf);
    pg_buf_printf(&ctx->obuf, "{\"event\":%" PRId64 ",\"fp\":%" PRIu32, idx, ctx->cur_fp);
    const char *incr = pg_signal_offset(ctx);
    if (incr)
        pg_buf_printf(&ctx->obuf, ",\"incremental\":%s", incr);
    pg_buf_printf(&ctx->obuf, ",\"lsn\":%" PRIu64 ",\"lsn_commit\":%" PRIu64, lsn, ctx->cur_pos);
    if (ctx->last_commit_lsn)
        pg_buf_printf(&ctx->obuf, ",\"lsn_last_commit\":%" PRIu64, ctx->last_commit_lsn);
    pg_buf_printf(&ctx->obuf, ",\"lsn_proc\":%" PRIu64 ",\"ts_usec\":%" PRId64 ",\"txId\":%" PRIu32, lsn,
                  ctx->cur_ts_us, ctx->cur_xid);
    txm_field(ctx);
    pg_buf_puts(&ctx->obuf, "}");
    return ctx->obuf.data;
}

/* ---- transaction metadata (provide.transaction.metadata) --------------------- */

static void txm_reset(pg_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->txm_ntables; i++)
        free(ctx->txm_tables[i].name);
    ctx->txm_ntables = 0;
    ctx->txm_total = 0;
    ctx->txm_begun = 0;
}

void pg_txm_free(pg_ctx_t *ctx)
{
    txm_reset(ctx);
    free(ctx->txm_tables);
    ctx->txm_tables = NULL;
    ctx->txm_cap = 0;
    pg_buf_free(&ctx->tbuf);
}

/* Debezium's transaction id, as its 3.6 writes it: "<txId>:<lsn>", where lsn
 * is the position of the record itself -- the Begin message for BEGIN, the
 * change for a data event's block, the Commit message for END. So BEGIN, the
 * events and END of one transaction share the txId part only (Debezium's
 * behaviour, kept so that consumers see the same keys). */
static void txm_id(const pg_ctx_t *ctx, pg_buf_t *out, uint64_t lsn)
{
    pg_buf_printf(out, "\"%" PRIu32 ":%" PRIu64 "\"", ctx->cur_xid, lsn);
}

/* A BEGIN or END record of the current unit. */
static void txm_emit(pg_ctx_t *ctx, ferry_batch_t *batch, int end, uint64_t lsn)
{
    if (unit_skip_next(ctx)) {
        ctx->cur_idx++;
        return;
    }
    pg_buf_reset(&ctx->kbuf);
    uint64_t id_lsn = end ? lsn : ctx->txm_begin_lsn;
    pg_buf_puts(&ctx->kbuf, "{\"id\":");
    txm_id(ctx, &ctx->kbuf, id_lsn);
    pg_buf_puts(&ctx->kbuf, "}");
    pg_buf_reset(&ctx->vbuf);
    pg_buf_printf(&ctx->vbuf, "{\"status\":\"%s\",\"id\":", end ? "END" : "BEGIN");
    txm_id(ctx, &ctx->vbuf, id_lsn);
    if (end) {
        pg_buf_printf(&ctx->vbuf, ",\"event_count\":%" PRId64 ",\"data_collections\":[", ctx->txm_total);
        for (size_t i = 0; i < ctx->txm_ntables; i++) {
            pg_buf_puts(&ctx->vbuf, i ? ",{\"data_collection\":" : "{\"data_collection\":");
            pg_buf_json_string(&ctx->vbuf, ctx->txm_tables[i].name, strlen(ctx->txm_tables[i].name));
            pg_buf_printf(&ctx->vbuf, ",\"event_count\":%" PRId64 "}", ctx->txm_tables[i].count);
        }
        pg_buf_puts(&ctx->vbuf, "]");
    } else {
        pg_buf_puts(&ctx->vbuf, ",\"event_count\":null,\"data_collections\":null");
    }
    pg_buf_printf(&ctx->vbuf, ",\"ts_ms\":%" PRId64 "}", ctx->cur_ts_us / 1000);
    ferry_record_t rec = {
        .topic = ctx->txm_topic,
        .key = ctx->kbuf.data,
        .key_len = ctx->kbuf.len,
        .value = ctx->vbuf.data,
        .value_len = ctx->vbuf.len,
        .timestamp_ms = ctx->cur_ts_us / 1000,
    };
    ctx->txm_taking_end = end;
    rec.source_offset = unit_take(ctx, lsn);
    ctx->txm_taking_end = 0;
    pg_emit(ctx, batch, &rec); /* Debezium writes no headers on these */
}

/* Before each change event of a unit (emitted or skipped): the BEGIN when it
 * is the first, then the event's place in the unit and in its table, into
 * ctx->tbuf. Returns the block, or NULL when the option is off. */
static const char *txm_event(pg_ctx_t *ctx, ferry_batch_t *batch, const pg_relation_t *rel, uint64_t lsn)
{
    if (!ctx->txm_enabled || !ctx->in_txn)
        return NULL;
    if (!ctx->txm_begun) {
        ctx->txm_begun = 1;
        txm_emit(ctx, batch, 0, lsn);
    }
    char name[512];
    snprintf(name, sizeof(name), "%s.%s", rel->schema, rel->table);
    size_t i = 0;
    while (i < ctx->txm_ntables && strcmp(ctx->txm_tables[i].name, name) != 0)
        i++;
    if (i == ctx->txm_ntables) {
        if (ctx->txm_ntables == ctx->txm_cap) {
            size_t cap = ctx->txm_cap ? ctx->txm_cap * 2 : 8;
            struct pg_txm_table *t = realloc(ctx->txm_tables, cap * sizeof(*t));
            if (!t)
                abort(); /* a wrong count would be silent; see pending_push */
            ctx->txm_tables = t;
            ctx->txm_cap = cap;
        }
        ctx->txm_tables[i].name = strdup(name);
        if (!ctx->txm_tables[i].name)
            abort();
        ctx->txm_tables[i].count = 0;
        ctx->txm_ntables++;
    }
    int64_t in_table = ++ctx->txm_tables[i].count;
    int64_t total = ++ctx->txm_total;
    pg_buf_reset(&ctx->tbuf);
    pg_buf_puts(&ctx->tbuf, "{\"id\":");
    txm_id(ctx, &ctx->tbuf, lsn);
    pg_buf_printf(&ctx->tbuf, ",\"total_order\":%" PRId64 ",\"data_collection_order\":%" PRId64 "}", total,
                  in_table);
    return ctx->tbuf.data;
}

static void make_topic(pg_buf_t *topic, const char *prefix, const pg_relation_t *rel)
{
    pg_buf_reset(topic);
    pg_buf_printf(topic, "%s.%s.%s", prefix, rel->schema, rel->table);
    pg_topic_sanitize(topic);
}

/* One Debezium change event (and nothing else). key_tuple gives the key;
 * before/after may be NULL; hdr: one header or NULL. */
static ferry_status_t change_event(pg_ctx_t *ctx, ferry_batch_t *batch, char op, const pg_relation_t *rel,
                                   const pg_tuple_t *key_tuple, const pg_tuple_t *before, const pg_tuple_t *after,
                                   uint64_t lsn, const ferry_header_t *hdr, ferry_error_t *err)
{
    const char *txblock = txm_event(ctx, batch, rel, lsn);
    unit_note(ctx, op, rel);
    if (unit_skip_next(ctx))
        return unit_skip(ctx, err);
    int has_key = key_tuple ? pg_key_json(ctx, rel, key_tuple) : 0;
    if (has_key && op != 't')
        pg_signal_on_change(ctx, rel, ctx->kbuf.data);
    pg_buf_reset(&ctx->before);
    pg_buf_reset(&ctx->after);
    if (before)
        pg_row_json_kept(ctx, &ctx->before, rel, before);
    if (after)
        pg_row_json_kept(ctx, &ctx->after, rel, after);
    if (ctx->lookup_failed)
        return ferry_error_set(err, FERRY_RETRY, "catalog lookup failed while building an event for %s.%s",
                               rel->schema, rel->table);
    pg_event_source_t src = {
        .version = PG_CONNECTOR_VERSION,
        .name = ctx->prefix,
        .db = ctx->dbname,
        .ts_ms = ctx->cur_ts_us / 1000,
        .ts_us = ctx->cur_ts_us,
        .snapshot = "false",
        .txid = ctx->cur_xid,
        .lsn = lsn,
        .last_commit_lsn = ctx->last_commit_lsn,
        .xmin = ctx->slot_xmin,
        .origin = ctx->cur_origin,
        .origin_lsn = ctx->cur_origin_lsn,
        .transaction = txblock,
        .now_ns = pg_wall_ns(),
    };
    pg_buf_reset(&ctx->vbuf);
    pg_envelope_json(&ctx->vbuf, op, rel, before ? ctx->before.data : NULL, after ? ctx->after.data : NULL, &src,
                     src.now_ns / 1000000);
    pg_buf_t topic = {0};
    make_topic(&topic, ctx->prefix, rel);
    ferry_record_t rec = {
        .topic = topic.data,
        .key = has_key ? ctx->kbuf.data : NULL,
        .key_len = has_key ? ctx->kbuf.len : 0,
        .value = ctx->vbuf.data,
        .value_len = ctx->vbuf.len,
        .headers = hdr,
        .header_count = hdr ? 1 : 0,
        .timestamp_ms = ctx->cur_ts_us / 1000,
    };
    /* The schema before the index: a failed lookup must not consume it. */
    if (pg_schema_wrap(ctx, rel, &rec) != 0) {
        pg_buf_free(&topic);
        return ferry_error_set(err, FERRY_RETRY, "catalog lookup failed while building the schema of %s.%s",
                               rel->schema, rel->table);
    }
    rec.source_offset = unit_take(ctx, lsn);
    pg_emit_ctx(ctx, batch, &rec, 1);
    pg_buf_free(&topic);
    return FERRY_OK;
}

/* The tombstone after a delete: same key, null value, so compaction can drop
 * the row. Keyless tables get none (nothing to compact). */
static ferry_status_t tombstone(pg_ctx_t *ctx, ferry_batch_t *batch, const pg_relation_t *rel,
                                const pg_tuple_t *key_tuple, uint64_t lsn, const ferry_header_t *hdr,
                                ferry_error_t *err)
{
    if (!ctx->tombstones)
        return FERRY_OK;
    /* Whether the record exists depends only on the key, so decide that
     * before the index: a resent transaction then numbers alike. */
    int has_key = pg_key_json(ctx, rel, key_tuple);
    if (ctx->lookup_failed)
        return ferry_error_set(err, FERRY_RETRY, "catalog lookup failed while building a tombstone for %s.%s",
                               rel->schema, rel->table);
    if (!has_key)
        return FERRY_OK;
    unit_note(ctx, 'r', rel);
    if (unit_skip_next(ctx))
        return unit_skip(ctx, err);
    pg_buf_t topic = {0};
    make_topic(&topic, ctx->prefix, rel);
    ferry_record_t rec = {
        .topic = topic.data,
        .key = ctx->kbuf.data,
        .key_len = ctx->kbuf.len,
        .headers = hdr,
        .header_count = hdr ? 1 : 0,
        .timestamp_ms = ctx->cur_ts_us / 1000,
    };
    /* The schema before the index: a failed lookup must not consume it. */
    if (pg_schema_wrap(ctx, rel, &rec) != 0) {
        pg_buf_free(&topic);
        return ferry_error_set(err, FERRY_RETRY, "catalog lookup failed while building the schema of %s.%s",
                               rel->schema, rel->table);
    }
    rec.source_offset = unit_take(ctx, lsn);
    pg_emit_ctx(ctx, batch, &rec, 1);
    pg_buf_free(&topic);
    return FERRY_OK;
}

/* 1 when two key images differ (a primary-key change); then *old_key and
 * *new_key are the two keys' JSON (malloc'd, for Debezium's
 * __debezium.oldkey / __debezium.newkey headers). An old image without the
 * key (an identity index on other columns) cannot tell: not a change. */
static int key_changed(pg_ctx_t *ctx, const pg_relation_t *rel, const pg_tuple_t *old_t, const pg_tuple_t *new_t,
                       char **old_key, char **new_key)
{
    *old_key = *new_key = NULL;
    if (!pg_key_json(ctx, rel, old_t))
        return 0;
    *old_key = strdup(ctx->kbuf.data);
    if (!*old_key)
        abort(); /* out of memory: a key change must not pass as an update */
    if (!pg_key_json(ctx, rel, new_t)) {
        free(*old_key);
        *old_key = NULL;
        return 0;
    }
    if (strcmp(*old_key, ctx->kbuf.data) != 0 && (*new_key = strdup(ctx->kbuf.data)) != NULL)
        return 1;
    if (strcmp(*old_key, ctx->kbuf.data) != 0)
        abort();
    free(*old_key);
    *old_key = NULL;
    return 0;
}

/* The new image of an update with every unchanged TOASTed column (which the
 * server does not send) taken from the old image when that has it: REPLICA
 * IDENTITY FULL sends the whole old row, and any identity sends a TOASTed
 * key's old value. Without this, `after` would hold the placeholder though
 * `before` holds the value, and a TOASTed key would look changed. Returns
 * new_t itself when nothing is to be taken; else *scratch (owned by the
 * caller, freed with free()) holds the merged datums. */
static const pg_tuple_t *merge_unchanged(const pg_tuple_t *old_t, const pg_tuple_t *new_t, pg_tuple_t *merged,
                                         pg_datum_t **scratch)
{
    *scratch = NULL;
    if (!old_t)
        return new_t;
    int need = 0;
    for (int i = 0; i < new_t->ncols && i < old_t->ncols && !need; i++)
        need = new_t->cols[i].kind == PG_DATUM_UNCHANGED_TOAST &&
               (old_t->cols[i].kind == PG_DATUM_TEXT || old_t->cols[i].kind == PG_DATUM_BINARY);
    if (!need || !(*scratch = malloc((size_t)new_t->ncols * sizeof(pg_datum_t))))
        return new_t;
    for (int i = 0; i < new_t->ncols; i++) {
        (*scratch)[i] = new_t->cols[i];
        if (i < old_t->ncols && new_t->cols[i].kind == PG_DATUM_UNCHANGED_TOAST &&
            (old_t->cols[i].kind == PG_DATUM_TEXT || old_t->cols[i].kind == PG_DATUM_BINARY))
            (*scratch)[i] = old_t->cols[i];
    }
    merged->ncols = new_t->ncols;
    merged->cols = *scratch;
    return merged;
}

/* The rows of an incremental snapshot's window, once its close watermark
 * came back: records of the watermark's transaction (see pg_signal.c). */
static ferry_status_t emit_window(pg_ctx_t *ctx, ferry_batch_t *batch, uint64_t lsn, ferry_error_t *err)
{
    const pg_relation_t *rel = pg_signal_relation(ctx);
    pg_buf_t topic = {0};
    ferry_record_t rec = {0};
    ferry_status_t st = FERRY_OK;
    while (st == FERRY_OK && pg_signal_window_next(ctx, &rec, &topic)) {
        if (unit_skip_next(ctx)) {
            ctx->cur_idx++;
            continue;
        }
        int64_t now_us = wall_us();
        pg_event_source_t src = {
            .version = PG_CONNECTOR_VERSION,
            .name = ctx->prefix,
            .db = ctx->dbname,
            .ts_ms = now_us / 1000,
            .ts_us = now_us,
            .snapshot = "incremental",
            .txid = ctx->cur_xid,
            .lsn = lsn,
            .last_commit_lsn = ctx->last_commit_lsn,
            .xmin = ctx->slot_xmin,
            .now_ns = pg_wall_ns(),
        };
        pg_buf_reset(&ctx->vbuf);
        pg_envelope_json(&ctx->vbuf, 'r', rel, NULL, ctx->after.data, &src, now_us / 1000);
        rec.value = ctx->vbuf.data;
        rec.value_len = ctx->vbuf.len;
        rec.timestamp_ms = now_us / 1000;
        if (pg_schema_wrap(ctx, rel, &rec) != 0) {
            st = ferry_error_set(err, FERRY_RETRY, "catalog lookup failed while building the schema of %s.%s",
                                 rel->schema, rel->table);
        } else {
            rec.source_offset = unit_take(ctx, lsn);
            pg_emit_ctx(ctx, batch, &rec, 1);
        }
        rec = (ferry_record_t){0};
    }
    pg_buf_free(&topic);
    return st;
}

static ferry_status_t on_row(pg_ctx_t *ctx, ferry_batch_t *batch, const pgoutput_msg_t *msg, uint64_t lsn,
                             ferry_error_t *err)
{
    const pg_relation_t *rel = msg->rel;
    if (!rel)
        return FERRY_OK;
    int kind = pg_table_kind(ctx, rel->schema, rel->table);
    if (kind == 0)
        return FERRY_OK;
    if (kind == 3) {
        /* The signal table. A signal of a unit before the last one records
         * were handed out for was acted on already (a replay after a
         * reconnect or restart: its effect is in the stored progress). */
        if (msg->kind != PGO_INSERT || ctx->cur_pos < ctx->emit_pos)
            return FERRY_OK;
        return pg_signal_on_row(ctx, rel, &msg->new_tuple, err);
    }
    if (kind == 2) {
        /* Outbox: only inserts publish; the application usually deletes
         * the row right away, and that delete is not a message. */
        if (msg->kind != PGO_INSERT)
            return FERRY_OK;
        unit_note(ctx, 'o', rel);
        if (unit_skip_next(ctx))
            return unit_skip(ctx, err);
        /* The offset is built first (unit_take consumes the index); an
         * unusable row still takes its index, as a bad record. */
        char *offset = strdup(unit_take(ctx, lsn));
        if (!offset)
            return ferry_error_set(err, FERRY_RETRY, "out of memory");
        pg_outbox_emit(ctx, batch, rel, &msg->new_tuple, ctx->cur_ts_us / 1000, offset);
        free(offset);
        return FERRY_OK;
    }

    ferry_status_t st = FERRY_OK;
    const pg_tuple_t *old_t = msg->old_kind ? &msg->old_tuple : NULL;
    /* skipped.operations: decided by the operation alone, before any index
     * is taken, so a resent transaction numbers its records alike. A key
     * change is an update (Debezium skips its delete and create with u). */
    unsigned skip = msg->kind == PGO_INSERT ? PG_SKIP_C : msg->kind == PGO_UPDATE ? PG_SKIP_U : PG_SKIP_D;
    if (ctx->skip_ops & skip)
        return FERRY_OK;
    switch (msg->kind) {
    case PGO_INSERT:
        st = change_event(ctx, batch, 'c', rel, &msg->new_tuple, NULL, &msg->new_tuple, lsn, NULL, err);
        break;
    case PGO_UPDATE: {
        char *old_key, *new_key;
        pg_tuple_t merged;
        pg_datum_t *scratch;
        const pg_tuple_t *new_t = merge_unchanged(old_t, &msg->new_tuple, &merged, &scratch);
        if (old_t && key_changed(ctx, rel, old_t, new_t, &old_key, &new_key)) {
            /* Like Debezium: a key change is a delete of the old key (with
             * its tombstone) and a create under the new one, so consumers
             * keyed by row never see the old row survive. The delete and
             * its tombstone carry the new key in __debezium.newkey, the
             * create the old one in __debezium.oldkey, as Debezium's do. */
            ferry_header_t nk = {"__debezium.newkey", new_key, strlen(new_key)};
            ferry_header_t ok = {"__debezium.oldkey", old_key, strlen(old_key)};
            st = change_event(ctx, batch, 'd', rel, old_t, old_t, NULL, lsn, &nk, err);
            if (st == FERRY_OK)
                st = tombstone(ctx, batch, rel, old_t, lsn, &nk, err);
            if (st == FERRY_OK)
                st = change_event(ctx, batch, 'c', rel, new_t, NULL, new_t, lsn, &ok, err);
            free(old_key);
            free(new_key);
        } else {
            st = change_event(ctx, batch, 'u', rel, new_t, old_t, new_t, lsn, NULL, err);
        }
        free(scratch);
        break;
    }
    case PGO_DELETE:
        st = change_event(ctx, batch, 'd', rel, old_t, old_t, NULL, lsn, NULL, err);
        if (st == FERRY_OK && old_t)
            st = tombstone(ctx, batch, rel, old_t, lsn, NULL, err);
        break;
    default:
        break;
    }
    return st;
}

static ferry_status_t on_truncate(pg_ctx_t *ctx, ferry_batch_t *batch, const pgoutput_msg_t *msg, uint64_t lsn,
                                  ferry_error_t *err)
{
    /* An incremental snapshot's open window must not bring truncated rows
     * back, whether truncates are emitted or not. */
    for (int i = 0; i < msg->ntruncated; i++)
        if (msg->truncated[i])
            pg_signal_on_truncate(ctx, msg->truncated[i]);
    if (ctx->skip_ops & PG_SKIP_T)
        return FERRY_OK;
    for (int i = 0; i < msg->ntruncated; i++) {
        const pg_relation_t *rel = msg->truncated[i];
        if (!rel || pg_table_kind(ctx, rel->schema, rel->table) != 1)
            continue;
        ferry_status_t st = change_event(ctx, batch, 't', rel, NULL, NULL, NULL, lsn, NULL, err);
        if (st != FERRY_OK)
            return st;
    }
    return FERRY_OK;
}

/* A heartbeat we emitted came back: one record on the heartbeat topic, whose
 * offset lets commit() move the slot forward on a quiet database.
 *
 * The message's LSN X can equal the commit position of the transaction that
 * follows it in WAL, so a heartbeat must not use an event index of unit X:
 * its offset is the pair (X, events of X already emitted), i.e. "everything
 * before X is done". Confirming X is safe: on restart the server resends
 * every transaction whose commit record starts at X or later. */
static void on_heartbeat(pg_ctx_t *ctx, ferry_batch_t *batch, uint64_t lsn)
{
    if (!ctx->heartbeat_topic || lsn < ctx->emit_pos)
        return; /* nothing to say, or already past it (a replay) */
    if (lsn > ctx->emit_pos) {
        ctx->emit_pos = lsn;
        ctx->emit_cnt = 0;
    }
    ctx->emit_last_commit = ctx->last_commit_lsn;
    int64_t now_us = wall_us();
    pg_buf_reset(&ctx->kbuf);
    pg_buf_puts(&ctx->kbuf, "{\"serverName\":");
    pg_buf_json_string(&ctx->kbuf, ctx->prefix, strlen(ctx->prefix));
    pg_buf_puts(&ctx->kbuf, "}");
    pg_buf_reset(&ctx->vbuf);
    pg_buf_printf(&ctx->vbuf, "{\"ts_ms\":%" PRId64 "}", now_us / 1000);
    pg_buf_reset(&ctx->obuf);
    pg_buf_printf(&ctx->obuf, "{\"event\":%" PRId64, ctx->emit_cnt);
    if (ctx->emit_cnt && ctx->emit_fp_known)
        pg_buf_printf(&ctx->obuf, ",\"fp\":%" PRIu32, ctx->emit_fp);
    const char *incr = pg_signal_offset(ctx);
    if (incr) /* an incremental snapshot's progress must survive quiet times */
        pg_buf_printf(&ctx->obuf, ",\"incremental\":%s", incr);
    pg_buf_printf(&ctx->obuf, ",\"lsn\":%" PRIu64 ",\"lsn_commit\":%" PRIu64, lsn, lsn);
    if (ctx->last_commit_lsn)
        pg_buf_printf(&ctx->obuf, ",\"lsn_last_commit\":%" PRIu64, ctx->last_commit_lsn);
    pg_buf_printf(&ctx->obuf, ",\"lsn_proc\":%" PRIu64 ",\"ts_usec\":%" PRId64 ",\"txId\":0", lsn, now_us);
    txm_field(ctx);
    pg_buf_puts(&ctx->obuf, "}");
    ferry_record_t rec = {
        .topic = ctx->heartbeat_topic,
        .key = ctx->kbuf.data,
        .key_len = ctx->kbuf.len,
        .value = ctx->vbuf.data,
        .value_len = ctx->vbuf.len,
        .source_offset = ctx->obuf.data,
    };
    pg_emit(ctx, batch, &rec);
}

/* A user's logical decoding message (op "m"). Inside a transaction it takes
 * the next index of the unit, like a change. Outside one it is positioned
 * like a heartbeat (see on_heartbeat): at least once, so a restart at its
 * position may emit it again. */
static void on_logical_message(pg_ctx_t *ctx, ferry_batch_t *batch, const pgoutput_msg_t *msg, uint64_t lsn)
{
    if (msg->transactional && ctx->in_txn) {
        if (unit_skip_next(ctx)) {
            ctx->cur_idx++;
            return;
        }
        pg_message_emit(ctx, batch, msg, lsn, unit_take(ctx, lsn));
        return;
    }
    if (lsn < ctx->emit_pos)
        return; /* a replay */
    if (lsn > ctx->emit_pos) {
        ctx->emit_pos = lsn;
        ctx->emit_cnt = 0;
    }
    pg_buf_reset(&ctx->obuf);
    pg_buf_printf(&ctx->obuf,
                  "{\"event\":%" PRId64 ",\"lsn\":%" PRIu64 ",\"lsn_commit\":%" PRIu64 ",\"lsn_proc\":%" PRIu64
                  ",\"ts_usec\":%" PRId64 ",\"txId\":0}",
                  ctx->emit_cnt, lsn, lsn, lsn, wall_us());
    pg_message_emit(ctx, batch, msg, lsn, ctx->obuf.data);
}

static ferry_status_t on_message(pg_ctx_t *ctx, ferry_batch_t *batch, const pgoutput_msg_t *msg, uint64_t lsn,
                                 ferry_error_t *err)
{
    switch (msg->kind) {
    case PGO_BEGIN:
        ctx->in_txn = 1;
        ctx->cur_pos = msg->final_lsn;
        ctx->cur_xid = msg->xid;
        ctx->cur_ts_us = msg->commit_ts_us;
        ctx->cur_idx = 0;
        ctx->cur_fp = PG_FP_BASIS;
        ctx->cur_window = 0;
        txm_reset(ctx);
        ctx->txm_begin_lsn = lsn;
        free(ctx->cur_origin);
        ctx->cur_origin = NULL;
        ctx->cur_origin_lsn = 0;
        return FERRY_OK;
    case PGO_ORIGIN:
        /* The transaction was replayed from another node (a subscription
         * or pg_replication_origin_session_setup): Debezium's source.origin
         * and origin_lsn. */
        free(ctx->cur_origin);
        ctx->cur_origin = msg->origin_name ? strdup(msg->origin_name) : NULL;
        ctx->cur_origin_lsn = msg->origin_lsn;
        return FERRY_OK;
    case PGO_COMMIT:
        /* A snapshot window's rows are not resent with their watermark
         * after a restart (pg_signal.c reads the chunk again instead). */
        if (!ctx->cur_window && ctx->cur_pos == ctx->emit_pos && ctx->cur_idx < ctx->emit_cnt)
            return unit_renumbered(ctx, "fewer records", err);
        if (ctx->txm_begun)
            txm_emit(ctx, batch, 1, lsn);
        txm_reset(ctx);
        ctx->in_txn = 0;
        /* Debezium's lastCommitLsn: the stream position of the Commit
         * message, i.e. the end of the commit record. */
        ctx->last_commit_lsn = msg->end_lsn;
        ctx->host->metric_set(ctx->task, "last_lsn", (double)msg->commit_lsn);
        return FERRY_OK;
    case PGO_RELATION:
        /* A schema change may change the primary key (and the columns). */
        if (msg->rel) {
            pg_keyinfo_forget(ctx, msg->rel->oid);
            pg_colmask_forget(ctx, msg->rel->oid);
            pg_schema_forget(ctx, msg->rel->oid);
        }
        return FERRY_OK;
    case PGO_INSERT:
    case PGO_UPDATE:
    case PGO_DELETE:
        return on_row(ctx, batch, msg, lsn, err);
    case PGO_TRUNCATE:
        return on_truncate(ctx, batch, msg, lsn, err);
    case PGO_MESSAGE:
        if (!msg->transactional && msg->prefix && strcmp(msg->prefix, PG_HEARTBEAT_PREFIX) == 0)
            on_heartbeat(ctx, batch, msg->message_lsn ? msg->message_lsn : lsn);
        else if (msg->transactional && msg->prefix && strcmp(msg->prefix, PG_WINDOW_PREFIX) == 0) {
            ctx->cur_window = 1;
            pg_signal_on_watermark(ctx, msg->content, msg->content_len);
            if (pg_signal_window_ready(ctx))
                return emit_window(ctx, batch, lsn, err);
        } else if (msg->prefix && pg_message_wanted(ctx, msg->prefix))
            on_logical_message(ctx, batch, msg, msg->message_lsn ? msg->message_lsn : lsn);
        return FERRY_OK;
    default:
        /* Type: nothing to emit (types are resolved via pg_type). */
        return FERRY_OK;
    }
}

static ferry_status_t on_copydata(pg_ctx_t *ctx, ferry_batch_t *batch, const uint8_t *buf, size_t len,
                                  ferry_error_t *err)
{
    if (len >= 25 && buf[0] == 'w') {
        uint64_t start = get_be64(buf + 1), wal_end = get_be64(buf + 9);
        if (start > ctx->received_lsn)
            ctx->received_lsn = start;
        if (wal_end > ctx->server_wal_end)
            ctx->server_wal_end = wal_end;
        ctx->last_recv_ms = pg_now_ms();
        pgoutput_msg_t msg;
        char derr[256];
        if (pgoutput_decode(ctx->dec, buf + 25, len - 25, &msg, derr, sizeof(derr)) != 0) {
            char at[32];
            pg_lsn_format(start, at);
            return ferry_error_set(err, FERRY_ERROR, "decoding the change at %s: %s", at, derr);
        }
        return on_message(ctx, batch, &msg, start, err);
    }
    if (len >= 18 && buf[0] == 'k') {
        uint64_t wal_end = get_be64(buf + 1);
        if (wal_end > ctx->server_wal_end)
            ctx->server_wal_end = wal_end;
        if (buf[17])
            pg_stream_send_status(ctx, 1);
        return FERRY_OK;
    }
    return ferry_error_set(err, FERRY_ERROR, "replication stream: unexpected message '%c' (%zu bytes)",
                           len ? buf[0] : '?', len);
}

/* Status updates and heartbeats, due or not. */
static ferry_status_t periodic(pg_ctx_t *ctx, ferry_error_t *err)
{
    int64_t now = pg_now_ms();
    if (now - ctx->last_status_ms >= ctx->status_ms && pg_stream_send_status(ctx, 0) != 0)
        return pg_fail(ctx, ctx->repl, NULL, "sending a status update", err);
    ferry_status_t xst;
    if (ctx->xmin_ms > 0 && now - ctx->last_xmin_ms >= ctx->xmin_ms && (xst = fetch_xmin(ctx, err)) != FERRY_OK)
        return xst;
    if (ctx->heartbeat_ms <= 0 || ctx->heartbeat_disabled)
        return FERRY_OK;
    /* Timed from the last record handed out, not the last data received:
     * changes to tables we do not capture keep the stream busy without ever
     * giving commit() a position, so the slot would not move. */
    int64_t last = ctx->last_emit_ms > ctx->last_heartbeat_ms ? ctx->last_emit_ms : ctx->last_heartbeat_ms;
    if (now - last < ctx->heartbeat_ms)
        return FERRY_OK;
    ctx->last_heartbeat_ms = now;
    ferry_status_t st;
    ferry_error_t herr;
    if (ctx->heartbeat_query) {
        /* heartbeat.action.query: the user's statement, e.g. an UPDATE of a
         * captured heartbeat table, so that the slot moves even when the
         * captured tables are quiet but others are busy. */
        PGresult *q = ctx->sql ? PQexec(ctx->sql, ctx->heartbeat_query) : NULL;
        ExecStatusType qs = q ? PQresultStatus(q) : PGRES_FATAL_ERROR;
        if (qs != PGRES_COMMAND_OK && qs != PGRES_TUPLES_OK)
            return pg_fail(ctx, ctx->sql, q, "heartbeat.action.query", err);
        PQclear(q);
    }
    PGresult *res = pg_query(ctx, ctx->sql, "SELECT pg_logical_emit_message(false, '" PG_HEARTBEAT_PREFIX "', '')",
                             0, NULL, PGRES_TUPLES_OK, "emitting a heartbeat", &st, &herr);
    if (res) {
        PQclear(res);
    } else if (st == FERRY_RETRY) {
        *err = herr;
        return st;
    } else {
        ctx->heartbeat_disabled = 1;
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "%s; heartbeats disabled (GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, "
                       "text, text) to the role, or set heartbeat.interval: 0)",
                       herr.msg);
    }
    return FERRY_OK;
}

ferry_status_t pg_stream_poll(pg_ctx_t *ctx, ferry_batch_t *batch, ferry_error_t *err)
{
    ferry_status_t st;
    if (!ctx->streaming) {
        pg_stream_reset(ctx);
        if ((st = stream_start(ctx, err)) != FERRY_OK)
            return st;
    }
    int64_t deadline = pg_now_ms() + 100;
    while (!pg_batch_full(ctx, batch) && !atomic_load(&ctx->stop)) {
        if (!ctx->in_txn && (st = pg_signal_tick(ctx, err)) != FERRY_OK)
            return st;
        char *buf = NULL;
        int r = PQgetCopyData(ctx->repl, &buf, 1);
        if (r > 0) {
            st = on_copydata(ctx, batch, (const uint8_t *)buf, (size_t)r, err);
            PQfreemem(buf);
            if (st != FERRY_OK)
                return st;
            /* A long run of data that yields no records (tables we do not
             * capture, events skipped after a reconnect) must still let
             * status updates go out and poll() return in time. */
            if (pg_now_ms() >= deadline) {
                if ((st = periodic(ctx, err)) != FERRY_OK)
                    return st;
                break;
            }
            continue;
        }
        if (r == -1) {
            /* The server ended the stream (shutdown, slot dropped, ...). */
            PGresult *res = PQgetResult(ctx->repl);
            if (res && PQresultStatus(res) == PGRES_FATAL_ERROR)
                return pg_fail(ctx, ctx->repl, res, "replication stream", err);
            PQclear(res);
            return ferry_error_set(err, FERRY_RETRY, "replication stream: the server ended it");
        }
        if (r == -2)
            return pg_fail(ctx, ctx->repl, NULL, "replication stream", err);
        if ((st = periodic(ctx, err)) != FERRY_OK)
            return st;
        /* Hand over what we have rather than wait for more. */
        if (ctx->added > 0)
            break;
        int64_t left = deadline - pg_now_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = PQsocket(ctx->repl), .events = POLLIN};
        int rc = poll(&pfd, 1, (int)(left < 100 ? left : 100));
        if (rc < 0 && errno != EINTR)
            return ferry_error_set(err, FERRY_RETRY, "replication stream: poll: %s", strerror(errno));
        if (rc > 0 && PQconsumeInput(ctx->repl) != 1)
            return pg_fail(ctx, ctx->repl, NULL, "replication stream", err);
    }
    return periodic(ctx, err);
}
