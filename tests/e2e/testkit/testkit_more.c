/*
 * testkit_more.c — the testkit connectors for the error policy, shutdown,
 * secrets and the SDK 1.1 sink context (tests only; never installed):
 *   mixed-source   emits count records; every bad.every-th one is bad in
 *                  the way bad.kind says (an illegal topic, a value too
 *                  large for the producer, an offset that is not JSON);
 *                  after retry.after records it returns RETRY until
 *                  release.path exists; logs and fails with its password
 *                  when asked (the host must scrub it); builds values in
 *                  batch memory (batch_alloc)
 *   stuck-source   emits nothing; its stop() never returns
 *   reject-sink    writes values to path, rejects those containing "bad"
 *                  through record_error; can rewind once, request commits,
 *                  pause its partitions for a while; logs partition changes
 *   taskcfg-source task_configs sets the key named by forbidden.key
 */
#include <ferry/ferry.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const bad_kinds[] = {"topic", "size", "offset", NULL};

static const ferry_option_t mixed_options[] = {
    {"topic", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED | FERRY_OPT_TOPIC, 0, 0, NULL, "Topic."},
    {"count", FERRY_OPT_INT, "100", FERRY_OPT_HAS_MIN, 1, 0, NULL, "Records to emit."},
    {"bad.every", FERRY_OPT_INT, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL, "Every n-th record is bad; 0 = none."},
    {"bad.kind", FERRY_OPT_ENUM, "topic", 0, 0, 0, bad_kinds, "What is wrong with a bad record (cycled by index when 'mix' is true)."},
    {"bad.mix", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL, "Cycle through every kind of bad record."},
    {"retry.after", FERRY_OPT_INT, "-1", 0, 0, 0, NULL, "After this many records poll() returns RETRY until release.path exists."},
    {"release.path", FERRY_OPT_STRING, "", 0, 0, 0, NULL, "See retry.after."},
    {"password", FERRY_OPT_SECRET, "", 0, 0, 0, NULL, "A secret the plugin leaks in logs and errors."},
    {"fail.unterminated", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL, "Fail the first poll with an error message without NUL."},
    FERRY_OPTIONS_END};

static const ferry_option_t reject_options[] = {
    {"path", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL, "Output file."},
    {"rewind.once", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL, "After the first put, rewind each partition once to the first offset put."},
    {"commit.request", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL, "Ask for a commit after every put."},
    {"pause.ms", FERRY_OPT_INT, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL, "Pause newly assigned partitions this long."},
    {"flush.fail.on.stop", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL, "flush() fails once the task is asked to stop."},
    FERRY_OPTIONS_END};

static const ferry_option_t stuck_options[] = {FERRY_OPTIONS_END};
static const ferry_option_t taskcfg_options[] = {
    {"forbidden.key", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL, "Key task_configs sets."},
    FERRY_OPTIONS_END};

typedef struct part {
    char topic[128];
    int32_t partition;
    int64_t first;
    int rewound;
} part_t;

typedef struct more {
    const ferry_host_t *host;
    ferry_task_t *task;
    const ferry_config_t *cfg;
    long next, count, bad_every, retry_after;
    int bad_mix, fail_unterminated, retry_logged;
    const char *bad_kind, *topic, *release, *password;
    FILE *out;
    int rewind_once, commit_request, flush_fail_on_stop;
    long pause_ms;
    struct timespec paused_at;
    int paused;
    part_t parts[64];
    int nparts;
    atomic_int stop;
} more_t;

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ferry_status_t more_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg, void **state,
                                ferry_error_t *err)
{
    more_t *m = calloc(1, sizeof(*m));
    if (!m) return ferry_error_set(err, FERRY_FATAL, "out of memory");
    m->host = host;
    m->task = task;
    m->cfg = cfg;
    m->count = (long)host->cfg_int(cfg, "count");
    m->bad_every = (long)host->cfg_int(cfg, "bad.every");
    m->bad_kind = host->cfg_string(cfg, "bad.kind");
    m->bad_mix = host->cfg_bool(cfg, "bad.mix");
    m->retry_after = (long)host->cfg_int(cfg, "retry.after");
    m->release = host->cfg_string(cfg, "release.path");
    m->password = host->cfg_string(cfg, "password");
    m->topic = host->cfg_string(cfg, "topic");
    m->fail_unterminated = host->cfg_bool(cfg, "fail.unterminated");
    m->rewind_once = host->cfg_bool(cfg, "rewind.once");
    m->commit_request = host->cfg_bool(cfg, "commit.request");
    m->flush_fail_on_stop = host->cfg_bool(cfg, "flush.fail.on.stop");
    m->pause_ms = (long)host->cfg_int(cfg, "pause.ms");
    const char *path = host->cfg_string(cfg, "path");
    if (path && !(m->out = fopen(path, "a"))) {
        free(m);
        return ferry_error_set(err, FERRY_ERROR, "cannot open %s", path);
    }
    if (m->password && *m->password)
        host->log(task, FERRY_LOG_INFO, "connecting with password %s", m->password);
    *state = m;
    return FERRY_OK;
}

