/*
 * pg_types_time.c — date, time, timetz, timestamp, timestamptz and interval
 * in PostgreSQL's ISO / iso_8601 output as Debezium writes them in
 * time.precision.mode and interval.handling.mode. All arithmetic is on
 * integer microseconds, except interval's, which is Debezium's in doubles.
 */
#include "pg_types.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Microseconds since midnight of an instant (never overflows, unlike
 * us - days * day near the int64 range). */
static int64_t time_of_day(int64_t us)
{
    int64_t t = us % 86400000000LL;
    return t < 0 ? t + 86400000000LL : t;
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
        if (!pg_is_digit(s[*i + (size_t)k]))
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
        while (*i < len && pg_is_digit(s[*i])) {
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
    while (*i < len && pg_is_digit(s[*i]) && nd < 9) {
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

int pg_fmt_date(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f)
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

int pg_fmt_time(pg_buf_t *out, const char *s, size_t len, int32_t typmod, const pg_format_t *f)
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
int pg_fmt_timetz(pg_buf_t *out, const char *s, size_t len)
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
    /* Beyond what int64 microseconds since 1970 hold (PostgreSQL's own
     * limit is near it): not a shape this formatter writes as a number. */
    if (days > 106751990 || days < -106751990)
        return -1;
    *us_out = days * 86400000000LL + us - off * 1000000;
    return 0;
}

/* Debezium writes timestamp ±infinity as the JDBC driver's sentinels
 * (PGStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY, in
 * milliseconds) taken as the column's unit: these numbers, not the instants
 * they would be; isostring formats them as microseconds. */
#define PG_TS_POS_INFINITY INT64_C(9223372036825200000)
#define PG_TS_NEG_INFINITY INT64_C(-9223372036832400000)

int pg_fmt_timestamp(pg_buf_t *out, const char *s, size_t len, int32_t typmod, const pg_format_t *f)
{
    int p = time_precision(typmod);
    int millis = f->time == PG_TIME_CONNECT || p <= 3;
    int64_t us;
    if (is_infinity(s, len)) {
        us = s[0] == '-' ? PG_TS_NEG_INFINITY : PG_TS_POS_INFINITY;
        if (f->time != PG_TIME_ISOSTRING) {
            pg_buf_printf(out, "%" PRId64, millis ? us / 1000 : us);
            return 0;
        }
        /* isostring: the sentinel read as microseconds, as Debezium does
         * ("+294247-01-10T04:00:25.2Z"). */
    } else if (timestamp_parse(s, len, 0, &us)) {
        return -1;
    }
    if (f->time == PG_TIME_ISOSTRING) {
        char d[40];
        int64_t days = floor_div(us, 86400000000LL);
        format_date(d, sizeof d, days);
        pg_buf_t t = {0};
        pg_buf_puts(&t, d);
        pg_buf_append(&t, "T", 1);
        format_clock(&t, time_of_day(us), -1);
        pg_buf_append(&t, "Z", 1);
        pg_buf_json_string(out, t.data, t.len);
        pg_buf_free(&t);
    } else if (millis) {
        pg_buf_printf(out, "%" PRId64, floor_div(us, 1000));
    } else {
        pg_buf_printf(out, "%" PRId64, us);
    }
    return 0;
}

/* ZonedTimestamp: UTC, exactly the column's precision in fraction digits. */
int pg_fmt_timestamptz(pg_buf_t *out, const char *s, size_t len, int32_t typmod)
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
    format_clock(&t, time_of_day(us), time_precision(typmod));
    pg_buf_append(&t, "Z", 1);
    pg_buf_json_string(out, t.data, t.len);
    pg_buf_free(&t);
    return 0;
}

/* IntervalStyle=iso_8601 output: "P1Y2M3DT4H5M6.789S", "P-1M-2DT-1S",
 * "PT0S"; fields optional, each with its own sign. */
int pg_fmt_interval(pg_buf_t *out, const char *s, size_t len, const pg_format_t *f)
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
        while (i < len && pg_is_digit(s[i]) && nd < 15) {
            v = v * 10 + (s[i] - '0');
            i++;
            nd++;
        }
        if (!nd || (i < len && pg_is_digit(s[i])))
            return -1;
        int64_t frac = 0;
        int has_frac = 0;
        if (i < len && s[i] == '.') {
            i++;
            int fd = 0;
            while (i < len && pg_is_digit(s[i])) {
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
        if (!in_time && u == 'Y') {
            years = v;
        } else if (!in_time && u == 'M') {
            months = v;
        } else if (!in_time && u == 'D') {
            days = v;
        } else if (in_time && u == 'H') {
            hours = v;
        } else if (in_time && u == 'M') {
            mins = v;
        } else if (in_time && u == 'S') {
            if (__builtin_mul_overflow(v, 1000000, &sec_us) || __builtin_add_overflow(sec_us, frac, &sec_us))
                return -1;
        } else {
            return -1;
        }
        any = 1;
    }
    if (!any)
        return -1;
    /* PostgreSQL prints the time part as one signed quantity split into
     * H, M, S; normalise so that all three carry the same sign as
     * PGInterval reads them. */
    int64_t t_us, m_us, mo;
    if (__builtin_mul_overflow(hours, 3600000000LL, &t_us) || __builtin_mul_overflow(mins, 60000000LL, &m_us) ||
        __builtin_add_overflow(t_us, m_us, &t_us) || __builtin_add_overflow(t_us, sec_us, &t_us) ||
        __builtin_mul_overflow(years, 12, &mo) || __builtin_add_overflow(mo, months, &mo))
        return -1; /* more than PostgreSQL's interval holds */
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
