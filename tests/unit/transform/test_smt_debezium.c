/*
 * test_smt_debezium.c — ExtractNewRecordState and the outbox EventRouter
 * on Debezium change events, with a schema (JsonConverter's envelope, as
 * Debezium's Postgres connector writes it) and schemaless.
 */
#include "xf_test.h"
#include "util/strutil.h"






/* ---- ExtractNewRecordState ---- */

#define ROW_FIELDS "[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},{\"type\":\"string\",\"optional\":true,\"field\":\"name\"}]"
#define ROW_SCHEMA(f) "{\"type\":\"struct\",\"fields\":" ROW_FIELDS ",\"optional\":true,\"name\":\"srv.public.items.Value\",\"field\":\"" f "\"}"
#define ENV_SCHEMA                                                                                                     \
    "{\"type\":\"struct\",\"fields\":[" ROW_SCHEMA("before") "," ROW_SCHEMA("after") ",{\"type\":\"struct\",\"fields\":[" \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},{\"type\":\"string\",\"optional\":false,\"field\":" \
    "\"table\"},{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},{\"type\":\"int64\",\"optional\":true,"      \
    "\"field\":\"lsn\"}],\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\",\"field\":\"source\"},"  \
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},{\"type\":\"int64\",\"optional\":true,\"field\":"         \
    "\"ts_ms\"}],\"optional\":false,\"name\":\"srv.public.items.Envelope\",\"version\":1}"
#define SOURCE "{\"connector\":\"postgresql\",\"table\":\"items\",\"ts_ms\":1700000000000,\"lsn\":123}"

static const char *const CREATE = "{\"schema\":" ENV_SCHEMA ",\"payload\":{\"before\":null,\"after\":{\"id\":1,\"name\":"
                                  "\"a\"},\"source\":" SOURCE ",\"op\":\"c\",\"ts_ms\":1700000000100}}";
static const char *const DELETE = "{\"schema\":" ENV_SCHEMA ",\"payload\":{\"before\":{\"id\":1,\"name\":\"a\"},"
                                  "\"after\":null,\"source\":" SOURCE ",\"op\":\"d\",\"ts_ms\":1700000000200}}";

static void envelope_record(xf_record_t *r, const char *value)
{
    static const char key[] = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,"
                              "\"field\":\"id\"}],\"optional\":false,\"name\":\"srv.public.items.Key\"},\"payload\":{\"id\":1}}";
    xf_record_init(r, "srv.public.items", 0, key, strlen(key), XF_ENVELOPE, value, value ? strlen(value) : 0,
                   XF_ENVELOPE, 1700000000300);
}

#define OUT_FIELDS_HEAD "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},{\"type\":\"string\",\"optional\":true,\"field\":\"name\"}"
#define OUT_TAIL "],\"optional\":false,\"name\":\"srv.public.items.Value\"}"

/* Defaults: the row after the change; deletes and tombstones dropped. */
static void test_extract_defaults(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "unwrap", "transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState");
    xf_record_t r;
    envelope_record(&r, CREATE);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_SCHEMAS, "{\"schema\":" OUT_FIELDS_HEAD OUT_TAIL ",\"payload\":{\"id\":1,\"name\":\"a\"}}");
    want_value(&r, &JSON_PLAIN, "{\"id\":1,\"name\":\"a\"}");
    assert_string_equal(r.topic, "srv.public.items");
    xf_record_clear(&r);
    envelope_record(&r, DELETE);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_DROP);
    xf_record_clear(&r);
    envelope_record(&r, NULL);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_DROP);
    xf_record_clear(&r);
    /* Not a change event (a heartbeat): unchanged. */
    const char *hb = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":false,\"field\":"
                     "\"ts_ms\"}],\"optional\":false,\"name\":\"io.debezium.connector.common.Heartbeat\"},\"payload\":"
                     "{\"ts_ms\":1}}";
    envelope_record(&r, hb);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_SCHEMAS, hb);
    xf_record_clear(&r);
    /* Not JSON: fails. */
    xf_record_init(&r, "t", 0, NULL, 0, XF_BYTES, "{x", 2, XF_JSON, 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "transform unwrap (ExtractNewRecordState): not JSON"));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

