/*
 * http_sink.c — http-sink: delivers topics to an HTTP endpoint in batches.
 *
 * Records of one Kafka partition gather in batches (up to batch.max.records,
 * batch.max.bytes, batch.linger; a batch also ends where the url resolved
 * for its records changes). Each partition is a FIFO of batches of which
 * only the head is ever on the wire, so one partition never has two
 * requests in flight and the receiver sees its records in order; up to
 * max.in.flight partitions send at once, over libcurl's multi interface,
 * whose connection cache keeps connections open between requests.
 *
 * Offsets: flush() lets the host commit a partition only up to the first
 * record of its oldest batch not yet acknowledged, so committed offsets
 * never pass a record whose request has not succeeded (or been reported
 * through record_error). A crash therefore loses nothing; what was sent but
 * not committed goes again, with the same Idempotency-Key
 * (<topic>-<partition>-<first offset>-<last offset>) when batches are cut the
 * same way, so a receiver can drop the duplicate.
 *
 * Rejections: record_error() only takes records of the batch being put, and
 * an answer can come in a later put() or in flush(). So a 4xx (other than
 * 401, 408, 429) drops the partition's queued batches, rewinds the partition
 * to the rejected batch's first offset (sink_rewind) and remembers the range
 * and the reason: when those records come again they go to record_error()
 * (dead-letter queue, or task failure), and the records after them are sent
 * again as usual.
 *
 * Retries: 5xx, 408, 429, timeouts and connection errors are retried with
 * exponential backoff and jitter (Retry-After, when given, is honoured) up
 * to retry.max times; then the task fails naming the url and the status. A
 * 401 drops the cached OAuth2 token and is tried once more at once.
 *
 * Memory and backpressure: the bodies buffered (queued and in flight) are
 * bounded by batch.max.bytes * (2 * max.in.flight + 2), and the records in
 * them by batch.max.records times the same. A
 * partition with more than two batches' bytes queued is paused (sink_pause)
 * until its queue drains; when the bound is reached anyway put() drives
 * the requests until there is room again, returning FERRY_RETRY (records
 * already taken are skipped when the host hands the batch again) after 5 s,
 * or at once when the task is asked to stop.
 *
 * Threads: every callback but stop() runs on the task thread, which alone
 * drives the multi handle; stop() only sets an atomic flag and wakes a
 * waiting curl_multi_poll().
 */
#include <ferry/ferry.h>

#include <curl/curl.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "http_sink_body.h"

#define HS_REPLY_KEEP 1024  /* bytes of a response body kept, for error messages */
#define HS_REPLY_SHOWN 200  /* ... and shown in them */
#define HS_PUT_WAIT_MS 5000 /* how long put() drives requests for room before FERRY_RETRY */
#define HS_DRAIN_MS 10000   /* how long the final flush waits for what is still on its way */
#define HS_FLUSH_DRIVE_MS 50 /* how long any other flush drives the requests */

static const char *const hs_methods[] = {"POST", "PUT", "PATCH", NULL};
static const char *const hs_formats[] = {"json-array", "ndjson", "single", NULL};

static const ferry_option_t http_sink_options[] = {
    {"url", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,
     "Endpoint, http:// or https://; may contain ${topic}, ${partition} and ${key} (percent-encoded). A batch "
     "holds records of one partition and one resolved url."},
    {"method", FERRY_OPT_ENUM, "POST", 0, 0, 0, hs_methods, "HTTP method of the requests."},
    {"headers", FERRY_OPT_MAP, "", 0, 0, 0, NULL,
     "Extra request headers (name: value), e.g. X-Api-Version: 2."},
    HTTP_CLIENT_AUTH_OPTIONS,
    {"batch.max.records", FERRY_OPT_INT, "500", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "Most records in one request (and in one batch the runtime hands the sink)."},
    {"batch.max.bytes", FERRY_OPT_SIZE, "1MiB", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "Largest request body (a single larger record goes alone); also bounds the runtime's batches."},
    {"batch.linger", FERRY_OPT_DURATION, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "How long a batch that is not full waits for more records before it is sent; 0 = send as soon as the "
     "partition has no request in flight. A flush sends it anyway."},
    {"format", FERRY_OPT_ENUM, "json-array", 0, 0, 0, hs_formats,
     "Request body: json-array (one JSON array per batch; JSON values embedded, others as JSON strings), "
     "ndjson (one JSON value per line) or single (one request per record, the value as it is)."},
    {"content.type", FERRY_OPT_STRING, "", 0, 0, 0, NULL,
     "Content-Type of the requests; empty = application/json (json-array, single) or application/x-ndjson."},
    {"max.in.flight", FERRY_OPT_INT, "5", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 256, NULL,
     "Most requests on the wire at once per task; at most one per Kafka partition, so order within a "
     "partition holds."},
    {"retry.max", FERRY_OPT_INT, "10", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 0, 10000, NULL,
     "Retries of a request that failed transiently (5xx, 408, 429, timeouts, connection errors) before the "
     "task fails."},
    {"retry.backoff.initial", FERRY_OPT_DURATION, "100ms", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "First wait before a retry; it doubles up to retry.backoff.max, with jitter. Retry-After wins."},
    {"retry.backoff.max", FERRY_OPT_DURATION, "10s", FERRY_OPT_HAS_MIN, 1, 0, NULL, "Longest wait between retries."},
    {"timeout", FERRY_OPT_DURATION, "30s", FERRY_OPT_HAS_MIN, 100, 0, NULL,
     "Time limit of one request (also of the OAuth2 token request)."},
    {"tls.ca.file", FERRY_OPT_STRING, "", 0, 0, 0, NULL, "CA bundle for https; empty = the system's."},
    {"tls.verify", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL, "Verify the server's certificate and name."},
    FERRY_OPTIONS_END};

