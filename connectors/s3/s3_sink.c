/*
 * s3-sink: archives topics to objects.
 *
 * Each Kafka partition has at most one open object. A record goes into it
 * unless it must start a new one: its encoded partition (the path) differs,
 * or its timestamp is rotate.interval.ms or more past the object's first.
 * An object is closed after flush.size records or flush.bytes bytes. Every
 * one of these rules looks only at the records, and the object's key holds
 * the offset of its first record, so a task that restarts from the committed
 * consumer offsets cuts and names the same objects again, byte for byte:
 * the object set is exactly-once. (rotate.schedule.interval.ms, by the wall
 * clock, is the documented exception.)
 *
 * Uploads: bytes gather in the object's buffer; each s3.part.size of them
 * goes up as one part of a multipart upload, and closing sends the rest (one
 * PUT when the object is smaller than a part). Writes are conditional
 * (If-None-Match: *): an object that is already there, from a run that died
 * before its offsets were committed, is not written again.
 *
 * Offsets: flush() lets the host commit a partition only up to the first
 * record of its open object, so committed offsets never pass a record that
 * is not inside a completed object.
 *
 * put() may be called again with the same batch after it returned
 * FERRY_RETRY: records below a partition's next offset were already taken
 * and are skipped, and an object whose upload failed is retried first.
 *
 * Memory: per open partition one part buffer (up to s3.part.size plus one
 * record) and the compressor's state.
 */
#include <ferry/ferry.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3.h"
#include "s3_client.h"
#include "s3_conn.h"
#include "s3_format.h"
#include "s3_path.h"

#define S3_KEY_MAX 1024
#define S3_MAX_PARTS 10000

typedef struct s3_pw {
    char *topic;
    int32_t partition;
    int64_t next_offset;   /* records below it were taken; -1 = none yet */
    int open;              /* an object is being written */
    int sealed;            /* finished; only its upload is left */
    char encoded[512];
    char key[S3_KEY_MAX];
    int64_t start_offset;
    int64_t first_ts;
    int64_t opened_ms;     /* wall clock, for rotate.schedule.interval.ms */
    int64_t count;
    s3_writer_t *w;
    s3_buf_t out;          /* encoded bytes not uploaded yet */
    char upload_id[1024];  /* "" = no multipart upload started */
    char (*etags)[128];
    int parts, etag_cap;
    int64_t uploaded;      /* bytes in the parts sent so far */
    int exists_pending;    /* the write found the key taken (412); checking what is there */
    int64_t exists_size;   /* ... and the size this run's object has */
    int rewound;           /* sink_rewind was asked in this callback: skip the rest of the batch */
    int64_t done_in_put;   /* start of the first object completed in this put(); -1 none */
    int64_t commit_cap;    /* a failed put() completed objects from here: commit no further; -1 none */
    struct s3_pw *next;
} s3_pw_t;

typedef struct s3_sink {
    ferry_task_t *task;
    const ferry_host_t *host;
    s3_client_t *cli;
    const char *bucket; /* owned by the config */
    s3_format_kind_t fmt;
    s3_compression_t comp;
    const char *ext;
    const char *content_type;
    char sep[16];
    size_t sep_len;
    char topics_dir[256];
    s3_partitioner_t part;
    int64_t flush_size, flush_bytes, rotate_ms, schedule_ms, part_size;
    int conditional;
    s3_pw_t *pws;
    s3_pw_t *last_pw; /* pw_get's last answer (NULL after a pw is freed) */
} s3_sink_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Turns "\n", "\t", "\r", "\\" in the configured separator into bytes. */
static size_t unescape_sep(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *s && o < outlen; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            out[o++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 'r' ? '\r' : *s == '0' ? '\0' : *s;
        } else {
            out[o++] = *s;
        }
    }
    return o;
}

ferry_status_t s3_sink_validate(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err)
{
    return s3_conn_validate(host, cfg, 1, err);
}

