/* errors.c — see errors.h. */
#include "errors/errors.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "util/log.h"

#define HEADER_PREFIX "__connect.errors."

const char *errors_stage_name(errors_stage_t stage)
{
    switch (stage) {
    case ERRORS_STAGE_TASK_POLL: return "TASK_POLL";
    case ERRORS_STAGE_KAFKA_PRODUCE: return "KAFKA_PRODUCE";
    case ERRORS_STAGE_KAFKA_CONSUME: return "KAFKA_CONSUME";
    case ERRORS_STAGE_TASK_PUT: return "TASK_PUT";
    case ERRORS_STAGE_KEY_CONVERTER: return "KEY_CONVERTER";
    case ERRORS_STAGE_VALUE_CONVERTER: return "VALUE_CONVERTER";
    case ERRORS_STAGE_HEADER_CONVERTER: return "HEADER_CONVERTER";
    case ERRORS_STAGE_TRANSFORMATION: return "TRANSFORMATION";
    }
    return "UNKNOWN";
}

void errors_policy_init(errors_policy_t *policy, const ferry_config_t *cfg)
{
    const char *tolerance = config_string(cfg, "errors.tolerance");
    const char *dlq = config_string(cfg, "errors.deadletterqueue.topic.name");
    policy->tolerate_all = tolerance && strcmp(tolerance, "all") == 0;
    policy->log_enable = config_bool(cfg, "errors.log.enable");
    policy->log_messages = config_bool(cfg, "errors.log.include.messages");
    policy->dlq_topic = dlq && *dlq ? dlq : NULL;
    policy->dlq_context_headers = config_bool(cfg, "errors.deadletterqueue.context.headers.enable");
    policy->dlq_replication = (int)config_int(cfg, "errors.deadletterqueue.topic.replication.factor");
}

/* The errors no retry and no restart can mend, and the Java exception each
 * maps to. Everything else is either retried by librdkafka or fails the
 * task, whose restart starts over from the committed offsets. */
static const struct {
    rd_kafka_resp_err_t err;
    const char *exception;
} permanent[] = {
    {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, "org.apache.kafka.common.errors.RecordTooLargeException"},
    {RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, "org.apache.kafka.common.errors.RecordBatchTooLargeException"},
    {RD_KAFKA_RESP_ERR_INVALID_RECORD, "org.apache.kafka.common.InvalidRecordException"},
    {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "org.apache.kafka.common.errors.TopicAuthorizationException"},
    {RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, "org.apache.kafka.common.errors.InvalidTopicException"},
    {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "org.apache.kafka.common.errors.UnknownTopicOrPartitionException"},
    {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, "org.apache.kafka.common.errors.UnknownTopicOrPartitionException"},
    {RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, "org.apache.kafka.common.errors.UnknownTopicOrPartitionException"},
    {RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP, "org.apache.kafka.common.errors.InvalidTimestampException"},
    {RD_KAFKA_RESP_ERR_POLICY_VIOLATION, "org.apache.kafka.common.errors.PolicyViolationException"},
    {RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
     "org.apache.kafka.common.errors.UnsupportedForMessageFormatException"},
    {RD_KAFKA_RESP_ERR__INVALID_ARG, "org.apache.kafka.common.errors.InvalidRequestException"},
};

int errors_kafka_permanent(rd_kafka_resp_err_t err)
{
    for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
        if (permanent[i].err == err) return 1;
    return 0;
}

const char *errors_kafka_exception(rd_kafka_resp_err_t err)
{
    for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
        if (permanent[i].err == err) return permanent[i].exception;
    if (err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT) return "org.apache.kafka.common.errors.TimeoutException";
    return "org.apache.kafka.common.KafkaException";
}

static void add_header(rd_kafka_headers_t *h, const char *name, const char *value)
{
    char full[64];
    snprintf(full, sizeof(full), HEADER_PREFIX "%s", name);
    rd_kafka_header_add(h, full, -1, value, -1);
}

static void add_header_int(rd_kafka_headers_t *h, const char *name, long long value)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", value);
    add_header(h, name, buf);
}

rd_kafka_headers_t *errors_dlq_headers(const errors_policy_t *policy, const errors_context_t *ctx,
                                       const ferry_header_t *orig, size_t norig)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(norig + 12);
    for (size_t i = 0; i < norig; i++)
        rd_kafka_header_add(h, orig[i].name, -1, orig[i].value, (ssize_t)orig[i].value_len);
    if (!policy->dlq_context_headers) return h;
    /* Connect writes every value as a UTF-8 string, numbers included. */
    if (ctx->topic) {
        add_header(h, "topic", ctx->topic);
        add_header_int(h, "partition", ctx->partition);
        add_header_int(h, "offset", ctx->offset);
    } else if (ctx->target_topic) {
        add_header(h, "topic", ctx->target_topic);
    }
    add_header(h, "connector.name", ctx->connector);
    add_header_int(h, "task.id", ctx->task_id);
    add_header(h, "stage", errors_stage_name(ctx->stage));
    add_header(h, "class.name", ctx->class_name ? ctx->class_name : "");
    add_header(h, "exception.class.name", ctx->exception ? ctx->exception : ERRORS_EXC_CONNECT);
    add_header(h, "exception.message", ctx->message ? ctx->message : "");
    /* ferry's additions for sources (Connect has no source dead-letter queue). */
    if (ctx->source_partition) add_header(h, "source.partition", ctx->source_partition);
    if (ctx->source_offset) add_header(h, "source.offset", ctx->source_offset);
    return h;
}

void errors_log(const errors_policy_t *policy, const char *prefix, const errors_context_t *ctx,
                const ferry_record_t *rec)
{
    if (!policy->log_enable) return;
    char where[512];
    if (ctx->topic)
        snprintf(where, sizeof(where), "consumed record %s/%d@%lld", ctx->topic, (int)ctx->partition,
                 (long long)ctx->offset);
    else
        snprintf(where, sizeof(where), "source record for topic %s, partition %s, offset %s",
                 ctx->target_topic ? ctx->target_topic : "(none)",
                 ctx->source_partition ? ctx->source_partition : "(none)",
                 ctx->source_offset ? ctx->source_offset : "(none)");
    if (policy->log_messages && rec)
        LOG_AT(FERRY_LOG_ERROR, prefix, "error in stage %s (%s: %s) for %s, key=%.*s value=%.*s",
               errors_stage_name(ctx->stage), ctx->exception, ctx->message, where, rec->key ? (int)rec->key_len : 4,
               rec->key ? (const char *)rec->key : "null", rec->value ? (int)rec->value_len : 4,
               rec->value ? (const char *)rec->value : "null");
    else
        LOG_AT(FERRY_LOG_ERROR, prefix, "error in stage %s (%s: %s) for %s", errors_stage_name(ctx->stage),
               ctx->exception, ctx->message, where);
}
