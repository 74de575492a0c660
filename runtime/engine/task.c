/*
 * task.c — what the source and sink loops share: calling plugin callbacks
 * safely (cleared, NUL-terminated, secret-scrubbed errors), retrying with
 * backoff, failing a task, deadlines during shutdown, client settings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"

int engine_stopping(const task_rt_t *t) { return atomic_load(&t->task->stop); }

void engine_task_fail(task_rt_t *t, ferry_status_t st, const char *callback, const ferry_error_t *err)
{
    const char *msg = err && err->msg[0] ? err->msg : "(no message)";
    snprintf(t->error, sizeof(t->error), "%s: %s", callback, msg);
    host_task_scrub(t->task, t->error, sizeof(t->error));
    atomic_store(&t->status, st == FERRY_FATAL ? TASK_FATAL : TASK_FAILED);
    log_error("[%s] task failed in %s", t->task->prefix, t->error);
    /* A failure during the graceful stop means the stop did not keep the
     * guarantee: what the task had not committed is delivered again. */
    if (engine_stopping(t))
        engine_task_unclean(t, "failed while stopping (%s): what it had not committed is delivered again", t->error);
}

void engine_task_fail_permanent(task_rt_t *t, const char *callback, const char *fmt, ...)
{
    ferry_error_t err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    engine_task_fail(t, FERRY_FATAL, callback, &err);
}

void engine_task_unclean(task_rt_t *t, const char *fmt, ...)
{
    if (atomic_load(&t->unclean)) return; /* the first reason is the one to fix */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->unclean_note, sizeof(t->unclean_note), fmt, ap);
    va_end(ap);
    host_task_scrub(t->task, t->unclean_note, sizeof(t->unclean_note));
    atomic_store(&t->unclean, 1);
    log_error("[%s] %s", t->task->prefix, t->unclean_note);
}

ferry_status_t engine_call(task_rt_t *t, engine_call_fn fn, void *arg, ferry_error_t *err)
{
    memset(err, 0, sizeof(*err));
    ferry_status_t st = fn(t, arg, err);
    err->msg[sizeof(err->msg) - 1] = '\0';
    if (st != FERRY_OK && err->msg[0]) host_task_scrub(t->task, err->msg, sizeof(err->msg));
    if (st < FERRY_OK || st > FERRY_FATAL) {
        /* Not a status the SDK defines: treat as ERROR, and say so. */
        char msg[FERRY_ERRMSG_SIZE];
        snprintf(msg, sizeof(msg), "invalid status %d returned%s%s", (int)st, err->msg[0] ? ": " : "", err->msg);
        snprintf(err->msg, sizeof(err->msg), "%s", msg);
        st = FERRY_ERROR;
    }
    return st;
}

void engine_sleep(const task_rt_t *t, int64_t ms)
{
    int64_t end = clock_ms() + ms;
    while (!engine_stopping(t)) {
        int64_t left = end - clock_ms();
        if (left <= 0) break;
        if (t->tick) t->tick(t->tick_arg);
        usleep((useconds_t)(left > 50 ? 50 : left) * 1000);
    }
}

ferry_status_t engine_retry(task_rt_t *t, const char *what, engine_call_fn fn, void *arg, ferry_error_t *err)
{
    int64_t limit = config_duration_ms(t->cfg, "errors.retry.timeout");
    int64_t delay_max = config_duration_ms(t->cfg, "errors.retry.delay.max");
    if (delay_max <= 0) delay_max = 60000;
    int64_t start = clock_ms();
    int64_t delay = 100;
    for (int attempt = 0;; attempt++) {
        /* Also when the task failed meanwhile (a tick's offsets store or
         * transaction): it must not go on. */
        if (engine_stopping(t) || atomic_load(&t->status) >= TASK_FAILED) return FERRY_RETRY;
        if (limit > 0 && clock_ms() - start >= limit) {
            char msg[FERRY_ERRMSG_SIZE];
            snprintf(msg, sizeof(msg), "%s (gave up retrying after errors.retry.timeout)", err->msg);
            snprintf(err->msg, sizeof(err->msg), "%s", msg);
            return FERRY_ERROR;
        }
        /* Full jitter: sleep a random time in [delay/2, delay]. Each task
         * has its own seed, so workers do not retry in lockstep. */
        int64_t sleep_ms = delay / 2 + (int64_t)(rand_r(&t->seed) % (unsigned)(delay / 2 + 1));
        if (attempt % 10 == 0)
            log_warn("[%s] %s: %s (retrying in %lld ms)", t->task->prefix, what, err->msg[0] ? err->msg : "retry",
                     (long long)sleep_ms);
        engine_sleep(t, sleep_ms);
        delay = delay * 2 > delay_max ? delay_max : delay * 2;
        ferry_status_t st = engine_call(t, fn, arg, err);
        if (st != FERRY_RETRY) return st;
    }
}

