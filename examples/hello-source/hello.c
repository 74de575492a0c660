/*
 * hello.c — the smallest useful ferry source connector, built out of tree
 * against the installed SDK. It emits "hello 0", "hello 1", ... to `topic`,
 * one record per `interval`, and records its progress as the source offset
 * {"n":N} of the single source partition {"hello":"world"}. After a restart
 * it asks the host for the last durable offset and continues after it.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep under strict C11 */

#include <ferry/ferry.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define HELLO_PARTITION "{\"hello\":\"world\"}"
#define HELLO_MAX_WAIT_MS 100 /* poll() must come back this quickly when idle */

typedef struct hello {
    const ferry_host_t *host;
    ferry_task_t *task;
    const char *topic;   /* owned by the config, which outlives the task */
    int64_t interval_ms;
    int64_t n;           /* the next number to emit */
    int64_t next_ms;     /* monotonic time when the next record is due */
} hello_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ferry_status_t hello_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                 void **state, ferry_error_t *err)
{
    /* Everything used here exists since ABI 1.0. A member appended in a
     * later minor version would be guarded the same way before use. */
    if (!FERRY_HOST_HAS(host, should_stop))
        return ferry_error_set(err, FERRY_FATAL, "this ferry is too old for hello-source");

    /* The host checked the config against the option table, but a plugin
     * does not trust that: `ferry tck` opens it without its required topic. */
    const char *topic = host->cfg_string(cfg, "topic");
    if (!topic || !topic[0]) return ferry_error_set(err, FERRY_ERROR, "hello-source: option topic must not be empty");

    hello_t *h = host->alloc(sizeof(*h));
    if (!h) return ferry_error_set(err, FERRY_RETRY, "out of memory");
    h->host = host;
    h->task = task;
    h->topic = topic;
    h->interval_ms = host->cfg_duration_ms(cfg, "interval");
    h->n = 0;

    /* Resume after the last number that is durable in the offset store. */
    const char *offset = host->offset_get(task, HELLO_PARTITION);
    int64_t last;
    if (offset && host->json_get_int(offset, "n", &last) == 0) h->n = last + 1;
    h->next_ms = now_ms();
    host->log(task, FERRY_LOG_INFO, "starting at hello %" PRId64 " (topic %s, every %" PRId64 " ms)", h->n,
              h->topic, h->interval_ms);
    *state = h;
    return FERRY_OK;
}

static ferry_status_t hello_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    hello_t *h = state;
    int64_t now = now_ms();
    if (now < h->next_ms) {
        /* Not due yet: wait a little, but never so long that a stop request
         * or a shutdown has to wait for us. */
        int64_t wait = h->next_ms - now;
        sleep_ms(wait < HELLO_MAX_WAIT_MS ? wait : HELLO_MAX_WAIT_MS);
        now = now_ms();
    }
    while (now >= h->next_ms && h->host->batch_room(batch) > 0 && !h->host->should_stop(h->task)) {
        char value[64], offset[64];
        int len = snprintf(value, sizeof(value), "hello %" PRId64, h->n);
        snprintf(offset, sizeof(offset), "{\"n\":%" PRId64 "}", h->n);
        ferry_record_t rec = {
            .topic = h->topic,
            .partition = -1,
            .value = value,
            .value_len = (size_t)len,
            .source_partition = HELLO_PARTITION,
            .source_offset = offset,
        };
        /* batch_add copies the record, so the stack buffers are fine. */
        ferry_status_t st = ferry_batch_add(h->host, batch, &rec);
        if (st == FERRY_RETRY) break; /* batch full: the same number goes into the next one */
        if (st != FERRY_OK) return ferry_error_set(err, st, "batch_add failed for hello %" PRId64, h->n);
        h->n++;
        h->next_ms += h->interval_ms;
        /* After a long stall, carry on at the normal pace instead of
         * bursting out every missed record at once. */
        if (h->interval_ms > 0 && h->next_ms < now) h->next_ms = now + h->interval_ms;
    }
    return FERRY_OK;
}

static void hello_close(void *state)
{
    hello_t *h = state;
    if (h) h->host->free(h);
}

static const ferry_option_t hello_options[] = {
    {"topic", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL, "Kafka topic the greetings go to."},
    {"interval", FERRY_OPT_DURATION, "1s", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "Wait between two records; 0 emits as fast as the batch allows."},
    FERRY_OPTIONS_END,
};

static const ferry_connector_t hello_source = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "hello-source",
    .version = "1.0.0",
    .description = "Emits \"hello N\" records, resuming after the last committed N.",
    .options = hello_options,
    .option_size = sizeof(ferry_option_t),
    .open = hello_open,
    .poll = hello_poll,
    .close = hello_close,
};

static const ferry_connector_t *const hello_connectors[] = {&hello_source, NULL};

static const ferry_plugin_t hello_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "hello",
    .version = "1.0.0",
    .connectors = hello_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void) { return &hello_plugin; }
