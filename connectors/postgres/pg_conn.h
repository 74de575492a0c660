/*
 * pg_conn.h — the postgres-cdc task's state and the functions its files share.
 * Internal to the plugin. The files lie in floors; each calls only floors
 * below it:
 *   postgres.c                         options, callbacks, start-up decision
 *   pg_snapshot.c, pg_stream.c         the snapshot, the replication stream
 *   pg_outbox.c                        outbox events (called by the stream)
 *   pg_record.c                        emission (spill queue) and keys
 *   pg_conn.c                          connections, errors, catalog lookups
 *   pg_envelope.c, pg_types.c          Debezium's envelope, value formatting
 *   pg_types_{number,time,other}.c     the value formats by type (pg_types.h)
 *   pg_filter.c, pg_buf.c, pgoutput_decode.c   table lists, buffers, protocol
 *
 * Threads: everything here runs on the task's thread, except pg_ctx_t.stop,
 * which stop() sets from any thread.
 *
 * Positions and exactly-once within a transaction
 * -----------------------------------------------
 * The stream is cut into units: a transaction (position = the LSN of its
 * commit record, Begin.final_lsn) or a non-transactional logical message
 * (position = its LSN). pgoutput sends units in strictly increasing position.
 * Every record of a unit gets an index (0, 1, ...), and its offset says
 * {"lsn_commit": position, "event": index + 1}: "every unit before position
 * and the first `event` records of this one were emitted".
 *
 * commit() confirms lsn_commit to the slot. PostgreSQL skips a transaction
 * whose commit record lies *before* the start position, so the unit at the
 * confirmed position itself is sent again after a reconnect or restart, and
 * the stored event count drops the records already emitted. Nothing is lost
 * (we never confirm past a unit that is not entirely durable) and nothing
 * inside a transaction is duplicated. The same (position, count) pair, kept
 * in memory for what was handed to the host, deduplicates after a reconnect.
 */
#ifndef FERRY_PG_CONN_H
#define FERRY_PG_CONN_H

#include <ferry/ferry.h>
#include <libpq-fe.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "pgoutput.h"

#define PG_CONNECTOR_VERSION "0.1.0"
#define PG_HEARTBEAT_PREFIX "ferry_heartbeat"

enum pg_pub_mode { PG_PUB_FILTERED, PG_PUB_ALL_TABLES, PG_PUB_DISABLED };
enum pg_snap_mode { PG_SNAP_INITIAL, PG_SNAP_NEVER, PG_SNAP_INITIAL_ONLY, PG_SNAP_ALWAYS };

/* Where the task is. BOOT decides what to do from the stored offset and the
 * slot; SNAPSHOT reads tables; STREAM follows the slot; IDLE is the end of an
 * initial_only snapshot. */
enum pg_phase { PG_PHASE_BOOT, PG_PHASE_SNAPSHOT, PG_PHASE_STREAM, PG_PHASE_IDLE };

/* Anchored POSIX regexes over "schema.table". */
typedef struct pg_filter {
    size_t count;
    regex_t *res; /* owned; count entries */
} pg_filter_t;

/* A record waiting for room in a later batch (everything owned). */
typedef struct pg_pending {
    char *topic;
    char *key;
    size_t key_len;
    int has_key;
    char *value;
    size_t value_len;
    int has_value;
    char *hname[2], *hval[2];
    size_t hlen[2];
    size_t header_count;
    int64_t timestamp_ms;
    char *offset;
} pg_pending_t;

/* Primary-key columns of a relation, looked up once per relation id. */
typedef struct pg_keyinfo {
    uint32_t oid;
    size_t count;
    char **names; /* owned */
} pg_keyinfo_t;

typedef struct pg_typeinfo {
    uint32_t oid, base, elem;
    int32_t typmod; /* a domain's typtypmod, else -1 */
    char kind;
} pg_typeinfo_t;

typedef struct pg_snapshot pg_snapshot_t; /* pg_snapshot.c */

