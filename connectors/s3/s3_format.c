/*
 * s3_format.c — the archive formats of s3_format.h: names, and encoders
 * with streaming compression for the sink.
 *
 * Reading is in s3_decode.c.
 *
 * Avro is written here rather than through libavro: libavro draws a random
 * sync marker for every file, so the same records would give different
 * bytes, and the sink's exactly-once object set rests on equal bytes. The
 * container layout (magic, metadata map, sync marker, blocks of
 * count/size/data/sync) is the Avro 1.11 specification's; any Avro reader
 * reads it (the suite checks with fastavro).
 */
#include "s3_format.h"

#include <ferry/ferry.h>
#include <jansson.h>
#include <zlib.h>
#include <zstd.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AVRO_BLOCK_BYTES (64 * 1024)

const char s3_avro_schema[] =
    "{\"type\":\"record\",\"name\":\"KafkaRecord\",\"namespace\":\"dev.ferry.archive\",\"fields\":["
    "{\"name\":\"topic\",\"type\":\"string\"},"
    "{\"name\":\"partition\",\"type\":\"int\"},"
    "{\"name\":\"offset\",\"type\":\"long\"},"
    "{\"name\":\"timestamp\",\"type\":\"long\"},"
    "{\"name\":\"timestampType\",\"type\":\"string\"},"
    "{\"name\":\"key\",\"type\":[\"null\",\"bytes\"]},"
    "{\"name\":\"value\",\"type\":[\"null\",\"bytes\"]},"
    "{\"name\":\"headers\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\","
    "\"name\":\"Header\",\"fields\":[{\"name\":\"key\",\"type\":\"string\"},"
    "{\"name\":\"value\",\"type\":[\"null\",\"bytes\"]}]}}}]}";

/* ---- names ------------------------------------------------------------------- */

int s3_format_parse(const char *name)
{
    if (strcmp(name, "envelope") == 0) return S3_FMT_ENVELOPE;
    if (strcmp(name, "json") == 0 || strcmp(name, "io.confluent.connect.s3.format.json.JsonFormat") == 0)
        return S3_FMT_JSON;
    if (strcmp(name, "bytes") == 0 ||
        strcmp(name, "io.confluent.connect.s3.format.bytearray.ByteArrayFormat") == 0)
        return S3_FMT_BYTES;
    if (strcmp(name, "avro") == 0 || strcmp(name, "io.confluent.connect.s3.format.avro.AvroFormat") == 0)
        return S3_FMT_AVRO;
    return -1;
}

int s3_compression_parse(const char *name)
{
    if (strcmp(name, "none") == 0) return S3_COMP_NONE;
    if (strcmp(name, "gzip") == 0) return S3_COMP_GZIP;
    if (strcmp(name, "zstd") == 0) return S3_COMP_ZSTD;
    return -1;
}

static const char *const base_ext[] = {".jsonl", ".json", ".bin", ".avro"};

const char *s3_format_ext(s3_format_kind_t fmt, s3_compression_t comp)
{
    static const char *const ext[4][3] = {{".jsonl", ".jsonl.gz", ".jsonl.zst"},
                                          {".json", ".json.gz", ".json.zst"},
                                          {".bin", ".bin.gz", ".bin.zst"},
                                          {".avro", ".avro", ".avro"}}; /* Avro compresses per block */
    return ext[fmt][comp];
}

const char *s3_format_content_type(s3_format_kind_t fmt, s3_compression_t comp)
{
    if (fmt == S3_FMT_AVRO) return "application/avro";
    if (comp == S3_COMP_GZIP) return "application/gzip";
    if (comp == S3_COMP_ZSTD) return "application/zstd";
    return fmt == S3_FMT_BYTES ? "application/octet-stream" : "application/x-ndjson";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int s3_format_from_name(const char *key, s3_format_kind_t *fmt, s3_compression_t *comp)
{
    static const char *const comp_ext[] = {"", ".gz", ".zst"};
    for (int f = 0; f < 4; f++) {
        for (int c = 0; c < 3; c++) {
            if (f == S3_FMT_AVRO && c > 0) continue;
            char ext[32];
            snprintf(ext, sizeof(ext), "%s%s", base_ext[f], comp_ext[c]);
            if (ends_with(key, ext)) {
                *fmt = (s3_format_kind_t)f;
                *comp = (s3_compression_t)c;
                return 0;
            }
        }
    }
    return -1;
}

/* ---- small encoders ----------------------------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int s3_b64(s3_buf_t *b, const void *data, size_t n)
{
    const unsigned char *p = data;
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        q[0] = b64chars[v >> 18];
        q[1] = b64chars[(v >> 12) & 63];
        q[2] = b64chars[(v >> 6) & 63];
        q[3] = b64chars[v & 63];
        if (s3_buf_append(b, q, 4) != 0) return -1;
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        q[0] = b64chars[v >> 18];
        q[1] = b64chars[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        q[3] = '=';
        if (s3_buf_append(b, q, 4) != 0) return -1;
    }
    return 0;
}

/* A JSON string literal of [s, s+n). */
int s3_json_str(s3_buf_t *b, const char *s, size_t n)
{
    if (s3_buf_append(b, "\"", 1) != 0) return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        if (s3_buf_append(b, s + run, i - run) != 0) return -1;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            esc[2] = '\0';
        } else if (ch == '\n') {
            memcpy(esc, "\\n", 3);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
        }
        if (s3_buf_append(b, esc, strlen(esc)) != 0) return -1;
        run = i + 1;
    }
    if (s3_buf_append(b, s + run, n - run) != 0) return -1;
    return s3_buf_append(b, "\"", 1);
}

