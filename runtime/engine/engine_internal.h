/*
 * engine_internal.h — structures shared by the engine's files.
 *
 * Floors: worker.c (connectors, supervision, shutdown) starts the task
 * loops in source.c and sink.c; source_offsets.c serves source.c; all of
 * them use the helpers of task.c, which use host.c/batch.c and errors/.
 */
#ifndef FERRY_ENGINE_INTERNAL_H
#define FERRY_ENGINE_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/host.h"
#include "errors/errors.h"
#include "kafka/kafka.h"
#include "offsets/offsets.h"

typedef enum task_status {
    TASK_STARTING = 0,
    TASK_RUNNING = 1,
    TASK_FAILED = 2,   /* may be restarted */
    TASK_FATAL = 3,    /* never restarted: FATAL from the plugin, or a permanent error */
    TASK_STOPPED = 4
} task_status_t;

typedef struct conn conn_t;
typedef struct worker_group worker_group_t;

typedef struct task_rt {
    ferry_task_t *task;      /* owned: the handle plugins see */
    conn_t *conn;            /* not owned */
    ferry_config_t *cfg;     /* owned: connector config + task overrides */
    errors_policy_t policy;  /* from cfg */
    void *state;             /* plugin state; published via `opened` */
    atomic_int opened;       /* 1 once state is valid (release/acquire with state) */
    pthread_t thread;
    int thread_started;      /* main thread */
    pthread_t stopper;       /* main thread: runs the plugin's stop() at shutdown */
    int stopper_started;
    atomic_int stopper_done;
    atomic_int done;         /* set by the task thread as it exits */
    atomic_int status;       /* task_status_t */
    char error[FERRY_ERRMSG_SIZE]; /* last failure, written by the task thread before status */
    /* Set by the task thread when a graceful stop could not keep the
     * guarantee (offsets or consumer offsets not committed, records not
     * delivered): the worker then exits 1 and prints the note. */
    atomic_int unclean;
    char unclean_note[FERRY_ERRMSG_SIZE];
    atomic_uint_fast64_t records; /* acked (source) or put (sink) */
    atomic_uint_fast64_t dead_lettered; /* records that went to the error policy */
    pthread_mutex_t lock;    /* serializes the plugin's stop() with close() */
    unsigned int seed;       /* task thread: jitter for backoffs (rand_r) */
    int restarts;            /* main thread: consecutive restarts, for backoff */
    int64_t restart_at_ms;   /* main thread: when a failed task restarts */
    int64_t started_ms;      /* main thread: when the task was last started */
    int assigned;            /* main thread: runs on this worker (always, without worker.group.id) */
    int start_pending;       /* main thread: assigned again while its last run was still stopping */
    int restart_requested;   /* main thread: restarted over REST, not yet running again */
    atomic_int lost;         /* its group assignment was lost: stop without storing offsets */
    /* When a graceful stop must be done; set before task->stop. */
    _Atomic int64_t stop_deadline_ms;
    /* Optional: called by engine_sleep every ~50 ms while a call is being
     * retried (the loops keep librdkafka served). Task thread only. */
    void (*tick)(void *arg);
    void *tick_arg;
} task_rt_t;

struct conn {
    char *name;                     /* not owned (spec) */
    const ferry_connector_t *desc;  /* not owned (registry) */
    ferry_config_t *cfg;            /* owned */
    task_rt_t *tasks;               /* owned */
    int ntasks;
    worker_t *worker;
    uint64_t last_records;          /* progress reporting, main thread */
    atomic_int paused;              /* PUT /pause: the task loops neither poll nor put */
};

struct worker {
    const worker_config_t *wc;
    const plugin_registry_t *reg;
    kafka_env_t *kenv;              /* owned */
    offset_map_t *offsets;          /* owned; guarded by offsets_lock */
    pthread_mutex_t offsets_lock;
    int offsets_partitions;         /* partition count of the offsets topic */
    conn_t *conns;                  /* owned */
    size_t nconns;
    worker_group_t *group;          /* owned; distributed mode (worker.group.id), or NULL */
    atomic_int stopping;            /* shutdown requested */
    int64_t shutdown_deadline_ms;   /* valid once stopping */
    /* worker_call (admin.c): functions other threads ask the main thread to run. */
    pthread_mutex_t calls_lock;
    pthread_cond_t calls_cond;      /* a call was queued, or one finished */
    struct worker_call_req *calls;  /* queued, oldest first */
    int calls_open;                 /* worker_run is serving them */
    char *worker_id;                /* owned: what statuses show as worker_id */
};

/* ---- admin.c: calls from other threads ------------------------------------- */
/* Runs the queued calls, waiting up to wait_ms for the first. Main thread. */
void worker_calls_serve(worker_t *w, int wait_ms);
/* Opens (1) or closes (0) the queue; closing fails what is still queued. */
void worker_calls_open(worker_t *w, int open);

/* ---- worker.c: one task's life, for group.c -------------------------------- */
void worker_task_start(task_rt_t *t);
/* Asks a task to stop gracefully by deadline_ms (no-op when not running). */
void worker_task_request_stop(task_rt_t *t, int64_t deadline_ms);
/* Waits for it (and its plugin stop()) until deadline_ms: 0, or -1 when still running. */
int worker_task_join(task_rt_t *t, int64_t deadline_ms);

