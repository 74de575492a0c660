/*
 * tck_sink.c — the rules only sinks have, on one opened task:
 *   open          open() succeeds with the --config options (and partitions_assigned)
 *   put-flush     put() of a batch (with headers and a tombstone) and flush() after it
 *                 succeed, three times, each within TCK_SLOW_MS; a flush with nothing
 *                 new put succeeds too
 *   flush-limits  the limits flush() declares (if any) name partitions that were put
 *                 and lie within what was put there
 */
#include "tck/tck_internal.h"

#include <string.h>

#define RULE_OPEN "open"
#define RULE_PUT_FLUSH "put-flush"
#define RULE_LIMITS "flush-limits"
#define PUT_ROUNDS 3

void tck_sink_rules(const ferry_connector_t *conn, const ferry_config_t *cfg)
{
    const char *cn = conn->name;
    tck_run_t run;
    ferry_error_t err;
    ferry_status_t st = tck_open(&run, conn, cfg, NULL, &err);
    if (st != FERRY_OK) {
        tck_report(cn, RULE_OPEN, TCK_FAIL, "open returned %s: %s", tck_status_name(st), err.msg);
        tck_report(cn, RULE_PUT_FLUSH, TCK_SKIP, "open failed");
        tck_report(cn, RULE_LIMITS, TCK_SKIP, "open failed");
        return;
    }
    tck_report(cn, RULE_OPEN, TCK_PASS, "open succeeded with the given options");

    char problem[FERRY_ERRMSG_SIZE + 128] = "", limit_problem[256] = "";
    size_t limits = 0;
    int64_t slowest = 0;
    for (int round = 1; round <= PUT_ROUNDS && !problem[0]; round++) {
        int64_t put_ms;
        tck_flush_result_t res;
        st = tck_put_flush(&run, &put_ms, &res, &err);
        if (put_ms > slowest) slowest = put_ms;
        if (res.ms > slowest) slowest = res.ms;
        if (put_ms > TCK_SLOW_MS)
            snprintf(problem, sizeof(problem), "put #%d took %lld ms", round, (long long)put_ms);
        else if (res.ms > TCK_SLOW_MS)
            snprintf(problem, sizeof(problem), "flush #%d took %lld ms", round, (long long)res.ms);
        else if (st != FERRY_OK)
            snprintf(problem, sizeof(problem), "%s #%d returned %s: %s", res.put_failed ? "put" : "flush",
                     round, tck_status_name(st), err.msg);
        limits += res.limits;
        if (res.problem[0] && !limit_problem[0])
            snprintf(limit_problem, sizeof(limit_problem), "flush #%d: %s", round, res.problem);
    }
    if (!problem[0]) {
        ferry_flush_t fl = {0};
        memset(&err, 0, sizeof(err));
        st = conn->flush(run.state, &fl, &err);
        err.msg[sizeof(err.msg) - 1] = '\0';
        flush_limits_clear(&fl);
        if (st != FERRY_OK)
            snprintf(problem, sizeof(problem), "flush with nothing new put returned %s: %s", tck_status_name(st), err.msg);
    }
    if (problem[0])
        tck_report(cn, RULE_PUT_FLUSH, TCK_FAIL, "%s", problem);
    else
        tck_report(cn, RULE_PUT_FLUSH, TCK_PASS, "%d x put(%d records) + flush, slowest call %lld ms%s", PUT_ROUNDS,
                   TCK_SINK_RECORDS, (long long)slowest, run.record_errors ? " (the sink rejected records)" : "");
    if (limit_problem[0])
        tck_report(cn, RULE_LIMITS, TCK_FAIL, "%s", limit_problem);
    else if (limits == 0)
        tck_report(cn, RULE_LIMITS, problem[0] ? TCK_SKIP : TCK_PASS,
                   problem[0] ? "put/flush failed" : "no flush limits: everything put was durable");
    else
        tck_report(cn, RULE_LIMITS, TCK_PASS, "%zu flush limit(s), each within what was put", limits);
    tck_close(&run);
}
