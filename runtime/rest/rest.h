/*
 * rest.h — the admin REST API (libmicrohttpd), in Kafka Connect's shapes:
 * GET /, /connectors, /connectors/{c}[/config|/status|/tasks|/tasks/{t}/status],
 * /connector-plugins[/{p}/config], PUT /connector-plugins/{p}/config/validate,
 * and /health, /ready, /metrics. Configured by the worker's `rest:` mapping
 * (listen, token, body.max.bytes).
 *
 * Threads: the server runs on libmicrohttpd's threads; everything it reads
 * from the worker goes through worker_call (engine/admin.h).
 */
#ifndef FERRY_REST_H
#define FERRY_REST_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"
#include "engine/engine.h"
#include "plugin/plugin.h"

typedef struct rest rest_t;

/* Checks wc's `rest:` mapping; adds every problem to errs. */
void rest_config_check(const worker_config_t *wc, cfg_errors_t *errs);
/* 1 unless worker.rest.listen is off. */
int rest_enabled(const worker_config_t *wc);
/* Starts the server (before worker_run). NULL with err when it could not;
 * *disabled is set instead (and NULL returned, no error) when the API is
 * off (`listen: off`), or when the default address is taken. */
rest_t *rest_start(worker_t *w, const worker_config_t *wc, const plugin_registry_t *reg, int *disabled, char *err,
                   size_t errlen);
/* The address it listens on, "host:port". */
const char *rest_address(const rest_t *r);
void rest_stop(rest_t *r); /* NULL is a no-op */

/* `ferry status`: GET URL/connectors?expand=status, printed as a table to
 * out. 0 when every task is RUNNING, 1 when one is not, 2 when the API
 * could not be read (why in err). token may be NULL. */
int rest_status_print(const char *url, const char *token, FILE *out, char *err, size_t errlen);

#endif