/* rewrite with add.fields and add.headers: __deleted first, then the metadata, optional as Debezium makes them. */
static void test_extract_rewrite_add_fields(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "u", "transforms.u.type", "ExtractNewRecordState", "transforms.u.delete.handling.mode",
          "rewrite", "transforms.u.add.fields", "op,table,lsn,source.ts_ms", "transforms.u.add.headers",
          "op,ts_ms:EVENT_TS", "transforms.u.add.headers.prefix", "dbz.");
    const char *added = ",{\"type\":\"string\",\"optional\":true,\"field\":\"__deleted\"},{\"type\":\"string\","
                        "\"optional\":true,\"field\":\"__op\"},{\"type\":\"string\",\"optional\":true,\"field\":"
                        "\"__table\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"__lsn\"},{\"type\":\"int64\","
                        "\"optional\":true,\"field\":\"__source_ts_ms\"}";
    xf_record_t r;
    envelope_record(&r, CREATE);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    char *want = str_printf("{\"schema\":" OUT_FIELDS_HEAD "%s" OUT_TAIL ",\"payload\":{\"id\":1,\"name\":\"a\","
                            "\"__deleted\":\"false\",\"__op\":\"c\",\"__table\":\"items\",\"__lsn\":123,"
                            "\"__source_ts_ms\":1700000000000}}", added);
    want_value(&r, &JSON_SCHEMAS, want);
    free(want);
    assert_string_equal(header(&r, "dbz.op"), "c");
    assert_string_equal(header(&r, "dbz.EVENT_TS"), "1700000000100");
    xf_record_clear(&r);
    envelope_record(&r, DELETE);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{\"id\":1,\"name\":\"a\",\"__deleted\":\"true\",\"__op\":\"d\",\"__table\":\"items\","
                                "\"__lsn\":123,\"__source_ts_ms\":1700000000000}");
    assert_string_equal(header(&r, "dbz.op"), "d");
    xf_record_clear(&r);
    /* drop.tombstones defaults to true; the tombstone still gets its op header first. */
    envelope_record(&r, NULL);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_DROP);
    assert_string_equal(header(&r, "dbz.op"), "d");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

/* The 2.5+ option: each mode's deletes and tombstones; it takes precedence over the old pair. */
static void test_extract_tombstone_modes(void **state)
{
    (void)state;
    static const struct {
        const char *mode;
        xf_result_t del, tomb;
        const char *del_value; /* under JsonConverter with schemas */
    } modes[] = {
        {"drop", XF_DROP, XF_DROP, NULL},
        {"tombstone", XF_KEEP, XF_DROP, "{\"schema\":{\"type\":\"struct\",\"fields\":" ROW_FIELDS ",\"optional\":true,"
                                        "\"name\":\"srv.public.items.Value\"},\"payload\":null}"},
        {"delete-to-tombstone", XF_KEEP, XF_DROP, NULL},
        {"rewrite", XF_KEEP, XF_DROP, NULL},
        {"rewrite-with-tombstone", XF_KEEP, XF_KEEP, NULL},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        ferry_config_t *cfg;
        xf_chain_t *ch;
        char err[512];
        CHAIN(cfg, "transforms", "u", "transforms.u.type", "ExtractNewRecordState",
              "transforms.u.delete.tombstone.handling.mode", modes[i].mode, "transforms.u.drop.tombstones", "false",
              "transforms.u.delete.handling.mode", "none");
        xf_record_t r;
        envelope_record(&r, DELETE);
        assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), modes[i].del);
        if (modes[i].del_value) want_value(&r, &JSON_SCHEMAS, modes[i].del_value);
        if (modes[i].del == XF_KEEP && strncmp(modes[i].mode, "rewrite", 7) != 0) want_value(&r, &JSON_PLAIN, "(null)");
        xf_record_clear(&r);
        envelope_record(&r, NULL);
        assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), modes[i].tomb);
        xf_record_clear(&r);
        xf_chain_free(ch);
        config_free(cfg);
    }
    /* The old pair: none keeps a delete as a null value; drop.tombstones=false keeps tombstones. */
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "u", "transforms.u.type", "ExtractNewRecordState", "transforms.u.drop.tombstones",
          "false", "transforms.u.delete.handling.mode", "none");
    xf_record_t r;
    envelope_record(&r, DELETE);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "(null)");
    xf_record_clear(&r);
    envelope_record(&r, NULL);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    want_config_error("'keep' is not one of drop, tombstone, rewrite",
                      xf_test_config("transforms", "u", "transforms.u.type", "ExtractNewRecordState",
                                     "transforms.u.delete.tombstone.handling.mode", "keep", NULL));
    want_config_error("option 'delete.handling.mode': 'keep' is not one of drop, none, rewrite",
                      xf_test_config("transforms", "u", "transforms.u.type", "ExtractNewRecordState",
                                     "transforms.u.delete.handling.mode", "keep", NULL));
    want_config_error("option 'drop.tombstones': 'maybe' is not true or false",
                      xf_test_config("transforms", "u", "transforms.u.type", "ExtractNewRecordState",
                                     "transforms.u.drop.tombstones", "maybe", NULL));
    want_config_error("unexpected field name 'a:b:c'",
                      xf_test_config("transforms", "u", "transforms.u.type", "ExtractNewRecordState",
                                     "transforms.u.add.fields", "a:b:c", NULL));
}

