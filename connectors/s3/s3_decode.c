/*
 * s3_decode.c — reading archived objects (s3_format.h): decompression and
 * the envelope and Avro decoders, for replay, verify and the sink's check
 * of a key that is taken. Everything read here comes from a server, so every
 * length is checked against its span (fuzz_s3_archive feeds it arbitrary
 * bytes), and no object may decompress to more than S3_MAX_PLAIN.
 */
#include "s3_format.h"

#include <ferry/ferry.h>
#include <zlib.h>
#include <zstd.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No object decompresses to more than this: a hostile or broken object
 * must not take all memory. */
#define S3_MAX_PLAIN ((size_t)2 << 30)

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decodes base64 into out (appended). 0 or -1 when malformed. */
int s3_b64_decode(const char *s, size_t n, s3_buf_t *out)
{
    if (n % 4 != 0) return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64val((unsigned char)s[i + k])) < 0) {
                return -1;
            }
        }
        unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        unsigned char o[3] = {(unsigned char)(x >> 16), (unsigned char)(x >> 8), (unsigned char)x};
        if (s3_buf_append(out, o, (size_t)(3 - pad)) != 0) return -1;
    }
    return 0;
}

static int ts_type_parse(const char *s)
{
    if (strcmp(s, "CreateTime") == 0) return FERRY_TIMESTAMP_CREATE;
    if (strcmp(s, "LogAppendTime") == 0) return FERRY_TIMESTAMP_LOG_APPEND;
    if (strcmp(s, "NoTimestampType") == 0) return FERRY_TIMESTAMP_NONE;
    return -1;
}


int s3_decompress(s3_compression_t comp, const void *data, size_t len, s3_buf_t *out, char *err,
                  size_t errlen)
{
    unsigned char chunk[64 * 1024];
    if (comp == S3_COMP_NONE) {
        return s3_buf_append(out, data, len) == 0 ? 0 : (snprintf(err, errlen, "out of memory"), -1);
    }
    if (comp == S3_COMP_GZIP) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        if (inflateInit2(&z, 15 + 16) != Z_OK) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        z.next_in = (Bytef *)(uintptr_t)data;
        z.avail_in = (uInt)len;
        int rc;
        do {
            z.next_out = chunk;
            z.avail_out = sizeof(chunk);
            rc = inflate(&z, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END) break;
            if (out->len > S3_MAX_PLAIN || s3_buf_append(out, chunk, sizeof(chunk) - z.avail_out) != 0) {
                rc = Z_MEM_ERROR;
                break;
            }
        } while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
        int trailing = z.avail_in > 0;
        inflateEnd(&z);
        if (rc != Z_STREAM_END || trailing) {
            snprintf(err, errlen, "gzip: %s", rc == Z_STREAM_END ? "data after the end of the stream"
                                              : rc == Z_OK || rc == Z_BUF_ERROR ? "truncated"
                                              : rc == Z_MEM_ERROR               ? "more than 2 GiB of data, or out of memory"
                                                                                 : "corrupt");
            return -1;
        }
        return 0;
    }
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ZSTD_inBuffer in = {data, len, 0};
    size_t left = 1;
    while (in.pos < in.size) {
        ZSTD_outBuffer o = {chunk, sizeof(chunk), 0};
        left = ZSTD_decompressStream(d, &o, &in);
        if (ZSTD_isError(left)) {
            snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(left));
            ZSTD_freeDCtx(d);
            return -1;
        }
        if (out->len > S3_MAX_PLAIN || s3_buf_append(out, chunk, o.pos) != 0) {
            snprintf(err, errlen, "zstd: more than 2 GiB of data, or out of memory");
            ZSTD_freeDCtx(d);
            return -1;
        }
    }
    ZSTD_freeDCtx(d);
    if (left != 0) {
        snprintf(err, errlen, "zstd: truncated");
        return -1;
    }
    return 0;
}

/* Envelope lines, read by a scanner of their own rather than a general
 * JSON library: replay spends its time here (a tree per line costs about
 * four times as much). Members may come in any order; unknown members are
 * skipped; strings are unescaped (topic and header names) or base64-decoded
 * straight into their buffers (keys and values). */
typedef struct env_in {
    const char *p, *end;
} env_in_t;

