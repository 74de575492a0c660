/*
 * http_auth.c — client-side authentication of the http plugin's requests:
 * none, basic, bearer, or OAuth2 client credentials (RFC 6749 §4.4).
 *
 * Basic and bearer build their Authorization header once, at open. OAuth2
 * asks the token endpoint for a token the first time a request needs one,
 * caches it, and asks again shortly before it expires: 30 s before, or a
 * tenth of its lifetime before when that is shorter (a token that lives 5 s
 * is refreshed after 4.5 s), so that a request never leaves with a token
 * that expires on the way. A 401 from the server (http_auth_invalidate)
 * drops the cached token, whatever its expiry said.
 *
 * The client authenticates to the token endpoint with HTTP basic auth, its
 * id and secret form-urlencoded first, as RFC 6749 §2.3.1 prefers over
 * credentials in the body.
 *
 * Threads: an http_auth_t is used by one thread at a time (the thread that
 * sends the connector's requests); it keeps no global state, so tasks each
 * have their own.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"

const char *const http_auth_types[] = {"none", "basic", "bearer", "oauth2", NULL};

typedef enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER, AUTH_OAUTH2 } auth_kind_t;

/* The most of a token endpoint's reply that is read; a token reply is a few
 * hundred bytes. */
#define AUTH_REPLY_MAX (64 * 1024)
/* How much of a refused reply goes into an error message. */
#define AUTH_REPLY_SHOWN 200

struct http_auth {
    const ferry_host_t *host;
    ferry_task_t *task;
    auth_kind_t kind;
    char *header;            /* "Authorization: ..." for basic and bearer, or the cached OAuth2 token's (owned) */
    const char *token_url;   /* the rest is owned by the config */
    const char *client_id;
    const char *client_secret;
    const char *scope;
    int64_t refresh_at_ms;   /* monotonic: fetch a new token from then on */
    long timeout_ms;
    int tls_verify;
    const char *tls_ca_file; /* NULL or "" = the system's */
    CURL *curl;              /* the token endpoint's handle, kept for its connection (owned) */
    char *reply;             /* the token endpoint's last reply (owned) */
    size_t reply_len;
    long tokens_fetched;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "Authorization: <scheme> base64(user ":" password)". NULL when out of memory. */
static char *basic_header(const char *user, const char *password)
{
    size_t ulen = strlen(user), plen = strlen(password);
    size_t raw_len = ulen + 1 + plen;
    unsigned char *raw = malloc(raw_len + 1);
    char *header = malloc(sizeof("Authorization: Basic ") + 4 * (raw_len / 3 + 1) + 1);
    if (raw == NULL || header == NULL) {
        free(raw);
        free(header);
        return NULL;
    }
    memcpy(raw, user, ulen);
    raw[ulen] = ':';
    memcpy(raw + ulen + 1, password, plen);
    int n = (int)strlen("Authorization: Basic ");
    memcpy(header, "Authorization: Basic ", (size_t)n);
    EVP_EncodeBlock((unsigned char *)header + n, raw, (int)raw_len);
    /* The credentials are secret: do not leave them in freed memory. */
    memset(raw, 0, raw_len);
    free(raw);
    return header;
}

static char *str_concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s == NULL) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

static const char *cfg_nonempty(const ferry_host_t *host, const ferry_config_t *cfg, const char *name)
{
    const char *v = host->cfg_string(cfg, name);
    return v && v[0] ? v : NULL;
}

