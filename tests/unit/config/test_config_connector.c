/* test_config_connector.c — connector configs: types, bounds, errors,
 * secrets, overrides, overlays and JSON output. */
#include "config_test.h"
#include "test_connectors.h"

/* Builds connector "c" from a YAML snippet holding its options (indented
 * under "c:" by the caller's text). Returns NULL on errors. */
typedef struct yaml_build {
    cfg_node_t *root;
    ferry_config_t *cfg;
} yaml_build_t;

static yaml_build_t build_yaml(const char *text, const ferry_connector_t *desc, cfg_errors_t *errs)
{
    yaml_build_t yb = {0};
    yb.root = cfg_yaml_load_buffer("p.yaml", text, strlen(text), errs);
    assert_non_null(yb.root);
    connector_spec_t spec = {.name = "c", .line = 1, .col = 1, .node = cfg_node_get(yb.root, "c")};
    assert_non_null(spec.node);
    yb.cfg = connector_config_build("p.yaml", &spec, desc, &test_host, errs);
    return yb;
}

static void yaml_build_free(yaml_build_t *yb)
{
    config_free(yb->cfg);
    cfg_node_free(yb->root);
}

static ferry_config_t *build_kv(const char *const *kv, const ferry_connector_t *desc, cfg_errors_t *errs)
{
    const char *keys[32], *values[32];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        keys[n] = kv[2 * n];
        values[n] = kv[2 * n + 1];
    }
    return connector_config_from_kv("c", keys, values, NULL, n, desc, &test_host, errs);
}

static void test_every_type_parsed(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    yaml_build_t yb = build_yaml("c:\n"
                                 "  connector: test-source\n"
                                 "  path: /data/in\n"
                                 "  topic: 42\n"
                                 "  mode: FAST\n"
                                 "  poll.interval: 1.5s\n"
                                 "  max.size: 64KiB\n"
                                 "  count: -0\n"
                                 "  ratio: 0.25\n"
                                 "  enabled: off\n"
                                 "  tables: [a, b]\n"
                                 "  props: {x: 1, y: two}\n"
                                 "  password: hunter22\n"
                                 "  tasks.max: 4\n"
                                 "  batch.max.bytes: 2MB\n",
                                 &test_source, &errs);
    if (errs.count) errors_dump(&errs);
    assert_non_null(yb.cfg);
    ferry_config_t *cfg = yb.cfg;
    assert_string_equal(config_name(cfg), "c");
    assert_string_equal(config_string(cfg, "connector"), "test-source");
    assert_string_equal(config_string(cfg, "topic"), "42");
    assert_string_equal(config_string(cfg, "mode"), "fast"); /* the table's spelling */
    assert_int_equal(config_duration_ms(cfg, "poll.interval"), 1500);
    assert_int_equal(config_size(cfg, "max.size"), 65536);
    assert_int_equal(config_int(cfg, "count"), 0);
    assert_true(config_double(cfg, "ratio") == 0.25);
    assert_int_equal(config_bool(cfg, "enabled"), 0);
    const char *const *items;
    assert_int_equal(config_list(cfg, "tables", &items), 2);
    assert_string_equal(items[0], "a");
    const char *const *keys, *const *values;
    assert_int_equal(config_map(cfg, "props", &keys, &values), 2);
    assert_string_equal(keys[1], "y");
    assert_string_equal(values[0], "1");
    assert_string_equal(config_string(cfg, "password"), "hunter22");
    assert_int_equal(config_int(cfg, "tasks.max"), 4);
    assert_int_equal(config_size(cfg, "batch.max.bytes"), 2000000);
    /* Framework defaults. */
    assert_int_equal(config_int(cfg, "batch.max.records"), 2000);
    assert_int_equal(config_duration_ms(cfg, "errors.retry.delay.max"), 60000);
    assert_int_equal(config_duration_ms(cfg, "errors.retry.timeout"), 0);
    assert_true(config_is_set(cfg, "tasks.max"));
    assert_false(config_is_set(cfg, "batch.max.records"));
    /* Undeclared or mismatched getters. */
    assert_null(config_string(cfg, "nope"));
    assert_int_equal(config_int(cfg, "nope"), 0);
    assert_int_equal(config_duration_ms(cfg, "max.size"), 0);
    assert_int_equal(config_list(cfg, "nope", &items), 0);
    assert_null(items);
    yaml_build_free(&yb);
}

