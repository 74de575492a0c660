/* test_config_worker.c — worker_config_load: worker section, connector entries. */
#include "config_test.h"
#include "test_connectors.h"

static void test_defaults(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    char *path;
    worker_config_t *wc = load_text("connectors:\n", &path, &errs);
    assert_non_null(wc);
    assert_int_equal(errs.count, 0);
    assert_int_equal(wc->offsets_store, OFFSETS_STORE_KAFKA);
    assert_string_equal(wc->offsets_topic, "ferry-offsets");
    assert_string_equal(wc->offsets_file, "ferry-offsets.dat");
    assert_int_equal(wc->offsets_flush_ms, 5000);
    assert_int_equal(wc->offsets_partitions, 25);
    assert_int_equal(wc->offsets_replication, -1);
    assert_int_equal(wc->plugin_path_count, 0);
    assert_int_equal(wc->shutdown_timeout_ms, 30000);
    assert_int_equal(wc->progress_interval_ms, 10000);
    assert_string_equal(wc->log_level, "info");
    assert_int_equal(wc->kafka_count, 0);
    assert_int_equal(wc->connector_count, 0);
    assert_null(wc->rest);
    assert_string_equal(wc->path, path);
    loaded_done(wc, path);

    wc = load_text("", &path, &errs);
    assert_non_null(wc);
    assert_int_equal(errs.count, 0);
    loaded_done(wc, path);
    worker_config_free(NULL);
}

static void test_full_pipeline(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    char *path = fixture_path("pipeline.yaml");
    worker_config_t *wc = worker_config_load(path, &errs);
    assert_non_null(wc);
    if (errs.count) errors_dump(&errs);
    assert_int_equal(errs.count, 0);
    assert_int_equal(wc->kafka_count, 3);
    assert_string_equal(wc->kafka_keys[0], "bootstrap.servers");
    assert_string_equal(wc->kafka_values[0], "embedded");
    assert_string_equal(wc->kafka_values[1], "5");    /* YAML int → string */
    assert_string_equal(wc->kafka_values[2], "true"); /* YAML bool → string */
    assert_int_equal(wc->offsets_store, OFFSETS_STORE_FILE);
    assert_string_equal(wc->offsets_file, "/tmp/ferry-offsets.dat");
    assert_int_equal(wc->offsets_flush_ms, 2000);
    assert_int_equal(wc->offsets_partitions, 3);
    assert_int_equal(wc->offsets_replication, 1);
    assert_int_equal(wc->plugin_path_count, 2);
    assert_string_equal(wc->plugin_path[1], "./plugins");
    assert_int_equal(wc->shutdown_timeout_ms, 10000);
    assert_int_equal(wc->progress_interval_ms, 0);
    assert_string_equal(wc->log_level, "debug");
    assert_non_null(wc->rest);
    assert_string_equal(cfg_node_get(wc->rest, "listen")->scalar, "127.0.0.1:8083");

    assert_int_equal(wc->connector_count, 2);
    assert_string_equal(wc->connectors[0].name, "orders-source");
    assert_string_equal(wc->connectors[0].connector, "test-source");
    assert_int_equal(wc->connectors[0].line, 22);
    assert_int_equal(wc->connectors[0].col, 3);
    assert_string_equal(wc->connectors[1].name, "archive.sink_1");
    assert_string_equal(wc->connectors[1].connector, "test-sink"); /* via connector.class */

    /* Both connectors validate against their descriptors. */
    ferry_config_t *src = connector_config_build(path, &wc->connectors[0], &test_source, &test_host, &errs);
    ferry_config_t *sink = connector_config_build(path, &wc->connectors[1], &test_sink, &test_host, &errs);
    if (errs.count) errors_dump(&errs);
    assert_int_equal(errs.count, 0);
    assert_non_null(src);
    assert_non_null(sink);
    assert_int_equal(config_duration_ms(src, "poll.interval"), 250);
    const char *const *keys, *const *values;
    assert_int_equal(config_prefixed(src, "producer.override.", &keys, &values), 1);
    assert_string_equal(keys[0], "linger.ms");
    assert_string_equal(values[0], "20");
    const char *const *topics;
    assert_int_equal(config_list(sink, "topics", &topics), 2);
    assert_string_equal(topics[1], "payments");
    assert_string_equal(config_string(sink, "connector"), "test-sink");
    assert_int_equal(config_duration_ms(sink, "flush.interval"), 60000);
    config_free(src);
    config_free(sink);
    worker_config_free(wc);
    free(path);
}

