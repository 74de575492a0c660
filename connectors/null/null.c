/*
 * null.c — null-sink: counts and discards every record.
 *
 * The baseline of sink benchmarks, so it does as little as possible: one
 * pass over the batch to sum key and value sizes and two metric updates per
 * put(). Nothing is buffered, so every flush() succeeds at once.
 */
#include <ferry/ferry.h>

typedef struct null_sink {
    ferry_task_t *task;
    const ferry_host_t *host;
} null_sink_t;

static const ferry_option_t null_options[] = {FERRY_OPTIONS_END};

static ferry_status_t null_open(ferry_task_t *task, const ferry_host_t *host,
                                const ferry_config_t *cfg, void **state, ferry_error_t *err)
{
    null_sink_t *sink = host->alloc(sizeof(*sink));
    if (sink == NULL) {
        return ferry_error_set(err, FERRY_ERROR, "null-sink: out of memory allocating task state");
    }
    sink->task = task;
    sink->host = host;
    *state = sink;
    return FERRY_OK;
}

static ferry_status_t null_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    null_sink_t *sink = state;
    const ferry_host_t *host = sink->host;
    size_t count = host->batch_count(batch);
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        const ferry_record_t *rec = host->batch_get(batch, i);
        if (rec != NULL) {
            bytes += rec->key_len + rec->value_len;
        }
    }
    if (count > 0) {
        host->metric_add(sink->task, "records", (double)count);
        host->metric_add(sink->task, "bytes", (double)bytes);
    }
    return FERRY_OK;
}

static ferry_status_t null_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    return FERRY_OK;
}

static void null_close(void *state)
{
    null_sink_t *sink = state;
    if (sink != NULL) {
        sink->host->free(sink);
    }
}

static const ferry_connector_t null_sink = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SINK,
    .name = "null-sink",
    .version = "0.1.0",
    .description = "Discards every record, counting records and bytes; for benchmarks.",
    .options = null_options,
    .option_size = sizeof(ferry_option_t),
    .open = null_open,
    .put = null_put,
    .flush = null_flush,
    .close = null_close,
};

static const ferry_connector_t *const null_connectors[] = {&null_sink, NULL};

static const ferry_plugin_t null_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "null",
    .version = "0.1.0",
    .connectors = null_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    return &null_plugin;
}
