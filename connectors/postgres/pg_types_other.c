/*
 * pg_types_other.c — bit/varbit (Debezium's Bits), point (its Point struct)
 * and hstore (json or map, in the order of the java.util.HashMap Debezium
 * reads it into).
 */
#include "pg_types.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- bits, points, hstore ------------------------------------------------------------------ */

/* bit(n)/varbit(n): n == 1 → boolean; else Debezium's Bits: bit k of the
 * value is the k-th character from the right; little-endian bytes, up to
 * the highest set bit. */
int pg_fmt_bits(pg_buf_t *out, const char *s, size_t len, int32_t typmod)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != '0' && s[i] != '1')
            return -1;
    if (typmod == 1) {
        int any = 0;
        for (size_t i = 0; i < len; i++)
            any |= s[i] == '1';
        pg_buf_puts(out, any ? "true" : "false");
        return 0;
    }
    size_t nbytes = (len + 7) / 8, used = 0;
    unsigned char *b = calloc(nbytes ? nbytes : 1, 1);
    if (!b)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '1')
            continue;
        size_t bit = len - 1 - i;
        b[bit / 8] |= (unsigned char)(1u << (bit % 8));
        if (bit / 8 + 1 > used)
            used = bit / 8 + 1;
    }
    pg_buf_binary(out, b, used, PG_BINARY_BYTES);
    free(b);
    return 0;
}

static int parse_double_at(const char *s, size_t len, size_t *i, double *v)
{
    char tmp[64];
    size_t n = 0;
    while (*i + n < len && n < sizeof tmp - 1 && strchr("0123456789+-.eEInfinityNa", s[*i + n]))
        n++;
    if (!n)
        return -1;
    memcpy(tmp, s + *i, n);
    tmp[n] = '\0';
    char *end;
    *v = strtod(tmp, &end);
    if (end != tmp + n)
        return -1;
    *i += n;
    return 0;
}

/* point "(x,y)" → Debezium's Point struct {x, y, wkb, srid}. */
int pg_fmt_point(pg_buf_t *out, const char *s, size_t len)
{
    size_t i = 0;
    double x, y;
    if (len < 5 || s[i++] != '(' || parse_double_at(s, len, &i, &x) || i >= len || s[i++] != ',' ||
        parse_double_at(s, len, &i, &y) || i >= len || s[i++] != ')' || i != len)
        return -1;
    unsigned char wkb[21] = {1, 1, 0, 0, 0};
    uint64_t bits;
    memcpy(&bits, &x, 8);
    for (int k = 0; k < 8; k++)
        wkb[5 + k] = (unsigned char)(bits >> (8 * k));
    memcpy(&bits, &y, 8);
    for (int k = 0; k < 8; k++)
        wkb[13 + k] = (unsigned char)(bits >> (8 * k));
    pg_buf_puts(out, "{\"x\":");
    pg_buf_double(out, x);
    pg_buf_puts(out, ",\"y\":");
    pg_buf_double(out, y);
    pg_buf_puts(out, ",\"wkb\":");
    pg_buf_binary(out, wkb, sizeof wkb, PG_BINARY_BYTES);
    pg_buf_puts(out, ",\"srid\":null}");
    return 0;
}

typedef struct hs_pair {
    size_t key, klen, val, vlen; /* offsets into the text buffer */
    int null;
    uint32_t hash;  /* the HashMap bucket */
    size_t order;
} hs_pair_t;

/* One hstore token: "quoted" with backslash escapes, or bare up to the
 * next delimiter. */
static int hs_token(const char *s, size_t len, size_t *i, pg_buf_t *text, size_t *off, size_t *tlen,
                    int *quoted)
{
    *off = text->len;
    *quoted = 0;
    if (*i < len && s[*i] == '"') {
        *quoted = 1;
        (*i)++;
        for (;;) {
            if (*i >= len)
                return -1;
            char c = s[(*i)++];
            if (c == '"')
                break;
            if (c == '\\') {
                if (*i >= len)
                    return -1;
                c = s[(*i)++];
            }
            pg_buf_append(text, &c, 1);
        }
    } else {
        while (*i < len && s[*i] != '=' && s[*i] != ',' && s[*i] != ' ') {
            pg_buf_append(text, s + *i, 1);
            (*i)++;
        }
        if (text->len == *off)
            return -1;
    }
    *tlen = text->len - *off;
    return 0;
}

