/*
 * xf_test.h — helpers for the transform unit tests: a connector config from
 * key/value pairs, a record, and what the chain made of it as text.
 */
#ifndef FERRY_XF_TEST_H
#define FERRY_XF_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/host.h"
#include "transform/transform.h"

static const ferry_option_t xf_test_no_options[] = {FERRY_OPTIONS_END};
static const ferry_connector_t xf_test_source = {.kind = FERRY_SOURCE, .name = "test-source",
                                                 .options = xf_test_no_options};

/* A source connector's config from "k", "v", ..., NULL ("connector" added). */
static inline ferry_config_t *xf_test_config(const char *first, ...)
{
    const char *keys[64], *values[64];
    size_t n = 0;
    keys[n] = "connector", values[n++] = "test-source";
    va_list ap;
    va_start(ap, first);
    for (const char *k = first; k && n < 63; k = va_arg(ap, const char *)) {
        keys[n] = k;
        values[n++] = va_arg(ap, const char *);
    }
    va_end(ap);
    cfg_errors_t errs = {0};
    ferry_config_t *cfg = connector_config_from_kv("t", keys, values, NULL, n, &xf_test_source, host_api(), &errs);
    if (!cfg) fprintf(stderr, "config: %s\n", errs.count ? errs.items[0] : "?");
    cfg_errors_clear(&errs);
    return cfg;
}

/* Chains are built for a sink's records when set (default: a source's). */
static int xf_test_sink;

/* The chain's errors, joined (for asserting on messages); "" for none. */
static inline xf_chain_t *xf_test_chain(ferry_config_t *cfg, char *errbuf, size_t errlen)
{
    cfg_errors_t errs = {0};
    xf_chain_t *ch = xf_chain_new("t", cfg, xf_test_sink, &errs);
    errbuf[0] = '\0';
    for (size_t i = 0; i < errs.count; i++)
        snprintf(errbuf + strlen(errbuf), errlen - strlen(errbuf), "%s%s", i ? "\n" : "", errs.items[i]);
    cfg_errors_clear(&errs);
    return ch;
}

/* The value's bytes under conv (NULL: its own form), as a malloc'd string ("(null)" for null). */
static inline char *xf_test_value(xf_record_t *r, const xf_converter_t *conv)
{
    const void *out;
    size_t len;
    char *owned, err[256];
    if (xf_data_bytes(&r->value, conv, &out, &len, &owned, err, sizeof(err)) != 0) {
        char *e = malloc(strlen(err) + 8);
        sprintf(e, "ERROR: %s", err);
        return e;
    }
    char *s = malloc(len + 7);
    if (out) memcpy(s, out, len), s[len] = '\0';
    else strcpy(s, "(null)");
    free(owned);
    return s;
}

static inline char *xf_test_key(xf_record_t *r, const xf_converter_t *conv)
{
    xf_data_t v = r->value;
    r->value = r->key;
    char *s = xf_test_value(r, conv);
    r->key = r->value;
    r->value = v;
    return s;
}

static const xf_converter_t JSON_SCHEMAS __attribute__((unused)) = {XF_CONV_JSON, 1};
static const xf_converter_t JSON_PLAIN __attribute__((unused)) = {XF_CONV_JSON, 0};
static const xf_converter_t STRING __attribute__((unused)) = {XF_CONV_STRING, 0};
static const xf_converter_t BYTES __attribute__((unused)) = {XF_CONV_BYTES, 0};

/* A chain from the pairs, which must build (sets cfg and ch). */
#define CHAIN(cfg, ...)                                                                                                \
    do {                                                                                                               \
        char cerr_[1024];                                                                                              \
        cfg = xf_test_config(__VA_ARGS__, NULL);                                                                       \
        assert_non_null(cfg);                                                                                          \
        ch = xf_test_chain(cfg, cerr_, sizeof(cerr_));                                                                 \
        if (!ch) fail_msg("chain: %s", cerr_);                                                                         \
    } while (0)

/* The chain's error for cfg (it must not build) contains want; cfg freed. */
static inline void want_config_error(const char *want, ferry_config_t *cfg)
{
    char err[1024];
    assert_non_null(cfg);
    xf_chain_t *ch = xf_test_chain(cfg, err, sizeof(err));
    if (ch || !strstr(err, want)) fail_msg("wanted an error with \"%s\", got \"%s\"", want, ch ? "(none)" : err);
    config_free(cfg);
}

/* The value's bytes under c are want. */
static inline void want_value(xf_record_t *r, const xf_converter_t *c, const char *want)
{
    char *got = xf_test_value(r, c);
    assert_string_equal(got, want);
    free(got);
}

/* The last header by that name, as text ("(null)" for a null value, NULL when absent). */
static inline const char *header(const xf_record_t *r, const char *name)
{
    const xf_header_t *hd = xf_header_last(r, name);
    return !hd ? NULL : hd->value ? (const char *)hd->value : "(null)";
}

#endif
