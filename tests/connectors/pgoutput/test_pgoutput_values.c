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
static void check_fmt(uint32_t oid, int32_t typmod, const char *in, const char *want, const pg_format_t *f)
{
    pg_buf_t out = {0};
    size_t len = strlen(in);
    char *copy = malloc(len ? len : 1);
    memcpy(copy, in, len);
    pg_buf_puts(&out, "[");
    pg_value_json(&out, oid, typmod, copy, len, f);
    pg_buf_puts(&out, "]");
    free(copy);
    assert_valid_json(out.data);
    out.data[out.len - 1] = 0;
    if (strcmp(out.data + 1, want) != 0)
        fail_msg("oid %u typmod %d input <%s>: want %s, got %s", oid, typmod, in, want, out.data + 1);
    pg_buf_free(&out);
}

static void check_value(uint32_t oid, const char *in, const char *want, const pg_type_resolver_t *types)
{
    pg_format_t f = {.types = types};
    check_fmt(oid, -1, in, want, &f);
}

#define NUMERIC(p, s) ((int32_t)(((p) << 16 | (s)) + 4))

/* Debezium's defaults; typmod -1 unless given. The expected values of the
 * numeric, time, interval, money, bit and point rows are the ones Debezium
 * 3.6.1 wrote for the same values in tests/kafka/debezium_conformance.sh. */
