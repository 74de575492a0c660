/*
 * s3_xml.c — the element scanner of s3_xml.h. No allocation; every bound is
 * checked against the span, so a truncated or hostile reply can only make a
 * lookup fail (the fuzz target fuzz_s3_xml feeds it arbitrary bytes).
 */
#include "s3_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Position of needle in [hay, hay+len), or NULL. */
static const char *span_find(const char *hay, size_t len, const char *needle, size_t nlen)
{
    if (nlen == 0 || len < nlen) {
        return NULL;
    }
    for (size_t i = 0; i + nlen <= len; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

const char *s3_xml_find(const char *xml, size_t len, const char *tag, const char **inner,
                        size_t *inner_len)
{
    size_t tlen = strlen(tag);
    const char *end = xml + len;
    const char *p = xml;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (lt == NULL || (size_t)(end - lt) < tlen + 2) {
            return NULL;
        }
        const char *name = lt + 1;
        char after = name[tlen];
        if (memcmp(name, tag, tlen) != 0 || (after != '>' && after != ' ' && after != '/' &&
                                             after != '\t' && after != '\r' && after != '\n')) {
            p = lt + 1;
            continue;
        }
        const char *gt = memchr(name + tlen, '>', (size_t)(end - (name + tlen)));
        if (gt == NULL) {
            return NULL;
        }
        if (gt[-1] == '/') { /* <tag/> */
            *inner = gt + 1;
            *inner_len = 0;
            return gt + 1;
        }
        const char *body = gt + 1;
        char close[80];
        if (tlen + 3 > sizeof(close)) {
            return NULL;
        }
        close[0] = '<';
        close[1] = '/';
        memcpy(close + 2, tag, tlen);
        close[tlen + 2] = '>';
        const char *ct = span_find(body, (size_t)(end - body), close, tlen + 3);
        if (ct == NULL) {
            return NULL;
        }
        *inner = body;
        *inner_len = (size_t)(ct - body);
        return ct + tlen + 3;
    }
    return NULL;
}

/* Appends the UTF-8 encoding of cp; returns bytes written or -1. */
static int put_utf8(uint32_t cp, char *out, size_t room)
{
    if (cp < 0x80 && room >= 1) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800 && room >= 2) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000 && room >= 3 && (cp < 0xd800 || cp > 0xdfff)) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp >= 0x10000 && cp <= 0x10ffff && room >= 4) {
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
    }
    return -1;
}

long s3_xml_unescape(const char *s, size_t len, char *out, size_t outlen)
{
    static const struct {
        const char *name;
        char ch;
    } entities[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    size_t o = 0;
    if (outlen == 0) {
        return -1;
    }
    for (size_t i = 0; i < len;) {
        if (s[i] != '&') {
            if (o + 1 >= outlen) {
                return -1;
            }
            out[o++] = s[i++];
            continue;
        }
        const char *semi = memchr(s + i, ';', len - i);
        if (semi == NULL || semi - (s + i) > 12) {
            return -1;
        }
        size_t elen = (size_t)(semi - (s + i)) + 1; /* with & and ; */
        int done = 0;
        for (size_t e = 0; e < sizeof(entities) / sizeof(entities[0]); e++) {
            size_t nl = strlen(entities[e].name);
            if (elen == nl + 1 && memcmp(s + i + 1, entities[e].name, nl) == 0) {
                if (o + 1 >= outlen) {
                    return -1;
                }
                out[o++] = entities[e].ch;
                done = 1;
                break;
            }
        }
        if (!done) {
            if (elen < 4 || s[i + 1] != '#') {
                return -1;
            }
            char num[16];
            int hex = s[i + 2] == 'x' || s[i + 2] == 'X';
            size_t nlen = elen - 3 - (size_t)hex;
            if (nlen == 0 || nlen >= sizeof(num)) {
                return -1;
            }
            memcpy(num, s + i + 2 + hex, nlen);
            num[nlen] = '\0';
            char *endp;
            unsigned long cp = strtoul(num, &endp, hex ? 16 : 10);
            if (*endp != '\0' || cp == 0 || cp > 0x10ffff) {
                return -1;
            }
            int n = put_utf8((uint32_t)cp, out + o, outlen - 1 - o);
            if (n < 0) {
                return -1;
            }
            o += (size_t)n;
        }
        i += elen;
    }
    out[o] = '\0';
    return (long)o;
}

long s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t outlen)
{
    const char *inner;
    size_t inner_len;
    if (s3_xml_find(xml, len, tag, &inner, &inner_len) == NULL) {
        return -1;
    }
    return s3_xml_unescape(inner, inner_len, out, outlen);
}

long s3_xml_escape(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: break;
        }
        size_t n = rep ? strlen(rep) : 1;
        if (o + n >= outlen) {
            return -1;
        }
        if (rep) {
            memcpy(out + o, rep, n);
        } else {
            out[o] = *s;
        }
        o += n;
    }
    if (outlen == 0) {
        return -1;
    }
    out[o] = '\0';
    return (long)o;
}
