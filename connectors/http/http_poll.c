/*
 * http_poll.c — http-source mode poll: an HTTP API → records.
 *
 * The position in the API is a page and how many of its records were
 * emitted: the page is the configured url itself, a cursor (cursor.pointer
 * of the previous response, sent back as cursor.param) or a URL from a
 * previous response's Link: rel="next". Each record's source offset is the
 * position just after it, e.g. {"cursor":"42","index":3}; the last record
 * of a page that has a next page carries the next page with index 0, so a
 * restart neither reads a finished page again nor skips the rest of a
 * half-stored one. After the last page the connector waits `interval` and
 * asks for the same page again, skipping the records it already emitted
 * (pages are taken to be append-only), with If-None-Match / If-Modified-
 * Since from that page's ETag / Last-Modified: 304 means nothing new.
 *
 * One request at a time, through a curl multi handle so that poll() returns
 * within ~100 ms (SDK budget) while a request is under way, and sees
 * should_stop. Transient failures (connection errors, timeouts, 408, 429,
 * 5xx) are retried with exponential backoff and never fail the task; other
 * 4xx and responses that do not parse fail it, with the status and the
 * first bytes of the body. Task thread only.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "http_source.h"

#define HP_POLL_MAX_MS 90       /* longest wait inside one poll() */
#define HP_FIRST_BYTES 100      /* bytes of a bad response quoted in errors */
#define HP_BACKOFF_FIRST_MS 1000

typedef enum hp_phase { HP_IDLE, HP_FETCHING, HP_EMITTING } hp_phase_t;

struct http_poll {
    ferry_task_t *task;
    const ferry_host_t *host;
    /* Options; strings owned by the config. */
    const char *url, *topic, *records_ptr, *key_ptr, *cursor_ptr, *cursor_param;
    int64_t interval_ms, timeout_ms, backoff_max_ms;
    size_t max_response;
    struct curl_slist *base_headers; /* owned: Accept + option headers */
    http_auth_t *auth;               /* owned (also for auth.type none) */
    char *partition;                 /* {"url":"<url>"} (owned) */

    CURLM *multi;
    CURL *easy;
    struct curl_slist *req_headers; /* owned, for the request under way */
    char *req_url;                  /* owned, likewise */
    char errbuf[CURL_ERROR_SIZE];

    /* The response under way (owned). */
    char *body;
    size_t len;
    int too_big;
    char *resp_etag, *resp_last_modified, *resp_link;

    /* The position (owned strings; NULL = none). */
    char *cursor;   /* cursor mode: the current page's cursor; NULL = the first page */
    char *page_url; /* Link mode: the current page's URL; NULL = url */
    int64_t index;  /* records of the current page emitted */
    char *etag, *last_modified; /* validators of the current page */

    /* A parsed page being emitted. */
    json_t *page;     /* owned */
    json_t *records;  /* an array, owned (a reference of its own) */
    size_t emit_pos;
    char *next;       /* the next page (cursor or URL), owned; NULL = this was the last */

    hp_phase_t phase;
    int64_t next_at_ms; /* monotonic: the next request not before this */
    int64_t backoff_ms;
    int failures;
    int auth_retried;
};

static int64_t hp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hp_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void hp_set(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

/* The first HP_FIRST_BYTES bytes of the body, unprintable bytes as '.'. */
static void hp_first_bytes(const http_poll_t *hp, char *out, size_t size)
{
    size_t n = hp->len < HP_FIRST_BYTES ? hp->len : HP_FIRST_BYTES;
    if (n >= size) n = size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)hp->body[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '.';
    }
    out[n] = '\0';
}

/* ---- offsets ------------------------------------------------------------------------------------ */

