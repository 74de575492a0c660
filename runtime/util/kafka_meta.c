#include "util/kafka_meta.h"

#include "util/strutil.h"

int kafka_meta_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, int32_t **ids,
                          rd_kafka_resp_err_t *error)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt) {
        *error = rd_kafka_last_error();
        return -1;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms > 0 ? timeout_ms : 1);
    int n = -1;
    if (!e) {
        const struct rd_kafka_metadata_topic *t = md->topic_cnt == 1 ? &md->topics[0] : NULL;
        e = t ? t->err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
            n = 0;
        } else if (!e) {
            n = t->partition_cnt; /* 0 right after creation, before any is listed */
            if (ids && n > 0) {
                *ids = xcalloc((size_t)n, sizeof(**ids));
                for (int i = 0; i < n; i++) (*ids)[i] = t->partitions[i].id;
            }
        }
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (n < 0) *error = e;
    return n;
}
