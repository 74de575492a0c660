/*
 * test_null.c — null-sink: counts records and bytes, flush always succeeds;
 * latency.report measures put() time minus record timestamp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "connector_harness.h"

static harness_t h;

static int setup(void **state)
{
    harness_load(&h, "null", "null-sink");
    return 0;
}

static int teardown(void **state)
{
    harness_unload(&h);
    return 0;
}

static void test_counts_records_and_bytes(void **state)
{
    const char *kv[] = {"topics", "in", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);

    ferry_batch_t *batch = batch_new(10, 0);
    ferry_record_t rec = {
        .topic = "in", .key = "k1", .key_len = 2, .value = "hello", .value_len = 5};
    assert_int_equal(h.host->batch_add(batch, &rec), FERRY_OK);
    harness_batch_add_value(&h, batch, NULL); /* tombstone: a record of 0 bytes */
    harness_batch_add_value(&h, batch, "abc");

    assert_int_equal(h.desc->put(h.state, batch, &err), FERRY_OK);
    assert_true(host_task_metric(h.task, "records") == 3.0);
    assert_true(host_task_metric(h.task, "bytes") == 10.0);
    assert_int_equal(h.desc->flush(h.state, NULL, &err), FERRY_OK);

    /* Metrics accumulate; an empty batch changes nothing. */
    assert_int_equal(h.desc->put(h.state, batch, &err), FERRY_OK);
    batch_reset(batch);
    assert_int_equal(h.desc->put(h.state, batch, &err), FERRY_OK);
    assert_true(host_task_metric(h.task, "records") == 6.0);
    assert_true(host_task_metric(h.task, "bytes") == 20.0);
    assert_int_equal(h.desc->flush(h.state, NULL, &err), FERRY_OK);

    batch_free(batch);
    harness_close(&h);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_stamped(ferry_batch_t *batch, int64_t timestamp_ms)
{
    ferry_record_t rec = {.topic = "in", .value = "v", .value_len = 1, .timestamp_ms = timestamp_ms};
    assert_int_equal(h.host->batch_add(batch, &rec), FERRY_OK);
}

/* 97 records 5 ms old, 3 records 300 ms old, one without a timestamp:
 * p50 ~5 ms, p99 and max ~300 ms (a few ms later on a slow machine). */
static void test_latency_report(void **state)
{
    const char *kv[] = {"topics", "in", "latency.report", "true", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);
    ferry_batch_t *batch = batch_new(200, 0);
    int64_t now = now_ms();
    for (int i = 0; i < 97; i++) add_stamped(batch, now - 5);
    for (int i = 0; i < 3; i++) add_stamped(batch, now - 300);
    add_stamped(batch, 0);
    assert_int_equal(h.desc->put(h.state, batch, &err), FERRY_OK);
    assert_int_equal(h.desc->flush(h.state, NULL, &err), FERRY_OK);
    double p50 = host_task_metric(h.task, "latency_p50_ms");
    double p99 = host_task_metric(h.task, "latency_p99_ms");
    double max = host_task_metric(h.task, "latency_max_ms");
    assert_true(p50 >= 5 && p50 < 100);
    assert_true(p99 >= 300 && p99 < 400);
    assert_true(max >= p99 && max < 400);
    assert_true(host_task_metric(h.task, "records") == 101.0);
    batch_free(batch);
    harness_close(&h);
}

/* latency.warmup leaves out records stamped within it of the first one. */
static void test_latency_warmup(void **state)
{
    const char *kv[] = {"topics", "in", "latency.report", "true", "latency.warmup", "1s", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);
    ferry_batch_t *batch = batch_new(10, 0);
    int64_t now = now_ms();
    add_stamped(batch, now - 5000); /* the first: inside the warm-up */
    add_stamped(batch, now - 4500); /* inside */
    add_stamped(batch, now - 10);   /* after it */
    assert_int_equal(h.desc->put(h.state, batch, &err), FERRY_OK);
    assert_int_equal(h.desc->flush(h.state, NULL, &err), FERRY_OK);
    double max = host_task_metric(h.task, "latency_max_ms");
    assert_true(max >= 10 && max < 1000);
    batch_free(batch);
    harness_close(&h);
}

/* Off by default: no latency metrics. */
static void test_latency_off_by_default(void **state)
{
    const char *kv[] = {"topics", "in", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_OK);
    ferry_batch_t *batch = batch_new(10, 0);
    add_stamped(batch, now_ms() - 300);
    assert_int_equal(h.desc->put(h.state, batch, &err), FERRY_OK);
    assert_int_equal(h.desc->flush(h.state, NULL, &err), FERRY_OK);
    assert_true(host_task_metric(h.task, "latency_max_ms") == 0.0);
    batch_free(batch);
    harness_close(&h);
}

static void test_unknown_option_refused(void **state)
{
    const char *kv[] = {"topics", "in", "path", "/tmp/x", NULL};
    char errbuf[1024];
    assert_null(harness_config(&h, kv, errbuf, sizeof(errbuf)));
    assert_non_null(strstr(errbuf, "path"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_records_and_bytes),
        cmocka_unit_test(test_latency_report),
        cmocka_unit_test(test_latency_warmup),
        cmocka_unit_test(test_latency_off_by_default),
        cmocka_unit_test(test_unknown_option_refused),
    };
    return cmocka_run_group_tests_name("connector_null", tests, setup, teardown);
}
