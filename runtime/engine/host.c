/*
 * host.c — the host API table handed to every plugin: logging (scrubbed of
 * the task's secrets), config getters, offsets, metrics, task sets, flush
 * limits, and the 1.1 additions. Batches live in batch.c.
 */
#include "engine/host.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "transform/transform.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- batches (see batch.c) ------------------------------------------------------- */

static ferry_status_t host_batch_add(ferry_batch_t *batch, const ferry_record_t *rec)
{
    return batch_add_record(batch, rec, FERRY_RECORD_SIZE_1_0);
}

static ferry_status_t host_batch_add_sized(ferry_batch_t *batch, const ferry_record_t *rec, size_t rec_size)
{
    return batch_add_record(batch, rec, rec_size);
}

static size_t host_batch_room(const ferry_batch_t *batch) { return batch_room(batch); }
static size_t host_batch_count(const ferry_batch_t *batch) { return batch_size(batch); }
static const ferry_record_t *host_batch_get(const ferry_batch_t *batch, size_t index)
{
    return batch_record(batch, index);
}

/* ---- tasks ------------------------------------------------------------------------ */

ferry_task_t *host_task_new(const char *connector, int id, const offset_map_t *offsets)
{
    ferry_task_t *task = xcalloc(1, sizeof(*task));
    task->connector = str_dup(connector);
    task->id = id;
    snprintf(task->prefix, sizeof(task->prefix), "%s/%d", connector, id);
    atomic_init(&task->stop, 0);
    atomic_init(&task->commit_requested, 0);
    atomic_init(&task->metric_count, 0);
    pthread_mutex_init(&task->metric_lock, NULL);
    task->offsets = offsets;
    return task;
}

void host_task_release(ferry_task_t *task)
{
    if (!task) return;
    for (size_t i = 0; i < task->offset_copy_count; i++) {
        free(task->offset_copies[i].partition);
        free(task->offset_copies[i].offset);
    }
    free(task->offset_copies);
    task->offset_copies = NULL;
    task->offset_copy_count = 0;
}

void host_task_free(ferry_task_t *task)
{
    if (!task) return;
    host_task_release(task);
    pthread_mutex_destroy(&task->metric_lock);
    free(task->connector);
    free(task);
}

void host_task_scrub(const ferry_task_t *task, char *msg, size_t size)
{
    if (!task || !task->cfg || !msg || !*msg) return;
    char *clean = config_scrub(task->cfg, msg);
    snprintf(msg, size, "%s", clean);
    free(clean);
}

static FERRY_PRINTF(3, 0) void host_log_v(ferry_task_t *task, ferry_log_level_t level, const char *fmt, va_list ap)
{
    if ((int)level > log_level_current || !fmt) return;
    char line[2048];
    vsnprintf(line, sizeof(line), fmt, ap);
    host_task_scrub(task, line, sizeof(line));
    log_write(level, task ? task->prefix : NULL, "%s", line);
}

static FERRY_PRINTF(3, 4) void host_log(ferry_task_t *task, ferry_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_log_v(task, level, fmt, ap);
    va_end(ap);
}

static void *host_alloc(size_t size) { return malloc(size ? size : 1); }
static void host_free(void *p) { free(p); }

/* The same string comes back while the stored offset is unchanged; a new
 * one (the old stays valid until close, as the SDK promises) only after the
 * task committed a newer offset for that partition. */
static const char *host_offset_get(ferry_task_t *task, const char *source_partition)
{
    if (!task || !task->offsets || !source_partition) return NULL;
    if (task->offsets_lock) pthread_mutex_lock(task->offsets_lock);
    const char *v = offset_map_get(task->offsets, task->connector, source_partition);
    const char *found = NULL;
    for (size_t i = task->offset_copy_count; v && i-- > 0;) {
        task_offset_copy_t *c = &task->offset_copies[i];
        if (strcmp(c->offset, v) == 0 && strcmp(c->partition, source_partition) == 0) {
            found = c->offset;
            break;
        }
    }
    if (v && !found) {
        task->offset_copies =
            xrealloc(task->offset_copies, (task->offset_copy_count + 1) * sizeof(*task->offset_copies));
        task_offset_copy_t *c = &task->offset_copies[task->offset_copy_count++];
        c->partition = str_dup(source_partition);
        c->offset = str_dup(v);
        found = c->offset;
    }
    if (task->offsets_lock) pthread_mutex_unlock(task->offsets_lock);
    return found;
}

