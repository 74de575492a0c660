/*
 * source.c — the source task loop.
 *
 *   poll → produce (idempotent producer) → delivery report → offset tracker
 *   every offsets.flush.interval, on request and at shutdown: the
 *   committable offsets go to the offset store (source_offsets.c).
 *
 * A record that can never be delivered — batch_add found it invalid, or the
 * broker refused it with a permanent error — goes through the error policy:
 * with errors.tolerance: all it is logged and dead-lettered (or skipped) and
 * its offset counts as done; with none the task fails for good, since a
 * restart would only produce it again.
 *
 * Everything here runs on the task's thread, including librdkafka's delivery
 * callbacks (served by rd_kafka_poll on this thread), so no state needs a
 * lock.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/source_internal.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- delivery reports ----------------------------------------------------------- */

static void remember_failed(source_ctx_t *ctx, const rd_kafka_message_t *msg, uint64_t handle)
{
    if (ctx->nfailed == ctx->failed_cap) {
        ctx->failed_cap = ctx->failed_cap ? ctx->failed_cap * 2 : 8;
        ctx->failed = xrealloc(ctx->failed, ctx->failed_cap * sizeof(*ctx->failed));
    }
    source_failed_t *f = &ctx->failed[ctx->nfailed++];
    memset(f, 0, sizeof(*f));
    f->topic = str_dup(rd_kafka_topic_name(msg->rkt));
    f->partition = msg->partition;
    if (msg->key) {
        f->key = xmalloc(msg->key_len ? msg->key_len : 1);
        memcpy(f->key, msg->key, msg->key_len);
        f->key_len = msg->key_len;
    }
    if (msg->payload) {
        f->value = xmalloc(msg->len ? msg->len : 1);
        memcpy(f->value, msg->payload, msg->len);
        f->value_len = msg->len;
    }
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) f->headers = rd_kafka_headers_copy(hdrs);
    f->timestamp_ms = rd_kafka_message_timestamp(msg, NULL);
    f->handle = handle;
    f->err = msg->err;
}

static void source_delivery_failed(source_ctx_t *ctx, const char *what, const rd_kafka_message_t *msg)
{
    if (ctx->delivery_failed) return;
    ctx->delivery_failed = 1;
    snprintf(ctx->delivery_error, sizeof(ctx->delivery_error), "%s to %s failed: %s", what,
             rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
}

static void source_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    source_ctx_t *ctx = opaque;
    uint64_t tag = (uint64_t)(uintptr_t)msg->_private;
    uint64_t handle = SOURCE_HANDLE(tag);
    if (tag & SOURCE_TAG_OFFSETS) {
        source_offsets_delivered(ctx, msg->err);
    } else if (ctx->eos && msg->err) {
        /* Inside a transaction every failure aborts it (source_txn.c); one
         * that a restart would meet again (a refused record, a fenced
         * producer) fails the task for good. */
        source_delivery_failed(ctx, tag & SOURCE_TAG_DLQ ? "dead-letter write" : "delivery", msg);
        ctx->delivery_permanent |= errors_kafka_permanent(msg->err) || msg->err == RD_KAFKA_RESP_ERR__FENCED ||
                                   msg->err == RD_KAFKA_RESP_ERR__FATAL ||
                                   msg->err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                                   msg->err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
    } else if (tag & SOURCE_TAG_DLQ) {
        /* A dead-letter copy: once it is in Kafka the record is done. If it
         * cannot be written the record is not done, and the task fails. */
        if (msg->err && !errors_kafka_permanent(msg->err)) {
            source_delivery_failed(ctx, "dead-letter write", msg);
            return;
        }
        /* The copy can never be written either (too large for the broker,
         * say): errors.tolerance: all skips the record, loudly. */
        if (msg->err)
            log_error("[%s] the dead-letter copy of a failed record was refused too (%s): record skipped",
                      ctx->t->task->prefix, rd_kafka_err2str(msg->err));
        offset_tracker_ack(ctx->tracker, handle);
        atomic_fetch_add(&ctx->t->dead_lettered, 1);
    } else if (!msg->err) {
        offset_tracker_ack(ctx->tracker, handle);
        atomic_fetch_add(&ctx->t->records, 1);
    } else if (errors_kafka_permanent(msg->err)) {
        remember_failed(ctx, msg, handle);
    } else {
        /* librdkafka already retried (idempotently); the record is not in
         * Kafka and holds its partition's offsets back. The task fails and
         * a restart re-reads from the last committed offset. */
        source_delivery_failed(ctx, "delivery", msg);
    }
}