static int put_str(s3_buf_t *b, const char *s)
{
    return s3_buf_append(b, s, strlen(s));
}

static const char *ts_type_name(int t)
{
    return t == FERRY_TIMESTAMP_CREATE ? "CreateTime" : t == FERRY_TIMESTAMP_LOG_APPEND ? "LogAppendTime" : "NoTimestampType";
}

static int encode_envelope(s3_buf_t *b, const s3_rec_t *r)
{
    char num[96];
    int bad = put_str(b, "{\"topic\":") || s3_json_str(b, r->topic, strlen(r->topic));
    snprintf(num, sizeof(num), ",\"partition\":%d,\"offset\":%lld,\"timestamp\":%lld,\"timestampType\":\"",
             r->partition, (long long)r->offset, (long long)r->timestamp);
    bad = bad || put_str(b, num) || put_str(b, ts_type_name(r->timestamp_type)) || put_str(b, "\",\"key\":");
    if (r->key) {
        bad = bad || put_str(b, "\"") || s3_b64(b, r->key, r->key_len) || put_str(b, "\"");
    } else {
        bad = bad || put_str(b, "null");
    }
    bad = bad || put_str(b, ",\"value\":");
    if (r->value) {
        bad = bad || put_str(b, "\"") || s3_b64(b, r->value, r->value_len) || put_str(b, "\"");
    } else {
        bad = bad || put_str(b, "null");
    }
    bad = bad || put_str(b, ",\"headers\":[");
    for (size_t i = 0; i < r->header_count && !bad; i++) {
        const s3_hdr_t *h = &r->headers[i];
        bad = (i && put_str(b, ",")) || put_str(b, "{\"key\":") || s3_json_str(b, h->name, h->name_len) ||
              put_str(b, ",\"value\":");
        if (h->value) {
            bad = bad || put_str(b, "\"") || s3_b64(b, h->value, h->value_len) || put_str(b, "\"}");
        } else {
            bad = bad || put_str(b, "null}");
        }
    }
    return bad || put_str(b, "]}\n") ? -1 : 0;
}

/* json: a value that is one JSON text without line breaks is written as it
 * is; JSON with line breaks is re-serialised compactly; anything else is
 * written as a JSON string. */
static int encode_json(s3_buf_t *b, const s3_rec_t *r)
{
    json_error_t jerr;
    json_t *j = json_loadb(r->value, r->value_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    int bad;
    if (j && memchr(r->value, '\n', r->value_len) == NULL && memchr(r->value, '\r', r->value_len) == NULL) {
        bad = s3_buf_append(b, r->value, r->value_len);
    } else if (j) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        bad = s == NULL || put_str(b, s);
        free(s);
    } else {
        bad = s3_json_str(b, r->value, r->value_len);
    }
    json_decref(j);
    return bad || put_str(b, "\n") ? -1 : 0;
}

/* Avro: zig-zag varint longs, length-prefixed bytes/strings. */
static int avro_long(s3_buf_t *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    unsigned char o[10];
    size_t n = 0;
    do {
        unsigned char c = z & 0x7f;
        z >>= 7;
        o[n++] = (unsigned char)(c | (z ? 0x80 : 0));
    } while (z);
    return s3_buf_append(b, o, n);
}

static int avro_bytes(s3_buf_t *b, const void *p, size_t n)
{
    return avro_long(b, (int64_t)n) || s3_buf_append(b, p, n);
}

