/*
 * admin_offsets.c — GET, PATCH and DELETE /connectors/{c}/offsets (KIP-875).
 *
 * A source's offsets are the runtime's own (the offsets topic or file): the
 * shared map and the store are changed together. A sink's are its consumer
 * group's (ferry-NAME) committed offsets, read and changed with a client of
 * that group. Changes need the connector STOPPED, as in Connect, so that no
 * task holds or writes them meanwhile; a resumed task starts from them.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "engine/admin.h"
#include "engine/engine_internal.h"
#include "util/kafka_meta.h"
#include "util/log.h"
#include "util/strutil.h"

#define OFFSETS_TIMEOUT_MS 10000

/* ---- sources ---------------------------------------------------------------------------- */

static json_t *source_offsets(worker_t *w, const char *name)
{
    /* Distributed mode: another worker may have run it since. */
    char err[512];
    if (w->group && engine_offsets_reload(w, name, err, sizeof(err)) != 0)
        log_warn("[%s] offsets: %s (showing what this worker knew)", name, err);
    json_t *a = json_array();
    pthread_mutex_lock(&w->offsets_lock);
    for (size_t i = 0; i < offset_map_count(w->offsets); i++) {
        const char *c, *part, *off;
        if (!offset_map_entry(w->offsets, i, &c, &part, &off) || strcmp(c, name) != 0) continue;
        json_t *p = json_loads(part, 0, NULL), *o = json_loads(off, 0, NULL);
        if (p && o)
            json_array_append_new(a, json_pack("{s:o, s:o}", "partition", p, "offset", o));
        else
            json_decref(p), json_decref(o);
    }
    pthread_mutex_unlock(&w->offsets_lock);
    return a;
}

/* Writes (partition, offset or NULL) pairs to the offsets topic, waiting
 * for each to be acknowledged. */
static void offsets_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err) *(rd_kafka_resp_err_t *)opaque = m->err;
}

static int offsets_topic_write(worker_t *w, const char *name, char **parts, char **offs, size_t n, char *err,
                               size_t errlen)
{
    static const char *const keys[] = {"enable.idempotence", "acks", "message.timeout.ms"};
    static const char *const values[] = {"true", "all", "8000"};
    char why[512];
    rd_kafka_resp_err_t delivery = RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_conf_t *conf = kafka_conf_new(w->kenv, KAFKA_PRODUCER, keys, values, 3, why, sizeof(why));
    if (conf) {
        rd_kafka_conf_set_dr_msg_cb(conf, offsets_dr_cb);
        rd_kafka_conf_set_opaque(conf, &delivery);
    }
    rd_kafka_t *rk = conf ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why)) : NULL;
    if (!rk) {
        if (conf) rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "offsets topic: producer: %s", why);
        return -1;
    }
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (size_t i = 0; i < n && !e; i++) {
        char *key = NULL, *val = NULL;
        size_t klen = 0, vlen = 0;
        int32_t part = -1;
        if (offsets_record_encode(name, parts[i], offs[i], w->offsets_partitions, &key, &klen, &val, &vlen, &part) !=
            0) {
            e = RD_KAFKA_RESP_ERR__INVALID_ARG;
            break;
        }
        e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(w->wc->offsets_topic), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(val, vlen),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        free(key);
        free(val);
    }
    if (!e) e = rd_kafka_flush(rk, OFFSETS_TIMEOUT_MS);
    if (e) rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (!e) e = delivery;
    rd_kafka_destroy(rk);
    if (e) snprintf(err, errlen, "offsets topic '%s': %s", w->wc->offsets_topic, rd_kafka_err2str(e));
    return e ? -1 : 0;
}

