/*
 * pg_types.c — turns one datum in PostgreSQL's text output format into a JSON
 * value (the mapping is documented at pg_value_json in pgoutput.h): the
 * dispatch by type, arrays, bytea, the TOAST placeholder and the JSON
 * validator. Numbers, times and the other structured types are in
 * pg_types_number.c, pg_types_time.c and pg_types_other.c (pg_types.h).
 *
 * Invariant: whatever the input bytes, the output is exactly one valid JSON
 * value. Every typed conversion (number, bool, base64, decimal, time,
 * interval, hstore, array) first checks that the text has the shape
 * PostgreSQL prints; when it does not, the formatter rolls the buffer back to
 * where it started and emits the original text as a JSON string instead. A value is never
 * guessed: a string the consumer can still read beats a wrong number.
 *
 * The session settings that make the text predictable (DateStyle=ISO,
 * IntervalStyle=iso_8601, TimeZone=UTC, extra_float_digits=3,
 * bytea_output=hex, lc_monetary=C) are the connector's job; the formatter
 * still copes with the other common forms (offsets other than +00, bytea
 * escape format). Where Debezium computes with Java doubles (interval
 * microseconds, decimal.handling.mode=double) so do these files, so that
 * the numbers are the same bits.
 */
#include "pg_types.h"

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

/* Digits from s[*i]; returns how many were consumed. */
static size_t skip_digits(const char *s, size_t len, size_t *i)
{
    size_t start = *i;
    while (*i < len && pg_is_digit(s[*i]))
        (*i)++;
    return *i - start;
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !pg_is_digit(s[i]))
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
        } else if (c == '-' || pg_is_digit(c)) {
            size_t j = i;
            while (j < len && (pg_is_digit(s[j]) || strchr("+-.eE", s[j])) && s[j])
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


static int bytea_json(pg_buf_t *out, const char *s, size_t len, pg_binary_mode_t mode)
{
    pg_buf_t raw = {0};
    int rc = bytea_decode(s, len, &raw);
    if (rc == 0)
        pg_buf_binary(out, (const unsigned char *)raw.data, raw.len, mode);
    pg_buf_free(&raw);
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
    case FMT_NUMERIC: rc = pg_fmt_decimal(out, s, len, pg_numeric_scale(typmod), f); break;
    case FMT_MONEY: rc = pg_fmt_money(out, s, len, f); break;
    case FMT_DATE: rc = pg_fmt_date(out, s, len, f); break;
    case FMT_TIME: rc = pg_fmt_time(out, s, len, typmod, f); break;
    case FMT_TIMETZ: rc = pg_fmt_timetz(out, s, len); break;
    case FMT_TIMESTAMP: rc = pg_fmt_timestamp(out, s, len, typmod, f); break;
    case FMT_TIMESTAMPTZ: rc = pg_fmt_timestamptz(out, s, len, typmod); break;
    case FMT_INTERVAL: rc = pg_fmt_interval(out, s, len, f); break;
    case FMT_BIT: rc = pg_fmt_bits(out, s, len, typmod); break;
    case FMT_POINT: rc = pg_fmt_point(out, s, len); break;
    case FMT_HSTORE: rc = pg_fmt_hstore(out, s, len, f); break;
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
            pg_buf_binary(out, (const unsigned char *)ph, n, PG_BINARY_BYTES);
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
        pg_buf_binary(out, (const unsigned char *)(datum->data ? datum->data : ""), datum->data ? datum->len : 0,
                      PG_BINARY_BYTES);
        break;
    case PG_DATUM_NULL:
    default: pg_buf_append(out, "null", 4); break;
    }
}
