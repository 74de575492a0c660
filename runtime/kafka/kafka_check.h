/*
 * kafka_check.h — checking a pipeline file's librdkafka properties without a
 * broker, so that `ferry validate` and the start of `ferry run` refuse what
 * a task's client would refuse later (and then restart forever).
 *
 * Each client is configured exactly as the engine configures it
 * (kafka_conf_fill: worker.kafka, kafka_client_defaults, the connector's
 * overrides) and then created with rd_kafka_new, which is where librdkafka
 * checks combinations (e.g. `acks: 1` with the idempotence ferry's producers
 * always have). The handle is destroyed at once. It never contacts a broker
 * and never runs a security plugin: bootstrap.servers is emptied and
 * security.protocol set to plaintext for the check, so certificate files,
 * kinit and OAuth endpoints are left to run time.
 */
#ifndef FERRY_KAFKA_CHECK_H
#define FERRY_KAFKA_CHECK_H

#include "config/config.h"
#include "kafka/kafka.h"

/* Checks worker.kafka for producers, consumers and the admin client, then
 * the producer.override.* / consumer.override.* of each connector whose
 * kinds[i] (connector i's client: KAFKA_PRODUCER for a source,
 * KAFKA_CONSUMER for a sink) is not -1. Adds one error per refused property
 * to errs, "FILE:LINE:COL: connector NAME: message" at the property's key
 * (without the connector part for worker.kafka), never showing a value that
 * came from a substitution. Overrides that config validation already refuses
 * (not allow-listed, not a scalar) are left to it. Returns the number of
 * errors added. Main thread. */
size_t kafka_check_config(const worker_config_t *wc, const int *kinds, cfg_errors_t *errs);

#endif
