/*
 * Unit tests of http-sink's pure pieces (connectors/http/http_sink_body.c):
 * the url template, request bodies per format, Retry-After and backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_sink_body.h"

static void test_url_expand(void **unused)
{
    (void)unused;
    char why[256];
    hs_url_t *url = hs_url_compile("http://h:1/t/${topic}/p${partition}?k=${key}", why, sizeof(why));
    assert_non_null(url);
    assert_true(hs_url_has_placeholders(url));
    assert_true(hs_url_uses_key(url));
    hs_buf_t out = {0};
    assert_int_equal(hs_url_expand(url, "orders.v1", 7, "a b/ü", strlen("a b/ü"), &out), 0);
    assert_string_equal(out.data, "http://h:1/t/orders.v1/p7?k=a%20b%2F%C3%BC");
    assert_int_equal(hs_url_expand(url, "x", 0, NULL, 0, &out), 0);
    assert_string_equal(out.data, "http://h:1/t/x/p0?k=");
    hs_buf_free(&out);
    hs_url_free(url);

    url = hs_url_compile("https://h/plain", why, sizeof(why));
    assert_non_null(url);
    assert_false(hs_url_has_placeholders(url));
    hs_url_free(url);
}

static void test_url_errors(void **unused)
{
    (void)unused;
    char why[256];
    assert_null(hs_url_compile("h:1/x", why, sizeof(why)));
    assert_non_null(strstr(why, "not an http:// or https:// URL"));
    assert_null(hs_url_compile("http://h/${foo}", why, sizeof(why)));
    assert_non_null(strstr(why, "unknown placeholder ${foo}"));
    assert_null(hs_url_compile("http://h/${topic", why, sizeof(why)));
    assert_non_null(strstr(why, "without a closing"));
}

static void body_of(hs_format_t fmt, const char *const *values, size_t n, const int *is_json, char *out, size_t size)
{
    hs_buf_t body = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hs_body_add(&body, fmt, i, values[i], strlen(values[i]), is_json ? is_json[i] : 0), 0);
    assert_int_equal(hs_body_finish(&body, fmt, n), 0);
    snprintf(out, size, "%s", body.data);
    hs_buf_free(&body);
}

static void test_bodies(void **unused)
{
    (void)unused;
    const char *values[] = {"{\"a\":1}", "plain \"text\"\n", "42", "{\n \"b\": [1, 2]\n}", "bad\xff"};
    char out[512];
    body_of(HS_FMT_JSON_ARRAY, values, 5, NULL, out, sizeof(out));
    assert_string_equal(out, "[{\"a\":1},\"plain \\\"text\\\"\\n\",42,{\n \"b\": [1, 2]\n},\"bad\xef\xbf\xbd\"]");
    body_of(HS_FMT_NDJSON, values, 5, NULL, out, sizeof(out));
    assert_string_equal(out, "{\"a\":1}\n\"plain \\\"text\\\"\\n\"\n42\n{\"b\":[1,2]}\n\"bad\xef\xbf\xbd\"\n");
    body_of(HS_FMT_SINGLE, values, 1, NULL, out, sizeof(out));
    assert_string_equal(out, "{\"a\":1}");
    body_of(HS_FMT_JSON_ARRAY, values, 0, NULL, out, sizeof(out));
    assert_string_equal(out, "[]");
    /* A value flagged JSON is trusted as it is. */
    const char *flagged[] = {"[1]"};
    int yes[] = {1};
    body_of(HS_FMT_JSON_ARRAY, flagged, 1, yes, out, sizeof(out));
    assert_string_equal(out, "[[1]]");
    hs_format_t fmt;
    assert_int_equal(hs_format_parse("ndjson", &fmt), 0);
    assert_int_equal(fmt, HS_FMT_NDJSON);
    assert_int_equal(hs_format_parse("xml", &fmt), -1);
    assert_string_equal(hs_format_content_type(HS_FMT_NDJSON), "application/x-ndjson");
}

static void test_retry_after(void **unused)
{
    (void)unused;
    time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(hs_retry_after_ms("120", now), 120000);
    assert_int_equal(hs_retry_after_ms(" 0", now), 0);
    assert_int_equal(hs_retry_after_ms("Sun, 06 Nov 1994 08:49:40 GMT", now), 3000);
    assert_int_equal(hs_retry_after_ms("Sun, 06 Nov 1994 08:00:00 GMT", now), 0);
    assert_int_equal(hs_retry_after_ms("soon", now), -1);
    assert_int_equal(hs_retry_after_ms("12abc", now), -1);
    assert_int_equal(hs_retry_after_ms("99999999", now), 86400000);
}

static void test_backoff(void **unused)
{
    (void)unused;
    assert_int_equal(hs_backoff_ms(1, 100, 10000, 0.0), 50);
    assert_int_equal(hs_backoff_ms(1, 100, 10000, 0.999), 99);
    assert_int_equal(hs_backoff_ms(4, 100, 10000, 0.0), 400);
    assert_int_equal(hs_backoff_ms(30, 100, 10000, 0.0), 5000);
    assert_true(hs_backoff_ms(30, 100, 10000, 0.999) <= 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_expand), cmocka_unit_test(test_url_errors), cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_retry_after), cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
