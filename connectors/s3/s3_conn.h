/*
 * s3_conn.h — what s3-sink and s3-source share: the client built from the
 * connector's options (endpoint, region, bucket, credentials and where they
 * came from), checked against the bucket once at open.
 */
#ifndef FERRY_S3_CONN_H
#define FERRY_S3_CONN_H

#include <ferry/ferry.h>

#include "s3_client.h"
#include "s3_path.h"

/* The options of the store and its credentials (s3-sink, s3-source, and
 * the gateway's archive, where the bucket is optional: bucket_flags 0). */
#define S3_STORE_OPTIONS(bucket_flags)                                                                          \
    {"store.url", FERRY_OPT_STRING, "", 0, 0, 0, NULL,                                            \
     "S3 endpoint, e.g. http://127.0.0.1:9000 for MinIO; empty = AWS "                            \
     "(https://s3.<s3.region>.amazonaws.com)."},                                                  \
    {"s3.region", FERRY_OPT_STRING, "us-east-1", 0, 0, 0, NULL, "Region the requests are signed for."}, \
    {"s3.bucket.name", FERRY_OPT_STRING, NULL, bucket_flags, 0, 0, NULL, "Bucket of the archive."}, \
    {"s3.path.style.access.enabled", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL,                       \
     "true: http://endpoint/bucket/key (MinIO and most servers); false: http://bucket.endpoint/key."}, \
    {"aws.access.key.id", FERRY_OPT_STRING, "", 0, 0, 0, NULL,                                    \
     "Access key; empty = AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from "    \
     "the environment."},                                                                         \
    {"aws.secret.access.key", FERRY_OPT_SECRET, "", 0, 0, 0, NULL,                                \
     "Secret key for aws.access.key.id (use ${env:...} or ${file:...})."},                        \
    {"topics.dir", FERRY_OPT_STRING, "topics", 0, 0, 0, NULL, "Top-level folder of the archive in the bucket."}, \
    {"s3.ssl.verify", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL, "Verify the server's TLS certificate and name."}, \
    {"s3.ssl.ca.file", FERRY_OPT_STRING, "", 0, 0, 0, NULL, "CA bundle for https endpoints; empty = the system's."}, \
    {"s3.request.timeout", FERRY_OPT_DURATION, "30s", FERRY_OPT_HAS_MIN, 100, 0, NULL,            \
     "Time limit of one request."},                                                               \
    {"s3.retry.max", FERRY_OPT_INT, "6", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 0, 100, NULL,     \
     "Retries of a request that failed transiently (5xx, 429/SlowDown, timeouts, resets) before "  \
     "the task backs off as a whole (errors.retry.timeout)."},                                    \
    {"s3.retry.backoff.initial", FERRY_OPT_DURATION, "200ms", FERRY_OPT_HAS_MIN, 1, 0, NULL,      \
     "First wait between retries; it doubles up to s3.retry.backoff.max, with jitter."},          \
    {"s3.retry.backoff.max", FERRY_OPT_DURATION, "10s", FERRY_OPT_HAS_MIN, 1, 0, NULL,            \
     "Longest wait between retries."}

/* Builds the client and lists one key of the bucket, so that a wrong
 * endpoint, key pair or bucket fails open() with one clear message. A
 * transient failure (the server is down) is FERRY_RETRY: the host retries
 * open with backoff. */
ferry_status_t s3_conn_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                            const char *who, s3_client_t **out, ferry_error_t *err);

/* The connector's topics.dir without leading or trailing '/'. */
void s3_conn_topics_dir(const ferry_host_t *host, const ferry_config_t *cfg, char *out, size_t outlen);

/* Maps a client status to the host's: OK, RETRY (transient), ERROR. */
ferry_status_t s3_conn_status(s3_status_t st);

/* Checks what the option table cannot: format and partitioner names and
 * their companions. sink: 1 for s3-sink's options. */
ferry_status_t s3_conn_validate(const ferry_host_t *host, const ferry_config_t *cfg, int sink, ferry_error_t *err);

/* The sink's partitioner from its options (already validated). */
ferry_status_t s3_conn_partitioner(const ferry_host_t *host, const ferry_config_t *cfg, s3_partitioner_t *p,
                                   ferry_error_t *err);

/* A time option: milliseconds since the epoch, or an ISO-8601 UTC time
 * ("2026-01-31T12:00:00Z"); unset leaves *ms as it is. */
ferry_status_t s3_conn_time(const ferry_host_t *host, const ferry_config_t *cfg, const char *name, int64_t *ms,
                            ferry_error_t *err);

#endif /* FERRY_S3_CONN_H */
