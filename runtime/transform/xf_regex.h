/*
 * xf_regex.h — Java's regular expressions as Connect's routers use them
 * (Pattern.compile, Matcher.matches() on the whole input, then the
 * replacement with $1 and ${name} group references), on POSIX extended
 * regular expressions.
 *
 * Java's syntax is translated where POSIX has the same meaning: named
 * groups (?<name>…) and non-capturing groups (?:…) keep Java's group
 * numbers, \d and \D become [0-9] and [^0-9]. Look-around, inline flags and
 * possessive quantifiers are refused when compiling; matching is POSIX's
 * leftmost-longest, which finds the same whole-input matches but may split
 * groups differently under lazy quantifiers.
 *
 * Used by smt_routing.c and smt_debezium.c; calls nothing above it.
 */
#ifndef FERRY_XF_REGEX_H
#define FERRY_XF_REGEX_H

#include <regex.h>
#include <stddef.h>

typedef struct xf_regex {
    regex_t rx;
    size_t ngroups;   /* Java's capturing groups */
    size_t *posix;    /* owned: Java group i (1-based, [0] unused) -> POSIX group */
    char **names;     /* owned: Java group i's name, or NULL */
    int compiled;
} xf_regex_t;

/* Compiles pattern, anchored at both ends. 0, or -1 with err. */
int xf_regex_compile(xf_regex_t *re, const char *pattern, char *err, size_t errlen);
/* xf_regex_free on a zeroed or failed xf_regex_t is a no-op. */
void xf_regex_free(xf_regex_t *re);
/* Checks a replacement's references against re's groups (Java's
 * "Illegal group reference" and "No group N" at configuration time). */
int xf_regex_check_replacement(const xf_regex_t *re, const char *replacement, char *err, size_t errlen);
/* When s matches re as a whole: 1 and *out the replacement with its
 * references expanded (malloc'd). 0 when it does not match. The
 * replacement must have passed xf_regex_check_replacement. */
int xf_regex_replace(const xf_regex_t *re, const char *s, const char *replacement, char **out);

#endif
