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
/* A plugin's own client settings (host->kafka_settings, SDK 1.3) for a
 * producer or consumer: bootstrap.servers, then the worker.kafka properties
 * for that kind (kafka_worker_property). Borrowed until kafka_env_free. */
size_t kafka_env_settings(const kafka_env_t *env, kafka_client_kind_t kind, const char *const **keys,
                          const char *const **values);
/* The cluster's id (Metadata), or NULL when the broker did not answer in
 * timeout_ms; free with rd_kafka_mem_free(NULL, id). Main thread. */
char *kafka_env_cluster_id(kafka_env_t *env, int timeout_ms);

/* ---- client configurations ------------------------------------------------ */

/* A list of librdkafka properties (borrowed arrays). */
typedef struct kafka_props {
    const char *const *keys, *const *values;
    size_t count;
    /* Defaults only: the first `tunable` entries are tuning that the
     * worker's properties may change, set before them; the rest are what
     * the runtime owns, set after them. */
    size_t tunable;
} kafka_props_t;

/* What the runtime sets on a task's client of this kind. Tuning first
 * (worker.kafka may change it): producers partition keys like Java's clients,
 * linger 5 ms and queue at most 4 MiB; consumers start from the earliest
 * offset and queue at most 20k records or 16 MiB, fetched 4 MiB at a time.
 * Then what the runtime owns (after worker.kafka, before the connector's
 * allow-listed overrides): client.id ferry-<connector>-<task>;
 * producers are idempotent; consumers join the group ferry-<connector> and
 * commit offsets themselves. The admin kind has none. This is the one place
 * these settings are written down: the engine and `ferry validate` both use it. */
#define KAFKA_DEFAULTS_MAX 10
typedef struct kafka_defaults {
    const char *keys[KAFKA_DEFAULTS_MAX], *values[KAFKA_DEFAULTS_MAX];
    size_t count;
    size_t tunable; /* the first `tunable` entries are tuning */
    char client_id[256], group_id[256]; /* storage behind two of the values */
} kafka_defaults_t;
void kafka_client_defaults(kafka_defaults_t *d, kafka_client_kind_t kind, const char *connector, int task);

/* The property a worker.kafka key sets on a client of this kind: the key
 * itself, or the key without its "producer."/"consumer."/"admin." prefix
 * when the prefix names this kind; NULL when it names another kind. */
const char *kafka_worker_property(const char *key, kafka_client_kind_t kind);

/* Which list a property came from, for kafka_conf_error_fn. */
typedef enum kafka_layer { KAFKA_LAYER_WORKER, KAFKA_LAYER_DEFAULTS, KAFKA_LAYER_OVERRIDES } kafka_layer_t;
/* Told about each property librdkafka refuses: its list and index there,
 * the property as given to librdkafka, why (RD_KAFKA_CONF_UNKNOWN or
 * _INVALID) and librdkafka's message. */
typedef void (*kafka_conf_error_fn)(void *arg, kafka_layer_t layer, size_t index, const char *property,
                                    rd_kafka_conf_res_t res, const char *msg);

/* Sets a client's properties in the order that decides which wins: the
 * worker's (those for this kind, see kafka_worker_property), the defaults,
 * then the overrides; any list may be NULL. Each refused property goes to
 * on_error and the others are still set. Returns how many were refused. */
size_t kafka_conf_fill(rd_kafka_conf_t *conf, kafka_client_kind_t kind, const kafka_props_t *worker,
                       const kafka_props_t *defaults, const kafka_props_t *overrides,
                       kafka_conf_error_fn on_error, void *arg);

/* A new conf for a client of this kind: worker properties, then the
 * overrides (already allow-listed by config), then logging hooks. NULL with
 * err on an invalid property (the message names it). Any thread. */
rd_kafka_conf_t *kafka_conf_new(const kafka_env_t *env, kafka_client_kind_t kind,
                                const char *const *okeys, const char *const *ovalues, size_t ocount,
                                char *err, size_t errlen);
/* The same for task `task` of `connector`, with kafka_client_defaults()
 * between the worker properties and the connector's overrides. */
rd_kafka_conf_t *kafka_task_conf_new(const kafka_env_t *env, kafka_client_kind_t kind, const char *connector,
                                     int task, const char *const *okeys, const char *const *ovalues,
                                     size_t ocount, char *err, size_t errlen);

/* Grows topic to partitions (CreatePartitions). 0, or -1 with err (the
 * embedded broker, and librdkafka's mock, cannot). */
int kafka_topic_grow(kafka_env_t *env, const char *topic, int partitions, char *err, size_t errlen);
/* Makes sure topic exists. Embedded broker: created with the mock API.
 * Otherwise: CreateTopics (with cleanup.policy=compact when compact); a
 * broker without CreateTopics support gets a warning and the topic is
 * auto-created by a metadata request. With compact, an existing topic
 * whose cleanup.policy is not compact is an error. Returns the topic's
 * partition count, or -1 with err. */
int kafka_ensure_topic(kafka_env_t *env, const char *topic, int partitions, int replication, int compact,
                       char *err, size_t errlen);
/* Non-blocking: finishes background checks (the offsets topic's
 * compaction, when the broker did not answer at start-up) and logs their
 * outcome. -1 with err when the offsets topic turned out not to be
 * compacted (the worker then stops), else 0. Main thread, periodically. */
int kafka_env_poll(kafka_env_t *env, char *err, size_t errlen);

/* Runs a standalone mock cluster (ferry dev-kafka): creates ferry-offsets
 * (25 partitions) and the given topics, prints the bootstrap address as the
 * first line of stdout and serves until *stop becomes non-zero. */
int kafka_dev_broker_run(int brokers, const char *const *topics, size_t topic_count, volatile sig_atomic_t *stop);

#endif
