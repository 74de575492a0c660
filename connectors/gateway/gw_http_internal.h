/*
 * gw_http_internal.h — what the HTTP transport's files share (gw_http.c:
 * routing and life; gw_http_sub.c: subscriptions; gw_http_feed.c: record
 * streams; gw_http_util.c: responses and reading requests, at the bottom).
 * The threads and locks are described at the top of gw_http.c.
 */
#ifndef FERRY_GW_HTTP_INTERNAL_H
#define FERRY_GW_HTTP_INTERNAL_H

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "gw_http.h"
#include "gw_internal.h"
#include "s3_client.h"
#include "s3_format.h"

#define GW_HTTP_BODY_MAX ((size_t)4 * 1024 * 1024) /* a publish of a 1 MiB value in base64, with room */
#define GW_HTTP_PARTS_MAX 4096
#define GW_HTTP_WAIT_DEFAULT_MS 5000
#define GW_HTTP_WAIT_MAX_MS 60000
#define GW_HTTP_POLL_MS 200            /* a stream's wait for a record before it looks at its client */
#define GW_HTTP_KEEPALIVE_MS 15000     /* an SSE comment after this long without a record */
#define GW_HTTP_FLUSH_BYTES (64 * 1024) /* a stream hands what it holds to MHD at this size */
#define GW_HTTP_IDLE_S 60u             /* a connection between requests */
#define GW_HTTP_CONNECTIONS 1024u
#define GW_HTTP_DRAIN_MS 2000          /* at stop, for answers in flight to go out */

typedef struct gw_sub gw_sub_t;

struct gw_http {
    gw_t *gw;
    struct MHD_Daemon *daemon;
    char address[300];
    atomic_int stopping;
    atomic_int requests;  /* begun and not completed (on_request .. on_completed) */
    pthread_mutex_t lock; /* guards subs */
    gw_sub_t *subs;
};

/* A subscription: a session and the thread that owns it. */
struct gw_sub {
    gw_sub_t *next;  /* h->subs (under h->lock) */
    gw_session_t *s; /* its thread's alone (see the header) */
    char id[64];
    char topic[256], group[256]; /* as the client named them */
    pthread_t thread;
    atomic_int deleted; /* asks the thread to close the session */
    atomic_int assigned; /* the group gave it partitions (a whole assignment, see sub_main) */
    atomic_int expired; /* it closed for session.timeout (set before done) */
    atomic_int done;    /* the thread closed it */
};

/* One request's state (MHD's con_cls), freed when the request completes. */
typedef struct gw_req {
    char *body; /* read whole, up to GW_HTTP_BODY_MAX */
    size_t len;
    int too_big;
    int answered;
} gw_req_t;

/* A records response (the content reader's closure; feed_free frees it). */
typedef struct gw_feed {
    gw_http_t *h;
    gw_stream_t *st;
    gw_session_t *s; /* a reference, touched while the stream lives */
    int sse;
    int64_t limit, sent; /* limit 0 = none */
    int fd;              /* the client's socket, -1 unknown */
    s3_buf_t out;        /* formatted; [pos, len) not handed to MHD yet */
    size_t pos;
    int ended; /* out holds the last bytes */
    int gone;  /* the client hung up */
    int64_t last_out_ms;
} gw_feed_t;

int gwh_http_stopping(gw_http_t *h);

/* gw_http_util.c: answers (JSON; errors in Connect's shape) and request fields. */
unsigned gwh_status_of(gw_code_t code);
json_t *gwh_json_text(const char *s);
enum MHD_Result gwh_send_text(struct MHD_Connection *c, gw_req_t *req, unsigned status, char *text, const char *allow);
enum MHD_Result gwh_send_json(struct MHD_Connection *c, gw_req_t *req, unsigned status, json_t *j);
json_t *gwh_error_json(unsigned status, const char *msg);
enum MHD_Result gwh_send_error(struct MHD_Connection *c, gw_req_t *req, unsigned status, const char *fmt, ...) FERRY_PRINTF(4, 5);
enum MHD_Result gwh_send_fail(struct MHD_Connection *c, gw_req_t *req, const gw_error_t *err);
enum MHD_Result gwh_send_405(struct MHD_Connection *c, gw_req_t *req, const char *method, const char *url, const char *allow);
const char *gwh_req_token(struct MHD_Connection *c);
json_t *gwh_body_object(const gw_req_t *req, gw_error_t *err);
int gwh_field_str(json_t *doc, const char *name, int required, const char **out, gw_error_t *err);
int gwh_field_int(json_t *doc, const char *name, int required, int64_t min, int64_t max, int64_t *out, gw_error_t *err);
int gwh_field_bytes(json_t *doc, const char *name, const char *text_name, s3_buf_t *scratch, const void **data, size_t *len, gw_error_t *err);
int gwh_query_int(struct MHD_Connection *c, const char *name, int64_t min, int64_t max, int64_t *out, gw_error_t *err);
int gwh_query_str(struct MHD_Connection *c, const char *name, const char **out, gw_error_t *err);
enum MHD_Result gwh_send_no_session(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id);

/* gw_http_sub.c: subscriptions. */
enum MHD_Result gwh_do_subscribe(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req);
enum MHD_Result gwh_do_sub_get(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id);
enum MHD_Result gwh_do_sub_delete(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id);
void gwh_sub_reap(gw_sub_t *sub);
gw_sub_t *gwh_sub_find_locked(gw_http_t *h, const char *id, gw_sub_t ***link);

/* gw_http_feed.c: a partition's records as NDJSON or Server-Sent Events. */
enum MHD_Result gwh_do_records(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id, int32_t partition);

#endif /* FERRY_GW_HTTP_INTERNAL_H */
