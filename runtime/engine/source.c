/*
 * source.c — the source task loop.
 *
 *   poll → produce (idempotent producer) → delivery report → offset tracker
 *   every offsets.flush.interval and at shutdown: the committable offsets go
 *   to the offset store; once that write is acknowledged, the plugin's
 *   commit() hears about them (PG CDC confirms its LSN only then).
 *
 * Everything here runs on the task's thread, including librdkafka's delivery
 * callbacks (served by rd_kafka_poll on this thread), so the tracker needs
 * no lock.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"

#define TOPIC_CACHE 16

typedef struct source_ctx {
    task_rt_t *t;
    worker_t *w;
    rd_kafka_t *rk;
    offset_tracker_t *tracker;
    ferry_batch_t *batch;
    const char *default_topic;       /* the connector's `topic` option, may be NULL */
    struct {
        char *copy;                  /* owned */
        rd_kafka_topic_t *rkt;
    } topics[TOPIC_CACHE];
    int ntopics;
    int last_topic;                  /* index of the last hit, or -1 */
    int64_t deadline_ms;             /* this task's shutdown deadline, once stopping */
    rd_kafka_topic_t *offsets_rkt;   /* Kafka store only */
    /* Offsets waiting to be written: taken from the tracker, not yet durable. */
    char **pend_part, **pend_off;    /* owned */
    size_t npend;
    int offset_acks_pending;
    int offset_write_failed;
    int delivery_failed;
    char delivery_error[256];
} source_ctx_t;

static void source_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    source_ctx_t *ctx = opaque;
    if (ctx->offsets_rkt && msg->rkt == ctx->offsets_rkt) {
        ctx->offset_acks_pending--;
        if (msg->err) {
            ctx->offset_write_failed = 1;
            snprintf(ctx->delivery_error, sizeof(ctx->delivery_error), "offsets topic write: %s",
                     rd_kafka_err2str(msg->err));
        }
        return;
    }
    if (msg->err) {
        /* The idempotent producer already retried; this record is not in
         * Kafka. Its offset is never acknowledged, so nothing after it is
         * committed: the task fails and a restart re-reads from there. */
        if (!ctx->delivery_failed)
            snprintf(ctx->delivery_error, sizeof(ctx->delivery_error), "delivery to %s failed: %s",
                     rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
        ctx->delivery_failed = 1;
        return;
    }
    offset_tracker_ack(ctx->tracker, (uint64_t)(uintptr_t)msg->_private);
    atomic_fetch_add(&ctx->t->records, 1);
}

