/*
 * gw_http.h — the gateway's HTTP transport (libmicrohttpd): the same
 * algorithm as the gRPC service, for clients without gRPC. Routes and bodies
 * are in the README ("Consumer gateway", HTTP).
 */
#ifndef FERRY_GW_HTTP_H
#define FERRY_GW_HTTP_H

#include "gw.h"

typedef struct gw_http gw_http_t;

/* Listens on listen ("host:port"; port 0 picks one), HTTPS when cert_file
 * is set. NULL with err. */
gw_http_t *gw_http_start(gw_t *gw, const char *listen, const char *cert_file, const char *key_file, gw_error_t *err);
const char *gw_http_address(const gw_http_t *h); /* "host:port" */
/* Closes subscriptions no client asked about for session.timeout (the
 * connector's poll calls it, about every 100 ms). */
void gw_http_expire(gw_http_t *h);
/* Ends every stream and closes every subscription. Call gw_stop first. NULL is a no-op. */
void gw_http_stop(gw_http_t *h);

#endif /* FERRY_GW_HTTP_H */
