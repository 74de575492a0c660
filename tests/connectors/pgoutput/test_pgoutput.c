/*
 * Unit tests for the pgoutput decoder, the value formatter and the Debezium
 * envelope, on hand-built protocol bytes. Inputs that the decoder reads are
 * copied into exactly-sized heap blocks so AddressSanitizer catches any read
 * past the end. jansson only checks that output is valid JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "pgoutput.h"

/* ---- message builder -------------------------------------------------------------- */

typedef struct msgb {
    uint8_t data[4096];
    size_t len;
} msgb_t;

static void b_u8(msgb_t *m, uint8_t v) { m->data[m->len++] = v; }
static void b_u16(msgb_t *m, uint16_t v) { b_u8(m, (uint8_t)(v >> 8)); b_u8(m, (uint8_t)v); }
static void b_u32(msgb_t *m, uint32_t v) { b_u16(m, (uint16_t)(v >> 16)); b_u16(m, (uint16_t)v); }
static void b_u64(msgb_t *m, uint64_t v) { b_u32(m, (uint32_t)(v >> 32)); b_u32(m, (uint32_t)v); }
static void b_str(msgb_t *m, const char *s) { size_t n = strlen(s) + 1; memcpy(m->data + m->len, s, n); m->len += n; }
static void b_text(msgb_t *m, const char *s)
{
    b_u8(m, 't');
    b_u32(m, (uint32_t)strlen(s));
    memcpy(m->data + m->len, s, strlen(s));
    m->len += strlen(s);
}

/* Relation 16384 public.items (id int4 key, name text, data bytea). */
static void build_relation(msgb_t *m, uint32_t oid, int ncols, char ident)
{
    static const char *names[] = {"id", "name", "data", "extra"};
    static const uint32_t types[] = {23, 25, 17, 1700};
    b_u8(m, 'R');
    b_u32(m, oid);
    b_str(m, "public");
    b_str(m, "items");
    b_u8(m, (uint8_t)ident);
    b_u16(m, (uint16_t)ncols);
    for (int i = 0; i < ncols; i++) {
        b_u8(m, i == 0);
        b_str(m, names[i]);
        b_u32(m, types[i]);
        b_u32(m, (uint32_t)-1);
    }
}

static void build_tuple3(msgb_t *m, const char *id, const char *name)
{
    b_u16(m, 3);
    b_text(m, id);
    if (name)
        b_text(m, name);
    else
        b_u8(m, 'n');
    b_u8(m, 'u');
}

/* Decodes m from an exactly-sized heap copy. */
static int decode(pgoutput_decoder_t *dec, const uint8_t *p, size_t len, pgoutput_msg_t *msg,
                  char *err, size_t errlen, uint8_t **keep)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    int rc = pgoutput_decode(dec, copy, len, msg, err, errlen);
    if (keep)
        *keep = copy; /* msg points into it */
    else
        free(copy);
    return rc;
}

static void assert_valid_json(const char *s)
{
    json_error_t jerr;
    json_t *j = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j)
        fail_msg("invalid JSON (%s): %s", jerr.text, s);
    json_decref(j);
}

static pgoutput_decoder_t *decoder_with_relation(int proto)
{
    pgoutput_decoder_t *dec = pgoutput_decoder_new(proto);
    msgb_t m = {0};
    pgoutput_msg_t msg;
    char err[256];
    build_relation(&m, 16384, 3, 'd');
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    return dec;
}

/* ---- buffer, LSN, strings ---------------------------------------------------------- */

