/*
 * s3-source: replays archived objects into Kafka.
 *
 * Each task owns some of the archived partitions (partition p of the i-th
 * listed topic goes to task (i + p) % tasks). For each it lists the objects
 * (ListObjectsV2 under <topics.dir>/<topic>/, every page), orders them by the
 * start offset in their names, and replays them one after another: every
 * record goes to the same partition of the same topic (or of its
 * topic.rename), with its key, value, headers and timestamp.
 *
 * Source partition {"partition":p,"topic":"t"}; source offset
 * {"key":"<object key>","index":n}: the next record to replay is record n of
 * that object. A restarted task resumes there, and an object it finished is
 * never read again.
 *
 * Offsets inside an archive may have gaps (compaction, transaction markers);
 * two objects that overlap are reported, and the records the second repeats
 * are skipped. Once every object is replayed the task lists again every
 * poll.interval, so an archive that still grows is followed.
 *
 * Memory: one object at a time per task, compressed and decoded.
 */
#include <ferry/ferry.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3.h"
#include "s3_client.h"
#include "s3_conn.h"
#include "s3_format.h"
#include "s3_object.h"
#include "s3_path.h"

typedef struct s3_obj {
    char *key;
    int64_t start;
    int done; /* replayed (or skipped) */
} s3_obj_t;

typedef struct s3_rpart {
    char *topic;        /* archived topic */
    const char *target; /* topic to produce to (owned by the config or == topic) */
    int32_t partition;
    char partition_json[300];
    s3_obj_t *objs;
    size_t nobj, cap;
    size_t next_obj;    /* first object not finished */
    int64_t last_offset; /* highest archived offset replayed; -1 none */
    int64_t resume_index; /* within objs[next_obj] */
    struct s3_rpart *next;
} s3_rpart_t;

typedef struct s3_source {
    ferry_task_t *task;
    const ferry_host_t *host;
    s3_client_t *cli;
    char topics_dir[256];
    int64_t start_ms, end_ms; /* -1 = unbounded */
    int64_t poll_ms;
    int64_t next_list_ms;
    s3_rpart_t *parts;
    s3_rpart_t *cur;    /* the partition whose object is loaded */
    s3_rpart_t *last_part; /* the last one loaded: partitions take turns */
    /* the loaded object */
    s3_object_t obj;
    size_t pos;         /* the next record of obj */
    ferry_header_t *hbuf;
    size_t hbuf_cap;
    char cur_key[1100];
    s3_buf_t offset_head; /* {"key":"<cur_key>","index":  (built once per object) */
    s3_buf_t offset;      /* the record's source offset (head + index + }) */
    const ferry_config_t *cfg; /* lives until close */
    const char *bucket;        /* owned by cfg */
    int skip_corrupt;          /* errors.tolerance: all */
    const char *const *topics;
    size_t ntopics;
    int task_index, task_count;
} s3_source_t;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ferry_status_t s3_source_validate(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err)
{
    return s3_conn_validate(host, cfg, 0, err);
}

ferry_status_t s3_source_task_configs(const ferry_host_t *host, const ferry_config_t *cfg, int tasks_max,
                                      ferry_taskset_t *set, ferry_error_t *err)
{
    (void)cfg;
    (void)err;
    char n[16], idx[16];
    snprintf(n, sizeof(n), "%d", tasks_max);
    for (int i = 0; i < tasks_max; i++) {
        int t = host->taskset_add(set);
        snprintf(idx, sizeof(idx), "%d", i);
        host->taskset_put(set, t, "s3.task.index", idx);
        host->taskset_put(set, t, "s3.task.count", n);
    }
    return FERRY_OK;
}

static const char *rename_of(const ferry_host_t *host, const ferry_config_t *cfg, const char *topic)
{
    const char *const *keys, *const *vals;
    size_t n = host->cfg_map(cfg, "topic.rename", &keys, &vals);
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], topic) == 0) return vals[i];
    return topic;
}