/* ---- group.c: distributed mode --------------------------------------------- */
/* Creates the tasks topic (one partition per source task) if needed and
 * joins the group; tasks start and stop from group_poll(). NULL with err. */
worker_group_t *group_new(worker_t *w, char *err, size_t errlen);
/* Serves the group (rebalances start and stop tasks). Main thread, often. */
void group_poll(worker_group_t *g);
/* Leaves the group (after the tasks stopped); group_free also does it. */
void group_leave(worker_group_t *g);
void group_free(worker_group_t *g);

/* source_txn.c: whether this source task runs exactly-once (worker and
 * connector options, offsets store, broker); 1 or 0 (logging why not when
 * the worker enabled it), -1 with why when exactly.once.support: required
 * cannot be met. */
int source_txn_wanted(const task_rt_t *t, char *why, size_t whylen);
/* Why this worker cannot run exactly-once sources, or NULL. */
const char *source_txn_unmet(const worker_config_t *wc, int embedded);
/* exactly.once.support: required. */
int source_txn_required(const ferry_config_t *cfg);

/* Thread bodies. */
void *source_task_main(void *arg);
void *sink_task_main(void *arg);

/* ---- task.c: helpers of the task loops ------------------------------------ */
int engine_stopping(const task_rt_t *t);
/* Records a failure: status FAILED (or FATAL for FERRY_FATAL), the message
 * in t->error and the log. err's message is already scrubbed when it came
 * through engine_call. */
void engine_task_fail(task_rt_t *t, ferry_status_t st, const char *callback, const ferry_error_t *err);
/* A failure no restart can mend (a permanent Kafka error, a record the
 * error policy may not skip): FATAL, with why in the message. */
void engine_task_fail_permanent(task_rt_t *t, const char *callback, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Notes that a graceful stop did not keep the guarantee (see unclean). */
void engine_task_unclean(task_rt_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef ferry_status_t (*engine_call_fn)(task_rt_t *t, void *arg, ferry_error_t *err);
/* Calls fn once: clears err first, and leaves it NUL-terminated and
 * scrubbed of the task's secrets. Every plugin callback goes through here. */
ferry_status_t engine_call(task_rt_t *t, engine_call_fn fn, void *arg, ferry_error_t *err);
/* Calls fn until it returns something other than FERRY_RETRY, backing off
 * exponentially with jitter; bounded by errors.retry.timeout (0 = no bound)
 * and by the task stopping. Returns the final status. */
ferry_status_t engine_call_retrying(task_rt_t *t, const char *what, engine_call_fn fn, void *arg,
                                    ferry_error_t *err);
/* The retry half of engine_call_retrying, after a first attempt that
 * returned FERRY_RETRY (err holds its message): backs off, then calls again. */
ferry_status_t engine_retry(task_rt_t *t, const char *what, engine_call_fn fn, void *arg, ferry_error_t *err);
/* The plugin's close() (if open), under the task lock; frees offset_get copies. */
void engine_task_close(task_rt_t *t);
/* The plugin's open(); on success publishes t->state (see task_rt_t.opened). */
ferry_status_t engine_call_open(task_rt_t *t, void *arg, ferry_error_t *err);
/* Sleeps up to ms, waking early when the task is asked to stop; runs t->tick. */
void engine_sleep(const task_rt_t *t, int64_t ms);
/* librdkafka config for this task's client kind: the runtime's defaults,
 * then the connector's producer.override.* / consumer.override.*. */
rd_kafka_conf_t *engine_client_conf(task_rt_t *t, kafka_client_kind_t kind, char *err, size_t errlen);
/* When the task's shutdown work must end: the worker's deadline minus
 * reserve_ms (never before now + 100 ms); INT64_MAX while not stopping. */
int64_t engine_deadline(const task_rt_t *t, int64_t reserve_ms);
/* The time a task keeps for its final offsets write or commit. */
int64_t engine_final_reserve_ms(const task_rt_t *t);
/* 1 (and clears the request) when the plugin called request_commit(). */
int engine_commit_requested(task_rt_t *t);
/* Fills an error context for a record of this task. */
void engine_error_context(const task_rt_t *t, errors_context_t *ctx, errors_stage_t stage, const char *exception,
                          const char *message);

/* Durably stores offsets of the file store (the Kafka store is written by
 * the source task's own producer). Also updates the shared map. */
int engine_offsets_store_file(worker_t *w, const char *connector, const ferry_offset_t *offs, size_t n,
                              char *err, size_t errlen);
void engine_offsets_update_map(worker_t *w, const char *connector, const ferry_offset_t *offs, size_t n);
/* Reads the offsets topic to its end again and makes the connector's
 * entries in the shared map what the topic holds: for a task that may have
 * run elsewhere since (distributed mode, exactly-once). 0, or -1 with err. */
int engine_offsets_reload(worker_t *w, const char *connector, char *err, size_t errlen);

#endif
