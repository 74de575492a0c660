/* test_config_kafka.c — librdkafka properties checked at validation time
 * (kafka_check_config) and the client defaults the engine shares with it. */
#include "config_test.h"
#include "kafka/kafka_check.h"

/* Loads text and checks it; connector i's client kind is kinds[i]. */
static size_t check_text(const char *text, const int *kinds, cfg_errors_t *errs)
{
    char *path;
    worker_config_t *wc = load_text(text, &path, errs);
    assert_non_null(wc);
    if (errs->count) errors_dump(errs);
    assert_int_equal(errs->count, 0);
    size_t n = kafka_check_config(wc, kinds, errs);
    assert_int_equal(n, errs->count);
    loaded_done(wc, path);
    return n;
}

static void test_defaults_per_kind(void **state)
{
    (void)state;
    kafka_defaults_t d;
    kafka_client_defaults(&d, KAFKA_PRODUCER, "orders", 2);
    int idempotent = 0;
    for (size_t i = 0; i < d.count; i++) {
        if (strcmp(d.keys[i], "client.id") == 0) assert_string_equal(d.values[i], "ferry-orders-2");
        if (strcmp(d.keys[i], "enable.idempotence") == 0) idempotent = strcmp(d.values[i], "true") == 0;
        assert_string_not_equal(d.keys[i], "group.id");
    }
    assert_true(idempotent);
    kafka_client_defaults(&d, KAFKA_CONSUMER, "archive", 0);
    int group = 0, manual = 0;
    for (size_t i = 0; i < d.count; i++) {
        if (strcmp(d.keys[i], "group.id") == 0) group = strcmp(d.values[i], "ferry-archive") == 0;
        if (strcmp(d.keys[i], "enable.auto.commit") == 0) manual = strcmp(d.values[i], "false") == 0;
    }
    assert_true(group && manual);
    kafka_client_defaults(&d, KAFKA_ADMIN, "x", 0);
    assert_int_equal(d.count, 0);
}

/* Later layers win: tuning defaults < worker.kafka < owned defaults <
 * overrides; prefixes pick the kind. */
