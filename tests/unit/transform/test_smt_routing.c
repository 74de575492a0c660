/*
 * test_smt_routing.c — RegexRouter, TimestampRouter, Filter, InsertHeader,
 * DropHeaders, HeaderFrom as Kafka Connect 4.x does them, and ferry's
 * content router "route" (direct routes, regex rules, default topic,
 * unmatched records, fanout).
 */
#include "xf_test.h"
#include "util/strutil.h"






static void json_record(xf_record_t *r, const char *topic, const char *value, int64_t ts)
{
    xf_record_init(r, topic, 0, NULL, 0, XF_BYTES, value, value ? strlen(value) : 0, XF_JSON, ts);
}

static void test_regex_router(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "r", "transforms.r.type", "org.apache.kafka.connect.transforms.RegexRouter",
          "transforms.r.regex", "(?<db>[a-z]+)\\.(\\d+)\\.(.*)", "transforms.r.replacement", "${db}_$3-v$2\\$");
    xf_record_t r;
    json_record(&r, "shop.12.orders", "{}", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "shop_orders-v12$");
    xf_record_clear(&r);
    /* matches() is on the whole topic: a partial match routes nothing. */
    json_record(&r, "x.shop.12.orders.", "{}", 1);
    xf_record_set_topic(&r, "Shop.12.orders");
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "Shop.12.orders");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    want_config_error("missing required option 'replacement'",
                      xf_test_config("transforms", "r", "transforms.r.type", "RegexRouter", "transforms.r.regex", "a",
                                     NULL));
    want_config_error("no group 2 (the regex has 1)",
                      xf_test_config("transforms", "r", "transforms.r.type", "RegexRouter", "transforms.r.regex",
                                     "(a)", "transforms.r.replacement", "$2", NULL));
    want_config_error("look-around", xf_test_config("transforms", "r", "transforms.r.type", "RegexRouter",
                                                    "transforms.r.regex", "(?=a)", "transforms.r.replacement", "x",
                                                    NULL));
}

static void test_timestamp_router(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "ts", "transforms.ts.type", "TimestampRouter");
    xf_record_t r;
    json_record(&r, "orders", "{}", 1700000000123); /* 2023-11-14T22:13:20.123Z */
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "orders-20231114");
    xf_record_clear(&r);
    /* No timestamp: Connect's DataException. */
    json_record(&r, "orders", "{}", -1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "transform ts (TimestampRouter): Timestamp missing on record"));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    CHAIN(cfg, "transforms", "ts", "transforms.ts.type", "TimestampRouter", "transforms.ts.topic.format",
          "${timestamp}.${topic}", "transforms.ts.timestamp.format", "yy-M-d'T'HH:mm:ss.SSS EEE MMM a h 'o''clock' Z");
    json_record(&r, "orders", "{}", 1700000000123);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "23-11-14T22:13:20.123 Tue Nov PM 10 o'clock +0000.orders");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    want_config_error("pattern letter 'w' is not supported",
                      xf_test_config("transforms", "ts", "transforms.ts.type", "TimestampRouter",
                                     "transforms.ts.timestamp.format", "yyyy-ww", NULL));
}

/* Filter drops what its predicate selects and nothing else. */
static void test_filter(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "f", "transforms.f.type", "Filter", "transforms.f.predicate", "debug", "predicates",
          "debug", "predicates.debug.type", "HasHeaderKey", "predicates.debug.name", "debug");
    xf_record_t r;
    json_record(&r, "t", "{}", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    xf_header_add(&r, "debug", "1", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_DROP);
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    want_config_error("unknown option 'regex'",
                      xf_test_config("transforms", "f", "transforms.f.type", "Filter", "transforms.f.regex", "x", NULL));
}

