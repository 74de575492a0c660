/*
 * http_source.c — http-source: HTTP into a topic, in one of two modes.
 *
 *   mode: webhook  HTTP callers POST/PUT to ferry (http_webhook.c); a caller
 *                  gets its 2xx only once Kafka has its records.
 *   mode: poll     ferry GETs an HTTP API every interval, following cursors
 *                  or Link headers (http_poll.c); the offset is the position
 *                  in the API, so a restart goes on where it stopped.
 *
 * This file holds the option table, the checks that span options (which
 * mode needs what) and the descriptor; the callbacks only dispatch.
 * Connector documentation: the README, section "HTTP".
 */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "http_source.h"

static const char *const http_source_modes[] = {"webhook", "poll", NULL};
static const char *const http_source_hmac_styles[] = {"github", "stripe", NULL};

/* auth.type is one option for both modes: the client types of
 * HTTP_CLIENT_AUTH_OPTIONS (poll) and the webhook's none | bearer | hmac.
 * The macro names its enum list http_auth_types; while the table below is
 * expanded, that name means this union instead (validate() then checks
 * which values each mode takes). */
static const char *const http_source_auth_types[] = {"none", "basic", "bearer", "oauth2", "hmac", NULL};
#define http_auth_types http_source_auth_types

static const ferry_option_t http_source_options[] = {
    {"mode", FERRY_OPT_ENUM, NULL, FERRY_OPT_REQUIRED, 0, 0, http_source_modes,
     "webhook: receive HTTP requests and write their bodies to the topic; poll: read an HTTP API every "
     "interval."},
    {"topic", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED | FERRY_OPT_TOPIC, 0, 0, NULL,
     "Kafka topic the records are written to."},

    /* webhook */
    {"listen", FERRY_OPT_STRING, "127.0.0.1:8090", 0, 0, 0, NULL,
     "webhook: address to listen on, host:port ([v6]:port; :port for every interface)."},
    {"path", FERRY_OPT_STRING, "/", 0, 0, 0, NULL, "webhook: the URL path requests must be sent to."},
    {"key.header", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "webhook: the record key is the value of this request header (e.g. X-GitHub-Delivery)."},
    {"key.json.pointer", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "webhook: the record key is the value at this JSON pointer (RFC 6901, e.g. /id) of the body (of each "
     "element with split.json.array); the body must then be JSON."},
    {"split.json.array", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL,
     "webhook: a body that is a JSON array becomes one record per element."},
    {"headers.forward", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "webhook: request headers copied into each record's headers (names case-insensitive)."},
    {"max.body.bytes", FERRY_OPT_SIZE, "512KiB", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 256.0 * 1024 * 1024, NULL,
     "webhook: larger request bodies are refused with 413. Keep it, with the key and forwarded headers, under "
     "the producer's message.max.bytes (1000000 by default): a record Kafka refuses fails the task."},
    {"ack.timeout", FERRY_OPT_DURATION, "10s", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "webhook: how long a request waits for Kafka to store its records before it is answered 503."},
    {"retry.after", FERRY_OPT_DURATION, "5s", FERRY_OPT_HAS_MIN, 1000, 0, NULL,
     "webhook: the Retry-After of 503 answers (whole seconds)."},
    {"max.pending.requests", FERRY_OPT_INT, "1000", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "webhook: requests waiting for Kafka at once; more are answered 503 (backpressure)."},
    {"max.connections", FERRY_OPT_INT, "256", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 4096, NULL,
     "webhook: concurrent connections (one thread each)."},
    {"auth.hmac.secret", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL,
     "webhook, auth.type hmac: the shared secret of the HMAC-SHA256 signatures."},
    {"auth.hmac.style", FERRY_OPT_ENUM, "github", 0, 0, 0, http_source_hmac_styles,
     "webhook, auth.type hmac: github (header \"sha256=<hex>\" over the body) or stripe (header "
     "\"t=<unix time>,v1=<hex>\" over \"<t>.<body>\", within auth.hmac.tolerance)."},
    {"auth.hmac.header", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "webhook, auth.type hmac: the signature header; default X-Hub-Signature-256 (github) or "
     "Stripe-Signature (stripe)."},
    {"auth.hmac.tolerance", FERRY_OPT_DURATION, "5m", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "webhook, auth.hmac.style stripe: how far the signed timestamp may be from now; 0 = not checked."},

    /* poll */
    {"url", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, "poll: the URL to GET (http or https)."},
    {"interval", FERRY_OPT_DURATION, "60s", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "poll: how long to wait after the last page before asking again."},
    {"headers", FERRY_OPT_MAP, NULL, 0, 0, 0, NULL, "poll: extra request headers (name: value)."},
    {"response.records.pointer", FERRY_OPT_STRING, "", 0, 0, 0, NULL,
     "poll: JSON pointer to the array of records in a response; \"\" = the response itself (an array, or "
     "one record)."},
    {"record.key.pointer", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "poll: JSON pointer, inside each record, to its key (e.g. /id)."},
    {"cursor.pointer", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "poll: JSON pointer to the cursor in a response: sent back as cursor.param, it returns what comes "
     "next. Without it, Link: rel=\"next\" headers are followed."},
    {"cursor.param", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "poll: the query parameter that carries the cursor (with cursor.pointer)."},
    {"request.timeout", FERRY_OPT_DURATION, "30s", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "poll: a request that takes longer fails (and is retried)."},
    {"max.response.bytes", FERRY_OPT_SIZE, "16MiB", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "poll: a larger response fails the task."},
    {"retry.backoff.max", FERRY_OPT_DURATION, "60s", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "poll: transient failures (5xx, 429, connection errors) are retried after 1s, doubling up to this."},
    HTTP_CLIENT_AUTH_OPTIONS,
    FERRY_OPTIONS_END};

