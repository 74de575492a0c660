/*
 * testkit.c — a plugin that exercises the host's contract in ways the
 * built-in connectors do not (tests only; never installed):
 *   reuse-source      formats topic and source partition into one reused
 *                     stack buffer for every record (hosts must copy by content)
 *   bad-offset-source emits an offset that is not a JSON object
 *   half-sink         writes records to `path`, but each flush declares only
 *                     the first half of what was put (per partition) durable
 */
#include <ferry/ferry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct kit {
    const ferry_host_t *host;
    ferry_task_t *task;
    long next, count;
    int bad;
    FILE *out;
    /* half-sink: per partition, the put records not yet declared durable. */
    struct pend {
        char topic[128];
        int32_t partition;
        long first, last; /* kafka offsets [first, last] put but not durable */
        int any;
    } pend[64];
    int npend;
} kit_t;

static const ferry_option_t source_options[] = {
    {"count", FERRY_OPT_INT, "100", FERRY_OPT_HAS_MIN, 1, 0, NULL, "Records to emit."},
    FERRY_OPTIONS_END};
static const ferry_option_t sink_options[] = {
    {"path", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL, "Output file."}, FERRY_OPTIONS_END};

static ferry_status_t kit_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg, void **state,
                               ferry_error_t *err)
{
    kit_t *k = calloc(1, sizeof(*k));
    if (!k) return ferry_error_set(err, FERRY_FATAL, "out of memory");
    k->host = host;
    k->task = task;
    const char *path = host->cfg_string(cfg, "path");
    if (path) {
        k->out = fopen(path, "a");
        if (!k->out) {
            free(k);
            return ferry_error_set(err, FERRY_ERROR, "cannot open %s", path);
        }
    } else {
        k->count = (long)host->cfg_int(cfg, "count");
        k->bad = strcmp(host->connector_name(task), "bad") == 0;
    }
    *state = k;
    return FERRY_OK;
}

static ferry_status_t reuse_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    kit_t *k = state;
    struct timespec ts = {0, 20 * 1000 * 1000};
    if (k->next >= k->count) {
        nanosleep(&ts, NULL);
        return FERRY_OK;
    }
    /* One buffer for everything: topic, partition and offset are
     * overwritten for each record, as a careless plugin would do. */
    char topic[32], part[64], off[64], value[64];
    while (k->next < k->count && k->host->batch_room(batch) > 0) {
        long n = k->next;
        snprintf(topic, sizeof(topic), "kit%ld", n % 2);
        snprintf(part, sizeof(part), "{\"stream\":%ld}", n % 2);
        if (k->bad)
            snprintf(off, sizeof(off), "%ld", n);
        else
            snprintf(off, sizeof(off), "{\"n\":%ld}", n);
        int vlen = snprintf(value, sizeof(value), "%s:%ld", topic, n);
        ferry_record_t rec = {.topic = topic, .partition = -1, .value = value, .value_len = (size_t)vlen,
                              .source_partition = part, .source_offset = off};
        if (k->host->batch_add(batch, &rec) != FERRY_OK) break;
        k->next++;
    }
    return FERRY_OK;
}

static ferry_status_t half_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    kit_t *k = state;
    for (size_t i = 0; i < k->host->batch_count(batch); i++) {
        const ferry_record_t *r = k->host->batch_get(batch, i);
        fprintf(k->out, "%.*s\n", (int)r->value_len, (const char *)r->value);
        struct pend *p = NULL;
        for (int j = 0; j < k->npend; j++)
            if (k->pend[j].partition == r->partition && strcmp(k->pend[j].topic, r->topic) == 0) p = &k->pend[j];
        if (!p) {
            if (k->npend == 64) return ferry_error_set(err, FERRY_FATAL, "too many partitions");
            p = &k->pend[k->npend++];
            snprintf(p->topic, sizeof(p->topic), "%s", r->topic);
            p->partition = r->partition;
        }
        if (!p->any) p->first = (long)r->kafka_offset;
        p->last = (long)r->kafka_offset;
        p->any = 1;
    }
    return FERRY_OK;
}

static ferry_status_t half_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    kit_t *k = state;
    fflush(k->out);
    /* Durable: the first half of each pending range; log what we declare so
     * the test can compare it with the group's committed offsets. */
    for (int j = 0; j < k->npend; j++) {
        struct pend *p = &k->pend[j];
        if (!p->any) {
            k->host->flush_limit(fl, p->topic, p->partition, p->last + 1);
            continue;
        }
        long durable_next = p->first + (p->last - p->first + 1) / 2;
        k->host->flush_limit(fl, p->topic, p->partition, durable_next);
        k->host->log(k->task, FERRY_LOG_INFO, "durable %s/%d next=%ld", p->topic, (int)p->partition, durable_next);
        if (durable_next > p->last)
            p->any = 0;
        else
            p->first = durable_next;
    }
    return FERRY_OK;
}

static void kit_close(void *state)
{
    kit_t *k = state;
    if (k->out) fclose(k->out);
    free(k);
}

static const ferry_connector_t reuse_source = {
    .struct_size = sizeof(ferry_connector_t), .kind = FERRY_SOURCE, .name = "reuse-source", .version = "1",
    .description = "test: reuses one buffer for topic and partition", .options = source_options,
    .open = kit_open, .poll = reuse_poll, .close = kit_close};
static const ferry_connector_t half_sink = {
    .struct_size = sizeof(ferry_connector_t), .kind = FERRY_SINK, .name = "half-sink", .version = "1",
    .description = "test: declares half of each flush durable", .options = sink_options, .open = kit_open,
    .put = half_put, .flush = half_flush, .close = kit_close};

/* testkit_more.c */
extern const ferry_connector_t *const testkit_more_connectors[];

static const ferry_connector_t *connectors[16];
static const ferry_plugin_t plugin = {.abi_version = FERRY_ABI_VERSION, .struct_size = sizeof(ferry_plugin_t),
                                      .name = "testkit", .version = "1",
                                      .connectors = (const ferry_connector_t *const *)connectors};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    if (!connectors[0]) {
        size_t n = 0;
        connectors[n++] = &reuse_source;
        connectors[n++] = &half_sink;
        for (size_t i = 0; testkit_more_connectors[i]; i++) connectors[n++] = testkit_more_connectors[i];
    }
    return &plugin;
}
