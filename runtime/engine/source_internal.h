/* source_internal.h — shared by source.c and source_offsets.c. */
#ifndef FERRY_ENGINE_SOURCE_INTERNAL_H
#define FERRY_ENGINE_SOURCE_INTERNAL_H

#include "engine/engine_internal.h"
#include "engine/pipeline.h"

#define SOURCE_TOPIC_CACHE 16

/* Delivery-report opaques: a tracker handle, tagged by what was produced. */
#define SOURCE_TAG_DLQ (UINT64_C(1) << 62)     /* a dead-letter copy of the record with that handle */
#define SOURCE_TAG_OFFSETS (UINT64_C(1) << 63) /* a record of the offsets topic */
#define SOURCE_HANDLE(opaque) ((opaque) & ~(SOURCE_TAG_DLQ | SOURCE_TAG_OFFSETS))

/* Offsets taken from the tracker and not yet durable (latest per partition). */
typedef struct source_offsets {
    char **part, **off; /* owned */
    size_t n;
    int acks_pending;   /* offsets-topic records not yet acknowledged */
    int write_failed;
    char write_error[256];
    int commit_broken;  /* the plugin's commit() failed the task: never call it again */
} source_offsets_t;

/* A record the broker refused for good, copied out of its delivery report
 * to be handled by the error policy once rd_kafka_poll has returned. */
typedef struct source_failed {
    char *topic;                /* owned */
    int32_t partition;
    void *key, *value;          /* owned, may be NULL */
    size_t key_len, value_len;
    rd_kafka_headers_t *headers; /* owned, may be NULL */
    int64_t timestamp_ms;
    uint64_t handle;
    rd_kafka_resp_err_t err;
} source_failed_t;

typedef struct source_ctx {
    task_rt_t *t;
    worker_t *w;
    rd_kafka_t *rk;
    offset_tracker_t *tracker;
    ferry_batch_t *batch;
    batch_rules_t rules;
    struct {
        char *copy;             /* owned */
        rd_kafka_topic_t *rkt;
    } topics[SOURCE_TOPIC_CACHE];
    int ntopics;
    int last_topic;             /* index of the last hit, or -1 */
    rd_kafka_topic_t *offsets_rkt; /* Kafka store only */
    rd_kafka_topic_t *dlq_rkt;     /* errors.deadletterqueue.topic.name, or NULL */
    source_offsets_t offs;
    source_failed_t *failed;    /* owned; from delivery reports */
    size_t nfailed, failed_cap;
    int delivery_failed;        /* a delivery failed with an error a restart may mend */
    int delivery_permanent;     /* exactly-once: ... or with one it may not (the transaction aborts) */
    char delivery_error[256];
    int64_t flush_ms, next_flush;
    /* Exactly-once (source_txn.c): a transactional producer; records and the
     * offsets that cover them are committed together. */
    int eos;
    int txn_per_poll;           /* transaction.boundary: poll (else interval, flush_ms) */
    int in_txn;                 /* a transaction is open */
    pipeline_t pipe;            /* transforms and converters */
} source_ctx_t;

/* source_txn.c */
/* The producer setting that makes it transactional (transactional.id), and
 * the transaction boundary. 0; -1 when a setting was refused by librdkafka;
 * -2 when the transaction interval is not shorter than transaction.timeout.ms
 * (why says so). */
int source_txn_conf(source_ctx_t *ctx, rd_kafka_conf_t *conf, char *why, size_t whylen);
/* init_transactions: fences an earlier instance of the task. 0, or -1 when the task failed. */
int source_txn_init(source_ctx_t *ctx);
/* Opens a transaction unless one is open. 0, or -1 when the task failed. */
int source_txn_begin(source_ctx_t *ctx);
/* Flushes the open transaction's records, adds the offsets records that
 * cover them (pending list) and commits; then the plugin's commit() hears
 * of them. 0 when committed (or none open), -1 when it could not finish by
 * deadline (the task failed), -2 when the task failed otherwise. The
 * exactly-once counterpart of source_offsets_flush. */
int source_txn_flush(source_ctx_t *ctx, int64_t deadline, char *why, size_t whylen);

/* source_offsets.c */
/* Moves committable offsets from the tracker to the pending list, writes
 * them to the offset store by deadline and, once durable, calls the plugin's
 * commit(). 0 when stored (or nothing to store), -1 when the write failed
 * (the offsets stay pending; *why says why), -2 when commit() failed the task. */
/* deadline SOURCE_FLUSH_PERIODIC: the periodic store (up to 30 s, cut
 * short by a stop). */
#define SOURCE_FLUSH_PERIODIC 0
int source_offsets_flush(source_ctx_t *ctx, int64_t deadline, char *why, size_t whylen);
/* The stored offsets of the pending list go to the plugin's commit(); 0, or
 * -2 when commit() failed the task. */
int source_offsets_acknowledge(source_ctx_t *ctx, int64_t deadline);
/* Produces the pending offsets records (Kafka store). 0, or -1 with why. */
int source_offsets_write(source_ctx_t *ctx, int64_t deadline, char *why, size_t whylen);
/* The tracker's changed offsets join the pending list. */
void source_offsets_take(source_ctx_t *ctx);
/* A delivery report for an offsets-topic record. */
void source_offsets_delivered(source_ctx_t *ctx, rd_kafka_resp_err_t err);
void source_offsets_free(source_offsets_t *o);

#endif
