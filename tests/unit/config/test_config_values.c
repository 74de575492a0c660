/* test_config_values.c — scalar parsers, did-you-mean and the override allow-list. */
#include "config_test.h"

static void test_duration_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {{"250ms", 250}, {"5s", 5000},    {"2m", 120000}, {"1h", 3600000}, {"1d", 86400000},
              {"1500", 1500}, {"1.5s", 1500}, {"0", 0},        {"10 s", 10000}, {"0.5ms", 1}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        char err[256];
        assert_int_equal(config_parse_duration_ms(ok[i].in, &v, err, sizeof(err)), 0);
        assert_int_equal(v, ok[i].ms);
    }
    static const char *const bad[] = {"", "s", "5x", "-5s", "5S", "1.s", "5 seconds", "abc", "1e3", "5s5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 0;
        char err[256] = "";
        assert_int_equal(config_parse_duration_ms(bad[i], &v, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "expected a duration like 250ms, 5s, 2m"));
    }
    int64_t v;
    char err[256];
    assert_int_equal(config_parse_duration_ms("999999999999999999d", &v, err, sizeof(err)), -1);
}

static void test_size_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t bytes;
    } ok[] = {{"512", 512},          {"512B", 512},          {"64KiB", 65536},
              {"16MiB", 16777216},   {"1GiB", 1073741824},   {"10KB", 10000},
              {"1MB", 1000000},      {"1GB", 1000000000},    {"1.5KiB", 1536},
              {"64kib", 65536},      {"2 MiB", 2097152},     {"1TiB", 1099511627776LL}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        char err[256];
        assert_int_equal(config_parse_size(ok[i].in, &v, err, sizeof(err)), 0);
        assert_int_equal(v, ok[i].bytes);
    }
    static const char *const bad[] = {"", "KiB", "12XB", "-1", "1.5.5MB", "ten"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 0;
        char err[256] = "";
        assert_int_equal(config_parse_size(bad[i], &v, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "expected a size like 512, 64KiB, 16MiB"));
    }
}

static void test_bool_forms(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "TRUE", "Yes", "on", "1"};
    static const char *const no[] = {"false", "False", "NO", "off", "0"};
    for (size_t i = 0; i < 5; i++) {
        int b = -1;
        assert_int_equal(config_parse_bool(yes[i], &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(config_parse_bool(no[i], &b), 0);
        assert_int_equal(b, 0);
    }
    int b;
    assert_int_equal(config_parse_bool("maybe", &b), -1);
    assert_int_equal(config_parse_bool("", &b), -1);
    assert_int_equal(config_parse_bool("2", &b), -1);
    assert_int_equal(config_parse_bool(NULL, &b), -1);
}

static void test_did_you_mean(void **state)
{
    (void)state;
    static const char *const names[] = {"topic", "tasks.max", "poll.interval", "batch.max.records"};
    assert_string_equal(config_did_you_mean("topik", names, 4), "topic");
    assert_string_equal(config_did_you_mean("tasks.mx", names, 4), "tasks.max");
    assert_string_equal(config_did_you_mean("poll.intervall", names, 4), "poll.interval");
    assert_string_equal(config_did_you_mean("batch", names, 4), "batch.max.records");
    assert_null(config_did_you_mean("zzzzzzzz", names, 4));
    assert_null(config_did_you_mean("", names, 4));
    assert_null(config_did_you_mean("topic", names, 0));
}

static void test_override_allow_list(void **state)
{
    (void)state;
    static const char *const ok[] = {"linger.ms", "compression.type", "acks", "fetch.max.bytes",
                                     "auto.offset.reset", "client.id", "socket.timeout.ms"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) assert_true(config_override_allowed(ok[i]));
    static const char *const no[] = {"plugin.library.paths", "sasl.kerberos.kinit.cmd", "ssl.engine.location",
                                     "bootstrap.servers", "group.id", "enable.auto.commit",
                                     "transactional.id", "", "linger.ms.x"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) assert_false(config_override_allowed(no[i]));
    assert_false(config_override_allowed(NULL));
}

static void test_option_tables(void **state)
{
    (void)state;
    int found_topics = 0, found_tasks = 0;
    for (const ferry_option_t *o = config_framework_options(FERRY_SINK); o->name; o++) {
        if (strcmp(o->name, "topics") == 0) found_topics = 1;
        if (strcmp(o->name, "tasks.max") == 0) found_tasks = 1;
    }
    assert_true(found_topics && found_tasks);
    for (const ferry_option_t *o = config_framework_options(FERRY_SOURCE); o->name; o++)
        assert_string_not_equal(o->name, "topics");
    int found_flush = 0;
    for (const ferry_option_t *o = config_worker_options(); o->name; o++) {
        assert_non_null(o->description);
        if (strcmp(o->name, "offsets.flush.interval") == 0) found_flush = 1;
    }
    assert_true(found_flush);
}

static void test_errors_list(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    cfg_errors_add(&errs, "a %d", 1);
    cfg_errors_add(&errs, "b %s", "x");
    assert_int_equal(errs.count, 2);
    assert_string_equal(errs.items[1], "b x");
    cfg_errors_clear(&errs);
    assert_int_equal(errs.count, 0);
    assert_null(errs.items);
    cfg_errors_clear(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_forms), cmocka_unit_test(test_size_forms),
        cmocka_unit_test(test_bool_forms),     cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test(test_override_allow_list), cmocka_unit_test(test_option_tables),
        cmocka_unit_test(test_errors_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