static void test_nested_and_flat_worker_keys(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    char *path;
    worker_config_t *wc = load_text("worker:\n"
                                    "  offsets.flush.interval: 750ms\n"
                                    "  offsets: {topic: my-offsets}\n"
                                    "  plugin.path: '/a, /b ,, /c'\n",
                                    &path, &errs);
    assert_non_null(wc);
    assert_int_equal(errs.count, 0);
    assert_int_equal(wc->offsets_flush_ms, 750);
    assert_string_equal(wc->offsets_topic, "my-offsets");
    assert_int_equal(wc->plugin_path_count, 3);
    assert_string_equal(wc->plugin_path[0], "/a");
    assert_string_equal(wc->plugin_path[1], "/b");
    assert_string_equal(wc->plugin_path[2], "/c");
    loaded_done(wc, path);
}

static void test_worker_errors_all_reported(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    char *path = fixture_path("worker-errors.yaml");
    worker_config_t *wc = worker_config_load(path, &errs);
    assert_non_null(wc);
    assert_int_equal(errs.count, 7);
    char *want = str_printf("%s:3:3: unknown worker option 'log.levl' (did you mean 'log.level'?)", path);
    assert_error(&errs, want);
    free(want);
    assert_error(&errs, ":5:12: worker option 'offsets.store': invalid value 's3': must be one of: kafka, file");
    assert_error(&errs, ":6:17: worker option 'offsets.partitions': 0 is below the minimum of 1");
    assert_error(&errs, ":7:25: worker option 'offsets.replication.factor': must be -1");
    assert_error(&errs, "worker option 'shutdown.timeout': invalid value '5 minutes': expected a duration like");
    assert_error(&errs, "worker option 'kafka': invalid value: expected a mapping");
    assert_error(&errs, ":10:1: unknown top-level key 'conectors' (did you mean 'connectors'?)");
    /* Bad values fall back to the defaults. */
    assert_int_equal(wc->offsets_store, OFFSETS_STORE_KAFKA);
    assert_int_equal(wc->shutdown_timeout_ms, 30000);
    assert_int_equal(wc->offsets_replication, -1);
    cfg_errors_clear(&errs);
    worker_config_free(wc);
    free(path);
}

static void test_worker_shape_errors(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    char *path;
    worker_config_t *wc = load_text("- a\n- b\n", &path, &errs);
    assert_non_null(wc);
    assert_error(&errs, ":1:1: expected a mapping with 'worker' and 'connectors'");
    cfg_errors_clear(&errs);
    loaded_done(wc, path);

    wc = load_text("worker: 5\nconnectors: [a]\nrandom: 1\n", &path, &errs);
    assert_non_null(wc);
    assert_int_equal(errs.count, 3);
    assert_error(&errs, ":1:9: 'worker' must be a mapping");
    assert_error(&errs, ":2:13: 'connectors' must be a mapping");
    assert_error(&errs, ":3:1: unknown top-level key 'random' (expected 'worker' or 'connectors')");
    cfg_errors_clear(&errs);
    loaded_done(wc, path);

    wc = load_text("worker:\n  rest: 5\n  offsets:\n    zzz: 1\n", &path, &errs);
    assert_non_null(wc);
    assert_int_equal(errs.count, 2);
    assert_error(&errs, ":2:9: worker option 'rest' must be a mapping");
    assert_error(&errs, ":4:5: unknown worker option 'offsets.zzz'");
    cfg_errors_clear(&errs);
    loaded_done(wc, path);

    /* Malformed YAML: nothing usable. */
    assert_null(load_text("worker: {\n", &path, &errs));
    assert_int_equal(errs.count, 1);
    cfg_errors_clear(&errs);
    unlink(path);
    free(path);
}

