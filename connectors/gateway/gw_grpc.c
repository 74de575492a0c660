/*
 * gw_grpc.c — the gateway's gRPC transport: Liiklus's LiiklusService
 * (proto/liiklus.proto) on Debian's gRPC C core, messages by protobuf-c.
 *
 * Threads. One thread waits on the server's completion queue for new calls
 * (one outstanding request per method). Each call then gets a thread of its
 * own that runs it start to end with blocking batches: every call is bound to
 * a pluck completion queue of its own, so its thread waits only for its own
 * operations. Streams (Subscribe, Receive) therefore block only themselves:
 * a slow client's Receive waits for HTTP/2 flow control on its own thread,
 * and no other partition notices. A call's RECV_CLOSE_ON_SERVER is started
 * first and checked between messages, so a client that goes away ends its
 * thread (and its session leaves the group) at once.
 *
 * Status codes: gw_code_t → gRPC status (gw.h).
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_grpc.h"
#include "gw_internal.h"
#include "gw_cloudevent.h"
#include "liiklus.pb-c.h"

#define GW_MAX_PARTITIONS 4096

typedef enum gw_method { M_PUBLISH, M_SUBSCRIBE, M_RECEIVE, M_ACK, M_OFFSETS, M_END_OFFSETS, M_COUNT } gw_method_t;

static const char *const method_paths[M_COUNT] = {
    "/com.github.bsideup.liiklus.LiiklusService/Publish",
    "/com.github.bsideup.liiklus.LiiklusService/Subscribe",
    "/com.github.bsideup.liiklus.LiiklusService/Receive",
    "/com.github.bsideup.liiklus.LiiklusService/Ack",
    "/com.github.bsideup.liiklus.LiiklusService/GetOffsets",
    "/com.github.bsideup.liiklus.LiiklusService/GetEndOffsets",
};

/* One outstanding request for a new call of a method. */
typedef struct gw_slot {
    gw_method_t method;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_completion_queue *cq; /* the call's own (pluck) */
} gw_slot_t;

struct gw_grpc {
    gw_t *gw;
    grpc_server *server;
    grpc_completion_queue *cq; /* new calls */
    void *methods[M_COUNT];
    gw_slot_t *slots[M_COUNT];
    pthread_t thread;
    char address[256];
    pthread_mutex_t lock; /* guards calls */
    pthread_cond_t idle;
    int calls;            /* call threads running */
    atomic_int stopping;
};

/* A running call (its thread's). */
typedef struct gw_call {
    gw_grpc_t *g;
    gw_slot_t *slot;
    long tag;
    int sent_initial;
    int closed; /* the client went away, or the call finished */
    int cancelled;
    char token[512];
} gw_call_t;

#define CLOSE_TAG ((void *)1)

/* ---- blocking operations on one call ------------------------------------------------ */

/* Runs ops and waits for them: up to within_ms (0 = no limit), after which
 * the call is cancelled (a client that keeps its connection but stops
 * reading must not hold a stream, and its partition, for ever). */