static rd_kafka_topic_t *source_topic(source_ctx_t *ctx, const char *name)
{
    /* By content only: batch arenas are rewound, so equal addresses across
     * batches say nothing. The last hit is tried first. */
    if (ctx->last_topic >= 0 && strcmp(ctx->topics[ctx->last_topic].copy, name) == 0)
        return ctx->topics[ctx->last_topic].rkt;
    for (int i = 0; i < ctx->ntopics; i++)
        if (strcmp(ctx->topics[i].copy, name) == 0) {
            ctx->last_topic = i;
            return ctx->topics[i].rkt;
        }
    if (ctx->ntopics == TOPIC_CACHE) {
        /* Many topics (e.g. CDC of many tables): let librdkafka look it up. */
        return NULL;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(ctx->rk, name, NULL);
    ctx->topics[ctx->ntopics].copy = str_dup(name);
    ctx->topics[ctx->ntopics].rkt = rkt;
    ctx->last_topic = ctx->ntopics++;
    return rkt;
}

/* The task's own shutdown deadline: a little before the worker's, so that
 * the final offsets can still be stored in time. Unbounded (INT64_MAX)
 * while the task is not stopping. */
static int64_t source_deadline(source_ctx_t *ctx)
{
    if (!engine_stopping(ctx->t)) return INT64_MAX;
    if (!ctx->deadline_ms) {
        int64_t left = ctx->w->shutdown_deadline_ms - clock_ms();
        int64_t reserve = left / 10 > 500 ? left / 10 : 500;
        ctx->deadline_ms = ctx->w->shutdown_deadline_ms - reserve;
    }
    return ctx->deadline_ms;
}

/* Produces one record, waiting while librdkafka's queue is full (this is
 * the backpressure that makes a source wait for a slow or down broker). */
static int source_produce(source_ctx_t *ctx, const ferry_record_t *rec, ferry_error_t *err)
{
    const char *topic = rec->topic ? rec->topic : ctx->default_topic;
    if (!topic) {
        ferry_error_set(err, FERRY_ERROR, "record has no topic and the connector has no 'topic' option");
        return -1;
    }
    rd_kafka_topic_t *rkt = source_topic(ctx, topic);
    uint64_t handle = offset_tracker_add(ctx->tracker, rec->source_partition, rec->source_offset);
    for (;;) {
        rd_kafka_headers_t *hdrs = NULL;
        if (rec->header_count) {
            hdrs = rd_kafka_headers_new(rec->header_count);
            for (size_t i = 0; i < rec->header_count; i++)
                rd_kafka_header_add(hdrs, rec->headers[i].name, -1, rec->headers[i].value,
                                    (ssize_t)rec->headers[i].value_len);
        }
        int32_t part = rec->partition < 0 ? RD_KAFKA_PARTITION_UA : rec->partition;
        /* With a cached topic handle librdkafka skips its lookup by name. */
        rd_kafka_vu_t vus[8] = {
            {.vtype = rkt ? RD_KAFKA_VTYPE_RKT : RD_KAFKA_VTYPE_TOPIC},
            {.vtype = RD_KAFKA_VTYPE_PARTITION, .u.i32 = part},
            {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
            {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)rec->key, rec->key_len}},
            {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {(void *)rec->value, rec->value_len}},
            {.vtype = RD_KAFKA_VTYPE_TIMESTAMP, .u.i64 = rec->timestamp_ms},
            {.vtype = RD_KAFKA_VTYPE_OPAQUE, .u.ptr = (void *)(uintptr_t)handle},
            {.vtype = RD_KAFKA_VTYPE_HEADERS, .u.headers = hdrs},
        };
        if (rkt)
            vus[0].u.rkt = rkt;
        else
            vus[0].u.cstr = topic;
        rd_kafka_error_t *error = rd_kafka_produceva(ctx->rk, vus, 8);
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (error) {
            e = rd_kafka_error_code(error);
            rd_kafka_error_destroy(error);
        }
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            ferry_error_set(err, FERRY_ERROR, "produce to topic '%s': %s", topic, rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(ctx->rk, 50);
        if (engine_stopping(ctx->t) && clock_ms() > source_deadline(ctx)) {
            ferry_error_set(err, FERRY_ERROR, "shutdown timeout while the producer queue was full");
            return -1;
        }
    }
}

/* Moves the tracker's changed offsets into the pending list (latest wins). */
static void source_take_offsets(source_ctx_t *ctx)
{
    const ferry_offset_t *offs = NULL;
    size_t n = offset_tracker_take(ctx->tracker, &offs);
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < ctx->npend && strcmp(ctx->pend_part[j], offs[i].source_partition) != 0) j++;
        if (j == ctx->npend) {
            ctx->pend_part = xrealloc(ctx->pend_part, (ctx->npend + 1) * sizeof(char *));
            ctx->pend_off = xrealloc(ctx->pend_off, (ctx->npend + 1) * sizeof(char *));
            ctx->pend_part[j] = str_dup(offs[i].source_partition);
            ctx->pend_off[j] = NULL;
            ctx->npend++;
        }
        free(ctx->pend_off[j]);
        ctx->pend_off[j] = str_dup(offs[i].source_offset);
    }
}

/* Writes pending offsets to the store and, once durable, calls commit().
 * Returns 0, or -1 when the write failed (the offsets stay pending). */
