/*
 * tck_source.c — the rules only sources have, on one opened task:
 *   open          open() succeeds with the --config options
 *   poll-budget   no poll() takes more than TCK_SLOW_MS (the SDK asks for ~100 ms)
 *   records       every record passes the host's checks (topic, JSON)
 *   offsets       source offsets are JSON objects and move forward per partition
 *   commit-twice  commit() of already committed offsets, twice, is harmless
 *   should-stop   with should_stop() set, poll() comes back within TCK_SLOW_MS
 *
 * "Move forward": an offset differs from the previous one of its source
 * partition, and none of the numbers they both have at the top level
 * decreased ({"position":10} → {"position":42}, {"lsn":7,"txId":3} →
 * {"lsn":9,"txId":1} are fine; {"n":3} → {"n":3} or {"n":2} are not).
 */
#include "tck/tck_internal.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

#define RULE_OPEN "open"
#define RULE_POLL "poll-budget"
#define RULE_RECORDS "records"
#define RULE_OFFSETS "offsets"
#define RULE_COMMIT "commit-twice"
#define RULE_SHOULD_STOP "should-stop"

/* The last offset seen per source partition (canonical strings, owned). */
typedef struct last_offsets {
    char **partitions, **offsets;
    size_t count;
} last_offsets_t;

typedef struct poll_stats {
    int polls, errors;
    int64_t slowest_ms;
    int slowest_poll;       /* 1-based */
    size_t records, with_offset;
    char poll_problem[FERRY_ERRMSG_SIZE + 64]; /* a failed poll, or "" */
    char record_problem[512];                 /* the first record the host refused, or "" */
    char offset_problem[768];                 /* the first bad offset, or "" */
    last_offsets_t last;
} poll_stats_t;

static void last_clear(last_offsets_t *last)
{
    for (size_t i = 0; i < last->count; i++) {
        free(last->partitions[i]);
        free(last->offsets[i]);
    }
    free(last->partitions);
    free(last->offsets);
    memset(last, 0, sizeof(*last));
}

/* Why next does not move forward from prev (both JSON objects), or NULL. */
static const char *offset_backwards(const char *prev, const char *next, char *buf, size_t size)
{
    if (strcmp(prev, next) == 0) return "it repeats the previous offset of its partition";
    json_t *a = json_loads(prev, 0, NULL), *b = json_loads(next, 0, NULL);
    const char *why = NULL;
    const char *key;
    json_t *va;
    json_object_foreach(a, key, va) {
        json_t *vb = json_object_get(b, key);
        if (json_is_number(va) && json_is_number(vb) && json_number_value(vb) < json_number_value(va)) {
            snprintf(buf, size, "its member \"%s\" went down", key);
            why = buf;
            break;
        }
    }
    json_decref(a);
    json_decref(b);
    return why;
}

static void track_offset(poll_stats_t *ps, const ferry_record_t *rec, size_t index)
{
    last_offsets_t *last = &ps->last;
    size_t i = 0;
    while (i < last->count && strcmp(last->partitions[i], rec->source_partition) != 0) i++;
    if (i == last->count) {
        last->partitions = xrealloc(last->partitions, (last->count + 1) * sizeof(char *));
        last->offsets = xrealloc(last->offsets, (last->count + 1) * sizeof(char *));
        last->partitions[i] = str_dup(rec->source_partition);
        last->offsets[i] = str_dup(rec->source_offset);
        last->count++;
        return;
    }
    char buf[128];
    const char *why = offset_backwards(last->offsets[i], rec->source_offset, buf, sizeof(buf));
    if (why && !ps->offset_problem[0])
        snprintf(ps->offset_problem, sizeof(ps->offset_problem), "poll %d, record %zu: offset %.200s after %.200s of partition %.200s: %s",
                 ps->polls, index, rec->source_offset, last->offsets[i], rec->source_partition, why);
    free(last->offsets[i]);
    last->offsets[i] = str_dup(rec->source_offset);
}

