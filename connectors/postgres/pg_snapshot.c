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
 * at the consistent point); none is lost. Tables without a primary key are
 * read in one pass with a cursor and start over on resume.
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
    int cursor_open;

    PGresult *res;
    int row, nemit, more;
    int chunk_first; /* the chunk starts the table (not a continuation, nor a resume) */
};

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void table_unload(pg_snapshot_t *snap)
{
    PQclear(snap->res);
    snap->res = NULL;
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
    snap->cursor_open = 0;
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

ferry_status_t pg_create_slot(pg_ctx_t *ctx, int export_snapshot, ferry_error_t *err)
{
    ferry_status_t st;
    if ((st = pg_connect(ctx, 1, &ctx->repl, err)) != FERRY_OK)
        return st;
    char *slot = pg_quote_ident(ctx->repl, ctx->slot);
    pg_buf_t cmd = {0};
    pg_buf_printf(&cmd, "CREATE_REPLICATION_SLOT %s LOGICAL \"pgoutput\" (SNAPSHOT '%s')", slot ? slot : "\"\"",
                  export_snapshot ? "export" : "nothing");
    free(slot);
    PGresult *res = PQexec(ctx->repl, cmd.data);
    pg_buf_free(&cmd);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1 || PQnfields(res) < 3) {
        char what[160];
        snprintf(what, sizeof(what), "creating replication slot \"%s\"", ctx->slot);
        st = pg_fail(ctx, ctx->repl, res, what, err);
        PQfinish(ctx->repl);
        ctx->repl = NULL;
        return st;
    }
    uint64_t cp = 0;
    pg_lsn_parse(PQgetvalue(res, 0, 1), &cp);
    ctx->start_lsn = cp;
    ctx->host->log(ctx->task, FERRY_LOG_INFO, "created replication slot %s at %s", ctx->slot, PQgetvalue(res, 0, 1));
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
    if (resume)
        apply_resume(ctx->snap, resume);
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
    pg_buf_printf(&sel, " FROM %s", snap->qualified);
    for (size_t k = 0; k < snap->npk; k++) {
        char *q = pg_quote_ident(ctx->sql, snap->rel.cols[snap->pk_cols[k]].name);
        pg_buf_printf(&order, "%s%s", k ? ", " : "", q ? q : "\"\"");
        free(q);
    }
    snap->select = sel.data;
    snap->order = order.data ? order.data : strdup("");
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
    return FERRY_OK;
}

/* Reads the next chunk of the current table into snap->res. */
static ferry_status_t chunk_read(pg_ctx_t *ctx, ferry_error_t *err)
{
    pg_snapshot_t *snap = ctx->snap;
    PQclear(snap->res);
    snap->res = NULL;
    ferry_status_t st;
    pg_buf_t q = {0};
    PGresult *res;
    snap->chunk_first = snap->npk == 0 ? !snap->cursor_open : snap->last_pk == NULL;
    if (snap->npk == 0) {
        /* No key to page by: one cursor over the whole table. */
        if (!snap->cursor_open) {
            pg_buf_printf(&q, "DECLARE ferry_snapshot NO SCROLL CURSOR FOR %s", snap->select);
            res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_COMMAND_OK, "opening a snapshot cursor", &st, err);
            pg_buf_free(&q);
            if (!res)
                return st;
            PQclear(res);
            snap->cursor_open = 1;
        }
        pg_buf_printf(&q, "FETCH %" PRId64 " FROM ferry_snapshot", ctx->chunk_size);
        res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_TUPLES_OK, "reading a snapshot chunk", &st, err);
        pg_buf_free(&q);
        if (!res)
            return st;
        snap->res = res;
        snap->row = 0;
        snap->nemit = PQntuples(res);
        snap->more = snap->nemit == ctx->chunk_size;
        if (!snap->more)
            PQclear(PQexec(ctx->sql, "CLOSE ferry_snapshot"));
        return FERRY_OK;
    }
    /* One row more than the chunk tells whether another chunk follows. */
    pg_buf_puts(&q, snap->select);
    if (snap->last_pk) {
        pg_buf_printf(&q, " WHERE %s > (", snap->pk_tuple);
        for (size_t k = 0; k < snap->npk; k++)
            pg_buf_printf(&q, "%s$%zu::%s", k ? ", " : "", k + 1, snap->pk_types[k]);
        pg_buf_puts(&q, ")");
    }
    pg_buf_printf(&q, " ORDER BY %s LIMIT %" PRId64, snap->order, ctx->chunk_size + 1);
    res = pg_query(ctx, ctx->sql, q.data, snap->last_pk ? (int)snap->npk : 0, (const char *const *)snap->last_pk,
                   PGRES_TUPLES_OK, "reading a snapshot chunk", &st, err);
    pg_buf_free(&q);
    if (!res) {
        char msg[FERRY_ERRMSG_SIZE];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return ferry_error_set(err, st, "snapshot of %s: %s", snap->display, msg);
    }
    snap->res = res;
    snap->row = 0;
    snap->more = PQntuples(res) > ctx->chunk_size;
    snap->nemit = snap->more ? (int)ctx->chunk_size : PQntuples(res);
    return FERRY_OK;
}

