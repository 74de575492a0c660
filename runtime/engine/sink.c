/*
 * sink.c — the sink task loop.
 *
 *   consumer (group ferry-<connector>, auto commit off) → batch → put
 *   every flush.interval, on request, on revoke and at shutdown:
 *   flush → commit consumer offsets up to what flush made durable
 *   (sink_commit.c).
 *
 * Runs on the task thread; the rebalance callback is served by
 * rd_kafka_consumer_poll on the same thread.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/sink_internal.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- partition callbacks ---------------------------------------------------------- */

typedef struct parts_arg {
    int assigned;
    const tplist_t *parts;
} parts_arg_t;

static ferry_status_t call_parts(task_rt_t *t, void *arg, ferry_error_t *err)
{
    const parts_arg_t *a = arg;
    ferry_partition_t *ps = xcalloc((size_t)a->parts->cnt + 1, sizeof(*ps));
    for (int i = 0; i < a->parts->cnt; i++) {
        ps[i].topic = a->parts->elems[i].topic;
        ps[i].partition = a->parts->elems[i].partition;
    }
    const ferry_connector_t *d = t->conn->desc;
    ferry_status_t st = a->assigned ? d->partitions_assigned(t->state, ps, (size_t)a->parts->cnt, err)
                                    : d->partitions_revoked(t->state, ps, (size_t)a->parts->cnt, err);
    free(ps);
    return st;
}

/* Tells the plugin about partitions assigned or revoked. 0, or -1 when the
 * task failed. */
static int sink_tell_partitions(sink_ctx_t *ctx, int assigned, const tplist_t *parts)
{
    task_rt_t *t = ctx->t;
    const ferry_connector_t *d = t->conn->desc;
    if (!parts->cnt || ctx->failed || !atomic_load_explicit(&t->opened, memory_order_acquire)) return 0;
    if (assigned ? !d->partitions_assigned : !d->partitions_revoked) return 0;
    /* Revoked: with the topics the transforms renamed them to, which are
     * what the connector keeps its state under. */
    tplist_t *told = assigned || !ctx->naliases ? NULL : sink_alias_with(ctx, parts);
    parts_arg_t a = {.assigned = assigned, .parts = told ? told : parts};
    ferry_error_t err;
    ctx->in_call = 1;
    ferry_status_t st = engine_call(t, call_parts, &a, &err);
    ctx->in_call = 0;
    if (told) rd_kafka_topic_partition_list_destroy(told);
    if (st == FERRY_OK) return 0;
    engine_task_fail(t, st == FERRY_RETRY ? FERRY_ERROR : st, assigned ? "partitions_assigned" : "partitions_revoked",
                     &err);
    ctx->failed = 1;
    return -1;
}

static void list_append(tplist_t *to, const tplist_t *from)
{
    for (int i = 0; i < from->cnt; i++)
        rd_kafka_topic_partition_list_add(to, from->elems[i].topic, from->elems[i].partition);
}

/* Rebalances that happened inside a plugin call are told afterwards. */
static int sink_tell_late(sink_ctx_t *ctx)
{
    int rc = 0;
    if (ctx->late_revoked->cnt) {
        rc = sink_tell_partitions(ctx, 0, ctx->late_revoked);
        /* Only of partitions not assigned again meanwhile: records of those
         * may already have been noted under their renamed topics anew. */
        tplist_t *gone = rd_kafka_topic_partition_list_new(ctx->late_revoked->cnt + 1);
        for (int i = 0; i < ctx->late_revoked->cnt; i++)
            if (!sink_owns(ctx, ctx->late_revoked->elems[i].topic, ctx->late_revoked->elems[i].partition))
                rd_kafka_topic_partition_list_add(gone, ctx->late_revoked->elems[i].topic,
                                                  ctx->late_revoked->elems[i].partition);
        sink_alias_forget(ctx, gone);
        rd_kafka_topic_partition_list_destroy(gone);
        rd_kafka_topic_partition_list_destroy(ctx->late_revoked);
        ctx->late_revoked = rd_kafka_topic_partition_list_new(4);
    }
    if (rc == 0 && ctx->late_assigned->cnt) {
        tplist_t *still = rd_kafka_topic_partition_list_new(ctx->late_assigned->cnt);
        for (int i = 0; i < ctx->late_assigned->cnt; i++)
            if (sink_owns(ctx, ctx->late_assigned->elems[i].topic, ctx->late_assigned->elems[i].partition))
                rd_kafka_topic_partition_list_add(still, ctx->late_assigned->elems[i].topic,
                                                  ctx->late_assigned->elems[i].partition);
        rc = sink_tell_partitions(ctx, 1, still);
        rd_kafka_topic_partition_list_destroy(still);
        rd_kafka_topic_partition_list_destroy(ctx->late_assigned);
        ctx->late_assigned = rd_kafka_topic_partition_list_new(4);
        sink_apply_rewinds(ctx);
    }
    return rc;
}

