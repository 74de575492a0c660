/* strutil.c — see strutil.h. */
#include "util/strutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(void)
{
    static const char msg[] = "ferry: out of memory\n";
    fwrite(msg, 1, sizeof(msg) - 1, stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom();
    return q;
}

char *str_dup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *str_vprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) n = 0;
    char *s = xmalloc((size_t)n + 1);
    va_copy(ap2, ap);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = str_vprintf(fmt, ap);
    va_end(ap);
    return s;
}

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, 3 bytes */

/* The largest n <= want at which s may be cut without splitting a UTF-8
 * character (s[n] is not a continuation byte). */
static size_t utf8_floor(const char *s, size_t want)
{
    while (want > 0 && ((unsigned char)s[want] & 0xC0) == 0x80) want--;
    return want;
}

char *str_elide_middle(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len <= max || max < sizeof(ELLIPSIS) + 1) return str_dup(s);
    size_t keep = max - (sizeof(ELLIPSIS) - 1);
    size_t head = utf8_floor(s, keep - keep / 3);
    size_t tail_start = len - keep / 3;
    while (tail_start < len && ((unsigned char)s[tail_start] & 0xC0) == 0x80) tail_start++;
    return str_printf("%.*s" ELLIPSIS "%s", (int)head, s, s + tail_start);
}

char *str_replace_all(const char *s, const char *needle, const char *with)
{
    size_t nlen = strlen(needle), wlen = strlen(with), hits = 0;
    for (const char *p = s; nlen && (p = strstr(p, needle)) != NULL; p += nlen) hits++;
    char *out = xmalloc(strlen(s) + hits * wlen + 1), *o = out;
    const char *p = s, *hit;
    while (nlen && (hit = strstr(p, needle)) != NULL) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, with, wlen);
        o += wlen;
        p = hit + nlen;
    }
    strcpy(o, p);
    return out;
}

size_t str_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = xmalloc((lb + 1) * sizeof(*row));
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

int64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void strbuf_add(strbuf_t *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    if (n) memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}
