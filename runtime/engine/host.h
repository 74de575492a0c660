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

#include "offsets/offsets.h"

/* The one host table (static, immutable). */
const ferry_host_t *host_api(void);

/* Per-task metrics exported by name; a small fixed set of slots. */
#define TASK_METRICS_MAX 32
typedef struct task_metric {
    char name[48];
    _Atomic double value; /* written by the task thread, read by reporters */
} task_metric_t;

/*
 * The host side of a task. Owned by the engine; plugins only see the opaque
 * pointer. Fields below `stop` are written by the task thread only, except
 * where marked atomic.
 */
struct ferry_task {
    char *connector;        /* connector name (owned) */
    int id;                 /* task index */
    char prefix[160];       /* "connector/id", for logs */
    atomic_int stop;        /* set by any thread; read via should_stop */
    /* Committed source offsets for offset_get: the worker's shared map,
     * guarded by offsets_lock, or NULL. Not owned. */
    const offset_map_t *offsets;
    pthread_mutex_t *offsets_lock; /* guards offsets when shared, may be NULL */
    char **offset_copies;   /* strings returned by offset_get (owned; freed with the task) */
    size_t offset_copy_count;
    task_metric_t metrics[TASK_METRICS_MAX];
    atomic_int metric_count;
};

/* A standalone task handle, e.g. for connector tests driving a plugin
 * directly. offsets may be NULL. Free with host_task_free. */
ferry_task_t *host_task_new(const char *connector, int id, const offset_map_t *offsets);
void host_task_free(ferry_task_t *task);
/* Frees the strings offset_get returned; call after the plugin's close(). */
void host_task_release(ferry_task_t *task);
/* Value of a metric, 0 when never set. */
double host_task_metric(const ferry_task_t *task, const char *name);

/* ---- batches ------------------------------------------------------------- */
/*
 * A batch owns its records. Source batches copy everything handed to
 * batch_add into an arena; sink batches point into librdkafka messages that
 * the batch holds until reset.
 */
ferry_batch_t *batch_new(size_t max_records, size_t max_bytes);
void batch_free(ferry_batch_t *batch);
void batch_reset(ferry_batch_t *batch);
size_t batch_size(const ferry_batch_t *batch);
size_t batch_bytes(const ferry_batch_t *batch);
const ferry_record_t *batch_record(const ferry_batch_t *batch, size_t index);
/* Sinks: appends a consumed message; the batch takes ownership of msg. */
void batch_add_message(ferry_batch_t *batch, rd_kafka_message_t *msg);
/* Sinks: the topic/partition of record index (from its message). */
int32_t batch_record_partition(const ferry_batch_t *batch, size_t index);



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