static int host_json_get_int(const char *json, const char *field, int64_t *out)
{
    if (!json || !field) return -1;
    json_t *root = json_loads(json, JSON_DECODE_ANY, NULL);
    int rc = -1;
    if (root && json_is_object(root)) {
        json_t *v = json_object_get(root, field);
        if (json_is_integer(v)) {
            *out = (int64_t)json_integer_value(v);
            rc = 0;
        }
    }
    json_decref(root);
    return rc;
}

static int host_json_get_str(const char *json, const char *field, char *buf, size_t size)
{
    if (!json || !field || !buf || size == 0) return -1;
    json_t *root = json_loads(json, JSON_DECODE_ANY, NULL);
    int rc = -1;
    if (root && json_is_object(root)) {
        json_t *v = json_object_get(root, field);
        if (json_is_string(v)) {
            snprintf(buf, size, "%s", json_string_value(v));
            rc = 0;
        }
    }
    json_decref(root);
    return rc;
}

static int host_should_stop(ferry_task_t *task) { return task ? atomic_load(&task->stop) : 0; }

static task_metric_t *metric_find(ferry_task_t *task, const char *name, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(task->metrics[i].name, name) == 0) return &task->metrics[i];
    return NULL;
}

/* Lookups are lock-free: a slot is filled before count covers it. Adding a
 * name takes the lock, so two threads adding at once cannot share a slot. */
static task_metric_t *metric_slot(ferry_task_t *task, const char *name)
{
    task_metric_t *m = metric_find(task, name, atomic_load(&task->metric_count));
    if (m) return m;
    pthread_mutex_lock(&task->metric_lock);
    int n = atomic_load(&task->metric_count);
    m = metric_find(task, name, n);
    if (!m && n < TASK_METRICS_MAX) {
        m = &task->metrics[n];
        snprintf(m->name, sizeof(m->name), "%s", name);
        atomic_init(&m->value, 0);
        atomic_store(&task->metric_count, n + 1);
    }
    pthread_mutex_unlock(&task->metric_lock);
    return m;
}

static void host_metric_add(ferry_task_t *task, const char *name, double delta)
{
    if (!task || !name) return;
    task_metric_t *m = metric_slot(task, name);
    if (!m) return;
    /* Plugins may call this from threads of their own: add atomically. */
    double cur = atomic_load(&m->value);
    while (!atomic_compare_exchange_weak(&m->value, &cur, cur + delta)) {
    }
}

static void host_metric_set(ferry_task_t *task, const char *name, double value)
{
    if (!task || !name) return;
    task_metric_t *m = metric_slot(task, name);
    if (m) atomic_store(&m->value, value);
}

double host_task_metric(const ferry_task_t *task, const char *name)
{
    int n = atomic_load(&task->metric_count);
    for (int i = 0; i < n; i++)
        if (strcmp(task->metrics[i].name, name) == 0) return atomic_load(&task->metrics[i].value);
    return 0;
}

static const char *host_connector_name(ferry_task_t *task) { return task ? task->connector : NULL; }
static int host_task_id(ferry_task_t *task) { return task ? task->id : -1; }

/* ---- task sets and flush limits ----------------------------------------------------- */

static int host_taskset_add(ferry_taskset_t *set)
{
    if (!set || set->count >= set->max) return -1;
    set->tasks = xrealloc(set->tasks, (size_t)(set->count + 1) * sizeof(*set->tasks));
    memset(&set->tasks[set->count], 0, sizeof(*set->tasks));
    return set->count++;
}

static void host_taskset_put(ferry_taskset_t *set, int index, const char *key, const char *value)
{
    if (!set || index < 0 || index >= set->count || !key || !value) return;
    taskset_entry_t *t = &set->tasks[index];
    for (size_t i = 0; i < t->count; i++) {
        if (strcmp(t->keys[i], key) == 0) {
            free(t->values[i]);
            t->values[i] = str_dup(value);
            return;
        }
    }
    t->keys = xrealloc(t->keys, (t->count + 1) * sizeof(char *));
    t->values = xrealloc(t->values, (t->count + 1) * sizeof(char *));
    t->keys[t->count] = str_dup(key);
    t->values[t->count] = str_dup(value);
    t->count++;
}

void taskset_clear(ferry_taskset_t *set)
{
    if (!set) return;
    for (int i = 0; i < set->count; i++) {
        for (size_t j = 0; j < set->tasks[i].count; j++) {
            free(set->tasks[i].keys[j]);
            free(set->tasks[i].values[j]);
        }
        free(set->tasks[i].keys);
        free(set->tasks[i].values);
    }
    free(set->tasks);
    set->tasks = NULL;
    set->count = 0;
}

