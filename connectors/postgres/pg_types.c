/*
 * pg_types.c — turns one datum in PostgreSQL's text output format into a JSON
 * value (the mapping is documented at pg_value_json in pgoutput.h).
 *
 * Invariant: whatever the input bytes, the output is exactly one valid JSON
 * value. Every typed conversion (number, bool, base64, decimal, time,
 * interval, hstore, array) first checks that the text has the shape PostgreSQL prints;
 * when it does not, the formatter rolls the buffer back to where it started
 * and emits the original text as a JSON string instead. A value is never
 * guessed: a string the consumer can still read beats a wrong number.
 *
 * The session settings that make the text predictable (DateStyle=ISO,
 * IntervalStyle=iso_8601, TimeZone=UTC, extra_float_digits=3,
 * bytea_output=hex, lc_monetary=C) are the connector's job; the formatter
 * still copes with the other common forms (offsets other than +00, bytea
 * escape format). Where Debezium computes with Java doubles (interval
 * microseconds, decimal.handling.mode=double) so does this file, so that
 * the numbers are the same bits.
 */
#include "pgoutput.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Resolving domains/arrays through the resolver may loop on a broken
 * catalog; these bound the work. PostgreSQL arrays have at most 6 dimensions. */
#define MAX_TYPE_DEPTH 16
#define MAX_ARRAY_DIMS 6

#define DEFAULT_TOAST_PLACEHOLDER "__debezium_unavailable_value"

typedef enum fmt {
    FMT_STRING,
    FMT_INT,
    FMT_FLOAT,
    FMT_BOOL,
    FMT_BYTEA,
    FMT_NUMERIC,
    FMT_MONEY,
    FMT_DATE,
    FMT_TIME,
    FMT_TIMETZ,
    FMT_TIMESTAMP,
    FMT_TIMESTAMPTZ,
    FMT_INTERVAL,
    FMT_BIT,
    FMT_POINT,
    FMT_HSTORE,
    FMT_ARRAY
} fmt_t;

/* The formatter for a built-in oid; for built-in array types *elem is set.
 * Returns -1 for an oid that is not built in (ask the resolver). Text-like
 * types (text, varchar, uuid, inet, json, xml, ranges, ...) are strings. */
static int builtin_fmt(uint32_t oid, uint32_t *elem, char *delim)
{
    *delim = ',';
    switch (oid) {
    case 16: return FMT_BOOL;
    case 17: return FMT_BYTEA;
    case 20: case 21: case 23: case 26: return FMT_INT;
    case 700: case 701: return FMT_FLOAT;
    case 1700: return FMT_NUMERIC;
    case 790: return FMT_MONEY;
    case 1082: return FMT_DATE;
    case 1083: return FMT_TIME;
    case 1266: return FMT_TIMETZ;
    case 1114: return FMT_TIMESTAMP;
    case 1184: return FMT_TIMESTAMPTZ;
    case 1186: return FMT_INTERVAL;
    case 1560: case 1562: return FMT_BIT;
    case 600: return FMT_POINT;
    case 18: case 19: case 22: case 24: case 25: case 27: case 28: case 29: case 30:
    case 114: case 142: case 601: case 602: case 603: case 604: case 628: case 650: case 718:
    case 774: case 829: case 869: case 1042: case 1043: case 2205: case 2206: case 2950:
    case 2970: case 3220: case 3614: case 3615: case 3802: case 3904: case 3906: case 3908:
    case 3910: case 3912: case 3926: case 4072: case 5038: case 5069:
        return FMT_STRING;
    default: break;
    }
    static const struct { uint16_t arr, elem; } arrays[] = {
        {1000, 16},   {1001, 17},   {1002, 18},   {1003, 19},   {1005, 21},   {1006, 22},
        {1007, 23},   {1008, 24},   {1009, 25},   {1010, 27},   {1011, 28},   {1012, 29},
        {1013, 30},   {1014, 1042}, {1015, 1043}, {1016, 20},   {1017, 600},  {1018, 601},
        {1019, 602},  {1020, 603},  {1021, 700},  {1022, 701},  {1027, 604},  {1028, 26},
        {1040, 829},  {1041, 869},  {651, 650},   {629, 628},   {719, 718},   {775, 774},
        {791, 790},   {199, 114},   {143, 142},   {1115, 1114}, {1182, 1082}, {1183, 1083},
        {1185, 1184}, {1187, 1186}, {1231, 1700}, {1270, 1266}, {1561, 1560}, {1563, 1562},
        {2951, 2950}, {3807, 3802}, {2210, 2205}, {2211, 2206}, {2949, 2970}, {3221, 3220},
        {3643, 3614}, {3645, 3615}, {3905, 3904}, {3907, 3906}, {3909, 3908}, {3911, 3910},
        {3913, 3912}, {3927, 3926}, {4073, 4072}, {5039, 5038}, {271, 5069},
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        if (arrays[i].arr == oid) {
            *elem = arrays[i].elem;
            if (oid == 1020) /* box uses ';' because its text contains commas */
                *delim = ';';
            return FMT_ARRAY;
        }
    }
    return -1;
}

/* ---- shape checks ----------------------------------------------------------------- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits from s[*i]; returns how many were consumed. */
static size_t skip_digits(const char *s, size_t len, size_t *i)
{
    size_t start = *i;
    while (*i < len && is_digit(s[*i]))
        (*i)++;
    return *i - start;
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !is_digit(s[i]))
        return 0;
    if (s[i] == '0')
        i++;
    else
        skip_digits(s, len, &i);
    if (i < len && s[i] == '.') {
        i++;
        if (!skip_digits(s, len, &i))
            return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!skip_digits(s, len, &i))
            return 0;
    }
    return i == len;
}

static int is_json_integer(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || (s[i] == '0' && len - i > 1))
        return 0;
    return skip_digits(s, len, &i) > 0 && i == len;
}

static int json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


/* A JSON string starting at s[*i] == '"'; control characters must be
 * escaped and the UTF-8 must be valid. */
