/*
 * tck_lifecycle.c — the rules every connector has:
 *   open-failure  open() with a required option missing (one at a time), or with the
 *                 overrides of tck.open.fail, returns an error and frees what it took
 *   stop          stop(), called from another thread while poll()/put() runs, returns
 *                 within TCK_SLOW_MS, and so does the call it interrupts
 *   cycles        TCK_CYCLES open/step/close cycles leave the heap as the first left it
 *
 * Leaks are measured as bytes still allocated (tck_heap_bytes) after the
 * second of two identical failed opens, and after the last cycle compared
 * with the first, so one-time initialisation inside a plugin is not taken
 * for a leak. Under ASan, LeakSanitizer also names the leaking stack at exit.
 */
#include "tck/tck_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

#define RULE_OPEN_FAILURE "open-failure"
#define RULE_STOP "stop"
#define RULE_CYCLES "cycles"
#define STOP_WAIT_MS 5000 /* after this the task thread is taken to be stuck */

/* ---- open-failure -------------------------------------------------------------------- */

/* Opens cfg twice; the second failure is the one measured. Writes problem
 * when open succeeded or left memory allocated; last_error = its message. */
static void open_must_fail(const ferry_connector_t *conn, const ferry_config_t *cfg, const char *what,
                           char *problem, size_t size, char *last_error, size_t esize)
{
    for (int k = 0; k < 2 && !problem[0]; k++) {
        tck_run_t run;
        ferry_error_t err;
        int64_t before = tck_heap_bytes();
        ferry_status_t st = tck_open(&run, conn, cfg, NULL, &err);
        if (st == FERRY_OK) {
            snprintf(problem, size, "open succeeded %s", what);
            tck_close(&run);
            return;
        }
        int64_t leaked = tck_heap_bytes() - before;
        if (k == 1 && leaked > 0)
            snprintf(problem, size, "open %s returned %s but left %lld bytes allocated", what, tck_status_name(st),
                     (long long)leaked);
        snprintf(last_error, esize, "%s", err.msg[0] ? err.msg : "(no message)");
    }
}

void tck_rule_open_failure(const ferry_connector_t *conn, const tck_spec_t *spec)
{
    const ferry_host_t *host = conn->kind == FERRY_SINK ? tck_host_sink() : tck_host_source();
    char problem[FERRY_ERRMSG_SIZE + 256] = "", last_error[FERRY_ERRMSG_SIZE] = "", notes[512] = "";
    int tried = 0;
    size_t nreq = 0;
    while (conn->options && conn->options[nreq].name) nreq++;
    for (size_t i = 0; i < nreq && !problem[0]; i++) {
        const ferry_option_t *opt = &conn->options[i];
        if (!(opt->flags & FERRY_OPT_REQUIRED)) continue;
        cfg_errors_t errs = {0};
        ferry_config_t *cfg = tck_config_build(conn, host, &spec->options, NULL, opt->name, &errs);
        if (!cfg) {
            char *why = tck_errors_join(&errs);
            snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes), "%swithout '%s' no config builds (%.120s)",
                     notes[0] ? "; " : "", opt->name, why);
            free(why);
            cfg_errors_clear(&errs);
            continue;
        }
        char *what = str_printf("without the required option '%s'", opt->name);
        open_must_fail(conn, cfg, what, problem, sizeof(problem), last_error, sizeof(last_error));
        free(what);
        config_free(cfg);
        tried++;
    }
    for (size_t i = 0; i < spec->open_fail_count && !problem[0]; i++) {
        cfg_errors_t errs = {0};
        ferry_config_t *cfg = tck_config_build(conn, host, &spec->options, &spec->open_fail[i], NULL, &errs);
        cfg_errors_clear(&errs);
        tried++;
        if (!cfg) continue; /* refused before open(): the host's own failure path */
        char *what = str_printf("with tck.open.fail #%zu", i + 1);
        open_must_fail(conn, cfg, what, problem, sizeof(problem), last_error, sizeof(last_error));
        free(what);
        config_free(cfg);
    }
    if (problem[0])
        tck_report(conn->name, RULE_OPEN_FAILURE, TCK_FAIL, "%s", problem);
    else if (tried == 0 && notes[0])
        tck_report(conn->name, RULE_OPEN_FAILURE, TCK_SKIP, "no failing config could be built: %s", notes);
    else if (tried == 0)
        tck_report(conn->name, RULE_OPEN_FAILURE, TCK_SKIP, "no required option and no tck.open.fail in --config");
    else
        tck_report(conn->name, RULE_OPEN_FAILURE, TCK_PASS, "%d failing config(s): open returned an error and freed "
                   "everything (last: %.200s)%s%s", tried, last_error, notes[0] ? "; " : "", notes);
}

/* ---- stop ------------------------------------------------------------------------------ */

typedef struct stop_ctx {
    const ferry_connector_t *conn;
    const ferry_config_t *cfg;
    tck_run_t run;              /* the task thread's; main reads task and state once opened is set */
    atomic_int opened;          /* 1 open succeeded, -1 it failed */
    atomic_int in_call;         /* the task thread is inside poll()/put() */
    atomic_int quit;            /* main: stop() has returned, leave the loop */
    atomic_int done;            /* the task thread closed the task */
    atomic_llong t_stop;        /* main: when stop was requested (ms), 0 before */
    atomic_llong returned_ms;   /* the first call to return after t_stop, ms after it; -1 before */
    ferry_error_t err;          /* open()'s error */
} stop_ctx_t;

