/*
 * Unit tests for pg_value_json / pg_datum_json (PostgreSQL text output →
 * JSON), the JSON validator and the Debezium envelope. Expected outputs are
 * exact strings; every output is also parsed with jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "pgoutput.h"

void test_values(void **state);
void test_values_garbage(void **state);
void test_resolver(void **state);
void test_json_valid(void **state);
void test_datum_and_envelope(void **state);

static void assert_valid_json(const char *s)
{
    json_error_t jerr;
    json_t *j = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j)
        fail_msg("invalid JSON (%s): %s", jerr.text, s);
    json_decref(j);
}

/* Formats from an exactly-sized heap copy (so over-reads are caught). */
static void check_value(uint32_t oid, const char *in, const char *want, const pg_type_resolver_t *types)
{
    pg_buf_t out = {0};
    size_t len = strlen(in);
    char *copy = malloc(len ? len : 1);
    memcpy(copy, in, len);
    pg_buf_puts(&out, "[");
    pg_value_json(&out, oid, copy, len, types);
    pg_buf_puts(&out, "]");
    free(copy);
    assert_valid_json(out.data);
    out.data[out.len - 1] = 0;
    if (strcmp(out.data + 1, want) != 0)
        fail_msg("oid %u input <%s>: want %s, got %s", oid, in, want, out.data + 1);
    pg_buf_free(&out);
}

