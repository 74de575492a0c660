/*
 * pg_signal_kafka.c — Debezium's Kafka signal channel: a plain librdkafka
 * consumer of partition 0 of signal.kafka.topic, read without blocking
 * between transactions. It knows nothing of signals: pg_signal.c takes each
 * message's key and value and says what they mean.
 *
 * Position: the next offset to read is kept in postgres-cdc's own offsets
 * (pg_signal.c), not in the consumer group, so that a signal and the
 * snapshot progress it caused are stored together. With no stored position
 * the channel starts at the end of the topic: only signals sent from then
 * on count.
 *
 * Floor: the bottom, beside pg_buf.c (librdkafka only).
 */
#include "pg_conn.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

struct pg_ksig {
    rd_kafka_t *rk;
    char *topic;
    rd_kafka_message_t *held; /* the message last handed out */
};

pg_ksig_t *pg_ksig_open(const char *bootstrap, const char *topic, const char *group, int64_t next_offset,
                        char *err, size_t errlen)
{
    pg_ksig_t *k = calloc(1, sizeof(*k));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!k || !conf) {
        free(k);
        if (conf)
            rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, errlen) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", group, err, errlen) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, errlen) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "false", err, errlen) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "3", err, errlen) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        free(k);
        return NULL;
    }
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!k->rk) {
        free(k);
        return NULL;
    }
    k->topic = strdup(topic);
    rd_kafka_poll_set_consumer(k->rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = next_offset >= 0 ? next_offset : RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t e = rd_kafka_assign(k->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        snprintf(err, errlen, "assigning %s [0]: %s", topic, rd_kafka_err2str(e));
        pg_ksig_close(k);
        return NULL;
    }
    return k;
}

int pg_ksig_next(pg_ksig_t *k, const char **key, size_t *key_len, const char **value, size_t *value_len,
                 int64_t *offset, char *err, size_t errlen)
{
    if (k->held) {
        rd_kafka_message_destroy(k->held);
        k->held = NULL;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 0);
    if (!m)
        return 0;
    if (m->err) {
        snprintf(err, errlen, "%s: %s", k->topic, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return -1;
    }
    k->held = m;
    *key = m->key;
    *key_len = m->key_len;
    *value = m->payload;
    *value_len = m->len;
    *offset = m->offset;
    return 1;
}

void pg_ksig_close(pg_ksig_t *k)
{
    if (!k)
        return;
    if (k->held)
        rd_kafka_message_destroy(k->held);
    if (k->rk) {
        rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    free(k->topic);
    free(k);
}
