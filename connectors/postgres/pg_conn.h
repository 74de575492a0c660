/*
 * pg_conn.h — the postgres-cdc task's state and the functions its files share.
 * Internal to the plugin. The files lie in floors; each calls only floors
 * below it:
 *   postgres.c                         options, callbacks, start-up decision
 *   pg_snapshot.c, pg_stream.c         the snapshot, the replication stream
 *   pg_outbox.c, pg_message.c          outbox events, op "m" messages (called by the stream)
 *   pg_admin.c                         replica identity at start, slot drop at stop
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
 *
 * With provide.transaction.metadata, a transaction's BEGIN (before its first
 * event) and END (at its Commit) records take indexes of the unit like its
 * events, and END's counts are made while decoding, skipped records
 * included: the unit resent whole after a restart numbers and counts alike,
 * so neither is doubled or lost. The offset's "txm" says whether its count
 * includes them, so a restart with the option switched converts the count.
 * Its "lsn_last_commit" restores source.sequence's first element.
 * Which records a unit yields (and so their indexes) depends on the config
 * (table and outbox lists, tombstones) and on the catalog at decoding time
 * (a table's key decides key changes and tombstones). So each offset also
 * carries "fp", a hash of what the unit's first `event` records were (kind
 * and table of each). When a unit is read again, the records skipped up to
 * `event` must hash alike (and must all be there); if not, the numbering
 * changed, the count cannot be trusted, and the whole unit is emitted again
 * from a fresh stream: duplicates within that one transaction, nothing lost.
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
#define PG_WINDOW_PREFIX "ferry_snapshot_window"

enum pg_pub_mode { PG_PUB_FILTERED, PG_PUB_ALL_TABLES, PG_PUB_DISABLED, PG_PUB_NO_TABLES };
enum pg_snap_mode { PG_SNAP_INITIAL, PG_SNAP_NO_DATA, PG_SNAP_INITIAL_ONLY, PG_SNAP_ALWAYS, PG_SNAP_WHEN_NEEDED };

/* skipped.operations: one bit per Debezium op letter. */
#define PG_SKIP_C 1u
#define PG_SKIP_U 2u
#define PG_SKIP_D 4u
#define PG_SKIP_T 8u

/* Where the task is. BOOT decides what to do from the stored offset and the
 * slot; SNAPSHOT reads tables; STREAM follows the slot; IDLE is the end of an
 * initial_only snapshot. */
enum pg_phase { PG_PHASE_BOOT, PG_PHASE_SNAPSHOT, PG_PHASE_STREAM, PG_PHASE_IDLE };

/* Anchored POSIX regexes over "schema.table". */
typedef struct pg_filter {
    size_t count;
    regex_t *res; /* owned; count entries */
} pg_filter_t;

/* Headers of one record at most: the connector's own (outbox id/type,
 * __debezium.oldkey/newkey) and Debezium's four context headers. */
#define PG_MAX_HEADERS 8

/* A record waiting for room in a later batch (everything owned). */
typedef struct pg_pending {
    char *topic;
    char *key;
    size_t key_len;
    int has_key;
    char *value;
    size_t value_len;
    int has_value;
    char *hname[PG_MAX_HEADERS], *hval[PG_MAX_HEADERS];
    size_t hlen[PG_MAX_HEADERS];
    size_t header_count;
    int64_t timestamp_ms;
    char *offset;
    uint32_t flags;
    char *reason; /* a record that can never be delivered (pg_emit_failed), or NULL */
} pg_pending_t;

/* Key columns of a relation, looked up once per relation id: the primary
 * key, or without one the first unique index by name (Debezium's choice,
 * in the snapshot and the stream alike). */
typedef struct pg_keyinfo {
    uint32_t oid;
    size_t count;
    char **names;  /* owned */
    char *notnull; /* owned; count flags: NULL there means "not in this row image" */
    int warned;    /* a row image without the key was logged once */
} pg_keyinfo_t;

typedef struct pg_typeinfo {
    uint32_t oid, base, elem;
    int32_t typmod; /* a domain's typtypmod, else -1 */
    char kind;
} pg_typeinfo_t;

typedef struct pg_snapshot pg_snapshot_t; /* pg_snapshot.c */
typedef struct pg_schema_entry pg_schema_entry_t; /* pg_schema.c */
typedef struct pg_incr pg_incr_t; /* pg_signal.c */
typedef struct pg_ksig pg_ksig_t; /* pg_signal_kafka.c */

