/*
 * pipeline.c — what happens to a record between a connector and Kafka:
 * its transforms (runtime/transform) and the key and value converters.
 *
 * Sources: plugin record → transforms → converters → the bytes produced.
 * Sinks:   consumed bytes → converters → transforms → the connector's record.
 * A pipeline without transforms or converters is not consulted at all: the
 * bytes go through untouched.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/pipeline.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/topic_name.h"

int pipeline_init(pipeline_t *p, const task_rt_t *t, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (xf_converter_from_config(t->cfg, "key.converter", &p->key_conv, err, errlen) != 0 ||
        xf_converter_from_config(t->cfg, "value.converter", &p->value_conv, err, errlen) != 0)
        return -1;
    cfg_errors_t errs = {0};
    p->chain = xf_chain_new(t->conn->name, t->cfg, t->conn->desc->kind == FERRY_SINK, &errs);
    if (errs.count) {
        snprintf(err, errlen, "%s", errs.items[0]);
        cfg_errors_clear(&errs);
        return -1;
    }
    p->active = p->chain || p->key_conv.kind || p->value_conv.kind;
    return 0;
}

void pipeline_free(pipeline_t *p)
{
    xf_chain_free(p->chain);
    p->chain = NULL;
}

static xf_form_t form_of(uint32_t flags, int value)
{
    uint32_t string = value ? FERRY_RECORD_VALUE_STRING : FERRY_RECORD_KEY_STRING;
    uint32_t json = value ? FERRY_RECORD_VALUE_JSON : FERRY_RECORD_KEY_JSON;
    uint32_t env = value ? FERRY_RECORD_VALUE_ENVELOPE : FERRY_RECORD_KEY_ENVELOPE;
    return flags & env ? XF_ENVELOPE : flags & json ? XF_JSON : flags & string ? XF_STRING : XF_BYTES;
}

static uint32_t flags_of(xf_form_t key, xf_form_t value)
{
    uint32_t f = key == XF_STRING ? FERRY_RECORD_KEY_STRING : key == XF_JSON ? FERRY_RECORD_KEY_JSON : 0;
    return f | (value == XF_STRING ? FERRY_RECORD_VALUE_STRING : value == XF_JSON ? FERRY_RECORD_VALUE_JSON : 0);
}

void pipeline_out_clear(pipeline_out_t *o)
{
    free(o->key_owned);
    free(o->value_owned);
    free(o->fanout);
    if (o->headers) rd_kafka_headers_destroy(o->headers);
    xf_record_clear(&o->rec);
    memset(o, 0, sizeof(*o));
}

/* A topic a transform chose: a valid name, not one only the runtime writes. */
static const char *topic_problem(const worker_t *w, const char *topic)
{
    if (!topic || !*topic) return "a transform left the record without a topic";
    if (topic_name_problem(topic)) return topic_name_problem(topic);
    if (w->wc->offsets_store == OFFSETS_STORE_KAFKA && strcmp(topic, w->wc->offsets_topic) == 0)
        return "a transform routed it to the offsets topic, which only the runtime writes";
    return NULL;
}

xf_result_t pipeline_source(pipeline_t *p, const task_rt_t *t, const ferry_record_t *in, pipeline_out_t *o,
                            errors_stage_t *stage, char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    xf_record_t *r = &o->rec;
    xf_record_init(r, in->topic, in->partition, in->key, in->key_len, form_of(in->flags, 0), in->value,
                   in->value_len, form_of(in->flags, 1), in->timestamp_ms);
    for (size_t i = 0; i < in->header_count; i++)
        xf_header_add(r, in->headers[i].name, in->headers[i].value, in->headers[i].value_len);
    *stage = ERRORS_STAGE_TRANSFORMATION;
    xf_result_t res = xf_chain_apply(p->chain, r, err, errlen);
    if (res != XF_KEEP) return res;
    const char *bad = topic_problem(t->conn->worker, r->topic);
    if (bad) {
        snprintf(err, errlen, "topic '%s': %s", r->topic, bad);
        return XF_FAIL;
    }
    if (r->fanout) { /* copies to further topics: checked alike */
        o->fanout = r->fanout;
        r->fanout = NULL;
        char *copy = str_dup(o->fanout), *save = NULL;
        for (char *tp = strtok_r(copy, "|", &save); tp && !bad; tp = strtok_r(NULL, "|", &save))
            if ((bad = topic_problem(t->conn->worker, tp))) snprintf(err, errlen, "topic '%s': %s", tp, bad);
        free(copy);
        if (bad) return XF_FAIL;
    }
    char why[256];
    *stage = ERRORS_STAGE_KEY_CONVERTER;
    if (xf_data_bytes(&r->key, &p->key_conv, &o->key, &o->key_len, &o->key_owned, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "key.converter: the key is %s", why);
        return XF_FAIL;
    }
    *stage = ERRORS_STAGE_VALUE_CONVERTER;
    if (xf_data_bytes(&r->value, &p->value_conv, &o->value, &o->value_len, &o->value_owned, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "value.converter: the value is %s", why);
        return XF_FAIL;
    }
    if (r->nheaders) {
        o->headers = rd_kafka_headers_new(r->nheaders);
        for (size_t i = 0; i < r->nheaders; i++)
            rd_kafka_header_add(o->headers, r->headers[i].name, -1, r->headers[i].value, (ssize_t)r->headers[i].len);
    }
    return XF_KEEP;
}

