/*
 * gw_http.c — the gateway's HTTP transport (libmicrohttpd): the algorithm
 * of the gRPC service (gw.h) for clients that speak only HTTP and JSON. A
 * subscription lives in the gateway between requests, under the session id
 * the client names in later calls; each assigned partition streams as
 * NDJSON or Server-Sent Events, flow-controlled by a credit of
 * unacknowledged records.
 *
 * Routes (bodies JSON; errors are Connect's {"error_code": <status>,
 * "message": "..."}, the status from gw_code_t):
 *   POST   /v1/subscriptions               subscribe; waits ?wait=MS for a first assignment
 *   GET    /v1/subscriptions/{id}          the current assignments
 *   DELETE /v1/subscriptions/{id}          leave the group
 *   GET    /v1/subscriptions/{id}/partitions/{p}/records?format=ndjson|sse&credit=N&limit=M
 *   POST   /v1/ack                         by session_id, or by topic + group (+ group_version)
 *   GET    /v1/offsets?topic=&group=&group_version=   the group's last acknowledged offsets
 *   GET    /v1/end-offsets?topic=          the last offset of each non-empty partition
 *   POST   /v1/publish                     one record (base64 key/value, or key_text/value_text)
 *
 * Threads.
 *   - MHD's listening thread accepts connections; each connection then has
 *     a thread of its own (MHD_USE_THREAD_PER_CONNECTION) that runs every
 *     request on it, blocking calls included: a subscribe waiting for its
 *     first assignment, a publish waiting for Kafka, and a records stream,
 *     whose content reader (feed_read) blocks in gw_stream_next until there
 *     is something to send. It never returns 0: MHD would call it again at
 *     once. Between records it looks at the client's socket, so a client
 *     that hangs up ends its stream (and frees its partition) within
 *     GW_HTTP_POLL_MS.
 *   - Each subscription has a thread of its own (sub_main), the owner of
 *     its session: it alone polls it (the group protocol and the rebalance
 *     callback run there) and closes it, when the subscription is deleted,
 *     nobody touched it for session.timeout, or the gateway stops.
 *   - Every other thread reaches a session through gw_session_find (a
 *     reference), never through gw_sub_t.s.
 *   - The connector's poll thread calls gw_http_expire, which joins the
 *     threads of subscriptions that ended by themselves.
 * h->lock guards the subscription list. Whoever unlinks a subscription
 * joins its thread and frees it: DELETE, gw_http_expire or gw_http_stop.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "gw_http.h"
#include "gw_internal.h"
#include "s3_client.h"
#include "s3_format.h"

#define GW_HTTP_BODY_MAX ((size_t)4 * 1024 * 1024) /* a publish of a 1 MiB value in base64, with room */
#define GW_HTTP_PARTS_MAX 4096
#define GW_HTTP_WAIT_DEFAULT_MS 5000
#define GW_HTTP_WAIT_MAX_MS 60000
#define GW_HTTP_POLL_MS 200            /* a stream's wait for a record before it looks at its client */
#define GW_HTTP_KEEPALIVE_MS 15000     /* an SSE comment after this long without a record */
#define GW_HTTP_FLUSH_BYTES (64 * 1024) /* a stream hands what it holds to MHD at this size */
#define GW_HTTP_IDLE_S 60u             /* a connection between requests */
#define GW_HTTP_CONNECTIONS 1024u
#define GW_HTTP_DRAIN_MS 2000          /* at stop, for answers in flight to go out */

typedef struct gw_sub gw_sub_t;

struct gw_http {
    gw_t *gw;
    struct MHD_Daemon *daemon;
    char address[300];
    atomic_int stopping;
    atomic_int requests;  /* begun and not completed (on_request .. on_completed) */
    pthread_mutex_t lock; /* guards subs */
    gw_sub_t *subs;
};

/* A subscription: a session and the thread that owns it. */
struct gw_sub {
    gw_sub_t *next;  /* h->subs (under h->lock) */
    gw_session_t *s; /* its thread's alone (see the header) */
    char id[64];
    char topic[256], group[256]; /* as the client named them */
    pthread_t thread;
    atomic_int deleted; /* asks the thread to close the session */
    atomic_int assigned; /* the group gave it partitions (a whole assignment, see sub_main) */
    atomic_int expired; /* it closed for session.timeout (set before done) */
    atomic_int done;    /* the thread closed it */
};

/* One request's state (MHD's con_cls), freed when the request completes. */
typedef struct gw_req {
    char *body; /* read whole, up to GW_HTTP_BODY_MAX */
    size_t len;
    int too_big;
    int answered;
} gw_req_t;

/* A records response (the content reader's closure; feed_free frees it). */
typedef struct gw_feed {
    gw_http_t *h;
    gw_stream_t *st;
    gw_session_t *s; /* a reference, touched while the stream lives */
    int sse;
    int64_t limit, sent; /* limit 0 = none */
    int fd;              /* the client's socket, -1 unknown */
    s3_buf_t out;        /* formatted; [pos, len) not handed to MHD yet */
    size_t pos;
    int ended; /* out holds the last bytes */
    int gone;  /* the client hung up */
    int64_t last_out_ms;
} gw_feed_t;