/* message.key.columns: for tables matching re, key by these columns. */
typedef struct pg_keycols {
    regex_t re;
    size_t count;
    char **names; /* owned */
} pg_keycols_t;

/* Which columns of a relation column.include/exclude.list keep, computed
 * once per relation id. */
typedef struct pg_colmask {
    uint32_t oid;
    int ncols;
    unsigned char *keep; /* owned; ncols entries */
} pg_colmask_t;

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

    /* Debezium's options (pg_filter.c reads most of them). */
    pg_filter_t snap_include;         /* snapshot.include.collection.list */
    pg_filter_t col_include, col_exclude; /* over schema.table.column */
    pg_filter_t msg_include, msg_exclude; /* message.prefix.*.list */
    unsigned skip_ops;                /* PG_SKIP_* */
    pg_keycols_t *keycols;            /* owned; message.key.columns */
    size_t nkeycols;
    pg_colmask_t *colmasks;           /* owned cache */
    size_t ncolmasks;
    int slot_drop_on_stop;
    int via_root;                     /* publish.via.partition.root */
    const char *heartbeat_query;      /* heartbeat.action.query, or NULL */
    char *conninfo_built;             /* owned: from database.* options, or NULL */
    /* Who we are to the server: "ferry/<connector name>" as the sessions'
     * application_name, so a slot held by another connector is told apart
     * from our own lingering walsender (pg_slot_state). */
    char *appname;              /* owned */
    int slot_name_default;      /* slot.name was not set: ferry_<connector name> */
    int pub_name_default;       /* publication.name was not set: likewise */
    int64_t slot_busy_since_ms; /* when the slot was first seen held by another client (0: not) */
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
    uint64_t stream_floor;  /* START_REPLICATION no earlier than this (a new snapshot's point), or 0 */
    uint64_t flush_from;    /* boot only: committed_lsn after a new snapshot, or 0 */
    uint64_t emit_pos;      /* position of the last unit records were handed out for */
    int64_t emit_cnt;       /* records of that unit handed out */
    uint64_t committed_lsn; /* highest lsn_commit commit() gave us: the only flush we report */
    uint32_t emit_fp;       /* "fp" of the last record handed out (see the header comment) */
    int emit_fp_known;      /* emit_fp is set (offsets from before "fp" have none) */
    uint64_t received_lsn;  /* end of the last XLogData received */
    uint64_t server_wal_end;
    int streaming;          /* START_REPLICATION succeeded on repl */

    /* The unit being decoded. */
    int in_txn;
    uint64_t cur_pos;
    uint32_t cur_xid;
    int64_t cur_ts_us;
    int64_t cur_idx;
    /* source.sequence's first element: Debezium's lastCommitLsn, the end of
     * the last transaction whose Commit was received (0: none yet since the
     * stream started after a snapshot). emit_last_commit is its value when
     * the record at (emit_pos, emit_cnt) was made; it is stored in the offset
     * (lsn_last_commit) so that a unit resent after a restart gets the same. */
    uint64_t last_commit_lsn, emit_last_commit;
    char *cur_origin;        /* owned: the unit's replication origin (Origin message), or NULL */
    uint64_t cur_origin_lsn;

    /* provide.transaction.metadata (pg_stream.c): BEGIN before a
     * transaction's first event, END at its Commit, on txm_topic. Both take
     * an index of the unit like any record, and the counts are made while
     * decoding (skipped records included), so a unit resent after a restart
     * numbers and counts alike. */
    int txm_enabled;
    char *txm_topic;       /* owned: <topic.prefix>.<topic.transaction> */
    int txm_begun;         /* the current unit's BEGIN was reached */
    uint64_t txm_begin_lsn; /* stream position of the unit's Begin message */
    int64_t txm_total;     /* events of the unit so far */
    struct pg_txm_table { char *name; int64_t count; } *txm_tables; /* owned, first-event order */
    size_t txm_ntables, txm_cap;
    pg_buf_t tbuf;         /* the data event's "transaction" block */
    /* How emit_cnt numbers its unit: 0 without BEGIN/END records, 1 with
     * (the last record taken was a BEGIN or an event), 2 with, the last
     * being the END. Stored in the offset as "txm" so that a restart after
     * provide.transaction.metadata was switched converts the stored count
     * to the new numbering (postgres.c boot) instead of repeating or
     * dropping events of the resent transaction. */
    int emit_txm, txm_taking_end;

    /* extended.headers.enabled: Debezium 3.x's __debezium.context.* headers
     * (connectorLogicalName, taskId, connectorName, runId) on every change
     * event and tombstone (pg_record.c adds them; Debezium writes none on
     * transaction records). */
    int ext_headers;

    /* xmin.fetch.interval.ms: the slot's catalog_xmin, read this often while
     * streaming, is source.xmin (0: null, the default). */
    int64_t xmin_ms, last_xmin_ms;
    uint64_t slot_xmin;
    char task_id[16];
    char run_id[40];       /* a UUIDv7 made at open, like Debezium's per task run */
    uint32_t cur_fp;        /* hash of the unit's records so far (cur_idx of them) */
    int cur_window;         /* the unit is an incremental snapshot's watermark (pg_signal.c) */

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

    /* Signals and incremental snapshots (pg_signal.c). */
    const char *signal_table; /* signal.data.collection ("schema.table"), or NULL */
    int64_t incr_chunk;       /* incremental.snapshot.chunk.size */
    pg_incr_t *incr;          /* owned; NULL until a snapshot was asked for */
    /* Captured tables pg_ensure_publication just added to an existing
     * publication ("schema", "table" pairs; owned). */
    char **added_tables;
    size_t nadded;

    pg_pending_t *pending; /* owned FIFO */
    size_t npending, pending_head, cappending;
    size_t added; /* records added to the current batch by this poll */

    /* Connect schemas (pg_schema.c): wanted by the key / value converter,
     * and built per table. */
    int schemas_key, schemas_value;
    pg_schema_entry_t *schemas; /* owned */
    size_t nschemas, capschemas;

    /* Scratch buffers reused for every event. */
    pg_buf_t kbuf, vbuf, before, after, obuf;
    pg_buf_t skbuf, svbuf; /* key and value with their schemas */
} pg_ctx_t;