static void test_insert_and_drop_headers(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "ins,drop", "transforms.ins.type", "InsertHeader", "transforms.ins.header", "app",
          "transforms.ins.value.literal", "ferry", "transforms.drop.type", "DropHeaders", "transforms.drop.headers",
          "secret, trace");
    xf_record_t r;
    json_record(&r, "t", "{}", 1);
    xf_header_add(&r, "secret", "s1", 2);
    xf_header_add(&r, "keep", "k", 1);
    xf_header_add(&r, "secret", "s2", 2);
    xf_header_add(&r, "trace", NULL, 0);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_int_equal(r.nheaders, 2);
    assert_string_equal(r.headers[0].name, "keep");
    assert_string_equal(r.headers[1].name, "app");
    assert_string_equal(header(&r, "app"), "ferry");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    want_config_error("missing required option 'value.literal'",
                      xf_test_config("transforms", "i", "transforms.i.type", "InsertHeader", "transforms.i.header", "a",
                                     NULL));
    want_config_error("option 'headers': needs at least one header name",
                      xf_test_config("transforms", "d", "transforms.d.type", "DropHeaders", NULL));
}

/* HeaderFrom$Value move, schemaless: strings as text, the rest as JSON, a missing field as a null header. */
static void test_header_from_schemaless(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "h", "transforms.h.type", "HeaderFrom$Value", "transforms.h.fields",
          "tenant,n,tags,gone", "transforms.h.headers", "x-tenant,x-n,x-tags,x-gone", "transforms.h.operation",
          "move");
    xf_record_t r;
    json_record(&r, "t", "{\"id\":1,\"tenant\":\"acme\",\"n\":2.5,\"tags\":[\"a\",true]}", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{\"id\":1}");
    assert_string_equal(header(&r, "x-tenant"), "acme");
    assert_string_equal(header(&r, "x-n"), "2.5");
    assert_string_equal(header(&r, "x-tags"), "[\"a\",true]");
    assert_string_equal(header(&r, "x-gone"), "(null)");
    xf_record_clear(&r);
    /* A tombstone is no Map: Connect's error. */
    json_record(&r, "t", NULL, 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "Only Map objects supported in absence of schema for [header move], found: null"));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    want_config_error("'fields' config must have the same number of elements as 'headers' config",
                      xf_test_config("transforms", "h", "transforms.h.type", "HeaderFrom$Key", "transforms.h.fields",
                                     "a,b", "transforms.h.headers", "a", "transforms.h.operation", "copy", NULL));
    want_config_error("option 'operation': 'cut' is not one of (move or copy)",
                      xf_test_config("transforms", "h", "transforms.h.type", "HeaderFrom$Key", "transforms.h.fields",
                                     "a", "transforms.h.headers", "a", "transforms.h.operation", "cut", NULL));
}

/* HeaderFrom with a schema: move drops the field from schema and value; copy of the key keeps it. */
static void test_header_from_schema(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "hv,hk", "transforms.hv.type", "HeaderFrom$Value", "transforms.hv.fields", "v",
          "transforms.hv.headers", "version", "transforms.hv.operation", "move", "transforms.hk.type",
          "HeaderFrom$Key", "transforms.hk.fields", "id", "transforms.hk.headers", "key-id", "transforms.hk.operation",
          "copy");
    const char *value = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":"
                        "\"name\"},{\"type\":\"int32\",\"optional\":true,\"default\":3,\"field\":\"v\"}],\"optional\":"
                        "false,\"name\":\"item\"},\"payload\":{\"name\":\"x\",\"v\":null}}";
    const char *key = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":false,\"field\":"
                      "\"id\"}],\"optional\":false},\"payload\":{\"id\":42}}";
    xf_record_t r;
    xf_record_init(&r, "t", 0, key, strlen(key), XF_ENVELOPE, value, strlen(value), XF_ENVELOPE, 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_SCHEMAS, "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,"
                                  "\"field\":\"name\"}],\"optional\":false,\"name\":\"item\"},\"payload\":{\"name\":\"x\"}}");
    assert_string_equal(header(&r, "version"), "3"); /* replace.null.with.default */
    assert_string_equal(header(&r, "key-id"), "42");
    char *k = xf_test_key(&r, &JSON_SCHEMAS);
    assert_string_equal(k, key);
    free(k);
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

