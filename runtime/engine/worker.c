/*
 * worker.c — connectors and tasks: validation, start-up, supervision,
 * progress reporting and graceful shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/topic_name.h"

#define RESTART_BACKOFF_MAX_MS 60000

/* ---- construction ---------------------------------------------------------------------- */

worker_t *worker_new(const worker_config_t *wc, const plugin_registry_t *reg, cfg_errors_t *errs)
{
    worker_t *w = xcalloc(1, sizeof(*w));
    w->wc = wc;
    w->reg = reg;
    w->offsets = offset_map_new();
    pthread_mutex_init(&w->offsets_lock, NULL);
    pthread_mutex_init(&w->calls_lock, NULL);
    /* Timed waits on it measure time that a clock change cannot stretch. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->calls_cond, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&w->stopping, 0);
    w->statuses = json_object();
    w->parked = json_object();
    char host[128] = "";
    gethostname(host, sizeof(host) - 1);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    w->member = str_printf("%s-%ld-%08lx", host[0] ? host : "ferry", (long)getpid(),
                           (unsigned long)(now.tv_nsec ^ (now.tv_sec << 20)) & 0xffffffffUL);
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
        if (conn_check_topics(wc, wc->path, spec->line, spec->col, spec->name, cfg, desc, errs) != 0) {
            config_free(cfg);
            continue;
        }
        conn_t *c = conn_add(w, spec->name, desc, cfg);
        c->yaml_hash = conn_config_hash(cfg);
        conn_build_tasks(c, errs);
    }
    if (errs->count > before) {
        worker_free(w);
        return NULL;
    }
    return w;
}

void worker_task_start(task_rt_t *t)
{
    atomic_store(&t->task->stop, 0);
    atomic_store(&t->lost, 0);
    atomic_store(&t->pause_held, 0);
    atomic_store(&t->done, 0);
    atomic_store(&t->status, TASK_STARTING);
    t->error[0] = '\0';
    t->started_ms = clock_ms();
    /* Each task its own jitter sequence: workers restarted together must
     * not retry in lockstep. */
    t->seed = (unsigned)(clock_ms() ^ ((int64_t)getpid() << 16) ^ (int64_t)(uintptr_t)t);
    void *(*body)(void *) = t->conn->desc->kind == FERRY_SOURCE ? source_task_main : sink_task_main;
    /* Task threads never take SIGTERM/SIGINT/SIGHUP: the main thread handles them,
     * and plugins blocked in system calls are not interrupted with EINTR. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
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

void worker_use_store(worker_t *w) { w->use_store = 1; }

/* One stored record over the YAML file's connectors (see conn_store.c):
 * 0, or -1 when it no longer applies and is to be forgotten. */
static int worker_apply_record(worker_t *w, const char *name, json_t *rec)
{
    conn_t *c = conn_find(w, name);
    uint64_t hash = conn_store_yaml_hash(w->store, name);
    if (c || hash) {
        if (!c || hash != c->yaml_hash) {
            log_info("[%s] the YAML file changed after the REST API changed this connector: the file wins", name);
            return -1;
        }
    }
    if (json_is_true(json_object_get(rec, "deleted"))) {
        log_info("[%s] deleted over the REST API: not started", name);
        if (c) conn_remove(w, c);
        return 0;
    }
    json_t *config = json_object_get(rec, "config");
    if (config) {
        cfg_errors_t errs = {0};
        const ferry_connector_t *desc = NULL;
        ferry_config_t *cfg = conn_config_from_json(w->wc, w->reg, name, config, &desc, &errs);
        if (!cfg) {
            /* Kept in the store: a plugin directory may be back next time. */
            log_error("[%s] the config stored over the REST API is not valid now: %s", name,
                      errs.count ? errs.items[0] : "?");
            cfg_errors_clear(&errs);
            return 0;
        }
        if (!c) c = conn_add(w, name, desc, NULL);
        conn_reset(c, desc, cfg, json_incref(config));
        log_info("[%s] config from the REST API%s", name, hash ? " (overrides the YAML entry)" : "");
    }
    if (!c) return 0;
    const char *target = json_string_value(json_object_get(rec, "target"));
    if (target && strcmp(target, "STOPPED") == 0) {
        c->target = CONN_STOPPED;
        conn_free_tasks(c);
    } else if (target && strcmp(target, "PAUSED") == 0) {
        c->target = CONN_PAUSED;
        atomic_store(&c->paused, 1);
    }
    cluster_take_slots(c, json_object_get(rec, "slots"));
    if (w->wc->group_id && c->desc->kind == FERRY_SOURCE && !c->nslots)
        log_error("[%s] its stored record names no partition of the tasks topic for its tasks: they run nowhere "
                  "until its config is PUT again", name);
    return 0;
}

static int worker_apply_store(worker_t *w)
{
    char err[512];
    w->store = conn_store_open(w, err, sizeof(err));
    if (!w->store) {
        log_error("%s", err);
        return -1;
    }
    json_t *recs = json_deep_copy(conn_store_records(w->store));
    const char *name;
    json_t *rec;
    json_object_foreach(recs, name, rec) {
        if (worker_apply_record(w, name, rec) == 0) continue;
        /* Forgotten; in a group only here: the other workers' files decide for them. */
        if (!w->wc->group_id && conn_store_put(w->store, name, NULL, err, sizeof(err)) != 0) log_warn("%s", err);
    }
    json_decref(recs);
    return 0;
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
    if (wc->offsets_store == OFFSETS_STORE_FILE) {
        if (offsets_file_load(wc->offsets_file, w->offsets, err, sizeof(err)) != 0) {
            log_error("offsets: %s", err);
            return -1;
        }
        log_info("offsets: file %s (%zu stored)", wc->offsets_file, offset_map_count(w->offsets));
        w->offsets_loaded = 1;
    }
    /* Distributed mode: the YAML file's source tasks have the first slots;
     * the config topic is the group's, followed whether or not this worker
     * serves the REST API. */
    cluster_yaml_slots(w);
    if ((w->use_store || wc->group_id) && worker_apply_store(w) != 0) return -1;
    for (size_t i = 0; i < w->nconns; i++)
        if (conn_prepare(w->conns[i], err, sizeof(err)) != 0) {
            log_error("[%s] %s", w->conns[i]->name, err);
            return -1;
        }
    /* Distributed mode: source tasks start when the group assigns them. */
    int grouped = wc->group_id != NULL;
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = w->conns[i];
        int later = grouped && c->desc->kind == FERRY_SOURCE;
        log_info("[%s] starting %s connector '%s' with %d task(s)%s", c->name,
                 c->desc->kind == FERRY_SOURCE ? "source" : "sink", c->desc->name, c->ntasks,
                 later ? ", as the group assigns them" : "");
        conn_start_tasks(c);
        if (c->error[0]) log_error("[%s] not started: %s", c->name, c->error);
    }
    if (grouped && !(w->group = group_new(w, err, sizeof(err)))) {
        log_error("%s", err);
        return -1;
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
        conn_t *c = w->conns[i];
        if (conn_settle(w, c)) {
            i--; /* deleted: the next one moved into its place */
            continue;
        }
        if (c->stop_asked_ms) continue; /* stopping for a change: no restarts */
        int restarting = 0;
        int64_t backoff_max = config_duration_ms(c->cfg, "errors.restart.backoff.max");
        if (backoff_max < 1000) backoff_max = RESTART_BACKOFF_MAX_MS;
        int enabled = config_bool(c->cfg, "errors.restart.enabled");
        int64_t restart_max = config_int(c->cfg, "errors.restart.max");
        for (int j = 0; j < c->ntasks; j++) {
            task_rt_t *t = &c->tasks[j];
            /* A task that has run fine for a while starts over with short backoffs. */
            if (t->restarts && atomic_load(&t->status) == TASK_RUNNING && now - t->started_ms > backoff_max)
                t->restarts = 0;
            /* A restart asked for over REST shows as RESTARTING until the task runs (or fails). */
            if (t->restart_requested && !t->start_pending && atomic_load(&t->status) != TASK_STARTING)
                t->restart_requested = 0;
            restarting |= t->restart_requested;
            if (t->start_pending && atomic_load(&t->done) && (!t->stopper_started || atomic_load(&t->stopper_done))) {
                /* Its earlier run has stopped at last: now it may start. */
                worker_task_join(t, now);
                t->start_pending = 0;
                worker_task_start(t);
                continue;
            }
            if (!t->assigned || !atomic_load(&t->done) || atomic_load(&t->status) != TASK_FAILED) continue;
            if (!enabled) {
                if (t->restart_at_ms == 0) {
                    log_warn("[%s] task stays FAILED (errors.restart.enabled: false): %s", t->task->prefix, t->error);
                    t->restart_at_ms = INT64_MAX;
                }
                continue;
            }
            if (restart_max > 0 && t->restarts >= restart_max) {
                if (t->restart_at_ms == 0) {
                    log_error("[%s] task stays FAILED after %d restart(s) in a row (errors.restart.max): %s",
                              t->task->prefix, t->restarts, t->error);
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
                worker_task_start(t);
            }
        }
        if (!restarting) c->restarting = 0;
    }
}

/* One line per connector; a failed task adds its reason and what happens next. */
static void worker_progress(worker_t *w, int64_t elapsed_ms)
{
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = w->conns[i];
        uint64_t total = 0, dead = 0;
        int running = 0, here = 0;
        for (int j = 0; j < c->ntasks; j++) {
            here += c->tasks[j].assigned;
            total += atomic_load(&c->tasks[j].records);
            dead += atomic_load(&c->tasks[j].dead_lettered);
            running += atomic_load(&c->tasks[j].status) == TASK_RUNNING;
        }
        double rate = elapsed_ms > 0 ? (double)(total - c->last_records) * 1000.0 / (double)elapsed_ms : 0;
        char extra[64] = "";
        if (dead) snprintf(extra, sizeof(extra), ", %llu failed record(s) skipped or dead-lettered", (unsigned long long)dead);
        char where[64] = "";
        if (here < c->ntasks) snprintf(where, sizeof(where), " (%d of %d on this worker)", here, c->ntasks);
        log_info("[%s] %llu records (%.0f/s), %d/%d tasks running%s%s", c->name, (unsigned long long)total, rate,
                 running, here, where, extra);
        for (int j = 0; j < c->ntasks; j++) {
            const task_rt_t *t = &c->tasks[j];
            if (!t->assigned) continue;
            int st = atomic_load(&t->status);
            if (st != TASK_FAILED && st != TASK_FATAL) continue;
            const char *next = st == TASK_FATAL          ? "not restarted"
                               : t->restart_at_ms == INT64_MAX ? "stays FAILED"
                                                               : "restarting";
            log_warn("[%s] FAILED (%s, %d restart(s) so far): %s", t->task->prefix, next, t->restarts, t->error);
        }
        c->last_records = total;
    }
}

