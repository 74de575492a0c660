/*
 * sink.c — the sink task loop.
 *
 *   consumer (group ferry-<connector>, auto commit off) → batch → put
 *   every flush.interval, on partition revocation and at shutdown:
 *   flush → commit consumer offsets up to what flush made durable.
 *
 * Runs on the task thread; the rebalance callback is served by
 * rd_kafka_consumer_poll on the same thread.
 *
 * Invariant: a consumer offset is committed only for records that put()
 * accepted and a later flush() declared durable, and only for partitions
 * this task owns at that moment.
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
    size_t max_records, max_bytes;
    /* Next offsets of records that put() accepted, not yet committed. */
    rd_kafka_topic_partition_list_t *put_pos;
    rd_kafka_topic_partition_t *last_pos; /* cache for sink_note_position */
    /* Partitions currently assigned to this task. */
    rd_kafka_topic_partition_list_t *owned;
    /* Messages that arrived while a put/flush was being retried. */
    rd_kafka_message_t **held;
    size_t nheld, held_cap;
    int in_call;        /* a put/flush is in progress (rebalance must not re-enter) */
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

/* While put/flush is retried the consumer must still be polled, or the
 * group evicts us after max.poll.interval.ms. Assigned partitions are
 * paused for the duration; anything that still arrives is held back for
 * the next batch (never dropped: its offset is past the consumer position). */
static void sink_tick(void *arg)
{
    sink_ctx_t *ctx = arg;
    rd_kafka_message_t *msg;
    while ((msg = rd_kafka_consumer_poll(ctx->rk, 0)) != NULL) {
        if (msg->err) {
            rd_kafka_message_destroy(msg);
            continue;
        }
        if (ctx->nheld == ctx->held_cap) {
            ctx->held_cap = ctx->held_cap ? ctx->held_cap * 2 : 64;
            ctx->held = xrealloc(ctx->held, ctx->held_cap * sizeof(*ctx->held));
        }
        ctx->held[ctx->nheld++] = msg;
    }
}

static ferry_status_t sink_call(sink_ctx_t *ctx, const char *what, engine_call_fn fn, void *arg,
                                ferry_error_t *err)
{
    task_rt_t *t = ctx->t;
    ctx->in_call = 1;
    int paused = 0;
    /* Pause only if the first attempt asks for a retry; the common path
     * costs nothing. */
    t->tick = NULL;
    ferry_status_t st = fn(t, arg, err);
    if (st == FERRY_RETRY && !engine_stopping(t)) {
        if (ctx->owned->cnt) paused = rd_kafka_pause_partitions(ctx->rk, ctx->owned) == 0;
        t->tick = sink_tick;
        t->tick_arg = ctx;
        st = engine_call_retrying(t, what, fn, arg, err);
        t->tick = NULL;
        if (paused && ctx->owned->cnt) rd_kafka_resume_partitions(ctx->rk, ctx->owned);
    }
    ctx->in_call = 0;
    return st;
}

static int sink_owns(const sink_ctx_t *ctx, const char *topic, int32_t partition)
{
    return rd_kafka_topic_partition_list_find(ctx->owned, topic, partition) != NULL;
}

/* flush(), then commit the consumer offsets that flush made durable.
 * Returns 0, or -1 when the task failed. */
