/*
 * sink_commit.c — calling sink plugins and committing what they made
 * durable.
 *
 * Invariant: a consumer offset is committed only for records that put()
 * accepted (or that went to the dead-letter queue, acknowledged) and a
 * later flush() declared durable, and only for partitions this task owns at
 * that moment.
 *
 * Task thread only.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "engine/sink_internal.h"
#include "errors/errors.h"
#include "util/log.h"
#include "util/strutil.h"

#define COMMIT_WAIT_MS 10000
/* How long a sink waits for its dead-letter producer (a full queue, copies
 * not yet acknowledged) before the task fails and the records come again:
 * well below max.poll.interval.ms (300 s by default), which the consumer
 * must not overrun meanwhile. */
#define DLQ_WAIT_MS 30000

int sink_owns(const sink_ctx_t *ctx, const char *topic, int32_t partition)
{
    return rd_kafka_topic_partition_list_find(ctx->owned, topic, partition) != NULL;
}

/* ---- calls and retries ----------------------------------------------------------- */

/* Owned partitions, minus those the plugin paused itself. */
static tplist_t *resumable(const sink_ctx_t *ctx)
{
    tplist_t *l = rd_kafka_topic_partition_list_new(ctx->owned->cnt + 1);
    for (int i = 0; i < ctx->owned->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &ctx->owned->elems[i];
        if (!rd_kafka_topic_partition_list_find(ctx->user_paused, p->topic, p->partition))
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    }
    return l;
}

/* While a callback is retried the consumer must still be polled, or the
 * group evicts us after max.poll.interval.ms. Owned partitions are paused;
 * whatever still arrives (already fetched, or from partitions assigned
 * meanwhile) is dropped and fetched again afterwards from its offset, so
 * nothing piles up in memory and nothing is lost. */
static void sink_tick(void *arg)
{
    sink_ctx_t *ctx = arg;
    rd_kafka_message_t *msg;
    while ((msg = rd_kafka_consumer_poll(ctx->rk, 0)) != NULL) {
        if (!msg->err && sink_owns(ctx, rd_kafka_topic_name(msg->rkt), msg->partition)) {
            const char *topic = rd_kafka_topic_name(msg->rkt);
            if (!rd_kafka_topic_partition_list_find(ctx->refetch, topic, msg->partition)) {
                rd_kafka_topic_partition_list_add(ctx->refetch, topic, msg->partition)->offset = msg->offset;
                tplist_t *one = rd_kafka_topic_partition_list_new(1);
                rd_kafka_topic_partition_list_add(one, topic, msg->partition);
                rd_kafka_pause_partitions(ctx->rk, one);
                rd_kafka_topic_partition_list_destroy(one);
            }
        }
        rd_kafka_message_destroy(msg);
    }
    if (ctx->dlq_rk) rd_kafka_poll(ctx->dlq_rk, 0);
}

