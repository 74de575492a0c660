/*
 * s3_client.c — S3 requests over one libcurl easy handle (see s3_client.h).
 *
 * Signing is curl's (CURLOPT_AWS_SIGV4). The payload hash is computed here
 * and sent as x-amz-content-sha256, which S3 requires and curl then signs
 * with the other x-amz-* headers. Query strings are built already in SigV4's
 * canonical form (names sorted, values percent-encoded, "uploads=" rather
 * than "uploads"), because curl 7.88 signs the query exactly as given.
 *
 * Threads: a client belongs to one task thread.
 */
#include "s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3_xml.h"

#define S3_URL_MAX 4096
#define S3_ERR_MAX 1024
#define S3_REPLY_KEEP (256 * 1024) /* reply bodies kept for error messages and XML */

struct s3_client {
    CURL *curl;
    char *scheme_host; /* "http://127.0.0.1:9000" (path style) or with the bucket in front */
    char *host_only;   /* for messages: the endpoint as configured */
    char *bucket;
    char *region;
    char *access_key;
    char *secret_key;
    char *session_token;
    char *credentials_from;
    char *ca_file;
    int path_style;
    int tls_verify;
    int64_t timeout_ms;
    int retry_max;
    int64_t backoff_initial_ms;
    int64_t backoff_max_ms;
    int (*should_stop)(void *arg);
    void *stop_arg;
    unsigned rand_state;
    void *owned_arg;
    void (*owned_free)(void *);
    char err[S3_ERR_MAX];
};

/* One exchange: what the request sends and what came back. */
typedef struct s3_req {
    s3_client_t *c;
    int64_t progress_bytes; /* bytes moved either way, last seen by on_progress */
    int64_t progress_ms;    /* when they last moved */
    const char *method;
    const char *key;   /* NULL = the bucket itself */
    const char *query; /* canonical query without '?', or NULL */
    const void *body;
    size_t body_len;
    const char *content_type;
    int if_none_match;
    /* reply */
    long http;
    s3_buf_t reply;    /* body (capped at S3_REPLY_KEEP unless sink is set) */
    s3_buf_t *sink;    /* GET: the whole body goes here */
    char etag[160];
    int64_t content_length;
} s3_req_t;

