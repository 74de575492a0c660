/*
 * legacy_plugin.c — a plugin built against an earlier ABI header (frozen
 * copies in tests/abi/v1_0, v1_1 and v1_2: built once against each), to
 * prove that today's host still loads and runs what was built for earlier
 * SDKs: a connector descriptor without option_size, records through the 1.0
 * batch_add, and a sink that reads only 1.0 record members.
 *   legacy-source  count records "legacy:<n>" to topic, offset {"n":<n>}
 *   legacy-sink    appends values to path
 */
#include <ferry/ferry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if FERRY_ABI_MINOR > 2
#error "legacy_plugin.c must be built against a frozen header (tests/abi/v1_0, v1_1 or v1_2)"
#endif

typedef struct legacy {
    const ferry_host_t *host;
    long next, count;
    const char *topic;
    FILE *out;
} legacy_t;

static const ferry_option_t source_options[] = {
    {"topic", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL, "Topic."},
    {"count", FERRY_OPT_INT, "10", FERRY_OPT_HAS_MIN, 1, 0, NULL, "Records."},
    FERRY_OPTIONS_END};
static const ferry_option_t sink_options[] = {
    {"path", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL, "Output file."}, FERRY_OPTIONS_END};

static ferry_status_t legacy_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                  void **state, ferry_error_t *err)
{
    /* The source declares topic, the sink path; a config without it (which
     * only a lax host would pass, `ferry tck` tries) fails open. */
    const char *topic = host->cfg_string(cfg, "topic"), *path = host->cfg_string(cfg, "path");
    if (!topic && !path) return ferry_error_set(err, FERRY_ERROR, "no topic (source) or path (sink)");
    legacy_t *l = calloc(1, sizeof(*l));
    if (!l) return ferry_error_set(err, FERRY_FATAL, "out of memory");
    l->host = host;
    l->topic = topic;
    l->count = (long)host->cfg_int(cfg, "count");
    if (path && !(l->out = fopen(path, "a"))) {
        free(l);
        return ferry_error_set(err, FERRY_ERROR, "cannot open %s", path);
    }
    /* Resume after the stored offset, as a real source would. */
    const char *stored = host->offset_get(task, "{\"legacy\":1}");
    int64_t n;
    if (stored && host->json_get_int(stored, "n", &n) == 0) l->next = (long)n + 1;
    *state = l;
    return FERRY_OK;
}

static ferry_status_t legacy_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    (void)err;
    legacy_t *l = state;
    if (l->next >= l->count) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        return FERRY_OK;
    }
    char value[32], off[32];
    while (l->next < l->count && l->host->batch_room(batch) > 0) {
        int vlen = snprintf(value, sizeof(value), "legacy:%ld", l->next);
        snprintf(off, sizeof(off), "{\"n\":%ld}", l->next);
        ferry_record_t rec = {.topic = l->topic, .partition = -1, .value = value, .value_len = (size_t)vlen,
                              .source_partition = "{\"legacy\":1}", .source_offset = off};
        if (l->host->batch_add(batch, &rec) != FERRY_OK) break;
        l->next++;
    }
    return FERRY_OK;
}

static ferry_status_t legacy_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    (void)err;
    legacy_t *l = state;
    for (size_t i = 0; i < l->host->batch_count(batch); i++) {
        const ferry_record_t *r = l->host->batch_get(batch, i);
        if (!r->value) continue; /* a tombstone */
        fprintf(l->out, "%.*s\n", (int)r->value_len, (const char *)r->value);
    }
    return FERRY_OK;
}

static ferry_status_t legacy_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    (void)fl, (void)err;
    legacy_t *l = state;
    return fflush(l->out) == 0 ? FERRY_OK : FERRY_RETRY;
}

static void legacy_close(void *state)
{
    legacy_t *l = state;
    if (l->out) fclose(l->out);
    free(l);
}

static const ferry_connector_t legacy_source = {
    .struct_size = sizeof(ferry_connector_t), .kind = FERRY_SOURCE, .name = "legacy-source", .version = "1.0.0",
    .description = "built against ABI 1.0", .options = source_options, .open = legacy_open, .poll = legacy_poll,
    .close = legacy_close};
static const ferry_connector_t legacy_sink = {
    .struct_size = sizeof(ferry_connector_t), .kind = FERRY_SINK, .name = "legacy-sink", .version = "1.0.0",
    .description = "built against ABI 1.0", .options = sink_options, .open = legacy_open, .put = legacy_put,
    .flush = legacy_flush, .close = legacy_close};
static const ferry_connector_t *const connectors[] = {&legacy_source, &legacy_sink, NULL};
static const ferry_plugin_t plugin = {.abi_version = FERRY_ABI_VERSION, .struct_size = sizeof(ferry_plugin_t),
                                      .name = "legacy", .version = "1.0.0", .connectors = connectors};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void) { return &plugin; }