static void test_lsn(void **state)
{
    (void)state;
    uint64_t v;
    char buf[32];
    assert_int_equal(pg_lsn_parse("16/B374D848", &v), 0);
    assert_true(v == ((UINT64_C(0x16) << 32) | 0xB374D848));
    pg_lsn_format(v, buf);
    assert_string_equal(buf, "16/B374D848");
    assert_int_equal(pg_lsn_parse("0/0", &v), 0);
    assert_true(v == 0);
    assert_int_equal(pg_lsn_parse("FFFFFFFF/FFFFFFFF", &v), 0);
    assert_true(v == UINT64_MAX);
    const char *bad[] = {"", "/", "1/", "/1", "1/2/3", "123456789/0", "0/123456789", "g/0", "1 /2", "1/2 ", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(pg_lsn_parse(bad[i], &v), -1);
    assert_int_equal(pg_lsn_parse(NULL, &v), -1);
}

static void test_json_string(void **state)
{
    (void)state;
    pg_buf_t b = {0};
    const char in[] = "a\"b\\c\n\t\x01\x1f é😀 \x7f";
    pg_buf_json_string(&b, in, sizeof in - 1);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f é😀 \x7f\"");
    assert_valid_json(b.data);
    pg_buf_reset(&b);
    pg_buf_json_string(&b, "x\0y", 3); /* embedded NUL */
    assert_string_equal(b.data, "\"x\\u0000y\"");
    pg_buf_reset(&b);
    /* Invalid UTF-8: lone continuation, overlong, surrogate, truncated sequence. */
    pg_buf_json_string(&b, "\x80|\xc0\xaf|\xed\xa0\x80|\xe4\xb8", 11);
    assert_valid_json(b.data);
    assert_non_null(strstr(b.data, "\\ufffd"));
    pg_buf_reset(&b);
    pg_buf_json_string(&b, "", 0);
    assert_string_equal(b.data, "\"\"");
    pg_buf_reset(&b);
    for (int i = 0; i < 1000; i++)
        pg_buf_printf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(b.data));
    pg_buf_reset(&b);
    char big[600];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = 0;
    pg_buf_printf(&b, "<%s>", big);
    assert_int_equal(b.len, sizeof big + 1);
    pg_buf_free(&b);
    pg_buf_free(&b); /* free twice is fine */
}

/* ---- messages ------------------------------------------------------------------------- */

static void test_begin_commit(void **state)
{
    (void)state;
    pgoutput_decoder_t *dec = pgoutput_decoder_new(1);
    pgoutput_msg_t msg;
    char err[256];
    msgb_t m = {0};
    b_u8(&m, 'B');
    b_u64(&m, 0x100000020);
    b_u64(&m, 1000000); /* one second after 2000-01-01 */
    b_u32(&m, 755);
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.kind, PGO_BEGIN);
    assert_true(msg.final_lsn == 0x100000020);
    assert_true(msg.commit_ts_us == INT64_C(946684801000000));
    assert_int_equal(msg.xid, 755);

    m.len = 0;
    b_u8(&m, 'C');
    b_u8(&m, 0);
    b_u64(&m, 0x100000020);
    b_u64(&m, 0x100000050);
    b_u64(&m, (uint64_t)INT64_C(-1000000)); /* before 2000: negative PG time */
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.kind, PGO_COMMIT);
    assert_true(msg.commit_lsn == 0x100000020 && msg.end_lsn == 0x100000050);
    assert_true(msg.commit_ts_us == INT64_C(946684799000000));

    /* An absurd timestamp saturates instead of overflowing. */
    m.len = 0;
    b_u8(&m, 'B');
    b_u64(&m, 1);
    b_u64(&m, (uint64_t)INT64_MAX);
    b_u32(&m, 1);
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_true(msg.commit_ts_us == INT64_MAX);
    pgoutput_decoder_free(dec);
}