static void test_defaults_and_unset(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    static const char *const kv[] = {"connector", "test-source", "path", "/p", "topic", "t", "count", NULL,
                                     NULL};
    ferry_config_t *cfg = build_kv(kv, &test_source, &errs);
    assert_non_null(cfg);
    assert_string_equal(config_string(cfg, "mode"), "safe");
    assert_int_equal(config_duration_ms(cfg, "poll.interval"), 1000);
    assert_int_equal(config_size(cfg, "max.size"), 16 * 1024 * 1024);
    assert_int_equal(config_bool(cfg, "enabled"), 1);
    assert_false(config_is_set(cfg, "enabled"));
    /* No default: NULL / 0. */
    assert_null(config_string(cfg, "password"));
    assert_int_equal(config_int(cfg, "count"), 0);
    assert_false(config_is_set(cfg, "count"));
    assert_true(config_double(cfg, "ratio") == 0.0);
    config_free(cfg);
    config_free(NULL);

    /* YAML null = unset: the default applies, required stays missing. */
    yaml_build_t yb = build_yaml("c:\n  connector: test-source\n  path:\n  topic: t\n  mode: ~\n", &test_source,
                                 &errs);
    assert_null(yb.cfg);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], "p.yaml:1:1: connector c: missing required option 'path'");
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);
}

static void test_bad_values_and_bounds(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    static const char *const kv[] = {
        "connector", "test-source", "path", "/p", "topic", "t",
        "count", "12x",          /* not an int */
        "ratio", "1.5",          /* above max */
        "enabled", "maybe",      /* not a bool */
        "max.size", "2GiB",      /* above max */
        "poll.interval", "5ms",  /* below min */
        "tables", "a,b,c,d",     /* too many */
        "tasks.max", "2000",     /* above max */
        "batch.max.records", "99999999999999999999", /* overflow */
        "props", "novalue",      /* not k=v */
        NULL, NULL};
    assert_null(build_kv(kv, &test_source, &errs));
    assert_int_equal(errs.count, 9);
    assert_error(&errs, "connector c: option 'count': invalid value '12x': expected an integer");
    assert_error(&errs, "connector c: option 'ratio': 1.5 is above the maximum of 1");
    assert_error(&errs, "connector c: option 'enabled': invalid value 'maybe': expected a boolean");
    assert_error(&errs, "connector c: option 'max.size': 2147483648 bytes is above the maximum of 1073741824 bytes");
    assert_error(&errs, "connector c: option 'poll.interval': 5ms is below the minimum of 10ms");
    assert_error(&errs, "connector c: option 'tables': needs at most 3 items, got 4");
    assert_error(&errs, "connector c: option 'tasks.max': 2000 is above the maximum of 1024");
    assert_error(&errs, "option 'batch.max.records': invalid value '99999999999999999999': expected an integer");
    assert_error(&errs, "option 'props': invalid value: expected a mapping");
    /* from_kv messages carry no position. */
    assert_int_equal(strncmp(errs.items[0], "connector c: ", 13), 0);
    cfg_errors_clear(&errs);

    static const char *const kv2[] = {"connector", "test-source", "path", "/p", "topic", "t",
                                      "count", "-1", "tables", " , ", NULL, NULL};
    assert_null(build_kv(kv2, &test_source, &errs));
    assert_int_equal(errs.count, 2);
    assert_error(&errs, "option 'count': -1 is below the minimum of 0");
    assert_error(&errs, "option 'tables': needs at least 1 item, got 0");
    cfg_errors_clear(&errs);

    /* Wrong YAML shapes. */
    yaml_build_t yb = build_yaml("c:\n  connector: test-source\n  path: [a]\n  topic: {a: 1}\n"
                                 "  tables: {a: 1}\n  props: [1]\n  count: 101\n",
                                 &test_source, &errs);
    assert_null(yb.cfg);
    assert_int_equal(errs.count, 5);
    assert_error(&errs, "p.yaml:3:9: connector c: option 'path': invalid value: expected a single value, got a list");
    assert_error(&errs, "p.yaml:4:10: connector c: option 'topic': invalid value: expected a single value, got a mapping");
    assert_error(&errs, "p.yaml:5:11: connector c: option 'tables': invalid value: expected a list or a comma-separated string");
    assert_error(&errs, "p.yaml:6:10: connector c: option 'props': invalid value: expected a mapping, got a list");
    assert_error(&errs, "p.yaml:7:10: connector c: option 'count': 101 is above the maximum of 100");
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);
}