/* The plugin's stop() runs on a thread of its own, so that a stop() that
 * blocks (or a close() holding the task lock) cannot hold the main thread
 * past shutdown.timeout. */
static void *task_stopper_main(void *arg)
{
    task_rt_t *t = arg;
    pthread_mutex_lock(&t->lock);
    if (t->conn->desc->stop && atomic_load_explicit(&t->opened, memory_order_acquire)) t->conn->desc->stop(t->state);
    pthread_mutex_unlock(&t->lock);
    atomic_store(&t->stopper_done, 1);
    return NULL;
}

void worker_task_request_stop(task_rt_t *t, int64_t deadline_ms)
{
    atomic_store(&t->stop_deadline_ms, deadline_ms);
    atomic_store(&t->task->stop, 1);
    if (!t->conn->desc->stop || !t->thread_started) return;
    atomic_store(&t->stopper_done, 0);
    t->stopper_started = pthread_create(&t->stopper, NULL, task_stopper_main, t) == 0;
}

/* Joins a thread by the worker's deadline; 0, or -1 when it is still running. */
static int join_by(pthread_t thread, int64_t deadline_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t left = deadline_ms - clock_ms();
    if (left < 0) left = 0;
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    return pthread_timedjoin_np(thread, NULL, &ts) == 0 ? 0 : -1;
}

