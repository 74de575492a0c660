/* test_config_yaml.c — YAML → tree: positions, errors, ${env:}/${file:} substitution. */
#include "config_test.h"

#include <unistd.h>

static cfg_node_t *load(const char *text, cfg_errors_t *errs)
{
    return cfg_yaml_load_buffer("t.yaml", text, strlen(text), errs);
}

static void test_tree_and_positions(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    cfg_node_t *root = load("a: 1\n"
                            "b:\n"
                            "  - x\n"
                            "  - 'y'\n"
                            "c:\n"
                            "    d: ~\n"
                            "    e: ''\n"
                            "    f:\n",
                            &errs);
    assert_non_null(root);
    assert_int_equal(errs.count, 0);
    assert_int_equal(root->kind, CFG_MAP);
    assert_int_equal(root->count, 3);
    assert_string_equal(root->keys[1], "b");
    assert_int_equal(root->key_lines[1], 2);
    assert_int_equal(root->key_cols[1], 1);
    const cfg_node_t *a = cfg_node_get(root, "a");
    assert_string_equal(a->scalar, "1");
    assert_int_equal(a->line, 1);
    assert_int_equal(a->col, 4);
    const cfg_node_t *b = cfg_node_get(root, "b");
    assert_int_equal(b->kind, CFG_SEQ);
    assert_int_equal(b->count, 2);
    assert_string_equal(b->items[1]->scalar, "y");
    assert_int_equal(b->items[1]->line, 4);
    const cfg_node_t *c = cfg_node_get(root, "c");
    assert_int_equal(c->key_cols[0], 5);
    assert_null(cfg_node_get(c, "d")->scalar);  /* ~ is null */
    assert_string_equal(cfg_node_get(c, "e")->scalar, ""); /* quoted empty is a string */
    assert_null(cfg_node_get(c, "f")->scalar);  /* empty is null */
    assert_null(cfg_node_get(c, "zz"));
    assert_null(cfg_node_get(a, "x"));
    cfg_node_free(root);
    cfg_node_free(NULL);
}

static void test_empty_document(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    cfg_node_t *root = load("# only a comment\n", &errs);
    assert_non_null(root);
    assert_int_equal(root->kind, CFG_MAP);
    assert_int_equal(root->count, 0);
    cfg_node_free(root);
}

static void test_malformed_yaml_has_position(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    assert_null(load("a: 1\nb: [1, 2\nc: 3\n", &errs));
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.items[0], "t.yaml:"));
    assert_non_null(strstr(errs.items[0], "invalid YAML"));
    cfg_errors_clear(&errs);

    assert_null(load("a: b: c\n", &errs));
    assert_error(&errs, "t.yaml:1:5: invalid YAML: mapping values are not allowed");
    cfg_errors_clear(&errs);

    assert_null(load("a:\n  - x\n y: 2\n", &errs));
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.items[0], "t.yaml:3:"));
    cfg_errors_clear(&errs);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    assert_null(load("connectors:\n  a:\n    topic: x\n    other: 1\n    topic: y\n", &errs));
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], "t.yaml:5:5: duplicate key 'topic' (first at 3:5)");
    cfg_errors_clear(&errs);
}

static void test_non_scalar_keys_and_merge(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    assert_null(load("? [a, b]\n: 1\n", &errs));
    assert_error(&errs, "t.yaml:1:3: mapping keys must be plain strings");
    cfg_errors_clear(&errs);
    assert_null(load("base: &b {x: 1}\nc:\n  <<: *b\n", &errs));
    assert_error(&errs, "merge keys ('<<') are not supported");
    cfg_errors_clear(&errs);
    assert_null(load("---\na: 1\n---\nb: 2\n", &errs));
    assert_error(&errs, "more than one YAML document");
    cfg_errors_clear(&errs);
}

static void test_aliases(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    cfg_node_t *root = load("a: &x [1, 2]\nb: *x\nc: &s hello\nd: *s\n", &errs);
    assert_non_null(root);
    assert_int_equal(cfg_node_get(root, "b")->count, 2);
    assert_string_equal(cfg_node_get(root, "d")->scalar, "hello");
    cfg_node_free(root);
    assert_null(load("a: *nope\n", &errs));
    assert_error(&errs, "unknown alias");
    cfg_errors_clear(&errs);
    /* Exponential expansion is cut off instead of eating memory. */
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    assert_null(load(bomb, &errs));
    assert_error(&errs, "document too large");
    cfg_errors_clear(&errs);
}

static void test_deep_nesting_rejected(void **state)
{
    (void)state;
    char buf[512];
    size_t n = 0;
    for (int i = 0; i < 100; i++) buf[n++] = '[';
    for (int i = 0; i < 100; i++) buf[n++] = ']';
    buf[n] = '\0';
    cfg_errors_t errs = {0};
    assert_null(load(buf, &errs));
    assert_error(&errs, "nesting deeper than");
    cfg_errors_clear(&errs);
}