typedef struct pg_ctx {
    ferry_task_t *task;
    const ferry_host_t *host;
    const ferry_config_t *cfg;

    /* Options (strings owned by cfg unless noted). */
    const char *conninfo; /* secret: never logged */
    char *slot;           /* owned */
    char *publication;    /* owned */
    const char *prefix, *outbox_prefix;
    enum pg_pub_mode pub_mode;
    enum pg_snap_mode snap_mode;
    int64_t chunk_size, heartbeat_ms, status_ms;
    int tombstones;
    pg_filter_t include, exclude, outbox;
    char *partition_json; /* owned: {"server":"<prefix>"} */
    char *heartbeat_topic; /* owned */

    /* Connections: sql for queries (and the snapshot transaction), repl for
     * the walsender. Either may be NULL (not connected yet / lost). */
    PGconn *sql, *repl;
    int ever_connected;   /* a first connection succeeded: refusals are now transient */
    atomic_int stop;      /* set by stop() from any thread */
    char dbname[128];

    enum pg_phase phase;
    char *stored_offset;  /* owned copy of the offset read at open, or NULL */

    /* Stream positions (see the header comment). */
    uint64_t start_lsn;     /* where streaming (re)starts when nothing was emitted yet */
    uint64_t emit_pos;      /* position of the last unit records were handed out for */
    int64_t emit_cnt;       /* records of that unit handed out */
    uint64_t committed_lsn; /* highest lsn_commit commit() gave us: the only flush we report */
    uint64_t received_lsn;  /* end of the last XLogData received */
    uint64_t server_wal_end;
    int streaming;          /* START_REPLICATION succeeded on repl */

    /* The unit being decoded. */
    int in_txn;
    uint64_t cur_pos;
    uint32_t cur_xid;
    int64_t cur_ts_us;
    int64_t cur_idx;

    int64_t last_status_ms, last_recv_ms, last_heartbeat_ms;
    int64_t last_emit_ms;   /* when a record was last handed to the host */
    int heartbeat_disabled;
    /* A catalog lookup (keys, types) failed because the SQL connection
     * broke: the event being built would be wrong, so the stream drops it
     * and reconnects (the server sends it again). */
    int lookup_failed;

    pgoutput_decoder_t *dec;
    pg_type_resolver_t types;
    pg_format_t format;     /* the value options; format.types = &types */
    pg_typeinfo_t *typecache; /* owned */
    size_t ntypes, captypes;
    pg_keyinfo_t *keycache; /* owned */
    size_t nkeys, capkeys;

    pg_snapshot_t *snap; /* owned; NULL outside the snapshot */

    pg_pending_t *pending; /* owned FIFO */
    size_t npending, pending_head, cappending;
    size_t added; /* records added to the current batch by this poll */

    /* Scratch buffers reused for every event. */
    pg_buf_t kbuf, vbuf, before, after, obuf;
} pg_ctx_t;

static inline int64_t pg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- pg_filter.c ---------------------------------------------------------- */
/* Each item of the list option opt is a name or a POSIX extended regex,
 * matched against the whole "schema.table" (anchored), like Debezium's. */
int pg_filter_build(pg_filter_t *f, const ferry_host_t *host, const ferry_config_t *cfg, const char *opt,
                    ferry_error_t *err);
void pg_filter_free(pg_filter_t *f);
/* 1 if "schema.table" is captured (include/exclude lists), 2 if it is an
 * outbox table, 0 if ignored. */
int pg_table_kind(const pg_ctx_t *ctx, const char *schema, const char *table);
/* The position of the first table.include.list item that names the table
 * (the item count when none does): tables are snapshotted in that order, as
 * Debezium does, and by name within an item. */
int pg_table_rank(const pg_ctx_t *ctx, const char *schema, const char *table);

/* ---- pg_record.c ---------------------------------------------------------- */
/* Adds a record to the batch, or queues it when the batch is full. The
 * record's bytes are copied either way. */
void pg_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec);
/* Moves queued records into the batch while it has room (first, every poll). */
void pg_pending_drain(pg_ctx_t *ctx, ferry_batch_t *batch);
void pg_pending_free(pg_ctx_t *ctx);
/* 1 when poll should return: the batch is full or records wait. */
int pg_batch_full(const pg_ctx_t *ctx, ferry_batch_t *batch);
/* Key JSON of the relation's primary key (or replica identity) columns into
 * ctx->kbuf; returns 0 when the table has no key (the record gets none). */