/* After a retry: seek what was dropped back, resume what is ours to resume. */
static void sink_after_retry(sink_ctx_t *ctx)
{
    tplist_t *seek = rd_kafka_topic_partition_list_new(ctx->refetch->cnt + 1);
    for (int i = 0; i < ctx->refetch->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &ctx->refetch->elems[i];
        if (sink_owns(ctx, p->topic, p->partition))
            rd_kafka_topic_partition_list_add(seek, p->topic, p->partition)->offset = p->offset;
    }
    if (seek->cnt) {
        rd_kafka_error_t *error = rd_kafka_seek_partitions(ctx->rk, seek, 5000);
        if (error) {
            log_warn("[%s] seeking back after a retry: %s", ctx->t->task->prefix, rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
    }
    rd_kafka_topic_partition_list_destroy(seek);
    rd_kafka_topic_partition_list_destroy(ctx->refetch);
    ctx->refetch = rd_kafka_topic_partition_list_new(4);
    tplist_t *resume = resumable(ctx);
    if (resume->cnt) rd_kafka_resume_partitions(ctx->rk, resume);
    rd_kafka_topic_partition_list_destroy(resume);
    ctx->retry_paused = 0;
}

void sink_hold(sink_ctx_t *ctx, int on)
{
    if (on) {
        if (ctx->owned->cnt) rd_kafka_pause_partitions(ctx->rk, ctx->owned);
        ctx->retry_paused = 1;
    } else {
        sink_after_retry(ctx);
    }
}

void sink_hold_tick(sink_ctx_t *ctx) { sink_tick(ctx); }

void sink_wait(sink_ctx_t *ctx, int64_t ms)
{
    /* Paused and polled, as during a retry: the group keeps the task
     * (max.poll.interval.ms) and nothing piles up. */
    sink_hold(ctx, 1);
    ctx->t->tick = sink_tick;
    ctx->t->tick_arg = ctx;
    engine_sleep(ctx->t, ms);
    ctx->t->tick = NULL;
    sink_hold(ctx, 0);
}

ferry_status_t sink_call(sink_ctx_t *ctx, const char *what, engine_call_fn fn, void *arg, ferry_error_t *err)
{
    task_rt_t *t = ctx->t;
    ctx->in_call = 1;
    /* Pause only if the first attempt asks for a retry; the common path
     * costs nothing. */
    ferry_status_t st = engine_call(t, fn, arg, err);
    if (st == FERRY_RETRY && !engine_stopping(t)) {
        if (ctx->owned->cnt) rd_kafka_pause_partitions(ctx->rk, ctx->owned);
        ctx->retry_paused = 1;
        t->tick = sink_tick;
        t->tick_arg = ctx;
        st = engine_retry(t, what, fn, arg, err);
        t->tick = NULL;
        sink_after_retry(ctx);
    }
    ctx->in_call = 0;
    sink_apply_rewinds(ctx);
    return st;
}

/* ---- rewinds ------------------------------------------------------------------------ */

void sink_apply_rewinds(sink_ctx_t *ctx)
{
    if (ctx->alias_error[0] && !ctx->failed) {
        engine_task_fail_permanent(ctx->t, "rewind", "%s", ctx->alias_error);
        ctx->failed = 1;
    }
    if (ctx->rewinds->cnt == 0) return;
    tplist_t *seek = rd_kafka_topic_partition_list_new(ctx->rewinds->cnt);
    for (int i = 0; i < ctx->rewinds->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &ctx->rewinds->elems[i];
        if (!sink_owns(ctx, p->topic, p->partition)) continue;
        rd_kafka_topic_partition_list_add(seek, p->topic, p->partition)->offset = p->offset;
        /* Not committed past the rewind until records from there are put. */
        rd_kafka_topic_partition_t *pos = rd_kafka_topic_partition_list_find(ctx->put_pos, p->topic, p->partition);
        if (!pos) pos = rd_kafka_topic_partition_list_add(ctx->put_pos, p->topic, p->partition);
        pos->offset = p->offset;
        ctx->last_pos = NULL;
        ctx->dirty = 1;
        batch_drop_partition_after(ctx->batch, 0, p->topic, p->partition, p->offset);
        /* Records dropped there come again (and are dropped again): their
         * positions must not lift the commit past the rewind. */
        if (ctx->dropped) rd_kafka_topic_partition_list_del(ctx->dropped, p->topic, p->partition);
        log_info("[%s] rewinding %s/%d to offset %lld", ctx->t->task->prefix, p->topic, (int)p->partition,
                 (long long)p->offset);
    }
    rd_kafka_topic_partition_list_destroy(ctx->rewinds);
    ctx->rewinds = rd_kafka_topic_partition_list_new(4);
    if (seek->cnt) {
        rd_kafka_error_t *error = rd_kafka_seek_partitions(ctx->rk, seek, 5000);
        if (error) {
            log_warn("[%s] rewind: %s", ctx->t->task->prefix, rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
    }
    rd_kafka_topic_partition_list_destroy(seek);
}

/* ---- the dead-letter queue -------------------------------------------------------------- */

/* An unknown dead-letter topic is not permanent: one just created may not be
 * in the metadata yet. The copy is retried (or the batch is), never skipped. */
static int dlq_unknown_topic(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
           e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
}

static void dlq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    sink_ctx_t *ctx = opaque;
    if (msg->err && errors_kafka_permanent(msg->err) && !dlq_unknown_topic(msg->err)) {
        /* The copy can never be written (too large for the broker, say):
         * errors.tolerance: all skips the record, loudly. */
        log_error("[%s] the dead-letter copy of a rejected record was refused too (%s): record skipped",
                  ctx->t->task->prefix, rd_kafka_err2str(msg->err));
        atomic_fetch_add(&ctx->t->dead_lettered, 1);
        return;
    }
    if (msg->err && !ctx->dlq_failed) {
        ctx->dlq_failed = 1;
        snprintf(ctx->dlq_error, sizeof(ctx->dlq_error), "writing to the dead-letter queue '%s' failed: %s",
                 ctx->t->policy.dlq_topic, rd_kafka_err2str(msg->err));
    }
    if (!msg->err) atomic_fetch_add(&ctx->t->dead_lettered, 1);
}

static int dlq_open(sink_ctx_t *ctx, char *err, size_t errlen)
{
    if (ctx->dlq_rk) return 0;
    rd_kafka_conf_t *conf = engine_client_conf(ctx->t, KAFKA_PRODUCER, err, errlen);
    if (!conf) return -1;
    rd_kafka_conf_set_dr_msg_cb(conf, dlq_dr_cb);
    rd_kafka_conf_set_opaque(conf, ctx);
    ctx->dlq_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!ctx->dlq_rk) return -1;
    ctx->dlq_rkt = rd_kafka_topic_new(ctx->dlq_rk, ctx->t->policy.dlq_topic, NULL);
    return 0;
}

void sink_dlq_free(sink_ctx_t *ctx)
{
    if (ctx->dlq_rkt) rd_kafka_topic_destroy(ctx->dlq_rkt);
    if (ctx->dlq_rk) rd_kafka_destroy(ctx->dlq_rk);
    ctx->dlq_rkt = NULL;
    ctx->dlq_rk = NULL;
}

int sink_dlq_record(sink_ctx_t *ctx, const ferry_record_t *rec, const errors_context_t *ectx, char *err,
                    size_t errlen)
{
    if (dlq_open(ctx, err, errlen) != 0) return -1;
    rd_kafka_headers_t *hdrs = errors_dlq_headers(&ctx->t->policy, ectx, rec->headers, rec->header_count);
    int64_t end = clock_ms() + DLQ_WAIT_MS, stop_end = engine_deadline(ctx->t, engine_final_reserve_ms(ctx->t));
    if (end > stop_end) end = stop_end;
    for (;;) {
        rd_kafka_headers_t *copy = rd_kafka_headers_copy(hdrs);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            ctx->dlq_rk, RD_KAFKA_V_RKT(ctx->dlq_rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(rec->key, rec->key_len), RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
            RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms), RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_END);
        if (!e) break;
        rd_kafka_headers_destroy(copy);
        if (errors_kafka_permanent(e) && !dlq_unknown_topic(e)) {
            log_error("[%s] the dead-letter copy of record %s/%d@%lld was refused too (%s): record skipped",
                      ctx->t->task->prefix, rec->topic, (int)rec->partition, (long long)rec->kafka_offset,
                      rd_kafka_err2str(e));
            atomic_fetch_add(&ctx->t->dead_lettered, 1);
            break;
        }
        if ((e != RD_KAFKA_RESP_ERR__QUEUE_FULL && !dlq_unknown_topic(e)) || clock_ms() > end) {
            snprintf(err, errlen, "writing to the dead-letter queue '%s' failed: %s", ctx->t->policy.dlq_topic,
                     e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? "its producer queue stayed full" : rd_kafka_err2str(e));
            rd_kafka_headers_destroy(hdrs);
            return -1;
        }
        rd_kafka_poll(ctx->dlq_rk, 50);
    }
    rd_kafka_headers_destroy(hdrs);
    rd_kafka_poll(ctx->dlq_rk, 0);
    return 0;
}

ferry_status_t sink_record_error(void *arg, const ferry_record_t *rec, const char *reason)
{
    sink_ctx_t *ctx = arg;
    task_rt_t *t = ctx->t;
    char why[FERRY_ERRMSG_SIZE];
    snprintf(why, sizeof(why), "%s", reason);
    host_task_scrub(t->task, why, sizeof(why));
    if (batch_record_index(ctx->batch, rec) == (size_t)-1) {
        if (!ctx->record_failed)
            snprintf(ctx->record_error, sizeof(ctx->record_error),
                     "record_error() was given a record that is not in the batch being put (%s)", why);
        ctx->record_failed = 1;
        return FERRY_ERROR;
    }
    errors_context_t ectx;
    engine_error_context(t, &ectx, ERRORS_STAGE_TASK_PUT, ERRORS_EXC_CONNECT, why);
    /* As consumed (a transform may have renamed it). */
    const rd_kafka_message_t *m = batch_message(ctx->batch, batch_record_index(ctx->batch, rec));
    ectx.topic = m ? rd_kafka_topic_name(m->rkt) : rec->topic;
    ectx.partition = rec->partition;
    ectx.offset = rec->kafka_offset;
    errors_log(&t->policy, t->task->prefix, &ectx, rec);
    char err[512] = "";
    if (t->policy.tolerate_all && (!t->policy.dlq_topic || sink_dlq_record(ctx, rec, &ectx, err, sizeof(err)) == 0)) {
        if (!t->policy.dlq_topic) atomic_fetch_add(&t->dead_lettered, 1);
        return FERRY_OK;
    }
    if (!ctx->record_failed) {
        ctx->record_retriable = err[0] != '\0';
        if (err[0])
            snprintf(ctx->record_error, sizeof(ctx->record_error), "%s (record %s/%d@%lld: %s)", err, ectx.topic,
                     (int)rec->partition, (long long)rec->kafka_offset, why);
        else
            snprintf(ctx->record_error, sizeof(ctx->record_error),
                     "record %s/%d@%lld rejected: %s; the task is not restarted, since it would meet the same "
                     "record (errors.tolerance: all skips or dead-letters such records)",
                     ectx.topic, (int)rec->partition, (long long)rec->kafka_offset, why);
    }
    ctx->record_failed = 1;
    return FERRY_ERROR;
}

/* Every dead-letter copy acknowledged? 0, or -1 with the task failed. */
static int dlq_settle(sink_ctx_t *ctx, int64_t deadline)
{
    if (!ctx->dlq_rk) return 0;
    if (deadline > clock_ms() + DLQ_WAIT_MS) deadline = clock_ms() + DLQ_WAIT_MS;
    while (rd_kafka_outq_len(ctx->dlq_rk) > 0 && clock_ms() < deadline) rd_kafka_poll(ctx->dlq_rk, 50);
    if (!ctx->dlq_failed && rd_kafka_outq_len(ctx->dlq_rk) == 0) return 0;
    ferry_error_t err;
    snprintf(err.msg, sizeof(err.msg), "%s",
             ctx->dlq_failed ? ctx->dlq_error : "dead-letter records were not acknowledged in time");
    engine_task_fail(ctx->t, FERRY_ERROR, "flush", &err);
    ctx->failed = 1;
    return -1;
}

/* ---- flush and commit ---------------------------------------------------------------------- */

static ferry_status_t call_flush(task_rt_t *t, void *arg, ferry_error_t *err)
{
    ferry_flush_t *fl = arg;
    flush_limits_clear(fl);
    return t->conn->desc->flush(t->state, fl, err);
}

/* Commits asynchronously and waits a bounded time for the answer: a
 * synchronous commit without a coordinator could block the task past
 * max.poll.interval.ms. */
static rd_kafka_resp_err_t commit_bounded(sink_ctx_t *ctx, tplist_t *offsets, int64_t deadline)
{
    uint64_t seq = ++ctx->commit_seq;
    rd_kafka_resp_err_t e = rd_kafka_commit_queue(ctx->rk, offsets, ctx->commit_q, NULL, (void *)(uintptr_t)seq);
    if (e) return e;
    int64_t end = clock_ms() + COMMIT_WAIT_MS;
    if (end > deadline) end = deadline;
    for (;;) {
        int64_t left = end - clock_ms();
        if (left <= 0) return RD_KAFKA_RESP_ERR__TIMED_OUT;
        rd_kafka_event_t *ev = rd_kafka_queue_poll(ctx->commit_q, (int)left);
        if (!ev) continue;
        int mine = (uint64_t)(uintptr_t)rd_kafka_event_opaque(ev) == seq;
        e = rd_kafka_event_error(ev);
        rd_kafka_event_destroy(ev);
        if (mine) return e; /* an older commit's late answer otherwise */
    }
}

int sink_commit_batch(sink_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    tplist_t *l = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < batch_size(ctx->batch); i++) {
        const rd_kafka_message_t *m = batch_message(ctx->batch, i);
        const char *topic = rd_kafka_topic_name(m->rkt);
        if (!sink_owns(ctx, topic, m->partition)) continue;
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, topic, m->partition);
        if (!p) p = rd_kafka_topic_partition_list_add(l, topic, m->partition);
        if (m->offset + 1 > p->offset) p->offset = m->offset + 1;
    }
    rd_kafka_resp_err_t e = l->cnt ? commit_bounded(ctx, l, engine_deadline(t, 100)) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(l);
    engine_note_commit(t, !e);
    if (!e) return 0;
    /* Not put and not committed: it comes again, once. */
    ferry_error_t err;
    snprintf(err.msg, sizeof(err.msg), "at-most-once: committing the batch's offsets before put() failed: %s",
             rd_kafka_err2str(e));
    engine_task_fail(t, FERRY_ERROR, "commit", &err);
    ctx->failed = 1;
    return -1;
}