typedef struct hs_batch {
    struct hs_batch *next;
    char *url;        /* resolved (owned) */
    hs_buf_t body;    /* owned */
    size_t count;
    int64_t first, last;
    int64_t created_ms;
    int64_t retry_at_ms;
    int sealed;       /* complete: no more records; its body is finished */
    int attempts;     /* failed tries so far */
    int reauthed;     /* a 401 already made us fetch a new token for it */
} hs_batch_t;

typedef struct hs_part {
    struct hs_part *next;
    char *topic;       /* owned */
    int32_t partition;
    hs_batch_t *head, *tail; /* FIFO; the head alone may be in flight */
    size_t queued_bytes;
    int in_flight;
    int paused;
    int rewound;       /* rewound in this put(): the rest of the batch is not ours to take */
    int64_t next_offset; /* records below it were taken; -1 = any */
    int reject_active; /* records reject_first..reject_last go to record_error when they come again */
    int64_t reject_first, reject_last;
    char reject_reason[FERRY_ERRMSG_SIZE];
} hs_part_t;

typedef struct hs_req {
    CURL *easy; /* owned; reused, its connection stays in the multi's cache */
    int busy;
    hs_part_t *part;
    hs_batch_t *batch;
    struct curl_slist *headers;
    hs_buf_t reply;
    int64_t retry_after_ms; /* from the response, -1 = none */
    char errbuf[CURL_ERROR_SIZE];
} hs_req_t;

typedef struct http_sink {
    ferry_task_t *task;
    const ferry_host_t *host;
    const char *url_tmpl; /* config strings: owned by the config */
    const char *method;
    hs_url_t *url;
    hs_format_t fmt;
    char *content_type;   /* "Content-Type: ..." (owned) */
    const char *const *hdr_names, *const *hdr_values;
    size_t hdr_count;
    int64_t max_records, max_bytes, linger_ms, backoff_initial, backoff_max;
    long timeout_ms;
    int max_in_flight, retry_max, tls_verify;
    const char *tls_ca_file;
    http_auth_t *auth;
    CURLM *multi;
    hs_req_t *reqs;       /* max_in_flight of them */
    int in_flight;
    hs_part_t *parts, *last_part;
    size_t buffered, buffer_max;   /* body bytes queued and in flight, and their bound */
    int64_t records, records_max;  /* records likewise */
    atomic_int stopping;
    int in_put, put_retrying;
    int failed;
    char fatal[FERRY_ERRMSG_SIZE];
    hs_buf_t scratch;
    unsigned int seed;
} http_sink_t;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- configuration ------------------------------------------------------------------- */

static ferry_status_t check_headers(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err)
{
    const char *const *names, *const *values;
    size_t n = host->cfg_map(cfg, "headers", &names, &values);
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] == '\0' || strpbrk(names[i], ":\r\n \t") != NULL)
            return ferry_error_set(err, FERRY_ERROR, "option headers: '%s' is not a valid header name", names[i]);
        if (strpbrk(values[i], "\r\n") != NULL)
            return ferry_error_set(err, FERRY_ERROR, "option headers: the value of '%s' contains a line break",
                                   names[i]);
        if (strcasecmp(names[i], "Idempotency-Key") == 0 || strcasecmp(names[i], "Authorization") == 0)
            return ferry_error_set(err, FERRY_ERROR,
                                   "option headers: '%s' is set by the sink itself (see auth.type and the "
                                   "delivery guarantee)", names[i]);
    }
    return FERRY_OK;
}

