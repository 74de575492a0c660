/*
 * tck_internal.h — what the TCK's files share.
 *
 * Floors, top to bottom (nothing calls upward):
 *   tck.c            the command: load the plugin, run the rules, report
 *   tck_source.c     the rules for sources (poll budget, offsets, commit, should_stop)
 *   tck_sink.c       the rules for sinks (put/flush, flush limits)
 *   tck_lifecycle.c  the rules for both kinds (open failures, stop from another thread, cycles)
 *   tck_drive.c      one task of a plugin driven by hand: open, poll, put+flush, close
 *   tck_config.c     the --config file and the connector configs built from it
 *   tck_host.c       the in-process host: the host table, sink batches, heap and clock
 *
 * Threads: everything runs on the main thread, except the task thread of the
 * stop rule (tck_lifecycle.c), which owns its run while it lives.
 */
#ifndef FERRY_TCK_INTERNAL_H
#define FERRY_TCK_INTERNAL_H

#include <ferry/ferry.h>
#include <stdint.h>

#include "config/config.h"
#include "engine/host.h"
#include "offsets/offsets.h"

#define TCK_POLL_BUDGET_MS 100 /* what ferry.h asks of an idle poll() */
#define TCK_SLOW_MS 1000       /* a callback slower than this fails its rule */
#define TCK_CYCLES 3           /* open/step/close cycles of the leak rule */
#define TCK_MAX_POLLS 20       /* polls of the poll-budget rule */
#define TCK_SINK_RECORDS 10    /* records per put() */
#define TCK_BATCH_RECORDS 100  /* room of a source batch */
#define TCK_BATCH_BYTES (4u << 20)
#define TCK_DEFAULT_TOPIC "tck"

typedef enum tck_result { TCK_PASS, TCK_FAIL, TCK_SKIP } tck_result_t;