static int source_flush_offsets(source_ctx_t *ctx, ferry_error_t *err)
{
    task_rt_t *t = ctx->t;
    worker_t *w = ctx->w;
    source_take_offsets(ctx);
    if (ctx->npend == 0) return 0;
    /* A connector bug (an offset or partition that is not a JSON object)
     * must fail the task: storing nothing while confirming upstream would
     * lose data, and retrying forever would hide it. */
    for (size_t i = 0; i < ctx->npend; i++) {
        char *p = offsets_json_canonical(ctx->pend_part[i], strlen(ctx->pend_part[i]));
        char *o = ctx->pend_off[i] ? offsets_json_compact(ctx->pend_off[i], strlen(ctx->pend_off[i])) : NULL;
        int ok = p && o;
        free(p);
        free(o);
        if (!ok) {
            ferry_error_set(err, FERRY_ERROR,
                            "the connector gave source partition %s offset %s: both must be JSON objects",
                            ctx->pend_part[i], ctx->pend_off[i] ? ctx->pend_off[i] : "(null)");
            engine_task_fail(t, FERRY_FATAL, "poll", err);
            return -1;
        }
    }
    ferry_offset_t *offs = xcalloc(ctx->npend, sizeof(*offs));
    for (size_t i = 0; i < ctx->npend; i++) {
        offs[i].source_partition = ctx->pend_part[i];
        offs[i].source_offset = ctx->pend_off[i];
    }
    char msg[512] = "";
    int rc = 0;
    int64_t deadline = clock_ms() + 30000;
    if (deadline > source_deadline(ctx)) deadline = source_deadline(ctx);
    if (w->wc->offsets_store == OFFSETS_STORE_FILE) {
        rc = engine_offsets_store_file(w, t->task->connector, offs, ctx->npend, msg, sizeof(msg));
    } else {
        ctx->offset_write_failed = 0;
        for (size_t i = 0; i < ctx->npend && rc == 0; i++) {
            char *key = NULL, *val = NULL;
            size_t klen = 0, vlen = 0;
            int32_t part = 0;
            offsets_record_encode(t->task->connector, offs[i].source_partition, offs[i].source_offset,
                                  w->offsets_partitions, &key, &klen, &val, &vlen, &part);
            rd_kafka_resp_err_t e;
            for (;;) {
                e = rd_kafka_producev(ctx->rk, RD_KAFKA_V_RKT(ctx->offsets_rkt), RD_KAFKA_V_PARTITION(part),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, klen),
                                      RD_KAFKA_V_VALUE(val, vlen), RD_KAFKA_V_END);
                if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || clock_ms() >= deadline) break;
                rd_kafka_poll(ctx->rk, 50);
            }
            free(key);
            free(val);
            if (e) {
                snprintf(msg, sizeof(msg), "offsets topic write: %s", rd_kafka_err2str(e));
                rc = -1;
            } else {
                ctx->offset_acks_pending++;
            }
        }
        /* Wait for the offset records' acknowledgements. */
        while (ctx->offset_acks_pending > 0 && clock_ms() < deadline) rd_kafka_poll(ctx->rk, 50);
        if (rc == 0 && (ctx->offset_acks_pending > 0 || ctx->offset_write_failed)) {
            snprintf(msg, sizeof(msg), "%s",
                     ctx->offset_write_failed ? ctx->delivery_error : "offsets topic write timed out");
            rc = -1;
        }
        if (rc == 0) engine_offsets_update_map(w, t->task->connector, offs, ctx->npend);
    }
    if (rc != 0) {
        log_warn("[%s] offsets not stored: %s (will retry)", t->task->prefix, msg);
        free(offs);
        return -1;
    }
    ferry_status_t st = FERRY_OK;
    if (t->conn->desc->commit) {
        memset(err, 0, sizeof(*err));
        st = t->conn->desc->commit(t->state, offs, ctx->npend, err);
    }
    free(offs);
    if (st == FERRY_RETRY) {
        /* Stored, but the connector could not acknowledge upstream yet: keep
         * them pending, so commit() hears about them again next flush. */
        log_warn("[%s] commit: %s (will retry)", t->task->prefix, err->msg[0] ? err->msg : "retry");
        return 0;
    }
    for (size_t i = 0; i < ctx->npend; i++) {
        free(ctx->pend_part[i]);
        free(ctx->pend_off[i]);
    }
    ctx->npend = 0;
    if (st != FERRY_OK) {
        engine_task_fail(t, st, "commit", err);
        return -1;
    }
    return 0;
}

static ferry_status_t call_poll(task_rt_t *t, void *arg, ferry_error_t *err)
{
    return t->conn->desc->poll(t->state, (ferry_batch_t *)arg, err);
}

static void source_ctx_free(source_ctx_t *ctx)
{
    for (int i = 0; i < ctx->ntopics; i++) {
        rd_kafka_topic_destroy(ctx->topics[i].rkt);
        free(ctx->topics[i].copy);
    }
    if (ctx->offsets_rkt) rd_kafka_topic_destroy(ctx->offsets_rkt);
    if (ctx->rk) rd_kafka_destroy(ctx->rk);
    offset_tracker_free(ctx->tracker);
    batch_free(ctx->batch);
    for (size_t i = 0; i < ctx->npend; i++) {
        free(ctx->pend_part[i]);
        free(ctx->pend_off[i]);
    }
    free(ctx->pend_part);
    free(ctx->pend_off);
}

