/*
 * pg_outbox.c — the transactional outbox: an insert into an outbox table
 * (columns id, aggregatetype, aggregateid, type, payload, as in Debezium's
 * outbox event router) becomes one plain message on
 * <outbox.topic.prefix><aggregatetype>, keyed by aggregateid, whose value is
 * the payload text (a json/jsonb payload is already JSON text), with id and
 * type as headers. Characters Kafka does not allow in a topic name become
 * '_'; a row whose aggregatetype gives no topic (NULL, empty, too long) goes
 * to the host's error policy (pg_emit_failed). It reaches Kafka exactly when the transaction that wrote
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

/* Kafka allows topic names of at most 249 characters, and not "." or "..". */
#define PG_TOPIC_MAX 249

void pg_outbox_emit(pg_ctx_t *ctx, ferry_batch_t *batch, const pg_relation_t *rel, const pg_tuple_t *tuple,
                    int64_t ts_ms, const char *offset)
{
    const pg_datum_t *agg_type = column(rel, tuple, "aggregatetype");
    const pg_datum_t *agg_id = column(rel, tuple, "aggregateid");
    const pg_datum_t *payload = column(rel, tuple, "payload");
    const pg_datum_t *id = column(rel, tuple, "id");
    const pg_datum_t *type = column(rel, tuple, "type");

    /* The topic: the prefix and the aggregate type, with characters Kafka
     * does not allow made '_' (as for change-event topics). */
    pg_buf_t topic = {0};
    pg_buf_puts(&topic, ctx->outbox_prefix);
    if (has_text(agg_type))
        pg_buf_append(&topic, agg_type->data, agg_type->len);
    pg_topic_sanitize(&topic);

    /* A row that cannot be routed is one bad record, not a stuck task: it
     * goes to the host's error policy (dead-letter queue with
     * errors.tolerance: all), with its offset, and the stream goes on. */
    char reason[300] = "";
    const char *missing = !agg_type ? "aggregatetype" : !payload ? "payload" : NULL;
    if (missing)
        snprintf(reason, sizeof(reason), "outbox table %s.%s has no column %s (it needs id, aggregatetype, "
                 "aggregateid, type, payload)", rel->schema, rel->table, missing);
    else if (!has_text(agg_type) || agg_type->len == 0)
        snprintf(reason, sizeof(reason), "outbox table %s.%s: an event with %s aggregatetype cannot be routed to "
                 "a topic (%s<aggregatetype>)", rel->schema, rel->table, has_text(agg_type) ? "an empty" : "a NULL",
                 ctx->outbox_prefix);
    else if (topic.len > PG_TOPIC_MAX || strcmp(topic.data, ".") == 0 || strcmp(topic.data, "..") == 0)
        snprintf(reason, sizeof(reason), "outbox table %s.%s: aggregatetype gives topic \"%.60s%s\" (%zu "
                 "characters), which Kafka does not allow (at most %d, not \".\" or \"..\")", rel->schema,
                 rel->table, topic.data, topic.len > 60 ? "..." : "", topic.len, PG_TOPIC_MAX);

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
    if (reason[0])
        pg_emit_failed(ctx, batch, &rec, reason);
    else
        pg_emit(ctx, batch, &rec);
    pg_buf_free(&topic);
}
