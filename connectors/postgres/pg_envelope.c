/*
 * pg_envelope.c — row images and Debezium's change-event envelope as JSON.
 *
 * Field names and order follow Debezium's PostgreSQL connector (JSON
 * converter, schemas disabled), so existing consumers read ferry's events
 * unchanged: before, after, source{version, connector, name, ts_ms,
 * snapshot, db, schema, table, txId, lsn}, op, ts_ms.
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
    char opstr[2] = {op, '\0'};
    pg_buf_puts(out, "{\"before\":");
    pg_buf_puts(out, before_json && op != 't' ? before_json : "null");
    pg_buf_puts(out, ",\"after\":");
    pg_buf_puts(out, after_json && op != 't' ? after_json : "null");
    pg_buf_puts(out, ",\"source\":{\"version\":");
    json_str_or_null(out, src ? src->version : NULL);
    pg_buf_puts(out, ",\"connector\":\"postgresql\",\"name\":");
    json_str_or_null(out, src ? src->name : NULL);
    pg_buf_printf(out, ",\"ts_ms\":%" PRId64 ",\"snapshot\":", src ? src->ts_ms : 0);
    json_str_or_null(out, src && src->snapshot ? src->snapshot : "false");
    pg_buf_puts(out, ",\"db\":");
    json_str_or_null(out, src ? src->db : NULL);
    pg_buf_puts(out, ",\"schema\":");
    json_str_or_null(out, rel ? rel->schema : NULL);
    pg_buf_puts(out, ",\"table\":");
    json_str_or_null(out, rel ? rel->table : NULL);
    pg_buf_printf(out, ",\"txId\":%" PRIu32 ",\"lsn\":%" PRIu64 "},\"op\":", src ? src->txid : 0,
                  src ? src->lsn : 0);
    json_str_or_null(out, opstr);
    pg_buf_printf(out, ",\"ts_ms\":%" PRId64 "}", now_ms);
}
