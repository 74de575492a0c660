/*
 * test_engine_errors.c — the error policy: which librdkafka errors are
 * permanent, and the dead-letter headers (Kafka Connect's names and string
 * values).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "errors/errors.h"

static void test_classification(void **state)
{
    (void)state;
    assert_true(errors_kafka_permanent(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
    assert_true(errors_kafka_permanent(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
    assert_true(errors_kafka_permanent(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    assert_true(errors_kafka_permanent(RD_KAFKA_RESP_ERR_INVALID_RECORD));
    /* What a restart (or librdkafka itself) can mend is not permanent. */
    assert_false(errors_kafka_permanent(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT));
    assert_false(errors_kafka_permanent(RD_KAFKA_RESP_ERR__FATAL));
    assert_false(errors_kafka_permanent(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION));
    assert_false(errors_kafka_permanent(RD_KAFKA_RESP_ERR__TRANSPORT));
    assert_string_equal(errors_kafka_exception(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE),
                        "org.apache.kafka.common.errors.RecordTooLargeException");
    assert_string_equal(errors_kafka_exception(RD_KAFKA_RESP_ERR__TRANSPORT), "org.apache.kafka.common.KafkaException");
}

static const char *header(rd_kafka_headers_t *h, const char *name, char *buf, size_t size)
{
    const void *v;
    size_t len;
    if (rd_kafka_header_get_last(h, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR) return NULL;
    snprintf(buf, size, "%.*s", (int)len, (const char *)v);
    return buf;
}

static void test_dlq_headers(void **state)
{
    (void)state;
    errors_policy_t policy = {.tolerate_all = 1, .dlq_topic = "dlq", .dlq_context_headers = 1};
    errors_context_t ctx = {.connector = "sink1", .task_id = 2, .stage = ERRORS_STAGE_TASK_PUT,
                            .class_name = "file-sink", .exception = "org.apache.kafka.connect.errors.ConnectException",
                            .message = "nope", .topic = "orders", .partition = 3, .offset = 42};
    ferry_header_t orig[] = {{"trace", "abc", 3}};
    rd_kafka_headers_t *h = errors_dlq_headers(&policy, &ctx, orig, 1);
    char buf[128];
    assert_string_equal(header(h, "trace", buf, sizeof(buf)), "abc");
    assert_string_equal(header(h, "__connect.errors.topic", buf, sizeof(buf)), "orders");
    assert_string_equal(header(h, "__connect.errors.partition", buf, sizeof(buf)), "3");
    assert_string_equal(header(h, "__connect.errors.offset", buf, sizeof(buf)), "42");
    assert_string_equal(header(h, "__connect.errors.connector.name", buf, sizeof(buf)), "sink1");
    assert_string_equal(header(h, "__connect.errors.task.id", buf, sizeof(buf)), "2");
    assert_string_equal(header(h, "__connect.errors.stage", buf, sizeof(buf)), "TASK_PUT");
    assert_string_equal(header(h, "__connect.errors.class.name", buf, sizeof(buf)), "file-sink");
    assert_string_equal(header(h, "__connect.errors.exception.class.name", buf, sizeof(buf)),
                        "org.apache.kafka.connect.errors.ConnectException");
    assert_string_equal(header(h, "__connect.errors.exception.message", buf, sizeof(buf)), "nope");
    assert_null(header(h, "__connect.errors.source.partition", buf, sizeof(buf)));
    rd_kafka_headers_destroy(h);

    /* Sources: the intended topic and the source position. */
    errors_context_t src = {.connector = "src", .stage = ERRORS_STAGE_KAFKA_PRODUCE, .partition = -1, .offset = -1,
                            .target_topic = "bad topic", .source_partition = "{\"p\":1}", .source_offset = "{\"o\":2}"};
    h = errors_dlq_headers(&policy, &src, NULL, 0);
    assert_string_equal(header(h, "__connect.errors.topic", buf, sizeof(buf)), "bad topic");
    assert_null(header(h, "__connect.errors.partition", buf, sizeof(buf)));
    assert_string_equal(header(h, "__connect.errors.source.offset", buf, sizeof(buf)), "{\"o\":2}");
    assert_string_equal(header(h, "__connect.errors.stage", buf, sizeof(buf)), "KAFKA_PRODUCE");
    rd_kafka_headers_destroy(h);

    /* Without context headers only the record's own. */
    policy.dlq_context_headers = 0;
    h = errors_dlq_headers(&policy, &ctx, orig, 1);
    assert_int_equal(rd_kafka_header_cnt(h), 1);
    rd_kafka_headers_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_classification), cmocka_unit_test(test_dlq_headers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
