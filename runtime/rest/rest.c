/*
 * rest.c — the admin REST API's server: options, authentication, limits
 * (the routes are rest_routes.c).
 *
 * Every request is read whole (up to body.max.bytes; a larger one gets 413
 * and its body is discarded as it arrives, so memory stays bounded), then
 * routed. What concerns the worker runs on its main thread (worker_call);
 * the plugin registry is immutable and read here directly. Errors are
 * Connect's {"error_code": N, "message": "..."}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "build_info.h"
#include "engine/admin.h"
#include "engine/host.h"
#include "rest/rest.h"
#include "rest/rest_internal.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- options ------------------------------------------------------------------------------- */

typedef struct rest_opts {
    char host[64];
    int port;
    int off;
    int is_default;
    const char *token;
    int64_t body_max;
    const char *tls_cert, *tls_key; /* PEM files, or NULL: plain HTTP */
} rest_opts_t;

static int is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}

static const char *opt_scalar(const cfg_node_t *map, const char *key, const cfg_node_t **node)
{
    const cfg_node_t *n = map ? cfg_node_get(map, key) : NULL;
    if (node) *node = n;
    return n && n->kind == CFG_SCALAR ? n->scalar : NULL;
}

/* Reads wc->rest into o; problems go to errs (NULL: ignored). 0 or -1. */
static int rest_opts_read(const worker_config_t *wc, rest_opts_t *o, cfg_errors_t *errs)
{
    memset(o, 0, sizeof(*o));
    o->body_max = REST_DEFAULT_BODY_MAX;
    const cfg_node_t *map = wc->rest, *n = NULL;
    int bad = 0;
    if (map) {
        static const char *const known[] = {"listen", "token", "body.max.bytes", "tls.cert", "tls.key", NULL};
        for (size_t i = 0; i < map->count; i++) {
            int ok = 0;
            for (const char *const *k = known; *k; k++) ok |= strcmp(map->keys[i], *k) == 0;
            if (!ok && errs) {
                cfg_errors_add_at(errs, wc->path, map->key_lines[i], map->key_cols[i], NULL,
                                  "unknown worker option 'rest.%s' (rest takes listen, token, body.max.bytes, "
                                  "tls.cert, tls.key)",
                                  map->keys[i]);
                bad = 1;
            }
        }
    }
    const char *listen = opt_scalar(map, "listen", &n);
    o->is_default = !listen;
    if (!listen) listen = REST_DEFAULT_LISTEN;
    if (strcmp(listen, "off") == 0 || strcmp(listen, "false") == 0) {
        o->off = 1;
        return bad ? -1 : 0;
    }
    const char *colon = strrchr(listen, ':');
    const char *h = listen;
    size_t hl = colon ? (size_t)(colon - listen) : 0;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') h++, hl -= 2;
    char *end = NULL;
    long port = colon && colon[1] >= '0' && colon[1] <= '9' ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || hl == 0 || hl >= sizeof(o->host) || !end || *end || port < 0 || port > 65535) {
        if (errs)
            cfg_errors_add_at(errs, wc->path, n ? n->line : 0, n ? n->col : 0, NULL,
                              "worker option 'rest.listen': '%s' is not HOST:PORT (e.g. 127.0.0.1:8083) or off",
                              listen);
        return -1;
    }
    memcpy(o->host, h, hl);
    o->host[hl] = '\0';
    o->port = (int)port;
    const cfg_node_t *tn = NULL;
    o->token = opt_scalar(map, "token", &tn);
    if (o->token && !o->token[0]) {
        /* An empty token (an empty secret file) must not mean "no token". */
        if (errs)
            cfg_errors_add_at(errs, wc->path, tn->line, tn->col, NULL,
                              "worker option 'rest.token': empty (remove it, or give a token)");
        bad = 1;
        o->token = NULL;
    }
    if (!is_loopback(o->host) && !o->token) {
        if (errs)
            cfg_errors_add_at(errs, wc->path, n ? n->line : 0, n ? n->col : 0, NULL,
                              "worker option 'rest.listen': %s is not a loopback address, so the REST API needs "
                              "'rest.token' (a bearer token, e.g. ${file:/run/secrets/ferry-token})",
                              o->host);
        bad = 1;
    }
    const cfg_node_t *cn = NULL, *kn = NULL;
    o->tls_cert = opt_scalar(map, "tls.cert", &cn);
    o->tls_key = opt_scalar(map, "tls.key", &kn);
    if ((o->tls_cert != NULL) != (o->tls_key != NULL)) {
        const cfg_node_t *at = cn ? cn : kn;
        if (errs)
            cfg_errors_add_at(errs, wc->path, at->line, at->col, NULL,
                              "worker options 'rest.tls.cert' and 'rest.tls.key' go together (PEM files)");
        bad = 1;
    }
    for (int i = 0; i < 2; i++) {
        const char *f = i ? o->tls_key : o->tls_cert;
        if (f && access(f, R_OK) != 0) {
            const cfg_node_t *at = i ? kn : cn;
            if (errs)
                cfg_errors_add_at(errs, wc->path, at->line, at->col, NULL, "worker option 'rest.%s': %s: %s",
                                  i ? "tls.key" : "tls.cert", f, strerror(errno));
            bad = 1;
        }
    }
    if (o->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        if (errs)
            cfg_errors_add_at(errs, wc->path, cn->line, cn->col, NULL,
                              "worker option 'rest.tls.cert': this libmicrohttpd has no TLS");
        bad = 1;
    }
    const char *bm = opt_scalar(map, "body.max.bytes", &n);
    if (bm) {
        char why[128];
        if (config_parse_size(bm, &o->body_max, why, sizeof(why)) != 0 || o->body_max < 1024) {
            if (errs)
                cfg_errors_add_at(errs, wc->path, n->line, n->col, NULL,
                                  "worker option 'rest.body.max.bytes': '%s' is not a size of at least 1KiB", bm);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

int rest_enabled(const worker_config_t *wc)
{
    rest_opts_t o;
    return rest_opts_read(wc, &o, NULL) == 0 && !o.off;
}

void rest_config_check(const worker_config_t *wc, cfg_errors_t *errs)
{
    rest_opts_t o;
    rest_opts_read(wc, &o, errs);
}

/* ---- responses ------------------------------------------------------------------------------ */

enum MHD_Result send_text(request_t *q, struct MHD_Connection *c, unsigned code, const char *ctype, const char *text)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    enum MHD_Result rc = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    q->answered = 1;
    return rc;
}

enum MHD_Result send_json(request_t *q, struct MHD_Connection *c, unsigned code, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    enum MHD_Result rc = send_text(q, c, code, "application/json", text ? text : "null");
    free(text);
    return rc;
}

enum MHD_Result send_error(request_t *q, struct MHD_Connection *c, unsigned code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = str_vprintf(fmt, ap);
    va_end(ap);
    json_t *m = json_string(msg);
    free(msg);
    return send_json(q, c, code, json_pack("{s:i, s:o}", "error_code", (int)code, "message", m ? m : json_string("?")));
}

/* ---- authentication ------------------------------------------------------------------------------ */

int rest_token_ok(const rest_t *r, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0) return 0;
    const char *got = h + 7;
    size_t gl = strlen(got), tl = strlen(r->token);
    /* Constant time in the token's bytes: every byte is compared. */
    unsigned char diff = (unsigned char)(gl != tl);
    for (size_t i = 0; i < tl; i++) diff |= (unsigned char)(r->token[i] ^ (i < gl ? got[i] : 0));
    return diff == 0;
}