static void test_relation_and_rows(void **state)
{
    (void)state;
    pgoutput_decoder_t *dec = pgoutput_decoder_new(1);
    pgoutput_msg_t msg;
    char err[256];
    msgb_t m = {0};
    uint8_t *keep = NULL;
    pg_buf_t out = {0};

    /* Unknown relation first. */
    b_u8(&m, 'I');
    b_u32(&m, 16384);
    b_u8(&m, 'N');
    build_tuple3(&m, "1", "a");
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "unknown relation id 16384"));

    msgb_t r = {0};
    build_relation(&r, 16384, 3, 'd');
    assert_int_equal(decode(dec, r.data, r.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.kind, PGO_RELATION);
    assert_string_equal(msg.rel->schema, "public");
    assert_string_equal(msg.rel->table, "items");
    assert_int_equal(msg.rel->ncols, 3);
    assert_int_equal(msg.rel->replident, 'd');
    assert_true(msg.rel->cols[0].is_key && !msg.rel->cols[1].is_key);
    assert_int_equal(msg.rel->cols[2].type_oid, 17);
    assert_int_equal(msg.rel->cols[2].typmod, -1);
    assert_ptr_equal(pgoutput_relation(dec, 16384), msg.rel);
    assert_null(pgoutput_relation(dec, 1));

    /* Insert: text, null, unchanged toast. */
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, &keep), 0);
    assert_int_equal(msg.kind, PGO_INSERT);
    assert_int_equal(msg.new_tuple.ncols, 3);
    assert_int_equal(msg.new_tuple.cols[0].kind, PG_DATUM_TEXT);
    assert_int_equal(msg.new_tuple.cols[2].kind, PG_DATUM_UNCHANGED_TOAST);
    pg_row_json(&out, msg.rel, &msg.new_tuple, 0, &(pg_format_t){.unavailable = "__unavail"});
    assert_string_equal(out.data, "{\"id\":1,\"name\":\"a\",\"data\":\"X191bmF2YWls\"}");
    pg_buf_reset(&out);
    pg_row_json(&out, msg.rel, &msg.new_tuple, 1, NULL);
    assert_string_equal(out.data, "{\"id\":1}");
    pg_buf_reset(&out);
    free(keep);

    /* Update with old key, old tuple, and none. */
    for (int variant = 0; variant < 3; variant++) {
        m.len = 0;
        b_u8(&m, 'U');
        b_u32(&m, 16384);
        if (variant < 2) {
            b_u8(&m, variant == 0 ? 'K' : 'O');
            build_tuple3(&m, "1", variant == 0 ? NULL : "old");
        }
        b_u8(&m, 'N');
        build_tuple3(&m, "2", "new");
        assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, &keep), 0);
        assert_int_equal(msg.kind, PGO_UPDATE);
        assert_int_equal(msg.old_kind, variant == 0 ? 'K' : variant == 1 ? 'O' : 0);
        pg_row_json(&out, msg.rel, &msg.new_tuple, 0, &(pg_format_t){.unavailable = "T"});
        assert_string_equal(out.data, "{\"id\":2,\"name\":\"new\",\"data\":\"VA==\"}");
        pg_buf_reset(&out);
        if (variant < 2) {
            pg_row_json(&out, msg.rel, &msg.old_tuple, 0, &(pg_format_t){.unavailable = "T"});
            assert_string_equal(out.data, variant == 0 ? "{\"id\":1,\"name\":null,\"data\":\"VA==\"}"
                                                       : "{\"id\":1,\"name\":\"old\",\"data\":\"VA==\"}");
            pg_buf_reset(&out);
        }
        free(keep);
    }

    /* Delete with 'K' and 'O'; a Delete without old tuple is an error. */
    for (int variant = 0; variant < 3; variant++) {
        m.len = 0;
        b_u8(&m, 'D');
        b_u32(&m, 16384);
        b_u8(&m, variant == 0 ? 'K' : variant == 1 ? 'O' : 'N');
        build_tuple3(&m, "7", NULL);
        int rc = decode(dec, m.data, m.len, &msg, err, sizeof err, NULL);
        if (variant == 2) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "Delete"));
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(msg.kind, PGO_DELETE);
            assert_int_equal(msg.old_kind, variant == 0 ? 'K' : 'O');
            assert_int_equal(msg.old_tuple.ncols, 3);
        }
    }

    /* Column count mismatch with the relation is an error, not a misread. */
    m.len = 0;
    b_u8(&m, 'I');
    b_u32(&m, 16384);
    b_u8(&m, 'N');
    b_u16(&m, 1);
    b_u8(&m, 'n');
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "columns"));

    /* Schema change: a new Relation replaces the entry. */
    r.len = 0;
    build_relation(&r, 16384, 4, 'f');
    assert_int_equal(decode(dec, r.data, r.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(pgoutput_relation(dec, 16384)->ncols, 4);
    assert_int_equal(pgoutput_relation(dec, 16384)->replident, 'f');
    m.len = 0;
    b_u8(&m, 'I');
    b_u32(&m, 16384);
    b_u8(&m, 'N');
    b_u16(&m, 4);
    b_text(&m, "3");
    b_text(&m, "");
    b_text(&m, "\\x00ff");
    b_text(&m, "1.50");
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, &keep), 0);
    pg_row_json(&out, msg.rel, &msg.new_tuple, 0, NULL);
    assert_string_equal(out.data, "{\"id\":3,\"name\":\"\",\"data\":\"AP8=\",\"extra\":{\"scale\":1,\"value\":\"Dw==\"}}");
    free(keep);

    /* Many relations: the cache grows and keeps all of them. */
    for (uint32_t oid = 20000; oid < 20500; oid++) {
        r.len = 0;
        build_relation(&r, oid, 1, 'd');
        assert_int_equal(decode(dec, r.data, r.len, &msg, err, sizeof err, NULL), 0);
    }
    for (uint32_t oid = 20000; oid < 20500; oid++)
        assert_non_null(pgoutput_relation(dec, oid));
    assert_int_equal(pgoutput_relation(dec, 16384)->ncols, 4);

    /* Relation in pg_catalog arrives with an empty namespace. */
    r.len = 0;
    b_u8(&r, 'R');
    b_u32(&r, 1259);
    b_str(&r, "");
    b_str(&r, "pg_class");
    b_u8(&r, 'n');
    b_u16(&r, 0);
    assert_int_equal(decode(dec, r.data, r.len, &msg, err, sizeof err, NULL), 0);
    assert_string_equal(msg.rel->schema, "pg_catalog");
    assert_int_equal(msg.rel->ncols, 0);

    pg_buf_free(&out);
    pgoutput_decoder_free(dec);
}

