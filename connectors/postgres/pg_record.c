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
    free(p->reason);
    for (size_t i = 0; i < p->header_count; i++) {
        free(p->hname[i]);
        free(p->hval[i]);
    }
    memset(p, 0, sizeof(*p));
}

/* Copies rec into the spill queue. Out of memory here would lose a record,
 * so it is the one place that gives up the process: better a restart from
 * the last durable offset than a silent gap. */
static void pending_push(pg_ctx_t *ctx, const ferry_record_t *rec, const char *reason)
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
    p->flags = rec->flags;
    p->reason = reason ? memdup0(reason, strlen(reason)) : NULL;
    for (size_t i = 0; i < rec->header_count && i < PG_MAX_HEADERS; i++) {
        p->hname[i] = memdup0(rec->headers[i].name, strlen(rec->headers[i].name));
        p->hval[i] = rec->headers[i].value ? memdup0(rec->headers[i].value, rec->headers[i].value_len) : NULL;
        p->hlen[i] = rec->headers[i].value_len;
        p->header_count = i + 1;
    }
    if (!p->topic || (p->has_key && !p->key) || (p->has_value && !p->value) ||
        (rec->source_offset && !p->offset) || (reason && !p->reason))
        abort();
}

/* Hands one record to the host. FERRY_RETRY: the batch is full, keep it.
 * Anything else consumes it: FERRY_ERROR means the host refused it and fails
 * the task after poll() returns (errors.tolerance: none), so holding on to
 * it would only block the queue. */
static ferry_status_t add_one(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec, const char *reason)
{
    ferry_status_t st;
    if (!reason) {
        st = ferry_batch_add(ctx->host, batch, rec);
    } else if (FERRY_HOST_HAS(ctx->host, record_error)) {
        st = ctx->host->record_error(ctx->task, rec, reason);
        if (st == FERRY_OK)
            ctx->host->log(ctx->task, FERRY_LOG_WARN, "record for topic %s dead-lettered: %s", rec->topic, reason);
    } else {
        ctx->host->log(ctx->task, FERRY_LOG_ERROR, "record for topic %s skipped (this host has no record_error): %s",
                       rec->topic, reason);
        return FERRY_OK;
    }
    if (st == FERRY_OK)
        ctx->added++;
    else if (st != FERRY_RETRY)
        ctx->host->log(ctx->task, FERRY_LOG_ERROR, "record for topic %s refused by the host: %s", rec->topic,
                       reason ? reason : "invalid record");
    return st;
}

void pg_pending_drain(pg_ctx_t *ctx, ferry_batch_t *batch)
{
    while (ctx->pending_head < ctx->npending && ctx->host->batch_room(batch) > 0) {
        pg_pending_t *p = &ctx->pending[ctx->pending_head];
        ferry_header_t hdrs[PG_MAX_HEADERS];
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
            .flags = p->flags,
        };
        if (add_one(ctx, batch, &rec, p->reason) == FERRY_RETRY)
            return;
        pending_clear(p);
        ctx->pending_head++;
    }
    if (ctx->pending_head == ctx->npending)
        ctx->pending_head = ctx->npending = 0;
}

/* Every record leaves through here: with Debezium's context headers when
 * asked, and as a failed record (reason) or a good one. */
static void emit(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec, int context_headers,
                 const char *reason)
{
    ferry_record_t r = *rec;
    ferry_header_t hdrs[PG_MAX_HEADERS];
    if (context_headers && ctx->ext_headers && rec->header_count + 4 <= PG_MAX_HEADERS) {
        /* Debezium's order: the record's own headers, then the context. */
        size_t n = 0;
        for (; n < rec->header_count; n++)
            hdrs[n] = rec->headers[n];
        hdrs[n++] = (ferry_header_t){"__debezium.context.connectorLogicalName", ctx->prefix, strlen(ctx->prefix)};
        hdrs[n++] = (ferry_header_t){"__debezium.context.taskId", ctx->task_id, strlen(ctx->task_id)};
        hdrs[n++] = (ferry_header_t){"__debezium.context.connectorName", "postgresql", 10};
        hdrs[n++] = (ferry_header_t){"__debezium.context.runId", ctx->run_id, strlen(ctx->run_id)};
        r.headers = hdrs;
        r.header_count = n;
    }
    r.partition = -1;
    /* Debezium's envelopes (and keys) are JSON unless the caller said otherwise. */
    if (!r.flags) r.flags = FERRY_RECORD_KEY_JSON | FERRY_RECORD_VALUE_JSON;
    r.source_partition = rec->source_offset ? ctx->partition_json : NULL;
    if (ctx->npending != 0 || ctx->host->batch_room(batch) == 0 || add_one(ctx, batch, &r, reason) == FERRY_RETRY)
        pending_push(ctx, &r, reason);
    ctx->host->metric_add(ctx->task, "events", 1);
    ctx->last_emit_ms = pg_now_ms();
}

void pg_emit_ctx(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec, int context_headers)
{
    emit(ctx, batch, rec, context_headers, NULL);
}

void pg_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec)
{
    emit(ctx, batch, rec, 0, NULL);
}

void pg_emit_failed(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec, const char *reason)
{
    emit(ctx, batch, rec, 0, reason ? reason : "the record cannot be delivered");
}

int pg_batch_full(const pg_ctx_t *ctx, ferry_batch_t *batch)
{
    return ctx->npending > ctx->pending_head || ctx->host->batch_room(batch) == 0;
}

