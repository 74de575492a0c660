/*
 * pg_signal.c — Debezium's signals through the signal table
 * (signal.data.collection) and the incremental snapshots they start:
 * execute-snapshot (type incremental, with additional-conditions),
 * stop-snapshot, pause-snapshot and resume-snapshot.
 *
 * An incremental snapshot reads each table in primary-key chunks while the
 * stream goes on, with DBLog's watermarks: the connector writes an "open"
 * watermark (a transactional logical message), reads the chunk into memory,
 * writes a "close" watermark, and keeps streaming. Every change of the table
 * that streams in before the close mark came back removes the row with its
 * key from the chunk (the streamed event is newer); when the close mark
 * comes back, what is left of the chunk is emitted as op "r" events with
 * source.snapshot "incremental", records of the close mark's transaction.
 * So streaming never stops, and a snapshot row never overwrites a newer
 * change. Tables newly added to the publication are queued at start-up.
 *
 * Progress is in every offset while a snapshot runs ("incremental": the
 * tables left with their filters, the last key of the last chunk emitted
 * whole, the table's maximum key when it started, paused): a restart goes on
 * from the chunk that was being emitted. Rows of that chunk may come twice
 * (at-least-once, as Debezium's); streamed changes are still exactly once.
 *
 * Floor: called by the stream (pg_stream.c), which numbers and emits the
 * chunk's records; calls record building and the catalog below it.
 */
#include "pg_conn.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct incr_table {
    char *name;   /* "schema.table" */
    char *filter; /* additional condition (SQL), or NULL */
} incr_table_t;

/* A row of the chunk waiting for the window to close. */
typedef struct incr_row {
    char *key;   /* key JSON (also what streamed changes are matched by) */
    char *value; /* the envelope */
    int dropped; /* a streamed change of this key came in the window */
} incr_row_t;

struct pg_incr {
    incr_table_t *tables; /* [0] is the one being read */
    size_t ntables;
    int paused;
    json_t *last_key, *max_key; /* arrays of key texts, or NULL */

    /* The current table, loaded when its first window opens. */
    int loaded;
    uint32_t oid;
    char *qualified;      /* quoted "schema"."table" */
    char *select;         /* SELECT <columns> FROM ONLY <qualified> */
    char *order;          /* the key columns, quoted, comma-separated */
    char **key_types;     /* format_type of each key column */
    int *key_cols;        /* their positions among the columns */
    size_t nkey;
    pg_relation_t rel;    /* columns and types of the chunk's result */
    char *rel_schema, *rel_table;

    /* The window. */
    char window_id[40];   /* set while a window waits for its close mark */
    int64_t window_ms;    /* when it opened (pg_now_ms) */
    int window_warned;
    int window_closed;    /* the close row came back: emit the rows */
    incr_row_t *rows;
    size_t nrows, next_row;
    json_t *chunk_last;   /* the chunk's last key, or NULL */
    int chunk_short;      /* fewer rows than a chunk: the table is done after it */

    char *state;          /* the "incremental" offset member, or NULL */

    /* The Kafka signal channel (pg_signal_kafka.c), or NULL. */
    pg_ksig_t *ksig;
    int64_t kafka_next;   /* the next offset to read; -1: the end of the topic */
};

/* ---- state and offsets ------------------------------------------------------------------ */

static void table_unload(pg_incr_t *in)
{
    free(in->qualified);
    free(in->select);
    free(in->order);
    for (size_t i = 0; i < in->nkey; i++)
        free(in->key_types[i]);
    free(in->key_types);
    free(in->key_cols);
    for (int i = 0; i < in->rel.ncols; i++)
        free(in->rel.cols[i].name);
    free(in->rel.cols);
    free(in->rel_schema);
    free(in->rel_table);
    in->qualified = in->select = in->order = NULL;
    in->key_types = NULL;
    in->key_cols = NULL;
    in->nkey = 0;
    memset(&in->rel, 0, sizeof(in->rel));
    in->rel_schema = in->rel_table = NULL;
    in->loaded = 0;
}

static void rows_clear(pg_incr_t *in)
{
    for (size_t i = 0; i < in->nrows; i++) {
        free(in->rows[i].key);
        free(in->rows[i].value);
    }
    free(in->rows);
    in->rows = NULL;
    in->nrows = in->next_row = 0;
    in->window_id[0] = '\0';
    in->window_closed = 0;
    json_decref(in->chunk_last);
    in->chunk_last = NULL;
}