#undef http_auth_types

/* Options that only one mode reads: set for the other, they are a mistake. */
static const char *const http_source_webhook_only[] = {
    "listen", "path", "key.header", "key.json.pointer", "split.json.array", "headers.forward", "max.body.bytes",
    "ack.timeout", "retry.after", "max.pending.requests", "max.connections", "auth.hmac.secret",
    "auth.hmac.style", "auth.hmac.header", "auth.hmac.tolerance", NULL};
static const char *const http_source_poll_only[] = {
    "url", "interval", "headers", "response.records.pointer", "record.key.pointer", "cursor.pointer",
    "cursor.param", "request.timeout", "max.response.bytes", "retry.backoff.max", "auth.username",
    "auth.password", "auth.oauth2.token.url", "auth.oauth2.client.id", "auth.oauth2.client.secret",
    "auth.oauth2.scope", NULL};

static ferry_status_t http_source_check_pointer(const ferry_host_t *host, const ferry_config_t *cfg,
                                                const char *name, ferry_error_t *err)
{
    const char *p = host->cfg_string(cfg, name);
    if (host->cfg_is_set(cfg, name) && !hs_json_pointer_valid(p))
        return ferry_error_set(err, FERRY_ERROR,
                               "http-source: option %s: '%s' is not a JSON pointer (\"\" or starting with '/', "
                               "e.g. /id)",
                               name, p ? p : "");
    return FERRY_OK;
}

static ferry_status_t http_source_check_webhook(const ferry_host_t *host, const ferry_config_t *cfg,
                                                ferry_error_t *err)
{
    const char *auth = host->cfg_string(cfg, "auth.type");
    if (auth && strcmp(auth, "none") != 0 && strcmp(auth, "bearer") != 0 && strcmp(auth, "hmac") != 0)
        return ferry_error_set(err, FERRY_ERROR,
                               "http-source: option auth.type: '%s' is for mode poll; mode webhook takes none, "
                               "bearer or hmac",
                               auth);
    const char *token = host->cfg_string(cfg, "auth.token");
    if (auth && strcmp(auth, "bearer") == 0 && (token == NULL || token[0] == '\0'))
        return ferry_error_set(err, FERRY_ERROR,
                               "http-source: auth.type bearer needs option auth.token (the token callers send "
                               "as 'Authorization: Bearer <token>')");
    const char *secret = host->cfg_string(cfg, "auth.hmac.secret");
    if (auth && strcmp(auth, "hmac") == 0 && (secret == NULL || secret[0] == '\0'))
        return ferry_error_set(err, FERRY_ERROR, "http-source: auth.type hmac needs option auth.hmac.secret");
    if (host->cfg_is_set(cfg, "key.header") && host->cfg_is_set(cfg, "key.json.pointer"))
        return ferry_error_set(err, FERRY_ERROR,
                               "http-source: options key.header and key.json.pointer exclude each other");
    const char *path = host->cfg_string(cfg, "path");
    if (path == NULL || path[0] != '/')
        return ferry_error_set(err, FERRY_ERROR, "http-source: option path: '%s' must start with '/'",
                               path ? path : "");
    const char *listen = host->cfg_string(cfg, "listen");
    struct sockaddr_storage ss;
    socklen_t len;
    if (hs_parse_listen(listen, &ss, &len) != 0)
        return ferry_error_set(err, FERRY_ERROR,
                               "http-source: option listen: '%s' is not host:port (a numeric IP address or "
                               "localhost, e.g. 127.0.0.1:8090)",
                               listen ? listen : "");
    return http_source_check_pointer(host, cfg, "key.json.pointer", err);
}