/* ---- producing ----------------------------------------------------------------------- */

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
    /* Many topics (e.g. CDC of many tables): let librdkafka look them up. */
    if (ctx->ntopics == SOURCE_TOPIC_CACHE) return NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(ctx->rk, name, NULL);
    if (!rkt) return NULL; /* produce by name then reports the reason */
    ctx->topics[ctx->ntopics].copy = str_dup(name);
    ctx->topics[ctx->ntopics].rkt = rkt;
    ctx->last_topic = ctx->ntopics++;
    return rkt;
}

typedef struct produce_args {
    rd_kafka_topic_t *rkt;   /* or NULL: by name */
    const char *topic;
    int32_t partition;
    const void *key, *value;
    size_t key_len, value_len;
    rd_kafka_headers_t *headers; /* consumed on success, destroyed on failure */
    int64_t timestamp_ms;
    uint64_t opaque;
    /* For error reports of records the tracker does not hold (their
     * partition or offset is not JSON): what the plugin gave. */
    const char *raw_partition, *raw_offset;
} produce_args_t;

/* Produces one message, waiting while librdkafka's queue is full (the
 * backpressure that makes a source wait for a slow or absent broker), until
 * the shutdown deadline. Returns the error of the call. */
static rd_kafka_resp_err_t source_produce(source_ctx_t *ctx, produce_args_t *a)
{
    for (;;) {
        rd_kafka_headers_t *hdrs = a->headers ? rd_kafka_headers_copy(a->headers) : NULL;
        rd_kafka_vu_t vus[8] = {
            {.vtype = a->rkt ? RD_KAFKA_VTYPE_RKT : RD_KAFKA_VTYPE_TOPIC},
            {.vtype = RD_KAFKA_VTYPE_PARTITION, .u.i32 = a->partition < 0 ? RD_KAFKA_PARTITION_UA : a->partition},
            {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
            {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)a->key, a->key_len}},
            {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {(void *)a->value, a->value_len}},
            {.vtype = RD_KAFKA_VTYPE_TIMESTAMP, .u.i64 = a->timestamp_ms},
            {.vtype = RD_KAFKA_VTYPE_OPAQUE, .u.ptr = (void *)(uintptr_t)a->opaque},
            {.vtype = RD_KAFKA_VTYPE_HEADERS, .u.headers = hdrs},
        };
        if (a->rkt)
            vus[0].u.rkt = a->rkt;
        else
            vus[0].u.cstr = a->topic;
        rd_kafka_error_t *error = rd_kafka_produceva(ctx->rk, vus, hdrs ? 8 : 7);
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (error) {
            e = rd_kafka_error_code(error);
            rd_kafka_error_destroy(error);
            if (hdrs) rd_kafka_headers_destroy(hdrs);
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) return e;
        rd_kafka_poll(ctx->rk, 50);
        if (clock_ms() > engine_deadline(ctx->t, engine_final_reserve_ms(ctx->t))) return e;
    }
}

/* A record that can never reach its topic. With errors.tolerance: all it is
 * dead-lettered (its offset counts once that copy is acknowledged) or just
 * skipped; with none the task fails for good. 0, or -1 when the task failed. */