static int sink_flush_commit(sink_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    if (!ctx->dirty && ctx->put_pos->cnt == 0) return 0;
    ferry_error_t err = {{0}};
    ferry_flush_t fl = {0};
    ferry_status_t st = sink_call(ctx, "flush", call_flush, &fl, &err);
    if (st != FERRY_OK) {
        flush_limits_clear(&fl);
        if (!engine_stopping(t) || st != FERRY_RETRY) engine_task_fail(t, st, "flush", &err);
        ctx->failed = 1;
        return -1;
    }
    ctx->dirty = 0;
    /* What to commit: the put positions, lowered to what the plugin
     * declared durable, for partitions we still own. Positions above a
     * limit stay in put_pos (and the sink stays dirty) for the next flush. */
    rd_kafka_topic_partition_list_t *commit = rd_kafka_topic_partition_list_new(ctx->put_pos->cnt + 1);
    rd_kafka_topic_partition_list_t *keep = rd_kafka_topic_partition_list_new(ctx->put_pos->cnt + 1);
    for (int i = 0; i < ctx->put_pos->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &ctx->put_pos->elems[i];
        if (!sink_owns(ctx, p->topic, p->partition)) continue; /* revoked: not ours to commit */
        int64_t durable = p->offset;
        for (size_t j = 0; j < fl.count; j++)
            if (fl.limits[j].partition == p->partition && strcmp(fl.limits[j].topic, p->topic) == 0 &&
                fl.limits[j].next_offset < durable)
                durable = fl.limits[j].next_offset;
        if (durable >= 0) rd_kafka_topic_partition_list_add(commit, p->topic, p->partition)->offset = durable;
        if (durable < p->offset) {
            rd_kafka_topic_partition_list_add(keep, p->topic, p->partition)->offset = p->offset;
            ctx->dirty = 1;
        }
    }
    flush_limits_clear(&fl);
    int rc = 0;
    if (commit->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_commit(ctx->rk, commit, 0 /* synchronous */);
        if (e) {
            /* Not fatal: nothing is lost; the positions stay and are
             * committed at the next flush (or the records are re-delivered
             * to the partition's next owner). */
            log_warn("[%s] committing consumer offsets failed: %s", t->task->prefix, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(keep);
            keep = NULL;
            rc = 0;
        }
    }
    rd_kafka_topic_partition_list_destroy(commit);
    if (keep) {
        rd_kafka_topic_partition_list_destroy(ctx->put_pos);
        ctx->put_pos = keep;
        ctx->last_pos = NULL;
    }
    return rc;
}

/* put() the batch; on success remember the positions. 0, or -1 (failed). */
static int sink_put_batch(sink_ctx_t *ctx, ferry_error_t *err);

static void sink_forget(sink_ctx_t *ctx, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_list_del(ctx->put_pos, parts->elems[i].topic, parts->elems[i].partition);
        rd_kafka_topic_partition_list_del(ctx->owned, parts->elems[i].topic, parts->elems[i].partition);
    }
    ctx->last_pos = NULL;
}

static void sink_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts,
                              void *opaque)
{
    sink_ctx_t *ctx = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("[%s] assigned %d partition(s)", ctx->t->task->prefix, parts->cnt);
        for (int i = 0; i < parts->cnt; i++)
            if (!sink_owns(ctx, parts->elems[i].topic, parts->elems[i].partition))
                rd_kafka_topic_partition_list_add(ctx->owned, parts->elems[i].topic, parts->elems[i].partition);
        if (cooperative) {
            rd_kafka_error_t *error = rd_kafka_incremental_assign(rk, parts);
            if (error) rd_kafka_error_destroy(error);
        } else {
            rd_kafka_assign(rk, parts);
        }
        return;
    }
    /* Before giving partitions away, put what was already fetched, make it
     * durable and commit it, so the next owner starts where we stopped.
     * Inside a put/flush retry (in_call) nothing more can be put: the
     * positions of revoked partitions are then simply not committed by us,
     * and the next owner re-reads them (duplicates, never loss). */
    log_info("[%s] revoking %d partition(s): flushing", ctx->t->task->prefix, parts->cnt);
    if (!ctx->failed && !ctx->in_call && ctx->rk) {
        ferry_error_t err = {{0}};
        if (sink_put_batch(ctx, &err) == 0) sink_flush_commit(ctx);
    }
    sink_forget(ctx, parts);
    if (cooperative) {
        rd_kafka_error_t *error = rd_kafka_incremental_unassign(rk, parts);
        if (error) rd_kafka_error_destroy(error);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static void sink_note_position(sink_ctx_t *ctx, const ferry_record_t *rec)
{
    rd_kafka_topic_partition_t *p = ctx->last_pos;
    if (!p || p->partition != rec->partition || strcmp(p->topic, rec->topic) != 0) {
        if (!sink_owns(ctx, rec->topic, rec->partition)) return; /* revoked meanwhile */
        p = rd_kafka_topic_partition_list_find(ctx->put_pos, rec->topic, rec->partition);
        if (!p) p = rd_kafka_topic_partition_list_add(ctx->put_pos, rec->topic, rec->partition);
        ctx->last_pos = p; /* valid until put_pos is modified (add/del/replace) */
    }
    p->offset = rec->kafka_offset + 1;
}

static int sink_put_batch(sink_ctx_t *ctx, ferry_error_t *err)
{
    task_rt_t *t = ctx->t;
    size_t n = batch_size(ctx->batch);
    if (n == 0) return 0;
    ferry_status_t st = sink_call(ctx, "put", call_put, ctx->batch, err);
    if (st != FERRY_OK) {
        /* A put interrupted by shutdown is not a failure: nothing of the
         * batch is committed and the records come again. */
        if (st != FERRY_RETRY || !engine_stopping(t)) engine_task_fail(t, st, "put", err);
        ctx->failed = 1;
        batch_reset(ctx->batch);
        return -1;
    }
    ctx->last_pos = NULL; /* put_pos may have been replaced meanwhile */
    for (size_t i = 0; i < n; i++) sink_note_position(ctx, batch_record(ctx->batch, i));
    atomic_fetch_add(&t->records, n);
    ctx->dirty = 1;
    batch_reset(ctx->batch);
    return 0;
}

/* Adds a consumed message to the batch, putting the batch first when full. */
static int sink_take(sink_ctx_t *ctx, rd_kafka_message_t *msg, ferry_error_t *err)
{
    if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            log_warn("[%s] consumer: %s", ctx->t->task->prefix, rd_kafka_message_errstr(msg));
        rd_kafka_message_destroy(msg);
        return 0;
    }
    if (batch_size(ctx->batch) >= ctx->max_records && sink_put_batch(ctx, err) != 0) {
        rd_kafka_message_destroy(msg);
        return -1;
    }
    batch_add_message(ctx->batch, msg);
    return 0;
}

