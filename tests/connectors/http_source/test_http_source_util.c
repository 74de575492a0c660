/*
 * test_http_source_util.c — the pure pieces of http-source: JSON pointers
 * (RFC 6901's own examples), Link headers (RFC 8288 forms, GitHub's), HMAC
 * signatures (GitHub's documented test vector; Stripe's scheme), content
 * types and listen addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_source.h"

static void test_json_pointer_rfc6901(void **state)
{
    (void)state;
    json_t *doc = json_loads("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"m~n\":8,\" \":7}", 0, NULL);
    assert_non_null(doc);
    assert_ptr_equal(hs_json_pointer(doc, ""), doc);
    assert_string_equal(json_string_value(hs_json_pointer(doc, "/foo/0")), "bar");
    assert_string_equal(json_string_value(hs_json_pointer(doc, "/foo/1")), "baz");
    assert_int_equal(json_integer_value(hs_json_pointer(doc, "/")), 0);
    assert_int_equal(json_integer_value(hs_json_pointer(doc, "/a~1b")), 1);
    assert_int_equal(json_integer_value(hs_json_pointer(doc, "/m~0n")), 8);
    assert_int_equal(json_integer_value(hs_json_pointer(doc, "/ ")), 7);
    assert_null(hs_json_pointer(doc, "/foo/2"));   /* past the end */
    assert_null(hs_json_pointer(doc, "/foo/01"));  /* leading zero */
    assert_null(hs_json_pointer(doc, "/foo/-"));   /* not an index */
    assert_null(hs_json_pointer(doc, "/nope"));
    assert_null(hs_json_pointer(doc, "foo"));      /* no leading slash */
    assert_null(hs_json_pointer(doc, "/m~2n"));    /* bad escape */
    assert_null(hs_json_pointer(doc, "/foo/0/x")); /* into a string */
    assert_true(hs_json_pointer_valid(""));
    assert_true(hs_json_pointer_valid("/a"));
    assert_false(hs_json_pointer_valid("a"));
    json_decref(doc);
}

static void test_json_bytes(void **state)
{
    (void)state;
    json_t *doc = json_loads("{\"s\":\"text\",\"n\":42,\"o\":{\"b\":1,\"a\":[true]}}", 0, NULL);
    size_t len = 0;
    char *b = hs_json_bytes(json_object_get(doc, "s"), &len);
    assert_int_equal(len, 4);
    assert_memory_equal(b, "text", 4);
    free(b);
    b = hs_json_bytes(json_object_get(doc, "n"), &len);
    assert_string_equal(b, "42");
    free(b);
    b = hs_json_bytes(json_object_get(doc, "o"), &len);
    assert_string_equal(b, "{\"b\":1,\"a\":[true]}");
    free(b);
    json_decref(doc);
}

static void test_link_next(void **state)
{
    (void)state;
    char *u = hs_link_next("<https://api.github.com/repos/x/y/issues?page=2>; rel=\"next\", "
                           "<https://api.github.com/repos/x/y/issues?page=5>; rel=\"last\"");
    assert_string_equal(u, "https://api.github.com/repos/x/y/issues?page=2");
    free(u);
    u = hs_link_next("<http://a/1>; rel=\"prev\", </items?after=3>;rel=next");
    assert_string_equal(u, "/items?after=3");
    free(u);
    u = hs_link_next("<http://a/n>; title=\"a, b; rel=next\"; rel=\"last next\"");
    assert_string_equal(u, "http://a/n");
    free(u);
    assert_null(hs_link_next("<http://a/1>; rel=\"prev\", <http://a/9>; rel=\"last\""));
    assert_null(hs_link_next("<http://a/1>; rel=\"nextpage\""));
    assert_null(hs_link_next(""));
    assert_null(hs_link_next("garbage"));
}

static void test_content_type(void **state)
{
    (void)state;
    assert_true(hs_content_type_is_json("application/json"));
    assert_true(hs_content_type_is_json("Application/JSON; charset=utf-8"));
    assert_true(hs_content_type_is_json("application/vnd.github+json"));
    assert_false(hs_content_type_is_json("text/plain"));
    assert_false(hs_content_type_is_json("application/jsonx"));
    assert_false(hs_content_type_is_json("application/x-www-form-urlencoded"));
    assert_false(hs_content_type_is_json(NULL));
}