/* ---- put ---------------------------------------------------------------------------------- */

static ferry_status_t call_put(task_rt_t *t, void *arg, ferry_error_t *err)
{
    return t->conn->desc->put(t->state, (const ferry_batch_t *)arg, err);
}

/* Where the record at (topic, partition, offset) was consumed: done once put. */
static void sink_note_position(sink_ctx_t *ctx, const char *topic, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_t *p = ctx->last_pos;
    if (!p || p->partition != partition || strcmp(p->topic, topic) != 0) {
        if (!sink_owns(ctx, topic, partition)) return; /* revoked meanwhile */
        p = rd_kafka_topic_partition_list_find(ctx->put_pos, topic, partition);
        if (!p) p = rd_kafka_topic_partition_list_add(ctx->put_pos, topic, partition);
        ctx->last_pos = p; /* valid until put_pos is modified (add/del/replace) */
    }
    if (offset + 1 > p->offset) p->offset = offset + 1;
}

/* The positions of records no put() will see (dropped by a transform, or
 * dead-lettered), once nothing before them is still unput. */
static void sink_note_dropped(sink_ctx_t *ctx)
{
    if (!ctx->dropped || ctx->dropped->cnt == 0) return;
    ctx->last_pos = NULL;
    for (int i = 0; i < ctx->dropped->cnt; i++)
        sink_note_position(ctx, ctx->dropped->elems[i].topic, ctx->dropped->elems[i].partition,
                           ctx->dropped->elems[i].offset);
    rd_kafka_topic_partition_list_destroy(ctx->dropped);
    ctx->dropped = rd_kafka_topic_partition_list_new(4);
    ctx->last_pos = NULL;
    ctx->dirty = 1;
}

