/*
 * gw_http_sub.c — the HTTP transport's subscriptions: a session and the thread that owns
 * it, between requests (see gw_http.c for the threads).
 */
#include "gw_http_internal.h"

/* ---- subscriptions ---------------------------------------------------------------------- */

static void *sub_main(void *arg)
{
    gw_sub_t *sub = arg;
    while (!atomic_load(&sub->deleted)) {
        gw_assign_t ev; /* the assignment is read with gw_session_partitions */
        int r = gw_session_poll(sub->s, 100, &ev);
        if (r < 0) break; /* the gateway stops */
        /* Events come after the rebalance callback returned: the session
         * holds every partition of the assignment now, not only some. */
        if (r > 0 && ev.assigned) atomic_store(&sub->assigned, 1);
        if (gw_session_idle(sub->s, gw_now_ms())) {
            atomic_store(&sub->expired, 1);
            break;
        }
    }
    gw_session_close(sub->s);
    sub->s = NULL;
    atomic_store(&sub->done, 1);
    return NULL;
}

/* Joins an unlinked subscription's thread (asking it to end) and frees it. */
void gwh_sub_reap(gw_sub_t *sub)
{
    atomic_store(&sub->deleted, 1);
    pthread_join(sub->thread, NULL);
    free(sub);
}

/* The subscription id, under h->lock; NULL when unknown. */
gw_sub_t *gwh_sub_find_locked(gw_http_t *h, const char *id, gw_sub_t ***link)
{
    for (gw_sub_t **pp = &h->subs; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            if (link) *link = pp;
            return *pp;
        }
    }
    return NULL;
}

/* 1 when subscription id got its first assignment, 0 not yet, -1 when it
 * ended. */
static int sub_assigned(gw_http_t *h, const char *id)
{
    pthread_mutex_lock(&h->lock);
    gw_sub_t *sub = gwh_sub_find_locked(h, id, NULL);
    int rc = !sub || atomic_load(&sub->done) ? -1 : atomic_load(&sub->assigned);
    pthread_mutex_unlock(&h->lock);
    return rc;
}

/* Opens a session and starts its thread. Returns a reference to the
 * session (gw_session_unref), NULL with err. The subscription itself may
 * end (and be freed) at any time after this returns. */
static gw_session_t *sub_start(gw_http_t *h, const char *topic, const char *group, uint32_t version, int latest,
                               gw_error_t *err)
{
    if (gwh_http_stopping(h)) {
        gw_fail(err, GW_UNAVAILABLE, "the gateway stops");
        return NULL;
    }
    gw_sub_t *sub = calloc(1, sizeof(*sub));
    if (!sub) {
        gw_fail(err, GW_INTERNAL, "out of memory");
        return NULL;
    }
    sub->s = gw_session_open(h->gw, topic, group, version, latest, err);
    if (!sub->s) {
        free(sub);
        return NULL;
    }
    snprintf(sub->id, sizeof(sub->id), "%s", gw_session_id(sub->s));
    snprintf(sub->topic, sizeof(sub->topic), "%s", topic);
    snprintf(sub->group, sizeof(sub->group), "%s", group);
    gw_session_t *ref = gw_session_find(h->gw, sub->id);
    pthread_mutex_lock(&h->lock);
    int rc = pthread_create(&sub->thread, NULL, sub_main, sub);
    if (rc == 0) {
        sub->next = h->subs;
        h->subs = sub;
        pthread_setname_np(sub->thread, "gw-http-sub");
    }
    pthread_mutex_unlock(&h->lock);
    if (rc != 0) {
        gw_session_unref(ref);
        gw_session_close(sub->s);
        free(sub);
        gw_fail(err, GW_INTERNAL, "cannot start the thread of a subscription to %s: %s", topic, strerror(rc));
        return NULL;
    }
    return ref;
}

static int part_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The subscription's JSON, with s's assignment now. */
static json_t *sub_json(const char *id, const char *topic, const char *group, gw_session_t *s)
{
    int32_t *parts = malloc(GW_HTTP_PARTS_MAX * sizeof(*parts));
    json_t *a = json_array(), *t = gwh_json_text(topic), *g = gwh_json_text(group);
    if (!parts || !a || !t || !g) {
        free(parts);
        json_decref(a);
        json_decref(t);
        json_decref(g);
        return NULL;
    }
    size_t n = gw_session_partitions(s, parts, GW_HTTP_PARTS_MAX);
    qsort(parts, n, sizeof(*parts), part_cmp);
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer(parts[i]));
    free(parts);
    return json_pack("{s:s, s:o, s:o, s:o}", "session_id", id, "topic", t, "group", g, "assignments", a);
}