static void test_list_forms(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    yaml_build_t yb = build_yaml("c:\n  connector: test-sink\n  topics:\n    - orders\n    - 'pay_ments'\n",
                                 &test_sink, &errs);
    assert_non_null(yb.cfg);
    const char *const *items;
    assert_int_equal(config_list(yb.cfg, "topics", &items), 2);
    assert_string_equal(items[1], "pay_ments");
    assert_string_equal(config_string(yb.cfg, "topics"), "orders,pay_ments");
    yaml_build_free(&yb);

    /* Topic names are checked as Kafka checks them (FERRY_OPT_TOPIC). */
    yb = build_yaml("c:\n  connector: test-sink\n  topics: [orders, 'pay ments']\n", &test_sink, &errs);
    assert_null(yb.cfg);
    assert_error(&errs, "p.yaml:3:11: connector c: option 'topics': not a valid topic name: a topic "
                        "name may only contain letters, digits, '.', '_' and '-'");
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);

    yb = build_yaml("c:\n  connector: test-sink\n  topics: ' a ,b,, c '\n", &test_sink, &errs);
    assert_non_null(yb.cfg);
    assert_int_equal(config_list(yb.cfg, "topics", &items), 3);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[2], "c");
    /* The connector table redefines flush.interval: its default wins. */
    assert_int_equal(config_duration_ms(yb.cfg, "flush.interval"), 30000);
    assert_string_equal(config_string(yb.cfg, "target"), "out");
    yaml_build_free(&yb);

    /* A sink needs topics; an empty list is too short; nested items are refused. */
    yb = build_yaml("c:\n  connector: test-sink\n", &test_sink, &errs);
    assert_null(yb.cfg);
    assert_error(&errs, "connector c: missing required option 'topics'");
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);
    yb = build_yaml("c:\n  connector: test-sink\n  topics: []\n", &test_sink, &errs);
    assert_null(yb.cfg);
    assert_error(&errs, "p.yaml:3:11: connector c: option 'topics': needs at least 1 item, got 0");
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);
    yb = build_yaml("c:\n  connector: test-sink\n  topics: [a, [b]]\n", &test_sink, &errs);
    assert_null(yb.cfg);
    assert_error(&errs, "option 'topics': invalid value: list item 2 (at 3:15) must be a non-empty scalar");
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    static const char *const kv[] = {"connector", "test-source", "path", "/p", "topic", "t",
                                     "topik", "x", "qqqqqqqqqq", "1", NULL, NULL};
    assert_null(build_kv(kv, &test_source, &errs));
    assert_int_equal(errs.count, 2);
    assert_error(&errs, "connector c: unknown option 'topik' (did you mean 'topic'?)");
    /* No suggestion: the connector's own options are listed first, at most ten. */
    assert_error(&errs, "connector c: unknown option 'qqqqqqqqqq' (valid options: path, topic, mode, "
                        "poll.interval, max.size, count, ratio, enabled, tables, props, ...)");
    cfg_errors_clear(&errs);
}

/* FERRY_OPT_PREFIX: "<name>.<suffix>" keys are accepted as strings (flat, from
 * YAML or key/value pairs); an empty suffix or another name is still unknown. */
static void test_prefixed_keys(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    static const char *const kv[] = {"connector", "test-source", "path", "/p", "topic", "t",
                                     "override", "public.t", "override.public.t", "SELECT 1", NULL, NULL};
    ferry_config_t *cfg = build_kv(kv, &test_source, &errs);
    assert_non_null(cfg);
    assert_string_equal(config_string(cfg, "override.public.t"), "SELECT 1");
    assert_null(config_string(cfg, "override.public.u"));
    config_free(cfg);
    static const char *const bad[] = {"connector", "test-source", "path", "/p", "topic", "t",
                                      "override.", "x", "overrides.public.t", "y", NULL, NULL};
    assert_null(build_kv(bad, &test_source, &errs));
    assert_int_equal(errs.count, 2);
    cfg_errors_clear(&errs);
    static const char *const twice[] = {"connector", "test-source", "path", "/p", "topic", "t",
                                        "override.public.t", "x", "override.public.t", "y", NULL, NULL};
    assert_null(build_kv(twice, &test_source, &errs));
    assert_error(&errs, "connector c: 'override.public.t' is set twice");
    cfg_errors_clear(&errs);
    yaml_build_t yb = build_yaml("c:\n  connector: test-source\n  path: /p\n  topic: t\n  override.public.t: SELECT 2\n",
                    &test_source, &errs);
    assert_non_null(yb.cfg);
    assert_string_equal(config_string(yb.cfg, "override.public.t"), "SELECT 2");
    yaml_build_free(&yb);
}

