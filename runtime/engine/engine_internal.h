/*
 * engine_internal.h — structures shared by the engine's files.
 *
 * Floors: worker.c (connectors, supervision, shutdown) starts the task
 * loops in source.c and sink.c; source_offsets.c serves source.c; all of
 * them use the helpers of task.c, which use host.c/batch.c and errors/.
 */
#ifndef FERRY_ENGINE_INTERNAL_H
#define FERRY_ENGINE_INTERNAL_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine/admin.h"
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
typedef struct conn_store conn_store_t;
typedef struct rate_limit rate_limit_t;

/* librdkafka's statistics of a task's client, as /metrics shows them. */
typedef struct kstats_lag {
    char *topic;
    int32_t partition;
    int64_t lag;
} kstats_lag_t;
typedef struct kstats {
    pthread_mutex_t lock;
    int valid;           /* a statistics event has come */
    int64_t queue;       /* producer: messages waiting; consumer: messages fetched, not yet consumed */
    int64_t rtt_us;      /* the slowest broker's average request round trip */
    int64_t tx_bytes, rx_bytes;
    kstats_lag_t *lags;  /* consumer: lag per assigned partition */
    size_t nlags;
} kstats_t;

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
    atomic_uint_fast64_t records_filtered; /* records a transform dropped */
    /* Metrics: written by the task thread, read by /metrics. */
    atomic_uint_fast64_t m_calls;      /* poll() (source) or put() (sink) calls that returned OK */
    atomic_uint_fast64_t m_call_us;    /* their time, microseconds */
    atomic_uint_fast64_t m_batch;      /* records they moved */
    atomic_uint_fast64_t m_commits_ok, m_commits_failed; /* offset stores (source) or commits (sink) */
    _Atomic int64_t m_commit_ms;       /* wall-clock time of the last successful one; 0 = none */
    kstats_t kstats;                   /* of the task's producer (source) or consumer (sink) */
    pthread_mutex_t lock;    /* serializes the plugin's stop() with close() */
    unsigned int seed;       /* task thread: jitter for backoffs (rand_r) */
    int restarts;            /* main thread: consecutive restarts, for backoff */
    int64_t restart_at_ms;   /* main thread: when a failed task restarts */
    int64_t started_ms;      /* main thread: when the task was last started */
    int assigned;            /* main thread: runs on this worker (always, without worker.group.id) */
    int start_pending;       /* main thread: assigned again while its last run was still stopping */
    int restart_requested;   /* main thread: restarted over REST, not yet running again */
    atomic_int lost;         /* its group assignment was lost: stop without storing offsets */
    atomic_int pause_held;   /* the task loop has seen the pause and holds (what status calls PAUSED) */
    char published[16];      /* main thread, distributed mode: the state last published (cluster.c) */
    /* When a graceful stop must be done; set before task->stop. */
    _Atomic int64_t stop_deadline_ms;
    /* Optional: called by engine_sleep every ~50 ms while a call is being
     * retried (the loops keep librdkafka served). Task thread only. */
    void (*tick)(void *arg);
    void *tick_arg;
} task_rt_t;


struct conn {
    char *name;                     /* owned */
    const ferry_connector_t *desc;  /* not owned (registry) */
    ferry_config_t *cfg;            /* owned */
    task_rt_t *tasks;               /* owned; none while STOPPED */
    int ntasks;
    worker_t *worker;
    uint64_t last_records;          /* progress reporting, main thread */
    atomic_int paused;              /* PUT /pause: the task loops neither poll nor put */
    /* Main thread: changes asked for over REST or by a reload. conn_settle
     * carries them out once every task has stopped. */
    conn_target_t target;
    ferry_config_t *next_cfg;       /* owned: replaces cfg once the tasks stopped */
    const ferry_connector_t *next_desc; /* its plugin (a PUT may change connector.class) */
    json_t *next_stored;            /* owned: replaces stored with next_cfg */
    int deleting;                   /* freed once the tasks stopped; invisible meanwhile */
    int relaunch;                   /* build and start its tasks (it has none now) */
    int restarting;                 /* restarted over REST: RESTARTING until its tasks run again */
    int64_t stop_asked_ms;          /* when its tasks were asked to stop for a change; 0 = not */
    json_t *stored;                 /* owned: the config as given over REST (references
                                     * unsubstituted), NULL when it comes from the YAML file */
    uint64_t yaml_hash;             /* of its YAML entry (0 = none): the store's "later change wins" */
    int *slots;                     /* owned, distributed mode, sources: task j runs where partition
                                     * slots[j % nslots] of the tasks topic is assigned */
    int nslots;
    json_t *next_slots;             /* owned: the slots of next_cfg's tasks (cluster.c), or NULL */
    rate_limit_t *limit;            /* owned, with the tasks: rate.limit.*, or NULL */
    char error[FERRY_ERRMSG_SIZE];  /* why it has no tasks (task_configs failed), or "" */
};

