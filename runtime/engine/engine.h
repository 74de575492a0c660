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

/* Validates every connector of wc against the registry (errors go to errs,
 * all at once). Returns NULL when any connector is invalid. Borrows wc and
 * reg, which must outlive the worker. */
worker_t *worker_new(const worker_config_t *wc, const plugin_registry_t *reg, cfg_errors_t *errs);
/* Connects to Kafka (or starts the embedded broker), reads the offset
 * store, creates topics, starts every task. 0, or -1 after logging why. */
int worker_start(worker_t *w);
/* Runs until *stop is set (by a signal handler), then shuts down within
 * worker.shutdown.timeout. Returns the process exit code. */
int worker_run(worker_t *w, volatile sig_atomic_t *stop);
void worker_free(worker_t *w);

#endif
