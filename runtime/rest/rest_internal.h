/*
 * rest_internal.h — what the REST server (rest.c) and its routes
 * (rest_routes.c) share.
 */
#ifndef FERRY_REST_INTERNAL_H
#define FERRY_REST_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>

#include "engine/admin.h"
#include "rest/rest.h"

#define REST_DEFAULT_LISTEN "127.0.0.1:8083"
#define REST_DEFAULT_BODY_MAX (1024 * 1024)
#define REST_CALL_TIMEOUT_MS 10000
#define REST_PROBE_TIMEOUT_MS 2000
#define REST_HEALTH_STALE_MS 30000
#define REST_MAX_SEGMENTS 8

struct rest {
    struct MHD_Daemon *daemon;
    worker_t *w;
    const worker_config_t *wc;
    const plugin_registry_t *reg;
    char *token;             /* owned; NULL = no authentication */
    size_t body_max;
    char address[128];
};

typedef struct request {
    char *body;
    size_t len;
    int too_big;
    int answered;
} request_t;

/* Answers (each marks q answered and frees nothing it was not given). */
enum MHD_Result send_text(request_t *q, struct MHD_Connection *c, unsigned code, const char *ctype, const char *text);
/* Sends j (taken). */
enum MHD_Result send_json(request_t *q, struct MHD_Connection *c, unsigned code, json_t *j);
/* Connect's {"error_code", "message"}. */
enum MHD_Result send_error(request_t *q, struct MHD_Connection *c, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Whether the request carries the bearer token (constant time). */
int rest_token_ok(const rest_t *r, struct MHD_Connection *c);
/* Routes a whole request (rest_routes.c). */
enum MHD_Result rest_route(rest_t *r, request_t *q, struct MHD_Connection *c, const char *url, const char *method);

#endif