static const struct {
    uint32_t oid;
    int32_t typmod;
    const char *in, *want;
} cases[] = {
    /* integers */
    {23, -1, "42", "42"}, {23, -1, "-2147483648", "-2147483648"}, {21, -1, "0", "0"},
    {20, -1, "9223372036854775807", "9223372036854775807"}, {26, -1, "4294967295", "4294967295"},
    {23, -1, "", "\"\""}, {23, -1, "12x", "\"12x\""}, {23, -1, "007", "\"007\""}, {23, -1, "-", "\"-\""},
    {23, -1, "1.5", "\"1.5\""}, {20, -1, " 1", "\" 1\""},
    /* floats: always a fraction or an exponent */
    {701, -1, "1.5", "1.5"}, {701, -1, "-0", "-0.0"}, {701, -1, "1e+100", "1e+100"}, {701, -1, "3", "3.0"},
    {700, -1, "1.2345e-05", "1.2345e-05"}, {701, -1, "NaN", "\"NaN\""}, {701, -1, "Infinity", "\"Infinity\""},
    {700, -1, "-Infinity", "\"-Infinity\""}, {701, -1, "1.", "\"1.\""}, {701, -1, ".5", "\".5\""},
    {701, -1, "1e", "\"1e\""},
    /* numeric(p,s): base64 of the unscaled value at scale s */
    {1700, NUMERIC(10, 2), "12345.67", "\"EtaH\""}, {1700, NUMERIC(10, 2), "-0.01", "\"/w==\""},
    {1700, NUMERIC(10, 2), "0.50", "\"Mg==\""}, {1700, NUMERIC(10, 2), "-0.50", "\"zg==\""},
    {1700, NUMERIC(10, 2), "99999999.99", "\"AlQL4/8=\""}, {1700, NUMERIC(12, 0), "123456789012", "\"HL6ZGhQ=\""},
    {1700, NUMERIC(12, 0), "0", "\"AA==\""}, {1700, NUMERIC(12, 0), "-1", "\"/w==\""},
    {1700, NUMERIC(5, 0), "128", "\"AIA=\""}, {1700, NUMERIC(5, 0), "-128", "\"gA==\""},
    {1700, NUMERIC(5, 0), "-129", "\"/38=\""}, {1700, NUMERIC(5, 0), "-255", "\"/wE=\""},
    {1700, NUMERIC(5, 0), "-256", "\"/wA=\""}, {1700, NUMERIC(8, 3), "12.345", "\"MDk=\""},
    {1700, NUMERIC(8, 3), "1.5", "\"Bdw=\""},  /* rescaled up: 1500 */
    {1700, NUMERIC(8, 1), "1.25", "\"DQ==\""}, /* rounded half up: 13 */
    {1700, NUMERIC(10, 2), "NaN", "null"}, {1700, NUMERIC(10, 2), "Infinity", "null"},
    {1700, NUMERIC(10, 2), "1e5", "\"1e5\""}, {1700, NUMERIC(10, 2), "", "\"\""},
    {1700, NUMERIC(10, 2), "1.", "\"1.\""},
    /* numeric: VariableScaleDecimal, trailing zeros stripped */
    {1700, -1, "3.14159265358979", "{\"scale\":14,\"value\":\"AR2552okgw==\"}"},
    {1700, -1, "0.000001", "{\"scale\":6,\"value\":\"AQ==\"}"},
    {1700, -1, "-0.00000000000000000001", "{\"scale\":20,\"value\":\"/w==\"}"},
    {1700, -1, "123456789012345678901234567890.123456789",
     "{\"scale\":9,\"value\":\"XODppWAV/sWq36MorjmBFQ==\"}"},
    {1700, -1, "1.50", "{\"scale\":1,\"value\":\"Dw==\"}"}, {1700, -1, "100", "{\"scale\":0,\"value\":\"ZA==\"}"},
    {1700, -1, "0.000", "{\"scale\":0,\"value\":\"AA==\"}"}, {1700, -1, "NaN", "null"},
    /* money (lc_monetary=C), scale money.fraction.digits = 2 */
    {790, -1, "$1,234.56", "\"AeJA\""}, {790, -1, "-$0.01", "\"/w==\""}, {790, -1, "-$99.50", "\"2SI=\""},
    {790, -1, "($5.00)", "\"/gw=\""}, {790, -1, "$", "\"$\""}, {790, -1, "$1.2.3", "\"$1.2.3\""},
    /* bool */
    {16, -1, "t", "true"}, {16, -1, "f", "false"}, {16, -1, "true", "\"true\""}, {16, -1, "", "\"\""},
    /* bytea */
    {17, -1, "\\x", "\"\""}, {17, -1, "\\x00", "\"AA==\""}, {17, -1, "\\x0001", "\"AAE=\""},
    {17, -1, "\\x000102", "\"AAEC\""}, {17, -1, "\\x68656c6c6f", "\"aGVsbG8=\""}, {17, -1, "\\xFFfe", "\"//4=\""},
    {17, -1, "\\x0", "\"\\\\x0\""}, {17, -1, "\\xzz", "\"\\\\xzz\""},
    {17, -1, "ab\\\\c\\001", "\"YWJcYwE=\""}, /* escape format */
    {17, -1, "a\\9", "\"a\\\\9\""},
    /* text-like: strings, kept exactly */
    {25, -1, "", "\"\""}, {25, -1, "a\"b\\c\n", "\"a\\\"b\\\\c\\n\""}, {25, -1, "é中😀", "\"é中😀\""},
    {1042, -1, "ab   ", "\"ab   \""}, {1043, -1, "x", "\"x\""}, {19, -1, "name", "\"name\""},
    {18, -1, "\"", "\"\\\"\""},
    {2950, -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""},
    {869, -1, "192.168.0.1/24", "\"192.168.0.1/24\""}, {650, -1, "10.0.0.0/8", "\"10.0.0.0/8\""},
    {829, -1, "08:00:2b:01:02:03", "\"08:00:2b:01:02:03\""}, {142, -1, "<a>x</a>", "\"<a>x</a>\""},
    {3904, -1, "[1,10)", "\"[1,10)\""}, {99999, -1, "unknown type", "\"unknown type\""},
    /* json / jsonb: the document as a string */
    {114, -1, "{\"a\": [1, 2.5]}", "\"{\\\"a\\\": [1, 2.5]}\""}, {3802, -1, "null", "\"null\""},
    {3802, -1, "\"str\"", "\"\\\"str\\\"\""}, {3802, -1, "[]", "\"[]\""}, {114, -1, "{bad", "\"{bad\""},
    /* bit / varbit: bit(1) boolean, else little-endian bytes */
    {1560, 4, "1010", "\"Cg==\""}, {1560, 4, "0000", "\"\""}, {1560, 1, "1", "true"}, {1560, 1, "0", "false"},
    {1562, -1, "101", "\"BQ==\""}, {1562, -1, "", "\"\""}, {1562, 1, "1", "true"},
    {1562, 12, "100000000001", "\"AQg=\""}, {1560, 4, "10x1", "\"10x1\""},
    /* point */
    {600, -1, "(1.5,-2)", "{\"x\":1.5,\"y\":-2.0,\"wkb\":\"AQEAAAAAAAAAAAD4PwAAAAAAAADA\",\"srid\":null}"},
    {600, -1, "(0,0)", "{\"x\":0.0,\"y\":0.0,\"wkb\":\"AQEAAAAAAAAAAAAAAAAAAAAAAAAA\",\"srid\":null}"},
    {600, -1, "(1,2", "\"(1,2\""},
    /* date: days since the epoch */
    {1082, -1, "2024-02-29", "19782"}, {1082, -1, "1970-01-01", "0"}, {1082, -1, "2099-12-31", "47481"},
    {1082, -1, "1969-12-31", "-1"}, {1082, -1, "0001-01-01 BC", "-719528"},
    {1082, -1, "infinity", "\"infinity\""}, {1082, -1, "2024-1-02", "\"2024-1-02\""},
    /* time: adaptive (p <= 3 milliseconds, else microseconds) */
    {1083, -1, "13:45:56.123456", "49556123456"}, {1083, 3, "13:45:56.123", "49556123"},
    {1083, 3, "00:00:00.001", "1"}, {1083, 6, "01:02:03.000004", "3723000004"}, {1083, -1, "00:00:00", "0"},
    {1083, -1, "23:59:59.999999", "86399999999"}, {1083, -1, "24:00:00", "86400000000"},
    {1083, -1, "13:45", "\"13:45\""},
    /* timetz: UTC, fraction trimmed */
    {1266, -1, "13:45:56.5+02", "\"11:45:56.5Z\""}, {1266, -1, "00:00:00-08", "\"08:00:00Z\""},
    {1266, -1, "13:14:15+05:30", "\"07:44:15Z\""}, {1266, -1, "01:00:00+02", "\"23:00:00Z\""},
    {1266, -1, "13:14:15", "\"13:14:15\""},
    /* timestamp: adaptive */
    {1114, -1, "2024-02-29 13:45:56.123456", "1709214356123456"}, {1114, -1, "1969-12-31 23:59:59.5", "-500000"},
    {1114, 0, "2024-02-29 13:45:56", "1709214356000"}, {1114, 3, "1969-12-31 23:59:59.999", "-1"},
    {1114, 0, "1900-01-01 00:00:00", "-2208988800000"},
    {1114, -1, "2099-12-31 23:59:59.999999", "4102444799999999"}, {1114, -1, "infinity", "9223372036825200000"},
    {1114, -1, "-infinity", "-9223372036832400000"}, {1114, 3, "-infinity", "-9223372036832400"},
    {1114, -1, "2024-01-02T03:04:05", "\"2024-01-02T03:04:05\""},
    {1114, -1, "2024-01-02 03:04:05.", "\"2024-01-02 03:04:05.\""},
    {1114, -1, "294276-12-31 23:59:59", "\"294276-12-31 23:59:59\""}, /* beyond int64 µs since 1970 */
    /* timestamptz: UTC, exactly p fraction digits */
    {1184, -1, "2024-02-29 11:45:56.123456+00", "\"2024-02-29T11:45:56.123456Z\""},
    {1184, -1, "2000-01-01 00:00:00+00", "\"2000-01-01T00:00:00.000000Z\""},
    {1184, 0, "2024-02-29 11:45:56+00", "\"2024-02-29T11:45:56Z\""},
    {1184, 3, "2024-02-29 11:45:56.5+00", "\"2024-02-29T11:45:56.500Z\""},
    {1184, -1, "2024-01-02 03:04:05+02", "\"2024-01-02T01:04:05.000000Z\""},
    {1184, -1, "2024-01-02 03:04:05-05:30", "\"2024-01-02T08:34:05.000000Z\""},
    {1184, -1, "infinity", "\"infinity\""}, {1184, -1, "2024-01-02 03:04:05", "\"2024-01-02 03:04:05\""},
    /* interval: microseconds, a month 30.4375 days */
    {1186, -1, "P1Y2M3DT4H5M6.789S", "37091106789000"}, {1186, -1, "P-1M-2DT-1S", "-2802601000000"},
    {1186, -1, "P-3Y1M", "-92043000000000"}, {1186, -1, "PT0S", "0"},
    {1186, -1, "PT-4H-5M-6.5S", "-14706500000"}, {1186, -1, "PT999999999999999H", "\"PT999999999999999H\""}, {1186, -1, "1 day", "\"1 day\""}, {1186, -1, "P1X", "\"P1X\""},
    /* arrays */
    {1007, -1, "{}", "[]"}, {1007, -1, "{1,2,NULL,-4}", "[1,2,null,-4]"},
    {1007, -1, "{{1,2},{3,NULL}}", "[[1,2],[3,null]]"}, {1007, -1, "[1:2][0:1]={{1,2},{3,4}}", "[[1,2],[3,4]]"},
    {1007, -1, "[-3:-2]={5,6}", "[5,6]"}, {1007, -1, "{{{{{{1}}}}}}", "[[[[[[1]]]]]]"},
    {1009, -1, "{\"a,b\",\"q\\\"uote\",\"back\\\\slash\",NULL,\"NULL\",\"\",with space,\"  lead\"}",
     "[\"a,b\",\"q\\\"uote\",\"back\\\\slash\",null,\"NULL\",\"\",\"with space\",\"  lead\"]"},
    {1009, -1, "{null,Null}", "[null,null]"}, {1009, -1, "{a\\,b}", "[\"a,b\"]"},
    {1009, -1, "{\\NULL}", "[\"NULL\"]"}, {1009, -1, "{ a , b }", "[\"a\",\"b\"]"},
    {1009, -1, "{\"é\",\"\\n\"}", "[\"é\",\"n\"]"}, {1000, -1, "{t,f,NULL}", "[true,false,null]"},
    {1022, -1, "{1.5,NaN,Infinity}", "[1.5,\"NaN\",\"Infinity\"]"},
    {1231, NUMERIC(5, 2), "{1.10,NaN}", "[\"bg==\",null]"}, {1231, -1, "{1.10}", "[{\"scale\":1,\"value\":\"Cw==\"}]"},
    {1016, -1, "{-9223372036854775808}", "[-9223372036854775808]"}, {1015, -1, "{\"\",NULL}", "[\"\",null]"},
    {2951, -1, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "[\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"]"},
    {3807, -1, "{\"{\\\"a\\\": 1}\",null}", "[\"{\\\"a\\\": 1}\",null]"},
    {1185, -1, "{\"2024-01-02 03:04:05+00\",infinity}", "[\"2024-01-02T03:04:05.000000Z\",\"infinity\"]"},
    {1182, -1, "{2024-01-02,NULL}", "[19724,null]"},
    {1001, -1, "{\"\\\\x00\",\"\\\\x\",NULL}", "[\"AA==\",\"\",null]"},
    {1020, -1, "{(1,1),(0,0);(2,2),(1,1)}", "[\"(1,1),(0,0)\",\"(2,2),(1,1)\"]"},
    /* malformed arrays fall back to the whole text as a string */
    {1007, -1, "{1,2", "\"{1,2\""}, {1007, -1, "{1,,2}", "\"{1,,2}\""}, {1007, -1, "{1,2}}", "\"{1,2}}\""},
    {1007, -1, "{1,x}", "\"{1,x}\""}, {1007, -1, "", "\"\""}, {1007, -1, "[1:2]{1,2}", "\"[1:2]{1,2}\""},
    {1007, -1, "{{{{{{{1}}}}}}}", "\"{{{{{{{1}}}}}}}\""}, {1009, -1, "{\"abc}", "\"{\\\"abc}\""},
    {1009, -1, "{a\"b}", "\"{a\\\"b}\""}, {1009, -1, "{\\", "\"{\\\\\""},
};