static int encode_avro(s3_buf_t *b, const s3_rec_t *r)
{
    const char *tt = ts_type_name(r->timestamp_type);
    int bad = avro_bytes(b, r->topic, strlen(r->topic)) || avro_long(b, r->partition) ||
              avro_long(b, r->offset) || avro_long(b, r->timestamp) || avro_bytes(b, tt, strlen(tt));
    bad = bad || (r->key ? avro_long(b, 1) || avro_bytes(b, r->key, r->key_len) : avro_long(b, 0));
    bad = bad || (r->value ? avro_long(b, 1) || avro_bytes(b, r->value, r->value_len) : avro_long(b, 0));
    if (r->header_count) {
        bad = bad || avro_long(b, (int64_t)r->header_count);
        for (size_t i = 0; i < r->header_count && !bad; i++) {
            const s3_hdr_t *h = &r->headers[i];
            bad = avro_bytes(b, h->name, h->name_len) ||
                  (h->value ? avro_long(b, 1) || avro_bytes(b, h->value, h->value_len) : avro_long(b, 0));
        }
    }
    return bad || avro_long(b, 0) ? -1 : 0; /* the array's end */
}

/* ---- the writer --------------------------------------------------------------- */

struct s3_writer {
    s3_format_kind_t fmt;
    s3_compression_t comp;
    char sep[16];
    size_t sep_len;
    unsigned char sync[16];
    s3_buf_t scratch;   /* the current record's encoding (or Avro's block) */
    int64_t block_count; /* Avro: records in scratch */
    int header_done;
    uint64_t raw;
    z_stream z;
    int z_open;
    ZSTD_CCtx *zc;
};

s3_writer_t *s3_writer_new(s3_format_kind_t fmt, s3_compression_t comp, const char *sep,
                           size_t sep_len, const unsigned char sync[16])
{
    s3_writer_t *w = calloc(1, sizeof(*w));
    if (w == NULL) return NULL;
    w->fmt = fmt;
    w->comp = comp;
    w->sep_len = sep_len < sizeof(w->sep) ? sep_len : sizeof(w->sep);
    memcpy(w->sep, sep, w->sep_len);
    memcpy(w->sync, sync, 16);
    if (comp == S3_COMP_GZIP) {
        /* Avro: raw deflate per block (its "deflate" codec); otherwise a gzip stream. */
        int bits = fmt == S3_FMT_AVRO ? -15 : 15 + 16;
        if (fmt != S3_FMT_AVRO) {
            if (deflateInit2(&w->z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
                free(w);
                return NULL;
            }
            w->z_open = 1;
        }
    } else if (comp == S3_COMP_ZSTD) {
        w->zc = ZSTD_createCCtx();
        if (w->zc == NULL) {
            free(w);
            return NULL;
        }
        ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, 3);
        ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
    }
    return w;
}

void s3_writer_free(s3_writer_t *w)
{
    if (w == NULL) return;
    if (w->z_open) deflateEnd(&w->z);
    ZSTD_freeCCtx(w->zc);
    s3_buf_free(&w->scratch);
    free(w);
}

uint64_t s3_writer_raw_bytes(const s3_writer_t *w)
{
    return w->raw;
}

/* Feeds [p, p+n) to the stream compressor (or copies it), appending to out. */
static int compress_feed(s3_writer_t *w, const void *p, size_t n, int end, s3_buf_t *out)
{
    unsigned char chunk[64 * 1024];
    if (w->comp == S3_COMP_NONE || w->fmt == S3_FMT_AVRO) {
        return s3_buf_append(out, p, n);
    }
    if (w->comp == S3_COMP_GZIP) {
        w->z.next_in = (Bytef *)(uintptr_t)p;
        w->z.avail_in = (uInt)n;
        do {
            w->z.next_out = chunk;
            w->z.avail_out = sizeof(chunk);
            int rc = deflate(&w->z, end ? Z_FINISH : Z_NO_FLUSH);
            if (rc == Z_STREAM_ERROR) return -1;
            if (s3_buf_append(out, chunk, sizeof(chunk) - w->z.avail_out) != 0) return -1;
            if (end && rc == Z_STREAM_END) break;
        } while (w->z.avail_in > 0 || w->z.avail_out == 0 || end);
        return 0;
    }
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer o = {chunk, sizeof(chunk), 0};
        size_t left = ZSTD_compressStream2(w->zc, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left)) return -1;
        if (s3_buf_append(out, chunk, o.pos) != 0) return -1;
        if (end ? left == 0 : in.pos == in.size) break;
    }
    return 0;
}