/* Rewrites in->state from the fields (compact, keys sorted). */
static void state_update(pg_incr_t *in)
{
    free(in->state);
    in->state = NULL;
    if (!in->ntables && !in->ksig)
        return;
    json_t *o = json_object(), *tables = json_array();
    if (in->ksig && in->kafka_next >= 0)
        json_object_set_new(o, "kafka_offset", json_integer(in->kafka_next));
    for (size_t i = 0; i < in->ntables; i++) {
        json_t *t = json_object();
        json_object_set_new(t, "filter", in->tables[i].filter ? json_string(in->tables[i].filter) : json_null());
        json_object_set_new(t, "name", json_string(in->tables[i].name));
        json_array_append_new(tables, t);
    }
    json_object_set_new(o, "last_key", in->last_key ? json_incref(in->last_key) : json_null());
    json_object_set_new(o, "max_key", in->max_key ? json_incref(in->max_key) : json_null());
    json_object_set_new(o, "paused", json_boolean(in->paused));
    json_object_set_new(o, "tables", tables);
    in->state = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
}

static pg_incr_t *incr_get(pg_ctx_t *ctx)
{
    if (!ctx->incr) {
        ctx->incr = calloc(1, sizeof(*ctx->incr));
        if (ctx->incr)
            ctx->incr->kafka_next = -1;
    }
    return ctx->incr;
}

/* Removes table i from the list (the current one: its progress too). */
static void table_drop(pg_incr_t *in, size_t i)
{
    free(in->tables[i].name);
    free(in->tables[i].filter);
    memmove(in->tables + i, in->tables + i + 1, (in->ntables - i - 1) * sizeof(*in->tables));
    in->ntables--;
    if (i == 0) {
        json_decref(in->last_key);
        json_decref(in->max_key);
        in->last_key = in->max_key = NULL;
        table_unload(in);
        rows_clear(in);
    }
}

static int table_add(pg_incr_t *in, const char *name, const char *filter)
{
    for (size_t i = 0; i < in->ntables; i++)
        if (strcmp(in->tables[i].name, name) == 0)
            return 0; /* already queued: a second request does not read it twice */
    incr_table_t *nt = realloc(in->tables, (in->ntables + 1) * sizeof(*nt));
    if (!nt)
        return -1;
    in->tables = nt;
    in->tables[in->ntables].name = strdup(name);
    in->tables[in->ntables].filter = filter && *filter ? strdup(filter) : NULL;
    in->ntables++;
    return 0;
}

ferry_status_t pg_signal_restore(pg_ctx_t *ctx, const char *stored_offset, ferry_error_t *err)
{
    if (!stored_offset)
        return FERRY_OK;
    json_error_t jerr;
    json_t *root = json_loads(stored_offset, 0, &jerr);
    json_t *st = root ? json_object_get(root, "incremental") : NULL;
    if (!json_is_object(st)) {
        json_decref(root);
        return FERRY_OK;
    }
    pg_incr_t *in = incr_get(ctx);
    if (!in) {
        json_decref(root);
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(st, "tables"), i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (name)
            table_add(in, name, json_string_value(json_object_get(t, "filter")));
    }
    json_t *lk = json_object_get(st, "last_key"), *mk = json_object_get(st, "max_key");
    in->last_key = json_is_array(lk) ? json_incref(lk) : NULL;
    in->max_key = json_is_array(mk) ? json_incref(mk) : NULL;
    in->paused = json_is_true(json_object_get(st, "paused"));
    json_t *ko = json_object_get(st, "kafka_offset");
    in->kafka_next = json_is_integer(ko) ? json_integer_value(ko) : -1;
    json_decref(root);
    state_update(in);
    if (in->ntables)
        ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot: resuming with %s (%zu table(s) left)%s",
                       in->tables[0].name, in->ntables, in->paused ? ", paused" : "");
    return FERRY_OK;
}

const char *pg_signal_offset(const pg_ctx_t *ctx)
{
    return ctx->incr ? ctx->incr->state : NULL;
}

void pg_signal_free(pg_ctx_t *ctx)
{
    pg_incr_t *in = ctx->incr;
    if (!in)
        return;
    while (in->ntables)
        table_drop(in, in->ntables - 1);
    free(in->tables);
    json_decref(in->last_key);
    json_decref(in->max_key);
    table_unload(in);
    rows_clear(in);
    pg_ksig_close(in->ksig);
    free(in->state);
    free(in);
    ctx->incr = NULL;
}

/* ---- signals ---------------------------------------------------------------------------- */