static s3_rpart_t *rpart_get(s3_source_t *s, const ferry_config_t *cfg, const char *topic, int32_t partition,
                             int create)
{
    for (s3_rpart_t *p = s->parts; p; p = p->next)
        if (p->partition == partition && strcmp(p->topic, topic) == 0) return p;
    if (!create) return NULL;
    s3_rpart_t *p = calloc(1, sizeof(*p));
    if (p == NULL || (p->topic = strdup(topic)) == NULL) {
        free(p);
        return NULL;
    }
    p->partition = partition;
    p->last_offset = -1;
    p->target = rename_of(s->host, cfg, topic);
    if (p->target == topic) p->target = p->topic;
    snprintf(p->partition_json, sizeof(p->partition_json), "{\"partition\":%d,\"topic\":\"%s\"}", partition,
             topic);
    p->next = s->parts;
    s->parts = p;
    return p;
}

typedef struct list_ctx {
    s3_source_t *s;
    const ferry_config_t *cfg;
    const char *topic;
    size_t topic_index;
    int failed;
} list_ctx_t;

static int on_listed(void *arg, const char *key, int64_t size)
{
    (void)size;
    list_ctx_t *lc = arg;
    s3_source_t *s = lc->s;
    char topic[256];
    int32_t part;
    int64_t start;
    s3_format_kind_t fmt;
    s3_compression_t comp;
    if (s3_archive_key_parse(key, topic, sizeof(topic), &part, &start, &fmt, &comp) != 0 ||
        strcmp(topic, lc->topic) != 0) {
        return 0; /* not an archive object of this topic */
    }
    if (part < 0 || (int)((lc->topic_index + (size_t)part) % (size_t)s->task_count) != s->task_index) return 0;
    s3_rpart_t *p = rpart_get(s, lc->cfg, topic, part, 1);
    if (p == NULL) {
        lc->failed = 1;
        return 1;
    }
    if (p->nobj == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        s3_obj_t *o = realloc(p->objs, cap * sizeof(*o));
        if (o == NULL) {
            lc->failed = 1;
            return 1;
        }
        p->objs = o;
        p->cap = cap;
    }
    p->objs[p->nobj].key = strdup(key);
    if (p->objs[p->nobj].key == NULL) {
        lc->failed = 1;
        return 1;
    }
    p->objs[p->nobj].start = start;
    p->objs[p->nobj].done = 0;
    p->nobj++;
    return 0;
}

static int obj_cmp(const void *a, const void *b)
{
    const s3_obj_t *x = a, *y = b;
    return s3_object_order(x->start, x->key, y->start, y->key);
}

/* Lists the archive and places each partition at its stored offset. */
static ferry_status_t source_list(s3_source_t *s, const ferry_config_t *cfg, ferry_error_t *err)
{
    for (size_t t = 0; t < s->ntopics; t++) {
        char prefix[600];
        if (s3_topic_prefix(prefix, sizeof(prefix), s->topics_dir, s->topics[t]) != 0)
            return ferry_error_set(err, FERRY_ERROR,
                                   "s3-source: topics.dir %s with topic %s: the key prefix is too long",
                                   s->topics_dir, s->topics[t]);
        list_ctx_t lc = {.s = s, .cfg = cfg, .topic = s->topics[t], .topic_index = t};
        s3_status_t st = s3_list(s->cli, prefix, on_listed, &lc);
        if (lc.failed) return ferry_error_set(err, FERRY_ERROR, "s3-source: out of memory");
        if (st != S3_OK) return ferry_error_set(err, s3_conn_status(st), "s3-source: %s", s3_client_error(s->cli));
    }
    for (s3_rpart_t *p = s->parts; p; p = p->next) {
        /* Every listing returns the known objects again: sort, and merge
         * each key's entries (keeping whether it was replayed). */
        qsort(p->objs, p->nobj, sizeof(*p->objs), obj_cmp);
        size_t n = 0;
        for (size_t i = 0; i < p->nobj; i++) {
            if (n > 0 && strcmp(p->objs[n - 1].key, p->objs[i].key) == 0) {
                p->objs[n - 1].done |= p->objs[i].done;
                free(p->objs[i].key);
                continue;
            }
            p->objs[n++] = p->objs[i];
        }
        p->nobj = n;
        /* An object that sorts before one already replayed appeared late
         * (an eventually consistent listing, or written afterwards): its
         * records are older than what was replayed, and it is skipped,
         * loudly. */
        size_t last_done = 0;
        int any_done = 0;
        for (size_t i = 0; i < n; i++)
            if (p->objs[i].done) {
                last_done = i;
                any_done = 1;
            }
        for (size_t i = 0; any_done && i < last_done; i++) {
            if (!p->objs[i].done) {
                s->host->log(s->task, FERRY_LOG_ERROR,
                             "s3-source: s3://%s/%s appeared after later objects of %s/%d were replayed: skipped "
                             "(replay the archive again into a fresh topic to include it)",
                             s->bucket, p->objs[i].key, p->topic, p->partition);
                s->host->metric_add(s->task, "objects_skipped", 1);
                p->objs[i].done = 1;
            }
        }
        p->next_obj = 0;
        while (p->next_obj < n && p->objs[p->next_obj].done) p->next_obj++;
    }
    return FERRY_OK;
}