static ferry_status_t http_sink_validate(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err)
{
    char why[400];
    hs_url_t *url = hs_url_compile(host->cfg_string(cfg, "url"), why, sizeof(why));
    if (url == NULL) return ferry_error_set(err, FERRY_ERROR, "option url: %s", why);
    hs_url_free(url);
    if (check_headers(host, cfg, err) != FERRY_OK) return FERRY_ERROR;
    if (host->cfg_duration_ms(cfg, "retry.backoff.initial") > host->cfg_duration_ms(cfg, "retry.backoff.max"))
        return ferry_error_set(err, FERRY_ERROR, "option retry.backoff.initial is larger than retry.backoff.max");
    const char *ca = host->cfg_string(cfg, "tls.ca.file");
    if (ca && ca[0] && access(ca, R_OK) != 0)
        return ferry_error_set(err, FERRY_ERROR, "option tls.ca.file: cannot read '%s'", ca);
    /* The credentials the chosen auth.type needs (no request is made). */
    http_auth_t *auth = http_auth_open(host, NULL, cfg, err);
    if (auth == NULL) return FERRY_ERROR;
    http_auth_close(auth);
    return FERRY_OK;
}

static void sink_free(http_sink_t *sink);

static ferry_status_t http_sink_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                     void **state, ferry_error_t *err)
{
    if (!FERRY_HOST_HAS(host, record_error) || !FERRY_HOST_HAS(host, sink_rewind) ||
        !FERRY_HOST_HAS(host, sink_pause) || !FERRY_HOST_HAS(host, sink_resume))
        return ferry_error_set(err, FERRY_FATAL, "http-sink: needs a ferry host of ABI 1.1 or later");
    ferry_status_t st = http_sink_validate(host, cfg, err);
    if (st != FERRY_OK) return st;
    http_sink_t *sink = calloc(1, sizeof(*sink));
    if (sink == NULL) return ferry_error_set(err, FERRY_ERROR, "http-sink: out of memory");
    sink->task = task;
    sink->host = host;
    sink->url_tmpl = host->cfg_string(cfg, "url");
    sink->method = host->cfg_string(cfg, "method");
    char why[400];
    sink->url = hs_url_compile(sink->url_tmpl, why, sizeof(why));
    hs_format_parse(host->cfg_string(cfg, "format"), &sink->fmt);
    const char *ct = host->cfg_string(cfg, "content.type");
    char ctbuf[300];
    snprintf(ctbuf, sizeof(ctbuf), "Content-Type: %s", ct && ct[0] ? ct : hs_format_content_type(sink->fmt));
    sink->content_type = strdup(ctbuf);
    sink->hdr_count = host->cfg_map(cfg, "headers", &sink->hdr_names, &sink->hdr_values);
    sink->max_records = host->cfg_int(cfg, "batch.max.records");
    sink->max_bytes = host->cfg_size(cfg, "batch.max.bytes");
    sink->linger_ms = host->cfg_duration_ms(cfg, "batch.linger");
    sink->max_in_flight = (int)host->cfg_int(cfg, "max.in.flight");
    sink->retry_max = (int)host->cfg_int(cfg, "retry.max");
    sink->backoff_initial = host->cfg_duration_ms(cfg, "retry.backoff.initial");
    sink->backoff_max = host->cfg_duration_ms(cfg, "retry.backoff.max");
    sink->timeout_ms = (long)host->cfg_duration_ms(cfg, "timeout");
    sink->tls_verify = host->cfg_bool(cfg, "tls.verify");
    sink->tls_ca_file = host->cfg_string(cfg, "tls.ca.file");
    sink->buffer_max = (size_t)sink->max_bytes * (size_t)(2 * sink->max_in_flight + 2);
    sink->records_max = sink->max_records * (2 * sink->max_in_flight + 2);
    sink->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid() ^ (unsigned int)(uintptr_t)sink;
    sink->multi = curl_multi_init();
    sink->reqs = calloc((size_t)sink->max_in_flight, sizeof(*sink->reqs));
    if (sink->url == NULL || sink->content_type == NULL || sink->multi == NULL || sink->reqs == NULL) {
        sink_free(sink);
        return ferry_error_set(err, FERRY_ERROR, "http-sink: out of memory");
    }
    for (int i = 0; i < sink->max_in_flight; i++) {
        if ((sink->reqs[i].easy = curl_easy_init()) == NULL) {
            sink_free(sink);
            return ferry_error_set(err, FERRY_ERROR, "http-sink: curl_easy_init failed");
        }
    }
    sink->auth = http_auth_open(host, task, cfg, err);
    if (sink->auth == NULL) {
        sink_free(sink);
        return FERRY_ERROR;
    }
    host->log(task, FERRY_LOG_INFO, "http-sink: %s %s (%s, up to %d in flight)", sink->method, sink->url_tmpl,
              host->cfg_string(cfg, "format"), sink->max_in_flight);
    *state = sink;
    return FERRY_OK;
}