/* The text of column name in the tuple, NUL-terminated (malloc'd), or NULL. */
static char *column_text(const pg_relation_t *rel, const pg_tuple_t *t, const char *name)
{
    for (int i = 0; i < rel->ncols && i < t->ncols; i++) {
        if (strcmp(rel->cols[i].name, name) != 0 || t->cols[i].kind != PG_DATUM_TEXT)
            continue;
        char *s = malloc(t->cols[i].len + 1);
        if (s) {
            memcpy(s, t->cols[i].data, t->cols[i].len);
            s[t->cols[i].len] = '\0';
        }
        return s;
    }
    return NULL;
}

/* The captured tables a data-collections item names (a name or a regex, as
 * table.include.list items), appended to the snapshot's list. */
static int add_collections(pg_ctx_t *ctx, pg_incr_t *in, const char *item, const char *filter, int *added)
{
    char **names = NULL;
    size_t n = 0;
    ferry_error_t err;
    if (pg_list_tables(ctx, ctx->sql, 0, &names, &n, &err) != FERRY_OK) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "execute-snapshot: %s", err.msg);
        return -1;
    }
    pg_filter_t f = {0};
    int rc = 0;
    if (pg_filter_compile(&f, &item, 1, "data-collections", &err) != 0) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "execute-snapshot: %s", err.msg);
        rc = -1;
    }
    /* An additional condition is checked before it is kept: a typo must not
     * stop the connector at every start (the signal is in the offsets). */
    for (size_t i = 0; rc == 0 && filter && i < n; i++) {
        char full[512];
        snprintf(full, sizeof(full), "%s.%s", names[2 * i], names[2 * i + 1]);
        if (!pg_filter_matches(&f, full))
            continue;
        char *s = pg_quote_ident(ctx->sql, names[2 * i]), *t = pg_quote_ident(ctx->sql, names[2 * i + 1]);
        pg_buf_t q = {0};
        pg_buf_printf(&q, "SELECT 1 FROM ONLY %s.%s WHERE (%s) LIMIT 0", s ? s : "\"\"", t ? t : "\"\"", filter);
        free(s);
        free(t);
        ferry_status_t st;
        ferry_error_t qerr;
        PGresult *res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_TUPLES_OK, "checking an additional condition",
                                 &st, &qerr);
        pg_buf_free(&q);
        if (!res) {
            ctx->host->log(ctx->task, FERRY_LOG_WARN, "execute-snapshot of %s: the filter \"%s\" is refused (%s); "
                           "the table is not snapshotted", full, filter, qerr.msg);
            rc = -1;
        }
        PQclear(res);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char full[512];
        snprintf(full, sizeof(full), "%s.%s", names[2 * i], names[2 * i + 1]);
        if (pg_filter_matches(&f, full)) {
            if (table_add(in, full, filter) != 0)
                rc = -1;
            (*added)++;
        }
    }
    pg_filter_free(&f);
    pg_free_names(names, n);
    return rc;
}

/* The filter additional-conditions gives data collection name, or NULL. */
static const char *condition_for(json_t *conds, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *dc = json_string_value(json_object_get(c, "data-collection"));
        const char *f = json_string_value(json_object_get(c, "filter"));
        if (dc && f && strcmp(dc, name) == 0)
            return f;
    }
    return NULL;
}

static void on_execute(pg_ctx_t *ctx, json_t *data, const char *id)
{
    const char *type = json_string_value(json_object_get(data, "type"));
    if (type && strcasecmp(type, "incremental") != 0) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "signal %s: execute-snapshot of type \"%s\" is not supported (only incremental); ignored", id,
                       type);
        return;
    }
    json_t *dcs = json_object_get(data, "data-collections");
    if (!json_is_array(dcs) || json_array_size(dcs) == 0) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "signal %s: execute-snapshot needs \"data-collections\": a list of tables; ignored", id);
        return;
    }
    pg_incr_t *in = incr_get(ctx);
    if (!in)
        return;
    json_t *conds = json_object_get(data, "additional-conditions");
    size_t i;
    json_t *dc;
    json_array_foreach(dcs, i, dc) {
        const char *item = json_string_value(dc);
        int added = 0;
        if (!item || add_collections(ctx, in, item, condition_for(conds, item), &added) != 0 || !added)
            ctx->host->log(ctx->task, FERRY_LOG_WARN,
                           "signal %s: data collection %s names no captured table; skipped", id,
                           item ? item : "(not a string)");
    }
    state_update(in);
    if (in->ntables)
        ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot (signal %s): %zu table(s) to read", id,
                       in->ntables);
}

