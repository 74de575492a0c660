/*
 * record.c — a record in flight, and the converters between its bytes and
 * Connect's data model (a JSON payload with an optional Connect schema).
 *
 * JsonConverter's output is matched byte for byte: compact JSON in the
 * order Connect writes it ({"schema":…,"payload":…}; a schema's "type"
 * first), bytes as base64 strings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transform/transform_internal.h"
#include "util/strutil.h"

/* ---- converters ------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    xf_conv_kind_t kind;
} conv_names[] = {
    {"json", XF_CONV_JSON},
    {"org.apache.kafka.connect.json.JsonConverter", XF_CONV_JSON},
    {"string", XF_CONV_STRING},
    {"org.apache.kafka.connect.storage.StringConverter", XF_CONV_STRING},
    {"bytes", XF_CONV_BYTES},
    {"org.apache.kafka.connect.converters.ByteArrayConverter", XF_CONV_BYTES},
};

int xf_converter_from_config(const ferry_config_t *cfg, const char *prefix, xf_converter_t *out, char *err,
                             size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->schemas_enable = 1;
    const char *name = config_string(cfg, prefix);
    if (!name || !*name) return 0;
    for (size_t i = 0; i < sizeof(conv_names) / sizeof(conv_names[0]); i++)
        if (strcmp(name, conv_names[i].name) == 0) out->kind = conv_names[i].kind;
    if (!out->kind) {
        snprintf(err, errlen, "option '%s': unknown converter '%s' (json, string, bytes, or Connect's class names "
                 "of those)", prefix, name);
        return -1;
    }
    const char *const *keys = NULL, *const *values = NULL;
    char *p = str_printf("%s.", prefix);
    size_t n = config_prefixed(cfg, p, &keys, &values);
    free(p);
    for (size_t i = 0; i < n; i++) {
        int b;
        if (strcmp(keys[i], "schemas.enable") == 0 && out->kind == XF_CONV_JSON && config_parse_bool(values[i], &b) == 0) {
            out->schemas_enable = b;
        } else if (strcmp(keys[i], "encoding") == 0 && out->kind == XF_CONV_STRING &&
                   strcasecmp(values[i], "UTF-8") == 0) {
            /* the only one */
        } else if (strcmp(keys[i], "schemas.cache.size") == 0 || strcmp(keys[i], "replace.null.with.default") == 0 ||
                   strcmp(keys[i], "decimal.format") == 0) {
            /* JsonConverter tuning that changes nothing here */
        } else {
            snprintf(err, errlen, "option '%s.%s': not an option of the %s converter (or an invalid value '%s')",
                     prefix, keys[i], name, values[i]);
            return -1;
        }
    }
    return 0;
}

xf_form_t xf_converter_wire_form(const xf_converter_t *c)
{
    switch (c->kind) {
    case XF_CONV_STRING: return XF_STRING;
    case XF_CONV_JSON: return c->schemas_enable ? XF_ENVELOPE : XF_JSON;
    default: return XF_BYTES;
    }
}

/* ---- records -------------------------------------------------------------------------------- */

static void data_init(xf_data_t *d, const void *raw, size_t len, xf_form_t form)
{
    memset(d, 0, sizeof(*d));
    d->raw = raw;
    d->raw_len = raw ? len : 0;
    d->form = form;
}

void xf_record_init(xf_record_t *r, const char *topic, int32_t partition, const void *key, size_t key_len,
                    xf_form_t key_form, const void *value, size_t value_len, xf_form_t value_form,
                    int64_t timestamp_ms)
{
    memset(r, 0, sizeof(*r));
    r->topic = str_dup(topic ? topic : "");
    r->partition = partition;
    data_init(&r->key, key, key_len, key_form);
    data_init(&r->value, value, value_len, value_form);
    r->timestamp_ms = timestamp_ms;
    r->kafka_offset = -1;
}

static void data_clear(xf_data_t *d)
{
    json_decref(d->value);
    json_decref(d->schema);
    d->value = d->schema = NULL;
}

