/*
 * pg_snapshot.c — the initial snapshot: creating the slot with an exported
 * snapshot, reading every captured table in that snapshot in primary-key
 * chunks, and resuming an interrupted snapshot.
 *
 * Consistency: CREATE_REPLICATION_SLOT ... (SNAPSHOT 'export') returns the
 * slot's consistent point and a snapshot that sees exactly the transactions
 * committed before it. The SQL connection adopts that snapshot (SET
 * TRANSACTION SNAPSHOT) while the replication connection that exported it is
 * still open and idle; the stream then starts at the consistent point: no
 * gap, no overlap.
 *
 * Resume: each row's offset records the table and the last primary key read
 * ({"snapshot":true,"table":"public.t","last_pk":["42"],...}). The exported
 * snapshot does not survive a restart (or a lost connection), so the rest is
 * read with a fresh snapshot. Rows changed after the consistent point may
 * then appear twice (read here and streamed from the slot, which still starts
 * at the consistent point); none is lost. Tables without a primary key
 * start over on resume.
 *
 * Reading: one cursor per table (SELECT ... FROM ONLY t, in key order, after
 * last_pk when resuming), fetched a few rows at a time so that memory stays
 * bounded by PG_SNAPSHOT_FETCH_BYTES however wide the rows are.
 */
#include "pg_conn.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct pg_snapshot {
    char **tables; /* owned: schema, table pairs */
    size_t ntables, cur;
    int in_txn;
    int table_loaded;
    /* Debezium's source fields of every snapshot record: the snapshot
     * transaction's txid_current(), the position it reads at (the slot's
     * consistent point when it adopted the slot's exported snapshot, else
     * pg_current_wal_lsn() in the transaction) and when it began. */
    uint64_t txid, lsn;
    int64_t ts_us;

    /* The current table. */
    uint32_t oid;
    char *qualified;  /* owned: "schema"."table" */
    char *display;    /* owned: schema.table */
    char *select;     /* owned: SELECT cols FROM t */
    char *order;      /* owned: "a", "b" (empty: no primary key) */
    char *pk_tuple;   /* owned: ("a", "b") */
    char **pk_types;  /* owned: format_type of each key column */
    int *pk_cols;     /* owned: result column of each key column */
    size_t npk;
    pg_relation_t rel; /* names owned here */
    pg_datum_t *datums; /* owned; rel.ncols entries */

    char **last_pk; /* owned: text of the last key emitted, npk entries, or NULL */
    int cursor_open, cursor_done; /* the table's cursor is declared / has no rows left */

    /* Rows come from the cursor in fetches bounded by bytes (see fetch()):
     * res is being emitted, next is fetched ahead when res's last row is
     * reached, so that row knows whether it is the table's last. */
    PGresult *res, *next;
    int row;
    int table_first;  /* the next row is the table's first (not a continuation, nor a resume) */
    int64_t fetch_n;  /* rows the next FETCH asks for */
    size_t maxrow;    /* widest row of the table seen so far, bytes */
    int overridden;   /* select is the user's snapshot.select.statement.overrides.<table> */

    /* The snapshot's last record is the last row of the last table that has
     * rows: next_full is the first table after full_from with rows (ntables
     * when none), probed once per table. */
    size_t next_full, full_from;
    int probed;
    int64_t emitted; /* records emitted by this snapshot */
    int resumed;     /* continues a snapshot stored in the offsets */
};

/* What one fetch may hold, about: rows are fetched budget / widest-row-seen
 * at a time (at least one, at most snapshot.chunk.size), so a table of wide
 * rows costs a few of them in memory, never a whole chunk. */