static void on_stop(pg_ctx_t *ctx, json_t *data, const char *id)
{
    pg_incr_t *in = ctx->incr;
    if (!in || !in->ntables)
        return;
    json_t *dcs = json_object_get(data, "data-collections");
    if (!json_is_array(dcs) || json_array_size(dcs) == 0) {
        while (in->ntables)
            table_drop(in, in->ntables - 1);
    } else {
        size_t i;
        json_t *dc;
        json_array_foreach(dcs, i, dc) {
            const char *item = json_string_value(dc);
            pg_filter_t f = {0};
            ferry_error_t err;
            if (!item || pg_filter_compile(&f, &item, 1, "data-collections", &err) != 0) {
                pg_filter_free(&f);
                continue;
            }
            for (size_t k = in->ntables; k-- > 0;)
                if (pg_filter_matches(&f, in->tables[k].name))
                    table_drop(in, k);
            pg_filter_free(&f);
        }
    }
    state_update(in);
    ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot stopped by signal %s: %zu table(s) left", id,
                   in->ntables);
}

/* One signal, from the signal table or from Kafka: id (for logs), type, and
 * its data as JSON text (NULL or empty: {}). */
static void dispatch(pg_ctx_t *ctx, const char *sid, const char *type, const char *data, size_t data_len)
{
    json_error_t jerr;
    json_t *dj = data && data_len ? json_loadb(data, data_len, 0, &jerr) : json_object();
    pg_incr_t *in = ctx->incr;
    if (!type) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "signal %s has no type; ignored", sid);
    } else if (!json_is_object(dj)) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "signal %s (%s): data is not a JSON object; ignored", sid, type);
    } else if (strncmp(type, "snapshot-window-", 16) == 0) {
        /* Debezium's own watermarks (a table shared with it): not ours. */
    } else if (strcmp(type, "execute-snapshot") == 0) {
        on_execute(ctx, dj, sid);
    } else if (strcmp(type, "stop-snapshot") == 0) {
        on_stop(ctx, dj, sid);
    } else if (strcmp(type, "pause-snapshot") == 0 || strcmp(type, "resume-snapshot") == 0) {
        if (in && in->ntables) {
            in->paused = type[0] == 'p';
            state_update(in);
            ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot %s by signal %s",
                           in->paused ? "paused" : "resumed", sid);
        }
    } else {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "signal %s: unknown type \"%s\"; ignored", sid, type);
    }
    json_decref(dj);
}

ferry_status_t pg_signal_on_row(pg_ctx_t *ctx, const pg_relation_t *rel, const pg_tuple_t *tuple,
                                ferry_error_t *err)
{
    (void)err;
    char *id = column_text(rel, tuple, "id");
    char *type = column_text(rel, tuple, "type");
    char *data = column_text(rel, tuple, "data");
    dispatch(ctx, id ? id : "(no id)", type, data, data ? strlen(data) : 0);
    free(id);
    free(type);
    free(data);
    return FERRY_OK;
}

ferry_status_t pg_signal_start_kafka(pg_ctx_t *ctx, ferry_error_t *err)
{
    const char *bootstrap = ctx->host->cfg_string(ctx->cfg, "signal.kafka.bootstrap.servers");
    const char *topic = ctx->host->cfg_string(ctx->cfg, "signal.kafka.topic");
    const char *group = ctx->host->cfg_string(ctx->cfg, "signal.kafka.group.id");
    pg_incr_t *in = incr_get(ctx);
    if (!in)
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    char topic_buf[300];
    if (!topic || !*topic) {
        snprintf(topic_buf, sizeof(topic_buf), "%s-signal", ctx->prefix);
        topic = topic_buf;
    }
    char kerr[512];
    in->ksig = pg_ksig_open(bootstrap, topic, group && *group ? group : "kafka-signal", in->kafka_next, kerr,
                            sizeof(kerr));
    if (!in->ksig)
        return ferry_error_set(err, FERRY_ERROR, "signal.kafka.topic %s: %s", topic, kerr);
    state_update(in);
    ctx->host->log(ctx->task, FERRY_LOG_INFO, "signals: Kafka topic %s from %s", topic,
                   in->kafka_next >= 0 ? "the stored offset" : "its end");
    return FERRY_OK;
}

/* Signals that came through Kafka since the last tick (keyed by
 * topic.prefix; others are not for this connector). */