static void host_flush_limit(ferry_flush_t *fl, const char *topic, int32_t partition, int64_t next_offset)
{
    if (!fl || !topic) return;
    for (size_t i = 0; i < fl->count; i++) {
        if (fl->limits[i].partition == partition && strcmp(fl->limits[i].topic, topic) == 0) {
            fl->limits[i].next_offset = next_offset;
            return;
        }
    }
    fl->limits = xrealloc(fl->limits, (fl->count + 1) * sizeof(*fl->limits));
    fl->limits[fl->count].topic = str_dup(topic);
    fl->limits[fl->count].partition = partition;
    fl->limits[fl->count].next_offset = next_offset;
    fl->count++;
}

void flush_limits_clear(ferry_flush_t *fl)
{
    if (!fl) return;
    for (size_t i = 0; i < fl->count; i++) free(fl->limits[i].topic);
    free(fl->limits);
    fl->limits = NULL;
    fl->count = 0;
}

/* ---- 1.1: sink context and commit requests ---------------------------------------------- */

static void *host_batch_alloc(ferry_batch_t *batch, size_t size) { return batch_alloc(batch, size); }

static ferry_status_t host_record_error(ferry_task_t *task, const ferry_record_t *rec, const char *reason)
{
    if (!task || !task->hooks || !task->hooks->record_error) return FERRY_ERROR;
    return task->hooks->record_error(task->hooks_arg, rec, reason ? reason : "rejected by the connector");
}

static void host_sink_rewind(ferry_task_t *task, const char *topic, int32_t partition, int64_t offset)
{
    if (task && task->hooks && task->hooks->rewind && topic && offset >= 0)
        task->hooks->rewind(task->hooks_arg, topic, partition, offset);
}

static void host_sink_pause(ferry_task_t *task, const char *topic, int32_t partition)
{
    if (task && task->hooks && task->hooks->pause && topic) task->hooks->pause(task->hooks_arg, topic, partition, 1);
}

static void host_sink_resume(ferry_task_t *task, const char *topic, int32_t partition)
{
    if (task && task->hooks && task->hooks->pause && topic) task->hooks->pause(task->hooks_arg, topic, partition, 0);
}

static void host_request_commit(ferry_task_t *task)
{
    if (task) atomic_store(&task->commit_requested, 1);
}

static int host_converter_schemas(ferry_task_t *task, int value)
{
    xf_converter_t c = {0};
    char err[256];
    if (!task || !task->cfg ||
        xf_converter_from_config(task->cfg, value ? "value.converter" : "key.converter", &c, err, sizeof(err)) != 0)
        return 0;
    return c.kind == XF_CONV_JSON && c.schemas_enable;
}

static size_t host_kafka_settings(ferry_task_t *task, int consumer, const char *const **keys,
                                  const char *const **values)
{
    *keys = *values = NULL;
    if (!task || !task->kenv) return 0;
    return kafka_env_settings(task->kenv, consumer ? KAFKA_CONSUMER : KAFKA_PRODUCER, keys, values);
}

/* ---- the table ------------------------------------------------------------------------- */

static const ferry_host_t host_table = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_host_t),
    .log = host_log,
    .alloc = host_alloc,
    .free = host_free,
    .cfg_string = config_string,
    .cfg_int = config_int,
    .cfg_bool = config_bool,
    .cfg_double = config_double,
    .cfg_duration_ms = config_duration_ms,
    .cfg_size = config_size,
    .cfg_list = config_list,
    .cfg_map = config_map,
    .cfg_is_set = config_is_set,
    .batch_add = host_batch_add,
    .batch_room = host_batch_room,
    .batch_count = host_batch_count,
    .batch_get = host_batch_get,
    .offset_get = host_offset_get,
    .json_get_int = host_json_get_int,
    .json_get_str = host_json_get_str,
    .should_stop = host_should_stop,
    .metric_add = host_metric_add,
    .metric_set = host_metric_set,
    .connector_name = host_connector_name,
    .task_id = host_task_id,
    .taskset_add = host_taskset_add,
    .taskset_put = host_taskset_put,
    .flush_limit = host_flush_limit,
    .record_size = sizeof(ferry_record_t),
    .log_v = host_log_v,
    .batch_add_sized = host_batch_add_sized,
    .batch_alloc = host_batch_alloc,
    .record_error = host_record_error,
    .sink_rewind = host_sink_rewind,
    .sink_pause = host_sink_pause,
    .sink_resume = host_sink_resume,
    .request_commit = host_request_commit,
    .converter_schemas = host_converter_schemas,
    .kafka_settings = host_kafka_settings,
};

const ferry_host_t *host_api(void) { return &host_table; }