ferry_status_t s3_sink_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                            void **state, ferry_error_t *err)
{
    s3_sink_t *s = host->alloc(sizeof(*s));
    if (s == NULL) return ferry_error_set(err, FERRY_ERROR, "s3-sink: out of memory");
    memset(s, 0, sizeof(*s));
    s->task = task;
    s->host = host;
    s->bucket = host->cfg_string(cfg, "s3.bucket.name");
    s->fmt = (s3_format_kind_t)s3_format_parse(host->cfg_string(cfg, "format.class"));
    s->comp = (s3_compression_t)s3_compression_parse(host->cfg_string(cfg, "s3.compression.type"));
    s->ext = s3_format_ext(s->fmt, s->comp);
    s->content_type = s3_format_content_type(s->fmt, s->comp);
    s->sep_len = unescape_sep(host->cfg_string(cfg, "format.bytearray.separator"), s->sep, sizeof(s->sep));
    s3_conn_topics_dir(host, cfg, s->topics_dir, sizeof(s->topics_dir));
    s->flush_size = host->cfg_int(cfg, "flush.size");
    s->flush_bytes = host->cfg_size(cfg, "flush.bytes");
    s->rotate_ms = host->cfg_duration_ms(cfg, "rotate.interval.ms");
    s->schedule_ms = host->cfg_duration_ms(cfg, "rotate.schedule.interval.ms");
    s->part_size = host->cfg_size(cfg, "s3.part.size");
    s->conditional = host->cfg_bool(cfg, "s3.conditional.writes");
    if (s3_conn_partitioner(host, cfg, &s->part, err) != FERRY_OK) {
        host->free(s);
        return FERRY_ERROR;
    }
    ferry_status_t st = s3_conn_open(task, host, cfg, "s3-sink", &s->cli, err);
    if (st != FERRY_OK) {
        host->free(s);
        return st;
    }
    host->log(task, FERRY_LOG_INFO, "s3-sink: archiving to s3://%s/%s (%s%s)",
              host->cfg_string(cfg, "s3.bucket.name"), s->topics_dir, host->cfg_string(cfg, "format.class"),
              s->comp == S3_COMP_NONE ? "" : s->comp == S3_COMP_GZIP ? ", gzip" : ", zstd");
    *state = s;
    return FERRY_OK;
}

static void pw_reset_object(s3_pw_t *pw)
{
    s3_writer_free(pw->w);
    pw->w = NULL;
    /* An idle partition keeps no buffer: memory follows the open objects. */
    s3_buf_free(&pw->out);
    free(pw->etags);
    pw->etags = NULL;
    pw->etag_cap = 0;
    pw->exists_pending = 0;
    pw->open = pw->sealed = 0;
    pw->upload_id[0] = '\0';
    pw->parts = 0;
    pw->uploaded = 0;
    pw->count = 0;
}

static void pw_abort(s3_sink_t *s, s3_pw_t *pw)
{
    if (pw->upload_id[0]) {
        if (s3_mpu_abort(s->cli, pw->key, pw->upload_id) != S3_OK) {
            s->host->log(s->task, FERRY_LOG_WARN, "s3-sink: could not abort the upload of %s: %s", pw->key,
                         s3_client_error(s->cli));
        }
    }
    pw_reset_object(pw);
}

static void pw_free(s3_pw_t *pw)
{
    s3_writer_free(pw->w);
    s3_buf_free(&pw->out);
    free(pw->etags);
    free(pw->topic);
    free(pw);
}

static s3_pw_t *pw_get(s3_sink_t *s, const char *topic, int32_t partition)
{
    /* Records come in runs of one partition: the last one found usually is it. */
    s3_pw_t *last = s->last_pw;
    if (last && last->partition == partition && strcmp(last->topic, topic) == 0) return last;
    for (s3_pw_t *pw = s->pws; pw; pw = pw->next)
        if (pw->partition == partition && strcmp(pw->topic, topic) == 0) return s->last_pw = pw;
    s3_pw_t *pw = calloc(1, sizeof(*pw));
    if (pw == NULL) return NULL;
    pw->topic = strdup(topic);
    if (pw->topic == NULL) {
        free(pw);
        return NULL;
    }
    pw->partition = partition;
    pw->next_offset = -1;
    pw->done_in_put = -1;
    pw->commit_cap = -1;
    pw->next = s->pws;
    s->pws = pw;
    return s->last_pw = pw;
}