/* The source offset of a position, malloc'd JSON. */
static char *hp_offset_json(const http_poll_t *hp, const char *cursor, const char *page_url, int64_t index,
                            const char *etag, const char *last_modified)
{
    json_t *o = json_object();
    if (o == NULL) return NULL;
    if (cursor) json_object_set_new(o, "cursor", json_string(cursor));
    if (page_url) json_object_set_new(o, "url", json_string(page_url));
    json_object_set_new(o, "index", json_integer(index));
    if (etag) json_object_set_new(o, "etag", json_string(etag));
    if (last_modified) json_object_set_new(o, "last_modified", json_string(last_modified));
    (void)hp;
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

/* Restores the position from the stored offset, if any. */
static void hp_restore(http_poll_t *hp)
{
    const char *stored = hp->host->offset_get(hp->task, hp->partition);
    if (stored == NULL) return;
    json_t *o = json_loads(stored, 0, NULL);
    json_t *index = json_object_get(o, "index");
    if (!json_is_object(o) || !json_is_integer(index) || json_integer_value(index) < 0) {
        hp->host->log(hp->task, FERRY_LOG_WARN, "http-source: ignoring stored offset %s: no valid \"index\"; "
                      "reading %s from the start", stored, hp->url);
        json_decref(o);
        return;
    }
    hp->index = json_integer_value(index);
    hp_set(&hp->cursor, json_string_value(json_object_get(o, "cursor")));
    hp_set(&hp->page_url, json_string_value(json_object_get(o, "url")));
    hp_set(&hp->etag, json_string_value(json_object_get(o, "etag")));
    hp_set(&hp->last_modified, json_string_value(json_object_get(o, "last_modified")));
    hp->host->log(hp->task, FERRY_LOG_INFO, "http-source: resuming %s at stored offset %s", hp->url, stored);
    json_decref(o);
}

/* ---- curl callbacks ----------------------------------------------------------------------------- */

static size_t hp_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    http_poll_t *hp = arg;
    size_t n = size * nmemb;
    if (hp->len + n > hp->max_response) {
        hp->too_big = 1;
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    char *grown = realloc(hp->body, hp->len + n + 1);
    if (grown == NULL) return 0;
    hp->body = grown;
    memcpy(hp->body + hp->len, data, n);
    hp->len += n;
    hp->body[hp->len] = '\0';
    return n;
}

/* "Name: value\r\n" → 1 and value (trimmed, malloc'd) when line is that header. */
static int hp_header_value(const char *line, size_t n, const char *name, char **value)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return 0;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    *value = strndup(v, (size_t)(end - v));
    return 1;
}

static size_t hp_on_header(char *line, size_t size, size_t nmemb, void *arg)
{
    http_poll_t *hp = arg;
    size_t n = size * nmemb;
    char *v = NULL;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a redirect): forget the previous one's. */
        hp_set(&hp->resp_etag, NULL);
        hp_set(&hp->resp_last_modified, NULL);
        hp_set(&hp->resp_link, NULL);
    } else if (hp_header_value(line, n, "ETag", &v)) {
        free(hp->resp_etag);
        hp->resp_etag = v;
    } else if (hp_header_value(line, n, "Last-Modified", &v)) {
        free(hp->resp_last_modified);
        hp->resp_last_modified = v;
    } else if (hp_header_value(line, n, "Link", &v)) {
        if (hp->resp_link && v) {
            size_t a = strlen(hp->resp_link), b = strlen(v);
            char *joined = malloc(a + b + 3);
            if (joined) {
                memcpy(joined, hp->resp_link, a);
                memcpy(joined + a, ", ", 2);
                memcpy(joined + a + 2, v, b + 1);
            }
            free(v);
            v = joined;
        }
        free(hp->resp_link);
        hp->resp_link = v;
    }
    return n;
}

/* ---- requests ----------------------------------------------------------------------------------- */

/* The URL of the current page, malloc'd. */
static char *hp_page_request_url(http_poll_t *hp)
{
    if (hp->cursor_ptr == NULL) return strdup(hp->page_url ? hp->page_url : hp->url);
    if (hp->cursor == NULL) return strdup(hp->url);
    char *esc = curl_easy_escape(hp->easy, hp->cursor, 0);
    if (esc == NULL) return NULL;
    size_t n = strlen(hp->url) + strlen(hp->cursor_param) + strlen(esc) + 3;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s%c%s=%s", hp->url, strchr(hp->url, '?') ? '&' : '?', hp->cursor_param, esc);
    curl_free(esc);
    return out;
}

