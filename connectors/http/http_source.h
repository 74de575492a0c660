/*
 * http_source.h — what the files of http-source share.
 *
 * Floors (nothing calls upward, see /work/shared/STYLE.md):
 *   http_source.c       option table, validation, descriptor; dispatches to a mode
 *   http_webhook.c      mode webhook: an HTTP server (libmicrohttpd) → records
 *   http_poll.c         mode poll: an HTTP API (libcurl) → records
 *   http_source_util.c  pure helpers both modes use: JSON pointers, Link
 *                       headers, HMAC signatures, content types
 */
#ifndef FERRY_CONNECTOR_HTTP_SOURCE_H
#define FERRY_CONNECTOR_HTTP_SOURCE_H

#include <ferry/ferry.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- modes (http_webhook.c, http_poll.c). Task thread, except stop(). ---- */

typedef struct http_webhook http_webhook_t;
ferry_status_t http_webhook_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                 http_webhook_t **out, ferry_error_t *err);
ferry_status_t http_webhook_poll(http_webhook_t *wh, ferry_batch_t *batch, ferry_error_t *err);
ferry_status_t http_webhook_commit(http_webhook_t *wh, const ferry_offset_t *offsets, size_t count,
                                   ferry_error_t *err);
void http_webhook_stop(http_webhook_t *wh); /* any thread */
void http_webhook_close(http_webhook_t *wh);

typedef struct http_poll http_poll_t;
ferry_status_t http_poll_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                              http_poll_t **out, ferry_error_t *err);
ferry_status_t http_poll_poll(http_poll_t *hp, ferry_batch_t *batch, ferry_error_t *err);
void http_poll_close(http_poll_t *hp);

/* ---- helpers (http_source_util.c). Pure functions: any thread. ---- */

/* RFC 6901: the value at pointer in root ("" is root itself), borrowed from
 * root; NULL when a step does not exist or the pointer is malformed (not
 * empty and not starting with '/'). */
json_t *hs_json_pointer(json_t *root, const char *pointer);

/* 1 when pointer is "" or starts with '/' (the syntax RFC 6901 allows). */
int hs_json_pointer_valid(const char *pointer);

/* A JSON value as record bytes: a string's content without quotes, anything
 * else compact JSON. malloc'd (free()), *len set; NULL on out-of-memory. */
char *hs_json_bytes(const json_t *value, size_t *len);

/* The URL of the rel="next" link of an RFC 8288 Link header value (the
 * values of several Link headers joined with ", " are fine), malloc'd;
 * NULL when there is none. Relative URLs are returned as they are. */
char *hs_link_next(const char *link);

/* A listen address "host:port", "[v6]:port" or ":port" (every interface);
 * host is a numeric IP or "localhost". 0, or -1 when it is not one. */
int hs_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len);

/* 1 when a Content-Type value is JSON: application/json or any type with a
 * +json suffix, parameters (;charset=...) ignored, case-insensitive. */
int hs_content_type_is_json(const char *content_type);

/* Equality of two byte spans in time that does not depend on where they
 * differ (CRYPTO_memcmp); spans of different lengths are unequal. */
int hs_bytes_equal(const void *a, size_t alen, const void *b, size_t blen);

typedef enum hs_sig_result {
    HS_SIG_OK = 0,
    HS_SIG_MISSING = 1,   /* no signature header */
    HS_SIG_MALFORMED = 2, /* the header does not have the expected form */
    HS_SIG_MISMATCH = 3,  /* well-formed, but no signature matches */
    HS_SIG_EXPIRED = 4    /* stripe: the timestamp is outside the tolerance */
} hs_sig_result_t;

/* GitHub style: header "sha256=<64 hex digits>" (a bare hex digest is
 * accepted too), HMAC-SHA256(secret, body). header may be NULL. */
hs_sig_result_t hs_verify_github(const char *secret, size_t secret_len, const void *body, size_t body_len,
                                 const char *header);

/* Stripe style: header "t=<unix seconds>,v1=<hex>[,v1=<hex>...]" (other
 * schemes such as v0 are ignored), HMAC-SHA256(secret, "<t>.<body>"); the
 * timestamp must be within tolerance_s of now_s (tolerance_s 0: no check). */
hs_sig_result_t hs_verify_stripe(const char *secret, size_t secret_len, const void *body, size_t body_len,
                                 const char *header, int64_t now_s, int64_t tolerance_s);

/* What a hs_sig_result_t means, for the 401 body. */
const char *hs_sig_result_str(hs_sig_result_t r);

#endif