/* message.key.columns: the key from the columns the user named. */
static int key_columns_named(const pg_keycols_t *kc, const pg_relation_t *rel, int *idx)
{
    int n = 0;
    for (size_t j = 0; j < kc->count; j++)
        for (int i = 0; i < rel->ncols; i++)
            if (strcmp(kc->names[j], rel->cols[i].name) == 0)
                idx[n++] = i;
    return n;
}

void pg_row_json_kept(pg_ctx_t *ctx, pg_buf_t *out, const pg_relation_t *rel, const pg_tuple_t *tuple)
{
    const unsigned char *keep = pg_colmask(ctx, rel);
    if (!keep) {
        pg_row_json(out, rel, tuple, 0, &ctx->format);
        return;
    }
    int n = rel->ncols < tuple->ncols ? rel->ncols : tuple->ncols;
    pg_column_t *cols = malloc(((size_t)n + 1) * sizeof(*cols));
    pg_datum_t *datums = malloc(((size_t)n + 1) * sizeof(*datums));
    if (!cols || !datums)
        abort(); /* as pending_push: a wrong event is worse than a restart */
    int k = 0;
    for (int i = 0; i < n; i++)
        if (keep[i]) {
            cols[k] = rel->cols[i];
            datums[k++] = tuple->cols[i];
        }
    pg_relation_t r = *rel;
    r.cols = cols;
    r.ncols = k;
    pg_tuple_t t = {.ncols = k, .cols = datums};
    pg_row_json(out, &r, &t, 0, &ctx->format);
    free(cols);
    free(datums);
}

/* pg_key_columns, also giving the catalog key it used (*kip: NULL when
 * message.key.columns chose the columns). */
static int key_columns(pg_ctx_t *ctx, const pg_relation_t *rel, int *idx, const pg_keyinfo_t **kip)
{
    *kip = NULL;
    const pg_keycols_t *kc = pg_keycols_find(ctx, rel->schema, rel->table);
    if (kc)
        return key_columns_named(kc, rel, idx);
    /* Keyed like Debezium in the snapshot and the stream: by the primary key,
     * else the first unique index (pg_keyinfo), never by REPLICA IDENTITY
     * FULL's all-columns flags nor by another identity index. */
    const pg_keyinfo_t *ki = pg_keyinfo(ctx, rel->oid);
    *kip = ki;
    int n = 0;
    for (int i = 0; ki && i < rel->ncols; i++)
        for (size_t j = 0; j < ki->count; j++)
            if (strcmp(ki->names[j], rel->cols[i].name) == 0) {
                idx[n++] = i;
                break;
            }
    return n;
}

int pg_key_columns(pg_ctx_t *ctx, const pg_relation_t *rel, int *idx)
{
    const pg_keyinfo_t *ki;
    return key_columns(ctx, rel, idx, &ki);
}

int pg_key_json(pg_ctx_t *ctx, const pg_relation_t *rel, const pg_tuple_t *tuple)
{
    int stack[64];
    int *idx = rel->ncols <= 64 ? stack : malloc((size_t)rel->ncols * sizeof(int));
    if (!idx)
        abort(); /* as pending_push */
    const pg_keyinfo_t *ki;
    int n = key_columns(ctx, rel, idx, &ki);
    pg_buf_reset(&ctx->kbuf);
    pg_buf_puts(&ctx->kbuf, "{");
    int written = 0, whole = n > 0;
    for (int k = 0; k < n; k++) {
        int i = idx[k];
        if (i >= tuple->ncols) {
            whole = 0;
            break;
        }
        const pg_datum_t *d = &tuple->cols[i];
        size_t j = 0;
        while (ki && j < ki->count && strcmp(ki->names[j], rel->cols[i].name) != 0)
            j++;
        if (ki && ((d->kind == PG_DATUM_NULL && ki->notnull[j]) || d->kind == PG_DATUM_UNCHANGED_TOAST)) {
            /* The row image does not carry this key column: an old image of
             * another REPLICA IDENTITY index (its other columns come as
             * NULL), or an unchanged TOASTed value with no old image. A
             * NULL or placeholder key would be another row's key; no key is
             * the honest answer. */
            pg_keyinfo_t *wk = (pg_keyinfo_t *)ki;
            if (!wk->warned) {
                wk->warned = 1;
                ctx->host->log(ctx->task, FERRY_LOG_WARN,
                               "%s.%s: a change carries no value for key column \"%s\" (REPLICA IDENTITY USING "
                               "INDEX on other columns?); its event gets no key. Use REPLICA IDENTITY DEFAULT or "
                               "FULL to key every change",
                               rel->schema, rel->table, rel->cols[i].name);
            }
            whole = 0;
            break;
        }
        if (written++)
            pg_buf_puts(&ctx->kbuf, ",");
        pg_buf_json_string(&ctx->kbuf, rel->cols[i].name, strlen(rel->cols[i].name));
        pg_buf_puts(&ctx->kbuf, ":");
        pg_datum_json(&ctx->kbuf, rel->cols[i].type_oid, rel->cols[i].typmod, d, &ctx->format);
    }
    pg_buf_puts(&ctx->kbuf, "}");
    if (idx != stack)
        free(idx);
    if (!whole)
        pg_buf_reset(&ctx->kbuf);
    return whole;
}

void pg_pending_free(pg_ctx_t *ctx)
{
    for (size_t i = ctx->pending_head; i < ctx->npending; i++)
        pending_clear(&ctx->pending[i]);
    free(ctx->pending);
    ctx->pending = NULL;
    ctx->npending = ctx->pending_head = ctx->cappending = 0;
}
