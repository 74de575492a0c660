/*
 * s3_object.c — a downloaded, decoded archive object of s3_object.h.
 */
#include "s3_object.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void s3_object_clear(s3_object_t *o)
{
    o->arena.len = 0;
    o->nrec = o->nhdr = 0;
}

void s3_object_free(s3_object_t *o)
{
    s3_buf_free(&o->arena);
    free(o->recs);
    free(o->hdrs);
    memset(o, 0, sizeof(*o));
}

/* The arena is empty (data NULL) before the first span: a present empty
 * span must still have an address. */
static const char *arena_base(const s3_object_t *o)
{
    return o->arena.data ? o->arena.data : "";
}

const void *s3_orec_key(const s3_object_t *o, const s3_orec_t *r)
{
    return r->has_key ? arena_base(o) + r->key_off : NULL;
}

const void *s3_orec_value(const s3_object_t *o, const s3_orec_t *r)
{
    return r->has_value ? arena_base(o) + r->value_off : NULL;
}

const char *s3_ohdr_name(const s3_object_t *o, const s3_ohdr_t *h)
{
    return arena_base(o) + h->name_off;
}

const void *s3_ohdr_value(const s3_object_t *o, const s3_ohdr_t *h)
{
    return h->has_value ? arena_base(o) + h->value_off : NULL;
}

static int arena_put(s3_buf_t *a, const void *p, size_t n, size_t *off)
{
    *off = a->len;
    return n ? s3_buf_append(a, p, n) : 0;
}

typedef struct load_ctx {
    s3_object_t *o;
    int oom;
} load_ctx_t;

static int on_decoded(void *arg, const s3_rec_t *r, size_t index)
{
    (void)index;
    load_ctx_t *lc = arg;
    s3_object_t *o = lc->o;
    if (o->nrec == o->rcap) {
        size_t cap = o->rcap ? o->rcap * 2 : 1024;
        s3_orec_t *n = realloc(o->recs, cap * sizeof(*n));
        if (n == NULL) goto oom;
        o->recs = n;
        o->rcap = cap;
    }
    s3_orec_t *d = &o->recs[o->nrec];
    memset(d, 0, sizeof(*d));
    d->offset = r->offset;
    d->timestamp = r->timestamp;
    d->timestamp_type = r->timestamp_type;
    d->has_key = r->key != NULL;
    d->has_value = r->value != NULL;
    d->key_len = r->key_len;
    d->value_len = r->value_len;
    if (arena_put(&o->arena, r->key, r->key_len, &d->key_off) ||
        arena_put(&o->arena, r->value, r->value_len, &d->value_off))
        goto oom;
    d->hdr_first = o->nhdr;
    d->hdr_count = r->header_count;
    for (size_t i = 0; i < r->header_count; i++) {
        if (o->nhdr == o->hcap) {
            size_t cap = o->hcap ? o->hcap * 2 : 256;
            s3_ohdr_t *n = realloc(o->hdrs, cap * sizeof(*n));
            if (n == NULL) goto oom;
            o->hdrs = n;
            o->hcap = cap;
        }
        s3_ohdr_t *h = &o->hdrs[o->nhdr++];
        h->name_len = r->headers[i].name_len;
        h->value_len = r->headers[i].value_len;
        h->has_value = r->headers[i].value != NULL;
        static const char nul = '\0';
        if (arena_put(&o->arena, r->headers[i].name, h->name_len, &h->name_off) ||
            s3_buf_append(&o->arena, &nul, 1) ||
            arena_put(&o->arena, r->headers[i].value, h->value_len, &h->value_off))
            goto oom;
    }
    o->nrec++;
    return 0;
oom:
    lc->oom = 1;
    return 1;
}

/* The format and compression of key's name; 0, or -1 with why filled. */
static int format_of(const char *key, s3_format_kind_t *fmt, s3_compression_t *comp, char *why, size_t whylen)
{
    if (s3_format_from_name(key, fmt, comp) == 0) return 0;
    snprintf(why, whylen, "the name ends in no archive format (.jsonl[.gz|.zst] or .avro)");
    return -1;
}

s3_load_t s3_object_decode(s3_object_t *o, const char *key, const void *data, size_t len, char *why, size_t whylen)
{
    s3_object_clear(o);
    s3_format_kind_t fmt;
    s3_compression_t comp;
    if (format_of(key, &fmt, &comp, why, whylen) != 0) return S3_LOAD_CORRUPT;
    load_ctx_t lc = {.o = o};
    long n = s3_decode_object(fmt, comp, data ? data : "", len, on_decoded, &lc, why, whylen);
    if (lc.oom || n < 0) {
        s3_object_clear(o);
        if (lc.oom) snprintf(why, whylen, "out of memory");
        return lc.oom ? S3_LOAD_NOMEM : S3_LOAD_CORRUPT;
    }
    return S3_LOAD_OK;
}

s3_load_t s3_object_load(s3_object_t *o, s3_client_t *c, const char *key, s3_status_t *st, char *why,
                         size_t whylen)
{
    s3_object_clear(o);
    *st = S3_OK;
    s3_format_kind_t fmt;
    s3_compression_t comp;
    /* A name without a format is refused before any download. */
    if (format_of(key, &fmt, &comp, why, whylen) != 0) return S3_LOAD_CORRUPT;
    s3_buf_t raw = {0};
    *st = s3_get(c, key, &raw);
    if (*st != S3_OK) {
        s3_buf_free(&raw);
        return S3_LOAD_GET;
    }
    s3_load_t ld = s3_object_decode(o, key, raw.data, raw.len, why, whylen);
    s3_buf_free(&raw);
    return ld;
}