void xf_record_clear(xf_record_t *r)
{
    free(r->topic);
    free(r->fanout);
    data_clear(&r->key);
    data_clear(&r->value);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

void xf_header_add(xf_record_t *r, const char *name, const void *value, size_t len)
{
    if (r->nheaders == r->headers_cap) {
        r->headers_cap = r->headers_cap ? r->headers_cap * 2 : 4;
        r->headers = xrealloc(r->headers, r->headers_cap * sizeof(*r->headers));
    }
    xf_header_t *h = &r->headers[r->nheaders++];
    h->name = str_dup(name);
    h->value = value ? xmalloc(len + 1) : NULL;
    if (value) {
        memcpy(h->value, value, len);
        ((char *)h->value)[len] = '\0';
    }
    h->len = value ? len : 0;
}

void xf_header_remove(xf_record_t *r, const char *name)
{
    size_t k = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcmp(r->headers[i].name, name) == 0) {
            free(r->headers[i].name);
            free(r->headers[i].value);
            continue;
        }
        r->headers[k++] = r->headers[i];
    }
    r->nheaders = k;
}

const xf_header_t *xf_header_last(const xf_record_t *r, const char *name)
{
    for (size_t i = r->nheaders; i-- > 0;)
        if (strcmp(r->headers[i].name, name) == 0) return &r->headers[i];
    return NULL;
}

void xf_record_set_topic(xf_record_t *r, const char *topic)
{
    char *t = str_dup(topic);
    free(r->topic);
    r->topic = t;
}

/* ---- parsing ------------------------------------------------------------------------------- */

/* The schema Connect gives a connector's text or bytes (required), or what
 * its StringConverter / ByteArrayConverter read (optional). */
static json_t *primitive_schema(xf_form_t form, int optional)
{
    return json_pack("{s:s, s:b}", "type", form == XF_BYTES ? "bytes" : "string", "optional", optional);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *xf_base64(const void *data, size_t len)
{
    const unsigned char *p = data;
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < len ? p[i + 2] : 0);
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? b64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* base64 text (padded or not) → bytes; NULL when it is not base64. */
static unsigned char *base64_decode(const char *s, size_t n, size_t *out_len)
{
    while (n > 0 && s[n - 1] == '=') n--;
    if (n % 4 == 1) return NULL;
    unsigned char *out = xmalloc(n / 4 * 3 + 3);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = s[i] ? strchr(b64, s[i]) : NULL;
        if (!c) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned)(c - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    *out_len = o;
    return out;
}

/* Plain bytes: a logical type on bytes (Decimal's unscaled value) keeps
 * its base64 text, as the connector could not read the raw form. */
static int schema_is_bytes(const json_t *schema)
{
    const char *t = json_string_value(json_object_get(schema, "type"));
    return t && strcmp(t, "bytes") == 0 && !json_object_get(schema, "name");
}

int xf_data_parse(xf_data_t *d, char *err, size_t errlen)
{
    if (d->parsed) return 0;
    if (!d->raw) {
        d->parsed = 1; /* null */
        return 0;
    }
    json_error_t jerr;
    switch (d->form) {
    case XF_BYTES:
        /* Connect's bytes: a JSON string of their base64 when written as
         * JSON; typed, as a connector's bytes are in Connect. */
        {
            char *s = xf_base64(d->raw, d->raw_len);
            d->value = json_string(s);
            free(s);
            d->schema = primitive_schema(XF_BYTES, d->from_kafka);
        }
        break;
    case XF_STRING:
        d->value = json_stringn(d->raw, d->raw_len);
        if (!d->value) {
            snprintf(err, errlen, "not UTF-8 text");
            return -1;
        }
        d->schema = primitive_schema(XF_STRING, d->from_kafka);
        break;
    case XF_JSON:
    case XF_ENVELOPE:
        d->value = json_loadb(d->raw, d->raw_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!d->value) {
            snprintf(err, errlen, "not JSON: %s (at byte %d)", jerr.text, jerr.position);
            return -1;
        }
        if (d->form == XF_ENVELOPE) {
            json_t *env = d->value;
            if (!json_is_object(env) || json_object_size(env) != 2 || !json_object_get(env, "schema") ||
                !json_object_get(env, "payload")) {
                snprintf(err, errlen, "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields "
                         "and may not contain additional fields (set schemas.enable: false for plain JSON)");
                json_decref(env);
                d->value = NULL;
                return -1;
            }
            d->value = json_incref(json_object_get(env, "payload"));
            json_t *schema = json_object_get(env, "schema");
            d->schema = json_is_null(schema) ? NULL : json_incref(schema);
            json_decref(env);
        }
        if (json_is_null(d->value)) {
            json_decref(d->value);
            d->value = NULL;
        }
        break;
    }
    d->parsed = 1;
    return 0;
}

void xf_data_set(xf_data_t *d, json_t *value, json_t *schema)
{
    data_clear(d);
    d->value = value;
    d->schema = schema;
    d->parsed = 1;
    d->changed = 1;
}

/* ---- writing -------------------------------------------------------------------------------- */

/* A double as Java's Double.toString writes it (what JsonConverter's
 * Jackson writes): the shortest digits that read back the same, in plain
 * notation from 10^-3 up to 10^7 ("100.0", "0.001"), otherwise as
 * "1.0E10" / "1.5E-5". */
void xf_java_double(double d, char *out, size_t n)
{
    if (d == 0) {
        snprintf(out, n, "%s", signbit(d) ? "-0.0" : "0.0");
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* buf: [-]D[.DDD]e[+-]XX */
    const char *p = buf;
    int neg = *p == '-';
    if (neg) p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && nd < sizeof(digits) - 1) digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0') nd--; /* %.*e may pad */
    digits[nd] = '\0';
    int exp = atoi(p + 1);
    double a = fabs(d);
    char *o = out, *end = out + n - 1;
#define PUT(c) do { if (o < end) *o++ = (c); } while (0)
    if (neg) PUT('-');
    if (a >= 1e-3 && a < 1e7) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++) PUT(i < (int)nd ? digits[i] : '0');
            PUT('.');
            if ((int)nd > exp + 1)
                for (size_t i = (size_t)exp + 1; i < nd; i++) PUT(digits[i]);
            else
                PUT('0');
        } else {
            PUT('0');
            PUT('.');
            for (int i = 0; i < -exp - 1; i++) PUT('0');
            for (size_t i = 0; i < nd; i++) PUT(digits[i]);
        }
    } else {
        PUT(digits[0]);
        PUT('.');
        if (nd > 1)
            for (size_t i = 1; i < nd; i++) PUT(digits[i]);
        else
            PUT('0');
        PUT('E');
        char e[8];
        snprintf(e, sizeof(e), "%d", exp);
        for (const char *q = e; *q; q++) PUT(*q);
    }
