/*
 * kafka.h — librdkafka glue: the worker's client settings, the embedded
 * (mock) broker, and topic creation.
 *
 * worker.kafka properties pass through to every client. Keys prefixed
 * "producer.", "consumer." or "admin." apply only to that kind of client
 * (as in Kafka Connect's worker config), so consumer-only settings don't
 * make producers complain.
 */
#ifndef FERRY_KAFKA_H
#define FERRY_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stddef.h>

typedef enum kafka_client_kind { KAFKA_PRODUCER, KAFKA_CONSUMER, KAFKA_ADMIN } kafka_client_kind_t;

typedef struct kafka_env kafka_env_t;

/* Builds the environment from worker.kafka. When bootstrap.servers is absent
 * or "embedded", starts librdkafka's in-process mock broker and logs its
 * address. Returns NULL with err filled on failure. Main thread. */
kafka_env_t *kafka_env_new(const char *const *keys, const char *const *values, size_t count, char *err,
                           size_t errlen);
void kafka_env_free(kafka_env_t *env);
/* The bootstrap address actually used. */
const char *kafka_env_bootstrap(const kafka_env_t *env);
int kafka_env_is_embedded(const kafka_env_t *env);

/* A new conf for a client of this kind: worker properties, then the
 * overrides (already allow-listed by config), then logging hooks. NULL with
 * err on an invalid property (the message names it). Any thread. */
rd_kafka_conf_t *kafka_conf_new(const kafka_env_t *env, kafka_client_kind_t kind,
                                const char *const *okeys, const char *const *ovalues, size_t ocount,
                                char *err, size_t errlen);

/* Makes sure topic exists. Embedded broker: created with the mock API.
 * Otherwise: CreateTopics (with cleanup.policy=compact when compact); a
 * broker without CreateTopics support gets a warning and the topic is
 * auto-created by a metadata request. Returns the topic's partition count,
 * or -1 with err. */
int kafka_ensure_topic(kafka_env_t *env, const char *topic, int partitions, int replication, int compact,
                       char *err, size_t errlen);
/* Non-blocking: finishes background checks (the offsets topic's
 * compaction) and logs their outcome. Main thread, periodically. */
void kafka_env_poll(kafka_env_t *env);

/* Runs a standalone mock cluster (ferry dev-kafka): creates ferry-offsets
 * (25 partitions) and the given topics, prints the bootstrap address as the
 * first line of stdout and serves until *stop becomes non-zero. */
int kafka_dev_broker_run(int brokers, const char *const *topics, size_t topic_count, volatile sig_atomic_t *stop);

#endif