enum MHD_Result gwh_do_subscribe(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req)
{
    gw_error_t err = {0};
    const char *topic = NULL, *group = NULL, *reset = NULL;
    int64_t version = 0, wait_ms = GW_HTTP_WAIT_DEFAULT_MS;
    json_t *doc = NULL;
    /* No valid token at all: 401 before the body is looked at. */
    if (gw_authorize(h->gw, NULL, gwh_req_token(c), &err) != 0) return gwh_send_fail(c, req, &err);
    doc = gwh_body_object(req, &err);
    if (!doc || gwh_field_str(doc, "topic", 1, &topic, &err) != 0 || gwh_field_str(doc, "group", 1, &group, &err) != 0 ||
        gwh_field_int(doc, "group_version", 0, 0, UINT32_MAX, &version, &err) != 0 ||
        gwh_field_str(doc, "auto_offset_reset", 0, &reset, &err) != 0 ||
        gwh_query_int(c, "wait", 0, GW_HTTP_WAIT_MAX_MS, &wait_ms, &err) != 0)
        goto fail;
    if (reset && strcmp(reset, "earliest") != 0 && strcmp(reset, "latest") != 0) {
        gw_fail(&err, GW_INVALID, "field 'auto_offset_reset': '%s' is neither earliest nor latest", reset);
        goto fail;
    }
    gw_session_t *s = NULL;
    if (gw_authorize(h->gw, group, gwh_req_token(c), &err) != 0 ||
        !(s = sub_start(h, topic, group, (uint32_t)version, reset && strcmp(reset, "latest") == 0, &err)))
        goto fail;
    /* Until the group gives the session its partitions (a member beyond
     * the partition count gets none: then the answer has none). The
     * request keeps the session from expiring meanwhile. */
    int64_t deadline = gw_now_ms() + wait_ms;
    int assigned;
    while ((assigned = sub_assigned(h, gw_session_id(s))) == 0 && gw_now_ms() < deadline && !gwh_http_stopping(h)) {
        gw_session_touch(s);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (assigned < 0 || gwh_http_stopping(h)) {
        gw_fail(&err, gwh_http_stopping(h) ? GW_UNAVAILABLE : GW_NOT_FOUND, "subscription %s ended: %s",
                gw_session_id(s), gwh_http_stopping(h) ? "the gateway stops" : "it was deleted");
        gw_session_unref(s);
        goto fail;
    }
    json_t *j = sub_json(gw_session_id(s), topic, group, s);
    gw_session_unref(s);
    json_decref(doc);
    return gwh_send_json(c, req, MHD_HTTP_CREATED, j);
fail:
    json_decref(doc);
    return gwh_send_fail(c, req, &err);
}

/* Copies the topic and group of subscription id (not ended); 0, or -1 when
 * there is none. */
static int sub_group(gw_http_t *h, const char *id, char *topic, char *group, size_t size)
{
    pthread_mutex_lock(&h->lock);
    gw_sub_t *sub = gwh_sub_find_locked(h, id, NULL);
    int found = sub && !atomic_load(&sub->done);
    if (found) {
        snprintf(topic, size, "%s", sub->topic);
        snprintf(group, size, "%s", sub->group);
    }
    pthread_mutex_unlock(&h->lock);
    return found ? 0 : -1;
}

enum MHD_Result gwh_do_sub_get(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id)
{
    gw_error_t err = {0};
    char topic[256], group[256];
    gw_session_t *s = sub_group(h, id, topic, group, sizeof(topic)) == 0 ? gw_session_find(h->gw, id) : NULL;
    if (!s) return gwh_send_no_session(h, c, req, id);
    if (gw_authorize(h->gw, group, gwh_req_token(c), &err) != 0) {
        gw_session_unref(s);
        return gwh_send_fail(c, req, &err);
    }
    gw_session_touch(s);
    json_t *j = sub_json(id, topic, group, s);
    gw_session_unref(s);
    return gwh_send_json(c, req, MHD_HTTP_OK, j);
}

enum MHD_Result gwh_do_sub_delete(gw_http_t *h, struct MHD_Connection *c, gw_req_t *req, const char *id)
{
    gw_error_t err = {0};
    char topic[256], group[256];
    if (sub_group(h, id, topic, group, sizeof(topic)) != 0) return gwh_send_no_session(h, c, req, id);
    if (gw_authorize(h->gw, group, gwh_req_token(c), &err) != 0) return gwh_send_fail(c, req, &err);
    pthread_mutex_lock(&h->lock);
    gw_sub_t **link = NULL, *sub = gwh_sub_find_locked(h, id, &link);
    if (sub) *link = sub->next;
    pthread_mutex_unlock(&h->lock);
    /* Expired, or deleted by another request, meanwhile. */
    if (!sub) return gwh_send_no_session(h, c, req, id);
    int ended = atomic_load(&sub->done);
    /* The session has left the group when the client hears 204: the
     * group's other members get its partitions in the rebalance that
     * follows. */
    gwh_sub_reap(sub);
    if (ended) return gwh_send_no_session(h, c, req, id);
    return gwh_send_text(c, req, MHD_HTTP_NO_CONTENT, NULL, NULL);
}
