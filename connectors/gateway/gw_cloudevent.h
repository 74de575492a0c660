/*
 * gw_cloudevent.h — a LiiklusEvent as a Kafka value: CloudEvents 1.0 in its
 * structured JSON form, as Liiklus stores it. Publish encodes, Receive in
 * the LIIKLUS_EVENT format decodes.
 *
 * data: "data" holding the JSON itself when data_content_type is JSON
 * (application/json, or a +json type) and the bytes are JSON; otherwise
 * "data_base64". Decoding takes either, and a "data" string as its bytes.
 */
#ifndef FERRY_GW_CLOUDEVENT_H
#define FERRY_GW_CLOUDEVENT_H

#include <stddef.h>

#include "gw.h"
#include "s3_client.h"

typedef struct gw_cloudevent {
    const char *id, *type, *source, *time, *data_content_type; /* "" or NULL = absent */
    const void *data;
    size_t data_len;
} gw_cloudevent_t;

/* The event as JSON, appended to out. 0, or -1 with GW_INVALID (id, type or
 * source missing: CloudEvents requires them). */
int gw_cloudevent_encode(const gw_cloudevent_t *ev, s3_buf_t *out, gw_error_t *err);
/* A value back into an event whose strings and data point into scratch
 * (the caller frees scratch->data). -1 with GW_INVALID when the value is not
 * a CloudEvents JSON object. */
int gw_cloudevent_decode(const void *value, size_t len, gw_cloudevent_t *ev, s3_buf_t *scratch, gw_error_t *err);

#endif /* FERRY_GW_CLOUDEVENT_H */