/* ---- partitions and batches -------------------------------------------------------------- */

static void batch_free(hs_batch_t *batch)
{
    if (batch == NULL) return;
    free(batch->url);
    hs_buf_free(&batch->body);
    free(batch);
}

static hs_part_t *part_get(http_sink_t *sink, const char *topic, int32_t partition)
{
    hs_part_t *last = sink->last_part;
    if (last && last->partition == partition && strcmp(last->topic, topic) == 0) return last;
    for (hs_part_t *p = sink->parts; p; p = p->next)
        if (p->partition == partition && strcmp(p->topic, topic) == 0) return sink->last_part = p;
    hs_part_t *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->topic = strdup(topic)) == NULL) {
        free(p);
        return NULL;
    }
    p->partition = partition;
    p->next_offset = -1;
    p->next = sink->parts;
    sink->parts = p;
    return sink->last_part = p;
}

static void part_pause(http_sink_t *sink, hs_part_t *p, int pause)
{
    if (p->paused == pause) return;
    p->paused = pause;
    if (pause) sink->host->sink_pause(sink->task, p->topic, p->partition);
    else sink->host->sink_resume(sink->task, p->topic, p->partition);
}

/* Drops the partition's head batch (acknowledged or rejected). */
static void part_pop(http_sink_t *sink, hs_part_t *p)
{
    hs_batch_t *b = p->head;
    p->head = b->next;
    if (p->head == NULL) p->tail = NULL;
    p->queued_bytes -= b->body.len;
    sink->buffered -= b->body.len;
    sink->records -= (int64_t)b->count;
    batch_free(b);
    if (p->paused && p->queued_bytes <= (size_t)sink->max_bytes) part_pause(sink, p, 0);
}

/* A request's handle back from the multi stack: its slot is free again. */
static void req_release(http_sink_t *sink, hs_req_t *req)
{
    curl_multi_remove_handle(sink->multi, req->easy);
    curl_slist_free_all(req->headers);
    req->headers = NULL;
    req->busy = 0;
    sink->in_flight--;
}

/* Stops the request of p, if one is on the wire. */
static void part_abort(http_sink_t *sink, hs_part_t *p)
{
    for (int i = 0; i < sink->max_in_flight; i++) {
        hs_req_t *req = &sink->reqs[i];
        if (!req->busy || req->part != p) continue;
        req_release(sink, req);
    }
    p->in_flight = 0;
}

static void part_clear(http_sink_t *sink, hs_part_t *p)
{
    part_abort(sink, p);
    while (p->head) part_pop(sink, p);
}

static int batch_seal(http_sink_t *sink, hs_part_t *p, hs_batch_t *b)
{
    if (b->sealed) return 0;
    size_t before = b->body.len;
    if (hs_body_finish(&b->body, sink->fmt, b->count) != 0) return -1;
    p->queued_bytes += b->body.len - before;
    sink->buffered += b->body.len - before;
    b->sealed = 1;
    return 0;
}

static ferry_status_t fail(http_sink_t *sink, const char *fmt, ...) FERRY_PRINTF(2, 3);
static ferry_status_t fail(http_sink_t *sink, const char *fmt, ...)
{
    if (!sink->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sink->fatal, sizeof(sink->fatal), fmt, ap);
        va_end(ap);
        sink->failed = 1;
    }
    return FERRY_ERROR;
}

