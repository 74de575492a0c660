/*
 * offsets_codec.c — the bytes of an offset record, and the partitioner.
 *
 * Kafka Connect writes its offsets topic with the JSON converter (schemas
 * off), i.e. with Jackson: compact, object fields in insertion order, UTF-8
 * left raw. We parse with jansson (which validates UTF-8 and keeps object
 * insertion order) but serialize with our own small writer rather than
 * json_dumps(), because jansson prints reals with "%.17g" (0.1 becomes
 * 0.10000000000000001) where Java prints the shortest round-tripping form
 * ("0.1", "1.0E10"). Everything else (escapes, integers) matches Jackson.
 *
 * Limits: integers must fit in int64 (jansson's json_int_t; Java's Long has
 * the same range), and a real is printed like Java's Double.toString from JDK
 * 19 on (shortest digits); older JDKs occasionally print one digit more.
 */
#include "offsets.h"
#include "offsets_internal.h"

#include "util/strutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ------------------------------------------------------------------- */

void obuf_append(obuf_t *buf, const void *data, size_t len)
{
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 64;
        while (cap < buf->len + len + 1) cap *= 2;
        buf->p = xrealloc(buf->p, cap);
        buf->cap = cap;
    }
    if (len) memcpy(buf->p + buf->len, data, len);
    buf->len += len;
    buf->p[buf->len] = '\0';
}

void obuf_puts(obuf_t *buf, const char *s)
{
    obuf_append(buf, s, strlen(s));
}

char *obuf_take(obuf_t *buf)
{
    char *s = buf->p ? buf->p : str_dup("");
    buf->p = NULL;
    buf->len = buf->cap = 0;
    return s;
}

void obuf_free(obuf_t *buf)
{
    free(buf->p);
    buf->p = NULL;
    buf->len = buf->cap = 0;
}

/* ---- JSON writer ------------------------------------------------------------------ */

void offsets_json_append_string(obuf_t *buf, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    obuf_append(buf, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t elen = 2;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\t': esc[1] = 't'; break;
        case '\n': esc[1] = 'n'; break;
        case '\f': esc[1] = 'f'; break;
        case '\r': esc[1] = 'r'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        obuf_append(buf, s + run, i - run);
        obuf_append(buf, esc, elen);
        run = i + 1;
    }
    obuf_append(buf, s + run, len - run);
    obuf_append(buf, "\"", 1);
}

/* Java's Double.toString layout over the shortest digits that read back as
 * the same double (see below): plain notation for 1e-3 <= |d| < 1e7 ("0.001", "100.0"),
 * otherwise "d.dddE[-]n" ("1.0E7", "1.5E-4"). Always one fractional digit. */
static void append_real(obuf_t *buf, double d)
{
    char tmp[48], digits[24];
    size_t ndig = 0;
    int exp10 = 0;
    if (d == 0) {
        obuf_puts(buf, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    if (!isfinite(d)) { /* JSON cannot carry it; jansson never parses one */
        obuf_puts(buf, "null");
        return;
    }
    /* Java (JDK 19+ spec): the shortest decimal that reads back as d, but
     * when one digit would do, the closest of one or two digits (so
     * Double.MIN_VALUE is 4.9E-324, not 5.0E-324). %.*e rounds correctly,
     * so starting at two digits yields exactly that. */
    for (int prec = 2; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d) break;
    }
    /* tmp is "[-]d[.ddd]e[+-]xx"; the decimal point may be locale-specific,
     * so collect digits up to the 'e' and skip anything else. */
    const char *p = tmp;
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p >= '0' && *p <= '9' && ndig < sizeof(digits) - 1) digits[ndig++] = *p;
    }
    if (*p) exp10 = atoi(p + 1);
    while (ndig > 1 && digits[ndig - 1] == '0') ndig--;
    digits[ndig] = '\0';

    if (d < 0) obuf_append(buf, "-", 1);
    double mag = fabs(d);
    if (mag >= 1e-3 && mag < 1e7) {
        int point = exp10 + 1; /* digits before the decimal point */
        if (point <= 0) {
            obuf_append(buf, "0.", 2);
            for (int i = 0; i < -point; i++) obuf_append(buf, "0", 1);
            obuf_append(buf, digits, ndig);
        } else if ((size_t)point >= ndig) {
            obuf_append(buf, digits, ndig);
            for (size_t i = ndig; i < (size_t)point; i++) obuf_append(buf, "0", 1);
            obuf_append(buf, ".0", 2);
        } else {
            obuf_append(buf, digits, (size_t)point);
            obuf_append(buf, ".", 1);
            obuf_append(buf, digits + point, ndig - (size_t)point);
        }
    } else {
        obuf_append(buf, digits, 1);
        obuf_append(buf, ".", 1);
        if (ndig > 1) {
            obuf_append(buf, digits + 1, ndig - 1);
        } else {
            obuf_append(buf, "0", 1);
        }
        snprintf(tmp, sizeof(tmp), "E%d", exp10);
        obuf_puts(buf, tmp);
    }
}