static const struct {
    uint32_t oid;
    const char *in, *want;
} cases[] = {
    /* integers */
    {23, "42", "42"}, {23, "-2147483648", "-2147483648"}, {21, "0", "0"},
    {20, "9223372036854775807", "9223372036854775807"}, {26, "4294967295", "4294967295"},
    {23, "", "\"\""}, {23, "12x", "\"12x\""}, {23, "007", "\"007\""}, {23, "-", "\"-\""},
    {23, "1.5", "\"1.5\""}, {20, " 1", "\" 1\""},
    /* floats */
    {701, "1.5", "1.5"}, {701, "-0", "-0"}, {701, "1e+100", "1e+100"}, {700, "1.2345e-05", "1.2345e-05"},
    {701, "NaN", "\"NaN\""}, {701, "Infinity", "\"Infinity\""}, {700, "-Infinity", "\"-Infinity\""},
    {701, "1.", "\"1.\""}, {701, ".5", "\".5\""}, {701, "1e", "\"1e\""},
    /* numeric: exact digits as a string */
    {1700, "12345678901234567890.000000001", "\"12345678901234567890.000000001\""},
    {1700, "NaN", "\"NaN\""}, {1700, "-Infinity", "\"-Infinity\""}, {1700, "1.50", "\"1.50\""},
    /* bool */
    {16, "t", "true"}, {16, "f", "false"}, {16, "true", "\"true\""}, {16, "", "\"\""},
    /* bytea */
    {17, "\\x", "\"\""}, {17, "\\x00", "\"AA==\""}, {17, "\\x0001", "\"AAE=\""}, {17, "\\x000102", "\"AAEC\""},
    {17, "\\x68656c6c6f", "\"aGVsbG8=\""}, {17, "\\xFFfe", "\"//4=\""},
    {17, "\\x0", "\"\\\\x0\""}, {17, "\\xzz", "\"\\\\xzz\""},
    {17, "ab\\\\c\\001", "\"YWJcYwE=\""}, /* escape format */
    {17, "a\\9", "\"a\\\\9\""},
    /* text-like: strings, kept exactly */
    {25, "", "\"\""}, {25, "a\"b\\c\n", "\"a\\\"b\\\\c\\n\""}, {25, "é中😀", "\"é中😀\""},
    {1042, "ab   ", "\"ab   \""}, {1043, "x", "\"x\""}, {19, "name", "\"name\""}, {18, "\"", "\"\\\"\""},
    {2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""},
    {869, "192.168.0.1/24", "\"192.168.0.1/24\""}, {650, "10.0.0.0/8", "\"10.0.0.0/8\""},
    {829, "08:00:2b:01:02:03", "\"08:00:2b:01:02:03\""}, {790, "$1,234.56", "\"$1,234.56\""},
    {1560, "1010", "\"1010\""}, {1562, "", "\"\""}, {142, "<a>x</a>", "\"<a>x</a>\""},
    {1186, "P1Y2M3DT4H5M6.5S", "\"P1Y2M3DT4H5M6.5S\""}, {1186, "PT0S", "\"PT0S\""},
    {1083, "13:14:15.5", "\"13:14:15.5\""}, {1266, "13:14:15+05:30", "\"13:14:15+05:30\""},
    {99999, "unknown type", "\"unknown type\""},
    /* dates and timestamps */
    {1082, "2024-01-02", "\"2024-01-02\""}, {1082, "0044-03-15 BC", "\"-0043-03-15\""},
    {1082, "0001-01-01 BC", "\"0000-01-01\""}, {1082, "infinity", "\"infinity\""},
    {1082, "-infinity", "\"-infinity\""}, {1082, "12345-01-01", "\"12345-01-01\""},
    {1082, "2024-1-02", "\"2024-1-02\""}, {1082, "0000-01-01 BC", "\"0000-01-01 BC\""},
    {1114, "2024-01-02 03:04:05.123456", "\"2024-01-02T03:04:05.123456\""},
    {1114, "2024-01-02 03:04:05", "\"2024-01-02T03:04:05\""},
    {1114, "0001-01-01 00:00:00 BC", "\"0000-01-01T00:00:00\""},
    {1114, "2024-01-02T03:04:05", "\"2024-01-02T03:04:05\""}, /* not PG's shape: as is */
    {1114, "2024-01-02 03:04:05.", "\"2024-01-02 03:04:05.\""},
    {1184, "2024-01-02 03:04:05.123456+00", "\"2024-01-02T03:04:05.123456Z\""},
    {1184, "2024-01-02 03:04:05+02", "\"2024-01-02T03:04:05+02:00\""},
    {1184, "2024-01-02 03:04:05-05:30", "\"2024-01-02T03:04:05-05:30\""},
    {1184, "1900-01-01 00:00:00+00:53:28", "\"1900-01-01T00:00:00+00:53:28\""},
    {1184, "0044-03-15 12:00:00+00 BC", "\"-0043-03-15T12:00:00Z\""},
    {1184, "infinity", "\"infinity\""}, {1184, "2024-01-02 03:04:05", "\"2024-01-02 03:04:05\""},
    {1184, "2024-01-02 03:04:05+2", "\"2024-01-02 03:04:05+2\""},
    /* json / jsonb: embedded when valid */
    {114, "{\"a\": [1, 2.5, \"x\"], \"b\": null}", "{\"a\": [1, 2.5, \"x\"], \"b\": null}"},
    {3802, "\"str\"", "\"str\""}, {3802, "[]", "[]"}, {3802, " 1 ", " 1 "},
    {114, "{bad", "\"{bad\""}, {114, "", "\"\""}, {114, "[1,]", "\"[1,]\""},
    {114, "{\"a\":1}x", "\"{\\\"a\\\":1}x\""}, {114, "NaN", "\"NaN\""},
    /* arrays */
    {1007, "{}", "[]"}, {1007, "{1,2,NULL,-4}", "[1,2,null,-4]"}, {1007, "{{1,2},{3,NULL}}", "[[1,2],[3,null]]"},
    {1007, "[1:2][0:1]={{1,2},{3,4}}", "[[1,2],[3,4]]"}, {1007, "[-3:-2]={5,6}", "[5,6]"},
    {1007, "{{{{{{1}}}}}}", "[[[[[[1]]]]]]"},
    {1009, "{\"a,b\",\"q\\\"uote\",\"back\\\\slash\",NULL,\"NULL\",\"\",with space,\"  lead\"}",
     "[\"a,b\",\"q\\\"uote\",\"back\\\\slash\",null,\"NULL\",\"\",\"with space\",\"  lead\"]"},
    {1009, "{null,Null}", "[null,null]"}, {1009, "{a\\,b}", "[\"a,b\"]"}, {1009, "{\\NULL}", "[\"NULL\"]"},
    {1009, "{ a , b }", "[\"a\",\"b\"]"}, {1009, "{\"é\",\"\\n\"}", "[\"é\",\"n\"]"},
    {1000, "{t,f,NULL}", "[true,false,null]"}, {1022, "{1.5,NaN,Infinity}", "[1.5,\"NaN\",\"Infinity\"]"},
    {1231, "{1.10,NaN}", "[\"1.10\",\"NaN\"]"}, {1016, "{-9223372036854775808}", "[-9223372036854775808]"},
    {1015, "{\"\",NULL}", "[\"\",null]"}, {2951, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
                                            "[\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"]"},
    {3807, "{\"{\\\"a\\\": 1}\",\"[1, \\\"}\\\"]\",null}", "[{\"a\": 1},[1, \"}\"],null]"},
    {1185, "{\"2024-01-02 03:04:05+00\",infinity}", "[\"2024-01-02T03:04:05Z\",\"infinity\"]"},
    {1182, "{2024-01-02,NULL,\"0010-01-01 BC\"}", "[\"2024-01-02\",null,\"-0009-01-01\"]"},
    {1001, "{\"\\\\x00\",\"\\\\x\",NULL}", "[\"AA==\",\"\",null]"},
    {1020, "{(1,1),(0,0);(2,2),(1,1)}", "[\"(1,1),(0,0)\",\"(2,2),(1,1)\"]"},
    /* malformed arrays fall back to the whole text as a string */
    {1007, "{1,2", "\"{1,2\""}, {1007, "{1,,2}", "\"{1,,2}\""}, {1007, "{1,2}}", "\"{1,2}}\""},
    {1007, "{1,x}", "\"{1,x}\""}, {1007, "", "\"\""}, {1007, "[1:2]{1,2}", "\"[1:2]{1,2}\""},
    {1007, "{{{{{{{1}}}}}}}", "\"{{{{{{{1}}}}}}}\""}, {1009, "{\"abc}", "\"{\\\"abc}\""},
    {1009, "{a\"b}", "\"{a\\\"b}\""}, {1009, "{\\", "\"{\\\\\""},
};

