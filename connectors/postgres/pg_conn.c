/*
 * pg_conn.c — connections to PostgreSQL, turning failures into clear
 * messages, and the catalog lookups the connector needs (wal_level, slot,
 * publication, tables, primary keys, non-built-in types).
 *
 * Every query here works for a role with only LOGIN REPLICATION and SELECT on
 * the captured tables: pg_replication_slots, pg_publication, pg_class,
 * pg_index and pg_type are readable by everyone. Only creating a missing
 * publication needs more, and that failure says so.
 */
#include "pg_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* Session settings the value formatter relies on (pgoutput.h). Passed as
 * startup options so the walsender, which formats pgoutput's text values,
 * uses them too. */
static const char session_options[] = "-c DateStyle=ISO -c IntervalStyle=iso_8601 -c TimeZone=UTC "
                                      "-c extra_float_digits=3 -c bytea_output=hex -c lc_monetary=C";

#define PG_CONNECT_TIMEOUT_MS 15000

char *pg_quote_ident(PGconn *conn, const char *s)
{
    char *q = conn ? PQescapeIdentifier(conn, s, strlen(s)) : NULL;
    char *r = q ? strdup(q) : NULL;
    PQfreemem(q);
    return r;
}

char *pg_quote_literal(PGconn *conn, const char *s)
{
    char *q = conn ? PQescapeLiteral(conn, s, strlen(s)) : NULL;
    char *r = q ? strdup(q) : NULL;
    PQfreemem(q);
    return r;
}

/* Copies msg without trailing newlines and with inner newlines as spaces, so
 * an error stays one log line. */
static void one_line(char *dst, size_t size, const char *msg)
{
    size_t n = 0;
    for (; msg && *msg && n + 1 < size; msg++)
        dst[n++] = (*msg == '\n' || *msg == '\t') ? ' ' : *msg;
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

ferry_status_t pg_fail(pg_ctx_t *ctx, PGconn *conn, PGresult *res, const char *what, ferry_error_t *err)
{
    char msg[400];
    const char *raw = res ? PQresultErrorMessage(res) : conn ? PQerrorMessage(conn) : "not connected";
    one_line(msg, sizeof(msg), raw && *raw ? raw : "unknown error");
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *hint = "";
    ferry_status_t st = FERRY_ERROR;

    if (!conn || PQstatus(conn) == CONNECTION_BAD) {
        st = FERRY_RETRY; /* the connection is gone; most causes are transient */
        if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied") ||
            strstr(msg, "pg_hba.conf") || strstr(msg, "authentication failed")) {
            st = FERRY_ERROR;
            hint = " (check the user and password in conninfo, and pg_hba.conf)";
        } else if (strstr(msg, "must be superuser or replication role") ||
                   strstr(msg, "permission denied to start WAL sender")) {
            st = FERRY_ERROR;
            hint = " (grant it: ALTER ROLE <user> REPLICATION)";
        } else if (strstr(msg, "does not exist") || strstr(msg, "could not translate host name") ||
                   strstr(msg, "invalid connection option") || strstr(msg, "missing \"=\"") ||
                   strstr(msg, "invalid URI")) {
            st = FERRY_ERROR;
        } else if (strstr(msg, "Connection refused") && !ctx->ever_connected) {
            st = FERRY_ERROR;
            hint = " (is PostgreSQL running and listening on that host and port?)";
        }
    } else if (state) {
        if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0 ||
            strncmp(state, "40", 2) == 0 || strcmp(state, "55006") == 0)
            st = FERRY_RETRY;
        else if (strcmp(state, "42501") == 0)
            hint = " (missing privilege: the role needs REPLICATION LOGIN and SELECT on the captured tables; "
                   "a missing publication must be created by the tables' owner)";
        else if (strncmp(state, "28", 2) == 0)
            hint = " (check the user and password in conninfo)";
    }
    if (res)
        PQclear(res);
    return ferry_error_set(err, st, "%s: %s%s", what, msg, hint);
}