/* Stops every task of one kind and waits for them. 1 when all stopped. */
static void worker_request_stop_kind(worker_t *w, ferry_kind_t kind)
{
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++)
            if (w->conns[i]->desc->kind == kind) worker_task_request_stop(&w->conns[i]->tasks[j], w->shutdown_deadline_ms);
}

int worker_task_join(task_rt_t *t, int64_t deadline_ms)
{
    int rc = 0;
    if (t->thread_started) {
        if (join_by(t->thread, deadline_ms) != 0) {
            log_error("[%s] did not stop within shutdown.timeout", t->task->prefix);
            rc = -1;
        } else {
            t->thread_started = 0;
        }
    }
    if (t->stopper_started) {
        if (join_by(t->stopper, deadline_ms) != 0) {
            log_error("[%s] the connector's stop() did not return within shutdown.timeout", t->task->prefix);
            rc = -1;
        } else {
            t->stopper_started = 0;
        }
    }
    return rc;
}

/* Waits for the tasks of one kind (asked to stop) until the deadline. */
static int worker_join_kind(worker_t *w, ferry_kind_t kind)
{
    int clean = 1;
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++)
            if (w->conns[i]->desc->kind == kind && worker_task_join(&w->conns[i]->tasks[j], w->shutdown_deadline_ms) != 0)
                clean = 0;
    return clean;
}