#undef PUT
    *o = '\0';
}

/* A JSON string as Jackson writes it: ", \\ and control characters
 * escaped (\b \f \n \r \t, others as \u00XX), UTF-8 as it is. */
static void dump_string(FILE *f, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    fputc('"', f);
    size_t run = 0; /* characters that need no escape, written at once */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        fwrite(s + i - run, 1, run, f);
        run = 0;
        fputc('\\', f);
        switch (c) {
        case '"': fputc('"', f); break;
        case '\\': fputc('\\', f); break;
        case '\b': fputc('b', f); break;
        case '\f': fputc('f', f); break;
        case '\n': fputc('n', f); break;
        case '\r': fputc('r', f); break;
        case '\t': fputc('t', f); break;
        default: fputs("u00", f), fputc(hex[c >> 4], f), fputc(hex[c & 15], f);
        }
    }
    fwrite(s + n - run, 1, run, f);
    fputc('"', f);
}

static void dump_to(FILE *f, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        fputc('{', f);
        const char *key;
        json_t *v;
        int first = 1;
        json_object_foreach((json_t *)j, key, v) {
            if (!first) fputc(',', f);
            first = 0;
            dump_string(f, key, strlen(key));
            fputc(':', f);
            dump_to(f, v);
        }
        fputc('}', f);
        break;
    }
    case JSON_ARRAY: {
        fputc('[', f);
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            if (i) fputc(',', f);
            dump_to(f, v);
        }
        fputc(']', f);
        break;
    }
    case JSON_STRING: dump_string(f, json_string_value(j), json_string_length(j)); break;
    case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(j)); break;
    case JSON_REAL: {
        char num[40];
        xf_java_double(json_real_value(j), num, sizeof(num));
        fputs(num, f);
        break;
    }
    case JSON_TRUE: fputs("true", f); break;
    case JSON_FALSE: fputs("false", f); break;
    default: fputs("null", f);
    }
}

/* Compact JSON in insertion order, reals as Java writes them. */
static char *dump(const json_t *j)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    dump_to(f, j);
    fclose(f);
    return text;
}