typedef struct json_field {
    const char *key;
    size_t klen;
    json_t *value;
} json_field_t;

static int field_cmp(const void *a, const void *b)
{
    const json_field_t *fa = a, *fb = b;
    size_t n = fa->klen < fb->klen ? fa->klen : fb->klen;
    int c = memcmp(fa->key, fb->key, n);
    if (c) return c;
    return (fa->klen > fb->klen) - (fa->klen < fb->klen);
}

static void append_object(obuf_t *buf, const json_t *obj, int sorted)
{
    size_t n = json_object_size(obj), i = 0;
    json_field_t *fields = xmalloc((n ? n : 1) * sizeof(*fields));
    const char *key;
    size_t klen;
    json_t *value;
    /* json_object_foreach walks in insertion order (jansson >= 2.8). */
    json_object_keylen_foreach((json_t *)obj, key, klen, value)
    {
        fields[i].key = key;
        fields[i].klen = klen;
        fields[i].value = value;
        i++;
    }
    if (sorted) qsort(fields, i, sizeof(*fields), field_cmp);
    obuf_append(buf, "{", 1);
    for (size_t j = 0; j < i; j++) {
        if (j) obuf_append(buf, ",", 1);
        offsets_json_append_string(buf, fields[j].key, fields[j].klen);
        obuf_append(buf, ":", 1);
        offsets_json_append(buf, fields[j].value, sorted);
    }
    obuf_append(buf, "}", 1);
    free(fields);
}

void offsets_json_append(obuf_t *buf, const json_t *v, int sorted)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: append_object(buf, v, sorted); break;
    case JSON_ARRAY:
        obuf_append(buf, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) obuf_append(buf, ",", 1);
            offsets_json_append(buf, json_array_get(v, i), sorted);
        }
        obuf_append(buf, "]", 1);
        break;
    case JSON_STRING:
        offsets_json_append_string(buf, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        obuf_puts(buf, num);
        break;
    case JSON_REAL: append_real(buf, json_real_value(v)); break;
    case JSON_TRUE: obuf_puts(buf, "true"); break;
    case JSON_FALSE: obuf_puts(buf, "false"); break;
    case JSON_NULL: obuf_puts(buf, "null"); break;
    }
}

/* ---- parsing ------------------------------------------------------------------------ */

static json_t *parse_any(const void *data, size_t len)
{
    json_error_t jerr;
    if (!data) return NULL;
    /* JSON_ALLOW_NUL: "\u0000" is valid JSON and Jackson accepts it. */
    return json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
}