static void *stop_task_thread(void *arg)
{
    stop_ctx_t *ctx = arg;
    ferry_status_t st = tck_open(&ctx->run, ctx->conn, ctx->cfg, NULL, &ctx->err);
    if (st != FERRY_OK) {
        atomic_store(&ctx->opened, -1);
        return NULL;
    }
    atomic_store(&ctx->opened, 1);
    while (!atomic_load(&ctx->quit)) {
        ferry_error_t err;
        atomic_store(&ctx->in_call, 1);
        ferry_status_t rc = tck_step(&ctx->run, &err);
        atomic_store(&ctx->in_call, 0);
        long long t0 = atomic_load(&ctx->t_stop);
        if (t0 && atomic_load(&ctx->returned_ms) < 0) atomic_store(&ctx->returned_ms, tck_now_ms() - t0);
        if (rc == FERRY_ERROR || rc == FERRY_FATAL || rc == FERRY_RETRY) tck_sleep_ms(10);
    }
    tck_close(&ctx->run);
    atomic_store(&ctx->done, 1);
    return NULL;
}

static int wait_for(atomic_int *flag, int64_t ms)
{
    int64_t end = tck_now_ms() + ms;
    while (!atomic_load(flag)) {
        if (tck_now_ms() > end) return -1;
        tck_sleep_ms(2);
    }
    return 0;
}

int tck_rule_stop(const ferry_connector_t *conn, const ferry_config_t *cfg)
{
    const char *call = conn->kind == FERRY_SINK ? "put" : "poll";
    stop_ctx_t *ctx = xcalloc(1, sizeof(*ctx)); /* leaked on purpose if the thread is stuck */
    ctx->conn = conn;
    ctx->cfg = cfg;
    atomic_init(&ctx->returned_ms, -1);
    pthread_t th;
    if (pthread_create(&th, NULL, stop_task_thread, ctx) != 0) {
        tck_report(conn->name, RULE_STOP, TCK_SKIP, "cannot start a task thread");
        free(ctx);
        return 0;
    }
    if (wait_for(&ctx->opened, 10000) < 0) {
        tck_report(conn->name, RULE_STOP, TCK_FAIL, "open did not return within 10 s");
        return -1;
    }
    if (atomic_load(&ctx->opened) < 0) {
        pthread_join(th, NULL);
        tck_report(conn->name, RULE_STOP, TCK_SKIP, "open failed on the task thread: %s", ctx->err.msg);
        free(ctx);
        return 0;
    }
    /* Stop while a call is under way, as a shutdown would. */
    wait_for(&ctx->in_call, 2000);
    tck_sleep_ms(50);
    int64_t t0 = tck_now_ms();
    atomic_store(&ctx->t_stop, t0);
    atomic_store(&ctx->run.task->stop, 1);
    if (conn->stop) conn->stop(ctx->run.state);
    int64_t stop_ms = tck_now_ms() - t0;
    atomic_store(&ctx->quit, 1);
    if (wait_for(&ctx->done, STOP_WAIT_MS) < 0) {
        tck_report(conn->name, RULE_STOP, TCK_FAIL, "%s had not returned %d ms after %s", call, STOP_WAIT_MS,
                   conn->stop ? "stop()" : "should_stop() was set (no stop callback)");
        return -1;
    }
    pthread_join(th, NULL);
    long long returned = atomic_load(&ctx->returned_ms);
    if (stop_ms > TCK_SLOW_MS)
        tck_report(conn->name, RULE_STOP, TCK_FAIL, "stop() took %lld ms", (long long)stop_ms);
    else if (returned > TCK_SLOW_MS)
        tck_report(conn->name, RULE_STOP, TCK_FAIL, "%s returned %lld ms after %s", call, returned,
                   conn->stop ? "stop()" : "should_stop() was set");
    else if (conn->stop)
        tck_report(conn->name, RULE_STOP, TCK_PASS, "stop() from another thread took %lld ms; %s returned %lld ms later",
                   (long long)stop_ms, call, returned);
    else
        tck_report(conn->name, RULE_STOP, TCK_PASS, "no stop callback; %s returned %lld ms after should_stop() was set",
                   call, returned);
    free(ctx);
    return 0;
}

/* ---- cycles ------------------------------------------------------------------------------ */

void tck_rule_cycles(const ferry_connector_t *conn, const ferry_config_t *cfg, offset_map_t *offsets)
{
    int64_t heap[TCK_CYCLES];
    for (int c = 0; c < TCK_CYCLES; c++) {
        tck_run_t run;
        ferry_error_t err;
        ferry_status_t st = tck_open(&run, conn, cfg, offsets, &err);
        if (st != FERRY_OK) {
            tck_report(conn->name, RULE_CYCLES, TCK_FAIL, "open #%d returned %s: %s", c + 1, tck_status_name(st),
                       err.msg);
            return;
        }
        for (int s = 0; s < 2; s++) {
            st = tck_step(&run, &err);
            if (st == FERRY_ERROR || st == FERRY_FATAL) {
                tck_report(conn->name, RULE_CYCLES, TCK_FAIL, "cycle %d: %s returned %s: %s", c + 1,
                           conn->kind == FERRY_SINK ? "put/flush" : "poll", tck_status_name(st), err.msg);
                tck_close(&run);
                return;
            }
        }
        tck_close(&run);
        heap[c] = tck_heap_bytes();
    }
    int64_t growth = heap[TCK_CYCLES - 1] - heap[0];
    if (growth > 0)
        tck_report(conn->name, RULE_CYCLES, TCK_FAIL,
                   "%lld bytes more allocated after cycle %d than after cycle 1: about %lld per open/close cycle "
                   "are never freed", (long long)growth, TCK_CYCLES, (long long)(growth / (TCK_CYCLES - 1)));
    else
        tck_report(conn->name, RULE_CYCLES, TCK_PASS, "%d open/%s/close cycles, nothing left allocated", TCK_CYCLES,
                   conn->kind == FERRY_SINK ? "put+flush" : "poll");
}
