/*
 * http_sink_body.h — the pure pieces of http-sink: growing byte buffers, the
 * url template, request bodies in each format, and Retry-After. No I/O, no
 * host calls: unit-tested on their own (tests/connectors/http_sink).
 */
#ifndef FERRY_CONNECTOR_HTTP_SINK_BODY_H
#define FERRY_CONNECTOR_HTTP_SINK_BODY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A growing byte buffer. data is owned (malloc); hs_buf_free(NULL-data) is fine. */
typedef struct hs_buf {
    char *data;
    size_t len, cap;
} hs_buf_t;

/* 0, or -1 when out of memory (the buffer is unchanged). */
int hs_buf_append(hs_buf_t *buf, const void *bytes, size_t len);
void hs_buf_free(hs_buf_t *buf);

/* ---- url template ---------------------------------------------------------------- */

/* The url option, split into literal text and placeholders ${topic},
 * ${partition}, ${key}. Owned by whoever compiled it; hs_url_free. */
typedef struct hs_url hs_url_t;

/* NULL with why filled (naming the placeholder or what is wrong) when the
 * template is not an http:// or https:// URL or names an unknown
 * placeholder. */
hs_url_t *hs_url_compile(const char *tmpl, char *why, size_t whylen);
void hs_url_free(hs_url_t *url);
/* 1 when the expansion depends on the record (any placeholder). */
int hs_url_has_placeholders(const hs_url_t *url);
/* 1 when it depends on the record's key: batches then cut where it changes. */
int hs_url_uses_key(const hs_url_t *url);
/* Expands the template into out (reset first): topic and key percent-encoded
 * (RFC 3986 unreserved bytes kept), a NULL key as the empty string. 0, or -1
 * when out of memory. */
int hs_url_expand(const hs_url_t *url, const char *topic, int32_t partition, const void *key, size_t key_len,
                  hs_buf_t *out);

/* ---- bodies ------------------------------------------------------------------------ */

typedef enum { HS_FMT_JSON_ARRAY, HS_FMT_NDJSON, HS_FMT_SINGLE } hs_format_t;

/* 0 and *fmt set, or -1 for an unknown name. */
int hs_format_parse(const char *name, hs_format_t *fmt);
/* The default Content-Type of a format. */
const char *hs_format_content_type(hs_format_t fmt);

/* Appends one record value to a body in the making (count: records already
 * in it). json-array and ndjson write a value that is JSON (value_is_json,
 * or found to parse) as JSON, in one line for ndjson, and any other value as
 * a JSON string (bytes that are not UTF-8 become U+FFFD); single writes the
 * bytes as they are. 0, or -1 when out of memory. */
int hs_body_add(hs_buf_t *body, hs_format_t fmt, size_t count, const void *value, size_t value_len,
                int value_is_json);
/* Closes a body (json-array: the closing bracket; "[]" when empty). */
int hs_body_finish(hs_buf_t *body, hs_format_t fmt, size_t count);
/* The bytes hs_body_add would add for a value, at most (for batch.max.bytes). */
size_t hs_body_estimate(hs_format_t fmt, size_t value_len);

/* ---- responses ---------------------------------------------------------------------- */

/* A Retry-After value (delta-seconds or an HTTP-date) as milliseconds from
 * now (wall clock now, in seconds since the epoch); -1 when it is neither.
 * A date in the past is 0. */
int64_t hs_retry_after_ms(const char *value, time_t now);

/* Exponential backoff with jitter for the attempt-th retry (1, 2, ...):
 * a uniformly random wait between half of and the whole of
 * min(initial * 2^(attempt-1), max). rnd is a random number in [0, 1). */
int64_t hs_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, double rnd);

#endif