static int source_record_failed_at(source_ctx_t *ctx, const produce_args_t *rec, errors_stage_t stage,
                                   const char *exception, const char *why)
{
    task_rt_t *t = ctx->t;
    uint64_t handle = SOURCE_HANDLE(rec->opaque);
    const char *part = rec->raw_partition, *off = rec->raw_offset, *tpart, *toff;
    /* The tracker's copies when it holds them (records delivered later, whose
     * batch is gone); an offset it could not hold is the plugin's text. */
    if (offset_tracker_get(ctx->tracker, handle, &tpart, &toff) == 0 && tpart) {
        part = tpart;
        if (toff) off = toff;
    }
    errors_context_t ectx;
    engine_error_context(t, &ectx, stage, exception, why);
    ectx.target_topic = rec->topic;
    ectx.source_partition = part;
    ectx.source_offset = off;
    ferry_record_t view = {.key = rec->key, .key_len = rec->key_len, .value = rec->value, .value_len = rec->value_len};
    errors_log(&t->policy, t->task->prefix, &ectx, &view);
    if (!t->policy.tolerate_all) {
        engine_task_fail_permanent(t, "produce",
                                   "record for topic '%s' (source partition %s, offset %s) can never be delivered: %s; "
                                   "the task is not restarted, since it would meet the same record "
                                   "(errors.tolerance: all skips such records)",
                                   rec->topic ? rec->topic : "(none)", part ? part : "none", off ? off : "none", why);
        return -1;
    }
    if (!ctx->dlq_rkt) {
        offset_tracker_ack(ctx->tracker, handle);
        atomic_fetch_add(&t->dead_lettered, 1);
        return 0;
    }
    size_t nh = rec->headers ? rd_kafka_header_cnt(rec->headers) : 0;
    ferry_header_t *orig = xcalloc(nh ? nh : 1, sizeof(*orig));
    for (size_t i = 0; i < nh; i++) {
        const void *v;
        rd_kafka_header_get_all(rec->headers, i, &orig[i].name, &v, &orig[i].value_len);
        orig[i].value = v;
    }
    produce_args_t dlq = *rec;
    dlq.rkt = ctx->dlq_rkt;
    dlq.topic = t->policy.dlq_topic;
    dlq.partition = -1;
    dlq.headers = errors_dlq_headers(&t->policy, &ectx, orig, nh);
    dlq.opaque = handle | SOURCE_TAG_DLQ;
    free(orig);
    rd_kafka_resp_err_t e = source_produce(ctx, &dlq);
    rd_kafka_headers_destroy(dlq.headers);
    if (e && errors_kafka_permanent(e)) {
        log_error("[%s] the dead-letter copy of a failed record was refused too (%s): record skipped",
                  t->task->prefix, rd_kafka_err2str(e));
        offset_tracker_ack(ctx->tracker, handle);
        atomic_fetch_add(&t->dead_lettered, 1);
        return 0;
    }
    if (e) {
        /* Retriable (the queue stayed full until the stop, the broker went
         * away): the record is not done, the task fails and a restart
         * produces it again. */
        ferry_error_t err;
        snprintf(err.msg, sizeof(err.msg), "writing to the dead-letter queue '%s' failed: %s (the record: %s)",
                 t->policy.dlq_topic, rd_kafka_err2str(e), why);
        engine_task_fail(t, FERRY_ERROR, "produce", &err);
        return -1;
    }
    return 0;
}

static int source_record_failed(source_ctx_t *ctx, const produce_args_t *rec, const char *exception,
                                const char *why)
{
    return source_record_failed_at(ctx, rec, ERRORS_STAGE_KAFKA_PRODUCE, exception, why);
}

static void source_failed_free(source_failed_t *failed, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(failed[i].topic);
        free(failed[i].key);
        free(failed[i].value);
        if (failed[i].headers) rd_kafka_headers_destroy(failed[i].headers);
    }
    free(failed);
}

/* Records the broker refused for good, since the last call. The list is
 * taken first: dead-lettering polls librdkafka, which may add to it. */