ferry_status_t engine_call_retrying(task_rt_t *t, const char *what, engine_call_fn fn, void *arg,
                                    ferry_error_t *err)
{
    ferry_status_t st = engine_call(t, fn, arg, err);
    return st == FERRY_RETRY ? engine_retry(t, what, fn, arg, err) : st;
}

void engine_task_close(task_rt_t *t)
{
    pthread_mutex_lock(&t->lock);
    if (atomic_load_explicit(&t->opened, memory_order_acquire)) {
        atomic_store(&t->opened, 0);
        t->conn->desc->close(t->state);
        t->state = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    host_task_release(t->task);
}

ferry_status_t engine_call_open(task_rt_t *t, void *arg, ferry_error_t *err)
{
    (void)arg;
    void *state = NULL;
    /* The worker's Kafka environment exists from worker_start on (tasks may be built before). */
    t->task->kenv = t->conn->worker->kenv;
    ferry_status_t st = t->conn->desc->open(t->task, host_api(), t->cfg, &state, err);
    if (st == FERRY_OK) {
        t->state = state;
        atomic_store_explicit(&t->opened, 1, memory_order_release);
    }
    return st;
}

rd_kafka_conf_t *engine_client_conf(task_rt_t *t, kafka_client_kind_t kind, char *err, size_t errlen)
{
    const char *prefix = kind == KAFKA_PRODUCER ? "producer.override." : "consumer.override.";
    const char *const *okeys = NULL, *const *ovals = NULL;
    size_t n = config_prefixed(t->cfg, prefix, &okeys, &ovals);
    return kafka_task_conf_new(t->conn->worker->kenv, kind, t->task->connector, t->task->id, okeys, ovals, n, err,
                               errlen);
}

int64_t engine_final_reserve_ms(const task_rt_t *t)
{
    int64_t total = t->conn->worker->wc->shutdown_timeout_ms;
    if (total <= 0) total = 30000;
    int64_t reserve = total / 5;
    return reserve < 500 ? 500 : reserve > 5000 ? 5000 : reserve;
}

int64_t engine_deadline(const task_rt_t *t, int64_t reserve_ms)
{
    if (!engine_stopping(t)) return INT64_MAX;
    int64_t d = atomic_load(&t->stop_deadline_ms) - reserve_ms;
    int64_t soonest = clock_ms() + 100;
    return d > soonest ? d : soonest;
}

int engine_commit_requested(task_rt_t *t) { return atomic_exchange(&t->task->commit_requested, 0); }

void engine_error_context(const task_rt_t *t, errors_context_t *ctx, errors_stage_t stage, const char *exception,
                          const char *message)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->connector = t->task->connector;
    ctx->task_id = t->task->id;
    ctx->stage = stage;
    ctx->class_name = t->conn->desc->name;
    ctx->exception = exception;
    ctx->message = message;
    ctx->partition = -1;
    ctx->offset = -1;
}

/* ---- offsets ------------------------------------------------------------------- */

void engine_offsets_update_map(worker_t *w, const char *connector, const ferry_offset_t *offs, size_t n)
{
    pthread_mutex_lock(&w->offsets_lock);
    for (size_t i = 0; i < n; i++) offset_map_put(w->offsets, connector, offs[i].source_partition, offs[i].source_offset);
    pthread_mutex_unlock(&w->offsets_lock);
}

int engine_offsets_reload(worker_t *w, const char *connector, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = kafka_conf_new(w->kenv, KAFKA_CONSUMER, NULL, NULL, 0, err, errlen);
    if (!conf) return -1;
    offset_map_t *fresh = offset_map_new();
    if (offsets_kafka_load_decided(conf, w->wc->offsets_topic, fresh, 30000, err, errlen) != 0) {
        offset_map_free(fresh);
        return -1;
    }
    pthread_mutex_lock(&w->offsets_lock);
    /* The connector's entries become the topic's: first the ones it no
     * longer has go (reset since), then the rest is written over. */
    for (size_t i = offset_map_count(w->offsets); i-- > 0;) {
        const char *c, *part, *off;
        if (!offset_map_entry(w->offsets, i, &c, &part, &off) || strcmp(c, connector) != 0) continue;
        if (!offset_map_get(fresh, connector, part)) {
            char *gone = str_dup(part);
            offset_map_put(w->offsets, connector, gone, NULL);
            free(gone);
        }
    }
    const char *c, *part, *off;
    for (size_t i = 0; offset_map_entry(fresh, i, &c, &part, &off); i++)
        if (strcmp(c, connector) == 0) offset_map_put(w->offsets, connector, part, off);
    pthread_mutex_unlock(&w->offsets_lock);
    offset_map_free(fresh);
    return 0;
}