static void env_ws(env_in_t *in)
{
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\r')) in->p++;
}

static int env_lit(env_in_t *in, char c)
{
    env_ws(in);
    if (in->p >= in->end || *in->p != c) return -1;
    in->p++;
    return 0;
}

/* A JSON string, unescaped into out (appended). */
static int env_str(env_in_t *in, s3_buf_t *out)
{
    if (env_lit(in, '"') != 0) return -1;
    for (;;) {
        const char *q = in->p;
        while (q < in->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
        if (s3_buf_append(out, in->p, (size_t)(q - in->p)) != 0 || q >= in->end) return -1;
        in->p = q + 1;
        if (*q == '"') return 0;
        if (*q != '\\' || in->p >= in->end) return -1;
        char e = *in->p++, c;
        switch (e) {
        case '"': case '\\': case '/': c = e; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            if (in->end - in->p < 4) return -1;
            unsigned cp = 0;
            for (int k = 0; k < 4; k++) {
                int h = in->p[k];
                int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (v < 0) return -1;
                cp = cp << 4 | (unsigned)v;
            }
            in->p += 4;
            if (cp >= 0xd800 && cp <= 0xdfff) return -1; /* ferry writes no surrogates */
            char u[3];
            size_t n;
            if (cp < 0x80) { u[0] = (char)cp; n = 1; }
            else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
            else { u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
            if (s3_buf_append(out, u, n) != 0) return -1;
            continue;
        }
        default: return -1;
        }
        if (s3_buf_append(out, &c, 1) != 0) return -1;
    }
}

/* null (returns 1) or a base64 string decoded into out (returns 0); -1 bad. */
static int env_b64_or_null(env_in_t *in, s3_buf_t *out)
{
    env_ws(in);
    if (in->end - in->p >= 4 && memcmp(in->p, "null", 4) == 0) {
        in->p += 4;
        return 1;
    }
    if (in->p >= in->end || *in->p != '"') return -1;
    const char *q = memchr(in->p + 1, '"', (size_t)(in->end - in->p - 1));
    if (q == NULL) return -1;
    const char *b = in->p + 1;
    for (const char *c = b; c < q; c++)
        if (*c == '\\') return -1; /* base64 never needs an escape */
    size_t n = (size_t)(q - b);
    if (out->len + n + 1 > out->cap) { /* one reservation, then the decoder appends in place */
        if (s3_buf_append(out, "", 0) != 0) return -1;
        size_t cap = out->cap ? out->cap : 64;
        while (cap < out->len + n + 1) cap *= 2;
        char *d = realloc(out->data, cap);
        if (d == NULL) return -1;
        out->data = d;
        out->cap = cap;
    }
    if (s3_b64_decode(b, n, out) != 0) return -1;
    in->p = q + 1;
    return 0;
}

static int env_int(env_in_t *in, int64_t *v)
{
    env_ws(in);
    const char *q = in->p;
    if (q < in->end && *q == '-') q++;
    if (q >= in->end || *q < '0' || *q > '9') return -1;
    char num[24];
    while (q < in->end && *q >= '0' && *q <= '9') q++;
    size_t n = (size_t)(q - in->p);
    if (n >= sizeof(num)) return -1;
    memcpy(num, in->p, n);
    num[n] = '\0';
    errno = 0;
    long long x = strtoll(num, NULL, 10);
    if (errno) return -1;
    *v = x;
    in->p = q;
    return 0;
}

/* Skips one JSON value of a member ferry does not know. */
static int env_skip(env_in_t *in, int depth)
{
    env_ws(in);
    if (in->p >= in->end || depth > 32) return -1;
    char c = *in->p;
    if (c == '"') {
        s3_buf_t tmp = {0};
        int rc = env_str(in, &tmp);
        s3_buf_free(&tmp);
        return rc;
    }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        in->p++;
        if (env_lit(in, close) == 0) return 0;
        for (;;) {
            if (c == '{') {
                s3_buf_t tmp = {0};
                int rc = env_str(in, &tmp);
                s3_buf_free(&tmp);
                if (rc != 0 || env_lit(in, ':') != 0) return -1;
            }
            if (env_skip(in, depth + 1) != 0) return -1;
            if (env_lit(in, ',') == 0) continue;
            return env_lit(in, close);
        }
    }
    const char *q = in->p;
    while (q < in->end && (isalnum((unsigned char)*q) || *q == '-' || *q == '+' || *q == '.')) q++;
    if (q == in->p) return -1;
    in->p = q;
    return 0;
}