/* The offsets of the first and last record of an archived object. */
static ferry_status_t object_span(s3_sink_t *s, const char *key, int64_t *first, int64_t *last, ferry_error_t *err);

/* The key is taken (412). An earlier run that died before committing wrote
 * it: with the same records it has the same size, and is kept. Otherwise it
 * was cut differently (rotate.schedule.interval.ms or the Wallclock
 * extractor, other settings, another compressor version): it is kept as it
 * is, and the partition goes on after its last record (sink_rewind), so the
 * archive holds every offset once. */
static ferry_status_t pw_existing(s3_sink_t *s, s3_pw_t *pw, int64_t size, ferry_error_t *err)
{
    int64_t have = -1;
    s3_status_t st = s3_head(s->cli, pw->key, &have, NULL, 0);
    if (st != S3_OK) {
        return ferry_error_set(err, s3_conn_status(st), "s3-sink: %s", s3_client_error(s->cli));
    }
    if (have == size) {
        s->host->log(s->task, FERRY_LOG_INFO, "s3-sink: %s was archived before (same size): kept", pw->key);
        return FERRY_OK;
    }
    int64_t first = -1, last = -1;
    ferry_status_t fs = object_span(s, pw->key, &first, &last, err);
    if (fs != FERRY_OK) return fs;
    if (first != pw->start_offset || last < first) {
        return ferry_error_set(err, FERRY_FATAL,
                               "s3-sink: s3://%s/%s holds offsets %lld..%lld, but its name says it starts at %lld: "
                               "refusing to write beside it",
                               s->bucket, pw->key, (long long)first, (long long)last, (long long)pw->start_offset);
    }
    if (!FERRY_HOST_HAS(s->host, sink_rewind)) {
        return ferry_error_set(err, FERRY_FATAL,
                               "s3-sink: s3://%s/%s exists with other records (%lld bytes, not %lld) and this host "
                               "cannot rewind the partition",
                               s->bucket, pw->key, (long long)have, (long long)size);
    }
    s->host->log(s->task, FERRY_LOG_WARN,
                 "s3-sink: s3://%s/%s exists with other records (offsets %lld..%lld, %lld bytes; this run's object "
                 "has %lld): it was cut differently before a restart (rotate.schedule.interval.ms, Wallclock, "
                 "changed settings). Kept; %s/%d goes on from offset %lld",
                 s->bucket, pw->key, (long long)first, (long long)last, (long long)have, (long long)size, pw->topic,
                 pw->partition, (long long)(last + 1));
    s->host->sink_rewind(s->task, pw->topic, pw->partition, last + 1);
    pw->rewound = 1;
    pw->next_offset = -1;
    return FERRY_OK;
}

/* Uploads one part from the start of pw->out (len bytes). */
static ferry_status_t pw_upload_part(s3_sink_t *s, s3_pw_t *pw, size_t len, ferry_error_t *err)
{
    s3_status_t st;
    if (pw->upload_id[0] == '\0') {
        st = s3_mpu_create(s->cli, pw->key, s->content_type, pw->upload_id, sizeof(pw->upload_id));
        if (st != S3_OK) {
            pw->upload_id[0] = '\0';
            return ferry_error_set(err, s3_conn_status(st), "s3-sink: %s", s3_client_error(s->cli));
        }
        pw->parts = 0;
        pw->uploaded = 0;
    }
    if (pw->parts >= S3_MAX_PARTS) {
        return ferry_error_set(err, FERRY_FATAL, "s3-sink: %s needs more than %d parts: raise s3.part.size",
                               pw->key, S3_MAX_PARTS);
    }
    if (pw->parts >= pw->etag_cap) {
        int cap = pw->etag_cap ? pw->etag_cap * 2 : 16;
        char(*e)[128] = realloc(pw->etags, (size_t)cap * sizeof(*e));
        if (e == NULL) return ferry_error_set(err, FERRY_ERROR, "s3-sink: out of memory");
        pw->etags = e;
        pw->etag_cap = cap;
    }
    st = s3_mpu_part(s->cli, pw->key, pw->upload_id, pw->parts + 1, pw->out.data, len, pw->etags[pw->parts],
                     sizeof(pw->etags[0]));
    if (st != S3_OK) {
        return ferry_error_set(err, s3_conn_status(st), "s3-sink: %s", s3_client_error(s->cli));
    }
    pw->parts++;
    pw->uploaded += (int64_t)len;
    memmove(pw->out.data, pw->out.data + len, pw->out.len - len);
    pw->out.len -= len;
    s->host->metric_add(s->task, "parts_uploaded", 1);
    return FERRY_OK;
}

