/*
 * gw_session.c — subscriptions and their partition streams (see gw.h).
 *
 * A session is one Kafka consumer in the client's group. Its own thread
 * (the transport's Subscribe call) polls it, so the group protocol and the
 * rebalance callback run there. Each assigned partition gets a queue of its
 * own (rd_kafka_queue_get_partition, no longer forwarded to the consumer's
 * queue): a stream reads only its partition, and librdkafka stops fetching a
 * partition whose queue is full, so a slow client slows only its partitions.
 *
 * Where a partition starts, decided at assignment: the group's committed
 * offset, or (none) the earliest record, which is in the archive when one
 * is configured, or the end (latest). kafka_lo is the topic's earliest
 * offset then: a stream that starts below it reads the archive up to it and
 * continues in Kafka at exactly that offset (no gap: a missing record stops
 * the stream with DATA_LOSS; no duplicate: archived records at or above
 * kafka_lo are not sent).
 *
 * Locks: gw->lock guards the session list and each session's refs;
 * session->lock its partitions and their acknowledged offsets (cond wakes
 * streams waiting for an ack, and the revoke waiting for streams to let go).
 * A partition is freed only by the session's thread, after its stream
 * released it (part->streaming 0).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_cold.h"
#include "gw_internal.h"
#include "s3_client.h"

#define GW_PARTS_MAX 4096
#define GW_EVENTS_MAX 8192
#define GW_REVOKE_WAIT_MS 10000
#define GW_KAFKA_WAIT_MS 10000

typedef struct gw_part {
    int32_t partition;
    rd_kafka_queue_t *q;
    int64_t start;    /* where a stream starts without an ack */
    int64_t kafka_lo; /* the topic's earliest offset at assignment */
    int64_t pos;      /* the offset the queue delivers next */
    int64_t acked;    /* the group's last acknowledged offset, -1 none */
    int from_reset;   /* start came from auto_offset_reset, not the group */
    int streaming;    /* a stream holds the partition */
    int revoked;
} gw_part_t;

struct gw_session {
    gw_t *gw;
    gw_session_t *next; /* gw->sessions (under gw->lock) */
    int refs;           /* under gw->lock: the owner + each finder */
    char id[64];
    char topic[256];
    char group[256]; /* as the client named it, for authorisation */
    char gid[512];   /* the Kafka group */
    int latest;
    rd_kafka_t *rk;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    gw_part_t *parts[GW_PARTS_MAX]; /* assigned now (under lock) */
    size_t part_count;
    gw_assign_t events[GW_EVENTS_MAX]; /* not yet returned by gw_session_poll (session thread) */
    size_t event_head, event_count;
    int closing;            /* under lock */
    _Atomic int64_t touched_ms;
    /* Set once by the session thread when the group's positions could not
     * be read at a rebalance: the session ends (gw_session_poll -1). */
    char failure[512];
    atomic_int failed;
    /* Serialises this session's commits, so that an ack is compared with the
     * position the previous ack left (acks never move a position back). */
    pthread_mutex_t commit_lock;
};

struct gw_stream {
    gw_t *gw;
    gw_session_t *s; /* a reference */
    gw_part_t *part; /* held: part->streaming */
    int64_t next;        /* the offset to send next */
    int64_t last_sent;   /* -1 none */
    int64_t first_sent;  /* the stream's first record, -1 none: the window counts from there */
    int64_t replay_upto; /* records up to here were acknowledged before the stream began */
    int64_t window;      /* unacknowledged records allowed, 0 = unbounded */
    int64_t waiting_since; /* when the window filled, 0 when it is not full */
    rd_kafka_message_t *held; /* the record last returned (freed at the next call) */
    s3_client_t *s3;
    gw_cold_t *cold; /* the archive's part, until kafka_lo */
    int cold_started;
};

/* ---- the session list --------------------------------------------------------------- */

