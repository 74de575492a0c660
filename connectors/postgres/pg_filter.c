/*
 * pg_filter.c — which tables the connector captures: table.include.list,
 * table.exclude.list and the outbox list as anchored regexes over
 * "schema.table", and the snapshot order the include list gives.
 * The bottom floor with pg_buf.c: it needs only the task's options.
 */
#include "pg_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_filter_free(pg_filter_t *f)
{
    for (size_t i = 0; i < f->count; i++)
        regfree(&f->res[i]);
    free(f->res);
    f->res = NULL;
    f->count = 0;
}

/* Each item is a name or a POSIX extended regex, matched against the whole
 * "schema.table" (anchored) and ignoring case, like Debezium's lists. */
int pg_filter_compile(pg_filter_t *f, const char *const *items, size_t n, const char *what, ferry_error_t *err)
{
    f->count = 0;
    f->res = n ? calloc(n, sizeof(*f->res)) : NULL;
    if (n && !f->res)
        return ferry_error_set(err, FERRY_ERROR, "out of memory"), -1;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        char *pat = malloc(len + 5);
        if (!pat)
            return ferry_error_set(err, FERRY_ERROR, "out of memory"), -1;
        snprintf(pat, len + 5, "^(%s)$", items[i]);
        int rc = regcomp(&f->res[i], pat, REG_EXTENDED | REG_NOSUB | REG_ICASE);
        free(pat);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &f->res[i], msg, sizeof(msg));
            ferry_error_set(err, FERRY_ERROR, "%s: item \"%s\" is not a valid regular expression: %s", what,
                            items[i], msg);
            return -1;
        }
        f->count = i + 1;
    }
    return 0;
}

int pg_filter_build(pg_filter_t *f, const ferry_host_t *host, const ferry_config_t *cfg, const char *opt,
                    ferry_error_t *err)
{
    const char *const *items = NULL;
    size_t n = host->cfg_list(cfg, opt, &items);
    return pg_filter_compile(f, items, n, opt, err);
}

int pg_filter_matches(const pg_filter_t *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (regexec(&f->res[i], name, 0, NULL, 0) == 0)
            return 1;
    return 0;
}

int pg_table_rank(const pg_ctx_t *ctx, const char *schema, const char *table)
{
    char name[512];
    snprintf(name, sizeof(name), "%s.%s", schema, table);
    for (size_t i = 0; i < ctx->include.count; i++)
        if (regexec(&ctx->include.res[i], name, 0, NULL, 0) == 0)
            return (int)i;
    return (int)ctx->include.count;
}

/* signal.data.collection names "schema.table" (as written, no regex). */
int pg_signal_is_table(const pg_ctx_t *ctx, const char *schema, const char *table)
{
    const char *sig = ctx->signal_table;
    if (!sig)
        return 0;
    size_t ls = strlen(schema);
    return strncmp(sig, schema, ls) == 0 && sig[ls] == '.' && strcmp(sig + ls + 1, table) == 0;
}

int pg_table_kind(const pg_ctx_t *ctx, const char *schema, const char *table)
{
    char name[512];
    snprintf(name, sizeof(name), "%s.%s", schema, table);
    if (pg_filter_matches(&ctx->outbox, name))
        return 2;
    if (pg_signal_is_table(ctx, schema, table))
        return 3;
    if (ctx->include.count && !pg_filter_matches(&ctx->include, name))
        return 0;
    if (pg_filter_matches(&ctx->exclude, name))
        return 0;
    return 1;
}


/* ---- Debezium's other lists ------------------------------------------------- */

int pg_snapshot_table_wanted(const pg_ctx_t *ctx, const char *schema, const char *table)
{
    if (!ctx->snap_include.count)
        return 1;
    char name[512];
    snprintf(name, sizeof(name), "%s.%s", schema, table);
    return pg_filter_matches(&ctx->snap_include, name);
}

const char *pg_snapshot_override(const pg_ctx_t *ctx, const char *schema, const char *table)
{
    const char *const *items = NULL;
    size_t n = ctx->host->cfg_list(ctx->cfg, "snapshot.select.statement.overrides", &items);
    char name[512];
    snprintf(name, sizeof(name), "%s.%s", schema, table);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i], name) != 0)
            continue;
        char key[600];
        snprintf(key, sizeof(key), "snapshot.select.statement.overrides.%s", name);
        const char *stmt = ctx->host->cfg_string(ctx->cfg, key);
        return stmt && *stmt ? stmt : NULL;
    }
    return NULL;
}

int pg_message_wanted(const pg_ctx_t *ctx, const char *prefix)
{
    if (ctx->msg_include.count)
        return pg_filter_matches(&ctx->msg_include, prefix);
    return !pg_filter_matches(&ctx->msg_exclude, prefix);
}