void *source_task_main(void *arg)
{
    task_rt_t *t = arg;
    worker_t *w = t->conn->worker;
    source_ctx_t ctx = {.t = t, .w = w, .last_topic = -1};
    ferry_error_t err = {{0}};
    char emsg[512];

    ctx.tracker = offset_tracker_new();
    ctx.batch = batch_new((size_t)config_int(t->cfg, "batch.max.records"), (size_t)config_size(t->cfg, "batch.max.bytes"));
    ctx.default_topic = config_string(t->cfg, "topic");

    rd_kafka_conf_t *conf = engine_client_conf(t, KAFKA_PRODUCER, emsg, sizeof(emsg));
    if (conf) {
        rd_kafka_conf_set_dr_msg_cb(conf, source_dr_cb);
        rd_kafka_conf_set_opaque(conf, &ctx);
        ctx.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, emsg, sizeof(emsg));
    }
    if (!ctx.rk) {
        ferry_error_set(&err, FERRY_ERROR, "producer: %s", emsg);
        engine_task_fail(t, FERRY_ERROR, "start", &err);
        goto out;
    }
    if (w->wc->offsets_store == OFFSETS_STORE_KAFKA) ctx.offsets_rkt = rd_kafka_topic_new(ctx.rk, w->wc->offsets_topic, NULL);

    ferry_status_t st = engine_call_retrying(t, "open", engine_call_open, NULL, &err);
    if (st != FERRY_OK) {
        if (!engine_stopping(t)) engine_task_fail(t, st, "open", &err);
        goto out;
    }
    atomic_store(&t->status, TASK_RUNNING);
    log_info("[%s] source task running", t->task->prefix);

    int64_t flush_ms = w->wc->offsets_flush_ms > 0 ? w->wc->offsets_flush_ms : 5000;
    int64_t next_flush = clock_ms() + flush_ms;
    int idle = 0;
    while (!engine_stopping(t)) {
        rd_kafka_poll(ctx.rk, 0);
        if (ctx.delivery_failed) {
            ferry_error_set(&err, FERRY_ERROR, "%s", ctx.delivery_error);
            engine_task_fail(t, FERRY_ERROR, "produce", &err);
            break;
        }
        st = engine_call_retrying(t, "poll", call_poll, ctx.batch, &err);
        if (st != FERRY_OK) {
            if (!engine_stopping(t)) engine_task_fail(t, st, "poll", &err);
            break;
        }
        size_t n = batch_size(ctx.batch);
        int failed = 0;
        for (size_t i = 0; i < n; i++) {
            if (source_produce(&ctx, batch_record(ctx.batch, i), &err) != 0) {
                engine_task_fail(t, FERRY_ERROR, "produce", &err);
                failed = 1;
                break;
            }
        }
        batch_reset(ctx.batch);
        if (failed) break;
        if (n == 0) {
            /* A source with nothing to say should block in poll; if it does
             * not, back off a little so an idle task does not spin. */
            if (idle < 10) idle++;
            rd_kafka_poll(ctx.rk, idle * 5);
        } else {
            idle = 0;
        }
        if (clock_ms() >= next_flush) {
            if (source_flush_offsets(&ctx, &err) != 0 && atomic_load(&t->status) >= TASK_FAILED) break;
            next_flush = clock_ms() + flush_ms;
        }
    }

    /* Drain: everything produced gets delivered (or the deadline passes),
     * then the offsets acknowledged so far are stored and committed. This
     * also runs after a failure: the tracker only ever commits a contiguous
     * acknowledged prefix, so a failed record still holds its partition back. */
    if (ctx.rk) {
        int64_t left = engine_stopping(t) ? source_deadline(&ctx) - clock_ms() : 10000;
        if (left < 100) left = 100;
        rd_kafka_flush(ctx.rk, (int)left);
        if (rd_kafka_outq_len(ctx.rk) > 0)
            log_warn("[%s] %d records not delivered before the deadline; their offsets are not committed",
                     t->task->prefix, rd_kafka_outq_len(ctx.rk));
        if (atomic_load_explicit(&t->opened, memory_order_acquire) && atomic_load(&t->status) != TASK_FATAL)
            source_flush_offsets(&ctx, &err);
    }

out:
    engine_task_close(t);
    source_ctx_free(&ctx);
    if (atomic_load(&t->status) < TASK_FAILED) atomic_store(&t->status, TASK_STOPPED);
    log_info("[%s] source task %s", t->task->prefix, atomic_load(&t->status) == TASK_STOPPED ? "stopped" : "failed");
    atomic_store(&t->done, 1);
    return NULL;
}