static void test_env_substitution(void **state)
{
    (void)state;
    setenv("FERRY_TEST_PW", "s3cr3t-value", 1);
    unsetenv("FERRY_TEST_UNSET");
    cfg_errors_t errs = {0};
    cfg_node_t *root = load("a: ${env:FERRY_TEST_PW}\n"
                            "b: \"pre-${env:FERRY_TEST_PW}-post\"\n"
                            "c: plain\n"
                            "d: $${env:FERRY_TEST_PW}\n"
                            "e: cost $5 and $$ stay\n"
                            "f: ${topic}-${timestamp}\n",
                            &errs);
    assert_non_null(root);
    const cfg_node_t *a = cfg_node_get(root, "a");
    assert_string_equal(a->scalar, "s3cr3t-value");
    assert_true(a->secret_subst);
    assert_string_equal(cfg_node_get(root, "b")->scalar, "pre-s3cr3t-value-post");
    assert_true(cfg_node_get(root, "b")->secret_subst);
    assert_false(cfg_node_get(root, "c")->secret_subst);
    assert_string_equal(cfg_node_get(root, "d")->scalar, "${env:FERRY_TEST_PW}");
    assert_false(cfg_node_get(root, "d")->secret_subst);
    assert_string_equal(cfg_node_get(root, "e")->scalar, "cost $5 and $$ stay");
    assert_string_equal(cfg_node_get(root, "f")->scalar, "${topic}-${timestamp}"); /* templates, no provider */
    cfg_node_free(root);

    /* Every bad reference is reported, with its position, none with a value. */
    assert_null(load("x: 1\ny: ${env:FERRY_TEST_UNSET}\nz: ${env:FERRY_TEST_PW}${nope:1}\nw: ${env:X\n", &errs));
    assert_int_equal(errs.count, 3);
    assert_error(&errs, "t.yaml:2:4: environment variable 'FERRY_TEST_UNSET' is not set");
    assert_error(&errs, "t.yaml:3:4: unknown reference '${nope:1}'");
    assert_error(&errs, "t.yaml:4:4: unterminated '${'");
    assert_true(errors_lack(&errs, "s3cr3t"));
    cfg_errors_clear(&errs);
    unsetenv("FERRY_TEST_PW");
}

static void test_file_substitution(void **state)
{
    (void)state;
    char path[] = "/tmp/ferry-config-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-secret\n", 12), 12);
    close(fd);
    char *text = str_printf("pw: ${file:%s}\nmissing: ${file:/nonexistent/ferry/secret}\n", path);
    cfg_errors_t errs = {0};
    assert_null(load(text, &errs));
    assert_int_equal(errs.count, 1);
    assert_error(&errs, "t.yaml:2:10: cannot read file '/nonexistent/ferry/secret'");
    cfg_errors_clear(&errs);
    free(text);

    text = str_printf("pw: ${file:%s}\n", path);
    cfg_node_t *root = load(text, &errs);
    assert_non_null(root);
    assert_string_equal(cfg_node_get(root, "pw")->scalar, "file-secret"); /* newline stripped */
    assert_true(cfg_node_get(root, "pw")->secret_subst);
    cfg_node_free(root);
    free(text);
    unlink(path);
}

static void test_load_file(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    assert_null(cfg_yaml_load_file("/nonexistent/ferry.yaml", &errs));
    assert_error(&errs, "/nonexistent/ferry.yaml: cannot open");
    cfg_errors_clear(&errs);
    char *path = fixture_path("malformed.yaml");
    assert_null(cfg_yaml_load_file(path, &errs));
    assert_int_equal(errs.count, 1);
    /* libyaml notices on line 5 and blames the sequence opened on line 4. */
    char *want = str_printf("%s:5:11: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence (at 4:16)", path);
    assert_error(&errs, want);
    free(want);
    free(path);
    cfg_errors_clear(&errs);
}

/* libyaml's reader gives a byte offset; the message gives line and column
 * (in characters: "é" is one). */
static void test_bad_utf8_has_position(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    assert_null(load("a: 1\nb: \"x\xff\"\n", &errs));
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0],
                        "t.yaml:2:6: invalid YAML: invalid leading UTF-8 octet (byte 0xff): the file must be UTF-8 text");
    cfg_errors_clear(&errs);
    assert_null(load("a: 1\r\nb: \xc3\xa9t\xc3\xa9 \xfe\n", &errs));
    assert_error(&errs, "t.yaml:2:8: invalid YAML: invalid leading UTF-8 octet (byte 0xfe)");
    cfg_errors_clear(&errs);
    assert_null(load("\xef\xbb\xbf" "a: \x01\n", &errs)); /* after a byte-order mark */
    assert_error(&errs, "t.yaml:1:4: invalid YAML: control characters are not allowed (U+0001)");
    cfg_errors_clear(&errs);
}

/* A message is never cut at a buffer size: the end of a message about a
 * very long reference survives. */
static void test_long_messages_whole(void **state)
{
    (void)state;
    char name[2001];
    memset(name, 'X', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    char *text = str_printf("a: ${env:%s}\n", name);
    cfg_errors_t errs = {0};
    assert_null(load(text, &errs));
    assert_int_equal(errs.count, 1);
    size_t len = strlen(errs.items[0]);
    assert_true(len > 4000);
    assert_string_equal(errs.items[0] + len - 3, "X})");
    cfg_errors_clear(&errs);
    free(text);
}

static void test_directory_is_named(void **state)
{
    (void)state;
    cfg_errors_t errs = {0};
    assert_null(cfg_yaml_load_file("/tmp", &errs));
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], "/tmp: is a directory, not a pipeline file");
    cfg_errors_clear(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_and_positions),
        cmocka_unit_test(test_empty_document),
        cmocka_unit_test(test_malformed_yaml_has_position),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_non_scalar_keys_and_merge),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_deep_nesting_rejected),
        cmocka_unit_test(test_env_substitution),
        cmocka_unit_test(test_file_substitution),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_bad_utf8_has_position),
        cmocka_unit_test(test_long_messages_whole),
        cmocka_unit_test(test_directory_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