static int json_skip_string(const char *s, size_t len, size_t *i)
{
    (*i)++;
    while (*i < len) {
        unsigned char c = (unsigned char)s[*i];
        if (c == '"') {
            (*i)++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (++*i >= len)
                return 0;
            char e = s[*i];
            if (e == 'u') {
                if (len - *i < 5)
                    return 0;
                for (int k = 1; k <= 4; k++)
                    if (pg_hex_digit(s[*i + (size_t)k]) < 0)
                        return 0;
                *i += 5;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                (*i)++;
            } else {
                return 0;
            }
        } else if (c >= 0x80) {
            size_t n = pg_utf8_seq_len(s + *i, len - *i);
            if (n == 0)
                return 0;
            *i += n;
        } else {
            (*i)++;
        }
    }
    return 0;
}

/* Skips `"key" :` (with surrounding white space) of an object member. */
static int json_skip_member_key(const char *s, size_t len, size_t *i)
{
    while (*i < len && json_ws(s[*i]))
        (*i)++;
    if (*i >= len || s[*i] != '"' || !json_skip_string(s, len, i))
        return 0;
    while (*i < len && json_ws(s[*i]))
        (*i)++;
    if (*i >= len || s[*i] != ':')
        return 0;
    (*i)++;
    return 1;
}

/* Validates one JSON document (RFC 8259, any top-level value, surrounding
 * whitespace allowed). Iterative, with an explicit stack of open containers,
 * so nesting depth cannot exhaust the C stack. */
int pg_json_valid(const char *s, size_t len)
{
    pg_buf_t stack = {0};
    size_t i = 0;
    int ok = 0;
    for (;;) {
        /* Expecting a value. */
        while (i < len && json_ws(s[i]))
            i++;
        if (i >= len)
            goto done;
        char c = s[i];
        if (c == '{' || c == '[') {
            pg_buf_append(&stack, &c, 1);
            i++;
            while (i < len && json_ws(s[i]))
                i++;
            if (i < len && s[i] == (c == '{' ? '}' : ']')) {
                stack.len--;
                i++;
            } else if (c == '{') {
                if (!json_skip_member_key(s, len, &i))
                    goto done;
                continue;
            } else {
                continue;
            }
        } else if (c == '"') {
            if (!json_skip_string(s, len, &i))
                goto done;
        } else if (c == '-' || is_digit(c)) {
            size_t j = i;
            while (j < len && (is_digit(s[j]) || strchr("+-.eE", s[j])) && s[j])
                j++;
            if (!is_json_number(s + i, j - i))
                goto done;
            i = j;
        } else if (len - i >= 4 && !memcmp(s + i, "true", 4)) {
            i += 4;
        } else if (len - i >= 5 && !memcmp(s + i, "false", 5)) {
            i += 5;
        } else if (len - i >= 4 && !memcmp(s + i, "null", 4)) {
            i += 4;
        } else {
            goto done;
        }
        /* After a value: close containers or move to the next member. */
        for (;;) {
            while (i < len && json_ws(s[i]))
                i++;
            if (stack.len == 0) {
                ok = i == len;
                goto done;
            }
            if (i >= len)
                goto done;
            char top = stack.data[stack.len - 1];
            if (s[i] == (top == '{' ? '}' : ']')) {
                stack.len--;
                i++;
                continue;
            }
            if (s[i] != ',')
                goto done;
            i++;
            if (top == '{' && !json_skip_member_key(s, len, &i))
                goto done;
            break;
        }
    }
done:
    pg_buf_free(&stack);
    return ok;
}

/* ---- bytea ------------------------------------------------------------------------- */

static void base64_tbl_append(pg_buf_t *out, const unsigned char *p, size_t n, const char *tbl)
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

/* Decodes bytea text output (hex "\x0a0b", or the old escape format with
 * "\\" and "\ooo") into raw bytes. */
static int bytea_decode(const char *s, size_t len, pg_buf_t *raw)
{
    if (len >= 2 && s[0] == '\\' && s[1] == 'x') {
        if ((len - 2) % 2)
            return -1;
        for (size_t i = 2; i < len; i += 2) {
            int hi = pg_hex_digit(s[i]), lo = pg_hex_digit(s[i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            unsigned char b = (unsigned char)(hi << 4 | lo);
            pg_buf_append(raw, &b, 1);
        }
        return 0;
    }
    for (size_t i = 0; i < len;) {
        unsigned char b = (unsigned char)s[i];
        if (b != '\\') {
            pg_buf_append(raw, &b, 1);
            i++;
        } else if (i + 1 < len && s[i + 1] == '\\') {
            pg_buf_append(raw, "\\", 1);
            i += 2;
        } else if (i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
                   s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            b = (unsigned char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            pg_buf_append(raw, &b, 1);
            i += 4;
        } else {
            return -1;
        }
    }
    return 0;
}


static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Bytes as a JSON string in binary.handling.mode (bytes and base64 are the
 * same once JsonConverter has written them). */
static void binary_string(pg_buf_t *out, const unsigned char *p, size_t n, pg_binary_mode_t mode)
{
    pg_buf_append(out, "\"", 1);
    if (mode == PG_BINARY_HEX) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
            char h[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
            pg_buf_append(out, h, 2);
        }
    } else {
        base64_tbl_append(out, p, n, mode == PG_BINARY_BASE64_URL_SAFE ? B64URL : B64);
    }
    pg_buf_append(out, "\"", 1);
}

static int bytea_json(pg_buf_t *out, const char *s, size_t len, pg_binary_mode_t mode)
{
    pg_buf_t raw = {0};
    int rc = bytea_decode(s, len, &raw);
    if (rc == 0)
        binary_string(out, (const unsigned char *)raw.data, raw.len, mode);
    pg_buf_free(&raw);
    return rc;
}

/* ---- numbers ------------------------------------------------------------------------------ */

/* A double as Java writes it back: shortest text that reads back as the same
 * double, always with a fraction or an exponent (so that a reader sees a
 * floating-point number); NaN and infinities as the strings Jackson writes. */
static void double_json(pg_buf_t *out, double d)
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

/* A decimal number parsed from text: sign, its digits without the point
 * (leading zeros dropped) and how many of them are after the point. */
typedef struct decimal {
    int neg;
    pg_buf_t digits;
    long scale;
} decimal_t;

/* "[-]ddd[.ddd]" (PostgreSQL's numeric output; no exponent). Returns -1 on
 * any other shape, 1 for NaN/Infinity/-Infinity. */
static int decimal_parse(const char *s, size_t len, decimal_t *d)
{
    memset(d, 0, sizeof *d);
    if ((len == 3 && !memcmp(s, "NaN", 3)) || (len == 8 && !memcmp(s, "Infinity", 8)) ||
        (len == 9 && !memcmp(s, "-Infinity", 9)))
        return 1;
    size_t i = 0;
    if (i < len && s[i] == '-') {
        d->neg = 1;
        i++;
    }
    size_t intd = 0, fracd = 0;
    for (; i < len && is_digit(s[i]); i++, intd++)
        if (d->digits.len || s[i] != '0')
            pg_buf_append(&d->digits, s + i, 1);
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && is_digit(s[i]); i++, fracd++)
            if (d->digits.len || s[i] != '0')
                pg_buf_append(&d->digits, s + i, 1);
        if (!fracd) {
            pg_buf_free(&d->digits);
            return -1;
        }
    }
    if (i != len || intd == 0) {
        pg_buf_free(&d->digits);
        return -1;
    }
    d->scale = (long)fracd;
    return 0;
}