/* Schemaless change events (ferry's addition); a missing metadata field is not added. */
static void test_extract_schemaless(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "u", "transforms.u.type", "ExtractNewRecordState", "transforms.u.add.fields",
          "op,source.ts_ms:src_ts,xmin", "transforms.u.add.fields.prefix", "_", "transforms.u.route.by.field", "kind");
    const char *v = "{\"before\":null,\"after\":{\"id\":2,\"kind\":\"gadgets\"},\"source\":{\"ts_ms\":5},\"op\":\"r\"}";
    xf_record_t r;
    xf_record_init(&r, "srv.public.items", 0, NULL, 0, XF_BYTES, v, strlen(v), XF_JSON, 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{\"id\":2,\"kind\":\"gadgets\",\"_op\":\"r\",\"_src_ts\":5}");
    assert_string_equal(r.topic, "gadgets");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

/* ---- EventRouter ---- */

#define OUTBOX_ROW_SCHEMA(f)                                                                                           \
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"name\":\"io.debezium.data.Uuid\","     \
    "\"version\":1,\"field\":\"id\"},{\"type\":\"string\",\"optional\":false,\"field\":\"aggregatetype\"},{\"type\":"  \
    "\"string\",\"optional\":false,\"field\":\"aggregateid\"},{\"type\":\"string\",\"optional\":false,\"field\":"      \
    "\"type\"},{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Json\",\"version\":1,\"field\":"     \
    "\"payload\"}],\"optional\":true,\"name\":\"srv.public.outbox.Value\",\"field\":\"" f "\"}"
#define OUTBOX_ENV_SCHEMA                                                                                              \
    "{\"type\":\"struct\",\"fields\":[" OUTBOX_ROW_SCHEMA("before") "," OUTBOX_ROW_SCHEMA("after") ",{\"type\":"      \
    "\"string\",\"optional\":false,\"field\":\"op\"},{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"}],"   \
    "\"optional\":false,\"name\":\"srv.public.outbox.Envelope\",\"version\":1}"
#define OUTBOX_ROW                                                                                                     \
    "{\"id\":\"9c1f0c2e-0000-4000-8000-000000000001\",\"aggregatetype\":\"Order\",\"aggregateid\":\"o-17\",\"type\":" \
    "\"OrderCreated\",\"payload\":\"{\\\"total\\\":12}\"}"

static const char *const OUTBOX_CREATE = "{\"schema\":" OUTBOX_ENV_SCHEMA ",\"payload\":{\"before\":null,\"after\":"
                                         OUTBOX_ROW ",\"op\":\"c\",\"ts_ms\":1700000000500}}";

static void outbox_record(xf_record_t *r, const char *value)
{
    xf_record_init(r, "srv.public.outbox", 3, NULL, 0, XF_BYTES, value, value ? strlen(value) : 0, XF_ENVELOPE, 1);
}