#define ZEROS100 "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
#define ZEROS400 ZEROS100 ZEROS100 ZEROS100 ZEROS100

/* The other modes. */
static const struct {
    pg_format_t f;
    uint32_t oid;
    int32_t typmod;
    const char *in, *want;
} mode_cases[] = {
    {{.decimal = PG_DECIMAL_STRING}, 1700, NUMERIC(10, 2), "12345.67", "\"12345.67\""},
    {{.decimal = PG_DECIMAL_STRING}, 1700, -1, "NaN", "\"NAN\""},
    {{.decimal = PG_DECIMAL_STRING}, 1700, -1, "-Infinity", "\"NEGATIVE_INFINITY\""},
    {{.decimal = PG_DECIMAL_DOUBLE}, 1700, -1, "Infinity", "\"Infinity\""},
    {{.decimal = PG_DECIMAL_STRING}, 790, -1, "-$1,234.50", "\"-1234.50\""},
    {{.decimal = PG_DECIMAL_DOUBLE}, 1700, NUMERIC(10, 2), "12345.67", "12345.67"},
    {{.decimal = PG_DECIMAL_DOUBLE}, 1700, -1, "100", "100.0"},
    {{.decimal = PG_DECIMAL_DOUBLE}, 1700, -1, "0.1", "0.1"},
    {{.decimal = PG_DECIMAL_DOUBLE}, 1700, -1, "NaN", "\"NaN\""},
    {{.decimal = PG_DECIMAL_DOUBLE}, 1700, -1, "1" ZEROS400 ".5", "\"Infinity\""},
    {{.decimal = PG_DECIMAL_DOUBLE}, 790, -1, "$1,234.56", "1234.56"},
    {{.money_digits = 3, .money_digits_set = 1}, 790, -1, "$1,234.56", "\"EtaA\""},
    {{.money_digits = 0, .money_digits_set = 1}, 790, -1, "$1,234.56", "\"BNM=\""},
    {{.time = PG_TIME_ADAPTIVE_MICROS}, 1083, 3, "13:45:56.123", "49556123000"},
    {{.time = PG_TIME_ADAPTIVE_MICROS}, 1114, 3, "2024-02-29 13:45:56.123", "1709214356123"},
    {{.time = PG_TIME_CONNECT}, 1083, -1, "13:45:56.123456", "49556123"},
    {{.time = PG_TIME_CONNECT}, 1114, -1, "1969-12-31 23:59:59.5", "-500"},
    {{.time = PG_TIME_CONNECT}, 1082, -1, "2024-02-29", "19782"},
    {{.time = PG_TIME_ISOSTRING}, 1082, -1, "2024-02-29", "\"2024-02-29Z\""},
    {{.time = PG_TIME_ISOSTRING}, 1083, -1, "13:45:56.123456", "\"13:45:56.123456Z\""},
    {{.time = PG_TIME_ISOSTRING}, 1114, -1, "2024-02-29 13:45:56.5", "\"2024-02-29T13:45:56.5Z\""},
    {{.time = PG_TIME_ISOSTRING}, 1114, -1, "infinity", "\"+294247-01-10T04:00:25.2Z\""},
    {{.time = PG_TIME_ISOSTRING}, 1114, 3, "-infinity", "\"-290308-12-21T19:59:27.6Z\""},
    {{.interval = PG_INTERVAL_STRING}, 1186, -1, "P1Y2M3DT4H5M6.789S", "\"P1Y2M3DT4H5M6.789S\""},
    {{.interval = PG_INTERVAL_STRING}, 1186, -1, "P-1M-2DT-1S", "\"P0Y-1M-2DT0H0M-1S\""},
    {{.interval = PG_INTERVAL_STRING}, 1186, -1, "P14M", "\"P1Y2M0DT0H0M0S\""},
    {{.interval = PG_INTERVAL_STRING}, 1186, -1, "PT0S", "\"P0Y0M0DT0H0M0S\""},
    {{.binary = PG_BINARY_BASE64}, 17, -1, "\\xfbff", "\"+/8=\""},
    {{.binary = PG_BINARY_BASE64_URL_SAFE}, 17, -1, "\\xfbff", "\"-_8=\""},
    {{.binary = PG_BINARY_HEX}, 17, -1, "\\xDEADbeef", "\"deadbeef\""},
};

