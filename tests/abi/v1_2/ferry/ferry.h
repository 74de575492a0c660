/*
 * ferry.h — the connector SDK. The only header a ferry connector includes.
 *
 * A plugin is a shared object that exports one function, ferry_plugin_entry(),
 * returning a pointer to a constant ferry_plugin_t. The descriptor starts with
 * the ABI version and its own size so that the host can refuse an incompatible
 * plugin before it calls any of its code. See sdk/ABI.md for what may change
 * within a major version.
 *
 * Plugins never link against the runtime: everything they need from the host
 * comes through the ferry_host_t function table passed to open().
 *
 * Threads: the host calls every callback of one task from that task's thread,
 * except stop(), which may be called from any thread. Connector-level
 * callbacks (validate, task_configs) run on the worker's main thread. Each
 * host function says which threads may call it.
 *
 * Canonical JSON. Source partitions and offsets are JSON objects. The host
 * brings what a plugin passes to batch_add into canonical form: compact (no
 * whitespace outside strings) and, for partitions only, object members sorted
 * by name (byte order, recursively), so {"f": "x", "a": 1} and {"a":1,"f":"x"}
 * are one partition everywhere: in the offset tracker, the offset store and
 * offset_get(). Offsets keep their member order. Anything that is not a JSON
 * object is refused by batch_add.
 */
#ifndef FERRY_FERRY_H
#define FERRY_FERRY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version. A major bump breaks plugins; a minor bump only appends. */
#define FERRY_ABI_MAJOR 1
#define FERRY_ABI_MINOR 2
#define FERRY_ABI_VERSION ((uint32_t)((FERRY_ABI_MAJOR << 16) | FERRY_ABI_MINOR))
#define FERRY_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define FERRY_ABI_VERSION_MINOR(v) ((uint32_t)(v)&0xffffu)

#if defined(__GNUC__)
#define FERRY_EXPORT __attribute__((visibility("default")))
#define FERRY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FERRY_EXPORT
#define FERRY_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------ */

typedef enum ferry_status {
    FERRY_OK = 0,    /* success */
    FERRY_RETRY = 1, /* transient: the host backs off and calls again */
    FERRY_ERROR = 2, /* the task fails; err says why (may be restarted) */
    FERRY_FATAL = 3  /* the task fails and is never restarted */
} ferry_status_t;

/* A caller-owned error buffer. The host clears it before each callback; the
 * plugin fills it when it returns anything but FERRY_OK. The host cuts msg
 * at its last byte, so a plugin that forgets the NUL cannot make the host
 * read past it, and scrubs the task's secret values from it before logging. */
#define FERRY_ERRMSG_SIZE 512
typedef struct ferry_error {
    char msg[FERRY_ERRMSG_SIZE];
} ferry_error_t;

/* Formats a message into err and returns status, so a callback can write
 * `return ferry_error_set(err, FERRY_ERROR, "open %s: %s", path, strerror(e));` */