/* Finishes and uploads the open object. On RETRY the object stays sealed
 * and the next call goes on where this one stopped. */
static ferry_status_t pw_close(s3_sink_t *s, s3_pw_t *pw, ferry_error_t *err)
{
    if (!pw->sealed) {
        if (s3_writer_finish(pw->w, &pw->out) != 0) {
            return ferry_error_set(err, FERRY_ERROR, "s3-sink: %s: cannot encode the object's end", pw->key);
        }
        pw->sealed = 1;
    }
    ferry_status_t fs;
    s3_status_t st;
    int64_t total;
    if (pw->exists_pending) {
        /* A check of a taken key that failed transiently: go on with it. */
        total = pw->exists_size;
        st = S3_EXISTS;
    } else if (pw->upload_id[0] == '\0') {
        total = (int64_t)pw->out.len;
        st = s3_put(s->cli, pw->key, pw->out.data ? pw->out.data : "", pw->out.len, s->content_type,
                    s->conditional);
    } else {
        if (pw->out.len > 0) {
            fs = pw_upload_part(s, pw, pw->out.len, err);
            if (fs != FERRY_OK) {
                if (fs != FERRY_RETRY) pw_abort(s, pw);
                return fs;
            }
        }
        total = pw->uploaded;
        st = s3_mpu_complete(s->cli, pw->key, pw->upload_id, pw->etags, pw->parts, s->conditional);
    }
    if (st == S3_EXISTS) {
        if (pw->upload_id[0] && s3_mpu_abort(s->cli, pw->key, pw->upload_id) != S3_OK) {
            s->host->log(s->task, FERRY_LOG_WARN, "s3-sink: could not abort the upload of %s: %s", pw->key,
                         s3_client_error(s->cli));
        }
        pw->upload_id[0] = '\0';
        pw->exists_pending = 1;
        pw->exists_size = total;
        fs = pw_existing(s, pw, total, err);
        if (fs != FERRY_OK) return fs;
    } else if (st != S3_OK) {
        fs = s3_conn_status(st);
        ferry_error_set(err, fs, "s3-sink: %s", s3_client_error(s->cli));
        if (fs != FERRY_RETRY) pw_abort(s, pw);
        return fs;
    }
    if (pw->done_in_put < 0) pw->done_in_put = pw->start_offset;
    s->host->metric_add(s->task, "objects_written", 1);
    s->host->metric_add(s->task, "records_archived", (double)pw->count);
    s->host->log(s->task, FERRY_LOG_DEBUG, "s3-sink: wrote %s (%lld records)", pw->key, (long long)pw->count);
    pw_reset_object(pw);
    return FERRY_OK;
}

typedef struct span_ctx {
    int64_t first, last;
} span_ctx_t;

static int on_span(void *arg, const s3_rec_t *rec, size_t index)
{
    span_ctx_t *c = arg;
    if (index == 0) c->first = rec->offset;
    c->last = rec->offset;
    return 0;
}