static void test_truncate_origin_type_message(void **state)
{
    (void)state;
    pgoutput_decoder_t *dec = decoder_with_relation(1);
    pgoutput_msg_t msg;
    char err[256];
    msgb_t m = {0}, r = {0};
    uint8_t *keep = NULL;
    build_relation(&r, 16385, 1, 'd');
    assert_int_equal(decode(dec, r.data, r.len, &msg, err, sizeof err, NULL), 0);

    b_u8(&m, 'T');
    b_u32(&m, 2);
    b_u8(&m, 3);
    b_u32(&m, 16384);
    b_u32(&m, 16385);
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.kind, PGO_TRUNCATE);
    assert_int_equal(msg.ntruncated, 2);
    assert_int_equal(msg.truncate_flags, 3);
    assert_int_equal(msg.truncated[0]->oid, 16384);
    assert_int_equal(msg.truncated[1]->oid, 16385);
    /* One relation unknown: error. */
    m.data[m.len - 1] = 0x99;
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "unknown relation id"));
    /* A relation count larger than the message: error, no allocation. */
    m.len = 0;
    b_u8(&m, 'T');
    b_u32(&m, 0x7fffffff);
    b_u8(&m, 0);
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), -1);

    m.len = 0;
    b_u8(&m, 'O');
    b_u64(&m, 0x10);
    b_str(&m, "origin1");
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, &keep), 0);
    assert_int_equal(msg.kind, PGO_ORIGIN);
    assert_true(msg.origin_lsn == 0x10);
    assert_string_equal(msg.origin_name, "origin1");
    free(keep);

    m.len = 0;
    b_u8(&m, 'Y');
    b_u32(&m, 16400);
    b_str(&m, "public");
    b_str(&m, "mood");
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, &keep), 0);
    assert_int_equal(msg.kind, PGO_TYPE);
    assert_int_equal(msg.type_oid, 16400);
    assert_string_equal(msg.type_schema, "public");
    assert_string_equal(msg.type_name, "mood");
    free(keep);

    for (int tx = 0; tx < 2; tx++) {
        m.len = 0;
        b_u8(&m, 'M');
        b_u8(&m, (uint8_t)tx);
        b_u64(&m, 0x2000);
        b_str(&m, "ferry");
        b_u32(&m, 3);
        b_u8(&m, 'a');
        b_u8(&m, 0);
        b_u8(&m, 'b');
        assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, &keep), 0);
        assert_int_equal(msg.kind, PGO_MESSAGE);
        assert_int_equal(msg.transactional, tx);
        assert_true(msg.message_lsn == 0x2000);
        assert_string_equal(msg.prefix, "ferry");
        assert_int_equal(msg.content_len, 3);
        assert_memory_equal(msg.content, "a\0b", 3);
        free(keep);
    }
    pgoutput_decoder_free(dec);
}