typedef struct env_rec {
    s3_buf_t topic, tstype, key, val, hv, hn; /* hn: header names, each NUL-ended */
    size_t *hname_off, *hval_off, *hval_len;
    int *hval_null;
    size_t nh, hcap;
    s3_hdr_t *hdrs;
} env_rec_t;

static void env_rec_free(env_rec_t *e)
{
    s3_buf_free(&e->topic);
    s3_buf_free(&e->tstype);
    s3_buf_free(&e->key);
    s3_buf_free(&e->val);
    s3_buf_free(&e->hv);
    s3_buf_free(&e->hn);
    free(e->hname_off);
    free(e->hval_off);
    free(e->hval_len);
    free(e->hval_null);
    free(e->hdrs);
}

static int env_headers(env_in_t *in, env_rec_t *e)
{
    if (env_lit(in, '[') != 0) return -1;
    if (env_lit(in, ']') == 0) return 0;
    for (;;) {
        if (e->nh == e->hcap) {
            size_t cap = e->hcap ? e->hcap * 2 : 8;
            size_t *a = realloc(e->hname_off, cap * sizeof(size_t)), *b = a ? realloc(e->hval_off, cap * sizeof(size_t)) : NULL;
            if (a) e->hname_off = a;
            if (b) e->hval_off = b;
            size_t *c = b ? realloc(e->hval_len, cap * sizeof(size_t)) : NULL;
            if (c) e->hval_len = c;
            int *d = c ? realloc(e->hval_null, cap * sizeof(int)) : NULL;
            if (d) e->hval_null = d;
            s3_hdr_t *h = d ? realloc(e->hdrs, cap * sizeof(s3_hdr_t)) : NULL;
            if (h == NULL) return -1;
            e->hdrs = h;
            e->hcap = cap;
        }
        size_t i = e->nh;
        int have_key = 0, have_val = 0;
        if (env_lit(in, '{') != 0) return -1;
        for (;;) {
            s3_buf_t name = {0};
            int rc = env_str(in, &name) != 0 || env_lit(in, ':') != 0;
            if (!rc && name.len == 3 && memcmp(name.data, "key", 3) == 0) {
                e->hname_off[i] = e->hn.len;
                rc = env_str(in, &e->hn) != 0 || s3_buf_append(&e->hn, "", 1) != 0;
                have_key = 1;
            } else if (!rc && name.len == 5 && memcmp(name.data, "value", 5) == 0) {
                e->hval_off[i] = e->hv.len;
                int v = env_b64_or_null(in, &e->hv);
                rc = v < 0;
                e->hval_null[i] = v == 1;
                e->hval_len[i] = e->hv.len - e->hval_off[i];
                have_val = 1;
            } else if (!rc) {
                rc = env_skip(in, 0) != 0;
            }
            s3_buf_free(&name);
            if (rc) return -1;
            if (env_lit(in, ',') == 0) continue;
            if (env_lit(in, '}') != 0) return -1;
            break;
        }
        if (!have_key || !have_val) return -1;
        e->nh++;
        if (env_lit(in, ',') == 0) continue;
        return env_lit(in, ']');
    }
}

