/*
 * offsets_kafka.c — reading the offsets topic (offsets.store: kafka).
 *
 * At startup the worker replays the whole compacted topic into an offset map:
 * last record per key wins, a tombstone removes the key. We read with a
 * plain assign()ed consumer from the beginning of every partition up to the
 * high watermark captured before reading, the same way Kafka Connect's
 * KafkaBasedLog "reads to end". The consumer never joins a group or commits;
 * it still needs a group.id because rd_kafka_consumer_poll() requires one, so
 * it gets a throwaway unique name that no other member shares.
 *
 * Called from the main thread during startup; blocks up to timeout_ms.
 */
#include "offsets.h"

#include "util/kafka_meta.h"
#include "util/log.h"
#include "util/strutil.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_uint reader_seq; /* makes group ids unique within the process */

typedef struct part_state {
    int32_t id;
    int64_t high; /* read up to here (exclusive) */
    int done;
} part_state_t;

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errlen)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "offsets topic: consumer config %s=%s: %s", name, value, errstr);
        return -1;
    }
    return 0;
}

static int64_t remaining_ms(int64_t deadline)
{
    int64_t left = deadline - clock_ms();
    return left > 0 ? left : 0;
}

static int transient_leader_error(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION || e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
           e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
           e == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE || e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
}

/* One end of every partition (ts RD_KAFKA_OFFSET_BEGINNING or _END), asked
 * of every leader at once (ListOffsets) instead of one round trip per
 * partition. Right after a topic is created the metadata may already name a
 * leader that does not yet act as one: such answers are asked again until
 * the deadline, as Kafka's own clients do. On error *failed is the partition. */
static rd_kafka_resp_err_t list_offsets(rd_kafka_t *rk, const char *topic, const part_state_t *parts, int count,
                                        int64_t ts, int64_t deadline, int64_t *out, int32_t *failed)
{
    for (;;) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(count);
        for (int i = 0; i < count; i++) rd_kafka_topic_partition_list_add(l, topic, parts[i].id)->offset = ts;
        int64_t left = remaining_ms(deadline);
        rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, (int)(left > 0 ? left : 1));
        for (int i = 0; !e && i < l->cnt; i++) {
            e = l->elems[i].err;
            *failed = l->elems[i].partition;
            out[i] = l->elems[i].offset;
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (!e || !transient_leader_error(e) || remaining_ms(deadline) < 200) return e;
        usleep(100 * 1000);
    }
}

/* Fetches the topic's partition ids. Returns 1 with *parts set, 0 when the
 * topic does not exist, -1 on error or timeout. */
/* The topic's partitions; metadata errors right after creation (e.g.
 * LEADER_NOT_AVAILABLE) are asked again until the deadline. 1 with *parts,
 * 0 when the topic does not exist (an empty store), -1 with err. */
static int fetch_partitions(rd_kafka_t *rk, const char *topic, int64_t deadline,
                            part_state_t **parts, int *count, char *err, size_t errlen)
{
    for (;;) {
        rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
        int32_t *ids = NULL;
        int n = kafka_meta_partitions(rk, topic, (int)remaining_ms(deadline), &ids, &last);
        if (n >= 0) {
            *count = n;
            *parts = xcalloc((size_t)(n ? n : 1), sizeof(**parts));
            for (int i = 0; i < n; i++) (*parts)[i].id = ids[i];
            free(ids);
            return n > 0;
        }
        if (remaining_ms(deadline) <= 0) {
            snprintf(err, errlen, "topic %s: no metadata within the timeout: %s", topic,
                     rd_kafka_err2str(last));
            return -1;
        }
        usleep(100 * 1000);
    }
}

/* Consumes the assigned partitions until each one reached its high watermark
 * (or reported EOF), applying records in order. */
static int consume_to_end(rd_kafka_t *rk, const char *topic, part_state_t *parts, int count,
                          offsets_record_fn fn, void *arg, int64_t deadline, char *err, size_t errlen)
{
    int left = 0;
    rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; i < count; i++) left += !parts[i].done;
    while (left > 0) {
        int64_t wait = remaining_ms(deadline);
        if (wait <= 0) {
            snprintf(err, errlen,
                     "topic %s: timed out reading to the end (%d partition%s left%s%s; an open "
                     "transaction holds back what follows it until it is committed or aborted)",
                     topic, left, left == 1 ? "" : "s", last ? ", last error: " : "",
                     last ? rd_kafka_err2str(last) : "");
            return -1;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, (int)(wait < 100 ? wait : 100));
        if (!msg) continue;
        part_state_t *ps = NULL;
        for (int i = 0; i < count; i++) {
            if (parts[i].id == msg->partition) ps = &parts[i];
        }
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* read_committed reports the end at the last stable offset; the
             * records behind an open transaction come once it is decided. */
            if (ps && !ps->done && msg->offset >= ps->high) {
                ps->done = 1;
                left--;
            }
        } else if (msg->err) {
            last = msg->err;
            if (msg->err == RD_KAFKA_RESP_ERR__FATAL ||
                msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                snprintf(err, errlen, "topic %s: %s", topic, rd_kafka_message_errstr(msg));
                rd_kafka_message_destroy(msg);
                return -1;
            }
            log_debug("topic %s: %s (retrying)", topic, rd_kafka_message_errstr(msg));
        } else if (ps && !ps->done) {
            if (fn(arg, msg->key, msg->key_len, msg->payload, msg->len) != 0) {
                log_warn("topic %s [%" PRId32 "] offset %" PRId64
                         ": ignoring malformed record (key %.*s)",
                         topic, msg->partition, msg->offset,
                         (int)(msg->key_len > 200 ? 200 : msg->key_len),
                         msg->key ? (const char *)msg->key : "(null)");
            }
            if (msg->offset + 1 >= ps->high) {
                ps->done = 1;
                left--;
            }
        }
        rd_kafka_message_destroy(msg);
    }
    return 0;
}