static inline FERRY_PRINTF(3, 4) ferry_status_t
    ferry_error_set(ferry_error_t *err, ferry_status_t status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---------------------------------------------------------------------------
 * Option tables
 *
 * A connector declares its options once. The host uses the table to validate
 * YAML (unknown keys, types, bounds, required), to apply defaults, to print
 * `ferry plugins`, to generate documentation and to redact secrets. Values
 * reach the connector already checked, through the host's cfg_* getters.
 * ------------------------------------------------------------------------ */

typedef enum ferry_opt_type {
    FERRY_OPT_STRING = 0,
    FERRY_OPT_INT = 1,      /* 64-bit signed integer */
    FERRY_OPT_BOOL = 2,     /* true/false (also yes/no, on/off, 1/0) */
    FERRY_OPT_DOUBLE = 3,
    FERRY_OPT_DURATION = 4, /* "250ms", "5s", "2m", "1h"; a bare number is milliseconds */
    FERRY_OPT_SIZE = 5,     /* "512", "64KiB", "16MiB", "1GiB", "10KB", "1MB" */
    FERRY_OPT_ENUM = 6,     /* one of enum_values */
    FERRY_OPT_LIST = 7,     /* a YAML sequence or a comma-separated string */
    FERRY_OPT_MAP = 8,      /* a YAML mapping of string to string */
    FERRY_OPT_SECRET = 9    /* a string never printed in logs, errors or REST */
} ferry_opt_type_t;

/* Option flags. */
#define FERRY_OPT_REQUIRED 0x1u /* no default: the user must set it */
#define FERRY_OPT_HAS_MIN 0x2u  /* min applies (int, double, duration in ms, size in bytes, list length) */
#define FERRY_OPT_HAS_MAX 0x4u  /* max applies */
#define FERRY_OPT_TOPIC 0x8u    /* 1.1: string or list of Kafka topic names, checked as such */
/* 1.1: the option also stands for a family of keys "<name>.<suffix>" (any
 * non-empty suffix), e.g. a per-table setting. The host accepts them as
 * strings, unchecked, and cfg_string(cfg, "<name>.<suffix>") reads one. Hosts
 * older than this flag refuse such keys as unknown. */
#define FERRY_OPT_PREFIX 0x10u

/* Frozen at its 1.0 layout for plugins that do not set option_size in their
 * connector descriptor; a plugin built against 1.1 or later sets it, so that
 * members appended here in later minors are read only from plugins that have
 * them. */
typedef struct ferry_option {
    const char *name;                /* e.g. "topic"; NULL ends the table */
    ferry_opt_type_t type;
    const char *default_value;       /* as the user would write it; NULL = no default */
    uint32_t flags;                  /* FERRY_OPT_* flags */
    double min, max;                 /* bounds, see FERRY_OPT_HAS_MIN/MAX */
    const char *const *enum_values;  /* FERRY_OPT_ENUM: NULL-terminated list */
    const char *description;         /* one or two sentences, for docs and help */
} ferry_option_t;

#define FERRY_OPTIONS_END {NULL, FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, NULL}

/* ---------------------------------------------------------------------------
 * Records and batches
 * ------------------------------------------------------------------------ */

typedef struct ferry_header {
    const char *name;  /* NUL-terminated */
    const void *value; /* may be NULL */
    size_t value_len;
} ferry_header_t;

/*
 * One record. Byte spans are (pointer, length) and never assumed to be
 * NUL-terminated. For records a source adds to a batch, the host copies every
 * pointed-to byte into the batch's arena during batch_add(): the plugin keeps
 * ownership of what it passed (bytes already inside the batch, from
 * batch_alloc, are not copied again). For records a sink reads from a batch,
 * every pointer is owned by the batch and valid only during put().
 *
 * Growing: members are only ever appended. A source passes its record with
 * ferry_batch_add() (below), which tells the host the size it was built with;
 * members it does not know read as 0. A sink reads members added in 1.N only
 * when host->record_size covers them (FERRY_RECORD_HAS).
 */
typedef struct ferry_record {
    const char *topic;         /* NUL-terminated; NULL = the connector's default topic */
    int32_t partition;         /* -1 = let the partitioner choose */
    const void *key;           /* NULL = no key */
    size_t key_len;
    const void *value;         /* NULL = tombstone */
    size_t value_len;
    const ferry_header_t *headers;
    size_t header_count;
    int64_t timestamp_ms;      /* 0 = now */

    /* Sources only: where the record came from, each a JSON object (see
     * "Canonical JSON" above), e.g. {"server":"shop"} and
     * {"lsn":24023128,"txId":755}. Both NULL when the record carries no
     * offset. NUL-terminated. */
    const char *source_partition;
    const char *source_offset;

    /* Sinks only: the Kafka position the record was read from. */
    int64_t kafka_offset;

    /* ---- 1.1 ---- */
    /* Sinks: the kind of timestamp_ms (FERRY_TIMESTAMP_*). Sources: 0, or
     * FERRY_TIMESTAMP_CREATE; the broker decides log-append time. */
    int32_t timestamp_type;
    uint32_t flags;            /* FERRY_RECORD_* below, or 0 */
} ferry_record_t;

/* Record flags: what the key's and the value's bytes are. A source says so
 * (0: raw bytes), so that converters and transforms read them right; a sink
 * finds them set from its key.converter / value.converter. Defined in 1.1;
 * a 1.1 host without transforms ignores them. */
#define FERRY_RECORD_KEY_STRING (1u << 0)     /* UTF-8 text */
#define FERRY_RECORD_KEY_JSON (1u << 1)       /* JSON */
#define FERRY_RECORD_KEY_ENVELOPE (1u << 2)   /* JSON {"schema": ..., "payload": ...} (Connect's JsonConverter) */
#define FERRY_RECORD_VALUE_STRING (1u << 3)
#define FERRY_RECORD_VALUE_JSON (1u << 4)
#define FERRY_RECORD_VALUE_ENVELOPE (1u << 5)

#define FERRY_TIMESTAMP_NONE 0
#define FERRY_TIMESTAMP_CREATE 1     /* set by the producer */
#define FERRY_TIMESTAMP_LOG_APPEND 2 /* set by the broker */

/* The size of a 1.0 record: what a host reads from plugins that call the
 * 1.0 batch_add. */
#define FERRY_RECORD_SIZE_1_0 (offsetof(ferry_record_t, kafka_offset) + sizeof(int64_t))

/* One Kafka partition of a sink task (1.1). */
typedef struct ferry_partition {
    const char *topic; /* NUL-terminated */
    int32_t partition;
} ferry_partition_t;

typedef struct ferry_batch ferry_batch_t; /* opaque; owned by the host */

/* One durable source position, handed to a source's commit(). The strings
 * are the host's and valid only during that commit() call: copy what you keep. */
typedef struct ferry_offset {
    const char *source_partition; /* canonical JSON object */
    const char *source_offset;    /* canonical JSON object */
} ferry_offset_t;

/* ---------------------------------------------------------------------------
 * The host API table
 *
 * APPEND-ONLY: new functions are added at the end and struct_size grows;
 * nothing is ever removed or reordered within an ABI major version. A plugin
 * that needs a function added in minor N checks host->struct_size first
 * (FERRY_HOST_HAS(host, member)).
 * ------------------------------------------------------------------------ */

typedef struct ferry_task ferry_task_t;       /* opaque; identifies connector + task */
typedef struct ferry_config ferry_config_t;   /* opaque; validated key/value config */
typedef struct ferry_taskset ferry_taskset_t; /* opaque; built by task_configs() */
typedef struct ferry_flush ferry_flush_t;     /* opaque; sink flush positions */

typedef enum ferry_log_level {
    FERRY_LOG_ERROR = 0,
    FERRY_LOG_WARN = 1,
    FERRY_LOG_INFO = 2,
    FERRY_LOG_DEBUG = 3
} ferry_log_level_t;

typedef struct ferry_host {
    uint32_t abi_version; /* FERRY_ABI_VERSION of the host */
    uint32_t struct_size; /* sizeof(ferry_host_t) in the host */

    /* Logging, prefixed with "[connector/task]". Any thread. task may be NULL.
     * The host removes the task's secret values from the line. */
    void (*log)(ferry_task_t *task, ferry_log_level_t level, const char *fmt, ...) FERRY_PRINTF(3, 4);

    /* Plain malloc/free, provided so that a plugin and the host agree on the
     * allocator (the host does not account for them). free(NULL) is a no-op.
     * Any thread. */
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);

    /* Typed config access. Values were validated against the option table and
     * defaults applied. Strings are owned by cfg and live as long as it does.
     * A getter for an option the table does not declare returns NULL / 0.
     * Any thread (a config is immutable once built). */
    const char *(*cfg_string)(const ferry_config_t *cfg, const char *name); /* also enum, secret */
    int64_t (*cfg_int)(const ferry_config_t *cfg, const char *name);
    int (*cfg_bool)(const ferry_config_t *cfg, const char *name);
    double (*cfg_double)(const ferry_config_t *cfg, const char *name);
    int64_t (*cfg_duration_ms)(const ferry_config_t *cfg, const char *name);
    int64_t (*cfg_size)(const ferry_config_t *cfg, const char *name); /* bytes */
    /* List items; returns the count and sets *items (owned by cfg). */
    size_t (*cfg_list)(const ferry_config_t *cfg, const char *name, const char *const **items);
    /* Map entries; returns the count and sets *keys and *values (owned by cfg). */
    size_t (*cfg_map)(const ferry_config_t *cfg, const char *name, const char *const **keys,
                      const char *const **values);
    /* 1 if the user set the option (rather than it taking its default). */
    int (*cfg_is_set)(const ferry_config_t *cfg, const char *name);

    /* Sources, inside poll() on the task thread: copy a 1.0-sized record into
     * the batch (see ferry_record_t). Prefer ferry_batch_add(), which uses
     * batch_add_sized on hosts that have it. Returns FERRY_RETRY when the
     * batch is full (poll() should then return), FERRY_ERROR when the record
     * is invalid (its topic is not a legal Kafka topic name or is the offsets
     * topic, or its partition or offset is not a JSON object); the record is
     * then not added, the host fails the task with that reason after poll()
     * returns (or, with errors.tolerance: all, sends the record to the
     * dead-letter queue and returns FERRY_OK). */
    ferry_status_t (*batch_add)(ferry_batch_t *batch, const ferry_record_t *rec);
    /* How many more records the host wants in this batch. Task thread. */
    size_t (*batch_room)(const ferry_batch_t *batch);
    /* Sinks, inside put(): read the records of a batch. */
    size_t (*batch_count)(const ferry_batch_t *batch);
    const ferry_record_t *(*batch_get)(const ferry_batch_t *batch, size_t index);

    /* Sources, task thread: the last durable offset stored for
     * source_partition, or NULL. Owned by the host, valid until close(). */
    const char *(*offset_get)(ferry_task_t *task, const char *source_partition);
    /* Tiny JSON helpers so plugins need no JSON library for offsets: read a
     * top-level integer or string field of a JSON object. Return 0 on success,
     * -1 when absent or of another type. str_get copies at most size-1 bytes.
     * Any thread. */
    int (*json_get_int)(const char *json, const char *field, int64_t *out);
    int (*json_get_str)(const char *json, const char *field, char *buf, size_t size);

    /* 1 once the task has been asked to stop: blocking work should return.
     * Any thread. */
    int (*should_stop)(ferry_task_t *task);

    /* Metrics, collected per connector and task (the admin API will export
     * them). name: [a-z0-9_]+, at most 47 bytes, at most 32 names per task.
     * Any thread: updates are atomic. */
    void (*metric_add)(ferry_task_t *task, const char *name, double delta);
    void (*metric_set)(ferry_task_t *task, const char *name, double value);

    /* Identity of the task. Any thread. */
    const char *(*connector_name)(ferry_task_t *task);
    int (*task_id)(ferry_task_t *task);

    /* task_configs(), main thread: add a task (returns its index) and set
     * per-task keys that override the connector config for that task. Keys
     * the connector's option table does not declare are kept as strings;
     * runtime keys (connector, tasks.max, errors.*, *.override.*) are
     * refused and fail the connector's validation. */
    int (*taskset_add)(ferry_taskset_t *set);
    void (*taskset_put)(ferry_taskset_t *set, int index, const char *key, const char *value);

    /* Sinks, inside flush(): declare that for topic/partition only records
     * before next_offset are durable (default: everything put so far). */
    void (*flush_limit)(ferry_flush_t *fl, const char *topic, int32_t partition, int64_t next_offset);

    /* ---- 1.1 ---- */

    /* sizeof(ferry_record_t) in the host: records from batch_get have every
     * member below this size (see FERRY_RECORD_HAS). */
    uint32_t record_size;

    /* log() with a va_list, for plugins with logging wrappers of their own.
     * Any thread. */
    void (*log_v)(ferry_task_t *task, ferry_log_level_t level, const char *fmt, va_list ap) FERRY_PRINTF(3, 0);

    /* Sources, inside poll(): batch_add for a record of rec_size bytes (the
     * plugin's sizeof(ferry_record_t)); same results as batch_add. */
    ferry_status_t (*batch_add_sized)(ferry_batch_t *batch, const ferry_record_t *rec, size_t rec_size);
    /* Sources, inside poll(): size bytes of the batch's own memory (aligned
     * for any type), valid until poll() returns. A key, value or header value
     * built there is handed to batch_add without a second copy. NULL when
     * size is 0. */
    void *(*batch_alloc)(ferry_batch_t *batch, size_t size);

    /* Sinks, inside put(): this record of the batch cannot be delivered and
     * never will be (e.g. the target rejected it). With errors.tolerance: all
     * the host sends it to the dead-letter queue (or just logs it) and returns
     * FERRY_OK: the record counts as done, and put() goes on with the rest.
     * With errors.tolerance: none it returns FERRY_ERROR: put() should return
     * FERRY_ERROR; the task fails with reason either way and is not restarted
     * (a restart would meet the same record). Task thread.
     * Sources, inside poll(): rec (built like a record for batch_add, with
     * its source offset) can never be delivered, e.g. it cannot be routed.
     * The host treats it as a record batch_add refused: with errors.tolerance:
     * all it takes a place in the batch and goes to the dead-letter queue (or
     * is logged and skipped), its offset counting as done, and the call
     * returns FERRY_OK; with none it returns FERRY_ERROR and the task fails
     * with reason after poll() returns, not restarted (poll() should add
     * nothing more and return FERRY_OK). FERRY_RETRY: the batch is full. */
    ferry_status_t (*record_error)(ferry_task_t *task, const ferry_record_t *rec, const char *reason);

    /* Sinks, task thread, inside any callback: consume topic/partition again
     * from offset (Kafka Connect's SinkTaskContext.offset). Takes effect when
     * the callback returns: records of that partition after offset that the
     * host still holds are dropped, and consumer offsets are not committed
     * beyond offset until records from there are put again. */
    void (*sink_rewind)(ferry_task_t *task, const char *topic, int32_t partition, int64_t offset);
    /* Sinks, task thread: stop / start fetching topic/partition (Connect's
     * pause/resume). A paused partition stays paused until resumed or
     * revoked. */
    void (*sink_pause)(ferry_task_t *task, const char *topic, int32_t partition);
    void (*sink_resume)(ferry_task_t *task, const char *topic, int32_t partition);
    /* Task thread: ask for an offset commit soon (sinks: flush() and commit
     * consumer offsets; sources: store offsets and call commit()), instead of
     * at the next interval. */
    void (*request_commit)(ferry_task_t *task);

    /* ---- 1.2 ---- */

    /* Sources, task thread: 1 when the task's value converter (value != 0)
     * or key converter (value == 0) writes Connect schemas (JsonConverter
     * with schemas.enable: true), else 0. A source that can describe its
     * records then sends them as {"schema":...,"payload":...} with
     * FERRY_RECORD_VALUE_ENVELOPE / FERRY_RECORD_KEY_ENVELOPE, and the
     * converter writes them as they are; otherwise it sends the payload
     * alone (an envelope would be parsed only to strip the schema). */
    int (*converter_schemas)(ferry_task_t *task, int value);

    /* APPEND NEW MEMBERS HERE ONLY. */
} ferry_host_t;