/* A long value or key is cut in the middle: its start and end stay, and so
 * does the reason after it. */
static void test_long_values_cut_in_the_middle(void **state)
{
    (void)state;
    char value[4001];
    memset(value, '7', sizeof(value) - 1);
    memcpy(value, "START", 5);
    memcpy(value + sizeof(value) - 4, "END", 3);
    value[sizeof(value) - 1] = '\0';
    value[sizeof(value) / 2] = 'x'; /* not an integer */
    const char *kv[] = {"connector", "test-source", "path", "/p", "topic", "t", "count", value,
                        value, "1", NULL, NULL};
    cfg_errors_t errs = {0};
    assert_null(build_kv(kv, &test_source, &errs));
    assert_int_equal(errs.count, 2);
    assert_error(&errs, "connector c: option 'count': invalid value 'START777");
    assert_error(&errs, "777END': expected an integer");
    assert_error(&errs, "\xe2\x80\xa6"); /* … */
    assert_error(&errs, "777END' (valid options: path, topic,");
    for (size_t i = 0; i < errs.count; i++) assert_true(strlen(errs.items[i]) < 400);
    cfg_errors_clear(&errs);

    char *cut = str_elide_middle("h\xc3\xa9llo-w\xc3\xb6rld", 9);
    assert_string_equal(cut, "h\xc3\xa9l\xe2\x80\xa6ld");
    free(cut);
    cut = str_elide_middle("a\xc3\xa9xxxxxxxx\xc3\xb6", 6); /* never inside a character */
    assert_string_equal(cut, "a\xe2\x80\xa6");
    free(cut);
    cut = str_elide_middle("short", 9);
    assert_string_equal(cut, "short");
    free(cut);
}

static void test_connector_alias(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    static const char *const kv[] = {"connector.class", "test-source", "path", "/p", "topic", "t", NULL, NULL};
    ferry_config_t *cfg = build_kv(kv, &test_source, &errs);
    assert_non_null(cfg);
    assert_string_equal(config_string(cfg, "connector"), "test-source");
    config_free(cfg);
    static const char *const kv2[] = {"path", "/p", "topic", "t", NULL, NULL};
    assert_null(build_kv(kv2, &test_source, &errs));
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], "connector c: missing required option 'connector'");
    cfg_errors_clear(&errs);
    static const char *const kv3[] = {"connector", "a", "connector.class", "b", "path", "/p", "topic", "t",
                                      "topic", "u", NULL, NULL};
    assert_null(build_kv(kv3, &test_source, &errs));
    assert_int_equal(errs.count, 2);
    assert_error(&errs, "both 'connector' and 'connector.class' are set; use only one");
    assert_error(&errs, "option 'topic' is set twice");
    cfg_errors_clear(&errs);
}

