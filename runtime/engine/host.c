/*
 * host.c — the host API table handed to every plugin, plus batches.
 *
 * Batches are the only place where plugin data and host data meet. A source
 * batch copies every byte a plugin hands to batch_add() into an arena the
 * batch owns, so the plugin may reuse its buffers as soon as the call
 * returns. A sink batch points into the librdkafka messages it holds until
 * batch_reset(), so consuming costs no copy.
 */
#include "engine/host.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- arena ------------------------------------------------------------------ */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    /* Aligned storage follows. */
    max_align_t data[];
} arena_chunk_t;

#define ARENA_CHUNK_MIN (256 * 1024)

struct ferry_batch {
    ferry_record_t *recs; /* owned; max_records entries */
    size_t count, max_records;
    size_t bytes, max_bytes;
    arena_chunk_t *chunks; /* owned, in allocation order; kept across resets */
    arena_chunk_t *cur;    /* the chunk being filled */
    rd_kafka_message_t **msgs; /* sinks: owned messages, one per record */
    /* Interning: consecutive records usually share topic and partition. */
    const char *last_topic;
    const char *last_part;
};

/* Chunks are kept across resets and rewound, so a steady stream of batches
 * allocates nothing; a chunk larger than usual (a huge record) is dropped at
 * reset instead of being kept forever. */
static void *arena_alloc(ferry_batch_t *batch, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_chunk_t *c = batch->cur;
    while (c && c->cap - c->used < n) {
        c = c->next;
        if (c) c->used = 0;
    }
    if (!c) {
        size_t cap = n > ARENA_CHUNK_MIN ? n : ARENA_CHUNK_MIN;
        c = xmalloc(sizeof(*c) + cap);
        c->cap = cap;
        c->used = 0;
        c->next = NULL;
        if (batch->cur) {
            /* Append after the current chunk, keeping any later ones. */
            c->next = batch->cur->next;
            batch->cur->next = c;
        } else {
            c->next = batch->chunks;
            batch->chunks = c;
        }
    }
    batch->cur = c;
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static const char *arena_strndup(ferry_batch_t *batch, const char *s, size_t n)
{
    char *d = arena_alloc(batch, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static const void *arena_memdup(ferry_batch_t *batch, const void *p, size_t n)
{
    if (!p) return NULL;
    void *d = arena_alloc(batch, n ? n : 1);
    if (n) memcpy(d, p, n);
    return d;
}

ferry_batch_t *batch_new(size_t max_records, size_t max_bytes)
{
    ferry_batch_t *batch = xcalloc(1, sizeof(*batch));
    batch->max_records = max_records ? max_records : 1;
    batch->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
    batch->recs = xcalloc(batch->max_records, sizeof(*batch->recs));
    return batch;
}

void batch_reset(ferry_batch_t *batch)
{
    if (!batch) return;
    if (batch->msgs) {
        for (size_t i = 0; i < batch->count; i++)
            if (batch->msgs[i]) rd_kafka_message_destroy(batch->msgs[i]);
    }
    /* Rewind; free oversized chunks (a single huge record). */
    arena_chunk_t **link = &batch->chunks;
    while (*link) {
        arena_chunk_t *c = *link;
        if (c->cap > ARENA_CHUNK_MIN) {
            *link = c->next;
            free(c);
            continue;
        }
        c->used = 0;
        link = &c->next;
    }
    batch->cur = batch->chunks;
    batch->count = 0;
    batch->bytes = 0;
    batch->last_topic = NULL;
    batch->last_part = NULL;
}

void batch_free(ferry_batch_t *batch)
{
    if (!batch) return;
    batch_reset(batch);
    while (batch->chunks) {
        arena_chunk_t *next = batch->chunks->next;
        free(batch->chunks);
        batch->chunks = next;
    }
    free(batch->msgs);
    free(batch->recs);
    free(batch);
}

size_t batch_size(const ferry_batch_t *batch) { return batch->count; }
size_t batch_bytes(const ferry_batch_t *batch) { return batch->bytes; }

const ferry_record_t *batch_record(const ferry_batch_t *batch, size_t index)
{
    return index < batch->count ? &batch->recs[index] : NULL;
}

static size_t host_batch_room(const ferry_batch_t *batch)
{
    if (batch->bytes >= batch->max_bytes) return 0;
    return batch->max_records - batch->count;
}

/* Copies a NUL-terminated string, reusing the previous copy when the string
 * is equal (topics, partitions). Compared by content only: plugins reuse
 * buffers, and malloc hands out the same address for different strings. */
static const char *intern(ferry_batch_t *batch, const char *s, const char **last)
{
    if (!s) return NULL;
    if (*last && strcmp(s, *last) == 0) return *last;
    const char *copy = arena_strndup(batch, s, strlen(s));
    *last = copy;
    return copy;
}

static ferry_status_t host_batch_add(ferry_batch_t *batch, const ferry_record_t *rec)
{
    if (!rec || host_batch_room(batch) == 0) return FERRY_RETRY;
    ferry_record_t *r = &batch->recs[batch->count];
    *r = *rec;
    r->topic = intern(batch, rec->topic, &batch->last_topic);
    r->source_partition = intern(batch, rec->source_partition, &batch->last_part);
    r->source_offset = rec->source_offset ? arena_strndup(batch, rec->source_offset, strlen(rec->source_offset)) : NULL;
    r->key = arena_memdup(batch, rec->key, rec->key_len);
    r->key_len = rec->key ? rec->key_len : 0;
    r->value = arena_memdup(batch, rec->value, rec->value_len);
    r->value_len = rec->value ? rec->value_len : 0;
    r->headers = NULL;
    r->header_count = 0;
    if (rec->headers && rec->header_count) {
        ferry_header_t *hs = arena_alloc(batch, rec->header_count * sizeof(*hs));
        for (size_t i = 0; i < rec->header_count; i++) {
            const ferry_header_t *h = &rec->headers[i];
            hs[i].name = h->name ? arena_strndup(batch, h->name, strlen(h->name)) : "";
            hs[i].value = arena_memdup(batch, h->value, h->value_len);
            hs[i].value_len = h->value ? h->value_len : 0;
        }
        r->headers = hs;
        r->header_count = rec->header_count;
    }
    batch->bytes += r->key_len + r->value_len + 64;
    batch->count++;
    return FERRY_OK;
}

void batch_add_message(ferry_batch_t *batch, rd_kafka_message_t *msg)
{
    if (!batch->msgs) batch->msgs = xcalloc(batch->max_records, sizeof(*batch->msgs));
    if (batch->count >= batch->max_records) {
        /* The engine never overfills; be safe anyway rather than write past the end. */
        rd_kafka_message_destroy(msg);
        return;
    }
    ferry_record_t *r = &batch->recs[batch->count];
    memset(r, 0, sizeof(*r));
    r->topic = rd_kafka_topic_name(msg->rkt);
    r->partition = msg->partition;
    r->key = msg->key;
    r->key_len = msg->key ? msg->key_len : 0;
    r->value = msg->payload;
    r->value_len = msg->payload ? msg->len : 0;
    r->kafka_offset = msg->offset;
    rd_kafka_timestamp_type_t tstype;
    r->timestamp_ms = rd_kafka_message_timestamp(msg, &tstype);
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        size_t n = rd_kafka_header_cnt(hdrs);
        ferry_header_t *hs = arena_alloc(batch, n * sizeof(*hs));
        for (size_t i = 0; i < n; i++) {
            const char *name;
            const void *val;
            size_t len;
            rd_kafka_header_get_all(hdrs, i, &name, &val, &len);
            hs[i].name = name;
            hs[i].value = val;
            hs[i].value_len = len;
        }
        r->headers = hs;
        r->header_count = n;
    }
    batch->msgs[batch->count] = msg;
    batch->bytes += r->key_len + r->value_len;
    batch->count++;
}

int32_t batch_record_partition(const ferry_batch_t *batch, size_t index)
{
    return index < batch->count ? batch->recs[index].partition : -1;
}

static size_t host_batch_count(const ferry_batch_t *batch) { return batch->count; }
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
    atomic_init(&task->metric_count, 0);
    task->offsets = offsets;
    return task;
}

void host_task_release(ferry_task_t *task)
{
    if (!task) return;
    for (size_t i = 0; i < task->offset_copy_count; i++) free(task->offset_copies[i]);
    free(task->offset_copies);
    task->offset_copies = NULL;
    task->offset_copy_count = 0;
}

void host_task_free(ferry_task_t *task)
{
    if (!task) return;
    host_task_release(task);
    free(task->connector);
    free(task);
}

static FERRY_PRINTF(3, 4) void host_log(ferry_task_t *task, ferry_log_level_t level, const char *fmt, ...)
{
    if ((int)level > log_level_current) return;
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, task ? task->prefix : NULL, fmt, ap);
    va_end(ap);
}