/* parts/offs: canonical partition JSON and compact offset JSON (NULL = reset). */
static int source_write(worker_t *w, conn_t *c, char **parts, char **offs, size_t n, char *err, size_t errlen)
{
    if (w->wc->offsets_store == OFFSETS_STORE_KAFKA) {
        if (conn_offsets_ready(w, err, errlen) != 0) return -1;
        if (offsets_topic_write(w, c->name, parts, offs, n, err, errlen) != 0) return -1;
    }
    ferry_offset_t *o = xcalloc(n + 1, sizeof(*o));
    for (size_t i = 0; i < n; i++) o[i].source_partition = parts[i], o[i].source_offset = offs[i];
    int rc = 0;
    if (w->wc->offsets_store == OFFSETS_STORE_FILE)
        rc = engine_offsets_store_file(w, c->name, o, n, err, errlen);
    else
        engine_offsets_update_map(w, c->name, o, n);
    free(o);
    return rc;
}

/* ---- sinks ------------------------------------------------------------------------------ */

static rd_kafka_t *group_client(worker_t *w, const conn_t *c, char *err, size_t errlen)
{
    char why[512], group[300];
    snprintf(group, sizeof(group), "ferry-%s", c->name);
    /* The shortest session a broker allows by default: should it have to
     * join the group, it holds the partitions no longer than that. */
    const char *keys[] = {"group.id", "enable.auto.commit", "session.timeout.ms"};
    const char *values[] = {group, "false", "6000"};
    rd_kafka_conf_t *conf = kafka_conf_new(w->kenv, KAFKA_CONSUMER, keys, values, 3, why, sizeof(why));
    rd_kafka_t *rk = conf ? rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why)) : NULL;
    if (!rk) {
        if (conf) rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "consumer group %s: %s", group, why);
    }
    return rk;
}

/* Every partition of the sink's topics (topics, or those topics.regex matches). */
static rd_kafka_topic_partition_list_t *sink_partitions(rd_kafka_t *rk, const conn_t *c, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    const char *const *topics = NULL;
    size_t n = config_list(c->cfg, "topics", &topics);
    const char *re = config_string(c->cfg, "topics.regex");
    char **names = NULL;
    size_t count = 0;
    if (re && *re) {
        const struct rd_kafka_metadata *md = NULL;
        regex_t rx;
        char *anchored = str_printf("^(%s)$", re); /* as the sink subscribes */
        int bad = regcomp(&rx, anchored, REG_EXTENDED | REG_NOSUB) != 0;
        free(anchored);
        if (bad) return l;
        if (rd_kafka_metadata(rk, 1, NULL, &md, OFFSETS_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            names = xcalloc((size_t)md->topic_cnt + 1, sizeof(*names));
            for (int i = 0; i < md->topic_cnt; i++)
                if (regexec(&rx, md->topics[i].topic, 0, NULL, 0) == 0) names[count++] = str_dup(md->topics[i].topic);
            rd_kafka_metadata_destroy(md);
        }
        regfree(&rx);
    } else {
        names = xcalloc(n + 1, sizeof(*names));
        for (size_t i = 0; i < n; i++) names[count++] = str_dup(topics[i]);
    }
    for (size_t i = 0; i < count; i++) {
        int32_t *ids = NULL;
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        int np = kafka_meta_partitions(rk, names[i], OFFSETS_TIMEOUT_MS, &ids, &e);
        if (np < 0) snprintf(err, errlen, "topic %s: %s", names[i], rd_kafka_err2str(e));
        for (int j = 0; j < np; j++) rd_kafka_topic_partition_list_add(l, names[i], ids[j]);
        free(ids);
        free(names[i]);
    }
    free(names);
    return l;
}

/* Every offset the group has committed (as Connect lists and resets a
 * sink's: also topics the config no longer names), or NULL when the broker
 * does not answer. */
static rd_kafka_topic_partition_list_t *group_committed(rd_kafka_t *rk, const char *group)
{
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_AdminOptions_set_request_timeout(opt, OFFSETS_TIMEOUT_MS, NULL, 0);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, OFFSETS_TIMEOUT_MS + 2000);
    rd_kafka_topic_partition_list_t *out = NULL;
    if (ev && !rd_kafka_event_error(ev)) {
        const rd_kafka_ListConsumerGroupOffsets_result_t *res = rd_kafka_event_ListConsumerGroupOffsets_result(ev);
        size_t n = 0;
        const rd_kafka_group_result_t **g = res ? rd_kafka_ListConsumerGroupOffsets_result_groups(res, &n) : NULL;
        const rd_kafka_topic_partition_list_t *pl = n && !rd_kafka_group_result_error(g[0])
                                                        ? rd_kafka_group_result_partitions(g[0])
                                                        : NULL;
        if (pl) out = rd_kafka_topic_partition_list_copy(pl);
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    return out;
}

static json_t *sink_offsets(worker_t *w, const conn_t *c, char *err, size_t errlen)
{
    rd_kafka_t *rk = group_client(w, c, err, errlen);
    if (!rk) return NULL;
    err[0] = '\0';
    char group[300];
    snprintf(group, sizeof(group), "ferry-%s", c->name);
    rd_kafka_topic_partition_list_t *l = group_committed(rk, group);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (l && l->cnt == 0) { /* none, or a broker that lists none (the mock): ask per partition */
        rd_kafka_topic_partition_list_destroy(l);
        l = NULL;
    }
    if (!l) {
        /* The partitions of the topics it reads now, and their commits. */
        l = sink_partitions(rk, c, err, errlen);
        if (l->cnt) e = rd_kafka_committed(rk, l, OFFSETS_TIMEOUT_MS);
    }
    json_t *a = NULL;
    if (e) {
        snprintf(err, errlen, "consumer group ferry-%s: committed offsets: %s", c->name, rd_kafka_err2str(e));
    } else if (!err[0]) {
        a = json_array();
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].offset >= 0)
                json_array_append_new(a, json_pack("{s:{s:s, s:i}, s:{s:I}}", "partition", "kafka_topic",
                                                   l->elems[i].topic, "kafka_partition", (int)l->elems[i].partition,
                                                   "offset", "kafka_offset", (json_int_t)l->elems[i].offset));
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return a;
}

