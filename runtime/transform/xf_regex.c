/*
 * xf_regex.c — Java regular expressions and replacements on POSIX regex.h
 * (see xf_regex.h for what is translated and what is refused).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transform/xf_regex.h"
#include "util/strutil.h"


static void buf_str(strbuf_t *b, const char *s) { strbuf_add(b, s, strlen(s)); }

/* ---- translating a pattern ------------------------------------------------------------------- */

typedef struct translation {
    strbuf_t out;
    size_t nposix;    /* groups opened so far in the POSIX pattern (1: the anchoring group) */
    size_t ngroups;   /* Java capturing groups so far */
    size_t *posix;
    char **names;
} translation_t;

static void add_java_group(translation_t *t, char *name)
{
    t->ngroups++;
    t->posix = xrealloc(t->posix, (t->ngroups + 1) * sizeof(*t->posix));
    t->names = xrealloc(t->names, (t->ngroups + 1) * sizeof(*t->names));
    t->posix[t->ngroups] = ++t->nposix;
    t->names[t->ngroups] = name;
}

/* "(" at p: a Java group, a named one, a non-capturing one, or refused.
 * Returns the characters consumed, or 0 with err. */
static size_t translate_group(translation_t *t, const char *p, char *err, size_t errlen)
{
    if (p[1] != '?') {
        add_java_group(t, NULL);
        buf_str(&t->out, "(");
        return 1;
    }
    if (p[2] == ':') { /* non-capturing: a POSIX group Java does not count */
        t->nposix++;
        buf_str(&t->out, "(");
        return 3;
    }
    if (p[2] == '<' && isalpha((unsigned char)p[3])) {
        const char *e = p + 3;
        while (isalnum((unsigned char)*e)) e++;
        if (*e != '>') {
            snprintf(err, errlen, "named group at '%.20s' is missing its '>'", p);
            return 0;
        }
        add_java_group(t, str_printf("%.*s", (int)(e - p - 3), p + 3));
        buf_str(&t->out, "(");
        return (size_t)(e - p) + 1;
    }
    snprintf(err, errlen, "'%.4s' (look-around or inline flags) is not supported", p);
    return 0;
}

/* A backslash escape outside brackets at p; characters consumed or 0. */
static size_t translate_escape(translation_t *t, const char *p, char *err, size_t errlen)
{
    char c = p[1];
    if (c == 'Q') { /* \Q...\E: every character literal (Pattern.quote) */
        const char *e = strstr(p + 2, "\\E");
        const char *end = e ? e : p + strlen(p);
        for (const char *q = p + 2; q < end; q++) {
            if (strchr(".[]()*+?{}|^$\\", *q)) buf_str(&t->out, "\\");
            strbuf_add(&t->out, q, 1);
        }
        return (size_t)(end - p) + (e ? 2 : 0);
    }
    if (c == 'd' || c == 'D') buf_str(&t->out, c == 'd' ? "[0-9]" : "[^0-9]");
    else if (c == 't') buf_str(&t->out, "\t");
    else if (c == 'n') buf_str(&t->out, "\n");
    else if (c == 'r') buf_str(&t->out, "\r");
    else if (c && (strchr("wWsSbB", c) || (ispunct((unsigned char)c)))) strbuf_add(&t->out, p, 2);
    else {
        snprintf(err, errlen, c ? "escape '\\%c' is not supported" : "the pattern ends with a lone '\\'", c);
        return 0;
    }
    return 2;
}

/* A backslash escape inside [...] at p (POSIX takes '\' literally there). */
static size_t translate_bracket_escape(translation_t *t, const char *p, char *err, size_t errlen)
{
    char c = p[1];
    if (c == 'd') buf_str(&t->out, "0-9");
    else if (c == 'w') buf_str(&t->out, "[:alnum:]_");
    else if (c == 's') buf_str(&t->out, "[:space:]");
    else if (c == 't') buf_str(&t->out, "\t");
    else if (c && ispunct((unsigned char)c) && !strchr("]\\^-[", c)) strbuf_add(&t->out, p + 1, 1);
    else {
        snprintf(err, errlen, "'\\%c' inside [...] is not supported (put ']' first and '-' last instead)",
                 c ? c : ' ');
        return 0;
    }
    return 2;
}

/* A [...] class at p, copied; characters consumed or 0. */
static size_t translate_bracket(translation_t *t, const char *p, char *err, size_t errlen)
{
    const char *q = p + 1;
    buf_str(&t->out, "[");
    if (*q == '^') strbuf_add(&t->out, q++, 1);
    if (*q == ']') strbuf_add(&t->out, q++, 1);
    while (*q && *q != ']') {
        size_t n = 1;
        if (*q == '\\') n = translate_bracket_escape(t, q, err, errlen);
        else if (*q == '[' || (q[0] == '&' && q[1] == '&')) {
            snprintf(err, errlen, "nested classes and '&&' inside [...] are not supported");
            n = 0;
        } else strbuf_add(&t->out, q, 1);
        if (!n) return 0;
        q += n;
    }
    if (!*q) {
        snprintf(err, errlen, "unclosed '['");
        return 0;
    }
    buf_str(&t->out, "]");
    return (size_t)(q - p) + 1;
}

