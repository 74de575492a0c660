/*
 * http_source_util.c — the pure pieces of http-source, kept apart so that a
 * unit test (tests/connectors/http_source/test_http_source_util.c) drives
 * them without a server: JSON pointers, Link headers, HMAC signatures and
 * content types. No state; any thread.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_source.h"

/* ---- JSON pointer (RFC 6901) ------------------------------------------------------------- */

int hs_json_pointer_valid(const char *pointer)
{
    return pointer != NULL && (pointer[0] == '\0' || pointer[0] == '/');
}

/* One reference token of a pointer, unescaped (~1 → '/', ~0 → '~') into
 * buf. Returns its length, or -1 when it is malformed or longer than size. */
static long hs_pointer_token(const char *p, size_t n, char *buf, size_t size)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '~') {
            if (i + 1 >= n || (p[i + 1] != '0' && p[i + 1] != '1')) return -1;
            c = p[++i] == '0' ? '~' : '/';
        }
        if (out + 1 >= size) return -1;
        buf[out++] = c;
    }
    buf[out] = '\0';
    return (long)out;
}

json_t *hs_json_pointer(json_t *root, const char *pointer)
{
    if (root == NULL || !hs_json_pointer_valid(pointer)) return NULL;
    json_t *cur = root;
    const char *p = pointer;
    char token[512];
    while (*p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        if (hs_pointer_token(p, n, token, sizeof(token)) < 0) return NULL;
        p += n;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, token);
        } else if (json_is_array(cur)) {
            /* An index: digits only, no leading zero (RFC 6901 §4). */
            size_t len = strlen(token);
            if (len == 0 || strspn(token, "0123456789") != len || (len > 1 && token[0] == '0')) return NULL;
            errno = 0;
            unsigned long long idx = strtoull(token, NULL, 10);
            if (errno != 0) return NULL;
            cur = idx < json_array_size(cur) ? json_array_get(cur, (size_t)idx) : NULL;
        } else {
            return NULL;
        }
        if (cur == NULL) return NULL;
    }
    return cur;
}

char *hs_json_bytes(const json_t *value, size_t *len)
{
    if (json_is_string(value)) {
        size_t n = json_string_length(value);
        char *out = malloc(n + 1);
        if (out == NULL) return NULL;
        memcpy(out, json_string_value(value), n);
        out[n] = '\0';
        *len = n;
        return out;
    }
    char *out = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (out != NULL) *len = strlen(out);
    return out;
}

/* ---- Link headers (RFC 8288) ------------------------------------------------------------- */

/* 1 when the rel parameter value [v, v+n) (quotes removed) lists "next"
 * among its space-separated relation types. */
static int hs_rel_has_next(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && v[i] == ' ') i++;
        size_t start = i;
        while (i < n && v[i] != ' ') i++;
        if (i - start == 4 && strncasecmp(v + start, "next", 4) == 0) return 1;
    }
    return 0;
}

char *hs_link_next(const char *link)
{
    const char *p = link;
    while (p != NULL && *p != '\0') {
        const char *lt = strchr(p, '<');
        if (lt == NULL) return NULL;
        const char *gt = strchr(lt, '>');
        if (gt == NULL) return NULL;
        /* Parameters run to the next link-value: a ',' outside quotes. */
        const char *q = gt + 1;
        int next = 0;
        while (*q != '\0' && *q != ',') {
            if (*q == ';') {
                q++;
                while (*q == ' ' || *q == '\t') q++;
                const char *name = q;
                while (*q != '\0' && *q != '=' && *q != ';' && *q != ',' && *q != ' ') q++;
                size_t name_len = (size_t)(q - name);
                while (*q == ' ') q++;
                if (*q != '=') continue;
                q++;
                while (*q == ' ') q++;
                const char *val = q;
                size_t val_len;
                if (*q == '"') {
                    val = ++q;
                    while (*q != '\0' && *q != '"') q++;
                    val_len = (size_t)(q - val);
                    if (*q == '"') q++;
                } else {
                    while (*q != '\0' && *q != ';' && *q != ',' && *q != ' ') q++;
                    val_len = (size_t)(q - val);
                }
                if (name_len == 3 && strncasecmp(name, "rel", 3) == 0 && hs_rel_has_next(val, val_len)) next = 1;
                continue;
            }
            q++;
        }
        if (next) {
            size_t n = (size_t)(gt - lt - 1);
            char *url = malloc(n + 1);
            if (url == NULL) return NULL;
            memcpy(url, lt + 1, n);
            url[n] = '\0';
            return url;
        }
        p = *q == ',' ? q + 1 : NULL;
    }
    return NULL;
}

/* ---- listen addresses --------------------------------------------------------------------- */

int hs_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (listen == NULL) return -1;
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1)) return -1;
    long port = strtol(colon + 1, NULL, 10);
    if (port < 0 || port > 65535) return -1;
    char host[64];
    const char *h = listen;
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host)) return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (hlen == 0) snprintf(host, sizeof(host), "0.0.0.0");
    if (strcmp(host, "localhost") == 0) snprintf(host, sizeof(host), "127.0.0.1");
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
        return 0;
    }
    return -1;
}