static const char *bad_kind_of(const more_t *m, long n)
{
    if (!m->bad_every || (n + 1) % m->bad_every != 0) return NULL;
    return m->bad_mix ? bad_kinds[((n + 1) / m->bad_every) % 3] : m->bad_kind;
}

static ferry_status_t mixed_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    more_t *m = state;
    if (m->fail_unterminated) {
        memset(err->msg, 'A', sizeof(err->msg)); /* no NUL: the host must not read past it */
        return FERRY_ERROR;
    }
    if (m->retry_after >= 0 && m->next >= m->retry_after && access(m->release, F_OK) != 0) {
        if (!m->retry_logged++) m->host->log(m->task, FERRY_LOG_INFO, "retrying from n=%ld", m->next);
        return ferry_error_set(err, FERRY_RETRY, "upstream unavailable (password %s)", m->password);
    }
    if (m->next >= m->count) {
        nap(20);
        return FERRY_OK;
    }
    char off[64];
    while (m->next < m->count && m->host->batch_room(batch) > 0) {
        if (m->retry_after >= 0 && m->next == m->retry_after && access(m->release, F_OK) != 0) break;
        long n = m->next;
        const char *bad = bad_kind_of(m, n);
        size_t vlen = bad && strcmp(bad, "size") == 0 ? 3000 : 32;
        char *value = m->host->batch_alloc(batch, vlen);
        memset(value, '.', vlen);
        int w = snprintf(value, vlen, "mixed:%ld:%s", n, bad ? bad : "good");
        value[w] = '.';
        snprintf(off, sizeof(off), bad && strcmp(bad, "offset") == 0 ? "n=%ld" : "{\"n\": %ld}", n);
        char key[32];
        int klen = snprintf(key, sizeof(key), "%ld", n);
        ferry_record_t rec = {.topic = bad && strcmp(bad, "topic") == 0 ? "bad topic!" : m->topic, .partition = -1,
                              .key = key, .key_len = (size_t)klen, .value = value, .value_len = vlen,
                              .source_partition = "{\"src\": \"mixed\"}", .source_offset = off};
        ferry_status_t st = ferry_batch_add(m->host, batch, &rec);
        if (st == FERRY_RETRY) break;
        m->next++;
        if (st == FERRY_ERROR) return FERRY_OK; /* the host fails the task with the reason */
    }
    return FERRY_OK;
}

static ferry_status_t mixed_commit(void *state, const ferry_offset_t *offsets, size_t count, ferry_error_t *err)
{
    (void)err;
    more_t *m = state;
    for (size_t i = 0; i < count; i++) m->host->log(m->task, FERRY_LOG_INFO, "commit %s", offsets[i].source_offset);
    return FERRY_OK;
}

static void more_close(void *state)
{
    more_t *m = state;
    if (m->out) fclose(m->out);
    free(m);
}

/* ---- stuck-source ---------------------------------------------------------------- */

static ferry_status_t stuck_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    (void)state, (void)batch, (void)err;
    nap(20);
    return FERRY_OK;
}

static void stuck_stop(void *state)
{
    more_t *m = state;
    m->host->log(m->task, FERRY_LOG_INFO, "stop() called: blocking forever");
    for (;;) nap(1000);
}

/* ---- reject-sink ------------------------------------------------------------------- */

static part_t *part_of(more_t *m, const char *topic, int32_t partition)
{
    for (int i = 0; i < m->nparts; i++)
        if (m->parts[i].partition == partition && strcmp(m->parts[i].topic, topic) == 0) return &m->parts[i];
    if (m->nparts == 64) return NULL;
    part_t *p = &m->parts[m->nparts++];
    snprintf(p->topic, sizeof(p->topic), "%s", topic);
    p->partition = partition;
    p->first = -1;
    return p;
}