/* Avro: compresses one block's data by the codec. */
static int avro_block_compress(s3_writer_t *w, s3_buf_t *dst)
{
    if (w->comp == S3_COMP_GZIP) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
        uLong bound = deflateBound(&z, (uLong)w->scratch.len);
        dst->data = malloc(bound + 1);
        if (dst->data == NULL) {
            deflateEnd(&z);
            return -1;
        }
        dst->cap = bound + 1;
        z.next_in = (Bytef *)w->scratch.data;
        z.avail_in = (uInt)w->scratch.len;
        z.next_out = (Bytef *)dst->data;
        z.avail_out = (uInt)bound;
        int rc = deflate(&z, Z_FINISH);
        dst->len = bound - z.avail_out;
        deflateEnd(&z);
        return rc == Z_STREAM_END ? 0 : -1;
    }
    size_t bound = ZSTD_compressBound(w->scratch.len);
    dst->data = malloc(bound + 1);
    if (dst->data == NULL) return -1;
    dst->cap = bound + 1;
    size_t n = ZSTD_compress(dst->data, bound, w->scratch.data, w->scratch.len, 3);
    if (ZSTD_isError(n)) return -1;
    dst->len = n;
    return 0;
}

static int avro_emit_block(s3_writer_t *w, s3_buf_t *out)
{
    if (w->block_count == 0) return 0;
    s3_buf_t packed = {0};
    const s3_buf_t *data = &w->scratch;
    if (w->comp != S3_COMP_NONE) {
        if (avro_block_compress(w, &packed) != 0) {
            s3_buf_free(&packed);
            return -1;
        }
        data = &packed;
    }
    int bad = avro_long(out, w->block_count) || avro_long(out, (int64_t)data->len) ||
              s3_buf_append(out, data->data, data->len) || s3_buf_append(out, w->sync, 16);
    s3_buf_free(&packed);
    w->scratch.len = 0;
    w->block_count = 0;
    return bad ? -1 : 0;
}

static int avro_header(s3_writer_t *w, s3_buf_t *out)
{
    const char *codec = w->comp == S3_COMP_GZIP ? "deflate" : w->comp == S3_COMP_ZSTD ? "zstandard" : "null";
    int bad = s3_buf_append(out, "Obj\x01", 4) || avro_long(out, 2) ||
              avro_bytes(out, "avro.codec", 10) || avro_bytes(out, codec, strlen(codec)) ||
              avro_bytes(out, "avro.schema", 11) || avro_bytes(out, s3_avro_schema, strlen(s3_avro_schema)) ||
              avro_long(out, 0) || s3_buf_append(out, w->sync, 16);
    return bad ? -1 : 0;
}

int s3_writer_add(s3_writer_t *w, const s3_rec_t *rec, s3_buf_t *out)
{
    if ((w->fmt == S3_FMT_JSON || w->fmt == S3_FMT_BYTES) && rec->value == NULL) return 1;
    if (w->fmt == S3_FMT_AVRO) {
        if (!w->header_done) {
            if (avro_header(w, out) != 0) return -1;
            w->header_done = 1;
        }
        size_t before = w->scratch.len;
        if (encode_avro(&w->scratch, rec) != 0) return -1;
        w->raw += w->scratch.len - before;
        w->block_count++;
        return w->scratch.len >= AVRO_BLOCK_BYTES ? avro_emit_block(w, out) : 0;
    }
    w->scratch.len = 0;
    int bad;
    switch (w->fmt) {
    case S3_FMT_ENVELOPE: bad = encode_envelope(&w->scratch, rec); break;
    case S3_FMT_JSON: bad = encode_json(&w->scratch, rec); break;
    default:
        bad = s3_buf_append(&w->scratch, rec->value, rec->value_len) ||
              s3_buf_append(&w->scratch, w->sep, w->sep_len);
        break;
    }
    if (bad) return -1;
    w->raw += w->scratch.len;
    return compress_feed(w, w->scratch.data, w->scratch.len, 0, out);
}

int s3_writer_finish(s3_writer_t *w, s3_buf_t *out)
{
    if (w->fmt == S3_FMT_AVRO) {
        if (!w->header_done) {
            if (avro_header(w, out) != 0) return -1;
            w->header_done = 1;
        }
        return avro_emit_block(w, out);
    }
    if (w->comp == S3_COMP_NONE) return 0;
    return compress_feed(w, "", 0, 1, out);
}