static int source_handle_failed(source_ctx_t *ctx)
{
    source_failed_t *failed = ctx->failed;
    size_t n = ctx->nfailed;
    ctx->failed = NULL;
    ctx->nfailed = ctx->failed_cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        source_failed_t *f = &failed[i];
        produce_args_t rec = {.topic = f->topic, .partition = f->partition, .key = f->key, .key_len = f->key_len,
                              .value = f->value, .value_len = f->value_len, .headers = f->headers,
                              .timestamp_ms = f->timestamp_ms, .opaque = f->handle};
        char why[256];
        snprintf(why, sizeof(why), "the broker refused it: %s", rd_kafka_err2str(f->err));
        rc = source_record_failed(ctx, &rec, errors_kafka_exception(f->err), why);
    }
    source_failed_free(failed, n);
    if (rc == 0 && ctx->delivery_failed) {
        ferry_error_t err;
        snprintf(err.msg, sizeof(err.msg), "%s", ctx->delivery_error);
        engine_task_fail(ctx->t, ctx->delivery_permanent ? FERRY_FATAL : FERRY_ERROR, "produce", &err);
        rc = -1;
    }
    return rc;
}

static rd_kafka_headers_t *record_headers(const ferry_record_t *rec)
{
    if (!rec->header_count) return NULL;
    rd_kafka_headers_t *h = rd_kafka_headers_new(rec->header_count);
    for (size_t i = 0; i < rec->header_count; i++)
        rd_kafka_header_add(h, rec->headers[i].name, -1, rec->headers[i].value, (ssize_t)rec->headers[i].value_len);
    return h;
}

/* A copy of a (already produced to its first topic) for each further
 * topic. Each copy holds the record's offset back until it is delivered
 * too. 0, or -1 when the task failed. */
static int source_fanout(source_ctx_t *ctx, const produce_args_t *a, const char *topics)
{
    /* The same handle for every copy, held once more per copy before any is
     * produced (a delivery report may come while the next one waits): the
     * offset counts once every copy is in Kafka. */
    for (const char *t = topics; t && *t; t = strchr(t, '|') ? strchr(t, '|') + 1 : NULL)
        offset_tracker_hold(ctx->tracker, SOURCE_HANDLE(a->opaque));
    for (const char *t = topics; t && *t;) {
        const char *bar = strchr(t, '|');
        char *topic = str_printf("%.*s", (int)(bar ? (size_t)(bar - t) : strlen(t)), t);
        t = bar ? bar + 1 : NULL;
        produce_args_t copy = *a;
        copy.topic = topic;
        copy.partition = -1;
        copy.rkt = source_topic(ctx, topic);
        rd_kafka_resp_err_t e = source_produce(ctx, &copy);
        int rc = 0;
        if (e && errors_kafka_permanent(e)) rc = source_record_failed(ctx, &copy, errors_kafka_exception(e), rd_kafka_err2str(e));
        else if (e) {
            ferry_error_t err;
            snprintf(err.msg, sizeof(err.msg), "produce to topic '%s': %s", topic, rd_kafka_err2str(e));
            engine_task_fail(ctx->t, FERRY_ERROR, "produce", &err);
            rc = -1;
        }
        free(topic);
        if (rc != 0) return -1;
    }
    return 0;
}

