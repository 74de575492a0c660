/*
 * Unit tests of the s3 plugin's building blocks: archive formats (round
 * trips through every format and compression, determinism, corrupt input),
 * decoded objects held for reading (s3_object), object keys and
 * partitioners, and the XML scanner for S3's replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ferry/ferry.h>

#include "s3_format.h"
#include "s3_object.h"
#include "s3_path.h"
#include "s3_xml.h"

#define NREC 500

/* A deterministic record set: binary keys and values, null keys, tombstones,
 * headers with null values. */
typedef struct fixture {
    char keys[NREC][16];
    unsigned char values[NREC][300];
    size_t vlen[NREC];
    s3_hdr_t hdrs[NREC][2];
    s3_rec_t recs[NREC];
} fixture_t;

static fixture_t fx;

static void fixture_build(void)
{
    for (int i = 0; i < NREC; i++) {
        s3_rec_t *r = &fx.recs[i];
        memset(r, 0, sizeof(*r));
        r->topic = "orders";
        r->partition = 3;
        r->offset = 1000 + i * 2; /* gaps, as on a compacted topic */
        r->timestamp = 1700000000000LL + i;
        r->timestamp_type = i % 7 == 0 ? FERRY_TIMESTAMP_LOG_APPEND : FERRY_TIMESTAMP_CREATE;
        snprintf(fx.keys[i], sizeof(fx.keys[i]), "k%d", i);
        r->key = i % 5 == 0 ? NULL : fx.keys[i];
        r->key_len = r->key ? strlen(fx.keys[i]) : 0;
        fx.vlen[i] = (size_t)(i * 37 % 300);
        for (size_t b = 0; b < fx.vlen[i]; b++) fx.values[i][b] = (unsigned char)((i + b * 13) & 0xff);
        r->value = i % 11 == 0 ? NULL : fx.values[i];
        r->value_len = r->value ? fx.vlen[i] : 0;
        fx.hdrs[i][0] = (s3_hdr_t){"trace", 5, "abc\n\"x", 6};
        fx.hdrs[i][1] = (s3_hdr_t){"empty", 5, NULL, 0};
        r->headers = fx.hdrs[i];
        r->header_count = (size_t)(i % 3);
    }
}

static const unsigned char sync16[16] = "0123456789abcdef";

static void encode_all(s3_format_kind_t fmt, s3_compression_t comp, s3_buf_t *out)
{
    s3_writer_t *w = s3_writer_new(fmt, comp, "\n", 1, sync16);
    assert_non_null(w);
    for (int i = 0; i < NREC; i++) assert_true(s3_writer_add(w, &fx.recs[i], out) >= 0);
    assert_int_equal(s3_writer_finish(w, out), 0);
    s3_writer_free(w);
}

typedef struct cmp_ctx {
    size_t seen;
} cmp_ctx_t;