static void test_event_router_defaults(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "outbox", "transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter");
    xf_record_t r;
    outbox_record(&r, OUTBOX_CREATE);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "outbox.event.Order");
    assert_int_equal(r.partition, -1);
    assert_int_equal(r.timestamp_ms, 1700000000500);
    char *key = xf_test_key(&r, &STRING);
    assert_string_equal(key, "o-17");
    free(key);
    key = xf_test_key(&r, &JSON_SCHEMAS);
    assert_string_equal(key, "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"o-17\"}");
    free(key);
    /* The payload stays a JSON string (table.expand.json.payload is false). */
    want_value(&r, &STRING, "{\"total\":12}");
    want_value(&r, &JSON_SCHEMAS, "{\"schema\":{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Json\","
                                  "\"version\":1},\"payload\":\"{\\\"total\\\":12}\"}");
    assert_string_equal(header(&r, "id"), "9c1f0c2e-0000-4000-8000-000000000001");
    xf_record_clear(&r);
    /* Deletes of outbox rows, updates and tombstones are no events. */
    const char *del = "{\"schema\":" OUTBOX_ENV_SCHEMA ",\"payload\":{\"before\":" OUTBOX_ROW ",\"after\":null,\"op\":"
                      "\"d\",\"ts_ms\":1}}";
    const char *upd = "{\"schema\":" OUTBOX_ENV_SCHEMA ",\"payload\":{\"before\":null,\"after\":" OUTBOX_ROW ",\"op\":"
                      "\"u\",\"ts_ms\":1}}";
    const char *drops[] = {del, upd, NULL};
    for (size_t i = 0; i < 3; i++) {
        outbox_record(&r, drops[i]);
        assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_DROP);
        xf_record_clear(&r);
    }
    xf_chain_free(ch);
    config_free(cfg);
    CHAIN(cfg, "transforms", "outbox", "transforms.outbox.type", "EventRouter", "transforms.outbox.table.op.invalid.behavior",
          "fatal");
    outbox_record(&r, upd);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "Unexpected update message received"));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

/* Additional placement into headers and the envelope, a custom route, a missing field. */
static void test_event_router_placement(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "o", "transforms.o.type", "EventRouter", "transforms.o.table.fields.additional.placement",
          "type:header:eventType,type:envelope:kind", "transforms.o.route.topic.regex", "(?<routedByValue>[A-Z]\\w*)",
          "transforms.o.route.topic.replacement", "${routedByValue}.events");
    xf_record_t r;
    outbox_record(&r, OUTBOX_CREATE);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "Order.events");
    assert_string_equal(header(&r, "eventType"), "OrderCreated");
    want_value(&r, &JSON_SCHEMAS,
               "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"name\":"
               "\"io.debezium.data.Json\",\"version\":1,\"field\":\"payload\"},{\"type\":\"string\",\"optional\":false,"
               "\"field\":\"kind\"}],\"optional\":false,\"name\":\"srv.public.outbox.Order.Envelope\"},\"payload\":"
               "{\"payload\":\"{\\\"total\\\":12}\",\"kind\":\"OrderCreated\"}}");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    CHAIN(cfg, "transforms", "o", "transforms.o.type", "EventRouter", "transforms.o.table.fields.additional.placement",
          "tenant:header");
    outbox_record(&r, OUTBOX_CREATE);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "Unable to find field tenant in event"));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    want_config_error("is not field:header, field:envelope or field:partition",
                      xf_test_config("transforms", "o", "transforms.o.type", "EventRouter",
                                     "transforms.o.table.fields.additional.placement", "type:body", NULL));
    want_config_error("'sometimes' is not one of error, ignore",
                      xf_test_config("transforms", "o", "transforms.o.type", "EventRouter",
                                     "transforms.o.table.field.additional.missing", "sometimes", NULL));
}

/* Schemaless outbox events: payload expansion and a row without the payload column. */
static void test_event_router_schemaless(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "o", "transforms.o.type", "EventRouter", "transforms.o.table.expand.json.payload", "true");
    const char *v = "{\"before\":null,\"after\":" OUTBOX_ROW ",\"op\":\"c\",\"ts_ms\":7}";
    xf_record_t r;
    xf_record_init(&r, "srv.public.outbox", 0, NULL, 0, XF_BYTES, v, strlen(v), XF_JSON, 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{\"total\":12}");
    char *key = xf_test_key(&r, &JSON_PLAIN);
    assert_string_equal(key, "\"o-17\"");
    free(key);
    xf_record_clear(&r);
    v = "{\"before\":null,\"after\":{\"id\":\"x\",\"aggregatetype\":\"A\"},\"op\":\"c\",\"ts_ms\":7}";
    xf_record_init(&r, "srv.public.outbox", 0, NULL, 0, XF_BYTES, v, strlen(v), XF_JSON, 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "Unable to find payload field payload in event"));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_defaults),       cmocka_unit_test(test_extract_rewrite_add_fields),
        cmocka_unit_test(test_extract_tombstone_modes), cmocka_unit_test(test_extract_schemaless),
        cmocka_unit_test(test_event_router_defaults),  cmocka_unit_test(test_event_router_placement),
        cmocka_unit_test(test_event_router_schemaless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