#define PG_SNAPSHOT_FETCH_BYTES (8u << 20)

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void table_unload(pg_snapshot_t *snap)
{
    PQclear(snap->res);
    PQclear(snap->next);
    snap->res = snap->next = NULL;
    free(snap->qualified);
    free(snap->display);
    free(snap->select);
    free(snap->order);
    free(snap->pk_tuple);
    strv_free(snap->pk_types, snap->npk);
    free(snap->pk_cols);
    for (int i = 0; i < snap->rel.ncols; i++)
        free(snap->rel.cols[i].name);
    free(snap->rel.cols);
    free(snap->datums);
    snap->qualified = snap->display = snap->select = snap->order = snap->pk_tuple = NULL;
    snap->pk_types = NULL;
    snap->pk_cols = NULL;
    snap->datums = NULL;
    snap->rel.cols = NULL;
    snap->rel.ncols = 0;
    snap->table_loaded = 0;
    snap->cursor_open = snap->cursor_done = 0;
    snap->fetch_n = 1;
    snap->maxrow = 0;
}

static void last_pk_clear(pg_snapshot_t *snap)
{
    strv_free(snap->last_pk, snap->npk);
    snap->last_pk = NULL;
}

void pg_snapshot_free(pg_ctx_t *ctx)
{
    pg_snapshot_t *snap = ctx->snap;
    if (!snap)
        return;
    if (snap->in_txn && ctx->sql)
        PQclear(PQexec(ctx->sql, "ROLLBACK"));
    last_pk_clear(snap);
    table_unload(snap);
    pg_free_names(snap->tables, snap->ntables);
    free(snap);
    ctx->snap = NULL;
}

ferry_status_t pg_create_slot(pg_ctx_t *ctx, int export_snapshot, int temporary, ferry_error_t *err)
{
    ferry_status_t st;
    if ((st = pg_connect(ctx, 1, &ctx->repl, err)) != FERRY_OK)
        return st;
    /* A temporary slot only lends its consistent point and exported
     * snapshot to a new snapshot of tables whose slot already exists; the
     * server drops it when the replication connection closes below. */
    char name[64];
    snprintf(name, sizeof(name), "%.52s%s", ctx->slot, temporary ? "_snapshot" : "");
    char *slot = pg_quote_ident(ctx->repl, temporary ? name : ctx->slot);
    pg_buf_t cmd = {0};
    pg_buf_printf(&cmd, "CREATE_REPLICATION_SLOT %s%s LOGICAL \"pgoutput\" (SNAPSHOT '%s')", slot ? slot : "\"\"",
                  temporary ? " TEMPORARY" : "", export_snapshot ? "export" : "nothing");
    free(slot);
    PGresult *res = PQexec(ctx->repl, cmd.data);
    pg_buf_free(&cmd);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1 || PQnfields(res) < 3) {
        char what[160];
        snprintf(what, sizeof(what), "creating %sreplication slot \"%s\"", temporary ? "temporary " : "",
                 temporary ? name : ctx->slot);
        st = pg_fail(ctx, ctx->repl, res, what, err);
        PQfinish(ctx->repl);
        ctx->repl = NULL;
        return st;
    }
    uint64_t cp = 0;
    pg_lsn_parse(PQgetvalue(res, 0, 1), &cp);
    ctx->start_lsn = cp;
    ctx->host->log(ctx->task, FERRY_LOG_INFO, "created %sreplication slot %s at %s", temporary ? "temporary " : "",
                   temporary ? name : ctx->slot, PQgetvalue(res, 0, 1));
    st = FERRY_OK;
    if (export_snapshot)
        st = pg_snapshot_begin(ctx, PQgetvalue(res, 0, 2), NULL, err);
    PQclear(res);
    /* The exported snapshot has been adopted (or the attempt failed): the
     * replication connection is no longer needed until streaming starts. */
    PQfinish(ctx->repl);
    ctx->repl = NULL;
    return st;
}

/* Begins the REPEATABLE READ transaction the snapshot reads in, adopting the
 * exported snapshot when there is one. */