static char resolve(void *ctx, uint32_t oid, uint32_t *base, int32_t *base_typmod, uint32_t *elem);

void test_values(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_fmt(cases[i].oid, cases[i].typmod, cases[i].in, cases[i].want, NULL);
    for (size_t i = 0; i < sizeof mode_cases / sizeof mode_cases[0]; i++)
        check_fmt(mode_cases[i].oid, mode_cases[i].typmod, mode_cases[i].in, mode_cases[i].want,
                  &mode_cases[i].f);
    /* hstore (the resolver says 'h' for 50007): Debezium's HashMap order. */
    int calls = 0;
    pg_type_resolver_t r = {.resolve = resolve, .ctx = &calls};
    pg_format_t json = {.types = &r}, map = {.hstore = PG_HSTORE_MAP, .types = &r};
    check_fmt(50007, -1, "\"k\"=>\"v\", \"n\"=>NULL", "\"{\\\"k\\\":\\\"v\\\",\\\"n\\\":null}\"", &json);
    check_fmt(50007, -1, "", "\"{}\"", &json);
    check_fmt(50007, -1, "\"k\"=>\"v\", \"n\"=>NULL", "{\"k\":\"v\",\"n\":null}", &map);
    /* "b" hashes to bucket 2, "a" to 1, "aa" (3104) to 0: HashMap order. */
    check_fmt(50007, -1, "\"a\"=>\"1\", \"b\"=>\"2\", \"aa\"=>\"3\"", "{\"aa\":\"3\",\"a\":\"1\",\"b\":\"2\"}", &map);
    check_fmt(50007, -1, "\"q\\\"\"=>\"NULL\"", "{\"q\\\"\":\"NULL\"}", &map);
    check_fmt(50007, -1, "\"a\"=>", "\"\\\"a\\\"=>\"", &map);
    /* A domain's typmod reaches its base type (50008: numeric(8,3)). */
    check_fmt(50008, -1, "12.345", "\"MDk=\"", &json);
    /* NULL text → null. */
    pg_buf_t out = {0};
    pg_value_json(&out, 25, -1, NULL, 0, NULL);
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
                                    1015, 2951, 3807, 1185, 1182, 1001, 1020, 600,  12345, 50007, 50008};
    static const int32_t typmods[] = {-1, 0, 1, 3, 6, NUMERIC(10, 2), NUMERIC(5, 0)};
    static const char alphabet[] = "{}[]\",\\ :0123456789-+.eENULLntfx\xc3\xa9\x80\xff\x01$()PYMDTHS=>";
    int calls = 0;
    pg_type_resolver_t r = {.resolve = resolve, .ctx = &calls};
    pg_buf_t out = {0};
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = rnd() % 24;
        char *s = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            s[i] = (iter & 1) ? (char)rnd() : alphabet[rnd() % (sizeof alphabet - 1)];
        uint32_t oid = oids[rnd() % (sizeof oids / sizeof oids[0])];
        pg_buf_reset(&out);
        pg_format_t f = {.decimal = (pg_decimal_mode_t)(iter % 3), .time = (pg_time_mode_t)(iter / 3 % 4),
                         .interval = (pg_interval_mode_t)(iter / 12 % 2), .binary = (pg_binary_mode_t)(iter / 24 % 4),
                         .hstore = (pg_hstore_mode_t)(iter / 96 % 2), .types = &r};
        pg_value_json(&out, oid, typmods[rnd() % (sizeof typmods / sizeof typmods[0])], s, len, &f);
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
 * itself (a broken catalog must not loop), 50006 unknown, 50007 hstore,
 * 50008 a domain over numeric(8,3). */