static void test_overrides(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    static const char *const kv[] = {"connector", "test-source", "path", "/p", "topic", "t",
                                     "producer.override.linger.ms", "50",
                                     "producer.override.compression.type", "zstd",
                                     NULL, NULL};
    ferry_config_t *cfg = build_kv(kv, &test_source, &errs);
    assert_non_null(cfg);
    const char *const *keys, *const *values;
    assert_int_equal(config_prefixed(cfg, "producer.override.", &keys, &values), 2);
    assert_string_equal(keys[0], "linger.ms");
    assert_string_equal(values[0], "50");
    assert_string_equal(keys[1], "compression.type");
    assert_string_equal(config_string(cfg, "producer.override.compression.type"), "zstd");
    assert_int_equal(config_prefixed(cfg, "consumer.override.", &keys, &values), 0);
    config_free(cfg);

    static const char *const bad[] = {"connector", "test-source", "path", "/p", "topic", "t",
                                      "producer.override.plugin.library.paths", "/tmp/evil.so",
                                      "producer.override.sasl.kerberos.kinit.cmd", "sh",
                                      "producer.override.bootstrap.servers", "x:9092",
                                      "consumer.override.fetch.min.bytes", "1",
                                      NULL, NULL};
    assert_null(build_kv(bad, &test_source, &errs));
    assert_int_equal(errs.count, 4);
    assert_error(&errs, "property plugin.library.paths may not be overridden per connector");
    assert_error(&errs, "property sasl.kerberos.kinit.cmd may not be overridden per connector");
    assert_error(&errs, "property bootstrap.servers may not be overridden per connector");
    assert_error(&errs, "'consumer.override.fetch.min.bytes' does not apply to a source connector");
    cfg_errors_clear(&errs);

    yaml_build_t yb = build_yaml("c:\n  connector: test-sink\n  topics: a\n"
                                 "  consumer.override.auto.offset.reset: earliest\n"
                                 "  consumer.override.group.id: mine\n",
                                 &test_sink, &errs);
    assert_null(yb.cfg);
    assert_int_equal(errs.count, 1);
    assert_error(&errs, "p.yaml:5:3: connector c: property group.id may not be overridden per connector");
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);
}

static void test_secrets_never_printed(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    setenv("FERRY_TEST_SECRET_COUNT", "notanumber-zq9", 1);
    setenv("FERRY_TEST_SECRET_HOST", "db.internal-zq9", 1);
    /* Substituted values in a bad int, a secret option and in validate()'s message. */
    yaml_build_t yb = build_yaml("c:\n"
                                 "  connector: test-source\n"
                                 "  path: /p\n"
                                 "  topic: t\n"
                                 "  count: ${env:FERRY_TEST_SECRET_COUNT}\n"
                                 "  ratio: ${env:FERRY_TEST_SECRET_COUNT}\n"
                                 "  tables: [x]\n",
                                 &test_source, &errs);
    assert_null(yb.cfg);
    assert_int_equal(errs.count, 2);
    assert_error(&errs, "p.yaml:5:10: connector c: option 'count': invalid value: expected an integer");
    assert_true(errors_lack(&errs, "zq9"));
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);

    yb = build_yaml("c:\n"
                    "  connector: test-source\n"
                    "  path: ${env:FERRY_TEST_SECRET_HOST}\n"
                    "  topic: t\n"
                    "  mode: slow\n"
                    "  password: pa55word-zq9\n",
                    &test_source, &errs);
    assert_null(yb.cfg);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], "p.yaml:1:1: connector c: mode slow is not allowed with password [hidden]");
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);

    /* config_to_json: secrets always hidden, substituted values when redacting. */
    yb = build_yaml("c:\n"
                    "  connector: test-source\n"
                    "  path: ${env:FERRY_TEST_SECRET_HOST}\n"
                    "  topic: t\n"
                    "  password: pa55word-zq9\n"
                    "  tables: [a, b]\n"
                    "  props: {k: v}\n"
                    "  producer.override.client.id: ${env:FERRY_TEST_SECRET_HOST}\n",
                    &test_source, &errs);
    assert_non_null(yb.cfg);
    char *json = config_to_json(yb.cfg, 1);
    assert_null(strstr(json, "zq9"));
    assert_string_equal(json,
                        "{\"connector\":\"test-source\",\"tasks.max\":\"1\",\"errors.retry.timeout\":\"0\","
                        "\"errors.retry.delay.max\":\"60s\",\"errors.restart.enabled\":\"true\",\"errors.restart.backoff.max\":\"60s\","
                        "\"errors.restart.max\":\"0\",\"errors.tolerance\":\"none\",\"errors.log.enable\":\"false\","
                        "\"errors.log.include.messages\":\"false\",\"errors.deadletterqueue.topic.name\":\"\","
                        "\"errors.deadletterqueue.context.headers.enable\":\"false\","
                        "\"errors.deadletterqueue.topic.replication.factor\":\"-1\",\"batch.max.records\":\"2000\","
                        "\"batch.max.bytes\":\"1MiB\",\"rate.limit.records\":\"0\",\"rate.limit.bytes\":\"0\",\"exactly.once.support\":\"requested\",\"transaction.boundary\":\"poll\",\"path\":\"[hidden]\",\"topic\":\"t\",\"mode\":\"safe\","
                        "\"poll.interval\":\"1s\",\"max.size\":\"16MiB\",\"enabled\":\"true\","
                        "\"tables\":\"a,b\",\"props\":{\"k\":\"v\"},\"password\":\"[hidden]\","
                        "\"producer.override.client.id\":\"[hidden]\"}");
    free(json);
    json = config_to_json(yb.cfg, 0);
    assert_non_null(strstr(json, "\"path\":\"db.internal-zq9\""));
    assert_null(strstr(json, "pa55word"));
    free(json);
    yaml_build_free(&yb);
    unsetenv("FERRY_TEST_SECRET_COUNT");
    unsetenv("FERRY_TEST_SECRET_HOST");
}

