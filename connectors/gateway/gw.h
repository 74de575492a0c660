/*
 * gw.h — the consumer gateway's core, shared by its two transports (gRPC in
 * gw_grpc.c, HTTP in gw_http.c): subscriptions as Kafka consumer-group
 * members, one record stream per assigned partition with its own window of
 * unacknowledged records, acknowledgements committed as the group's Kafka
 * offsets, reads older than the topic's earliest offset served from the S3
 * archive (gw_cold.c), and publishing.
 *
 * The algorithm is Liiklus's: a client subscribes to (topic, group, version)
 * and is told which partitions the group gave it; it opens one Receive
 * stream per assigned partition; it acknowledges the offset of the last
 * record it processed; when it goes away its partitions go to the group's
 * other members (in this gateway or another one: Kafka's group membership
 * divides them). The position of a group is a Kafka consumer offset (the
 * acknowledged offset + 1), so every Kafka tool sees it.
 *
 * Threads: every function may be called from any transport thread; the
 * rules per function are below. One lock (gw_t.lock) guards the session
 * list; each session has its own lock for its partitions.
 */
#ifndef FERRY_GW_H
#define FERRY_GW_H

#include <ferry/ferry.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw gw_t;
typedef struct gw_session gw_session_t;
typedef struct gw_stream gw_stream_t;

/* What went wrong, for a transport to map to its status codes. */
typedef enum gw_code {
    GW_OK = 0,
    GW_INVALID,     /* bad request: gRPC INVALID_ARGUMENT, HTTP 400 */
    GW_DENIED,      /* no or wrong token: UNAUTHENTICATED, 401 */
    GW_FORBIDDEN,   /* topic not allowed: PERMISSION_DENIED, 403 */
    GW_NOT_FOUND,   /* unknown session or partition: NOT_FOUND, 404 */
    GW_CONFLICT,    /* the partition is being received already, or the group has other members: FAILED_PRECONDITION, 409 */
    GW_UNAVAILABLE, /* Kafka or S3 did not answer, or the gateway stops: UNAVAILABLE, 503 */
    GW_TIMEOUT,     /* no acknowledgement within ack.timeout: DEADLINE_EXCEEDED, 408 */
    GW_DATA_LOSS,   /* records neither in Kafka nor in the archive: DATA_LOSS, 500 */
    GW_INTERNAL     /* INTERNAL, 500 */
} gw_code_t;

typedef struct gw_error {
    gw_code_t code;
    char msg[512];
} gw_error_t;

/* Kafka client properties (borrowed). */
typedef struct gw_kafka_settings {
    const char *const *keys, *const *values;
    size_t count;
} gw_kafka_settings_t;

/* The settings (gateway.c reads them from the connector's options). */
typedef struct gw_settings {
    const char *const *topics; /* allowed topics; none = every topic */
    size_t topic_count;
    const char *const *token_groups, *const *tokens; /* auth.tokens: group -> bearer token */
    size_t token_count;
    int64_t max_in_flight;  /* per partition and stream; 0 = unbounded */
    int64_t ack_timeout_ms; /* a full window without an ack for this long ends the stream */
    int64_t session_timeout_ms; /* an HTTP subscription nobody asked about for this long is closed */
    gw_kafka_settings_t consumer, producer; /* the worker's (host->kafka_settings) */
    /* The S3 archive of the topics (s3-sink's layout under cold_prefix), or
     * cold_s3 NULL for none. Each stream that reads it makes a client of its
     * own (s3_client_dup); this one must outlive the core. */
    const struct s3_client *cold_s3;
    const char *cold_prefix;
} gw_settings_t;

/* A record handed to a transport (a view: valid until the next
 * gw_stream_next or gw_stream_close on that stream). */
typedef struct gw_msg {
    int64_t offset, timestamp_ms;
    const void *key; /* NULL = no key */
    size_t key_len;
    const void *value; /* NULL = tombstone */
    size_t value_len;
    int replay; /* the group had acknowledged it already (Liiklus's replay flag) */
    int cold;   /* served from the S3 archive */
} gw_msg_t;

/* An assignment change, from gw_session_poll. */
typedef struct gw_assign {
    int assigned; /* 1: the partition is ours now; 0: it was taken away */
    int32_t partition;
} gw_assign_t;

/* Creates the core; copies what it keeps of s. log is the task's. NULL with
 * err on failure (the producer could not be made). Main thread. */
gw_t *gw_new(const gw_settings_t *s, ferry_task_t *task, const ferry_host_t *host, gw_error_t *err);
/* Makes every stream and session end soon (their threads see it). */
void gw_stop(gw_t *gw);
/* After every transport thread ended. NULL is a no-op. */
void gw_free(gw_t *gw);
void gw_log(gw_t *gw, ferry_log_level_t level, const char *fmt, ...) FERRY_PRINTF(3, 4);

/* 0 when token (may be NULL) may act for group (NULL: for any group, e.g.
 * Publish); -1 with GW_DENIED. No tokens configured: everyone may. */
