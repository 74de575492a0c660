/*
 * gw_core.c — the gateway's transport-neutral part (see gw.h): the shared
 * producer, the settings, authorisation, and the queries that need no
 * subscription (positions, end offsets, acks for a group with no member
 * here). Subscriptions and streams are in gw_session.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_internal.h"

/* How long a metadata or offsets request to Kafka may take. */
#define GW_KAFKA_WAIT_MS 10000

int64_t gw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gw_fail(gw_error_t *err, gw_code_t code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return -1;
}

void gw_log(gw_t *gw, ferry_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw->host->log_v(gw->task, level, fmt, ap);
    va_end(ap);
}

/* ---- Kafka clients ------------------------------------------------------------------ */

rd_kafka_conf_t *gw_kafka_conf(gw_t *gw, int consumer, const char *const *keys, const char *const *values, size_t n,
                               gw_error_t *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char msg[256];
    const gw_kafka_settings_t *ks = consumer ? &gw->s.consumer : &gw->s.producer;
    for (size_t i = 0; i < ks->count + n; i++) {
        const char *k = i < ks->count ? ks->keys[i] : keys[i - ks->count];
        const char *v = i < ks->count ? ks->values[i] : values[i - ks->count];
        if (rd_kafka_conf_set(conf, k, v, msg, sizeof(msg)) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            gw_fail(err, GW_INTERNAL, "Kafka client setting %s: %s", k, msg);
            return NULL;
        }
    }
    return conf;
}

/* A consumer of group gid that does not join it: for committed offsets and
 * commits of a group with no member here. */
static rd_kafka_t *gw_group_client(gw_t *gw, const char *gid, gw_error_t *err)
{
    const char *keys[] = {"group.id", "enable.auto.commit", "log_level"};
    const char *values[] = {gid, "false", "3"};
    rd_kafka_conf_t *conf = gw_kafka_conf(gw, 1, keys, values, 3, err);
    if (!conf) return NULL;
    char msg[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof(msg));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        gw_fail(err, GW_INTERNAL, "Kafka consumer for group %s: %s", gid, msg);
    }
    return rk;
}

long gw_partition_count(rd_kafka_t *rk, const char *topic, gw_error_t *err)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, GW_KAFKA_WAIT_MS);
    rd_kafka_topic_destroy(rkt);
    if (e) return gw_fail(err, GW_UNAVAILABLE, "topic %s: metadata: %s", topic, rd_kafka_err2str(e));
    long n = -1;
    if (md->topic_cnt == 1 && !md->topics[0].err) n = md->topics[0].partition_cnt;
    else
        gw_fail(err, GW_NOT_FOUND, "topic %s: %s", topic,
                rd_kafka_err2str(md->topic_cnt ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
    rd_kafka_metadata_destroy(md);
    return n;
}

/* ---- publishing --------------------------------------------------------------------- */

typedef struct gw_delivery {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} gw_delivery_t;

static void gw_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    gw_delivery_t *d = m->_private;
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    d->done = 1;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static void *gw_dr_main(void *arg)
{
    gw_t *gw = arg;
    /* Until gw_free, not gw_stop: a Publish waiting for its report must get it. */
    while (!atomic_load(&gw->dr_stop)) rd_kafka_poll(gw->producer, 100);
    return NULL;
}

int gw_publish(gw_t *gw, const char *topic, const void *key, size_t key_len, const void *value, size_t value_len,
               int32_t *partition, int64_t *offset, gw_error_t *err)
{
    if (gw_topic_allowed(gw, topic, err) != 0) return -1;
    gw_delivery_t d = {.done = 0};
    pthread_mutex_init(&d.lock, NULL);
    pthread_cond_init(&d.cond, NULL);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        gw->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_OPAQUE(&d),
        RD_KAFKA_V_END);
    int rc = 0;
    if (e) {
        rc = gw_fail(err, e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? GW_UNAVAILABLE : GW_INVALID, "publish to %s: %s",
                     topic, rd_kafka_err2str(e));
    } else {
        /* The producer's message.timeout.ms bounds the wait: the delivery
         * report always comes. */
        pthread_mutex_lock(&d.lock);
        while (!d.done) pthread_cond_wait(&d.cond, &d.lock);
        pthread_mutex_unlock(&d.lock);
        if (d.err)
            rc = gw_fail(err, GW_UNAVAILABLE, "publish to %s: %s", topic, rd_kafka_err2str(d.err));
        else {
            *partition = d.partition;
            *offset = d.offset;
        }
    }
    pthread_cond_destroy(&d.cond);
    pthread_mutex_destroy(&d.lock);
    return rc;
}

/* ---- settings, authorisation -------------------------------------------------------- */

