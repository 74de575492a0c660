/*
 * sink.c — the sink task loop.
 *
 *   consumer (group ferry-<connector>, auto commit off) → batch → put
 *   every flush.interval, on partition revocation and at shutdown:
 *   flush → commit consumer offsets up to what flush made durable.
 *
 * Runs on the task thread; the rebalance callback is served by
 * rd_kafka_consumer_poll on the same thread.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"

typedef struct sink_ctx {
    task_rt_t *t;
    rd_kafka_t *rk;
    ferry_batch_t *batch;
    /* Next offsets of records that put() accepted, not yet committed. */
    rd_kafka_topic_partition_list_t *put_pos;
    int dirty;          /* records were put since the last flush */
    int failed;
} sink_ctx_t;

static ferry_status_t call_put(task_rt_t *t, void *arg, ferry_error_t *err)
{
    return t->conn->desc->put(t->state, (const ferry_batch_t *)arg, err);
}

static ferry_status_t call_flush(task_rt_t *t, void *arg, ferry_error_t *err)
{
    ferry_flush_t *fl = arg;
    flush_limits_clear(fl);
    return t->conn->desc->flush(t->state, fl, err);
}

/* flush(), then commit the consumer offsets that flush made durable.
 * Returns 0, or -1 when the task failed. */
static int sink_flush_commit(sink_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    if (!ctx->dirty && ctx->put_pos->cnt == 0) return 0;
    ferry_error_t err = {{0}};
    ferry_flush_t fl = {0};
    ferry_status_t st = engine_call_retrying(t, "flush", call_flush, &fl, &err);
    if (st != FERRY_OK) {
        flush_limits_clear(&fl);
        if (!engine_stopping(t) || st != FERRY_RETRY) engine_task_fail(t, st, "flush", &err);
        ctx->failed = 1;
        return -1;
    }
    ctx->dirty = 0;
    /* Lower positions to what the plugin declared durable. */
    for (size_t i = 0; i < fl.count; i++) {
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(ctx->put_pos, fl.limits[i].topic, fl.limits[i].partition);
        if (p && fl.limits[i].next_offset < p->offset) p->offset = fl.limits[i].next_offset;
    }
    flush_limits_clear(&fl);
    if (ctx->put_pos->cnt == 0) return 0;
    rd_kafka_resp_err_t e = rd_kafka_commit(ctx->rk, ctx->put_pos, 0 /* synchronous */);
    if (e) {
        /* Not fatal: the records stay uncommitted and are committed at the
         * next flush, or re-delivered to whoever owns the partition next. */
        log_warn("[%s] committing consumer offsets failed: %s", t->task->prefix, rd_kafka_err2str(e));
        return 0;
    }
    /* Keep positions whose durable limit is below what was put: they are
     * committed again (higher) after the next flush. */
    rd_kafka_topic_partition_list_destroy(ctx->put_pos);
    ctx->put_pos = rd_kafka_topic_partition_list_new(8);
    return 0;
}

static void sink_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts,
                              void *opaque)
{
    sink_ctx_t *ctx = opaque;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("[%s] assigned %d partition(s)", ctx->t->task->prefix, parts->cnt);
        rd_kafka_assign(rk, parts);
    } else {
        /* Before giving partitions away, make what we consumed durable and
         * commit it, so the next owner starts where we stopped. */
        log_info("[%s] revoking %d partition(s): flushing", ctx->t->task->prefix, parts->cnt);
        if (!ctx->failed) sink_flush_commit(ctx);
        rd_kafka_assign(rk, NULL);
    }
}

static void sink_note_position(sink_ctx_t *ctx, const ferry_record_t *rec)
{
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(ctx->put_pos, rec->topic, rec->partition);
    if (!p) p = rd_kafka_topic_partition_list_add(ctx->put_pos, rec->topic, rec->partition);
    p->offset = rec->kafka_offset + 1;
}

/* put() the batch; on success remember the positions. 0, or -1 (failed). */
static int sink_put_batch(sink_ctx_t *ctx, ferry_error_t *err)
{
    task_rt_t *t = ctx->t;
    size_t n = batch_size(ctx->batch);
    if (n == 0) return 0;
    ferry_status_t st = engine_call_retrying(t, "put", call_put, ctx->batch, err);
    if (st != FERRY_OK) {
        /* A put interrupted by shutdown is not a failure: nothing of the
         * batch is committed and the records come again. */
        if (st != FERRY_RETRY || !engine_stopping(t)) engine_task_fail(t, st, "put", err);
        ctx->failed = 1;
        batch_reset(ctx->batch);
        return -1;
    }
    for (size_t i = 0; i < n; i++) sink_note_position(ctx, batch_record(ctx->batch, i));
    atomic_fetch_add(&t->records, n);
    ctx->dirty = 1;
    batch_reset(ctx->batch);
    return 0;
}