/* Checks the records of the batch poll() just filled. */
static void check_batch(poll_stats_t *ps, ferry_batch_t *batch)
{
    for (size_t i = 0; i < batch_size(batch); i++) {
        const ferry_record_t *rec = batch_record(batch, i);
        int offsets_valid = 1, partition_valid = 1;
        const char *why = batch_record_problem(batch, i, &offsets_valid, &partition_valid);
        ps->records++;
        if (!offsets_valid || !partition_valid) {
            if (!ps->offset_problem[0])
                snprintf(ps->offset_problem, sizeof(ps->offset_problem), "poll %d, record %zu: %s", ps->polls, i,
                         why ? why : "its source partition or offset is not a JSON object");
            continue;
        }
        if (why) {
            if (!ps->record_problem[0])
                snprintf(ps->record_problem, sizeof(ps->record_problem), "poll %d, record %zu: %s", ps->polls, i, why);
            continue;
        }
        if (rec->source_offset && rec->source_partition) {
            ps->with_offset++;
            track_offset(ps, rec, i);
        }
    }
}

/* Up to TCK_MAX_POLLS polls; stops early after three empty polls once
 * records came, or after TCK_SLOW_MS * 5 of polling without any. */
static void poll_loop(tck_run_t *run, poll_stats_t *ps)
{
    int empty = 0;
    int64_t start = tck_now_ms();
    while (ps->polls < TCK_MAX_POLLS) {
        ferry_error_t err;
        int64_t ms;
        ferry_status_t st = tck_poll(run, &ms, &err);
        ps->polls++;
        if (ms > ps->slowest_ms) {
            ps->slowest_ms = ms;
            ps->slowest_poll = ps->polls;
        }
        check_batch(ps, run->batch);
        if (st == FERRY_ERROR || st == FERRY_FATAL) {
            ps->errors++;
            snprintf(ps->poll_problem, sizeof(ps->poll_problem), "poll %d returned %s: %s", ps->polls,
                     tck_status_name(st), err.msg);
            return;
        }
        if (ms > TCK_SLOW_MS) return; /* failed already; more would only take long */
        if (st == FERRY_RETRY) tck_sleep_ms(50);
        empty = batch_size(run->batch) == 0 ? empty + 1 : 0;
        if (ps->records > 0 && empty >= 3) return;
        if (ps->records == 0 && tck_now_ms() - start > 5 * TCK_SLOW_MS) return;
    }
}

static void report_polls(const char *cn, const poll_stats_t *ps)
{
    if (ps->poll_problem[0])
        tck_report(cn, RULE_POLL, TCK_FAIL, "%s", ps->poll_problem);
    else if (ps->slowest_ms > TCK_SLOW_MS)
        tck_report(cn, RULE_POLL, TCK_FAIL, "poll %d took %lld ms (at most %d ms; the SDK asks for ~%d ms when idle)",
                   ps->slowest_poll, (long long)ps->slowest_ms, TCK_SLOW_MS, TCK_POLL_BUDGET_MS);
    else
        tck_report(cn, RULE_POLL, TCK_PASS, "%d polls, %zu records, slowest %lld ms%s", ps->polls, ps->records,
                   (long long)ps->slowest_ms,
                   ps->slowest_ms > 2 * TCK_POLL_BUDGET_MS ? " (more than the ~100 ms the SDK asks for)" : "");

    if (ps->records == 0)
        tck_report(cn, RULE_RECORDS, TCK_SKIP, "no records in %d polls (give options that produce some)", ps->polls);
    else if (ps->record_problem[0])
        tck_report(cn, RULE_RECORDS, TCK_FAIL, "%s", ps->record_problem);
    else
        tck_report(cn, RULE_RECORDS, TCK_PASS, "%zu records passed the host's checks", ps->records);

    if (ps->offset_problem[0])
        tck_report(cn, RULE_OFFSETS, TCK_FAIL, "%s", ps->offset_problem);
    else if (ps->with_offset == 0)
        tck_report(cn, RULE_OFFSETS, TCK_SKIP, "no record carried a source offset");
    else
        tck_report(cn, RULE_OFFSETS, TCK_PASS, "%zu offsets in %zu source partition(s): JSON objects, moving forward",
                   ps->with_offset, ps->last.count);
}