int gw_topic_allowed(gw_t *gw, const char *topic, gw_error_t *err)
{
    if (!topic || !*topic) return gw_fail(err, GW_INVALID, "no topic given");
    if (gw->s.topic_count == 0) return 0;
    for (size_t i = 0; i < gw->s.topic_count; i++)
        if (strcmp(gw->s.topics[i], topic) == 0) return 0;
    return gw_fail(err, GW_FORBIDDEN, "topic %s is not among the gateway's topics", topic);
}

/* Compares without stopping at the first difference. */
static int gw_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la ^ lb);
    for (size_t i = 0; i < la && i < lb; i++) diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

int gw_authorize(gw_t *gw, const char *group, const char *token, gw_error_t *err)
{
    if (gw->s.token_count == 0) return 0;
    if (!token || !*token) return gw_fail(err, GW_DENIED, "a bearer token is required (Authorization: Bearer ...)");
    for (size_t i = 0; i < gw->s.token_count; i++) {
        if (group && strcmp(gw->s.token_groups[i], group) != 0) continue;
        if (gw_token_equal(gw->s.tokens[i], token)) return 0;
    }
    return group ? gw_fail(err, GW_DENIED, "the bearer token is not valid for group %s", group)
                 : gw_fail(err, GW_DENIED, "the bearer token is not valid");
}

void gw_group_id(const char *group, uint32_t version, char *out, size_t size)
{
    if (version == 0) snprintf(out, size, "%s", group);
    else
        snprintf(out, size, "%s-v%" PRIu32, group, version);
}

/* ---- positions ---------------------------------------------------------------------- */

int gw_commit(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t next, gw_error_t *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next;
    rd_kafka_resp_err_t e = rd_kafka_commit(rk, l, 0);
    if (!e && l->elems[0].err) e = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (!e) return 0;
    gw_code_t code = e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                             e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS
                         ? GW_CONFLICT
                         : GW_UNAVAILABLE;
    return gw_fail(err, code, "commit of %s/%d at %" PRId64 ": %s", topic, (int)partition, next, rd_kafka_err2str(e));
}

int gw_partition_exists(gw_t *gw, const char *topic, int32_t partition, gw_error_t *err)
{
    long n = gw_partition_count(gw->producer, topic, err);
    if (n < 0) return -1;
    if (partition < 0 || partition >= n)
        return gw_fail(err, GW_INVALID, "%s has no partition %d (it has %ld)", topic, (int)partition, n);
    return 0;
}

int gw_ack_within_end(gw_t *gw, const char *topic, int32_t partition, int64_t offset, gw_error_t *err)
{
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(gw->producer, topic, partition, &lo, &hi, GW_KAFKA_WAIT_MS);
    if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        return gw_partition_exists(gw, topic, partition, err) == 0
                   ? gw_fail(err, GW_UNAVAILABLE, "end offset of %s/%d: %s", topic, (int)partition, rd_kafka_err2str(e))
                   : -1;
    if (e) return gw_fail(err, GW_UNAVAILABLE, "end offset of %s/%d: %s", topic, (int)partition, rd_kafka_err2str(e));
    if (offset >= hi)
        return gw_fail(err, GW_INVALID,
                       "offset %" PRId64 " is past the end of %s/%d (its next offset is %" PRId64
                       "): an ack names a record received",
                       offset, topic, (int)partition, hi);
    return 0;
}

int gw_ack(gw_t *gw, const char *session_id, const char *topic, const char *group, uint32_t version,
           int32_t partition, int64_t offset, gw_error_t *err)
{
    if (offset < 0) return gw_fail(err, GW_INVALID, "offset %" PRId64 " is not an offset", offset);
    if (session_id && *session_id) return gw_session_ack(gw, session_id, partition, offset, err);
    if (!group || !*group) return gw_fail(err, GW_INVALID, "an ack names an assignment, or a topic and a group");
    if (gw_topic_allowed(gw, topic, err) != 0) return -1;
    char gid[512];
    gw_group_id(group, version, gid, sizeof(gid));
    int rc = gw_session_ack_group(gw, topic, gid, partition, offset, err);
    if (rc != 1) return rc;
    /* No member of the group here: a commit outside the group, which Kafka
     * takes while the group has no members (and refuses, FAILED_PRECONDITION,
     * while it has some elsewhere). Checked as a member's ack is: within the
     * partition, and never backwards. */
    if (gw_ack_within_end(gw, topic, partition, offset, err) != 0) return -1;
    rd_kafka_t *rk = gw_group_client(gw, gid, err);
    if (!rk) return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, GW_KAFKA_WAIT_MS);
    int64_t committed = e ? RD_KAFKA_OFFSET_INVALID : l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (e) rc = gw_fail(err, GW_UNAVAILABLE, "position of group %s on %s/%d: %s", gid, topic, (int)partition,
                        rd_kafka_err2str(e));
    else if (committed > offset) rc = 0; /* older than the position: nothing to move */
    else
        rc = gw_commit(rk, topic, partition, offset + 1, err);
    rd_kafka_destroy(rk);
    return rc;
}