static int same_span(const void *a, size_t alen, const void *b, size_t blen)
{
    if ((a == NULL) != (b == NULL)) return 0;
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int check_rec(void *arg, const s3_rec_t *r, size_t index)
{
    cmp_ctx_t *c = arg;
    const s3_rec_t *e = &fx.recs[index];
    assert_int_equal(index, c->seen);
    assert_string_equal(r->topic, e->topic);
    assert_int_equal(r->partition, e->partition);
    assert_int_equal(r->offset, e->offset);
    assert_int_equal(r->timestamp, e->timestamp);
    assert_int_equal(r->timestamp_type, e->timestamp_type);
    assert_true(same_span(r->key, r->key_len, e->key, e->key_len));
    assert_true(same_span(r->value, r->value_len, e->value, e->value_len));
    assert_int_equal(r->header_count, e->header_count);
    for (size_t h = 0; h < r->header_count; h++) {
        assert_true(same_span(r->headers[h].name, r->headers[h].name_len, e->headers[h].name, e->headers[h].name_len));
        assert_true(same_span(r->headers[h].value, r->headers[h].value_len, e->headers[h].value,
                              e->headers[h].value_len));
    }
    c->seen++;
    return 0;
}

static void roundtrip(s3_format_kind_t fmt, s3_compression_t comp)
{
    s3_buf_t a = {0}, b = {0}, plain = {0};
    encode_all(fmt, comp, &a);
    encode_all(fmt, comp, &b);
    /* The same records give the same bytes: the sink's exactly-once rests on it. */
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    char err[256];
    s3_compression_t dcomp = fmt == S3_FMT_AVRO ? S3_COMP_NONE : comp;
    assert_int_equal(s3_decompress(dcomp, a.data, a.len, &plain, err, sizeof(err)), 0);
    cmp_ctx_t c = {0};
    long n = s3_decode(fmt, plain.data, plain.len, check_rec, &c, err, sizeof(err));
    assert_int_equal(n, NREC);
    assert_int_equal(c.seen, NREC);
    s3_buf_free(&a);
    s3_buf_free(&b);
    s3_buf_free(&plain);
}

static void test_roundtrip_envelope(void **state)
{
    (void)state;
    roundtrip(S3_FMT_ENVELOPE, S3_COMP_NONE);
    roundtrip(S3_FMT_ENVELOPE, S3_COMP_GZIP);
    roundtrip(S3_FMT_ENVELOPE, S3_COMP_ZSTD);
}

static void test_roundtrip_avro(void **state)
{
    (void)state;
    roundtrip(S3_FMT_AVRO, S3_COMP_NONE);
    roundtrip(S3_FMT_AVRO, S3_COMP_GZIP);
    roundtrip(S3_FMT_AVRO, S3_COMP_ZSTD);
}

static int count_only(void *arg, const s3_rec_t *r, size_t index)
{
    (void)r;
    (void)index;
    (*(size_t *)arg)++;
    return 0;
}

/* Every cut of an object is refused, never read past its end. */
static void truncations(s3_format_kind_t fmt, s3_compression_t comp)
{
    s3_buf_t a = {0};
    encode_all(fmt, comp, &a);
    char err[256];
    for (size_t cut = 0; cut < a.len; cut += 1 + a.len / 97) {
        s3_buf_t plain = {0};
        size_t seen = 0;
        int bad = 0;
        s3_compression_t dcomp = fmt == S3_FMT_AVRO ? S3_COMP_NONE : comp;
        if (s3_decompress(dcomp, a.data, cut, &plain, err, sizeof(err)) != 0) {
            bad = 1;
        } else if (s3_decode(fmt, plain.data ? plain.data : "", plain.len, count_only, &seen, err, sizeof(err)) < 0) {
            bad = 1;
        }
        /* A cut at a line end of an uncompressed envelope is a shorter valid object. */
        if (!bad) assert_true(seen < NREC);
        s3_buf_free(&plain);
    }
    s3_buf_free(&a);
}

static void test_truncated_objects(void **state)
{
    (void)state;
    truncations(S3_FMT_ENVELOPE, S3_COMP_GZIP);
    truncations(S3_FMT_ENVELOPE, S3_COMP_ZSTD);
    truncations(S3_FMT_AVRO, S3_COMP_NONE);
    truncations(S3_FMT_AVRO, S3_COMP_GZIP);
    /* A plain envelope cut inside a line says which record. */
    s3_buf_t a = {0};
    encode_all(S3_FMT_ENVELOPE, S3_COMP_NONE, &a);
    char err[256];
    size_t seen = 0;
    assert_int_equal(s3_decode(S3_FMT_ENVELOPE, a.data, a.len - 5, count_only, &seen, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "record 499"));
    /* Garbage in a line. */
    memcpy(a.data + 10, "\x01\x02", 2);
    assert_int_equal(s3_decode(S3_FMT_ENVELOPE, a.data, a.len, count_only, &seen, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "record 0"));
    s3_buf_free(&a);
}

static void test_json_and_bytes(void **state)
{
    (void)state;
    const char *vals[] = {"{\"a\":1}", "{\n \"b\": [1, 2]\n}", "plain text", NULL};
    s3_buf_t out = {0};
    s3_writer_t *w = s3_writer_new(S3_FMT_JSON, S3_COMP_NONE, "", 0, sync16);
    for (int i = 0; i < 4; i++) {
        s3_rec_t r = {.topic = "t", .value = vals[i], .value_len = vals[i] ? strlen(vals[i]) : 0};
        assert_int_equal(s3_writer_add(w, &r, &out), vals[i] ? 0 : 1); /* a tombstone is skipped */
    }
    s3_writer_finish(w, &out);
    s3_writer_free(w);
    assert_string_equal(out.data, "{\"a\":1}\n{\"b\":[1,2]}\n\"plain text\"\n");
    out.len = 0;
    w = s3_writer_new(S3_FMT_BYTES, S3_COMP_NONE, "|\n", 2, sync16);
    for (int i = 0; i < 3; i++) {
        s3_rec_t r = {.topic = "t", .value = vals[i], .value_len = strlen(vals[i])};
        assert_int_equal(s3_writer_add(w, &r, &out), 0);
    }
    s3_writer_finish(w, &out);
    s3_writer_free(w);
    assert_string_equal(out.data, "{\"a\":1}|\n{\n \"b\": [1, 2]\n}|\nplain text|\n");
    s3_buf_free(&out);
    char err[128];
    assert_int_equal(s3_decode(S3_FMT_JSON, "x", 1, count_only, NULL, err, sizeof(err)), -1);
}

/* s3_object_decode holds what the decoder saw, readable after the walk. */
static void object_check(s3_format_kind_t fmt, s3_compression_t comp, s3_object_t *o)
{
    s3_buf_t a = {0};
    encode_all(fmt, comp, &a);
    char key[256], why[256];
    assert_int_equal(s3_object_key(key, sizeof(key), "topics", "orders", "partition=3", 3, 1000,
                                   s3_format_ext(fmt, comp)),
                     0);
    assert_int_equal(s3_object_decode(o, key, a.data, a.len, why, sizeof(why)), S3_LOAD_OK);
    s3_buf_free(&a);
    assert_int_equal(o->nrec, NREC);
    for (size_t i = 0; i < o->nrec; i++) {
        const s3_orec_t *r = &o->recs[i];
        const s3_rec_t *e = &fx.recs[i];
        assert_int_equal(r->offset, e->offset);
        assert_int_equal(r->timestamp, e->timestamp);
        assert_int_equal(r->timestamp_type, e->timestamp_type);
        assert_true(same_span(s3_orec_key(o, r), r->key_len, e->key, e->key_len));
        assert_true(same_span(s3_orec_value(o, r), r->value_len, e->value, e->value_len));
        assert_int_equal(r->hdr_count, e->header_count);
        for (size_t h = 0; h < r->hdr_count; h++) {
            const s3_ohdr_t *oh = &o->hdrs[r->hdr_first + h];
            assert_int_equal(strlen(s3_ohdr_name(o, oh)), oh->name_len);
            assert_true(same_span(s3_ohdr_name(o, oh), oh->name_len, e->headers[h].name, e->headers[h].name_len));
            assert_true(same_span(s3_ohdr_value(o, oh), oh->value_len, e->headers[h].value, e->headers[h].value_len));
        }
    }
}

static void test_object_decode(void **state)
{
    (void)state;
    s3_object_t o = {0};
    /* One object reused from load to load, as replay and cold reads do. */
    object_check(S3_FMT_ENVELOPE, S3_COMP_NONE, &o);
    object_check(S3_FMT_ENVELOPE, S3_COMP_GZIP, &o);
    object_check(S3_FMT_ENVELOPE, S3_COMP_ZSTD, &o);
    object_check(S3_FMT_AVRO, S3_COMP_NONE, &o);
    object_check(S3_FMT_AVRO, S3_COMP_ZSTD, &o);
    char why[256];
    static const char junk[] = "garbage, not gzip\n";
    assert_int_equal(s3_object_decode(&o, "t/t+0+0000000000000000000.jsonl.gz", junk, sizeof(junk) - 1, why,
                                      sizeof(why)),
                     S3_LOAD_CORRUPT);
    assert_int_equal(o.nrec, 0);
    assert_int_equal(s3_object_decode(&o, "t/t+0+0000000000000000000.avro", junk, sizeof(junk) - 1, why,
                                      sizeof(why)),
                     S3_LOAD_CORRUPT);
    assert_int_equal(s3_object_decode(&o, "t/readme.txt", junk, sizeof(junk) - 1, why, sizeof(why)),
                     S3_LOAD_CORRUPT);
    assert_non_null(strstr(why, "no archive format"));
    /* An empty object has no records, and is no error. */
    assert_int_equal(s3_object_decode(&o, "t/t+0+0000000000000000000.jsonl", NULL, 0, why, sizeof(why)), S3_LOAD_OK);
    assert_int_equal(o.nrec, 0);
    s3_object_free(&o);
    s3_object_free(&o);
}

static void test_b64(void **state)
{
    (void)state;
    static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t n = 0; n < sizeof(want) / sizeof(want[0]); n++) {
        s3_buf_t b = {0};
        assert_int_equal(s3_b64(&b, "foobar", n), 0);
        assert_int_equal(b.len, strlen(want[n]));
        assert_true(b.len == 0 || memcmp(b.data, want[n], b.len) == 0);
        s3_buf_free(&b);
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(s3_format_parse("io.confluent.connect.s3.format.json.JsonFormat"), S3_FMT_JSON);
    assert_int_equal(s3_format_parse("avro"), S3_FMT_AVRO);
    assert_int_equal(s3_format_parse("parquet"), -1);
    assert_string_equal(s3_format_ext(S3_FMT_ENVELOPE, S3_COMP_ZSTD), ".jsonl.zst");
    s3_format_kind_t f;
    s3_compression_t c;
    assert_int_equal(s3_format_from_name("a/b/t+0+0000000000000000001.jsonl.gz", &f, &c), 0);
    assert_int_equal(f, S3_FMT_ENVELOPE);
    assert_int_equal(c, S3_COMP_GZIP);
    assert_int_equal(s3_format_from_name("x.avro", &f, &c), 0);
    assert_int_equal(f, S3_FMT_AVRO);
    assert_int_equal(s3_format_from_name("x.txt", &f, &c), -1);
}

static void test_object_keys(void **state)
{
    (void)state;
    char key[512], topic[64];
    int32_t p;
    int64_t start;
    assert_int_equal(s3_object_key(key, sizeof(key), "topics", "my.topic-1", "partition=7", 7, 42, ".jsonl"), 0);
    assert_string_equal(key, "topics/my.topic-1/partition=7/my.topic-1+7+0000000000000000042.jsonl");
    assert_int_equal(s3_object_key_parse(key, topic, sizeof(topic), &p, &start), 0);
    assert_string_equal(topic, "my.topic-1");
    assert_int_equal(p, 7);
    assert_int_equal(start, 42);
    assert_int_equal(s3_object_key(key, sizeof(key), "", "t", "x=1", 0, 0, ".avro"), 0);
    assert_string_equal(key, "t/x=1/t+0+0000000000000000000.avro");
    assert_int_equal(s3_object_key_parse("topics/t/readme.txt", topic, sizeof(topic), &p, &start), -1);
    assert_int_equal(s3_object_key_parse("topics/t/t+x+0000000000000000000.jsonl", topic, sizeof(topic), &p, &start), -1);
    assert_int_equal(s3_object_key_parse("topics/t/t+1+00000000001.jsonl", topic, sizeof(topic), &p, &start), -1);
    assert_int_equal(s3_object_key(key, 20, "topics", "t", "partition=0", 0, 0, ".jsonl"), -1);

    /* What replay and cold reads list: a name and a readable format. */
    s3_format_kind_t f;
    s3_compression_t c;
    assert_int_equal(s3_archive_key_parse("d/t/dt=2026-01-01/t+2+0000000000000000150.jsonl.zst", topic,
                                          sizeof(topic), &p, &start, &f, &c),
                     0);
    assert_string_equal(topic, "t");
    assert_int_equal(p, 2);
    assert_int_equal(start, 150);
    assert_int_equal(f, S3_FMT_ENVELOPE);
    assert_int_equal(c, S3_COMP_ZSTD);
    assert_int_equal(
        s3_archive_key_parse("d/t/x/t+2+0000000000000000150.txt", topic, sizeof(topic), &p, &start, &f, &c), -1);
    assert_int_equal(s3_archive_key_parse("d/t/x/notes.avro", topic, sizeof(topic), &p, &start, &f, &c), -1);
    assert_true(s3_object_order(5, "b", 10, "a") < 0);
    assert_true(s3_object_order(10, "a", 5, "b") > 0);
    assert_true(s3_object_order(5, "a", 5, "b") < 0);
    assert_int_equal(s3_object_order(5, "a", 5, "a"), 0);

    char dir[16];
    s3_dir_trim("//a/b//", dir, sizeof(dir));
    assert_string_equal(dir, "a/b");
    s3_dir_trim(NULL, dir, sizeof(dir));
    assert_string_equal(dir, "");
    s3_dir_trim("/", dir, sizeof(dir));
    assert_string_equal(dir, "");
    s3_dir_trim("abcdefghijklmnopqrstuvwxyz", dir, sizeof(dir));
    assert_string_equal(dir, "abcdefghijklmno");
    assert_int_equal(s3_topic_prefix(key, sizeof(key), "a/b", "t"), 0);
    assert_string_equal(key, "a/b/t/");
    assert_int_equal(s3_topic_prefix(key, sizeof(key), "", "t"), 0);
    assert_string_equal(key, "t/");
    assert_int_equal(s3_topic_prefix(key, 6, "a/b", "t"), -1);
}

static void test_partitioners(void **state)
{
    (void)state;
    char out[256], err[256];
    s3_rec_t r = {.topic = "t", .partition = 2, .timestamp = 1700000000123LL, .timestamp_type = FERRY_TIMESTAMP_CREATE};
    s3_partitioner_t p = {.kind = S3_PART_DEFAULT};
    assert_int_equal(s3_partition_encode(&p, &r, 0, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "partition=2");

    /* 1700000000123 = 2023-11-14T22:13:20.123Z */
    p = (s3_partitioner_t){.kind = S3_PART_TIME,
                           .path_format = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH",
                           .duration_ms = 3600000};
    assert_int_equal(s3_partition_encode(&p, &r, 0, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "year=2023/month=11/day=14/hour=22");
    assert_int_equal(s3_timezone_parse("+02:00", &p.tz_offset_s), 0);
    assert_int_equal(s3_partition_encode(&p, &r, 0, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "year=2023/month=11/day=15/hour=00");
    p.tz_offset_s = 0;
    p.path_format = "YYYY-MM-dd/HH-mm";
    p.duration_ms = 15 * 60000;
    assert_int_equal(s3_partition_encode(&p, &r, 0, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "2023-11-14/22-00");
    assert_int_equal(s3_path_format_check("'year=YYYY", err, sizeof(err)), -1);
    assert_int_equal(s3_path_format_check("YYYY%MM", err, sizeof(err)), -1);
    assert_int_equal(s3_timezone_parse("Europe/Paris", &p.tz_offset_s), -1);

    const char *v = "{\"region\":\"eu/west\",\"n\":5,\"ts\":\"2024-01-02T03:04:05.6Z\"}";
    r.value = v;
    r.value_len = strlen(v);
    const char *fields[] = {"region", "n"};
    p = (s3_partitioner_t){.kind = S3_PART_FIELD, .fields = fields, .field_count = 2};
    assert_int_equal(s3_partition_encode(&p, &r, 0, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "region=eu_west/n=5");
    const char *missing[] = {"nope"};
    p.fields = missing;
    p.field_count = 1;
    assert_int_equal(s3_partition_encode(&p, &r, 0, out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nope"));

    p = (s3_partitioner_t){.kind = S3_PART_TIME, .path_format = "YYYY/MM/dd/HH/mm/ss", .duration_ms = 1000,
                           .extractor = S3_TS_RECORD_FIELD, .ts_field = "ts"};
    assert_int_equal(s3_partition_encode(&p, &r, 0, out, sizeof(out), err, sizeof(err)), 0);
    assert_string_equal(out, "2024/01/02/03/04/05");
    r.value = "not json";
    r.value_len = 8;
    assert_int_equal(s3_partition_encode(&p, &r, 0, out, sizeof(out), err, sizeof(err)), -1);
}

static int keys_seen;
static void test_xml(void **state)
{
    (void)state;
    const char *doc = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\"><IsTruncated>true</IsTruncated>"
                      "<Contents><Key>a&amp;b&lt;&#233;&#x41;</Key><Size>12</Size></Contents>"
                      "<Contents><Key>c</Key><Size>0</Size></Contents><Empty/>"
                      "<NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>";
    char out[64];
    assert_int_equal(s3_xml_text(doc, strlen(doc), "IsTruncated", out, sizeof(out)), 4);
    assert_string_equal(out, "true");
    assert_true(s3_xml_text(doc, strlen(doc), "Key", out, sizeof(out)) > 0);
    assert_string_equal(out, "a&b<\xc3\xa9" "A");
    assert_int_equal(s3_xml_text(doc, strlen(doc), "Empty", out, sizeof(out)), 0);
    assert_int_equal(s3_xml_text(doc, strlen(doc), "Missing", out, sizeof(out)), -1);
    assert_int_equal(s3_xml_text(doc, strlen(doc), "NextContinuationToken", out, sizeof(out)), 6);
    /* Walk the entries the way s3_list does. */
    const char *p = doc, *inner;
    size_t left = strlen(doc), inner_len;
    const char *next;
    keys_seen = 0;
    while ((next = s3_xml_find(p, left, "Contents", &inner, &inner_len)) != NULL) {
        keys_seen++;
        left -= (size_t)(next - p);
        p = next;
    }
    assert_int_equal(keys_seen, 2);
    /* Unclosed, bad entities, too long. */
    assert_int_equal(s3_xml_text("<Key>abc", 8, "Key", out, sizeof(out)), -1);
    assert_int_equal(s3_xml_text("<Key>a&bogus;</Key>", 19, "Key", out, sizeof(out)), -1);
    assert_int_equal(s3_xml_text("<Key>&#0;</Key>", 15, "Key", out, sizeof(out)), -1);
    assert_int_equal(s3_xml_text("<Key>abcdef</Key>", 17, "Key", out, 4), -1);
    /* <KeyCount> is not <Key>. */
    assert_int_equal(s3_xml_text("<KeyCount>3</KeyCount>", 22, "Key", out, sizeof(out)), -1);
    char esc[64];
    assert_int_equal(s3_xml_escape("\"a\"&<b>'", esc, sizeof(esc)), 33);
    assert_string_equal(esc, "&quot;a&quot;&amp;&lt;b&gt;&apos;");
}

int main(void)
{
    fixture_build();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_envelope), cmocka_unit_test(test_roundtrip_avro),
        cmocka_unit_test(test_truncated_objects),  cmocka_unit_test(test_json_and_bytes),
        cmocka_unit_test(test_object_decode),      cmocka_unit_test(test_b64),
        cmocka_unit_test(test_names),              cmocka_unit_test(test_object_keys),
        cmocka_unit_test(test_partitioners),       cmocka_unit_test(test_xml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
