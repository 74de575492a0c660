/*
 * errors.h — the error policy (DESIGN.md §6): which failures are permanent,
 * what errors.tolerance does with a record that can never be delivered, and
 * the dead-letter queue records that carry such a record with its context.
 *
 * Option and header names are Kafka Connect's (errors.tolerance,
 * errors.deadletterqueue.*, __connect.errors.*), so configurations and the
 * tools that read dead-letter queues port unchanged. Unlike Connect, sources
 * get a dead-letter queue too: a record the broker refuses must not stop a
 * CDC stream when the operator chose errors.tolerance: all.
 *
 * Threads: a policy is read-only once built; the functions are reentrant.
 */
#ifndef FERRY_ERRORS_H
#define FERRY_ERRORS_H

#include <ferry/ferry.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* Where in the pipeline a record failed (Connect's Stage names). */
typedef enum errors_stage {
    ERRORS_STAGE_TASK_POLL,
    ERRORS_STAGE_KAFKA_PRODUCE,
    ERRORS_STAGE_KAFKA_CONSUME,
    ERRORS_STAGE_TASK_PUT,
    ERRORS_STAGE_KEY_CONVERTER,
    ERRORS_STAGE_VALUE_CONVERTER,
    ERRORS_STAGE_HEADER_CONVERTER,
    ERRORS_STAGE_TRANSFORMATION
} errors_stage_t;

const char *errors_stage_name(errors_stage_t stage);

typedef struct errors_policy {
    int tolerate_all;          /* errors.tolerance: all */
    int log_enable;            /* errors.log.enable */
    int log_messages;          /* errors.log.include.messages */
    const char *dlq_topic;     /* errors.deadletterqueue.topic.name; NULL when unset (owned by cfg) */
    int dlq_context_headers;   /* errors.deadletterqueue.context.headers.enable */
    int dlq_replication;       /* errors.deadletterqueue.topic.replication.factor (-1 = broker default) */
} errors_policy_t;

/* Reads the errors.* options of a connector config (framework options). */
void errors_policy_init(errors_policy_t *policy, const ferry_config_t *cfg);

/* 1 when a delivery or produce error can never heal for this record, so
 * retrying it (or restarting the task to re-produce it) is pointless: it goes
 * through the error policy instead. Task-level errors (a fatal idempotent
 * producer, timeouts while the broker is away) are not permanent: the task
 * fails and a restart re-reads from the committed offsets. */
int errors_kafka_permanent(rd_kafka_resp_err_t err);
/* Kafka's Java exception class for err, for __connect.errors.exception.class.name. */
const char *errors_kafka_exception(rd_kafka_resp_err_t err);

/* Exception-like class names for failures that are not Kafka errors. */
#define ERRORS_EXC_INVALID_TOPIC "org.apache.kafka.common.errors.InvalidTopicException"
#define ERRORS_EXC_DATA "org.apache.kafka.connect.errors.DataException"
#define ERRORS_EXC_CONNECT "org.apache.kafka.connect.errors.ConnectException"

/* One failed record and where it failed. Strings are borrowed. */
typedef struct errors_context {
    const char *connector;     /* connector name */
    int task_id;
    errors_stage_t stage;
    const char *class_name;    /* the executing class: the connector implementation, e.g. "file-sink" */
    const char *exception;     /* exception-like class name */
    const char *message;       /* what went wrong (already scrubbed of secrets) */
    /* Sinks: the record's Kafka position (topic NULL for sources). */
    const char *topic;
    int32_t partition;
    int64_t offset;
    /* Sources: where the record came from (NULL when it had no offset). */
    const char *source_partition, *source_offset;
    const char *target_topic;  /* sources: the topic the record was meant for */
} errors_context_t;

/* Headers for the dead-letter copy of a record: its own headers, then (with
 * errors.deadletterqueue.context.headers.enable) the __connect.errors.*
 * context headers. The caller owns the result (rd_kafka_headers_destroy, or
 * hand it to produceva). orig may be NULL. */
rd_kafka_headers_t *errors_dlq_headers(const errors_policy_t *policy, const errors_context_t *ctx,
                                       const ferry_header_t *orig, size_t norig);

/* Logs one tolerated or fatal record error, as errors.log.enable asks
 * (with the key and value when errors.log.include.messages). prefix is the
 * task's log prefix. rec may be NULL. */
void errors_log(const errors_policy_t *policy, const char *prefix, const errors_context_t *ctx,
                const ferry_record_t *rec);

#endif
