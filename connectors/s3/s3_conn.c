/*
 * s3_conn.c — the shared client set-up of s3_conn.h.
 */
#include "s3_conn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct stop_arg {
    const ferry_host_t *host;
    ferry_task_t *task;
} stop_arg_t;

static int conn_should_stop(void *arg)
{
    stop_arg_t *s = arg;
    return s->host->should_stop(s->task);
}

ferry_status_t s3_conn_status(s3_status_t st)
{
    return st == S3_OK ? FERRY_OK : st == S3_RETRY ? FERRY_RETRY : FERRY_ERROR;
}

void s3_conn_topics_dir(const ferry_host_t *host, const ferry_config_t *cfg, char *out, size_t outlen)
{
    s3_dir_trim(host->cfg_string(cfg, "topics.dir"), out, outlen);
}

ferry_status_t s3_conn_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                            const char *who, s3_client_t **out, ferry_error_t *err)
{
    /* The stop check's argument; the client owns it from here on. */
    stop_arg_t *sa = host->alloc(sizeof(*sa));
    if (sa == NULL) return ferry_error_set(err, FERRY_ERROR, "%s: out of memory", who);
    sa->host = host;
    sa->task = task;

    s3_settings_t s = {
        .endpoint = host->cfg_string(cfg, "store.url"),
        .region = host->cfg_string(cfg, "s3.region"),
        .bucket = host->cfg_string(cfg, "s3.bucket.name"),
        .path_style = host->cfg_bool(cfg, "s3.path.style.access.enabled"),
        .access_key = host->cfg_string(cfg, "aws.access.key.id"),
        .secret_key = host->cfg_string(cfg, "aws.secret.access.key"),
        .credentials_from = "aws.access.key.id/aws.secret.access.key",
        .tls_verify = host->cfg_bool(cfg, "s3.ssl.verify"),
        .ca_file = host->cfg_string(cfg, "s3.ssl.ca.file"),
        .timeout_ms = host->cfg_duration_ms(cfg, "s3.request.timeout"),
        .retry_max = (int)host->cfg_int(cfg, "s3.retry.max"),
        .backoff_initial_ms = host->cfg_duration_ms(cfg, "s3.retry.backoff.initial"),
        .backoff_max_ms = host->cfg_duration_ms(cfg, "s3.retry.backoff.max"),
        .should_stop = conn_should_stop,
        .stop_arg = sa,
    };
    int have = s.access_key && s.access_key[0] && s.secret_key && s.secret_key[0];
    if (s.access_key == NULL || s.access_key[0] == '\0') have = s3_settings_from_env(&s) == 0;
    if (!have) {
        host->free(sa);
        return ferry_error_set(err, FERRY_FATAL,
                               "%s: no credentials: set aws.access.key.id and aws.secret.access.key, or "
                               "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment",
                               who);
    }
    char msg[512];
    s3_client_t *c = s3_client_new(&s, msg, sizeof(msg));
    if (c == NULL) {
        host->free(sa);
        return ferry_error_set(err, FERRY_ERROR, "%s: %s", who, msg);
    }
    s3_status_t st = s3_check_bucket(c);
    if (st != S3_OK) {
        /* A refusal at the start (bad key pair, no such bucket) would only
         * repeat itself: the task fails once, with the reason, and is not
         * restarted. A server that is not up yet is retried. */
        ferry_status_t fs = st == S3_RETRY ? FERRY_RETRY : FERRY_FATAL;
        ferry_error_set(err, fs, "%s: %s", who, s3_client_error(c));
        s3_client_free(c);
        host->free(sa);
        return fs;
    }
    s3_client_set_owned_arg(c, sa, host->free);
    *out = c;
    return FERRY_OK;
}

/* Parses ms since the epoch or "YYYY-MM-DDTHH:MM:SS[.fff]Z". 0 or -1. */
static int parse_time(const char *s, int64_t *ms)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end != s && *end == '\0') {
        *ms = v;
        return 0;
    }
    return s3_iso_ms(s, ms);
}

ferry_status_t s3_conn_time(const ferry_host_t *host, const ferry_config_t *cfg, const char *name, int64_t *ms,
                            ferry_error_t *err)
{
    const char *v = host->cfg_string(cfg, name);
    if (v == NULL || v[0] == '\0') return FERRY_OK;
    if (parse_time(v, ms) != 0) {
        return ferry_error_set(err, FERRY_ERROR,
                               "%s: %s is neither milliseconds since the epoch nor an ISO-8601 UTC time such as "
                               "2026-01-31T12:00:00Z",
                               name, v);
    }
    return FERRY_OK;
}