/* GitHub's documented example: secret "It's a Secret to Everybody",
 * payload "Hello, World!". */
static void test_github_signature(void **state)
{
    (void)state;
    const char *secret = "It's a Secret to Everybody", *body = "Hello, World!";
    const char *sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    size_t sl = strlen(secret), bl = strlen(body);
    assert_int_equal(hs_verify_github(secret, sl, body, bl, sig), HS_SIG_OK);
    assert_int_equal(hs_verify_github(secret, sl, body, bl, sig + 7), HS_SIG_OK); /* bare hex */
    assert_int_equal(hs_verify_github(secret, sl, "Hello, World?", bl, sig), HS_SIG_MISMATCH);
    assert_int_equal(hs_verify_github("other", 5, body, bl, sig), HS_SIG_MISMATCH);
    assert_int_equal(hs_verify_github(secret, sl, body, bl, "sha256=7571"), HS_SIG_MALFORMED);
    assert_int_equal(hs_verify_github(secret, sl, body, bl,
                                      "sha256=z57107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
                     HS_SIG_MALFORMED);
    assert_int_equal(hs_verify_github(secret, sl, body, bl, NULL), HS_SIG_MISSING);
}

#define STRIPE_V1 "7d44587dddbaf4c7f70fef20f48cd594834ffea1641e3ac227b84408298738af"
#define STRIPE_V1_OTHER "54598408bfdfd701df92e01e226bf761591acc3aa090edc2be8cb9a78cf5bac3"

static void test_stripe_signature(void **state)
{
    (void)state;
    /* HMAC-SHA256 of "1700000000.{}" with "whsec" and with "other", from
     * `printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec`. */
    const char *secret = "whsec";
    const char *sig = "t=1700000000,v1=" STRIPE_V1;
    size_t sl = strlen(secret);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, sig, 1700000000, 300), HS_SIG_OK);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, sig, 1700000100, 300), HS_SIG_OK);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, sig, 1700000301, 300), HS_SIG_EXPIRED);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, sig, 1800000000, 0), HS_SIG_OK); /* no tolerance */
    assert_int_equal(hs_verify_stripe(secret, sl, "{ }", 3, sig, 1700000000, 300), HS_SIG_MISMATCH);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2,
                                      "t=1700000000,v1=" STRIPE_V1_OTHER ",v1=" STRIPE_V1, 1700000000, 300),
                     HS_SIG_OK); /* any v1 may match (secret rotation) */
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, "t=1700000001,v1=" STRIPE_V1, 1700000000, 300),
                     HS_SIG_MISMATCH);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, "v1=" STRIPE_V1, 1700000000, 300), HS_SIG_MALFORMED);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, "t=1700000000", 1700000000, 300), HS_SIG_MALFORMED);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, "t=abc,v1=" STRIPE_V1, 1700000000, 300),
                     HS_SIG_MALFORMED);
    assert_int_equal(hs_verify_stripe(secret, sl, "{}", 2, NULL, 1700000000, 300), HS_SIG_MISSING);
}

static void test_bytes_equal(void **state)
{
    (void)state;
    assert_true(hs_bytes_equal("abc", 3, "abc", 3));
    assert_false(hs_bytes_equal("abc", 3, "abd", 3));
    assert_false(hs_bytes_equal("abc", 3, "abcd", 4));
}

static void test_listen(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(hs_parse_listen("127.0.0.1:8090", &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(hs_parse_listen("[::1]:80", &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(hs_parse_listen(":9000", &ss, &len), 0);
    assert_int_equal(hs_parse_listen("localhost:1", &ss, &len), 0);
    assert_int_equal(hs_parse_listen("127.0.0.1", &ss, &len), -1);
    assert_int_equal(hs_parse_listen("127.0.0.1:99999", &ss, &len), -1);
    assert_int_equal(hs_parse_listen("example.com:80", &ss, &len), -1);
    assert_int_equal(hs_parse_listen("1.2.3.4:x", &ss, &len), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_pointer_rfc6901), cmocka_unit_test(test_json_bytes),
        cmocka_unit_test(test_link_next),            cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_github_signature),     cmocka_unit_test(test_stripe_signature),
        cmocka_unit_test(test_bytes_equal),          cmocka_unit_test(test_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