/* Wall clock in nanoseconds since the Unix epoch (the envelope's ts_*). */
static inline int64_t pg_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t pg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- pg_filter.c ---------------------------------------------------------- */
/* Each item of the list option opt is a name or a POSIX extended regex,
 * matched against the whole "schema.table" (anchored, ignoring case), like
 * Debezium's. */
int pg_filter_build(pg_filter_t *f, const ferry_host_t *host, const ferry_config_t *cfg, const char *opt,
                    ferry_error_t *err);
/* The same from n items; what names them in errors. */
int pg_filter_compile(pg_filter_t *f, const char *const *items, size_t n, const char *what, ferry_error_t *err);
int pg_filter_matches(const pg_filter_t *f, const char *name);
void pg_filter_free(pg_filter_t *f);
/* 1 when "schema.table" is signal.data.collection. */
int pg_signal_is_table(const pg_ctx_t *ctx, const char *schema, const char *table);
/* 1 if "schema.table" is captured (include/exclude lists), 2 if it is an
 * outbox table, 3 if it is the signal table, 0 if ignored. */
int pg_table_kind(const pg_ctx_t *ctx, const char *schema, const char *table);
/* The position of the first table.include.list item that names the table
 * (the item count when none does): tables are snapshotted in that order, as
 * Debezium does, and by name within an item. */
int pg_table_rank(const pg_ctx_t *ctx, const char *schema, const char *table);

/* 1 if the snapshot reads the table (snapshot.include.collection.list). */
int pg_snapshot_table_wanted(const pg_ctx_t *ctx, const char *schema, const char *table);
/* The table's snapshot.select.statement.overrides statement, or NULL. */
const char *pg_snapshot_override(const pg_ctx_t *ctx, const char *schema, const char *table);
/* 1 if the logical decoding message prefix is captured (message.prefix.*). */
int pg_message_wanted(const pg_ctx_t *ctx, const char *prefix);
/* Parses message.key.columns ("schema.table:c1,c2;...") into ctx->keycols. */
int pg_keycols_build(pg_ctx_t *ctx, const char *spec, ferry_error_t *err);
/* The columns message.key.columns gives the table, or NULL. */
const pg_keycols_t *pg_keycols_find(const pg_ctx_t *ctx, const char *schema, const char *table);
/* The column.include/exclude.list mask of a relation (NULL: keep all). */
const unsigned char *pg_colmask(pg_ctx_t *ctx, const pg_relation_t *rel);
void pg_colmask_forget(pg_ctx_t *ctx, uint32_t oid);
void pg_features_free(pg_ctx_t *ctx);

