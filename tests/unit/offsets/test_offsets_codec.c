/*
 * test_offsets_codec.c — the bytes of offset records and the partitioner.
 *
 * Byte-exactness is checked against literal strings Kafka Connect writes
 * (Jackson, compact). murmur2 is checked against Kafka's own test vectors,
 * against python3-kafka's pure-Python port (run with Debian's
 * /usr/bin/python3) and against librdkafka's Java-compatible partitioner:
 * three implementations no one here wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "offsets/offsets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void assert_compact(const char *in, const char *want)
{
    char *got = offsets_json_compact(in, strlen(in));
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void assert_canonical(const char *in, const char *want)
{
    char *got = offsets_json_canonical(in, strlen(in));
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void assert_key(const char *connector, const char *partition, const char *want)
{
    char *got = offsets_key_encode(connector, partition);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_key_encode_kafka_connect_bytes(void **state)
{
    (void)state;
    assert_key("shop-cdc", "{\"server\":\"shop\"}", "[\"shop-cdc\",{\"server\":\"shop\"}]");
    /* Spacing in the input is not carried into the record. */
    assert_key("shop-cdc", " {\n  \"server\" : \"shop\"\n} ", "[\"shop-cdc\",{\"server\":\"shop\"}]");
    /* FileStreamSourceTask: Jackson does not escape '/'. */
    assert_key("fs", "{\"filename\":\"/tmp/a.txt\"}", "[\"fs\",{\"filename\":\"/tmp/a.txt\"}]");
    /* Field order is the writer's, not sorted. */
    assert_key("c", "{\"z\":1,\"a\":[1,true,null,\"x\"]}", "[\"c\",{\"z\":1,\"a\":[1,true,null,\"x\"]}]");
    /* A connector name with characters that need escaping. */
    assert_key("we\"ird\\name", "{}", "[\"we\\\"ird\\\\name\",{}]");

    assert_null(offsets_key_encode("c", "[1]"));
    assert_null(offsets_key_encode("c", "\"s\""));
    assert_null(offsets_key_encode("c", "{"));
    assert_null(offsets_key_encode("c", ""));
    assert_null(offsets_key_encode("c", NULL));
    assert_null(offsets_key_encode(NULL, "{}"));
}

static void test_value_compact_keeps_order(void **state)
{
    (void)state;
    assert_compact("{\"lsn\": 24023128, \"txId\": 755, \"ts_usec\": 1700000000000000}",
                   "{\"lsn\":24023128,\"txId\":755,\"ts_usec\":1700000000000000}");
    assert_compact("{\"position\":1234}", "{\"position\":1234}");
    assert_compact("{ }", "{}");
    assert_compact("{\"a\":{\"y\":1,\"x\":2},\"b\":[ 1 , 2 ]}",
                   "{\"a\":{\"y\":1,\"x\":2},\"b\":[1,2]}");
    assert_compact("{\"big\":9223372036854775807,\"neg\":-9223372036854775808}",
                   "{\"big\":9223372036854775807,\"neg\":-9223372036854775808}");
    assert_compact("{\"t\":true,\"f\":false,\"n\":null}", "{\"t\":true,\"f\":false,\"n\":null}");

    assert_null(offsets_json_compact("[1,2]", 5));
    assert_null(offsets_json_compact("42", 2));
    assert_null(offsets_json_compact("null", 4));
    assert_null(offsets_json_compact("", 0));
    assert_null(offsets_json_compact("{\"a\":1} x", 9));
    assert_null(offsets_json_compact("{\"a\":}", 6));
    assert_null(offsets_json_compact(NULL, 0));
    /* Only len bytes are read: the object ends where the span ends. */
    assert_null(offsets_json_compact("{\"a\":1}", 5));
    char *s = offsets_json_compact("{\"a\":1}garbage", 7);
    assert_string_equal(s, "{\"a\":1}");
    free(s);
}

/* Jackson leaves UTF-8 raw and escapes only ", \ and control characters
 * (short forms for \b \t \n \f \r, \u00XX upper-case for the others). */