int pg_keycols_build(pg_ctx_t *ctx, const char *spec, ferry_error_t *err)
{
    /* "<table regex>:<col>,<col>;<table regex>:<col>..." as Debezium
     * writes it; blanks around items are ignored. */
    char *copy = strdup(spec ? spec : "");
    if (!copy)
        return ferry_error_set(err, FERRY_ERROR, "out of memory"), -1;
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ";", &save); item && rc == 0; item = strtok_r(NULL, ";", &save)) {
        while (*item == ' ')
            item++;
        if (!*item)
            continue;
        char *colon = strrchr(item, ':');
        if (!colon || colon == item || !colon[1]) {
            ferry_error_set(err, FERRY_ERROR,
                            "message.key.columns: item \"%s\" is not <schema>.<table>:<column>[,<column>...]", item);
            rc = -1;
            break;
        }
        *colon = '\0';
        pg_keycols_t *nk = realloc(ctx->keycols, (ctx->nkeycols + 1) * sizeof(*nk));
        if (!nk) {
            ferry_error_set(err, FERRY_ERROR, "out of memory");
            rc = -1;
            break;
        }
        ctx->keycols = nk;
        pg_keycols_t *k = &ctx->keycols[ctx->nkeycols];
        memset(k, 0, sizeof(*k));
        size_t len = strlen(item);
        while (len && item[len - 1] == ' ')
            item[--len] = '\0';
        char *pat = malloc(len + 5);
        if (!pat) {
            ferry_error_set(err, FERRY_ERROR, "out of memory");
            rc = -1;
            break;
        }
        snprintf(pat, len + 5, "^(%s)$", item);
        int rerr = regcomp(&k->re, pat, REG_EXTENDED | REG_NOSUB | REG_ICASE);
        free(pat);
        if (rerr) {
            ferry_error_set(err, FERRY_ERROR, "message.key.columns: \"%s\" is not a valid regular expression", item);
            rc = -1;
            break;
        }
        ctx->nkeycols++;
        char *csave = NULL;
        for (char *col = strtok_r(colon + 1, ",", &csave); col; col = strtok_r(NULL, ",", &csave)) {
            while (*col == ' ')
                col++;
            size_t cl = strlen(col);
            while (cl && col[cl - 1] == ' ')
                col[--cl] = '\0';
            if (!cl)
                continue;
            char **nn = realloc(k->names, (k->count + 1) * sizeof(*nn));
            if (!nn || !(nn[k->count] = strdup(col))) {
                if (nn)
                    k->names = nn;
                ferry_error_set(err, FERRY_ERROR, "out of memory");
                rc = -1;
                break;
            }
            k->names = nn;
            k->count++;
        }
    }
    free(copy);
    return rc;
}

const pg_keycols_t *pg_keycols_find(const pg_ctx_t *ctx, const char *schema, const char *table)
{
    if (!ctx->nkeycols)
        return NULL;
    char name[512];
    snprintf(name, sizeof(name), "%s.%s", schema, table);
    for (size_t i = 0; i < ctx->nkeycols; i++)
        if (regexec(&ctx->keycols[i].re, name, 0, NULL, 0) == 0)
            return &ctx->keycols[i];
    return NULL;
}

const unsigned char *pg_colmask(pg_ctx_t *ctx, const pg_relation_t *rel)
{
    if (!ctx->col_include.count && !ctx->col_exclude.count)
        return NULL;
    for (size_t i = 0; i < ctx->ncolmasks; i++)
        if (ctx->colmasks[i].oid == rel->oid && ctx->colmasks[i].ncols == rel->ncols)
            return ctx->colmasks[i].keep;
    pg_colmask_forget(ctx, rel->oid);
    unsigned char *keep = malloc((size_t)rel->ncols + 1);
    pg_colmask_t *nm = realloc(ctx->colmasks, (ctx->ncolmasks + 1) * sizeof(*nm));
    if (!keep || !nm) {
        free(keep);
        if (nm)
            ctx->colmasks = nm;
        return NULL;
    }
    ctx->colmasks = nm;
    char name[768];
    for (int c = 0; c < rel->ncols; c++) {
        snprintf(name, sizeof(name), "%s.%s.%s", rel->schema, rel->table, rel->cols[c].name);
        keep[c] = ctx->col_include.count ? (unsigned char)pg_filter_matches(&ctx->col_include, name)
                                         : (unsigned char)!pg_filter_matches(&ctx->col_exclude, name);
    }
    ctx->colmasks[ctx->ncolmasks++] = (pg_colmask_t){rel->oid, rel->ncols, keep};
    return keep;
}

void pg_colmask_forget(pg_ctx_t *ctx, uint32_t oid)
{
    for (size_t i = 0; i < ctx->ncolmasks; i++) {
        if (ctx->colmasks[i].oid != oid)
            continue;
        free(ctx->colmasks[i].keep);
        ctx->colmasks[i] = ctx->colmasks[--ctx->ncolmasks];
        return;
    }
}

void pg_features_free(pg_ctx_t *ctx)
{
    pg_filter_free(&ctx->snap_include);
    pg_filter_free(&ctx->col_include);
    pg_filter_free(&ctx->col_exclude);
    pg_filter_free(&ctx->msg_include);
    pg_filter_free(&ctx->msg_exclude);
    for (size_t i = 0; i < ctx->nkeycols; i++) {
        regfree(&ctx->keycols[i].re);
        for (size_t j = 0; j < ctx->keycols[i].count; j++)
            free(ctx->keycols[i].names[j]);
        free(ctx->keycols[i].names);
    }
    free(ctx->keycols);
    ctx->keycols = NULL;
    ctx->nkeycols = 0;
    while (ctx->ncolmasks)
        pg_colmask_forget(ctx, ctx->colmasks[0].oid);
    free(ctx->colmasks);
    ctx->colmasks = NULL;
    free(ctx->conninfo_built);
    ctx->conninfo_built = NULL;
}