void test_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_value(cases[i].oid, cases[i].in, cases[i].want, NULL);
    /* NULL text → null. */
    pg_buf_t out = {0};
    pg_value_json(&out, 25, NULL, 0, NULL);
    assert_string_equal(out.data, "null");
    pg_buf_free(&out);
}

static uint64_t rng = 88172645463325252u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Any bytes, any type: exactly one valid JSON value. */
void test_values_garbage(void **state)
{
    (void)state;
    static const uint32_t oids[] = {16,   17,   18,   19,   20,   21,   23,   25,   26,   114,  142,  700,
                                    701,  790,  1042, 1043, 1082, 1083, 1114, 1184, 1186, 1266, 1560, 1562,
                                    1700, 2950, 3802, 869,  650,  829,  1007, 1009, 1016, 1000, 1022, 1231,
                                    1015, 2951, 3807, 1185, 1182, 1001, 1020, 12345};
    static const char alphabet[] = "{}[]\",\\ :0123456789-+.eENULLntfx\xc3\xa9\x80\xff\x01";
    pg_buf_t out = {0};
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = rnd() % 24;
        char *s = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            s[i] = (iter & 1) ? (char)rnd() : alphabet[rnd() % (sizeof alphabet - 1)];
        uint32_t oid = oids[rnd() % (sizeof oids / sizeof oids[0])];
        pg_buf_reset(&out);
        pg_value_json(&out, oid, s, len, NULL);
        json_error_t jerr;
        json_t *j = json_loadb(out.data, out.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!j)
            fail_msg("oid %u: invalid JSON (%s): %s", oid, jerr.text, out.data);
        json_decref(j);
        free(s);
    }
    pg_buf_free(&out);
}

/* Test resolver: 50000 enum, 50001 domain over int4, 50002 array of the
 * enum, 50003 domain over int4[], 50004 array of 50003, 50005 a domain over
 * itself (a broken catalog must not loop), 50006 unknown. */
static char resolve(void *ctx, uint32_t oid, uint32_t *base, uint32_t *elem)
{
    (*(int *)ctx)++;
    switch (oid) {
    case 50000: return 'e';
    case 50001: *base = 23; return 'd';
    case 50002: *elem = 50000; return 'a';
    case 50003: *base = 1007; return 'd';
    case 50004: *elem = 50003; return 'a';
    case 50005: *base = 50005; return 'd';
    default: return 0;
    }
}

