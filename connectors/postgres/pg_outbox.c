/*
 * pg_outbox.c — the transactional outbox: an insert into an outbox table
 * (columns id, aggregatetype, aggregateid, type, payload, as in Debezium's
 * outbox event router) becomes one plain message on
 * <outbox.topic.prefix><aggregatetype>, keyed by aggregateid, whose value is
 * the payload text (a json/jsonb payload is already JSON text), with id and
 * type as headers. It reaches Kafka exactly when the transaction that wrote
 * it commits, because pgoutput only sends committed transactions.
 */
#include "pg_conn.h"

#include <stdlib.h>
#include <string.h>

static const pg_datum_t *column(const pg_relation_t *rel, const pg_tuple_t *tuple, const char *name)
{
    for (int i = 0; i < rel->ncols && i < tuple->ncols; i++)
        if (strcmp(rel->cols[i].name, name) == 0)
            return &tuple->cols[i];
    return NULL;
}

static int has_text(const pg_datum_t *d)
{
    return d && (d->kind == PG_DATUM_TEXT || d->kind == PG_DATUM_BINARY);
}

int pg_outbox_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const pg_relation_t *rel, const pg_tuple_t *tuple,
                   int64_t ts_ms, const char *offset)
{
    const pg_datum_t *agg_type = column(rel, tuple, "aggregatetype");
    const pg_datum_t *agg_id = column(rel, tuple, "aggregateid");
    const pg_datum_t *payload = column(rel, tuple, "payload");
    const pg_datum_t *id = column(rel, tuple, "id");
    const pg_datum_t *type = column(rel, tuple, "type");
    if (!has_text(agg_type) || !payload)
        return -1;

    pg_buf_t topic = {0};
    pg_buf_puts(&topic, ctx->outbox_prefix);
    pg_buf_append(&topic, agg_type->data, agg_type->len);

    ferry_header_t hdrs[2];
    size_t nh = 0;
    if (has_text(id))
        hdrs[nh++] = (ferry_header_t){"id", id->data, id->len};
    if (has_text(type))
        hdrs[nh++] = (ferry_header_t){"type", type->data, type->len};

    /* An empty payload stays an empty value; only NULL is a tombstone. */
    static const char empty[1] = "";
    ferry_record_t rec = {
        .topic = topic.data,
        .key = has_text(agg_id) ? (agg_id->data ? agg_id->data : empty) : NULL,
        .key_len = has_text(agg_id) ? agg_id->len : 0,
        .value = has_text(payload) ? (payload->data ? payload->data : empty) : NULL,
        .value_len = has_text(payload) ? payload->len : 0,
        .headers = nh ? hdrs : NULL,
        .header_count = nh,
        .timestamp_ms = ts_ms,
        .source_offset = offset,
        .flags = FERRY_RECORD_KEY_STRING, /* the aggregate id; the payload is the table's bytes */
    };
    pg_emit(ctx, batch, &rec);
    pg_buf_free(&topic);
    return 0;
}
