/*
 * null.c — null-sink: counts and discards every record.
 *
 * The baseline of sink benchmarks, so it does as little as possible: one
 * pass over the batch to sum key and value sizes and two metric updates per
 * put(). Nothing is buffered, so every flush() succeeds at once.
 *
 * With latency.report it also measures end-to-end latency: for every record
 * with a timestamp, the wall-clock time of put() minus the record's
 * timestamp (for datagen's records, the moment it generated them). The
 * figures go into a fixed histogram of 1 ms buckets (no memory grows with
 * the record count); flush() publishes p50, p99 and max as metrics, and
 * close() logs them. latency.warmup leaves out the records of a producer's
 * first moments (its start-up), counted from the first timestamp seen.
 */
#include <ferry/ferry.h>

#include <inttypes.h>
#include <string.h>
#include <time.h>

/* Latency buckets of 1 ms: 0 .. NULL_LAT_BUCKETS-1 ms; longer latencies
 * count in the last bucket (the exact maximum is kept apart). */
#define NULL_LAT_BUCKETS 10000

typedef struct null_latency {
    int64_t warmup_ms;                  /* latency.warmup */
    int64_t first_ms;                   /* timestamp of the first record seen; 0 = none yet */
    uint64_t skipped;                   /* records inside the warm-up */
    uint64_t count;                     /* records measured */
    int64_t max_ms;                     /* largest latency seen */
    uint64_t buckets[NULL_LAT_BUCKETS]; /* buckets[i]: latencies of i ms */
} null_latency_t;

typedef struct null_sink {
    ferry_task_t *task;
    const ferry_host_t *host;
    null_latency_t *lat; /* owned; NULL unless latency.report */
} null_sink_t;

static const ferry_option_t null_options[] = {
    {"latency.report", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Measure put() time minus record timestamp per record (1 ms histogram); publish "
     "latency_p50_ms, latency_p99_ms and latency_max_ms at each flush and log them at close."},
    {"latency.warmup", FERRY_OPT_DURATION, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "With latency.report: leave out records stamped less than this after the first record "
     "seen (a producer's start-up)."},
    FERRY_OPTIONS_END};

static int64_t null_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void null_latency_add(null_latency_t *lat, int64_t now_ms, int64_t timestamp_ms)
{
    if (timestamp_ms <= 0) {
        return; /* no timestamp: nothing to measure */
    }
    if (lat->warmup_ms > 0) {
        /* Records of several partitions arrive in no set order; the first
         * one seen is close enough to the start for a warm-up. */
        if (lat->first_ms == 0) {
            lat->first_ms = timestamp_ms;
        }
        if (timestamp_ms < lat->first_ms + lat->warmup_ms) {
            lat->skipped++;
            return;
        }
    }
    /* A record stamped a little in the future (clocks of another host)
     * counts as 0 ms rather than being dropped. */
    int64_t ms = now_ms > timestamp_ms ? now_ms - timestamp_ms : 0;
    lat->buckets[ms < NULL_LAT_BUCKETS ? ms : NULL_LAT_BUCKETS - 1]++;
    if (ms > lat->max_ms) {
        lat->max_ms = ms;
    }
    lat->count++;
}

/* The latency in ms below which a fraction q of the records fall (the
 * bucket of the ceil(q * count)-th record); 0 when nothing was measured. */
static int64_t null_latency_quantile(const null_latency_t *lat, double q)
{
    if (lat->count == 0) {
        return 0;
    }
    uint64_t rank = (uint64_t)(q * (double)lat->count);
    if ((double)rank < q * (double)lat->count) {
        rank++;
    }
    if (rank == 0) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (int64_t i = 0; i < NULL_LAT_BUCKETS; i++) {
        seen += lat->buckets[i];
        if (seen >= rank) {
            return i < NULL_LAT_BUCKETS - 1 ? i : lat->max_ms;
        }
    }
    return lat->max_ms;
}

static ferry_status_t null_open(ferry_task_t *task, const ferry_host_t *host,
                                const ferry_config_t *cfg, void **state, ferry_error_t *err)
{
    null_sink_t *sink = host->alloc(sizeof(*sink));
    if (sink == NULL) {
        return ferry_error_set(err, FERRY_ERROR, "null-sink: out of memory allocating task state");
    }
    sink->task = task;
    sink->host = host;
    sink->lat = NULL;
    if (host->cfg_bool(cfg, "latency.report")) {
        sink->lat = host->alloc(sizeof(*sink->lat));
        if (sink->lat == NULL) {
            host->free(sink);
            return ferry_error_set(err, FERRY_ERROR,
                                   "null-sink: out of memory allocating the latency histogram");
        }
        memset(sink->lat, 0, sizeof(*sink->lat));
        sink->lat->warmup_ms = host->cfg_duration_ms(cfg, "latency.warmup");
    }
    *state = sink;
    return FERRY_OK;
}

static ferry_status_t null_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    null_sink_t *sink = state;
    const ferry_host_t *host = sink->host;
    size_t count = host->batch_count(batch);
    size_t bytes = 0;
    int64_t now_ms = sink->lat != NULL ? null_now_ms() : 0;
    for (size_t i = 0; i < count; i++) {
        const ferry_record_t *rec = host->batch_get(batch, i);
        if (rec != NULL) {
            bytes += rec->key_len + rec->value_len;
            if (sink->lat != NULL) {
                null_latency_add(sink->lat, now_ms, rec->timestamp_ms);
            }
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
    null_sink_t *sink = state;
    if (sink->lat != NULL && sink->lat->count > 0) {
        const ferry_host_t *host = sink->host;
        host->metric_set(sink->task, "latency_p50_ms", (double)null_latency_quantile(sink->lat, 0.50));
        host->metric_set(sink->task, "latency_p99_ms", (double)null_latency_quantile(sink->lat, 0.99));
        host->metric_set(sink->task, "latency_max_ms", (double)sink->lat->max_ms);
    }
    return FERRY_OK;
}

static void null_close(void *state)
{
    null_sink_t *sink = state;
    if (sink == NULL) {
        return;
    }
    const ferry_host_t *host = sink->host;
    if (sink->lat != NULL) {
        host->log(sink->task, FERRY_LOG_INFO,
                  "null-sink latency (put() time - record timestamp): %" PRIu64
                  " records, p50 %" PRId64 " ms, p99 %" PRId64 " ms, max %" PRId64
                  " ms (%" PRIu64 " more in the warm-up)",
                  sink->lat->count, null_latency_quantile(sink->lat, 0.50),
                  null_latency_quantile(sink->lat, 0.99), sink->lat->max_ms, sink->lat->skipped);
        host->free(sink->lat);
    }
    host->free(sink);
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