static ferry_status_t hp_start(http_poll_t *hp, ferry_error_t *err)
{
    free(hp->body);
    hp->body = NULL;
    hp->len = 0;
    hp->too_big = 0;
    hp_set(&hp->resp_etag, NULL);
    hp_set(&hp->resp_last_modified, NULL);
    hp_set(&hp->resp_link, NULL);
    curl_slist_free_all(hp->req_headers);
    hp->req_headers = NULL;
    for (struct curl_slist *h = hp->base_headers; h; h = h->next)
        hp->req_headers = curl_slist_append(hp->req_headers, h->data);
    char line[1024];
    if (hp->etag) {
        snprintf(line, sizeof(line), "If-None-Match: %s", hp->etag);
        hp->req_headers = curl_slist_append(hp->req_headers, line);
    }
    if (hp->last_modified) {
        snprintf(line, sizeof(line), "If-Modified-Since: %s", hp->last_modified);
        hp->req_headers = curl_slist_append(hp->req_headers, line);
    }
    free(hp->req_url);
    hp->req_url = hp_page_request_url(hp);
    if (hp->req_url == NULL) return ferry_error_set(err, FERRY_ERROR, "http-source: out of memory");
    curl_easy_setopt(hp->easy, CURLOPT_URL, hp->req_url);
    if (hp->auth) {
        ferry_status_t st = http_auth_apply(hp->auth, &hp->req_headers, err);
        if (st != FERRY_OK) return st;
    }
    curl_easy_setopt(hp->easy, CURLOPT_HTTPHEADER, hp->req_headers);
    hp->errbuf[0] = '\0';
    if (curl_multi_add_handle(hp->multi, hp->easy) != CURLM_OK)
        return ferry_error_set(err, FERRY_ERROR, "http-source: GET %s: curl_multi_add_handle failed", hp->req_url);
    hp->phase = HP_FETCHING;
    return FERRY_OK;
}

/* A transient failure: try again after the backoff. */
static ferry_status_t hp_transient(http_poll_t *hp, const char *what)
{
    hp->failures++;
    hp->backoff_ms = hp->backoff_ms == 0 ? HP_BACKOFF_FIRST_MS : hp->backoff_ms * 2;
    if (hp->backoff_ms > hp->backoff_max_ms) hp->backoff_ms = hp->backoff_max_ms;
    hp->host->log(hp->task, FERRY_LOG_WARN, "http-source: GET %s: %s (attempt %d; retrying in %" PRId64 " ms)",
                  hp->req_url, what, hp->failures, hp->backoff_ms);
    hp->host->metric_add(hp->task, "request_failures", 1);
    hp->next_at_ms = hp_now_ms() + hp->backoff_ms;
    hp->phase = HP_IDLE;
    return FERRY_OK;
}

/* The cursor of a response as text (strings as they are, numbers in
 * decimal), malloc'd; NULL when absent, null or empty. */
static char *hp_cursor_text(json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0) return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    }
    return NULL;
}

/* Whether url has the scheme, host and port of the configured url: only
 * there do the credentials and headers go. */