static void session_free(gw_session_t *s)
{
    for (size_t i = 0; i < s->part_count; i++) {
        if (s->parts[i]->q) rd_kafka_queue_destroy(s->parts[i]->q);
        free(s->parts[i]);
    }
    if (s->rk) rd_kafka_destroy(s->rk);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->commit_lock);
    free(s);
}

void gw_session_unref(gw_session_t *s)
{
    if (!s) return;
    gw_t *gw = s->gw;
    pthread_mutex_lock(&gw->lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&gw->lock);
    if (last) session_free(s);
}

gw_session_t *gw_session_find(gw_t *gw, const char *session_id)
{
    if (!session_id) return NULL;
    pthread_mutex_lock(&gw->lock);
    gw_session_t *s = gw->sessions;
    while (s && strcmp(s->id, session_id) != 0) s = s->next;
    if (s) s->refs++;
    pthread_mutex_unlock(&gw->lock);
    return s;
}

const char *gw_session_id(const gw_session_t *s) { return s->id; }
const char *gw_session_group(const gw_session_t *s) { return s->group; }
void gw_session_touch(gw_session_t *s) { atomic_store(&s->touched_ms, gw_now_ms()); }
int gw_session_idle(gw_session_t *s, int64_t now_ms)
{
    return s->gw->s.session_timeout_ms > 0 && now_ms - atomic_load(&s->touched_ms) > s->gw->s.session_timeout_ms;
}

/* The partition as assigned now (a revoked one whose stream has not let go
 * yet may still be in the list, next to its new assignment). */
static gw_part_t *session_part(gw_session_t *s, int32_t partition)
{
    for (size_t i = 0; i < s->part_count; i++)
        if (s->parts[i]->partition == partition && !s->parts[i]->revoked) return s->parts[i];
    return NULL;
}

static void session_event(gw_session_t *s, int assigned, int32_t partition)
{
    if (s->event_count == GW_EVENTS_MAX) return; /* cannot happen: at most two per partition per rebalance */
    s->events[(s->event_head + s->event_count++) % GW_EVENTS_MAX] = (gw_assign_t){assigned, partition};
}

/* ---- the group protocol (session thread) -------------------------------------------- */

static void session_fail(gw_session_t *s, const char *fmt, ...) FERRY_PRINTF(2, 3);
static void session_fail(gw_session_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->failure, sizeof(s->failure), fmt, ap);
    va_end(ap);
    atomic_store(&s->failed, 1);
    gw_log(s->gw, FERRY_LOG_ERROR, "session %s ends: %s", s->id, s->failure);
}

const char *gw_session_failure(const gw_session_t *s) { return atomic_load(&s->failed) ? s->failure : NULL; }

