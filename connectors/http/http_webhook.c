/*
 * http_webhook.c — http-source mode webhook: HTTP callers → records.
 *
 * At-least-once to the caller: a request is answered 2xx only after Kafka
 * stored its records. The SDK says so through commit(): the host calls it
 * with the source offsets that are durable, and the offset tracker only
 * ever commits an offset once that record *and every record before it* is
 * acknowledged. So every record carries {"seq":N}, a per-task sequence
 * number given in the order records enter batches, and commit({"seq":N})
 * finishes every request whose last record has seq <= N.
 *
 * Threads. libmicrohttpd runs one thread per connection (max.connections);
 * the request handler checks the request, turns the body into records,
 * appends the request to the waiting list and blocks on its own condition
 * variable until commit() (task thread) marks it stored, the deadline
 * (ack.timeout) passes, or the task stops: a 503 with Retry-After then. The
 * task thread's poll() copies waiting records into its batch and asks the
 * host for a commit soon (request_commit), so that callers wait for one
 * produce and one offsets write, not offsets.flush.interval.
 *
 * Everything under `lock`: the waiting list, the sequence counter, each
 * request's state. A request's memory belongs to its handler thread, which
 * frees it after answering; the list only points at it, and the handler
 * unlinks it (under the lock) before it answers.
 *
 * Backpressure: when max.pending.requests wait already (Kafka is slow or
 * gone, or the batches are full), a new request is answered 503 at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http_source.h"

/* How long poll() waits for requests when none are waiting (SDK: ~100 ms),
 * and when some wait for their commit: then the host should get to its
 * offsets flush soon. */
#define WH_POLL_IDLE_MS 100
#define WH_POLL_BUSY_MS 5

typedef enum wh_state {
    WH_QUEUED = 0, /* on the list, not every record in a batch yet */
    WH_ADDED = 1,  /* every record in a batch: waiting for commit() */
    WH_STORED = 2, /* commit() covered its last record: answer 2xx */
    WH_FAILED = 3  /* the task stops: answer 503 */
} wh_state_t;

typedef struct wh_span {
    char *ptr; /* malloc'd; NULL = none */
    size_t len;
} wh_span_t;

typedef struct wh_request {
    struct wh_request *prev, *next; /* the waiting list (under lock) */
    pthread_cond_t cond;            /* signalled when state leaves QUEUED/ADDED */
    wh_state_t state;
    int64_t first_seq, last_seq;    /* seqs of its records: first..last */
    size_t nrecs, next_rec;         /* records, and how many are in a batch */
    wh_span_t *keys, *values;       /* nrecs each (owned) */
    ferry_header_t *headers;        /* nheaders, names and values owned */
    size_t nheaders;
    uint32_t flags;                 /* FERRY_RECORD_* of every record */
} wh_request_t;

/* One HTTP request on its connection thread (MHD's con_cls). */
typedef struct wh_conn {
    char *body; /* malloc'd */
    size_t len;
    int too_big;
    int answered;
} wh_conn_t;

struct http_webhook {
    ferry_task_t *task;
    const ferry_host_t *host;
    /* Options; strings owned by the config. */
    const char *topic, *path, *listen, *key_header, *key_pointer;
    const char *const *forward; /* headers.forward */
    size_t nforward;
    int split, need_json;
    size_t max_body;
    int64_t ack_timeout_ms, retry_after_s;
    size_t max_pending;
    enum { WH_AUTH_NONE, WH_AUTH_BEARER, WH_AUTH_HMAC } auth;
    const char *token, *secret, *sig_header;
    int stripe;
    int64_t tolerance_s;
    char partition[64]; /* {"webhook":"<task id>"} */

    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    pthread_cond_t wake;           /* a request was queued: poll() */
    wh_request_t *head, *tail;     /* waiting requests, in seq order */
    wh_request_t *next_add;        /* first QUEUED request, or NULL */
    size_t pending;                /* requests on the list */
    int64_t next_seq;
    int stopping;                  /* no more 2xx: stop() or close() */
};

static int64_t wh_now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec wh_abs_deadline(int64_t ms_from_now)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms_from_now / 1000);
    ts.tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int wh_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) return -1;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

/* ---- requests ------------------------------------------------------------------------------------ */

static void wh_request_free(wh_request_t *req)
{
    if (req == NULL) return;
    for (size_t i = 0; i < req->nrecs; i++) {
        free(req->keys[i].ptr);
        free(req->values[i].ptr);
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        free((char *)req->headers[i].name);
        free((void *)req->headers[i].value);
    }
    free(req->keys);
    free(req->values);
    free(req->headers);
    pthread_cond_destroy(&req->cond);
    free(req);
}