PGresult *pg_query(pg_ctx_t *ctx, PGconn *conn, const char *sql, int nparams, const char *const *params,
                   ExecStatusType want, const char *what, ferry_status_t *st, ferry_error_t *err)
{
    if (!conn) {
        *st = ferry_error_set(err, FERRY_RETRY, "%s: not connected", what);
        return NULL;
    }
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (res && PQresultStatus(res) == want) {
        *st = FERRY_OK;
        return res;
    }
    *st = pg_fail(ctx, conn, res, what, err);
    return NULL;
}

/* The user's own startup options (if any) come first; ours win on conflicts
 * because PostgreSQL applies them in order. */
static char *build_options(const char *conninfo)
{
    const char *user_opts = NULL;
    PQconninfoOption *parsed = PQconninfoParse(conninfo, NULL);
    for (PQconninfoOption *o = parsed; o && o->keyword; o++)
        if (strcmp(o->keyword, "options") == 0 && o->val && *o->val)
            user_opts = o->val;
    size_t n = (user_opts ? strlen(user_opts) + 1 : 0) + sizeof(session_options);
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", user_opts ? user_opts : "", user_opts ? " " : "", session_options);
    PQconninfoFree(parsed);
    return s;
}

ferry_status_t pg_connect(pg_ctx_t *ctx, int repl, PGconn **out, ferry_error_t *err)
{
    const char *what = repl ? "replication connection" : "connection";
    char *opts = build_options(ctx->conninfo);
    if (!opts)
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    /* dbname is expanded as a connection string or URI; keywords after it
     * override what it sets. */
    const char *keys[6], *vals[6];
    int n = 0;
    keys[n] = "dbname", vals[n++] = ctx->conninfo;
    keys[n] = "options", vals[n++] = opts;
    keys[n] = "fallback_application_name", vals[n++] = ctx->appname ? ctx->appname : "ferry";
    if (repl)
        keys[n] = "replication", vals[n++] = "database";
    keys[n] = NULL, vals[n] = NULL;

    PGconn *conn = PQconnectStartParams(keys, vals, 1);
    free(opts);
    if (!conn)
        return ferry_error_set(err, FERRY_RETRY, "%s: out of memory", what);
    /* Asynchronous so that stop() interrupts a connection attempt to a host
     * that does not answer. */
    int64_t deadline = pg_now_ms() + PG_CONNECT_TIMEOUT_MS;
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (PQstatus(conn) != CONNECTION_BAD && ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
        if (atomic_load(&ctx->stop) || ctx->host->should_stop(ctx->task)) {
            PQfinish(conn);
            return ferry_error_set(err, FERRY_RETRY, "%s: interrupted by stop", what);
        }
        if (pg_now_ms() > deadline) {
            PQfinish(conn);
            return ferry_error_set(err, FERRY_RETRY, "%s: timed out after %d s", what,
                                   PG_CONNECT_TIMEOUT_MS / 1000);
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = ps == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        if (pfd.fd >= 0) {
            int rc = poll(&pfd, 1, 100);
            if (rc == 0)
                continue;
            if (rc < 0 && errno != EINTR)
                break;
        }
        ps = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        ferry_status_t st = pg_fail(ctx, conn, NULL, what, err);
        PQfinish(conn);
        return st;
    }
    int version = PQserverVersion(conn);
    if (version < 140000) {
        /* pgoutput's `messages` option (heartbeats) arrived in 14. */
        PQfinish(conn);
        return ferry_error_set(err, FERRY_ERROR, "%s: PostgreSQL %d is too old; postgres-cdc needs 14 or later",
                               what, version / 10000);
    }
    if (!repl && PQdb(conn))
        snprintf(ctx->dbname, sizeof(ctx->dbname), "%s", PQdb(conn));
    ctx->ever_connected = 1;
    *out = conn;
    return FERRY_OK;
}

void pg_disconnect(pg_ctx_t *ctx)
{
    if (ctx->repl)
        PQfinish(ctx->repl);
    if (ctx->sql)
        PQfinish(ctx->sql);
    ctx->repl = ctx->sql = NULL;
    ctx->streaming = 0;
}

ferry_status_t pg_check_server(pg_ctx_t *ctx, ferry_error_t *err)
{
    ferry_status_t st;
    PGresult *res = pg_query(ctx, ctx->sql, "SHOW wal_level", 0, NULL, PGRES_TUPLES_OK, "SHOW wal_level", &st, err);
    if (!res)
        return st;
    char level[32];
    snprintf(level, sizeof(level), "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "?");
    PQclear(res);
    if (strcmp(level, "logical") != 0)
        return ferry_error_set(err, FERRY_ERROR,
                               "wal_level is '%s' on the server: logical decoding needs wal_level = logical "
                               "(ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL)",
                               level);
    return FERRY_OK;
}

void pg_free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < 2 * n; i++)
        free(names[i]);
    free(names);
}

