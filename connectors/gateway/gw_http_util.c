/*
 * gw_http_util.c — the HTTP transport's answers (JSON, errors in Kafka Connect's shape, the
 * status from gw_code_t) and the fields of its requests (bodies, queries,
 * the bearer token).
 */
#include "gw_http_internal.h"

int gwh_http_stopping(gw_http_t *h) { return atomic_load(&h->stopping) || atomic_load(&h->gw->stopping); }

/* ---- responses ------------------------------------------------------------------------ */

unsigned gwh_status_of(gw_code_t code)
{
    switch (code) {
    case GW_OK: return MHD_HTTP_OK;
    case GW_INVALID: return MHD_HTTP_BAD_REQUEST;
    case GW_DENIED: return MHD_HTTP_UNAUTHORIZED;
    case GW_FORBIDDEN: return MHD_HTTP_FORBIDDEN;
    case GW_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
    case GW_CONFLICT: return MHD_HTTP_CONFLICT;
    case GW_UNAVAILABLE: return MHD_HTTP_SERVICE_UNAVAILABLE;
    case GW_TIMEOUT: return MHD_HTTP_REQUEST_TIMEOUT;
    case GW_DATA_LOSS:
    case GW_INTERNAL: break;
    }
    return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* A JSON string of s; bytes that are not UTF-8 (a client's topic name in a
 * message, say) become '?'. */
json_t *gwh_json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j) return j;
    char *copy = strdup(s);
    if (!copy) return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* Queues status with text as the body (NULL: none); text is freed here. */
enum MHD_Result gwh_send_text(struct MHD_Connection *c, gw_req_t *req, unsigned status, char *text,
                                 const char *allow)
{
    req->answered = 1;
    struct MHD_Response *resp = text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
                                     : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (text) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Queues j (taken). */
enum MHD_Result gwh_send_json(struct MHD_Connection *c, gw_req_t *req, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) {
        text = strdup("{\"error_code\":500,\"message\":\"out of memory\"}");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return gwh_send_text(c, req, status, text, NULL);
}

json_t *gwh_error_json(unsigned status, const char *msg)
{
    json_t *m = gwh_json_text(msg);
    return m ? json_pack("{s:i, s:o}", "error_code", (int)status, "message", m) : NULL;
}

enum MHD_Result gwh_send_error(struct MHD_Connection *c, gw_req_t *req, unsigned status, const char *fmt, ...)
    FERRY_PRINTF(4, 5);
enum MHD_Result gwh_send_error(struct MHD_Connection *c, gw_req_t *req, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return gwh_send_json(c, req, status, gwh_error_json(status, msg));
}

enum MHD_Result gwh_send_fail(struct MHD_Connection *c, gw_req_t *req, const gw_error_t *err)
{
    return gwh_send_error(c, req, gwh_status_of(err->code), "%s", err->msg);
}

enum MHD_Result gwh_send_405(struct MHD_Connection *c, gw_req_t *req, const char *method, const char *url,
                                const char *allow)
{
    char *text = NULL;
    char msg[600];
    snprintf(msg, sizeof(msg), "method %s is not allowed on %s (allowed: %s)", method, url, allow);
    json_t *j = gwh_error_json(MHD_HTTP_METHOD_NOT_ALLOWED, msg);
    if (j) text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return text ? gwh_send_text(c, req, MHD_HTTP_METHOD_NOT_ALLOWED, text, allow) : MHD_NO;
}

/* ---- what a request says ---------------------------------------------------------------- */

/* The bearer token (Authorization: Bearer ...), or NULL. */
const char *gwh_req_token(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!v || strncasecmp(v, "Bearer ", 7) != 0) return NULL;
    v += 7;
    while (*v == ' ') v++;
    return v;
}