static void session_assign(gw_session_t *s, rd_kafka_topic_partition_list_t *l)
{
    gw_t *gw = s->gw;
    /* Without the group's positions (or the partitions' bounds) a partition
     * would start as for a new group and deliver again, or skip, what the
     * group acknowledged: the session ends instead and the client
     * subscribes again. */
    rd_kafka_resp_err_t e = rd_kafka_committed(s->rk, l, GW_KAFKA_WAIT_MS);
    if (e) {
        session_fail(s, "group %s: the positions of %s could not be read at the rebalance: %s", s->gid, s->topic,
                     rd_kafka_err2str(e));
        rd_kafka_assign(s->rk, NULL);
        return;
    }
    int64_t *bounds = calloc(2 * (size_t)l->cnt + 1, sizeof(*bounds));
    for (int i = 0; bounds && i < l->cnt; i++) {
        rd_kafka_resp_err_t we = rd_kafka_query_watermark_offsets(s->rk, s->topic, l->elems[i].partition,
                                                                  &bounds[2 * i], &bounds[2 * i + 1], GW_KAFKA_WAIT_MS);
        if (we) {
            session_fail(s, "group %s: the offsets of %s/%d could not be read at the rebalance: %s", s->gid, s->topic,
                         (int)l->elems[i].partition, rd_kafka_err2str(we));
            free(bounds);
            rd_kafka_assign(s->rk, NULL);
            return;
        }
    }
    /* Every partition is set up first and then added at once, so that no
     * one sees half an assignment. */
    gw_part_t **fresh = bounds ? calloc((size_t)l->cnt + 1, sizeof(*fresh)) : NULL;
    for (int i = 0; fresh && i < l->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &l->elems[i];
        int64_t committed = tp->offset, lo = bounds[2 * i], hi = bounds[2 * i + 1];
        gw_part_t *p = calloc(1, sizeof(*p));
        if (!p) continue;
        p->partition = tp->partition;
        p->kafka_lo = lo;
        p->acked = committed > 0 ? committed - 1 : -1;
        p->from_reset = committed < 0;
        p->start = committed >= 0 ? committed : s->latest ? hi : gw->s.cold_s3 ? 0 : lo;
        p->pos = p->start > lo ? p->start : lo;
        tp->offset = p->pos;
        p->q = rd_kafka_queue_get_partition(s->rk, s->topic, tp->partition);
        if (p->q) rd_kafka_queue_forward(p->q, NULL);
        fresh[i] = p;
    }
    pthread_mutex_lock(&s->lock);
    for (int i = 0; fresh && i < l->cnt; i++) {
        gw_part_t *p = fresh[i];
        if (!p) continue;
        if (s->part_count < GW_PARTS_MAX) {
            s->parts[s->part_count++] = p;
            session_event(s, 1, p->partition);
        } else {
            if (p->q) rd_kafka_queue_destroy(p->q);
            free(p);
        }
    }
    pthread_mutex_unlock(&s->lock);
    free(fresh);
    free(bounds);
    e = rd_kafka_assign(s->rk, l);
    if (e) gw_log(gw, FERRY_LOG_ERROR, "group %s: assign: %s", s->gid, rd_kafka_err2str(e));
}

/* Takes every partition back; waits (bounded) for their streams to let go. */
static void session_revoke_all(gw_session_t *s)
{
    int64_t deadline = gw_now_ms() + GW_REVOKE_WAIT_MS;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->part_count; i++) s->parts[i]->revoked = 1;
    pthread_cond_broadcast(&s->cond);
    for (;;) {
        int busy = 0;
        for (size_t i = 0; i < s->part_count; i++) busy |= s->parts[i]->streaming;
        if (!busy || gw_now_ms() > deadline) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    }
    size_t kept = 0;
    for (size_t i = 0; i < s->part_count; i++) {
        gw_part_t *p = s->parts[i];
        if (p->streaming) {
            /* A stream that does not let go keeps its partition's memory;
             * it sees `revoked` and ends at its next call. */
            gw_log(s->gw, FERRY_LOG_WARN, "group %s: a stream of %s/%d did not end in time", s->gid, s->topic,
                   (int)p->partition);
            s->parts[kept++] = p;
            continue;
        }
        session_event(s, 0, p->partition);
        if (p->q) rd_kafka_queue_destroy(p->q);
        free(p);
    }
    s->part_count = kept;
    pthread_mutex_unlock(&s->lock);
}

static void session_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *l,
                                 void *opaque)
{
    gw_session_t *s = opaque;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        session_assign(s, l);
    } else {
        session_revoke_all(s);
        rd_kafka_assign(rk, NULL);
    }
}