static ferry_status_t object_span(s3_sink_t *s, const char *key, int64_t *first, int64_t *last, ferry_error_t *err)
{
    if (s->fmt != S3_FMT_ENVELOPE && s->fmt != S3_FMT_AVRO) {
        return ferry_error_set(err, FERRY_FATAL,
                               "s3-sink: s3://%s/%s exists with other content, and the %s format carries no offsets "
                               "to go on from: refusing to overwrite it",
                               s->bucket, key, s->fmt == S3_FMT_JSON ? "json" : "bytes");
    }
    s3_buf_t raw = {0};
    s3_status_t st = s3_get(s->cli, key, &raw);
    if (st != S3_OK) {
        s3_buf_free(&raw);
        return ferry_error_set(err, s3_conn_status(st), "s3-sink: %s", s3_client_error(s->cli));
    }
    char why[512];
    span_ctx_t c = {-1, -1};
    long n = s3_decode_object(s->fmt, s->comp, raw.data ? raw.data : "", raw.len, on_span, &c, why, sizeof(why));
    s3_buf_free(&raw);
    if (n <= 0) {
        return ferry_error_set(err, FERRY_FATAL, "s3-sink: s3://%s/%s exists and cannot be read (%s): refusing to "
                               "write beside it", s->bucket, key, n == 0 ? "no records" : why);
    }
    *first = c.first;
    *last = c.last;
    return FERRY_OK;
}

/* Kafka header names are UTF-8 strings (Java's); the envelope and Avro
 * formats write them as such, so a name that is not would make the object
 * unreadable. */
static int utf8_valid(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n) return 0;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80) return 0;
        if (len == 2 && c < 0xc2) return 0; /* overlong */
        i += len;
    }
    return 1;
}

static void fill_rec(const ferry_host_t *host, const ferry_record_t *r, s3_rec_t *out, s3_hdr_t *hdrs)
{
    memset(out, 0, sizeof(*out));
    out->topic = r->topic;
    out->partition = r->partition;
    out->offset = r->kafka_offset;
    out->timestamp = r->timestamp_ms;
    out->timestamp_type = FERRY_RECORD_HAS(host, timestamp_type) ? r->timestamp_type : FERRY_TIMESTAMP_CREATE;
    out->key = r->key;
    out->key_len = r->key_len;
    out->value = r->value;
    out->value_len = r->value_len;
    for (size_t i = 0; i < r->header_count; i++) {
        hdrs[i].name = r->headers[i].name;
        hdrs[i].name_len = strlen(r->headers[i].name);
        hdrs[i].value = r->headers[i].value;
        hdrs[i].value_len = r->headers[i].value_len;
    }
    out->headers = hdrs;
    out->header_count = r->header_count;
}

/* The Avro sync marker: the first 16 bytes of SHA-256(key). */
static void key_sync(const char *key, unsigned char sync[16])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(key, strlen(key), md, &n, EVP_sha256(), NULL);
    memcpy(sync, md, 16);
}

static ferry_status_t pw_start(s3_sink_t *s, s3_pw_t *pw, const s3_rec_t *rec, const char *encoded,
                               ferry_error_t *err)
{
    if (s3_object_key(pw->key, sizeof(pw->key), s->topics_dir, rec->topic, encoded, rec->partition,
                      rec->offset, s->ext) != 0) {
        return ferry_error_set(err, FERRY_FATAL, "s3-sink: the object key for %s/%d is too long", rec->topic,
                               rec->partition);
    }
    unsigned char sync[16];
    key_sync(pw->key, sync);
    pw->w = s3_writer_new(s->fmt, s->comp, s->sep, s->sep_len, sync);
    if (pw->w == NULL) return ferry_error_set(err, FERRY_ERROR, "s3-sink: out of memory");
    snprintf(pw->encoded, sizeof(pw->encoded), "%s", encoded);
    pw->open = 1;
    pw->sealed = 0;
    pw->start_offset = rec->offset;
    pw->first_ts = rec->timestamp;
    pw->opened_ms = now_ms();
    pw->count = 0;
    return FERRY_OK;
}

/* Finishes every sealed object whose upload failed earlier. */
static ferry_status_t upload_sealed(s3_sink_t *s, ferry_error_t *err)
{
    for (s3_pw_t *pw = s->pws; pw; pw = pw->next) {
        if (pw->sealed) {
            ferry_status_t st = pw_close(s, pw, err);
            if (st != FERRY_OK) return st;
        }
    }
    return FERRY_OK;
}