/* 1 when the host provides member: its struct is large enough to have it,
 * and it is set (a host may leave a function it does not offer NULL). */
#define FERRY_HOST_HAS(host, member)                                                               \
    ((host)->struct_size >= offsetof(ferry_host_t, member) + sizeof((host)->member) && (host)->member)

/* 1 when records from host->batch_get have member (a ferry_record_t member). */
#define FERRY_RECORD_HAS(host, member)                                                             \
    (FERRY_HOST_HAS(host, record_size) &&                                                          \
     (host)->record_size >= offsetof(ferry_record_t, member) + sizeof(((ferry_record_t *)0)->member))

/* Adds rec to batch, telling hosts that know the size of the record this
 * plugin was built with (and using the 1.0 call on 1.0 hosts). */
static inline ferry_status_t ferry_batch_add(const ferry_host_t *host, ferry_batch_t *batch,
                                             const ferry_record_t *rec)
{
    if (FERRY_HOST_HAS(host, batch_add_sized)) return host->batch_add_sized(batch, rec, sizeof(*rec));
    return host->batch_add(batch, rec);
}

/* ---------------------------------------------------------------------------
 * Connectors
 * ------------------------------------------------------------------------ */

typedef enum ferry_kind { FERRY_SOURCE = 1, FERRY_SINK = 2 } ferry_kind_t;

