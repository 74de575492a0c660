/*
 * engine.h — the worker: connectors, their tasks, and the source and sink
 * loops that move records between plugins and Kafka (DESIGN.md §5).
 *
 * Threads: worker_* functions run on the main thread. Each task runs on its
 * own thread; the main thread only starts, stops, restarts and observes them.
 */
#ifndef FERRY_ENGINE_H
#define FERRY_ENGINE_H

#include <signal.h>

#include "config/config.h"
#include "plugin/plugin.h"

typedef struct worker worker_t;

/* What a connector should be doing, as Connect's target states. */
typedef enum conn_target { CONN_STARTED = 0, CONN_PAUSED = 1, CONN_STOPPED = 2 } conn_target_t;

/* Validates every connector of wc against the registry (errors go to errs,
 * all at once). Returns NULL when any connector is invalid. Borrows wc and
 * reg, which must outlive the worker. */
worker_t *worker_new(const worker_config_t *wc, const plugin_registry_t *reg, cfg_errors_t *errs);
/* Keeps connectors created or changed over the REST API in the store
 * (worker.config.topic or worker.config.file) and starts the stored ones
 * with the YAML file's. Before worker_start; standalone mode only. */
void worker_use_store(worker_t *w);
/* Connects to Kafka (or starts the embedded broker), reads the offset
 * store, creates topics, starts every task. 0, or -1 after logging why. */
int worker_start(worker_t *w);
/* Runs until *stop is set (by a signal handler), then shuts down within
 * worker.shutdown.timeout; reads the YAML file again (worker_reload) each
 * time *reload is set (and clears it). Returns the process exit code. */
int worker_run(worker_t *w, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);
/* SIGHUP: applies the YAML file's connectors as they are now (reload.c). */
void worker_reload(worker_t *w);
void worker_free(worker_t *w);

#endif
