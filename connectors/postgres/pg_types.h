/*
 * pg_types.h — what the value formatter's files share (private to
 * pg_types.c, pg_types_number.c, pg_types_time.c, pg_types_other.c and the
 * helpers in pg_buf.c). The public mapping is pg_value_json in pgoutput.h.
 *
 * Each pg_fmt_* appends the JSON for one value in PostgreSQL's text output
 * and returns 0, or returns -1 when the text does not have the type's shape
 * (the caller rolls the buffer back and writes the text as a string). They
 * are pure and may run on any thread.
 */
#ifndef FERRY_PG_TYPES_H
#define FERRY_PG_TYPES_H

#include "pgoutput.h"

static inline int pg_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* pg_buf.c: bytes as a JSON string in binary.handling.mode (bytes and base64
 * are the same once JsonConverter has written them: base64); a double as Java
 * writes it back (shortest round-trip text, always with a fraction or an
 * exponent; NaN and infinities as the strings Jackson writes). */
void pg_buf_binary(pg_buf_t *out, const unsigned char *p, size_t n, pg_binary_mode_t mode);
void pg_buf_double(pg_buf_t *out, double d);

/* pg_types_number.c. scale < 0: numeric without typmod. */
long pg_numeric_scale(int32_t typmod);
int pg_fmt_decimal(pg_buf_t *out, const char *s, size_t len, long scale, const pg_format_t *f);
int pg_fmt_money(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f);

/* pg_types_time.c. typmod: the column's precision (-1: 6). */
int pg_fmt_date(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f);
int pg_fmt_time(pg_buf_t *out, const char *s, size_t len, int32_t typmod, const pg_format_t *f);
int pg_fmt_timetz(pg_buf_t *out, const char *s, size_t len);
int pg_fmt_timestamp(pg_buf_t *out, const char *s, size_t len, int32_t typmod, const pg_format_t *f);
int pg_fmt_timestamptz(pg_buf_t *out, const char *s, size_t len, int32_t typmod);
int pg_fmt_interval(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f);

/* pg_types_other.c. */
int pg_fmt_bits(pg_buf_t *out, const char *s, size_t len, int32_t typmod);
int pg_fmt_point(pg_buf_t *out, const char *s, size_t len);
int pg_fmt_hstore(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f);

#endif