static int http_stopping(gw_http_t *h) { return atomic_load(&h->stopping) || atomic_load(&h->gw->stopping); }

/* ---- responses ------------------------------------------------------------------------ */

static unsigned status_of(gw_code_t code)
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
static json_t *json_text(const char *s)
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
static enum MHD_Result send_text(struct MHD_Connection *c, gw_req_t *req, unsigned status, char *text,
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
static enum MHD_Result send_json(struct MHD_Connection *c, gw_req_t *req, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) {
        text = strdup("{\"error_code\":500,\"message\":\"out of memory\"}");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return send_text(c, req, status, text, NULL);
}

static json_t *error_json(unsigned status, const char *msg)
{
    json_t *m = json_text(msg);
    return m ? json_pack("{s:i, s:o}", "error_code", (int)status, "message", m) : NULL;
}

static enum MHD_Result send_error(struct MHD_Connection *c, gw_req_t *req, unsigned status, const char *fmt, ...)
    FERRY_PRINTF(4, 5);
static enum MHD_Result send_error(struct MHD_Connection *c, gw_req_t *req, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return send_json(c, req, status, error_json(status, msg));
}

static enum MHD_Result send_fail(struct MHD_Connection *c, gw_req_t *req, const gw_error_t *err)
{
    return send_error(c, req, status_of(err->code), "%s", err->msg);
}

static enum MHD_Result send_405(struct MHD_Connection *c, gw_req_t *req, const char *method, const char *url,
                                const char *allow)
{
    char *text = NULL;
    char msg[600];
    snprintf(msg, sizeof(msg), "method %s is not allowed on %s (allowed: %s)", method, url, allow);
    json_t *j = error_json(MHD_HTTP_METHOD_NOT_ALLOWED, msg);
    if (j) text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return text ? send_text(c, req, MHD_HTTP_METHOD_NOT_ALLOWED, text, allow) : MHD_NO;
}

/* ---- what a request says ---------------------------------------------------------------- */

/* The bearer token (Authorization: Bearer ...), or NULL. */
static const char *req_token(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!v || strncasecmp(v, "Bearer ", 7) != 0) return NULL;
    v += 7;
    while (*v == ' ') v++;
    return v;
}

