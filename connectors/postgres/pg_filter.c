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
 * "schema.table" (anchored), like Debezium's lists. */
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
        int rc = regcomp(&f->res[i], pat, REG_EXTENDED | REG_NOSUB);
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

