/*
 * http.h — what the files of the `http` plugin share. Not exported from the
 * plugin: the build hides every symbol but ferry_plugin_entry.
 *
 *   http.c         the plugin entry: lists the two connectors
 *   http_auth.c    client-side authentication (none | basic | bearer | oauth2
 *                  client credentials), shared by http-sink and http-source's
 *                  poll mode
 *   http_sink.c    http-sink: option table, descriptor, implementation
 *   http_source.c  http-source: option table, descriptor, modes webhook/poll
 */
#ifndef FERRY_CONNECTOR_HTTP_H
#define FERRY_CONNECTOR_HTTP_H

#include <curl/curl.h>
#include <ferry/ferry.h>

extern const ferry_connector_t http_sink_connector;   /* http_sink.c */
extern const ferry_connector_t http_source_connector; /* http_source.c */

/*
 * Client authentication (http_auth.c). A connector puts
 * HTTP_CLIENT_AUTH_OPTIONS into its option table, opens one http_auth_t per
 * task and calls http_auth_apply() before each request: it adds the
 * Authorization header, fetching or refreshing an OAuth2 token first when
 * there is none or it is about to expire.
 *
 * Options (all optional except as auth.type requires):
 *   auth.type                 none | basic | bearer | oauth2
 *   auth.username, auth.password (secret)        basic
 *   auth.token (secret)                          bearer
 *   auth.oauth2.token.url, auth.oauth2.client.id,
 *   auth.oauth2.client.secret (secret), auth.oauth2.scope      oauth2
 */
typedef struct http_auth http_auth_t;

#define HTTP_CLIENT_AUTH_OPTIONS                                                                        \
    {"auth.type", FERRY_OPT_ENUM, "none", 0, 0, 0, http_auth_types,                                    \
     "How requests authenticate: none, basic (auth.username/auth.password), bearer (auth.token) or "   \
     "oauth2 (client credentials: a token from auth.oauth2.token.url, cached and refreshed before it " \
     "expires)."},                                                                                      \
    {"auth.username", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, "User name for auth.type basic."},         \
    {"auth.password", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL, "Password for auth.type basic."},          \
    {"auth.token", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL, "Token for auth.type bearer."},               \
    {"auth.oauth2.token.url", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,                                    \
     "OAuth2 token endpoint (client-credentials grant) for auth.type oauth2."},                         \
    {"auth.oauth2.client.id", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, "OAuth2 client id."},              \
    {"auth.oauth2.client.secret", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL, "OAuth2 client secret."},      \
    {"auth.oauth2.scope", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, "OAuth2 scope to ask for (optional)."}

extern const char *const http_auth_types[]; /* http_auth.c */

/* Options of HTTP_CLIENT_AUTH_OPTIONS are checked here: a missing credential
 * for the chosen type is an error naming the option. */
http_auth_t *http_auth_open(const ferry_host_t *host, ferry_task_t *task, const ferry_config_t *cfg,
                            ferry_error_t *err);
/* Appends "Authorization: ..." to *headers (curl_slist_append). Returns
 * FERRY_OK, or FERRY_RETRY when the token endpoint failed transiently (the
 * caller backs off), or FERRY_ERROR (e.g. the token endpoint refused the
 * client). err names the token URL and the reply. */
ferry_status_t http_auth_apply(http_auth_t *auth, struct curl_slist **headers, ferry_error_t *err);
/* The server answered 401: forget the cached token so the next apply fetches
 * a new one. */
void http_auth_invalidate(http_auth_t *auth);
void http_auth_close(http_auth_t *auth);

#endif