void test_resolver(void **state)
{
    (void)state;
    int calls = 0;
    pg_type_resolver_t r = {.resolve = resolve, .ctx = &calls};
    check_value(50000, "happy", "\"happy\"", &r);
    check_value(50001, "7", "7", &r);
    check_value(50001, "x", "\"x\"", &r);
    check_value(50002, "{sad,NULL,\"a b\"}", "[\"sad\",null,\"a b\"]", &r);
    check_value(50003, "{1,2}", "[1,2]", &r);
    check_value(50004, "{\"{1,2}\",\"{3}\",NULL}", "[[1,2],[3],null]", &r);
    calls = 0;
    check_value(50005, "loop", "\"loop\"", &r);
    assert_true(calls > 0 && calls <= 20);
    check_value(50006, "x", "\"x\"", &r);
    /* Built-in oids never ask the resolver. */
    calls = 0;
    check_value(23, "1", "1", &r);
    assert_int_equal(calls, 0);
    /* Without a resolver: enums and domains are strings. */
    check_value(50001, "7", "\"7\"", NULL);
    pg_type_resolver_t empty = {0};
    check_value(50002, "{a}", "\"{a}\"", &empty);
}

void test_json_valid(void **state)
{
    (void)state;
    const char *good[] = {"0", "-1.5e+3", "\"\"", "\"\\u00e9\\n\\/\"", "true", "false", "null", "[]", "{}",
                          " [1, {\"a\": [null, {}]}, \"x\"] ", "{\"a\":1,\"b\":[true,false]}", "\"é\"",
                          NULL};
    const char *bad[] = {"", " ", "[", "]", "{", "{\"a\"}", "{\"a\":}", "{a:1}", "[1,]", "[,1]", "01",
                         "1.", ".1", "-", "+1", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "[1]]",
                         "{\"a\":1,}", "\"\x01\"", "\"\xff\"", "\"\xc3\"", "1 2", "[1 2]", "{\"a\" 1}",
                         "{\"a\":1 \"b\":2}", "NaN", NULL};
    for (int i = 0; good[i]; i++)
        if (!pg_json_valid(good[i], strlen(good[i])))
            fail_msg("should be valid: %s", good[i]);
    for (int i = 0; bad[i]; i++)
        if (pg_json_valid(bad[i], strlen(bad[i])))
            fail_msg("should be invalid: %s", bad[i]);
    /* Deep nesting needs no C stack. */
    size_t depth = 200000;
    char *deep = malloc(depth * 2);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    assert_true(pg_json_valid(deep, depth * 2));
    assert_false(pg_json_valid(deep, depth * 2 - 1));
    free(deep);
}

