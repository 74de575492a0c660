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
#include "gw_http_internal.h"

/* ---- acknowledgements, positions, publishing ----------------------------------------------- */

static enum MHD_Result do_ack(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req)
{
    gw_error_t err = {0};
    const char *sid = NULL, *topic = NULL, *group = NULL, *token = gwh_req_token(c);
    int64_t version = 0, partition = 0, offset = 0;
    int rc = -1;
    json_t *doc = gwh_body_object(req, &err);
    if (!doc || gwh_field_str(doc, "session_id", 0, &sid, &err) != 0 ||
        gwh_field_int(doc, "partition", 1, 0, INT32_MAX, &partition, &err) != 0 ||
        gwh_field_int(doc, "offset", 1, 0, INT64_MAX, &offset, &err) != 0) {
        /* rc stays -1 */
    } else if (sid) {
        gw_session_t *s = gw_session_find(h->gw, sid);
        if (!s) {
            enum MHD_Result mr = gwh_send_no_session(h, c, req, sid);
            json_decref(doc);
            return mr;
        }
        rc = gw_authorize(h->gw, gw_session_group(s), token, &err);
        if (rc == 0) {
            gw_session_touch(s);
            rc = gw_ack(h->gw, sid, NULL, NULL, 0, (int32_t)partition, offset, &err);
        }
        gw_session_unref(s);
    } else if (gwh_field_str(doc, "topic", 1, &topic, &err) == 0 && gwh_field_str(doc, "group", 1, &group, &err) == 0 &&
               gwh_field_int(doc, "group_version", 0, 0, UINT32_MAX, &version, &err) == 0) {
        rc = gw_authorize(h->gw, group, token, &err);
        if (rc == 0) rc = gw_ack(h->gw, NULL, topic, group, (uint32_t)version, (int32_t)partition, offset, &err);
    } else if (!json_object_get(doc, "topic")) {
        gw_fail(&err, GW_INVALID,
                "field 'session_id' or 'topic' is missing (an ack names a session, or a topic and a group)");
    }
    json_decref(doc);
    return rc == 0 ? gwh_send_text(c, req, MHD_HTTP_NO_CONTENT, NULL, NULL) : gwh_send_fail(c, req, &err);
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
    return gwh_send_json(c, req, MHD_HTTP_OK, o ? json_pack("{s:o}", "offsets", o) : NULL);
}

/* GET /v1/offsets (end 0) and /v1/end-offsets (end 1). */
static enum MHD_Result do_offsets(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, int end)
{
    gw_error_t err = {0};
    const char *topic = NULL, *group = NULL;
    int64_t version = 0;
    if (gwh_query_str(c, "topic", &topic, &err) != 0 || (!end && gwh_query_str(c, "group", &group, &err) != 0) ||
        (!end && gwh_query_int(c, "group_version", 0, UINT32_MAX, &version, &err) != 0) ||
        gw_authorize(h->gw, group, gwh_req_token(c), &err) != 0)
        return gwh_send_fail(c, req, &err);
    int32_t *parts = malloc(GW_HTTP_PARTS_MAX * sizeof(*parts));
    int64_t *offsets = malloc(GW_HTTP_PARTS_MAX * sizeof(*offsets));
    long n = -1;
    if (!parts || !offsets) gw_fail(&err, GW_INTERNAL, "out of memory");
    else if (end)
        n = gw_end_offsets(h->gw, topic, parts, offsets, GW_HTTP_PARTS_MAX, &err);
    else
        n = gw_offsets(h->gw, topic, group, (uint32_t)version, parts, offsets, GW_HTTP_PARTS_MAX, &err);
    enum MHD_Result rc = n < 0 ? gwh_send_fail(c, req, &err) : send_offsets(c, req, n, parts, offsets);
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
    int rc = gw_authorize(h->gw, NULL, gwh_req_token(c), &err);
    json_t *doc = rc == 0 ? gwh_body_object(req, &err) : NULL;
    if (!doc || gwh_field_str(doc, "topic", 1, &topic, &err) != 0 ||
        gwh_field_bytes(doc, "key", "key_text", &kbuf, &key, &key_len, &err) != 0 ||
        gwh_field_bytes(doc, "value", "value_text", &vbuf, &value, &value_len, &err) != 0) {
        rc = -1;
    } else if (!json_object_get(doc, "value") && !json_object_get(doc, "value_text")) {
        rc = gw_fail(&err, GW_INVALID,
                     "field 'value' (or 'value_text') is missing; \"value\": null publishes a tombstone");
    } else {
        rc = gw_publish(h->gw, topic, key, key_len, value, value_len, &partition, &offset, &err);
    }
    enum MHD_Result mr;
    if (rc == 0) {
        json_t *t = gwh_json_text(topic);
        mr = gwh_send_json(c, req, MHD_HTTP_OK,
                       t ? json_pack("{s:o, s:i, s:I}", "topic", t, "partition", (int)partition, "offset",
                                     (json_int_t)offset)
                         : NULL);
    } else {
        mr = gwh_send_fail(c, req, &err);
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
        return post ? gwh_do_subscribe(h, c, req) : gwh_send_405(c, req, method, url, "POST");
    if (strcmp(url, "/v1/ack") == 0) return post ? do_ack(h, c, req) : gwh_send_405(c, req, method, url, "POST");
    if (strcmp(url, "/v1/publish") == 0) return post ? do_publish(h, c, req) : gwh_send_405(c, req, method, url, "POST");
    if (strcmp(url, "/v1/offsets") == 0) return get ? do_offsets(h, c, req, 0) : gwh_send_405(c, req, method, url, "GET");
    if (strcmp(url, "/v1/end-offsets") == 0)
        return get ? do_offsets(h, c, req, 1) : gwh_send_405(c, req, method, url, "GET");
    static const char subs[] = "/v1/subscriptions/", parts[] = "/partitions/";
    if (strncmp(url, subs, sizeof(subs) - 1) == 0) {
        const char *id = url + sizeof(subs) - 1, *slash = strchr(id, '/');
        size_t idlen = slash ? (size_t)(slash - id) : strlen(id);
        char sid[64];
        if (idlen > 0 && idlen < sizeof(sid)) {
            memcpy(sid, id, idlen);
            sid[idlen] = '\0';
            if (!slash)
                return get ? gwh_do_sub_get(h, c, req, sid)
                       : del ? gwh_do_sub_delete(h, c, req, sid)
                             : gwh_send_405(c, req, method, url, "GET, DELETE");
            const char *p = slash + sizeof(parts) - 1;
            char *end = NULL;
            if (strncmp(slash, parts, sizeof(parts) - 1) == 0 && *p >= '0' && *p <= '9') {
                errno = 0;
                long n = strtol(p, &end, 10);
                if (strcmp(end, "/records") == 0) {
                    if (errno || n > INT32_MAX)
                        return gwh_send_error(c, req, MHD_HTTP_BAD_REQUEST, "partition %.*s is not a partition number",
                                          (int)(end - p), p);
                    return get ? gwh_do_records(h, c, req, sid, (int32_t)n) : gwh_send_405(c, req, method, url, "GET");
                }
            }
        }
    }
    return gwh_send_error(c, req, MHD_HTTP_NOT_FOUND,
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
            return gwh_send_error(c, req, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes", GW_HTTP_BODY_MAX);
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
        return gwh_send_error(c, req, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes", GW_HTTP_BODY_MAX);
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
        gwh_sub_reap(ended);
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
        gwh_sub_reap(subs);
        subs = next;
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}
