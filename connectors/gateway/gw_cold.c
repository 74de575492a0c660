/*
 * gw_cold.c — cold reads of gw_cold.h: one partition's archived objects,
 * listed once at open, loaded one by one (ferry_s3's s3_object_t) as the
 * reader moves on.
 */
#include "gw_cold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_format.h"
#include "s3_object.h"
#include "s3_path.h"

/* Kafka topic names have at most 249 characters. */
#define GW_TOPIC_MAX 256

typedef struct gw_obj {
    char *key; /* owned */
    int64_t start;
} gw_obj_t;

struct gw_cold {
    s3_client_t *cli; /* borrowed */
    char topic[GW_TOPIC_MAX];
    int32_t partition;
    char prefix[600]; /* "<topics.dir>/<topic>/", for messages */
    gw_obj_t *objs;   /* this partition's objects, in s3_object_order */
    size_t nobj, cap;
    size_t next_obj;  /* the next object to load */
    int64_t last;     /* the highest offset returned, or from_offset - 1 */
    s3_object_t obj;  /* the loaded object, read up to pos */
    size_t pos;
};

/* The listing's walk: collects the objects of one partition. */
typedef struct gw_list {
    gw_cold_t *g;
    int oom;
    char bad_key[1024]; /* the first json/bytes object of the partition */
    s3_format_kind_t bad_fmt;
} gw_list_t;

static int on_listed(void *arg, const char *key, int64_t size)
{
    (void)size;
    gw_list_t *l = arg;
    gw_cold_t *g = l->g;
    char topic[GW_TOPIC_MAX];
    int32_t partition;
    int64_t start;
    s3_format_kind_t fmt;
    s3_compression_t comp;
    if (s3_archive_key_parse(key, topic, sizeof(topic), &partition, &start, &fmt, &comp) != 0 ||
        partition != g->partition || strcmp(topic, g->topic) != 0)
        return 0; /* another partition's object, or no archive object */
    if (fmt != S3_FMT_ENVELOPE && fmt != S3_FMT_AVRO) {
        snprintf(l->bad_key, sizeof(l->bad_key), "%s", key);
        l->bad_fmt = fmt;
        return 1;
    }
    if (g->nobj == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        gw_obj_t *n = realloc(g->objs, cap * sizeof(*n));
        if (n == NULL) goto oom;
        g->objs = n;
        g->cap = cap;
    }
    g->objs[g->nobj].key = strdup(key);
    if (g->objs[g->nobj].key == NULL) goto oom;
    g->objs[g->nobj].start = start;
    g->nobj++;
    return 0;
oom:
    l->oom = 1;
    return 1;
}

static int obj_cmp(const void *a, const void *b)
{
    const gw_obj_t *x = a, *y = b;
    return s3_object_order(x->start, x->key, y->start, y->key);
}

