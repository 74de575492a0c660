/*
 * pg_buf.c — the growing byte buffer the decoder and the JSON formatters write
 * into, JSON string escaping, bytes (base64, hex) and doubles as JSON, and
 * LSN text conversion.
 *
 * Invariant: when data != NULL, data[len] == '\0' (cap > len always), so a
 * buffer can be handed to anything that wants a C string.
 *
 * Out of memory: the buffer aborts. It is the one failure that is not caused
 * by input (every length that reaches pg_buf_append has been checked against
 * a real, already allocated message), and a silently truncated change event
 * would be a wrong value, which is worse than a crash the task restarts from.
 */
#include "pg_types.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void buf_reserve(pg_buf_t *b, size_t extra)
{
    if (b->data && b->cap - b->len > extra)
        return;
    if (extra > SIZE_MAX / 2 - b->len) {
        fputs("pg_buf: size overflow\n", stderr);
        abort();
    }
    size_t need = b->len + extra + 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        fputs("pg_buf: out of memory\n", stderr);
        abort();
    }
    b->data = p;
    b->cap = cap;
}

void pg_buf_append(pg_buf_t *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void pg_buf_puts(pg_buf_t *b, const char *s)
{
    pg_buf_append(b, s, strlen(s));
}

void pg_buf_printf(pg_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        pg_buf_append(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pg_buf_reset(pg_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void pg_buf_free(pg_buf_t *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0
 * when the bytes there are not valid UTF-8 (overlongs, surrogates and code
 * points above U+10FFFF are invalid, as in RFC 3629). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t want;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        want = 2;
        min = 0x80;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        want = 3;
        min = 0x800;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        want = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < want)
        return 0;
    for (size_t i = 1; i < want; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return want;
}

size_t pg_utf8_seq_len(const char *s, size_t len)
{
    return len ? utf8_seq_len((const unsigned char *)s, len) : 0;
}

/* Control characters are escaped (\u00XX or the short forms), as are '"' and
 * '\\'. Valid UTF-8 is copied raw. Bytes that are not valid UTF-8 become
 * U+FFFD: the output must be valid JSON whatever the input, and a UTF8
 * database never sends them anyway (SQL_ASCII databases can). */
void pg_buf_json_string(pg_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    buf_reserve(b, len + 2);
    pg_buf_append(b, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        size_t n = c >= 0x80 ? utf8_seq_len(p + i, len - i) : 0;
        if (n) {
            i += n;
            continue;
        }
        pg_buf_append(b, s + run, i - run);
        char esc[8];
        switch (c) {
        case '"': pg_buf_append(b, "\\\"", 2); break;
        case '\\': pg_buf_append(b, "\\\\", 2); break;
        case '\n': pg_buf_append(b, "\\n", 2); break;
        case '\r': pg_buf_append(b, "\\r", 2); break;
        case '\t': pg_buf_append(b, "\\t", 2); break;
        case '\b': pg_buf_append(b, "\\b", 2); break;
        case '\f': pg_buf_append(b, "\\f", 2); break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                pg_buf_append(b, esc, 6);
            } else {
                pg_buf_append(b, "\\ufffd", 6);
            }
            break;
        }
        i++;
        run = i;
    }
    pg_buf_append(b, s + run, len - run);
    pg_buf_append(b, "\"", 1);
}

/* ---- LSN ------------------------------------------------------------------------ */

int pg_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses 1..8 hex digits starting at *s, advancing *s. */
static int lsn_half(const char **s, uint32_t *out)
{
    uint32_t v = 0;
    int n = 0;
    int d;
    while ((d = pg_hex_digit(**s)) >= 0) {
        if (++n > 8)
            return -1;
        v = (v << 4) | (uint32_t)d;
        (*s)++;
    }
    if (n == 0)
        return -1;
    *out = v;
    return 0;
}

int pg_lsn_parse(const char *s, uint64_t *out)
{
    uint32_t hi, lo;
    if (!s || lsn_half(&s, &hi) < 0 || *s++ != '/' || lsn_half(&s, &lo) < 0 || *s != '\0')
        return -1;
    *out = ((uint64_t)hi << 32) | lo;
    return 0;
}

void pg_lsn_format(uint64_t lsn, char buf[32])
{
    snprintf(buf, 32, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

void pg_topic_sanitize(pg_buf_t *topic)
{
    /* Kafka topic names allow [A-Za-z0-9._-]; like Debezium, anything else
     * (spaces, quotes, non-ASCII) becomes '_'. */
    for (size_t i = 0; i < topic->len; i++) {
        unsigned char c = (unsigned char)topic->data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            topic->data[i] = '_';
    }
}

/* ---- bytes and doubles as JSON (pg_types.h) ------------------------------------------- */

static void base64_append(pg_buf_t *out, const unsigned char *p, size_t n, const char *tbl)
{
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        q[0] = tbl[v >> 18];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = tbl[(v >> 6) & 63];
        q[3] = tbl[v & 63];
        pg_buf_append(out, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        q[0] = tbl[v >> 18];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        q[3] = '=';
        pg_buf_append(out, q, 4);
    }
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void pg_buf_binary(pg_buf_t *out, const unsigned char *p, size_t n, pg_binary_mode_t mode)
{
    pg_buf_append(out, "\"", 1);
    if (mode == PG_BINARY_HEX) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
            char h[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
            pg_buf_append(out, h, 2);
        }
    } else {
        base64_append(out, p, n, mode == PG_BINARY_BASE64_URL_SAFE ? B64URL : B64);
    }
    pg_buf_append(out, "\"", 1);
}

void pg_buf_double(pg_buf_t *out, double d)
{
    if (isnan(d)) {
        pg_buf_puts(out, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        pg_buf_puts(out, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char tmp[400];
    double a = fabs(d);
    if (a == 0 || (a >= 1e-3 && a < 1e7)) {
        /* Java's plain range: the fewest fraction digits (at least one). */
        for (int prec = 1; prec <= 20; prec++) {
            snprintf(tmp, sizeof tmp, "%.*f", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
    }
    pg_buf_puts(out, tmp);
    if (!strpbrk(tmp, ".e"))
        pg_buf_puts(out, ".0");
}