/* Changes the scale: appends zeros, or drops digits rounding half up (as
 * BigDecimal.setScale(HALF_UP)). */
static void decimal_rescale(decimal_t *d, long scale)
{
    while (d->scale < scale) {
        if (d->digits.len)
            pg_buf_append(&d->digits, "0", 1);
        d->scale++;
    }
    if (d->scale <= scale)
        return;
    long drop = d->scale - scale;
    d->scale = scale;
    if ((size_t)drop > d->digits.len) {
        pg_buf_reset(&d->digits);
        return;
    }
    size_t keep = d->digits.len - (size_t)drop;
    int up = d->digits.data[keep] >= '5';
    d->digits.len = keep;
    if (d->digits.data)
        d->digits.data[keep] = '\0';
    if (!up)
        return;
    size_t k = keep;
    while (k > 0 && d->digits.data[k - 1] == '9')
        d->digits.data[--k] = '0';
    if (k > 0) {
        d->digits.data[k - 1]++;
    } else {
        pg_buf_t nd = {0};
        pg_buf_append(&nd, "1", 1);
        pg_buf_append(&nd, d->digits.data ? d->digits.data : "", d->digits.len);
        pg_buf_free(&d->digits);
        d->digits = nd;
    }
}

/* As BigDecimal.stripTrailingZeros, never below scale 0. */
static void decimal_strip(decimal_t *d)
{
    while (d->scale > 0 && d->digits.len && d->digits.data[d->digits.len - 1] == '0') {
        d->digits.data[--d->digits.len] = '\0';
        d->scale--;
    }
    if (!d->digits.len)
        d->scale = 0;
}

/* base64 of the unscaled value as BigInteger.toByteArray() gives it:
 * big-endian two's complement, the fewest bytes that keep the sign. */
static void decimal_unscaled_b64(pg_buf_t *out, const decimal_t *d)
{
    pg_buf_t mag = {0}; /* big-endian magnitude */
    pg_buf_append(&mag, "", 1);
    mag.data[0] = 0;
    for (size_t i = 0; i < d->digits.len; i++) {
        unsigned carry = (unsigned)(d->digits.data[i] - '0');
        for (size_t k = mag.len; k-- > 0;) {
            unsigned v = (unsigned char)mag.data[k] * 10u + carry;
            mag.data[k] = (char)(v & 0xff);
            carry = v >> 8;
        }
        while (carry) {
            unsigned char c = (unsigned char)(carry & 0xff);
            pg_buf_append(&mag, "", 1);
            memmove(mag.data + 1, mag.data, mag.len - 1);
            mag.data[0] = (char)c;
            carry >>= 8;
        }
    }
    unsigned char *m = (unsigned char *)mag.data;
    size_t n = mag.len, off = 0;
    while (n - off > 1 && m[off] == 0)
        off++;
    pg_buf_t res = {0};
    int zero = n - off == 1 && m[off] == 0;
    if (!d->neg || zero) {
        if (m[off] & 0x80)
            pg_buf_append(&res, "\0", 1);
        pg_buf_append(&res, m + off, n - off);
    } else {
        /* Two's complement of the magnitude in the same width. */
        unsigned carry = 1;
        for (size_t k = n; k-- > off;) {
            unsigned v = (unsigned)(unsigned char)~m[k] + carry;
            m[k] = (unsigned char)v;
            carry = v >> 8;
        }
        if (!(m[off] & 0x80))
            pg_buf_append(&res, "\xff", 1);
        pg_buf_append(&res, m + off, n - off);
    }
    pg_buf_append(out, "\"", 1);
    base64_tbl_append(out, (const unsigned char *)res.data, res.len, B64);
    pg_buf_append(out, "\"", 1);
    pg_buf_free(&res);
    pg_buf_free(&mag);
}