static enum MHD_Result send_unauthorized(request_t *q, struct MHD_Connection *c)
{
    json_t *j = json_pack("{s:i, s:s}", "error_code", 401, "message",
                          "a valid 'Authorization: Bearer <rest.token>' header is required");
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"ferry\"");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, resp);
    MHD_destroy_response(resp);
    q->answered = 1;
    return rc;
}

/* host (a Host header's or an Origin's host part) names this machine. */
static int host_is_local(const char *host, size_t len)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]", NULL};
    for (const char *const *n = names; *n; n++)
        if (len == strlen(*n) && strncasecmp(host, *n, len) == 0) return 1;
    return len > 4 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == len;
}

/* Without a token: a loopback Host (a DNS name rebound to 127.0.0.1 is
 * not) and no Origin but a loopback one, so that a web page open in a
 * browser on this machine cannot drive the worker. */
static int local_request(struct MHD_Connection *c)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (host) {
        const char *end = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
        size_t len = end ? (size_t)(end - host) + (host[0] == '[') : strlen(host);
        if (!host_is_local(host, len)) return 0;
    }
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (origin) {
        const char *h = strstr(origin, "://");
        if (!h) return 0;
        h += 3;
        const char *end = h[0] == '[' ? strchr(h, ']') : h + strcspn(h, ":/");
        size_t len = end ? (size_t)(end - h) + (h[0] == '[') : strlen(h);
        if (!host_is_local(h, len)) return 0;
    }
    return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    rest_t *r = cls;
    request_t *q = *con_cls;
    if (!q) {
        q = xcalloc(1, sizeof(*q));
        *con_cls = q;
        /* Everything that needs only the headers is decided before a body
         * is read. Probes need no token: they say nothing but up or not. */
        int probe = strcmp(url, "/health") == 0 || strcmp(url, "/ready") == 0;
        if (r->token && !probe && !rest_token_ok(r, c)) return send_unauthorized(q, c);
        if (!r->token && !local_request(c))
            return send_error(q, c, MHD_HTTP_FORBIDDEN,
                              "without rest.token only requests for a loopback Host and from no other Origin "
                              "are served (a web page must not drive the worker)");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > r->body_max) {
            q->too_big = 1;
            return send_error(q, c, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes (rest.body.max.bytes)",
                              r->body_max);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_big && q->len + *upload_size > r->body_max) {
            q->too_big = 1;
            free(q->body);
            q->body = NULL;
            q->len = 0;
        }
        if (!q->too_big && !q->answered) {
            q->body = xrealloc(q->body, q->len + *upload_size + 1);
            memcpy(q->body + q->len, upload, *upload_size);
            q->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->answered) return MHD_YES;
    if (q->too_big)
        return send_error(q, c, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes (rest.body.max.bytes)",
                          r->body_max);
    return rest_route(r, q, c, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    request_t *q = *con_cls;
    if (!q) return;
    free(q->body);
    free(q);
    *con_cls = NULL;
}