static int load(rd_kafka_conf_t *conf, const char *topic, offsets_record_fn fn, void *arg, int timeout_ms,
                int decided, char *err, size_t errlen)
{
    char group[96], errstr[512];
    int64_t deadline = clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    snprintf(group, sizeof(group), "ferry-offsets-reader-%ld-%u", (long)getpid(),
             atomic_fetch_add(&reader_seq, 1u));
    if (conf_set(conf, "group.id", group, err, errlen) ||
        conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        conf_set(conf, "enable.auto.offset.store", "false", err, errlen) ||
        conf_set(conf, "enable.partition.eof", "true", err, errlen) ||
        conf_set(conf, "auto.offset.reset", "earliest", err, errlen) ||
        conf_set(conf, "allow.auto.create.topics", "false", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    /* A second handle, read_uncommitted, only asks for the high watermarks. */
    rd_kafka_conf_t *hw_conf = decided ? rd_kafka_conf_dup(conf) : NULL;
    rd_kafka_t *hw_rk = NULL;
    if (hw_conf && conf_set(hw_conf, "isolation.level", "read_uncommitted", err, errlen) == 0)
        hw_rk = rd_kafka_new(RD_KAFKA_CONSUMER, hw_conf, errstr, sizeof(errstr));
    if (hw_conf && !hw_rk) rd_kafka_conf_destroy(hw_conf);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk) {
        if (hw_rk) rd_kafka_destroy(hw_rk);
        rd_kafka_conf_destroy(conf); /* rd_kafka_new() only takes it on success */
        snprintf(err, errlen, "topic %s: cannot create consumer: %s", topic, errstr);
        return -1;
    }

    part_state_t *parts = NULL;
    int count = 0, rc = fetch_partitions(rk, topic, deadline, &parts, &count, err, errlen);
    if (rc <= 0) {
        if (hw_rk) rd_kafka_destroy(hw_rk);
        goto out; /* 0: no topic, an empty store */
    }

    int64_t *lo = xcalloc((size_t)count, sizeof(*lo)), *hi = xcalloc((size_t)count, sizeof(*hi));
    int32_t failed = -1;
    rd_kafka_resp_err_t e = list_offsets(rk, topic, parts, count, RD_KAFKA_OFFSET_BEGINNING, deadline, lo, &failed);
    /* The end is the high watermark, not the last stable offset a
     * read_committed ListOffsets answers: records committed after a
     * transaction that is still open (a killed task's, until its next
     * instance aborts it) must be read too, so the reader waits for that
     * transaction to be decided. */
    if (!e) e = list_offsets(hw_rk ? hw_rk : rk, topic, parts, count, RD_KAFKA_OFFSET_END, deadline, hi, &failed);
    if (hw_rk) rd_kafka_destroy(hw_rk);
    if (e) {
        snprintf(err, errlen, "topic %s [%" PRId32 "]: watermarks: %s", topic, failed, rd_kafka_err2str(e));
        free(lo);
        free(hi);
        rc = -1;
        goto out;
    }
    rd_kafka_topic_partition_list_t *assign = rd_kafka_topic_partition_list_new(count);
    for (int i = 0; i < count; i++) {
        parts[i].high = hi[i];
        parts[i].done = hi[i] <= lo[i]; /* empty (or fully deleted): nothing to read */
        if (!parts[i].done) {
            rd_kafka_topic_partition_list_add(assign, topic, parts[i].id)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        }
    }
    free(lo);
    free(hi);
    rc = 0;
    if (assign->cnt > 0) {
        e = rd_kafka_assign(rk, assign);
        if (e) {
            snprintf(err, errlen, "topic %s: assign: %s", topic, rd_kafka_err2str(e));
            rc = -1;
        } else {
            rc = consume_to_end(rk, topic, parts, count, fn, arg, deadline, err, errlen);
            rd_kafka_assign(rk, NULL);
        }
    }
    rd_kafka_topic_partition_list_destroy(assign);
out:
    free(parts);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc < 0 ? -1 : 0;
}

static int apply_offset(void *arg, const void *key, size_t klen, const void *value, size_t vlen)
{
    return offset_map_apply(arg, key, klen, value, vlen);
}

int offsets_kafka_load(rd_kafka_conf_t *conf, const char *topic, offset_map_t *map, int timeout_ms, char *err,
                       size_t errlen)
{
    return load(conf, topic, apply_offset, map, timeout_ms, 0, err, errlen);
}

int offsets_kafka_load_decided(rd_kafka_conf_t *conf, const char *topic, offset_map_t *map, int timeout_ms,
                               char *err, size_t errlen)
{
    return load(conf, topic, apply_offset, map, timeout_ms, 1, err, errlen);
}

int offsets_kafka_read(rd_kafka_conf_t *conf, const char *topic, offsets_record_fn fn, void *arg, int timeout_ms,
                       char *err, size_t errlen)
{
    return load(conf, topic, fn, arg, timeout_ms, 0, err, errlen);
}
