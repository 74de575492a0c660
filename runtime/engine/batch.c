/*
 * batch.c — batches, the only place where plugin data and host data meet.
 *
 * A source batch copies every byte a plugin hands to batch_add() into an
 * arena the batch owns, so the plugin may reuse its buffers as soon as the
 * call returns (bytes it built in the arena with batch_alloc are not copied
 * again). On the way in, each record is checked: its topic must be a legal
 * Kafka topic name other than the offsets topic, and its source partition
 * and offset must be JSON objects, which are brought into canonical form
 * (ferry.h). A record that fails is refused with the reason; with
 * errors.tolerance: all it is kept, flagged, for the dead-letter queue.
 *
 * A sink batch points into the librdkafka messages it holds until
 * batch_reset(), so consuming costs no copy.
 *
 * Thread: a batch belongs to one task thread.
 */
#include "engine/host.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "offsets/offsets.h"
#include "util/json_scan.h"
#include "util/strutil.h"
#include "util/topic_name.h"

/* ---- arena ------------------------------------------------------------------ */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    /* Aligned storage follows. */
    max_align_t data[];
} arena_chunk_t;

#define ARENA_CHUNK_MIN (256 * 1024)
#define PART_CACHE 16 /* canonical forms of recently seen source partitions */

struct ferry_batch {
    ferry_record_t *recs; /* owned; max_records entries */
    size_t count, max_records;
    size_t bytes, max_bytes;
    arena_chunk_t *chunks; /* owned, in allocation order; kept across resets */
    arena_chunk_t *cur;    /* the chunk being filled */
    rd_kafka_message_t **msgs; /* sinks: owned messages, one per record */
    struct problem {
        const char *why;       /* arena or static; NULL = the record is fine */
        int offsets_valid;     /* its source partition and offset are canonical */
        int partition_valid;   /* its source partition is (absent or) canonical */
        int reported;          /* the plugin reported it (record_error), rather than batch_add refusing it */
    } *problems;               /* sources, one per record; lazily allocated */
    const batch_rules_t *rules; /* borrowed; NULL = no checks */
    char error[FERRY_ERRMSG_SIZE]; /* the first refused record's reason since the reset */
    /* Interning: consecutive records usually share topic and partition. */
    const char *last_topic;    /* arena copy of the last checked topic */
    const char *last_part_raw; /* arena copy of the last partition as given */
    const char *last_part;     /* its canonical form (arena) */
    /* Canonical forms of recent partitions (owned, survive resets), so that
     * alternating partitions cost a hash and a compare, not a JSON parse. */
    struct {
        char *raw, *canonical;
    } part_cache[PART_CACHE];
};

/* Chunks are kept across resets and rewound, so a steady stream of batches
 * allocates nothing; a chunk larger than usual (a huge record) is dropped at
 * reset instead of being kept forever. */