int s3_buf_append(s3_buf_t *b, const void *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            return -1;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void s3_buf_free(s3_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void set_err(s3_client_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(s3_client_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

const char *s3_client_error(const s3_client_t *c)
{
    return c->err;
}

const char *s3_client_bucket(const s3_client_t *c)
{
    return c->bucket;
}

int s3_settings_from_env(s3_settings_t *s)
{
    s->access_key = getenv("AWS_ACCESS_KEY_ID");
    s->secret_key = getenv("AWS_SECRET_ACCESS_KEY");
    s->session_token = getenv("AWS_SESSION_TOKEN");
    s->credentials_from = "the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)";
    return s->access_key && s->access_key[0] && s->secret_key && s->secret_key[0] ? 0 : -1;
}

void s3_client_free(s3_client_t *c)
{
    if (c == NULL) {
        return;
    }
    if (c->curl) {
        curl_easy_cleanup(c->curl);
    }
    free(c->scheme_host);
    free(c->host_only);
    free(c->bucket);
    free(c->region);
    free(c->access_key);
    if (c->secret_key) {
        memset(c->secret_key, 0, strlen(c->secret_key));
    }
    free(c->secret_key);
    free(c->session_token);
    free(c->credentials_from);
    free(c->ca_file);
    if (c->owned_free) {
        c->owned_free(c->owned_arg);
    }
    free(c);
}

void s3_client_set_owned_arg(s3_client_t *c, void *arg, void (*free_fn)(void *))
{
    c->owned_arg = arg;
    c->owned_free = free_fn;
}

s3_client_t *s3_client_new(const s3_settings_t *s, char *err, size_t errlen)
{
    static int global_done;
    if (!global_done) {
        /* Idempotent after the first call; the host may have done it too. */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        global_done = 1;
    }
    if (s->bucket == NULL || s->bucket[0] == '\0') {
        snprintf(err, errlen, "no bucket name");
        return NULL;
    }
    s3_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *region = s->region && s->region[0] ? s->region : "us-east-1";
    char aws[256];
    const char *endpoint = s->endpoint;
    if (endpoint == NULL || endpoint[0] == '\0') {
        snprintf(aws, sizeof(aws), "https://s3.%s.amazonaws.com", region);
        endpoint = aws;
    }
    const char *sep = strstr(endpoint, "://");
    if (sep == NULL || sep == endpoint || sep[3] == '\0' || strchr(sep + 3, '/') != NULL ||
        (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)) {
        snprintf(err, errlen,
                 "store.url %s: expected http://HOST[:PORT] or https://HOST[:PORT] without a path",
                 endpoint);
        free(c);
        return NULL;
    }
    size_t sl = (size_t)(sep - endpoint) + 3;
    char buf[S3_URL_MAX];
    if (s->path_style) {
        snprintf(buf, sizeof(buf), "%s", endpoint);
    } else {
        snprintf(buf, sizeof(buf), "%.*s%s.%s", (int)sl, endpoint, s->bucket, endpoint + sl);
    }
    c->scheme_host = strdup(buf);
    c->host_only = strdup(endpoint);
    c->bucket = strdup(s->bucket);
    c->region = strdup(region);
    c->access_key = strdup(s->access_key ? s->access_key : "");
    c->secret_key = strdup(s->secret_key ? s->secret_key : "");
    c->session_token = s->session_token && s->session_token[0] ? strdup(s->session_token) : NULL;
    c->credentials_from = strdup(s->credentials_from ? s->credentials_from : "configuration");
    c->ca_file = dup_or_null(s->ca_file && s->ca_file[0] ? s->ca_file : NULL);
    c->path_style = s->path_style;
    c->tls_verify = s->tls_verify;
    c->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : 30000;
    c->retry_max = s->retry_max >= 0 ? s->retry_max : 0;
    c->backoff_initial_ms = s->backoff_initial_ms > 0 ? s->backoff_initial_ms : 200;
    c->backoff_max_ms = s->backoff_max_ms > 0 ? s->backoff_max_ms : 10000;
    c->should_stop = s->should_stop;
    c->stop_arg = s->stop_arg;
    c->rand_state = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)c;
    c->curl = curl_easy_init();
    if (!c->scheme_host || !c->host_only || !c->bucket || !c->region || !c->access_key ||
        !c->secret_key || !c->credentials_from || !c->curl ||
        (s->session_token && s->session_token[0] && !c->session_token)) {
        snprintf(err, errlen, "out of memory");
        s3_client_free(c);
        return NULL;
    }
    return c;
}

s3_client_t *s3_client_dup(const s3_client_t *c, char *err, size_t errlen)
{
    s3_settings_t s = {
        .endpoint = c->host_only,
        .region = c->region,
        .bucket = c->bucket,
        .path_style = c->path_style,
        .access_key = c->access_key,
        .secret_key = c->secret_key,
        .session_token = c->session_token,
        .credentials_from = c->credentials_from,
        .tls_verify = c->tls_verify,
        .ca_file = c->ca_file,
        .timeout_ms = c->timeout_ms,
        .retry_max = c->retry_max,
        .backoff_initial_ms = c->backoff_initial_ms,
        .backoff_max_ms = c->backoff_max_ms,
        .should_stop = c->should_stop,
        .stop_arg = c->stop_arg,
    };
    return s3_client_new(&s, err, errlen);
}

/* ---- encoding and hashing ---------------------------------------------- */

/* Percent-encodes s as SigV4 wants: unreserved characters stay, '/' stays
 * when keep_slash. Returns 0, or -1 when out is too small. */
static int uri_encode(const char *s, int keep_slash, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
                    (keep_slash && *p == '/');
        if (o + (plain ? 1 : 3) >= outlen) {
            return -1;
        }
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

int s3_curl_sign(void *curl, void **headers, const char *region, const char *service,
                 const char *access_key, const char *secret_key, const char *session_token)
{
    char provider[128];
    snprintf(provider, sizeof(provider), "aws:amz:%s:%s", region, service);
    if (curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, provider) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_USERNAME, access_key) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_PASSWORD, secret_key) != CURLE_OK) {
        return -1;
    }
    if (session_token && session_token[0]) {
        size_t n = strlen(session_token) + 32;
        char *h = malloc(n);
        if (h == NULL) {
            return -1;
        }
        snprintf(h, n, "X-Amz-Security-Token: %s", session_token);
        struct curl_slist *l = curl_slist_append(*headers, h);
        free(h);
        if (l == NULL) {
            return -1;
        }
        *headers = l;
    }
    return 0;
}

/* ---- one request --------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    s3_req_t *r = arg;
    size_t len = size * n;
    if (r->sink && r->http >= 200 && r->http < 300) {
        return s3_buf_append(r->sink, p, len) == 0 ? len : 0;
    }
    if (r->reply.len < S3_REPLY_KEEP) {
        size_t take = len < S3_REPLY_KEEP - r->reply.len ? len : S3_REPLY_KEEP - r->reply.len;
        if (s3_buf_append(&r->reply, p, take) != 0) {
            return 0;
        }
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    s3_req_t *r = arg;
    size_t len = size * n;
    if (len > 9 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new status line (e.g. after 100 Continue): the body that follows is its own. */
        const char *sp = memchr(p, ' ', len);
        r->http = sp ? strtol(sp + 1, NULL, 10) : 0;
    } else if (len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
        size_t i = 5, e = len;
        while (i < e && (p[i] == ' ' || p[i] == '"')) {
            i++;
        }
        while (e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' ' || p[e - 1] == '"')) {
            e--;
        }
        size_t k = e - i < sizeof(r->etag) - 1 ? e - i : sizeof(r->etag) - 1;
        memcpy(r->etag, p + i, k);
        r->etag[k] = '\0';
    } else if (len > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
        r->content_length = strtoll(p + 15, NULL, 10);
    }
    return len;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A request that moves no byte for a second once the task is asked to stop
 * is given up (a hung server must not hold shutdown for the whole request
 * timeout); one that is moving is let finish. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    s3_req_t *r = arg;
    int64_t moved = (int64_t)dlnow + (int64_t)ulnow, now = now_ms();
    if (moved != r->progress_bytes || r->progress_ms == 0) {
        r->progress_bytes = moved;
        r->progress_ms = now;
        return 0;
    }
    return r->c->should_stop && r->c->should_stop(r->c->stop_arg) && now - r->progress_ms >= 1000;
}

