/*
 * gw_grpc.h — the gateway's gRPC server (Liiklus's LiiklusService).
 */
#ifndef FERRY_GW_GRPC_H
#define FERRY_GW_GRPC_H

#include "gw.h"

typedef struct gw_grpc gw_grpc_t;

/* Listens on listen ("host:port"; port 0 picks one), TLS when cert_file is
 * set (PEM certificate chain and key_file its key). NULL with err. */
gw_grpc_t *gw_grpc_start(gw_t *gw, const char *listen, const char *cert_file, const char *key_file, gw_error_t *err);
/* "host:port" it listens on. */
const char *gw_grpc_address(const gw_grpc_t *g);
/* Cancels every call and waits for their threads. Call gw_stop first. NULL is a no-op. */
void gw_grpc_stop(gw_grpc_t *g);

#endif /* FERRY_GW_GRPC_H */
