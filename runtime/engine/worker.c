/*
 * worker.c — connectors and tasks: validation, start-up, supervision,
 * progress reporting and graceful shutdown.
 */
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"

#define RESTART_BACKOFF_MAX_MS 60000

/* ---- helpers shared by the loops --------------------------------------------- */

int engine_stopping(const task_rt_t *t) { return atomic_load(&t->task->stop); }

void engine_task_fail(task_rt_t *t, ferry_status_t st, const char *callback, const ferry_error_t *err)
{
    const char *msg = err && err->msg[0] ? err->msg : "(no message)";
    snprintf(t->error, sizeof(t->error), "%s: %s", callback, msg);
    atomic_store(&t->status, st == FERRY_FATAL ? TASK_FATAL : TASK_FAILED);
    log_error("[%s] task failed in %s: %s", t->task->prefix, callback, msg);
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

ferry_status_t engine_call_retrying(task_rt_t *t, const char *what, engine_call_fn fn, void *arg,
                                    ferry_error_t *err)
{
    int64_t limit = config_duration_ms(t->cfg, "errors.retry.timeout");
    int64_t delay_max = config_duration_ms(t->cfg, "errors.retry.delay.max");
    if (delay_max <= 0) delay_max = 60000;
    int64_t start = clock_ms();
    int64_t delay = 100;
    for (int attempt = 0;; attempt++) {
        memset(err, 0, sizeof(*err));
        ferry_status_t st = fn(t, arg, err);
        if (st != FERRY_RETRY) return st;
        if (engine_stopping(t)) return FERRY_RETRY;
        if (limit > 0 && clock_ms() - start >= limit) {
            char msg[FERRY_ERRMSG_SIZE];
            snprintf(msg, sizeof(msg), "%s (gave up retrying after errors.retry.timeout)", err->msg);
            snprintf(err->msg, sizeof(err->msg), "%s", msg);
            return FERRY_ERROR;
        }
        /* Full jitter: sleep a random time in [delay/2, delay]. */
        int64_t sleep_ms = delay / 2 + (int64_t)(rand() % (int)(delay / 2 + 1));
        if (attempt == 0 || attempt % 10 == 0)
            log_warn("[%s] %s: %s (retrying in %lld ms)", t->task->prefix, what, err->msg[0] ? err->msg : "retry",
                     (long long)sleep_ms);
        engine_sleep(t, sleep_ms);
        delay = delay * 2 > delay_max ? delay_max : delay * 2;
    }
}

ferry_status_t engine_call_open(task_rt_t *t, void *arg, ferry_error_t *err)
{
    void *state = NULL;
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
    /* Defaults first, so that overrides win. */
    const char *dkeys[12], *dvals[12];
    size_t nd = 0;
    char client_id[200], group[200];
    snprintf(client_id, sizeof(client_id), "ferry-%s-%d", t->task->connector, t->task->id);
    dkeys[nd] = "client.id", dvals[nd++] = client_id;
    if (kind == KAFKA_PRODUCER) {
        dkeys[nd] = "enable.idempotence", dvals[nd++] = "true";
        /* Same partition for the same key as Kafka's Java clients. */
        dkeys[nd] = "partitioner", dvals[nd++] = "murmur2_random";
        dkeys[nd] = "linger.ms", dvals[nd++] = "5";
    } else {
        snprintf(group, sizeof(group), "ferry-%s", t->task->connector);
        dkeys[nd] = "group.id", dvals[nd++] = group;
        dkeys[nd] = "enable.auto.commit", dvals[nd++] = "false";
        dkeys[nd] = "enable.auto.offset.store", dvals[nd++] = "false";
        dkeys[nd] = "auto.offset.reset", dvals[nd++] = "earliest";
        dkeys[nd] = "allow.auto.create.topics", dvals[nd++] = "true";
        /* librdkafka 2.0 pauses fetching once 100k small messages are queued
         * and only resumes on its next wake-up (up to ~1 s later): with
         * small records that stalls the sink. Memory stays bounded by
         * queued.max.messages.kbytes. */
        dkeys[nd] = "queued.min.messages", dvals[nd++] = "1000000";
    }
    const char **keys = xcalloc(nd + n + 1, sizeof(char *));
    const char **vals = xcalloc(nd + n + 1, sizeof(char *));
    for (size_t i = 0; i < nd; i++) keys[i] = dkeys[i], vals[i] = dvals[i];
    for (size_t i = 0; i < n; i++) keys[nd + i] = okeys[i], vals[nd + i] = ovals[i];
    rd_kafka_conf_t *conf = kafka_conf_new(t->conn->worker->kenv, kind, keys, vals, nd + n, err, errlen);
    free(keys);
    free(vals);
    return conf;
}

/* ---- offsets ------------------------------------------------------------------- */

void engine_offsets_update_map(worker_t *w, const char *connector, const ferry_offset_t *offs, size_t n)
{
    pthread_mutex_lock(&w->offsets_lock);
    for (size_t i = 0; i < n; i++) offset_map_put(w->offsets, connector, offs[i].source_partition, offs[i].source_offset);
    pthread_mutex_unlock(&w->offsets_lock);
}

int engine_offsets_store_file(worker_t *w, const char *connector, const ferry_offset_t *offs, size_t n,
                              char *err, size_t errlen)
{
    pthread_mutex_lock(&w->offsets_lock);
    for (size_t i = 0; i < n; i++) offset_map_put(w->offsets, connector, offs[i].source_partition, offs[i].source_offset);
    int rc = offsets_file_save(w->wc->offsets_file, w->offsets, err, errlen);
    pthread_mutex_unlock(&w->offsets_lock);
    return rc;
}

/* ---- construction ---------------------------------------------------------------------- */

static int conn_build_tasks(conn_t *c, int tasks_max, cfg_errors_t *errs)
{
    ferry_taskset_t set = {.max = tasks_max};
    const ferry_connector_t *desc = c->desc;
    if (desc->task_configs) {
        ferry_error_t err = {{0}};
        ferry_status_t st = desc->task_configs(host_api(), c->cfg, tasks_max, &set, &err);
        if (st != FERRY_OK) {
            cfg_errors_add(errs, "connector %s: task_configs: %s", c->name, err.msg[0] ? err.msg : "failed");
            taskset_clear(&set);
            return -1;
        }
        if (set.count == 0) {
            cfg_errors_add(errs, "connector %s: task_configs produced no task", c->name);
            taskset_clear(&set);
            return -1;
        }
    } else {
        /* Sources without task_configs run one task; sinks run tasks.max
         * identical members of one consumer group. */
        int n = desc->kind == FERRY_SINK ? tasks_max : 1;
        for (int i = 0; i < n; i++) set.tasks = xrealloc(set.tasks, (size_t)(i + 1) * sizeof(*set.tasks)),
                                    memset(&set.tasks[i], 0, sizeof(*set.tasks)), set.count++;
    }
    c->ntasks = set.count;
    c->tasks = xcalloc((size_t)set.count, sizeof(task_rt_t));
    for (int i = 0; i < set.count; i++) {
        task_rt_t *t = &c->tasks[i];
        t->conn = c;
        t->cfg = config_overlay(c->cfg, (const char *const *)set.tasks[i].keys,
                                (const char *const *)set.tasks[i].values, set.tasks[i].count);
        t->task = host_task_new(c->name, i, c->worker->offsets);
        t->task->offsets_lock = &c->worker->offsets_lock;
        atomic_init(&t->status, TASK_STARTING);
        atomic_init(&t->opened, 0);
        atomic_init(&t->done, 0);
        atomic_init(&t->records, 0);
        pthread_mutex_init(&t->lock, NULL);
    }
    taskset_clear(&set);
    return 0;
}

worker_t *worker_new(const worker_config_t *wc, const plugin_registry_t *reg, cfg_errors_t *errs)
{
    worker_t *w = xcalloc(1, sizeof(*w));
    w->wc = wc;
    w->reg = reg;
    w->offsets = offset_map_new();
    pthread_mutex_init(&w->offsets_lock, NULL);
    atomic_init(&w->stopping, 0);
    w->conns = xcalloc(wc->connector_count ? wc->connector_count : 1, sizeof(conn_t));
    size_t before = errs->count;
    for (size_t i = 0; i < wc->connector_count; i++) {
        const connector_spec_t *spec = &wc->connectors[i];
        if (!spec->connector) continue; /* already reported by worker_config_load */
        const ferry_connector_t *desc = plugin_registry_find(reg, spec->connector, NULL);
        if (!desc) {
            const char *const *names = NULL;
            size_t nn = plugin_registry_names(reg, &names);
            const char *dym = config_did_you_mean(spec->connector, names, nn);
            cfg_errors_add(errs, "%s:%d:%d: connector %s: unknown connector '%s'%s%s%s", wc->path, spec->line,
                           spec->col, spec->name, spec->connector, dym ? " (did you mean '" : "",
                           dym ? dym : "", dym ? "'?)" : " (see `ferry plugins`)");
            continue;
        }
        ferry_config_t *cfg = connector_config_build(wc->path, spec, desc, host_api(), errs);
        if (!cfg) continue;
        conn_t *c = &w->conns[w->nconns++];
        c->name = spec->name;
        c->desc = desc;
        c->cfg = cfg;
        c->worker = w;
        conn_build_tasks(c, (int)config_int(cfg, "tasks.max"), errs);
    }
    if (errs->count > before) {
        worker_free(w);
        return NULL;
    }
    return w;
}

static void task_start(task_rt_t *t)
{
    atomic_store(&t->task->stop, 0);
    atomic_store(&t->done, 0);
    atomic_store(&t->status, TASK_STARTING);
    t->error[0] = '\0';
    t->started_ms = clock_ms();
    void *(*body)(void *) = t->conn->desc->kind == FERRY_SOURCE ? source_task_main : sink_task_main;
    /* Task threads never take SIGTERM/SIGINT: the main thread handles them,
     * and plugins blocked in system calls are not interrupted with EINTR. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&t->thread, NULL, body, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(t->error, sizeof(t->error), "start: cannot create a thread: %s", strerror(rc));
        atomic_store(&t->status, TASK_FATAL);
        atomic_store(&t->done, 1);
        return;
    }
    t->thread_started = 1;
}

int worker_start(worker_t *w)
{
    const worker_config_t *wc = w->wc;
    char err[512];
    w->kenv = kafka_env_new((const char *const *)wc->kafka_keys, (const char *const *)wc->kafka_values,
                            wc->kafka_count, err, sizeof(err));
    if (!w->kenv) {
        log_error("kafka: %s", err);
        return -1;
    }
    int has_source = 0;
    for (size_t i = 0; i < w->nconns; i++) has_source |= w->conns[i].desc->kind == FERRY_SOURCE;

    if (wc->offsets_store == OFFSETS_STORE_FILE) {
        if (offsets_file_load(wc->offsets_file, w->offsets, err, sizeof(err)) != 0) {
            log_error("offsets: %s", err);
            return -1;
        }
        log_info("offsets: file %s (%zu stored)", wc->offsets_file, offset_map_count(w->offsets));
    } else if (has_source) {
        w->offsets_partitions = kafka_ensure_topic(w->kenv, wc->offsets_topic, wc->offsets_partitions,
                                                   wc->offsets_replication, 1, err, sizeof(err));
        if (w->offsets_partitions < 1) {
            log_error("offsets topic: %s", err);
            return -1;
        }
        rd_kafka_conf_t *conf = kafka_conf_new(w->kenv, KAFKA_CONSUMER, NULL, NULL, 0, err, sizeof(err));
        if (!conf || offsets_kafka_load(conf, wc->offsets_topic, w->offsets, 30000, err, sizeof(err)) != 0) {
            log_error("offsets topic '%s': %s", wc->offsets_topic, err);
            return -1;
        }
        log_info("offsets: topic %s (%d partitions, %zu stored)", wc->offsets_topic, w->offsets_partitions,
                 offset_map_count(w->offsets));
    }
    /* Sink topics on the embedded broker are created up front so that
     * consumers find them; elsewhere they are the operator's business (or
     * auto-created). */
    if (kafka_env_is_embedded(w->kenv)) {
        for (size_t i = 0; i < w->nconns; i++) {
            if (w->conns[i].desc->kind != FERRY_SINK) continue;
            const char *const *topics = NULL;
            size_t n = config_list(w->conns[i].cfg, "topics", &topics);
            for (size_t j = 0; j < n; j++) kafka_ensure_topic(w->kenv, topics[j], 4, 1, 0, err, sizeof(err));
        }
    }
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        log_info("[%s] starting %s connector '%s' with %d task(s)", c->name,
                 c->desc->kind == FERRY_SOURCE ? "source" : "sink", c->desc->name, c->ntasks);
        for (int j = 0; j < c->ntasks; j++) task_start(&c->tasks[j]);
    }
    return 0;
}