static void test_stream_v2(void **state)
{
    (void)state;
    pgoutput_decoder_t *dec = decoder_with_relation(2);
    pgoutput_msg_t msg;
    char err[256];
    msgb_t m = {0};

    b_u8(&m, 'S');
    b_u32(&m, 900);
    b_u8(&m, 1);
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.kind, PGO_STREAM_START);
    assert_int_equal(msg.xid, 900);
    assert_int_equal(pgoutput_in_stream(dec), 1);

    /* Inside the stream, Relation and Insert carry the xid first. */
    m.len = 0;
    b_u8(&m, 'R');
    b_u32(&m, 900);
    memcpy(m.data + m.len, "", 0);
    {
        msgb_t r = {0};
        build_relation(&r, 16390, 3, 'd');
        memcpy(m.data + m.len, r.data + 1, r.len - 1);
        m.len += r.len - 1;
    }
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.xid, 900);
    assert_int_equal(msg.rel->oid, 16390);

    m.len = 0;
    b_u8(&m, 'I');
    b_u32(&m, 901);
    b_u32(&m, 16390);
    b_u8(&m, 'N');
    build_tuple3(&m, "5", "s");
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.xid, 901);
    assert_int_equal(msg.new_tuple.ncols, 3);

    m.len = 0;
    b_u8(&m, 'E');
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.kind, PGO_STREAM_STOP);
    assert_int_equal(pgoutput_in_stream(dec), 0);

    /* Outside the stream the same Insert without xid decodes. */
    m.len = 0;
    b_u8(&m, 'I');
    b_u32(&m, 16390);
    b_u8(&m, 'N');
    build_tuple3(&m, "6", "t");
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.xid, 0);

    m.len = 0;
    b_u8(&m, 'c');
    b_u32(&m, 900);
    b_u8(&m, 0);
    b_u64(&m, 0x500);
    b_u64(&m, 0x600);
    b_u64(&m, 0);
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.kind, PGO_STREAM_COMMIT);
    assert_int_equal(msg.xid, 900);
    assert_true(msg.commit_lsn == 0x500 && msg.end_lsn == 0x600);
    assert_true(msg.commit_ts_us == INT64_C(946684800000000));

    m.len = 0;
    b_u8(&m, 'A');
    b_u32(&m, 900);
    b_u32(&m, 902);
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), 0);
    assert_int_equal(msg.kind, PGO_STREAM_ABORT);
    assert_int_equal(msg.sub_xid, 902);
    pgoutput_decoder_free(dec);

    /* Proto 1 has no streaming messages. */
    dec = pgoutput_decoder_new(1);
    m.len = 0;
    b_u8(&m, 'S');
    b_u32(&m, 900);
    b_u8(&m, 1);
    assert_int_equal(decode(dec, m.data, m.len, &msg, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "unknown message type 'S'"));
    pgoutput_decoder_free(dec);
    assert_null(pgoutput_decoder_new(3));
    assert_null(pgoutput_decoder_new(0));
}