static ferry_status_t begin_txn(pg_ctx_t *ctx, const char *snapshot_name, ferry_error_t *err)
{
    ferry_status_t st;
    if (!ctx->sql && (st = pg_connect(ctx, 0, &ctx->sql, err)) != FERRY_OK)
        return st;
    PGresult *res = PQexec(ctx->sql, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(ctx, ctx->sql, res, "beginning the snapshot transaction", err);
    PQclear(res);
    if (snapshot_name) {
        char *lit = pg_quote_literal(ctx->sql, snapshot_name);
        pg_buf_t q = {0};
        pg_buf_printf(&q, "SET TRANSACTION SNAPSHOT %s", lit ? lit : "''");
        free(lit);
        res = PQexec(ctx->sql, q.data);
        pg_buf_free(&q);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            st = pg_fail(ctx, ctx->sql, res, "adopting the exported snapshot", err);
            PQclear(PQexec(ctx->sql, "ROLLBACK"));
            return st;
        }
        PQclear(res);
    }
    /* A standby cannot assign a transaction id: there the snapshot's xmin
     * stands for it (and the replay position for the current one). */
    res = pg_query(ctx, ctx->sql,
                   "SELECT CASE WHEN pg_is_in_recovery() THEN txid_snapshot_xmin(txid_current_snapshot()) "
                   "ELSE txid_current() END, CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                   "ELSE pg_current_wal_lsn() END",
                   0, NULL, PGRES_TUPLES_OK, "reading the snapshot transaction's id", &st, err);
    if (!res) {
        PQclear(PQexec(ctx->sql, "ROLLBACK"));
        return st;
    }
    uint64_t cur = 0;
    ctx->snap->txid = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    pg_lsn_parse(PQgetvalue(res, 0, 1), &cur);
    PQclear(res);
    ctx->snap->lsn = snapshot_name ? ctx->start_lsn : cur;
    ctx->snap->ts_us = pg_wall_ns() / 1000;
    ctx->snap->in_txn = 1;
    return FERRY_OK;
}

/* Positions the snapshot after the stored progress: tables before the stored
 * one are done, the stored one continues after last_pk. */
static void apply_resume(pg_snapshot_t *snap, const char *resume)
{
    json_error_t jerr;
    json_t *root = json_loads(resume, 0, &jerr);
    if (!root)
        return;
    const char *table = json_string_value(json_object_get(root, "table"));
    json_t *pk = json_object_get(root, "last_pk");
    if (table) {
        size_t i = 0;
        char name[512];
        for (; i < snap->ntables; i++) {
            snprintf(name, sizeof(name), "%s.%s", snap->tables[2 * i], snap->tables[2 * i + 1]);
            if (strcmp(name, table) >= 0)
                break;
        }
        snap->cur = i;
        if (i < snap->ntables && strcmp(name, table) == 0 && json_is_array(pk) && json_array_size(pk) > 0) {
            /* Kept as text until the table's key is known (table_load). */
            size_t n = json_array_size(pk);
            snap->last_pk = calloc(n + 1, sizeof(char *));
            for (size_t j = 0; snap->last_pk && j < n; j++) {
                const char *v = json_string_value(json_array_get(pk, j));
                snap->last_pk[j] = strdup(v ? v : "");
            }
            snap->npk = n;
        }
    }
    json_decref(root);
}

ferry_status_t pg_snapshot_begin(pg_ctx_t *ctx, const char *snapshot_name, const char *resume, ferry_error_t *err)
{
    pg_snapshot_free(ctx);
    ctx->snap = calloc(1, sizeof(*ctx->snap));
    if (!ctx->snap)
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    ferry_status_t st = begin_txn(ctx, snapshot_name, err);
    if (st == FERRY_OK)
        st = pg_list_tables(ctx, ctx->sql, 0, &ctx->snap->tables, &ctx->snap->ntables, err);
    if (st != FERRY_OK) {
        pg_snapshot_free(ctx);
        return st;
    }
    /* snapshot.include.collection.list narrows what is read, not what is
     * streamed. */
    pg_snapshot_t *snap = ctx->snap;
    size_t kept = 0;
    for (size_t i = 0; i < snap->ntables; i++) {
        if (pg_snapshot_table_wanted(ctx, snap->tables[2 * i], snap->tables[2 * i + 1])) {
            snap->tables[2 * kept] = snap->tables[2 * i];
            snap->tables[2 * kept + 1] = snap->tables[2 * i + 1];
            kept++;
        } else {
            free(snap->tables[2 * i]);
            free(snap->tables[2 * i + 1]);
        }
    }
    snap->ntables = kept;
    if (resume) {
        apply_resume(ctx->snap, resume);
        snap->resumed = 1;
    }
    ctx->host->log(ctx->task, FERRY_LOG_INFO, "snapshot of %zu table(s)%s%s", ctx->snap->ntables,
                   snapshot_name ? " in the slot's exported snapshot" : " in a fresh snapshot",
                   resume ? ", resuming" : "");
    return FERRY_OK;
}