/* scale < 0: no typmod (VariableScaleDecimal in precise mode). */
static int decimal_json(pg_buf_t *out, const char *s, size_t len, long scale, const pg_format_t *f)
{
    if (f->decimal == PG_DECIMAL_STRING) {
        /* Debezium's SpecialValueDecimal names for the special values. */
        if (len == 3 && !memcmp(s, "NaN", 3))
            pg_buf_puts(out, "\"NAN\"");
        else if (len == 8 && !memcmp(s, "Infinity", 8))
            pg_buf_puts(out, "\"POSITIVE_INFINITY\"");
        else if (len == 9 && !memcmp(s, "-Infinity", 9))
            pg_buf_puts(out, "\"NEGATIVE_INFINITY\"");
        else
            pg_buf_json_string(out, s, len);
        return 0;
    }
    if (f->decimal == PG_DECIMAL_DOUBLE) {
        decimal_t d;
        int rc = decimal_parse(s, len, &d);
        pg_buf_free(&d.digits);
        if (rc < 0)
            return -1;
        /* BigDecimal.doubleValue: correctly rounded, ±Infinity beyond the
         * range (as strtod does). */
        char *tmp = malloc(len + 1);
        if (!tmp)
            return -1;
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        double_json(out, strtod(tmp, NULL));
        free(tmp);
        return 0;
    }
    decimal_t d;
    int rc = decimal_parse(s, len, &d);
    if (rc < 0)
        return -1;
    if (rc == 1) { /* NaN and infinities have no Decimal: Debezium writes null */
        pg_buf_append(out, "null", 4);
        return 0;
    }
    if (scale >= 0) {
        decimal_rescale(&d, scale);
        decimal_unscaled_b64(out, &d);
    } else {
        decimal_strip(&d);
        pg_buf_printf(out, "{\"scale\":%ld,\"value\":", d.scale);
        decimal_unscaled_b64(out, &d);
        pg_buf_append(out, "}", 1);
    }
    pg_buf_free(&d.digits);
    return 0;
}

/* numeric's typmod: ((precision << 16) | scale) + 4; scale is 11 bits signed
 * since PostgreSQL 15. -1 for none. */
static long numeric_scale(int32_t typmod)
{
    if (typmod < 4)
        return -1;
    long sc = (long)((typmod - 4) & 0x7ff);
    if (sc & 0x400)
        sc -= 0x800;
    return sc < 0 ? 0 : sc;
}

static int money_digits(const pg_format_t *f)
{
    return f->money_digits_set ? f->money_digits : 2;
}

/* money text in lc_monetary=C ("$1,234.56", "-$0.01"): the digits, the point
 * and the sign; the currency symbol and group separators dropped. */
static int money_json(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f)
{
    pg_buf_t t = {0};
    int neg = 0, seen = 0, point = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (is_digit(c)) {
            pg_buf_append(&t, &c, 1);
            seen = 1;
        } else if (c == '.' && !point && seen) {
            pg_buf_append(&t, &c, 1);
            point = 1;
        } else if (c == '-' || c == '(') {
            neg = 1;
        } else if (c == '.' || (unsigned char)c < 0x20) {
            pg_buf_free(&t);
            return -1;
        }
    }
    if (!seen || (t.len && t.data[t.len - 1] == '.')) {
        pg_buf_free(&t);
        return -1;
    }
    pg_buf_t num = {0};
    if (neg)
        pg_buf_append(&num, "-", 1);
    pg_buf_append(&num, t.data, t.len);
    pg_buf_free(&t);
    int rc;
    if (f->decimal == PG_DECIMAL_PRECISE) {
        decimal_t d;
        rc = decimal_parse(num.data, num.len, &d);
        if (rc == 0) {
            decimal_rescale(&d, money_digits(f));
            decimal_unscaled_b64(out, &d);
        }
        pg_buf_free(&d.digits);
        rc = rc == 0 ? 0 : -1;
    } else {
        rc = decimal_json(out, num.data, num.len, -1, f);
    }
    pg_buf_free(&num);
    return rc;
}

/* ---- dates and times ------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (astronomical years). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int parse_fixed(const char *s, size_t len, size_t *i, int n, int *v)
{
    if (len - *i < (size_t)n)
        return -1;
    int r = 0;
    for (int k = 0; k < n; k++) {
        if (!is_digit(s[*i + (size_t)k]))
            return -1;
        r = r * 10 + (s[*i + (size_t)k] - '0');
    }
    *i += (size_t)n;
    *v = r;
    return 0;
}

/* "HH:MM:SS[.ffffff]" from s[*i] → microseconds since midnight (24:00:00
 * allowed, as PostgreSQL allows it). */
static int parse_clock(const char *s, size_t len, size_t *i, int64_t *us)
{
    int h, m, sec;
    if (parse_fixed(s, len, i, 2, &h) || *i >= len || s[(*i)++] != ':' || parse_fixed(s, len, i, 2, &m) ||
        *i >= len || s[(*i)++] != ':' || parse_fixed(s, len, i, 2, &sec))
        return -1;
    if (h > 24 || m > 59 || sec > 60)
        return -1;
    int64_t frac = 0;
    if (*i < len && s[*i] == '.') {
        (*i)++;
        int nd = 0;
        while (*i < len && is_digit(s[*i])) {
            if (nd < 6) {
                frac = frac * 10 + (s[*i] - '0');
                nd++;
            }
            (*i)++;
        }
        if (nd == 0)
            return -1;
        while (nd++ < 6)
            frac *= 10;
    }
    *us = ((int64_t)h * 3600 + m * 60 + sec) * 1000000 + frac;
    return 0;
}

/* "[+-]HH[:MM[:SS]]" from s[*i] → seconds east of UTC. */
static int parse_offset(const char *s, size_t len, size_t *i, int64_t *secs)
{
    if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
        return -1;
    int neg = s[(*i)++] == '-';
    int h, m = 0, sec = 0;
    if (parse_fixed(s, len, i, 2, &h))
        return -1;
    if (*i < len && s[*i] == ':') {
        (*i)++;
        if (parse_fixed(s, len, i, 2, &m))
            return -1;
        if (*i < len && s[*i] == ':') {
            (*i)++;
            if (parse_fixed(s, len, i, 2, &sec))
                return -1;
        }
    }
    *secs = (neg ? -1 : 1) * ((int64_t)h * 3600 + m * 60 + sec);
    return 0;
}

/* "YYYY-MM-DD[ BC]" prefix → days since the epoch; *i after the date (the
 * " BC" suffix is looked for at the end of the text by the caller). */
static int parse_date(const char *s, size_t len, int bc, size_t *i, int64_t *days)
{
    int64_t y = 0;
    size_t nd = 0;
    while (*i < len && is_digit(s[*i]) && nd < 9) {
        y = y * 10 + (s[*i] - '0');
        (*i)++;
        nd++;
    }
    int m, d;
    if (nd < 4 || *i >= len || s[(*i)++] != '-' || parse_fixed(s, len, i, 2, &m) || *i >= len ||
        s[(*i)++] != '-' || parse_fixed(s, len, i, 2, &d))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    if (bc)
        y = 1 - y; /* 1 BC is year 0 */
    *days = days_from_civil(y, m, d);
    return 0;
}

