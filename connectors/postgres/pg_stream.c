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

    char *slot = pg_quote_ident(ctx->repl, ctx->slot);
    char *pub = pg_quote_ident(ctx->repl, ctx->publication);
    char *publit = pub ? pg_quote_literal(ctx->repl, pub) : NULL;
    pg_buf_t cmd = {0};
    if (slot && publit)
        pg_buf_printf(&cmd,
                      "START_REPLICATION SLOT %s LOGICAL %X/%X (proto_version '1', publication_names %s, "
                      "messages 'true')",
                      slot, (unsigned)(ctx->committed_lsn >> 32), (unsigned)ctx->committed_lsn, publit);
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
    ctx->lookup_failed = 0;
    ctx->last_recv_ms = pg_now_ms();
    /* Relations may have changed while we were away: the server sends
     * Relation messages again on the new stream, and the keys follow. */
    while (ctx->nkeys)
        pg_keyinfo_forget(ctx, ctx->keycache[0].oid);
    pg_stream_send_status(ctx, 0);
    ctx->host->log(ctx->task, FERRY_LOG_INFO, "streaming slot %s from %s", ctx->slot, b);
    return FERRY_OK;
}

/* ---- records ------------------------------------------------------------------ */

/* 1 when the next record of the current unit was already handed out. */
static int unit_skip_next(const pg_ctx_t *ctx)
{
    return ctx->cur_pos < ctx->emit_pos || (ctx->cur_pos == ctx->emit_pos && ctx->cur_idx < ctx->emit_cnt);
}

/* Consumes the next index of the unit and writes the record's offset into
 * ctx->obuf (canonical: keys sorted, compact). */
static const char *unit_take(pg_ctx_t *ctx, uint64_t lsn)
{
    int64_t idx = ++ctx->cur_idx;
    ctx->emit_pos = ctx->cur_pos;
    ctx->emit_cnt = idx;
    pg_buf_reset(&ctx->obuf);
    pg_buf_printf(&ctx->obuf,
                  "{\"event\":%" PRId64 ",\"lsn\":%" PRIu64 ",\"lsn_commit\":%" PRIu64 ",\"lsn_proc\":%" PRIu64
                  ",\"ts_usec\":%" PRId64 ",\"txId\":%" PRIu32 "}",
                  idx, lsn, ctx->cur_pos, lsn, ctx->cur_ts_us, ctx->cur_xid);
    return ctx->obuf.data;
}

static void make_topic(pg_buf_t *topic, const char *prefix, const pg_relation_t *rel)
{
    pg_buf_reset(topic);
    pg_buf_printf(topic, "%s.%s.%s", prefix, rel->schema, rel->table);
    pg_topic_sanitize(topic);
}

/* One Debezium change event (and nothing else). key_tuple gives the key;
 * before/after may be NULL. */
static ferry_status_t change_event(pg_ctx_t *ctx, ferry_batch_t *batch, char op, const pg_relation_t *rel,
                                   const pg_tuple_t *key_tuple, const pg_tuple_t *before, const pg_tuple_t *after,
                                   uint64_t lsn, ferry_error_t *err)
{
    if (unit_skip_next(ctx)) {
        ctx->cur_idx++;
        return FERRY_OK;
    }
    int has_key = key_tuple ? pg_key_json(ctx, rel, key_tuple) : 0;
    pg_buf_reset(&ctx->before);
    pg_buf_reset(&ctx->after);
    if (before)
        pg_row_json(&ctx->before, rel, before, 0, &ctx->format);
    if (after)
        pg_row_json(&ctx->after, rel, after, 0, &ctx->format);
    if (ctx->lookup_failed)
        return ferry_error_set(err, FERRY_RETRY, "catalog lookup failed while building an event for %s.%s",
                               rel->schema, rel->table);
    pg_event_source_t src = {
        .version = PG_CONNECTOR_VERSION,
        .name = ctx->prefix,
        .db = ctx->dbname,
        .ts_ms = ctx->cur_ts_us / 1000,
        .snapshot = "false",
        .txid = ctx->cur_xid,
        .lsn = lsn,
    };
    pg_buf_reset(&ctx->vbuf);
    pg_envelope_json(&ctx->vbuf, op, rel, before ? ctx->before.data : NULL, after ? ctx->after.data : NULL, &src,
                     wall_us() / 1000);
    pg_buf_t topic = {0};
    make_topic(&topic, ctx->prefix, rel);
    ferry_record_t rec = {
        .topic = topic.data,
        .key = has_key ? ctx->kbuf.data : NULL,
        .key_len = has_key ? ctx->kbuf.len : 0,
        .value = ctx->vbuf.data,
        .value_len = ctx->vbuf.len,
        .timestamp_ms = ctx->cur_ts_us / 1000,
        .source_offset = unit_take(ctx, lsn),
    };
    pg_emit(ctx, batch, &rec);
    pg_buf_free(&topic);
    return FERRY_OK;
}

/* The tombstone after a delete: same key, null value, so compaction can drop
 * the row. Keyless tables get none (nothing to compact). */