static ferry_status_t reject_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    more_t *m = state;
    for (size_t i = 0; i < m->host->batch_count(batch); i++) {
        const ferry_record_t *r = m->host->batch_get(batch, i);
        if (r->value && memmem(r->value, r->value_len, "bad", 3)) {
            if (m->host->record_error(m->task, r, "the target refused this record") != FERRY_OK)
                return ferry_error_set(err, FERRY_ERROR, "record %lld rejected", (long long)r->kafka_offset);
            continue;
        }
        fprintf(m->out, "%.*s\n", (int)r->value_len, (const char *)r->value);
        part_t *p = part_of(m, r->topic, r->partition);
        if (p && p->first < 0) p->first = r->kafka_offset;
    }
    if (m->rewind_once) {
        for (int i = 0; i < m->nparts; i++) {
            part_t *p = &m->parts[i];
            if (p->rewound || p->first < 0) continue;
            p->rewound = 1;
            m->host->log(m->task, FERRY_LOG_INFO, "rewinding %s/%d to %lld", p->topic, (int)p->partition,
                         (long long)p->first);
            m->host->sink_rewind(m->task, p->topic, p->partition, p->first);
        }
    }
    if (m->commit_request) m->host->request_commit(m->task);
    return FERRY_OK;
}

static ferry_status_t reject_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    (void)fl;
    more_t *m = state;
    fflush(m->out);
    if (m->flush_fail_on_stop && m->host->should_stop(m->task))
        return ferry_error_set(err, FERRY_ERROR, "the target is gone (flush.fail.on.stop)");
    if (m->paused) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - m->paused_at.tv_sec) * 1000 + (now.tv_nsec - m->paused_at.tv_nsec) / 1000000;
        if (ms >= m->pause_ms) {
            for (int i = 0; i < m->nparts; i++) m->host->sink_resume(m->task, m->parts[i].topic, m->parts[i].partition);
            m->paused = 0;
            m->host->log(m->task, FERRY_LOG_INFO, "resumed after %ld ms", ms);
        }
    }
    return FERRY_OK;
}

static ferry_status_t reject_parts(more_t *m, const ferry_partition_t *parts, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++) {
        m->host->log(m->task, FERRY_LOG_INFO, "%s %s/%d", what, parts[i].topic, (int)parts[i].partition);
        if (strcmp(what, "assigned") == 0 && m->pause_ms > 0) {
            part_of(m, parts[i].topic, parts[i].partition);
            m->host->sink_pause(m->task, parts[i].topic, parts[i].partition);
            clock_gettime(CLOCK_MONOTONIC, &m->paused_at);
            m->paused = 1;
        }
    }
    return FERRY_OK;
}

static ferry_status_t reject_assigned(void *state, const ferry_partition_t *parts, size_t count, ferry_error_t *err)
{
    (void)err;
    return reject_parts(state, parts, count, "assigned");
}

static ferry_status_t reject_revoked(void *state, const ferry_partition_t *parts, size_t count, ferry_error_t *err)
{
    (void)err;
    return reject_parts(state, parts, count, "revoked");
}

/* ---- taskcfg-source -------------------------------------------------------------------- */

static ferry_status_t taskcfg_configs(const ferry_host_t *host, const ferry_config_t *cfg, int tasks_max,
                                      ferry_taskset_t *set, ferry_error_t *err)
{
    (void)tasks_max, (void)err;
    int i = host->taskset_add(set);
    host->taskset_put(set, i, host->cfg_string(cfg, "forbidden.key"), "x");
    return FERRY_OK;
}

#define SOURCE(var, nm, opts, ...)                                                                \
    static const ferry_connector_t var = {.struct_size = sizeof(ferry_connector_t), .kind = FERRY_SOURCE, \
                                          .name = nm, .version = "1", .description = "test connector",   \
                                          .options = opts, .option_size = sizeof(ferry_option_t),       \
                                          .open = more_open, .close = more_close, __VA_ARGS__}

SOURCE(mixed_source, "mixed-source", mixed_options, .poll = mixed_poll, .commit = mixed_commit);
SOURCE(stuck_source, "stuck-source", stuck_options, .poll = stuck_poll, .stop = stuck_stop);
SOURCE(taskcfg_source, "taskcfg-source", taskcfg_options, .poll = stuck_poll, .task_configs = taskcfg_configs);

static const ferry_connector_t reject_sink = {
    .struct_size = sizeof(ferry_connector_t), .kind = FERRY_SINK, .name = "reject-sink", .version = "1",
    .description = "test: rejects records containing 'bad'", .options = reject_options,
    .option_size = sizeof(ferry_option_t), .open = more_open, .put = reject_put, .flush = reject_flush,
    .close = more_close, .partitions_assigned = reject_assigned, .partitions_revoked = reject_revoked};

const ferry_connector_t *const testkit_more_connectors[] = {&mixed_source, &stuck_source, &taskcfg_source,
                                                            &reject_sink, NULL};