gw_cold_t *gw_cold_open(s3_client_t *c, const char *prefix, const char *topic, int32_t partition,
                        int64_t from_offset, char *err, size_t errlen)
{
    if (c == NULL || topic == NULL || topic[0] == '\0' || partition < 0) {
        snprintf(err, errlen,
                 "gw_cold_open: a client, a topic and a partition >= 0 are needed (topic %s, partition %d)",
                 topic ? topic : "(null)", partition);
        return NULL;
    }
    if (strlen(topic) >= GW_TOPIC_MAX) {
        snprintf(err, errlen, "cold read of topic %.64s...: the name is too long", topic);
        return NULL;
    }
    gw_cold_t *g = calloc(1, sizeof(*g));
    if (g == NULL) {
        snprintf(err, errlen, "cold read of %s/%d: out of memory", topic, partition);
        return NULL;
    }
    g->cli = c;
    g->partition = partition;
    snprintf(g->topic, sizeof(g->topic), "%s", topic);
    g->last = from_offset > 0 ? from_offset - 1 : -1;
    char dir[256];
    s3_dir_trim(prefix, dir, sizeof(dir));
    if (s3_topic_prefix(g->prefix, sizeof(g->prefix), dir, topic) != 0) {
        snprintf(err, errlen, "cold read of %s/%d: prefix %s: the key prefix is too long", topic, partition,
                 prefix ? prefix : "");
        gw_cold_free(g);
        return NULL;
    }
    gw_list_t l = {.g = g};
    s3_status_t st = s3_list(c, g->prefix, on_listed, &l);
    if (l.oom || l.bad_key[0] || st != S3_OK) {
        if (l.oom)
            snprintf(err, errlen, "cold read of %s/%d under s3://%s/%s: out of memory", topic, partition,
                     s3_client_bucket(c), g->prefix);
        else if (l.bad_key[0])
            snprintf(err, errlen,
                     "cold read of %s/%d: s3://%s/%s is in the %s format, which holds values only, no offsets "
                     "(cold reads need an envelope or avro archive)",
                     topic, partition, s3_client_bucket(c), l.bad_key, l.bad_fmt == S3_FMT_JSON ? "json" : "bytes");
        else
            snprintf(err, errlen, "cold read of %s/%d under s3://%s/%s: %s", topic, partition, s3_client_bucket(c),
                     g->prefix, s3_client_error(c));
        gw_cold_free(g);
        return NULL;
    }
    if (g->nobj > 1) qsort(g->objs, g->nobj, sizeof(*g->objs), obj_cmp);
    /* Start at the last object that begins at or below from_offset: those
     * before it end below its start (objects do not overlap, gw_cold.h). */
    while (g->next_obj + 1 < g->nobj && g->objs[g->next_obj + 1].start <= from_offset) g->next_obj++;
    return g;
}

int gw_cold_next(gw_cold_t *g, gw_cold_rec_t *rec, char *err, size_t errlen)
{
    for (;;) {
        while (g->pos < g->obj.nrec) {
            const s3_orec_t *r = &g->obj.recs[g->pos++];
            if (r->offset <= g->last) continue; /* below from_offset, or returned already */
            g->last = r->offset;
            rec->offset = r->offset;
            rec->timestamp_ms = r->timestamp;
            rec->key = s3_orec_key(&g->obj, r);
            rec->key_len = r->key_len;
            rec->value = s3_orec_value(&g->obj, r);
            rec->value_len = r->value_len;
            return 1;
        }
        if (g->next_obj >= g->nobj) {
            /* The end: the last object's memory is not needed any more. */
            s3_object_free(&g->obj);
            g->pos = 0;
            return 0;
        }
        const char *key = g->objs[g->next_obj].key;
        char why[512];
        s3_status_t st;
        g->pos = 0;
        switch (s3_object_load(&g->obj, g->cli, key, &st, why, sizeof(why))) {
        case S3_LOAD_OK: break;
        case S3_LOAD_GET:
            snprintf(err, errlen, "cold read of %s/%d: %s", g->topic, g->partition, s3_client_error(g->cli));
            return -1;
        case S3_LOAD_NOMEM:
            snprintf(err, errlen, "cold read of %s/%d: s3://%s/%s: out of memory", g->topic, g->partition,
                     s3_client_bucket(g->cli), key);
            return -1;
        case S3_LOAD_CORRUPT:
            snprintf(err, errlen, "cold read of %s/%d: s3://%s/%s: corrupt or truncated object: %s", g->topic,
                     g->partition, s3_client_bucket(g->cli), key, why);
            return -1;
        }
        g->next_obj++;
    }
}

int64_t gw_cold_first(const gw_cold_t *g)
{
    return g->nobj ? g->objs[0].start : -1;
}

void gw_cold_free(gw_cold_t *g)
{
    if (g == NULL) return;
    for (size_t i = 0; i < g->nobj; i++) free(g->objs[i].key);
    free(g->objs);
    s3_object_free(&g->obj);
    free(g);
}
