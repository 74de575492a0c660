/*
 * source_offsets.c — making source offsets durable.
 *
 * Every offsets.flush.interval, when the plugin asks, and at shutdown, the
 * offsets the tracker has found committable go to the offset store: the
 * offsets topic (written by the task's own producer, then acknowledged) or
 * the file. Only once they are durable does the plugin's commit() hear of
 * them: the right moment to confirm upstream (PG CDC confirms its LSN).
 *
 * Task thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/source_internal.h"
#include "util/log.h"
#include "util/strutil.h"

void source_offsets_free(source_offsets_t *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->part[i]);
        free(o->off[i]);
    }
    free(o->part);
    free(o->off);
    memset(o, 0, sizeof(*o));
}

void source_offsets_delivered(source_ctx_t *ctx, rd_kafka_resp_err_t err)
{
    source_offsets_t *o = &ctx->offs;
    o->acks_pending--;
    if (err && !o->write_failed) {
        o->write_failed = 1;
        snprintf(o->write_error, sizeof(o->write_error), "offsets topic write: %s", rd_kafka_err2str(err));
    }
}

/* The tracker's changed offsets join the pending list (latest wins). */
void source_offsets_take(source_ctx_t *ctx)
{
    source_offsets_t *o = &ctx->offs;
    const ferry_offset_t *offs = NULL;
    size_t n = offset_tracker_take(ctx->tracker, &offs);
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < o->n && strcmp(o->part[j], offs[i].source_partition) != 0) j++;
        if (j == o->n) {
            o->part = xrealloc(o->part, (o->n + 1) * sizeof(char *));
            o->off = xrealloc(o->off, (o->n + 1) * sizeof(char *));
            o->part[j] = str_dup(offs[i].source_partition);
            o->off[j] = NULL;
            o->n++;
        }
        free(o->off[j]);
        o->off[j] = str_dup(offs[i].source_offset);
    }
}

/* Produces one offsets record, waiting while the queue is full. */
static int write_record(source_ctx_t *ctx, const ferry_offset_t *off, int64_t deadline, char *why, size_t whylen)
{
    char *key = NULL, *val = NULL;
    size_t klen = 0, vlen = 0;
    int32_t part = 0;
    offsets_record_encode(ctx->t->task->connector, off->source_partition, off->source_offset,
                          ctx->w->offsets_partitions, &key, &klen, &val, &vlen, &part);
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(ctx->rk, RD_KAFKA_V_RKT(ctx->offsets_rkt), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
                              RD_KAFKA_V_VALUE(val, vlen), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)SOURCE_TAG_OFFSETS),
                              RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || clock_ms() >= deadline) break;
        rd_kafka_poll(ctx->rk, 50);
    }
    free(key);
    free(val);
    if (e) {
        snprintf(why, whylen, "offsets topic write: %s", rd_kafka_err2str(e));
        return -1;
    }
    ctx->offs.acks_pending++;
    return 0;
}

int source_offsets_write(source_ctx_t *ctx, int64_t deadline, char *why, size_t whylen)
{
    source_offsets_t *o = &ctx->offs;
    o->write_failed = 0;
    for (size_t i = 0; i < o->n; i++) {
        ferry_offset_t off = {.source_partition = o->part[i], .source_offset = o->off[i]};
        if (write_record(ctx, &off, deadline, why, whylen) != 0) return -1;
    }
    return 0;
}

static int store_kafka(source_ctx_t *ctx, const ferry_offset_t *offs, size_t n, int64_t deadline, char *why,
                       size_t whylen)
{
    source_offsets_t *o = &ctx->offs;
    /* A periodic store gives way to a stop, whose final store waits again
     * with the budget of its own. */
    int periodic = deadline == SOURCE_FLUSH_PERIODIC;
    if (periodic) deadline = clock_ms() + 30000;
    if (source_offsets_write(ctx, deadline, why, whylen) != 0) return -1;
    while (o->acks_pending > 0 && clock_ms() < deadline && !(periodic && engine_stopping(ctx->t)))
        rd_kafka_poll(ctx->rk, 50);
    if (o->acks_pending > 0 || o->write_failed) {
        snprintf(why, whylen, "%s", o->write_failed ? o->write_error : "offsets topic write timed out");
        return -1;
    }
    engine_offsets_update_map(ctx->w, ctx->t->task->connector, offs, n);
    return 0;
}

static ferry_status_t call_commit(task_rt_t *t, void *arg, ferry_error_t *err)
{
    const source_offsets_t *o = arg;
    ferry_offset_t *offs = xcalloc(o->n, sizeof(*offs));
    for (size_t i = 0; i < o->n; i++) {
        offs[i].source_partition = o->part[i];
        offs[i].source_offset = o->off[i];
    }
    ferry_status_t st = t->conn->desc->commit(t->state, offs, o->n, err);
    free(offs);
    return st;
}

int source_offsets_flush(source_ctx_t *ctx, int64_t deadline, char *why, size_t whylen)
{
    task_rt_t *t = ctx->t;
    source_offsets_t *o = &ctx->offs;
    source_offsets_take(ctx);
    if (o->n == 0) return 0;
    ferry_offset_t *offs = xcalloc(o->n, sizeof(*offs));
    for (size_t i = 0; i < o->n; i++) {
        offs[i].source_partition = o->part[i];
        offs[i].source_offset = o->off[i];
    }
    int rc = ctx->w->wc->offsets_store == OFFSETS_STORE_FILE
                 ? engine_offsets_store_file(ctx->w, t->task->connector, offs, o->n, why, whylen)
                 : store_kafka(ctx, offs, o->n, deadline, why, whylen);
    free(offs);
    engine_note_commit(t, rc == 0);
    if (rc != 0) return -1;
    return source_offsets_acknowledge(ctx, deadline);
}

int source_offsets_acknowledge(source_ctx_t *ctx, int64_t deadline)
{
    task_rt_t *t = ctx->t;
    source_offsets_t *o = &ctx->offs;
    if (o->n == 0) return 0;
    ferry_status_t st = FERRY_OK;
    ferry_error_t err;
    if (t->conn->desc->commit && !o->commit_broken) st = engine_call(t, call_commit, o, &err);
    if (st == FERRY_RETRY) {
        /* Stored, but the connector could not acknowledge upstream yet: keep
         * them pending, so commit() hears about them again next time. */
        log_warn("[%s] commit: %s (will retry)", t->task->prefix, err.msg[0] ? err.msg : "retry");
        if (deadline != SOURCE_FLUSH_PERIODIC && engine_stopping(t))
            engine_task_unclean(t, "the final commit() did not complete (%s): the offsets are stored, but the "
                                   "upstream system was not told",
                                err.msg[0] ? err.msg : "retry");
        return 0;
    }
    for (size_t i = 0; i < o->n; i++) {
        free(o->part[i]);
        free(o->off[i]);
    }
    o->n = 0;
    if (st != FERRY_OK) {
        o->commit_broken = 1;
        engine_task_fail(t, st, "commit", &err);
        return -2;
    }
    return 0;
}