ferry_status_t pg_list_tables(pg_ctx_t *ctx, PGconn *conn, int with_outbox, char ***names, size_t *n,
                              ferry_error_t *err)
{
    ferry_status_t st;
    /* publish.via.partition.root: a partitioned table is captured through
     * its root (events and snapshot), so its partitions are not listed. */
    PGresult *res = pg_query(ctx, conn,
                             ctx->via_root
                                 ? "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON "
                                   "n.oid = c.relnamespace WHERE (c.relkind = 'p' OR c.relkind = 'r') AND NOT "
                                   "c.relispartition AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' "
                                   "ORDER BY 1, 2"
                                 : "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON "
                                   "n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname <> "
                                   "'information_schema' AND n.nspname !~ '^pg_' ORDER BY 1, 2",
                             0, NULL, PGRES_TUPLES_OK, "listing tables", &st, err);
    *names = NULL;
    *n = 0;
    if (!res)
        return st;
    int rows = PQntuples(res);
    char **v = calloc((size_t)rows * 2 + 1, sizeof(*v));
    size_t k = 0;
    for (int i = 0; v && i < rows; i++) {
        const char *schema = PQgetvalue(res, i, 0), *table = PQgetvalue(res, i, 1);
        int kind = pg_table_kind(ctx, schema, table);
        if (kind == 1 || ((kind == 2 || kind == 3) && with_outbox)) {
            v[2 * k] = strdup(schema);
            v[2 * k + 1] = strdup(table);
            k++;
        }
    }
    PQclear(res);
    if (!v)
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    /* In table.include.list's order, stable (by name within an item): each
     * table's rank once, then a counting pass per rank. */
    size_t nranks = ctx->include.count + 1;
    int *rank = k ? malloc(k * sizeof(*rank)) : NULL;
    char **sorted = k ? malloc(2 * k * sizeof(*sorted)) : NULL;
    if (k && (!rank || !sorted)) {
        free(rank);
        free(sorted);
        pg_free_names(v, k);
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    }
    for (size_t i = 0; i < k; i++) rank[i] = pg_table_rank(ctx, v[2 * i], v[2 * i + 1]);
    size_t out = 0;
    for (size_t r = 0; r < nranks && nranks > 1; r++)
        for (size_t i = 0; i < k; i++)
            if ((size_t)rank[i] == r) {
                sorted[2 * out] = v[2 * i];
                sorted[2 * out + 1] = v[2 * i + 1];
                out++;
            }
    if (nranks > 1 && k) memcpy(v, sorted, 2 * k * sizeof(*v));
    free(rank);
    free(sorted);
    *names = v;
    *n = k;
    return FERRY_OK;
}

/* Appends "schema"."table" pairs, comma separated, for a publication. */
static int append_table_list(pg_ctx_t *ctx, pg_buf_t *sql, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *s = pg_quote_ident(ctx->sql, names[2 * i]), *t = pg_quote_ident(ctx->sql, names[2 * i + 1]);
        if (!s || !t) {
            free(s);
            free(t);
            return -1;
        }
        pg_buf_printf(sql, "%s%s.%s", i ? ", " : "", s, t);
        free(s);
        free(t);
    }
    return 0;
}

/* Remembers the captured tables (kind 1) that were just added to an existing
 * publication: their rows from before are not in the stream. */