/* Unlinks req from the waiting list. Under lock. */
static void wh_unlink(http_webhook_t *wh, wh_request_t *req)
{
    if (wh->next_add == req) {
        wh->next_add = req->next;
    }
    if (req->prev) req->prev->next = req->next;
    else wh->head = req->next;
    if (req->next) req->next->prev = req->prev;
    else wh->tail = req->prev;
    req->prev = req->next = NULL;
    wh->pending--;
}

/* ---- responses ---------------------------------------------------------------------------------- */

/* Queues {"error": msg} (or body when not NULL) with status code. Connection thread. */
static enum MHD_Result wh_send(http_webhook_t *wh, wh_conn_t *conn, struct MHD_Connection *c, unsigned code,
                               const char *body_json, const char *msg)
{
    char *text = NULL;
    if (body_json == NULL) {
        json_t *j = json_pack("{s:s}", "error", msg);
        text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    const char *out = body_json ? body_json : text ? text : "{\"error\":\"out of memory\"}";
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(out), (void *)out, MHD_RESPMEM_MUST_COPY);
    free(text);
    if (resp == NULL) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE) {
        char secs[24];
        snprintf(secs, sizeof(secs), "%" PRId64, wh->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    } else if (code == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST, PUT");
    } else if (code == MHD_HTTP_UNAUTHORIZED && wh->auth == WH_AUTH_BEARER) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    }
    enum MHD_Result rc = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    conn->answered = 1;
    return rc;
}

static enum MHD_Result wh_send_error(http_webhook_t *wh, wh_conn_t *conn, struct MHD_Connection *c, unsigned code,
                                     const char *fmt, ...) FERRY_PRINTF(5, 6);
static enum MHD_Result wh_send_error(http_webhook_t *wh, wh_conn_t *conn, struct MHD_Connection *c, unsigned code,
                                     const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wh->host->metric_add(wh->task, code == MHD_HTTP_SERVICE_UNAVAILABLE ? "requests_unavailable" : "requests_refused",
                         1);
    return wh_send(wh, conn, c, code, NULL, msg);
}

/* ---- checks before the body --------------------------------------------------------------------- */

static int wh_bearer_ok(http_webhook_t *wh, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) return 0;
    return hs_bytes_equal(h + 7, strlen(h + 7), wh->token, strlen(wh->token));
}

/* Everything that needs only the request line and headers. Returns MHD_YES
 * with conn->answered set when it answered. */
static enum MHD_Result wh_check_head(http_webhook_t *wh, wh_conn_t *conn, struct MHD_Connection *c, const char *url,
                                     const char *method)
{
    if (strcmp(url, wh->path) != 0)
        return wh_send_error(wh, conn, c, MHD_HTTP_NOT_FOUND, "no webhook at %s (this one is at %s)", url, wh->path);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0 && strcmp(method, MHD_HTTP_METHOD_PUT) != 0)
        return wh_send_error(wh, conn, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed: use POST or PUT",
                             method);
    if (wh->auth == WH_AUTH_BEARER && !wh_bearer_ok(wh, c))
        return wh_send_error(wh, conn, c, MHD_HTTP_UNAUTHORIZED,
                             "a valid 'Authorization: Bearer <token>' header is required");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > wh->max_body) {
        conn->too_big = 1;
        return wh_send_error(wh, conn, c, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes (max.body.bytes)",
                             wh->max_body);
    }
    if (wh->need_json) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!hs_content_type_is_json(ct))
            return wh_send_error(wh, conn, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                 "Content-Type %s is not accepted: this webhook needs application/json (%s)",
                                 ct ? ct : "(none)", wh->split ? "split.json.array" : "key.json.pointer");
    }
    return MHD_YES;
}

static enum MHD_Result wh_check_signature(http_webhook_t *wh, wh_conn_t *conn, struct MHD_Connection *c)
{
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, wh->sig_header);
    size_t slen = strlen(wh->secret);
    hs_sig_result_t r =
        wh->stripe ? hs_verify_stripe(wh->secret, slen, conn->body, conn->len, sig, wh_now_ms(CLOCK_REALTIME) / 1000,
                                      wh->tolerance_s)
                   : hs_verify_github(wh->secret, slen, conn->body, conn->len, sig);
    if (r == HS_SIG_OK) return MHD_YES;
    return wh_send_error(wh, conn, c, MHD_HTTP_UNAUTHORIZED, "%s: %s", wh->sig_header, hs_sig_result_str(r));
}