static void test_unicode_and_escapes_like_jackson(void **state)
{
    (void)state;
    assert_compact("{\"name\":\"caf\xc3\xa9 \xe2\x98\x95 \xf0\x9d\x84\x9e\"}",
                   "{\"name\":\"caf\xc3\xa9 \xe2\x98\x95 \xf0\x9d\x84\x9e\"}");
    /* \u escapes in the input become raw UTF-8, as Jackson would write them. */
    assert_compact("{\"name\":\"caf\\u00e9 \\u2615 \\ud834\\udd1e\"}",
                   "{\"name\":\"caf\xc3\xa9 \xe2\x98\x95 \xf0\x9d\x84\x9e\"}");
    assert_compact("{\"s\":\"a\\u0001b\\u001fc\\n\\t\\r\\b\\f\\\"\\\\/\\u007f\"}",
                   "{\"s\":\"a\\u0001b\\u001Fc\\n\\t\\r\\b\\f\\\"\\\\/\x7f\"}");
    assert_compact("{\"nul\":\"a\\u0000b\"}", "{\"nul\":\"a\\u0000b\"}");
    /* Keys are escaped the same way. */
    assert_compact("{\"k\\u00e9\\n\":1}", "{\"k\xc3\xa9\\n\":1}");
    /* Invalid UTF-8 is not JSON. */
    assert_null(offsets_json_compact("{\"s\":\"\xff\"}", 8));
}

/* Reals print like Java's Double.toString (what Jackson writes). */
static void test_reals_like_java(void **state)
{
    (void)state;
    assert_compact("{\"v\":0.1}", "{\"v\":0.1}");
    assert_compact("{\"v\":1.0}", "{\"v\":1.0}");
    assert_compact("{\"v\":1e2}", "{\"v\":100.0}");
    assert_compact("{\"v\":-2.5}", "{\"v\":-2.5}");
    assert_compact("{\"v\":0.001}", "{\"v\":0.001}");
    assert_compact("{\"v\":0.0001}", "{\"v\":1.0E-4}");
    assert_compact("{\"v\":1.5e-4}", "{\"v\":1.5E-4}");
    assert_compact("{\"v\":1234567.0}", "{\"v\":1234567.0}");
    assert_compact("{\"v\":9999999.5}", "{\"v\":9999999.5}");
    assert_compact("{\"v\":1e7}", "{\"v\":1.0E7}");
    assert_compact("{\"v\":1e10}", "{\"v\":1.0E10}");
    assert_compact("{\"v\":123456789.123}", "{\"v\":1.23456789123E8}");
    assert_compact("{\"v\":0.0}", "{\"v\":0.0}");
    assert_compact("{\"v\":-0.0}", "{\"v\":-0.0}");
    assert_compact("{\"v\":3.141592653589793}", "{\"v\":3.141592653589793}");
    assert_compact("{\"v\":1.7976931348623157e308}", "{\"v\":1.7976931348623157E308}");
    assert_compact("{\"v\":4.9e-324}", "{\"v\":4.9E-324}");
}

static void test_canonical_sorts_recursively(void **state)
{
    (void)state;
    assert_canonical("{\"b\":1,\"a\":{\"d\":2,\"c\":3}}", "{\"a\":{\"c\":3,\"d\":2},\"b\":1}");
    assert_canonical(" { \"server\" : \"shop\" } ", "{\"server\":\"shop\"}");
    assert_canonical("{\"ab\":1,\"a\":2,\"B\":3}", "{\"B\":3,\"a\":2,\"ab\":1}");
    assert_canonical("{\"x\":[{\"b\":1,\"a\":2}]}", "{\"x\":[{\"a\":2,\"b\":1}]}");
    assert_null(offsets_json_canonical("[]", 2));
}

