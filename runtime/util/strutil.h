/* strutil.h — small string helpers shared by the runtime. */
#ifndef FERRY_UTIL_STRUTIL_H
#define FERRY_UTIL_STRUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* malloc'd printf; never returns NULL (aborts only on out-of-memory). */
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with a va_list (not consumed: the caller still owns ap). */
char *str_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* strdup that aborts on out-of-memory; str_dup(NULL) == NULL. */
char *str_dup(const char *s);
/* malloc/calloc/realloc that abort on out-of-memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* s for a message: itself when at most max bytes long, else its start and
 * its end joined by "…" (max bytes in all, cut at UTF-8 character
 * boundaries), so that text after it in the message survives. malloc'd. */
char *str_elide_middle(const char *s, size_t max);
/* s with every occurrence of needle (non-empty) replaced by with; malloc'd. */
char *str_replace_all(const char *s, const char *needle, const char *with);
/* Levenshtein distance, for did-you-mean suggestions. */
size_t str_edit_distance(const char *a, const char *b);
/* Monotonic clock in milliseconds. */
int64_t clock_ms(void);

/* A growing string; s is NUL-terminated after every append (free(s) when done). */
typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf_t;
void strbuf_add(strbuf_t *b, const void *p, size_t n);

#endif