static char resolve(void *ctx, uint32_t oid, uint32_t *base, int32_t *base_typmod, uint32_t *elem)
{
    (*(int *)ctx)++;
    *base_typmod = -1;
    switch (oid) {
    case 50007: return 'h';
    case 50008: *base = 1700; *base_typmod = NUMERIC(8, 3); return 'd';
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
    pg_format_t p = {.unavailable = "P"};
    pg_datum_json(&out, 25, -1, &d, &p);
    assert_string_equal(out.data, "null");
    pg_buf_reset(&out);
    d.kind = PG_DATUM_UNCHANGED_TOAST;
    pg_format_t dflt = {.unavailable = "__debezium_unavailable_value"};
    pg_datum_json(&out, 25, -1, &d, &dflt);
    assert_string_equal(out.data, "\"__debezium_unavailable_value\"");
    pg_buf_reset(&out);
    pg_datum_json(&out, 23, -1, &d, NULL); /* default placeholder, even for a number column */
    assert_string_equal(out.data, "\"__debezium_unavailable_value\"");
    pg_buf_reset(&out);
    /* Debezium's placeholder per type: json a string, bytea its bytes,
     * text/json arrays a one-string array, int arrays its bytes. */
    pg_datum_json(&out, 3802, -1, &d, &p);
    assert_string_equal(out.data, "\"P\"");
    pg_buf_reset(&out);
    pg_datum_json(&out, 17, -1, &d, &p);
    assert_string_equal(out.data, "\"UA==\"");
    pg_buf_reset(&out);
    pg_format_t phex = {.unavailable = "P", .binary = PG_BINARY_HEX};
    pg_datum_json(&out, 17, -1, &d, &phex);
    assert_string_equal(out.data, "\"P\"");
    pg_buf_reset(&out);
    pg_format_t pb64 = {.unavailable = "P", .binary = PG_BINARY_BASE64};
    pg_datum_json(&out, 17, -1, &d, &pb64);
    assert_string_equal(out.data, "null");
    pg_buf_reset(&out);
    pg_datum_json(&out, 1009, -1, &d, &p);
    assert_string_equal(out.data, "[\"P\"]");
    pg_buf_reset(&out);
    pg_datum_json(&out, 3807, -1, &d, NULL);
    assert_string_equal(out.data, "[\"__debezium_unavailable_value\"]");
    pg_buf_reset(&out);
    int calls = 0;
    pg_type_resolver_t r = {.resolve = resolve, .ctx = &calls};
    pg_format_t phs = {.unavailable = "P", .types = &r}, phsmap = {.unavailable = "P", .types = &r,
                                                               .hstore = PG_HSTORE_MAP};
    pg_datum_json(&out, 50007, -1, &d, &phs);
    assert_string_equal(out.data, "\"{\\\"P\\\":\\\"P\\\"}\"");
    pg_buf_reset(&out);
    pg_datum_json(&out, 50007, -1, &d, &phsmap);
    assert_string_equal(out.data, "{\"P\":\"P\"}");
    pg_buf_reset(&out);
    pg_format_t pint = {.unavailable = "P\xc3\xa9"};
    pg_datum_json(&out, 1007, -1, &d, &pint);
    assert_string_equal(out.data, "[80,-61,-87]");
    pg_buf_reset(&out);
    d.kind = PG_DATUM_TEXT;
    d.data = "";
    d.len = 0;
    pg_datum_json(&out, 25, -1, &d, NULL);
    assert_string_equal(out.data, "\"\""); /* empty string is not NULL */
    pg_buf_reset(&out);
    d.kind = PG_DATUM_BINARY;
    d.data = "\x01\x02";
    d.len = 2;
    pg_datum_json(&out, 17, -1, &d, NULL);
    assert_string_equal(out.data, "\"AQI=\"");
    pg_buf_reset(&out);
    pg_datum_json(&out, 17, -1, NULL, NULL);
    assert_string_equal(out.data, "null");
    pg_buf_reset(&out);

    pg_column_t cols[2] = {{.name = "id", .type_oid = 23, .typmod = -1, .is_key = 1},
                           {.name = "na\"me", .type_oid = 25, .typmod = -1, .is_key = 0}};
    pg_relation_t rel = {.oid = 1, .schema = "public", .table = "t\"x", .replident = 'd', .ncols = 2, .cols = cols};
    pg_datum_t vals[2] = {{PG_DATUM_TEXT, "5", 1}, {PG_DATUM_TEXT, "é", 2}};
    pg_tuple_t tup = {.ncols = 2, .cols = vals};
    pg_row_json(&out, &rel, &tup, 0, NULL);
    assert_string_equal(out.data, "{\"id\":5,\"na\\\"me\":\"é\"}");
    pg_buf_t key = {0};
    pg_row_json(&key, &rel, &tup, 1, NULL);
    assert_string_equal(key.data, "{\"id\":5}");
    pg_buf_t ev = {0};
    pg_row_json(&ev, NULL, &tup, 0, NULL);
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