static void note_added_tables(pg_ctx_t *ctx, char **names, size_t k)
{
    pg_free_names(ctx->added_tables, ctx->nadded);
    ctx->added_tables = NULL;
    ctx->nadded = 0;
    char **v = k ? calloc(2 * k + 1, sizeof(*v)) : NULL;
    for (size_t i = 0; v && i < k; i++) {
        if (pg_table_kind(ctx, names[2 * i], names[2 * i + 1]) != 1)
            continue;
        v[2 * ctx->nadded] = strdup(names[2 * i]);
        v[2 * ctx->nadded + 1] = strdup(names[2 * i + 1]);
        ctx->nadded++;
    }
    ctx->added_tables = v;
}

/* The comment ferry puts on a publication it creates: this, then the
 * connector's name. */
#define PG_OWNER_PREFIX "created by ferry connector "

ferry_status_t pg_ensure_publication(pg_ctx_t *ctx, ferry_error_t *err)
{
    size_t sql_added = 0;
    ferry_status_t st;
    const char *params[1] = {ctx->publication};
    PGresult *res = pg_query(ctx, ctx->sql,
                             "SELECT puballtables, pubviaroot, obj_description(oid, 'pg_publication') "
                             "FROM pg_publication WHERE pubname = $1",
                             1, params, PGRES_TUPLES_OK, "looking up the publication", &st, err);
    if (!res)
        return st;
    int exists = PQntuples(res) > 0;
    int all = exists && PQgetvalue(res, 0, 0)[0] == 't';
    int viaroot = exists && PQgetvalue(res, 0, 1)[0] == 't';
    char owner[200] = "";
    if (exists && !PQgetisnull(res, 0, 2))
        snprintf(owner, sizeof(owner), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    /* A publication ferry created names its connector in its comment. With
     * default names, another connector's means that the two connector names
     * sanitise alike: its slot is the same too, and sharing it would lose
     * events for both. */
    const char *me = ctx->appname ? ctx->appname + 6 : "";
    size_t plen = strlen(PG_OWNER_PREFIX);
    if (ctx->slot_name_default && ctx->pub_name_default && strncmp(owner, PG_OWNER_PREFIX, plen) == 0 &&
        strcmp(owner + plen, me) != 0)
        return ferry_error_set(err, FERRY_ERROR,
                               "publication \"%s\" and slot \"%s\" belong to ferry connector \"%s\" (the "
                               "publication's comment says so), not to \"%s\": the default slot and publication "
                               "names (ferry_ + the connector name, with every character other than a-z, 0-9 and _ "
                               "made _) of the two connectors are the same. Set slot.name and publication.name for "
                               "one of them",
                               ctx->publication, ctx->slot, owner + plen, me);
    if (exists && ctx->via_root && !viaroot) {
        /* Otherwise partitions' changes arrive under the partitions' names,
         * which the captured root does not match. */
        char *pub = pg_quote_ident(ctx->sql, ctx->publication);
        pg_buf_t q = {0};
        pg_buf_printf(&q, "ALTER PUBLICATION %s SET (publish_via_partition_root = true)", pub ? pub : "\"\"");
        free(pub);
        char what[200];
        snprintf(what, sizeof(what), "publish.via.partition.root: setting it on publication \"%s\"", ctx->publication);
        res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_COMMAND_OK, what, &st, err);
        pg_buf_free(&q);
        if (!res)
            return st;
        PQclear(res);
    }
    if (exists && (all || ctx->pub_mode != PG_PUB_FILTERED))
        return FERRY_OK;
    if (!exists && ctx->pub_mode == PG_PUB_DISABLED)
        return ferry_error_set(err, FERRY_ERROR,
                               "publication \"%s\" does not exist and publication.autocreate.mode is disabled: "
                               "create it (CREATE PUBLICATION %s FOR TABLE ...) as the tables' owner",
                               ctx->publication, ctx->publication);

    char **names = NULL;
    size_t n = 0;
    if ((st = pg_list_tables(ctx, ctx->sql, 1, &names, &n, err)) != FERRY_OK)
        return st;
    if (n == 0 && ctx->pub_mode == PG_PUB_FILTERED)
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "no table matches table.include.list/table.exclude.list (or outbox.table.list): "
                       "nothing will be captured");
    char *pub = pg_quote_ident(ctx->sql, ctx->publication);
    pg_buf_t sql = {0};
    if (!exists) {
        if (ctx->pub_mode == PG_PUB_ALL_TABLES) {
            pg_buf_printf(&sql, "CREATE PUBLICATION %s FOR ALL TABLES", pub ? pub : "");
        } else if (ctx->pub_mode == PG_PUB_NO_TABLES) {
            /* Debezium's no_tables: the user adds the tables later. */
            pg_buf_printf(&sql, "CREATE PUBLICATION %s", pub ? pub : "");
        } else {
            pg_buf_printf(&sql, "CREATE PUBLICATION %s%s", pub ? pub : "", n ? " FOR TABLE " : "");
            append_table_list(ctx, &sql, names, n);
        }
        if (ctx->via_root && ctx->pub_mode != PG_PUB_NO_TABLES)
            pg_buf_puts(&sql, " WITH (publish_via_partition_root = true)");
    } else {
        /* Filtered and existing: add captured tables it lacks (tables
         * created after the publication). */
        const char *q = "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1";
        res = pg_query(ctx, ctx->sql, q, 1, params, PGRES_TUPLES_OK, "reading the publication", &st, err);
        if (!res) {
            pg_free_names(names, n);
            free(pub);
            return st;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            int found = 0;
            for (int r = 0; r < PQntuples(res) && !found; r++)
                found = strcmp(PQgetvalue(res, r, 0), names[2 * i]) == 0 &&
                        strcmp(PQgetvalue(res, r, 1), names[2 * i + 1]) == 0;
            if (!found) {
                /* Move the missing pair to the front (k <= i). */
                char *s = names[2 * i], *t = names[2 * i + 1];
                names[2 * i] = names[2 * k];
                names[2 * i + 1] = names[2 * k + 1];
                names[2 * k] = s;
                names[2 * k + 1] = t;
                k++;
            }
        }
        PQclear(res);
        if (k) {
            pg_buf_printf(&sql, "ALTER PUBLICATION %s ADD TABLE ", pub ? pub : "");
            append_table_list(ctx, &sql, names, k);
        }
        sql_added = k;
    }
    st = FERRY_OK;
    if (sql.len && pub) {
        res = PQexec(ctx->sql, sql.data);
        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            ctx->host->log(ctx->task, FERRY_LOG_INFO, "%s", sql.data);
            PQclear(res);
            if (exists)
                note_added_tables(ctx, names, sql_added);
            if (!exists) {
                /* Who created it (see above); a failure here only loses that check. */
                pg_buf_t c = {0}, o = {0};
                pg_buf_printf(&o, "%s%s", PG_OWNER_PREFIX, me);
                char *lit = pg_quote_literal(ctx->sql, o.data);
                pg_buf_printf(&c, "COMMENT ON PUBLICATION %s IS %s", pub, lit ? lit : "''");
                PQclear(PQexec(ctx->sql, c.data));
                free(lit);
                pg_buf_free(&c);
                pg_buf_free(&o);
            }
        } else if (exists) {
            /* The tables would be snapshotted and then never streamed: a
             * silent gap. Fail instead, saying what to run. A broken
             * connection is only a retry. */
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            char msg[300];
            one_line(msg, sizeof(msg), PQresultErrorMessage(res));
            int transient = PQstatus(ctx->sql) == CONNECTION_BAD ||
                            (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "40", 2) == 0 ||
                                       strncmp(state, "57P", 3) == 0 || strcmp(state, "55006") == 0));
            st = ferry_error_set(err, transient ? FERRY_RETRY : FERRY_ERROR,
                                 "publication \"%s\" lacks captured tables and could not be extended (%s): "
                                 "their changes would never be streamed. Have the publication's owner run: %s; "
                                 "or leave those tables out with table.exclude.list",
                                 ctx->publication, msg, sql.data);
            PQclear(res);
        } else {
            char what[200];
            snprintf(what, sizeof(what), "creating publication \"%s\"", ctx->publication);
            st = pg_fail(ctx, ctx->sql, res, what, err);
        }
    }
    pg_buf_free(&sql);
    pg_free_names(names, n);
    free(pub);
    return st;
}

