/*
 * test_transform.c — converters (bytes as Kafka Connect's JsonConverter,
 * StringConverter and ByteArrayConverter write them), chains and predicates
 * from the flat configuration, and InsertField.
 */
#include "xf_test.h"



/* A text value under each converter, as Connect writes a String. */
static void test_string_value_converters(void **state)
{
    (void)state;
    xf_record_t r;
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, "a \"line\"", 8, XF_STRING, 0);
    want_value(&r, NULL, "a \"line\"");
    want_value(&r, &STRING, "a \"line\"");
    want_value(&r, &BYTES, "a \"line\"");
    want_value(&r, &JSON_PLAIN, "\"a \\\"line\\\"\"");
    want_value(&r, &JSON_SCHEMAS, "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"a \\\"line\\\"\"}");
    xf_record_clear(&r);
}

/* Bytes become base64 in JSON, as Connect's bytes schema. */
static void test_bytes_value_converters(void **state)
{
    (void)state;
    xf_record_t r;
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, "\x01\x02\xff", 3, XF_BYTES, 0);
    want_value(&r, &JSON_PLAIN, "\"AQL/\"");
    want_value(&r, &JSON_SCHEMAS, "{\"schema\":{\"type\":\"bytes\",\"optional\":false},\"payload\":\"AQL/\"}");
    char *raw = xf_test_value(&r, &BYTES);
    assert_memory_equal(raw, "\x01\x02\xff", 3);
    free(raw);
    xf_record_clear(&r);
}

/* JSON passes unchanged where the form is the same; an envelope is read. */
static void test_json_forms(void **state)
{
    (void)state;
    xf_record_t r;
    const char *v = "{\"b\": 1,  \"a\": [true]}";
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, v, strlen(v), XF_JSON, 0);
    want_value(&r, &JSON_PLAIN, v); /* zero-parse: the very bytes */
    want_value(&r, &JSON_SCHEMAS, "{\"schema\":null,\"payload\":{\"b\":1,\"a\":[true]}}");
    xf_record_clear(&r);
    const char *env = "{\"schema\":{\"type\":\"int32\",\"optional\":false},\"payload\":42}";
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, env, strlen(env), XF_ENVELOPE, 0);
    want_value(&r, &JSON_SCHEMAS, env);
    want_value(&r, &JSON_PLAIN, "42");
    char err[256];
    assert_int_equal(xf_data_parse(&r.value, err, sizeof(err)), 0);
    assert_int_equal(json_integer_value(r.value.value), 42);
    assert_string_equal(json_string_value(json_object_get(r.value.schema, "type")), "int32");
    xf_record_clear(&r);
    /* Not an envelope: Connect's error. */
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, "{\"a\":1}", 7, XF_ENVELOPE, 0);
    assert_int_equal(xf_data_parse(&r.value, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "requires \"schema\" and \"payload\""));
    xf_record_clear(&r);
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, "{oops", 5, XF_JSON, 0);
    assert_int_equal(xf_data_parse(&r.value, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not JSON"));
    xf_record_clear(&r);
}

/* A tombstone stays null under every converter. */
static void test_null_value(void **state)
{
    (void)state;
    xf_record_t r;
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, NULL, 0, XF_JSON, 0);
    want_value(&r, &JSON_PLAIN, "(null)");
    want_value(&r, &STRING, "(null)");
    xf_record_clear(&r);
}