static void test_connector_entry_errors(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    char *path = fixture_path("connector-errors.yaml");
    worker_config_t *wc = worker_config_load(path, &errs);
    assert_non_null(wc);
    assert_int_equal(errs.count, 4);
    char *want = str_printf("%s:3:3: connector no-class: missing required option 'connector'", path);
    assert_error(&errs, want);
    free(want);
    assert_error(&errs, ":7:5: connector both: both 'connector' and 'connector.class' are set; use only one");
    assert_error(&errs, ":8:3: invalid connector name 'bad name!'");
    assert_error(&errs, ":10:14: connector not-a-map: expected a mapping of options");
    assert_int_equal(wc->connector_count, 3); /* no-class, both, good */
    assert_null(wc->connectors[0].connector);
    assert_string_equal(wc->connectors[1].connector, "test-source");
    cfg_errors_clear(&errs);

    /* The good one (by name) still has four problems, all reported at once. */
    const connector_spec_t *good = &wc->connectors[2];
    assert_string_equal(good->name, "good");
    assert_null(connector_config_build(path, good, &test_source, &test_host, &errs));
    assert_int_equal(errs.count, 4);
    want = str_printf("%s:15:5: connector good: unknown option 'topik' (did you mean 'topic'?)", path);
    assert_error(&errs, want);
    free(want);
    assert_error(&errs, ":16:20: connector good: option 'poll.interval': invalid value 'soon': expected a duration like 250ms, 5s, 2m");
    assert_error(&errs, ":17:16: connector good: option 'tasks.max': 0 is below the minimum of 1");
    assert_error(&errs, ":18:11: connector good: option 'mode': invalid value 'sideways': must be one of: fast, safe, slow");
    cfg_errors_clear(&errs);

    /* "both": the engine also refuses the pair. */
    assert_null(connector_config_build(path, &wc->connectors[1], &test_source, &test_host, &errs));
    assert_error(&errs, "both 'connector' and 'connector.class' are set");
    assert_error(&errs, "connector both: missing required option 'path'");
    cfg_errors_clear(&errs);
    worker_config_free(wc);
    free(path);
}

static void test_kafka_section_kept_with_positions(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    char *path;
    worker_config_t *wc = load_text("worker:\n  kafka:\n    linger.ms: 5\n    acks: all\n", &path, &errs);
    assert_non_null(wc);
    assert_int_equal(errs.count, 0);
    assert_non_null(wc->kafka);
    assert_int_equal(wc->kafka->kind, CFG_MAP);
    assert_string_equal(wc->kafka->keys[1], "acks");
    assert_int_equal(wc->kafka->key_lines[1], 4);
    assert_int_equal(wc->kafka->key_cols[1], 5);
    loaded_done(wc, path);
}

/* worker.log.level takes what --log-level takes: one list of names. */
static void test_log_level_names(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    char *path;
    worker_config_t *wc = load_text("worker:\n  log.level: WARN\n", &path, &errs);
    assert_int_equal(errs.count, 0);
    assert_string_equal(wc->log_level, "warn");
    loaded_done(wc, path);
    wc = load_text("worker:\n  log.level: verbose\n", &path, &errs);
    assert_int_equal(errs.count, 1);
    assert_error(&errs, ":2:14: worker option 'log.level': invalid value 'verbose': must be one of: error, warn, info, debug");
    assert_string_equal(wc->log_level, "info");
    cfg_errors_clear(&errs);
    loaded_done(wc, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_pipeline),
        cmocka_unit_test(test_nested_and_flat_worker_keys),
        cmocka_unit_test(test_worker_errors_all_reported),
        cmocka_unit_test(test_worker_shape_errors),
        cmocka_unit_test(test_connector_entry_errors),
        cmocka_unit_test(test_kafka_section_kept_with_positions),
        cmocka_unit_test(test_log_level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