/* put() the batch; on success remember the positions. 0, or -1 (failed). */
static int sink_put_batch(sink_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    if (sink_tell_late(ctx) != 0) return -1;
    size_t n = batch_size(ctx->batch);
    if (n == 0) {
        sink_note_dropped(ctx);
        batch_reset(ctx->batch); /* what dropped records left in the arena */
        return 0;
    }
    ferry_error_t err;
    int64_t wait = rate_limit_take(t->conn->limit, n, batch_bytes(ctx->batch));
    if (wait > 0) sink_wait(ctx, wait); /* rate.limit.* */
    /* At-most-once: the batch counts as done before put() sees it. */
    if (ctx->at_most_once && sink_commit_batch(ctx) != 0) {
        batch_reset(ctx->batch);
        return -1;
    }
    ctx->record_failed = 0;
    ctx->record_retriable = 0;
    int64_t started = engine_now_us();
    ferry_status_t st = sink_call(ctx, "put", call_put, ctx->batch, &err);
    if (st == FERRY_OK && !ctx->record_failed) engine_note_call(t, started, n);
    if (st == FERRY_OK && (ctx->alias_error[0] || ctx->failed)) {
        /* A rewind that could not be mapped (merged topics), or a failure
         * during the call: nothing of this batch is committed. */
        if (!ctx->failed) engine_task_fail_permanent(t, "put", "%s", ctx->alias_error);
        st = FERRY_FATAL;
    }
    if (ctx->record_failed && ctx->record_retriable) {
        /* Its dead-letter copy could not be written: nothing of this batch
         * is committed, and a restart delivers it again. */
        ferry_error_t rerr;
        snprintf(rerr.msg, sizeof(rerr.msg), "%s", ctx->record_error);
        engine_task_fail(t, FERRY_ERROR, "put", &rerr);
        st = FERRY_ERROR;
    } else if (ctx->record_failed) {
        /* The plugin rejected a record that the policy may not skip: nothing
         * of this batch is committed, and a restart would meet it again. */
        engine_task_fail_permanent(t, "put", "%s", ctx->record_error);
        st = FERRY_FATAL;
    } else if (st != FERRY_OK && (st != FERRY_RETRY || !engine_stopping(t))) {
        /* A put interrupted by shutdown is not a failure: nothing of the
         * batch is committed and the records come again. */
        engine_task_fail(t, st, "put", &err);
    }
    if (st != FERRY_OK) {
        if (st == FERRY_RETRY && engine_stopping(t) && !ctx->record_failed)
            ctx->interrupted = 1;
        else
            ctx->failed = 1;
        batch_reset(ctx->batch);
        return -1;
    }
    ctx->last_pos = NULL; /* put_pos may have been replaced meanwhile */
    /* Positions first, rewinds after: a rewind lowers what put raised. */
    n = batch_size(ctx->batch);
    for (size_t i = 0; i < n; i++) {
        /* As consumed: a transform may have renamed the record's topic. */
        const rd_kafka_message_t *m = batch_message(ctx->batch, i);
        sink_note_position(ctx, rd_kafka_topic_name(m->rkt), m->partition, m->offset);
    }
    sink_note_dropped(ctx);
    sink_apply_rewinds(ctx);
    atomic_fetch_add(&t->records, n);
    ctx->dirty = 1;
    batch_reset(ctx->batch);
    return 0;
}

/* ---- rebalances ----------------------------------------------------------------------------- */

static void sink_forget(sink_ctx_t *ctx, const tplist_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        const char *topic = parts->elems[i].topic;
        int32_t p = parts->elems[i].partition;
        rd_kafka_topic_partition_list_del(ctx->put_pos, topic, p);
        rd_kafka_topic_partition_list_del(ctx->owned, topic, p);
        rd_kafka_topic_partition_list_del(ctx->user_paused, topic, p);
        rd_kafka_topic_partition_list_del(ctx->rewinds, topic, p);
        rd_kafka_topic_partition_list_del(ctx->refetch, topic, p);
        rd_kafka_topic_partition_list_del(ctx->late_assigned, topic, p);
        if (ctx->dropped) rd_kafka_topic_partition_list_del(ctx->dropped, topic, p);
    }
    ctx->last_pos = NULL;
}

