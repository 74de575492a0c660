/*
 * gw_cloudevent.c — LiiklusEvent <-> CloudEvents structured JSON (see the header).
 */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "gw_cloudevent.h"
#include "gw_internal.h"
#include "s3_format.h"

static int is_json_type(const char *t)
{
    if (!t || !*t) return 0;
    size_t n = strcspn(t, ";");
    return (n == 16 && strncasecmp(t, "application/json", 16) == 0) ||
           (n >= 5 && strncasecmp(t + n - 5, "+json", 5) == 0) || (n == 9 && strncasecmp(t, "text/json", 9) == 0);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v) json_object_set_new(o, k, json_string(v));
}

int gw_cloudevent_encode(const gw_cloudevent_t *ev, s3_buf_t *out, gw_error_t *err)
{
    if (!ev->id || !*ev->id || !ev->type || !*ev->type || !ev->source || !*ev->source)
        return gw_fail(err, GW_INVALID, "LiiklusEvent: id, type and source are required (CloudEvents)");
    json_t *o = json_object();
    json_object_set_new(o, "specversion", json_string("1.0"));
    set_str(o, "id", ev->id);
    set_str(o, "type", ev->type);
    set_str(o, "source", ev->source);
    set_str(o, "time", ev->time);
    set_str(o, "datacontenttype", ev->data_content_type);
    json_t *data = NULL;
    if (ev->data_len && is_json_type(ev->data_content_type))
        data = json_loadb(ev->data, ev->data_len, JSON_DECODE_ANY, NULL);
    if (data) {
        json_object_set_new(o, "data", data);
    } else if (ev->data_len) {
        s3_buf_t b = {0};
        if (s3_b64(&b, ev->data, ev->data_len) != 0) {
            json_decref(o);
            s3_buf_free(&b);
            return gw_fail(err, GW_INTERNAL, "out of memory");
        }
        json_object_set_new(o, "data_base64", json_stringn(b.data, b.len));
        s3_buf_free(&b);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = text && s3_buf_append(out, text, strlen(text)) == 0 ? 0 : gw_fail(err, GW_INTERNAL, "out of memory");
    free(text);
    return rc;
}

/* Copies s (with its NUL) into scratch; returns its offset there, or -1. */
static long keep(s3_buf_t *scratch, const char *s, size_t n)
{
    long at = (long)scratch->len;
    if (s3_buf_append(scratch, s, n) != 0 || s3_buf_append(scratch, "", 1) != 0) return -1;
    return at;
}

int gw_cloudevent_decode(const void *value, size_t len, gw_cloudevent_t *ev, s3_buf_t *scratch, gw_error_t *err)
{
    memset(ev, 0, sizeof(*ev));
    json_t *o = value ? json_loadb(value, len, 0, NULL) : NULL;
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "id"))) {
        json_decref(o);
        return gw_fail(err, GW_INVALID, "the record's value is not a CloudEvent (JSON with id, type, source): use the BINARY format");
    }
    static const char *const names[] = {"id", "type", "source", "time", "datacontenttype"};
    long at[6];
    int bad = 0;
    for (int i = 0; i < 5; i++) {
        json_t *v = json_object_get(o, names[i]);
        at[i] = json_is_string(v) ? keep(scratch, json_string_value(v), json_string_length(v)) : keep(scratch, "", 0);
        bad |= at[i] < 0;
    }
    size_t data_len = 0;
    at[5] = (long)scratch->len;
    json_t *d = json_object_get(o, "data_base64");
    if (json_is_string(d)) {
        if (s3_b64_decode(json_string_value(d), json_string_length(d), scratch) != 0) {
            json_decref(o);
            return gw_fail(err, GW_INVALID, "the CloudEvent's data_base64 is not base64");
        }
    } else if ((d = json_object_get(o, "data")) != NULL) {
        if (json_is_string(d)) {
            bad |= s3_buf_append(scratch, json_string_value(d), json_string_length(d));
        } else {
            char *text = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
            bad |= !text || s3_buf_append(scratch, text, strlen(text));
            free(text);
        }
    }
    data_len = scratch->len - (size_t)at[5];
    json_decref(o);
    if (bad) return gw_fail(err, GW_INTERNAL, "out of memory");
    /* Pointers only now: scratch may have moved while it grew. */
    const char **fields[] = {&ev->id, &ev->type, &ev->source, &ev->time, &ev->data_content_type};
    for (int i = 0; i < 5; i++) *fields[i] = scratch->data + at[i];
    ev->data = scratch->data + at[5];
    ev->data_len = data_len;
    return 0;
}