static long decode_envelope(const char *data, size_t len, s3_rec_fn fn, void *arg, char *err, size_t errlen)
{
    long count = 0;
    size_t pos = 0;
    env_rec_t e;
    memset(&e, 0, sizeof(e));
    long result = -1;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        if (nl == NULL) {
            snprintf(err, errlen, "record %ld: the last line has no line end (truncated object?)", count);
            goto out;
        }
        env_in_t in = {data + pos, nl};
        e.topic.len = e.tstype.len = e.key.len = e.val.len = e.hv.len = e.hn.len = 0;
        e.nh = 0;
        int64_t part = 0, off = 0, ts = 0;
        int key_null = -1, val_null = -1;
        unsigned seen = 0;
        const char *bad = NULL;
        if (env_lit(&in, '{') != 0) bad = "not a JSON object";
        while (!bad) {
            s3_buf_t name = {0};
            if (env_str(&in, &name) != 0 || env_lit(&in, ':') != 0) {
                bad = "malformed member";
            } else {
                const char *n = name.data ? name.data : "";
                size_t nl2 = name.len;
#define IS(lit) (nl2 == sizeof(lit) - 1 && memcmp(n, lit, nl2) == 0)
                int rc = 0;
                if (IS("topic")) { rc = env_str(&in, &e.topic); seen |= 1; }
                else if (IS("partition")) { rc = env_int(&in, &part); seen |= 2; }
                else if (IS("offset")) { rc = env_int(&in, &off); seen |= 4; }
                else if (IS("timestamp")) { rc = env_int(&in, &ts); seen |= 8; }
                else if (IS("timestampType")) { rc = env_str(&in, &e.tstype); seen |= 16; }
                else if (IS("key")) { key_null = env_b64_or_null(&in, &e.key); rc = key_null < 0; seen |= 32; if (rc) bad = "key is not base64 or null"; }
                else if (IS("value")) { val_null = env_b64_or_null(&in, &e.val); rc = val_null < 0; seen |= 64; if (rc) bad = "value is not base64 or null"; }
                else if (IS("headers")) { rc = env_headers(&in, &e); seen |= 128; if (rc) bad = "a header is not {key, value}"; }
                else rc = env_skip(&in, 0);
#undef IS
                if (rc && !bad) bad = "malformed member value";
            }
            s3_buf_free(&name);
            if (bad) break;
            if (env_lit(&in, ',') == 0) continue;
            if (env_lit(&in, '}') != 0) bad = "malformed object";
            break;
        }
        env_ws(&in);
        if (!bad && in.p != in.end) bad = "data after the record";
        if (!bad && seen != 255) bad = "not an envelope record (topic, partition, offset, timestamp, timestampType, key, value, headers)";
        s3_rec_t r;
        memset(&r, 0, sizeof(r));
        if (!bad && (s3_buf_append(&e.topic, "", 1) != 0 || s3_buf_append(&e.tstype, "", 1) != 0)) bad = "out of memory";
        if (!bad && (r.timestamp_type = ts_type_parse(e.tstype.data)) < 0) bad = "unknown timestampType";
        if (!bad && (part < INT32_MIN || part > INT32_MAX)) bad = "partition out of range";
        if (bad) {
            snprintf(err, errlen, "record %ld: %s", count, bad);
            goto out;
        }
        for (size_t i = 0; i < e.nh; i++) {
            e.hdrs[i].name = e.hn.data + e.hname_off[i];
            e.hdrs[i].name_len = strlen(e.hdrs[i].name);
            e.hdrs[i].value = e.hval_null[i] ? NULL : (e.hv.data ? e.hv.data + e.hval_off[i] : "");
            e.hdrs[i].value_len = e.hval_len[i];
        }
        r.topic = e.topic.data;
        r.partition = (int32_t)part;
        r.offset = off;
        r.timestamp = ts;
        r.key = key_null ? NULL : (e.key.data ? e.key.data : "");
        r.key_len = e.key.len;
        r.value = val_null ? NULL : (e.val.data ? e.val.data : "");
        r.value_len = e.val.len;
        r.headers = e.hdrs;
        r.header_count = e.nh;
        int stop = fn(arg, &r, (size_t)count);
        count++;
        if (stop) {
            result = -2;
            goto out;
        }
        pos = (size_t)(nl - data) + 1;
    }
    result = count;
out:
    env_rec_free(&e);
    return result;
}

/* Avro reading: a cursor over a span. */
typedef struct avro_in {
    const unsigned char *p, *end;
} avro_in_t;

static int avro_get_long(avro_in_t *in, int64_t *v)
{
    uint64_t z = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (in->p >= in->end) return -1;
        unsigned char c = *in->p++;
        z |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return 0;
        }
    }
    return -1;
}

static int avro_get_bytes(avro_in_t *in, const unsigned char **p, size_t *n)
{
    int64_t len;
    if (avro_get_long(in, &len) != 0 || len < 0 || len > in->end - in->p) return -1;
    *p = in->p;
    *n = (size_t)len;
    in->p += len;
    return 0;
}