/* Produces every record of the batch. 0, or -1 when the task failed. */
static int source_produce_batch(source_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    size_t n = batch_size(ctx->batch);
    if (n > 0 && ctx->eos && source_txn_begin(ctx) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        const ferry_record_t *r = batch_record(ctx->batch, i);
        int offsets_valid = 1, partition_valid = 1;
        const char *problem = batch_record_problem(ctx->batch, i, &offsets_valid, &partition_valid);
        /* A record whose offset is unusable but whose partition is fine
         * still holds that partition's later offsets back until it is done
         * (dead-lettered or skipped). */
        uint64_t handle = offsets_valid     ? offset_tracker_add(ctx->tracker, r->source_partition, r->source_offset)
                          : partition_valid ? offset_tracker_add(ctx->tracker, r->source_partition, NULL)
                                            : offset_tracker_add(ctx->tracker, NULL, NULL);
        produce_args_t a = {.topic = r->topic, .partition = r->partition, .key = r->key, .key_len = r->key_len,
                            .value = r->value, .value_len = r->value_len, .headers = record_headers(r),
                            .timestamp_ms = r->timestamp_ms, .opaque = handle,
                            .raw_partition = r->source_partition, .raw_offset = r->source_offset};
        int rc = 0;
        pipeline_out_t po = {0};
        char *fanout = NULL; /* route's further topics (t2|t3), or NULL */
        xf_result_t xr = XF_KEEP;
        if (!problem && ctx->pipe.active) {
            /* Transforms and converters; a failure goes through the error
             * policy with the original record, naming the stage. */
            errors_stage_t stage;
            char why[600];
            xr = pipeline_source(&ctx->pipe, t, r, &po, &stage, why, sizeof(why));
            if (xr == XF_DROP) {
                offset_tracker_ack(ctx->tracker, handle); /* done: nothing to deliver */
                atomic_fetch_add(&t->records_filtered, 1);
            } else if (xr == XF_FAIL) {
                rc = source_record_failed_at(ctx, &a, stage, ERRORS_EXC_DATA, why);
            } else {
                fanout = po.fanout;
                po.fanout = NULL;
                a.topic = po.rec.topic;
                a.partition = po.rec.partition;
                a.key = po.key, a.key_len = po.key_len;
                a.value = po.value, a.value_len = po.value_len;
                a.timestamp_ms = po.rec.timestamp_ms;
                if (a.headers) rd_kafka_headers_destroy(a.headers);
                a.headers = po.headers;
                po.headers = NULL;
            }
        }
        if (xr != XF_KEEP) {
        } else if (problem) {
            const char *exc = batch_record_reported(ctx->batch, i) ? ERRORS_EXC_DATA
                              : offsets_valid                      ? ERRORS_EXC_INVALID_TOPIC
                                                                   : ERRORS_EXC_DATA;
            rc = source_record_failed(ctx, &a, exc, problem);
        } else {
            a.rkt = source_topic(ctx, a.topic);
            rd_kafka_resp_err_t e = source_produce(ctx, &a);
            if (e && errors_kafka_permanent(e)) {
                rc = source_record_failed(ctx, &a, errors_kafka_exception(e), rd_kafka_err2str(e));
            } else if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                engine_task_fail_permanent(t, "produce", "shutdown.timeout passed while the producer queue was full");
                rc = -1;
            } else if (e) {
                ferry_error_t err;
                snprintf(err.msg, sizeof(err.msg), "produce to topic '%s': %s", a.topic, rd_kafka_err2str(e));
                /* Fenced (exactly-once: a newer instance of the task runs) or
                 * another fatal producer error: a restart must not fence
                 * that instance in turn. */
                int fatal = e == RD_KAFKA_RESP_ERR__FENCED || e == RD_KAFKA_RESP_ERR__FATAL;
                engine_task_fail(t, fatal ? FERRY_FATAL : FERRY_ERROR, "produce", &err);
                rc = -1;
            }
        }
        if (rc == 0 && fanout) rc = source_fanout(ctx, &a, fanout);
        free(fanout);
        if (a.headers) rd_kafka_headers_destroy(a.headers);
        pipeline_out_clear(&po);
        if (rc != 0) return -1;
    }
    return 0;
}

/* ---- the loop --------------------------------------------------------------------------- */

/* record_error() from a source, inside poll(): the record joins the batch
 * flagged, and goes the way of a record batch_add refused (source.c's top
 * comment). A 1.1 plugin's record: copied up to its flags. */