/* A PEM file's text; NULL with err. */
static char *read_pem(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "rest.tls: %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0 && len < 1024 * 1024;) {
        if (len + n + 1 > cap) text = xrealloc(text, cap = (len + n + 1) * 2);
        memcpy(text + len, buf, n);
        len += n;
    }
    fclose(f);
    if (!text || !strstr(text, "-----BEGIN ")) {
        snprintf(err, errlen, "rest.tls: %s: not a PEM file", path);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

rest_t *rest_start(worker_t *w, const worker_config_t *wc, const plugin_registry_t *reg, int *disabled, char *err,
                   size_t errlen)
{
    *disabled = 0;
    rest_opts_t o;
    cfg_errors_t errs = {0};
    if (rest_opts_read(wc, &o, &errs) != 0) {
        snprintf(err, errlen, "%s", errs.count ? errs.items[0] : "invalid rest options");
        cfg_errors_clear(&errs);
        return NULL;
    }
    if (o.off) {
        *disabled = 1;
        return NULL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    const char *host = strcmp(o.host, "localhost") == 0 ? "127.0.0.1" : o.host;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)o.port);
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)o.port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "rest.listen: '%s' is not an IP address", o.host);
        return NULL;
    }
    rest_t *r = xcalloc(1, sizeof(*r));
    r->w = w;
    r->wc = wc;
    r->reg = reg;
    r->token = o.token ? str_dup(o.token) : NULL;
    r->body_max = (size_t)o.body_max;
    char *cert = NULL, *key = NULL;
    if (o.tls_cert) {
        cert = read_pem(o.tls_cert, err, errlen);
        key = cert ? read_pem(o.tls_key, err, errlen) : NULL;
        if (!key) {
            free(cert);
            rest_stop(r);
            return NULL;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {
        {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    r->daemon = MHD_start_daemon(flags, (uint16_t)o.port, NULL, NULL, on_request, r, MHD_OPTION_SOCK_ADDR, &ss,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, r, MHD_OPTION_THREAD_POOL_SIZE, 4u,
                                 MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 32u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                 (size_t)64 * 1024, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    /* The daemon keeps its own copy of the key material. */
    if (key) explicit_bzero(key, strlen(key));
    free(cert);
    free(key);
    if (!r->daemon) {
        int e = errno;
        if (o.is_default) {
            /* Several workers on one machine: only the first gets the
             * default port; the others run without the API. */
            log_warn("rest: cannot listen on %s (%s): running without the REST API (set worker.rest.listen)",
                     REST_DEFAULT_LISTEN, strerror(e));
            *disabled = 1;
        } else {
            snprintf(err, errlen, "rest.listen: cannot listen on %s:%d: %s", o.host, o.port, strerror(e));
        }
        rest_stop(r);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? (int)info->port : o.port;
    snprintf(r->address, sizeof(r->address), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    /* A distributed group's workers must tell themselves apart in
     * statuses: a loopback or wildcard address says the host instead. */
    static const char *const local[] = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""};
    int is_local = 0;
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) is_local |= strcmp(host, local[i]) == 0;
    char hostname[256] = "", shown[300];
    if (wc->group_id && is_local && gethostname(hostname, sizeof(hostname) - 1) == 0 && hostname[0])
        snprintf(shown, sizeof(shown), "%s:%d", hostname, port);
    else
        snprintf(shown, sizeof(shown), "%s", r->address);
    worker_set_id(w, shown);
    log_info("rest: listening on %s://%s%s", o.tls_cert ? "https" : "http", r->address,
             r->token ? " (bearer token required)" : "");
    return r;
}

const char *rest_address(const rest_t *r) { return r->address; }

void rest_stop(rest_t *r)
{
    if (!r) return;
    if (r->daemon) MHD_stop_daemon(r->daemon);
    free(r->token);
    free(r);
}
