/*
 * host.h — the host API table handed to plugins, the task handle behind
 * ferry_task_t, and batches.
 */
#ifndef FERRY_ENGINE_HOST_H
#define FERRY_ENGINE_HOST_H

#include <ferry/ferry.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "kafka/kafka.h"
#include "offsets/offsets.h"

/* The one host table (static, immutable). */
const ferry_host_t *host_api(void);

/* Per-task metrics by name; a small fixed set of slots. */
#define TASK_METRICS_MAX 32
typedef struct task_metric {
    char name[48];
    _Atomic double value; /* any thread; updated atomically */
} task_metric_t;

/* What the task loop does for the host functions that need it
 * (record_error; sinks also sink_rewind, sink_pause/resume). Set by the loop
 * before open(); called on the task thread only. */
typedef struct task_hooks {
    ferry_status_t (*record_error)(void *arg, const ferry_record_t *rec, const char *reason);
    void (*rewind)(void *arg, const char *topic, int32_t partition, int64_t offset);
    void (*pause)(void *arg, const char *topic, int32_t partition, int pause);
} task_hooks_t;

/* A cached offset_get() result: returned again while the stored offset is
 * unchanged, so a plugin asking often does not grow the task. */
typedef struct task_offset_copy {
    char *partition, *offset; /* owned */
} task_offset_copy_t;

/*
 * The host side of a task. Owned by the engine; plugins only see the opaque
 * pointer. Fields are written by the task thread only, except where marked
 * atomic or "main thread".
 */
struct ferry_task {
    char *connector;        /* connector name (owned) */
    int id;                 /* task index */
    char prefix[160];       /* "connector/id", for logs */
    atomic_int stop;        /* set by any thread; read via should_stop */
    atomic_int commit_requested; /* request_commit(); the loop clears it */
    /* The task's config, whose secret values are scrubbed from every line
     * the plugin logs (borrowed; main thread sets it before the task runs). */
    const ferry_config_t *cfg;
    /* Committed source offsets for offset_get: the worker's shared map,
     * guarded by offsets_lock, or NULL. Not owned. */
    const offset_map_t *offsets;
    pthread_mutex_t *offsets_lock; /* guards offsets when shared, may be NULL */
    task_offset_copy_t *offset_copies; /* strings returned by offset_get (owned; freed with the task) */
    size_t offset_copy_count;
    const kafka_env_t *kenv;   /* the worker's Kafka settings (kafka_settings), set before open; NULL standalone */
    const task_hooks_t *hooks; /* set by the sink and source loops; NULL elsewhere */
    void *hooks_arg;
    task_metric_t metrics[TASK_METRICS_MAX];
    atomic_int metric_count;
    pthread_mutex_t metric_lock; /* serializes adding a metric name */
};

/* A standalone task handle, e.g. for connector tests driving a plugin
 * directly. offsets may be NULL. Free with host_task_free. */
ferry_task_t *host_task_new(const char *connector, int id, const offset_map_t *offsets);
void host_task_free(ferry_task_t *task);
/* Frees the strings offset_get returned; call after the plugin's close(). */
void host_task_release(ferry_task_t *task);
/* Value of a metric, 0 when never set. */
double host_task_metric(const ferry_task_t *task, const char *name);
/* msg with the task's secret values replaced by "[hidden]", in place
 * (truncated to size). */
void host_task_scrub(const ferry_task_t *task, char *msg, size_t size);

/* ---- batches (batch.c) ------------------------------------------------------ */
/*
 * A batch owns its records. Source batches copy everything handed to
 * batch_add into an arena and check each record against the rules; sink
 * batches point into librdkafka messages that the batch holds until reset.
 */
typedef struct batch_rules {
    const char *default_topic; /* records without a topic go here; may be NULL */
    const char *offsets_topic; /* records may never go here; may be NULL */
    int tolerate_all;          /* keep invalid records (flagged) instead of refusing them */
    int topic_after_chain;     /* transforms run later and check the topic they leave (a RegexRouter
                                  may repair a name): only its presence is checked here */
} batch_rules_t;

