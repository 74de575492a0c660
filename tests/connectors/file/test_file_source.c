/*
 * test_file_source.c — file-source: lines, CRLF, partial last lines, growth,
 * resume, truncation, errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "connector_harness.h"

static harness_t h;
static char dir[64];
static char path[256];
static char partition[512];

static int setup(void **state)
{
    harness_load(&h, "file", "file-source");
    snprintf(dir, sizeof(dir), "/tmp/ferry-file-source-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    harness_unload(&h);
    rmdir(dir);
    return 0;
}

/* Each test gets a fresh file name. */
static int setup_test(void **state)
{
    static int n;
    snprintf(path, sizeof(path), "%s/in-%d.txt", dir, n++);
    snprintf(partition, sizeof(partition), "{\"filename\":\"%s\"}", path);
    return 0;
}

static int teardown_test(void **state)
{
    harness_close(&h);
    unlink(path);
    return 0;
}

static void write_file(const char *mode, const char *data, size_t len)
{
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void put_str(const char *mode, const char *s)
{
    write_file(mode, s, strlen(s));
}

static void open_source(const offset_map_t *offsets, const char *max_line)
{
    const char *kv[] = {"path",
                        path,
                        "topic",
                        "lines",
                        "poll.interval",
                        "20ms",
                        max_line ? "max.line.size" : NULL,
                        max_line,
                        NULL};
    ferry_error_t err;
    ferry_status_t st = harness_open(&h, offsets, kv, &err);
    if (st != FERRY_OK) {
        fail_msg("open: %s", err.msg);
    }
}

/* Polls until `want` records arrived in total, or `polls` polls passed.
 * Checks each value against expect[] and returns the count. */
static size_t expect_lines(ferry_batch_t *batch, const char *const *expect, size_t want, int polls)
{
    size_t got = 0;
    ferry_error_t err;
    for (int p = 0; p < polls && got < want; p++) {
        ferry_status_t st = harness_poll(&h, batch, &err);
        if (st != FERRY_OK) {
            fail_msg("poll: %s", err.msg);
        }
        for (size_t i = 0; i < batch_size(batch); i++) {
            const ferry_record_t *rec = batch_record(batch, i);
            if (got >= want) {
                fail_msg("unexpected extra line %.*s", (int)rec->value_len,
                         (const char *)rec->value);
            }
            assert_string_equal(rec->topic, "lines");
            assert_null(rec->key);
            assert_string_equal(rec->source_partition, partition);
            assert_non_null(rec->value);
            if (rec->value_len != strlen(expect[got]) ||
                memcmp(rec->value, expect[got], rec->value_len) != 0) {
                fail_msg("line %zu: got \"%.*s\", expected \"%s\"", got, (int)rec->value_len,
                         (const char *)rec->value, expect[got]);
            }
            got++;
        }
    }
    return got;
}

/* The position in the offset of the last record of batch. */
static long long last_position(const ferry_batch_t *batch)
{
    size_t n = batch_size(batch);
    assert_true(n > 0);
    int64_t pos = -1;
    assert_int_equal(
        h.host->json_get_int(batch_record(batch, n - 1)->source_offset, "position", &pos), 0);
    return (long long)pos;
}

static void expect_nothing(ferry_batch_t *batch, int polls)
{
    ferry_error_t err;
    for (int p = 0; p < polls; p++) {
        assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
        assert_int_equal(batch_size(batch), 0);
    }
}

static void test_lines_and_offsets(void **state)
{
    put_str("w", "a\nbb\n\nccc\n");
    open_source(NULL, NULL);
    ferry_batch_t *batch = batch_new(100, 0);
    ferry_error_t err;
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
    assert_int_equal(batch_size(batch), 4);
    static const char *const lines[] = {"a", "bb", "", "ccc"};
    static const long long positions[] = {2, 5, 6, 10};
    for (size_t i = 0; i < 4; i++) {
        const ferry_record_t *rec = batch_record(batch, i);
        assert_int_equal(rec->value_len, strlen(lines[i]));
        assert_memory_equal(rec->value, lines[i], rec->value_len);
        char offset[64];
        snprintf(offset, sizeof(offset), "{\"position\":%lld}", positions[i]);
        assert_string_equal(rec->source_offset, offset);
        assert_string_equal(rec->source_partition, partition);
        assert_null(rec->key);
    }
    assert_true(host_task_metric(h.task, "records") == 4.0);
    expect_nothing(batch, 2);
    batch_free(batch);
}

static void test_crlf(void **state)
{
    put_str("w", "one\r\ntwo\r\nin\rside\n\r\n");
    open_source(NULL, NULL);
    ferry_batch_t *batch = batch_new(100, 0);
    static const char *const lines[] = {"one", "two", "in\rside", ""};
    assert_int_equal(expect_lines(batch, lines, 4, 1), 4);
    /* The position counts the bytes of the line ending. */
    assert_int_equal(last_position(batch), 20);
    batch_free(batch);
}

static void test_partial_line_held_back(void **state)
{
    put_str("w", "abc\nde");
    open_source(NULL, NULL);
    ferry_batch_t *batch = batch_new(100, 0);
    static const char *const first[] = {"abc"};
    assert_int_equal(expect_lines(batch, first, 1, 1), 1);
    assert_int_equal(last_position(batch), 4);
    expect_nothing(batch, 3);

    put_str("a", "f");
    expect_nothing(batch, 3);
    put_str("a", "\nghi\n");
    static const char *const rest[] = {"def", "ghi"};
    assert_int_equal(expect_lines(batch, rest, 2, 10), 2);
    assert_int_equal(last_position(batch), 12);
    batch_free(batch);
}

static void test_follows_growth(void **state)
{
    put_str("w", "");
    open_source(NULL, NULL);
    ferry_batch_t *batch = batch_new(100, 0);
    expect_nothing(batch, 2);
    for (int round = 0; round < 3; round++) {
        char line[32];
        snprintf(line, sizeof(line), "round %d\n", round);
        put_str("a", line);
        line[strlen(line) - 1] = '\0';
        const char *const lines[] = {line};
        assert_int_equal(expect_lines(batch, lines, 1, 20), 1);
    }
    batch_free(batch);
}

/* Many lines through a small batch and a small buffer: nothing lost or
 * duplicated at batch boundaries or when the buffer is compacted. */
static void test_many_lines_small_batches(void **state)
{
    enum { LINES = 20000 };
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < LINES; i++) {
        fprintf(f, "line %d %.*s\n", i, i % 60,
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    }
    assert_int_equal(fclose(f), 0);
    open_source(NULL, "100");
    ferry_batch_t *batch = batch_new(333, 0);
    ferry_error_t err;
    int next = 0;
    for (int p = 0; p < 200 && next < LINES; p++) {
        assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
        for (size_t i = 0; i < batch_size(batch); i++) {
            const ferry_record_t *rec = batch_record(batch, i);
            char expect[128];
            int n = snprintf(expect, sizeof(expect), "line %d %.*s", next, next % 60,
                             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
            assert_int_equal(rec->value_len, (size_t)n);
            assert_memory_equal(rec->value, expect, (size_t)n);
            next++;
        }
    }
    assert_int_equal(next, LINES);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(last_position(batch), (long long)st.st_size);
    expect_nothing(batch, 1);
    batch_free(batch);
}

static void test_resume_at_stored_position(void **state)
{
    put_str("w", "one\ntwo\nthree\n");
    offset_map_t *offsets = offset_map_new();
    offset_map_put(offsets, HARNESS_NAME, partition, "{\"position\":4}");
    open_source(offsets, NULL);
    ferry_batch_t *batch = batch_new(100, 0);
    static const char *const lines[] = {"two", "three"};
    assert_int_equal(expect_lines(batch, lines, 2, 1), 2);
    assert_int_equal(last_position(batch), 14);
    harness_close(&h);

    /* At the end: only new lines. */
    offset_map_put(offsets, HARNESS_NAME, partition, "{\"position\":14}");
    open_source(offsets, NULL);
    expect_nothing(batch, 2);
    put_str("a", "four\n");
    static const char *const four[] = {"four"};
    assert_int_equal(expect_lines(batch, four, 1, 20), 1);
    harness_close(&h);

    batch_free(batch);
    offset_map_free(offsets);
}

static void test_truncated_before_open_restarts_at_zero(void **state)
{
    put_str("w", "new\nfile\n");
    offset_map_t *offsets = offset_map_new();
    offset_map_put(offsets, HARNESS_NAME, partition, "{\"position\":1000}");
    open_source(offsets, NULL);
    ferry_batch_t *batch = batch_new(100, 0);
    static const char *const lines[] = {"new", "file"};
    assert_int_equal(expect_lines(batch, lines, 2, 1), 2);
    batch_free(batch);
    offset_map_free(offsets);
}

static void test_truncated_while_reading_restarts_at_zero(void **state)
{
    put_str("w", "a long first line\nanother long line\n");
    open_source(NULL, NULL);
    ferry_batch_t *batch = batch_new(100, 0);
    static const char *const before[] = {"a long first line", "another long line"};
    assert_int_equal(expect_lines(batch, before, 2, 1), 2);
    put_str("w", "x\n");
    static const char *const after[] = {"x"};
    assert_int_equal(expect_lines(batch, after, 1, 20), 1);
    assert_int_equal(last_position(batch), 2);
    batch_free(batch);
}

static void test_missing_file(void **state)
{
    const char *kv[] = {"path", path, "topic", "lines", NULL};
    ferry_error_t err;
    assert_int_equal(harness_open(&h, NULL, kv, &err), FERRY_ERROR);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "cannot open"));
    assert_non_null(strstr(err.msg, "No such file"));
}