/* Keys as another writer might produce them: other field order, spaces. */
static void test_key_decode(void **state)
{
    (void)state;
    static const struct {
        const char *key, *connector, *canonical;
    } good[] = {
        {"[\"shop-cdc\",{\"server\":\"shop\"}]", "shop-cdc", "{\"server\":\"shop\"}"},
        {" [ \"db\" , { \"table\" : \"t\", \"schema\" : \"public\" } ]\n", "db",
         "{\"schema\":\"public\",\"table\":\"t\"}"},
        {"[\"caf\\u00e9\",{\"b\":{\"y\":1,\"x\":2},\"a\":0}]", "caf\xc3\xa9",
         "{\"a\":0,\"b\":{\"x\":2,\"y\":1}}"},
    };
    char *conn = NULL, *part = NULL;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(offsets_key_decode(good[i].key, strlen(good[i].key), &conn, &part), 0);
        assert_string_equal(conn, good[i].connector);
        assert_string_equal(part, good[i].canonical);
        free(conn);
        free(part);
    }

    const char *bad[] = {"[\"x\"]",  "[1,{}]", "[\"x\",[]]", "{\"a\":1}",          "[\"x\",{},3]",
                         "not json", "",       "[\"x\",{}",  "[\"a\\u0000b\",{}]", "[\"x\",null]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        conn = part = NULL;
        assert_int_equal(offsets_key_decode(bad[i], strlen(bad[i]), &conn, &part), -1);
        assert_null(conn);
        assert_null(part);
    }
    assert_int_equal(offsets_key_decode(NULL, 0, &conn, &part), -1);
}

/* org.apache.kafka.common.utils.UtilsTest#testMurmur2 (signed Java ints). */
static void test_murmur2_kafka_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int32_t want;
    } cases[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t h = offsets_murmur2(cases[i].key, strlen(cases[i].key));
        assert_int_equal((int32_t)h, cases[i].want);
    }
}

/* The keys compared against the independent implementations. */
#define NKEYS 64
static size_t make_keys(unsigned char keys[NKEYS][80], size_t lens[NKEYS])
{
    static const char *fixed[] = {
        "",
        "a",
        "ab",
        "abc",
        "abcd",
        "abcde",
        "abcdef",
        "abcdefg",
        "abcdefgh",
        "[\"shop-cdc\",{\"server\":\"shop\"}]",
        "[\"fs\",{\"filename\":\"/tmp/a.txt\"}]",
        "[\"db\",{\"schema\":\"public\",\"table\":\"orders\"}]",
        "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87",               /* "ключ" */
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",           /* "日本語" */
        "[\"caf\xc3\xa9\",{\"f\":\"\xf0\x9d\x84\x9e\"}]", /* 4-byte UTF-8 */
    };
    size_t n = 0;
    for (; n < sizeof(fixed) / sizeof(fixed[0]); n++) {
        lens[n] = strlen(fixed[n]);
        memcpy(keys[n], fixed[n], lens[n]);
    }
    /* Bytes >= 0x80 in every tail position (Java's signed bytes & 0xff). */
    for (size_t len = 1; len <= 8; len++, n++) {
        lens[n] = len;
        for (size_t j = 0; j < len; j++) keys[n][j] = (unsigned char)(0xff - j * 17);
    }
    /* Pseudo-random keys of every length up to 79 (fixed seed: reproducible). */
    uint32_t x = 2463534242u;
    for (; n < NKEYS; n++) {
        lens[n] = (n * 7) % 80;
        for (size_t j = 0; j < lens[n]; j++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            keys[n][j] = (unsigned char)x;
        }
    }
    return n;
}

static void test_murmur2_matches_python_kafka(void **state)
{
    (void)state;
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import kafka.partitioner.default' >/dev/null 2>&1") != 0) {
        print_message("python3-kafka not installed (apt-get install python3-kafka): skipped\n");
        skip();
    }
    unsigned char keys[NKEYS][80];
    size_t lens[NKEYS];
    size_t n = make_keys(keys, lens);

    char path[] = "/tmp/ferry-murmur-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < lens[i]; j++) fprintf(fp, "%02x", keys[i][j]);
        fputc('\n', fp);
    }
    fclose(fp);

    /* One line per key: "murmur2 partition(25) partition(3)", computed by
     * python3-kafka's DefaultPartitioner. */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import sys\n"
             "from kafka.partitioner.default import murmur2, DefaultPartitioner\n"
             "p = DefaultPartitioner()\n"
             "for line in open(sys.argv[1]):\n"
             "    k = bytes.fromhex(line.strip())\n"
             "    print(murmur2(k), p(k, list(range(25)), []), p(k, list(range(3)), []))\n' %s",
             path);
    FILE *py = popen(cmd, "r");
    assert_non_null(py);
    size_t i = 0;
    unsigned long long h;
    int p25, p3;
    while (fscanf(py, "%llu %d %d", &h, &p25, &p3) == 3) {
        assert_true(i < n);
        assert_int_equal(offsets_murmur2(keys[i], lens[i]), (uint32_t)h);
        assert_int_equal(offsets_partition_for_key(keys[i], lens[i], 25), p25);
        assert_int_equal(offsets_partition_for_key(keys[i], lens[i], 3), p3);
        i++;
    }
    assert_int_equal(pclose(py), 0);
    unlink(path);
    assert_int_equal(i, n);
}