http_auth_t *http_auth_open(const ferry_host_t *host, ferry_task_t *task, const ferry_config_t *cfg,
                            ferry_error_t *err)
{
    const char *type = host->cfg_string(cfg, "auth.type");
    auth_kind_t kind = AUTH_NONE;
    if (type == NULL || strcmp(type, "none") == 0) kind = AUTH_NONE;
    else if (strcmp(type, "basic") == 0) kind = AUTH_BASIC;
    else if (strcmp(type, "bearer") == 0) kind = AUTH_BEARER;
    else if (strcmp(type, "oauth2") == 0) kind = AUTH_OAUTH2;
    else {
        ferry_error_set(err, FERRY_ERROR, "option auth.type: '%s' is not one of none, basic, bearer, oauth2", type);
        return NULL;
    }
    const char *user = NULL, *password = NULL, *token = NULL, *url = NULL, *id = NULL, *secret = NULL;
    switch (kind) {
    case AUTH_NONE:
        break;
    case AUTH_BASIC:
        user = cfg_nonempty(host, cfg, "auth.username");
        password = host->cfg_string(cfg, "auth.password");
        if (user == NULL) {
            ferry_error_set(err, FERRY_ERROR, "option auth.username is required with auth.type: basic");
            return NULL;
        }
        if (password == NULL) {
            ferry_error_set(err, FERRY_ERROR, "option auth.password is required with auth.type: basic");
            return NULL;
        }
        break;
    case AUTH_BEARER:
        token = cfg_nonempty(host, cfg, "auth.token");
        if (token == NULL) {
            ferry_error_set(err, FERRY_ERROR, "option auth.token is required with auth.type: bearer");
            return NULL;
        }
        break;
    case AUTH_OAUTH2:
        url = cfg_nonempty(host, cfg, "auth.oauth2.token.url");
        id = cfg_nonempty(host, cfg, "auth.oauth2.client.id");
        secret = host->cfg_string(cfg, "auth.oauth2.client.secret");
        if (url == NULL) {
            ferry_error_set(err, FERRY_ERROR, "option auth.oauth2.token.url is required with auth.type: oauth2");
            return NULL;
        }
        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
            ferry_error_set(err, FERRY_ERROR, "option auth.oauth2.token.url: '%s' is not an http:// or https:// URL",
                            url);
            return NULL;
        }
        if (id == NULL) {
            ferry_error_set(err, FERRY_ERROR, "option auth.oauth2.client.id is required with auth.type: oauth2");
            return NULL;
        }
        if (secret == NULL) {
            ferry_error_set(err, FERRY_ERROR,
                            "option auth.oauth2.client.secret is required with auth.type: oauth2");
            return NULL;
        }
        break;
    }

    http_auth_t *auth = calloc(1, sizeof(*auth));
    if (auth == NULL) {
        ferry_error_set(err, FERRY_ERROR, "http auth: out of memory");
        return NULL;
    }
    auth->host = host;
    auth->task = task;
    auth->kind = kind;
    auth->token_url = url;
    auth->client_id = id;
    auth->client_secret = secret;
    auth->scope = cfg_nonempty(host, cfg, "auth.oauth2.scope");
    /* The connector's own TLS and timeout options apply to the token
     * endpoint too, when it declares them. */
    int64_t timeout = host->cfg_duration_ms(cfg, "timeout");
    auth->timeout_ms = timeout > 0 ? (long)timeout : 30000;
    auth->tls_verify = !(host->cfg_is_set(cfg, "tls.verify") && !host->cfg_bool(cfg, "tls.verify"));
    auth->tls_ca_file = cfg_nonempty(host, cfg, "tls.ca.file");

    if (kind == AUTH_BASIC) {
        auth->header = basic_header(user, password);
    } else if (kind == AUTH_BEARER) {
        auth->header = str_concat("Authorization: Bearer ", token);
    } else if (kind == AUTH_OAUTH2) {
        auth->curl = curl_easy_init();
        if (auth->curl == NULL) {
            free(auth);
            ferry_error_set(err, FERRY_ERROR, "http auth: curl_easy_init failed");
            return NULL;
        }
    }
    if ((kind == AUTH_BASIC || kind == AUTH_BEARER) && auth->header == NULL) {
        free(auth);
        ferry_error_set(err, FERRY_ERROR, "http auth: out of memory");
        return NULL;
    }
    return auth;
}

static size_t on_reply(char *data, size_t size, size_t nmemb, void *arg)
{
    http_auth_t *auth = arg;
    size_t n = size * nmemb;
    size_t keep = auth->reply_len + n > AUTH_REPLY_MAX ? AUTH_REPLY_MAX - auth->reply_len : n;
    if (keep > 0) {
        char *r = realloc(auth->reply, auth->reply_len + keep + 1);
        if (r == NULL) return 0; /* curl fails the transfer: a write error */
        auth->reply = r;
        memcpy(auth->reply + auth->reply_len, data, keep);
        auth->reply_len += keep;
        auth->reply[auth->reply_len] = '\0';
    }
    return n;
}

/* A short, printable excerpt of the last reply, for error messages. */
static void reply_excerpt(const http_auth_t *auth, char *out, size_t size)
{
    size_t n = auth->reply_len < AUTH_REPLY_SHOWN ? auth->reply_len : AUTH_REPLY_SHOWN;
    if (n >= size) n = size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)auth->reply[i];
        out[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[n] = '\0';
}

/* The client's credentials for the token endpoint: HTTP basic auth of the
 * form-urlencoded id and secret (RFC 6749 §2.3.1). */
static char *client_basic_header(http_auth_t *auth)
{
    char *id = curl_easy_escape(auth->curl, auth->client_id, 0);
    char *secret = curl_easy_escape(auth->curl, auth->client_secret, 0);
    char *header = id && secret ? basic_header(id, secret) : NULL;
    if (secret) memset(secret, 0, strlen(secret));
    curl_free(id);
    curl_free(secret);
    return header;
}