/* Applies the stored offset of each partition once, after the first listing. */
static void source_resume(s3_source_t *s)
{
    const ferry_host_t *host = s->host;
    for (s3_rpart_t *p = s->parts; p; p = p->next) {
        const char *off = host->offset_get(s->task, p->partition_json);
        char key[1100];
        int64_t index = 0;
        if (off == NULL || host->json_get_str(off, "key", key, sizeof(key)) != 0 ||
            host->json_get_int(off, "index", &index) != 0) {
            continue;
        }
        char topic[256];
        int32_t part;
        int64_t start;
        if (s3_object_key_parse(key, topic, sizeof(topic), &part, &start) != 0) continue;
        size_t i = 0;
        while (i < p->nobj && p->objs[i].start < start) p->objs[i++].done = 1;
        p->next_obj = i;
        p->resume_index = i < p->nobj && strcmp(p->objs[i].key, key) == 0 ? index : 0;
        host->log(s->task, FERRY_LOG_INFO, "s3-source: %s/%d resumes at %s record %lld", p->topic, p->partition,
                  key, (long long)index);
    }
}

ferry_status_t s3_source_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                              void **state, ferry_error_t *err)
{
    s3_source_t *s = host->alloc(sizeof(*s));
    if (s == NULL) return ferry_error_set(err, FERRY_ERROR, "s3-source: out of memory");
    memset(s, 0, sizeof(*s));
    s->task = task;
    s->host = host;
    s3_conn_topics_dir(host, cfg, s->topics_dir, sizeof(s->topics_dir));
    s->ntopics = host->cfg_list(cfg, "topics", &s->topics);
    s->poll_ms = host->cfg_duration_ms(cfg, "poll.interval");
    s->bucket = host->cfg_string(cfg, "s3.bucket.name");
    const char *tolerance = host->cfg_string(cfg, "errors.tolerance");
    s->skip_corrupt = tolerance && strcmp(tolerance, "all") == 0;
    s->start_ms = s->end_ms = -1;
    if (s3_conn_time(host, cfg, "start.time", &s->start_ms, err) != FERRY_OK ||
        s3_conn_time(host, cfg, "end.time", &s->end_ms, err) != FERRY_OK) {
        host->free(s);
        return FERRY_ERROR;
    }
    const char *idx = host->cfg_string(cfg, "s3.task.index"), *cnt = host->cfg_string(cfg, "s3.task.count");
    s->task_index = idx ? atoi(idx) : 0;
    s->task_count = cnt && atoi(cnt) > 0 ? atoi(cnt) : 1;
    ferry_status_t st = s3_conn_open(task, host, cfg, "s3-source", &s->cli, err);
    if (st != FERRY_OK) {
        host->free(s);
        return st;
    }
    st = source_list(s, cfg, err);
    if (st != FERRY_OK) {
        s3_source_close(s);
        return st;
    }
    source_resume(s);
    s->next_list_ms = mono_ms() + s->poll_ms;
    size_t nparts = 0, nobj = 0;
    for (s3_rpart_t *p = s->parts; p; p = p->next) {
        nparts++;
        nobj += p->nobj;
    }
    host->log(task, FERRY_LOG_INFO, "s3-source: %zu archived partition(s), %zu object(s) under s3://%s/%s",
              nparts, nobj, host->cfg_string(cfg, "s3.bucket.name"), s->topics_dir);
    /* The config outlives the task: keep it for later listings. */
    s->cfg = cfg;
    *state = s;
    return FERRY_OK;
}