/* ---- building records --------------------------------------------------------------------------- */

static int wh_span_dup(wh_span_t *s, const void *p, size_t n)
{
    s->ptr = malloc(n ? n : 1);
    if (s->ptr == NULL) return -1;
    if (n) memcpy(s->ptr, p, n);
    s->len = n;
    return 0;
}

/* The key of a record whose JSON is doc (or NULL): key.header or
 * key.json.pointer; none leaves the span NULL. */
static int wh_key(http_webhook_t *wh, struct MHD_Connection *c, json_t *doc, wh_span_t *key)
{
    if (wh->key_header) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, wh->key_header);
        return v ? wh_span_dup(key, v, strlen(v)) : 0;
    }
    if (wh->key_pointer && doc) {
        json_t *v = hs_json_pointer(doc, wh->key_pointer);
        if (v == NULL || json_is_null(v)) return 0;
        key->ptr = hs_json_bytes(v, &key->len);
        return key->ptr ? 0 : -1;
    }
    return 0;
}

/* A request with its records built from conn's body, or NULL with *code and
 * msg set (400 for bad JSON, 500 for out of memory). */
static wh_request_t *wh_build(http_webhook_t *wh, wh_conn_t *conn, struct MHD_Connection *c, unsigned *code,
                              char *msg, size_t msglen)
{
    wh_request_t *req = calloc(1, sizeof(*req));
    if (req == NULL || wh_cond_init(&req->cond) != 0) {
        free(req);
        *code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    json_t *doc = NULL;
    if (wh->need_json) {
        json_error_t jerr;
        doc = json_loadb(conn->body ? conn->body : "", conn->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (doc == NULL) {
            *code = MHD_HTTP_BAD_REQUEST;
            snprintf(msg, msglen, "the body is not JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
            wh_request_free(req);
            return NULL;
        }
        req->flags = FERRY_RECORD_VALUE_JSON;
    }
    if (wh->key_header || wh->key_pointer) req->flags |= FERRY_RECORD_KEY_STRING;
    int split = wh->split && json_is_array(doc);
    req->nrecs = split ? json_array_size(doc) : 1;
    size_t alloc = req->nrecs ? req->nrecs : 1;
    req->keys = calloc(alloc, sizeof(*req->keys));
    req->values = calloc(alloc, sizeof(*req->values));
    req->headers = calloc(wh->nforward ? wh->nforward : 1, sizeof(*req->headers));
    int oom = req->keys == NULL || req->values == NULL || req->headers == NULL;
    for (size_t i = 0; !oom && i < req->nrecs; i++) {
        json_t *elem = split ? json_array_get(doc, i) : doc;
        if (split) {
            req->values[i].ptr = json_dumps(elem, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
            req->values[i].len = req->values[i].ptr ? strlen(req->values[i].ptr) : 0;
            oom = req->values[i].ptr == NULL;
        } else {
            oom = wh_span_dup(&req->values[i], conn->body ? conn->body : "", conn->len) != 0;
        }
        oom = oom || wh_key(wh, c, elem, &req->keys[i]) != 0;
    }
    for (size_t i = 0; !oom && i < wh->nforward; i++) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, wh->forward[i]);
        if (v == NULL) continue;
        ferry_header_t *h = &req->headers[req->nheaders];
        h->name = strdup(wh->forward[i]);
        h->value = strdup(v);
        h->value_len = strlen(v);
        req->nheaders++;
        oom = h->name == NULL || h->value == NULL;
    }
    json_decref(doc);
    if (oom) {
        *code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        snprintf(msg, msglen, "out of memory");
        wh_request_free(req);
        return NULL;
    }
    return req;
}

/* ---- the handler --------------------------------------------------------------------------------- */

/* Queues req for poll() and waits until it is stored, the deadline passes or
 * the task stops; answers accordingly. Connection thread. */
static enum MHD_Result wh_wait_and_answer(http_webhook_t *wh, wh_conn_t *conn, struct MHD_Connection *c,
                                          wh_request_t *req)
{
    pthread_mutex_lock(&wh->lock);
    if (wh->stopping || wh->pending >= wh->max_pending) {
        int stopping = wh->stopping;
        size_t pending = wh->pending;
        pthread_mutex_unlock(&wh->lock);
        wh_request_free(req);
        if (stopping) return wh_send_error(wh, conn, c, MHD_HTTP_SERVICE_UNAVAILABLE, "the connector is stopping");
        return wh_send_error(wh, conn, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "backpressure: %zu requests already wait for Kafka (max.pending.requests)", pending);
    }
    req->first_seq = wh->next_seq;
    req->last_seq = wh->next_seq + (int64_t)req->nrecs - 1;
    wh->next_seq += (int64_t)req->nrecs;
    req->state = req->nrecs == 0 ? WH_STORED : WH_QUEUED; /* an empty array has nothing to wait for */
    if (req->state == WH_QUEUED) {
        req->prev = wh->tail;
        if (wh->tail) wh->tail->next = req;
        else wh->head = req;
        wh->tail = req;
        if (wh->next_add == NULL) wh->next_add = req;
        wh->pending++;
        pthread_cond_signal(&wh->wake);
    }
    struct timespec deadline = wh_abs_deadline(wh->ack_timeout_ms);
    int timed_out = 0;
    while (req->state == WH_QUEUED || req->state == WH_ADDED) {
        if (pthread_cond_timedwait(&req->cond, &wh->lock, &deadline) == ETIMEDOUT &&
            (req->state == WH_QUEUED || req->state == WH_ADDED)) {
            timed_out = 1;
            wh_unlink(wh, req);
            break;
        }
    }
    wh_state_t state = req->state;
    size_t nrecs = req->nrecs;
    pthread_mutex_unlock(&wh->lock);
    wh_request_free(req);

    if (!timed_out && state == WH_STORED) {
        wh->host->metric_add(wh->task, "requests_stored", 1);
        char body[64];
        snprintf(body, sizeof(body), "{\"records\":%zu}", nrecs);
        return wh_send(wh, conn, c, MHD_HTTP_OK, body, NULL);
    }
    if (timed_out)
        return wh_send_error(wh, conn, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "not stored: Kafka did not acknowledge the records within %" PRId64
                             " ms (ack.timeout); send the request again",
                             wh->ack_timeout_ms);
    return wh_send_error(wh, conn, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                         "not stored: the connector stopped before Kafka acknowledged the records; send the request "
                         "again");
}

static enum MHD_Result wh_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                     const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    http_webhook_t *wh = cls;
    wh_conn_t *conn = *con_cls;
    if (conn == NULL) {
        conn = calloc(1, sizeof(*conn));
        if (conn == NULL) return MHD_NO;
        *con_cls = conn;
        return wh_check_head(wh, conn, c, url, method);
    }
    if (*upload_size) {
        if (!conn->too_big && !conn->answered && conn->len + *upload_size > wh->max_body) {
            conn->too_big = 1;
            free(conn->body);
            conn->body = NULL;
            conn->len = 0;
        }
        if (!conn->too_big && !conn->answered) {
            char *grown = realloc(conn->body, conn->len + *upload_size);
            if (grown == NULL) return MHD_NO;
            conn->body = grown;
            memcpy(conn->body + conn->len, upload, *upload_size);
            conn->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (conn->answered) return MHD_YES;
    if (conn->too_big)
        return wh_send_error(wh, conn, c, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes (max.body.bytes)",
                             wh->max_body);
    if (wh->auth == WH_AUTH_HMAC && wh_check_signature(wh, conn, c) != MHD_YES) return MHD_NO;
    if (conn->answered) return MHD_YES;
    unsigned code = 0;
    char msg[300];
    wh_request_t *req = wh_build(wh, conn, c, &code, msg, sizeof(msg));
    if (req == NULL) return wh_send_error(wh, conn, c, code, "%s", msg);
    return wh_wait_and_answer(wh, conn, c, req);
}

static void wh_on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    wh_conn_t *conn = *con_cls;
    if (conn == NULL) return;
    free(conn->body);
    free(conn);
    *con_cls = NULL;
}

/* ---- the task's side ------------------------------------------------------------------------------ */

/* A listening socket on wh->listen, or -1 with err naming the address. */
static int wh_listen_socket(http_webhook_t *wh, ferry_error_t *err)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (hs_parse_listen(wh->listen, &ss, &len) != 0) {
        ferry_error_set(err, FERRY_ERROR, "http-source: option listen: '%s' is not host:port", wh->listen);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        ferry_error_set(err, FERRY_ERROR, "http-source: cannot listen on %s (option listen): %s", wh->listen,
                        strerror(e));
        return -1;
    }
    return fd;
}

ferry_status_t http_webhook_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                 http_webhook_t **out, ferry_error_t *err)
{
    http_webhook_t *wh = calloc(1, sizeof(*wh));
    if (wh == NULL) return ferry_error_set(err, FERRY_ERROR, "http-source: out of memory");
    wh->task = task;
    wh->host = host;
    wh->topic = host->cfg_string(cfg, "topic");
    wh->path = host->cfg_string(cfg, "path");
    wh->listen = host->cfg_string(cfg, "listen");
    wh->key_header = host->cfg_is_set(cfg, "key.header") ? host->cfg_string(cfg, "key.header") : NULL;
    wh->key_pointer = host->cfg_is_set(cfg, "key.json.pointer") ? host->cfg_string(cfg, "key.json.pointer") : NULL;
    wh->nforward = host->cfg_list(cfg, "headers.forward", &wh->forward);
    wh->split = host->cfg_bool(cfg, "split.json.array");
    wh->need_json = wh->split || wh->key_pointer != NULL;
    wh->max_body = (size_t)host->cfg_size(cfg, "max.body.bytes");
    wh->ack_timeout_ms = host->cfg_duration_ms(cfg, "ack.timeout");
    wh->retry_after_s = (host->cfg_duration_ms(cfg, "retry.after") + 999) / 1000;
    wh->max_pending = (size_t)host->cfg_int(cfg, "max.pending.requests");
    const char *auth = host->cfg_string(cfg, "auth.type");
    wh->auth = auth && strcmp(auth, "bearer") == 0 ? WH_AUTH_BEARER
               : auth && strcmp(auth, "hmac") == 0 ? WH_AUTH_HMAC
                                                   : WH_AUTH_NONE;
    wh->token = host->cfg_string(cfg, "auth.token");
    wh->secret = host->cfg_string(cfg, "auth.hmac.secret");
    const char *style = host->cfg_string(cfg, "auth.hmac.style");
    wh->stripe = style && strcmp(style, "stripe") == 0;
    wh->sig_header = host->cfg_is_set(cfg, "auth.hmac.header") ? host->cfg_string(cfg, "auth.hmac.header")
                     : wh->stripe                              ? "Stripe-Signature"
                                                               : "X-Hub-Signature-256";
    /* Whole seconds (Stripe's timestamps are); a tolerance under a second
     * is one second, never 0 (which turns the check off). */
    int64_t tol_ms = host->cfg_duration_ms(cfg, "auth.hmac.tolerance");
    wh->tolerance_s = tol_ms == 0 ? 0 : tol_ms < 1000 ? 1 : tol_ms / 1000;
    snprintf(wh->partition, sizeof(wh->partition), "{\"webhook\":%d}", host->task_id(task));

    /* Sequence numbers go on after the last stored one, so that the offsets
     * of one task only ever grow. */
    const char *stored = host->offset_get(task, wh->partition);
    int64_t last = -1;
    if (stored && host->json_get_int(stored, "seq", &last) == 0 && last >= 0) wh->next_seq = last + 1;

    if (pthread_mutex_init(&wh->lock, NULL) != 0 || wh_cond_init(&wh->wake) != 0) {
        free(wh);
        return ferry_error_set(err, FERRY_ERROR, "http-source: cannot create a mutex");
    }
    int fd = wh_listen_socket(wh, err);
    if (fd >= 0) {
        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
        struct sockaddr_storage ss;
        socklen_t len = 0;
        if (hs_parse_listen(wh->listen, &ss, &len) == 0 && ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
        wh->daemon = MHD_start_daemon(flags, 0, NULL, NULL, wh_on_request, wh, MHD_OPTION_LISTEN_SOCKET, fd,
                                      MHD_OPTION_NOTIFY_COMPLETED, wh_on_completed, wh, MHD_OPTION_CONNECTION_LIMIT,
                                      (unsigned)host->cfg_int(cfg, "max.connections"), MHD_OPTION_CONNECTION_TIMEOUT,
                                      30u, MHD_OPTION_END);
        if (wh->daemon == NULL) {
            close(fd);
            ferry_error_set(err, FERRY_ERROR, "http-source: cannot start the HTTP server on %s (option listen)",
                            wh->listen);
        }
    }
    if (wh->daemon == NULL) {
        pthread_cond_destroy(&wh->wake);
        pthread_mutex_destroy(&wh->lock);
        free(wh);
        return FERRY_ERROR;
    }
    host->log(task, FERRY_LOG_INFO, "http-source: webhook listening on http://%s%s (next seq %" PRId64 ")",
              wh->listen, wh->path, wh->next_seq);
    *out = wh;
    return FERRY_OK;
}

ferry_status_t http_webhook_poll(http_webhook_t *wh, ferry_batch_t *batch, ferry_error_t *err)
{
    const ferry_host_t *host = wh->host;
    size_t room = host->batch_room(batch);
    pthread_mutex_lock(&wh->lock);
    if (wh->next_add == NULL && !wh->stopping && !host->should_stop(wh->task)) {
        struct timespec until = wh_abs_deadline(wh->head ? WH_POLL_BUSY_MS : WH_POLL_IDLE_MS);
        pthread_cond_timedwait(&wh->wake, &wh->lock, &until);
    }
    char offset[48];
    ferry_record_t rec = {.topic = wh->topic, .partition = -1, .source_partition = wh->partition,
                          .source_offset = offset};
    size_t added = 0;
    ferry_status_t status = FERRY_OK;
    while (wh->next_add != NULL && added < room) {
        wh_request_t *req = wh->next_add;
        size_t i = req->next_rec;
        snprintf(offset, sizeof(offset), "{\"seq\":%" PRId64 "}", req->first_seq + (int64_t)i);
        rec.key = req->keys[i].ptr;
        rec.key_len = req->keys[i].len;
        rec.value = req->values[i].ptr;
        rec.value_len = req->values[i].len;
        rec.headers = req->headers;
        rec.header_count = req->nheaders;
        rec.flags = req->flags;
        ferry_status_t st = ferry_batch_add(host, batch, &rec);
        if (st == FERRY_RETRY) break; /* the batch is full: the rest next time */
        if (st != FERRY_OK) {
            status = ferry_error_set(err, FERRY_ERROR, "http-source: batch_add refused the record with offset %s",
                                     offset);
            break;
        }
        added++;
        if (++req->next_rec == req->nrecs) {
            req->state = WH_ADDED;
            wh->next_add = req->next;
        }
    }
    int waiting = wh->head != NULL;
    pthread_mutex_unlock(&wh->lock);
    if (added) host->metric_add(wh->task, "records", (double)added);
    /* Requests wait for their commit: ask for it now rather than at the
     * next offsets.flush.interval. The host stores only what Kafka has
     * acknowledged, so this is asked again until they are stored. */
    if (waiting && FERRY_HOST_HAS(host, request_commit)) host->request_commit(wh->task);
    return status;
}

ferry_status_t http_webhook_commit(http_webhook_t *wh, const ferry_offset_t *offsets, size_t count,
                                   ferry_error_t *err)
{
    (void)err;
    int64_t seq = -1;
    for (size_t i = 0; i < count; i++) {
        int64_t s;
        if (strcmp(offsets[i].source_partition, wh->partition) == 0 &&
            wh->host->json_get_int(offsets[i].source_offset, "seq", &s) == 0 && s > seq)
            seq = s;
    }
    if (seq < 0) return FERRY_OK;
    pthread_mutex_lock(&wh->lock);
    /* The list is in seq order; a request still QUEUED has records not
     * produced yet and stops the walk. */
    while (wh->head != NULL && wh->head->state == WH_ADDED && wh->head->last_seq <= seq) {
        wh_request_t *req = wh->head;
        wh_unlink(wh, req);
        req->state = WH_STORED;
        pthread_cond_signal(&req->cond);
    }
    pthread_mutex_unlock(&wh->lock);
    return FERRY_OK;
}

/* Refuses new requests (503). Those already waiting keep waiting: the
 * host's final offsets flush, which follows, may still store them (and a
 * 2xx is then right); close() fails what is left. */
void http_webhook_stop(http_webhook_t *wh)
{
    if (wh == NULL) return;
    pthread_mutex_lock(&wh->lock);
    wh->stopping = 1;
    pthread_cond_broadcast(&wh->wake);
    pthread_mutex_unlock(&wh->lock);
}

void http_webhook_close(http_webhook_t *wh)
{
    if (wh == NULL) return;
    /* Waiting handlers must return (503) before MHD joins their threads. */
    pthread_mutex_lock(&wh->lock);
    wh->stopping = 1;
    while (wh->head != NULL) {
        wh_request_t *req = wh->head;
        wh_unlink(wh, req);
        req->state = WH_FAILED;
        pthread_cond_signal(&req->cond);
    }
    pthread_mutex_unlock(&wh->lock);
    MHD_stop_daemon(wh->daemon);
    pthread_cond_destroy(&wh->wake);
    pthread_mutex_destroy(&wh->lock);
    free(wh);
}
