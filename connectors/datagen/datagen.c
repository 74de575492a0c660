/*
 * datagen.c — a source that generates synthetic JSON records, for demos,
 * smoke tests and benchmarks (compared against rdkafka_performance).
 *
 * Record n (n = 0, 1, 2, ...):
 *   key    = n as decimal text
 *   value  = {"seq":n,"ts":<epoch ms>,"pad":"xxx..."}, padded so that it is
 *            exactly value.size bytes long
 *   source partition {"task":<task id>}, source offset {"seq":n}
 *
 * A restarted task resumes after the last committed sequence number. With
 * count > 0 the sequence stops at count - 1, across restarts.
 *
 * Generating a record must cost next to nothing: the value lives in one
 * buffer allocated at open whose padding is written once; per record only
 * the short prefix and the key are rewritten, with a hand-rolled integer
 * formatter instead of snprintf.
 */
#include <ferry/ferry.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Poll blocks at most this long when nothing is due (SDK contract: ~100 ms). */
#define DATAGEN_MAX_WAIT_NS 100000000LL

/* Largest prefix {"seq":<20 digits>,"ts":<20 digits>,"pad":" with room to spare. */
#define DATAGEN_PREFIX_MAX 96

typedef struct datagen {
    ferry_task_t *task;
    const ferry_host_t *host;
    const char *topic; /* owned by the config, which outlives the task */
    int64_t count;     /* 0 = unbounded */
    double rate;       /* records per second; 0 = as fast as possible */
    size_t value_size;

    int64_t next_seq; /* sequence number of the next record */
    int finished_logged;

    /* Token bucket for `rate`: tokens accumulate at `rate` per second, capped
     * at one second's worth so that a slow consumer of the batches does not
     * lower the long-term rate, while a long stall cannot cause a big burst. */
    double tokens;
    double bucket_max;
    int64_t last_refill_ns;

    char partition[48]; /* {"task":N}, the same for every record */
    char *value;        /* value_size bytes (owned); padding pre-filled */
    size_t dirty_end;   /* bytes of `value` overwritten by something other than padding */
} datagen_t;

static const ferry_option_t datagen_options[] = {
    {"topic", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED | FERRY_OPT_TOPIC, 0, 0, NULL,
     "Kafka topic the generated records are written to."},
    {"count", FERRY_OPT_INT, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "Number of records to generate in total (sequence numbers 0 to count-1, across "
     "restarts); 0 generates forever."},
    {"rate", FERRY_OPT_DOUBLE, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "Records per second per task; 0 generates as fast as the pipeline accepts them."},
    {"value.size", FERRY_OPT_SIZE, "100", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 16,
     64.0 * 1024 * 1024, NULL,
     "Size in bytes of each JSON value; a \"pad\" field fills it up. Values too small "
     "for the seq and ts fields are {\"seq\":N} padded with spaces."},
    FERRY_OPTIONS_END};

static int64_t datagen_now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void datagen_sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000LL),
                          .tv_nsec = (long)(ns % 1000000000LL)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Writes v in decimal to out (no NUL) and returns the digit count. out needs
 * room for 20 bytes. */
static size_t datagen_u64toa(uint64_t v, char *out)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    return n;
}

/* Builds the value of record seq in dg->value. Returns its length, which is
 * value_size except for the fallback form when seq is too long to fit. */
static size_t datagen_build_value(datagen_t *dg, uint64_t seq, uint64_t ts_ms)
{
    char prefix[DATAGEN_PREFIX_MAX];
    size_t n = 0;
    size_t size = dg->value_size;

    memcpy(prefix, "{\"seq\":", 7);
    n = 7;
    n += datagen_u64toa(seq, prefix + n);
    size_t seq_end = n;
    memcpy(prefix + n, ",\"ts\":", 6);
    n += 6;
    n += datagen_u64toa(ts_ms, prefix + n);
    memcpy(prefix + n, ",\"pad\":\"", 8);
    n += 8;

    if (n + 2 <= size) {
        /* The usual form. Restore padding the previous value may have
         * overwritten (a longer prefix, or the fallback form), then write the
         * prefix and the closing quote and brace. */
        if (dg->dirty_end > n) {
            size_t end = dg->dirty_end < size - 2 ? dg->dirty_end : size - 2;
            memset(dg->value + n, 'x', end - n);
        }
        memcpy(dg->value, prefix, n);
        dg->value[size - 2] = '"';
        dg->value[size - 1] = '}';
        dg->dirty_end = n;
        return size;
    }

    /* Fallback for tiny value.size: {"seq":N} with spaces before the brace,
     * still valid JSON of exactly value_size bytes while N fits. */
    dg->dirty_end = size;
    if (seq_end + 1 <= size) {
        memcpy(dg->value, prefix, seq_end);
        memset(dg->value + seq_end, ' ', size - 1 - seq_end);
        dg->value[size - 1] = '}';
        return size;
    }
    /* Cannot happen with value.size >= 16 before seq reaches 10^8; emitting
     * a truncated, invalid value would be worse than a longer one, so the
     * caller uses the prefix buffer instead. */
    return 0;
}