/* Takes one record of the batch being put. */
static ferry_status_t take(http_sink_t *sink, const ferry_record_t *rec, ferry_error_t *err)
{
    const ferry_host_t *host = sink->host;
    hs_part_t *p = part_get(sink, rec->topic, rec->partition);
    if (p == NULL) return fail(sink, "http-sink: out of memory");
    if (p->rewound) return FERRY_OK; /* read again from the rewind point */
    int64_t off = rec->kafka_offset;
    if (p->next_offset >= 0 && off < p->next_offset) return FERRY_OK; /* taken before a FERRY_RETRY */
    if (p->reject_active && off > p->reject_last) p->reject_active = 0;
    if (p->reject_active && off >= p->reject_first) {
        p->next_offset = off + 1;
        if (off == p->reject_last) p->reject_active = 0;
        host->metric_add(sink->task, "records_rejected", 1);
        if (host->record_error(sink->task, rec, p->reject_reason) != FERRY_OK)
            return ferry_error_set(err, FERRY_ERROR, "%s", p->reject_reason);
        return FERRY_OK;
    }
    p->next_offset = off + 1;
    if (rec->value == NULL) {
        host->metric_add(sink->task, "tombstones_skipped", 1);
        return FERRY_OK;
    }
    const char *url = sink->url_tmpl;
    if (hs_url_has_placeholders(sink->url)) {
        if (hs_url_expand(sink->url, rec->topic, rec->partition, rec->key, rec->key_len, &sink->scratch) != 0)
            return fail(sink, "http-sink: out of memory");
        url = sink->scratch.data;
    }
    hs_batch_t *b = p->tail;
    size_t need = hs_body_estimate(sink->fmt, rec->value_len);
    if (b && !b->sealed &&
        ((int64_t)b->count >= sink->max_records || (int64_t)(b->body.len + need) > sink->max_bytes ||
         strcmp(b->url, url) != 0)) {
        if (batch_seal(sink, p, b) != 0) return fail(sink, "http-sink: out of memory");
    }
    if (b == NULL || b->sealed) {
        b = calloc(1, sizeof(*b));
        if (b == NULL || (b->url = strdup(url)) == NULL) {
            free(b);
            return fail(sink, "http-sink: out of memory");
        }
        b->first = off;
        b->created_ms = mono_ms();
        if (p->tail) p->tail->next = b;
        else p->head = b;
        p->tail = b;
    }
    size_t before = b->body.len;
    int is_json = FERRY_RECORD_HAS(host, flags) &&
                  (rec->flags & (FERRY_RECORD_VALUE_JSON | FERRY_RECORD_VALUE_ENVELOPE)) != 0;
    if (hs_body_add(&b->body, sink->fmt, b->count, rec->value, rec->value_len, is_json) != 0)
        return fail(sink, "http-sink: out of memory");
    b->count++;
    sink->records++;
    b->last = off;
    p->queued_bytes += b->body.len - before;
    sink->buffered += b->body.len - before;
    if (sink->fmt == HS_FMT_SINGLE || (int64_t)b->count >= sink->max_records) {
        if (batch_seal(sink, p, b) != 0) return fail(sink, "http-sink: out of memory");
    }
    if (p->queued_bytes > 2 * (size_t)sink->max_bytes) part_pause(sink, p, 1);
    return FERRY_OK;
}

/* ---- requests -------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    hs_req_t *req = arg;
    size_t n = size * nmemb;
    if (req->reply.len < HS_REPLY_KEEP) {
        size_t keep = req->reply.len + n > HS_REPLY_KEEP ? HS_REPLY_KEEP - req->reply.len : n;
        if (hs_buf_append(&req->reply, data, keep) != 0) return 0;
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    hs_req_t *req = arg;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) - 1 && n < 200 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char v[200];
        memcpy(v, data + sizeof(name) - 1, n - (sizeof(name) - 1));
        v[n - (sizeof(name) - 1)] = '\0';
        v[strcspn(v, "\r\n")] = '\0';
        req->retry_after_ms = hs_retry_after_ms(v, time(NULL));
    }
    return n;
}

static double rnd01(http_sink_t *sink)
{
    return (double)rand_r(&sink->seed) / ((double)RAND_MAX + 1.0);
}

/* The batch failed transiently (why): schedule its next try, or fail the task. */
static void retry_later(http_sink_t *sink, hs_part_t *p, hs_batch_t *b, int64_t retry_after_ms, const char *why)
{
    b->attempts++;
    if (b->attempts > sink->retry_max) {
        fail(sink, "http-sink: %s %s failed %d time(s), last: %s (records %s/%d@%lld..%lld; retry.max %d)",
             sink->method, b->url, b->attempts, why, p->topic, (int)p->partition, (long long)b->first,
             (long long)b->last, sink->retry_max);
        return;
    }
    int64_t wait = hs_backoff_ms(b->attempts, sink->backoff_initial, sink->backoff_max, rnd01(sink));
    if (retry_after_ms >= 0) wait = retry_after_ms;
    b->retry_at_ms = mono_ms() + wait;
    sink->host->metric_add(sink->task, "retries", 1);
    sink->host->log(sink->task, FERRY_LOG_DEBUG, "http-sink: %s %s: %s; try %d in %lld ms", sink->method, b->url,
                    why, b->attempts + 1, (long long)wait);
}