static void sink_ctx_free(sink_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->nheld; i++) rd_kafka_message_destroy(ctx->held[i]);
    free(ctx->held);
    batch_free(ctx->batch);
    rd_kafka_topic_partition_list_destroy(ctx->put_pos);
    rd_kafka_topic_partition_list_destroy(ctx->owned);
}

void *sink_task_main(void *arg)
{
    task_rt_t *t = arg;
    worker_t *w = t->conn->worker;
    sink_ctx_t ctx = {.t = t};
    ferry_error_t err = {{0}};
    char emsg[512];
    ctx.put_pos = rd_kafka_topic_partition_list_new(8);
    ctx.owned = rd_kafka_topic_partition_list_new(8);
    ctx.max_records = (size_t)config_int(t->cfg, "batch.max.records");
    ctx.max_bytes = (size_t)config_size(t->cfg, "batch.max.bytes");
    ctx.batch = batch_new(ctx.max_records, ctx.max_bytes);

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
        /* Messages held back during a retry go first, in order. */
        size_t nheld = ctx.nheld;
        ctx.nheld = 0;
        for (size_t i = 0; i < nheld && !ctx.failed; i++) {
            if (sink_take(&ctx, ctx.held[i], &err) != 0) {
                for (size_t j = i + 1; j < nheld; j++) rd_kafka_message_destroy(ctx.held[j]);
                break;
            }
        }
        if (ctx.failed) break;
        /* Fill a batch: wait up to 100 ms for the first record, then take
         * whatever is already fetched. */
        int timeout = 100;
        while (batch_size(ctx.batch) < ctx.max_records && batch_bytes(ctx.batch) < ctx.max_bytes) {
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(ctx.rk, timeout);
            if (!msg) break;
            timeout = 0;
            if (sink_take(&ctx, msg, &err) != 0) break;
        }
        if (ctx.failed || sink_put_batch(&ctx, &err) != 0) break;
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
            sink_take(&ctx, msg, &err);
        }
        if (!ctx.failed) sink_put_batch(&ctx, &err);
    }
    if (!ctx.failed) sink_flush_commit(&ctx);

out:
    if (ctx.rk) {
        /* close() leaves the group; revocation runs the callback above,
         * which flushes again: harmless, nothing new was put. */
        rd_kafka_consumer_close(ctx.rk);
    }
    engine_task_close(t);
    if (ctx.rk) rd_kafka_destroy(ctx.rk);
    sink_ctx_free(&ctx);
    if (atomic_load(&t->status) < TASK_FAILED) atomic_store(&t->status, TASK_STOPPED);
    log_info("[%s] sink task %s", t->task->prefix, atomic_load(&t->status) == TASK_STOPPED ? "stopped" : "failed");
    atomic_store(&t->done, 1);
    return NULL;
}