static void sink_on_assign(sink_ctx_t *ctx, rd_kafka_t *rk, tplist_t *parts, int cooperative)
{
    log_info("[%s] assigned %d partition(s)", ctx->t->task->prefix, parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        if (!sink_owns(ctx, parts->elems[i].topic, parts->elems[i].partition))
            rd_kafka_topic_partition_list_add(ctx->owned, parts->elems[i].topic, parts->elems[i].partition);
    if (ctx->in_call) {
        list_append(ctx->late_assigned, parts);
    } else if (sink_tell_partitions(ctx, 1, parts) == 0) {
        /* Rewinds asked for in partitions_assigned become the starting
         * offsets of the assignment itself. */
        for (int i = 0; i < ctx->rewinds->cnt; i++) {
            const rd_kafka_topic_partition_t *r = &ctx->rewinds->elems[i];
            rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(parts, r->topic, r->partition);
            if (!p) continue;
            p->offset = r->offset;
            /* Committed at the next flush, as Connect commits a rewound offset. */
            rd_kafka_topic_partition_list_add(ctx->put_pos, r->topic, r->partition)->offset = r->offset;
            ctx->last_pos = NULL;
            ctx->dirty = 1;
        }
    }
    if (cooperative) {
        rd_kafka_error_t *error = rd_kafka_incremental_assign(rk, parts);
        if (error) rd_kafka_error_destroy(error);
    } else {
        rd_kafka_assign(rk, parts);
    }
    /* Pauses asked for in partitions_assigned take effect only once the
     * partitions are assigned. */
    tplist_t *hold = rd_kafka_topic_partition_list_new(parts->cnt + 1);
    for (int i = 0; i < parts->cnt; i++)
        if (rd_kafka_topic_partition_list_find(ctx->user_paused, parts->elems[i].topic, parts->elems[i].partition))
            rd_kafka_topic_partition_list_add(hold, parts->elems[i].topic, parts->elems[i].partition);
    if (hold->cnt) rd_kafka_pause_partitions(rk, hold);
    rd_kafka_topic_partition_list_destroy(hold);
    /* Remaining rewinds (of partitions already owned) are applied now. */
    for (int i = 0; i < parts->cnt; i++)
        rd_kafka_topic_partition_list_del(ctx->rewinds, parts->elems[i].topic, parts->elems[i].partition);
    sink_apply_rewinds(ctx);
}

/* Before giving partitions away, put what was already fetched, make it
 * durable and commit it, so the next owner starts where we stopped. Inside
 * a plugin call nothing more can be put: the positions of revoked partitions
 * are then simply not committed by us, and the next owner re-reads them
 * (duplicates, never loss). */
static void sink_on_revoke(sink_ctx_t *ctx, rd_kafka_t *rk, tplist_t *parts, int cooperative)
{
    log_info("[%s] revoking %d partition(s): flushing", ctx->t->task->prefix, parts->cnt);
    if (!ctx->failed && !ctx->in_call && ctx->rk) {
        if (ctx->interrupted || sink_put_batch(ctx) == 0) sink_flush_commit(ctx, engine_deadline(ctx->t, 100));
    }
    if (ctx->in_call) {
        list_append(ctx->late_revoked, parts);
    } else {
        sink_tell_partitions(ctx, 0, parts);
        sink_alias_forget(ctx, parts);
    }
    sink_forget(ctx, parts);
    if (cooperative) {
        rd_kafka_error_t *error = rd_kafka_incremental_unassign(rk, parts);
        if (error) rd_kafka_error_destroy(error);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static void sink_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, tplist_t *parts, void *opaque)
{
    sink_ctx_t *ctx = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        sink_on_assign(ctx, rk, parts, cooperative);
    else
        sink_on_revoke(ctx, rk, parts, cooperative);
}

/* ---- hooks behind the SDK's sink functions ------------------------------------------------ */

static void sink_hook_rewind(void *arg, const char *topic, int32_t partition, int64_t offset)
{
    sink_ctx_t *ctx = arg;
    int merged;
    const char *consumed = sink_alias_consumed(ctx, topic, partition, &merged);
    if (merged) {
        if (!ctx->alias_error[0])
            snprintf(ctx->alias_error, sizeof(ctx->alias_error),
                     "sink_rewind(%s/%d): a name transforms gave to another consumed topic while this task also "
                     "consumes it itself: their offsets cannot be told apart (make the rename one-to-one)",
                     topic, (int)partition);
        return;
    }
    topic = consumed;
    if (!sink_owns(ctx, topic, partition))
        log_warn("[%s] sink_rewind(%s/%d): not a partition of this task (or a renamed topic none of whose records "
                 "were seen): ignored", ctx->t->task->prefix, topic, (int)partition);
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(ctx->rewinds, topic, partition);
    if (!p) p = rd_kafka_topic_partition_list_add(ctx->rewinds, topic, partition);
    p->offset = offset;
}

static void sink_pause_one(sink_ctx_t *ctx, const char *topic, int32_t partition, int pause)
{
    int paused = rd_kafka_topic_partition_list_find(ctx->user_paused, topic, partition) != NULL;
    if (pause == paused || !sink_owns(ctx, topic, partition)) return;
    if (pause)
        rd_kafka_topic_partition_list_add(ctx->user_paused, topic, partition);
    else
        rd_kafka_topic_partition_list_del(ctx->user_paused, topic, partition);
    if (ctx->retry_paused) return; /* the retry's end resumes what may be resumed */
    tplist_t *one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(one, topic, partition);
    if (pause)
        rd_kafka_pause_partitions(ctx->rk, one);
    else
        rd_kafka_resume_partitions(ctx->rk, one);
    rd_kafka_topic_partition_list_destroy(one);
}

/* What the connector paused may be a renamed topic: its consumed partition
 * is paused (and the name itself too when the task also consumes it). */
static void sink_hook_pause(void *arg, const char *topic, int32_t partition, int pause)
{
    sink_ctx_t *ctx = arg;
    int merged;
    const char *consumed = sink_alias_consumed(ctx, topic, partition, &merged);
    sink_pause_one(ctx, consumed, partition, pause);
    if (merged && consumed != topic) sink_pause_one(ctx, topic, partition, pause);
}

static const task_hooks_t sink_hooks = {
    .record_error = sink_record_error,
    .rewind = sink_hook_rewind,
    .pause = sink_hook_pause,
};

/* ---- the loop ----------------------------------------------------------------------------- */

static void sink_consumer_error(sink_ctx_t *ctx, const rd_kafka_message_t *msg)
{
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    /* The same error over and over (an unreachable broker, a missing topic)
     * is logged once every 30 s. */
    int64_t now = clock_ms();
    if (msg->err == ctx->last_consumer_err && now - ctx->last_consumer_err_ms < 30000) return;
    ctx->last_consumer_err = msg->err;
    ctx->last_consumer_err_ms = now;
    log_warn("[%s] consumer: %s", ctx->t->task->prefix, rd_kafka_message_errstr(msg));
}

/* Runs the converters and transforms on the batch's last record. A record
 * dropped, or failed and dead-lettered, leaves the batch; its position is
 * noted once what came before it was put. 0, or -1 when the task failed. */
static int sink_transform(sink_ctx_t *ctx, size_t index)
{
    task_rt_t *t = ctx->t;
    errors_stage_t stage;
    char why[600];
    xf_result_t res = pipeline_sink(&ctx->pipe, ctx->batch, index, &stage, why, sizeof(why));
    const rd_kafka_message_t *m = batch_message(ctx->batch, index);
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (res == XF_KEEP) {
        const ferry_record_t *br = batch_record(ctx->batch, index);
        if (br->topic != topic && strcmp(br->topic, topic) != 0 &&
            sink_alias_note(ctx, br->topic, m->partition, topic) != 0) {
            engine_task_fail_permanent(t, "transform", "%s", ctx->alias_error);
            ctx->failed = 1;
            return -1;
        }
        return 0;
    }
    if (res == XF_FAIL) {
        /* The record as consumed goes to the error policy. */
        ferry_record_t orig = {.topic = topic, .partition = m->partition, .key = m->key, .key_len = m->key_len,
                               .value = m->payload, .value_len = m->len, .kafka_offset = m->offset,
                               .timestamp_ms = rd_kafka_message_timestamp(m, NULL)};
        /* With its headers, as consumed (the batch record still has them:
         * a failed record is not rewritten). */
        const ferry_record_t *br = batch_record(ctx->batch, index);
        orig.headers = br->headers;
        orig.header_count = br->header_count;
        errors_context_t ectx;
        engine_error_context(t, &ectx, stage, ERRORS_EXC_DATA, why);
        ectx.topic = topic;
        ectx.partition = m->partition;
        ectx.offset = m->offset;
        errors_log(&t->policy, t->task->prefix, &ectx, &orig);
        char err[512] = "";
        if (!t->policy.tolerate_all) {
            engine_task_fail_permanent(t, errors_stage_name(stage),
                                       "record %s/%d@%lld: %s; the task is not restarted, since it would meet the same "
                                       "record (errors.tolerance: all skips or dead-letters such records)",
                                       topic, (int)m->partition, (long long)m->offset, why);
            ctx->failed = 1;
            return -1;
        }
        if (t->policy.dlq_topic && sink_dlq_record(ctx, &orig, &ectx, err, sizeof(err)) != 0) {
            ferry_error_t ferr;
            snprintf(ferr.msg, sizeof(ferr.msg), "%s (record %s/%d@%lld: %s)", err, topic, (int)m->partition,
                     (long long)m->offset, why);
            engine_task_fail(t, FERRY_ERROR, errors_stage_name(stage), &ferr);
            ctx->failed = 1;
            return -1;
        }
        if (!t->policy.dlq_topic) atomic_fetch_add(&t->dead_lettered, 1);
    } else {
        atomic_fetch_add(&t->records_filtered, 1);
    }
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(ctx->dropped, topic, m->partition);
    if (!p) p = rd_kafka_topic_partition_list_add(ctx->dropped, topic, m->partition);
    p->offset = m->offset;
    batch_drop_last(ctx->batch);
    return 0;
}

/* Adds a consumed message to the batch, putting the batch first when full. */
static int sink_take(sink_ctx_t *ctx, rd_kafka_message_t *msg)
{
    if (msg->err) {
        sink_consumer_error(ctx, msg);
        rd_kafka_message_destroy(msg);
        return 0;
    }
    if (batch_size(ctx->batch) >= ctx->max_records && sink_put_batch(ctx) != 0) {
        rd_kafka_message_destroy(msg);
        return -1;
    }
    ctx->seen_msgs++;
    ctx->seen_bytes += msg->len + msg->key_len;
    size_t index = batch_size(ctx->batch);
    batch_add_message(ctx->batch, msg);
    return ctx->pipe.active ? sink_transform(ctx, index) : 0;
}

/* The fetcher wake-up. librdkafka 2.0 stops fetching for a partition while
 * the consumer queue holds queued.min.messages records or
 * queued.max.messages.kbytes, and looks again only when its broker thread
 * next wakes up: on I/O, on a request to send, or after 1 s. A sink that is
 * slower than the fetcher then drains the queue in a fraction of that second
 * and idles for the rest (librdkafka 2.1 added fetch.queue.backoff.ms for
 * this). So once the queue was seen at a bound and the sink has drained it
 * below, the task asks the leaders for their end offsets: a small
 * ListOffsets request per broker, which wakes each broker thread, and the
 * fetcher fetches again at once. */
static void sink_wakeup_init(sink_ctx_t *ctx)
{
    if (rd_kafka_version() >= 0x02010000) return;
    char v[32];
    size_t n = sizeof(v);
    const rd_kafka_conf_t *conf = rd_kafka_conf(ctx->rk);
    if (rd_kafka_conf_get(conf, "queued.min.messages", v, &n) != RD_KAFKA_CONF_OK) return;
    ctx->queue_max_msgs = strtoll(v, NULL, 10);
    n = sizeof(v);
    if (rd_kafka_conf_get(conf, "queued.max.messages.kbytes", v, &n) != RD_KAFKA_CONF_OK) return;
    ctx->queue_max_bytes = strtoll(v, NULL, 10) * 1024;
    ctx->consumer_q = rd_kafka_queue_get_consumer(ctx->rk);
}

static void sink_wakeup(sink_ctx_t *ctx)
{
    if (!ctx->consumer_q || !ctx->seen_msgs) return;
    int64_t len = (int64_t)rd_kafka_queue_length(ctx->consumer_q);
    int64_t bytes = len * (int64_t)(ctx->seen_bytes / ctx->seen_msgs);
    /* 90 %: the byte count is an estimate from the records taken so far. */
    int at_bound = len * 10 >= ctx->queue_max_msgs * 9 || bytes * 10 >= ctx->queue_max_bytes * 9;
    if (at_bound) {
        ctx->fetch_parked = 1;
        return;
    }
    if (!ctx->fetch_parked || ctx->retry_paused || !ctx->owned->cnt) return;
    ctx->fetch_parked = 0;
    tplist_t *ask = rd_kafka_topic_partition_list_copy(ctx->owned);
    for (int i = 0; i < ask->cnt; i++) ask->elems[i].offset = RD_KAFKA_OFFSET_END;
    /* The answer does not matter, only that each broker thread woke. */
    (void)rd_kafka_offsets_for_times(ctx->rk, ask, 500);
    rd_kafka_topic_partition_list_destroy(ask);
}

/* Fills a batch: waits up to 100 ms for the first record, then takes
 * whatever is already fetched. */
static int sink_fill(sink_ctx_t *ctx)
{
    int timeout = 100;
    sink_wakeup(ctx);
    /* Bounded by the messages taken too: transforms that drop most of them
     * must not keep the loop (and flushes, commits, stops) waiting. */
    size_t taken = 0;
    while (!ctx->failed && batch_size(ctx->batch) < ctx->max_records && batch_bytes(ctx->batch) < ctx->max_bytes &&
           taken++ < ctx->max_records) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(ctx->rk, timeout);
        if (!msg) break;
        timeout = 0;
        if (sink_take(ctx, msg) != 0) return -1;
    }
    return ctx->failed ? -1 : 0;
}

static void sink_run(sink_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    int64_t flush_ms = config_duration_ms(t->cfg, "flush.interval");
    if (flush_ms <= 0) flush_ms = 5000;
    int64_t next_flush = clock_ms() + flush_ms;
    while (!engine_stopping(t) && !ctx->failed) {
        if (atomic_load(&t->conn->paused)) {
            /* Paused: nothing is put; what was put is still flushed and committed. */
            sink_hold(ctx, 1);
            atomic_store(&t->pause_held, 1);
            while (atomic_load(&t->conn->paused) && !engine_stopping(t) && !ctx->failed) {
                sink_hold_tick(ctx);
                engine_sleep(t, 50);
                if (clock_ms() >= next_flush) {
                    sink_flush_commit(ctx, INT64_MAX);
                    next_flush = clock_ms() + flush_ms;
                }
            }
            atomic_store(&t->pause_held, 0);
            sink_hold(ctx, 0);
            continue;
        }
        if (sink_fill(ctx) != 0 || sink_put_batch(ctx) != 0) break;
        if (ctx->dlq_rk) rd_kafka_poll(ctx->dlq_rk, 0);
        if (clock_ms() >= next_flush || engine_commit_requested(t)) {
            sink_flush_commit(ctx, INT64_MAX);
            next_flush = clock_ms() + flush_ms;
        }
    }
}

/* At shutdown: with the embedded broker, whose data dies with the process,
 * consume what the (already stopped) sources delivered; then the final
 * flush and commit, with a budget of their own. */
static void sink_finish(sink_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    if (ctx->failed) return;
    if (!ctx->interrupted && kafka_env_is_embedded(t->conn->worker->kenv)) {
        int64_t drain_end = engine_deadline(t, engine_final_reserve_ms(t));
        while (clock_ms() < drain_end && !ctx->failed) {
            rd_kafka_message_t *msg = rd_kafka_consumer_poll(ctx->rk, 300);
            if (!msg) break;
            sink_take(ctx, msg);
        }
    }
    /* After an interrupted put nothing more may be put (later positions
     * would cover the dropped records); what was put before is committed. */
    if (!ctx->failed && (ctx->interrupted || sink_put_batch(ctx) == 0))
        sink_flush_commit(ctx, engine_deadline(t, 100));
}

static int sink_setup(sink_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    ferry_error_t err;
    char emsg[512];
    ctx->put_pos = rd_kafka_topic_partition_list_new(8);
    ctx->owned = rd_kafka_topic_partition_list_new(8);
    ctx->user_paused = rd_kafka_topic_partition_list_new(4);
    ctx->rewinds = rd_kafka_topic_partition_list_new(4);
    ctx->refetch = rd_kafka_topic_partition_list_new(4);
    ctx->late_assigned = rd_kafka_topic_partition_list_new(4);
    ctx->late_revoked = rd_kafka_topic_partition_list_new(4);
    ctx->max_records = engine_batch_records(t);
    ctx->at_most_once = strcmp(config_string(t->cfg, "delivery.guarantee"), "at-most-once") == 0;
    ctx->max_bytes = engine_batch_bytes(t);
    ctx->batch = batch_new(ctx->max_records, ctx->max_bytes);
    ctx->dropped = rd_kafka_topic_partition_list_new(4);
    if (pipeline_init(&ctx->pipe, t, emsg, sizeof(emsg)) != 0) {
        engine_task_fail_permanent(t, "start", "%s", emsg);
        return -1;
    }
    t->task->hooks = &sink_hooks;
    t->task->hooks_arg = ctx;

    rd_kafka_conf_t *conf = engine_client_conf(t, KAFKA_CONSUMER, emsg, sizeof(emsg));
    if (conf) {
        rd_kafka_conf_set_rebalance_cb(conf, sink_rebalance_cb);
        rd_kafka_conf_set_opaque(conf, ctx);
        engine_stats_attach(conf);
        ctx->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, emsg, sizeof(emsg));
    }
    if (!ctx->rk) {
        snprintf(err.msg, sizeof(err.msg), "consumer: %s", emsg);
        engine_task_fail(t, FERRY_ERROR, "start", &err);
        return -1;
    }
    rd_kafka_poll_set_consumer(ctx->rk);
    sink_wakeup_init(ctx);
    ctx->commit_q = rd_kafka_queue_new(ctx->rk);

    ferry_status_t st = engine_call_retrying(t, "open", engine_call_open, NULL, &err);
    if (st != FERRY_OK) {
        if (!engine_stopping(t)) engine_task_fail(t, st, "open", &err);
        return -1;
    }
    const char *const *topics = NULL;
    size_t ntopics = config_list(t->cfg, "topics", &topics);
    const char *re = config_string(t->cfg, "topics.regex");
    tplist_t *sub = rd_kafka_topic_partition_list_new((int)ntopics + 1);
    for (size_t i = 0; i < ntopics; i++) rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
    if (re && re[0]) {
        /* librdkafka subscribes by pattern when a name starts with '^';
         * the anchors make it match whole names, as Connect's does. */
        char *pattern = str_printf("^(%s)$", re);
        rd_kafka_topic_partition_list_add(sub, pattern, RD_KAFKA_PARTITION_UA);
        free(pattern);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(ctx->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err.msg, sizeof(err.msg), "subscribe: %s", rd_kafka_err2str(e));
        engine_task_fail(t, FERRY_ERROR, "start", &err);
        return -1;
    }
    atomic_store(&t->status, TASK_RUNNING);
    log_info("[%s] sink task running (group ferry-%s)", t->task->prefix, t->task->connector);
    return 0;
}