static void kafka_signals(pg_ctx_t *ctx, pg_incr_t *in)
{
    for (int i = 0; i < 100; i++) {
        const char *key, *value;
        size_t klen, vlen;
        int64_t off;
        char kerr[512];
        int rc = pg_ksig_next(in->ksig, &key, &klen, &value, &vlen, &off, kerr, sizeof(kerr));
        if (rc < 0) {
            ctx->host->log(ctx->task, FERRY_LOG_WARN, "signals: %s", kerr);
            return;
        }
        if (rc == 0)
            return;
        in->kafka_next = off + 1;
        char sid[64];
        snprintf(sid, sizeof(sid), "kafka@%lld", (long long)off);
        if (key && klen == strlen(ctx->prefix) && memcmp(key, ctx->prefix, klen) == 0) {
            json_error_t jerr;
            json_t *v = value ? json_loadb(value, vlen, 0, &jerr) : NULL;
            const char *type = json_string_value(json_object_get(v, "type"));
            json_t *data = json_object_get(v, "data");
            char *dtext = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            if (!v)
                ctx->host->log(ctx->task, FERRY_LOG_WARN, "signal %s: not a JSON object; ignored", sid);
            else
                dispatch(ctx, sid, type, dtext, dtext ? strlen(dtext) : 0);
            free(dtext);
            json_decref(v);
        }
        state_update(in);
    }
}

void pg_signal_on_watermark(pg_ctx_t *ctx, const char *content, size_t len)
{
    pg_incr_t *in = ctx->incr;
    size_t idlen = in ? strlen(in->window_id) : 0;
    if (in && idlen && len == 6 + idlen && memcmp(content, "close:", 6) == 0 &&
        memcmp(content + 6, in->window_id, idlen) == 0)
        in->window_closed = 1;
    /* Anything else (an open mark, an old window's after a restart) needs
     * nothing: the chunk was read when the window opened. */
}

void pg_signal_snapshot_tables(pg_ctx_t *ctx, char **names, size_t n, const char *why)
{
    pg_incr_t *in = incr_get(ctx);
    if (!in)
        return;
    for (size_t i = 0; i < n; i++) {
        char full[512];
        snprintf(full, sizeof(full), "%s.%s", names[2 * i], names[2 * i + 1]);
        table_add(in, full, NULL);
        ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot of %s queued: %s", full, why);
    }
    state_update(in);
}

void pg_signal_on_truncate(pg_ctx_t *ctx, const pg_relation_t *rel)
{
    pg_incr_t *in = ctx->incr;
    if (!in || !in->window_id[0] || in->window_closed || rel->oid != in->oid)
        return;
    for (size_t i = 0; i < in->nrows; i++)
        in->rows[i].dropped = 1;
}

void pg_signal_on_change(pg_ctx_t *ctx, const pg_relation_t *rel, const char *key_json)
{
    pg_incr_t *in = ctx->incr;
    if (!in || !in->window_id[0] || in->window_closed || rel->oid != in->oid)
        return;
    for (size_t i = 0; i < in->nrows; i++)
        if (!in->rows[i].dropped && strcmp(in->rows[i].key, key_json) == 0)
            in->rows[i].dropped = 1;
}

/* ---- windows -------------------------------------------------------------------------- */

/* Loads the current table: columns, key, select; and its maximum key when a
 * new table starts. 0 when ready, 1 when the table cannot be read
 * incrementally (dropped from the list, logged), or a status. */