static ferry_status_t datagen_open(ferry_task_t *task, const ferry_host_t *host,
                                   const ferry_config_t *cfg, void **state, ferry_error_t *err)
{
    datagen_t *dg = host->alloc(sizeof(*dg));
    if (dg == NULL) {
        return ferry_error_set(err, FERRY_ERROR, "datagen: out of memory allocating task state");
    }
    memset(dg, 0, sizeof(*dg));
    dg->task = task;
    dg->host = host;
    dg->topic = host->cfg_string(cfg, "topic");
    dg->count = host->cfg_int(cfg, "count");
    dg->rate = host->cfg_double(cfg, "rate");
    int64_t value_size = host->cfg_size(cfg, "value.size");

    if (dg->topic == NULL || dg->topic[0] == '\0') {
        host->free(dg);
        return ferry_error_set(err, FERRY_ERROR, "datagen: option topic must not be empty");
    }
    if (value_size < 16 || dg->count < 0 || !(dg->rate >= 0) || !isfinite(dg->rate)) {
        /* The option table enforces these bounds; this guards against a host
         * that did not apply them. */
        host->free(dg);
        return ferry_error_set(err, FERRY_ERROR,
                               "datagen: invalid options value.size=%" PRId64 " count=%" PRId64
                               " rate=%g",
                               value_size, dg->count, dg->rate);
    }
    dg->value_size = (size_t)value_size;
    /* Room for the fallback form's longest value as well (see datagen_poll). */
    size_t alloc = dg->value_size > DATAGEN_PREFIX_MAX ? dg->value_size : DATAGEN_PREFIX_MAX;
    dg->value = host->alloc(alloc);
    if (dg->value == NULL) {
        host->free(dg);
        return ferry_error_set(err, FERRY_ERROR, "datagen: out of memory allocating value.size=%zu",
                               dg->value_size);
    }
    memset(dg->value, 'x', alloc);

    snprintf(dg->partition, sizeof(dg->partition), "{\"task\":%d}", host->task_id(task));

    /* Resume after the last durable record of this task's partition. */
    const char *offset = host->offset_get(task, dg->partition);
    int64_t last = -1;
    if (offset != NULL && host->json_get_int(offset, "seq", &last) == 0 && last >= 0) {
        dg->next_seq = last + 1;
        host->log(task, FERRY_LOG_INFO, "datagen: resuming at seq %" PRId64 " (stored offset %s)",
                  dg->next_seq, offset);
    } else {
        if (offset != NULL) {
            host->log(task, FERRY_LOG_WARN,
                      "datagen: ignoring stored offset %s without a valid \"seq\"; starting at 0",
                      offset);
        }
        dg->next_seq = 0;
    }

    if (dg->rate > 0) {
        /* One token up front so that the first poll produces immediately. */
        dg->bucket_max = dg->rate > 1.0 ? dg->rate : 1.0;
        dg->tokens = 1.0;
        dg->last_refill_ns = datagen_now_ns(CLOCK_MONOTONIC);
    }
    *state = dg;
    return FERRY_OK;
}

/* How many records the rate allows now; sleeps (≤100 ms) when none is due. */
static size_t datagen_allowed(datagen_t *dg)
{
    if (dg->rate <= 0) {
        return SIZE_MAX;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int64_t now = datagen_now_ns(CLOCK_MONOTONIC);
        dg->tokens += (double)(now - dg->last_refill_ns) * 1e-9 * dg->rate;
        dg->last_refill_ns = now;
        if (dg->tokens > dg->bucket_max) {
            dg->tokens = dg->bucket_max;
        }
        if (dg->tokens >= 1.0) {
            return (size_t)dg->tokens;
        }
        if (attempt == 0) {
            double wait_ns = (1.0 - dg->tokens) / dg->rate * 1e9;
            datagen_sleep_ns(wait_ns < (double)DATAGEN_MAX_WAIT_NS ? (int64_t)wait_ns + 1
                                                                   : DATAGEN_MAX_WAIT_NS);
        }
    }
    return 0;
}