/* Loads the current table's columns and primary key. */
static ferry_status_t table_load(pg_ctx_t *ctx, ferry_error_t *err)
{
    pg_snapshot_t *snap = ctx->snap;
    const char *schema = snap->tables[2 * snap->cur], *table = snap->tables[2 * snap->cur + 1];
    char *s = pg_quote_ident(ctx->sql, schema), *t = pg_quote_ident(ctx->sql, table);
    pg_buf_t b = {0};
    pg_buf_printf(&b, "%s.%s", s ? s : "", t ? t : "");
    free(s);
    free(t);
    snap->qualified = b.data;
    b = (pg_buf_t){0};
    pg_buf_printf(&b, "%s.%s", schema, table);
    snap->display = b.data;

    const char *params[1] = {snap->qualified};
    ferry_status_t st;
    PGresult *res = pg_query(ctx, ctx->sql,
                             "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                             "coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY k(att, n) WHERE k.att = a.attnum), 0), "
                             "a.attrelid::oid "
                             "FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND "
                             "i.indisprimary WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT "
                             "a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
                             1, params, PGRES_TUPLES_OK, "reading the columns of a table", &st, err);
    if (!res)
        return st;
    int n = PQntuples(res);
    size_t old_npk = snap->npk; /* last_pk from a resume has this many values */
    snap->rel.cols = calloc((size_t)n + 1, sizeof(pg_column_t));
    snap->datums = calloc((size_t)n + 1, sizeof(pg_datum_t));
    snap->pk_types = calloc((size_t)n + 1, sizeof(char *));
    snap->pk_cols = calloc((size_t)n + 1, sizeof(int));
    if (!snap->rel.cols || !snap->datums || !snap->pk_types || !snap->pk_cols) {
        PQclear(res);
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    }
    snap->npk = 0;
    pg_buf_t sel = {0}, order = {0};
    pg_buf_puts(&sel, "SELECT ");
    for (int i = 0; i < n; i++) {
        char *q = pg_quote_ident(ctx->sql, PQgetvalue(res, i, 0));
        pg_buf_printf(&sel, "%s%s", i ? ", " : "", q ? q : "\"\"");
        free(q);
        snap->rel.cols[i].name = strdup(PQgetvalue(res, i, 0));
        snap->rel.ncols = i + 1;
        int pkpos = atoi(PQgetvalue(res, i, 2));
        if (pkpos > 0 && pkpos <= n) {
            snap->pk_cols[pkpos - 1] = i;
            snap->pk_types[pkpos - 1] = strdup(PQgetvalue(res, i, 1));
            snap->npk++;
        }
    }
    snap->oid = n ? (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10) : 0;
    PQclear(res);
    /* ONLY: a table's rows, not its inheritance children's (each child is a
     * captured table of its own, streamed under its own name). A
     * partitioned table has no rows of its own: it is read whole. */
    res = pg_query(ctx, ctx->sql, "SELECT relkind FROM pg_class WHERE oid = $1::regclass", 1, params,
                   PGRES_TUPLES_OK, "reading the kind of a table", &st, err);
    if (!res) {
        pg_buf_free(&sel);
        return st;
    }
    int partitioned = PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 'p';
    PQclear(res);
    pg_buf_printf(&sel, " FROM %s%s", partitioned ? "" : "ONLY ", snap->qualified);
    for (size_t k = 0; k < snap->npk; k++) {
        char *q = pg_quote_ident(ctx->sql, snap->rel.cols[snap->pk_cols[k]].name);
        pg_buf_printf(&order, "%s%s", k ? ", " : "", q ? q : "\"\"");
        free(q);
    }
    snap->select = sel.data;
    snap->order = order.data ? order.data : strdup("");
    const char *over = pg_snapshot_override(ctx, schema, table);
    snap->overridden = over != NULL;
    if (over) {
        /* The user's statement: read in one pass (no key to page by), its
         * result columns named as it names them (chunk_read). */
        free(snap->select);
        snap->select = strdup(over);
        for (size_t k = 0; k < snap->npk; k++) {
            free(snap->pk_types[k]);
            snap->pk_types[k] = NULL;
        }
        snap->npk = 0;
        ctx->host->log(ctx->task, FERRY_LOG_INFO, "snapshot of %s with snapshot.select.statement.overrides: %s",
                       snap->display, over);
    }
    b = (pg_buf_t){0};
    pg_buf_printf(&b, "(%s)", snap->order);
    snap->pk_tuple = b.data;
    if (snap->last_pk && old_npk != snap->npk) {
        /* The key changed shape since the offset was written: start the
         * table over (duplicates, not loss). */
        strv_free(snap->last_pk, old_npk);
        snap->last_pk = NULL;
    }

    snap->rel.oid = snap->oid;
    snap->rel.schema = snap->tables[2 * snap->cur];
    snap->rel.table = snap->tables[2 * snap->cur + 1];
    snap->rel.replident = 'd';
    for (size_t k = 0; k < snap->npk; k++)
        snap->rel.cols[snap->pk_cols[k]].is_key = 1;
    snap->table_loaded = 1;
    if (!snap->select)
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    return FERRY_OK;
}