static ferry_status_t table_load(pg_ctx_t *ctx, pg_incr_t *in, int *skip, ferry_error_t *err)
{
    *skip = 0;
    const char *name = in->tables[0].name;
    const char *params[1] = {name};
    ferry_status_t st;
    /* The name is "schema.table" as listed (unquoted parts); split it at the
     * dot that pg_list_tables put there by looking the pair up. */
    PGresult *res = pg_query(ctx, ctx->sql,
                             "SELECT c.oid, n.nspname, c.relname, a.attname, a.atttypid, a.atttypmod, "
                             "format_type(a.atttypid, a.atttypmod), coalesce((SELECT k.n FROM unnest(i.indkey) WITH "
                             "ORDINALITY k(att, n) WHERE k.att = a.attnum), 0) "
                             "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                             "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                             "AND a.attgenerated = '' "
                             "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
                             "WHERE n.nspname || '.' || c.relname = $1 ORDER BY a.attnum",
                             1, params, PGRES_TUPLES_OK, "reading the columns of a table to snapshot", &st, err);
    if (!res)
        return st;
    int n = PQntuples(res);
    if (n == 0) {
        PQclear(res);
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "incremental snapshot: table %s no longer exists; skipped", name);
        *skip = 1;
        return FERRY_OK;
    }
    in->oid = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    in->rel_schema = strdup(PQgetvalue(res, 0, 1));
    in->rel_table = strdup(PQgetvalue(res, 0, 2));
    in->rel.cols = calloc((size_t)n, sizeof(pg_column_t));
    in->key_types = calloc((size_t)n, sizeof(char *));
    in->key_cols = calloc((size_t)n, sizeof(int));
    if (!in->rel.cols || !in->key_types || !in->key_cols || !in->rel_schema || !in->rel_table) {
        PQclear(res);
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    }
    pg_buf_t sel = {0}, order = {0};
    pg_buf_puts(&sel, "SELECT ");
    for (int i = 0; i < n; i++) {
        char *q = pg_quote_ident(ctx->sql, PQgetvalue(res, i, 3));
        pg_buf_printf(&sel, "%s%s", i ? ", " : "", q ? q : "\"\"");
        free(q);
        pg_column_t *c = &in->rel.cols[i];
        c->name = strdup(PQgetvalue(res, i, 3));
        c->type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 4), NULL, 10);
        c->typmod = (int32_t)strtol(PQgetvalue(res, i, 5), NULL, 10);
        int pos = atoi(PQgetvalue(res, i, 7));
        if (pos > 0 && pos <= n) {
            in->key_cols[pos - 1] = i;
            in->key_types[pos - 1] = strdup(PQgetvalue(res, i, 6));
            in->nkey++;
            c->is_key = 1;
        }
        in->rel.ncols = i + 1;
    }
    PQclear(res);
    char *qs = pg_quote_ident(ctx->sql, in->rel_schema), *qt = pg_quote_ident(ctx->sql, in->rel_table);
    pg_buf_t qn = {0};
    pg_buf_printf(&qn, "%s.%s", qs ? qs : "", qt ? qt : "");
    free(qs);
    free(qt);
    in->qualified = qn.data;
    pg_buf_printf(&sel, " FROM ONLY %s", in->qualified);
    in->select = sel.data;
    for (size_t k = 0; k < in->nkey; k++) {
        char *q = pg_quote_ident(ctx->sql, in->rel.cols[in->key_cols[k]].name);
        pg_buf_printf(&order, "%s%s", k ? ", " : "", q ? q : "\"\"");
        free(q);
    }
    in->order = order.data;
    in->rel.oid = in->oid;
    in->rel.schema = in->rel_schema;
    in->rel.table = in->rel_table;
    in->rel.replident = 'd';
    in->loaded = 1;
    if (in->last_key && json_array_size(in->last_key) != in->nkey) {
        /* The key changed shape since the progress was stored: read the
         * table from its start (duplicates, not loss). */
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "incremental snapshot of %s: its key changed since the progress was stored; reading it "
                       "from the start", name);
        json_decref(in->last_key);
        json_decref(in->max_key);
        in->last_key = in->max_key = NULL;
    }
    if (!in->nkey) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "incremental snapshot: table %s has no primary key to read it by in chunks; skipped", name);
        *skip = 1;
    }
    return FERRY_OK;
}

/* "(k1, k2) > ($1::t1, $2::t2)" for the key values in keys (params from
 * *np on, appended to params). */
static void key_compare(pg_buf_t *q, const pg_incr_t *in, const char *op, json_t *keys, const char **params,
                        int *np)
{
    pg_buf_printf(q, "(%s) %s (", in->order, op);
    for (size_t k = 0; k < in->nkey; k++) {
        params[*np] = json_string_value(json_array_get(keys, k));
        pg_buf_printf(q, "%s$%d::%s", k ? ", " : "", *np + 1, in->key_types[k]);
        (*np)++;
    }
    pg_buf_puts(q, ")");
}

/* The table's largest key (under its filter) into in->max_key; NULL when
 * the table is empty. */
static ferry_status_t read_max_key(pg_ctx_t *ctx, pg_incr_t *in, ferry_error_t *err)
{
    pg_buf_t q = {0};
    /* DESC on every key column. */
    pg_buf_t desc = {0};
    for (size_t k = 0; k < in->nkey; k++) {
        char *c = pg_quote_ident(ctx->sql, in->rel.cols[in->key_cols[k]].name);
        pg_buf_printf(&desc, "%s%s DESC", k ? ", " : "", c ? c : "\"\"");
        free(c);
    }
    pg_buf_printf(&q, "SELECT %s FROM ONLY %s", in->order, in->qualified);
    if (in->tables[0].filter)
        pg_buf_printf(&q, " WHERE (%s)", in->tables[0].filter);
    pg_buf_printf(&q, " ORDER BY %s LIMIT 1", desc.data);
    pg_buf_free(&desc);
    ferry_status_t st;
    PGresult *res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_TUPLES_OK,
                             "reading the largest key of a table to snapshot", &st, err);
    pg_buf_free(&q);
    if (!res)
        return st;
    json_decref(in->max_key);
    in->max_key = NULL;
    if (PQntuples(res) == 1) {
        in->max_key = json_array();
        for (size_t k = 0; k < in->nkey; k++)
            json_array_append_new(in->max_key, json_string(PQgetvalue(res, 0, (int)k)));
    }
    PQclear(res);
    return FERRY_OK;
}