static void send_batch(http_sink_t *sink, hs_part_t *p, hs_batch_t *b)
{
    hs_req_t *req = NULL;
    for (int i = 0; i < sink->max_in_flight && req == NULL; i++)
        if (!sink->reqs[i].busy) req = &sink->reqs[i];
    if (req == NULL) return;
    if (batch_seal(sink, p, b) != 0) {
        fail(sink, "http-sink: out of memory");
        return;
    }
    char key[400];
    snprintf(key, sizeof(key), "Idempotency-Key: %s-%d-%lld-%lld", p->topic, (int)p->partition,
             (long long)b->first, (long long)b->last);
    struct curl_slist *headers = NULL, *h;
    int oom = 0;
#define ADD_HEADER(s)                                                                                   \
    do {                                                                                                \
        if ((h = curl_slist_append(headers, (s))) == NULL) oom = 1;                                     \
        else headers = h;                                                                               \
    } while (0)
    ADD_HEADER(sink->content_type);
    ADD_HEADER(key);
    ADD_HEADER("Expect:"); /* no 100-continue round trip */
    for (size_t i = 0; i < sink->hdr_count; i++) {
        char line[1024];
        snprintf(line, sizeof(line), "%s: %s", sink->hdr_names[i], sink->hdr_values[i]);
        ADD_HEADER(line);
    }
#undef ADD_HEADER
    if (oom) {
        curl_slist_free_all(headers);
        fail(sink, "http-sink: out of memory");
        return;
    }
    ferry_error_t aerr = {{0}};
    ferry_status_t ast = http_auth_apply(sink->auth, &headers, &aerr);
    if (ast != FERRY_OK) {
        curl_slist_free_all(headers);
        if (ast == FERRY_RETRY) retry_later(sink, p, b, -1, aerr.msg);
        else fail(sink, "http-sink: %s", aerr.msg);
        return;
    }
    CURL *easy = req->easy;
    curl_easy_reset(easy);
    req->busy = 1;
    req->part = p;
    req->batch = b;
    req->headers = headers;
    req->reply.len = 0;
    req->retry_after_ms = -1;
    req->errbuf[0] = '\0';
    curl_easy_setopt(easy, CURLOPT_URL, b->url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, b->body.data);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->body.len);
    if (strcmp(sink->method, "POST") != 0) curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, sink->method);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, req);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->errbuf);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, sink->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, sink->timeout_ms < 10000 ? sink->timeout_ms : 10000L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, sink->tls_verify ? 1L : 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, sink->tls_verify ? 2L : 0L);
    if (sink->tls_ca_file && sink->tls_ca_file[0]) curl_easy_setopt(easy, CURLOPT_CAINFO, sink->tls_ca_file);
    if (curl_multi_add_handle(sink->multi, easy) != CURLM_OK) {
        curl_slist_free_all(headers);
        req->headers = NULL;
        req->busy = 0;
        fail(sink, "http-sink: curl_multi_add_handle failed");
        return;
    }
    p->in_flight = 1;
    sink->in_flight++;
    sink->host->metric_add(sink->task, "requests", 1);
}

/* Sends every batch that may go: the head of each partition with nothing in
 * flight, once sealed, lingered long enough, or all (flush). */
static void dispatch(http_sink_t *sink, int all)
{
    int64_t now = mono_ms();
    for (hs_part_t *p = sink->parts; p && sink->in_flight < sink->max_in_flight && !sink->failed; p = p->next) {
        hs_batch_t *b = p->head;
        if (p->in_flight || b == NULL || b->retry_at_ms > now) continue;
        if (!b->sealed && !all && now - b->created_ms < sink->linger_ms) continue;
        send_batch(sink, p, b);
    }
}

/* The rejected batch b of p: see "Rejections" at the top. */
static void reject(http_sink_t *sink, hs_part_t *p, hs_batch_t *b, long status, const hs_buf_t *reply)
{
    char body[HS_REPLY_SHOWN + 1];
    size_t n = reply->len < HS_REPLY_SHOWN ? reply->len : HS_REPLY_SHOWN;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)reply->data[i];
        body[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    body[n] = '\0';
    snprintf(p->reject_reason, sizeof(p->reject_reason), "http-sink: %s %s answered %ld: %s%s", sink->method,
             b->url, status, body, reply->len > HS_REPLY_SHOWN ? "..." : "");
    p->reject_active = 1;
    p->reject_first = b->first;
    p->reject_last = b->last;
    sink->host->log(sink->task, FERRY_LOG_WARN, "%s (records %s/%d@%lld..%lld: sent to the error policy)",
                    p->reject_reason, p->topic, (int)p->partition, (long long)b->first, (long long)b->last);
    int64_t first = b->first;
    part_clear(sink, p);
    part_pause(sink, p, 0);
    sink->host->sink_rewind(sink->task, p->topic, p->partition, first);
    p->next_offset = -1;
    if (sink->in_put) p->rewound = 1;
}

static int retriable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