static void *host_alloc(size_t size) { return malloc(size ? size : 1); }
static void host_free(void *p) { free(p); }

static const char *host_offset_get(ferry_task_t *task, const char *source_partition)
{
    if (!task || !task->offsets || !source_partition) return NULL;
    if (task->offsets_lock) pthread_mutex_lock(task->offsets_lock);
    const char *v = offset_map_get(task->offsets, task->connector, source_partition);
    char *copy = str_dup(v);
    if (task->offsets_lock) pthread_mutex_unlock(task->offsets_lock);
    if (!copy) return NULL;
    /* Copies live until the task is freed: the SDK promises validity until close(). */
    task->offset_copies = xrealloc(task->offset_copies, (task->offset_copy_count + 1) * sizeof(char *));
    task->offset_copies[task->offset_copy_count++] = copy;
    return copy;
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

static task_metric_t *metric_slot(ferry_task_t *task, const char *name)
{
    int n = atomic_load(&task->metric_count);
    for (int i = 0; i < n; i++)
        if (strcmp(task->metrics[i].name, name) == 0) return &task->metrics[i];
    if (n >= TASK_METRICS_MAX) return NULL;
    /* Only the task thread adds metrics, so a plain increment after filling
     * the slot is safe; readers see the slot only once count covers it. */
    task_metric_t *m = &task->metrics[n];
    snprintf(m->name, sizeof(m->name), "%s", name);
    atomic_init(&m->value, 0);
    atomic_store(&task->metric_count, n + 1);
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
};

const ferry_host_t *host_api(void) { return &host_table; }