static ferry_status_t source_record_error(void *arg, const ferry_record_t *rec, const char *reason)
{
    source_ctx_t *ctx = arg;
    if (!rec) return FERRY_ERROR;
    return batch_add_failed(ctx->batch, rec, offsetof(ferry_record_t, flags) + sizeof(rec->flags), reason);
}

static const task_hooks_t source_hooks = {.record_error = source_record_error};

static ferry_status_t call_poll(task_rt_t *t, void *arg, ferry_error_t *err)
{
    return t->conn->desc->poll(t->state, (ferry_batch_t *)arg, err);
}

/* Stores the offsets reached (exactly-once: commits the transaction that
 * holds them), as source_offsets_flush / source_txn_flush. */
static int source_flush(source_ctx_t *ctx, int64_t deadline, char *why, size_t whylen)
{
    return ctx->eos ? source_txn_flush(ctx, deadline, why, whylen) : source_offsets_flush(ctx, deadline, why, whylen);
}

/* Stores offsets (exactly-once: commits the transaction) when due or
 * requested. 0, or -1 when the task failed. */
static int source_maybe_flush(source_ctx_t *ctx)
{
    int due = ctx->eos && ctx->txn_per_poll ? ctx->in_txn : clock_ms() >= ctx->next_flush;
    if (!due && !engine_commit_requested(ctx->t)) return 0;
    char why[512];
    int rc = source_flush(ctx, SOURCE_FLUSH_PERIODIC, why, sizeof(why));
    ctx->next_flush = clock_ms() + ctx->flush_ms;
    if (rc == -1) log_warn("[%s] offsets not stored: %s (will retry)", ctx->t->task->prefix, why);
    return rc == -2 ? -1 : 0;
}

/* While poll() is retried: keep serving delivery reports and storing
 * offsets, so that a source waiting on its upstream (PG CDC reconnecting)
 * still confirms what Kafka has. */
static void source_tick(void *arg)
{
    source_ctx_t *ctx = arg;
    rd_kafka_poll(ctx->rk, 0);
    source_maybe_flush(ctx);
}

static void source_run(source_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    ferry_error_t err;
    int idle = 0;
    while (!engine_stopping(t)) {
        rd_kafka_poll(ctx->rk, 0);
        if (source_handle_failed(ctx) != 0) return;
        atomic_store(&t->pause_held, atomic_load(&t->conn->paused));
        if (atomic_load(&t->pause_held)) {
            /* Paused: no poll(); deliveries and offsets go on. */
            rd_kafka_poll(ctx->rk, 100);
            if (source_maybe_flush(ctx) != 0) return;
            continue;
        }
        t->tick = source_tick;
        t->tick_arg = ctx;
        int64_t started = engine_now_us();
        ferry_status_t st = engine_call_retrying(t, "poll", call_poll, ctx->batch, &err);
        t->tick = NULL;
        if (st == FERRY_OK) engine_note_call(t, started, batch_size(ctx->batch));
        if (st != FERRY_OK) {
            if (!engine_stopping(t) && atomic_load(&t->status) < TASK_FAILED) engine_task_fail(t, st, "poll", &err);
            return;
        }
        if (batch_error(ctx->batch)) {
            engine_task_fail_permanent(t, "poll", "%s; the task is not restarted, since it would meet the same "
                                                  "record (errors.tolerance: all dead-letters such records)",
                                       batch_error(ctx->batch));
            return;
        }
        size_t n = batch_size(ctx->batch);
        int64_t wait = rate_limit_take(t->conn->limit, n, batch_bytes(ctx->batch));
        if (wait > 0) { /* rate.limit.*: librdkafka stays served meanwhile */
            t->tick = source_tick;
            engine_sleep(t, wait);
            t->tick = NULL;
        }
        int rc = source_produce_batch(ctx);
        batch_reset(ctx->batch);
        if (rc != 0) return;
        if (n == 0) {
            /* A source with nothing to say should block in poll; if it does
             * not, back off a little so an idle task does not spin. */
            if (idle < 10) idle++;
            rd_kafka_poll(ctx->rk, idle * 5);
        } else {
            idle = 0;
        }
        if (source_maybe_flush(ctx) != 0) return;
    }
}

