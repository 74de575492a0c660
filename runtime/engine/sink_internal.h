/* sink_internal.h — shared by sink.c and sink_commit.c. */
#ifndef FERRY_ENGINE_SINK_INTERNAL_H
#define FERRY_ENGINE_SINK_INTERNAL_H

#include "engine/engine_internal.h"
#include "engine/pipeline.h"

typedef rd_kafka_topic_partition_list_t tplist_t;
typedef struct sink_alias sink_alias_t; /* sink_alias.c */

typedef struct sink_ctx {
    task_rt_t *t;
    rd_kafka_t *rk;
    ferry_batch_t *batch;
    size_t max_records, max_bytes;
    tplist_t *put_pos;       /* next offsets of records put() accepted, not yet committed */
    rd_kafka_topic_partition_t *last_pos; /* cache for sink_note_position */
    tplist_t *owned;         /* partitions currently assigned to this task */
    tplist_t *user_paused;   /* partitions the plugin paused (sink_pause) */
    tplist_t *rewinds;       /* sink_rewind() requests, applied after the callback */
    tplist_t *refetch;       /* dropped during a retry: fetch again from here */
    tplist_t *late_assigned, *late_revoked; /* rebalances during a retry, told to the plugin afterwards */
    int in_call;             /* a plugin callback is running (rebalance must not re-enter) */
    int retry_paused;        /* owned partitions are paused for a retry */
    int dirty;               /* records were put since the last flush */
    int failed;
    int interrupted;              /* a put() that shutdown cut short: its batch was dropped, so
                                     nothing more is put, but what came before is flushed and committed */
    /* record_error() with errors.tolerance: none */
    int record_failed;
    int record_retriable;         /* the failure was the dead-letter write, which a restart may mend */
    char record_error[FERRY_ERRMSG_SIZE];
    /* The dead-letter producer, created on the first rejected record. */
    rd_kafka_t *dlq_rk;
    rd_kafka_topic_t *dlq_rkt;
    int dlq_failed;
    char dlq_error[256];
    rd_kafka_queue_t *commit_q; /* results of asynchronous commits */
    uint64_t commit_seq;
    rd_kafka_resp_err_t last_consumer_err; /* to log a repeated consumer error once */
    int64_t last_consumer_err_ms;
    /* The fetcher wake-up (sink.c, librdkafka < 2.1 only). */
    rd_kafka_queue_t *consumer_q;
    int64_t queue_max_msgs, queue_max_bytes; /* 0: wake-up off */
    uint64_t seen_msgs, seen_bytes;          /* to estimate the queue's bytes */
    int fetch_parked;                        /* the queue was seen at a bound */
    pipeline_t pipe;              /* transforms and converters */
    int at_most_once;             /* delivery.guarantee: at-most-once */
    tplist_t *dropped;            /* positions of records dropped (or dead-lettered) before the
                                   * batch they came with was put: noted after it */
    sink_alias_t *aliases;        /* topics the transforms renamed (sink_alias.c) */
    size_t naliases, alias_last;
    char alias_error[320];        /* a rewind the aliases could not map: the task fails */
} sink_ctx_t;

/* sink_commit.c */
/* flush(), then commit the consumer offsets that flush made durable, by
 * deadline. 0, or -1 when the task failed or the commit did not happen (the
 * positions stay for the next flush). */
int sink_flush_commit(sink_ctx_t *ctx, int64_t deadline);
/* Runs a plugin callback with in_call set, pausing owned partitions while it
 * is retried (the consumer keeps being polled so the group keeps us). */
ferry_status_t sink_call(sink_ctx_t *ctx, const char *what, engine_call_fn fn, void *arg, ferry_error_t *err);
/* Holds (on) or releases (off) every owned partition while the connector is
 * paused, as during a retry: the consumer keeps being polled (sink_hold_tick),
 * and whatever arrives meanwhile is fetched again afterwards. */
void sink_hold(sink_ctx_t *ctx, int on);
void sink_hold_tick(sink_ctx_t *ctx);
/* Applies the plugin's sink_rewind() requests. */
void sink_apply_rewinds(sink_ctx_t *ctx);
/* record_error() for the task's hooks. */
ferry_status_t sink_record_error(void *arg, const ferry_record_t *rec, const char *reason);
/* Waits ms (rate.limit.*) with the partitions paused and the consumer polled. */
void sink_wait(sink_ctx_t *ctx, int64_t ms);
/* At-most-once: commits the positions after the batch (and the dropped
 * records) before it is put. 0, or -1 with the task failed. */
int sink_commit_batch(sink_ctx_t *ctx);
/* Writes rec to the dead-letter topic with ectx's headers (a copy refused
 * for good is logged and skipped). 0, or -1 with err. */
int sink_dlq_record(sink_ctx_t *ctx, const ferry_record_t *rec, const errors_context_t *ectx, char *err,
                    size_t errlen);
void sink_dlq_free(sink_ctx_t *ctx);
int sink_owns(const sink_ctx_t *ctx, const char *topic, int32_t partition);

/* sink_alias.c: topics renamed by the sink's transforms. */
/* A record consumed from consumed/partition reached the connector as as. */
/* 0, or -1 with ctx->alias_error when it merges two consumed partitions. */
int sink_alias_note(sink_ctx_t *ctx, const char *as, int32_t partition, const char *consumed);
/* The consumed topic of what the connector calls topic/partition (topic
 * itself when it was not renamed); *merged when the new name is also one of
 * the task's own partitions (assigned after the rename was noted). */
const char *sink_alias_consumed(sink_ctx_t *ctx, const char *topic, int32_t partition, int *merged);
/* parts plus the renamed topics seen for them (caller destroys): what a
 * connector is told when they are revoked. */
tplist_t *sink_alias_with(sink_ctx_t *ctx, const tplist_t *parts);
void sink_alias_forget(sink_ctx_t *ctx, const tplist_t *parts);
void sink_alias_free(sink_ctx_t *ctx);
/* Carries flush limits over to the consumed topics. 0, or -1 with err when
 * a limit falls on merged topics. */
int sink_alias_limits(sink_ctx_t *ctx, ferry_flush_t *fl, char *err, size_t errlen);

#endif