/* Writes a watermark: a transactional logical message, so it reaches the
 * stream in commit order with every other transaction (DBLog's watermark;
 * Debezium writes rows into the signal table instead, which needs INSERT
 * there: a message needs only what heartbeats need). */
static ferry_status_t write_watermark(pg_ctx_t *ctx, const char *kind, ferry_error_t *err)
{
    char content[64];
    snprintf(content, sizeof(content), "%s:%s", kind, ctx->incr->window_id);
    const char *params[1] = {content};
    ferry_status_t st;
    PGresult *res = pg_query(ctx, ctx->sql, "SELECT pg_logical_emit_message(true, '" PG_WINDOW_PREFIX "', $1)", 1,
                             params, PGRES_TUPLES_OK,
                             "writing an incremental snapshot's watermark (pg_logical_emit_message)", &st, err);
    if (!res)
        return st;
    PQclear(res);
    return FERRY_OK;
}

/* Reads the next chunk of the current table between an open and a close
 * watermark. */
static ferry_status_t open_window(pg_ctx_t *ctx, pg_incr_t *in, ferry_error_t *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(in->window_id, sizeof(in->window_id), "ferry-%08x-%lx-%lx", (unsigned)ctx->cur_xid,
             (long)ts.tv_sec, (long)ts.tv_nsec);
    in->window_ms = pg_now_ms();
    in->window_warned = 0;
    ferry_status_t st = write_watermark(ctx, "open", err);
    if (st != FERRY_OK) {
        in->window_id[0] = '\0';
        return st;
    }
    const char *params[64];
    int np = 0;
    pg_buf_t q = {0};
    pg_buf_printf(&q, "%s WHERE ", in->select);
    if (in->last_key && in->nkey <= 32) {
        key_compare(&q, in, ">", in->last_key, params, &np);
        pg_buf_puts(&q, " AND ");
    }
    key_compare(&q, in, "<=", in->max_key, params, &np);
    if (in->tables[0].filter)
        pg_buf_printf(&q, " AND (%s)", in->tables[0].filter);
    pg_buf_printf(&q, " ORDER BY %s LIMIT %" PRId64, in->order, ctx->incr_chunk);
    PGresult *res = pg_query(ctx, ctx->sql, q.data, np, params, PGRES_TUPLES_OK,
                             "reading a chunk of an incremental snapshot", &st, err);
    pg_buf_free(&q);
    if (!res) {
        in->window_id[0] = '\0';
        return st;
    }
    int n = PQntuples(res);
    in->rows = n ? calloc((size_t)n, sizeof(*in->rows)) : NULL;
    pg_datum_t *datums = calloc((size_t)in->rel.ncols + 1, sizeof(*datums));
    if ((n && !in->rows) || !datums) {
        free(datums);
        PQclear(res);
        in->window_id[0] = '\0';
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    }
    for (int r = 0; r < n; r++) {
        for (int i = 0; i < in->rel.ncols; i++)
            datums[i] = PQgetisnull(res, r, i)
                            ? (pg_datum_t){PG_DATUM_NULL, NULL, 0}
                            : (pg_datum_t){PG_DATUM_TEXT, PQgetvalue(res, r, i), (uint32_t)PQgetlength(res, r, i)};
        pg_tuple_t tuple = {.ncols = in->rel.ncols, .cols = datums};
        pg_key_json(ctx, &in->rel, &tuple);
        pg_buf_reset(&ctx->after);
        pg_row_json_kept(ctx, &ctx->after, &in->rel, &tuple);
        in->rows[r].key = strdup(ctx->kbuf.data);
        in->rows[r].value = strdup(ctx->after.data);
        in->nrows = (size_t)r + 1;
    }
    json_decref(in->chunk_last);
    in->chunk_last = NULL;
    if (n) {
        in->chunk_last = json_array();
        for (size_t k = 0; k < in->nkey; k++)
            json_array_append_new(in->chunk_last, json_string(PQgetvalue(res, n - 1, in->key_cols[k])));
    }
    in->chunk_short = n < ctx->incr_chunk;
    free(datums);
    PQclear(res);
    if (ctx->lookup_failed) {
        rows_clear(in);
        return ferry_error_set(err, FERRY_RETRY, "incremental snapshot of %s: catalog lookup failed",
                               in->tables[0].name);
    }
    st = write_watermark(ctx, "close", err);
    if (st != FERRY_OK)
        rows_clear(in);
    return st;
}

