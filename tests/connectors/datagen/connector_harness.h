/*
 * connector_harness.h — drives a built connector plugin in a unit test the
 * way the runtime does: dlopen of the real .so from $FERRY_PLUGIN_DIR, a
 * config validated against the plugin's own option table, the real host API
 * table and a standalone task. Shared by the datagen, file and null tests.
 *
 * Every function fails the current cmocka test on an unexpected error.
 */
#ifndef FERRY_TEST_CONNECTOR_HARNESS_H
#define FERRY_TEST_CONNECTOR_HARNESS_H

#include <ferry/ferry.h>

#include "config/config.h"
#include "engine/host.h"
#include "offsets/offsets.h"

/* The connector name used for configs, tasks and offset maps. */
#define HARNESS_NAME "t"

typedef struct harness {
    void *dl;                      /* dlopen handle (owned) */
    const ferry_connector_t *desc; /* owned by the plugin */
    const ferry_host_t *host;
    ferry_config_t *cfg; /* owned, NULL when closed */
    ferry_task_t *task;  /* owned, NULL when closed */
    void *state;         /* the connector's, NULL when closed */
} harness_t;

/* Loads `plugin`.so and finds connector `name` in it. */
void harness_load(harness_t *h, const char *plugin, const char *name);
void harness_unload(harness_t *h);

/* Builds a config from NULL-terminated key, value pairs ("connector" is
 * added). Returns NULL when invalid, with the errors joined into errbuf. */
ferry_config_t *harness_config(harness_t *h, const char *const *kv, char *errbuf, size_t errlen);

/* Builds the config (which must be valid), creates task 0 with `offsets`
 * (may be NULL) and calls open(). On success the harness holds the state. */
ferry_status_t harness_open(harness_t *h, const offset_map_t *offsets, const char *const *kv,
                            ferry_error_t *err);
/* Calls close() if open succeeded, frees the task and the config. */
void harness_close(harness_t *h);

/* poll() into batch (reset first); returns the status. */
ferry_status_t harness_poll(harness_t *h, ferry_batch_t *batch, ferry_error_t *err);

/* Adds a record with this value (NULL = tombstone) to a batch, for sinks. */
void harness_batch_add_value(harness_t *h, ferry_batch_t *batch, const char *value);

#endif