/* Deletes the group's committed offsets of the partitions in del. */
static int sink_delete(rd_kafka_t *rk, const char *group, rd_kafka_topic_partition_list_t *del, char *err,
                       size_t errlen)
{
    if (del->cnt == 0) return 0;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteConsumerGroupOffsets_t *d = rd_kafka_DeleteConsumerGroupOffsets_new(group, del);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS);
    rd_kafka_AdminOptions_set_request_timeout(opt, OFFSETS_TIMEOUT_MS, NULL, 0);
    rd_kafka_DeleteConsumerGroupOffsets(rk, &d, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, OFFSETS_TIMEOUT_MS + 2000);
    int rc = 0;
    if (!ev) {
        snprintf(err, errlen, "consumer group %s: deleting offsets timed out", group);
        rc = -1;
    } else if (rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "consumer group %s: deleting offsets: %s", group, rd_kafka_event_error_string(ev));
        rc = -1;
    } else {
        const rd_kafka_DeleteConsumerGroupOffsets_result_t *res = rd_kafka_event_DeleteConsumerGroupOffsets_result(ev);
        size_t n = 0;
        const rd_kafka_group_result_t **g = res ? rd_kafka_DeleteConsumerGroupOffsets_result_groups(res, &n) : NULL;
        const rd_kafka_error_t *ge = n ? rd_kafka_group_result_error(g[0]) : NULL;
        const rd_kafka_topic_partition_list_t *pl = n ? rd_kafka_group_result_partitions(g[0]) : NULL;
        for (int i = 0; !ge && pl && i < pl->cnt; i++)
            if (pl->elems[i].err && pl->elems[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                snprintf(err, errlen, "consumer group %s: deleting the offset of %s [%d]: %s", group,
                         pl->elems[i].topic, (int)pl->elems[i].partition, rd_kafka_err2str(pl->elems[i].err));
                rc = -1;
                break;
            }
        if (ge) {
            snprintf(err, errlen, "consumer group %s: deleting offsets: %s", group, rd_kafka_error_string(ge));
            rc = -1;
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_DeleteConsumerGroupOffsets_destroy(d);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_queue_destroy(q);
    return rc;
}

static rd_kafka_resp_err_t commit_as_member(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *set)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(set->cnt);
    for (int i = 0; i < set->cnt; i++)
        if (!rd_kafka_topic_partition_list_find(topics, set->elems[i].topic, RD_KAFKA_PARTITION_UA))
            rd_kafka_topic_partition_list_add(topics, set->elems[i].topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    int64_t deadline = clock_ms() + 3 * OFFSETS_TIMEOUT_MS;
    rd_kafka_topic_partition_list_t *assigned = NULL;
    while (!e && clock_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m) rd_kafka_message_destroy(m);
        if (rd_kafka_assignment(rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned->cnt > 0) break;
        if (assigned) rd_kafka_topic_partition_list_destroy(assigned), assigned = NULL;
    }
    if (!e && !assigned) e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (assigned) rd_kafka_topic_partition_list_destroy(assigned);
    if (!e) e = rd_kafka_commit(rk, set, 0);
    for (int i = 0; !e && i < set->cnt; i++) e = set->elems[i].err;
    rd_kafka_consumer_close(rk);
    return e;
}

/* set: offsets to commit; del: partitions whose offset goes. */
static int sink_write(worker_t *w, const conn_t *c, rd_kafka_topic_partition_list_t *set,
                      rd_kafka_topic_partition_list_t *del, char *err, size_t errlen)
{
    rd_kafka_t *rk = group_client(w, c, err, errlen);
    if (!rk) return -1;
    char group[300];
    snprintf(group, sizeof(group), "ferry-%s", c->name);
    int rc = 0;
    if (set->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(rk, set, 0);
        for (int i = 0; !e && i < set->cnt; i++) e = set->elems[i].err;
        /* A broker that takes commits from group members only (librdkafka's
         * mock): join the (empty) group, then commit. */
        if (e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) e = commit_as_member(rk, set);
        if (e) {
            snprintf(err, errlen, "consumer group %s: committing offsets: %s", group, rd_kafka_err2str(e));
            rc = -1;
        }
    }
    if (rc == 0) rc = sink_delete(rk, group, del, err, errlen);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- the API -------------------------------------------------------------------------- */

json_t *admin_offsets_get(worker_t *w, const char *name, char *err, size_t errlen)
{
    conn_t *c = conn_find(w, name);
    if (!c) return NULL;
    json_t *a = c->desc->kind == FERRY_SOURCE ? source_offsets(w, name) : sink_offsets(w, c, err, errlen);
    return a ? json_pack("{s:o}", "offsets", a) : json_null();
}

/* The request's entries checked and turned into what the store takes. */
static int parse_entries(const conn_t *c, json_t *offsets, char ***parts, char ***offs,
                         rd_kafka_topic_partition_list_t *set, rd_kafka_topic_partition_list_t *del, size_t *n,
                         char *err, size_t errlen)
{
    size_t count = json_array_size(offsets);
    *parts = xcalloc(count + 1, sizeof(**parts));
    *offs = xcalloc(count + 1, sizeof(**offs));
    *n = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *e = json_array_get(offsets, i);
        json_t *p = json_object_get(e, "partition"), *o = json_object_get(e, "offset");
        if (!json_is_object(p) || !(json_is_object(o) || json_is_null(o))) {
            snprintf(err, errlen, "offsets[%zu]: needs \"partition\" (an object) and \"offset\" (an object or null)", i);
            return -1;
        }
        if (c->desc->kind == FERRY_SINK) {
            const char *topic = json_string_value(json_object_get(p, "kafka_topic"));
            json_t *part = json_object_get(p, "kafka_partition");
            json_t *off = json_is_object(o) ? json_object_get(o, "kafka_offset") : NULL;
            if (!topic || !json_is_integer(part) || json_integer_value(part) < 0 || json_integer_value(part) > INT32_MAX ||
                (json_is_object(o) && (!json_is_integer(off) || json_integer_value(off) < 0))) {
                snprintf(err, errlen, "offsets[%zu]: a sink's partition is {\"kafka_topic\": string, "
                         "\"kafka_partition\": integer} and its offset {\"kafka_offset\": integer >= 0} or null", i);
                return -1;
            }
            rd_kafka_topic_partition_t *tp =
                rd_kafka_topic_partition_list_add(json_is_object(o) ? set : del, topic, (int32_t)json_integer_value(part));
            if (json_is_object(o)) tp->offset = json_integer_value(off);
            continue;
        }
        char *ptext = json_dumps(p, JSON_COMPACT);
        char *otext = json_is_object(o) ? json_dumps(o, JSON_COMPACT) : NULL;
        (*parts)[*n] = offsets_json_canonical(ptext, strlen(ptext));
        (*offs)[*n] = otext ? offsets_json_compact(otext, strlen(otext)) : NULL;
        free(ptext);
        free(otext);
        (*n)++;
    }
    return 0;
}

admin_rc_t admin_offsets_alter(worker_t *w, const char *name, json_t *offsets, char *err, size_t errlen)
{
    if (w->group) conn_store_sync(w->store);
    conn_t *c = conn_find(w, name);
    if (!c) return ADMIN_UNKNOWN;
    char busy[256] = "";
    if (c->target != CONN_STOPPED || c->ntasks || cluster_busy(w, name, busy, sizeof(busy))) {
        snprintf(err, errlen, "Connectors must be in the STOPPED state before their offsets can be modified. This "
                 "can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' "
                 "endpoint%s%s%s", name, busy[0] ? " (stopped here, but " : "", busy, busy[0] ? ")" : "");
        return ADMIN_INVALID;
    }
    char **parts = NULL, **offs = NULL;
    size_t n = 0;
    rd_kafka_topic_partition_list_t *set = rd_kafka_topic_partition_list_new(4), *del = rd_kafka_topic_partition_list_new(4);
    admin_rc_t rc = ADMIN_OK;
    if (!offsets) {
        /* A reset: every offset the connector has goes. */
        json_t *now = admin_offsets_get(w, name, err, errlen);
        json_t *a = json_object_get(now, "offsets");
        if (!a) {
            json_decref(now);
            rc = ADMIN_FAILED;
            goto out;
        }
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) json_object_set_new(e, "offset", json_null());
        parse_entries(c, a, &parts, &offs, set, del, &n, err, errlen);
        json_decref(now);
    } else if (parse_entries(c, offsets, &parts, &offs, set, del, &n, err, errlen) != 0) {
        rc = ADMIN_INVALID;
        goto out;
    }
    int wrote = c->desc->kind == FERRY_SOURCE ? (n ? source_write(w, c, parts, offs, n, err, errlen) : 0)
                                              : sink_write(w, c, set, del, err, errlen);
    if (wrote != 0) rc = ADMIN_FAILED;
    else log_info("[%s] offsets %s over the REST API", name, offsets ? "altered" : "reset");
out:
    for (size_t i = 0; parts && i < n; i++) free(parts[i]), free(offs[i]);
    free(parts);
    free(offs);
    rd_kafka_topic_partition_list_destroy(set);
    rd_kafka_topic_partition_list_destroy(del);
    return rc;
}

json_t *admin_connector_topics(worker_t *w, const char *name)
{
    conn_t *c = conn_find(w, name);
    if (!c) return NULL;
    json_t *a = json_array();
    const char *topic = c->desc->kind == FERRY_SOURCE ? config_string(c->cfg, "topic") : NULL;
    if (topic && *topic) json_array_append_new(a, json_string(topic));
    const char *const *topics = NULL;
    size_t n = c->desc->kind == FERRY_SINK ? config_list(c->cfg, "topics", &topics) : 0;
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(topics[i]));
    return json_pack("{s:{s:o}}", name, "topics", a);
}
