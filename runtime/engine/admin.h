/*
 * admin.h — what the admin REST API reads from a running worker, in Kafka
 * Connect's shapes (jansson values). The worker's structures belong to the
 * main thread: another thread (the REST server's) hands a function to
 * worker_call(), which runs it inside worker_run's loop and waits for it.
 * Every admin_* function below is called from such a function.
 */
#ifndef FERRY_ENGINE_ADMIN_H
#define FERRY_ENGINE_ADMIN_H

#include <jansson.h>
#include <stddef.h>

#include "engine/engine.h"

typedef void (*worker_call_fn)(worker_t *w, void *arg);
/* Runs fn(w, arg) on the main thread and waits for it: 0, or -1 when the
 * worker does not take calls (not running yet, or shutting down) or did not
 * run it within timeout_ms (then fn is not run). Any thread. */
int worker_call(worker_t *w, worker_call_fn fn, void *arg, int timeout_ms);
/* The worker_id that statuses show (Connect: the REST host:port). Before
 * worker_run. */
void worker_set_id(worker_t *w, const char *id);

/* Connector names in config order (a JSON array). */
json_t *admin_connector_names(worker_t *w);
/* 1 when the worker has a connector by that name. */
int admin_connector_exists(worker_t *w, const char *name);
/* Connect's GET /connectors/{c}/status: name, connector {state, worker_id},
 * tasks [{id, state, worker_id, trace?}], type. NULL when unknown. */
json_t *admin_connector_status(worker_t *w, const char *name);
/* GET /connectors/{c}/config: the flat config, secrets "[hidden]". */
json_t *admin_connector_config(worker_t *w, const char *name);
/* GET /connectors/{c}: name, config, tasks [{connector, task}], type. */
json_t *admin_connector_info(worker_t *w, const char *name);
/* GET /connectors/{c}/tasks: [{id {connector, task}, config}]. */
json_t *admin_connector_tasks(worker_t *w, const char *name);
/* GET /connectors/{c}/tasks/{t}/status, or NULL when there is no such task. */
json_t *admin_task_status(worker_t *w, const char *name, int task);
/* POST /connectors/{c}/tasks/{t}/restart: stops the task if it runs and
 * starts it again. 0; -1 unknown connector; -2 unknown task. */
int admin_task_restart(worker_t *w, const char *name, int task);
/* POST /connectors/{c}/restart: with include_tasks, restarts its tasks
 * (only the FAILED ones with only_failed). 0, or -1 when unknown. */
int admin_connector_restart(worker_t *w, const char *name, int include_tasks, int only_failed);
/* A connector config from a JSON object of strings (REST bodies, the
 * store): its class from connector.class (or connector), ${..} substituted
 * as an untrusted source, validated like a YAML entry plus the
 * connector-level checks and a dry run of task_configs. NULL after adding
 * every error to errs. Any thread: wc and reg are immutable (conn.c). */
ferry_config_t *conn_config_from_json(const worker_config_t *wc, const plugin_registry_t *reg, const char *name,
                                      json_t *config, const ferry_connector_t **desc, cfg_errors_t *errs);

typedef enum admin_rc {
    ADMIN_OK = 0,
    ADMIN_CREATED,  /* a new connector */
    ADMIN_UNKNOWN,  /* no such connector */
    ADMIN_EXISTS,   /* create_only, and it exists */
    ADMIN_CONFLICT, /* not now, or not in this mode: err says why */
    ADMIN_INVALID,  /* the request is wrong: err says why */
    ADMIN_FAILED    /* the store could not keep it: err says why */
} admin_rc_t;
/* POST /connectors (create_only) and PUT /connectors/{c}/config: a new
 * connector, or a new config its tasks restart with. cfg is taken; given
 * (borrowed) is the config as sent, kept in the store. */
admin_rc_t admin_connector_put(worker_t *w, const char *name, const ferry_connector_t *desc, ferry_config_t *cfg,
                               json_t *given, int create_only, char *err, size_t errlen);
/* What PATCH /connectors/{c}/config starts from: the config as given over
 * REST, or a YAML connector's set options. NULL when unknown; JSON null
 * with err when a YAML value cannot be carried over. */
json_t *admin_connector_given(worker_t *w, const char *name, char *err, size_t errlen);
/* DELETE /connectors/{c}: its tasks stop, then it is gone. */
admin_rc_t admin_connector_delete(worker_t *w, const char *name, char *err, size_t errlen);
/* PUT /connectors/{c}/pause, /resume and /stop. */
admin_rc_t admin_connector_target(worker_t *w, const char *name, conn_target_t target, char *err, size_t errlen);
/* GET /connectors/{c}/topics: {NAME: {"topics": [...]}}, the topics its
 * config names (a source's topic, a sink's topics); NULL when unknown. */
json_t *admin_connector_topics(worker_t *w, const char *name);
/* GET /connectors/{c}/offsets: {"offsets": [{partition, offset}]}; NULL
 * when unknown, JSON null with err when they could not be read. */
json_t *admin_offsets_get(worker_t *w, const char *name, char *err, size_t errlen);
/* PATCH (offsets: the request's array) and DELETE (offsets NULL: a reset)
 * /connectors/{c}/offsets; the connector must be STOPPED (ADMIN_INVALID). */
admin_rc_t admin_offsets_alter(worker_t *w, const char *name, json_t *offsets, char *err, size_t errlen);
/* 1 when every task this worker runs is RUNNING; else 0 with why. */
int admin_ready(worker_t *w, char *why, size_t whylen);
/* The Kafka cluster id, or NULL while it is not known; malloc'd. Any
 * thread, never waits. */
char *admin_cluster_id(worker_t *w);
/* 1 when the worker's main loop turned within the last within_ms (and it is
 * not stopping): GET /health without a call into the loop. Any thread. */
int admin_alive(worker_t *w, int64_t within_ms);
/* Prometheus text exposition of the worker's counters; malloc'd. */
char *admin_metrics(worker_t *w);

#endif