static void complete(http_sink_t *sink, hs_req_t *req, CURLcode rc)
{
    hs_part_t *p = req->part;
    hs_batch_t *b = req->batch;
    long status = 0;
    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    req_release(sink, req);
    p->in_flight = 0;
    char why[CURL_ERROR_SIZE + 64];
    if (rc != CURLE_OK) {
        snprintf(why, sizeof(why), "%s", req->errbuf[0] ? req->errbuf : curl_easy_strerror(rc));
        if (retriable_curl(rc)) retry_later(sink, p, b, -1, why);
        else fail(sink, "http-sink: %s %s: %s", sink->method, b->url, why);
        return;
    }
    if (status >= 200 && status < 300) {
        sink->host->metric_add(sink->task, "records_sent", (double)b->count);
        part_pop(sink, p);
        return;
    }
    if (status == 401 && !b->reauthed) {
        /* An expired or revoked token: a fresh one, and once more at once. */
        http_auth_invalidate(sink->auth);
        b->reauthed = 1;
        b->retry_at_ms = 0;
        return;
    }
    snprintf(why, sizeof(why), "status %ld", status);
    if (status >= 500 || status == 408 || status == 409 || status == 429) {
        /* 409: also what an idempotent receiver answers while a request
         * with the same key is still being processed (after a timeout). */
        retry_later(sink, p, b, req->retry_after_ms, why);
    } else if (status == 403) {
        fail(sink, "http-sink: %s %s answered 403 Forbidden: the endpoint refuses this client (not a record "
             "error: nothing is dead-lettered)", sink->method, b->url);
    } else if (status == 401) {
        fail(sink, "http-sink: %s %s answered 401 with a fresh token too: check the credentials", sink->method,
             b->url);
    } else {
        reject(sink, p, b, status, &req->reply);
    }
}

/* Runs the transfers; waits up to wait_ms for one to progress when asked. */
static void pump(http_sink_t *sink, int wait_ms, int all)
{
    dispatch(sink, all);
    int running = 0;
    curl_multi_perform(sink->multi, &running);
    /* Stopping: short waits, so that the final drain neither spins nor
     * keeps stop() waiting. */
    if (wait_ms > 0)
        curl_multi_poll(sink->multi, NULL, 0, atomic_load(&sink->stopping) && wait_ms > 20 ? 20 : wait_ms, NULL);
    curl_multi_perform(sink->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(sink->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        hs_req_t *req = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
        if (req && req->busy) complete(sink, req, msg->data.result);
    }
    dispatch(sink, all);
    curl_multi_perform(sink->multi, &running);
    sink->host->metric_set(sink->task, "in_flight", sink->in_flight);
    sink->host->metric_set(sink->task, "buffered_bytes", (double)sink->buffered);
}

/* How long until the next batch may go (a retry or a linger), in ms, capped. */
static int next_due_ms(const http_sink_t *sink, int cap)
{
    int64_t now = mono_ms(), due = now + cap;
    for (const hs_part_t *p = sink->parts; p; p = p->next) {
        const hs_batch_t *b = p->head;
        if (b == NULL || p->in_flight) continue;
        int64_t at = b->retry_at_ms > 0 ? b->retry_at_ms : b->sealed ? now : b->created_ms + sink->linger_ms;
        if (at < due) due = at;
    }
    return due <= now ? 1 : (int)(due - now);
}


static int outstanding(const http_sink_t *sink)
{
    return sink->records > 0;
}

/* ---- callbacks --------------------------------------------------------------------------- */

static ferry_status_t http_sink_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    http_sink_t *sink = state;
    const ferry_host_t *host = sink->host;
    if (sink->failed) return ferry_error_set(err, FERRY_ERROR, "%s", sink->fatal);
    if (!sink->put_retrying)
        for (hs_part_t *p = sink->parts; p; p = p->next) p->rewound = 0; /* applied by the host meanwhile */
    sink->put_retrying = 0;
    sink->in_put = 1;
    ferry_status_t st = FERRY_OK;
    size_t n = host->batch_count(batch);
    for (size_t i = 0; i < n && st == FERRY_OK; i++) {
        st = take(sink, host->batch_get(batch, i), err);
        int64_t start = 0;
        while (st == FERRY_OK && (sink->buffered > sink->buffer_max || sink->records > sink->records_max) &&
               !sink->failed) {
            /* Full: drive the requests until there is room. */
            if (start == 0) start = mono_ms();
            if (atomic_load(&sink->stopping) || host->should_stop(sink->task) ||
                mono_ms() - start > HS_PUT_WAIT_MS) {
                sink->put_retrying = 1;
                st = ferry_error_set(err, FERRY_RETRY, "http-sink: %zu bytes waiting for %s", sink->buffered,
                                     sink->url_tmpl);
                break;
            }
            pump(sink, next_due_ms(sink, 100), 1);
        }
    }
    if (st == FERRY_OK) pump(sink, 0, 0);
    sink->in_put = 0;
    /* A batch smaller than the most the host hands means the consumer has
     * caught up, and put() may not be called again soon: ask for a flush,
     * which drives what is still on its way. */
    if (st == FERRY_OK && (int64_t)n < sink->max_records && outstanding(sink)) host->request_commit(sink->task);
    if (sink->failed) return ferry_error_set(err, FERRY_ERROR, "%s", sink->fatal);
    return st;
}

