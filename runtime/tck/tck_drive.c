/*
 * tck_drive.c — one task of a plugin, driven by hand the way the engine
 * drives it (open, then poll or put+flush, then for sinks a last flush and
 * the revocation of its partitions, then close), but without Kafka: source
 * batches are the runtime's own (same checks, same canonical JSON), sink
 * batches are made up in memory, and flush limits are only recorded.
 */
#include "tck/tck_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

const char *tck_status_name(ferry_status_t st)
{
    switch (st) {
    case FERRY_OK: return "OK";
    case FERRY_RETRY: return "RETRY";
    case FERRY_ERROR: return "ERROR";
    case FERRY_FATAL: return "FATAL";
    }
    return "an unknown status";
}

/* ---- the sink context: counted, and otherwise what errors.tolerance: all does ---- */

static ferry_status_t hook_record_error(void *arg, const ferry_record_t *rec, const char *reason)
{
    ((tck_run_t *)arg)->record_errors++;
    return FERRY_OK;
}

static void hook_rewind(void *arg, const char *topic, int32_t partition, int64_t offset)
{
    ((tck_run_t *)arg)->rewinds++;
}

static void hook_pause(void *arg, const char *topic, int32_t partition, int pause)
{
    if (pause) ((tck_run_t *)arg)->pauses++;
}

static const task_hooks_t sink_hooks = {hook_record_error, hook_rewind, hook_pause};

/* ---- open and close ---------------------------------------------------------------- */

static ferry_status_t sink_partitions(tck_run_t *run, int assign, ferry_error_t *err)
{
    ferry_status_t (*cb)(void *, const ferry_partition_t *, size_t, ferry_error_t *) =
        assign ? run->conn->partitions_assigned : run->conn->partitions_revoked;
    if (!cb) return FERRY_OK;
    ferry_partition_t parts[2] = {{run->topic, 0}, {run->topic, 1}};
    memset(err, 0, sizeof(*err));
    return cb(run->state, parts, 2, err);
}

ferry_status_t tck_open(tck_run_t *run, const ferry_connector_t *conn, const ferry_config_t *cfg,
                        const offset_map_t *offsets, ferry_error_t *err)
{
    memset(run, 0, sizeof(*run));
    run->conn = conn;
    run->cfg = cfg;
    run->host = conn->kind == FERRY_SINK ? tck_host_sink() : tck_host_source();
    run->task = host_task_new(conn->name, 0, offsets);
    run->task->cfg = cfg;
    if (conn->kind == FERRY_SINK) {
        const char *const *topics = NULL;
        run->topic = config_list(cfg, "topics", &topics) > 0 ? topics[0] : TCK_DEFAULT_TOPIC;
        run->task->hooks = &sink_hooks;
        run->task->hooks_arg = run;
    } else {
        run->batch = batch_new(TCK_BATCH_RECORDS, TCK_BATCH_BYTES);
        const char *topic = config_string(cfg, "topic");
        run->rules.default_topic = topic && topic[0] ? topic : TCK_DEFAULT_TOPIC;
        run->rules.offsets_topic = "ferry-offsets";
        run->rules.tolerate_all = 1; /* keep bad records, flagged, so that the rules can name them */
        batch_set_rules(run->batch, &run->rules);
    }
    memset(err, 0, sizeof(*err));
    ferry_status_t st = conn->open(run->task, run->host, cfg, &run->state, err);
    err->msg[sizeof(err->msg) - 1] = '\0';
    if (st != FERRY_OK) {
        tck_close(run); /* never close() after a failed open() */
        return st;
    }
    run->opened = 1;
    if (conn->kind == FERRY_SINK) {
        st = sink_partitions(run, 1, err);
        if (st != FERRY_OK) {
            snprintf(err->msg, sizeof(err->msg), "partitions_assigned returned %s", tck_status_name(st));
            tck_close(run);
            return st;
        }
    }
    return FERRY_OK;
}

void tck_close(tck_run_t *run)
{
    if (run->opened) {
        ferry_error_t err;
        if (run->conn->kind == FERRY_SINK) {
            if (run->dirty) {
                ferry_flush_t fl = {0};
                memset(&err, 0, sizeof(err));
                run->conn->flush(run->state, &fl, &err);
                flush_limits_clear(&fl);
            }
            sink_partitions(run, 0, &err);
        }
        run->conn->close(run->state);
        run->opened = 0;
    }
    batch_free(run->batch);
    host_task_free(run->task);
    run->batch = NULL;
    run->task = NULL;
    run->state = NULL;
}

/* ---- steps ------------------------------------------------------------------------- */

ferry_status_t tck_poll(tck_run_t *run, int64_t *ms, ferry_error_t *err)
{
    batch_reset(run->batch);
    memset(err, 0, sizeof(*err));
    int64_t t0 = tck_now_ms();
    ferry_status_t st = run->conn->poll(run->state, run->batch, err);
    *ms = tck_now_ms() - t0;
    err->msg[sizeof(err->msg) - 1] = '\0';
    return st;
}

/* A flush limit is within what was put when it names a partition that was
 * put and lies between the first offset put there and one past the last. */
static void check_limits(const tck_run_t *run, const ferry_flush_t *fl, tck_flush_result_t *res)
{
    res->limits = fl->count;
    for (size_t i = 0; i < fl->count && !res->problem[0]; i++) {
        const flush_limit_entry_t *l = &fl->limits[i];
        if (strcmp(l->topic, run->topic) != 0 || l->partition < 0 || l->partition > 1)
            snprintf(res->problem, sizeof(res->problem), "flush_limit(%s, %d, %lld) names a partition nothing was put to",
                     l->topic, (int)l->partition, (long long)l->next_offset);
        else if (l->next_offset < 0 || l->next_offset > run->next_offset[l->partition])
            snprintf(res->problem, sizeof(res->problem),
                     "flush_limit(%s, %d, %lld) is beyond what was put (offsets 0 to %lld)", l->topic,
                     (int)l->partition, (long long)l->next_offset, (long long)run->next_offset[l->partition] - 1);
    }
}

ferry_status_t tck_put_flush(tck_run_t *run, int64_t *put_ms, tck_flush_result_t *res, ferry_error_t *err)
{
    memset(res, 0, sizeof(*res));
    tck_sink_batch_t *b = tck_sink_batch_new(run->topic, TCK_SINK_RECORDS, run->next_offset);
    memset(err, 0, sizeof(*err));
    int64_t t0 = tck_now_ms();
    ferry_status_t st = run->conn->put(run->state, tck_sink_batch_handle(b), err);
    *put_ms = tck_now_ms() - t0;
    err->msg[sizeof(err->msg) - 1] = '\0';
    tck_sink_batch_free(b); /* the sink may keep nothing of it */
    run->dirty = 1;
    if (st != FERRY_OK) {
        res->put_failed = 1;
        return st;
    }
    ferry_flush_t fl = {0};
    t0 = tck_now_ms();
    res->status = run->conn->flush(run->state, &fl, err);
    res->ms = tck_now_ms() - t0;
    err->msg[sizeof(err->msg) - 1] = '\0';
    if (res->status == FERRY_OK) {
        run->dirty = 0;
        check_limits(run, &fl, res);
    }
    flush_limits_clear(&fl);
    return res->status;
}

ferry_status_t tck_step(tck_run_t *run, ferry_error_t *err)
{
    int64_t ms;
    if (run->conn->kind == FERRY_SOURCE) return tck_poll(run, &ms, err);
    tck_flush_result_t res;
    return tck_put_flush(run, &ms, &res, err);
}
