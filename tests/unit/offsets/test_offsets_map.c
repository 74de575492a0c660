/*
 * test_offsets_map.c — the in-memory offset map and the file store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "offsets/offsets.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *buf = malloc(65536);
    size_t n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void write_all(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_put_get_canonical_lookup(void **state)
{
    (void)state;
    offset_map_t *map = offset_map_new();
    offset_map_put(map, "db", "{\"table\":\"t\",\"schema\":\"public\"}",
                   "{ \"lsn\": 1, \"txId\": 2 }");
    /* Another field order and spacing finds the same entry. */
    assert_string_equal(offset_map_get(map, "db", "{ \"schema\":\"public\", \"table\":\"t\" }"),
                        "{\"lsn\":1,\"txId\":2}");
    assert_null(offset_map_get(map, "other", "{\"schema\":\"public\",\"table\":\"t\"}"));
    assert_null(offset_map_get(map, "db", "{\"schema\":\"public\"}"));
    assert_null(offset_map_get(map, "db", "not json"));
    assert_int_equal(offset_map_count(map), 1);

    /* Not objects: ignored with a warning, never stored. */
    offset_map_put(map, "db", "[1]", "{\"a\":1}");
    offset_map_put(map, "db", "{\"p\":1}", "17");
    assert_int_equal(offset_map_count(map), 1);
    offset_map_free(map);
    offset_map_free(NULL);
}

static void test_overwrite_reset_and_order(void **state)
{
    (void)state;
    offset_map_t *map = offset_map_new();
    offset_map_put(map, "a", "{\"p\":1}", "{\"o\":1}");
    offset_map_put(map, "b", "{\"p\":2}", "{\"o\":2}");
    offset_map_put(map, "a", "{\"p\":3}", "{\"o\":3}");
    offset_map_put(map, "a", "{\"p\":1}", "{\"o\":10}"); /* overwrite keeps position */
    assert_int_equal(offset_map_count(map), 3);

    const char *conn, *part, *off;
    assert_int_equal(offset_map_entry(map, 0, &conn, &part, &off), 1);
    assert_string_equal(conn, "a");
    assert_string_equal(part, "{\"p\":1}");
    assert_string_equal(off, "{\"o\":10}");
    assert_int_equal(offset_map_entry(map, 1, &conn, &part, &off), 1);
    assert_string_equal(conn, "b");
    assert_int_equal(offset_map_entry(map, 2, &conn, &part, &off), 1);
    assert_string_equal(part, "{\"p\":3}");
    assert_int_equal(offset_map_entry(map, 3, &conn, &part, &off), 0);

    offset_map_put(map, "b", "{\"p\":2}", NULL);  /* reset */
    offset_map_put(map, "zz", "{\"p\":9}", NULL); /* reset of nothing */
    assert_int_equal(offset_map_count(map), 2);
    assert_null(offset_map_get(map, "b", "{\"p\":2}"));
    assert_int_equal(offset_map_entry(map, 1, &conn, &part, &off), 1);
    assert_string_equal(part, "{\"p\":3}");
    assert_string_equal(offset_map_get(map, "a", "{\"p\":3}"), "{\"o\":3}");

    /* Re-adding after a reset appends. */
    offset_map_put(map, "b", "{\"p\":2}", "{\"o\":4}");
    assert_int_equal(offset_map_entry(map, 2, &conn, &part, &off), 1);
    assert_string_equal(conn, "b");
    offset_map_free(map);
}