static int avro_get_opt_bytes(avro_in_t *in, const unsigned char **p, size_t *n)
{
    int64_t branch;
    if (avro_get_long(in, &branch) != 0) return -1;
    if (branch == 0) {
        *p = NULL;
        *n = 0;
        return 0;
    }
    return branch == 1 ? avro_get_bytes(in, p, n) : -1;
}

static long decode_avro(const char *data, size_t len, s3_rec_fn fn, void *arg, char *err, size_t errlen)
{
    avro_in_t in = {(const unsigned char *)data, (const unsigned char *)data + len};
    if (len < 4 || memcmp(data, "Obj\x01", 4) != 0) {
        snprintf(err, errlen, "not an Avro object container file");
        return -1;
    }
    in.p += 4;
    char codec[16] = "null";
    int schema_ok = 0;
    for (;;) {
        int64_t n;
        if (avro_get_long(&in, &n) != 0) goto truncated;
        if (n == 0) break;
        if (n < 0) {
            int64_t skip;
            if (n == INT64_MIN || avro_get_long(&in, &skip) != 0) goto truncated;
            n = -n;
        }
        for (int64_t i = 0; i < n; i++) {
            const unsigned char *k, *v;
            size_t kl, vl;
            if (avro_get_bytes(&in, &k, &kl) != 0 || avro_get_bytes(&in, &v, &vl) != 0) goto truncated;
            if (kl == 10 && memcmp(k, "avro.codec", 10) == 0 && vl < sizeof(codec)) {
                memcpy(codec, v, vl);
                codec[vl] = '\0';
            } else if (kl == 11 && memcmp(k, "avro.schema", 11) == 0) {
                schema_ok = vl == strlen(s3_avro_schema) && memcmp(v, s3_avro_schema, vl) == 0;
            }
        }
    }
    if (!schema_ok) {
        snprintf(err, errlen, "Avro file with another schema than ferry's archive record");
        return -1;
    }
    if (in.end - in.p < 16) goto truncated;
    const unsigned char *sync = in.p;
    in.p += 16;
    long count = 0;
    s3_buf_t block = {0};
    s3_hdr_t *hdrs = NULL;
    size_t hcap = 0;
    long result = -1;
    while (in.p < in.end) {
        int64_t nrec, size;
        if (avro_get_long(&in, &nrec) != 0 || avro_get_long(&in, &size) != 0 || nrec < 0 || size < 0 ||
            size > in.end - in.p || in.end - in.p - size < 16) {
            snprintf(err, errlen, "record %ld: truncated Avro block", count);
            goto fail;
        }
        avro_in_t b = {in.p, in.p + size};
        in.p += size;
        if (memcmp(in.p, sync, 16) != 0) {
            snprintf(err, errlen, "record %ld: Avro block without its sync marker", count);
            goto fail;
        }
        in.p += 16;
        if (strcmp(codec, "null") != 0) {
            block.len = 0;
            if (strcmp(codec, "deflate") == 0) {
                z_stream z;
                memset(&z, 0, sizeof(z));
                unsigned char chunk[64 * 1024];
                int rc = inflateInit2(&z, -15);
                z.next_in = (Bytef *)(uintptr_t)b.p;
                z.avail_in = (uInt)size;
                while (rc == Z_OK) {
                    z.next_out = chunk;
                    z.avail_out = sizeof(chunk);
                    rc = inflate(&z, Z_NO_FLUSH);
                    if ((rc == Z_OK || rc == Z_STREAM_END) &&
                        (block.len > S3_MAX_PLAIN || s3_buf_append(&block, chunk, sizeof(chunk) - z.avail_out) != 0))
                        rc = Z_MEM_ERROR;
                    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) rc = Z_DATA_ERROR;
                }
                inflateEnd(&z);
                if (rc != Z_STREAM_END) {
                    snprintf(err, errlen, "record %ld: corrupt deflate block", count);
                    goto fail;
                }
            } else if (strcmp(codec, "zstandard") == 0) {
                char derr[128];
                if (s3_decompress(S3_COMP_ZSTD, b.p, (size_t)size, &block, derr, sizeof(derr)) != 0) {
                    snprintf(err, errlen, "record %ld: %s", count, derr);
                    goto fail;
                }
            } else {
                snprintf(err, errlen, "Avro codec %s is not supported", codec);
                goto fail;
            }
            b.p = (const unsigned char *)(block.data ? block.data : "");
            b.end = b.p + block.len;
        }
        for (int64_t i = 0; i < nrec; i++) {
            s3_rec_t r;
            memset(&r, 0, sizeof(r));
            const unsigned char *topic, *tt, *kp, *vp;
            size_t tl, ttl;
            int64_t part, nh, v;
            char topicbuf[256], ttbuf[32];
            if (avro_get_bytes(&b, &topic, &tl) != 0 || tl >= sizeof(topicbuf) || avro_get_long(&b, &part) != 0 ||
                avro_get_long(&b, &r.offset) != 0 || avro_get_long(&b, &r.timestamp) != 0 ||
                avro_get_bytes(&b, &tt, &ttl) != 0 || ttl >= sizeof(ttbuf) ||
                avro_get_opt_bytes(&b, &kp, &r.key_len) != 0 || avro_get_opt_bytes(&b, &vp, &r.value_len) != 0)
                goto corrupt;
            memcpy(topicbuf, topic, tl);
            topicbuf[tl] = '\0';
            memcpy(ttbuf, tt, ttl);
            ttbuf[ttl] = '\0';
            if ((r.timestamp_type = ts_type_parse(ttbuf)) < 0) goto corrupt;
            size_t count_h = 0;
            for (;;) {
                if (avro_get_long(&b, &nh) != 0) goto corrupt;
                if (nh == 0) break;
                if (nh < 0) {
                    if (nh == INT64_MIN || avro_get_long(&b, &v) != 0) goto corrupt;
                    nh = -nh;
                }
                if (nh > b.end - b.p) goto corrupt;
                if (count_h + (size_t)nh > hcap) {
                    size_t cap = count_h + (size_t)nh;
                    s3_hdr_t *n2 = realloc(hdrs, cap * sizeof(*hdrs));
                    if (n2 == NULL) goto corrupt;
                    hdrs = n2;
                    hcap = cap;
                }
                for (int64_t k = 0; k < nh; k++) {
                    const unsigned char *hn, *hvp;
                    size_t hnl, hvl;
                    if (avro_get_bytes(&b, &hn, &hnl) != 0 || avro_get_opt_bytes(&b, &hvp, &hvl) != 0) goto corrupt;
                    hdrs[count_h].name = (const char *)hn;
                    hdrs[count_h].name_len = hnl;
                    hdrs[count_h].value = hvp;
                    hdrs[count_h].value_len = hvl;
                    count_h++;
                }
            }
            r.topic = topicbuf;
            r.partition = (int32_t)part;
            r.key = kp;
            r.value = vp;
            r.headers = hdrs;
            r.header_count = count_h;
            if (fn(arg, &r, (size_t)count)) {
                result = -2;
                goto done;
            }
            count++;
        }
        if (b.p != b.end) goto corrupt;
    }
    result = count;
    goto done;