void *sink_task_main(void *arg)
{
    task_rt_t *t = arg;
    worker_t *w = t->conn->worker;
    sink_ctx_t ctx = {.t = t};
    ferry_error_t err = {{0}};
    char emsg[512];
    ctx.put_pos = rd_kafka_topic_partition_list_new(8);
    size_t max_records = (size_t)config_int(t->cfg, "batch.max.records");
    size_t max_bytes = (size_t)config_size(t->cfg, "batch.max.bytes");
    ctx.batch = batch_new(max_records, max_bytes);

    rd_kafka_conf_t *conf = engine_client_conf(t, KAFKA_CONSUMER, emsg, sizeof(emsg));
    if (conf) {
        rd_kafka_conf_set_rebalance_cb(conf, sink_rebalance_cb);
        rd_kafka_conf_set_opaque(conf, &ctx);
        ctx.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, emsg, sizeof(emsg));
    }
    if (!ctx.rk) {
        ferry_error_set(&err, FERRY_ERROR, "consumer: %s", emsg);
        engine_task_fail(t, FERRY_ERROR, "start", &err);
        goto out;
    }
    rd_kafka_poll_set_consumer(ctx.rk);

    ferry_status_t st = engine_call_retrying(t, "open", engine_call_open, NULL, &err);
    if (st != FERRY_OK) {
        if (!engine_stopping(t)) engine_task_fail(t, st, "open", &err);
        goto out;
    }

    const char *const *topics = NULL;
    size_t ntopics = config_list(t->cfg, "topics", &topics);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new((int)ntopics);
    for (size_t i = 0; i < ntopics; i++) rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(ctx.rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        ferry_error_set(&err, FERRY_ERROR, "subscribe: %s", rd_kafka_err2str(e));
        engine_task_fail(t, FERRY_ERROR, "start", &err);
        goto out;
    }
    atomic_store(&t->status, TASK_RUNNING);
    log_info("[%s] sink task running (group ferry-%s)", t->task->prefix, t->task->connector);

    int64_t flush_ms = config_duration_ms(t->cfg, "flush.interval");
    if (flush_ms <= 0) flush_ms = 5000;
    int64_t next_flush = clock_ms() + flush_ms;
    while (!engine_stopping(t) && !ctx.failed) {
        /* Fill a batch: wait up to 100 ms for the first record, then take
         * whatever is already fetched. */
        int timeout = 100;
        while (batch_size(ctx.batch) < max_records && batch_bytes(ctx.batch) < max_bytes) {
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(ctx.rk, timeout);
            if (!msg) break;
            timeout = 0;
            if (msg->err) {
                if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    log_warn("[%s] consumer: %s", t->task->prefix, rd_kafka_message_errstr(msg));
                rd_kafka_message_destroy(msg);
                continue;
            }
            batch_add_message(ctx.batch, msg);
        }
        if (sink_put_batch(&ctx, &err) != 0) break;
        if (clock_ms() >= next_flush) {
            sink_flush_commit(&ctx);
            next_flush = clock_ms() + flush_ms;
        }
    }
    /* The embedded broker's data dies with the process: consume what the
     * (already stopped) sources delivered before the final flush. */
    if (!ctx.failed && kafka_env_is_embedded(w->kenv)) {
        int64_t drain_end = clock_ms() + (w->shutdown_deadline_ms - clock_ms()) / 2;
        while (clock_ms() < drain_end && !ctx.failed) {
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(ctx.rk, 300);
            if (!msg) break;
            if (msg->err) {
                rd_kafka_message_destroy(msg);
                continue;
            }
            batch_add_message(ctx.batch, msg);
            if (batch_size(ctx.batch) >= max_records) sink_put_batch(&ctx, &err);
        }
        sink_put_batch(&ctx, &err);
    }
    if (!ctx.failed) sink_flush_commit(&ctx);

out:
    if (ctx.rk) {
        /* close() leaves the group (revocation runs the callback above,
         * which flushes again: harmless, nothing new was put). */
        rd_kafka_consumer_close(ctx.rk);
    }
    if (atomic_load_explicit(&t->opened, memory_order_acquire)) {
        t->conn->desc->close(t->state);
        atomic_store(&t->opened, 0);
        t->state = NULL;
    }
    if (ctx.rk) rd_kafka_destroy(ctx.rk);
    batch_free(ctx.batch);
    rd_kafka_topic_partition_list_destroy(ctx.put_pos);
    if (atomic_load(&t->status) < TASK_FAILED) atomic_store(&t->status, TASK_STOPPED);
    log_info("[%s] sink task %s", t->task->prefix, atomic_load(&t->status) == TASK_STOPPED ? "stopped" : "failed");
    atomic_store(&t->done, 1);
    return NULL;
}