gw_session_t *gw_session_open(gw_t *gw, const char *topic, const char *group, uint32_t version, int latest,
                              gw_error_t *err)
{
    if (gw_topic_allowed(gw, topic, err) != 0) return NULL;
    if (!group || !*group) {
        gw_fail(err, GW_INVALID, "no group given");
        return NULL;
    }
    if (strlen(topic) >= sizeof(((gw_session_t *)0)->topic) || strlen(group) >= 200) {
        gw_fail(err, GW_INVALID, "topic or group name too long");
        return NULL;
    }
    gw_session_t *s = calloc(1, sizeof(*s));
    if (!s) {
        gw_fail(err, GW_INTERNAL, "out of memory");
        return NULL;
    }
    s->gw = gw;
    s->refs = 1;
    s->latest = latest;
    snprintf(s->topic, sizeof(s->topic), "%s", topic);
    snprintf(s->group, sizeof(s->group), "%s", group);
    gw_group_id(group, version, s->gid, sizeof(s->gid));
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->commit_lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    atomic_init(&s->failed, 0);
    gw_session_touch(s);
    pthread_mutex_lock(&gw->lock);
    unsigned long long seq = ++gw->session_seq;
    pthread_mutex_unlock(&gw->lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(s->id, sizeof(s->id), "%08llx-%04llx-%08lx", (unsigned long long)ts.tv_sec & 0xffffffffULL, seq,
             (unsigned long)random());

    char client_id[300];
    snprintf(client_id, sizeof(client_id), "ferry-gateway-%s", s->id);
    /* Each partition's queue holds at most 4 MiB fetched ahead (librdkafka's
     * default is 64 MiB): memory stays bounded per client and partition. */
    const char *keys[] = {"group.id", "client.id", "enable.auto.commit", "enable.partition.eof", "auto.offset.reset",
                          "partition.assignment.strategy", "queued.max.messages.kbytes", "log_level"};
    /* Every start is explicit (session_assign, stream_seek): a reset can only
     * mean that a position fell out of Kafka's range while a stream read
     * (retention), and the stream ends instead of jumping (gw_stream_next). */
    const char *values[] = {s->gid, client_id, "false", "false", "error", "range,roundrobin", "4096", "3"};
    rd_kafka_conf_t *conf = gw_kafka_conf(gw, 1, keys, values, 8, err);
    if (conf) {
        rd_kafka_conf_set_opaque(conf, s);
        rd_kafka_conf_set_rebalance_cb(conf, session_rebalance_cb);
        char msg[256];
        s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, msg, sizeof(msg));
        if (!s->rk) {
            rd_kafka_conf_destroy(conf);
            gw_fail(err, GW_INTERNAL, "Kafka consumer of group %s: %s", s->gid, msg);
        }
    }
    if (s->rk) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        if (e) gw_fail(err, GW_UNAVAILABLE, "subscribe to %s: %s", topic, rd_kafka_err2str(e));
        else {
            pthread_mutex_lock(&gw->lock);
            s->next = gw->sessions;
            gw->sessions = s;
            pthread_mutex_unlock(&gw->lock);
            gw_log(gw, FERRY_LOG_INFO, "session %s: subscribed to %s as group %s", s->id, topic, s->gid);
            return s;
        }
    }
    session_free(s);
    return NULL;
}

int gw_session_poll(gw_session_t *s, int timeout_ms, gw_assign_t *ev)
{
    if (s->event_count == 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, timeout_ms);
        if (m) {
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                gw_log(s->gw, FERRY_LOG_WARN, "session %s: %s", s->id, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        }
    }
    if (atomic_load(&s->gw->stopping) || atomic_load(&s->failed)) return -1;
    if (s->event_count == 0) return 0;
    *ev = s->events[s->event_head];
    s->event_head = (s->event_head + 1) % GW_EVENTS_MAX;
    s->event_count--;
    return 1;
}