static void test_many_entries(void **state)
{
    (void)state;
    offset_map_t *map = offset_map_new();
    char part[64], off[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(part, sizeof(part), "{\"file\":\"f%d\"}", i);
        snprintf(off, sizeof(off), "{\"pos\":%d}", i);
        offset_map_put(map, i % 2 ? "odd" : "even", part, off);
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(part, sizeof(part), "{\"file\":\"f%d\"}", i);
        offset_map_put(map, "even", part, NULL);
    }
    assert_int_equal(offset_map_count(map), 2500);
    for (int i = 1; i < 5000; i += 2) {
        snprintf(part, sizeof(part), "{\"file\":\"f%d\"}", i);
        snprintf(off, sizeof(off), "{\"pos\":%d}", i);
        assert_string_equal(offset_map_get(map, "odd", part), off);
        const char *p;
        assert_int_equal(offset_map_entry(map, (size_t)i / 2, NULL, &p, NULL), 1);
        assert_string_equal(p, part);
    }
    offset_map_free(map);
}

static void test_apply_raw_records(void **state)
{
    (void)state;
    offset_map_t *map = offset_map_new();
    const char *k = "[\"shop-cdc\",{\"server\":\"shop\"}]";
    const char *v = "{\"lsn\":24023128,\"txId\":755,\"ts_usec\":1700000000000000}";
    assert_int_equal(offset_map_apply(map, k, strlen(k), v, strlen(v)), 0);
    assert_string_equal(offset_map_get(map, "shop-cdc", "{\"server\":\"shop\"}"), v);

    /* Another writer's spacing and field order: same entry, its value kept
     * compact in its own field order. */
    const char *k2 = "[ \"db\", {\"table\": \"t\", \"schema\": \"s\"} ]";
    const char *v2 = "{ \"b\": 2, \"a\": 1 }";
    assert_int_equal(offset_map_apply(map, k2, strlen(k2), v2, strlen(v2)), 0);
    assert_string_equal(offset_map_get(map, "db", "{\"schema\":\"s\",\"table\":\"t\"}"),
                        "{\"b\":2,\"a\":1}");
    assert_int_equal(offset_map_count(map), 2);

    /* Tombstones: NULL, empty, the literal null. */
    assert_int_equal(offset_map_apply(map, k, strlen(k), NULL, 0), 0);
    assert_null(offset_map_get(map, "shop-cdc", "{\"server\":\"shop\"}"));
    assert_int_equal(offset_map_apply(map, k, strlen(k), v, strlen(v)), 0);
    assert_int_equal(offset_map_apply(map, k, strlen(k), "", 0), 0);
    assert_null(offset_map_get(map, "shop-cdc", "{\"server\":\"shop\"}"));
    assert_int_equal(offset_map_apply(map, k2, strlen(k2), " null ", 6), 0);
    assert_int_equal(offset_map_count(map), 0);

    /* Malformed keys and values are refused and change nothing. */
    assert_int_equal(offset_map_apply(map, "garbage", 7, v, strlen(v)), -1);
    assert_int_equal(offset_map_apply(map, "[\"x\"]", 5, v, strlen(v)), -1);
    assert_int_equal(offset_map_apply(map, NULL, 0, v, strlen(v)), -1);
    assert_int_equal(offset_map_apply(map, k, strlen(k), "[1]", 3), -1);
    assert_int_equal(offset_map_apply(map, k, strlen(k), "{", 1), -1);
    assert_int_equal(offset_map_count(map), 0);
    offset_map_free(map);
}

static void test_to_json(void **state)
{
    (void)state;
    offset_map_t *map = offset_map_new();
    char *s = offset_map_to_json(map, NULL);
    assert_string_equal(s, "[]");
    free(s);
    offset_map_put(map, "shop-cdc", "{\"server\":\"shop\"}", "{\"lsn\":1,\"txId\":2}");
    offset_map_put(map, "fs", "{\"filename\":\"/tmp/a.txt\"}", "{\"position\":1234}");
    offset_map_put(map, "shop-cdc", "{\"server\":\"other\"}", "{\"lsn\":5}");
    s = offset_map_to_json(map, NULL);
    assert_string_equal(s, "[{\"connector\":\"shop-cdc\",\"partition\":{\"server\":\"shop\"},"
                           "\"offset\":{\"lsn\":1,\"txId\":2}},"
                           "{\"connector\":\"fs\",\"partition\":{\"filename\":\"/tmp/"
                           "a.txt\"},\"offset\":{\"position\":1234}},"
                           "{\"connector\":\"shop-cdc\",\"partition\":{\"server\":\"other\"},"
                           "\"offset\":{\"lsn\":5}}]");
    free(s);
    s = offset_map_to_json(map, "fs");
    assert_string_equal(s, "[{\"connector\":\"fs\",\"partition\":{\"filename\":\"/tmp/"
                           "a.txt\"},\"offset\":{\"position\":1234}}]");
    free(s);
    s = offset_map_to_json(map, "nope");
    assert_string_equal(s, "[]");
    free(s);
    offset_map_free(map);
}