int xf_data_bytes(xf_data_t *d, const xf_converter_t *c, const void **out, size_t *len, char **owned, char *err,
                  size_t errlen)
{
    *owned = NULL;
    xf_form_t want = c && c->kind ? xf_converter_wire_form(c) : d->form;
    /* Bytes and string converters take what they are given as it is. */
    int same = want == d->form || (c && (c->kind == XF_CONV_BYTES || c->kind == XF_CONV_STRING) &&
                                   d->form != XF_ENVELOPE);
    if (!d->changed && same) {
        *out = d->raw;
        *len = d->raw_len;
        return 0;
    }
    if (xf_data_parse(d, err, errlen) != 0) return -1;
    /* Null stays null (a tombstone); with schemas too, unless it has one
     * (JsonConverter writes null for a null value without a schema). */
    if (!d->value && (want != XF_ENVELOPE || !d->schema)) {
        *out = NULL;
        *len = 0;
        return 0;
    }
    char *text = NULL;
    if (want == XF_ENVELOPE) {
        json_t *schema = d->schema ? json_incref(d->schema) : json_null();
        json_t *env = json_object();
        json_object_set_new(env, "schema", schema);
        json_object_set(env, "payload", d->value ? d->value : json_null());
        text = dump(env);
        json_decref(env);
    } else if ((want == XF_STRING || want == XF_BYTES) && json_is_string(d->value)) {
        if (d->form == XF_BYTES && !d->changed) { /* unchanged bytes stay bytes */
            *out = d->raw;
            *len = d->raw_len;
            return 0;
        }
        text = str_dup(json_string_value(d->value));
        *len = json_string_length(d->value);
        *out = *owned = text;
        return 0;
    } else {
        text = dump(d->value);
    }
    if (!text) {
        snprintf(err, errlen, "cannot write the value as JSON");
        return -1;
    }
    *out = *owned = text;
    *len = strlen(text);
    return 0;
}

int xf_data_payload_bytes(xf_data_t *d, const void **out, size_t *len, char **owned, xf_form_t *form, char *err,
                          size_t errlen)
{
    *owned = NULL;
    if (!d->changed && (d->form == XF_BYTES || d->form == XF_STRING)) {
        *out = d->raw;
        *len = d->raw_len;
        *form = d->form;
        return 0;
    }
    if (!d->changed && d->form == XF_JSON) {
        /* A JSON string is the connector's text; other JSON passes as it is. */
        const char *p = d->raw;
        size_t i = 0;
        while (p && i < d->raw_len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
        if (!p || i == d->raw_len || p[i] != '"') {
            *out = d->raw;
            *len = d->raw_len;
            *form = XF_JSON;
            return 0;
        }
    }
    if (xf_data_parse(d, err, errlen) != 0) return -1;
    *form = json_is_string(d->value) && d->form != XF_BYTES ? XF_STRING : d->form == XF_BYTES ? XF_BYTES : XF_JSON;
    if (!d->value) {
        *out = NULL;
        *len = 0;
        return 0;
    }
    if (json_is_string(d->value) && d->form == XF_BYTES && !d->changed) {
        *out = d->raw;
        *len = d->raw_len;
        return 0;
    }
    if (json_is_string(d->value) && schema_is_bytes(d->schema)) {
        /* Connect's bytes travel as base64 text: the connector gets them
         * decoded, as JsonConverter gives a sink task a byte[]. */
        unsigned char *b = base64_decode(json_string_value(d->value), json_string_length(d->value), len);
        if (!b) {
            snprintf(err, errlen, "not base64, as its schema's type bytes requires");
            return -1;
        }
        *out = *owned = (char *)b;
        *form = XF_BYTES;
        return 0;
    }
    if (json_is_string(d->value)) {
        *len = json_string_length(d->value);
        *out = *owned = xmalloc(*len + 1);
        memcpy(*owned, json_string_value(d->value), *len + 1);
        return 0;
    }
    char *text = dump(d->value);
    if (!text) {
        snprintf(err, errlen, "cannot write the value as JSON");
        return -1;
    }
    *out = *owned = text;
    *len = strlen(text);
    return 0;
}

char *xf_header_text(const json_t *v, size_t *len)
{
    *len = 0;
    if (!v || json_is_null(v)) return NULL;
    if (json_is_string(v)) {
        *len = json_string_length(v);
        char *s = xmalloc(*len + 1);
        memcpy(s, json_string_value(v), *len + 1);
        return s;
    }
    char *s = dump(v);
    *len = s ? strlen(s) : 0;
    return s;
}