/* Reports one rule of one connector: a line on stdout, counted. */
void tck_report(const char *connector, const char *rule, tck_result_t result, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- tck_host.c ------------------------------------------------------------------ */

/* The host tables. Sources get the runtime's own table (real batches, offset
 * store lookups, config getters, should_stop); sinks the same with batches
 * that the TCK builds in memory (tck_sink_batch_*). Static, immutable. */
const ferry_host_t *tck_host_source(void);
const ferry_host_t *tck_host_sink(void);

/* A sink batch of records the TCK made up; its ferry_batch_t is only ever
 * read through tck_host_sink()'s batch_count/batch_get. */
typedef struct tck_sink_batch tck_sink_batch_t;
/* count records for topic, alternating partitions 0 and 1, from
 * next_offset[0] / next_offset[1] on (advanced); the last one a tombstone. */
tck_sink_batch_t *tck_sink_batch_new(const char *topic, size_t count, int64_t next_offset[2]);
void tck_sink_batch_free(tck_sink_batch_t *b);
ferry_batch_t *tck_sink_batch_handle(tck_sink_batch_t *b);

/* Bytes the process has allocated and not freed (the sanitizer's count
 * under ASan, malloc's otherwise). */
int64_t tck_heap_bytes(void);
int64_t tck_now_ms(void);
void tck_sleep_ms(int64_t ms);

/* ---- tck_config.c ------------------------------------------------------------------ */

typedef struct tck_kv {
    char **keys, **values; /* owned */
    size_t count;
} tck_kv_t;

/* What --config says about one connector. */
typedef struct tck_spec {
    tck_kv_t options;      /* the connector's options */
    char *skip_runtime;    /* tck.skip.runtime: why the rules that run the connector cannot (owned), or NULL */
    tck_kv_t *open_fail;   /* tck.open.fail: option overrides that must make open() fail (owned) */
    size_t open_fail_count;
} tck_spec_t;

typedef struct tck_file tck_file_t;
/* Reads path (YAML, or key=value lines). Files listed under tck.files are
 * written into dir. NULL path: an empty file. NULL with err on error. */
tck_file_t *tck_file_load(const char *path, const char *dir, char *err, size_t errlen);
void tck_file_free(tck_file_t *file);
/* The spec of connector: top-level keys that name no connector of names[],
 * overridden by the connector's own section. Clear with tck_spec_clear. */
void tck_file_spec(const tck_file_t *file, const char *connector, const char *const *names, size_t nnames,
                   tck_spec_t *spec);
void tck_spec_clear(tck_spec_t *spec);
void tck_kv_set(tck_kv_t *kv, const char *key, const char *value);
const char *tck_kv_get(const tck_kv_t *kv, const char *key);
void tck_kv_clear(tck_kv_t *kv);

/* A config for conn from base with over applied (may be NULL), as the
 * runtime builds it (validation, defaults, validate(), task_configs' first
 * task). With drop set, that option (and any required option base and over
 * do not give) is left out and no longer required, and validate() is not
 * called: the config of an open() that must fail. NULL with errs filled when
 * it does not validate. */
ferry_config_t *tck_config_build(const ferry_connector_t *conn, const ferry_host_t *host, const tck_kv_t *base,
                                 const tck_kv_t *over, const char *drop, cfg_errors_t *errs);
/* errs joined with "; " (malloc'd). */
char *tck_errors_join(const cfg_errors_t *errs);

/* ---- tck_drive.c ------------------------------------------------------------------ */

/* One task of a connector, driven by hand. */
typedef struct tck_run {
    const ferry_connector_t *conn;
    const ferry_host_t *host;
    const ferry_config_t *cfg; /* borrowed */
    ferry_task_t *task;        /* owned */
    void *state;               /* the plugin's, between open and close */
    int opened;
    /* Sources */
    ferry_batch_t *batch;      /* owned: the real batch (checks and canonical JSON) */
    batch_rules_t rules;
    /* Sinks */
    const char *topic;         /* records are made up for this topic (cfg's first topic) */
    int64_t next_offset[2];    /* next Kafka offset of partitions 0 and 1 */
    int dirty;                 /* put() since the last flush() */
    int record_errors, rewinds, pauses; /* host calls the sink made */
} tck_run_t;

/* Opens conn with a new task; offsets (may be NULL) is what offset_get reads. */
ferry_status_t tck_open(tck_run_t *run, const ferry_connector_t *conn, const ferry_config_t *cfg,
                        const offset_map_t *offsets, ferry_error_t *err);
/* Sinks: flush (when something was put) and revoke the partitions; then
 * close() and free the task. A run that never opened is only freed. */
void tck_close(tck_run_t *run);
/* Sources: resets the batch and polls once; *ms = how long poll() took. */
ferry_status_t tck_poll(tck_run_t *run, int64_t *ms, ferry_error_t *err);

/* What one flush declared. */
typedef struct tck_flush_result {
    ferry_status_t status; /* flush()'s */
    int put_failed;        /* put() did not return OK: no flush() */
    int64_t ms;
    char problem[256]; /* a flush limit outside what was put, or "" */
    size_t limits;     /* flush limits declared */
} tck_flush_result_t;
/* Sinks: puts TCK_SINK_RECORDS records (*put_ms = how long put() took),
 * then flushes into *fl when put succeeded. */
ferry_status_t tck_put_flush(tck_run_t *run, int64_t *put_ms, tck_flush_result_t *fl, ferry_error_t *err);
/* One step of either kind: a poll, or a put and a flush. */
ferry_status_t tck_step(tck_run_t *run, ferry_error_t *err);
const char *tck_status_name(ferry_status_t st);

/* ---- the rules ---------------------------------------------------------------------- */

void tck_source_rules(const ferry_connector_t *conn, const ferry_config_t *cfg, offset_map_t *offsets);
void tck_sink_rules(const ferry_connector_t *conn, const ferry_config_t *cfg);
void tck_rule_open_failure(const ferry_connector_t *conn, const tck_spec_t *spec);
/* 0, or -1 when the plugin's task thread did not come back (the process
 * must not unload the plugin then). */
int tck_rule_stop(const ferry_connector_t *conn, const ferry_config_t *cfg);
void tck_rule_cycles(const ferry_connector_t *conn, const ferry_config_t *cfg, offset_map_t *offsets);

#endif