/* Asks the token endpoint for a new token and caches it. */
static ferry_status_t token_fetch(http_auth_t *auth, ferry_error_t *err)
{
    CURL *curl = auth->curl;
    char body[1024];
    if (auth->scope) {
        char *scope = curl_easy_escape(curl, auth->scope, 0);
        if (scope == NULL) return ferry_error_set(err, FERRY_ERROR, "http auth: out of memory");
        int n = snprintf(body, sizeof(body), "grant_type=client_credentials&scope=%s", scope);
        curl_free(scope);
        if (n < 0 || (size_t)n >= sizeof(body))
            return ferry_error_set(err, FERRY_ERROR, "option auth.oauth2.scope is too long (at most 900 bytes)");
    } else {
        snprintf(body, sizeof(body), "grant_type=client_credentials");
    }
    char *cred = client_basic_header(auth);
    struct curl_slist *headers = NULL, *h;
    if (cred == NULL || (h = curl_slist_append(headers, cred)) == NULL) {
        free(cred);
        return ferry_error_set(err, FERRY_ERROR, "http auth: out of memory");
    }
    headers = h;
    memset(cred, 0, strlen(cred));
    free(cred);
    if ((h = curl_slist_append(headers, "Accept: application/json")) != NULL) headers = h;

    free(auth->reply);
    auth->reply = NULL;
    auth->reply_len = 0;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, auth->token_url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, auth);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, auth->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, auth->tls_verify ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, auth->tls_verify ? 2L : 0L);
    if (auth->tls_ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, auth->tls_ca_file);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    memset(body, 0, sizeof(body));
    if (rc != CURLE_OK) {
        /* Connection refused, reset, timeout, DNS: the endpoint may be back soon. */
        return ferry_error_set(err, FERRY_RETRY, "OAuth2 token endpoint %s: %s", auth->token_url,
                               curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    char excerpt[AUTH_REPLY_SHOWN + 1];
    reply_excerpt(auth, excerpt, sizeof(excerpt));
    if (status != 200) {
        ferry_status_t st = status >= 500 || status == 408 || status == 429 ? FERRY_RETRY : FERRY_ERROR;
        return ferry_error_set(err, st, "OAuth2 token endpoint %s answered %ld: %s", auth->token_url, status,
                               excerpt);
    }
    json_error_t jerr;
    json_t *root = json_loadb(auth->reply ? auth->reply : "", auth->reply_len, 0, &jerr);
    const char *token = root ? json_string_value(json_object_get(root, "access_token")) : NULL;
    if (token == NULL || token[0] == '\0') {
        json_decref(root);
        return ferry_error_set(err, FERRY_ERROR, "OAuth2 token endpoint %s: no access_token in its reply: %s",
                               auth->token_url, excerpt);
    }
    const char *type = json_string_value(json_object_get(root, "token_type"));
    if (type && strcasecmp(type, "bearer") != 0) {
        ferry_error_set(err, FERRY_ERROR, "OAuth2 token endpoint %s issued a '%s' token; only bearer tokens are supported",
                        auth->token_url, type);
        json_decref(root);
        return FERRY_ERROR;
    }
    json_t *exp = json_object_get(root, "expires_in");
    double lifetime_s = json_is_number(exp) ? json_number_value(exp)
                        : json_is_string(exp) ? strtod(json_string_value(exp), NULL) : -1;
    char *header = str_concat("Authorization: Bearer ", token);
    json_decref(root);
    if (header == NULL) return ferry_error_set(err, FERRY_ERROR, "http auth: out of memory");
    if (auth->header) {
        memset(auth->header, 0, strlen(auth->header));
        free(auth->header);
    }
    auth->header = header;
    int64_t now = mono_ms();
    if (lifetime_s > 0) {
        int64_t life_ms = (int64_t)(lifetime_s * 1000);
        int64_t margin = life_ms / 10 < 30000 ? life_ms / 10 : 30000;
        auth->refresh_at_ms = now + life_ms - margin;
    } else {
        /* No expires_in: the token is kept until the server refuses it. */
        auth->refresh_at_ms = INT64_MAX;
    }
    auth->tokens_fetched++;
    auth->host->log(auth->task, FERRY_LOG_DEBUG, "http auth: new OAuth2 token from %s (expires in %.0f s)",
                    auth->token_url, lifetime_s);
    if (FERRY_HOST_HAS(auth->host, metric_add)) auth->host->metric_add(auth->task, "oauth2_tokens_fetched", 1);
    return FERRY_OK;
}

ferry_status_t http_auth_apply(http_auth_t *auth, struct curl_slist **headers, ferry_error_t *err)
{
    if (auth == NULL || auth->kind == AUTH_NONE) return FERRY_OK;
    if (auth->kind == AUTH_OAUTH2 && (auth->header == NULL || mono_ms() >= auth->refresh_at_ms)) {
        ferry_status_t st = token_fetch(auth, err);
        if (st != FERRY_OK) return st;
    }
    struct curl_slist *h = curl_slist_append(*headers, auth->header);
    if (h == NULL) return ferry_error_set(err, FERRY_ERROR, "http auth: out of memory");
    *headers = h;
    return FERRY_OK;
}

void http_auth_invalidate(http_auth_t *auth)
{
    if (auth == NULL || auth->kind != AUTH_OAUTH2 || auth->header == NULL) return;
    memset(auth->header, 0, strlen(auth->header));
    free(auth->header);
    auth->header = NULL;
}

void http_auth_close(http_auth_t *auth)
{
    if (auth == NULL) return;
    if (auth->header) {
        memset(auth->header, 0, strlen(auth->header));
        free(auth->header);
    }
    if (auth->curl) curl_easy_cleanup(auth->curl);
    free(auth->reply);
    free(auth);
}