static int is_infinity(const char *s, size_t len)
{
    return (len == 8 && !memcmp(s, "infinity", 8)) || (len == 9 && !memcmp(s, "-infinity", 9));
}

/* Appends "YYYY-MM-DD" for days since the epoch (ISO years: 4 digits, a
 * sign below 0 and above 9999 as java.time prints them). */
static void format_date(char *buf, size_t cap, int64_t days)
{
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y > 9999)
        snprintf(buf, cap, "+%" PRId64 "-%02d-%02d", y, m, d);
    else if (y < 0)
        snprintf(buf, cap, "-%04" PRId64 "-%02d-%02d", -y, m, d);
    else
        snprintf(buf, cap, "%04" PRId64 "-%02d-%02d", y, m, d);
}

/* "HH:MM:SS" and a fraction: width < 0 trims trailing zeros (java.time's
 * ISO format), else exactly width digits. */
static void format_clock(pg_buf_t *out, int64_t us, int width)
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    pg_buf_printf(out, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    char f[8];
    snprintf(f, sizeof f, "%06d", (int)frac);
    int n = 6;
    if (width < 0) {
        while (n > 0 && f[n - 1] == '0')
            n--;
    } else {
        n = width > 6 ? 6 : width;
    }
    if (n > 0) {
        pg_buf_append(out, ".", 1);
        pg_buf_append(out, f, (size_t)n);
    }
}

/* time/timestamp precision from the typmod (6 without one). */
static int time_precision(int32_t typmod)
{
    return typmod >= 0 && typmod <= 6 ? (int)typmod : 6;
}

static int date_json(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f)
{
    if (is_infinity(s, len)) {
        pg_buf_json_string(out, s, len);
        return 0;
    }
    int bc = len > 3 && !memcmp(s + len - 3, " BC", 3);
    size_t n = bc ? len - 3 : len, i = 0;
    int64_t days;
    if (parse_date(s, n, bc, &i, &days) || i != n)
        return -1;
    if (f->time == PG_TIME_ISOSTRING) {
        char tmp[40];
        format_date(tmp, sizeof tmp, days);
        strcat(tmp, "Z"); /* as Debezium 3.6 writes it */
        pg_buf_json_string(out, tmp, strlen(tmp));
    } else {
        pg_buf_printf(out, "%" PRId64, days);
    }
    return 0;
}

static int time_json(pg_buf_t *out, const char *s, size_t len, int32_t typmod, const pg_format_t *f)
{
    size_t i = 0;
    int64_t us;
    if (parse_clock(s, len, &i, &us) || i != len)
        return -1;
    int p = time_precision(typmod);
    switch (f->time) {
    case PG_TIME_ADAPTIVE:
        pg_buf_printf(out, "%" PRId64, p <= 3 ? us / 1000 : us);
        break;
    case PG_TIME_ADAPTIVE_MICROS: pg_buf_printf(out, "%" PRId64, us); break;
    case PG_TIME_CONNECT: pg_buf_printf(out, "%" PRId64, us / 1000); break;
    case PG_TIME_ISOSTRING: {
        pg_buf_t t = {0};
        format_clock(&t, us, -1);
        pg_buf_append(&t, "Z", 1); /* as Debezium 3.6 writes it */
        pg_buf_json_string(out, t.data, t.len);
        pg_buf_free(&t);
        break;
    }
    }
    return 0;
}

/* timetz → the same instant's time at UTC, "HH:MM:SS[.f]Z". */
static int timetz_json(pg_buf_t *out, const char *s, size_t len)
{
    size_t i = 0;
    int64_t us, off;
    if (parse_clock(s, len, &i, &us) || parse_offset(s, len, &i, &off) || i != len)
        return -1;
    const int64_t day = 86400000000LL;
    int64_t utc = us - off * 1000000;
    utc = ((utc % day) + day) % day;
    pg_buf_t t = {0};
    format_clock(&t, utc, -1);
    pg_buf_append(&t, "Z", 1);
    pg_buf_json_string(out, t.data, t.len);
    pg_buf_free(&t);
    return 0;
}

/* timestamp / timestamptz → microseconds since the epoch (UTC for tz). */
static int timestamp_parse(const char *s, size_t len, int tz, int64_t *us_out)
{
    int bc = len > 3 && !memcmp(s + len - 3, " BC", 3);
    size_t n = bc ? len - 3 : len, i = 0;
    int64_t days, us, off = 0;
    if (parse_date(s, n, bc, &i, &days) || i >= n || s[i++] != ' ' || parse_clock(s, n, &i, &us))
        return -1;
    if (tz && parse_offset(s, n, &i, &off))
        return -1;
    if (i != n)
        return -1;
    *us_out = days * 86400000000LL + us - off * 1000000;
    return 0;
}

static int timestamp_json(pg_buf_t *out, const char *s, size_t len, int32_t typmod, const pg_format_t *f)
{
    if (is_infinity(s, len)) {
        pg_buf_json_string(out, s, len);
        return 0;
    }
    int64_t us;
    if (timestamp_parse(s, len, 0, &us))
        return -1;
    int p = time_precision(typmod);
    if (f->time == PG_TIME_ISOSTRING) {
        char d[40];
        int64_t days = floor_div(us, 86400000000LL);
        format_date(d, sizeof d, days);
        pg_buf_t t = {0};
        pg_buf_puts(&t, d);
        pg_buf_append(&t, "T", 1);
        format_clock(&t, us - days * 86400000000LL, -1);
        pg_buf_append(&t, "Z", 1);
        pg_buf_json_string(out, t.data, t.len);
        pg_buf_free(&t);
    } else if (f->time == PG_TIME_CONNECT || p <= 3) {
        pg_buf_printf(out, "%" PRId64, floor_div(us, 1000));
    } else {
        pg_buf_printf(out, "%" PRId64, us);
    }
    return 0;
}

