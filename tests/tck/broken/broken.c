/*
 * broken.c — a test-only plugin (never installed) whose connectors each break
 * one rule of `ferry tck`, and only that one (tests/tck/tck_negative.sh):
 *   slow-source       the first poll() after open blocks for 3 s (it does
 *                     watch should_stop, so stop still works)     → poll-budget
 *   badoffset-source  source offsets that are not JSON objects    → offsets
 *   leaky-source      every successful open() leaks 64 bytes      → cycles
 *   lax-source        open() succeeds without its required topic  → open-failure
 *   overflush-sink    flush() declares limits beyond what was put → flush-limits
 * Otherwise they behave: records with a topic, offsets {"n":N} per partition
 * {"broken":1}, open() fails cleanly when the topic is missing.
 */
#define _POSIX_C_SOURCE 200809L

#include <ferry/ferry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum flaw { FLAW_SLOW, FLAW_BAD_OFFSET, FLAW_LEAK, FLAW_LAX, FLAW_OVERFLUSH };

typedef struct broken {
    const ferry_host_t *host;
    ferry_task_t *task;
    enum flaw flaw;
    const char *topic;
    long next;
    int polls;
    /* overflush-sink: per partition 0/1, one past the last offset put */
    int64_t put_end[2];
    char put_topic[256];
} broken_t;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ferry_status_t broken_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                  void **state, ferry_error_t *err, enum flaw flaw)
{
    const char *topic = host->cfg_string(cfg, "topic");
    if (!topic && flaw != FLAW_LAX && flaw != FLAW_OVERFLUSH)
        return ferry_error_set(err, FERRY_ERROR, "option topic is required");
    broken_t *b = calloc(1, sizeof(*b));
    if (!b) return ferry_error_set(err, FERRY_FATAL, "out of memory");
    b->host = host;
    b->task = task;
    b->flaw = flaw;
    b->topic = topic;
    if (flaw == FLAW_LEAK) {
        char *lost = malloc(64); /* the flaw: never freed */
        if (lost) snprintf(lost, 64, "leaked by open");
        host->log(task, FERRY_LOG_DEBUG, "%s", lost);
    }
    *state = b;
    return FERRY_OK;
}

#define OPEN_AS(fn, flaw)                                                                                 \
    static ferry_status_t fn(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,    \
                             void **state, ferry_error_t *err)                                          \
    {                                                                                                   \
        return broken_open(task, host, cfg, state, err, flaw);                                          \
    }
OPEN_AS(slow_open, FLAW_SLOW)
OPEN_AS(badoffset_open, FLAW_BAD_OFFSET)
OPEN_AS(leaky_open, FLAW_LEAK)
OPEN_AS(lax_open, FLAW_LAX)
OPEN_AS(overflush_open, FLAW_OVERFLUSH)

static ferry_status_t broken_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    broken_t *b = state;
    if (b->flaw == FLAW_SLOW && b->polls == 0) {
        /* The flaw: 3 s in one poll, though should_stop is honoured. */
        for (int i = 0; i < 300 && !b->host->should_stop(b->task); i++) sleep_ms(10);
    }
    b->polls++;
    for (int i = 0; i < 5 && b->host->batch_room(batch) > 0; i++) {
        char value[32], offset[32];
        int len = snprintf(value, sizeof(value), "broken %ld", b->next);
        if (b->flaw == FLAW_BAD_OFFSET)
            snprintf(offset, sizeof(offset), "%ld", b->next); /* the flaw: a number, not an object */
        else
            snprintf(offset, sizeof(offset), "{\"n\":%ld}", b->next);
        ferry_record_t rec = {.topic = b->topic ? b->topic : "broken",
                              .partition = -1,
                              .value = value,
                              .value_len = (size_t)len,
                              .source_partition = "{\"broken\":1}",
                              .source_offset = offset};
        ferry_status_t st = ferry_batch_add(b->host, batch, &rec);
        if (st == FERRY_RETRY) break;
        if (st != FERRY_OK) return ferry_error_set(err, st, "batch_add refused record %ld", b->next);
        b->next++;
    }
    return FERRY_OK;
}

static ferry_status_t overflush_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    broken_t *b = state;
    for (size_t i = 0; i < b->host->batch_count(batch); i++) {
        const ferry_record_t *rec = b->host->batch_get(batch, i);
        if (rec->partition < 0 || rec->partition > 1) continue;
        snprintf(b->put_topic, sizeof(b->put_topic), "%s", rec->topic);
        b->put_end[rec->partition] = rec->kafka_offset + 1;
    }
    return FERRY_OK;
}

static ferry_status_t overflush_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    broken_t *b = state;
    /* The flaw: durable "up to" offsets that were never put. */
    if (b->put_topic[0])
        for (int32_t p = 0; p < 2; p++) b->host->flush_limit(fl, b->put_topic, p, b->put_end[p] + 100);
    return FERRY_OK;
}

static void broken_close(void *state) { free(state); }

static const ferry_option_t source_options[] = {
    {"topic", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED | FERRY_OPT_TOPIC, 0, 0, NULL, "Topic of the records."},
    FERRY_OPTIONS_END};
static const ferry_option_t sink_options[] = {
    {"label", FERRY_OPT_STRING, "x", 0, 0, 0, NULL, "Unused."}, FERRY_OPTIONS_END};

#define SOURCE(var, nm, openfn)                                                                            \
    static const ferry_connector_t var = {.struct_size = sizeof(ferry_connector_t),                       \
                                          .kind = FERRY_SOURCE,                                            \
                                          .name = nm,                                                      \
                                          .version = "1",                                                  \
                                          .description = "broken on purpose (tests/tck)",                  \
                                          .options = source_options,                                       \
                                          .option_size = sizeof(ferry_option_t),                           \
                                          .open = openfn,                                                  \
                                          .poll = broken_poll,                                             \
                                          .close = broken_close}
SOURCE(slow_source, "slow-source", slow_open);
SOURCE(badoffset_source, "badoffset-source", badoffset_open);
SOURCE(leaky_source, "leaky-source", leaky_open);
SOURCE(lax_source, "lax-source", lax_open);

static const ferry_connector_t overflush_sink = {.struct_size = sizeof(ferry_connector_t),
                                                 .kind = FERRY_SINK,
                                                 .name = "overflush-sink",
                                                 .version = "1",
                                                 .description = "broken on purpose (tests/tck)",
                                                 .options = sink_options,
                                                 .option_size = sizeof(ferry_option_t),
                                                 .open = overflush_open,
                                                 .put = overflush_put,
                                                 .flush = overflush_flush,
                                                 .close = broken_close};

static const ferry_connector_t *const connectors[] = {&slow_source, &badoffset_source, &leaky_source, &lax_source,
                                                      &overflush_sink, NULL};
static const ferry_plugin_t plugin = {.abi_version = FERRY_ABI_VERSION,
                                      .struct_size = sizeof(ferry_plugin_t),
                                      .name = "broken",
                                      .version = "1",
                                      .connectors = connectors};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void) { return &plugin; }