/* How long a slot may be held by a client that is not this connector before
 * the task fails instead of retrying ("replication slot is active"). */
#define PG_SLOT_BUSY_GRACE_MS 60000

/* The slot exists and a walsender (pid) streams it. Another ferry connector
 * (its application_name says so) is a name collision: fail now, naming it.
 * Ourselves (a walsender from before a reconnect, not yet gone) is a retry;
 * any other client is a retry for a grace period, then a failure. */
static ferry_status_t slot_busy(pg_ctx_t *ctx, const char *pid, const char *holder, ferry_error_t *err)
{
    int ours = holder && ctx->appname && strcmp(holder, ctx->appname) == 0;
    if (!ours && holder && strncmp(holder, "ferry/", 6) == 0) {
        if (ctx->slot_name_default)
            return ferry_error_set(err, FERRY_ERROR,
                                   "replication slot \"%s\" is in use by ferry connector \"%s\" (pid %s): the "
                                   "default slot and publication names (ferry_ + the connector name, with every "
                                   "character other than a-z, 0-9 and _ made _) of connectors \"%s\" and \"%s\" "
                                   "are the same. Set slot.name and publication.name for one of them",
                                   ctx->slot, holder + 6, pid, ctx->appname ? ctx->appname + 6 : "?", holder + 6);
        return ferry_error_set(err, FERRY_ERROR,
                               "replication slot \"%s\" is in use by ferry connector \"%s\" (pid %s): two "
                               "connectors cannot share a slot. Give each its own slot.name and publication.name",
                               ctx->slot, holder + 6, pid);
    }
    int64_t now = pg_now_ms();
    if (!ctx->slot_busy_since_ms)
        ctx->slot_busy_since_ms = now;
    if (!ours && now - ctx->slot_busy_since_ms >= PG_SLOT_BUSY_GRACE_MS)
        return ferry_error_set(err, FERRY_ERROR,
                               "replication slot \"%s\" has been in use by another client for %d s (pid %s, "
                               "application_name \"%s\"): stop that client, or give this connector its own "
                               "slot.name",
                               ctx->slot, PG_SLOT_BUSY_GRACE_MS / 1000, pid, holder ? holder : "");
    return ferry_error_set(err, FERRY_RETRY, "replication slot \"%s\" is still in use by pid %s (%s)", ctx->slot,
                           pid, ours ? "this connector's previous session" : holder ? holder : "another client");
}