/* Drain: everything produced gets delivered (or the deadline passes), then
 * the offsets acknowledged so far are stored and committed, with a budget of
 * their own. Also runs after a failure: the tracker only ever commits a
 * contiguous acknowledged prefix, so a failed record still holds its
 * partition back. */
static void source_drain(source_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    int graceful = engine_stopping(t) && atomic_load(&t->status) < TASK_FAILED;
    /* A task whose group assignment was lost runs elsewhere already: it
     * must not store offsets behind the new owner's back. */
    if (atomic_load(&t->lost)) {
        log_warn("[%s] its assignment was lost: stopped without storing its final offsets (the new owner goes on "
                 "from the stored ones)", t->task->prefix);
        return;
    }
    int64_t deadline = engine_stopping(t) ? engine_deadline(t, engine_final_reserve_ms(t)) : clock_ms() + 10000;
    while (rd_kafka_outq_len(ctx->rk) > 0 && clock_ms() < deadline) {
        rd_kafka_poll(ctx->rk, 50);
        if (atomic_load(&t->status) < TASK_FAILED) source_handle_failed(ctx);
    }
    int left = rd_kafka_outq_len(ctx->rk);
    if (left > 0 && graceful)
        engine_task_unclean(t, "%d record(s) were not acknowledged by Kafka within shutdown.timeout: their offsets "
                               "are not committed, so they are produced again at the next start", left);
    if (!atomic_load_explicit(&t->opened, memory_order_acquire)) return;
    char why[512];
    int64_t final = engine_stopping(t) ? engine_deadline(t, 100) : clock_ms() + 10000;
    if (source_flush(ctx, final, why, sizeof(why)) == -1 && graceful)
        engine_task_unclean(t, "the final offsets of %zu source partition(s) were not stored (%s): records after the "
                               "last stored offsets are produced again at the next start", ctx->offs.n, why);
}