int engine_offsets_store_file(worker_t *w, const char *connector, const ferry_offset_t *offs, size_t n,
                              char *err, size_t errlen)
{
    pthread_mutex_lock(&w->offsets_lock);
    /* What the map held, so that a save that fails changes nothing. */
    char **before = xcalloc(n + 1, sizeof(*before));
    for (size_t i = 0; i < n; i++) {
        const char *old = offset_map_get(w->offsets, connector, offs[i].source_partition);
        before[i] = old ? str_dup(old) : NULL;
        offset_map_put(w->offsets, connector, offs[i].source_partition, offs[i].source_offset);
    }
    int rc = offsets_file_save(w->wc->offsets_file, w->offsets, err, errlen);
    for (size_t i = n; rc != 0 && i-- > 0;) offset_map_put(w->offsets, connector, offs[i].source_partition, before[i]);
    for (size_t i = 0; i < n; i++) free(before[i]);
    free(before);
    pthread_mutex_unlock(&w->offsets_lock);
    return rc;
}

/* ---- metrics ------------------------------------------------------------------------------ */

int64_t engine_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void engine_note_call(task_rt_t *t, int64_t start_us, size_t records)
{
    int64_t dt = engine_now_us() - start_us;
    atomic_fetch_add(&t->m_calls, 1);
    atomic_fetch_add(&t->m_call_us, (uint64_t)(dt > 0 ? dt : 0));
    atomic_fetch_add(&t->m_batch, records);
}

void engine_note_commit(task_rt_t *t, int ok)
{
    if (!ok) {
        atomic_fetch_add(&t->m_commits_failed, 1);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    atomic_fetch_add(&t->m_commits_ok, 1);
    atomic_store(&t->m_commit_ms, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void engine_kstats_clear(kstats_t *k)
{
    for (size_t i = 0; i < k->nlags; i++) free(k->lags[i].topic);
    free(k->lags);
    k->lags = NULL;
    k->nlags = 0;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static int64_t jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Reads what /metrics shows from librdkafka's statistics JSON. */
static int stats_cb(rd_kafka_t *rk, char *text, size_t len, void *opaque)
{
    (void)rk;
    task_rt_t *t = *(task_rt_t **)opaque;
    json_t *root = json_loadb(text, len, 0, NULL);
    if (!root) return 0;
    int consumer = strcmp(jstr(root, "type"), "consumer") == 0;
    int64_t queue = consumer ? 0 : jint(root, "msg_cnt"), rtt = 0;
    kstats_lag_t *lags = NULL;
    size_t nlags = 0;
    const char *name;
    json_t *b, *tp;
    json_object_foreach(json_object_get(root, "brokers"), name, b) {
        if (jint(b, "nodeid") < 0) continue; /* the bootstrap placeholder */
        int64_t avg = jint(json_object_get(b, "rtt"), "avg");
        if (avg > rtt) rtt = avg;
    }
    json_object_foreach(json_object_get(root, "topics"), name, tp) {
        const char *pid;
        json_t *p;
        json_object_foreach(json_object_get(tp, "partitions"), pid, p) {
            int64_t part = jint(p, "partition");
            if (part < 0 || !consumer) continue;
            queue += jint(p, "fetchq_cnt");
            int64_t lag = jint(p, "consumer_lag");
            if (lag < 0 || strcmp(jstr(p, "fetch_state"), "none") == 0) continue; /* not assigned */
            lags = xrealloc(lags, (nlags + 1) * sizeof(*lags));
            lags[nlags++] = (kstats_lag_t){.topic = str_dup(name), .partition = (int32_t)part, .lag = lag};
        }
    }
    kstats_t *k = &t->kstats;
    pthread_mutex_lock(&k->lock);
    engine_kstats_clear(k);
    k->valid = 1;
    k->queue = queue;
    k->rtt_us = rtt;
    k->tx_bytes = jint(root, "tx_bytes");
    k->rx_bytes = jint(root, "rx_bytes");
    k->lags = lags;
    k->nlags = nlags;
    pthread_mutex_unlock(&k->lock);
    json_decref(root);
    return 0; /* librdkafka frees text */
}

void engine_stats_attach(rd_kafka_conf_t *conf)
{
    char v[32];
    size_t vl = sizeof(v);
    if (rd_kafka_conf_get(conf, "statistics.interval.ms", v, &vl) == RD_KAFKA_CONF_OK && strcmp(v, "0") == 0)
        rd_kafka_conf_set(conf, "statistics.interval.ms", "5000", NULL, 0);
    rd_kafka_conf_set_stats_cb(conf, stats_cb);
}

size_t engine_batch_bytes(const task_rt_t *t)
{
    int64_t n = config_size(t->cfg, "batch.max.bytes");
    int64_t rate = config_size(t->cfg, "rate.limit.bytes");
    if (rate > 0 && rate / 10 < n) n = rate / 10 > 0 ? rate / 10 : 1;
    return (size_t)n;
}

size_t engine_batch_records(const task_rt_t *t)
{
    int64_t n = config_int(t->cfg, "batch.max.records");
    /* With a rate limit a batch holds at most a tenth of a second's worth,
     * so that the rate holds over short spans too. */
    int64_t rate = config_int(t->cfg, "rate.limit.records");
    if (rate > 0 && rate / 10 < n) n = rate / 10 > 0 ? rate / 10 : 1;
    return (size_t)n;
}