/* ZonedTimestamp: UTC, exactly the column's precision in fraction digits. */
static int timestamptz_json(pg_buf_t *out, const char *s, size_t len, int32_t typmod)
{
    if (is_infinity(s, len)) {
        pg_buf_json_string(out, s, len);
        return 0;
    }
    int64_t us;
    if (timestamp_parse(s, len, 1, &us))
        return -1;
    char d[40];
    int64_t days = floor_div(us, 86400000000LL);
    format_date(d, sizeof d, days);
    pg_buf_t t = {0};
    pg_buf_puts(&t, d);
    pg_buf_append(&t, "T", 1);
    format_clock(&t, us - days * 86400000000LL, time_precision(typmod));
    pg_buf_append(&t, "Z", 1);
    pg_buf_json_string(out, t.data, t.len);
    pg_buf_free(&t);
    return 0;
}

/* IntervalStyle=iso_8601 output: "P1Y2M3DT4H5M6.789S", "P-1M-2DT-1S",
 * "PT0S"; fields optional, each with its own sign. */
static int interval_json(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f)
{
    int64_t years = 0, months = 0, days = 0, hours = 0, mins = 0, sec_us = 0;
    size_t i = 0;
    if (len < 2 || s[i++] != 'P')
        return -1;
    int in_time = 0, any = 0;
    while (i < len) {
        if (s[i] == 'T') {
            if (in_time)
                return -1;
            in_time = 1;
            i++;
            continue;
        }
        int neg = 0;
        if (s[i] == '-') {
            neg = 1;
            i++;
        }
        int64_t v = 0;
        size_t nd = 0;
        while (i < len && is_digit(s[i]) && nd < 15) {
            v = v * 10 + (s[i] - '0');
            i++;
            nd++;
        }
        if (!nd || (i < len && is_digit(s[i])))
            return -1;
        int64_t frac = 0;
        int has_frac = 0;
        if (i < len && s[i] == '.') {
            i++;
            int fd = 0;
            while (i < len && is_digit(s[i])) {
                if (fd < 6) {
                    frac = frac * 10 + (s[i] - '0');
                    fd++;
                }
                i++;
            }
            if (!fd)
                return -1;
            while (fd++ < 6)
                frac *= 10;
            has_frac = 1;
        }
        if (i >= len)
            return -1;
        char u = s[i++];
        if (neg)
            v = -v, frac = -frac;
        if (has_frac && !(in_time && u == 'S'))
            return -1;
        if (!in_time && u == 'Y')
            years = v;
        else if (!in_time && u == 'M')
            months = v;
        else if (!in_time && u == 'D')
            days = v;
        else if (in_time && u == 'H')
            hours = v;
        else if (in_time && u == 'M')
            mins = v;
        else if (in_time && u == 'S')
            sec_us = v * 1000000 + frac;
        else
            return -1;
        any = 1;
    }
    if (!any)
        return -1;
    /* PostgreSQL prints the time part as one signed quantity split into
     * H, M, S; normalise so that all three carry the same sign as
     * PGInterval reads them. */
    int64_t t_us = hours * 3600000000LL + mins * 60000000LL + sec_us;
    int64_t mo = years * 12 + months;
    years = mo / 12;
    months = mo % 12;
    hours = t_us / 3600000000LL;
    mins = t_us / 60000000LL % 60;
    sec_us = t_us % 60000000LL;
    if (f->interval == PG_INTERVAL_STRING) {
        pg_buf_t t = {0};
        pg_buf_printf(&t, "P%" PRId64 "Y%" PRId64 "M%" PRId64 "DT%" PRId64 "H%" PRId64 "M", years, months, days,
                      hours, mins);
        int64_t a = sec_us < 0 ? -sec_us : sec_us;
        pg_buf_printf(&t, "%s%" PRId64, sec_us < 0 ? "-" : "", a / 1000000);
        if (a % 1000000) {
            char fr[8];
            snprintf(fr, sizeof fr, "%06d", (int)(a % 1000000));
            int n = 6;
            while (fr[n - 1] == '0')
                n--;
            pg_buf_append(&t, ".", 1);
            pg_buf_append(&t, fr, (size_t)n);
        }
        pg_buf_append(&t, "S", 1);
        pg_buf_json_string(out, t.data, t.len);
        pg_buf_free(&t);
        return 0;
    }
    /* MicroDuration.durationMicros, in doubles as Debezium computes it. */
    double secs = (double)sec_us / 1e6;
    double ndays = (double)(years * 12 + months) * (365.25 / 12.0) + (double)days;
    double nsecs = (((ndays * 24 + (double)hours) * 60) + (double)mins) * 60 + secs;
    double us = nsecs * 1e6;
    if (!(us > -9.2e18 && us < 9.2e18))
        return -1;
    pg_buf_printf(out, "%" PRId64, (int64_t)us);
    return 0;
}

/* ---- bits, points, hstore ------------------------------------------------------------------ */

/* bit(n)/varbit(n): n == 1 → boolean; else Debezium's Bits: bit k of the
 * value is the k-th character from the right; little-endian bytes, up to
 * the highest set bit. */
static int bits_json(pg_buf_t *out, const char *s, size_t len, int32_t typmod)
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
    binary_string(out, b, used, PG_BINARY_BYTES);
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
static int point_json(pg_buf_t *out, const char *s, size_t len)
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
    double_json(out, x);
    pg_buf_puts(out, ",\"y\":");
    double_json(out, y);
    pg_buf_puts(out, ",\"wkb\":");
    binary_string(out, wkb, sizeof wkb, PG_BINARY_BYTES);
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
static int hstore_json(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f)
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

/* ---- arrays ------------------------------------------------------------------------------ */

static int value_json(pg_buf_t *out, uint32_t oid, int32_t typmod, const char *s, size_t len,
                      const pg_format_t *f, int depth);

static int array_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

typedef struct array_ctx {
    const char *s;
    size_t len, i;
    uint32_t elem;
    int32_t typmod; /* the array column's typmod is its elements' */
    char delim;
    const pg_format_t *f;
    int depth;
    pg_buf_t elem_text; /* unescaped text of the current element */
} array_ctx_t;