/* ---- pg_record.c ---------------------------------------------------------- */
/* Adds a record to the batch, or queues it when the batch is full. The
 * record's bytes are copied either way. */
void pg_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec);
/* The same; context_headers: add Debezium's __debezium.context.* headers
 * when extended.headers.enabled (change events and tombstones). */
void pg_emit_ctx(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec, int context_headers);
/* A record that can never be delivered (it cannot be routed, ...): handed
 * to the host's record_error, which dead-letters it or fails the task per
 * errors.tolerance. Queued like pg_emit's when the batch is full. */
void pg_emit_failed(pg_ctx_t *ctx, ferry_batch_t *batch, const ferry_record_t *rec, const char *reason);
/* Moves queued records into the batch while it has room (first, every poll). */
void pg_pending_drain(pg_ctx_t *ctx, ferry_batch_t *batch);
void pg_pending_free(pg_ctx_t *ctx);
/* 1 when poll should return: the batch is full or records wait. */
int pg_batch_full(const pg_ctx_t *ctx, ferry_batch_t *batch);
/* Key JSON of the relation's key columns (pg_keyinfo: the primary key, else
 * the first unique index) into ctx->kbuf; returns 0 when the table has no
 * key or the row image lacks a key column's value (the record gets none). */
int pg_key_json(pg_ctx_t *ctx, const pg_relation_t *rel, const pg_tuple_t *tuple);
/* The record key's columns, in key order, as indexes into rel->cols (idx
 * has room for rel->ncols): message.key.columns, else the primary key, else
 * the replica identity. */
int pg_key_columns(pg_ctx_t *ctx, const pg_relation_t *rel, int *idx);
/* pg_row_json with column.include/exclude.list applied. */
void pg_row_json_kept(pg_ctx_t *ctx, pg_buf_t *out, const pg_relation_t *rel, const pg_tuple_t *tuple);

/* ---- pg_schema.c ---------------------------------------------------------- */
/* With schemas wanted (ctx->schemas_key/value), turns rec's key and value
 * into {"schema":...,"payload":...} with Debezium's schemas for rel (in
 * ctx->skbuf/svbuf) and sets rec->flags. 0, or -1 when the catalog lookup
 * failed (ctx->lookup_failed is set: retry as for any lookup). */
int pg_schema_wrap(pg_ctx_t *ctx, const pg_relation_t *rel, ferry_record_t *rec);
void pg_schema_forget(pg_ctx_t *ctx, uint32_t oid); /* the relation changed */
void pg_schema_free(pg_ctx_t *ctx);

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
/* Creates the publication, or adds the captured tables an existing one lacks
 * (those are then in ctx->added_tables). */
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

/* ---- pg_message.c -------------------------------------------------------- */
/* Emits Debezium's op "m" event for a logical decoding message at lsn, with
 * the given source offset (the stream's). */
void pg_message_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const pgoutput_msg_t *msg, uint64_t lsn,
                     const char *offset);

/* ---- pg_admin.c ---------------------------------------------------------- */
/* replica.identity.autoset.values: ALTER TABLE ... REPLICA IDENTITY for the
 * captured tables it names (at start, before the snapshot). */
ferry_status_t pg_replica_identity_autoset(pg_ctx_t *ctx, ferry_error_t *err);
/* slot.drop.on.stop: drops the slot on a new replication connection (after
 * pg_disconnect); failures are logged. */
void pg_slot_drop(pg_ctx_t *ctx);

/* ---- pg_stream.c --------------------------------------------------------- */
ferry_status_t pg_stream_poll(pg_ctx_t *ctx, ferry_batch_t *batch, ferry_error_t *err);
/* Sends a standby status update with committed_lsn as flush position (if
 * streaming); a keepalive reply sends no flush position (see pg_stream.c). */
int pg_stream_send_status(pg_ctx_t *ctx, int keepalive_reply);
void pg_stream_reset(pg_ctx_t *ctx);
void pg_txm_free(pg_ctx_t *ctx); /* transaction metadata state */