/* A sink gets the payload: strings as their text, other JSON compact. */
static void test_payload_bytes(void **state)
{
    (void)state;
    xf_record_t r;
    const char *env = "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"hello\"}";
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, env, strlen(env), XF_ENVELOPE, 0);
    const void *out;
    size_t len;
    char *owned, err[128];
    xf_form_t form;
    assert_int_equal(xf_data_payload_bytes(&r.value, &out, &len, &owned, &form, err, sizeof(err)), 0);
    assert_int_equal(form, XF_STRING);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "hello", 5);
    free(owned);
    xf_record_clear(&r);
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, "\"x\"", 3, XF_JSON, 0);
    assert_int_equal(xf_data_payload_bytes(&r.value, &out, &len, &owned, &form, err, sizeof(err)), 0);
    assert_int_equal(len, 1);
    assert_memory_equal(out, "x", 1);
    free(owned);
    xf_record_clear(&r);
    /* Connect's bytes: base64 in the envelope, decoded for the connector
     * (0x00 0xff 'a' 'b'); text that is not base64 is the converter's error. */
    const char *benv = "{\"schema\":{\"type\":\"bytes\",\"optional\":false},\"payload\":\"AP9hYg==\"}";
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, benv, strlen(benv), XF_ENVELOPE, 0);
    assert_int_equal(xf_data_payload_bytes(&r.value, &out, &len, &owned, &form, err, sizeof(err)), 0);
    assert_int_equal(form, XF_BYTES);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "\x00\xff" "ab", 4);
    free(owned);
    xf_record_clear(&r);
    const char *bad = "{\"schema\":{\"type\":\"bytes\",\"optional\":false},\"payload\":\"not base64!\"}";
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, bad, strlen(bad), XF_ENVELOPE, 0);
    assert_int_equal(xf_data_payload_bytes(&r.value, &out, &len, &owned, &form, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not base64"));
    xf_record_clear(&r);
}

static void test_converter_config(void **state)
{
    (void)state;
    ferry_config_t *cfg = xf_test_config("value.converter", "org.apache.kafka.connect.json.JsonConverter",
                                         "value.converter.schemas.enable", "false", "key.converter", "string", NULL);
    assert_non_null(cfg);
    xf_converter_t c;
    char err[256];
    assert_int_equal(xf_converter_from_config(cfg, "value.converter", &c, err, sizeof(err)), 0);
    assert_int_equal(c.kind, XF_CONV_JSON);
    assert_int_equal(c.schemas_enable, 0);
    assert_int_equal(xf_converter_from_config(cfg, "key.converter", &c, err, sizeof(err)), 0);
    assert_int_equal(c.kind, XF_CONV_STRING);
    config_free(cfg);
    cfg = xf_test_config("value.converter", "avro", NULL);
    assert_int_equal(xf_converter_from_config(cfg, "value.converter", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown converter 'avro'"));
    config_free(cfg);
    cfg = xf_test_config("value.converter", "json", "value.converter.schema.enable", "false", NULL);
    assert_int_equal(xf_converter_from_config(cfg, "value.converter", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "value.converter.schema.enable"));
    config_free(cfg);
}

/* Chain errors name the transform and the option. */
static void test_chain_errors(void **state)
{
    (void)state;
    char err[1024];
    ferry_config_t *cfg = xf_test_config("transforms", "a,b", "transforms.a.type", "NoSuchTransform",
                                         "transforms.b.type", "InsertField$Value", "transforms.b.topic.feild", "x",
                                         NULL);
    assert_null(xf_test_chain(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "transform a: unknown type 'NoSuchTransform'"));
    assert_non_null(strstr(err, "transform b: unknown option 'topic.feild' (did you mean 'topic.field'?)"));
    config_free(cfg);
    cfg = xf_test_config("transforms", "a", NULL);
    assert_null(xf_test_chain(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "missing 'transforms.a.type'"));
    config_free(cfg);
    cfg = xf_test_config("transforms", "a", "transforms.a.type", "InsertField$Value", "transforms.a.topic.field",
                         "t", "transforms.a.predicate", "p", NULL);
    assert_null(xf_test_chain(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "predicate 'p' is not one of 'predicates'"));
    config_free(cfg);
    cfg = xf_test_config("predicates", "p", "predicates.p.type", "TopicNameMatches", NULL);
    assert_null(xf_test_chain(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "missing option 'pattern'"));
    config_free(cfg);
    /* Duplicate names, as Connect refuses them. */
    cfg = xf_test_config("transforms", "a,a", "transforms.a.type", "Filter", NULL);
    assert_null(xf_test_chain(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "duplicate name 'a'"));
    config_free(cfg);
    /* A check without a chain kept: RegexRouter needs its regex. */
    cfg = xf_test_config("transforms", "r", "transforms.r.type", "RegexRouter", "transforms.r.replacement", "x-$1",
                         NULL);
    cfg_errors_t errs = {0};
    assert_int_equal(xf_chain_check("t", cfg, 0, &errs), -1);
    assert_non_null(strstr(errs.items[0], "transform r"));
    cfg_errors_clear(&errs);
    config_free(cfg);
    /* TopicNameMatches takes Java's syntax (\d) and refuses lazy quantifiers. */
    cfg = xf_test_config("predicates", "p", "predicates.p.type", "TopicNameMatches", "predicates.p.pattern",
                         "(.*?)x", NULL);
    assert_null(xf_test_chain(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "lazy quantifier"));
    config_free(cfg);
    /* No transforms: no chain, no error. */
    cfg = xf_test_config(NULL);
    assert_null(xf_test_chain(cfg, err, sizeof(err)));
    assert_string_equal(err, "");
    config_free(cfg);
}

/* InsertField schemaless: the topic and a static field; the full class name works. */
static void test_insert_field_schemaless(void **state)
{
    (void)state;
    char err[512];
    ferry_config_t *cfg = xf_test_config(
        "transforms", "ins", "transforms.ins.type", "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.ins.topic.field", "src", "transforms.ins.static.field", "dc", "transforms.ins.static.value",
        "eu-1", NULL);
    xf_chain_t *ch = xf_test_chain(cfg, err, sizeof(err));
    assert_non_null(ch);
    xf_record_t r;
    xf_record_init(&r, "orders", 3, NULL, 0, XF_BYTES, "{\"id\":7}", 8, XF_JSON, 1000);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{\"id\":7,\"src\":\"orders\",\"dc\":\"eu-1\"}");
    xf_record_clear(&r);
    /* Not an object: fails, naming the transform. */
    xf_record_init(&r, "orders", 3, NULL, 0, XF_BYTES, "[1]", 3, XF_JSON, 1000);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_FAIL);
    assert_non_null(strstr(err, "transform ins (InsertField$Value): "));
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    /* offset.field: a sink's records have a Kafka offset; a source's
     * config is refused. */
    cfg = xf_test_config("transforms", "ins", "transforms.ins.type", "InsertField$Value", "transforms.ins.offset.field",
                         "off", NULL);
    assert_null(xf_test_chain(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "offset.field is for sink connectors only"));
    xf_test_sink = 1;
    ch = xf_test_chain(cfg, err, sizeof(err));
    xf_test_sink = 0;
    assert_non_null(ch);
    xf_record_init(&r, "orders", 3, NULL, 0, XF_BYTES, "{\"id\":7}", 8, XF_JSON, 1000);
    r.kafka_offset = 42;
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{\"id\":7,\"off\":42}");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

/* InsertField with a schema: fields appended to the struct schema. */
static void test_insert_field_schema(void **state)
{
    (void)state;
    char err[512];
    ferry_config_t *cfg = xf_test_config("transforms", "ins", "transforms.ins.type", "InsertField$Value",
                                         "transforms.ins.partition.field", "p!", NULL);
    xf_chain_t *ch = xf_test_chain(cfg, err, sizeof(err));
    assert_non_null(ch);
    const char *env = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":"
                      "\"id\"}],\"optional\":false,\"name\":\"order\"},\"payload\":{\"id\":7}}";
    xf_record_t r;
    xf_record_init(&r, "orders", 2, NULL, 0, XF_BYTES, env, strlen(env), XF_ENVELOPE, 0);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_SCHEMAS,
                 "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"},"
                 "{\"type\":\"int32\",\"optional\":false,\"field\":\"p\"}],\"optional\":false,\"name\":\"order\"},"
                 "\"payload\":{\"id\":7,\"p\":2}}");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

/* Predicates and negate: the transform runs only where the predicate holds. */
static void test_predicates(void **state)
{
    (void)state;
    char err[512];
    ferry_config_t *cfg = xf_test_config(
        "transforms", "ins", "transforms.ins.type", "InsertField$Value", "transforms.ins.topic.field", "t",
        "transforms.ins.predicate", "isOrders", "predicates", "isOrders,tomb", "predicates.isOrders.type",
        "org.apache.kafka.connect.transforms.predicates.TopicNameMatches", "predicates.isOrders.pattern", "ord.*",
        "predicates.tomb.type", "RecordIsTombstone", NULL);
    xf_chain_t *ch = xf_test_chain(cfg, err, sizeof(err));
    assert_non_null(ch);
    xf_record_t r;
    xf_record_init(&r, "orders", 0, NULL, 0, XF_BYTES, "{}", 2, XF_JSON, 0);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{\"t\":\"orders\"}");
    xf_record_clear(&r);
    /* Java's \d works. */
    xf_chain_free(ch);
    config_free(cfg);
    cfg = xf_test_config("transforms", "ins", "transforms.ins.type", "InsertField$Value", "transforms.ins.topic.field",
                         "t", "transforms.ins.predicate", "p", "predicates", "p", "predicates.p.type",
                         "TopicNameMatches", "predicates.p.pattern", "ord-\\d+", NULL);
    ch = xf_test_chain(cfg, err, sizeof(err));
    assert_non_null(ch);
    xf_record_init(&r, "ord-12", 0, NULL, 0, XF_BYTES, "{}", 2, XF_JSON, 0);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{\"t\":\"ord-12\"}");
    xf_record_clear(&r);
    /* The whole name must match: "xorders" does not. */
    xf_record_init(&r, "xorders", 0, NULL, 0, XF_BYTES, "{}", 2, XF_JSON, 0);
    assert_int_equal(xf_chain_apply(ch, &r, err, sizeof(err)), XF_KEEP);
    want_value(&r, &JSON_PLAIN, "{}");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
    cfg = xf_test_config("transforms", "ins", "transforms.ins.type", "InsertField$Value", "transforms.ins.topic.field",
                         "t", "transforms.ins.predicate", "isOrders", "transforms.ins.negate", "true", "predicates",
                         "isOrders", "predicates.isOrders.type", "TopicNameMatches", "predicates.isOrders.pattern",
                         "orders", NULL);
    ch = xf_test_chain(cfg, err, sizeof(err));
    xf_record_init(&r, "orders", 0, NULL, 0, XF_BYTES, "{}", 2, XF_JSON, 0);
    xf_chain_apply(ch, &r, err, sizeof(err));
    want_value(&r, &JSON_PLAIN, "{}");
    xf_record_clear(&r);
    xf_record_init(&r, "other", 0, NULL, 0, XF_BYTES, "{}", 2, XF_JSON, 0);
    xf_chain_apply(ch, &r, err, sizeof(err));
    want_value(&r, &JSON_PLAIN, "{\"t\":\"other\"}");
    xf_record_clear(&r);
    xf_chain_free(ch);
    config_free(cfg);
}

void xf_java_double(double d, char *out, size_t n);

/* Reals as Java's Double.toString (JsonConverter's Jackson) writes them. */
static void test_java_doubles(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *s;
    } cases[] = {{0.1, "0.1"},         {100.0, "100.0"},         {1e10, "1.0E10"},      {1.5e-5, "1.5E-5"},
                 {0.001, "0.001"},     {1234567.0, "1234567.0"}, {12345678.0, "1.2345678E7"},
                 {-2.5, "-2.5"},       {0.0, "0.0"},             {9.99, "9.99"},        {1e-3 / 2, "5.0E-4"},
                 {123.456, "123.456"}, {1e7, "1.0E7"},           {3.0e-3, "0.003"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[40];
        xf_java_double(cases[i].d, out, sizeof(out));
        assert_string_equal(out, cases[i].s);
    }
    /* And in a value written out after a change. */
    xf_record_t r;
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, "{\"p\":9.99}", 10, XF_JSON, 0);
    char err[64];
    assert_int_equal(xf_data_parse(&r.value, err, sizeof(err)), 0);
    xf_data_set(&r.value, json_incref(r.value.value), NULL);
    want_value(&r, &JSON_PLAIN, "{\"p\":9.99}");
    xf_record_clear(&r);
    /* Strings escaped as Jackson does: quotes, backslashes, control characters; UTF-8 as it is. */
    const char *v = "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\",\"n\":-7,\"b\":[true,false,null]}";
    xf_record_init(&r, "t", -1, NULL, 0, XF_BYTES, v, strlen(v), XF_JSON, 0);
    assert_int_equal(xf_data_parse(&r.value, err, sizeof(err)), 0);
    xf_data_set(&r.value, json_incref(r.value.value), NULL);
    want_value(&r, &JSON_PLAIN, v);
    xf_record_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_value_converters), cmocka_unit_test(test_bytes_value_converters),
        cmocka_unit_test(test_json_forms),              cmocka_unit_test(test_null_value),
        cmocka_unit_test(test_payload_bytes),           cmocka_unit_test(test_converter_config),
        cmocka_unit_test(test_chain_errors),            cmocka_unit_test(test_insert_field_schemaless),
        cmocka_unit_test(test_insert_field_schema),     cmocka_unit_test(test_predicates),
        cmocka_unit_test(test_java_doubles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