/* commit() of the last offsets, twice, then one more poll. */
static void rule_commit(tck_run_t *run, const poll_stats_t *ps, offset_map_t *offsets)
{
    const char *cn = run->conn->name;
    if (!run->conn->commit) {
        tck_report(cn, RULE_COMMIT, TCK_SKIP, "no commit callback");
        return;
    }
    if (ps->last.count == 0) {
        tck_report(cn, RULE_COMMIT, TCK_SKIP, "no valid source offsets to commit");
        return;
    }
    ferry_offset_t *offs = xcalloc(ps->last.count, sizeof(*offs));
    for (size_t i = 0; i < ps->last.count; i++) offs[i] = (ferry_offset_t){ps->last.partitions[i], ps->last.offsets[i]};
    char problem[FERRY_ERRMSG_SIZE + 64] = "";
    for (int round = 1; round <= 2 && !problem[0]; round++) {
        ferry_error_t err = {{0}};
        ferry_status_t st = run->conn->commit(run->state, offs, ps->last.count, &err);
        err.msg[sizeof(err.msg) - 1] = '\0';
        if (st == FERRY_ERROR || st == FERRY_FATAL)
            snprintf(problem, sizeof(problem), "commit #%d of the same offsets returned %s: %s", round,
                     tck_status_name(st), err.msg);
    }
    free(offs);
    /* They are durable now: a task opened later resumes after them. */
    for (size_t i = 0; i < ps->last.count; i++)
        offset_map_put(offsets, run->conn->name, ps->last.partitions[i], ps->last.offsets[i]);
    if (!problem[0]) {
        ferry_error_t err;
        int64_t ms;
        ferry_status_t st = tck_poll(run, &ms, &err);
        if (st == FERRY_ERROR || st == FERRY_FATAL)
            snprintf(problem, sizeof(problem), "poll after the commits returned %s: %s", tck_status_name(st), err.msg);
    }
    if (problem[0])
        tck_report(cn, RULE_COMMIT, TCK_FAIL, "%s", problem);
    else
        tck_report(cn, RULE_COMMIT, TCK_PASS, "committed %zu partition(s) twice; poll goes on", ps->last.count);
}

static void rule_should_stop(tck_run_t *run)
{
    atomic_store(&run->task->stop, 1);
    ferry_error_t err;
    int64_t ms;
    ferry_status_t st = tck_poll(run, &ms, &err);
    if (ms > TCK_SLOW_MS)
        tck_report(run->conn->name, RULE_SHOULD_STOP, TCK_FAIL, "poll took %lld ms with should_stop() set",
                   (long long)ms);
    else
        tck_report(run->conn->name, RULE_SHOULD_STOP, TCK_PASS, "poll returned %s after %lld ms with should_stop() set",
                   tck_status_name(st), (long long)ms);
}

void tck_source_rules(const ferry_connector_t *conn, const ferry_config_t *cfg, offset_map_t *offsets)
{
    const char *cn = conn->name;
    tck_run_t run;
    ferry_error_t err;
    ferry_status_t st = tck_open(&run, conn, cfg, offsets, &err);
    if (st != FERRY_OK) {
        tck_report(cn, RULE_OPEN, TCK_FAIL, "open returned %s: %s", tck_status_name(st), err.msg);
        const char *rules[] = {RULE_POLL, RULE_RECORDS, RULE_OFFSETS, RULE_COMMIT, RULE_SHOULD_STOP};
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
            tck_report(cn, rules[i], TCK_SKIP, "open failed");
        return;
    }
    tck_report(cn, RULE_OPEN, TCK_PASS, "open succeeded with the given options");
    poll_stats_t ps;
    memset(&ps, 0, sizeof(ps));
    poll_loop(&run, &ps);
    report_polls(cn, &ps);
    if (ps.poll_problem[0])
        tck_report(cn, RULE_COMMIT, TCK_SKIP, "poll failed");
    else
        rule_commit(&run, &ps, offsets);
    rule_should_stop(&run);
    tck_close(&run);
    last_clear(&ps.last);
}