/* One element (quoted or not) → elem_text; *is_null for an unquoted NULL. */
static int array_element(array_ctx_t *a, int *is_null)
{
    pg_buf_reset(&a->elem_text);
    *is_null = 0;
    if (a->s[a->i] == '"') {
        a->i++;
        for (;;) {
            if (a->i >= a->len)
                return -1;
            char c = a->s[a->i++];
            if (c == '"')
                return 0;
            if (c == '\\') {
                if (a->i >= a->len)
                    return -1;
                c = a->s[a->i++];
            }
            pg_buf_append(&a->elem_text, &c, 1);
        }
    }
    /* Unquoted: up to the delimiter or '}', trailing whitespace dropped
     * unless escaped. */
    size_t keep = 0;
    int escaped = 0;
    while (a->i < a->len) {
        char c = a->s[a->i];
        if (c == a->delim || c == '}')
            break;
        if (c == '{' || c == '"')
            return -1;
        a->i++;
        if (c == '\\') {
            if (a->i >= a->len)
                return -1;
            c = a->s[a->i++];
            escaped = 1;
            pg_buf_append(&a->elem_text, &c, 1);
            keep = a->elem_text.len;
            continue;
        }
        pg_buf_append(&a->elem_text, &c, 1);
        if (!array_ws(c))
            keep = a->elem_text.len;
    }
    a->elem_text.len = keep;
    if (a->elem_text.data)
        a->elem_text.data[keep] = '\0';
    if (keep == 0)
        return -1; /* PostgreSQL quotes empty elements */
    if (!escaped && keep == 4) {
        const char *t = a->elem_text.data;
        *is_null = (t[0] | 0x20) == 'n' && (t[1] | 0x20) == 'u' && (t[2] | 0x20) == 'l' &&
                   (t[3] | 0x20) == 'l';
    }
    return 0;
}

/* "{...}" at a->s[a->i] (leading whitespace already skipped). */
static int array_level(array_ctx_t *a, pg_buf_t *out, int dims)
{
    if (dims > MAX_ARRAY_DIMS || a->i >= a->len || a->s[a->i] != '{')
        return -1;
    a->i++;
    pg_buf_append(out, "[", 1);
    while (a->i < a->len && array_ws(a->s[a->i]))
        a->i++;
    if (a->i < a->len && a->s[a->i] == '}') {
        a->i++;
        pg_buf_append(out, "]", 1);
        return 0;
    }
    for (int first = 1;; first = 0) {
        while (a->i < a->len && array_ws(a->s[a->i]))
            a->i++;
        if (a->i >= a->len)
            return -1;
        if (!first)
            pg_buf_append(out, ",", 1);
        if (a->s[a->i] == '{') {
            if (array_level(a, out, dims + 1) < 0)
                return -1;
        } else {
            int is_null;
            if (array_element(a, &is_null) < 0)
                return -1;
            if (is_null)
                pg_buf_append(out, "null", 4);
            else if (value_json(out, a->elem, a->typmod, a->elem_text.data ? a->elem_text.data : "",
                                a->elem_text.len, a->f, a->depth + 1) < 0)
                return -1;
        }
        while (a->i < a->len && array_ws(a->s[a->i]))
            a->i++;
        if (a->i >= a->len)
            return -1;
        char c = a->s[a->i++];
        if (c == '}')
            break;
        if (c != a->delim)
            return -1;
    }
    pg_buf_append(out, "]", 1);
    return 0;
}

static int array_json(pg_buf_t *out, uint32_t elem, int32_t typmod, char delim, const char *s, size_t len,
                      const pg_format_t *f, int depth)
{
    array_ctx_t a = {.s = s, .len = len, .elem = elem, .typmod = typmod, .delim = delim, .f = f, .depth = depth};
    while (a.i < len && array_ws(s[a.i]))
        a.i++;
    /* Optional dimension decoration "[1:2][0:1]=" (non-default lower bounds);
     * JSON arrays have no lower bound, so it is checked and dropped. */
    if (a.i < len && s[a.i] == '[') {
        while (a.i < len && s[a.i] == '[') {
            a.i++;
            if (a.i < len && s[a.i] == '-')
                a.i++;
            if (!skip_digits(s, len, &a.i) || a.i >= len || s[a.i++] != ':')
                return -1;
            if (a.i < len && s[a.i] == '-')
                a.i++;
            if (!skip_digits(s, len, &a.i) || a.i >= len || s[a.i++] != ']')
                return -1;
        }
        if (a.i >= len || s[a.i++] != '=')
            return -1;
        while (a.i < len && array_ws(s[a.i]))
            a.i++;
    }
    int rc = array_level(&a, out, 1);
    while (rc == 0 && a.i < len && array_ws(s[a.i]))
        a.i++;
    if (rc == 0 && a.i != len)
        rc = -1;
    pg_buf_free(&a.elem_text);
    return rc;
}

/* ---- dispatch --------------------------------------------------------------------------- */

static const pg_format_t DEFAULT_FORMAT = {0};

/* Appends the JSON for one value; returns -1 (with out unchanged) when the
 * text does not have the type's shape, so the caller can fall back. */