int pg_key_json(pg_ctx_t *ctx, const pg_relation_t *rel, const pg_tuple_t *tuple);

/* ---- pg_conn.c ----------------------------------------------------------- */
/* Connects (replication=database when repl) with the session settings the
 * value formatter needs. Interruptible by ctx->stop. */
ferry_status_t pg_connect(pg_ctx_t *ctx, int repl, PGconn **out, ferry_error_t *err);
void pg_disconnect(pg_ctx_t *ctx);
/* Turns a failed result (or connection failure when res is NULL) into a
 * status with a clear message; what = the action that failed. Clears res. */
ferry_status_t pg_fail(pg_ctx_t *ctx, PGconn *conn, PGresult *res, const char *what, ferry_error_t *err);
/* Runs a query with text parameters; returns the result or NULL after
 * filling err (via pg_fail). */
PGresult *pg_query(pg_ctx_t *ctx, PGconn *conn, const char *sql, int nparams, const char *const *params,
                   ExecStatusType want, const char *what, ferry_status_t *st, ferry_error_t *err);
/* wal_level, publication, slot checks shared by every start. */
ferry_status_t pg_check_server(pg_ctx_t *ctx, ferry_error_t *err);
ferry_status_t pg_ensure_publication(pg_ctx_t *ctx, ferry_error_t *err);
/* Slot state: exists (0/1), confirmed flush LSN, problems as errors. */
ferry_status_t pg_slot_state(pg_ctx_t *ctx, int *exists, uint64_t *confirmed, ferry_error_t *err);
/* Captured tables ("schema"."table" pairs), sorted; for publications and
 * the snapshot. */
ferry_status_t pg_list_tables(pg_ctx_t *ctx, PGconn *conn, int with_outbox, char ***names, size_t *n,
                              ferry_error_t *err);
void pg_free_names(char **names, size_t n);
const pg_keyinfo_t *pg_keyinfo(pg_ctx_t *ctx, uint32_t oid);
void pg_keyinfo_forget(pg_ctx_t *ctx, uint32_t oid);
void pg_caches_init(pg_ctx_t *ctx); /* installs the pg_type resolver */
void pg_caches_free(pg_ctx_t *ctx);
char *pg_quote_ident(PGconn *conn, const char *s);  /* malloc'd; NULL on failure */
char *pg_quote_literal(PGconn *conn, const char *s); /* malloc'd; NULL on failure */

/* ---- pg_stream.c --------------------------------------------------------- */
ferry_status_t pg_stream_poll(pg_ctx_t *ctx, ferry_batch_t *batch, ferry_error_t *err);
/* Sends a standby status update with committed_lsn as flush position (if
 * streaming); a keepalive reply sends no flush position (see pg_stream.c). */
int pg_stream_send_status(pg_ctx_t *ctx, int keepalive_reply);
void pg_stream_reset(pg_ctx_t *ctx);

/* ---- pg_snapshot.c ------------------------------------------------------- */
/* Creates the slot (exporting a snapshot when export) and begins the
 * snapshot transaction on ctx->sql. resume: the stored snapshot offset to
 * continue from, or NULL. */
ferry_status_t pg_create_slot(pg_ctx_t *ctx, int export_snapshot, ferry_error_t *err);
ferry_status_t pg_snapshot_begin(pg_ctx_t *ctx, const char *snapshot_name, const char *resume,
                                 ferry_error_t *err);
/* Emits snapshot records; *done = 1 when every table was read. */
ferry_status_t pg_snapshot_poll(pg_ctx_t *ctx, ferry_batch_t *batch, int *done, ferry_error_t *err);
void pg_snapshot_free(pg_ctx_t *ctx);

/* ---- pg_outbox.c --------------------------------------------------------- */
/* Emits an outbox record for an insert into an outbox table. offset: the
 * record's source offset. Returns 0, or -1 when the row lacks the columns
 * (logged once per relation by the caller). */
int pg_outbox_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const pg_relation_t *rel, const pg_tuple_t *tuple,
                   int64_t ts_ms, const char *offset);

#endif