/* "s3://bucket/key" for messages. */
static void where(const s3_client_t *c, const s3_req_t *r, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s s3://%s/%s%s%s at %s", r->method, c->bucket, r->key ? r->key : "",
             r->query ? "?" : "", r->query ? r->query : "", c->host_only);
}

/* Performs the request once. Returns the curl code; r->http holds the status. */
static CURLcode perform_once(s3_client_t *c, s3_req_t *r)
{
    char url[S3_URL_MAX * 2], ekey[S3_URL_MAX * 3];
    if (r->key && uri_encode(r->key, 1, ekey, sizeof(ekey)) != 0) {
        return CURLE_URL_MALFORMAT;
    }
    int n;
    if (c->path_style) {
        /* The bucket itself without a trailing '/': some servers canonicalise
         * "/bucket/" to "/bucket" before they check the signature. */
        n = snprintf(url, sizeof(url), "%s/%s%s%s%s%s", c->scheme_host, c->bucket, r->key ? "/" : "",
                     r->key ? ekey : "", r->query ? "?" : "", r->query ? r->query : "");
    } else {
        n = snprintf(url, sizeof(url), "%s/%s%s%s", c->scheme_host, r->key ? ekey : "",
                     r->query ? "?" : "", r->query ? r->query : "");
    }
    if (n < 0 || (size_t)n >= sizeof(url)) {
        return CURLE_URL_MALFORMAT;
    }
    CURL *h = c->curl;
    curl_easy_reset(h);
    struct curl_slist *hdrs = NULL;
    char line[256], hash[65];
    sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, hash);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hash);
    hdrs = curl_slist_append(hdrs, line);
    /* Always a Content-Type on a body: curl's default for POSTFIELDS is
     * application/x-www-form-urlencoded, and a server may then read the
     * body as form fields (moto does, and loses the part number). */
    if (r->content_type || (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0)) {
        snprintf(line, sizeof(line), "Content-Type: %s", r->content_type ? r->content_type : "application/octet-stream");
        hdrs = curl_slist_append(hdrs, line);
    }
    if (r->if_none_match) {
        hdrs = curl_slist_append(hdrs, "If-None-Match: *");
    }
    void *hv = hdrs;
    if (hdrs == NULL ||
        s3_curl_sign(h, &hv, c->region, "s3", c->access_key, c->secret_key, c->session_token) != 0) {
        curl_slist_free_all(hv);
        return CURLE_OUT_OF_MEMORY;
    }
    hdrs = hv;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->timeout_ms < 10000 ? c->timeout_ms : 10000));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    if (c->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    r->c = c;
    r->progress_bytes = 0;
    r->progress_ms = 0;
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
        if (strcmp(r->method, "DELETE") != 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
        }
    }
    r->http = 0;
    r->etag[0] = '\0';
    r->content_length = -1;
    r->reply.len = 0;
    size_t sink_len0 = r->sink ? r->sink->len : 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        r->http = code;
    }
    if (r->sink && (rc != CURLE_OK || r->http < 200 || r->http >= 300)) {
        r->sink->len = sink_len0; /* a failed attempt leaves nothing behind */
    }
    curl_slist_free_all(hdrs);
    return rc;
}