static void test_many_errors_at_once(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    yaml_build_t yb = build_yaml("c:\n"
                                 "  connector: test-source\n"
                                 "  topic: t\n"
                                 "  mode: x\n"
                                 "  enabled: 2\n"
                                 "  poll.interval: 5 sec\n"
                                 "  max.size: lots\n"
                                 "  tasks.mx: 3\n"
                                 "  producer.override.transactional.id: t\n",
                                 &test_source, &errs);
    assert_null(yb.cfg);
    /* missing path + 5 bad values/keys + a forbidden override */
    assert_int_equal(errs.count, 7);
    assert_error(&errs, "p.yaml:4:9: connector c: option 'mode': invalid value 'x': must be one of: fast, safe, slow");
    assert_error(&errs, "p.yaml:7:13: connector c: option 'max.size': invalid value 'lots': expected a size like");
    assert_error(&errs, "p.yaml:8:3: connector c: unknown option 'tasks.mx' (did you mean 'tasks.max'?)");
    assert_error(&errs, "missing required option 'path'");
    /* validate() does not run when the table found errors (mode would be unset). */
    cfg_errors_clear(&errs);
    yaml_build_free(&yb);
}

static void test_overlay(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    static const char *const kv[] = {"connector", "test-source", "path", "/p", "topic", "t", NULL, NULL};
    ferry_config_t *base = build_kv(kv, &test_source, &errs);
    assert_non_null(base);
    static const char *const keys[] = {"count", "poll.interval", "tables", "task.shard", "enabled", "topic"};
    static const char *const values[] = {"7", "2m", "x, y", "3", "notabool", "other"};
    ferry_config_t *cfg = config_overlay(base, keys, values, 6);
    assert_non_null(cfg);
    assert_int_equal(config_int(cfg, "count"), 7);
    assert_true(config_is_set(cfg, "count"));
    assert_int_equal(config_duration_ms(cfg, "poll.interval"), 120000);
    const char *const *items;
    assert_int_equal(config_list(cfg, "tables", &items), 2);
    assert_string_equal(items[1], "y");
    assert_string_equal(config_string(cfg, "task.shard"), "3");
    assert_string_equal(config_string(cfg, "enabled"), "notabool"); /* kept as a string */
    assert_int_equal(config_bool(cfg, "enabled"), 1);                /* typed value unchanged */
    assert_string_equal(config_string(cfg, "topic"), "other");
    /* The base is untouched. */
    assert_string_equal(config_string(base, "topic"), "t");
    assert_null(config_string(base, "task.shard"));
    assert_int_equal(config_int(base, "count"), 0);
    assert_string_equal(config_name(cfg), "c");
    config_free(base);
    config_free(cfg);
    assert_null(config_overlay(NULL, NULL, NULL, 0));
}

static void test_validate_passes_when_clean(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    static const char *const kv[] = {"connector", "test-source", "path", "/p", "topic", "t", "mode", "slow",
                                     NULL, NULL};
    assert_null(build_kv(kv, &test_source, &errs));
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], "connector c: mode slow is not allowed with password (none)");
    cfg_errors_clear(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_parsed),
        cmocka_unit_test(test_defaults_and_unset),
        cmocka_unit_test(test_bad_values_and_bounds),
        cmocka_unit_test(test_list_forms),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_prefixed_keys),
        cmocka_unit_test(test_long_values_cut_in_the_middle),
        cmocka_unit_test(test_connector_alias),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_secrets_never_printed),
        cmocka_unit_test(test_many_errors_at_once),
        cmocka_unit_test(test_overlay),
        cmocka_unit_test(test_validate_passes_when_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