/* The columns of an overriding statement's result, by the names it gives. */
static ferry_status_t override_columns(pg_snapshot_t *snap, const PGresult *res, ferry_error_t *err)
{
    int n = PQnfields(res);
    pg_column_t *cols = calloc((size_t)n + 1, sizeof(*cols));
    pg_datum_t *datums = calloc((size_t)n + 1, sizeof(*datums));
    if (!cols || !datums) {
        free(cols);
        free(datums);
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    }
    for (int i = 0; i < snap->rel.ncols; i++)
        free(snap->rel.cols[i].name);
    free(snap->rel.cols);
    free(snap->datums);
    snap->rel.cols = cols;
    snap->datums = datums;
    snap->rel.ncols = 0;
    for (int i = 0; i < n; i++) {
        cols[i].name = strdup(PQfname(res, i));
        if (!cols[i].name)
            return ferry_error_set(err, FERRY_ERROR, "out of memory");
        snap->rel.ncols = i + 1;
    }
    return FERRY_OK;
}

/* Declares the table's cursor: every row, or (keyed and resuming) the rows
 * after last_pk, in key order. */
static ferry_status_t cursor_open(pg_ctx_t *ctx, ferry_error_t *err)
{
    pg_snapshot_t *snap = ctx->snap;
    pg_buf_t q = {0};
    pg_buf_printf(&q, "DECLARE ferry_snapshot NO SCROLL CURSOR FOR %s", snap->select);
    if (snap->npk && snap->last_pk) {
        pg_buf_printf(&q, " WHERE %s > (", snap->pk_tuple);
        for (size_t k = 0; k < snap->npk; k++) {
            char *lit = pg_quote_literal(ctx->sql, snap->last_pk[k] ? snap->last_pk[k] : "");
            pg_buf_printf(&q, "%s%s::%s", k ? ", " : "", lit ? lit : "''", snap->pk_types[k]);
            free(lit);
        }
        pg_buf_puts(&q, ")");
    }
    if (snap->npk)
        pg_buf_printf(&q, " ORDER BY %s", snap->order);
    ferry_status_t st;
    PGresult *res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_COMMAND_OK, "opening a snapshot cursor", &st, err);
    pg_buf_free(&q);
    if (!res) {
        char msg[FERRY_ERRMSG_SIZE];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return ferry_error_set(err, st, "snapshot of %s: %s", snap->display, msg);
    }
    PQclear(res);
    snap->cursor_open = 1;
    snap->cursor_done = 0;
    snap->table_first = snap->npk == 0 || snap->last_pk == NULL;
    return FERRY_OK;
}

