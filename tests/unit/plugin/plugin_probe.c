/*
 * plugin_probe.c — a tiny front end to the plugin loader for script tests.
 *
 *   plugin_probe FILE...
 *       loads each file; prints "NAME KIND VERSION" per registered connector;
 *       exits 1 (printing the loader's error) when a file is refused.
 *   plugin_probe --run CONNECTOR --records N [--offset JSON] [--set KEY=VALUE]... FILE
 *       also opens CONNECTOR (a source) with a minimal stand-in host, polls
 *       until N records arrived and prints "TOPIC VALUE PARTITION OFFSET" for
 *       each. --offset is what offset_get returns for any partition.
 *
 * The stand-in host knows only what a simple source needs: string and
 * duration options, batch_add/batch_room, offset_get, json_get_int, logging.
 * Durations are given in milliseconds.
 */
#include <ferry/ferry.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin.h"
#include "util/strutil.h"

#define PROBE_MAX_SET 16
#define PROBE_MAX_POLLS 1000

struct ferry_config {
    const char *keys[PROBE_MAX_SET];
    const char *values[PROBE_MAX_SET];
    size_t count;
};

struct ferry_task {
    const char *offset; /* what offset_get returns */
};

struct ferry_batch {
    size_t count, room;
};

static FERRY_PRINTF(3, 4) void probe_log(ferry_task_t *task, ferry_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("log: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void *probe_alloc(size_t size) { return calloc(1, size ? size : 1); }
static void probe_free(void *ptr) { free(ptr); }

static const char *probe_cfg_string(const ferry_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->keys[i], name) == 0) return cfg->values[i];
    return NULL;
}

static int64_t probe_cfg_int(const ferry_config_t *cfg, const char *name)
{
    const char *v = probe_cfg_string(cfg, name);
    return v ? strtoll(v, NULL, 10) : 0;
}

static ferry_status_t probe_batch_add(ferry_batch_t *batch, const ferry_record_t *rec)
{
    if (batch->room == 0) return FERRY_RETRY;
    printf("%s %.*s %s %s\n", rec->topic ? rec->topic : "-", (int)rec->value_len, (const char *)rec->value,
           rec->source_partition ? rec->source_partition : "-", rec->source_offset ? rec->source_offset : "-");
    batch->count++;
    batch->room--;
    return FERRY_OK;
}

static size_t probe_batch_room(const ferry_batch_t *batch) { return batch->room; }

static const char *probe_offset_get(ferry_task_t *task, const char *source_partition) { return task->offset; }

/* Good enough for the flat offsets of the example: finds "field": NUMBER. */
static int probe_json_get_int(const char *json, const char *field, int64_t *out)
{
    char *needle = str_printf("\"%s\":", field);
    const char *p = json ? strstr(json, needle) : NULL;
    free(needle);
    if (!p) return -1;
    p = strchr(p, ':') + 1;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p) return -1;
    *out = v;
    return 0;
}

static int probe_should_stop(ferry_task_t *task) { return 0; }

static int run_source(const ferry_connector_t *conn, ferry_config_t *cfg, const char *offset, size_t want)
{
    ferry_host_t host = {
        .abi_version = FERRY_ABI_VERSION,
        .struct_size = sizeof(ferry_host_t),
        .log = probe_log,
        .alloc = probe_alloc,
        .free = probe_free,
        .cfg_string = probe_cfg_string,
        .cfg_int = probe_cfg_int,
        .cfg_duration_ms = probe_cfg_int,
        .batch_add = probe_batch_add,
        .batch_room = probe_batch_room,
        .offset_get = probe_offset_get,
        .json_get_int = probe_json_get_int,
        .should_stop = probe_should_stop,
    };
    ferry_task_t task = {offset};
    ferry_error_t err = {{0}};
    void *state = NULL;
    if (conn->kind != FERRY_SOURCE || !conn->poll) {
        fprintf(stderr, "%s is not a source\n", conn->name);
        return 1;
    }
    if (conn->open(&task, &host, cfg, &state, &err) != FERRY_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    size_t got = 0;
    int rc = 0;
    for (int polls = 0; got < want; polls++) {
        if (polls >= PROBE_MAX_POLLS) {
            fprintf(stderr, "only %zu of %zu records after %d polls\n", got, want, polls);
            rc = 1;
            break;
        }
        ferry_batch_t batch = {0, want - got};
        ferry_status_t st = conn->poll(state, &batch, &err);
        if (st != FERRY_OK) {
            fprintf(stderr, "poll: status %d: %s\n", (int)st, err.msg);
            rc = 1;
            break;
        }
        got += batch.count;
    }
    conn->close(state);
    return rc;
}

int main(int argc, char **argv)
{
    const char *run = NULL, *offset = NULL;
    size_t records = 0;
    ferry_config_t cfg = {.count = 0};
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (i + 1 >= argc) break;
        if (strcmp(argv[i], "--run") == 0) {
            run = argv[++i];
        } else if (strcmp(argv[i], "--records") == 0) {
            records = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--offset") == 0) {
            offset = argv[++i];
        } else if (strcmp(argv[i], "--set") == 0 && cfg.count < PROBE_MAX_SET) {
            char *kv = argv[++i];
            char *eq = strchr(kv, '=');
            if (!eq) break;
            *eq = '\0';
            cfg.keys[cfg.count] = kv;
            cfg.values[cfg.count++] = eq + 1;
        } else {
            break;
        }
    }
    if (i >= argc || strncmp(argv[i], "--", 2) == 0) {
        fprintf(stderr, "usage: plugin_probe [--run CONNECTOR --records N [--offset JSON] [--set K=V]...] FILE...\n");
        return 2;
    }

    plugin_registry_t *reg = plugin_registry_new();
    int rc = 0;
    for (; i < argc && rc == 0; i++) {
        char err[1024];
        if (plugin_registry_load_file(reg, argv[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            rc = 1;
        }
    }
    for (size_t c = 0; rc == 0 && c < plugin_registry_count(reg); c++) {
        const ferry_connector_t *conn = plugin_registry_get(reg, c, NULL, NULL);
        printf("%s %s %s\n", conn->name, conn->kind == FERRY_SOURCE ? "source" : "sink",
               conn->version ? conn->version : "-");
    }
    if (rc == 0 && run) {
        const ferry_connector_t *conn = plugin_registry_find(reg, run, NULL);
        if (!conn) {
            fprintf(stderr, "no connector %s\n", run);
            rc = 1;
        } else {
            rc = run_source(conn, &cfg, offset, records);
        }
    }
    plugin_registry_free(reg);
    return rc;
}
