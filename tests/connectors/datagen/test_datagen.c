/*
 * test_datagen.c — the datagen source: keys, values, offsets, resume,
 * count and rate limits, batch boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "connector_harness.h"

static harness_t h;

static int setup(void **state)
{
    harness_load(&h, "datagen", "datagen");
    return 0;
}

static int teardown(void **state)
{
    harness_unload(&h);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Checks record rec against sequence number seq and value size. */
static void check_record(const ferry_record_t *rec, long long seq, size_t value_size)
{
    char expect[64];
    assert_non_null(rec);
    assert_string_equal(rec->topic, "out");
    snprintf(expect, sizeof(expect), "%lld", seq);
    assert_int_equal(rec->key_len, strlen(expect));
    assert_memory_equal(rec->key, expect, rec->key_len);
    assert_string_equal(rec->source_partition, "{\"task\":0}");
    snprintf(expect, sizeof(expect), "{\"seq\":%lld}", seq);
    assert_string_equal(rec->source_offset, expect);

    assert_non_null(rec->value);
    assert_int_equal(rec->value_len, value_size);
    json_error_t jerr;
    json_t *root = json_loadb(rec->value, rec->value_len, 0, &jerr);
    if (root == NULL) {
        fail_msg("value of seq %lld is not JSON (%s): %.*s", seq, jerr.text, (int)rec->value_len,
                 (const char *)rec->value);
    }
    assert_true(json_is_object(root));
    assert_int_equal(json_integer_value(json_object_get(root, "seq")), seq);
    json_t *ts = json_object_get(root, "ts");
    if (ts != NULL) {
        /* Within a day of now: a plausible epoch-millisecond timestamp. */
        long long ts_ms = json_integer_value(ts);
        assert_true(llabs(ts_ms - (long long)time(NULL) * 1000) < 86400LL * 1000);
        assert_int_equal(rec->timestamp_ms, ts_ms);
        const char *pad = json_string_value(json_object_get(root, "pad"));
        assert_non_null(pad);
        assert_int_equal(strspn(pad, "x"), strlen(pad));
    }
    json_decref(root);
}

static void test_sequence_keys_values(void **state)
{
    const char *kv[] = {"topic", "out", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);
    ferry_batch_t *batch = batch_new(500, 0);

    long long seq = 0;
    for (int poll = 0; poll < 3; poll++) {
        assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
        /* Unbounded and unthrottled: each poll fills the batch. */
        assert_int_equal(batch_size(batch), 500);
        for (size_t i = 0; i < batch_size(batch); i++) {
            check_record(batch_record(batch, i), seq++, 100);
        }
    }
    assert_true(host_task_metric(h.task, "records") == 1500.0);
    batch_free(batch);
    harness_close(&h);
}

static void test_value_sizes(void **state)
{
    /* 16 is below the size of the full form: {"seq":N} padded with spaces. */
    static const char *const sizes[] = {"16", "30", "44", "45", "64", "4KiB", "1MiB"};
    static const size_t bytes[] = {16, 30, 44, 45, 64, 4096, 1048576};
    for (size_t s = 0; s < sizeof(bytes) / sizeof(bytes[0]); s++) {
        const char *kv[] = {"topic", "out", "value.size", sizes[s], NULL};
        ferry_error_t err;
        assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);
        ferry_batch_t *batch = batch_new(20, 0);
        long long seq = 0;
        for (int poll = 0; poll < 2; poll++) {
            assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
            assert_int_equal(batch_size(batch), 20);
            for (size_t i = 0; i < batch_size(batch); i++) {
                check_record(batch_record(batch, i), seq++, bytes[s]);
            }
        }
        batch_free(batch);
        harness_close(&h);
    }
}

static void test_value_size_bounds(void **state)
{
    char errbuf[1024];
    const char *small[] = {"topic", "out", "value.size", "15", NULL};
    assert_null(harness_config(&h, small, errbuf, sizeof(errbuf)));
    assert_non_null(strstr(errbuf, "value.size"));

    const char *no_topic[] = {"count", "5", NULL};
    assert_null(harness_config(&h, no_topic, errbuf, sizeof(errbuf)));
    assert_non_null(strstr(errbuf, "topic"));

    const char *negative[] = {"topic", "out", "rate", "-1", NULL};
    assert_null(harness_config(&h, negative, errbuf, sizeof(errbuf)));
    assert_non_null(strstr(errbuf, "rate"));
}

/* A batch that runs out of bytes before records: batch_add returns
 * FERRY_RETRY mid-poll and the refused record comes first in the next poll. */
