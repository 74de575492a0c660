/*
 * test_null.c — null-sink: counts records and bytes, flush always succeeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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

static void test_no_options(void **state)
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
        cmocka_unit_test(test_no_options),
    };
    return cmocka_run_group_tests_name("connector_null", tests, setup, teardown);
}