/* Closes an open object that has reached its size: after a put() that
 * returned RETRY with the record that filled it, the check must not be
 * skipped. */
static ferry_status_t pw_close_if_full(s3_sink_t *s, s3_pw_t *pw, ferry_error_t *err)
{
    if (pw->open && ((s->flush_size > 0 && pw->count >= s->flush_size) ||
                     (s->flush_bytes > 0 && (int64_t)s3_writer_raw_bytes(pw->w) >= s->flush_bytes)))
        return pw_close(s, pw, err);
    return FERRY_OK;
}

static ferry_status_t sink_take(s3_sink_t *s, const ferry_record_t *r, ferry_error_t *err)
{
    const ferry_host_t *host = s->host;
    s3_pw_t *pw = pw_get(s, r->topic, r->partition);
    if (pw == NULL) return ferry_error_set(err, FERRY_ERROR, "s3-sink: out of memory");
    if (pw->rewound) return FERRY_OK; /* the partition is read again from its rewind point */
    if (pw->next_offset >= 0 && r->kafka_offset < pw->next_offset) return FERRY_OK; /* taken before a retry */
    for (size_t i = 0; i < r->header_count; i++) {
        if (!utf8_valid((const unsigned char *)r->headers[i].name, strlen(r->headers[i].name))) {
            char reason[300];
            snprintf(reason, sizeof(reason), "s3-sink: %s/%d@%lld: header name %zu is not valid UTF-8", r->topic,
                     r->partition, (long long)r->kafka_offset, i);
            ferry_status_t rs = host->record_error(s->task, r, reason);
            if (rs != FERRY_OK) return ferry_error_set(err, FERRY_ERROR, "%s", reason);
            pw->next_offset = r->kafka_offset + 1;
            return FERRY_OK;
        }
    }
    s3_hdr_t hstack[16];
    s3_hdr_t *hdrs = r->header_count <= 16 ? hstack : calloc(r->header_count, sizeof(*hdrs));
    if (hdrs == NULL) return ferry_error_set(err, FERRY_ERROR, "s3-sink: out of memory");
    s3_rec_t rec;
    fill_rec(host, r, &rec, hdrs);
    ferry_status_t st = FERRY_OK;
    char encoded[512], why[256];
    int64_t wall = s->part.kind == S3_PART_TIME && s->part.extractor == S3_TS_WALLCLOCK ? now_ms() : 0;
    if (s3_partition_encode(&s->part, &rec, wall, encoded, sizeof(encoded), why, sizeof(why)) != 0) {
        char reason[400];
        snprintf(reason, sizeof(reason), "s3-sink: %s/%d@%lld: %s", r->topic, r->partition,
                 (long long)r->kafka_offset, why);
        st = host->record_error(s->task, r, reason);
        if (st == FERRY_OK) pw->next_offset = r->kafka_offset + 1;
        else ferry_error_set(err, FERRY_ERROR, "%s", reason);
        goto out;
    }
    if (pw->open && (strcmp(encoded, pw->encoded) != 0 ||
                     (s->rotate_ms > 0 && rec.timestamp - pw->first_ts >= s->rotate_ms))) {
        st = pw_close(s, pw, err);
        if (st != FERRY_OK) goto out;
    }
    if (!pw->open) {
        st = pw_start(s, pw, &rec, encoded, err);
        if (st != FERRY_OK) goto out;
    }
    int rc = s3_writer_add(pw->w, &rec, &pw->out);
    if (rc < 0) {
        st = ferry_error_set(err, FERRY_ERROR, "s3-sink: cannot encode %s/%d@%lld", r->topic, r->partition,
                             (long long)r->kafka_offset);
        goto out;
    }
    if (rc == 1) host->metric_add(s->task, "tombstones_skipped", 1);
    pw->count++;
    pw->next_offset = r->kafka_offset + 1;
    if ((int64_t)pw->out.len >= s->part_size) {
        st = pw_upload_part(s, pw, (size_t)s->part_size, err);
        if (st != FERRY_OK) goto out;
    }
    st = pw_close_if_full(s, pw, err);
out:
    if (hdrs != hstack) free(hdrs);
    return st;
}

