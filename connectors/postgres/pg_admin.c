/*
 * pg_admin.c — what the connector changes on the server besides the slot
 * and publication it needs: REPLICA IDENTITY of captured tables at start
 * (replica.identity.autoset.values) and dropping the slot when the task stops
 * (slot.drop.on.stop). Called by postgres.c; calls only pg_conn.c and
 * pg_filter.c.
 */
#include "pg_conn.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One "<table regex>:<identity>" item: the SQL after REPLICA IDENTITY, or
 * NULL with err filled. */
static char *identity_clause(pg_ctx_t *ctx, const char *value, ferry_error_t *err)
{
    while (*value == ' ')
        value++;
    pg_buf_t b = {0};
    if (strcasecmp(value, "FULL") == 0 || strcasecmp(value, "DEFAULT") == 0 || strcasecmp(value, "NOTHING") == 0) {
        pg_buf_puts(&b, value);
        for (size_t i = 0; i < b.len; i++)
            b.data[i] = (char)(b.data[i] >= 'a' && b.data[i] <= 'z' ? b.data[i] - 32 : b.data[i]);
    } else if (strncasecmp(value, "INDEX ", 6) == 0 && value[6]) {
        char *idx = pg_quote_ident(ctx->sql, value + 6);
        if (!idx) {
            ferry_error_set(err, FERRY_ERROR, "out of memory");
            return NULL;
        }
        pg_buf_printf(&b, "USING INDEX %s", idx);
        free(idx);
    } else {
        ferry_error_set(err, FERRY_ERROR,
                        "replica.identity.autoset.values: \"%s\" is not DEFAULT, FULL, NOTHING or INDEX <name>", value);
        return NULL;
    }
    return b.data;
}

ferry_status_t pg_replica_identity_autoset(pg_ctx_t *ctx, ferry_error_t *err)
{
    const char *const *items = NULL;
    size_t n = ctx->host->cfg_list(ctx->cfg, "replica.identity.autoset.values", &items);
    if (!n)
        return FERRY_OK;
    char **names = NULL;
    size_t ntables = 0;
    ferry_status_t st = pg_list_tables(ctx, ctx->sql, 0, &names, &ntables, err);
    if (st != FERRY_OK)
        return st;
    for (size_t i = 0; i < n && st == FERRY_OK; i++) {
        const char *colon = strrchr(items[i], ':');
        if (!colon || colon == items[i]) {
            st = ferry_error_set(err, FERRY_ERROR,
                                 "replica.identity.autoset.values: item \"%s\" is not <table regex>:<identity>",
                                 items[i]);
            break;
        }
        pg_buf_t pat = {0};
        pg_buf_printf(&pat, "^(%.*s)$", (int)(colon - items[i]), items[i]);
        regex_t re;
        if (regcomp(&re, pat.data, REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0) {
            st = ferry_error_set(err, FERRY_ERROR, "replica.identity.autoset.values: \"%.*s\" is not a valid regular "
                                 "expression", (int)(colon - items[i]), items[i]);
            pg_buf_free(&pat);
            break;
        }
        pg_buf_free(&pat);
        char *clause = identity_clause(ctx, colon + 1, err);
        if (!clause) {
            regfree(&re);
            st = FERRY_ERROR;
            break;
        }
        for (size_t t = 0; t < ntables && st == FERRY_OK; t++) {
            char name[512];
            snprintf(name, sizeof(name), "%s.%s", names[2 * t], names[2 * t + 1]);
            if (regexec(&re, name, 0, NULL, 0) != 0)
                continue;
            char *s = pg_quote_ident(ctx->sql, names[2 * t]), *tb = pg_quote_ident(ctx->sql, names[2 * t + 1]);
            pg_buf_t q = {0};
            pg_buf_printf(&q, "ALTER TABLE %s.%s REPLICA IDENTITY %s", s ? s : "\"\"", tb ? tb : "\"\"", clause);
            free(s);
            free(tb);
            char what[600];
            snprintf(what, sizeof(what), "replica.identity.autoset.values: setting REPLICA IDENTITY %s on %s", clause,
                     name);
            PGresult *res = pg_query(ctx, ctx->sql, q.data, 0, NULL, PGRES_COMMAND_OK, what, &st, err);
            if (res) {
                ctx->host->log(ctx->task, FERRY_LOG_INFO, "%s", q.data);
                PQclear(res);
            }
            pg_buf_free(&q);
        }
        free(clause);
        regfree(&re);
    }
    pg_free_names(names, ntables);
    return st;
}

void pg_slot_drop(pg_ctx_t *ctx)
{
    /* Blocking, with a timeout: pg_connect gives up once the task is asked
     * to stop, which is exactly when this runs. */
    ferry_error_t err = {{0}};
    const char *keys[] = {"dbname", "replication", "connect_timeout", "fallback_application_name", NULL};
    const char *vals[] = {ctx->conninfo, "database", "10", "ferry", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        pg_fail(ctx, conn, NULL, "slot.drop.on.stop: connecting", &err);
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "%s; slot %s kept", err.msg, ctx->slot);
        PQfinish(conn);
        return;
    }
    char *slot = pg_quote_ident(conn, ctx->slot);
    pg_buf_t cmd = {0};
    /* WAIT: our walsender may take a moment to let go of the slot. */
    pg_buf_printf(&cmd, "DROP_REPLICATION_SLOT %s WAIT", slot ? slot : "\"\"");
    free(slot);
    PGresult *res = PQexec(conn, cmd.data);
    pg_buf_free(&cmd);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        ctx->host->log(ctx->task, FERRY_LOG_INFO, "slot.drop.on.stop: dropped replication slot %s", ctx->slot);
        PQclear(res);
    } else {
        char what[160];
        snprintf(what, sizeof(what), "slot.drop.on.stop: dropping replication slot %s", ctx->slot);
        pg_fail(ctx, conn, res, what, &err);
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "%s", err.msg);
    }
    PQfinish(conn);
}