/* Fetches the next rows of the cursor into *out: as many as fit in
 * PG_SNAPSHOT_FETCH_BYTES at the widest row seen so far (the first fetch of
 * a table asks for one row). */
static ferry_status_t fetch(pg_ctx_t *ctx, PGresult **out, ferry_error_t *err)
{
    pg_snapshot_t *snap = ctx->snap;
    pg_buf_t q = {0};
    int64_t want = snap->fetch_n > 0 ? snap->fetch_n : 1;
    pg_buf_printf(&q, "FETCH %" PRId64 " FROM ferry_snapshot", want);
    ferry_status_t st;
    PGresult *res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_TUPLES_OK, "reading a snapshot chunk", &st, err);
    pg_buf_free(&q);
    if (!res) {
        char msg[FERRY_ERRMSG_SIZE];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return ferry_error_set(err, st, "snapshot of %s: %s", snap->display, msg);
    }
    int rows = PQntuples(res), cols = PQnfields(res);
    for (int r = 0; r < rows; r++) {
        size_t bytes = 0;
        for (int c = 0; c < cols; c++)
            bytes += (size_t)PQgetlength(res, r, c) + 16;
        if (bytes > snap->maxrow)
            snap->maxrow = bytes;
    }
    int64_t n = snap->maxrow ? (int64_t)(PG_SNAPSHOT_FETCH_BYTES / snap->maxrow) : 1;
    snap->fetch_n = n < 1 ? 1 : n > ctx->chunk_size ? ctx->chunk_size : n;
    if (rows < want) {
        snap->cursor_done = 1;
        PQclear(PQexec(ctx->sql, "CLOSE ferry_snapshot"));
        snap->cursor_open = 0;
    }
    *out = res;
    return FERRY_OK;
}

/* Debezium's source.snapshot of row snap->row: "first" and "last" for the
 * snapshot's first and last record, "first_in_data_collection" /
 * "last_in_data_collection" for a table's, "true" for the rest (a table's
 * last record wins over its first, the snapshot's over the table's). */
static const char *snapshot_marker(const pg_snapshot_t *snap)
{
    int first_in_table = snap->table_first;
    int last_in_table = snap->cursor_done && !snap->next && snap->row + 1 == PQntuples(snap->res);
    if (last_in_table && snap->next_full >= snap->ntables) return "last";
    if (first_in_table && snap->emitted == 0 && !snap->resumed) return "first";
    if (last_in_table) return "last_in_data_collection";
    if (first_in_table) return "first_in_data_collection";
    return "true";
}

/* Sets snap->next_full (see struct pg_snapshot) for the current table:
 * probes the tables after it, in the snapshot transaction, until one has a
 * row. Each table is probed at most once. */
static ferry_status_t probe_later_tables(pg_ctx_t *ctx, ferry_error_t *err)
{
    pg_snapshot_t *snap = ctx->snap;
    if (snap->probed && snap->full_from == snap->cur)
        return FERRY_OK;
    if (snap->probed && snap->next_full > snap->cur) {
        snap->full_from = snap->cur; /* the tables in between were empty */
        return FERRY_OK;
    }
    size_t i = snap->cur + 1;
    for (; i < snap->ntables; i++) {
        const char *schema = snap->tables[2 * i], *table = snap->tables[2 * i + 1];
        const char *over = pg_snapshot_override(ctx, schema, table);
        char *s = pg_quote_ident(ctx->sql, schema), *t = pg_quote_ident(ctx->sql, table);
        pg_buf_t q = {0};
        if (over)
            pg_buf_printf(&q, "SELECT 1 FROM (%s) s LIMIT 1", over);
        else
            pg_buf_printf(&q, "SELECT 1 FROM %s.%s LIMIT 1", s ? s : "\"\"", t ? t : "\"\"");
        free(s);
        free(t);
        ferry_status_t st;
        PGresult *res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_TUPLES_OK, "probing a table for rows", &st, err);
        pg_buf_free(&q);
        if (!res) {
            char msg[FERRY_ERRMSG_SIZE];
            snprintf(msg, sizeof(msg), "%s", err->msg);
            return ferry_error_set(err, st, "snapshot of %s.%s: %s", schema, table, msg);
        }
        int rows = PQntuples(res);
        PQclear(res);
        if (rows)
            break;
    }
    snap->next_full = i;
    snap->full_from = snap->cur;
    snap->probed = 1;
    return FERRY_OK;
}