ferry_status_t s3_conn_partitioner(const ferry_host_t *host, const ferry_config_t *cfg, s3_partitioner_t *p,
                                   ferry_error_t *err)
{
    memset(p, 0, sizeof(*p));
    int kind = s3_partitioner_parse(host->cfg_string(cfg, "partitioner.class"));
    if (kind < 0) {
        return ferry_error_set(err, FERRY_ERROR,
                               "partitioner.class %s: expected default, field or time (or Confluent's "
                               "DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner class names)",
                               host->cfg_string(cfg, "partitioner.class"));
    }
    p->kind = (s3_partitioner_kind_t)kind;
    p->field_count = host->cfg_list(cfg, "partition.field.name", &p->fields);
    p->path_format = host->cfg_string(cfg, "path.format");
    p->duration_ms = host->cfg_duration_ms(cfg, "partition.duration.ms");
    p->ts_field = host->cfg_string(cfg, "timestamp.field");
    p->extractor = (s3_ts_extractor_t)s3_extractor_parse(host->cfg_string(cfg, "timestamp.extractor"));
    const char *tz = host->cfg_string(cfg, "timezone");
    if (p->kind == S3_PART_TIME && s3_timezone_parse(tz, &p->tz_offset_s) != 0) {
        return ferry_error_set(err, FERRY_ERROR,
                               "timezone %s: expected UTC or a fixed offset such as +02:00 or -05:30", tz);
    }
    char why[256];
    if (p->kind == S3_PART_FIELD && p->field_count == 0) {
        return ferry_error_set(err, FERRY_ERROR, "partitioner.class field needs partition.field.name");
    }
    if (p->kind == S3_PART_TIME && s3_path_format_check(p->path_format, why, sizeof(why)) != 0) {
        return ferry_error_set(err, FERRY_ERROR, "%s", why);
    }
    if (p->kind == S3_PART_TIME && p->extractor == S3_TS_RECORD_FIELD && (p->ts_field == NULL || !p->ts_field[0])) {
        return ferry_error_set(err, FERRY_ERROR, "timestamp.extractor RecordField needs timestamp.field");
    }
    return FERRY_OK;
}

ferry_status_t s3_conn_validate(const ferry_host_t *host, const ferry_config_t *cfg, int sink, ferry_error_t *err)
{
    const char *bucket = host->cfg_string(cfg, "s3.bucket.name");
    if (bucket == NULL || bucket[0] == '\0') {
        return ferry_error_set(err, FERRY_ERROR, "s3.bucket.name must not be empty");
    }
    const char *url = host->cfg_string(cfg, "store.url");
    if (url && url[0] && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        return ferry_error_set(err, FERRY_ERROR, "store.url %s: expected http://HOST[:PORT] or https://HOST[:PORT]",
                               url);
    }
    if (!sink) {
        int64_t a = -1, b = -1;
        if (s3_conn_time(host, cfg, "start.time", &a, err) != FERRY_OK ||
            s3_conn_time(host, cfg, "end.time", &b, err) != FERRY_OK) {
            return FERRY_ERROR;
        }
        if (a >= 0 && b >= 0 && b < a) {
            return ferry_error_set(err, FERRY_ERROR, "end.time is before start.time");
        }
        const char *const *keys, *const *vals;
        size_t n = host->cfg_map(cfg, "topic.rename", &keys, &vals);
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(vals[i]);
            int ok = len > 0 && len <= 249 && strcmp(vals[i], ".") != 0 && strcmp(vals[i], "..") != 0;
            for (const char *c = vals[i]; ok && *c; c++)
                ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
                     *c == '_' || *c == '-';
            if (!ok) {
                return ferry_error_set(err, FERRY_ERROR,
                                       "topic.rename: '%s' -> '%s': not a legal Kafka topic name (1 to 249 of "
                                       "a-z A-Z 0-9 . _ -)",
                                       keys[i], vals[i]);
            }
        }
        return FERRY_OK;
    }
    const char *fmt = host->cfg_string(cfg, "format.class");
    int f = s3_format_parse(fmt);
    if (f < 0) {
        return ferry_error_set(err, FERRY_ERROR,
                               "format.class %s: expected envelope, json, bytes or avro (or Confluent's "
                               "JsonFormat, ByteArrayFormat, AvroFormat class names)",
                               fmt);
    }
    s3_partitioner_t p;
    return s3_conn_partitioner(host, cfg, &p, err);
}