/* Debezium's source.snapshot of row snap->row: "first" and "last" for the
 * snapshot's first and last record, "first_in_data_collection" /
 * "last_in_data_collection" for a table's, "true" for the rest (a table's
 * last record wins over its first, the snapshot's over the table's). */
static const char *snapshot_marker(const pg_snapshot_t *snap)
{
    int first_in_table = snap->chunk_first && snap->row == 0;
    int last_in_table = !snap->more && snap->row + 1 == snap->nemit;
    if (last_in_table && snap->cur + 1 == snap->ntables) return "last";
    if (first_in_table && snap->cur == 0) return "first";
    if (last_in_table) return "last_in_data_collection";
    if (first_in_table) return "first_in_data_collection";
    return "true";
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
    int has_key = pg_key_json(ctx, &snap->rel, &tuple);
    pg_buf_reset(&ctx->after);
    pg_row_json(&ctx->after, &snap->rel, &tuple, 0, &ctx->format);
    if (ctx->lookup_failed) {
        ctx->lookup_failed = 0;
        return ferry_error_set(err, FERRY_RETRY, "snapshot of %s: catalog lookup failed", snap->display);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    pg_event_source_t src = {
        .version = PG_CONNECTOR_VERSION,
        .name = ctx->prefix,
        .db = ctx->dbname,
        .ts_ms = now_ms,
        .snapshot = snapshot_marker(snap),
        .txid = 0,
        .lsn = ctx->start_lsn,
    };
    pg_buf_reset(&ctx->vbuf);
    pg_envelope_json(&ctx->vbuf, 'r', &snap->rel, NULL, ctx->after.data, &src, now_ms);

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
    pg_emit(ctx, batch, &rec);
    pg_buf_free(&topic);
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
        /* The connection (and with it the snapshot) was lost: continue
         * after the last row emitted, in a fresh snapshot. */
        snap->in_txn = 0;
        PQclear(snap->res);
        snap->res = NULL;
        if (snap->table_loaded && !snap->npk)
            table_unload(snap); /* keyless: the cursor died with the transaction */
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
        if (!snap->res || (snap->row >= snap->nemit && snap->more)) {
            if ((st = chunk_read(ctx, err)) != FERRY_OK)
                return st;
        }
        if (snap->row >= snap->nemit) {
            /* Table finished. */
            table_unload(snap);
            last_pk_clear(snap);
            snap->npk = 0;
            snap->cur++;
            continue;
        }
        if ((st = emit_row(ctx, batch, err)) != FERRY_OK)
            return st;
        snap->row++;
    }
    return FERRY_OK;
}