static int hp_same_origin(const char *base, const char *url)
{
    CURLU *a = curl_url(), *b = curl_url();
    int same = 0;
    if (a && b && curl_url_set(a, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(b, CURLUPART_URL, url, 0) == CURLUE_OK) {
        same = 1;
        const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
        for (size_t i = 0; i < 3 && same; i++) {
            char *x = NULL, *y = NULL;
            curl_url_get(a, parts[i], &x, CURLU_DEFAULT_PORT);
            curl_url_get(b, parts[i], &y, CURLU_DEFAULT_PORT);
            same = x && y && strcasecmp(x, y) == 0;
            curl_free(x);
            curl_free(y);
        }
    }
    curl_url_cleanup(a);
    curl_url_cleanup(b);
    return same;
}

/* The next page named by the response, malloc'd, or NULL. */
static char *hp_next_page(http_poll_t *hp, json_t *doc)
{
    if (hp->cursor_ptr) {
        char *c = hp_cursor_text(hs_json_pointer(doc, hp->cursor_ptr));
        if (c && hp->cursor && strcmp(c, hp->cursor) == 0) {
            free(c);
            return NULL; /* the same cursor: nothing after this page yet */
        }
        return c;
    }
    char *rel = hp->resp_link ? hs_link_next(hp->resp_link) : NULL;
    if (rel == NULL) return NULL;
    /* Resolve it against the URL that answered (after redirects). */
    char *effective = NULL, *abs = NULL;
    curl_easy_getinfo(hp->easy, CURLINFO_EFFECTIVE_URL, &effective);
    CURLU *u = curl_url();
    if (u && curl_url_set(u, CURLUPART_URL, effective ? effective : hp->req_url, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK) {
        free(rel);
        rel = strdup(abs);
        curl_free(abs);
    }
    curl_url_cleanup(u);
    const char *current = hp->page_url ? hp->page_url : hp->url;
    if (rel && strcmp(rel, current) == 0) {
        free(rel);
        return NULL;
    }
    return rel;
}

/* A 2xx response: parse it and start emitting. */
static ferry_status_t hp_on_page(http_poll_t *hp, long status, ferry_error_t *err)
{
    char first[HP_FIRST_BYTES + 1];
    json_error_t jerr;
    json_t *doc = json_loadb(hp->body ? hp->body : "", hp->len, JSON_DECODE_ANY, &jerr);
    if (doc == NULL) {
        hp_first_bytes(hp, first, sizeof(first));
        return ferry_error_set(err, FERRY_ERROR,
                               "http-source: GET %s: HTTP %ld: the response is not JSON (%s at line %d column %d); "
                               "its first bytes: '%s'",
                               hp->req_url, status, jerr.text, jerr.line, jerr.column, first);
    }
    json_t *records = hs_json_pointer(doc, hp->records_ptr);
    if (records == NULL) {
        hp_first_bytes(hp, first, sizeof(first));
        json_decref(doc);
        return ferry_error_set(err, FERRY_ERROR,
                               "http-source: GET %s: HTTP %ld: nothing at response.records.pointer '%s'; the "
                               "response's first bytes: '%s'",
                               hp->req_url, status, hp->records_ptr, first);
    }
    if (json_is_array(records)) {
        json_incref(records);
    } else {
        json_t *one = json_array();
        json_array_append(one, records);
        records = one;
    }
    hp->page = doc;
    hp->records = records;
    hp->next = hp_next_page(hp, doc);
    if (hp->next && !hp->cursor_ptr && !hp_same_origin(hp->url, hp->next)) {
        ferry_status_t st = ferry_error_set(err, FERRY_ERROR,
                                            "http-source: GET %s: the next page (Link: rel=\"next\") is on another "
                                            "origin, %s: not followed (the credentials and headers would go there)",
                                            hp->req_url, hp->next);
        free(hp->next);
        hp->next = NULL;
        return st;
    }
    size_t n = json_array_size(records);
    if ((size_t)hp->index > n) {
        hp->host->log(hp->task, FERRY_LOG_WARN,
                      "http-source: GET %s: the page has %zu records, fewer than the %" PRId64
                      " already read from it; reading only what comes after",
                      hp->req_url, n, hp->index);
        hp->index = (int64_t)n;
    }
    hp->emit_pos = (size_t)hp->index;
    hp_set(&hp->etag, hp->resp_etag);
    hp_set(&hp->last_modified, hp->resp_last_modified);
    hp->phase = HP_EMITTING;
    return FERRY_OK;
}

/* The transfer finished: decide what its result means. */
static ferry_status_t hp_on_done(http_poll_t *hp, CURLcode rc, ferry_error_t *err)
{
    curl_multi_remove_handle(hp->multi, hp->easy);
    char what[CURL_ERROR_SIZE + 200], first[HP_FIRST_BYTES + 1];
    if (rc != CURLE_OK) {
        if (hp->too_big)
            return ferry_error_set(err, FERRY_ERROR, "http-source: GET %s: the response is over %zu bytes "
                                   "(max.response.bytes)", hp->req_url, hp->max_response);
        snprintf(what, sizeof(what), "%s", hp->errbuf[0] ? hp->errbuf : curl_easy_strerror(rc));
        return hp_transient(hp, what);
    }
    long status = 0;
    curl_easy_getinfo(hp->easy, CURLINFO_RESPONSE_CODE, &status);
    hp_first_bytes(hp, first, sizeof(first));
    if (status == 401 && !hp->auth_retried) {
        /* A token that expired early: fetch a new one, once. */
        http_auth_invalidate(hp->auth);
        hp->auth_retried = 1;
        return hp_transient(hp, "HTTP 401 (the credentials are renewed)");
    }
    if (status == 408 || status == 429 || status >= 500) {
        snprintf(what, sizeof(what), "HTTP %ld: '%s'", status, first);
        return hp_transient(hp, what);
    }
    hp->failures = 0;
    hp->backoff_ms = 0;
    hp->auth_retried = 0;
    if (status == 304) {
        hp->next_at_ms = hp_now_ms() + hp->interval_ms;
        hp->phase = HP_IDLE;
        return FERRY_OK;
    }
    if (status >= 200 && status < 300) return hp_on_page(hp, status, err);
    return ferry_error_set(err, FERRY_ERROR, "http-source: GET %s: HTTP %ld; the response's first bytes: '%s'",
                           hp->req_url, status, first);
}

/* ---- emitting ----------------------------------------------------------------------------------- */

static void hp_page_done(http_poll_t *hp)
{
    size_t n = json_array_size(hp->records);
    if (hp->next) {
        /* On to the next page at once. */
        if (hp->cursor_ptr) {
            free(hp->cursor);
            hp->cursor = hp->next;
        } else {
            free(hp->page_url);
            hp->page_url = hp->next;
        }
        hp->next = NULL;
        hp->index = 0;
        hp_set(&hp->etag, NULL);
        hp_set(&hp->last_modified, NULL);
        /* An empty page that names a next one is caught up all the same:
         * not asked again before the interval (no loop at full speed). */
        hp->next_at_ms = n == 0 ? hp_now_ms() + hp->interval_ms : hp_now_ms();
    } else {
        hp->index = (int64_t)n;
        hp->next_at_ms = hp_now_ms() + hp->interval_ms;
    }
    json_decref(hp->records);
    json_decref(hp->page);
    hp->records = hp->page = NULL;
    hp->phase = HP_IDLE;
}

static ferry_status_t hp_emit(http_poll_t *hp, ferry_batch_t *batch, ferry_error_t *err)
{
    const ferry_host_t *host = hp->host;
    size_t n = json_array_size(hp->records);
    size_t added = 0;
    ferry_status_t status = FERRY_OK;
    while (hp->emit_pos < n) {
        if (host->batch_room(batch) == 0) break;
        size_t i = hp->emit_pos;
        json_t *item = json_array_get(hp->records, i);
        int last = i + 1 == n;
        char *offset = last && hp->next ? hp_offset_json(hp, hp->cursor_ptr ? hp->next : NULL,
                                                         hp->cursor_ptr ? NULL : hp->next, 0, NULL, NULL)
                                        : hp_offset_json(hp, hp->cursor, hp->page_url, (int64_t)i + 1,
                                                         last ? hp->etag : NULL, last ? hp->last_modified : NULL);
        /* The page's validators only with its last record: a restart from
         * the middle of a page must fetch it again in full (a 304 there
         * would skip the rest of it). */
        char *value = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        size_t key_len = 0;
        json_t *kv = hp->key_ptr ? hs_json_pointer(item, hp->key_ptr) : NULL;
        char *key = kv && !json_is_null(kv) ? hs_json_bytes(kv, &key_len) : NULL;
        ferry_status_t st = FERRY_ERROR;
        if (offset && value) {
            ferry_record_t rec = {.topic = hp->topic, .partition = -1, .key = key, .key_len = key_len,
                                  .value = value, .value_len = strlen(value), .source_partition = hp->partition,
                                  .source_offset = offset,
                                  .flags = FERRY_RECORD_VALUE_JSON | (key ? FERRY_RECORD_KEY_STRING : 0)};
            st = ferry_batch_add(host, batch, &rec);
        }
        free(offset);
        free(value);
        free(key);
        if (st == FERRY_RETRY) break;
        if (st != FERRY_OK) {
            status = ferry_error_set(err, FERRY_ERROR, "http-source: GET %s: record %zu could not be added",
                                     hp->req_url, i);
            break;
        }
        hp->emit_pos++;
        added++;
    }
    if (added) host->metric_add(hp->task, "records", (double)added);
    if (status == FERRY_OK && hp->emit_pos == n) hp_page_done(hp);
    return status;
}

/* ---- the callbacks ------------------------------------------------------------------------------ */

ferry_status_t http_poll_poll(http_poll_t *hp, ferry_batch_t *batch, ferry_error_t *err)
{
    if (hp->phase == HP_EMITTING) return hp_emit(hp, batch, err);
    if (hp->phase == HP_IDLE) {
        int64_t left = hp->next_at_ms - hp_now_ms();
        if (left > 0) {
            hp_sleep_ms(left < HP_POLL_MAX_MS ? left : HP_POLL_MAX_MS);
            return FERRY_OK;
        }
        ferry_status_t st = hp_start(hp, err);
        if (st == FERRY_RETRY) return hp_transient(hp, err->msg);
        if (st != FERRY_OK) return st;
    }
    int running = 0;
    curl_multi_perform(hp->multi, &running);
    if (running) {
        curl_multi_poll(hp->multi, NULL, 0, HP_POLL_MAX_MS, NULL);
        curl_multi_perform(hp->multi, &running);
    }
    int left = 0;
    for (CURLMsg *msg; (msg = curl_multi_info_read(hp->multi, &left)) != NULL;) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == hp->easy) {
            ferry_status_t st = hp_on_done(hp, msg->data.result, err);
            if (st != FERRY_OK || hp->phase != HP_EMITTING) return st;
            return hp_emit(hp, batch, err);
        }
    }
    return FERRY_OK;
}