/* Every valid message of the protocol, built for prefix/garbage tests. */
static int all_messages(msgb_t *out, int max)
{
    int n = 0;
    msgb_t *m;
#define NEXT() (m = &out[n++], m->len = 0, assert_true(n <= max))
    NEXT(); b_u8(m, 'B'); b_u64(m, 1); b_u64(m, 2); b_u32(m, 3);
    NEXT(); b_u8(m, 'C'); b_u8(m, 0); b_u64(m, 1); b_u64(m, 2); b_u64(m, 3);
    NEXT(); b_u8(m, 'O'); b_u64(m, 1); b_str(m, "o");
    NEXT(); build_relation(m, 16384, 3, 'd');
    NEXT(); b_u8(m, 'Y'); b_u32(m, 1); b_str(m, "s"); b_str(m, "t");
    NEXT(); b_u8(m, 'I'); b_u32(m, 16384); b_u8(m, 'N'); build_tuple3(m, "1", "x");
    NEXT(); b_u8(m, 'U'); b_u32(m, 16384); b_u8(m, 'K'); build_tuple3(m, "1", NULL); b_u8(m, 'N'); build_tuple3(m, "2", "y");
    NEXT(); b_u8(m, 'U'); b_u32(m, 16384); b_u8(m, 'O'); build_tuple3(m, "1", "a"); b_u8(m, 'N'); build_tuple3(m, "2", "y");
    NEXT(); b_u8(m, 'U'); b_u32(m, 16384); b_u8(m, 'N'); build_tuple3(m, "2", "y");
    NEXT(); b_u8(m, 'D'); b_u32(m, 16384); b_u8(m, 'K'); build_tuple3(m, "1", NULL);
    NEXT(); b_u8(m, 'D'); b_u32(m, 16384); b_u8(m, 'O'); build_tuple3(m, "1", "z");
    NEXT(); b_u8(m, 'T'); b_u32(m, 2); b_u8(m, 0); b_u32(m, 16384); b_u32(m, 16384);
    NEXT(); b_u8(m, 'M'); b_u8(m, 1); b_u64(m, 5); b_str(m, "p"); b_u32(m, 2); b_u8(m, 'h'); b_u8(m, 'i');
#undef NEXT
    return n;
}

/* Every proper prefix of every valid message is an error with a message,
 * and so is the message with a byte appended; the cache survives. */