static int translate(translation_t *t, const char *pattern, char *err, size_t errlen)
{
    for (const char *p = pattern; *p;) {
        size_t n = 1;
        if (*p == '\\') n = translate_escape(t, p, err, errlen);
        else if (*p == '[') n = translate_bracket(t, p, err, errlen);
        else if (*p == '(') n = translate_group(t, p, err, errlen);
        else if (strchr("*+?}", *p) && p[1] == '+') {
            snprintf(err, errlen, "possessive quantifier '%.2s' is not supported", p);
            n = 0;
        } else if (strchr("*+?}", *p) && p[1] == '?') {
            /* POSIX has none: taken as greedy, groups would split otherwise than in Java. */
            snprintf(err, errlen, "lazy quantifier '%.2s' is not supported (POSIX matching is greedy)", p);
            n = 0;
        } else strbuf_add(&t->out, p, 1);
        if (!n) return -1;
        p += n;
    }
    return 0;
}

int xf_regex_compile(xf_regex_t *re, const char *pattern, char *err, size_t errlen)
{
    memset(re, 0, sizeof(*re));
    translation_t t = {.nposix = 1};
    buf_str(&t.out, "^(");
    char why[200] = "";
    int rc = translate(&t, pattern, why, sizeof(why));
    buf_str(&t.out, ")$");
    re->ngroups = t.ngroups;
    re->posix = t.posix;
    re->names = t.names;
    if (rc == 0) {
        int e = regcomp(&re->rx, t.out.s, REG_EXTENDED);
        if (e) regerror(e, &re->rx, why, sizeof(why));
        else re->compiled = 1;
        rc = e ? -1 : 0;
    }
    free(t.out.s);
    if (rc != 0) {
        snprintf(err, errlen, "regex '%s': %s", pattern, why);
        xf_regex_free(re);
    }
    return rc;
}

void xf_regex_free(xf_regex_t *re)
{
    if (re->compiled) regfree(&re->rx);
    for (size_t i = 1; i <= re->ngroups && re->names; i++) free(re->names[i]);
    free(re->names);
    free(re->posix);
    memset(re, 0, sizeof(*re));
}

/* ---- replacements ---------------------------------------------------------------------------- */

/* Walks a replacement as Java's Matcher.appendReplacement does. With s and
 * m: appends the expansion to out; without: only checks. 0, or -1 with err. */
static int expand(const xf_regex_t *re, const char *repl, const char *s, const regmatch_t *m, strbuf_t *out,
                  char *err, size_t errlen)
{
    for (const char *p = repl; *p;) {
        if (*p == '\\') {
            if (!p[1]) {
                snprintf(err, errlen, "replacement '%s': character to be escaped is missing", repl);
                return -1;
            }
            if (out) strbuf_add(out, p + 1, 1);
            p += 2;
            continue;
        }
        if (*p != '$') {
            if (out) strbuf_add(out, p, 1);
            p++;
            continue;
        }
        size_t g = 0;
        if (p[1] == '{') {
            const char *e = strchr(p + 2, '}');
            size_t nlen = e ? (size_t)(e - p - 2) : 0;
            for (g = re->ngroups; g > 0; g--)
                if (re->names[g] && strlen(re->names[g]) == nlen && strncmp(re->names[g], p + 2, nlen) == 0) break;
            if (!e || g == 0) {
                snprintf(err, errlen, "replacement '%s': %s", repl,
                         e ? "no group with that name in the regex" : "named group reference is missing its '}'");
                return -1;
            }
            p = e + 1;
        } else if (isdigit((unsigned char)p[1])) {
            g = (size_t)(p[1] - '0');
            p += 2;
            while (isdigit((unsigned char)*p) && g * 10 + (size_t)(*p - '0') <= re->ngroups) g = g * 10 + (size_t)(*p++ - '0');
            if (g > re->ngroups) {
                snprintf(err, errlen, "replacement '%s': no group %zu (the regex has %zu)", repl, g, re->ngroups);
                return -1;
            }
        } else {
            snprintf(err, errlen, "replacement '%s': illegal group reference ('$' needs a group number or "
                     "{name}; write '\\$' for a dollar sign)", repl);
            return -1;
        }
        /* Group 0 is the whole input: the match is anchored at both ends. */
        size_t k = g ? re->posix[g] : 0;
        if (out && m[k].rm_so >= 0) strbuf_add(out, s + m[k].rm_so, (size_t)(m[k].rm_eo - m[k].rm_so));
    }
    return 0;
}

int xf_regex_check_replacement(const xf_regex_t *re, const char *replacement, char *err, size_t errlen)
{
    return expand(re, replacement, NULL, NULL, NULL, err, errlen);
}

int xf_regex_replace(const xf_regex_t *re, const char *s, const char *replacement, char **out)
{
    size_t n = re->rx.re_nsub + 1;
    regmatch_t *m = xcalloc(n, sizeof(*m));
    int matched = regexec(&re->rx, s, n, m, 0) == 0;
    *out = NULL;
    if (matched) {
        strbuf_t b = {0};
        char err[8];
        buf_str(&b, "");
        expand(re, replacement, s, m, &b, err, sizeof(err));
        *out = b.s;
    }
    free(m);
    return matched;
}