static void *arena_alloc(ferry_batch_t *batch, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_chunk_t *c = batch->cur;
    while (c && c->cap - c->used < n) {
        c = c->next;
        if (c) c->used = 0;
    }
    if (!c) {
        size_t cap = n > ARENA_CHUNK_MIN ? n : ARENA_CHUNK_MIN;
        c = xmalloc(sizeof(*c) + cap);
        c->cap = cap;
        c->used = 0;
        c->next = NULL;
        if (batch->cur) {
            /* Append after the current chunk, keeping any later ones. */
            c->next = batch->cur->next;
            batch->cur->next = c;
        } else {
            c->next = batch->chunks;
            batch->chunks = c;
        }
    }
    batch->cur = c;
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

/* 1 when [p, p+n) lies in memory this batch handed out (batch_alloc). */
static int arena_holds(const ferry_batch_t *batch, const void *p, size_t n)
{
    const char *b = p;
    for (const arena_chunk_t *c = batch->chunks; c; c = c->next) {
        const char *start = (const char *)c->data;
        if (b >= start && b + n <= start + c->used) return 1;
        if (c == batch->cur) break; /* later chunks are not in use */
    }
    return 0;
}

static const char *arena_strndup(ferry_batch_t *batch, const char *s, size_t n)
{
    char *d = arena_alloc(batch, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static const void *arena_memdup(ferry_batch_t *batch, const void *p, size_t n)
{
    if (!p) return NULL;
    if (arena_holds(batch, p, n)) return p; /* built with batch_alloc: already ours */
    void *d = arena_alloc(batch, n ? n : 1);
    if (n) memcpy(d, p, n);
    return d;
}

void *batch_alloc(ferry_batch_t *batch, size_t size)
{
    return batch && size ? arena_alloc(batch, size) : NULL;
}

/* ---- life cycle ------------------------------------------------------------------ */

ferry_batch_t *batch_new(size_t max_records, size_t max_bytes)
{
    ferry_batch_t *batch = xcalloc(1, sizeof(*batch));
    batch->max_records = max_records ? max_records : 1;
    batch->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
    batch->recs = xcalloc(batch->max_records, sizeof(*batch->recs));
    return batch;
}

void batch_set_rules(ferry_batch_t *batch, const batch_rules_t *rules) { batch->rules = rules; }

void batch_reset(ferry_batch_t *batch)
{
    if (!batch) return;
    if (batch->msgs) {
        for (size_t i = 0; i < batch->count; i++)
            if (batch->msgs[i]) rd_kafka_message_destroy(batch->msgs[i]);
    }
    if (batch->problems) memset(batch->problems, 0, batch->count * sizeof(*batch->problems));
    /* Rewind; free oversized chunks (a single huge record). */
    arena_chunk_t **link = &batch->chunks;
    while (*link) {
        arena_chunk_t *c = *link;
        if (c->cap > ARENA_CHUNK_MIN) {
            *link = c->next;
            free(c);
            continue;
        }
        c->used = 0;
        link = &c->next;
    }
    batch->cur = batch->chunks;
    batch->count = 0;
    batch->bytes = 0;
    batch->error[0] = '\0';
    batch->last_topic = NULL;
    batch->last_part_raw = NULL;
    batch->last_part = NULL;
}

void batch_free(ferry_batch_t *batch)
{
    if (!batch) return;
    batch_reset(batch);
    while (batch->chunks) {
        arena_chunk_t *next = batch->chunks->next;
        free(batch->chunks);
        batch->chunks = next;
    }
    for (int i = 0; i < PART_CACHE; i++) {
        free(batch->part_cache[i].raw);
        free(batch->part_cache[i].canonical);
    }
    free(batch->problems);
    free(batch->msgs);
    free(batch->recs);
    free(batch);
}

size_t batch_size(const ferry_batch_t *batch) { return batch->count; }
size_t batch_bytes(const ferry_batch_t *batch) { return batch->bytes; }

const ferry_record_t *batch_record(const ferry_batch_t *batch, size_t index)
{
    return index < batch->count ? &batch->recs[index] : NULL;
}

const char *batch_record_problem(const ferry_batch_t *batch, size_t index, int *offsets_valid, int *partition_valid)
{
    if (!batch->problems || index >= batch->count || !batch->problems[index].why) return NULL;
    if (offsets_valid) *offsets_valid = batch->problems[index].offsets_valid;
    if (partition_valid) *partition_valid = batch->problems[index].partition_valid;
    return batch->problems[index].why;
}

int batch_record_reported(const ferry_batch_t *batch, size_t index)
{
    return batch->problems && index < batch->count && batch->problems[index].why && batch->problems[index].reported;
}

const char *batch_error(const ferry_batch_t *batch) { return batch->error[0] ? batch->error : NULL; }

size_t batch_room(const ferry_batch_t *batch)
{
    if (batch->bytes >= batch->max_bytes) return 0;
    return batch->max_records - batch->count;
}

/* ---- checks and canonical forms ----------------------------------------------------- */

/* A value shown in a reason: at most 80 bytes, cut in the middle. */
static void excerpt(char *buf, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n < size && n <= 80) {
        snprintf(buf, size, "%s", s);
        return;
    }
    snprintf(buf, size, "%.38s...%s", s, s + n - 38);
}

/* The topic a record goes to, interned; NULL with *problem set when it may
 * not go anywhere. */
static const char *checked_topic(ferry_batch_t *batch, const char *topic, const char **problem)
{
    const batch_rules_t *rules = batch->rules;
    if (!topic && !rules) return NULL; /* a bare batch (connector tests): the engine decides later */
    if (!topic) topic = rules->default_topic;
    if (!topic) {
        *problem = "the record has no topic and the connector has no 'topic' option";
        return NULL;
    }
    if (batch->last_topic && strcmp(topic, batch->last_topic) == 0) return batch->last_topic;
    const char *why = rules && rules->topic_after_chain ? NULL : topic_name_problem(topic);
    if (!why && rules && !rules->topic_after_chain && rules->offsets_topic && strcmp(topic, rules->offsets_topic) == 0)
        why = "it is the worker's offsets topic, which only the runtime writes";
    if (why) {
        char shown[96], *msg;
        excerpt(shown, sizeof(shown), topic);
        msg = str_printf("topic '%s' is refused: %s", shown, why);
        *problem = arena_strndup(batch, msg, strlen(msg));
        free(msg);
        return NULL;
    }
    batch->last_topic = arena_strndup(batch, topic, strlen(topic));
    return batch->last_topic;
}

static uint32_t part_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The canonical form of a source partition (arena), or NULL when it is not
 * a JSON object. The previous record's partition and a small cache make the
 * common cases free of JSON parsing. */
static const char *canonical_partition(ferry_batch_t *batch, const char *raw)
{
    if (batch->last_part_raw && strcmp(raw, batch->last_part_raw) == 0) return batch->last_part;
    uint32_t slot = part_hash(raw) % PART_CACHE;
    const char *canonical = NULL;
    if (batch->part_cache[slot].raw && strcmp(batch->part_cache[slot].raw, raw) == 0) {
        canonical = batch->part_cache[slot].canonical;
    } else {
        char *c = offsets_json_canonical(raw, strlen(raw));
        if (!c) return NULL;
        free(batch->part_cache[slot].raw);
        free(batch->part_cache[slot].canonical);
        batch->part_cache[slot].raw = str_dup(raw);
        batch->part_cache[slot].canonical = c;
        canonical = c;
    }
    batch->last_part_raw = arena_strndup(batch, raw, strlen(raw));
    batch->last_part = arena_strndup(batch, canonical, strlen(canonical));
    return batch->last_part;
}

/* The compact form of a source offset (arena), or NULL when it is not a JSON object. */
static const char *compact_offset(ferry_batch_t *batch, const char *raw)
{
    size_t len = strlen(raw);
    char *out = arena_alloc(batch, len + 1);
    long n = json_scan_object(raw, len, out, NULL);
    if (n < 0) return NULL;
    out[n] = '\0';
    return out;
}

/* ---- adding records --------------------------------------------------------------------- */

static void copy_headers(ferry_batch_t *batch, ferry_record_t *r, const ferry_record_t *rec)
{
    r->headers = NULL;
    r->header_count = 0;
    if (!rec->headers || !rec->header_count) return;
    ferry_header_t *hs = arena_alloc(batch, rec->header_count * sizeof(*hs));
    for (size_t i = 0; i < rec->header_count; i++) {
        const ferry_header_t *h = &rec->headers[i];
        hs[i].name = h->name ? arena_strndup(batch, h->name, strlen(h->name)) : "";
        hs[i].value = arena_memdup(batch, h->value, h->value_len);
        hs[i].value_len = h->value ? h->value_len : 0;
        batch->bytes += strlen(hs[i].name) + hs[i].value_len;
    }
    r->headers = hs;
    r->header_count = rec->header_count;
}

/* Refuses a record (errors.tolerance: none): remembers the first reason. */
static ferry_status_t refuse(ferry_batch_t *batch, const char *problem)
{
    if (!batch->error[0]) snprintf(batch->error, sizeof(batch->error), "record refused: %s", problem);
    return FERRY_ERROR;
}

static ferry_status_t add_record(ferry_batch_t *batch, const ferry_record_t *given, size_t given_size,
                                 const char *reported);

ferry_status_t batch_add_record(ferry_batch_t *batch, const ferry_record_t *given, size_t given_size)
{
    return add_record(batch, given, given_size, NULL);
}

ferry_status_t batch_add_failed(ferry_batch_t *batch, const ferry_record_t *given, size_t given_size,
                                const char *reason)
{
    return add_record(batch, given, given_size, reason && *reason ? reason : "rejected by the connector");
}

/* reported: the plugin's reason why the record can never be delivered
 * (record_error), or NULL for a record to check. */
static ferry_status_t add_record(ferry_batch_t *batch, const ferry_record_t *given, size_t given_size,
                                 const char *reported)
{
    if (!batch || !given || batch_room(batch) == 0) return FERRY_RETRY;
    ferry_record_t rec = {0};
    memcpy(&rec, given, given_size < sizeof(rec) ? given_size : sizeof(rec));
    const char *problem = NULL, *offsets_problem = NULL;
    int partition_valid = 1;
    ferry_record_t *r = &batch->recs[batch->count];
    *r = rec;
    r->topic = checked_topic(batch, rec.topic, &problem);
    if (rec.source_partition) {
        r->source_partition = canonical_partition(batch, rec.source_partition);
        if (!r->source_partition) offsets_problem = "its source partition is not a JSON object", partition_valid = 0;
    }
    if (rec.source_offset) {
        r->source_offset = compact_offset(batch, rec.source_offset);
        if (!r->source_offset && !offsets_problem) offsets_problem = "its source offset is not a JSON object";
    }
    if (reported) problem = arena_strndup(batch, reported, strlen(reported));
    if (!problem) problem = offsets_problem;
    if (problem) {
        if (!batch->rules || !batch->rules->tolerate_all) return refuse(batch, problem);
        /* Kept for the dead-letter queue, with what the plugin gave where
         * it could not be used. */
        if (!r->topic && rec.topic) r->topic = arena_strndup(batch, rec.topic, strlen(rec.topic));
        if (!r->source_partition && rec.source_partition)
            r->source_partition = arena_strndup(batch, rec.source_partition, strlen(rec.source_partition));
        if (!r->source_offset && rec.source_offset)
            r->source_offset = arena_strndup(batch, rec.source_offset, strlen(rec.source_offset));
        if (!batch->problems) batch->problems = xcalloc(batch->max_records, sizeof(*batch->problems));
        batch->problems[batch->count].why = problem;
        batch->problems[batch->count].offsets_valid = offsets_problem == NULL;
        batch->problems[batch->count].partition_valid = partition_valid;
        batch->problems[batch->count].reported = reported != NULL;
    }
    r->key = arena_memdup(batch, rec.key, rec.key_len);
    r->key_len = rec.key ? rec.key_len : 0;
    r->value = arena_memdup(batch, rec.value, rec.value_len);
    r->value_len = rec.value ? rec.value_len : 0;
    copy_headers(batch, r, &rec);
    r->flags = rec.flags & (FERRY_RECORD_KEY_STRING | FERRY_RECORD_KEY_JSON | FERRY_RECORD_KEY_ENVELOPE |
                            FERRY_RECORD_VALUE_STRING | FERRY_RECORD_VALUE_JSON | FERRY_RECORD_VALUE_ENVELOPE);
    batch->bytes += r->key_len + r->value_len + 64;
    batch->count++;
    return FERRY_OK;
}

/* ---- sink batches ------------------------------------------------------------------------- */

void batch_add_message(ferry_batch_t *batch, rd_kafka_message_t *msg)
{
    if (!batch->msgs) batch->msgs = xcalloc(batch->max_records, sizeof(*batch->msgs));
    if (batch->count >= batch->max_records) {
        /* The engine never overfills; be safe anyway rather than write past the end. */
        rd_kafka_message_destroy(msg);
        return;
    }
    ferry_record_t *r = &batch->recs[batch->count];
    memset(r, 0, sizeof(*r));
    r->topic = rd_kafka_topic_name(msg->rkt);
    r->partition = msg->partition;
    r->key = msg->key;
    r->key_len = msg->key ? msg->key_len : 0;
    r->value = msg->payload;
    r->value_len = msg->payload ? msg->len : 0;
    r->kafka_offset = msg->offset;
    rd_kafka_timestamp_type_t tstype;
    r->timestamp_ms = rd_kafka_message_timestamp(msg, &tstype);
    r->timestamp_type = tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? FERRY_TIMESTAMP_CREATE
                        : tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? FERRY_TIMESTAMP_LOG_APPEND
                                                                       : FERRY_TIMESTAMP_NONE;
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        size_t n = rd_kafka_header_cnt(hdrs);
        ferry_header_t *hs = arena_alloc(batch, n * sizeof(*hs));
        for (size_t i = 0; i < n; i++) {
            const char *name;
            const void *val;
            size_t len;
            rd_kafka_header_get_all(hdrs, i, &name, &val, &len);
            hs[i].name = name;
            hs[i].value = val;
            hs[i].value_len = len;
        }
        r->headers = hs;
        r->header_count = n;
    }
    batch->msgs[batch->count] = msg;
    batch->bytes += r->key_len + r->value_len;
    batch->count++;
}

void batch_drop_last(ferry_batch_t *batch)
{
    if (batch->count == 0) return;
    batch->count--;
    ferry_record_t *r = &batch->recs[batch->count];
    batch->bytes -= r->key_len + r->value_len;
    if (batch->msgs && batch->msgs[batch->count]) {
        rd_kafka_message_destroy(batch->msgs[batch->count]);
        batch->msgs[batch->count] = NULL;
    }
}

ferry_record_t *batch_record_mut(ferry_batch_t *batch, size_t index)
{
    return index < batch->count ? &batch->recs[index] : NULL;
}

const rd_kafka_message_t *batch_message(const ferry_batch_t *batch, size_t index)
{
    return batch->msgs && index < batch->count ? batch->msgs[index] : NULL;
}

size_t batch_record_index(const ferry_batch_t *batch, const ferry_record_t *rec)
{
    if (!rec || rec < batch->recs || rec >= batch->recs + batch->count) return (size_t)-1;
    return (size_t)(rec - batch->recs);
}

void batch_drop_partition_after(ferry_batch_t *batch, size_t from, const char *topic, int32_t partition,
                                int64_t offset)
{
    /* Keeps the order of what stays; the dropped messages are re-fetched. */
    size_t out = from;
    for (size_t i = from; i < batch->count; i++) {
        ferry_record_t *r = &batch->recs[i];
        /* By the consumed topic (a sink's transforms may have renamed it). */
        const char *consumed = batch->msgs && batch->msgs[i] ? rd_kafka_topic_name(batch->msgs[i]->rkt) : r->topic;
        if (r->partition == partition && r->kafka_offset >= offset && strcmp(consumed, topic) == 0) {
            if (batch->msgs && batch->msgs[i]) rd_kafka_message_destroy(batch->msgs[i]);
            batch->bytes -= r->key_len + r->value_len;
            continue;
        }
        if (out != i) {
            batch->recs[out] = *r;
            if (batch->msgs) batch->msgs[out] = batch->msgs[i];
        }
        out++;
    }
    batch->count = out;
}