static void test_full_batch_loses_nothing(void **state)
{
    const char *kv[] = {"topic", "out", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);
    ferry_batch_t *batch = batch_new(1000, 1000);
    long long seq = 0;
    for (int poll = 0; poll < 5; poll++) {
        assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
        assert_true(batch_size(batch) > 0);
        assert_true(batch_size(batch) < 1000);
        for (size_t i = 0; i < batch_size(batch); i++) {
            check_record(batch_record(batch, i), seq++, 100);
        }
    }
    batch_free(batch);
    harness_close(&h);
}

static void test_count_limit(void **state)
{
    const char *kv[] = {"topic", "out", "count", "10", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);
    ferry_batch_t *batch = batch_new(100, 0);
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
    assert_int_equal(batch_size(batch), 10);
    for (size_t i = 0; i < 10; i++) {
        check_record(batch_record(batch, i), (long long)i, 100);
    }
    /* Finished: empty batches from now on, without spinning. */
    int64_t t0 = now_ms();
    for (int poll = 0; poll < 3; poll++) {
        assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
        assert_int_equal(batch_size(batch), 0);
    }
    assert_true(now_ms() - t0 >= 200);
    assert_true(host_task_metric(h.task, "records") == 10.0);
    batch_free(batch);
    harness_close(&h);
}

static void test_resume_from_offset(void **state)
{
    offset_map_t *offsets = offset_map_new();
    offset_map_put(offsets, HARNESS_NAME, "{\"task\":0}", "{\"seq\":41}");
    /* Another connector's offset for the same partition must not be used. */
    offset_map_put(offsets, "other", "{\"task\":0}", "{\"seq\":1000}");

    const char *kv[] = {"topic", "out", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, offsets, kv, &err), FERRY_OK);
    ferry_batch_t *batch = batch_new(10, 0);
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
    assert_int_equal(batch_size(batch), 10);
    for (size_t i = 0; i < 10; i++) {
        check_record(batch_record(batch, i), 42 + (long long)i, 100);
    }
    harness_close(&h);

    /* With a count, the sequence stops at count - 1 across restarts. */
    const char *counted[] = {"topic", "out", "count", "45", NULL};
    assert_int_equal(harness_open(&h, offsets, counted, &err), FERRY_OK);
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
    assert_int_equal(batch_size(batch), 3);
    check_record(batch_record(batch, 0), 42, 100);
    check_record(batch_record(batch, 2), 44, 100);
    harness_close(&h);

    /* Already past the count: nothing. */
    const char *done[] = {"topic", "out", "count", "42", NULL};
    assert_int_equal(harness_open(&h, offsets, done, &err), FERRY_OK);
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
    assert_int_equal(batch_size(batch), 0);
    harness_close(&h);

    /* A stored offset without "seq" is ignored: start at 0. */
    offset_map_put(offsets, HARNESS_NAME, "{\"task\":0}", "{\"lsn\":7}");
    assert_int_equal(harness_open(&h, offsets, kv, &err), FERRY_OK);
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
    check_record(batch_record(batch, 0), 0, 100);
    harness_close(&h);

    batch_free(batch);
    offset_map_free(offsets);
}

static void test_rate_limit(void **state)
{
    const char *kv[] = {"topic", "out", "rate", "50", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);
    ferry_batch_t *batch = batch_new(10000, 0);
    long long seq = 0;
    int64_t t0 = now_ms();
    int64_t longest = 0;
    while (now_ms() - t0 < 500) {
        int64_t p0 = now_ms();
        assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
        int64_t took = now_ms() - p0;
        longest = took > longest ? took : longest;
        for (size_t i = 0; i < batch_size(batch); i++) {
            check_record(batch_record(batch, i), seq++, 100);
        }
    }
    /* 50/s for 0.5 s is ~25; loose bounds keep the test stable on slow CI. */
    assert_true(seq > 5);
    assert_true(seq < 100);
    /* poll never blocks much longer than 100 ms. */
    assert_true(longest < 400);
    batch_free(batch);
    harness_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_keys_values),
        cmocka_unit_test(test_value_sizes),
        cmocka_unit_test(test_value_size_bounds),
        cmocka_unit_test(test_full_batch_loses_nothing),
        cmocka_unit_test(test_count_limit),
        cmocka_unit_test(test_resume_from_offset),
        cmocka_unit_test(test_rate_limit),
    };
    return cmocka_run_group_tests_name("connector_datagen", tests, setup, teardown);
}