/* ---- loading one object ------------------------------------------------------ */

static void object_unload(s3_source_t *s)
{
    s3_object_clear(&s->obj);
    s->pos = 0;
    s->cur = NULL;
    s->cur_key[0] = '\0';
}

/* Downloads and decodes objs[next_obj] of p. A corrupt object is a record
 * error of the host's policy: with errors.tolerance: all it is skipped
 * (logged), otherwise the task fails naming the key. */
static ferry_status_t object_load(s3_source_t *s, s3_rpart_t *p, ferry_error_t *err)
{
    const char *key = p->objs[p->next_obj].key;
    char why[512] = "";
    s3_status_t st;
    object_unload(s);
    s3_load_t ld = s3_object_load(&s->obj, s->cli, key, &st, why, sizeof(why));
    if (ld == S3_LOAD_GET)
        return ferry_error_set(err, s3_conn_status(st), "s3-source: %s", s3_client_error(s->cli));
    if (ld == S3_LOAD_NOMEM) return ferry_error_set(err, FERRY_ERROR, "s3-source: %s: out of memory", key);
    if (ld == S3_LOAD_CORRUPT) {
        if (s->skip_corrupt) {
            s->host->log(s->task, FERRY_LOG_ERROR,
                         "s3-source: s3://%s/%s: corrupt or truncated object, skipped (errors.tolerance: all): %s",
                         s->bucket, key, why);
            s->host->metric_add(s->task, "objects_skipped", 1);
            p->objs[p->next_obj].done = 1;
            p->next_obj++;
            p->resume_index = 0;
            return FERRY_OK;
        }
        /* Reading it again gives the same bytes: no restart. */
        return ferry_error_set(err, FERRY_FATAL,
                               "s3-source: s3://%s/%s: corrupt or truncated object: %s (errors.tolerance: all "
                               "skips such objects)",
                               s->bucket, key, why);
    }
    s->cur = p;
    snprintf(s->cur_key, sizeof(s->cur_key), "%s", key);
    s->offset_head.len = 0;
    if (s3_buf_append(&s->offset_head, "{\"key\":", 7) || s3_json_str(&s->offset_head, key, strlen(key)) ||
        s3_buf_append(&s->offset_head, ",\"index\":", 9))
        return ferry_error_set(err, FERRY_ERROR, "s3-source: %s: out of memory", key);
    const s3_orec_t *recs = s->obj.recs;
    s->pos = (size_t)p->resume_index;
    p->resume_index = 0;
    if (s->pos > s->obj.nrec) s->pos = s->obj.nrec;
    if (s->pos > 0 && recs[s->pos - 1].offset > p->last_offset) p->last_offset = recs[s->pos - 1].offset;
    /* Overlap with what was replayed before: say so, and skip the repeats. */
    if (s->obj.nrec > 0 && p->last_offset >= 0 && recs[0].offset <= p->last_offset) {
        s->host->log(s->task, FERRY_LOG_WARN,
                     "s3-source: %s overlaps the objects before it (starts at offset %lld, %lld was replayed "
                     "already): skipping the repeated records",
                     key, (long long)recs[0].offset, (long long)p->last_offset);
    }
    return FERRY_OK;
}

/* The next partition with an object left, after the current one (round robin). */
static s3_rpart_t *next_part(s3_source_t *s, s3_rpart_t *after)
{
    s3_rpart_t *p = after && after->next ? after->next : s->parts;
    for (s3_rpart_t *q = p; q; q = q->next)
        if (q->next_obj < q->nobj) return q;
    for (s3_rpart_t *q = s->parts; q && q != p; q = q->next)
        if (q->next_obj < q->nobj) return q;
    return NULL;
}