/* The positions to commit: put positions lowered to what flush declared
 * durable, for partitions still ours. Positions above a limit stay in
 * *keep for the next flush. */
static tplist_t *commit_list(sink_ctx_t *ctx, const ferry_flush_t *fl, tplist_t *keep)
{
    tplist_t *commit = rd_kafka_topic_partition_list_new(ctx->put_pos->cnt + 1);
    for (int i = 0; i < ctx->put_pos->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &ctx->put_pos->elems[i];
        if (!sink_owns(ctx, p->topic, p->partition)) continue; /* revoked: not ours to commit */
        int64_t durable = p->offset;
        for (size_t j = 0; j < fl->count; j++)
            if (fl->limits[j].partition == p->partition && strcmp(fl->limits[j].topic, p->topic) == 0 &&
                fl->limits[j].next_offset < durable)
                durable = fl->limits[j].next_offset;
        if (durable >= 0) rd_kafka_topic_partition_list_add(commit, p->topic, p->partition)->offset = durable;
        if (durable < p->offset) {
            rd_kafka_topic_partition_list_add(keep, p->topic, p->partition)->offset = p->offset;
            ctx->dirty = 1;
        }
    }
    return commit;
}

int sink_flush_commit(sink_ctx_t *ctx, int64_t deadline)
{
    task_rt_t *t = ctx->t;
    ferry_error_t err;
    ferry_flush_t fl = {0};
    ferry_status_t st = sink_call(ctx, "flush", call_flush, &fl, &err);
    if (st == FERRY_OK && (ctx->alias_error[0] || ctx->failed)) {
        /* Failed during the call (a rewind of merged topics): commit nothing. */
        flush_limits_clear(&fl);
        if (!ctx->failed) engine_task_fail_permanent(t, "flush", "%s", ctx->alias_error);
        ctx->failed = 1;
        return -1;
    }
    if (st != FERRY_OK) {
        flush_limits_clear(&fl);
        if (st == FERRY_RETRY && engine_stopping(t))
            engine_task_unclean(t, "the final flush() did not complete (%s): consumer offsets since the last commit "
                                   "are not committed, so those records are delivered again",
                                   err.msg[0] ? err.msg : "retry");
        else
            engine_task_fail(t, st, "flush", &err);
        ctx->failed = 1;
        return -1;
    }
    if (dlq_settle(ctx, deadline) != 0) {
        flush_limits_clear(&fl);
        return -1;
    }
    ctx->dirty = 0;
    /* At-most-once: offsets were committed before put(); committing the
     * connector's flush limits now would move them back (duplicates). */
    if (ctx->at_most_once) {
        flush_limits_clear(&fl);
        return 0;
    }
    char why[512];
    if (sink_alias_limits(ctx, &fl, why, sizeof(why)) != 0) {
        flush_limits_clear(&fl);
        engine_task_fail_permanent(t, "flush", "%s", why);
        ctx->failed = 1;
        return -1;
    }
    tplist_t *keep = rd_kafka_topic_partition_list_new(ctx->put_pos->cnt + 1);
    tplist_t *commit = commit_list(ctx, &fl, keep);
    flush_limits_clear(&fl);
    int rc = 0;
    if (commit->cnt > 0) {
        rd_kafka_resp_err_t e = commit_bounded(ctx, commit, deadline);
        /* The final commit cannot wait for the next flush: a retriable
         * answer (the coordinator moved, say) is asked again while the
         * shutdown budget lasts. */
        while (e && engine_stopping(t) && !errors_kafka_permanent(e) && clock_ms() + 200 < deadline) {
            log_info("[%s] final consumer offset commit: %s; trying again", t->task->prefix, rd_kafka_err2str(e));
            usleep(200 * 1000);
            e = commit_bounded(ctx, commit, deadline);
        }
        engine_note_commit(t, !e);
        if (e) {
            /* Nothing is lost: the positions stay and are committed at the
             * next flush (or the records go again to the partition's next
             * owner). */
            log_warn("[%s] committing consumer offsets failed: %s", t->task->prefix, rd_kafka_err2str(e));
            if (engine_stopping(t))
                engine_task_unclean(t, "the final consumer offset commit failed (%s): records since the last "
                                       "commit are delivered again", rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(keep);
            keep = NULL;
            ctx->dirty = 1;
            rc = -1;
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
