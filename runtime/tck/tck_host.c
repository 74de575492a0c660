/*
 * tck_host.c — the TCK's in-process host: the runtime's own host table
 * (so a plugin meets the same config getters, batch checks, offset lookups
 * and logging as under `ferry run`), with sink batches that the TCK makes
 * up in memory instead of consuming them from Kafka; and the heap and
 * clock readings the rules measure with.
 */
#include "tck/tck_internal.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/strutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define TCK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TCK_ASAN 1
#endif
#endif
#ifdef TCK_ASAN
/* From the sanitizer runtime (sanitizer/allocator_interface.h, which not
 * every compiler package ships). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* ---- sink batches ------------------------------------------------------------------ */

static const ferry_header_t tck_headers[] = {{"tck", "yes", 3}};

struct tck_sink_batch {
    ferry_record_t *recs; /* owned; topic, key and value point into strings */
    char **strings;       /* owned: everything the records point at */
    size_t count, nstrings;
};

static char *batch_string(tck_sink_batch_t *b, char *s)
{
    b->strings[b->nstrings++] = s;
    return s;
}

tck_sink_batch_t *tck_sink_batch_new(const char *topic, size_t count, int64_t next_offset[2])
{
    tck_sink_batch_t *b = xcalloc(1, sizeof(*b));
    b->recs = xcalloc(count ? count : 1, sizeof(*b->recs));
    b->strings = xcalloc(2 * count + 1, sizeof(*b->strings));
    b->count = count;
    const char *t = batch_string(b, str_dup(topic));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (size_t i = 0; i < count; i++) {
        ferry_record_t *rec = &b->recs[i];
        int32_t p = (int32_t)(i % 2);
        int64_t off = next_offset[p]++;
        rec->topic = t;
        rec->partition = p;
        rec->kafka_offset = off;
        rec->timestamp_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        rec->timestamp_type = FERRY_TIMESTAMP_CREATE;
        rec->headers = tck_headers;
        rec->header_count = 1;
        char *key = batch_string(b, str_printf("key-%d-%lld", (int)p, (long long)off));
        rec->key = key;
        rec->key_len = strlen(key);
        rec->flags = FERRY_RECORD_KEY_STRING;
        if (i + 1 < count) { /* the last record is a tombstone: sinks must take those too */
            char *value = batch_string(b, str_printf("tck record %d/%lld", (int)p, (long long)off));
            rec->value = value;
            rec->value_len = strlen(value);
            rec->flags |= FERRY_RECORD_VALUE_STRING;
        }
    }
    return b;
}

void tck_sink_batch_free(tck_sink_batch_t *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->nstrings; i++) free(b->strings[i]);
    free(b->strings);
    free(b->recs);
    free(b);
}

/* The host functions below are the only readers of the handle. */
ferry_batch_t *tck_sink_batch_handle(tck_sink_batch_t *b) { return (ferry_batch_t *)(void *)b; }

static const tck_sink_batch_t *sink_batch(const ferry_batch_t *batch)
{
    return (const tck_sink_batch_t *)(const void *)batch;
}

static size_t tck_batch_count(const ferry_batch_t *batch) { return batch ? sink_batch(batch)->count : 0; }

static const ferry_record_t *tck_batch_get(const ferry_batch_t *batch, size_t index)
{
    const tck_sink_batch_t *b = sink_batch(batch);
    return b && index < b->count ? &b->recs[index] : NULL;
}

/* What a source calls is refused on a sink's batch, as the runtime does. */
static ferry_status_t tck_batch_add(ferry_batch_t *batch, const ferry_record_t *rec) { return FERRY_ERROR; }
static ferry_status_t tck_batch_add_sized(ferry_batch_t *batch, const ferry_record_t *rec, size_t size)
{
    return FERRY_ERROR;
}
static size_t tck_batch_room(const ferry_batch_t *batch) { return 0; }
static void *tck_batch_alloc(ferry_batch_t *batch, size_t size) { return NULL; }

/* ---- the tables ------------------------------------------------------------------- */

const ferry_host_t *tck_host_source(void) { return host_api(); }

static ferry_host_t sink_table; /* written once, under sink_once */
static pthread_once_t sink_once = PTHREAD_ONCE_INIT;

static void sink_table_init(void)
{
    sink_table = *host_api();
    sink_table.batch_count = tck_batch_count;
    sink_table.batch_get = tck_batch_get;
    sink_table.batch_add = tck_batch_add;
    sink_table.batch_add_sized = tck_batch_add_sized;
    sink_table.batch_room = tck_batch_room;
    sink_table.batch_alloc = tck_batch_alloc;
}

const ferry_host_t *tck_host_sink(void)
{
    pthread_once(&sink_once, sink_table_init);
    return &sink_table;
}

/* ---- heap and clock ----------------------------------------------------------------- */

int64_t tck_heap_bytes(void)
{
#ifdef TCK_ASAN
    return (int64_t)__sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return (int64_t)(mi.uordblks + mi.hblkhd);
#endif
}

int64_t tck_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tck_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