static int call_batch_within(gw_call_t *c, grpc_op *ops, size_t n, int64_t within_ms)
{
    void *tag = (void *)(intptr_t)(c->tag += 2);
    if (grpc_call_start_batch(c->slot->call, ops, n, tag, NULL) != GRPC_CALL_OK) return -1;
    gpr_timespec until = within_ms > 0 ? gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                                      gpr_time_from_millis(within_ms, GPR_TIMESPAN))
                                       : gpr_inf_future(GPR_CLOCK_REALTIME);
    grpc_event ev = grpc_completion_queue_pluck(c->slot->cq, tag, until, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        gw_log(c->g->gw, FERRY_LOG_WARN, "gRPC: %s: the client read nothing for %" PRId64 " ms (ack.timeout): cancelled",
               method_paths[c->slot->method], within_ms);
        grpc_call_cancel(c->slot->call, NULL);
        /* The batch completes (failed) once cancelled; its buffers are
         * free to go only then. */
        ev = grpc_completion_queue_pluck(c->slot->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        return -1;
    }
    return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

static int call_batch(gw_call_t *c, grpc_op *ops, size_t n) { return call_batch_within(c, ops, n, 0); }

/* 1 when the client went away (RECV_CLOSE_ON_SERVER completed). Waits up
 * to wait_ms for it: waiting on the call's queue is also what reads the
 * call's connection, so an idle stream must wait here a little to notice a
 * cancel at all. */
static int call_gone(gw_call_t *c, int wait_ms)
{
    if (c->closed) return 1;
    /* No wait: the infinite past (a deadline of "now" still polls for about 1 ms). */
    gpr_timespec until = wait_ms <= 0 ? gpr_inf_past(GPR_CLOCK_REALTIME)
                                      : gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                                     gpr_time_from_millis(wait_ms, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_pluck(c->slot->cq, CLOSE_TAG, until, NULL);
    if (ev.type == GRPC_OP_COMPLETE) c->closed = 1;
    return c->closed;
}

/* The call's first batch carries the initial metadata: ops (two slots, zeroed)
 * get it when it has not gone out yet; returns how many slots it took. */
static size_t call_initial(gw_call_t *c, grpc_op *ops)
{
    memset(ops, 0, 2 * sizeof(*ops));
    if (c->sent_initial) return 0;
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    c->sent_initial = 1;
    return 1;
}

static int call_send(gw_call_t *c, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    grpc_op ops[2];
    size_t n = call_initial(c, ops);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = bb;
    n++;
    int rc = call_batch_within(c, ops, n, c->g->gw->s.ack_timeout_ms);
    grpc_byte_buffer_destroy(bb);
    return rc;
}

static grpc_status_code status_of(gw_code_t code)
{
    switch (code) {
    case GW_OK: return GRPC_STATUS_OK;
    case GW_INVALID: return GRPC_STATUS_INVALID_ARGUMENT;
    case GW_DENIED: return GRPC_STATUS_UNAUTHENTICATED;
    case GW_FORBIDDEN: return GRPC_STATUS_PERMISSION_DENIED;
    case GW_NOT_FOUND: return GRPC_STATUS_NOT_FOUND;
    case GW_CONFLICT: return GRPC_STATUS_FAILED_PRECONDITION;
    case GW_UNAVAILABLE: return GRPC_STATUS_UNAVAILABLE;
    case GW_TIMEOUT: return GRPC_STATUS_DEADLINE_EXCEEDED;
    case GW_DATA_LOSS: return GRPC_STATUS_DATA_LOSS;
    case GW_INTERNAL: break;
    }
    return GRPC_STATUS_INTERNAL;
}

static void call_finish(gw_call_t *c, gw_code_t code, const char *msg)
{
    grpc_op ops[2];
    size_t n = call_initial(c, ops);
    grpc_slice details = grpc_slice_from_copied_string(msg ? msg : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = status_of(code);
    ops[n].data.send_status_from_server.status_details = code == GW_OK ? NULL : &details;
    n++;
    call_batch(c, ops, n);
    grpc_slice_unref(details);
}

static void call_fail(gw_call_t *c, const gw_error_t *err) { call_finish(c, err->code, err->msg); }

/* The request message, unpacked (free with protobuf_c_message_free_unpacked). */
static ProtobufCMessage *call_request(gw_call_t *c, const ProtobufCMessageDescriptor *d)
{
    if (!c->slot->payload) return NULL;
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, c->slot->payload)) return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return m;
}

/* The bearer token of the call's metadata (authorization: Bearer ...). */
static void call_token(gw_call_t *c)
{
    c->token[0] = '\0';
    for (size_t i = 0; i < c->slot->md.count; i++) {
        const grpc_metadata *m = &c->slot->md.metadata[i];
        if (GRPC_SLICE_LENGTH(m->key) != 13 || strncasecmp((const char *)GRPC_SLICE_START_PTR(m->key), "authorization", 13))
            continue;
        size_t len = GRPC_SLICE_LENGTH(m->value);
        const char *v = (const char *)GRPC_SLICE_START_PTR(m->value);
        if (len > 7 && strncasecmp(v, "Bearer ", 7) == 0) {
            v += 7;
            len -= 7;
        }
        if (len >= sizeof(c->token)) len = sizeof(c->token) - 1;
        memcpy(c->token, v, len);
        c->token[len] = '\0';
    }
}

/* ---- the methods ------------------------------------------------------------------ */

static void do_publish(gw_call_t *c)
{
    gw_error_t err = {0};
    Com__Github__Bsideup__Liiklus__PublishRequest *req = (void *)call_request(
        c, &com__github__bsideup__liiklus__publish_request__descriptor);
    if (!req) return call_finish(c, GW_INVALID, "PublishRequest: not a valid message");
    s3_buf_t value = {0};
    const void *v = req->value.data;
    size_t vlen = req->value.len;
    int rc = gw_authorize(c->g->gw, NULL, c->token, &err);
    if (rc == 0 && req->event_case == COM__GITHUB__BSIDEUP__LIIKLUS__PUBLISH_REQUEST__EVENT_LIIKLUS_EVENT) {
        const Com__Github__Bsideup__Liiklus__LiiklusEvent *e = req->liiklusevent;
        gw_cloudevent_t ev = {e->id, e->type, e->source, e->time, e->data_content_type, e->data.data, e->data.len};
        rc = gw_cloudevent_encode(&ev, &value, &err);
        v = value.data;
        vlen = value.len;
    }
    int32_t partition = 0;
    int64_t offset = 0;
    if (rc == 0)
        rc = gw_publish(c->g->gw, req->topic, req->key.len ? req->key.data : NULL, req->key.len, v, vlen, &partition,
                        &offset, &err);
    if (rc == 0) {
        Com__Github__Bsideup__Liiklus__PublishReply rep = COM__GITHUB__BSIDEUP__LIIKLUS__PUBLISH_REPLY__INIT;
        rep.partition = (uint32_t)partition;
        rep.offset = (uint64_t)offset;
        rep.topic = req->topic;
        if (call_send(c, &rep.base) == 0) call_finish(c, GW_OK, NULL);
    } else {
        call_fail(c, &err);
    }
    free(value.data);
    protobuf_c_message_free_unpacked(&req->base, NULL);
}

static void do_subscribe(gw_call_t *c)
{
    gw_error_t err = {0};
    Com__Github__Bsideup__Liiklus__SubscribeRequest *req = (void *)call_request(
        c, &com__github__bsideup__liiklus__subscribe_request__descriptor);
    if (!req) return call_finish(c, GW_INVALID, "SubscribeRequest: not a valid message");
    gw_session_t *s = NULL;
    if (gw_authorize(c->g->gw, req->group, c->token, &err) == 0)
        s = gw_session_open(c->g->gw, req->topic, req->group, req->group_version,
                            req->auto_offset_reset == COM__GITHUB__BSIDEUP__LIIKLUS__SUBSCRIBE_REQUEST__AUTO_OFFSET_RESET__LATEST,
                            &err);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    if (!s) return call_fail(c, &err);
    int sent_ok = 1;
    while (sent_ok && !atomic_load(&c->g->stopping)) {
        gw_assign_t ev;
        int r = gw_session_poll(s, 0, &ev);
        if (r < 0) {
            const char *why = gw_session_failure(s);
            if (why) gw_fail(&err, GW_UNAVAILABLE, "%s; subscribe again", why);
            break;
        }
        if (r == 0 && call_gone(c, 100)) break;
        if (r == 0 || !ev.assigned) continue;
        Com__Github__Bsideup__Liiklus__Assignment a = COM__GITHUB__BSIDEUP__LIIKLUS__ASSIGNMENT__INIT;
        a.session_id = (char *)gw_session_id(s);
        a.partition = (uint32_t)ev.partition;
        Com__Github__Bsideup__Liiklus__SubscribeReply rep = COM__GITHUB__BSIDEUP__LIIKLUS__SUBSCRIBE_REPLY__INIT;
        rep.reply_case = COM__GITHUB__BSIDEUP__LIIKLUS__SUBSCRIBE_REPLY__REPLY_ASSIGNMENT;
        rep.assignment = &a;
        sent_ok = call_send(c, &rep.base) == 0;
    }
    gw_session_close(s);
    if (call_gone(c, 0)) return;
    if (err.code != GW_OK) call_fail(c, &err);
    else
        call_finish(c, atomic_load(&c->g->stopping) ? GW_UNAVAILABLE : GW_OK, "the gateway stops");
}

static void do_receive(gw_call_t *c)
{
    gw_error_t err = {0};
    Com__Github__Bsideup__Liiklus__ReceiveRequest *req = (void *)call_request(
        c, &com__github__bsideup__liiklus__receive_request__descriptor);
    if (!req || !req->assignment) {
        if (req) protobuf_c_message_free_unpacked(&req->base, NULL);
        return call_finish(c, GW_INVALID, "ReceiveRequest: not a valid message, or no assignment");
    }
    int events = req->format == COM__GITHUB__BSIDEUP__LIIKLUS__RECEIVE_REQUEST__CONTENT_FORMAT__LIIKLUS_EVENT;
    gw_stream_t *st = NULL;
    gw_session_t *s = gw_session_find(c->g->gw, req->assignment->session_id);
    if (s) {
        if (req->assignment->partition > INT32_MAX)
            gw_fail(&err, GW_INVALID, "partition %" PRIu32 " is not a partition", req->assignment->partition);
        else if (gw_authorize(c->g->gw, gw_session_group(s), c->token, &err) == 0)
            st = gw_stream_open(c->g->gw, req->assignment->session_id, (int32_t)req->assignment->partition, &err);
        gw_session_unref(s);
        /* Liiklus answers a partition the session does not hold with an
         * empty stream too. */
        if (!st && err.code == GW_NOT_FOUND) err.code = GW_OK;
    } else {
        /* Liiklus ends the stream at once for an unknown assignment. */
        err.code = GW_OK;
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
    if (!st) return call_fail(c, &err);
    gw_msg_t m;
    int r = 0;
    /* While records flow, a cancelled call shows as a failed send; only an
     * idle stream has to look for the cancel. */
    while (r != 0 || !call_gone(c, 20)) {
        r = gw_stream_next(st, 100, &m, &err);
        if (r < 0) break;
        if (r == 0) continue;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ts.seconds = m.timestamp_ms / 1000;
        ts.nanos = (int32_t)(m.timestamp_ms % 1000) * 1000000;
        Com__Github__Bsideup__Liiklus__ReceiveReply rep = COM__GITHUB__BSIDEUP__LIIKLUS__RECEIVE_REPLY__INIT;
        Com__Github__Bsideup__Liiklus__ReceiveReply__Record rec =
            COM__GITHUB__BSIDEUP__LIIKLUS__RECEIVE_REPLY__RECORD__INIT;
        Com__Github__Bsideup__Liiklus__ReceiveReply__LiiklusEventRecord erec =
            COM__GITHUB__BSIDEUP__LIIKLUS__RECEIVE_REPLY__LIIKLUS_EVENT_RECORD__INIT;
        Com__Github__Bsideup__Liiklus__LiiklusEvent ev = COM__GITHUB__BSIDEUP__LIIKLUS__LIIKLUS_EVENT__INIT;
        gw_cloudevent_t parsed;
        s3_buf_t scratch = {0};
        if (events) {
            if (gw_cloudevent_decode(m.value, m.value_len, &parsed, &scratch, &err) != 0) {
                r = -1;
                break;
            }
            ev.id = (char *)parsed.id;
            ev.type = (char *)parsed.type;
            ev.source = (char *)parsed.source;
            ev.time = (char *)parsed.time;
            ev.data_content_type = (char *)parsed.data_content_type;
            ev.data.data = (uint8_t *)parsed.data;
            ev.data.len = parsed.data_len;
            erec.offset = (uint64_t)m.offset;
            erec.key.data = (uint8_t *)m.key;
            erec.key.len = m.key_len;
            erec.event = &ev;
            erec.timestamp = &ts;
            erec.replay = m.replay;
            rep.reply_case = COM__GITHUB__BSIDEUP__LIIKLUS__RECEIVE_REPLY__REPLY_LIIKLUS_EVENT_RECORD;
            rep.liiklus_event_record = &erec;
        } else {
            rec.offset = (uint64_t)m.offset;
            rec.key.data = (uint8_t *)m.key;
            rec.key.len = m.key_len;
            rec.value.data = (uint8_t *)m.value;
            rec.value.len = m.value_len;
            rec.timestamp = &ts;
            rec.replay = m.replay;
            rep.reply_case = COM__GITHUB__BSIDEUP__LIIKLUS__RECEIVE_REPLY__REPLY_RECORD;
            rep.record = &rec;
        }
        int sent = call_send(c, &rep.base);
        free(scratch.data);
        if (sent != 0) break;
    }
    gw_stream_close(st);
    if (!call_gone(c, 0)) {
        if (r < 0) call_fail(c, &err);
        else
            call_finish(c, GW_OK, NULL);
    }
}

static void do_ack(gw_call_t *c)
{
    gw_error_t err = {0};
    Com__Github__Bsideup__Liiklus__AckRequest *req = (void *)call_request(
        c, &com__github__bsideup__liiklus__ack_request__descriptor);
    if (!req) return call_finish(c, GW_INVALID, "AckRequest: not a valid message");
    int rc;
    gw_session_t *s = req->assignment && req->assignment->session_id && *req->assignment->session_id
                          ? gw_session_find(c->g->gw, req->assignment->session_id)
                          : NULL;
    uint32_t partition = s ? req->assignment->partition : req->partition;
    if (req->offset > INT64_MAX || partition > INT32_MAX) {
        rc = gw_fail(&err, GW_INVALID, "AckRequest: offset %" PRIu64 " or partition %" PRIu32 " out of range",
                     req->offset, partition);
    } else if (s) {
        rc = gw_authorize(c->g->gw, gw_session_group(s), c->token, &err);
        if (rc == 0)
            rc = gw_ack(c->g->gw, req->assignment->session_id, NULL, NULL, 0, (int32_t)partition, (int64_t)req->offset,
                        &err);
    } else if (req->assignment && req->assignment->session_id && *req->assignment->session_id &&
               !(req->group && *req->group)) {
        /* Liiklus answers an ack for a session it does not know with OK: the
         * client's next subscription starts at the last acknowledged offset. */
        rc = gw_authorize(c->g->gw, NULL, c->token, &err);
        if (rc == 0)
            gw_log(c->g->gw, FERRY_LOG_WARN, "gRPC Ack: no session %s (it ended, or is on another gateway): ignored",
                   req->assignment->session_id);
    } else {
        rc = gw_authorize(c->g->gw, req->group, c->token, &err);
        if (rc == 0)
            rc = gw_ack(c->g->gw, NULL, req->topic, req->group, req->group_version, (int32_t)req->partition,
                        (int64_t)req->offset, &err);
    }
    gw_session_unref(s);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    if (rc != 0) return call_fail(c, &err);
    Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
    if (call_send(c, &empty.base) == 0) call_finish(c, GW_OK, NULL);
}

/* GetOffsets and GetEndOffsets answer the same map<uint32, uint64>. */
static void send_offsets(gw_call_t *c, int end, long n, const int32_t *parts, const int64_t *offsets)
{
    Com__Github__Bsideup__Liiklus__GetOffsetsReply__OffsetsEntry *entries = calloc((size_t)n + 1, sizeof(*entries));
    Com__Github__Bsideup__Liiklus__GetOffsetsReply__OffsetsEntry **ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
    if (!entries || !ptrs) {
        free(entries);
        free(ptrs);
        return call_finish(c, GW_INTERNAL, "out of memory");
    }
    for (long i = 0; i < n; i++) {
        Com__Github__Bsideup__Liiklus__GetOffsetsReply__OffsetsEntry init =
            COM__GITHUB__BSIDEUP__LIIKLUS__GET_OFFSETS_REPLY__OFFSETS_ENTRY__INIT;
        if (end) init.base.descriptor = &com__github__bsideup__liiklus__get_end_offsets_reply__offsets_entry__descriptor;
        entries[i] = init;
        entries[i].key = (uint32_t)parts[i];
        entries[i].value = (uint64_t)offsets[i];
        ptrs[i] = &entries[i];
    }
    int rc;
    if (end) {
        Com__Github__Bsideup__Liiklus__GetEndOffsetsReply rep = COM__GITHUB__BSIDEUP__LIIKLUS__GET_END_OFFSETS_REPLY__INIT;
        rep.n_offsets = (size_t)n;
        rep.offsets = (void *)ptrs;
        rc = call_send(c, &rep.base);
    } else {
        Com__Github__Bsideup__Liiklus__GetOffsetsReply rep = COM__GITHUB__BSIDEUP__LIIKLUS__GET_OFFSETS_REPLY__INIT;
        rep.n_offsets = (size_t)n;
        rep.offsets = ptrs;
        rc = call_send(c, &rep.base);
    }
    if (rc == 0) call_finish(c, GW_OK, NULL);
    free(ptrs);
    free(entries);
}

static void do_offsets(gw_call_t *c, int end)
{
    gw_error_t err = {0};
    int32_t *parts = malloc(GW_MAX_PARTITIONS * sizeof(*parts));
    int64_t *offsets = malloc(GW_MAX_PARTITIONS * sizeof(*offsets));
    long n = -1;
    if (!parts || !offsets) {
        err.code = GW_INTERNAL;
        snprintf(err.msg, sizeof(err.msg), "out of memory");
    } else if (end) {
        Com__Github__Bsideup__Liiklus__GetEndOffsetsRequest *req = (void *)call_request(
            c, &com__github__bsideup__liiklus__get_end_offsets_request__descriptor);
        if (!req) {
            err.code = GW_INVALID;
            snprintf(err.msg, sizeof(err.msg), "GetEndOffsetsRequest: not a valid message");
        } else {
            if (gw_authorize(c->g->gw, NULL, c->token, &err) == 0)
                n = gw_end_offsets(c->g->gw, req->topic, parts, offsets, GW_MAX_PARTITIONS, &err);
            protobuf_c_message_free_unpacked(&req->base, NULL);
        }
    } else {
        Com__Github__Bsideup__Liiklus__GetOffsetsRequest *req = (void *)call_request(
            c, &com__github__bsideup__liiklus__get_offsets_request__descriptor);
        if (!req) {
            err.code = GW_INVALID;
            snprintf(err.msg, sizeof(err.msg), "GetOffsetsRequest: not a valid message");
        } else {
            if (gw_authorize(c->g->gw, req->group, c->token, &err) == 0)
                n = gw_offsets(c->g->gw, req->topic, req->group, req->group_version, parts, offsets,
                               GW_MAX_PARTITIONS, &err);
            protobuf_c_message_free_unpacked(&req->base, NULL);
        }
    }
    if (n < 0) call_fail(c, &err);
    else
        send_offsets(c, end, n, parts, offsets);
    free(parts);
    free(offsets);
}

/* ---- call threads ------------------------------------------------------------------- */

static void slot_free(gw_slot_t *slot)
{
    if (!slot) return;
    if (slot->call) grpc_call_unref(slot->call);
    if (slot->payload) grpc_byte_buffer_destroy(slot->payload);
    grpc_metadata_array_destroy(&slot->md);
    if (slot->cq) {
        grpc_completion_queue_shutdown(slot->cq);
        while (grpc_completion_queue_pluck(slot->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
               GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(slot->cq);
    }
    free(slot);
}

static void *call_main(void *arg)
{
    gw_call_t *c = arg;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    int close_started = grpc_call_start_batch(c->slot->call, &op, 1, CLOSE_TAG, NULL) == GRPC_CALL_OK;
    if (!close_started) c->closed = 1;
    call_token(c);
    switch (c->slot->method) {
    case M_PUBLISH: do_publish(c); break;
    case M_SUBSCRIBE: do_subscribe(c); break;
    case M_RECEIVE: do_receive(c); break;
    case M_ACK: do_ack(c); break;
    case M_OFFSETS: do_offsets(c, 0); break;
    case M_END_OFFSETS: do_offsets(c, 1); break;
    case M_COUNT: break;
    }
    if (close_started && !c->closed) {
        /* The status went out: the close completes now (or on cancel). */
        grpc_completion_queue_pluck(c->slot->cq, CLOSE_TAG, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    gw_grpc_t *g = c->g;
    slot_free(c->slot);
    free(c);
    pthread_mutex_lock(&g->lock);
    g->calls--;
    pthread_cond_broadcast(&g->idle);
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

static int slot_request(gw_grpc_t *g, gw_method_t m)
{
    gw_slot_t *slot = calloc(1, sizeof(*slot));
    if (!slot) return -1;
    slot->method = m;
    grpc_metadata_array_init(&slot->md);
    slot->cq = grpc_completion_queue_create_for_pluck(NULL);
    g->slots[m] = slot;
    if (grpc_server_request_registered_call(g->server, g->methods[m], &slot->call, &slot->deadline, &slot->md,
                                            &slot->payload, slot->cq, g->cq, slot) != GRPC_CALL_OK) {
        g->slots[m] = NULL;
        slot_free(slot);
        return -1;
    }
    return 0;
}

static void *server_main(void *arg)
{
    gw_grpc_t *g = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
        if (ev.type != GRPC_OP_COMPLETE || ev.tag == (void *)g) continue; /* the shutdown notice */
        gw_slot_t *slot = ev.tag;
        gw_method_t m = slot->method;
        g->slots[m] = NULL;
        if (!ev.success || atomic_load(&g->stopping)) {
            slot_free(slot);
            continue;
        }
        /* Counted under the lock that gw_grpc_stop sets stopping under: a
         * call either is counted before stop waits, or never starts. */
        pthread_mutex_lock(&g->lock);
        int refuse = atomic_load(&g->stopping);
        if (!refuse) g->calls++;
        pthread_mutex_unlock(&g->lock);
        if (refuse) {
            slot_free(slot);
            continue;
        }
        gw_call_t *c = calloc(1, sizeof(*c));
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (c) {
            c->g = g;
            c->slot = slot;
        }
        if (!c || pthread_create(&t, &attr, call_main, c) != 0) {
            gw_log(g->gw, FERRY_LOG_ERROR, "gRPC: could not start a thread for %s", method_paths[m]);
            if (c) grpc_call_cancel(slot->call, NULL);
            slot_free(slot);
            free(c);
            pthread_mutex_lock(&g->lock);
            g->calls--;
            pthread_mutex_unlock(&g->lock);
        }
        pthread_attr_destroy(&attr);
        if (slot_request(g, m) != 0)
            gw_log(g->gw, FERRY_LOG_ERROR, "gRPC: could not wait for the next call of %s", method_paths[m]);
    }
    return NULL;
}

/* ---- life ------------------------------------------------------------------------- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

gw_grpc_t *gw_grpc_start(gw_t *gw, const char *listen, const char *cert_file, const char *key_file, gw_error_t *err)
{
    grpc_init();
    gw_grpc_t *g = calloc(1, sizeof(*g));
    if (!g) {
        grpc_shutdown();
        gw_fail(err, GW_INTERNAL, "out of memory");
        return NULL;
    }
    g->gw = gw;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->idle, NULL);
    g->server = grpc_server_create(NULL, NULL);
    g->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(g->server, g->cq, NULL);
    for (int m = 0; m < M_COUNT; m++)
        g->methods[m] = grpc_server_register_method(g->server, method_paths[m], NULL,
                                                    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    grpc_server_credentials *creds = NULL;
    if (cert_file && *cert_file) {
        char *cert = read_file(cert_file), *key = key_file && *key_file ? read_file(key_file) : NULL;
        if (!cert || !key) {
            free(cert);
            free(key);
            gw_fail(err, GW_INVALID, "grpc TLS: cannot read %s", !cert ? cert_file : key_file ? key_file : "(no tls.key.file)");
            goto fail;
        }
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        creds = grpc_ssl_server_credentials_create(NULL, &pair, 1, 0, NULL);
        free(cert);
        free(key);
    } else {
        creds = grpc_insecure_server_credentials_create();
    }
    int port = creds ? grpc_server_add_http2_port(g->server, listen, creds) : 0;
    if (creds) grpc_server_credentials_release(creds);
    if (port <= 0) {
        gw_fail(err, GW_INVALID, "grpc.listen %s: cannot listen there (in use, or not host:port)", listen);
        goto fail;
    }
    const char *colon = strrchr(listen, ':');
    snprintf(g->address, sizeof(g->address), "%.*s:%d", colon ? (int)(colon - listen) : 0, listen, port);
    grpc_server_start(g->server);
    for (int m = 0; m < M_COUNT; m++) {
        if (slot_request(g, (gw_method_t)m) != 0) {
            gw_fail(err, GW_INTERNAL, "gRPC: cannot wait for calls of %s", method_paths[m]);
            goto fail_started;
        }
    }
    if (pthread_create(&g->thread, NULL, server_main, g) != 0) {
        gw_fail(err, GW_INTERNAL, "gRPC: cannot start the server thread");
        goto fail_started;
    }
    return g;
fail_started:
    grpc_server_shutdown_and_notify(g->server, g->cq, g);
    grpc_server_cancel_all_calls(g->server);
    grpc_completion_queue_shutdown(g->cq);
    while (grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN) {
    }
    for (int m = 0; m < M_COUNT; m++) slot_free(g->slots[m]);
    grpc_server_destroy(g->server);
    grpc_completion_queue_destroy(g->cq);
    g->server = NULL;
    g->cq = NULL;
fail:
    if (g->server) {
        grpc_server_destroy(g->server);
        grpc_completion_queue_shutdown(g->cq);
        while (grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(g->cq);
    }
    pthread_cond_destroy(&g->idle);
    pthread_mutex_destroy(&g->lock);
    free(g);
    grpc_shutdown();
    return NULL;
}

const char *gw_grpc_address(const gw_grpc_t *g) { return g->address; }

void gw_grpc_stop(gw_grpc_t *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->lock);
    atomic_store(&g->stopping, 1);
    pthread_mutex_unlock(&g->lock);
    grpc_server_shutdown_and_notify(g->server, g->cq, g);
    grpc_server_cancel_all_calls(g->server);
    /* Call threads see their calls cancelled (and gw_stop) and end. */
    pthread_mutex_lock(&g->lock);
    while (g->calls > 0) pthread_cond_wait(&g->idle, &g->lock);
    pthread_mutex_unlock(&g->lock);
    grpc_completion_queue_shutdown(g->cq);
    pthread_join(g->thread, NULL);
    for (int m = 0; m < M_COUNT; m++) slot_free(g->slots[m]);
    grpc_server_destroy(g->server);
    grpc_completion_queue_destroy(g->cq);
    pthread_cond_destroy(&g->idle);
    pthread_mutex_destroy(&g->lock);
    free(g);
    grpc_shutdown();
}