int worker_run(worker_t *w, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    int64_t progress_ms = w->wc->progress_interval_ms;
    int64_t last = clock_ms();
    int broken = 0;
    worker_calls_open(w, 1);
    atomic_store(&w->heartbeat_ms, clock_ms());
    while (!*stop) {
        worker_calls_serve(w, 100);
        atomic_store(&w->heartbeat_ms, clock_ms());
        worker_note_cluster_id(w);
        if (reload && *reload) {
            *reload = 0;
            worker_reload(w);
        }
        char err[512];
        if (kafka_env_poll(w->kenv, err, sizeof(err)) < 0) {
            log_error("%s: stopping", err);
            broken = 1;
            break;
        }
        group_poll(w->group);
        conn_store_poll(w->store);
        worker_supervise(w);
        cluster_publish(w);
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
    worker_calls_open(w, 0);
    log_info("shutting down (timeout %lld ms)", (long long)timeout);
    /* With the embedded broker (which dies with the process) sources stop
     * first and sinks after them, so that sinks can drain what sources
     * delivered. On a real cluster both stop at once: each has the whole
     * budget for its final flush and commit. */
    int embedded = kafka_env_is_embedded(w->kenv);
    worker_request_stop_kind(w, FERRY_SOURCE);
    if (!embedded) worker_request_stop_kind(w, FERRY_SINK);
    int clean = worker_join_kind(w, FERRY_SOURCE);
    /* The others hear that its source tasks stopped before they take them over. */
    cluster_publish(w);
    conn_store_flush(w->store, 2000);
    group_leave(w->group); /* the others take the source tasks over at once */
    if (embedded) worker_request_stop_kind(w, FERRY_SINK);
    clean &= worker_join_kind(w, FERRY_SINK);
    if (!clean || broken) return 1;
    int kept = 1;
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++)
            if (atomic_load(&w->conns[i]->tasks[j].unclean)) {
                log_error("[%s] not stopped cleanly: %s", w->conns[i]->tasks[j].task->prefix,
                          w->conns[i]->tasks[j].unclean_note);
                kept = 0;
            }
    if (w->unclean_changes) {
        log_error("%d task(s) stopped for a change over REST or a reload were not stopped cleanly (logged then)",
                  w->unclean_changes);
        kept = 0;
    }
    if (!kept) {
        log_error("stopped, but not everything was committed (see above): exiting 1");
        return 1;
    }
    log_info("stopped cleanly");
    return 0;
}

void worker_free(worker_t *w)
{
    if (!w) return;
    group_free(w->group); /* its callbacks touch the tasks */
    w->group = NULL;
    for (size_t i = 0; i < w->nconns; i++) {
        const conn_t *c = w->conns[i];
        for (int j = 0; j < c->ntasks; j++)
            if (c->tasks[j].thread_started || c->tasks[j].stopper_started)
                return; /* stuck: leak rather than free under it */
    }
    for (size_t i = 0; i < w->nconns; i++) conn_free(w->conns[i]);
    conn_store_free(w->store);
    free(w->conns);
    kafka_env_free(w->kenv);
    offset_map_free(w->offsets);
    pthread_mutex_destroy(&w->offsets_lock);
    pthread_mutex_destroy(&w->calls_lock);
    pthread_cond_destroy(&w->calls_cond);
    free(w->worker_id);
    free(w->member);
    json_decref(w->statuses);
    json_decref(w->parked);
    free(w->cluster_id);
    free(w);
}