/* ---- route ---- */

/* One entity's events on one topic, split by their "type". */
static void test_route_by_type(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "r", "transforms.r.type", "route", "transforms.r.field", "type", "transforms.r.routes",
          "Task.Created:tasks.created, Task.Updated:tasks.updated,Task.Deleted : tasks.deleted");
    static const struct {
        const char *value, *topic;
    } cases[] = {
        {"{\"type\":\"Task.Created\",\"id\":1}", "tasks.created"},
        {"{\"type\":\"Task.Updated\",\"id\":1}", "tasks.updated"},
        {"{\"type\":\"Task.Deleted\",\"id\":1}", "tasks.deleted"},
    };
    for (size_t i = 0; i < 3; i++) {
        xf_record_t r;
        json_record(&r, "tasks", cases[i].value, 1);
        assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
        assert_string_equal(r.topic, cases[i].topic);
        want_value(&r, NULL, cases[i].value); /* the value passes as its very bytes */
        assert_null(r.fanout);
        xf_record_clear(&r);
    }
    /* Unmatched, missing field, tombstone: dropped by default. */
    const char *drops[] = {"{\"type\":\"Task.Archived\"}", "{\"id\":1}", NULL};
    for (size_t i = 0; i < 3; i++) {
        xf_record_t r;
        json_record(&r, "tasks", drops[i], 1);
        assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_DROP);
        xf_record_clear(&r);
    }
    /* Not an object: fails with what it needs. */
    xf_record_t r;
    json_record(&r, "tasks", "[1]", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "transform r (route): route (by field) needs a value that is a Struct or a Map"));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

/* Regex rules with capture groups, in order after the direct routes; then the default topic; fanout. */
static void test_route_regex_default_fanout(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "r", "transforms.r.type", "route", "transforms.r.field", "/meta/event",
          "transforms.r.routes", "Order.Paid:billing|orders.paid|audit", "transforms.r.regex",
          "Order\\.([A-Z][a-z]+)=>orders.$1, ([a-z]+)\\.(v[0-9]{1,3})=>$1-$2|audit", "transforms.r.default.topic",
          "misc");
    static const struct {
        const char *event, *topic, *fanout;
    } cases[] = {
        {"Order.Paid", "billing", "orders.paid|audit"},
        {"Order.Shipped", "orders.Shipped", NULL},
        {"user.v12", "user-v12", "audit"},
        {"Order.shipped", "misc", NULL},
    };
    for (size_t i = 0; i < 4; i++) {
        char *v = str_printf("{\"meta\":{\"event\":\"%s\"}}", cases[i].event);
        xf_record_t r;
        json_record(&r, "in", v, 1);
        r.fanout = strdup("stale");
        assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
        assert_string_equal(r.topic, cases[i].topic);
        if (cases[i].fanout) assert_string_equal(r.fanout, cases[i].fanout);
        else assert_null(r.fanout);
        xf_record_clear(&r);
        free(v);
    }
    xf_chain_free(ch);
    config_free(cfg);
}