void test_datum_and_envelope(void **state)
{
    (void)state;
    pg_buf_t out = {0};
    pg_datum_t d = {.kind = PG_DATUM_NULL};
    pg_datum_json(&out, 25, &d, "P", NULL);
    assert_string_equal(out.data, "null");
    pg_buf_reset(&out);
    d.kind = PG_DATUM_UNCHANGED_TOAST;
    pg_datum_json(&out, 25, &d, "__debezium_unavailable_value", NULL);
    assert_string_equal(out.data, "\"__debezium_unavailable_value\"");
    pg_buf_reset(&out);
    pg_datum_json(&out, 23, &d, NULL, NULL); /* default placeholder, even for a number column */
    assert_string_equal(out.data, "\"__debezium_unavailable_value\"");
    pg_buf_reset(&out);
    d.kind = PG_DATUM_TEXT;
    d.data = "";
    d.len = 0;
    pg_datum_json(&out, 25, &d, NULL, NULL);
    assert_string_equal(out.data, "\"\""); /* empty string is not NULL */
    pg_buf_reset(&out);
    d.kind = PG_DATUM_BINARY;
    d.data = "\x01\x02";
    d.len = 2;
    pg_datum_json(&out, 17, &d, NULL, NULL);
    assert_string_equal(out.data, "\"AQI=\"");
    pg_buf_reset(&out);
    pg_datum_json(&out, 17, NULL, NULL, NULL);
    assert_string_equal(out.data, "null");
    pg_buf_reset(&out);

    pg_column_t cols[2] = {{.name = "id", .type_oid = 23, .typmod = -1, .is_key = 1},
                           {.name = "na\"me", .type_oid = 25, .typmod = -1, .is_key = 0}};
    pg_relation_t rel = {.oid = 1, .schema = "public", .table = "t\"x", .replident = 'd', .ncols = 2, .cols = cols};
    pg_datum_t vals[2] = {{PG_DATUM_TEXT, "5", 1}, {PG_DATUM_TEXT, "é", 2}};
    pg_tuple_t tup = {.ncols = 2, .cols = vals};
    pg_row_json(&out, &rel, &tup, 0, NULL, NULL);
    assert_string_equal(out.data, "{\"id\":5,\"na\\\"me\":\"é\"}");
    pg_buf_t key = {0};
    pg_row_json(&key, &rel, &tup, 1, NULL, NULL);
    assert_string_equal(key.data, "{\"id\":5}");
    pg_buf_t ev = {0};
    pg_row_json(&ev, NULL, &tup, 0, NULL, NULL);
    assert_string_equal(ev.data, "null");
    pg_buf_reset(&ev);

    pg_event_source_t src = {.version = "0.1.0", .name = "shop", .db = "postgres", .ts_ms = 1700000000123,
                             .snapshot = "false", .txid = 755, .lsn = 24023128};
    pg_envelope_json(&ev, 'u', &rel, key.data, out.data, &src, 1700000000999);
    assert_string_equal(ev.data,
                        "{\"before\":{\"id\":5},\"after\":{\"id\":5,\"na\\\"me\":\"é\"},\"source\":{\"version\":\"0.1.0\","
                        "\"connector\":\"postgresql\",\"name\":\"shop\",\"ts_ms\":1700000000123,\"snapshot\":\"false\","
                        "\"db\":\"postgres\",\"sequence\":\"[null,\\\"24023128\\\"]\",\"ts_us\":1700000000123000,"
                        "\"ts_ns\":1700000000123000000,\"schema\":\"public\",\"table\":\"t\\\"x\",\"txId\":755,"
                        "\"lsn\":24023128,\"xmin\":null,\"origin\":null,\"origin_lsn\":null},\"transaction\":null,"
                        "\"op\":\"u\",\"ts_ms\":1700000000999,\"ts_us\":1700000000999000,\"ts_ns\":1700000000999000000}");
    assert_valid_json(ev.data);
    /* Stream fields: the last commit, microseconds, the origin, a transaction block, the wall clock in ns. */
    pg_buf_reset(&ev);
    pg_event_source_t full = src;
    full.ts_us = 1700000000123456;
    full.last_commit_lsn = 24023000;
    full.origin = "node\"1";
    full.origin_lsn = 77;
    full.transaction = "{\"id\":\"755:24023128\"}";
    full.now_ns = 1700000000999123456;
    pg_envelope_json(&ev, 'u', &rel, key.data, out.data, &full, 1);
    assert_non_null(strstr(ev.data, "\"ts_ms\":1700000000123,\"snapshot\":\"false\",\"db\":\"postgres\","
                                    "\"sequence\":\"[\\\"24023000\\\",\\\"24023128\\\"]\",\"ts_us\":1700000000123456,"
                                    "\"ts_ns\":1700000000123456000,"));
    assert_non_null(strstr(ev.data, "\"xmin\":null,\"origin\":\"node\\\"1\",\"origin_lsn\":77},"
                                    "\"transaction\":{\"id\":\"755:24023128\"},\"op\":\"u\",\"ts_ms\":1700000000999,"
                                    "\"ts_us\":1700000000999123,\"ts_ns\":1700000000999123456}"));
    assert_valid_json(ev.data);
    pg_buf_reset(&ev);
    pg_envelope_json(&ev, 'c', &rel, NULL, out.data, &src, 1);
    json_t *j = json_loads(ev.data, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "before")));
    assert_string_equal(json_string_value(json_object_get(j, "op")), "c");
    json_decref(j);
    pg_buf_reset(&ev);
    /* Truncate: no row images even if given; NULL source fields → null / defaults. */
    pg_event_source_t bare = {0};
    pg_envelope_json(&ev, 't', &rel, "{}", "{}", &bare, 1);
    j = json_loads(ev.data, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "before")) && json_is_null(json_object_get(j, "after")));
    json_t *s = json_object_get(j, "source");
    assert_string_equal(json_string_value(json_object_get(s, "snapshot")), "false");
    assert_true(json_is_null(json_object_get(s, "version")));
    json_decref(j);
    pg_buf_reset(&ev);
    pg_envelope_json(&ev, 'r', NULL, NULL, NULL, NULL, 0);
    assert_valid_json(ev.data);
    pg_buf_free(&ev);
    pg_buf_free(&key);
    pg_buf_free(&out);
}