/* Emits row snap->row of the current chunk as an 'r' event. */
static ferry_status_t emit_row(pg_ctx_t *ctx, ferry_batch_t *batch, ferry_error_t *err)
{
    pg_snapshot_t *snap = ctx->snap;
    PGresult *res = snap->res;
    int r = snap->row;
    pg_tuple_t tuple = {.ncols = snap->rel.ncols, .cols = snap->datums};
    for (int i = 0; i < snap->rel.ncols; i++) {
        if (PQgetisnull(res, r, i)) {
            snap->datums[i] = (pg_datum_t){PG_DATUM_NULL, NULL, 0};
        } else {
            snap->datums[i] = (pg_datum_t){PG_DATUM_TEXT, PQgetvalue(res, r, i), (uint32_t)PQgetlength(res, r, i)};
        }
        snap->rel.cols[i].type_oid = PQftype(res, i);
        snap->rel.cols[i].typmod = PQfmod(res, i);
    }
    if (snap->cursor_done && !snap->next && r + 1 == PQntuples(res)) {
        ferry_status_t st = probe_later_tables(ctx, err);
        if (st != FERRY_OK)
            return st;
    }
    const char *marker = snapshot_marker(snap);
    int has_key = pg_key_json(ctx, &snap->rel, &tuple);
    pg_buf_reset(&ctx->after);
    pg_row_json_kept(ctx, &ctx->after, &snap->rel, &tuple);
    if (ctx->lookup_failed) {
        ctx->lookup_failed = 0;
        return ferry_error_set(err, FERRY_RETRY, "snapshot of %s: catalog lookup failed", snap->display);
    }
    pg_event_source_t src = {
        .version = PG_CONNECTOR_VERSION,
        .name = ctx->prefix,
        .db = ctx->dbname,
        .ts_ms = snap->ts_us / 1000,
        .ts_us = snap->ts_us,
        .snapshot = marker,
        .txid = snap->txid,
        .lsn = snap->lsn,
        .now_ns = pg_wall_ns(),
    };
    pg_buf_reset(&ctx->vbuf);
    pg_envelope_json(&ctx->vbuf, 'r', &snap->rel, NULL, ctx->after.data, &src, src.now_ns / 1000000);
    snap->table_first = 0;

    /* Progress: the key just read, as text, so a resume continues after it. */
    last_pk_clear(snap);
    if (snap->npk) {
        snap->last_pk = calloc(snap->npk + 1, sizeof(char *));
        for (size_t k = 0; snap->last_pk && k < snap->npk; k++)
            snap->last_pk[k] = strdup(PQgetvalue(res, r, snap->pk_cols[k]));
    }
    pg_buf_reset(&ctx->obuf);
    pg_buf_printf(&ctx->obuf, "{\"event\":%" PRId64 ",\"last_pk\":", ctx->emit_cnt);
    if (snap->npk && snap->last_pk) {
        pg_buf_puts(&ctx->obuf, "[");
        for (size_t k = 0; k < snap->npk; k++) {
            if (k)
                pg_buf_puts(&ctx->obuf, ",");
            const char *v = snap->last_pk[k] ? snap->last_pk[k] : "";
            pg_buf_json_string(&ctx->obuf, v, strlen(v));
        }
        pg_buf_puts(&ctx->obuf, "]");
    } else {
        pg_buf_puts(&ctx->obuf, "null");
    }
    /* Debezium's mark of a finished snapshot: a restart streams on from here
     * (or, with initial_only, does nothing) instead of reading again. */
    if (strcmp(marker, "last") == 0)
        pg_buf_puts(&ctx->obuf, ",\"last_snapshot_record\":true");
    pg_buf_printf(&ctx->obuf, ",\"lsn\":%" PRIu64 ",\"lsn_commit\":%" PRIu64 ",\"snapshot\":true,\"table\":",
                  ctx->emit_pos, ctx->emit_pos);
    pg_buf_json_string(&ctx->obuf, snap->display, strlen(snap->display));
    pg_buf_puts(&ctx->obuf, "}");

    pg_buf_t topic = {0};
    pg_buf_printf(&topic, "%s.%s", ctx->prefix, snap->display);
    pg_topic_sanitize(&topic);
    ferry_record_t rec = {
        .topic = topic.data,
        .key = has_key ? ctx->kbuf.data : NULL,
        .key_len = has_key ? ctx->kbuf.len : 0,
        .value = ctx->vbuf.data,
        .value_len = ctx->vbuf.len,
        .source_offset = ctx->obuf.data,
    };
    if (pg_schema_wrap(ctx, &snap->rel, &rec) != 0) {
        ctx->lookup_failed = 0;
        pg_buf_free(&topic);
        return ferry_error_set(err, FERRY_RETRY, "snapshot of %s: catalog lookup failed", snap->display);
    }
    pg_emit_ctx(ctx, batch, &rec, 1);
    pg_buf_free(&topic);
    snap->emitted++;
    return FERRY_OK;
}