/* The body as a JSON object; NULL with err. */
static json_t *body_object(const gw_req_t *req, gw_error_t *err)
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
static int field_str(json_t *doc, const char *name, int required, const char **out, gw_error_t *err)
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
static int field_int(json_t *doc, const char *name, int required, int64_t min, int64_t max, int64_t *out,
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
static int field_bytes(json_t *doc, const char *name, const char *text_name, s3_buf_t *scratch, const void **data,
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
static int query_int(struct MHD_Connection *c, const char *name, int64_t min, int64_t max, int64_t *out,
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

static int query_str(struct MHD_Connection *c, const char *name, const char **out, gw_error_t *err)
{
    *out = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (!*out || !**out) return gw_fail(err, GW_INVALID, "query parameter '%s' is missing", name);
    return 0;
}

/* An unknown session: 401 for a request without a valid token (nothing is
 * told to strangers), else 404. */
static enum MHD_Result send_no_session(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id)
{
    gw_error_t err = {0};
    if (gw_authorize(h->gw, NULL, req_token(c), &err) != 0) return send_fail(c, req, &err);
    return send_error(c, req, MHD_HTTP_NOT_FOUND, "no subscription %s (it ended, or is on another gateway)", id);
}

/* ---- subscriptions ---------------------------------------------------------------------- */

static void *sub_main(void *arg)
{
    gw_sub_t *sub = arg;
    while (!atomic_load(&sub->deleted)) {
        gw_assign_t ev; /* the assignment is read with gw_session_partitions */
        int r = gw_session_poll(sub->s, 100, &ev);
        if (r < 0) break; /* the gateway stops */
        /* Events come after the rebalance callback returned: the session
         * holds every partition of the assignment now, not only some. */
        if (r > 0 && ev.assigned) atomic_store(&sub->assigned, 1);
        if (gw_session_idle(sub->s, gw_now_ms())) {
            atomic_store(&sub->expired, 1);
            break;
        }
    }
    gw_session_close(sub->s);
    sub->s = NULL;
    atomic_store(&sub->done, 1);
    return NULL;
}

/* Joins an unlinked subscription's thread (asking it to end) and frees it. */
static void sub_reap(gw_sub_t *sub)
{
    atomic_store(&sub->deleted, 1);
    pthread_join(sub->thread, NULL);
    free(sub);
}

/* The subscription id, under h->lock; NULL when unknown. */
static gw_sub_t *sub_find_locked(gw_http_t *h, const char *id, gw_sub_t ***link)
{
    for (gw_sub_t **pp = &h->subs; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            if (link) *link = pp;
            return *pp;
        }
    }
    return NULL;
}

/* 1 when subscription id got its first assignment, 0 not yet, -1 when it
 * ended. */
static int sub_assigned(gw_http_t *h, const char *id)
{
    pthread_mutex_lock(&h->lock);
    gw_sub_t *sub = sub_find_locked(h, id, NULL);
    int rc = !sub || atomic_load(&sub->done) ? -1 : atomic_load(&sub->assigned);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* Opens a session and starts its thread. Returns a reference to the
 * session (gw_session_unref), NULL with err. The subscription itself may
 * end (and be freed) at any time after this returns. */
static gw_session_t *sub_start(gw_http_t *h, const char *topic, const char *group, uint32_t version, int latest,
                               gw_error_t *err)
{
    if (http_stopping(h)) {
        gw_fail(err, GW_UNAVAILABLE, "the gateway stops");
        return NULL;
    }
    gw_sub_t *sub = calloc(1, sizeof(*sub));
    if (!sub) {
        gw_fail(err, GW_INTERNAL, "out of memory");
        return NULL;
    }
    sub->s = gw_session_open(h->gw, topic, group, version, latest, err);
    if (!sub->s) {
        free(sub);
        return NULL;
    }
    snprintf(sub->id, sizeof(sub->id), "%s", gw_session_id(sub->s));
    snprintf(sub->topic, sizeof(sub->topic), "%s", topic);
    snprintf(sub->group, sizeof(sub->group), "%s", group);
    gw_session_t *ref = gw_session_find(h->gw, sub->id);
    pthread_mutex_lock(&h->lock);
    int rc = pthread_create(&sub->thread, NULL, sub_main, sub);
    if (rc == 0) {
        sub->next = h->subs;
        h->subs = sub;
        pthread_setname_np(sub->thread, "gw-http-sub");
    }
    pthread_mutex_unlock(&h->lock);
    if (rc != 0) {
        gw_session_unref(ref);
        gw_session_close(sub->s);
        free(sub);
        gw_fail(err, GW_INTERNAL, "cannot start the thread of a subscription to %s: %s", topic, strerror(rc));
        return NULL;
    }
    return ref;
}

static int part_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The subscription's JSON, with s's assignment now. */
static json_t *sub_json(const char *id, const char *topic, const char *group, gw_session_t *s)
{
    int32_t *parts = malloc(GW_HTTP_PARTS_MAX * sizeof(*parts));
    json_t *a = json_array(), *t = json_text(topic), *g = json_text(group);
    if (!parts || !a || !t || !g) {
        free(parts);
        json_decref(a);
        json_decref(t);
        json_decref(g);
        return NULL;
    }
    size_t n = gw_session_partitions(s, parts, GW_HTTP_PARTS_MAX);
    qsort(parts, n, sizeof(*parts), part_cmp);
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(parts[i]));
    free(parts);
    return json_pack("{s:s, s:o, s:o, s:o}", "session_id", id, "topic", t, "group", g, "assignments", a);
}

static enum MHD_Result do_subscribe(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req)
{
    gw_error_t err = {0};
    const char *topic = NULL, *group = NULL, *reset = NULL;
    int64_t version = 0, wait_ms = GW_HTTP_WAIT_DEFAULT_MS;
    json_t *doc = NULL;
    /* No valid token at all: 401 before the body is looked at. */
    if (gw_authorize(h->gw, NULL, req_token(c), &err) != 0) return send_fail(c, req, &err);
    doc = body_object(req, &err);
    if (!doc || field_str(doc, "topic", 1, &topic, &err) != 0 || field_str(doc, "group", 1, &group, &err) != 0 ||
        field_int(doc, "group_version", 0, 0, UINT32_MAX, &version, &err) != 0 ||
        field_str(doc, "auto_offset_reset", 0, &reset, &err) != 0 ||
        query_int(c, "wait", 0, GW_HTTP_WAIT_MAX_MS, &wait_ms, &err) != 0)
        goto fail;
    if (reset && strcmp(reset, "earliest") != 0 && strcmp(reset, "latest") != 0) {
        gw_fail(&err, GW_INVALID, "field 'auto_offset_reset': '%s' is neither earliest nor latest", reset);
        goto fail;
    }
    gw_session_t *s = NULL;
    if (gw_authorize(h->gw, group, req_token(c), &err) != 0 ||
        !(s = sub_start(h, topic, group, (uint32_t)version, reset && strcmp(reset, "latest") == 0, &err)))
        goto fail;
    /* Until the group gives the session its partitions (a member beyond
     * the partition count gets none: then the answer has none). The
     * request keeps the session from expiring meanwhile. */
    int64_t deadline = gw_now_ms() + wait_ms;
    int assigned;
    while ((assigned = sub_assigned(h, gw_session_id(s))) == 0 && gw_now_ms() < deadline && !http_stopping(h)) {
        gw_session_touch(s);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (assigned < 0 || http_stopping(h)) {
        gw_fail(&err, http_stopping(h) ? GW_UNAVAILABLE : GW_NOT_FOUND, "subscription %s ended: %s",
                gw_session_id(s), http_stopping(h) ? "the gateway stops" : "it was deleted");
        gw_session_unref(s);
        goto fail;
    }
    json_t *j = sub_json(gw_session_id(s), topic, group, s);
    gw_session_unref(s);
    json_decref(doc);
    return send_json(c, req, MHD_HTTP_CREATED, j);
fail:
    json_decref(doc);
    return send_fail(c, req, &err);
}

/* Copies the topic and group of subscription id (not ended); 0, or -1 when
 * there is none. */
static int sub_group(gw_http_t *h, const char *id, char *topic, char *group, size_t size)
{
    pthread_mutex_lock(&h->lock);
    gw_sub_t *sub = sub_find_locked(h, id, NULL);
    int found = sub && !atomic_load(&sub->done);
    if (found) {
        snprintf(topic, size, "%s", sub->topic);
        snprintf(group, size, "%s", sub->group);
    }
    pthread_mutex_unlock(&h->lock);
    return found ? 0 : -1;
}

static enum MHD_Result do_sub_get(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id)
{
    gw_error_t err = {0};
    char topic[256], group[256];
    gw_session_t *s = sub_group(h, id, topic, group, sizeof(topic)) == 0 ? gw_session_find(h->gw, id) : NULL;
    if (!s) return send_no_session(h, c, req, id);
    if (gw_authorize(h->gw, group, req_token(c), &err) != 0) {
        gw_session_unref(s);
        return send_fail(c, req, &err);
    }
    gw_session_touch(s);
    json_t *j = sub_json(id, topic, group, s);
    gw_session_unref(s);
    return send_json(c, req, MHD_HTTP_OK, j);
}

static enum MHD_Result do_sub_delete(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id)
{
    gw_error_t err = {0};
    char topic[256], group[256];
    if (sub_group(h, id, topic, group, sizeof(topic)) != 0) return send_no_session(h, c, req, id);
    if (gw_authorize(h->gw, group, req_token(c), &err) != 0) return send_fail(c, req, &err);
    pthread_mutex_lock(&h->lock);
    gw_sub_t **link = NULL, *sub = sub_find_locked(h, id, &link);
    if (sub) *link = sub->next;
    pthread_mutex_unlock(&h->lock);
    /* Expired, or deleted by another request, meanwhile. */
    if (!sub) return send_no_session(h, c, req, id);
    int ended = atomic_load(&sub->done);
    /* The session has left the group when the client hears 204: the
     * group's other members get its partitions in the rebalance that
     * follows. */
    sub_reap(sub);
    if (ended) return send_no_session(h, c, req, id);
    return send_text(c, req, MHD_HTTP_NO_CONTENT, NULL, NULL);
}

/* ---- records ---------------------------------------------------------------------------- */

/* 1 when the client hung up (or shut its sending side, which HTTP clients
 * do not do while they wait for a response). */
static int client_gone(int fd)
{
    if (fd < 0) return 0;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static int feed_put(gw_feed_t *f, const char *s) { return s3_buf_append(&f->out, s, strlen(s)); }

/* Appends bytes as a JSON base64 string, or null. */
static int feed_bytes(gw_feed_t *f, const void *data, size_t len)
{
    if (!data) return feed_put(f, "null");
    return feed_put(f, "\"") || s3_b64(&f->out, data, len) || feed_put(f, "\"");
}

static int feed_record(gw_feed_t *f, const gw_msg_t *m)
{
    char num[96];
    int bad = 0;
    if (f->sse) {
        snprintf(num, sizeof(num), "id: %" PRId64 "\nevent: record\ndata: ", m->offset);
        bad |= feed_put(f, num);
    }
    snprintf(num, sizeof(num), "{\"offset\":%" PRId64 ",\"key\":", m->offset);
    bad |= feed_put(f, num);
    bad |= feed_bytes(f, m->key, m->key_len);
    bad |= feed_put(f, ",\"value\":");
    bad |= feed_bytes(f, m->value, m->value_len);
    snprintf(num, sizeof(num), ",\"timestamp\":%" PRId64 ",\"replay\":%s}", m->timestamp_ms,
             m->replay ? "true" : "false");
    bad |= feed_put(f, num);
    bad |= feed_put(f, f->sse ? "\n\n" : "\n");
    return bad ? -1 : 0;
}

/* The stream's last line: why it ended. */
static int feed_error(gw_feed_t *f, const gw_error_t *err)
{
    unsigned status = status_of(err->code);
    json_t *j = error_json(status, err->msg);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) return -1;
    int bad = feed_put(f, f->sse ? "event: error\ndata: " : "") || feed_put(f, text) ||
              feed_put(f, f->sse ? "\n\n" : "\n");
    free(text);
    return bad ? -1 : 0;
}

/* Fills f->out: waits for a first record, then takes what is ready without
 * waiting. Sets ended (the stream is over; out holds the error line, if
 * any) or gone (the client hung up). 0, or -1 out of memory. */
static int feed_fill(gw_feed_t *f)
{
    for (;;) {
        if (f->limit > 0 && f->sent >= f->limit) {
            f->ended = 1;
            return 0;
        }
        gw_msg_t m;
        gw_error_t err = {0};
        int r = gw_stream_next(f->st, f->out.len ? 0 : GW_HTTP_POLL_MS, &m, &err);
        if (r > 0) {
            if (feed_record(f, &m) != 0) return -1;
            f->sent++;
            f->last_out_ms = gw_now_ms();
            gw_session_touch(f->s);
            if (f->out.len >= GW_HTTP_FLUSH_BYTES) return 0;
            continue;
        }
        if (r < 0) {
            f->ended = 1;
            return err.code == GW_OK ? 0 : feed_error(f, &err);
        }
        if (f->out.len) return 0;
        if (atomic_load(&f->h->stopping)) {
            f->ended = 1;
            return feed_error(f, &(gw_error_t){GW_UNAVAILABLE, "the gateway stops"});
        }
        if (client_gone(f->fd)) {
            f->gone = 1;
            return 0;
        }
        /* A client waiting on its stream is there: its subscription stays. */
        gw_session_touch(f->s);
        int64_t now = gw_now_ms();
        if (f->sse && now - f->last_out_ms >= GW_HTTP_KEEPALIVE_MS) {
            f->last_out_ms = now;
            return feed_put(f, ": keepalive\n\n");
        }
    }
}

static ssize_t feed_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    gw_feed_t *f = cls;
    while (f->pos == f->out.len) {
        /* A client that hung up gets the end of the stream too: the write
         * fails and MHD closes the connection, without an error logged for
         * what is no error. */
        if (f->ended || f->gone) return MHD_CONTENT_READER_END_OF_STREAM;
        f->out.len = f->pos = 0;
        if (feed_fill(f) != 0) {
            gw_log(f->h->gw, FERRY_LOG_ERROR, "http: a records stream ends: out of memory");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = f->out.len - f->pos;
    if (n > max) n = max;
    memcpy(buf, f->out.data + f->pos, n);
    f->pos += n;
    return (ssize_t)n;
}

/* MHD's free callback: the response is done (sent, or the client left). */
static void feed_free(void *cls)
{
    gw_feed_t *f = cls;
    gw_stream_close(f->st);
    gw_session_unref(f->s);
    s3_buf_free(&f->out);
    free(f);
}

static enum MHD_Result do_records(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id,
                                  int32_t partition)
{
    gw_error_t err = {0};
    int64_t credit = 0, limit = 0;
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (format && strcmp(format, "ndjson") != 0 && strcmp(format, "sse") != 0)
        return send_error(c, req, MHD_HTTP_BAD_REQUEST, "query parameter format=%s: ndjson or sse", format);
    /* Without format=, an EventSource (Accept: text/event-stream) gets SSE. */
    int sse = format ? strcmp(format, "sse") == 0 : accept && strstr(accept, "text/event-stream") != NULL;
    if (query_int(c, "credit", 0, INT64_MAX, &credit, &err) != 0 ||
        query_int(c, "limit", 1, INT64_MAX, &limit, &err) != 0)
        return send_fail(c, req, &err);
    gw_session_t *s = gw_session_find(h->gw, id);
    if (!s) return send_no_session(h, c, req, id);
    gw_stream_t *st = NULL;
    if (gw_authorize(h->gw, gw_session_group(s), req_token(c), &err) == 0)
        st = gw_stream_open(h->gw, id, partition, &err);
    gw_feed_t *f = st ? calloc(1, sizeof(*f)) : NULL;
    if (!f) {
        if (st) gw_fail(&err, GW_INTERNAL, "out of memory");
        gw_stream_close(st);
        gw_session_unref(s);
        return send_fail(c, req, &err);
    }
    gw_stream_set_window(st, credit);
    gw_session_touch(s);
    f->h = h;
    f->st = st;
    f->s = s;
    f->sse = sse;
    f->limit = limit;
    f->last_out_ms = gw_now_ms();
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    f->fd = ci ? ci->connect_fd : -1;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, feed_read, f, feed_free);
    if (!resp) {
        feed_free(f);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, sse ? "text/event-stream" : "application/x-ndjson");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* a proxy in front must not hold records back */
    /* A stream may wait longer than an idle connection may (GW_HTTP_IDLE_S)
     * for its next record; feed_fill watches the client instead. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    req->answered = 1;
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* ---- acknowledgements, positions, publishing ----------------------------------------------- */

static enum MHD_Result do_ack(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req)
{
    gw_error_t err = {0};
    const char *sid = NULL, *topic = NULL, *group = NULL, *token = req_token(c);
    int64_t version = 0, partition = 0, offset = 0;
    int rc = -1;
    json_t *doc = body_object(req, &err);
    if (!doc || field_str(doc, "session_id", 0, &sid, &err) != 0 ||
        field_int(doc, "partition", 1, 0, INT32_MAX, &partition, &err) != 0 ||
        field_int(doc, "offset", 1, 0, INT64_MAX, &offset, &err) != 0) {
        /* rc stays -1 */
    } else if (sid) {
        gw_session_t *s = gw_session_find(h->gw, sid);
        if (!s) {
            enum MHD_Result mr = send_no_session(h, c, req, sid);
            json_decref(doc);
            return mr;
        }
        rc = gw_authorize(h->gw, gw_session_group(s), token, &err);
        if (rc == 0) {
            gw_session_touch(s);
            rc = gw_ack(h->gw, sid, NULL, NULL, 0, (int32_t)partition, offset, &err);
        }
        gw_session_unref(s);
    } else if (field_str(doc, "topic", 1, &topic, &err) == 0 && field_str(doc, "group", 1, &group, &err) == 0 &&
               field_int(doc, "group_version", 0, 0, UINT32_MAX, &version, &err) == 0) {
        rc = gw_authorize(h->gw, group, token, &err);
        if (rc == 0) rc = gw_ack(h->gw, NULL, topic, group, (uint32_t)version, (int32_t)partition, offset, &err);
    } else if (!json_object_get(doc, "topic")) {
        gw_fail(&err, GW_INVALID,
                "field 'session_id' or 'topic' is missing (an ack names a session, or a topic and a group)");
    }
    json_decref(doc);
    return rc == 0 ? send_text(c, req, MHD_HTTP_NO_CONTENT, NULL, NULL) : send_fail(c, req, &err);
}

static enum MHD_Result send_offsets(struct MHD_Connection *c, gw_req_t *req, long n, const int32_t *parts,
                                    const int64_t *offsets)
{
    json_t *o = json_object();
    for (long i = 0; o && i < n; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", (int)parts[i]);
        json_object_set_new(o, key, json_integer(offsets[i]));
    }
    return send_json(c, req, MHD_HTTP_OK, o ? json_pack("{s:o}", "offsets", o) : NULL);
}

/* GET /v1/offsets (end 0) and /v1/end-offsets (end 1). */
static enum MHD_Result do_offsets(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, int end)
{
    gw_error_t err = {0};
    const char *topic = NULL, *group = NULL;
    int64_t version = 0;
    if (query_str(c, "topic", &topic, &err) != 0 || (!end && query_str(c, "group", &group, &err) != 0) ||
        (!end && query_int(c, "group_version", 0, UINT32_MAX, &version, &err) != 0) ||
        gw_authorize(h->gw, group, req_token(c), &err) != 0)
        return send_fail(c, req, &err);
    int32_t *parts = malloc(GW_HTTP_PARTS_MAX * sizeof(*parts));
    int64_t *offsets = malloc(GW_HTTP_PARTS_MAX * sizeof(*offsets));
    long n = -1;
    if (!parts || !offsets) gw_fail(&err, GW_INTERNAL, "out of memory");
    else if (end)
        n = gw_end_offsets(h->gw, topic, parts, offsets, GW_HTTP_PARTS_MAX, &err);
    else
        n = gw_offsets(h->gw, topic, group, (uint32_t)version, parts, offsets, GW_HTTP_PARTS_MAX, &err);
    enum MHD_Result rc = n < 0 ? send_fail(c, req, &err) : send_offsets(c, req, n, parts, offsets);
    free(parts);
    free(offsets);
    return rc;
}

static enum MHD_Result do_publish(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req)
{
    gw_error_t err = {0};
    const char *topic = NULL;
    const void *key = NULL, *value = NULL;
    size_t key_len = 0, value_len = 0;
    s3_buf_t kbuf = {0}, vbuf = {0};
    int32_t partition = 0;
    int64_t offset = 0;
    int rc = gw_authorize(h->gw, NULL, req_token(c), &err);
    json_t *doc = rc == 0 ? body_object(req, &err) : NULL;
    if (!doc || field_str(doc, "topic", 1, &topic, &err) != 0 ||
        field_bytes(doc, "key", "key_text", &kbuf, &key, &key_len, &err) != 0 ||
        field_bytes(doc, "value", "value_text", &vbuf, &value, &value_len, &err) != 0) {
        rc = -1;
    } else if (!json_object_get(doc, "value") && !json_object_get(doc, "value_text")) {
        rc = gw_fail(&err, GW_INVALID,
                     "field 'value' (or 'value_text') is missing; \"value\": null publishes a tombstone");
    } else {
        rc = gw_publish(h->gw, topic, key, key_len, value, value_len, &partition, &offset, &err);
    }
    enum MHD_Result mr;
    if (rc == 0) {
        json_t *t = json_text(topic);
        mr = send_json(c, req, MHD_HTTP_OK,
                       t ? json_pack("{s:o, s:i, s:I}", "topic", t, "partition", (int)partition, "offset",
                                     (json_int_t)offset)
                         : NULL);
    } else {
        mr = send_fail(c, req, &err);
    }
    json_decref(doc);
    s3_buf_free(&kbuf);
    s3_buf_free(&vbuf);
    return mr;
}

/* ---- routing ------------------------------------------------------------------------------ */

static enum MHD_Result route(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *url,
                             const char *method)
{
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0, post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    int del = strcmp(method, MHD_HTTP_METHOD_DELETE) == 0;
    if (strcmp(url, "/v1/subscriptions") == 0)
        return post ? do_subscribe(h, c, req) : send_405(c, req, method, url, "POST");
    if (strcmp(url, "/v1/ack") == 0) return post ? do_ack(h, c, req) : send_405(c, req, method, url, "POST");
    if (strcmp(url, "/v1/publish") == 0) return post ? do_publish(h, c, req) : send_405(c, req, method, url, "POST");
    if (strcmp(url, "/v1/offsets") == 0) return get ? do_offsets(h, c, req, 0) : send_405(c, req, method, url, "GET");
    if (strcmp(url, "/v1/end-offsets") == 0)
        return get ? do_offsets(h, c, req, 1) : send_405(c, req, method, url, "GET");
    static const char subs[] = "/v1/subscriptions/", parts[] = "/partitions/";
    if (strncmp(url, subs, sizeof(subs) - 1) == 0) {
        const char *id = url + sizeof(subs) - 1, *slash = strchr(id, '/');
        size_t idlen = slash ? (size_t)(slash - id) : strlen(id);
        char sid[64];
        if (idlen > 0 && idlen < sizeof(sid)) {
            memcpy(sid, id, idlen);
            sid[idlen] = '\0';
            if (!slash)
                return get ? do_sub_get(h, c, req, sid)
                       : del ? do_sub_delete(h, c, req, sid)
                             : send_405(c, req, method, url, "GET, DELETE");
            const char *p = slash + sizeof(parts) - 1;
            char *end = NULL;
            if (strncmp(slash, parts, sizeof(parts) - 1) == 0 && *p >= '0' && *p <= '9') {
                errno = 0;
                long n = strtol(p, &end, 10);
                if (strcmp(end, "/records") == 0) {
                    if (errno || n > INT32_MAX)
                        return send_error(c, req, MHD_HTTP_BAD_REQUEST, "partition %.*s is not a partition number",
                                          (int)(end - p), p);
                    return get ? do_records(h, c, req, sid, (int32_t)n) : send_405(c, req, method, url, "GET");
                }
            }
        }
    }
    return send_error(c, req, MHD_HTTP_NOT_FOUND,
                      "no route %s %s (routes: /v1/subscriptions[/{id}[/partitions/{p}/records]], /v1/ack, "
                      "/v1/offsets, /v1/end-offsets, /v1/publish)",
                      method, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    gw_http_t *h = cls;
    gw_req_t *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req) return MHD_NO;
        *con_cls = req;
        atomic_fetch_add(&h->requests, 1);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > GW_HTTP_BODY_MAX) {
            req->too_big = 1;
            return send_error(c, req, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes", GW_HTTP_BODY_MAX);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        /* Past the limit the body is dropped as it arrives: memory stays bounded. */
        if (!req->too_big && req->len + *upload_size > GW_HTTP_BODY_MAX) {
            req->too_big = 1;
            free(req->body);
            req->body = NULL;
            req->len = 0;
        }
        if (!req->too_big && !req->answered) {
            char *grown = realloc(req->body, req->len + *upload_size);
            if (!grown) return MHD_NO;
            req->body = grown;
            memcpy(req->body + req->len, upload, *upload_size);
            req->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->answered) return MHD_YES;
    if (req->too_big)
        return send_error(c, req, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes", GW_HTTP_BODY_MAX);
    return route(h, c, req, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)c, (void)toe;
    gw_http_t *h = cls;
    gw_req_t *req = *con_cls;
    if (!req) return;
    atomic_fetch_sub(&h->requests, 1);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* MHD's own messages, into the task's log. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    gw_http_t *h = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    gw_log(h->gw, FERRY_LOG_WARN, "http: %s", msg);
}

/* ---- life --------------------------------------------------------------------------------- */

/* listen ("host:port", "[v6]:port") into *ss and host; 0, or -1 with err. */
static int listen_parse(const char *listen, char *host, size_t hostlen, struct sockaddr_storage *ss, gw_error_t *err)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    const char *hs = listen;
    size_t hl = colon ? (size_t)(colon - listen) : 0;
    if (hl >= 2 && hs[0] == '[' && hs[hl - 1] == ']') hs++, hl -= 2;
    char *end = NULL;
    long port = colon && colon[1] >= '0' && colon[1] <= '9' ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || hl == 0 || hl >= hostlen || !end || *end || port < 0 || port > 65535)
        return gw_fail(err, GW_INVALID, "http.listen %s: not host:port (e.g. 127.0.0.1:8080)", listen ? listen : "");
    memcpy(host, hs, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    int e = getaddrinfo(host, colon + 1, &hints, &res);
    if (e != 0) return gw_fail(err, GW_INVALID, "http.listen %s: %s", listen, gai_strerror(e));
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a; /* "localhost": IPv4 first, as clients mostly try it */
            break;
        }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* A PEM file's text (up to 1 MiB); NULL with err. */
static char *pem_read(const char *path, gw_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        gw_fail(err, GW_INVALID, "http TLS: %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(1024 * 1024 + 1);
    size_t n = text ? fread(text, 1, 1024 * 1024, f) : 0;
    fclose(f);
    if (text) text[n] = '\0';
    if (!text || !strstr(text, "-----BEGIN ")) {
        free(text);
        gw_fail(err, GW_INVALID, "http TLS: %s: not a PEM file", path);
        return NULL;
    }
    return text;
}

gw_http_t *gw_http_start(gw_t *gw, const char *listen, const char *cert_file, const char *key_file, gw_error_t *err)
{
    struct sockaddr_storage ss;
    char host[256];
    if (listen_parse(listen, host, sizeof(host), &ss, err) != 0) return NULL;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    char *cert = NULL, *key = NULL;
    if (cert_file && *cert_file) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            gw_fail(err, GW_INVALID, "http TLS: this libmicrohttpd was built without TLS");
            return NULL;
        }
        cert = pem_read(cert_file, err);
        key = cert ? pem_read(key_file && *key_file ? key_file : "(no tls.key.file)", err) : NULL;
        if (!key) {
            free(cert);
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    gw_http_t *h = calloc(1, sizeof(*h));
    if (!h) {
        free(cert);
        free(key);
        gw_fail(err, GW_INTERNAL, "out of memory");
        return NULL;
    }
    h->gw = gw;
    pthread_mutex_init(&h->lock, NULL);
    struct MHD_OptionItem tls[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    uint16_t port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                             : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    /* The logger first: MHD reports the options after it through it. */
    h->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
                                 MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                 MHD_OPTION_CONNECTION_LIMIT, GW_HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                 GW_HTTP_IDLE_S, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    int e = errno;
    /* The daemon keeps its own copy of the key material. */
    if (key) explicit_bzero(key, strlen(key));
    free(cert);
    free(key);
    if (!h->daemon) {
        gw_fail(err, GW_INVALID, "http.listen %s: cannot listen there (%s)", listen, strerror(e));
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(h->address, sizeof(h->address), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
             info ? (unsigned)info->port : (unsigned)port);
    return h;
}

const char *gw_http_address(const gw_http_t *h) { return h->address; }

void gw_http_expire(gw_http_t *h)
{
    if (!h) return;
    /* Each subscription's thread closes its session when it is idle; what
     * is left here is to join the threads that ended so. */
    gw_sub_t *ended = NULL;
    pthread_mutex_lock(&h->lock);
    for (gw_sub_t **pp = &h->subs; *pp;) {
        gw_sub_t *sub = *pp;
        if (atomic_load(&sub->done)) {
            *pp = sub->next;
            sub->next = ended;
            ended = sub;
        } else {
            pp = &sub->next;
        }
    }
    pthread_mutex_unlock(&h->lock);
    while (ended) {
        gw_sub_t *next = ended->next;
        if (atomic_load(&ended->expired))
            gw_log(h->gw, FERRY_LOG_INFO, "http: subscription %s (group %s) expired: no request for session.timeout",
                   ended->id, ended->group);
        sub_reap(ended);
        ended = next;
    }
}

void gw_http_stop(gw_http_t *h)
{
    if (!h) return;
    atomic_store(&h->stopping, 1);
    /* Requests in flight end now: streams with a last line that says why
     * (gw_stop), subscribes waiting for an assignment with 503. Their
     * answers go out before MHD shuts the connections, unless one takes
     * longer (a publish waiting for Kafka). */
    int64_t deadline = gw_now_ms() + GW_HTTP_DRAIN_MS;
    while (atomic_load(&h->requests) > 0 && gw_now_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* Joins every connection's thread. */
    MHD_stop_daemon(h->daemon);
    pthread_mutex_lock(&h->lock);
    gw_sub_t *subs = h->subs;
    h->subs = NULL;
    pthread_mutex_unlock(&h->lock);
    /* All sessions leave their groups at once, then their threads are joined. */
    for (gw_sub_t *sub = subs; sub; sub = sub->next) atomic_store(&sub->deleted, 1);
    while (subs) {
        gw_sub_t *next = subs->next;
        sub_reap(subs);
        subs = next;
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}
