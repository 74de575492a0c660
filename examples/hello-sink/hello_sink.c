/*
 * hello_sink.c — the smallest useful ferry sink connector, built out of tree
 * against the installed SDK. It appends one line per record to `path`:
 * "TOPIC/PARTITION@OFFSET VALUE". put() writes through a stdio buffer;
 * flush() makes it durable (fflush + fsync), after which the host commits
 * the consumer offsets of everything put so far. Tombstones are skipped. A
 * value with a line break cannot be one line: it is handed back to the host
 * with record_error (dead-lettered or failing the task, per errors.tolerance).
 */
#define _POSIX_C_SOURCE 200809L /* fileno, fsync under strict C11 */

#include <errno.h>
#include <ferry/ferry.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct hello_sink {
    const ferry_host_t *host;
    ferry_task_t *task;
    const char *path; /* owned by the config, which outlives the task */
    FILE *out;        /* owned */
} hello_sink_t;

static ferry_status_t hello_sink_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                      void **state, ferry_error_t *err)
{
    const char *path = host->cfg_string(cfg, "path");
    if (!path || !path[0]) return ferry_error_set(err, FERRY_ERROR, "hello-sink: option path must not be empty");
    hello_sink_t *s = host->alloc(sizeof(*s));
    if (!s) return ferry_error_set(err, FERRY_RETRY, "hello-sink: out of memory");
    s->host = host;
    s->task = task;
    s->path = path;
    s->out = fopen(path, "a");
    if (!s->out) {
        int e = errno;
        host->free(s); /* a failed open frees everything: close() is never called */
        return ferry_error_set(err, FERRY_ERROR, "hello-sink: cannot open %s: %s", path, strerror(e));
    }
    *state = s;
    return FERRY_OK;
}

static ferry_status_t hello_sink_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    hello_sink_t *s = state;
    for (size_t i = 0; i < s->host->batch_count(batch); i++) {
        const ferry_record_t *rec = s->host->batch_get(batch, i); /* borrowed: valid during put() only */
        if (!rec->value) continue;                                 /* a tombstone */
        if (memchr(rec->value, '\n', rec->value_len)) {
            /* Never deliverable: let the error policy decide (1.1 hosts). */
            if (!FERRY_HOST_HAS(s->host, record_error))
                return ferry_error_set(err, FERRY_ERROR, "hello-sink: %s@%" PRId64 ": a value with a line break",
                                       rec->topic, rec->kafka_offset);
            if (s->host->record_error(s->task, rec, "the value has a line break") != FERRY_OK)
                return ferry_error_set(err, FERRY_ERROR, "hello-sink: %s@%" PRId64 ": a value with a line break",
                                       rec->topic, rec->kafka_offset);
            continue;
        }
        if (fprintf(s->out, "%s/%" PRId32 "@%" PRId64 " %.*s\n", rec->topic, rec->partition, rec->kafka_offset,
                    (int)rec->value_len, (const char *)rec->value) < 0)
            return ferry_error_set(err, FERRY_RETRY, "hello-sink: writing %s: %s", s->path, strerror(errno));
    }
    return FERRY_OK;
}

static ferry_status_t hello_sink_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    hello_sink_t *s = state;
    /* RETRY: the host backs off and flushes again; nothing is committed meanwhile. */
    if (fflush(s->out) != 0 || fsync(fileno(s->out)) != 0)
        return ferry_error_set(err, FERRY_RETRY, "hello-sink: flushing %s: %s", s->path, strerror(errno));
    return FERRY_OK;
}

static void hello_sink_close(void *state)
{
    hello_sink_t *s = state;
    fclose(s->out);
    s->host->free(s);
}

static const ferry_option_t hello_sink_options[] = {
    {"path", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,
     "File the records are appended to, one line each (created if missing)."},
    FERRY_OPTIONS_END,
};

static const ferry_connector_t hello_sink = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SINK,
    .name = "hello-sink",
    .version = "1.0.0",
    .description = "Appends \"topic/partition@offset value\" lines to a file; flush fsyncs it.",
    .options = hello_sink_options,
    .option_size = sizeof(ferry_option_t),
    .open = hello_sink_open,
    .put = hello_sink_put,
    .flush = hello_sink_flush,
    .close = hello_sink_close,
};

static const ferry_connector_t *const hello_sink_connectors[] = {&hello_sink, NULL};

static const ferry_plugin_t hello_sink_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "hello-sink",
    .version = "1.0.0",
    .connectors = hello_sink_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void) { return &hello_sink_plugin; }
