/*
 * test_file_sink.c — file-sink: appends one line per value, skips
 * tombstones, flush makes everything visible, errors name the path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "connector_harness.h"

static harness_t h;
static char dir[64];
static char path[256];

static int setup(void **state)
{
    harness_load(&h, "file", "file-sink");
    snprintf(dir, sizeof(dir), "/tmp/ferry-file-sink-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    harness_unload(&h);
    rmdir(dir);
    return 0;
}

static int setup_test(void **state)
{
    static int n;
    snprintf(path, sizeof(path), "%s/out-%d.txt", dir, n++);
    return 0;
}

static int teardown_test(void **state)
{
    harness_close(&h);
    unlink(path);
    return 0;
}

/* The whole file, malloc'd and NUL-terminated; *len its size. */
static char *read_file(size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void open_sink(void)
{
    const char *kv[] = {"path", path, "topics", "in", NULL};
    ferry_error_t err;
    if (harness_open(&h, NULL, kv, &err) != FERRY_OK) {
        fail_msg("open: %s", err.msg);
    }
}

static void put(ferry_batch_t *batch)
{
    ferry_error_t err = {{0}};
    if (h.desc->put(h.state, batch, &err) != FERRY_OK) {
        fail_msg("put: %s", err.msg);
    }
}

static void flush(void)
{
    ferry_error_t err = {{0}};
    if (h.desc->flush(h.state, NULL, &err) != FERRY_OK) {
        fail_msg("flush: %s", err.msg);
    }
}

static void expect_file(const char *content)
{
    size_t len;
    char *data = read_file(&len);
    assert_int_equal(len, strlen(content));
    assert_string_equal(data, content);
    free(data);
}

static void test_lines_and_tombstones(void **state)
{
    open_sink();
    ferry_batch_t *batch = batch_new(10, 0);
    harness_batch_add_value(&h, batch, "a");
    harness_batch_add_value(&h, batch, NULL);
    harness_batch_add_value(&h, batch, "bb");
    harness_batch_add_value(&h, batch, "");
    put(batch);
    flush();
    expect_file("a\nbb\n\n");
    assert_true(host_task_metric(h.task, "records") == 3.0);
    assert_true(host_task_metric(h.task, "tombstones") == 1.0);
    assert_true(host_task_metric(h.task, "bytes") == 6.0);

    /* A second batch appends after the first. */
    batch_reset(batch);
    harness_batch_add_value(&h, batch, "c");
    put(batch);
    flush();
    expect_file("a\nbb\n\nc\n");
    /* An empty flush is fine. */
    flush();
    batch_free(batch);
}

static void test_appends_to_existing_file(void **state)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("old\n", f);
    fclose(f);
    open_sink();
    ferry_batch_t *batch = batch_new(10, 0);
    harness_batch_add_value(&h, batch, "new");
    put(batch);
    flush();
    expect_file("old\nnew\n");
    batch_free(batch);
}

/* More than the sink's buffer in many records, and single values larger
 * than the buffer: everything arrives, in order. */
static void test_large_volumes(void **state)
{
    open_sink();
    enum { BATCHES = 20, PER_BATCH = 1000 };
    ferry_batch_t *batch = batch_new(PER_BATCH, 0);
    char line[64];
    for (int b = 0; b < BATCHES; b++) {
        batch_reset(batch);
        for (int i = 0; i < PER_BATCH; i++) {
            snprintf(line, sizeof(line), "record %06d padding-padding-padding", b * PER_BATCH + i);
            harness_batch_add_value(&h, batch, line);
        }
        put(batch);
    }
    size_t big_len = 600 * 1024;
    char *big = malloc(big_len + 1);
    memset(big, 'B', big_len);
    big[big_len] = '\0';
    batch_reset(batch);
    harness_batch_add_value(&h, batch, "before");
    harness_batch_add_value(&h, batch, big);
    harness_batch_add_value(&h, batch, "after");
    put(batch);
    flush();

    size_t len;
    char *data = read_file(&len);
    char *p = data;
    for (int i = 0; i < BATCHES * PER_BATCH; i++) {
        int n = snprintf(line, sizeof(line), "record %06d padding-padding-padding\n", i);
        assert_memory_equal(p, line, (size_t)n);
        p += n;
    }
    assert_memory_equal(p, "before\n", 7);
    p += 7;
    assert_memory_equal(p, big, big_len);
    p += big_len;
    assert_string_equal(p, "\nafter\n");
    assert_true(host_task_metric(h.task, "records") == BATCHES * PER_BATCH + 3.0);
    free(data);
    free(big);
    batch_free(batch);
}

/* close() without flush() still writes what was put (not fsynced). */
static void test_close_writes_pending(void **state)
{
    open_sink();
    ferry_batch_t *batch = batch_new(10, 0);
    harness_batch_add_value(&h, batch, "pending");
    put(batch);
    harness_close(&h);
    expect_file("pending\n");
    batch_free(batch);
}

static void test_open_error_names_path(void **state)
{
    snprintf(path, sizeof(path), "%s/no/such/dir/out.txt", dir);
    const char *kv[] = {"path", path, "topics", "in", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_ERROR);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file"));
}

static void test_path_required(void **state)
{
    const char *kv[] = {"topics", "in", NULL};
    char errbuf[1024];
    assert_null(harness_config(&h, kv, errbuf, sizeof(errbuf)));
    assert_non_null(strstr(errbuf, "path"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines_and_tombstones, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_appends_to_existing_file, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_large_volumes, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_close_writes_pending, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_open_error_names_path, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_path_required, setup_test, teardown_test),
    };
    return cmocka_run_group_tests_name("connector_file_sink", tests, setup, teardown);
}
