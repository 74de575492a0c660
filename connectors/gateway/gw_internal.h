/*
 * gw_internal.h — what gw_core.c and gw_session.c share below gw.h.
 */
#ifndef FERRY_GW_INTERNAL_H
#define FERRY_GW_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "gw.h"

struct gw {
    gw_settings_t s; /* arrays borrowed from the task's config (live until close) */
    ferry_task_t *task;
    const ferry_host_t *host;
    rd_kafka_t *producer; /* Publish, and metadata/watermark queries */
    pthread_t dr_thread;  /* serves the producer's delivery reports until gw_free */
    atomic_int dr_stop;
    atomic_int stopping;
    pthread_mutex_t lock;     /* guards sessions and session_seq */
    gw_session_t *sessions;   /* every open session (linked by next) */
    uint64_t session_seq;
};

int64_t gw_now_ms(void);
/* Fills err (may be NULL) and returns -1. */
int gw_fail(gw_error_t *err, gw_code_t code, const char *fmt, ...) FERRY_PRINTF(3, 4);
/* A client configuration: the worker's settings for a consumer (consumer
 * != 0) or a producer, then keys/values. */
rd_kafka_conf_t *gw_kafka_conf(gw_t *gw, int consumer, const char *const *keys, const char *const *values, size_t n,
                               gw_error_t *err);
long gw_partition_count(rd_kafka_t *rk, const char *topic, gw_error_t *err);
/* Commits next (an acknowledged offset + 1) for topic/partition with rk. */
int gw_commit(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t next, gw_error_t *err);

/* 0 when topic has partition; -1 with GW_INVALID (or GW_UNAVAILABLE). */
int gw_partition_exists(gw_t *gw, const char *topic, int32_t partition, gw_error_t *err);
/* 0 when offset is below the partition's end (asks Kafka); -1 with
 * GW_INVALID naming the end, or GW_UNAVAILABLE. */
int gw_ack_within_end(gw_t *gw, const char *topic, int32_t partition, int64_t offset, gw_error_t *err);

/* gw_session.c: an ack through the session session_id; through a session of
 * this gateway in group gid holding the partition (1: there is none). */
int gw_session_ack(gw_t *gw, const char *session_id, int32_t partition, int64_t offset, gw_error_t *err);
int gw_session_ack_group(gw_t *gw, const char *topic, const char *gid, int32_t partition, int64_t offset,
                         gw_error_t *err);

#endif /* FERRY_GW_INTERNAL_H */