static void test_overlong_line(void **state)
{
    put_str("w", "short\n0123456789abc\nafter\n");
    open_source(NULL, "10");
    ferry_batch_t *batch = batch_new(100, 0);
    static const char *const lines[] = {"short"};
    /* The lines before the long one come first... */
    assert_int_equal(expect_lines(batch, lines, 1, 1), 1);
    /* ...then the error, naming the file and the line's byte offset. */
    ferry_error_t err;
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_ERROR);
    assert_int_equal(batch_size(batch), 0);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "byte offset 6"));
    assert_non_null(strstr(err.msg, "max.line.size"));
    harness_close(&h);

    /* Exactly max.line.size is fine, also with a CR. */
    put_str("w", "0123456789\n012345678\r\n");
    open_source(NULL, "10");
    static const char *const fit[] = {"0123456789", "012345678"};
    assert_int_equal(expect_lines(batch, fit, 2, 1), 2);
    harness_close(&h);

    /* A long line still being written (no newline yet) fails as well. */
    put_str("w", "0123456789abcdef");
    open_source(NULL, "10");
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_ERROR);
    assert_non_null(strstr(err.msg, "byte offset 0"));
    batch_free(batch);
}

static void test_partition_escapes_path(void **state)
{
    snprintf(path, sizeof(path), "%s/we\"ird\\name.txt", dir);
    put_str("w", "x\n");
    open_source(NULL, NULL);
    ferry_batch_t *batch = batch_new(10, 0);
    ferry_error_t err;
    assert_int_equal(harness_poll(&h, batch, &err), FERRY_OK);
    assert_int_equal(batch_size(batch), 1);
    json_t *root = json_loads(batch_record(batch, 0)->source_partition, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "filename")), path);
    json_decref(root);
    batch_free(batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines_and_offsets, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_crlf, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_partial_line_held_back, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_follows_growth, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_many_lines_small_batches, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_resume_at_stored_position, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_truncated_before_open_restarts_at_zero, setup_test,
                                        teardown_test),
        cmocka_unit_test_setup_teardown(test_truncated_while_reading_restarts_at_zero, setup_test,
                                        teardown_test),
        cmocka_unit_test_setup_teardown(test_missing_file, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_overlong_line, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_partition_escapes_path, setup_test, teardown_test),
    };
    return cmocka_run_group_tests_name("connector_file_source", tests, setup, teardown);
}
