/*
 * pg_envelope.c — row images and Debezium's change-event envelope as JSON.
 *
 * Field names and order follow Debezium's PostgreSQL connector (JSON
 * converter, schemas disabled), so existing consumers read ferry's events
 * unchanged: before, after, source{version, connector, name, ts_ms,
 * snapshot, db, sequence, ts_us, ts_ns, schema, table, txId, lsn, xmin,
 * origin, origin_lsn}, transaction, op, ts_ms, ts_us, ts_ns (Debezium 3.x).
 */
#include "pgoutput.h"

#include <inttypes.h>
#include <string.h>

/* A C string as a JSON string, or null. */
static void json_str_or_null(pg_buf_t *out, const char *s)
{
    if (s)
        pg_buf_json_string(out, s, strlen(s));
    else
        pg_buf_append(out, "null", 4);
}

void pg_row_json(pg_buf_t *out, const pg_relation_t *rel, const pg_tuple_t *tuple, int key_only,
                 const pg_format_t *fmt)
{
    if (!rel || !tuple) {
        pg_buf_append(out, "null", 4);
        return;
    }
    /* The decoder guarantees tuple->ncols == rel->ncols; stay safe anyway. */
    int n = tuple->ncols < rel->ncols ? tuple->ncols : rel->ncols;
    int first = 1;
    pg_buf_append(out, "{", 1);
    for (int i = 0; i < n; i++) {
        const pg_column_t *col = &rel->cols[i];
        if (key_only && !col->is_key)
            continue;
        if (!first)
            pg_buf_append(out, ",", 1);
        first = 0;
        json_str_or_null(out, col->name ? col->name : "");
        pg_buf_append(out, ":", 1);
        pg_datum_json(out, col->type_oid, col->typmod, &tuple->cols[i], fmt);
    }
    pg_buf_append(out, "}", 1);
}

void pg_envelope_json(pg_buf_t *out, char op, const pg_relation_t *rel, const char *before_json,
                      const char *after_json, const pg_event_source_t *src, int64_t now_ms)
{
    static const pg_event_source_t none = {0};
    if (!src)
        src = &none;
    char opstr[2] = {op, '\0'};
    int64_t ts_us = src->ts_us ? src->ts_us : src->ts_ms * 1000;
    int64_t now_ns = src->now_ns ? src->now_ns : now_ms * 1000000;
    pg_buf_puts(out, "{\"before\":");
    pg_buf_puts(out, before_json && op != 't' ? before_json : "null");
    pg_buf_puts(out, ",\"after\":");
    pg_buf_puts(out, after_json && op != 't' ? after_json : "null");
    pg_buf_puts(out, ",\"source\":{\"version\":");
    json_str_or_null(out, src->version);
    pg_buf_puts(out, ",\"connector\":\"postgresql\",\"name\":");
    json_str_or_null(out, src->name);
    pg_buf_printf(out, ",\"ts_ms\":%" PRId64 ",\"snapshot\":", ts_us / 1000);
    json_str_or_null(out, src->snapshot ? src->snapshot : "false");
    pg_buf_puts(out, ",\"db\":");
    json_str_or_null(out, src->db);
    /* Debezium's sequence: a JSON array of two decimal strings, as a string. */
    if (src->last_commit_lsn)
        pg_buf_printf(out, ",\"sequence\":\"[\\\"%" PRIu64 "\\\",\\\"%" PRIu64 "\\\"]\"", src->last_commit_lsn,
                      src->lsn);
    else
        pg_buf_printf(out, ",\"sequence\":\"[null,\\\"%" PRIu64 "\\\"]\"", src->lsn);
    pg_buf_printf(out, ",\"ts_us\":%" PRId64 ",\"ts_ns\":%" PRId64 ",\"schema\":", ts_us, ts_us * 1000);
    json_str_or_null(out, rel ? rel->schema : NULL);
    pg_buf_puts(out, ",\"table\":");
    json_str_or_null(out, rel ? rel->table : NULL);
    pg_buf_printf(out, ",\"txId\":%" PRIu64 ",\"lsn\":%" PRIu64 ",\"xmin\":", src->txid, src->lsn);
    if (src->xmin)
        pg_buf_printf(out, "%" PRIu64, src->xmin);
    else
        pg_buf_puts(out, "null");
    pg_buf_puts(out, ",\"origin\":");
    json_str_or_null(out, src->origin);
    if (src->origin)
        pg_buf_printf(out, ",\"origin_lsn\":%" PRIu64 "}", src->origin_lsn);
    else
        pg_buf_puts(out, ",\"origin_lsn\":null}");
    pg_buf_puts(out, ",\"transaction\":");
    pg_buf_puts(out, src->transaction ? src->transaction : "null");
    pg_buf_puts(out, ",\"op\":");
    json_str_or_null(out, opstr);
    pg_buf_printf(out, ",\"ts_ms\":%" PRId64 ",\"ts_us\":%" PRId64 ",\"ts_ns\":%" PRId64 "}", now_ns / 1000000,
                  now_ns / 1000, now_ns);
}