/* Points *out at d's payload as a sink gets it (a copy in the batch's
 * arena when it is not the consumed bytes); sets its form. 0, or -1 with
 * err (a payload its schema does not allow). */
static int payload_to_batch(ferry_batch_t *batch, xf_data_t *d, const void **out, size_t *len, xf_form_t *formp,
                            char *err, size_t errlen)
{
    const void *p;
    size_t n;
    char *owned = NULL;
    xf_form_t form = XF_BYTES;
    if (xf_data_payload_bytes(d, &p, &n, &owned, &form, err, errlen) != 0) return -1;
    if (p != *out) {
        void *copy = p ? batch_alloc(batch, n + 1) : NULL;
        if (copy) memcpy(copy, p, n), ((char *)copy)[n] = '\0';
        *out = copy;
        *len = p ? n : 0;
    }
    free(owned);
    *formp = form;
    return 0;
}

xf_result_t pipeline_sink(pipeline_t *p, ferry_batch_t *batch, size_t index, errors_stage_t *stage, char *err,
                          size_t errlen)
{
    ferry_record_t *rec = batch_record_mut(batch, index);
    xf_record_t r;
    xf_record_init(&r, rec->topic, rec->partition, rec->key, rec->key_len, xf_converter_wire_form(&p->key_conv),
                   rec->value, rec->value_len, xf_converter_wire_form(&p->value_conv), rec->timestamp_ms);
    r.kafka_offset = rec->kafka_offset;
    r.key.from_kafka = r.value.from_kafka = 1;
    for (size_t i = 0; i < rec->header_count; i++)
        xf_header_add(&r, rec->headers[i].name, rec->headers[i].value, rec->headers[i].value_len);
    char why[256];
    xf_result_t res = XF_KEEP;
    /* Converters read first, as in Connect: a value that is not what the
     * converter says fails there, whatever the transforms. */
    *stage = ERRORS_STAGE_KEY_CONVERTER;
    if (p->key_conv.kind == XF_CONV_JSON && xf_data_parse(&r.key, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "key.converter: the key is %s", why);
        res = XF_FAIL;
    }
    *stage = res == XF_KEEP ? ERRORS_STAGE_VALUE_CONVERTER : *stage;
    if (res == XF_KEEP && p->value_conv.kind == XF_CONV_JSON && xf_data_parse(&r.value, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "value.converter: the value is %s", why);
        res = XF_FAIL;
    }
    if (res == XF_KEEP) {
        *stage = ERRORS_STAGE_TRANSFORMATION;
        res = xf_chain_apply(p->chain, &r, err, errlen);
    }
    if (res == XF_KEEP && r.fanout) {
        snprintf(err, errlen, "a transform sent the record to several topics (%s|%s): a sink connector gets each "
                 "record once", r.topic, r.fanout);
        res = XF_FAIL;
    }
    if (res != XF_KEEP) {
        xf_record_clear(&r);
        return res;
    }
    /* What the connector gets: payloads, in the batch's arena. */
    xf_form_t kform, vform;
    *stage = ERRORS_STAGE_KEY_CONVERTER;
    if (payload_to_batch(batch, &r.key, &rec->key, &rec->key_len, &kform, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "key.converter: the key is %s", why);
        xf_record_clear(&r);
        return XF_FAIL;
    }
    *stage = ERRORS_STAGE_VALUE_CONVERTER;
    if (payload_to_batch(batch, &r.value, &rec->value, &rec->value_len, &vform, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "value.converter: the value is %s", why);
        xf_record_clear(&r);
        return XF_FAIL;
    }
    rec->flags = flags_of(kform, vform);
    rec->timestamp_ms = r.timestamp_ms;
    if (strcmp(r.topic, rec->topic) != 0) { /* RegexRouter and the like: the sink maps it back (sink_alias.c) */
        char *topic = batch_alloc(batch, strlen(r.topic) + 1);
        strcpy(topic, r.topic);
        rec->topic = topic;
    }
    ferry_header_t *hs = r.nheaders ? batch_alloc(batch, r.nheaders * sizeof(*hs)) : NULL;
    for (size_t i = 0; i < r.nheaders; i++) {
        char *name = batch_alloc(batch, strlen(r.headers[i].name) + 1);
        strcpy(name, r.headers[i].name);
        void *v = r.headers[i].value ? batch_alloc(batch, r.headers[i].len + 1) : NULL;
        if (v) memcpy(v, r.headers[i].value, r.headers[i].len);
        hs[i] = (ferry_header_t){.name = name, .value = v, .value_len = r.headers[i].len};
    }
    rec->headers = hs;
    rec->header_count = r.nheaders;
    xf_record_clear(&r);
    return XF_KEEP;
}
