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
/* Levenshtein distance, for did-you-mean suggestions. */
size_t str_edit_distance(const char *a, const char *b);
/* Monotonic clock in milliseconds. */
int64_t clock_ms(void);

#endif