ferry_status_t pg_signal_tick(pg_ctx_t *ctx, ferry_error_t *err)
{
    pg_incr_t *in = ctx->incr;
    if (in && in->ksig)
        kafka_signals(ctx, in);
    if (in && in->window_id[0] && !in->window_warned && pg_now_ms() - in->window_ms > 60000) {
        in->window_warned = 1;
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "incremental snapshot of %s: the close watermark of window %s has not come back after "
                       "60 s (is the stream stuck behind a long transaction?)",
                       in->tables[0].name, in->window_id);
    }
    while (in && in->ntables && !in->paused && !in->window_id[0]) {
        if (!in->loaded) {
            int skip = 0;
            ferry_status_t st = table_load(ctx, in, &skip, err);
            if (st != FERRY_OK)
                return st;
            if (!skip && !in->max_key && !in->last_key && (st = read_max_key(ctx, in, err)) != FERRY_OK)
                return st;
            if (skip || !in->max_key) {
                if (!skip)
                    ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot of %s: nothing to read",
                                   in->tables[0].name);
                table_drop(in, 0);
                state_update(in);
                if (!in->ntables)
                    ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot finished");
                continue;
            }
            ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot of %s", in->tables[0].name);
        }
        return open_window(ctx, in, err);
    }
    return FERRY_OK;
}

int pg_signal_window_ready(const pg_ctx_t *ctx)
{
    return ctx->incr && ctx->incr->window_closed;
}

/* The chunk was emitted: the table goes on after its last key, or is done. */
static void finish_chunk(pg_ctx_t *ctx, pg_incr_t *in)
{
    if (in->chunk_short || !in->chunk_last) {
        ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot of %s done", in->tables[0].name);
        table_drop(in, 0);
        if (!in->ntables)
            ctx->host->log(ctx->task, FERRY_LOG_INFO, "incremental snapshot finished");
    } else {
        json_decref(in->last_key);
        in->last_key = json_incref(in->chunk_last);
        rows_clear(in);
    }
    state_update(in);
}

int pg_signal_window_next(pg_ctx_t *ctx, ferry_record_t *rec, pg_buf_t *topic)
{
    pg_incr_t *in = ctx->incr;
    if (!in || !in->window_closed)
        return 0;
    while (in->next_row < in->nrows && in->rows[in->next_row].dropped)
        in->next_row++;
    if (in->next_row >= in->nrows) {
        finish_chunk(ctx, in);
        return 0;
    }
    incr_row_t *row = &in->rows[in->next_row++];
    size_t rest = in->next_row;
    while (rest < in->nrows && in->rows[rest].dropped)
        rest++;
    if (rest >= in->nrows) {
        /* The chunk's last row: its offset says where the snapshot stands
         * after the chunk (the real change follows on the next call). */
        json_t *lk = in->last_key, *mk = in->max_key;
        incr_table_t *tables = in->tables;
        size_t ntables = in->ntables;
        if (in->chunk_short || !in->chunk_last) {
            in->last_key = in->max_key = NULL;
            in->tables++;
            in->ntables--;
        } else {
            in->last_key = in->chunk_last;
        }
        state_update(in);
        in->last_key = lk;
        in->max_key = mk;
        in->tables = tables;
        in->ntables = ntables;
    }
    pg_buf_reset(topic);
    pg_buf_printf(topic, "%s.%s.%s", ctx->prefix, in->rel.schema, in->rel.table);
    pg_topic_sanitize(topic);
    pg_buf_reset(&ctx->kbuf);
    pg_buf_puts(&ctx->kbuf, row->key);
    pg_buf_reset(&ctx->after);
    pg_buf_puts(&ctx->after, row->value);
    rec->topic = topic->data;
    rec->key = ctx->kbuf.data;
    rec->key_len = ctx->kbuf.len;
    rec->value = ctx->after.data; /* the row image: the caller builds the envelope */
    rec->value_len = ctx->after.len;
    return 1;
}

const pg_relation_t *pg_signal_relation(const pg_ctx_t *ctx)
{
    return ctx->incr && ctx->incr->loaded ? &ctx->incr->rel : NULL;
}