struct worker {
    const worker_config_t *wc;
    const plugin_registry_t *reg;
    kafka_env_t *kenv;              /* owned */
    offset_map_t *offsets;          /* owned; guarded by offsets_lock */
    pthread_mutex_t offsets_lock;
    int offsets_partitions;         /* partition count of the offsets topic */
    conn_t **conns;                 /* owned, in creation order */
    size_t nconns, conns_cap;
    int offsets_loaded;             /* the offsets store has been read */
    int use_store;                  /* worker_use_store() was called */
    int unclean_changes;            /* tasks stopped for a change that did not keep the guarantee */
    conn_store_t *store;       /* owned: connectors created or changed over REST, or NULL */
    worker_group_t *group;          /* owned; distributed mode (worker.group.id), or NULL */
    atomic_int stopping;            /* shutdown requested */
    int64_t shutdown_deadline_ms;   /* valid once stopping */
    /* worker_call (admin.c): functions other threads ask the main thread to run. */
    pthread_mutex_t calls_lock;
    pthread_cond_t calls_cond;      /* a call was queued, or one finished */
    struct worker_call_req *calls;  /* queued, oldest first */
    int calls_open;                 /* worker_run is serving them */
    char *worker_id;                /* owned: what statuses show as worker_id */
    char *member;                   /* owned: tells this worker from the others of a group */
    char *cluster_id;               /* owned, under calls_lock: the Kafka cluster's, once known */
    json_t *statuses;               /* owned, distributed mode: name -> {"J": status} other workers published */
    json_t *parked;                 /* owned, distributed mode: name -> record waiting for its deletion to end */
    int64_t published_ms;           /* main thread: when cluster_publish last published everything */
    int64_t cluster_id_asked_ms;    /* main thread */
    _Atomic int64_t heartbeat_ms;   /* the main loop's last turn: what /health reads */
};

/* ---- admin.c: calls from other threads ------------------------------------- */
/* Runs the queued calls, waiting up to wait_ms for the first. Main thread. */
void worker_calls_serve(worker_t *w, int wait_ms);
/* Opens (1) or closes (0) the queue; closing fails what is still queued. */
void worker_calls_open(worker_t *w, int open);
/* Notes the cluster id once the metadata has it (never waits). Main thread. */
void worker_note_cluster_id(worker_t *w);
/* A task's state as Connect names it, on this worker. */
const char *admin_task_state(const task_rt_t *t);
/* A task's status as this worker sees it ({"id", "state", "worker_id", ...}). */
json_t *admin_task_status_here(const worker_t *w, const task_rt_t *t, int id);
/* Restarts task (or, task -1, the connector with Connect's flags) where it
 * runs on this worker. 0, -1 unknown connector, -2 unknown task. */
int admin_restart_here(worker_t *w, const char *name, int task, int include_tasks, int only_failed);
/* What statuses show as this worker's id. */
const char *admin_worker_id(const worker_t *w);

/* ---- conn.c: a connector's life ------------------------------------------------ */
/* A new connector (config taken) at the end of w->conns, without tasks. */
conn_t *conn_add(worker_t *w, const char *name, const ferry_connector_t *desc, ferry_config_t *cfg);
/* Builds c's tasks from task_configs (errors to errs, prefixed with at). 0 or -1. */
int conn_build_tasks(conn_t *c, cfg_errors_t *errs);
/* What the connector needs before its tasks start: the offsets store read,
 * its topics on the embedded broker, its dead-letter topic, the
 * exactly-once check. 0, or -1 with err. */