size_t gw_session_partitions(gw_session_t *s, int32_t *parts, size_t max)
{
    pthread_mutex_lock(&s->lock);
    size_t n = 0;
    for (size_t i = 0; i < s->part_count && n < max; i++)
        if (!s->parts[i]->revoked) parts[n++] = s->parts[i]->partition;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void gw_session_close(gw_session_t *s)
{
    if (!s) return;
    gw_t *gw = s->gw;
    pthread_mutex_lock(&gw->lock);
    for (gw_session_t **pp = &gw->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&gw->lock);
    pthread_mutex_lock(&s->lock);
    s->closing = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    /* Leaving the group revokes every partition (the callback waits for
     * the streams), so the other members get them at once. */
    rd_kafka_consumer_close(s->rk);
    session_revoke_all(s);
    gw_log(gw, FERRY_LOG_INFO, "session %s: closed (group %s)", s->id, s->gid);
    gw_session_unref(s);
}

/* ---- acknowledgements --------------------------------------------------------------- */

/* An ack through the session's member: only for a partition it holds, never
 * backwards (an older offset is a no-op: acks that overtake each other must
 * not move the group back), never past the partition's end. */
static int session_ack(gw_session_t *s, int32_t partition, int64_t offset, gw_error_t *err)
{
    pthread_mutex_lock(&s->commit_lock);
    pthread_mutex_lock(&s->lock);
    gw_part_t *p = session_part(s, partition);
    int64_t acked = p ? p->acked : -1;
    pthread_mutex_unlock(&s->lock);
    int rc = 0;
    if (!p) {
        rc = gw_partition_exists(s->gw, s->topic, partition, err);
        if (rc == 0)
            rc = gw_fail(err, GW_CONFLICT, "partition %d of %s is not assigned to session %s", (int)partition, s->topic,
                         s->id);
    } else if (offset > acked) {
        /* The end as this consumer last fetched it: a record the client got
         * is below it; only an ack beyond it asks Kafka. */
        int64_t lo = 0, hi = -1;
        rd_kafka_get_watermark_offsets(s->rk, s->topic, partition, &lo, &hi);
        if (offset >= hi) rc = gw_ack_within_end(s->gw, s->topic, partition, offset, err);
        if (rc == 0) rc = gw_commit(s->rk, s->topic, partition, offset + 1, err);
        if (rc == 0) {
            pthread_mutex_lock(&s->lock);
            p = session_part(s, partition); /* it may have gone meanwhile */
            if (p && offset > p->acked) p->acked = offset;
            pthread_cond_broadcast(&s->cond);
            pthread_mutex_unlock(&s->lock);
        }
    }
    pthread_mutex_unlock(&s->commit_lock);
    return rc;
}

int gw_session_ack(gw_t *gw, const char *session_id, int32_t partition, int64_t offset, gw_error_t *err)
{
    gw_session_t *s = gw_session_find(gw, session_id);
    if (!s) return gw_fail(err, GW_NOT_FOUND, "no session %s (it ended, or is on another gateway)", session_id);
    int rc = session_ack(s, partition, offset, err);
    gw_session_unref(s);
    return rc;
}

int gw_session_ack_group(gw_t *gw, const char *topic, const char *gid, int32_t partition, int64_t offset,
                         gw_error_t *err)
{
    gw_session_t *found = NULL;
    pthread_mutex_lock(&gw->lock);
    for (gw_session_t *s = gw->sessions; s && !found; s = s->next) {
        if (strcmp(s->topic, topic) != 0 || strcmp(s->gid, gid) != 0) continue;
        pthread_mutex_lock(&s->lock);
        if (session_part(s, partition)) found = s;
        pthread_mutex_unlock(&s->lock);
    }
    if (found) found->refs++;
    pthread_mutex_unlock(&gw->lock);
    if (!found) return 1;
    int rc = session_ack(found, partition, offset, err);
    gw_session_unref(found);
    return rc;
}

/* ---- streams ------------------------------------------------------------------------ */

static int stream_seek(gw_stream_t *st, int64_t offset, gw_error_t *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, st->s->topic, st->part->partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(st->s->rk, l, GW_KAFKA_WAIT_MS);
    rd_kafka_resp_err_t pe = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (e || pe) {
        gw_fail(err, GW_UNAVAILABLE, "seek of %s/%d to %" PRId64 ": %s", st->s->topic, (int)st->part->partition,
                offset, e ? rd_kafka_error_string(e) : rd_kafka_err2str(pe));
        if (e) rd_kafka_error_destroy(e);
        return -1;
    }
    st->part->pos = offset;
    return 0;
}

gw_stream_t *gw_stream_open(gw_t *gw, const char *session_id, int32_t partition, gw_error_t *err)
{
    gw_session_t *s = gw_session_find(gw, session_id);
    if (!s) {
        gw_fail(err, GW_NOT_FOUND, "no session %s (it ended, or is on another gateway)", session_id);
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    gw_part_t *p = session_part(s, partition);
    const char *why = !p || p->revoked ? "is not assigned to" : p->streaming ? "is being received already in" : NULL;
    if (why) {
        pthread_mutex_unlock(&s->lock);
        gw_fail(err, p && !p->revoked ? GW_CONFLICT : GW_NOT_FOUND, "partition %d of %s %s session %s", (int)partition,
                s->topic, why, session_id);
        gw_session_unref(s);
        return NULL;
    }
    p->streaming = 1;
    int64_t acked = p->acked;
    pthread_mutex_unlock(&s->lock);
    /* Retention may have moved since the assignment: the stream starts from
     * Kafka's earliest offset as it is now (the partition is this thread's
     * while it is streaming). */
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t we = rd_kafka_query_watermark_offsets(s->rk, s->topic, partition, &lo, &hi, GW_KAFKA_WAIT_MS);
    if (we) {
        pthread_mutex_lock(&s->lock);
        p->streaming = 0;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        gw_session_unref(s);
        gw_fail(err, GW_UNAVAILABLE, "the offsets of %s/%d: %s", s->topic, (int)partition, rd_kafka_err2str(we));
        return NULL;
    }
    if (lo > p->kafka_lo) p->kafka_lo = lo;

    gw_stream_t *st = calloc(1, sizeof(*st));
    if (!st) {
        pthread_mutex_lock(&s->lock);
        p->streaming = 0;
        pthread_mutex_unlock(&s->lock);
        gw_session_unref(s);
        gw_fail(err, GW_INTERNAL, "out of memory");
        return NULL;
    }
    st->gw = gw;
    st->s = s;
    st->part = p;
    st->last_sent = -1;
    st->first_sent = -1;
    st->replay_upto = acked;
    st->window = gw->s.max_in_flight;
    st->next = acked >= 0 ? acked + 1 : p->start;
    int64_t kafka_from = st->next > p->kafka_lo ? st->next : p->kafka_lo;
    if (st->next < p->kafka_lo) {
        if (gw->s.cold_s3) {
            char msg[512];
            st->s3 = s3_client_dup(gw->s.cold_s3, msg, sizeof(msg));
            if (!st->s3) gw_fail(err, GW_INTERNAL, "the archive's S3 client: %s", msg);
        } else {
            gw_log(gw, FERRY_LOG_WARN,
                   "session %s: %s/%d starts at %" PRId64 ", older than Kafka's earliest offset %" PRId64
                   " and no archive is configured: records in between are skipped",
                   s->id, s->topic, (int)partition, st->next, p->kafka_lo);
            st->next = p->kafka_lo;
        }
    }
    if ((!err || err->code == GW_OK) && kafka_from != p->pos && stream_seek(st, kafka_from, err) != 0) {
        gw_stream_close(st);
        return NULL;
    }
    if (err && err->code != GW_OK) {
        gw_stream_close(st);
        return NULL;
    }
    return st;
}

void gw_stream_set_window(gw_stream_t *st, int64_t credit)
{
    st->window = credit > 0 ? credit : st->gw->s.max_in_flight;
}

/* Records this stream sent that are not acknowledged yet (under s->lock):
 * counted from the stream's first record, not from the group's position,
 * which for a new group (or after retention) lies far before it. */
static int64_t stream_unacked(const gw_stream_t *st)
{
    int64_t done = st->part->acked > st->first_sent - 1 ? st->part->acked : st->first_sent - 1;
    return st->last_sent - done;
}

/* 1 when the stream may go on, 0 when its window is full (waits a little),
 * -1 when it ends (err). */
static int stream_gate(gw_stream_t *st, int timeout_ms, gw_error_t *err)
{
    gw_session_t *s = st->s;
    pthread_mutex_lock(&s->lock);
    int rc = 1;
    if (s->closing || st->part->revoked) {
        rc = -1;
        gw_fail(err, GW_OK, "partition %d of %s was revoked", (int)st->part->partition, s->topic);
    } else if (st->window > 0 && st->last_sent >= 0 && stream_unacked(st) >= st->window) {
        int64_t now = gw_now_ms();
        if (!st->waiting_since) st->waiting_since = now;
        if (st->gw->s.ack_timeout_ms > 0 && now - st->waiting_since > st->gw->s.ack_timeout_ms) {
            rc = gw_fail(err, GW_TIMEOUT,
                         "no acknowledgement of %s/%d for %" PRId64 " ms with %" PRId64
                         " records unacknowledged (ack.timeout); receive again to get them again",
                         s->topic, (int)st->part->partition, now - st->waiting_since, stream_unacked(st));
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            long wait_ms = timeout_ms < 100 ? timeout_ms : 100;
            ts.tv_nsec += wait_ms * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cond, &s->lock, &ts);
            rc = 0;
        }
    } else {
        st->waiting_since = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void stream_emit(gw_stream_t *st, gw_msg_t *msg, int64_t offset)
{
    msg->offset = offset;
    msg->replay = offset <= st->replay_upto;
    if (st->first_sent < 0) st->first_sent = offset;
    st->last_sent = offset;
    st->next = offset + 1;
}

/* The archive's part: 1 with a record, 0 when it is done (continue in
 * Kafka), -1 when records are missing or the archive cannot be read. */
static int stream_cold(gw_stream_t *st, gw_msg_t *msg, gw_error_t *err)
{
    gw_part_t *p = st->part;
    char emsg[512];
    if (!st->cold) {
        st->cold = gw_cold_open(st->s3, st->gw->s.cold_prefix, st->s->topic, p->partition, st->next, emsg,
                                sizeof(emsg));
        if (!st->cold) return gw_fail(err, GW_UNAVAILABLE, "archive of %s/%d: %s", st->s->topic, (int)p->partition, emsg);
        st->cold_started = 0;
    }
    gw_cold_rec_t rec;
    int r = gw_cold_next(st->cold, &rec, emsg, sizeof(emsg));
    if (r < 0) return gw_fail(err, GW_UNAVAILABLE, "archive of %s/%d: %s", st->s->topic, (int)p->partition, emsg);
    if (r == 1 && rec.offset < p->kafka_lo) {
        /* Nothing archived before the first record is a gap only when the
         * client's position is below it: a new group starts at the first. */
        int first_of_new_group = !st->cold_started && p->from_reset && st->last_sent < 0;
        if (rec.offset > st->next && !first_of_new_group)
            return gw_fail(err, GW_DATA_LOSS,
                           "%s/%d: offsets %" PRId64 "..%" PRId64 " are neither in Kafka nor in the archive",
                           st->s->topic, (int)p->partition, st->next, rec.offset - 1);
        st->cold_started = 1;
        msg->timestamp_ms = rec.timestamp_ms;
        msg->key = rec.key;
        msg->key_len = rec.key_len;
        msg->value = rec.value;
        msg->value_len = rec.value_len;
        msg->cold = 1;
        stream_emit(st, msg, rec.offset);
        return 1;
    }
    /* The archive reached Kafka's part (or ended): Kafka goes on at
     * kafka_lo, so the client must be there now. */
    if (st->next < p->kafka_lo && !(p->from_reset && !st->cold_started && r == 0 && st->last_sent < 0))
        return gw_fail(err, GW_DATA_LOSS,
                       "%s/%d: offsets %" PRId64 "..%" PRId64 " are neither in Kafka nor in the archive (it ends "
                       "before Kafka's earliest offset)",
                       st->s->topic, (int)p->partition, st->next, p->kafka_lo - 1);
    gw_log(st->gw, FERRY_LOG_INFO, "session %s: %s/%d: archive read up to %" PRId64 ", Kafka from %" PRId64, st->s->id,
           st->s->topic, (int)p->partition, st->next - 1, p->kafka_lo);
    st->next = p->kafka_lo;
    gw_cold_free(st->cold);
    st->cold = NULL;
    s3_client_free(st->s3);
    st->s3 = NULL;
    return 0;
}

int gw_stream_next(gw_stream_t *st, int timeout_ms, gw_msg_t *msg, gw_error_t *err)
{
    if (st->held) {
        rd_kafka_message_destroy(st->held);
        st->held = NULL;
    }
    memset(msg, 0, sizeof(*msg));
    if (err) err->code = GW_OK;
    int64_t deadline = gw_now_ms() + timeout_ms;
    for (;;) {
        if (atomic_load(&st->gw->stopping)) return gw_fail(err, GW_UNAVAILABLE, "the gateway stops");
        int remaining = (int)(deadline - gw_now_ms());
        if (remaining < 0) remaining = 0;
        int g = stream_gate(st, remaining, err);
        if (g < 0) return -1;
        if (g == 0) {
            if (remaining == 0) return 0;
            continue;
        }
        if (st->s3) {
            int r = stream_cold(st, msg, err);
            if (r != 0) return r;
            continue;
        }
        rd_kafka_message_t *m = st->part->q ? rd_kafka_consume_queue(st->part->q, remaining < 100 ? remaining : 100)
                                            : NULL;
        if (!m) {
            if (gw_now_ms() >= deadline) return 0;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
            /* The position left Kafka's range while the stream read
             * (retention deleted records not yet sent): the stream ends
             * rather than skip them; a new Receive starts from the archive
             * (or, without one, at Kafka's earliest offset). */
            int rc = gw_fail(err, st->gw->s.cold_s3 ? GW_UNAVAILABLE : GW_DATA_LOSS,
                             "%s/%d: offset %" PRId64 " is no longer in Kafka (retention deleted it while it was "
                             "read): %s",
                             st->s->topic, (int)st->part->partition, st->next,
                             st->gw->s.cold_s3 ? "receive again to read it from the archive"
                                               : "receive again to continue at Kafka's earliest offset");
            st->part->pos = -1; /* the next stream seeks */
            rd_kafka_message_destroy(m);
            return rc;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                gw_log(st->gw, FERRY_LOG_WARN, "session %s: %s/%d: %s", st->s->id, st->s->topic,
                       (int)st->part->partition, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        st->part->pos = m->offset + 1;
        if (m->offset < st->next) { /* before the position (a seek's leftovers) */
            rd_kafka_message_destroy(m);
            continue;
        }
        rd_kafka_timestamp_type_t tt;
        msg->timestamp_ms = rd_kafka_message_timestamp(m, &tt);
        msg->key = m->key;
        msg->key_len = m->key_len;
        msg->value = m->payload;
        msg->value_len = m->len;
        stream_emit(st, msg, m->offset);
        st->held = m;
        return 1;
    }
}

void gw_stream_close(gw_stream_t *st)
{
    if (!st) return;
    if (st->held) rd_kafka_message_destroy(st->held);
    gw_cold_free(st->cold);
    s3_client_free(st->s3);
    gw_session_t *s = st->s;
    pthread_mutex_lock(&s->lock);
    st->part->streaming = 0;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    gw_session_unref(s);
    free(st);
}
