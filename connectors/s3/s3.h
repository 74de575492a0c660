/*
 * s3.h — the callbacks of s3-sink (s3_sink.c) and s3-source (s3_source.c),
 * which s3.c puts into the plugin's descriptors.
 */
#ifndef FERRY_S3_H
#define FERRY_S3_H

#include <ferry/ferry.h>

ferry_status_t s3_sink_validate(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err);
ferry_status_t s3_sink_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                            void **state, ferry_error_t *err);
ferry_status_t s3_sink_put(void *state, const ferry_batch_t *batch, ferry_error_t *err);
ferry_status_t s3_sink_flush(void *state, ferry_flush_t *fl, ferry_error_t *err);
ferry_status_t s3_sink_revoked(void *state, const ferry_partition_t *parts, size_t count, ferry_error_t *err);
void s3_sink_close(void *state);

ferry_status_t s3_source_validate(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err);
ferry_status_t s3_source_task_configs(const ferry_host_t *host, const ferry_config_t *cfg, int tasks_max,
                                      ferry_taskset_t *set, ferry_error_t *err);
ferry_status_t s3_source_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                              void **state, ferry_error_t *err);
ferry_status_t s3_source_poll(void *state, ferry_batch_t *batch, ferry_error_t *err);
void s3_source_close(void *state);

#endif /* FERRY_S3_H */