/* The body as a JSON object; NULL with err. */
json_t *gwh_body_object(const gw_req_t *req, gw_error_t *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(req->body ? req->body : "", req->len, JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        gw_fail(err, GW_INVALID, "the body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        gw_fail(err, GW_INVALID, "the body must be a JSON object");
        return NULL;
    }
    return doc;
}

/* A name field: 0 with *out (NULL when absent or null and optional; owned
 * by doc), -1 with err naming the field. */
int gwh_field_str(json_t *doc, const char *name, int required, const char **out, gw_error_t *err)
{
    json_t *v = json_object_get(doc, name);
    *out = NULL;
    if (!v || json_is_null(v)) return required ? gw_fail(err, GW_INVALID, "field '%s' is missing", name) : 0;
    if (!json_is_string(v)) return gw_fail(err, GW_INVALID, "field '%s' must be a string", name);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return gw_fail(err, GW_INVALID, "field '%s' must not contain NUL", name);
    *out = json_string_value(v);
    return 0;
}

/* An integer field in [min, max]: 0 with *out (unchanged when absent and
 * optional), -1 with err naming the field. */
int gwh_field_int(json_t *doc, const char *name, int required, int64_t min, int64_t max, int64_t *out,
                     gw_error_t *err)
{
    json_t *v = json_object_get(doc, name);
    if (!v || json_is_null(v)) return required ? gw_fail(err, GW_INVALID, "field '%s' is missing", name) : 0;
    if (!json_is_integer(v)) return gw_fail(err, GW_INVALID, "field '%s' must be an integer", name);
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return gw_fail(err, GW_INVALID, "field '%s': %" JSON_INTEGER_FORMAT " is not in %" PRId64 "..%" PRId64, name, n,
                       min, max);
    *out = n;
    return 0;
}

/* The bytes of field name (base64) or text_name (UTF-8 text): *data NULL
 * when neither is given or the one given is null. scratch holds decoded
 * base64 (the caller frees it). */
int gwh_field_bytes(json_t *doc, const char *name, const char *text_name, s3_buf_t *scratch, const void **data,
                       size_t *len, gw_error_t *err)
{
    json_t *b = json_object_get(doc, name), *t = json_object_get(doc, text_name);
    *data = NULL;
    *len = 0;
    if (b && t) return gw_fail(err, GW_INVALID, "fields '%s' and '%s' exclude each other", name, text_name);
    json_t *v = b ? b : t;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v))
        return gw_fail(err, GW_INVALID, "field '%s' must be a %s string", b ? name : text_name, b ? "base64" : "text");
    if (t) {
        *data = json_string_value(t);
        *len = json_string_length(t);
        return 0;
    }
    if (s3_b64_decode(json_string_value(b), json_string_length(b), scratch) != 0)
        return gw_fail(err, GW_INVALID, "field '%s' is not base64 (RFC 4648, padded)", name);
    *data = scratch->data ? scratch->data : ""; /* "" is an empty value, not a tombstone */
    *len = scratch->len;
    return 0;
}

/* An integer query parameter in [min, max]: 0 with *out (unchanged when
 * absent), -1 with err naming it. */
int gwh_query_int(struct MHD_Connection *c, const char *name, int64_t min, int64_t max, int64_t *out,
                     gw_error_t *err)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!v) return 0;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < min || n > max)
        return gw_fail(err, GW_INVALID, "query parameter %s=%s: not an integer in %" PRId64 "..%" PRId64, name, v,
                       min, max);
    *out = n;
    return 0;
}

int gwh_query_str(struct MHD_Connection *c, const char *name, const char **out, gw_error_t *err)
{
    *out = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!*out || !**out) return gw_fail(err, GW_INVALID, "query parameter '%s' is missing", name);
    return 0;
}

/* An unknown session: 401 for a request without a valid token (nothing is
 * told to strangers), else 404. */
enum MHD_Result gwh_send_no_session(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id)
{
    gw_error_t err = {0};
    if (gw_authorize(h->gw, NULL, gwh_req_token(c), &err) != 0) return gwh_send_fail(c, req, &err);
    return gwh_send_error(c, req, MHD_HTTP_NOT_FOUND, "no subscription %s (it ended, or is on another gateway)", id);
}