/* Sleeps ms in short steps, so that a stop request is seen. Returns 1 when stopped. */
static int backoff_sleep(s3_client_t *c, int64_t ms)
{
    while (ms > 0) {
        if (c->should_stop && c->should_stop(c->stop_arg)) {
            return 1;
        }
        int64_t step = ms < 100 ? ms : 100;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return c->should_stop && c->should_stop(c->stop_arg);
}

static int transient_code(const char *code)
{
    return strcmp(code, "SlowDown") == 0 || strcmp(code, "InternalError") == 0 ||
           strcmp(code, "RequestTimeout") == 0 || strcmp(code, "ServiceUnavailable") == 0 ||
           strcmp(code, "RequestTimeTooSkewed") == 0;
}

/* Performs r with retries; fills c->err on anything but S3_OK. */
static s3_status_t perform(s3_client_t *c, s3_req_t *r)
{
    char wh[S3_URL_MAX];
    int64_t delay = c->backoff_initial_ms;
    for (int attempt = 0;; attempt++) {
        CURLcode rc = perform_once(c, r);
        where(c, r, wh, sizeof(wh));
        char code[128] = "", msg[512] = "";
        int transient;
        if (rc != CURLE_OK) {
            transient = rc != CURLE_URL_MALFORMAT && rc != CURLE_OUT_OF_MEMORY &&
                        rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_PEER_FAILED_VERIFICATION &&
                        rc != CURLE_SSL_CACERT_BADFILE && rc != CURLE_WRITE_ERROR;
            set_err(c, "%s: %s", wh, curl_easy_strerror(rc));
        } else if (r->http >= 200 && r->http < 300) {
            return S3_OK;
        } else {
            if (r->reply.len > 0) {
                s3_xml_text(r->reply.data, r->reply.len, "Code", code, sizeof(code));
                s3_xml_text(r->reply.data, r->reply.len, "Message", msg, sizeof(msg));
            }
            if (r->http == 412 && r->if_none_match) {
                set_err(c, "%s: an object with this key exists (412)", wh);
                return S3_EXISTS;
            }
            if (r->http == 404 && r->key && (code[0] == '\0' || strcmp(code, "NoSuchKey") == 0)) {
                set_err(c, "%s: no such key (404)", wh);
                return S3_NOTFOUND;
            }
            transient = r->http >= 500 || r->http == 429 || r->http == 408 ||
                        (code[0] && transient_code(code));
            const char *hint = "";
            if (r->http == 403) {
                hint = "; check the key pair";
            } else if (r->http == 404 || strcmp(code, "NoSuchBucket") == 0) {
                hint = "; does the bucket exist?";
            } else if (r->http == 301 || strcmp(code, "PermanentRedirect") == 0 ||
                       strcmp(code, "AuthorizationHeaderMalformed") == 0) {
                hint = "; check s3.region and s3.path.style.access.enabled";
            }
            set_err(c, "%s: HTTP %ld%s%s%s%s (credentials from %s%s)", wh, r->http,
                    code[0] ? " " : "", code, msg[0] ? ": " : "", msg, c->credentials_from, hint);
        }
        if (!transient) {
            return S3_ERROR;
        }
        if (attempt >= c->retry_max) {
            size_t l = strlen(c->err);
            snprintf(c->err + l, sizeof(c->err) - l, " (gave up after %d attempts)", attempt + 1);
            return S3_RETRY;
        }
        /* Full jitter: a random wait up to the current bound. */
        int64_t wait = delay / 2 + (int64_t)(rand_r(&c->rand_state) % (unsigned)(delay / 2 + 1));
        if (backoff_sleep(c, wait)) {
            return S3_RETRY;
        }
        delay = delay * 2 < c->backoff_max_ms ? delay * 2 : c->backoff_max_ms;
    }
}

/* ---- the operations ---------------------------------------------------- */

s3_status_t s3_check_bucket(s3_client_t *c)
{
    /* A one-key listing rather than HEAD: a HEAD reply has no body, so it
     * could not say why it failed. */
    s3_req_t r = {.method = "GET", .query = "list-type=2&max-keys=1"};
    s3_status_t st = perform(c, &r);
    s3_buf_free(&r.reply);
    return st;
}

s3_status_t s3_put(s3_client_t *c, const char *key, const void *data, size_t len,
                   const char *content_type, int if_none_match)
{
    s3_req_t r = {.method = "PUT",
                  .key = key,
                  .body = data,
                  .body_len = len,
                  .content_type = content_type,
                  .if_none_match = if_none_match};
    s3_status_t st = perform(c, &r);
    s3_buf_free(&r.reply);
    return st;
}

s3_status_t s3_get(s3_client_t *c, const char *key, s3_buf_t *out)
{
    s3_req_t r = {.method = "GET", .key = key, .sink = out};
    s3_status_t st = perform(c, &r);
    s3_buf_free(&r.reply);
    return st;
}

s3_status_t s3_head(s3_client_t *c, const char *key, int64_t *size, char *etag, size_t etag_len)
{
    s3_req_t r = {.method = "HEAD", .key = key};
    s3_status_t st = perform(c, &r);
    if (st == S3_OK) {
        if (size) {
            *size = r.content_length;
        }
        if (etag && etag_len) {
            snprintf(etag, etag_len, "%s", r.etag);
        }
    }
    s3_buf_free(&r.reply);
    return st;
}

s3_status_t s3_mpu_create(s3_client_t *c, const char *key, const char *content_type,
                          char *upload_id, size_t upload_id_len)
{
    s3_req_t r = {.method = "POST", .key = key, .query = "uploads=", .content_type = content_type};
    s3_status_t st = perform(c, &r);
    if (st == S3_OK &&
        (r.reply.len == 0 || s3_xml_text(r.reply.data, r.reply.len, "UploadId", upload_id,
                                         upload_id_len) <= 0)) {
        char wh[S3_URL_MAX];
        where(c, &r, wh, sizeof(wh));
        set_err(c, "%s: the reply has no UploadId", wh);
        st = S3_ERROR;
    }
    s3_buf_free(&r.reply);
    return st;
}

/* "partNumber=N&uploadId=ENC" / "uploadId=ENC" (sorted, encoded). */
static int upload_query(char *out, size_t outlen, int part_number, const char *upload_id)
{
    char enc[3200];
    if (uri_encode(upload_id, 0, enc, sizeof(enc)) != 0) {
        return -1;
    }
    int n = part_number > 0 ? snprintf(out, outlen, "partNumber=%d&uploadId=%s", part_number, enc)
                            : snprintf(out, outlen, "uploadId=%s", enc);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

s3_status_t s3_mpu_part(s3_client_t *c, const char *key, const char *upload_id, int part_number,
                        const void *data, size_t len, char *etag, size_t etag_len)
{
    char q[3300];
    if (upload_query(q, sizeof(q), part_number, upload_id) != 0) {
        set_err(c, "upload id too long");
        return S3_ERROR;
    }
    s3_req_t r = {.method = "PUT", .key = key, .query = q, .body = data, .body_len = len};
    s3_status_t st = perform(c, &r);
    if (st == S3_OK) {
        if (r.etag[0] == '\0') {
            set_err(c, "PUT s3://%s/%s part %d: the reply has no ETag", c->bucket, key, part_number);
            st = S3_ERROR;
        } else {
            snprintf(etag, etag_len, "%s", r.etag);
        }
    }
    s3_buf_free(&r.reply);
    return st;
}

s3_status_t s3_mpu_complete(s3_client_t *c, const char *key, const char *upload_id,
                            char (*etags)[128], int parts, int if_none_match)
{
    char q[3300];
    if (upload_query(q, sizeof(q), 0, upload_id) != 0) {
        set_err(c, "upload id too long");
        return S3_ERROR;
    }
    s3_buf_t body = {0};
    int bad = s3_buf_append(&body, "<CompleteMultipartUpload>", 25);
    for (int i = 0; i < parts && !bad; i++) {
        char part[400], esc[300];
        if (s3_xml_escape(etags[i], esc, sizeof(esc)) < 0) {
            bad = 1;
            break;
        }
        int n = snprintf(part, sizeof(part), "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
                         i + 1, esc);
        bad = s3_buf_append(&body, part, (size_t)n);
    }
    bad = bad || s3_buf_append(&body, "</CompleteMultipartUpload>", 26);
    if (bad) {
        s3_buf_free(&body);
        set_err(c, "out of memory");
        return S3_ERROR;
    }
    s3_req_t r = {.method = "POST",
                  .key = key,
                  .query = q,
                  .body = body.data,
                  .body_len = body.len,
                  .content_type = "application/xml",
                  .if_none_match = if_none_match};
    s3_status_t st = perform(c, &r);
    if (st == S3_OK && r.reply.len > 0) {
        /* S3 may answer 200 and put the failure in the body. */
        char code[128];
        if (s3_xml_text(r.reply.data, r.reply.len, "Code", code, sizeof(code)) > 0 &&
            s3_xml_find(r.reply.data, r.reply.len, "Error", &(const char *){NULL}, &(size_t){0})) {
            set_err(c, "POST s3://%s/%s complete: %s", c->bucket, key, code);
            st = transient_code(code) ? S3_RETRY : S3_ERROR;
        }
    }
    s3_buf_free(&r.reply);
    s3_buf_free(&body);
    return st;
}

s3_status_t s3_mpu_abort(s3_client_t *c, const char *key, const char *upload_id)
{
    char q[3300];
    if (upload_query(q, sizeof(q), 0, upload_id) != 0) {
        set_err(c, "upload id too long");
        return S3_ERROR;
    }
    s3_req_t r = {.method = "DELETE", .key = key, .query = q};
    s3_status_t st = perform(c, &r);
    if (st == S3_NOTFOUND) {
        st = S3_OK; /* already gone */
    }
    s3_buf_free(&r.reply);
    return st;
}

s3_status_t s3_list(s3_client_t *c, const char *prefix, s3_list_fn fn, void *arg)
{
    char token[2048] = "", etoken[6200], eprefix[3 * 1024 + 1], q[9400];
    if (uri_encode(prefix, 0, eprefix, sizeof(eprefix)) != 0) {
        set_err(c, "list: prefix too long");
        return S3_ERROR;
    }
    for (;;) {
        if (token[0]) {
            if (uri_encode(token, 0, etoken, sizeof(etoken)) != 0) {
                set_err(c, "list: continuation token too long");
                return S3_ERROR;
            }
            snprintf(q, sizeof(q), "continuation-token=%s&list-type=2&prefix=%s", etoken, eprefix);
        } else {
            snprintf(q, sizeof(q), "list-type=2&prefix=%s", eprefix);
        }
        /* A page of 1000 keys is easily more than S3_REPLY_KEEP: the whole
         * body goes to a buffer of its own. */
        s3_buf_t page = {0};
        s3_req_t r = {.method = "GET", .query = q, .sink = &page};
        s3_status_t st = perform(c, &r);
        s3_buf_free(&r.reply);
        r.reply = page;
        if (st != S3_OK) {
            s3_buf_free(&r.reply);
            return st;
        }
        const char *p = r.reply.data ? r.reply.data : "";
        size_t left = r.reply.len;
        long entries = 0;
        const char *inner;
        size_t inner_len;
        const char *next;
        int stopped = 0;
        while (!stopped && (next = s3_xml_find(p, left, "Contents", &inner, &inner_len)) != NULL) {
            char key[1100], size[32];
            if (s3_xml_text(inner, inner_len, "Key", key, sizeof(key)) < 0) {
                set_err(c, "list s3://%s/%s: a <Contents> entry without a readable <Key>", c->bucket,
                        prefix);
                s3_buf_free(&r.reply);
                return S3_ERROR;
            }
            int64_t sz = -1;
            if (s3_xml_text(inner, inner_len, "Size", size, sizeof(size)) > 0) {
                sz = strtoll(size, NULL, 10);
            }
            stopped = fn(arg, key, sz);
            entries++;
            left -= (size_t)(next - p);
            p = next;
        }
        char kc[32];
        if (!stopped && s3_xml_text(r.reply.data ? r.reply.data : "", r.reply.len, "KeyCount", kc, sizeof(kc)) > 0 &&
            strtol(kc, NULL, 10) != entries) {
            set_err(c, "list s3://%s/%s: the page says KeyCount %s but holds %ld entries (a cut reply?)", c->bucket,
                    prefix, kc, entries);
            s3_buf_free(&r.reply);
            return S3_RETRY;
        }
        char trunc[16] = "";
        s3_xml_text(r.reply.data ? r.reply.data : "", r.reply.len, "IsTruncated", trunc, sizeof(trunc));
        token[0] = '\0';
        if (!stopped && strcmp(trunc, "true") == 0 &&
            s3_xml_text(r.reply.data, r.reply.len, "NextContinuationToken", token, sizeof(token)) <= 0) {
            set_err(c, "list s3://%s/%s: truncated reply without NextContinuationToken", c->bucket,
                    prefix);
            s3_buf_free(&r.reply);
            return S3_ERROR;
        }
        s3_buf_free(&r.reply);
        if (stopped || token[0] == '\0') {
            return S3_OK;
        }
    }
}