json_t *offsets_json_parse_object(const void *data, size_t len)
{
    json_t *v = parse_any(data, len);
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

char *offsets_json_dump(const json_t *v, int sorted)
{
    obuf_t buf = {0};
    offsets_json_append(&buf, v, sorted);
    return obuf_take(&buf);
}

static char *reencode_object(const char *json, size_t len, int sorted)
{
    json_t *v = offsets_json_parse_object(json, len);
    if (!v) return NULL;
    char *s = offsets_json_dump(v, sorted);
    json_decref(v);
    return s;
}

char *offsets_json_compact(const char *json, size_t len)
{
    return reencode_object(json, len, 0);
}

char *offsets_json_canonical(const char *json, size_t len)
{
    return reencode_object(json, len, 1);
}

/* ---- keys ---------------------------------------------------------------------------- */

char *offsets_key_encode(const char *connector, const char *partition_json)
{
    if (!connector || !partition_json) return NULL;
    json_t *part = offsets_json_parse_object(partition_json, strlen(partition_json));
    if (!part) return NULL;
    obuf_t buf = {0};
    obuf_append(&buf, "[", 1);
    offsets_json_append_string(&buf, connector, strlen(connector));
    obuf_append(&buf, ",", 1);
    offsets_json_append(&buf, part, 0);
    obuf_append(&buf, "]", 1);
    json_decref(part);
    return obuf_take(&buf);
}

int offsets_key_parse(const void *key, size_t len, char **connector, char **partition_compact,
                      char **partition_canonical)
{
    json_t *v = parse_any(key, len);
    int rc = -1;
    if (!v) return -1;
    if (json_is_array(v) && json_array_size(v) == 2) {
        json_t *name = json_array_get(v, 0), *part = json_array_get(v, 1);
        /* The connector name becomes a C string: refuse an embedded NUL. */
        if (json_is_string(name) && json_is_object(part) &&
            strlen(json_string_value(name)) == json_string_length(name)) {
            if (connector) *connector = str_dup(json_string_value(name));
            if (partition_compact) *partition_compact = offsets_json_dump(part, 0);
            if (partition_canonical) *partition_canonical = offsets_json_dump(part, 1);
            rc = 0;
        }
    }
    json_decref(v);
    return rc;
}

int offsets_key_decode(const void *key, size_t len, char **connector, char **partition_canonical)
{
    return offsets_key_parse(key, len, connector, NULL, partition_canonical);
}

/* ---- partitioner ----------------------------------------------------------------------- */

/* Java's Utils.murmur2, with Java's wrapping int arithmetic done in uint32_t
 * (identical bit patterns; >>> is the unsigned shift). */
uint32_t offsets_murmur2(const void *data, size_t len)
{
    const unsigned char *b = data;
    const uint32_t m = 0x5bd1e995u;
    const int r = 24;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t len4 = len / 4;
    for (size_t i = 0; i < len4; i++) {
        const unsigned char *q = b + i * 4;
        uint32_t k = (uint32_t)q[0] | ((uint32_t)q[1] << 8) | ((uint32_t)q[2] << 16) |
                     ((uint32_t)q[3] << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    const unsigned char *tail = b + (len & ~(size_t)3);
    switch (len % 4) {
    case 3: h ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        h ^= (uint32_t)tail[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t offsets_partition_for_key(const void *key, size_t len, int32_t partition_count)
{
    if (partition_count <= 0) return -1;
    /* Utils.toPositive: clear the sign bit (not abs()). */
    return (int32_t)((offsets_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partition_count);
}

int offsets_record_encode(const char *connector, const char *partition_json,
                          const char *offset_json, int32_t partition_count, char **key,
                          size_t *klen, char **value, size_t *vlen, int32_t *partition)
{
    char *k = offsets_key_encode(connector, partition_json);
    char *v = NULL;
    if (!k) return -1;
    if (offset_json) {
        v = offsets_json_compact(offset_json, strlen(offset_json));
        if (!v) {
            free(k);
            return -1;
        }
    }
    *key = k;
    *klen = strlen(k);
    *value = v;
    *vlen = v ? strlen(v) : 0;
    *partition = offsets_partition_for_key(k, *klen, partition_count);
    return 0;
}