static ferry_status_t sink_put_all(s3_sink_t *s, const ferry_batch_t *batch, ferry_error_t *err)
{
    const ferry_host_t *host = s->host;
    ferry_status_t st = upload_sealed(s, err);
    if (st != FERRY_OK) return st;
    for (s3_pw_t *pw = s->pws; pw; pw = pw->next) {
        /* A part that could not go up before the retry: send it first. */
        if (pw->open && (int64_t)pw->out.len >= s->part_size) {
            st = pw_upload_part(s, pw, (size_t)s->part_size, err);
            if (st != FERRY_OK) return st;
        }
        st = pw_close_if_full(s, pw, err);
        if (st != FERRY_OK) return st;
    }
    size_t n = host->batch_count(batch);
    for (size_t i = 0; i < n; i++) {
        st = sink_take(s, host->batch_get(batch, i), err);
        if (st != FERRY_OK) return st;
    }
    return FERRY_OK;
}

ferry_status_t s3_sink_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    s3_sink_t *s = state;
    for (s3_pw_t *pw = s->pws; pw; pw = pw->next) {
        pw->rewound = 0; /* a rewind asked in an earlier callback has been applied */
        pw->done_in_put = -1;
    }
    ferry_status_t st = sink_put_all(s, batch, err);
    for (s3_pw_t *pw = s->pws; pw; pw = pw->next) {
        if (st == FERRY_OK) {
            pw->commit_cap = -1;
        } else if (pw->done_in_put >= 0 && (pw->commit_cap < 0 || pw->done_in_put < pw->commit_cap)) {
            /* The host keeps none of this put's positions, but objects were
             * completed in it: committed offsets must not land inside them,
             * or a restart would cut a new object overlapping one of them. */
            pw->commit_cap = pw->done_in_put;
        }
    }
    return st;
}

ferry_status_t s3_sink_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    s3_sink_t *s = state;
    ferry_status_t st = upload_sealed(s, err);
    if (st != FERRY_OK) return st;
    int64_t now = now_ms();
    for (s3_pw_t *pw = s->pws; pw; pw = pw->next) {
        if (pw->open && s->schedule_ms > 0 && now - pw->opened_ms >= s->schedule_ms) {
            st = pw_close(s, pw, err);
            if (st != FERRY_OK) return st;
        }
        int64_t limit = pw->open ? pw->start_offset : -1;
        if (pw->commit_cap >= 0 && (limit < 0 || pw->commit_cap < limit)) limit = pw->commit_cap;
        if (limit >= 0) s->host->flush_limit(fl, pw->topic, pw->partition, limit);
    }
    return FERRY_OK;
}

static void pw_drop(s3_sink_t *s, const char *topic, int32_t partition)
{
    for (s3_pw_t **pp = &s->pws; *pp; pp = &(*pp)->next) {
        s3_pw_t *pw = *pp;
        if (pw->partition == partition && strcmp(pw->topic, topic) == 0) {
            if (pw->open) pw_abort(s, pw);
            *pp = pw->next;
            if (s->last_pw == pw) s->last_pw = NULL;
            pw_free(pw);
            return;
        }
    }
}

ferry_status_t s3_sink_revoked(void *state, const ferry_partition_t *parts, size_t count, ferry_error_t *err)
{
    (void)err;
    s3_sink_t *s = state;
    /* What is still open was not committed: the next owner archives it. */
    for (size_t i = 0; i < count; i++) pw_drop(s, parts[i].topic, parts[i].partition);
    return FERRY_OK;
}

void s3_sink_close(void *state)
{
    s3_sink_t *s = state;
    if (s == NULL) return;
    while (s->pws) {
        s3_pw_t *pw = s->pws;
        s->pws = pw->next;
        if (pw->open) pw_abort(s, pw);
        pw_free(pw);
    }
    s3_client_free(s->cli);
    s->host->free(s);
}
