/*
 * fuzz_s3_archive.c — fuzz target for what the s3 plugin reads from a
 * server (connectors/s3): S3's XML replies, archived objects and object
 * names.
 *
 * Input layout, chosen by the first byte (mod 5), the rest is the data:
 *   0  an S3 XML reply: every tag s3_client.c reads, and the <Contents>
 *      walk of a ListObjectsV2 page;
 *   1  an envelope object (JSON lines), 2 an Avro object, 3 a gzip'd and
 *      4 a zstd'd envelope object, decoded as verify decodes them, and as
 *      replay and cold reads hold them (s3_object_decode);
 *   always: the data as an object key (name parse and format detection).
 *
 * Checks beyond "no crash, no leak, no UB": decoded text fits its buffer
 * and is NUL-terminated at the returned length; a decode reports either a
 * record count that matches the records it handed out or an error message;
 * every record handed out is re-encoded and decoded again to the same
 * record count (what the sink writes, replay reads); a held object has
 * the records the walk counted, or none and a message.
 */
#include "fuzz_common.h"
#include "s3_format.h"
#include "s3_object.h"
#include "s3_path.h"
#include "s3_xml.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walk {
    size_t seen;
    s3_writer_t *w;
    s3_buf_t out;
} walk_t;

static int on_rec(void *arg, const s3_rec_t *r, size_t index) {
    walk_t *w = arg;
    FUZZ_CHECK(index == w->seen, "index %zu after %zu records", index, w->seen);
    FUZZ_CHECK(r->topic != NULL, "record without topic");
    if (w->w) FUZZ_CHECK(s3_writer_add(w->w, r, &w->out) == 0, "re-encoding failed");
    w->seen++;
    return 0;
}

static int count(void *arg, const s3_rec_t *r, size_t index) {
    (void)r;
    (void)index;
    (*(size_t *)arg)++;
    return 0;
}

static void fuzz_xml(const char *d, size_t n) {
    static const char *const tags[] = {"Code", "Message", "UploadId", "Key", "Size", "IsTruncated",
                                       "NextContinuationToken", "Error"};
    char out[2048];
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        long len = s3_xml_text(d, n, tags[i], out, sizeof(out));
        if (len >= 0) FUZZ_CHECK((size_t)len < sizeof(out) && out[len] == '\0', "text not terminated");
    }
    const char *p = d, *inner, *next;
    size_t left = n, inner_len;
    while ((next = s3_xml_find(p, left, "Contents", &inner, &inner_len)) != NULL) {
        FUZZ_CHECK(next > p && next <= p + left, "find moved outside the span");
        FUZZ_CHECK(inner >= p && inner + inner_len <= next, "inner outside the element");
        s3_xml_text(inner, inner_len, "Key", out, sizeof(out));
        left -= (size_t)(next - p);
        p = next;
    }
}

/* The object as replay and cold reads hold it: got is what the walk found
 * (-1: an error). */
static void fuzz_held(s3_format_kind_t fmt, s3_compression_t comp, const char *d, size_t n, long got) {
    char key[64], why[512] = "";
    snprintf(key, sizeof(key), "t/t+0+0000000000000000000%s", s3_format_ext(fmt, comp));
    s3_object_t o = {0};
    s3_load_t ld = s3_object_decode(&o, key, d, n, why, sizeof(why));
    if (ld == S3_LOAD_OK)
        FUZZ_CHECK(got >= 0 && o.nrec == (size_t)got, "held %zu records, the walk found %ld", o.nrec, got);
    else
        FUZZ_CHECK(ld == S3_LOAD_NOMEM || (got < 0 && o.nrec == 0 && why[0] != '\0'),
                   "held object failed (%d) where the walk found %ld records: %s", (int)ld, got, why);
    s3_object_free(&o);
}

static void fuzz_object(s3_format_kind_t fmt, s3_compression_t comp, const char *d, size_t n) {
    s3_buf_t plain = {0};
    char err[512] = "";
    if (s3_decompress(comp, d, n, &plain, err, sizeof(err)) != 0) {
        FUZZ_CHECK(err[0] != '\0', "decompress failed without a message");
        s3_buf_free(&plain);
        fuzz_held(fmt, comp, d, n, -1);
        return;
    }
    static const unsigned char sync[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    walk_t w = {.w = s3_writer_new(fmt, S3_COMP_NONE, "\n", 1, sync)};
    long got = s3_decode(fmt, plain.data ? plain.data : "", plain.len, on_rec, &w, err, sizeof(err));
    fuzz_held(fmt, comp, d, n, got);
    if (got < 0) {
        FUZZ_CHECK(err[0] != '\0', "decode failed without a message");
    } else {
        FUZZ_CHECK((size_t)got == w.seen, "count %ld, handed out %zu", got, w.seen);
        FUZZ_CHECK(s3_writer_finish(w.w, &w.out) == 0, "finish failed");
        size_t again = 0;
        long got2 = s3_decode(fmt, w.out.data ? w.out.data : "", w.out.len, count, &again, err, sizeof(err));
        FUZZ_CHECK(got2 == got, "re-encoded object gives %ld records, not %ld: %s", got2, got, err);
    }
    s3_writer_free(w.w);
    s3_buf_free(&w.out);
    s3_buf_free(&plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: fuzz_xml(d, n); break;
    case 1: fuzz_object(S3_FMT_ENVELOPE, S3_COMP_NONE, d, n); break;
    case 2: fuzz_object(S3_FMT_AVRO, S3_COMP_NONE, d, n); break;
    case 3: fuzz_object(S3_FMT_ENVELOPE, S3_COMP_GZIP, d, n); break;
    default: fuzz_object(S3_FMT_ENVELOPE, S3_COMP_ZSTD, d, n); break;
    }
    char *key = malloc(n + 1);
    if (key) {
        memcpy(key, d, n);
        key[n] = '\0';
        char topic[256];
        int32_t p;
        int64_t start;
        if (s3_object_key_parse(key, topic, sizeof(topic), &p, &start) == 0)
            FUZZ_CHECK(topic[0] != '\0' && start >= 0, "parsed an empty topic or a negative offset");
        s3_format_kind_t f;
        s3_compression_t c;
        s3_format_from_name(key, &f, &c);
        free(key);
    }
    return 0;
}