static int source_setup(source_ctx_t *ctx)
{
    task_rt_t *t = ctx->t;
    worker_t *w = ctx->w;
    ferry_error_t err;
    char emsg[512];
    ctx->tracker = offset_tracker_new();
    ctx->batch = batch_new(engine_batch_records(t), engine_batch_bytes(t));
    ctx->rules.default_topic = config_string(t->cfg, "topic");
    ctx->rules.offsets_topic = w->wc->offsets_store == OFFSETS_STORE_KAFKA ? w->wc->offsets_topic : NULL;
    ctx->rules.tolerate_all = t->policy.tolerate_all;
    batch_set_rules(ctx->batch, &ctx->rules);
    ctx->flush_ms = w->wc->offsets_flush_ms > 0 ? w->wc->offsets_flush_ms : 5000;
    if (pipeline_init(&ctx->pipe, t, emsg, sizeof(emsg)) != 0) {
        engine_task_fail_permanent(t, "start", "%s", emsg);
        return -1;
    }
    ctx->rules.topic_after_chain = ctx->pipe.chain != NULL; /* converters alone keep the check here */
    ctx->eos = source_txn_wanted(t, emsg, sizeof(emsg));
    if (ctx->eos < 0) {
        ctx->eos = 0;
        engine_task_fail_permanent(t, "start", "%s", emsg);
        return -1;
    }

    rd_kafka_conf_t *conf = engine_client_conf(t, KAFKA_PRODUCER, emsg, sizeof(emsg));
    int txn_rc = conf && ctx->eos ? source_txn_conf(ctx, conf, emsg, sizeof(emsg)) : 0;
    if (txn_rc != 0) {
        rd_kafka_conf_destroy(conf);
        conf = NULL;
        if (txn_rc == -2) { /* a setting that a restart would meet again */
            engine_task_fail_permanent(t, "start", "%s", emsg);
            return -1;
        }
    }
    if (conf) {
        rd_kafka_conf_set_dr_msg_cb(conf, source_dr_cb);
        rd_kafka_conf_set_opaque(conf, ctx);
        engine_stats_attach(conf);
        ctx->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, emsg, sizeof(emsg));
        if (!ctx->rk) rd_kafka_conf_destroy(conf);
    }
    if (!ctx->rk) {
        snprintf(err.msg, sizeof(err.msg), "producer: %s", emsg);
        engine_task_fail(t, FERRY_ERROR, "start", &err);
        return -1;
    }
    /* Exactly-once: fence the task's previous instance (and let Kafka finish
     * or abort its transaction) before reading where it got to. */
    if (ctx->eos && source_txn_init(ctx) != 0) return -1;
    if (ctx->rules.offsets_topic) ctx->offsets_rkt = rd_kafka_topic_new(ctx->rk, w->wc->offsets_topic, NULL);
    if (t->policy.tolerate_all && t->policy.dlq_topic)
        ctx->dlq_rkt = rd_kafka_topic_new(ctx->rk, t->policy.dlq_topic, NULL);
    /* A task that may have run on another worker since this one read the
     * offsets topic resumes from what is stored there now. */
    if ((w->group || ctx->eos) && engine_offsets_reload(w, t->task->connector, emsg, sizeof(emsg)) != 0) {
        snprintf(err.msg, sizeof(err.msg), "reading the offsets topic: %s", emsg);
        engine_task_fail(t, FERRY_ERROR, "start", &err);
        return -1;
    }

    t->task->hooks = &source_hooks;
    t->task->hooks_arg = ctx;
    ferry_status_t st = engine_call_retrying(t, "open", engine_call_open, NULL, &err);
    if (st != FERRY_OK) {
        if (!engine_stopping(t)) engine_task_fail(t, st, "open", &err);
        return -1;
    }
    atomic_store(&t->status, TASK_RUNNING);
    log_info("[%s] source task running", t->task->prefix);
    ctx->next_flush = clock_ms() + ctx->flush_ms;
    return 0;
}

static void source_teardown(source_ctx_t *ctx)
{
    engine_task_close(ctx->t);
    ctx->t->task->hooks = NULL;
    ctx->t->task->hooks_arg = NULL;
    for (int i = 0; i < ctx->ntopics; i++) {
        rd_kafka_topic_destroy(ctx->topics[i].rkt);
        free(ctx->topics[i].copy);
    }
    if (ctx->offsets_rkt) rd_kafka_topic_destroy(ctx->offsets_rkt);
    if (ctx->dlq_rkt) rd_kafka_topic_destroy(ctx->dlq_rkt);
    /* Undelivered messages are purged here: their offsets were never
     * committed, so they come again after a restart. */
    if (ctx->rk) rd_kafka_destroy(ctx->rk);
    source_failed_free(ctx->failed, ctx->nfailed); /* moot after a failure: nothing after them was committed */
    offset_tracker_free(ctx->tracker);
    batch_free(ctx->batch);
    source_offsets_free(&ctx->offs);
    pipeline_free(&ctx->pipe);
}

void *source_task_main(void *arg)
{
    task_rt_t *t = arg;
    source_ctx_t ctx = {.t = t, .w = t->conn->worker, .last_topic = -1};
    if (source_setup(&ctx) == 0) source_run(&ctx);
    if (ctx.rk) source_drain(&ctx);
    source_teardown(&ctx);
    if (atomic_load(&t->status) < TASK_FAILED) atomic_store(&t->status, TASK_STOPPED);
    log_info("[%s] source task %s", t->task->prefix, atomic_load(&t->status) == TASK_STOPPED ? "stopped" : "failed");
    atomic_store(&t->done, 1);
    return NULL;
}
