/*
 * pg_message.c — logical decoding messages (pg_logical_emit_message) as
 * Debezium's op "m" events on <topic.prefix>.message: key {"prefix":...},
 * value {"op":"m","ts_ms":..,"source":{..},"message":{"prefix":..,"content":
 * base64}}, filtered by message.prefix.include.list / exclude.list. Called by
 * the stream, which gives each its offset; calls the record and envelope
 * floors only.
 */
#include "pg_conn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void pg_message_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const pgoutput_msg_t *msg, uint64_t lsn,
                     const char *offset)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    const char *prefix = msg->prefix ? msg->prefix : "";

    pg_buf_reset(&ctx->kbuf);
    pg_buf_puts(&ctx->kbuf, "{\"prefix\":");
    pg_buf_json_string(&ctx->kbuf, prefix, strlen(prefix));
    pg_buf_puts(&ctx->kbuf, "}");

    /* The source block as change events have it, with no schema or table
     * (as Debezium: empty strings) and, outside a transaction, no txId. */
    pg_relation_t none = {.schema = "", .table = ""};
    pg_event_source_t src = {
        .version = PG_CONNECTOR_VERSION,
        .name = ctx->prefix,
        .db = ctx->dbname,
        .ts_ms = msg->transactional ? ctx->cur_ts_us / 1000 : now_ms,
        .snapshot = "false",
        .txid = msg->transactional ? ctx->cur_xid : 0,
        .lsn = lsn,
    };
    pg_buf_t env = {0};
    pg_envelope_json(&env, 'm', &none, NULL, NULL, &src, now_ms);
    const char *body = env.data ? env.data : "{}";
    const char *lead = "{\"before\":null,\"after\":null,";
    pg_buf_reset(&ctx->vbuf);
    if (strncmp(body, lead, strlen(lead)) == 0) {
        /* A message has no row images. */
        body += strlen(lead);
        pg_buf_puts(&ctx->vbuf, "{");
    }
    size_t blen = strlen(body);
    if (blen && body[blen - 1] == '}')
        blen--;
    /* Outside a transaction Debezium has no txId: null, not 0. */
    const char *tx = msg->transactional ? NULL : strstr(body, ",\"txId\":0,");
    if (tx && (size_t)(tx - body) < blen) {
        pg_buf_append(&ctx->vbuf, body, (size_t)(tx - body));
        pg_buf_puts(&ctx->vbuf, ",\"txId\":null,");
        size_t skip = (size_t)(tx - body) + strlen(",\"txId\":0,");
        pg_buf_append(&ctx->vbuf, body + skip, blen - skip);
    } else {
        pg_buf_append(&ctx->vbuf, body, blen);
    }
    pg_buf_free(&env);
    pg_buf_puts(&ctx->vbuf, ",\"message\":{\"prefix\":");
    pg_buf_json_string(&ctx->vbuf, prefix, strlen(prefix));
    pg_buf_puts(&ctx->vbuf, ",\"content\":");
    pg_datum_t content = {PG_DATUM_BINARY, msg->content, msg->content_len};
    pg_datum_json(&ctx->vbuf, 17 /* bytea */, -1, &content, &ctx->format);
    pg_buf_puts(&ctx->vbuf, "}}");

    pg_buf_t topic = {0};
    pg_buf_printf(&topic, "%s.message", ctx->prefix);
    pg_topic_sanitize(&topic);
    ferry_record_t rec = {
        .topic = topic.data,
        .key = ctx->kbuf.data,
        .key_len = ctx->kbuf.len,
        .value = ctx->vbuf.data,
        .value_len = ctx->vbuf.len,
        .timestamp_ms = src.ts_ms,
        .source_offset = offset,
    };
    pg_emit(ctx, batch, &rec);
    pg_buf_free(&topic);
}