long gw_offsets(gw_t *gw, const char *topic, const char *group, uint32_t version, int32_t *parts,
                int64_t *offsets, size_t max, gw_error_t *err)
{
    if (gw_topic_allowed(gw, topic, err) != 0) return -1;
    if (!group || !*group) return gw_fail(err, GW_INVALID, "no group given");
    char gid[512];
    gw_group_id(group, version, gid, sizeof(gid));
    rd_kafka_t *rk = gw_group_client(gw, gid, err);
    if (!rk) return -1;
    long n = gw_partition_count(rk, topic, err), count = 0;
    if (n >= 0) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
        for (long p = 0; p < n; p++) rd_kafka_topic_partition_list_add(l, topic, (int32_t)p);
        rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, GW_KAFKA_WAIT_MS);
        if (e) count = gw_fail(err, GW_UNAVAILABLE, "positions of group %s: %s", gid, rd_kafka_err2str(e));
        for (int i = 0; !e && i < l->cnt && (size_t)count < max; i++) {
            if (l->elems[i].offset <= 0) continue; /* none, or nothing acknowledged */
            parts[count] = l->elems[i].partition;
            offsets[count++] = l->elems[i].offset - 1;
        }
        rd_kafka_topic_partition_list_destroy(l);
    } else {
        count = -1;
    }
    rd_kafka_destroy(rk);
    return count;
}

long gw_end_offsets(gw_t *gw, const char *topic, int32_t *parts, int64_t *offsets, size_t max, gw_error_t *err)
{
    if (gw_topic_allowed(gw, topic, err) != 0) return -1;
    long n = gw_partition_count(gw->producer, topic, err), count = 0;
    for (long p = 0; p < n && (size_t)count < max; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(gw->producer, topic, (int32_t)p, &lo, &hi,
                                                                 GW_KAFKA_WAIT_MS);
        if (e) return gw_fail(err, GW_UNAVAILABLE, "end offset of %s/%ld: %s", topic, p, rd_kafka_err2str(e));
        if (hi <= 0) continue;
        parts[count] = (int32_t)p;
        offsets[count++] = hi - 1;
    }
    return n < 0 ? -1 : count;
}

/* ---- life ------------------------------------------------------------------------- */

gw_t *gw_new(const gw_settings_t *s, ferry_task_t *task, const ferry_host_t *host, gw_error_t *err)
{
    gw_t *gw = calloc(1, sizeof(*gw));
    if (!gw) {
        gw_fail(err, GW_INTERNAL, "out of memory");
        return NULL;
    }
    gw->s = *s;
    gw->task = task;
    gw->host = host;
    pthread_mutex_init(&gw->lock, NULL);
    atomic_init(&gw->stopping, 0);
    atomic_init(&gw->dr_stop, 0);
    /* A Publish waits for its delivery report: message.timeout.ms bounds it. */
    const char *keys[] = {"acks", "enable.idempotence", "linger.ms", "message.timeout.ms", "log_level"};
    const char *values[] = {"all", "true", "1", "30000", "3"};
    rd_kafka_conf_t *conf = gw_kafka_conf(gw, 0, keys, values, 5, err);
    if (conf) {
        rd_kafka_conf_set_dr_msg_cb(conf, gw_dr_cb);
        char msg[256];
        gw->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, msg, sizeof(msg));
        if (!gw->producer) {
            rd_kafka_conf_destroy(conf);
            gw_fail(err, GW_INTERNAL, "Kafka producer: %s", msg);
        }
    }
    if (!gw->producer || pthread_create(&gw->dr_thread, NULL, gw_dr_main, gw) != 0) {
        if (gw->producer) rd_kafka_destroy(gw->producer);
        if (err && err->code == GW_OK) gw_fail(err, GW_INTERNAL, "could not start the gateway's producer thread");
        pthread_mutex_destroy(&gw->lock);
        free(gw);
        return NULL;
    }
    return gw;
}

void gw_stop(gw_t *gw)
{
    if (gw) atomic_store(&gw->stopping, 1);
}

void gw_free(gw_t *gw)
{
    if (!gw) return;
    atomic_store(&gw->stopping, 1);
    atomic_store(&gw->dr_stop, 1);
    pthread_join(gw->dr_thread, NULL);
    rd_kafka_flush(gw->producer, 5000);
    rd_kafka_destroy(gw->producer);
    pthread_mutex_destroy(&gw->lock);
    free(gw);
}