corrupt:
    snprintf(err, errlen, "record %ld: corrupt Avro data", count);
fail:
    result = -1;
done:
    s3_buf_free(&block);
    free(hdrs);
    return result;
truncated:
    snprintf(err, errlen, "truncated Avro header");
    return -1;
}

long s3_decode(s3_format_kind_t fmt, const char *data, size_t len, s3_rec_fn fn, void *arg, char *err,
               size_t errlen)
{
    switch (fmt) {
    case S3_FMT_ENVELOPE: return decode_envelope(data, len, fn, arg, err, errlen);
    case S3_FMT_AVRO: return decode_avro(data, len, fn, arg, err, errlen);
    default: snprintf(err, errlen, "the json and bytes formats cannot be replayed (use envelope or avro)"); return -1;
    }
}

long s3_decode_object(s3_format_kind_t fmt, s3_compression_t comp, const char *data, size_t len, s3_rec_fn fn,
                      void *arg, char *err, size_t errlen)
{
    if (fmt == S3_FMT_AVRO || comp == S3_COMP_NONE) return s3_decode(fmt, data, len, fn, arg, err, errlen);
    s3_buf_t plain = {0};
    long n = -1;
    if (s3_decompress(comp, data, len, &plain, err, errlen) == 0)
        n = s3_decode(fmt, plain.data ? plain.data : "", plain.len, fn, arg, err, errlen);
    s3_buf_free(&plain);
    return n;
}