static void sink_teardown(sink_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    if (ctx->rk) {
        /* close() leaves the group; revocation runs the callback above,
         * which flushes again (harmless: nothing new was put) and tells the
         * plugin its partitions are gone. */
        rd_kafka_consumer_close(ctx->rk);
    }
    engine_task_close(t);
    t->task->hooks = NULL;
    t->task->hooks_arg = NULL;
    sink_dlq_free(ctx);
    if (ctx->commit_q) rd_kafka_queue_destroy(ctx->commit_q);
    if (ctx->consumer_q) rd_kafka_queue_destroy(ctx->consumer_q);
    /* The batch first: messages it still holds (a task that failed while
     * filling it) would keep rd_kafka_destroy waiting for them. */
    batch_free(ctx->batch);
    if (ctx->rk) rd_kafka_destroy(ctx->rk);
    pipeline_free(&ctx->pipe);
    sink_alias_free(ctx);
    tplist_t *lists[] = {ctx->put_pos, ctx->owned, ctx->user_paused, ctx->rewinds, ctx->refetch,
                         ctx->late_assigned, ctx->late_revoked, ctx->dropped};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        if (lists[i]) rd_kafka_topic_partition_list_destroy(lists[i]);
}

void *sink_task_main(void *arg)
{
    task_rt_t *t = arg;
    sink_ctx_t ctx = {.t = t};
    if (sink_setup(&ctx) == 0) {
        sink_run(&ctx);
        sink_finish(&ctx);
    }
    sink_teardown(&ctx);
    if (atomic_load(&t->status) < TASK_FAILED) atomic_store(&t->status, TASK_STOPPED);
    log_info("[%s] sink task %s", t->task->prefix, atomic_load(&t->status) == TASK_STOPPED ? "stopped" : "failed");
    atomic_store(&t->done, 1);
    return NULL;
}