ferry_status_t pg_snapshot_poll(pg_ctx_t *ctx, ferry_batch_t *batch, int *done, ferry_error_t *err)
{
    pg_snapshot_t *snap = ctx->snap;
    ferry_status_t st;
    *done = 0;
    if (!snap) {
        *done = 1;
        return FERRY_OK;
    }
    if (!snap->in_txn || !ctx->sql) {
        /* The connection (and with it the snapshot and its cursor) was
         * lost: continue after the last row emitted, in a fresh snapshot. */
        snap->in_txn = 0;
        PQclear(snap->res);
        PQclear(snap->next);
        snap->res = snap->next = NULL;
        snap->cursor_open = snap->cursor_done = 0;
        if (snap->table_loaded && !snap->npk)
            table_unload(snap); /* keyless: starts over */
        if ((st = begin_txn(ctx, NULL, err)) != FERRY_OK)
            return st;
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "snapshot continues in a fresh snapshot; rows changed meanwhile may appear twice");
    }
    while (!pg_batch_full(ctx, batch) && !atomic_load(&ctx->stop)) {
        if (snap->cur >= snap->ntables) {
            PGresult *res = PQexec(ctx->sql, "COMMIT");
            PQclear(res);
            snap->in_txn = 0;
            *done = 1;
            return FERRY_OK;
        }
        if (!snap->table_loaded) {
            if ((st = table_load(ctx, err)) != FERRY_OK)
                return st;
        }
        if (!snap->res) {
            int first = !snap->cursor_open;
            if ((st = cursor_open(ctx, err)) != FERRY_OK || (st = fetch(ctx, &snap->res, err)) != FERRY_OK)
                return st;
            snap->row = 0;
            /* The user's statement names its own columns. */
            if (first && snap->overridden && (st = override_columns(snap, snap->res, err)) != FERRY_OK)
                return st;
        }
        int rows = PQntuples(snap->res);
        if (snap->row >= rows) {
            if (snap->next || !snap->cursor_done) {
                PQclear(snap->res);
                snap->res = snap->next;
                snap->next = NULL;
                snap->row = 0;
                if (!snap->res && (st = fetch(ctx, &snap->res, err)) != FERRY_OK)
                    return st;
                continue;
            }
            /* Table finished. */
            table_unload(snap);
            last_pk_clear(snap);
            snap->npk = 0;
            snap->cur++;
            continue;
        }
        if (snap->row + 1 == rows && !snap->next && !snap->cursor_done) {
            /* The last row of this fetch: is it the table's last? */
            if ((st = fetch(ctx, &snap->next, err)) != FERRY_OK)
                return st;
            if (PQntuples(snap->next) == 0) {
                PQclear(snap->next);
                snap->next = NULL;
            }
        }
        if ((st = emit_row(ctx, batch, err)) != FERRY_OK)
            return st;
        snap->row++;
    }
    return FERRY_OK;
}