/* Java's String.hashCode over the UTF-16 code units of UTF-8 text. */
static uint32_t java_hash(const char *s, size_t len)
{
    uint32_t h = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t n = c < 0x80 ? 1 : pg_utf8_seq_len(s + i, len - i);
        if (n == 0) {
            cp = 0xfffd;
            n = 1;
        } else if (n == 1) {
            cp = c;
        } else {
            cp = c & (0x7f >> n);
            for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
        }
        i += n;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return h;
}

/* By bucket (hash holds the bucket index by then), then insertion order. */
static int hs_cmp(const void *a, const void *b)
{
    const hs_pair_t *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* hstore text ("k"=>"v", "n"=>NULL) → a JSON object in the order of the
 * java.util.HashMap Debezium reads it into (bucket order of the final table,
 * insertion order within a bucket). json mode: that object as a string. */
int pg_fmt_hstore(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f)
{
    pg_buf_t text = {0};
    hs_pair_t *pairs = NULL;
    size_t np = 0, cap = 0, i = 0;
    int rc = -1;
    while (i < len && s[i] == ' ')
        i++;
    while (i < len) {
        hs_pair_t p = {0};
        int q;
        if (hs_token(s, len, &i, &text, &p.key, &p.klen, &q))
            goto done;
        while (i < len && s[i] == ' ')
            i++;
        if (len - i < 2 || s[i] != '=' || s[i + 1] != '>')
            goto done;
        i += 2;
        while (i < len && s[i] == ' ')
            i++;
        if (hs_token(s, len, &i, &text, &p.val, &p.vlen, &q))
            goto done;
        p.null = !q && p.vlen == 4 && !strncasecmp(text.data + p.val, "NULL", 4);
        while (i < len && s[i] == ' ')
            i++;
        if (i < len) {
            if (s[i] != ',')
                goto done;
            i++;
            while (i < len && s[i] == ' ')
                i++;
        }
        if (np == cap) {
            size_t nc = cap ? cap * 2 : 8;
            hs_pair_t *n = realloc(pairs, nc * sizeof *n);
            if (!n)
                goto done;
            pairs = n;
            cap = nc;
        }
        p.order = np;
        pairs[np++] = p;
    }
    size_t tab = 16; /* HashMap's table: 16, doubled while more than 3/4 full */
    while (np > tab * 3 / 4)
        tab *= 2;
    for (size_t k = 0; k < np; k++) {
        uint32_t h = java_hash(text.data + pairs[k].key, pairs[k].klen);
        pairs[k].hash = (h ^ (h >> 16)) & (uint32_t)(tab - 1);
    }
    if (np > 1)
        qsort(pairs, np, sizeof *pairs, hs_cmp);
    pg_buf_t obj = {0};
    pg_buf_append(&obj, "{", 1);
    for (size_t k = 0; k < np; k++) {
        if (k)
            pg_buf_append(&obj, ",", 1);
        pg_buf_json_string(&obj, text.data + pairs[k].key, pairs[k].klen);
        pg_buf_append(&obj, ":", 1);
        if (pairs[k].null)
            pg_buf_append(&obj, "null", 4);
        else
            pg_buf_json_string(&obj, text.data + pairs[k].val, pairs[k].vlen);
    }
    pg_buf_append(&obj, "}", 1);
    if (f->hstore == PG_HSTORE_MAP)
        pg_buf_append(out, obj.data, obj.len);
    else
        pg_buf_json_string(out, obj.data, obj.len);
    pg_buf_free(&obj);
    rc = 0;
done:
    free(pairs);
    pg_buf_free(&text);
    return rc;
}