ferry_batch_t *batch_new(size_t max_records, size_t max_bytes);
void batch_free(ferry_batch_t *batch);
void batch_reset(ferry_batch_t *batch);
/* Rules for source batches (borrowed; must outlive the batch). */
void batch_set_rules(ferry_batch_t *batch, const batch_rules_t *rules);
size_t batch_size(const ferry_batch_t *batch);
size_t batch_bytes(const ferry_batch_t *batch);
size_t batch_room(const ferry_batch_t *batch);
const ferry_record_t *batch_record(const ferry_batch_t *batch, size_t index);
/* The same, to change (a sink's record after its transforms; fields then
 * point into the batch's arena, batch_alloc). */
ferry_record_t *batch_record_mut(ferry_batch_t *batch, size_t index);
/* Takes the last record out of a sink batch (its message destroyed). */
void batch_drop_last(ferry_batch_t *batch);
/* A sink batch's message at index, as consumed (its position), or NULL. */
const rd_kafka_message_t *batch_message(const ferry_batch_t *batch, size_t index);
/* Sources: adds a record of given_size bytes (the plugin's layout). OK,
 * RETRY when full, ERROR when refused (see batch_error). */
ferry_status_t batch_add_record(ferry_batch_t *batch, const ferry_record_t *rec, size_t given_size);
/* Sources (record_error): adds a record the plugin says can never be
 * delivered, for reason. Like a record batch_add refused: kept, flagged, for
 * the dead-letter queue with errors.tolerance: all (OK), else refused (ERROR,
 * see batch_error); RETRY when full. */
ferry_status_t batch_add_failed(ferry_batch_t *batch, const ferry_record_t *rec, size_t given_size,
                                const char *reason);
/* 1 when the problem of record index came from the plugin (batch_add_failed). */
int batch_record_reported(const ferry_batch_t *batch, size_t index);
void *batch_alloc(ferry_batch_t *batch, size_t size);
/* Why record index was kept although invalid (errors.tolerance: all), or
 * NULL; *offsets_valid (may be NULL) tells whether its source partition and
 * offset are usable (canonical JSON objects), *partition_valid (may be NULL)
 * whether its partition is. */
const char *batch_record_problem(const ferry_batch_t *batch, size_t index, int *offsets_valid, int *partition_valid);
/* Why a record was refused since the last reset, or NULL. */
const char *batch_error(const ferry_batch_t *batch);
/* Sinks: appends a consumed message; the batch takes ownership of msg. */
void batch_add_message(ferry_batch_t *batch, rd_kafka_message_t *msg);
/* Sinks: the index of rec in the batch, or (size_t)-1 when it is not one of its records. */
size_t batch_record_index(const ferry_batch_t *batch, const ferry_record_t *rec);
/* Sinks: drops the records from index `from` on that belong to
 * topic/partition at or after offset (after a rewind). */
void batch_drop_partition_after(ferry_batch_t *batch, size_t from, const char *topic, int32_t partition,
                                int64_t offset);

/* ---- task sets (task_configs) and flush limits ------------------------------ */
typedef struct taskset_entry {
    char **keys, **values; /* owned */
    size_t count;
} taskset_entry_t;

struct ferry_taskset {
    taskset_entry_t *tasks; /* owned */
    int count;
    int max;                /* tasks.max: taskset_add refuses beyond it */
};
void taskset_clear(ferry_taskset_t *set);

typedef struct flush_limit_entry {
    char *topic;            /* owned */
    int32_t partition;
    int64_t next_offset;
} flush_limit_entry_t;

struct ferry_flush {
    flush_limit_entry_t *limits; /* owned */
    size_t count;
};
void flush_limits_clear(ferry_flush_t *fl);
#endif