static void test_route_header_unmatched(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "r", "transforms.r.type", "route", "transforms.r.header", "kind", "transforms.r.routes",
          "a:topic-a", "transforms.r.on.unmatched", "fail");
    xf_record_t r;
    xf_record_init(&r, "in", 0, NULL, 0, XF_BYTES, "\x01", 1, XF_BYTES, 1); /* raw bytes: headers only */
    xf_header_add(&r, "kind", "a", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "topic-a");
    xf_header_remove(&r, "kind");
    xf_header_add(&r, "kind", "b", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_string_equal(err, "transform r (route): no route for header 'kind' = 'b'");
    xf_header_remove(&r, "kind");
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_string_equal(err, "transform r (route): no route for header 'kind' (missing or null)");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    /* keep: the topic stays; a number is routed by its JSON text. */
    CHAIN(cfg, "transforms", "r", "transforms.r.type", "route", "transforms.r.field", "v", "transforms.r.routes",
          "1:one", "transforms.r.on.unmatched", "keep");
    json_record(&r, "in", "{\"v\":2}", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "in");
    xf_record_clear(&r);
    json_record(&r, "in", "{\"v\":1}", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    assert_string_equal(r.topic, "one");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

static void test_route_option_errors(void **state)
{
    (void)state;
    want_config_error("set 'field'", xf_test_config("transforms", "r", "transforms.r.type", "route",
                                                    "transforms.r.routes", "a:b", NULL));
    want_config_error("'field' and 'header' exclude each other",
                      xf_test_config("transforms", "r", "transforms.r.type", "route", "transforms.r.field", "a",
                                     "transforms.r.header", "h", "transforms.r.routes", "a:b", NULL));
    want_config_error("nothing to route by", xf_test_config("transforms", "r", "transforms.r.type", "route",
                                                            "transforms.r.field", "a", NULL));
    want_config_error("'bad topic!' is not a topic name",
                      xf_test_config("transforms", "r", "transforms.r.type", "route", "transforms.r.field", "a",
                                     "transforms.r.routes", "x:bad topic!", NULL));
    want_config_error("'x' is not value:topic", xf_test_config("transforms", "r", "transforms.r.type", "route",
                                                               "transforms.r.field", "a", "transforms.r.routes", "x",
                                                               NULL));
    want_config_error("value 'x' is routed twice",
                      xf_test_config("transforms", "r", "transforms.r.type", "route", "transforms.r.field", "a",
                                     "transforms.r.routes", "x:a,x:b", NULL));
    want_config_error("'on.unmatched' and 'default.topic' exclude each other",
                      xf_test_config("transforms", "r", "transforms.r.type", "route", "transforms.r.field", "a",
                                     "transforms.r.default.topic", "d", "transforms.r.on.unmatched", "keep", NULL));
    want_config_error("'maybe' is not one of drop, keep, fail",
                      xf_test_config("transforms", "r", "transforms.r.type", "route", "transforms.r.field", "a",
                                     "transforms.r.routes", "a:b", "transforms.r.on.unmatched", "maybe", NULL));
    want_config_error("is not pattern=>topic", xf_test_config("transforms", "r", "transforms.r.type", "route",
                                                              "transforms.r.field", "a", "transforms.r.regex", "a.*",
                                                              NULL));
    want_config_error("no group 1", xf_test_config("transforms", "r", "transforms.r.type", "route",
                                                   "transforms.r.field", "a", "transforms.r.regex", "a.*=>t-$1", NULL));
}

/* A regex rule whose expansion is no topic name fails the record. */
static void test_route_bad_expansion(void **state)
{
    (void)state;
    ferry_config_t *cfg;
    xf_chain_t *ch;
    char err[512];
    CHAIN(cfg, "transforms", "r", "transforms.r.type", "route", "transforms.r.field", "a", "transforms.r.regex",
          "(.*)=>t-$1");
    xf_record_t r;
    json_record(&r, "in", "{\"a\":\"x y\"}", 1);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "regex rule 1 made a bad topic from 'x y': 't-x y' is not a topic name"));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_router),
        cmocka_unit_test(test_timestamp_router),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_insert_and_drop_headers),
        cmocka_unit_test(test_header_from_schemaless),
        cmocka_unit_test(test_header_from_schema),
        cmocka_unit_test(test_route_by_type),
        cmocka_unit_test(test_route_regex_default_fanout),
        cmocka_unit_test(test_route_header_unmatched),
        cmocka_unit_test(test_route_option_errors),
        cmocka_unit_test(test_route_bad_expansion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