/* ---- supervision ---------------------------------------------------------------------------- */

static void task_join(task_rt_t *t)
{
    if (t->thread_started) {
        pthread_join(t->thread, NULL);
        t->thread_started = 0;
    }
}

/* Restarts failed tasks with exponential backoff (FATAL ones stay failed,
 * and so do all when errors.restart.enabled is false). */
static void worker_supervise(worker_t *w)
{
    int64_t now = clock_ms();
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        int64_t backoff_max = config_duration_ms(c->cfg, "errors.restart.backoff.max");
        if (backoff_max < 1000) backoff_max = RESTART_BACKOFF_MAX_MS;
        int enabled = config_bool(c->cfg, "errors.restart.enabled");
        for (int j = 0; j < c->ntasks; j++) {
            task_rt_t *t = &c->tasks[j];
            /* A task that has run fine for a while starts over with short backoffs. */
            if (t->restarts && atomic_load(&t->status) == TASK_RUNNING && now - t->started_ms > backoff_max)
                t->restarts = 0;
            if (!atomic_load(&t->done) || atomic_load(&t->status) != TASK_FAILED) continue;
            if (!enabled) {
                if (t->restart_at_ms == 0) {
                    log_warn("[%s] task stays FAILED (errors.restart.enabled: false): %s", t->task->prefix, t->error);
                    t->restart_at_ms = INT64_MAX;
                }
                continue;
            }
            if (t->restart_at_ms == 0) {
                int64_t backoff = 1000;
                for (int k = 0; k < t->restarts && backoff < backoff_max; k++) backoff *= 2;
                if (backoff > backoff_max) backoff = backoff_max;
                t->restart_at_ms = now + backoff;
                log_info("[%s] restarting failed task in %lld ms", t->task->prefix, (long long)backoff);
            } else if (now >= t->restart_at_ms) {
                task_join(t);
                t->restarts++;
                t->restart_at_ms = 0;
                task_start(t);
            }
        }
    }
}