/* ---- pg_snapshot.c ------------------------------------------------------- */
/* Creates the slot (exporting a snapshot when export; temporary: a
 * throw-away slot that only lends its consistent point and snapshot) and
 * begins the snapshot transaction on ctx->sql; sets start_lsn to the
 * consistent point. resume: the stored snapshot offset to continue from,
 * or NULL. */
ferry_status_t pg_create_slot(pg_ctx_t *ctx, int export_snapshot, int temporary, ferry_error_t *err);
ferry_status_t pg_snapshot_begin(pg_ctx_t *ctx, const char *snapshot_name, const char *resume,
                                 ferry_error_t *err);
/* Emits snapshot records; *done = 1 when every table was read. */
ferry_status_t pg_snapshot_poll(pg_ctx_t *ctx, ferry_batch_t *batch, int *done, ferry_error_t *err);
void pg_snapshot_free(pg_ctx_t *ctx);

/* ---- pg_signal.c --------------------------------------------------------- */
/* Signals (rows inserted into signal.data.collection) and the incremental
 * snapshots they start; see pg_signal.c. The stream calls these. */
/* Takes the snapshot's progress from the stored offset ("incremental"). */
ferry_status_t pg_signal_restore(pg_ctx_t *ctx, const char *stored_offset, ferry_error_t *err);
/* Queues the tables (schema, table pairs) for an incremental snapshot. */
void pg_signal_snapshot_tables(pg_ctx_t *ctx, char **names, size_t n, const char *why);
/* A transactional logical message with PG_WINDOW_PREFIX: a watermark. */
void pg_signal_on_watermark(pg_ctx_t *ctx, const char *content, size_t len);
/* A row inserted into the signal table. */
ferry_status_t pg_signal_on_row(pg_ctx_t *ctx, const pg_relation_t *rel, const pg_tuple_t *tuple,
                                ferry_error_t *err);
/* A truncate of rel: an open window of that table drops every row. */
void pg_signal_on_truncate(pg_ctx_t *ctx, const pg_relation_t *rel);
/* A streamed change with this key: drops the key from an open window. */
void pg_signal_on_change(pg_ctx_t *ctx, const pg_relation_t *rel, const char *key_json);
/* Between transactions: opens the next window (writes the watermarks and
 * reads the chunk) when a snapshot runs and no window is open. */
ferry_status_t pg_signal_tick(pg_ctx_t *ctx, ferry_error_t *err);
/* 1 when a window's close watermark came back: its rows are to be emitted,
 * one pg_signal_window_next call each (key in ctx->kbuf, the row image as
 * rec->value, the topic in *topic) until it returns 0. The relation stays
 * valid until then. */
int pg_signal_window_ready(const pg_ctx_t *ctx);
const pg_relation_t *pg_signal_relation(const pg_ctx_t *ctx);
int pg_signal_window_next(pg_ctx_t *ctx, ferry_record_t *rec, pg_buf_t *topic);
/* Opens the Kafka signal channel (signal.kafka.*), from the restored position. */
ferry_status_t pg_signal_start_kafka(pg_ctx_t *ctx, ferry_error_t *err);
/* The "incremental" member for offsets while a snapshot runs, or NULL. */
const char *pg_signal_offset(const pg_ctx_t *ctx);
void pg_signal_free(pg_ctx_t *ctx);

/* ---- pg_signal_kafka.c --------------------------------------------------- */
/* A consumer of partition 0 of topic from next_offset (-1: its end). NULL
 * with err on failure. */
pg_ksig_t *pg_ksig_open(const char *bootstrap, const char *topic, const char *group, int64_t next_offset,
                        char *err, size_t errlen);
/* The next message, without waiting: 1 (pointers valid until the next
 * call), 0 when there is none, -1 with err. */
int pg_ksig_next(pg_ksig_t *k, const char **key, size_t *key_len, const char **value, size_t *value_len,
                 int64_t *offset, char *err, size_t errlen);
void pg_ksig_close(pg_ksig_t *k);

/* ---- pg_outbox.c --------------------------------------------------------- */
/* Emits an outbox record for an insert into an outbox table. offset: the
 * record's source offset. A row that cannot be routed (columns missing,
 * aggregatetype NULL, empty or too long) is handed to the host as a bad
 * record (pg_emit_failed). */
void pg_outbox_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const pg_relation_t *rel, const pg_tuple_t *tuple,
                   int64_t ts_ms, const char *offset);

#endif