static ferry_status_t http_sink_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    http_sink_t *sink = state;
    if (sink->failed) return ferry_error_set(err, FERRY_ERROR, "%s", sink->fatal);
    pump(sink, 0, 1);
    int last = atomic_load(&sink->stopping) || sink->host->should_stop(sink->task);
    /* The last flush delivers what is left while its budget lasts; any other
     * drives the requests for a moment and, with work left, asks to be
     * called again soon: put() is not called while no records come. */
    int64_t end = mono_ms() + (last ? HS_DRAIN_MS : HS_FLUSH_DRIVE_MS);
    while (outstanding(sink) && !sink->failed && mono_ms() < end) {
        int wait = next_due_ms(sink, 100);
        if (!last && wait > end - mono_ms()) wait = (int)(end - mono_ms()) > 0 ? (int)(end - mono_ms()) : 1;
        pump(sink, wait, 1);
    }
    if (!last && outstanding(sink)) sink->host->request_commit(sink->task);
    if (sink->failed) return ferry_error_set(err, FERRY_ERROR, "%s", sink->fatal);
    for (hs_part_t *p = sink->parts; p; p = p->next)
        if (p->head) sink->host->flush_limit(fl, p->topic, p->partition, p->head->first);
    return FERRY_OK;
}

static ferry_status_t http_sink_revoked(void *state, const ferry_partition_t *parts, size_t count, ferry_error_t *err)
{
    (void)err;
    http_sink_t *sink = state;
    /* What was not acknowledged was not committed either: the next owner sends it. */
    for (size_t i = 0; i < count; i++) {
        for (hs_part_t **pp = &sink->parts; *pp; pp = &(*pp)->next) {
            hs_part_t *p = *pp;
            if (p->partition != parts[i].partition || strcmp(p->topic, parts[i].topic) != 0) continue;
            part_clear(sink, p);
            *pp = p->next;
            if (sink->last_part == p) sink->last_part = NULL;
            free(p->topic);
            free(p);
            break;
        }
    }
    return FERRY_OK;
}

static void http_sink_stop(void *state)
{
    http_sink_t *sink = state;
    atomic_store(&sink->stopping, 1);
    curl_multi_wakeup(sink->multi);
}

static void sink_free(http_sink_t *sink)
{
    while (sink->parts) {
        hs_part_t *p = sink->parts;
        sink->parts = p->next;
        part_clear(sink, p);
        free(p->topic);
        free(p);
    }
    for (int i = 0; sink->reqs && i < sink->max_in_flight; i++) {
        if (sink->reqs[i].easy) curl_easy_cleanup(sink->reqs[i].easy);
        hs_buf_free(&sink->reqs[i].reply);
    }
    free(sink->reqs);
    if (sink->multi) curl_multi_cleanup(sink->multi);
    http_auth_close(sink->auth);
    hs_url_free(sink->url);
    free(sink->content_type);
    hs_buf_free(&sink->scratch);
    free(sink);
}

static void http_sink_close(void *state)
{
    http_sink_t *sink = state;
    if (sink == NULL) return;
    if (outstanding(sink))
        sink->host->log(sink->task, FERRY_LOG_INFO,
                        "http-sink: closing with %zu bytes not acknowledged: they were not committed and go again",
                        sink->buffered);
    sink_free(sink);
}

const ferry_connector_t http_sink_connector = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SINK,
    .name = "http-sink",
    .version = "0.1.0",
    .description = "Delivers topics to an HTTP endpoint in batches (json-array, ndjson or single), in order per "
                   "partition, with retries, an Idempotency-Key per batch and OAuth2 client credentials.",
    .options = http_sink_options,
    .option_size = sizeof(ferry_option_t),
    .validate = http_sink_validate,
    .open = http_sink_open,
    .put = http_sink_put,
    .flush = http_sink_flush,
    .close = http_sink_close,
    .stop = http_sink_stop,
    .partitions_revoked = http_sink_revoked,
};