ferry_status_t pg_slot_state(pg_ctx_t *ctx, int *exists, uint64_t *confirmed, ferry_error_t *err)
{
    ferry_status_t st;
    const char *params[1] = {ctx->slot};
    PGresult *res = pg_query(ctx, ctx->sql,
                             "SELECT plugin, slot_type, database, confirmed_flush_lsn::text, wal_status, active_pid, "
                             "(SELECT application_name FROM pg_stat_activity a WHERE a.pid = s.active_pid) "
                             "FROM pg_replication_slots s WHERE slot_name = $1",
                             1, params, PGRES_TUPLES_OK, "looking up the replication slot", &st, err);
    if (!res)
        return st;
    *exists = PQntuples(res) > 0;
    *confirmed = 0;
    st = FERRY_OK;
    if (*exists) {
        const char *plugin = PQgetvalue(res, 0, 0), *type = PQgetvalue(res, 0, 1), *db = PQgetvalue(res, 0, 2);
        const char *wal_status = PQgetvalue(res, 0, 4);
        if (strcmp(type, "logical") != 0 || strcmp(plugin, "pgoutput") != 0)
            st = ferry_error_set(err, FERRY_ERROR,
                                 "replication slot \"%s\" is a %s slot with plugin '%s', not a logical pgoutput "
                                 "slot: choose another slot.name or drop it",
                                 ctx->slot, type, plugin);
        else if (strcmp(db, ctx->dbname) != 0)
            st = ferry_error_set(err, FERRY_ERROR,
                                 "replication slot \"%s\" belongs to database \"%s\", not \"%s\": choose "
                                 "another slot.name",
                                 ctx->slot, db, ctx->dbname);
        else if (strcmp(wal_status, "lost") == 0)
            st = ferry_error_set(err, FERRY_ERROR,
                                 "replication slot \"%s\" was invalidated (wal_status = lost: the server removed "
                                 "WAL it still needed, see max_slot_wal_keep_size), so changes were lost: drop "
                                 "the slot (SELECT pg_drop_replication_slot('%s')) and the stored offsets "
                                 "(ferry offsets ...) to re-snapshot",
                                 ctx->slot, ctx->slot);
        else if (!PQgetisnull(res, 0, 5))
            st = slot_busy(ctx, PQgetvalue(res, 0, 5), PQgetisnull(res, 0, 6) ? NULL : PQgetvalue(res, 0, 6), err);
        else
            ctx->slot_busy_since_ms = 0;
        if (st == FERRY_OK && !PQgetisnull(res, 0, 3))
            pg_lsn_parse(PQgetvalue(res, 0, 3), confirmed);
    }
    PQclear(res);
    return st;
}