typedef struct ferry_connector {
    uint32_t struct_size;  /* sizeof(ferry_connector_t) the plugin was built with */
    ferry_kind_t kind;
    const char *name;      /* unique across loaded plugins, e.g. "file-source" */
    const char *version;   /* the connector's own version */
    const char *description;
    const ferry_option_t *options; /* ends with FERRY_OPTIONS_END */

    /* Optional, main thread: checks that go beyond the option table (e.g.
     * options that exclude each other). */
    ferry_status_t (*validate)(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err);

    /* Optional, main thread: split the work into at most tasks_max tasks via
     * host->taskset_add/taskset_put. Without it a source runs one task and a
     * sink runs tasks_max identical tasks (members of one consumer group). */
    ferry_status_t (*task_configs)(const ferry_host_t *host, const ferry_config_t *cfg, int tasks_max,
                                   ferry_taskset_t *set, ferry_error_t *err);

    /* Required. Create the task's state in *state. cfg lives until close().
     * When open() fails the host never calls close(): open() frees whatever
     * it allocated, and *state is ignored. A RETRY is retried with backoff
     * (bounded by errors.retry.timeout). */
    ferry_status_t (*open)(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                           void **state, ferry_error_t *err);

    /* Sources (required): add records to batch via ferry_batch_add(). Block
     * for at most ~100 ms when there is nothing to read; returning FERRY_OK
     * with no records is fine. Records added before poll() returns
     * FERRY_RETRY stay in the batch: the host calls poll() again with the
     * same batch after a backoff and produces everything once it returns
     * FERRY_OK (it serves delivery reports and stores offsets meanwhile). */
    ferry_status_t (*poll)(void *state, ferry_batch_t *batch, ferry_error_t *err);

    /* Sources (optional): these offsets are now durable in the offset store.
     * The right moment to acknowledge upstream (e.g. confirm an LSN). The
     * array and its strings are valid only during the call. RETRY: the host
     * hands the same offsets (or newer) again at the next commit. */
    ferry_status_t (*commit)(void *state, const ferry_offset_t *offsets, size_t count, ferry_error_t *err);

    /* Sinks (required): deliver or buffer every record of the batch. The
     * batch is borrowed for the duration of the call. */
    ferry_status_t (*put)(void *state, const ferry_batch_t *batch, ferry_error_t *err);

    /* Sinks (required): make what put() received durable. On FERRY_OK the
     * host commits consumer offsets up to that point (or up to the limits set
     * with host->flush_limit). Called every flush.interval even when nothing
     * new was put (so a sink can time things, e.g. resume a paused
     * partition), on request, before partitions are revoked and at shutdown. */
    ferry_status_t (*flush)(void *state, ferry_flush_t *fl, ferry_error_t *err);

    /* Required. Release the state. Called once after a successful open(), on
     * the task thread, never at the same time as stop(). */
    void (*close)(void *state);

    /* Optional, any thread: interrupt blocking work in poll/put/flush. Must
     * return promptly (set a flag, write to a pipe, cancel a request): it
     * runs while the worker shuts down, and shutdown.timeout counts it. */
    void (*stop)(void *state);

    /* Spare room so that the struct can grow without surprising anyone; the
     * host uses struct_size, never these. Must be zero: the loader refuses a
     * plugin whose reserved slots are not. */
    void *reserved[4];

    /* ---- 1.1 ---- */
    /* sizeof(ferry_option_t) the plugin was built with: set it to
     * sizeof(ferry_option_t). 0 (a 1.0 plugin) means the 1.0 layout. */
    uint32_t option_size;
    /* Sinks (optional), task thread: partitions were assigned to this task
     * (Kafka Connect's SinkTask.open). Records of them follow in put(). */
    ferry_status_t (*partitions_assigned)(void *state, const ferry_partition_t *parts, size_t count,
                                          ferry_error_t *err);
    /* Sinks (optional), task thread: these partitions are being taken away
     * (Connect's SinkTask.close). The host has already called flush() and
     * committed what it made durable; drop any state kept for them. Also
     * called for every owned partition before close(). */
    ferry_status_t (*partitions_revoked)(void *state, const ferry_partition_t *parts, size_t count,
                                         ferry_error_t *err);
} ferry_connector_t;

/* ---------------------------------------------------------------------------
 * The plugin descriptor and its entry point
 * ------------------------------------------------------------------------ */

typedef struct ferry_plugin {
    uint32_t abi_version; /* FERRY_ABI_VERSION the plugin was built with */
    uint32_t struct_size; /* sizeof(ferry_plugin_t) the plugin was built with */
    const char *name;     /* plugin name, e.g. "postgres" */
    const char *version;
    const ferry_connector_t *const *connectors; /* NULL-terminated */
} ferry_plugin_t;

#define FERRY_PLUGIN_ENTRY_SYMBOL "ferry_plugin_entry"
typedef const ferry_plugin_t *(*ferry_plugin_entry_fn)(void);

/* Every plugin defines exactly this function. */
FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void);

#ifdef __cplusplus
}
#endif
#endif /* FERRY_FERRY_H */