int conn_prepare(conn_t *c, char *err, size_t errlen);
void conn_start_tasks(conn_t *c);
/* The offsets topic read and its partition count known (store: kafka). */
int conn_offsets_ready(worker_t *w, char *err, size_t errlen);
/* Frees the tasks of a connector whose tasks have all stopped (or never ran). */
void conn_free_tasks(conn_t *c);
/* Carries out a change asked for (new config, stop, delete): asks the
 * tasks to stop, and once they all did, frees them and applies it. 1 when
 * c was deleted (and freed, and taken out of w->conns). Main thread. */
int conn_settle(worker_t *w, conn_t *c);
void conn_free(conn_t *c);
/* Before its tasks ever ran: replaces c's config (cfg and stored taken)
 * and builds the tasks again (errors to c->error). */
void conn_reset(conn_t *c, const ferry_connector_t *desc, ferry_config_t *cfg, json_t *stored);
/* The connector by that name, or NULL (one being deleted is not found). */
conn_t *conn_find(worker_t *w, const char *name);
/* Takes c (without running tasks) out of w->conns and frees it. */
void conn_remove(worker_t *w, conn_t *c);
/* Creates name (c NULL; then it starts with the next conn_settle) or gives
 * c a new config its tasks restart with; takes cfg and a reference to
 * given (the config as the REST call gave it). */
conn_t *conn_change(worker_t *w, conn_t *c, const char *name, const ferry_connector_t *desc, ferry_config_t *cfg,
                    json_t *given);
/* Pause, resume or stop (what conn_settle and the task loops act on). */
void conn_set_target(conn_t *c, conn_target_t target);
/* Whether task t runs on this worker: always, except a source task in
 * distributed mode, which runs where its partition of the tasks topic is. */
int conn_task_here(const task_rt_t *t);
/* The partition of the tasks topic that decides where task j runs, or -1. */
int conn_task_slot(const conn_t *c, int j);
/* The tasks a config gives (task_configs' count), or -1. */
int conn_task_count(const char *name, const ferry_connector_t *desc, const ferry_config_t *cfg);
/* Identifies a YAML entry's config (secrets redacted) for the store. */
uint64_t conn_config_hash(const ferry_config_t *cfg);
/* ---- ratelimit.c ---------------------------------------------------------------------- */
/* The connector's bucket (rate.limit.records / rate.limit.bytes), or NULL. */
rate_limit_t *rate_limit_new(const ferry_config_t *cfg);
void rate_limit_free(rate_limit_t *rl);
/* Takes a batch's records and bytes; the milliseconds to wait before
 * moving them (0: at once). Thread-safe. */
int64_t rate_limit_take(rate_limit_t *rl, size_t records, size_t bytes);
/* Time the connector's tasks were told to wait, in total. */
double rate_limit_waited_s(const rate_limit_t *rl);

/* ---- conn_store.c: connectors kept for the REST API ------------------------------ */
conn_store_t *conn_store_open(worker_t *w, char *err, size_t errlen);
void conn_store_free(conn_store_t *s);
/* name -> record (see conn_store.c); borrowed. */
json_t *conn_store_records(const conn_store_t *s);
/* Stores (rec borrowed) or forgets (rec NULL) name's record durably. 0 or -1. */
int conn_store_put(conn_store_t *s, const char *name, json_t *rec, char *err, size_t errlen);
/* A new record: config (borrowed, may be NULL), target, and the hash of
 * the YAML entry it overrides (0: none). */
json_t *conn_store_record(uint64_t yaml_hash, const json_t *config, conn_target_t target);
/* The YAML hash of name's stored record (a deleted YAML connector's), or 0. */
uint64_t conn_store_yaml_hash(const conn_store_t *s, const char *name);
/* Distributed mode: sends a record (status, restart) without waiting. */
void conn_store_send(conn_store_t *s, const char *key, const json_t *rec);
/* Distributed mode: reads the topic up to its end now (at most ~3 s), so
 * that a change is made on what the group has written. Main thread. */
void conn_store_sync(conn_store_t *s);
/* Waits up to timeout_ms for what conn_store_send sent. */
void conn_store_flush(conn_store_t *s, int timeout_ms);
/* Distributed mode: carries out what other workers wrote since. Main thread. */
void conn_store_poll(conn_store_t *s);

/* ---- cluster.c: distributed mode, the REST API's side ---------------------------- */
/* The YAML connectors' task slots: tasks in file order, partition k for task k. */
void cluster_yaml_slots(worker_t *w);
/* Adds "slots" to rec, a source connector's record: c's (NULL for a new
 * one) and, for tasks it did not have, free partitions (the tasks topic
 * grown when there are none). */