static ferry_status_t datagen_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    datagen_t *dg = state;
    const ferry_host_t *host = dg->host;

    if (dg->count > 0 && dg->next_seq >= dg->count) {
        if (!dg->finished_logged) {
            host->log(dg->task, FERRY_LOG_INFO, "datagen finished: %" PRId64 " records", dg->count);
            dg->finished_logged = 1;
        }
        /* Nothing more will come; keep the host from spinning on us. */
        datagen_sleep_ns(DATAGEN_MAX_WAIT_NS);
        return FERRY_OK;
    }

    size_t want = host->batch_room(batch);
    if (want == 0) {
        return FERRY_OK;
    }
    size_t allowed = datagen_allowed(dg);
    if (allowed < want) {
        want = allowed;
    }
    if (dg->count > 0 && (uint64_t)(dg->count - dg->next_seq) < want) {
        want = (size_t)(dg->count - dg->next_seq);
    }
    if (want == 0) {
        return FERRY_OK;
    }

    /* One timestamp per poll: records of a batch are generated within
     * microseconds of each other, and reading the clock per record would be
     * a measurable share of the cost. */
    uint64_t ts_ms = (uint64_t)(datagen_now_ns(CLOCK_REALTIME) / 1000000LL);
    char key[24];
    char offset[48];
    ferry_record_t rec = {
        .topic = dg->topic,
        .partition = -1,
        .key = key,
        .value = dg->value,
        .timestamp_ms = (int64_t)ts_ms,
        .source_partition = dg->partition,
        .source_offset = offset,
        .flags = FERRY_RECORD_KEY_STRING | FERRY_RECORD_VALUE_JSON, /* "seq" and {"seq":N,...} */
    };

    size_t added = 0;
    while (added < want) {
        uint64_t seq = (uint64_t)dg->next_seq;
        rec.key_len = datagen_u64toa(seq, key);
        rec.value_len = datagen_build_value(dg, seq, ts_ms);
        if (rec.value_len == 0) {
            /* value.size too small even for {"seq":N}: emit it unpadded. */
            int n = snprintf(dg->value, DATAGEN_PREFIX_MAX, "{\"seq\":%" PRIu64 "}", seq);
            rec.value_len = (size_t)n;
        }
        memcpy(offset, "{\"seq\":", 7);
        size_t olen = 7 + rec.key_len;
        memcpy(offset + 7, key, rec.key_len);
        offset[olen] = '}';
        offset[olen + 1] = '\0';

        ferry_status_t st = ferry_batch_add(host, batch, &rec);
        if (st == FERRY_RETRY) {
            break; /* batch full; this record is generated again next poll */
        }
        if (st != FERRY_OK) {
            if (added > 0) {
                host->metric_add(dg->task, "records", (double)added);
            }
            return ferry_error_set(err, FERRY_ERROR, "datagen: batch_add failed at seq %" PRIu64,
                                   seq);
        }
        dg->next_seq++;
        added++;
    }

    if (dg->rate > 0) {
        dg->tokens -= (double)added;
    }
    if (added > 0) {
        host->metric_add(dg->task, "records", (double)added);
    }
    return FERRY_OK;
}

static void datagen_close(void *state)
{
    datagen_t *dg = state;
    if (dg == NULL) {
        return;
    }
    const ferry_host_t *host = dg->host;
    host->free(dg->value);
    host->free(dg);
}

static const ferry_connector_t datagen_source = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "datagen",
    .version = "0.1.0",
    .description = "Generates JSON records {\"seq\":N,\"ts\":MS,\"pad\":\"...\"} of a fixed size, "
                   "optionally rate-limited, for tests and benchmarks.",
    .options = datagen_options,
    .option_size = sizeof(ferry_option_t),
    .open = datagen_open,
    .poll = datagen_poll,
    .close = datagen_close,
};

static const ferry_connector_t *const datagen_connectors[] = {&datagen_source, NULL};

static const ferry_plugin_t datagen_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "datagen",
    .version = "0.1.0",
    .connectors = datagen_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    return &datagen_plugin;
}
