/*
 * http_sink_body.c — buffers, the url template, bodies and Retry-After for
 * http-sink (see http_sink_body.h). Pure functions; any thread.
 */
#include <curl/curl.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_sink_body.h"

int hs_buf_append(hs_buf_t *buf, const void *bytes, size_t len)
{
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap < buf->len + len + 1) cap *= 2;
        char *d = realloc(buf->data, cap);
        if (d == NULL) return -1;
        buf->data = d;
        buf->cap = cap;
    }
    if (len) memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
    buf->data[buf->len] = '\0'; /* convenient for text; lengths stay authoritative */
    return 0;
}

void hs_buf_free(hs_buf_t *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

/* ---- url template ---------------------------------------------------------------- */

typedef enum { PART_TEXT, PART_TOPIC, PART_PARTITION, PART_KEY } url_part_kind_t;

typedef struct url_part {
    url_part_kind_t kind;
    const char *text; /* PART_TEXT: into hs_url's copy of the template */
    size_t len;
} url_part_t;

struct hs_url {
    char *tmpl; /* owned copy */
    url_part_t *parts;
    size_t count;
    int placeholders, uses_key;
};

hs_url_t *hs_url_compile(const char *tmpl, char *why, size_t whylen)
{
    if (!tmpl || !*tmpl) {
        snprintf(why, whylen, "no url given");
        return NULL;
    }
    if (strncmp(tmpl, "http://", 7) != 0 && strncmp(tmpl, "https://", 8) != 0) {
        snprintf(why, whylen, "'%s' is not an http:// or https:// URL", tmpl);
        return NULL;
    }
    hs_url_t *url = calloc(1, sizeof(*url));
    size_t n = strlen(tmpl);
    if (url == NULL || (url->tmpl = strdup(tmpl)) == NULL ||
        (url->parts = calloc(n + 1, sizeof(*url->parts))) == NULL) {
        snprintf(why, whylen, "out of memory");
        hs_url_free(url);
        return NULL;
    }
    const char *s = url->tmpl;
    while (*s) {
        const char *ph = strstr(s, "${");
        if (ph == NULL) ph = s + strlen(s);
        if (ph > s) url->parts[url->count++] = (url_part_t){PART_TEXT, s, (size_t)(ph - s)};
        if (*ph == '\0') break;
        const char *end = strchr(ph, '}');
        if (end == NULL) {
            snprintf(why, whylen, "'%s': '${' without a closing '}'", tmpl);
            hs_url_free(url);
            return NULL;
        }
        size_t nlen = (size_t)(end - ph - 2);
        const char *name = ph + 2;
        url_part_kind_t kind;
        if (nlen == 5 && strncmp(name, "topic", 5) == 0) kind = PART_TOPIC;
        else if (nlen == 9 && strncmp(name, "partition", 9) == 0) kind = PART_PARTITION;
        else if (nlen == 3 && strncmp(name, "key", 3) == 0) kind = PART_KEY;
        else {
            snprintf(why, whylen, "'%s': unknown placeholder ${%.*s} (known: ${topic}, ${partition}, ${key})",
                     tmpl, (int)nlen, name);
            hs_url_free(url);
            return NULL;
        }
        url->parts[url->count++] = (url_part_t){kind, NULL, 0};
        url->placeholders = 1;
        if (kind == PART_KEY) url->uses_key = 1;
        s = end + 1;
    }
    return url;
}

void hs_url_free(hs_url_t *url)
{
    if (url == NULL) return;
    free(url->tmpl);
    free(url->parts);
    free(url);
}

int hs_url_has_placeholders(const hs_url_t *url) { return url->placeholders; }
int hs_url_uses_key(const hs_url_t *url) { return url->uses_key; }

static int append_escaped(hs_buf_t *out, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                   c == '.' || c == '_' || c == '~';
        char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (hs_buf_append(out, keep ? (const char *)&p[i] : enc, keep ? 1 : 3) != 0) return -1;
    }
    return 0;
}

int hs_url_expand(const hs_url_t *url, const char *topic, int32_t partition, const void *key, size_t key_len,
                  hs_buf_t *out)
{
    out->len = 0;
    int rc = hs_buf_append(out, "", 0);
    for (size_t i = 0; rc == 0 && i < url->count; i++) {
        const url_part_t *p = &url->parts[i];
        char num[16];
        switch (p->kind) {
        case PART_TEXT:
            rc = hs_buf_append(out, p->text, p->len);
            break;
        case PART_TOPIC:
            rc = append_escaped(out, (const unsigned char *)topic, strlen(topic));
            break;
        case PART_PARTITION:
            snprintf(num, sizeof(num), "%d", (int)partition);
            rc = hs_buf_append(out, num, strlen(num));
            break;
        case PART_KEY:
            rc = key ? append_escaped(out, key, key_len) : 0;
            break;
        }
    }
    return rc;
}

/* ---- bodies ------------------------------------------------------------------------ */