static void worker_progress(worker_t *w, int64_t elapsed_ms)
{
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        uint64_t total = 0;
        int running = 0, failed = 0;
        for (int j = 0; j < c->ntasks; j++) {
            total += atomic_load(&c->tasks[j].records);
            int s = atomic_load(&c->tasks[j].status);
            running += s == TASK_RUNNING;
            failed += s == TASK_FAILED || s == TASK_FATAL;
        }
        double rate = elapsed_ms > 0 ? (double)(total - c->last_records) * 1000.0 / (double)elapsed_ms : 0;
        log_info("[%s] %llu records (%.0f/s), %d/%d tasks running%s", c->name, (unsigned long long)total, rate,
                 running, c->ntasks, failed ? ", some FAILED" : "");
        c->last_records = total;
    }
}

int worker_run(worker_t *w, volatile sig_atomic_t *stop)
{
    int64_t progress_ms = w->wc->progress_interval_ms;
    int64_t last = clock_ms();
    while (!*stop) {
        usleep(100 * 1000);
        kafka_env_poll(w->kenv);
        worker_supervise(w);
        int64_t now = clock_ms();
        if (progress_ms > 0 && now - last >= progress_ms) {
            worker_progress(w, now - last);
            last = now;
        }
    }
    /* Graceful shutdown: ask every task to stop, interrupt blocking
     * plugin calls, and wait within the deadline. */
    int64_t timeout = w->wc->shutdown_timeout_ms > 0 ? w->wc->shutdown_timeout_ms : 30000;
    w->shutdown_deadline_ms = clock_ms() + timeout;
    atomic_store(&w->stopping, 1);
    log_info("shutting down (timeout %lld ms)", (long long)timeout);
    /* Sources stop first; sinks after them, so that with the embedded broker
     * (which dies with the process) sinks can drain what sources delivered. */
    int clean = 1;
    for (int phase = 0; phase < 2; phase++) {
        ferry_kind_t kind = phase == 0 ? FERRY_SOURCE : FERRY_SINK;
        for (size_t i = 0; i < w->nconns; i++)
            for (int j = 0; j < w->conns[i].ntasks; j++) {
                task_rt_t *t = &w->conns[i].tasks[j];
                if (t->conn->desc->kind != kind) continue;
                atomic_store(&t->task->stop, 1);
                pthread_mutex_lock(&t->lock);
                if (t->conn->desc->stop && atomic_load_explicit(&t->opened, memory_order_acquire))
                    t->conn->desc->stop(t->state);
                pthread_mutex_unlock(&t->lock);
            }
        for (size_t i = 0; i < w->nconns; i++)
            for (int j = 0; j < w->conns[i].ntasks; j++) {
                task_rt_t *t = &w->conns[i].tasks[j];
                if (t->conn->desc->kind != kind || !t->thread_started) continue;
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t left = w->shutdown_deadline_ms - clock_ms();
                if (left < 0) left = 0;
                ts.tv_sec += left / 1000;
                ts.tv_nsec += (left % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
                if (pthread_timedjoin_np(t->thread, NULL, &ts) != 0) {
                    log_error("[%s] did not stop within shutdown.timeout", t->task->prefix);
                    clean = 0;
                } else {
                    t->thread_started = 0;
                }
            }
    }
    if (!clean) return 1;
    log_info("stopped cleanly");
    return 0;
}

void worker_free(worker_t *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = &w->conns[i];
        for (int j = 0; j < c->ntasks; j++) {
            task_rt_t *t = &c->tasks[j];
            if (t->thread_started) return; /* a task is stuck: leak rather than free under it */
            config_free(t->cfg);
            host_task_free(t->task);
            pthread_mutex_destroy(&t->lock);
        }
        free(c->tasks);
        config_free(c->cfg);
    }
    free(w->conns);
    kafka_env_free(w->kenv);
    offset_map_free(w->offsets);
    pthread_mutex_destroy(&w->offsets_lock);
    free(w);
}
