/*
 * gw_http_feed.c — a partition's records as an HTTP response: NDJSON lines or Server-Sent
 * Events, flow-controlled by credit (gw_stream_set_window), from a content
 * reader that blocks in gw_stream_next on its connection's thread.
 */
#include "gw_http_internal.h"

/* ---- records ---------------------------------------------------------------------------- */

/* 1 when the client hung up (or shut its sending side, which HTTP clients
 * do not do while they wait for a response). */
static int client_gone(int fd)
{
    if (fd < 0) return 0;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static int feed_put(gw_feed_t *f, const char *s) { return s3_buf_append(&f->out, s, strlen(s)); }

/* Appends bytes as a JSON base64 string, or null. */
static int feed_bytes(gw_feed_t *f, const void *data, size_t len)
{
    if (!data) return feed_put(f, "null");
    return feed_put(f, "\"") || s3_b64(&f->out, data, len) || feed_put(f, "\"");
}

static int feed_record(gw_feed_t *f, const gw_msg_t *m)
{
    char num[96];
    int bad = 0;
    if (f->sse) {
        snprintf(num, sizeof(num), "id: %" PRId64 "\nevent: record\ndata: ", m->offset);
        bad |= feed_put(f, num);
    }
    snprintf(num, sizeof(num), "{\"offset\":%" PRId64 ",\"key\":", m->offset);
    bad |= feed_put(f, num);
    bad |= feed_bytes(f, m->key, m->key_len);
    bad |= feed_put(f, ",\"value\":");
    bad |= feed_bytes(f, m->value, m->value_len);
    snprintf(num, sizeof(num), ",\"timestamp\":%" PRId64 ",\"replay\":%s}", m->timestamp_ms,
             m->replay ? "true" : "false");
    bad |= feed_put(f, num);
    bad |= feed_put(f, f->sse ? "\n\n" : "\n");
    return bad ? -1 : 0;
}

/* The stream's last line: why it ended. */
static int feed_error(gw_feed_t *f, const gw_error_t *err)
{
    unsigned status = gwh_status_of(err->code);
    json_t *j = gwh_error_json(status, err->msg);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) return -1;
    int bad = feed_put(f, f->sse ? "event: error\ndata: " : "") || feed_put(f, text) ||
              feed_put(f, f->sse ? "\n\n" : "\n");
    free(text);
    return bad ? -1 : 0;
}

/* Fills f->out: waits for a first record, then takes what is ready without
 * waiting. Sets ended (the stream is over; out holds the error line, if
 * any) or gone (the client hung up). 0, or -1 out of memory. */
static int feed_fill(gw_feed_t *f)
{
    for (;;) {
        if (f->limit > 0 && f->sent >= f->limit) {
            f->ended = 1;
            return 0;
        }
        gw_msg_t m;
        gw_error_t err = {0};
        int r = gw_stream_next(f->st, f->out.len ? 0 : GW_HTTP_POLL_MS, &m, &err);
        if (r > 0) {
            if (feed_record(f, &m) != 0) return -1;
            f->sent++;
            f->last_out_ms = gw_now_ms();
            gw_session_touch(f->s);
            if (f->out.len >= GW_HTTP_FLUSH_BYTES) return 0;
            continue;
        }
        if (r < 0) {
            f->ended = 1;
            return err.code == GW_OK ? 0 : feed_error(f, &err);
        }
        if (f->out.len) return 0;
        if (atomic_load(&f->h->stopping)) {
            f->ended = 1;
            return feed_error(f, &(gw_error_t){GW_UNAVAILABLE, "the gateway stops"});
        }
        if (client_gone(f->fd)) {
            f->gone = 1;
            return 0;
        }
        /* A client waiting on its stream is there: its subscription stays. */
        gw_session_touch(f->s);
        int64_t now = gw_now_ms();
        if (f->sse && now - f->last_out_ms >= GW_HTTP_KEEPALIVE_MS) {
            f->last_out_ms = now;
            return feed_put(f, ": keepalive\n\n");
        }
    }
}

static ssize_t feed_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    gw_feed_t *f = cls;
    while (f->pos == f->out.len) {
        /* A client that hung up gets the end of the stream too: the write
         * fails and MHD closes the connection, without an error logged for
         * what is no error. */
        if (f->ended || f->gone) return MHD_CONTENT_READER_END_OF_STREAM;
        f->out.len = f->pos = 0;
        if (feed_fill(f) != 0) {
            gw_log(f->h->gw, FERRY_LOG_ERROR, "http: a records stream ends: out of memory");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = f->out.len - f->pos;
    if (n > max) n = max;
    memcpy(buf, f->out.data + f->pos, n);
    f->pos += n;
    return (ssize_t)n;
}

/* MHD's free callback: the response is done (sent, or the client left). */
static void feed_free(void *cls)
{
    gw_feed_t *f = cls;
    gw_stream_close(f->st);
    gw_session_unref(f->s);
    s3_buf_free(&f->out);
    free(f);
}

enum MHD_Result gwh_do_records(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id,
                                  int32_t partition)
{
    gw_error_t err = {0};
    int64_t credit = 0, limit = 0;
    const char *format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (format && strcmp(format, "ndjson") != 0 && strcmp(format, "sse") != 0)
        return gwh_send_error(c, req, MHD_HTTP_BAD_REQUEST, "query parameter format=%s: ndjson or sse", format);
    /* Without format=, an EventSource (Accept: text/event-stream) gets SSE. */
    int sse = format ? strcmp(format, "sse") == 0 : accept && strstr(accept, "text/event-stream") != NULL;
    if (gwh_query_int(c, "credit", 0, INT64_MAX, &credit, &err) != 0 ||
        gwh_query_int(c, "limit", 1, INT64_MAX, &limit, &err) != 0)
        return gwh_send_fail(c, req, &err);
    gw_session_t *s = gw_session_find(h->gw, id);
    if (!s) return gwh_send_no_session(h, c, req, id);
    gw_stream_t *st = NULL;
    if (gw_authorize(h->gw, gw_session_group(s), gwh_req_token(c), &err) == 0)
        st = gw_stream_open(h->gw, id, partition, &err);
    gw_feed_t *f = st ? calloc(1, sizeof(*f)) : NULL;
    if (!f) {
        if (st) gw_fail(&err, GW_INTERNAL, "out of memory");
        gw_stream_close(st);
        gw_session_unref(s);
        return gwh_send_fail(c, req, &err);
    }
    gw_stream_set_window(st, credit);
    gw_session_touch(s);
    f->h = h;
    f->st = st;
    f->s = s;
    f->sse = sse;
    f->limit = limit;
    f->last_out_ms = gw_now_ms();
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    f->fd = ci ? ci->connect_fd : -1;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, feed_read, f, feed_free);
    if (!resp) {
        feed_free(f);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, sse ? "text/event-stream" : "application/x-ndjson");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* a proxy in front must not hold records back */
    /* A stream may wait longer than an idle connection may (GW_HTTP_IDLE_S)
     * for its next record; feed_fill watches the client instead. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    req->answered = 1;
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}