ferry_status_t s3_source_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    s3_source_t *s = state;
    const ferry_host_t *host = s->host;
    if (s->cur == NULL) {
        s3_rpart_t *p = next_part(s, s->last_part);
        if (p == NULL) {
            if (mono_ms() >= s->next_list_ms) {
                s->next_list_ms = mono_ms() + s->poll_ms;
                return source_list(s, s->cfg, err);
            }
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
            return FERRY_OK;
        }
        s->last_part = p;
        ferry_status_t st = object_load(s, p, err);
        if (st != FERRY_OK || s->cur == NULL) return st; /* NULL: a corrupt object was skipped */
    }
    s3_rpart_t *p = s->cur;
    size_t added = 0;
    while (s->pos < s->obj.nrec && host->batch_room(batch) > 0) {
        const s3_orec_t *d = &s->obj.recs[s->pos];
        size_t index = s->pos;
        if ((p->last_offset >= 0 && d->offset <= p->last_offset) || (s->start_ms >= 0 && d->timestamp < s->start_ms) ||
            (s->end_ms >= 0 && d->timestamp > s->end_ms)) {
            /* Skipped records produce nothing and store no offset: after a
             * restart they are met, and skipped, again. */
            s->pos++;
            continue;
        }
        char index_txt[32];
        int il = snprintf(index_txt, sizeof(index_txt), "%zu}", index + 1);
        s->offset.len = 0;
        if (s3_buf_append(&s->offset, s->offset_head.data, s->offset_head.len) ||
            s3_buf_append(&s->offset, index_txt, (size_t)il))
            return ferry_error_set(err, FERRY_ERROR, "s3-source: out of memory");
        if (d->hdr_count > s->hbuf_cap) {
            ferry_header_t *h = realloc(s->hbuf, d->hdr_count * sizeof(*h));
            if (h == NULL) return ferry_error_set(err, FERRY_ERROR, "s3-source: out of memory");
            s->hbuf = h;
            s->hbuf_cap = d->hdr_count;
        }
        for (size_t i = 0; i < d->hdr_count; i++) {
            const s3_ohdr_t *h = &s->obj.hdrs[d->hdr_first + i];
            s->hbuf[i].name = s3_ohdr_name(&s->obj, h);
            s->hbuf[i].value = s3_ohdr_value(&s->obj, h);
            s->hbuf[i].value_len = h->value_len;
        }
        ferry_record_t rec = {
            .topic = p->target,
            .partition = p->partition,
            .key = s3_orec_key(&s->obj, d),
            .key_len = d->key_len,
            .value = s3_orec_value(&s->obj, d),
            .value_len = d->value_len,
            .headers = s->hbuf,
            .header_count = d->hdr_count,
            .timestamp_ms = d->timestamp,
            .source_partition = p->partition_json,
            .source_offset = s->offset.data,
            .timestamp_type = FERRY_TIMESTAMP_CREATE,
        };
        ferry_status_t st = ferry_batch_add(host, batch, &rec);
        if (st == FERRY_RETRY) break;
        if (st != FERRY_OK) return st;
        if (d->offset > p->last_offset) p->last_offset = d->offset;
        s->pos++;
        added++;
    }
    if (added) host->metric_add(s->task, "records_replayed", (double)added);
    if (s->pos >= s->obj.nrec) {
        host->metric_add(s->task, "objects_replayed", 1);
        p->objs[p->next_obj].done = 1;
        p->next_obj++;
        object_unload(s);
    }
    return FERRY_OK;
}

void s3_source_close(void *state)
{
    s3_source_t *s = state;
    if (s == NULL) return;
    while (s->parts) {
        s3_rpart_t *p = s->parts;
        s->parts = p->next;
        for (size_t i = 0; i < p->nobj; i++) free(p->objs[i].key);
        free(p->objs);
        free(p->topic);
        free(p);
    }
    s3_object_free(&s->obj);
    s3_buf_free(&s->offset_head);
    s3_buf_free(&s->offset);
    free(s->hbuf);
    s3_client_free(s->cli);
    s->host->free(s);
}