static void test_truncated_prefixes(void **state)
{
    (void)state;
    msgb_t msgs[32];
    int n = all_messages(msgs, 32);
    pgoutput_decoder_t *dec = decoder_with_relation(1);
    const pg_relation_t *rel = pgoutput_relation(dec, 16384);
    pgoutput_msg_t msg;
    char err[256];
    for (int i = 0; i < n; i++) {
        assert_int_equal(decode(dec, msgs[i].data, msgs[i].len, &msg, err, sizeof err, NULL), 0);
        rel = pgoutput_relation(dec, 16384);
        for (size_t cut = 0; cut < msgs[i].len; cut++) {
            err[0] = 0;
            if (decode(dec, msgs[i].data, cut, &msg, err, sizeof err, NULL) != -1)
                fail_msg("message %d (%c) cut at %zu decoded", i, msgs[i].data[0], cut);
            assert_true(strncmp(err, "pgoutput: ", 10) == 0);
            assert_int_equal(msg.kind, 0);
            /* A failed Relation never replaces the cached one. */
            assert_ptr_equal(pgoutput_relation(dec, 16384), rel);
        }
        msgs[i].data[msgs[i].len] = 0;
        assert_int_equal(decode(dec, msgs[i].data, msgs[i].len + 1, &msg, err, sizeof err, NULL), -1);
        assert_non_null(strstr(err, "trailing"));
    }
    /* NULL buffer, tiny error buffers. */
    assert_int_equal(pgoutput_decode(dec, NULL, 5, &msg, err, sizeof err), -1);
    assert_int_equal(pgoutput_decode(dec, msgs[0].data, 3, &msg, err, 4), -1);
    assert_int_equal(strlen(err), 3);
    assert_int_equal(pgoutput_decode(dec, msgs[0].data, 3, &msg, NULL, 0), -1);
    assert_int_equal(pgoutput_decode(NULL, msgs[0].data, msgs[0].len, &msg, err, sizeof err), -1);
    pgoutput_decoder_free(dec);
    pgoutput_decoder_free(NULL);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

/* Random bytes and mutated valid messages: never a crash or over-read (ASan
 * checks); whatever decodes renders as valid JSON. */
static void test_garbage(void **state)
{
    (void)state;
    msgb_t msgs[32];
    int n = all_messages(msgs, 32);
    const char kinds[] = "BCORYIUDTMSEcA";
    for (int proto = 1; proto <= 2; proto++) {
        pgoutput_decoder_t *dec = decoder_with_relation(proto);
        pgoutput_msg_t msg;
        char err[256];
        pg_buf_t out = {0};
        for (int iter = 0; iter < 60000; iter++) {
            msgb_t m;
            if (iter % 2) {
                m = msgs[rnd() % (uint32_t)n];
                int flips = 1 + (int)(rnd() % 4);
                for (int f = 0; f < flips; f++)
                    m.data[rnd() % m.len] = (uint8_t)rnd();
                if (rnd() % 4 == 0)
                    m.len = rnd() % (m.len + 1);
            } else {
                m.len = rnd() % 48;
                for (size_t i = 0; i < m.len; i++)
                    m.data[i] = (uint8_t)rnd();
                if (m.len)
                    m.data[0] = (uint8_t)kinds[rnd() % (sizeof kinds - 1)];
            }
            uint8_t *keep = NULL;
            if (decode(dec, m.data, m.len, &msg, err, sizeof err, &keep) == 0) {
                if (msg.kind == PGO_INSERT || msg.kind == PGO_UPDATE || msg.kind == PGO_DELETE) {
                    pg_buf_reset(&out);
                    pg_row_json(&out, msg.rel, msg.kind == PGO_DELETE ? &msg.old_tuple : &msg.new_tuple,
                                0, NULL);
                    assert_valid_json(out.data);
                }
            } else {
                assert_true(strncmp(err, "pgoutput: ", 10) == 0);
            }
            free(keep);
            /* Keep relation 16384 around for the mutated row messages. */
            if (!pgoutput_relation(dec, 16384) || pgoutput_relation(dec, 16384)->ncols != 3) {
                assert_int_equal(decode(dec, msgs[3].data, msgs[3].len, &msg, err, sizeof err, NULL), 0);
            }
        }
        pg_buf_free(&out);
        pgoutput_decoder_free(dec);
    }
}

/* In test_pgoutput_values.c. */
void test_values(void **state);
void test_values_garbage(void **state);
void test_resolver(void **state);
void test_json_valid(void **state);
void test_datum_and_envelope(void **state);

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lsn),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_begin_commit),
        cmocka_unit_test(test_relation_and_rows),
        cmocka_unit_test(test_truncate_origin_type_message),
        cmocka_unit_test(test_stream_v2),
        cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_values_garbage),
        cmocka_unit_test(test_resolver),
        cmocka_unit_test(test_json_valid),
        cmocka_unit_test(test_datum_and_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