/* ---- file store --------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture_t;

static int setup_dir(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    strcpy(fx->dir, "/tmp/ferry-offsets-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/offsets.txt", fx->dir);
    *state = fx;
    return 0;
}

static int teardown_dir(void **state)
{
    fixture_t *fx = *state;
    DIR *d = opendir(fx->dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", fx->dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static int count_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) n += de->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void test_file_round_trip(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "";
    offset_map_t *map = offset_map_new();
    offset_map_put(map, "shop-cdc", "{\"server\":\"shop\"}",
                   "{\"lsn\":24023128,\"txId\":755,\"ts_usec\":1700000000000000}");
    offset_map_put(map, "fs", "{\"filename\":\"/tmp/a\\tb.txt\"}", "{\"position\":1234}");
    offset_map_put(map, "gone", "{\"p\":1}", "{\"o\":1}");
    offset_map_put(map, "gone", "{\"p\":1}", NULL);
    offset_map_put(map, "caf\xc3\xa9", "{\"k\":\"\xe6\x97\xa5\"}", "{\"o\":0.5}");
    assert_int_equal(offsets_file_save(fx->path, map, err, sizeof(err)), 0);

    /* Only live entries, the topic's bytes, one per line; no tmp file left. */
    char *text = read_all(fx->path);
    assert_string_equal(text, "[\"shop-cdc\",{\"server\":\"shop\"}]\t{\"lsn\":24023128,\"txId\":"
                              "755,\"ts_usec\":1700000000000000}\n"
                              "[\"fs\",{\"filename\":\"/tmp/a\\tb.txt\"}]\t{\"position\":1234}\n"
                              "[\"caf\xc3\xa9\",{\"k\":\"\xe6\x97\xa5\"}]\t{\"o\":0.5}\n");
    free(text);
    assert_int_equal(count_files(fx->dir), 1);

    offset_map_t *back = offset_map_new();
    assert_int_equal(offsets_file_load(fx->path, back, err, sizeof(err)), 0);
    assert_int_equal(offset_map_count(back), 3);
    assert_string_equal(offset_map_get(back, "fs", "{\"filename\":\"/tmp/a\\tb.txt\"}"),
                        "{\"position\":1234}");
    assert_string_equal(offset_map_get(back, "caf\xc3\xa9", "{\"k\":\"\xe6\x97\xa5\"}"),
                        "{\"o\":0.5}");
    char *a = offset_map_to_json(map, NULL), *b = offset_map_to_json(back, NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);

    /* Saving again replaces the file atomically (a stale tmp is overwritten). */
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", fx->path);
    write_all(tmp, "half-written garbage");
    offset_map_put(back, "shop-cdc", "{\"server\":\"shop\"}", NULL);
    assert_int_equal(offsets_file_save(fx->path, back, err, sizeof(err)), 0);
    assert_int_equal(access(tmp, F_OK), -1);
    text = read_all(fx->path);
    assert_string_equal(text, "[\"fs\",{\"filename\":\"/tmp/a\\tb.txt\"}]\t{\"position\":1234}\n"
                              "[\"caf\xc3\xa9\",{\"k\":\"\xe6\x97\xa5\"}]\t{\"o\":0.5}\n");
    free(text);

    /* An empty map saves an empty file. */
    offset_map_t *empty = offset_map_new();
    assert_int_equal(offsets_file_save(fx->path, empty, err, sizeof(err)), 0);
    text = read_all(fx->path);
    assert_string_equal(text, "");
    free(text);
    offset_map_free(empty);
    offset_map_free(back);
    offset_map_free(map);
}

