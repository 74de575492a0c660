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
