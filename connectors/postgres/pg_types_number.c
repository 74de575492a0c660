/*
 * pg_types_number.c — numeric and money as Debezium writes them in
 * decimal.handling.mode (precise: Connect Decimal / VariableScaleDecimal,
 * double, string). Called by pg_types.c's dispatch; see pg_value_json in
 * pgoutput.h for the mapping.
 */
#include "pg_types.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- numbers ------------------------------------------------------------------------------ */

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
    for (; i < len && pg_is_digit(s[i]); i++, intd++)
        if (d->digits.len || s[i] != '0')
            pg_buf_append(&d->digits, s + i, 1);
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && pg_is_digit(s[i]); i++, fracd++)
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
    pg_buf_binary(out, (const unsigned char *)res.data, res.len, PG_BINARY_BYTES);
    pg_buf_free(&res);
    pg_buf_free(&mag);
}

/* scale < 0: no typmod (VariableScaleDecimal in precise mode). */
int pg_fmt_decimal(pg_buf_t *out, const char *s, size_t len, long scale, const pg_format_t *f)
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
        pg_buf_double(out, strtod(tmp, NULL));
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
long pg_numeric_scale(int32_t typmod)
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
int pg_fmt_money(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f)
{
    pg_buf_t t = {0};
    int neg = 0, seen = 0, point = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (pg_is_digit(c)) {
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
        rc = pg_fmt_decimal(out, num.data, num.len, -1, f);
    }
    pg_buf_free(&num);
    return rc;
}