static void test_file_load_resets_and_order(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "";
    /* A file as a log: later lines win, "null" resets, blank lines and CRLF ok. */
    write_all(fx->path, "[\"c\",{\"p\":1}]\t{\"o\":1}\n"
                        "[\"c\",{\"p\":2}]\t{\"o\":2}\r\n"
                        "\n"
                        "[\"c\",{\"p\":1}]\tnull\n"
                        "[ \"c\" , {\"p\":2} ]\t{ \"o\" : 3 }\n"
                        "[\"c\",{\"p\":4}]\t{\"o\":4}");
    offset_map_t *map = offset_map_new();
    assert_int_equal(offsets_file_load(fx->path, map, err, sizeof(err)), 0);
    assert_int_equal(offset_map_count(map), 2);
    assert_null(offset_map_get(map, "c", "{\"p\":1}"));
    assert_string_equal(offset_map_get(map, "c", "{\"p\":2}"), "{\"o\":3}");
    assert_string_equal(offset_map_get(map, "c", "{\"p\":4}"), "{\"o\":4}");
    offset_map_free(map);
}

static void test_file_missing_is_empty(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "";
    offset_map_t *map = offset_map_new();
    assert_int_equal(offsets_file_load(fx->path, map, err, sizeof(err)), 0);
    assert_int_equal(offset_map_count(map), 0);
    offset_map_free(map);
}

static void test_file_malformed_names_line(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "", want[256];
    offset_map_t *map = offset_map_new();

    write_all(fx->path, "[\"c\",{\"p\":1}]\t{\"o\":1}\nno tab here\n");
    assert_int_equal(offsets_file_load(fx->path, map, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2:", fx->path);
    assert_non_null(strstr(err, want));

    write_all(fx->path, "[\"c\",{\"p\":1}]\t{\"o\":1}\n\n[\"c\",{\"p\":1}]\t[1,2]\n");
    assert_int_equal(offsets_file_load(fx->path, map, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:3:", fx->path);
    assert_non_null(strstr(err, want));

    write_all(fx->path, "{\"not\":\"a key\"}\t{\"o\":1}\n");
    assert_int_equal(offsets_file_load(fx->path, map, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:1:", fx->path);
    assert_non_null(strstr(err, want));
    offset_map_free(map);
}

static void test_file_errors_name_path(void **state)
{
    fixture_t *fx = *state;
    char err[512] = "", path[256];
    offset_map_t *map = offset_map_new();
    offset_map_put(map, "c", "{\"p\":1}", "{\"o\":1}");

    snprintf(path, sizeof(path), "%s/no/such/dir/offsets", fx->dir);
    assert_int_equal(offsets_file_save(path, map, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOENT)));

    /* A directory where the file should be: load fails with the path. */
    snprintf(path, sizeof(path), "%s/adir", fx->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    err[0] = '\0';
    int rc = offsets_file_load(path, map, err, sizeof(err));
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, path));
    /* ...and save cannot rename over it; the tmp file is cleaned up. */
    err[0] = '\0';
    assert_int_equal(offsets_file_save(path, map, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);
    rmdir(path);
    offset_map_free(map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_canonical_lookup),
        cmocka_unit_test(test_overwrite_reset_and_order),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_apply_raw_records),
        cmocka_unit_test(test_to_json),
        cmocka_unit_test_setup_teardown(test_file_round_trip, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_load_resets_and_order, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_missing_is_empty, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_malformed_names_line, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_errors_name_path, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