void cluster_record_slots(worker_t *w, conn_t *c, const ferry_connector_t *desc, const ferry_config_t *cfg,
                          json_t *rec);
/* Takes a record's "slots" (an array; NULL: none) for c. */
void cluster_take_slots(conn_t *c, const json_t *slots);
/* c's slots as a record's "slots". */
json_t *cluster_slots_json(const conn_t *c);
/* A connector record another worker wrote (rec NULL: deleted). */
void cluster_on_connector(worker_t *w, const char *name, json_t *rec);
/* Any other record of the config topic; live: read after start-up. */
void cluster_on_record(worker_t *w, const char *key, size_t klen, json_t *rec, int live);
/* Publishes the states of this worker's tasks that changed. Main thread. */
void cluster_publish(worker_t *w);
/* Asks the other workers to restart (task -1: the connector, with the flags). */
void cluster_restart(worker_t *w, const char *name, int task, int include_tasks, int only_failed);
/* The record that waited for name's deletion (cluster_on_connector), now. */
void cluster_unpark(worker_t *w, const char *name);
/* c's tasks are about to be freed (stopped, changed or deleted): says so
 * to the others (UNASSIGNED; deleted: the statuses erased). */
void cluster_tasks_gone(worker_t *w, conn_t *c);
/* 1 (why filled) when another live worker still runs one of name's tasks. */
int cluster_busy(const worker_t *w, const char *name, char *why, size_t whylen);
/* Forgets what the others published about name's tasks (deleted); erase:
 * and takes it out of the topic. */
void cluster_forget(worker_t *w, const char *name, int erase);
/* The status another worker published of name's task j, or NULL. */
const json_t *cluster_status(const worker_t *w, const char *name, int j);
const char *conn_target_name(conn_target_t t);

/* Connector-level checks of a built config: topics that belong to the
 * runtime, exactly-once requirements (file/line/col as cfg_errors_add_at). */
int conn_check_topics(const worker_config_t *wc, const char *file, int line, int col, const char *name,
                      const ferry_config_t *cfg, const ferry_connector_t *desc, cfg_errors_t *errs);
/* Runs task_configs on cfg and checks what it returns, keeping nothing:
 * the task count, or -1. */
int conn_check_tasks(const char *name, const ferry_connector_t *desc, const ferry_config_t *cfg, cfg_errors_t *errs);

/* ---- worker.c: one task's life, for group.c -------------------------------- */
void worker_task_start(task_rt_t *t);
/* Asks a task to stop gracefully by deadline_ms (no-op when not running). */
void worker_task_request_stop(task_rt_t *t, int64_t deadline_ms);
/* Waits for it (and its plugin stop()) until deadline_ms: 0, or -1 when still running. */
int worker_task_join(task_rt_t *t, int64_t deadline_ms);

/* ---- group.c: distributed mode --------------------------------------------- */
/* Creates the tasks topic (a partition per source task slot) if needed
 * and joins the group; tasks start and stop from group_poll(). NULL with err. */
worker_group_t *group_new(worker_t *w, char *err, size_t errlen);
/* Whether partition p of the tasks topic is assigned to this worker. */
int group_owns(const worker_group_t *g, int p);
/* The tasks topic's partition count as last seen; grows it to n (where
 * the broker can) and returns the count then. */
int group_partitions(worker_group_t *g, int n);
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
/* Counts an offset store or commit for /metrics. */
void engine_note_commit(task_rt_t *t, int ok);
/* Counts a poll()/put() that returned OK: its time from start_us (engine_now_us) and records. */
void engine_note_call(task_rt_t *t, int64_t start_us, size_t records);
int64_t engine_now_us(void);
/* batch.max.records, or less with rate.limit.records (a tenth of a second's worth). */
size_t engine_batch_records(const task_rt_t *t);
/* batch.max.bytes, or less with rate.limit.bytes (likewise). */
size_t engine_batch_bytes(const task_rt_t *t);
/* Has conf's client report statistics to t->kstats every 5 s (unless the
 * connector's overrides set statistics.interval.ms). conf's opaque must be a
 * struct whose first member is the task_rt_t pointer (source and sink ctx). */
void engine_stats_attach(rd_kafka_conf_t *conf);
void engine_kstats_clear(kstats_t *k);
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