/* librdkafka's "murmur2" partitioner is documented as Java-compatible. */
static void test_partition_matches_librdkafka(void **state)
{
    (void)state;
    unsigned char keys[NKEYS][80];
    size_t lens[NKEYS];
    size_t n = make_keys(keys, lens);
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0) continue; /* librdkafka treats an empty key as "no key" */
        for (int32_t cnt = 1; cnt <= 50; cnt += 7) {
            assert_int_equal(
                offsets_partition_for_key(keys[i], lens[i], cnt),
                rd_kafka_msg_partitioner_murmur2(NULL, keys[i], lens[i], cnt, NULL, NULL));
        }
    }
    /* toPositive clears the sign bit: "21" hashes negative in Java. */
    assert_int_equal(offsets_partition_for_key("21", 2, 7),
                     (int32_t)((-973932308 & 0x7fffffff) % 7));
    assert_int_equal(offsets_partition_for_key("21", 2, 0), -1);
    assert_int_equal(offsets_partition_for_key("21", 2, -3), -1);
}

static void test_record_encode(void **state)
{
    (void)state;
    char *key = NULL, *value = NULL;
    size_t klen = 0, vlen = 0;
    int32_t partition = -2;
    assert_int_equal(
        offsets_record_encode("shop-cdc", "{ \"server\": \"shop\" }",
                              "{\"lsn\":24023128, \"txId\":755,\"ts_usec\":1700000000000000}", 25,
                              &key, &klen, &value, &vlen, &partition),
        0);
    assert_string_equal(key, "[\"shop-cdc\",{\"server\":\"shop\"}]");
    assert_int_equal(klen, strlen(key));
    assert_string_equal(value, "{\"lsn\":24023128,\"txId\":755,\"ts_usec\":1700000000000000}");
    assert_int_equal(vlen, strlen(value));
    assert_int_equal(partition, offsets_partition_for_key(key, klen, 25));
    free(key);
    free(value);

    /* A reset: no value. */
    assert_int_equal(offsets_record_encode("fs", "{\"filename\":\"/tmp/a.txt\"}", NULL, 25, &key,
                                           &klen, &value, &vlen, &partition),
                     0);
    assert_string_equal(key, "[\"fs\",{\"filename\":\"/tmp/a.txt\"}]");
    assert_null(value);
    assert_int_equal(vlen, 0);
    free(key);

    key = value = NULL;
    assert_int_equal(
        offsets_record_encode("fs", "[1]", "{}", 25, &key, &klen, &value, &vlen, &partition), -1);
    assert_int_equal(
        offsets_record_encode("fs", "{}", "7", 25, &key, &klen, &value, &vlen, &partition), -1);
    assert_null(key);
    assert_null(value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_encode_kafka_connect_bytes),
        cmocka_unit_test(test_value_compact_keeps_order),
        cmocka_unit_test(test_unicode_and_escapes_like_jackson),
        cmocka_unit_test(test_reals_like_java),
        cmocka_unit_test(test_canonical_sorts_recursively),
        cmocka_unit_test(test_key_decode),
        cmocka_unit_test(test_murmur2_kafka_vectors),
        cmocka_unit_test(test_murmur2_matches_python_kafka),
        cmocka_unit_test(test_partition_matches_librdkafka),
        cmocka_unit_test(test_record_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