/* ---- keys --------------------------------------------------------------------- */

/* The primary key, else the first unique index by name whose columns are all
 * plain columns (Debezium: readPrimaryKeyNames, then readTableUniqueIndices,
 * which takes the first index of the JDBC driver's order: clustered first,
 * then by name). INCLUDE columns are not part of the key. */
static const char keyinfo_sql[] =
    "WITH ix AS (SELECT i.indkey::int2[] AS k, i.indnkeyatts AS nk FROM pg_index i JOIN pg_class c ON "
    "c.oid = i.indexrelid WHERE i.indrelid = $1::oid AND (i.indisprimary OR (i.indisunique AND NOT "
    "(0 = ANY (i.indkey::int2[])))) ORDER BY i.indisprimary DESC, i.indisclustered DESC, c.relname LIMIT 1) "
    "SELECT a.attname, a.attnotnull FROM ix, unnest(ix.k) WITH ORDINALITY u(att, n) JOIN pg_attribute a ON "
    "a.attrelid = $1::oid AND a.attnum = u.att WHERE u.n <= ix.nk ORDER BY u.n";

const pg_keyinfo_t *pg_keyinfo(pg_ctx_t *ctx, uint32_t oid)
{
    for (size_t i = 0; i < ctx->nkeys; i++)
        if (ctx->keycache[i].oid == oid)
            return &ctx->keycache[i];
    char oidbuf[16];
    snprintf(oidbuf, sizeof(oidbuf), "%u", oid);
    const char *params[1] = {oidbuf};
    ferry_status_t st;
    ferry_error_t err;
    PGresult *res = pg_query(ctx, ctx->sql, keyinfo_sql, 1, params, PGRES_TUPLES_OK, "looking up a table's key",
                             &st, &err);
    if (!res) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "%s", err.msg);
        ctx->lookup_failed = 1;
        return NULL;
    }
    if (ctx->nkeys == ctx->capkeys) {
        size_t cap = ctx->capkeys ? ctx->capkeys * 2 : 16;
        pg_keyinfo_t *nk = realloc(ctx->keycache, cap * sizeof(*nk));
        if (!nk) {
            PQclear(res);
            ctx->lookup_failed = 1;
            return NULL;
        }
        ctx->keycache = nk;
        ctx->capkeys = cap;
    }
    pg_keyinfo_t *ki = &ctx->keycache[ctx->nkeys];
    memset(ki, 0, sizeof(*ki));
    ki->oid = oid;
    ki->count = (size_t)PQntuples(res);
    ki->names = ki->count ? calloc(ki->count, sizeof(char *)) : NULL;
    ki->notnull = ki->count ? calloc(ki->count, 1) : NULL;
    for (size_t i = 0; ki->names && ki->notnull && i < ki->count; i++) {
        ki->names[i] = strdup(PQgetvalue(res, (int)i, 0));
        ki->notnull[i] = PQgetvalue(res, (int)i, 1)[0] == 't';
    }
    if (ki->count && (!ki->names || !ki->notnull)) {
        free(ki->names);
        free(ki->notnull);
        ki->names = NULL;
        ki->notnull = NULL;
        ki->count = 0;
    }
    PQclear(res);
    ctx->nkeys++;
    return ki;
}

