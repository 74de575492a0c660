/* engine_internal.h — structures shared by worker.c, source.c and sink.c. */
#ifndef FERRY_ENGINE_INTERNAL_H
#define FERRY_ENGINE_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/host.h"
#include "kafka/kafka.h"
#include "offsets/offsets.h"

typedef enum task_status {
    TASK_STARTING = 0,
    TASK_RUNNING = 1,
    TASK_FAILED = 2,   /* may be restarted */
    TASK_FATAL = 3,    /* never restarted */
    TASK_STOPPED = 4
} task_status_t;

typedef struct conn conn_t;

typedef struct task_rt {
    ferry_task_t *task;      /* owned: the handle plugins see */
    conn_t *conn;            /* not owned */
    ferry_config_t *cfg;     /* owned: connector config + task overrides */
    void *state;             /* plugin state; published via `opened` */
    atomic_int opened;       /* 1 once state is valid (release/acquire with state) */
    pthread_t thread;
    int thread_started;
    atomic_int done;         /* set by the task thread as it exits */
    atomic_int status;       /* task_status_t */
    char error[FERRY_ERRMSG_SIZE]; /* last failure, written by the task thread before status */
    atomic_uint_fast64_t records; /* acked (source) or put (sink) */
    pthread_mutex_t lock;    /* serializes the plugin's stop() (main thread) with close() */
    int restarts;            /* main thread: consecutive restarts, for backoff */
    int64_t restart_at_ms;   /* main thread: when a failed task restarts */
    int64_t started_ms;      /* main thread: when the task was last started */
    /* Optional: called by engine_sleep every ~50 ms while a call is being
     * retried (sinks keep their consumer polled). Task thread only. */
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
    atomic_int stopping;            /* shutdown requested */
    int64_t shutdown_deadline_ms;   /* valid once stopping */
};

/* Thread bodies. */
void *source_task_main(void *arg);
void *sink_task_main(void *arg);

/* Shared helpers (worker.c). */
int engine_stopping(const task_rt_t *t);
void engine_task_fail(task_rt_t *t, ferry_status_t st, const char *callback, const ferry_error_t *err);
/* Calls fn until it returns something other than FERRY_RETRY, backing off
 * exponentially with jitter; bounded by errors.retry.timeout (0 = no bound)
 * and by the task stopping. Returns the final status. */
typedef ferry_status_t (*engine_call_fn)(task_rt_t *t, void *arg, ferry_error_t *err);
ferry_status_t engine_call_retrying(task_rt_t *t, const char *what, engine_call_fn fn, void *arg,
                                    ferry_error_t *err);
/* The plugin's close() (if open), under the task lock; frees offset_get copies. */
void engine_task_close(task_rt_t *t);
/* The plugin's open(); on success publishes t->state (see task_rt_t.opened). */
ferry_status_t engine_call_open(task_rt_t *t, void *arg, ferry_error_t *err);
/* Sleeps up to ms, waking early when the task is asked to stop. */
void engine_sleep(const task_rt_t *t, int64_t ms);
/* librdkafka overrides for this task's client kind ("producer.override." …). */
rd_kafka_conf_t *engine_client_conf(task_rt_t *t, kafka_client_kind_t kind, char *err, size_t errlen);

/* Durably stores offsets of the file store (the Kafka store is written by
 * the source task's own producer). Also updates the shared map. */
int engine_offsets_store_file(worker_t *w, const char *connector, const ferry_offset_t *offs, size_t n,
                              char *err, size_t errlen);
void engine_offsets_update_map(worker_t *w, const char *connector, const ferry_offset_t *offs, size_t n);

#endif