static int value_json(pg_buf_t *out, uint32_t oid, int32_t typmod, const char *s, size_t len,
                      const pg_format_t *f, int depth)
{
    size_t mark = out->len;
    uint32_t elem = 0;
    char delim = ',';
    int ft = builtin_fmt(oid, &elem, &delim);
    if (ft < 0) {
        char cat = 0;
        uint32_t base = 0;
        int32_t base_typmod = -1;
        const pg_type_resolver_t *types = f->types;
        if (types && types->resolve && depth < MAX_TYPE_DEPTH)
            cat = types->resolve(types->ctx, oid, &base, &base_typmod, &elem);
        if (cat == 'd')
            return value_json(out, base, typmod >= 0 ? typmod : base_typmod, s, len, f, depth + 1);
        ft = cat == 'a' ? FMT_ARRAY : cat == 'h' ? FMT_HSTORE : FMT_STRING;
    }
    if (depth > MAX_TYPE_DEPTH)
        ft = FMT_STRING;
    int rc = 0;
    switch ((fmt_t)ft) {
    case FMT_INT:
        if (is_json_integer(s, len))
            pg_buf_append(out, s, len);
        else
            rc = -1;
        break;
    case FMT_FLOAT:
        /* NaN, Infinity and -Infinity are not JSON numbers: strings (as
         * Jackson quotes them). A whole number gets ".0": Java prints a
         * double with a fraction. */
        if (is_json_number(s, len)) {
            pg_buf_append(out, s, len);
            if (!memchr(s, '.', len) && !memchr(s, 'e', len) && !memchr(s, 'E', len))
                pg_buf_append(out, ".0", 2);
        } else {
            pg_buf_json_string(out, s, len);
        }
        break;
    case FMT_BOOL:
        if (len == 1 && s[0] == 't')
            pg_buf_append(out, "true", 4);
        else if (len == 1 && s[0] == 'f')
            pg_buf_append(out, "false", 5);
        else
            rc = -1;
        break;
    case FMT_BYTEA: rc = bytea_json(out, s, len, f->binary); break;
    case FMT_NUMERIC: rc = decimal_json(out, s, len, numeric_scale(typmod), f); break;
    case FMT_MONEY: rc = money_json(out, s, len, f); break;
    case FMT_DATE: rc = date_json(out, s, len, f); break;
    case FMT_TIME: rc = time_json(out, s, len, typmod, f); break;
    case FMT_TIMETZ: rc = timetz_json(out, s, len); break;
    case FMT_TIMESTAMP: rc = timestamp_json(out, s, len, typmod, f); break;
    case FMT_TIMESTAMPTZ: rc = timestamptz_json(out, s, len, typmod); break;
    case FMT_INTERVAL: rc = interval_json(out, s, len, f); break;
    case FMT_BIT: rc = bits_json(out, s, len, typmod); break;
    case FMT_POINT: rc = point_json(out, s, len); break;
    case FMT_HSTORE: rc = hstore_json(out, s, len, f); break;
    case FMT_ARRAY: rc = array_json(out, elem, typmod, delim, s, len, f, depth); break;
    case FMT_STRING: pg_buf_json_string(out, s, len); break;
    }
    if (rc < 0) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
    }
    return rc;
}

void pg_value_json(pg_buf_t *out, uint32_t type_oid, int32_t typmod, const char *text, size_t len,
                   const pg_format_t *fmt)
{
    if (!text) {
        pg_buf_append(out, "null", 4);
        return;
    }
    if (value_json(out, type_oid, typmod, text, len, fmt ? fmt : &DEFAULT_FORMAT, 0) < 0)
        pg_buf_json_string(out, text, len);
}

/* The unchanged-TOAST placeholder as Debezium writes it for the column's
 * type (UnchangedToastedPlaceholder): bytea the placeholder's bytes;
 * text/varchar/json/jsonb arrays [placeholder]; int4/int8/date arrays the
 * bytes as (signed) numbers; hstore {placeholder: placeholder}; everything
 * else the string. */
static void placeholder_json(pg_buf_t *out, uint32_t oid, const pg_format_t *f)
{
    const char *ph = f->unavailable ? f->unavailable : DEFAULT_TOAST_PLACEHOLDER;
    size_t n = strlen(ph);
    switch (oid) {
    case 17:
        /* What Debezium 3.6.1 writes: the bytes (base64) in bytes mode, the
         * string itself in hex mode, null in the base64 modes. */
        if (f->binary == PG_BINARY_BYTES)
            binary_string(out, (const unsigned char *)ph, n, PG_BINARY_BYTES);
        else if (f->binary == PG_BINARY_HEX)
            pg_buf_json_string(out, ph, n);
        else
            pg_buf_append(out, "null", 4);
        return;
    case 1009: case 1015: case 199: case 3807:
        pg_buf_append(out, "[", 1);
        pg_buf_json_string(out, ph, n);
        pg_buf_append(out, "]", 1);
        return;
    case 1007: case 1016: case 1182:
        pg_buf_append(out, "[", 1);
        for (size_t i = 0; i < n; i++)
            pg_buf_printf(out, "%s%d", i ? "," : "", (int)(signed char)ph[i]);
        pg_buf_append(out, "]", 1);
        return;
    default: break;
    }
    /* hstore: the map {placeholder: placeholder}. */
    uint32_t base = 0, elem = 0;
    int32_t base_typmod = -1;
    if (f->types && f->types->resolve && f->types->resolve(f->types->ctx, oid, &base, &base_typmod, &elem) == 'h') {
        pg_buf_t obj = {0};
        pg_buf_append(&obj, "{", 1);
        pg_buf_json_string(&obj, ph, n);
        pg_buf_append(&obj, ":", 1);
        pg_buf_json_string(&obj, ph, n);
        pg_buf_append(&obj, "}", 1);
        if (f->hstore == PG_HSTORE_MAP)
            pg_buf_append(out, obj.data, obj.len);
        else
            pg_buf_json_string(out, obj.data, obj.len);
        pg_buf_free(&obj);
        return;
    }
    pg_buf_json_string(out, ph, n);
}

void pg_datum_json(pg_buf_t *out, uint32_t type_oid, int32_t typmod, const pg_datum_t *datum,
                   const pg_format_t *fmt)
{
    if (!fmt)
        fmt = &DEFAULT_FORMAT;
    if (!datum) {
        pg_buf_append(out, "null", 4);
        return;
    }
    switch (datum->kind) {
    case PG_DATUM_TEXT:
        pg_value_json(out, type_oid, typmod, datum->data ? datum->data : "", datum->len, fmt);
        break;
    case PG_DATUM_UNCHANGED_TOAST: placeholder_json(out, type_oid, fmt); break;
    case PG_DATUM_BINARY:
        /* Binary send format is type-specific; keep the bytes, as base64. */
        binary_string(out, (const unsigned char *)(datum->data ? datum->data : ""), datum->data ? datum->len : 0,
                      PG_BINARY_BYTES);
        break;
    case PG_DATUM_NULL:
    default: pg_buf_append(out, "null", 4); break;
    }
}
