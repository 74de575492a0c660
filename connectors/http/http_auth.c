/* PLACEHOLDER of the skeleton branch: replaced by the real client auth. */
#include "http.h"

const char *const http_auth_types[] = {"none", "basic", "bearer", "oauth2", NULL};

http_auth_t *http_auth_open(const ferry_host_t *host, ferry_task_t *task, const ferry_config_t *cfg,
                            ferry_error_t *err)
{
    (void)host, (void)task, (void)cfg;
    ferry_error_set(err, FERRY_ERROR, "http auth: not built yet");
    return NULL;
}

ferry_status_t http_auth_apply(http_auth_t *auth, struct curl_slist **headers, ferry_error_t *err)
{
    (void)auth, (void)headers;
    return ferry_error_set(err, FERRY_ERROR, "http auth: not built yet");
}

void http_auth_invalidate(http_auth_t *auth)
{
    (void)auth;
}

void http_auth_close(http_auth_t *auth)
{
    (void)auth;
}