static ferry_status_t http_source_check_poll(const ferry_host_t *host, const ferry_config_t *cfg,
                                             ferry_error_t *err)
{
    const char *url = host->cfg_string(cfg, "url");
    if (url == NULL || url[0] == '\0')
        return ferry_error_set(err, FERRY_ERROR, "http-source: mode poll needs option url");
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return ferry_error_set(err, FERRY_ERROR, "http-source: option url: '%s' is not an http:// or https:// URL",
                               url);
    const char *auth = host->cfg_string(cfg, "auth.type");
    if (auth && strcmp(auth, "hmac") == 0)
        return ferry_error_set(err, FERRY_ERROR,
                               "http-source: option auth.type: hmac is for mode webhook; mode poll takes none, "
                               "basic, bearer or oauth2");
    int has_ptr = host->cfg_is_set(cfg, "cursor.pointer"), has_param = host->cfg_is_set(cfg, "cursor.param");
    if (has_ptr != has_param)
        return ferry_error_set(err, FERRY_ERROR, "http-source: option %s needs option %s",
                               has_ptr ? "cursor.pointer" : "cursor.param", has_ptr ? "cursor.param" : "cursor.pointer");
    const char *param = host->cfg_string(cfg, "cursor.param");
    if (has_param && (param == NULL || param[0] == '\0' || strpbrk(param, "&=?#") != NULL))
        return ferry_error_set(err, FERRY_ERROR, "http-source: option cursor.param: '%s' is not a query parameter name",
                               param ? param : "");
    ferry_status_t st = http_source_check_pointer(host, cfg, "response.records.pointer", err);
    if (st == FERRY_OK) st = http_source_check_pointer(host, cfg, "record.key.pointer", err);
    if (st == FERRY_OK) st = http_source_check_pointer(host, cfg, "cursor.pointer", err);
    return st;
}

/* The checks the option table cannot express. Main thread (validate) and
 * task thread (open). */
static ferry_status_t http_source_validate(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err)
{
    const char *mode = host->cfg_string(cfg, "mode");
    int webhook = mode != NULL && strcmp(mode, "webhook") == 0;
    const char *const *other = webhook ? http_source_poll_only : http_source_webhook_only;
    for (const char *const *name = other; *name; name++)
        if (host->cfg_is_set(cfg, *name))
            return ferry_error_set(err, FERRY_ERROR, "http-source: option %s is for mode %s, not mode %s", *name,
                                   webhook ? "poll" : "webhook", webhook ? "webhook" : "poll");
    return webhook ? http_source_check_webhook(host, cfg, err) : http_source_check_poll(host, cfg, err);
}

/* The task's state: one of the two modes. */
typedef struct http_source {
    http_webhook_t *webhook; /* owned; NULL in mode poll */
    http_poll_t *poll;       /* owned; NULL in mode webhook */
    const ferry_host_t *host;
} http_source_t;

static ferry_status_t http_source_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                       void **state, ferry_error_t *err)
{
    ferry_status_t st = http_source_validate(host, cfg, err);
    if (st != FERRY_OK) return st;
    const char *topic = host->cfg_string(cfg, "topic");
    if (!topic || !*topic) return ferry_error_set(err, FERRY_ERROR, "http-source: option topic is required");
    http_source_t *src = host->alloc(sizeof(*src));
    if (src == NULL) return ferry_error_set(err, FERRY_ERROR, "http-source: out of memory");
    memset(src, 0, sizeof(*src));
    src->host = host;
    const char *mode = host->cfg_string(cfg, "mode");
    if (strcmp(mode, "webhook") == 0)
        st = http_webhook_open(task, host, cfg, &src->webhook, err);
    else
        st = http_poll_open(task, host, cfg, &src->poll, err);
    if (st != FERRY_OK) {
        host->free(src);
        return st;
    }
    *state = src;
    return FERRY_OK;
}

static ferry_status_t http_source_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    http_source_t *src = state;
    return src->webhook ? http_webhook_poll(src->webhook, batch, err) : http_poll_poll(src->poll, batch, err);
}

static ferry_status_t http_source_commit(void *state, const ferry_offset_t *offsets, size_t count, ferry_error_t *err)
{
    http_source_t *src = state;
    /* Poll mode needs nothing from commits: its offsets are the position
     * the next start reads from. */
    return src->webhook ? http_webhook_commit(src->webhook, offsets, count, err) : FERRY_OK;
}

static void http_source_stop(void *state)
{
    http_source_t *src = state;
    if (src->webhook) http_webhook_stop(src->webhook);
}

static void http_source_close(void *state)
{
    http_source_t *src = state;
    if (src == NULL) return;
    http_webhook_close(src->webhook);
    http_poll_close(src->poll);
    src->host->free(src);
}

const ferry_connector_t http_source_connector = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "http-source",
    .version = "0.1.0",
    .description = "HTTP into a topic: a webhook receiver that answers 2xx only once Kafka has the records "
                   "(mode webhook), or a poller of an HTTP API with cursors, Link pagination and "
                   "conditional requests (mode poll).",
    .options = http_source_options,
    .option_size = sizeof(ferry_option_t),
    .validate = http_source_validate,
    .open = http_source_open,
    .poll = http_source_poll,
    .commit = http_source_commit,
    .stop = http_source_stop,
    .close = http_source_close,
};
