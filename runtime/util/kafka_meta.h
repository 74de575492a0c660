/* kafka_meta.h — one topic's partitions from cluster metadata, shared by
 * topic creation (kafka/) and the offsets topic reader (offsets/). */
#ifndef FERRY_UTIL_KAFKA_META_H
#define FERRY_UTIL_KAFKA_META_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* Asks rk for topic's metadata, waiting up to timeout_ms. Returns the
 * partition count with their ids in *ids (malloc'd when the count is not 0,
 * the caller frees; ids may be NULL when only the count is wanted), 0 also
 * when the cluster does not know the topic, or -1 with the error in *error.
 * Any thread. */
int kafka_meta_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t **ids,
                          rd_kafka_resp_err_t *error);

#endif