ferry_status_t http_poll_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                              http_poll_t **out, ferry_error_t *err)
{
    http_poll_t *hp = calloc(1, sizeof(*hp));
    if (hp == NULL) return ferry_error_set(err, FERRY_ERROR, "http-source: out of memory");
    hp->task = task;
    hp->host = host;
    hp->url = host->cfg_string(cfg, "url");
    hp->topic = host->cfg_string(cfg, "topic");
    hp->records_ptr = host->cfg_string(cfg, "response.records.pointer");
    if (hp->records_ptr == NULL) hp->records_ptr = "";
    hp->key_ptr = host->cfg_is_set(cfg, "record.key.pointer") ? host->cfg_string(cfg, "record.key.pointer") : NULL;
    hp->cursor_ptr = host->cfg_is_set(cfg, "cursor.pointer") ? host->cfg_string(cfg, "cursor.pointer") : NULL;
    hp->cursor_param = host->cfg_string(cfg, "cursor.param");
    hp->interval_ms = host->cfg_duration_ms(cfg, "interval");
    hp->timeout_ms = host->cfg_duration_ms(cfg, "request.timeout");
    hp->backoff_max_ms = host->cfg_duration_ms(cfg, "retry.backoff.max");
    hp->max_response = (size_t)host->cfg_size(cfg, "max.response.bytes");

    json_t *part = json_pack("{s:s}", "url", hp->url);
    hp->partition = part ? json_dumps(part, JSON_COMPACT) : NULL;
    json_decref(part);
    hp->base_headers = curl_slist_append(NULL, "Accept: application/json");
    const char *const *keys = NULL, *const *values = NULL;
    size_t nheaders = host->cfg_map(cfg, "headers", &keys, &values);
    for (size_t i = 0; i < nheaders; i++) {
        size_t n = strlen(keys[i]) + strlen(values[i]) + 3;
        char *line = malloc(n);
        if (line == NULL) continue;
        snprintf(line, n, "%s: %s", keys[i], values[i]);
        hp->base_headers = curl_slist_append(hp->base_headers, line);
        free(line);
    }
    hp->multi = curl_multi_init();
    hp->easy = curl_easy_init();
    if (hp->partition == NULL || hp->base_headers == NULL || hp->multi == NULL || hp->easy == NULL) {
        http_poll_close(hp);
        return ferry_error_set(err, FERRY_ERROR, "http-source: out of memory setting up curl for %s", hp->url);
    }
    hp->auth = http_auth_open(host, task, cfg, err);
    if (hp->auth == NULL) {
        http_poll_close(hp);
        return FERRY_ERROR;
    }
    CURL *e = hp->easy;
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hp_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, hp);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, hp_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, hp);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, hp->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)hp->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* Redirects only within the origin would be safe; curl cannot limit
     * them so, and would carry the custom headers anywhere: not followed
     * (a 3xx is reported with its status). */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ferry-http-source/0.1");

    hp_restore(hp);
    hp->next_at_ms = hp_now_ms();
    host->log(task, FERRY_LOG_INFO, "http-source: polling %s every %" PRId64 " ms", hp->url, hp->interval_ms);
    *out = hp;
    return FERRY_OK;
}

void http_poll_close(http_poll_t *hp)
{
    if (hp == NULL) return;
    if (hp->multi && hp->easy) curl_multi_remove_handle(hp->multi, hp->easy);
    if (hp->easy) curl_easy_cleanup(hp->easy);
    if (hp->multi) curl_multi_cleanup(hp->multi);
    curl_slist_free_all(hp->base_headers);
    curl_slist_free_all(hp->req_headers);
    if (hp->auth) http_auth_close(hp->auth);
    json_decref(hp->records);
    json_decref(hp->page);
    free(hp->partition);
    free(hp->req_url);
    free(hp->body);
    free(hp->resp_etag);
    free(hp->resp_last_modified);
    free(hp->resp_link);
    free(hp->cursor);
    free(hp->page_url);
    free(hp->etag);
    free(hp->last_modified);
    free(hp->next);
    free(hp);
}