int hs_format_parse(const char *name, hs_format_t *fmt)
{
    if (strcmp(name, "json-array") == 0) *fmt = HS_FMT_JSON_ARRAY;
    else if (strcmp(name, "ndjson") == 0) *fmt = HS_FMT_NDJSON;
    else if (strcmp(name, "single") == 0) *fmt = HS_FMT_SINGLE;
    else return -1;
    return 0;
}

const char *hs_format_content_type(hs_format_t fmt)
{
    return fmt == HS_FMT_NDJSON ? "application/x-ndjson" : "application/json";
}

/* Length of the UTF-8 sequence at p (at most n bytes), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[k] & 0xc0) != 0x80) return 0;
    if (len == 2 && c < 0xc2) return 0;                       /* overlong */
    if (len == 3 && c == 0xe0 && p[1] < 0xa0) return 0;       /* overlong */
    if (len == 3 && c == 0xed && p[1] >= 0xa0) return 0;      /* surrogate */
    if (len == 4 && (c > 0xf4 || (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))) return 0;
    return len;
}

static int append_json_string(hs_buf_t *out, const unsigned char *p, size_t n)
{
    if (hs_buf_append(out, "\"", 1) != 0) return -1;
    size_t run = 0; /* bytes copied as they are, appended in one go */
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char u[8];
        size_t seq = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(u, sizeof(u), "\\u%04x", c);
            esc = u;
        } else if (c >= 0x80 && (seq = utf8_seq(p + i, n - i)) == 0) {
            esc = "\xef\xbf\xbd"; /* U+FFFD for a byte that is not UTF-8 */
            seq = 1;
        }
        if (esc == NULL) {
            run += seq;
            i += seq;
            continue;
        }
        if (run && hs_buf_append(out, p + i - run, run) != 0) return -1;
        run = 0;
        if (hs_buf_append(out, esc, strlen(esc)) != 0) return -1;
        i += seq;
    }
    if (run && hs_buf_append(out, p + n - run, run) != 0) return -1;
    return hs_buf_append(out, "\"", 1);
}

/* Appends value as JSON: as it is when it is JSON (compacted to one line
 * when it spans several and one_line is asked), else as a JSON string. */
static int append_json_value(hs_buf_t *out, const void *value, size_t len, int is_json, int one_line)
{
    json_t *doc = NULL;
    if (!is_json || (one_line && memchr(value, '\n', len))) {
        json_error_t jerr;
        doc = json_loadb(value, len, JSON_DECODE_ANY, &jerr);
        is_json = doc != NULL;
    }
    int rc;
    if (!is_json) {
        rc = append_json_string(out, value, len);
    } else if (doc && one_line && memchr(value, '\n', len)) {
        char *compact = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
        rc = compact ? hs_buf_append(out, compact, strlen(compact)) : -1;
        free(compact);
    } else {
        rc = hs_buf_append(out, value, len);
    }
    json_decref(doc);
    return rc;
}

int hs_body_add(hs_buf_t *body, hs_format_t fmt, size_t count, const void *value, size_t value_len,
                int value_is_json)
{
    if (value == NULL) value = "";
    switch (fmt) {
    case HS_FMT_JSON_ARRAY:
        if (hs_buf_append(body, count ? "," : "[", 1) != 0) return -1;
        return append_json_value(body, value, value_len, value_is_json, 0);
    case HS_FMT_NDJSON:
        if (append_json_value(body, value, value_len, value_is_json, 1) != 0) return -1;
        return hs_buf_append(body, "\n", 1);
    case HS_FMT_SINGLE:
        return hs_buf_append(body, value, value_len);
    }
    return -1;
}

int hs_body_finish(hs_buf_t *body, hs_format_t fmt, size_t count)
{
    if (fmt == HS_FMT_JSON_ARRAY) return hs_buf_append(body, count ? "]" : "[]", count ? 1 : 2);
    return hs_buf_append(body, "", 0);
}

size_t hs_body_estimate(hs_format_t fmt, size_t value_len)
{
    /* A JSON string of bytes is at most 6 bytes a byte (\u00XX); usually
     * values are JSON already and take their own length plus a separator. */
    return fmt == HS_FMT_SINGLE ? value_len : value_len + 2;
}

/* ---- responses ---------------------------------------------------------------------- */

int64_t hs_retry_after_ms(const char *value, time_t now)
{
    while (*value == ' ' || *value == '\t') value++;
    if (*value >= '0' && *value <= '9') {
        char *end;
        long long s = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
        if (*end != '\0' || s < 0) return -1;
        if (s > 86400) s = 86400; /* a day at most: a nonsense value must not park the task forever */
        return (int64_t)s * 1000;
    }
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1) return -1;
    if (when <= now) return 0;
    int64_t d = (int64_t)(when - now);
    return (d > 86400 ? 86400 : d) * 1000;
}

int64_t hs_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, double rnd)
{
    int64_t base = initial_ms > 0 ? initial_ms : 1;
    for (int i = 1; i < attempt && base < max_ms; i++) base *= 2;
    if (base > max_ms) base = max_ms;
    return base / 2 + (int64_t)((double)(base - base / 2) * rnd);
}
