/*
 * pg_record.c — how every event leaves the connector: pg_emit adds a record
 * to the host's batch, or to a spill queue when the batch is full (drained
 * first on the next poll), and pg_key_json builds the record key from the
 * primary key or replica identity. Called by the snapshot, the stream and
 * the outbox; calls only the catalog (pg_conn.c) and the formatters.
 */
#include "pg_conn.h"

#include <stdlib.h>
#include <string.h>

static char *memdup0(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static void pending_clear(pg_pending_t *p)
{
    free(p->topic);
    free(p->key);
    free(p->value);
    free(p->offset);
    for (size_t i = 0; i < p->header_count; i++) {
        free(p->hname[i]);
        free(p->hval[i]);
    }
    memset(p, 0, sizeof(*p));
}

/* Copies rec into the spill queue. Out of memory here would lose a record,
 * so it is the one place that gives up the process: better a restart from
 * the last durable offset than a silent gap. */
static void pending_push(pg_ctx_t *ctx, const ferry_record_t *rec)
{
    if (ctx->npending == ctx->cappending) {
        size_t cap = ctx->cappending ? ctx->cappending * 2 : 16;
        /* Compact first so the live entries start at 0. */
        if (ctx->pending_head) {
            memmove(ctx->pending, ctx->pending + ctx->pending_head,
                    (ctx->npending - ctx->pending_head) * sizeof(*ctx->pending));
            ctx->npending -= ctx->pending_head;
            ctx->pending_head = 0;
        }
        if (ctx->npending == ctx->cappending) {
            pg_pending_t *np = realloc(ctx->pending, cap * sizeof(*np));
            if (!np)
                abort();
            ctx->pending = np;
            ctx->cappending = cap;
        }
    }
    pg_pending_t *p = &ctx->pending[ctx->npending++];
    memset(p, 0, sizeof(*p));
    p->topic = memdup0(rec->topic, strlen(rec->topic));
    p->has_key = rec->key != NULL;
    p->key = rec->key ? memdup0(rec->key, rec->key_len) : NULL;
    p->key_len = rec->key_len;
    p->has_value = rec->value != NULL;
    p->value = rec->value ? memdup0(rec->value, rec->value_len) : NULL;
    p->value_len = rec->value_len;
    p->offset = rec->source_offset ? memdup0(rec->source_offset, strlen(rec->source_offset)) : NULL;
    p->timestamp_ms = rec->timestamp_ms;
    for (size_t i = 0; i < rec->header_count && i < 2; i++) {
        p->hname[i] = memdup0(rec->headers[i].name, strlen(rec->headers[i].name));
        p->hval[i] = rec->headers[i].value ? memdup0(rec->headers[i].value, rec->headers[i].value_len) : NULL;
        p->hlen[i] = rec->headers[i].value_len;
        p->header_count = i + 1;
    }
    if (!p->topic || (p->has_key && !p->key) || (p->has_value && !p->value) ||
        (rec->source_offset && !p->offset))
        abort();
}

void pg_pending_drain(pg_ctx_t *ctx, ferry_batch_t *batch)
{
    while (ctx->pending_head < ctx->npending && ctx->host->batch_room(batch) > 0) {
        pg_pending_t *p = &ctx->pending[ctx->pending_head];
        ferry_header_t hdrs[2];
        for (size_t i = 0; i < p->header_count; i++)
            hdrs[i] = (ferry_header_t){p->hname[i], p->hval[i], p->hlen[i]};
        ferry_record_t rec = {
            .topic = p->topic,
            .partition = -1,
            .key = p->has_key ? p->key : NULL,
            .key_len = p->key_len,
            .value = p->has_value ? p->value : NULL,
            .value_len = p->value_len,
            .headers = p->header_count ? hdrs : NULL,
            .header_count = p->header_count,
            .timestamp_ms = p->timestamp_ms,
            .source_partition = p->offset ? ctx->partition_json : NULL,
            .source_offset = p->offset,
        };
        if (ferry_batch_add(ctx->host, batch, &rec) != FERRY_OK)
            return;
        ctx->added++;
        pending_clear(p);
        ctx->pending_head++;
    }
    if (ctx->pending_head == ctx->npending)
        ctx->pending_head = ctx->npending = 0;
}

void pg_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec)
{
    ferry_record_t r = *rec;
    r.partition = -1;
    /* Debezium's envelopes (and keys) are JSON unless the caller said otherwise. */
    if (!r.flags) r.flags = FERRY_RECORD_KEY_JSON | FERRY_RECORD_VALUE_JSON;
    r.source_partition = rec->source_offset ? ctx->partition_json : NULL;
    if (ctx->npending == 0 && ctx->host->batch_room(batch) > 0 && ferry_batch_add(ctx->host, batch, &r) == FERRY_OK) {
        ctx->added++;
    } else {
        pending_push(ctx, &r);
    }
    ctx->host->metric_add(ctx->task, "events", 1);
    ctx->last_emit_ms = pg_now_ms();
}

int pg_batch_full(const pg_ctx_t *ctx, ferry_batch_t *batch)
{
    return ctx->npending > ctx->pending_head || ctx->host->batch_room(batch) == 0;
}

int pg_key_json(pg_ctx_t *ctx, const pg_relation_t *rel, const pg_tuple_t *tuple)
{
    /* Debezium keys by the primary key even under REPLICA IDENTITY FULL
     * (where pgoutput flags every column as key), so ask the catalog first
     * and fall back to the replica identity flags. */
    const pg_keyinfo_t *ki = pg_keyinfo(ctx, rel->oid);
    pg_buf_reset(&ctx->kbuf);
    int n = 0;
    pg_buf_puts(&ctx->kbuf, "{");
    for (int i = 0; i < rel->ncols && i < tuple->ncols; i++) {
        int is_key = 0;
        if (ki && ki->count) {
            for (size_t j = 0; j < ki->count; j++)
                if (strcmp(ki->names[j], rel->cols[i].name) == 0)
                    is_key = 1;
        } else if (rel->replident != 'f') {
            is_key = rel->cols[i].is_key;
        }
        if (!is_key)
            continue;
        if (n++)
            pg_buf_puts(&ctx->kbuf, ",");
        pg_buf_json_string(&ctx->kbuf, rel->cols[i].name, strlen(rel->cols[i].name));
        pg_buf_puts(&ctx->kbuf, ":");
        pg_datum_json(&ctx->kbuf, rel->cols[i].type_oid, rel->cols[i].typmod, &tuple->cols[i], &ctx->format);
    }
    pg_buf_puts(&ctx->kbuf, "}");
    return n > 0;
}


void pg_pending_free(pg_ctx_t *ctx)
{
    for (size_t i = ctx->pending_head; i < ctx->npending; i++)
        pending_clear(&ctx->pending[i]);
    free(ctx->pending);
    ctx->pending = NULL;
    ctx->npending = ctx->pending_head = ctx->cappending = 0;
}