void pg_keyinfo_forget(pg_ctx_t *ctx, uint32_t oid)
{
    for (size_t i = 0; i < ctx->nkeys; i++) {
        if (ctx->keycache[i].oid != oid)
            continue;
        for (size_t j = 0; j < ctx->keycache[i].count; j++)
            free(ctx->keycache[i].names[j]);
        free(ctx->keycache[i].names);
        free(ctx->keycache[i].notnull);
        ctx->keycache[i] = ctx->keycache[--ctx->nkeys];
        return;
    }
}

/* ---- non-built-in types ------------------------------------------------------ */

static char resolve_type(void *vctx, uint32_t oid, uint32_t *base_oid, int32_t *base_typmod, uint32_t *elem_oid)
{
    pg_ctx_t *ctx = vctx;
    for (size_t i = 0; i < ctx->ntypes; i++) {
        if (ctx->typecache[i].oid == oid) {
            *base_oid = ctx->typecache[i].base;
            *base_typmod = ctx->typecache[i].typmod;
            *elem_oid = ctx->typecache[i].elem;
            return ctx->typecache[i].kind;
        }
    }
    char oidbuf[16];
    snprintf(oidbuf, sizeof(oidbuf), "%u", oid);
    const char *params[1] = {oidbuf};
    ferry_status_t st;
    ferry_error_t err;
    PGresult *res = pg_query(ctx, ctx->sql,
                             "SELECT t.typtype, t.typbasetype, t.typelem, t.typcategory, t.typtypmod, "
                             "t.typname = 'hstore' AND e.extname = 'hstore' FROM pg_type t "
                             "LEFT JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid "
                             "AND d.deptype = 'e' LEFT JOIN pg_extension e ON e.oid = d.refobjid "
                             "WHERE t.oid = $1::oid",
                             1, params, PGRES_TUPLES_OK, "looking up a type", &st, &err);
    if (!res) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "%s", err.msg);
        ctx->lookup_failed = 1;
        return 0;
    }
    pg_typeinfo_t ti = {.oid = oid, .typmod = -1};
    if (PQntuples(res) > 0) {
        char typtype = PQgetvalue(res, 0, 0)[0], category = PQgetvalue(res, 0, 3)[0];
        uint32_t base = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
        uint32_t elem = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
        if (typtype == 'e') {
            ti.kind = 'e';
        } else if (PQgetvalue(res, 0, 5)[0] == 't') {
            ti.kind = 'h';
        } else if (typtype == 'd') {
            ti.kind = 'd';
            ti.base = base;
            ti.typmod = (int32_t)strtol(PQgetvalue(res, 0, 4), NULL, 10);
        } else if (category == 'A' && elem) {
            ti.kind = 'a';
            ti.elem = elem;
        }
    }
    PQclear(res);
    if (ctx->ntypes == ctx->captypes) {
        size_t cap = ctx->captypes ? ctx->captypes * 2 : 16;
        pg_typeinfo_t *nt = realloc(ctx->typecache, cap * sizeof(*nt));
        if (nt) {
            ctx->typecache = nt;
            ctx->captypes = cap;
        }
    }
    if (ctx->ntypes < ctx->captypes)
        ctx->typecache[ctx->ntypes++] = ti;
    *base_oid = ti.base;
    *base_typmod = ti.typmod;
    *elem_oid = ti.elem;
    return ti.kind;
}

void pg_caches_init(pg_ctx_t *ctx)
{
    ctx->types.resolve = resolve_type;
    ctx->types.ctx = ctx;
}

void pg_caches_free(pg_ctx_t *ctx)
{
    while (ctx->nkeys)
        pg_keyinfo_forget(ctx, ctx->keycache[0].oid);
    free(ctx->keycache);
    free(ctx->typecache);
    ctx->keycache = NULL;
    ctx->typecache = NULL;
    ctx->ntypes = ctx->captypes = ctx->capkeys = 0;
}