static void test_fill_order_and_prefixes(void **state)
{
    (void)state;
    const char *wkeys[] = {"linger.ms", "consumer.fetch.wait.max.ms", "producer.batch.num.messages", "client.id",
                           "queue.buffering.max.kbytes"};
    const char *wvals[] = {"1", "77", "123", "mine", "1000"};
    const char *dkeys[] = {"queue.buffering.max.kbytes", "client.id"}, *dvals[] = {"32768", "ferry-x-0"};
    const char *okeys[] = {"linger.ms"}, *ovals[] = {"9"};
    kafka_props_t worker = {wkeys, wvals, 5, 0}, defaults = {dkeys, dvals, 2, 1}, over = {okeys, ovals, 1, 0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(kafka_conf_fill(conf, KAFKA_PRODUCER, &worker, &defaults, &over, NULL, NULL), 0);
    char buf[64];
    size_t size = sizeof(buf);
    assert_int_equal(rd_kafka_conf_get(conf, "linger.ms", buf, &size), RD_KAFKA_CONF_OK);
    assert_string_equal(buf, "9");
    size = sizeof(buf);
    assert_int_equal(rd_kafka_conf_get(conf, "queue.buffering.max.kbytes", buf, &size), RD_KAFKA_CONF_OK);
    assert_string_equal(buf, "1000"); /* tuning: the worker's wins */
    size = sizeof(buf);
    assert_int_equal(rd_kafka_conf_get(conf, "client.id", buf, &size), RD_KAFKA_CONF_OK);
    assert_string_equal(buf, "ferry-x-0"); /* owned: the runtime's wins */
    size = sizeof(buf);
    assert_int_equal(rd_kafka_conf_get(conf, "batch.num.messages", buf, &size), RD_KAFKA_CONF_OK);
    assert_string_equal(buf, "123");
    size = sizeof(buf);
    assert_int_equal(rd_kafka_conf_get(conf, "fetch.wait.max.ms", buf, &size), RD_KAFKA_CONF_OK);
    assert_string_not_equal(buf, "77"); /* a consumer property, not for producers */
    rd_kafka_conf_destroy(conf);
    assert_string_equal(kafka_worker_property("admin.socket.timeout.ms", KAFKA_ADMIN), "socket.timeout.ms");
    assert_null(kafka_worker_property("admin.socket.timeout.ms", KAFKA_CONSUMER));
}

static void test_clean_config_passes(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    const int kinds[] = {KAFKA_PRODUCER, KAFKA_CONSUMER};
    assert_int_equal(check_text("worker:\n"
                                "  kafka:\n"
                                "    bootstrap.servers: broker.invalid:9092\n"
                                "    security.protocol: SASL_SSL\n"
                                "    ssl.ca.location: /nonexistent/ca.pem\n"
                                "    linger.ms: 20\n"
                                "    consumer.session.timeout.ms: 10000\n"
                                "connectors:\n"
                                "  a: {connector: x, producer.override.acks: all, producer.override.retries: 3}\n"
                                "  b: {connector: y, consumer.override.max.poll.interval.ms: 600000}\n",
                                kinds, &errs),
                     0);
}

static void test_worker_typos_with_suggestions(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    assert_int_equal(check_text("worker:\n"
                                "  kafka:\n"
                                "    linger.mss: 5\n"
                                "    producer.batch.num.mesages: 10\n"
                                "    compression.codec: zip\n"
                                "    frobnicate.everything: 1\n",
                                NULL, &errs),
                     4);
    /* Once each, although every client kind refuses an un-prefixed key. The
     * positions are LINE:COL of the key (the temporary file's name left out). */
    assert_error(&errs, ":3:5: worker option 'kafka': property 'linger.mss': no such librdkafka property "
                           "(did you mean 'linger.ms'?)");
    assert_error(&errs, ":4:5: worker option 'kafka': property 'producer.batch.num.mesages': no such librdkafka "
                           "property (did you mean 'producer.batch.num.messages'?)");
    assert_error(&errs, ":5:5: worker option 'kafka': property 'compression.codec': Invalid value \"zip\"");
    assert_error(&errs, ":6:5: worker option 'kafka': property 'frobnicate.everything': no such librdkafka "
                           "property");
    cfg_errors_clear(&errs);
}

/* What librdkafka only refuses when the client is created, because ferry's
 * producers are idempotent. */
static void test_idempotence_conflicts(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    const int kinds[] = {KAFKA_PRODUCER, KAFKA_PRODUCER, KAFKA_PRODUCER, KAFKA_PRODUCER};
    assert_int_equal(check_text("connectors:\n"
                                "  a:\n"
                                "    connector: x\n"
                                "    producer.override.acks: 0\n"
                                "  b:\n"
                                "    connector: x\n"
                                "    producer.override.max.in.flight.requests.per.connection: 6\n"
                                "  c:\n"
                                "    connector: x\n"
                                "    producer.override.request.required.acks: 1\n"
                                "  d:\n"
                                "    connector: x\n"
                                "    producer.override.retries: 0\n",
                                kinds, &errs),
                     4);
    assert_error(&errs, ":4:5: connector a: option 'producer.override.acks': librdkafka refuses it for the "
                           "producer: `acks` must be set to `all` when `enable.idempotence` is true (ferry's "
                           "producers are always idempotent)");
    assert_error(&errs, ":7:5: connector b: option 'producer.override.max.in.flight.requests.per.connection': "
                           "librdkafka refuses it for the producer: `max.in.flight` must be set <= 5");
    /* An alias is blamed under the name the user wrote. */
    assert_error(&errs, ":10:5: connector c: option 'producer.override.request.required.acks': librdkafka "
                           "refuses it");
    assert_error(&errs, ":13:5: connector d: option 'producer.override.retries': librdkafka refuses it for the "
                        "producer: `retries` must be set >= 1");
    cfg_errors_clear(&errs);

    assert_int_equal(check_text("worker:\n  kafka:\n    producer.acks: 1\n", NULL, &errs), 1);
    assert_error(&errs, ":3:5: worker option 'kafka': property 'producer.acks': librdkafka refuses it for the "
                           "producer: `acks` must be set to `all`");
    cfg_errors_clear(&errs);
}

/* A refused worker property does not hide a connector's own problem, and
 * is not reported again for it. */
static void test_worker_and_connector_both_reported(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    const int kinds[] = {KAFKA_CONSUMER, -1};
    assert_int_equal(check_text("worker:\n"
                                "  kafka:\n"
                                "    consumer.session.timeout.ms: 400000\n"
                                "connectors:\n"
                                "  sink:\n"
                                "    connector: y\n"
                                "    consumer.override.max.poll.interval.ms: 1000\n"
                                "    consumer.override.fetch.max.bytes: lots\n"
                                "  unknown:\n"
                                "    connector: nope\n"
                                "    consumer.override.fetch.max.bytes: lots\n",
                                kinds, &errs),
                     3);
    assert_error(&errs, ":3:5: worker option 'kafka': property 'consumer.session.timeout.ms': librdkafka "
                           "refuses it for the consumer: `max.poll.interval.ms`must be >= `session.timeout.ms`");
    assert_error(&errs, ":7:5: connector sink: option 'consumer.override.max.poll.interval.ms': librdkafka "
                           "refuses it for the consumer");
    assert_error(&errs, ":8:5: connector sink: option 'consumer.override.fetch.max.bytes': Invalid value");
    assert_true(errors_lack(&errs, "connector unknown")); /* its kind is unknown: not checked */
    cfg_errors_clear(&errs);
}

static void test_values_hidden_or_cut(void **state)
{
    (void)state;
    setenv("FERRY_TEST_CODEC", "zipzap-secret", 1);
    cfg_errors_t errs = {0};
    const int kinds[] = {KAFKA_PRODUCER};
    char *text = str_printf("worker:\n"
                            "  kafka:\n"
                            "    compression.codec: ${env:FERRY_TEST_CODEC}\n"
                            "connectors:\n"
                            "  a:\n"
                            "    connector: x\n"
                            "    producer.override.compression.type: %0500d\n",
                            7);
    assert_int_equal(check_text(text, kinds, &errs), 2);
    assert_true(errors_lack(&errs, "zipzap-secret"));
    assert_error(&errs, ":3:5: worker option 'kafka': property 'compression.codec': Invalid value \"[hidden]\"");
    assert_error(&errs, "\xe2\x80\xa6"); /* the long value is cut in the middle */
    assert_error(&errs, "7\" for configuration property \"compression.codec\"");
    for (size_t i = 0; i < errs.count; i++) assert_true(strlen(errs.items[i]) < 400);
    cfg_errors_clear(&errs);
    free(text);
    unsetenv("FERRY_TEST_CODEC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_per_kind),
        cmocka_unit_test(test_fill_order_and_prefixes),
        cmocka_unit_test(test_clean_config_passes),
        cmocka_unit_test(test_worker_typos_with_suggestions),
        cmocka_unit_test(test_idempotence_conflicts),
        cmocka_unit_test(test_worker_and_connector_both_reported),
        cmocka_unit_test(test_values_hidden_or_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