static ferry_status_t tombstone(pg_ctx_t *ctx, ferry_batch_t *batch, const pg_relation_t *rel,
                                const pg_tuple_t *key_tuple, uint64_t lsn, ferry_error_t *err)
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
    if (unit_skip_next(ctx)) {
        ctx->cur_idx++;
        return FERRY_OK;
    }
    pg_buf_t topic = {0};
    make_topic(&topic, ctx->prefix, rel);
    ferry_record_t rec = {
        .topic = topic.data,
        .key = ctx->kbuf.data,
        .key_len = ctx->kbuf.len,
        .timestamp_ms = ctx->cur_ts_us / 1000,
        .source_offset = unit_take(ctx, lsn),
    };
    pg_emit(ctx, batch, &rec);
    pg_buf_free(&topic);
    return FERRY_OK;
}

/* 1 when two key images differ (a primary-key change). */
static int key_changed(pg_ctx_t *ctx, const pg_relation_t *rel, const pg_tuple_t *old_t, const pg_tuple_t *new_t)
{
    if (!pg_key_json(ctx, rel, old_t))
        return 0;
    char *old_key = strdup(ctx->kbuf.data);
    pg_key_json(ctx, rel, new_t);
    int changed = old_key && strcmp(old_key, ctx->kbuf.data) != 0;
    free(old_key);
    return changed;
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
    if (kind == 2) {
        /* Outbox: only inserts publish; the application usually deletes
         * the row right away, and that delete is not a message. */
        if (msg->kind != PGO_INSERT)
            return FERRY_OK;
        if (unit_skip_next(ctx)) {
            ctx->cur_idx++;
            return FERRY_OK;
        }
        /* The offset is built first (unit_take consumes the index); if
         * the row is unusable the index stays consumed, deterministically. */
        char *offset = strdup(unit_take(ctx, lsn));
        if (!offset)
            return ferry_error_set(err, FERRY_RETRY, "out of memory");
        if (pg_outbox_emit(ctx, batch, rel, &msg->new_tuple, ctx->cur_ts_us / 1000, offset) != 0)
            ctx->host->log(ctx->task, FERRY_LOG_WARN,
                           "outbox table %s.%s: row without the columns id, aggregatetype, aggregateid, "
                           "type, payload skipped",
                           rel->schema, rel->table);
        free(offset);
        return FERRY_OK;
    }

    ferry_status_t st = FERRY_OK;
    const pg_tuple_t *old_t = msg->old_kind ? &msg->old_tuple : NULL;
    switch (msg->kind) {
    case PGO_INSERT:
        st = change_event(ctx, batch, 'c', rel, &msg->new_tuple, NULL, &msg->new_tuple, lsn, err);
        break;
    case PGO_UPDATE:
        if (old_t && key_changed(ctx, rel, old_t, &msg->new_tuple)) {
            /* Like Debezium: a key change is a delete of the old key (with
             * its tombstone) and a create under the new one, so consumers
             * keyed by row never see the old row survive. */
            st = change_event(ctx, batch, 'd', rel, old_t, old_t, NULL, lsn, err);
            if (st == FERRY_OK)
                st = tombstone(ctx, batch, rel, old_t, lsn, err);
            if (st == FERRY_OK)
                st = change_event(ctx, batch, 'c', rel, &msg->new_tuple, NULL, &msg->new_tuple, lsn, err);
        } else {
            st = change_event(ctx, batch, 'u', rel, &msg->new_tuple, old_t, &msg->new_tuple, lsn, err);
        }
        break;
    case PGO_DELETE:
        st = change_event(ctx, batch, 'd', rel, old_t, old_t, NULL, lsn, err);
        if (st == FERRY_OK && old_t)
            st = tombstone(ctx, batch, rel, old_t, lsn, err);
        break;
    default:
        break;
    }
    return st;
}

static ferry_status_t on_truncate(pg_ctx_t *ctx, ferry_batch_t *batch, const pgoutput_msg_t *msg, uint64_t lsn,
                                  ferry_error_t *err)
{
    for (int i = 0; i < msg->ntruncated; i++) {
        const pg_relation_t *rel = msg->truncated[i];
        if (!rel || pg_table_kind(ctx, rel->schema, rel->table) != 1)
            continue;
        ferry_status_t st = change_event(ctx, batch, 't', rel, NULL, NULL, NULL, lsn, err);
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
    int64_t now_us = wall_us();
    pg_buf_reset(&ctx->kbuf);
    pg_buf_puts(&ctx->kbuf, "{\"serverName\":");
    pg_buf_json_string(&ctx->kbuf, ctx->prefix, strlen(ctx->prefix));
    pg_buf_puts(&ctx->kbuf, "}");
    pg_buf_reset(&ctx->vbuf);
    pg_buf_printf(&ctx->vbuf, "{\"ts_ms\":%" PRId64 "}", now_us / 1000);
    pg_buf_reset(&ctx->obuf);
    pg_buf_printf(&ctx->obuf,
                  "{\"event\":%" PRId64 ",\"lsn\":%" PRIu64 ",\"lsn_commit\":%" PRIu64 ",\"lsn_proc\":%" PRIu64
                  ",\"ts_usec\":%" PRId64 ",\"txId\":0}",
                  ctx->emit_cnt, lsn, lsn, lsn, now_us);
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
        return FERRY_OK;
    case PGO_COMMIT:
        ctx->in_txn = 0;
        ctx->host->metric_set(ctx->task, "last_lsn", (double)msg->commit_lsn);
        return FERRY_OK;
    case PGO_RELATION:
        /* A schema change may change the primary key. */
        if (msg->rel)
            pg_keyinfo_forget(ctx, msg->rel->oid);
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
        return FERRY_OK;
    default:
        /* Origin, Type: nothing to emit (types are resolved via pg_type). */
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
