/*
 * file.h — callbacks shared between file.c (option tables, descriptors,
 * entry point) and the two connector implementations. Not exported from the
 * plugin: the build hides every symbol but ferry_plugin_entry.
 */
#ifndef FERRY_CONNECTOR_FILE_H
#define FERRY_CONNECTOR_FILE_H

#include <ferry/ferry.h>

/* file-source (file_source.c) */
ferry_status_t file_source_open(ferry_task_t *task, const ferry_host_t *host,
                                const ferry_config_t *cfg, void **state, ferry_error_t *err);
ferry_status_t file_source_poll(void *state, ferry_batch_t *batch, ferry_error_t *err);
void file_source_close(void *state);

/* file-sink (file_sink.c) */
ferry_status_t file_sink_open(ferry_task_t *task, const ferry_host_t *host,
                              const ferry_config_t *cfg, void **state, ferry_error_t *err);
ferry_status_t file_sink_put(void *state, const ferry_batch_t *batch, ferry_error_t *err);
ferry_status_t file_sink_flush(void *state, ferry_flush_t *fl, ferry_error_t *err);
void file_sink_close(void *state);

#endif