/* ---- content types ------------------------------------------------------------------------- */

int hs_content_type_is_json(const char *content_type)
{
    if (content_type == NULL) return 0;
    while (*content_type == ' ') content_type++;
    size_t n = strcspn(content_type, "; \t");
    if (n == 16 && strncasecmp(content_type, "application/json", 16) == 0) return 1;
    return n > 5 && memchr(content_type, '/', n) != NULL && strncasecmp(content_type + n - 5, "+json", 5) == 0;
}

/* ---- signatures ---------------------------------------------------------------------------- */

int hs_bytes_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

const char *hs_sig_result_str(hs_sig_result_t r)
{
    switch (r) {
    case HS_SIG_OK: return "signature valid";
    case HS_SIG_MISSING: return "the signature header is missing";
    case HS_SIG_MALFORMED: return "the signature header is malformed";
    case HS_SIG_MISMATCH: return "the signature does not match";
    case HS_SIG_EXPIRED: return "the signature's timestamp is outside the tolerance";
    }
    return "?";
}

/* Decodes exactly 64 hex digits [hex, hex+n) into out[32]; -1 otherwise. */
static int hs_hex32(const char *hex, size_t n, unsigned char out[32])
{
    if (n != 64) return -1;
    for (size_t i = 0; i < 32; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = (char)tolower((unsigned char)hex[2 * i + (size_t)k]);
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* HMAC-SHA256 of the concatenation of up to two spans (OpenSSL 3's EVP_MAC:
 * HMAC_CTX is deprecated there). */
static int hs_hmac(const char *secret, size_t secret_len, const void *a, size_t alen, const void *b, size_t blen,
                   unsigned char out[32])
{
    int ok = 0;
    size_t len = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (ctx != NULL && EVP_MAC_init(ctx, (const unsigned char *)secret, secret_len, params) == 1 &&
        EVP_MAC_update(ctx, a, alen) == 1 && (blen == 0 || EVP_MAC_update(ctx, b, blen) == 1) &&
        EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32)
        ok = 1;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

hs_sig_result_t hs_verify_github(const char *secret, size_t secret_len, const void *body, size_t body_len,
                                 const char *header)
{
    if (header == NULL || header[0] == '\0') return HS_SIG_MISSING;
    while (*header == ' ') header++;
    if (strncasecmp(header, "sha256=", 7) == 0) header += 7;
    size_t n = strlen(header);
    while (n > 0 && header[n - 1] == ' ') n--;
    unsigned char want[32], got[32];
    if (hs_hex32(header, n, got) != 0) return HS_SIG_MALFORMED;
    if (hs_hmac(secret, secret_len, body, body_len, NULL, 0, want) != 0) return HS_SIG_MISMATCH;
    return CRYPTO_memcmp(want, got, 32) == 0 ? HS_SIG_OK : HS_SIG_MISMATCH;
}

hs_sig_result_t hs_verify_stripe(const char *secret, size_t secret_len, const void *body, size_t body_len,
                                 const char *header, int64_t now_s, int64_t tolerance_s)
{
    if (header == NULL || header[0] == '\0') return HS_SIG_MISSING;
    const char *t = NULL;
    size_t t_len = 0;
    const char *sigs[16];
    size_t sig_lens[16], nsigs = 0;
    for (const char *p = header; *p != '\0';) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        if (eq != NULL) {
            size_t klen = (size_t)(eq - p);
            const char *v = eq + 1;
            size_t vlen = n - klen - 1;
            while (vlen > 0 && v[vlen - 1] == ' ') vlen--;
            if (klen == 1 && p[0] == 't') {
                t = v;
                t_len = vlen;
            } else if (klen == 2 && p[0] == 'v' && p[1] == '1' && nsigs < 16) {
                sigs[nsigs] = v;
                sig_lens[nsigs++] = vlen;
            }
        }
        p += n;
        if (*p == ',') p++;
    }
    if (t == NULL || nsigs == 0 || t_len == 0 || t_len > 19 || strspn(t, "0123456789") < t_len)
        return HS_SIG_MALFORMED;
    char ts[24];
    memcpy(ts, t, t_len);
    ts[t_len] = '\0';
    int64_t when = (int64_t)strtoll(ts, NULL, 10);
    unsigned char want[32];
    char prefix[24];
    memcpy(prefix, ts, t_len);
    prefix[t_len] = '.';
    if (hs_hmac(secret, secret_len, prefix, t_len + 1, body, body_len, want) != 0) return HS_SIG_MISMATCH;
    int match = 0, malformed = 1;
    for (size_t i = 0; i < nsigs; i++) {
        unsigned char got[32];
        if (hs_hex32(sigs[i], sig_lens[i], got) != 0) continue;
        malformed = 0;
        match |= CRYPTO_memcmp(want, got, 32) == 0;
    }
    if (malformed) return HS_SIG_MALFORMED;
    if (!match) return HS_SIG_MISMATCH;
    /* Checked after the signature, so that a forged timestamp cannot be
     * told apart from a forged body. */
    if (tolerance_s > 0 && (when > now_s + tolerance_s || when < now_s - tolerance_s)) return HS_SIG_EXPIRED;
    return HS_SIG_OK;
}