int gw_authorize(gw_t *gw, const char *group, const char *token, gw_error_t *err);
/* 0 when topic may be used; -1 with GW_FORBIDDEN or GW_INVALID. */
int gw_topic_allowed(gw_t *gw, const char *topic, gw_error_t *err);
/* The Kafka group of (group, version): group itself for version 0, else
 * "<group>-v<version>" (Liiklus's own spelling of a versioned group). */
void gw_group_id(const char *group, uint32_t version, char *out, size_t size);

/* ---- subscriptions: one per client, a member of the Kafka group ---------- */

/* Joins the group. latest: where a partition without a position starts
 * (0: the earliest record, in the archive too; 1: the end). The caller owns
 * the session and drives it with gw_session_poll until it closes it. */
gw_session_t *gw_session_open(gw_t *gw, const char *topic, const char *group, uint32_t version, int latest,
                              gw_error_t *err);
const char *gw_session_id(const gw_session_t *s);
/* Serves the group protocol for up to timeout_ms: 1 with *ev when the
 * assignment changed (one partition per call), 0 when nothing happened,
 * -1 when the gateway stops or the session failed. The session's own thread
 * only. */
int gw_session_poll(gw_session_t *s, int timeout_ms, gw_assign_t *ev);
/* Why the session failed (the group's positions could not be read at a
 * rebalance): the transport ends the subscription with GW_UNAVAILABLE and
 * this message. NULL while it has not. */
const char *gw_session_failure(const gw_session_t *s);
/* The partitions assigned now, into parts (at most max); their count. */
size_t gw_session_partitions(gw_session_t *s, int32_t *parts, size_t max);
/* Leaves the group (its partitions go to the other members) and frees the
 * session when no stream uses it any more. The session's own thread. */
void gw_session_close(gw_session_t *s);
/* Looks a session up by id, for transports whose calls are not on the
 * session's thread (HTTP); NULL when unknown. Pair with gw_session_unref. */
gw_session_t *gw_session_find(gw_t *gw, const char *session_id);
void gw_session_unref(gw_session_t *s);
/* The group a session acts for, for gw_authorize. */
const char *gw_session_group(const gw_session_t *s);
void gw_session_touch(gw_session_t *s); /* an HTTP client asked: keep it */
int gw_session_idle(gw_session_t *s, int64_t now_ms); /* 1 after session_timeout_ms untouched */

/* ---- receiving: one stream per assigned partition ------------------------- */

/* Opens the partition's stream: from the group's position (the last
 * acknowledged offset + 1), or where the partition starts; older than the
 * topic's earliest offset reads the archive first. NULL with GW_NOT_FOUND
 * when the session does not hold the partition, GW_CONFLICT when another
 * stream reads it. Any thread; the stream is that thread's. */
gw_stream_t *gw_stream_open(gw_t *gw, const char *session_id, int32_t partition, gw_error_t *err);
/* Up to timeout_ms for the next record: 1 with *msg, 0 none yet (also
 * while the window of unacknowledged records is full), -1 the stream ends:
 * err->code GW_OK when the partition was revoked or the session closed, else
 * why (GW_TIMEOUT, GW_DATA_LOSS, GW_UNAVAILABLE). */
int gw_stream_next(gw_stream_t *st, int timeout_ms, gw_msg_t *msg, gw_error_t *err);
/* The HTTP transport's credit: at most credit unacknowledged records (0 =
 * the configured max.in.flight.per.partition). */
void gw_stream_set_window(gw_stream_t *st, int64_t credit);
void gw_stream_close(gw_stream_t *st); /* NULL is a no-op */

/* ---- acknowledgements and positions --------------------------------------- */

/* The client processed every record up to offset: commits offset + 1 as the
 * group's Kafka offset. By session (session_id set) or by (topic, group,
 * version), the latter through this gateway's member of the group when it
 * has one, else as a commit for an empty group. */
int gw_ack(gw_t *gw, const char *session_id, const char *topic, const char *group, uint32_t version,
           int32_t partition, int64_t offset, gw_error_t *err);
/* Positions of (topic, group, version): for each partition with one, the
 * last acknowledged offset (committed - 1). Returns the count (<= max), -1
 * with err. */
long gw_offsets(gw_t *gw, const char *topic, const char *group, uint32_t version, int32_t *parts,
                int64_t *offsets, size_t max, gw_error_t *err);
/* The last offset of each non-empty partition of topic; count or -1. */
long gw_end_offsets(gw_t *gw, const char *topic, int32_t *parts, int64_t *offsets, size_t max, gw_error_t *err);

/* Writes one record (acks=all, idempotent) and waits for Kafka: 0 with
 * *partition and *offset, -1 with err. Any thread. */
int gw_publish(gw_t *gw, const char *topic, const void *key, size_t key_len, const void *value, size_t value_len,
               int32_t *partition, int64_t *offset, gw_error_t *err);

#endif /* FERRY_GW_H */
