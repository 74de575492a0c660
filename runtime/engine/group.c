/*
 * group.c — distributed mode: workers of one worker.group.id divide the
 * source tasks between them through Kafka's own group membership.
 *
 * Each source task has a slot, a partition of the tasks topic (cluster.c:
 * the YAML file's tasks the first ones, in the order written; connectors
 * created over REST the ones their record names). Every
 * worker of the group subscribes to that topic in one consumer group with
 * cooperative-sticky assignment, and runs the tasks whose partitions it
 * holds. Nothing is ever written to the topic or committed: only the
 * assignment matters. Sink tasks are not part of it; they already divide
 * their topics' partitions through their own consumer groups.
 *
 * A revoked task is stopped (and its offsets stored) before the revocation
 * returns, so the next owner starts after it. A worker that goes silent
 * loses its partitions after group.session.timeout; librdkafka then reports
 * them lost and its tasks stop. A task that starts reads its connector's
 * offsets from the offsets topic again (source.c), so it resumes where the
 * previous owner stored them.
 *
 * Main thread only: the rebalance callback runs inside group_poll().
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"

struct worker_group {
    worker_t *w;
    rd_kafka_t *rk;
    char *topic;
    int nparts;             /* the tasks topic's partitions, as last seen */
    unsigned char *owned;   /* partition -> assigned to this worker */
    int owned_cap;
};

int group_owns(const worker_group_t *g, int p) { return p >= 0 && p < g->owned_cap && g->owned[p]; }

static void set_owned(worker_group_t *g, int p, int owned)
{
    if (p < 0) return;
    if (p >= g->owned_cap) {
        int cap = p + 16;
        g->owned = xrealloc(g->owned, (size_t)cap);
        memset(g->owned + g->owned_cap, 0, (size_t)(cap - g->owned_cap));
        g->owned_cap = cap;
    }
    g->owned[p] = (unsigned char)owned;
}

/* 1 when source task t's slot is in parts. */
static int in_parts(const task_rt_t *t, const rd_kafka_topic_partition_list_t *parts)
{
    int slot = conn_task_slot(t->conn, (int)(t - t->conn->tasks));
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].partition == slot) return 1;
    return 0;
}

/* Calls fn for every source task whose slot is in parts. */
static void each_task(worker_group_t *g, const rd_kafka_topic_partition_list_t *parts,
                      void (*fn)(worker_group_t *g, task_rt_t *t, void *arg), void *arg)
{
    worker_t *w = g->w;
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = w->conns[i];
        if (c->desc->kind != FERRY_SOURCE) continue;
        for (int j = 0; j < c->ntasks; j++)
            if (in_parts(&c->tasks[j], parts)) fn(g, &c->tasks[j], arg);
    }
}

static void assign_one(worker_group_t *g, task_rt_t *t, void *arg)
{
    (void)arg;
    /* A connector stopping for a change starts its new tasks itself (conn_settle). */
    if (t->assigned || t->conn->stop_asked_ms || t->conn->deleting) return;
    log_info("[%s] task assigned to this worker (group %s, partition %d)", t->task->prefix, g->w->wc->group_id,
             conn_task_slot(t->conn, (int)(t - t->conn->tasks)));
    t->assigned = 1;
    t->restarts = 0;
    t->restart_at_ms = 0;
    /* Its last run here may still be stopping (it missed the revocation's
     * deadline): it starts once that one has ended (worker_supervise). */
    if (worker_task_join(t, clock_ms()) != 0) {
        log_warn("[%s] its previous run is still stopping: it starts once that one ended", t->task->prefix);
        t->start_pending = 1;
        return;
    }
    worker_task_start(t);
}

static void group_assign(worker_group_t *g, const rd_kafka_topic_partition_list_t *parts)
{
    if (atomic_load(&g->w->stopping)) return; /* an assignment that comes while leaving */
    for (int i = 0; i < parts->cnt; i++) {
        set_owned(g, parts->elems[i].partition, 1);
        if (parts->elems[i].partition >= g->nparts) g->nparts = parts->elems[i].partition + 1;
    }
    each_task(g, parts, assign_one, NULL);
}

struct revoke {
    int lost, joining;
    int64_t deadline;
};

static void revoke_one(worker_group_t *g, task_rt_t *t, void *arg)
{
    struct revoke *r = arg;
    if (!t->assigned) return;
    if (r->joining) {
        if (worker_task_join(t, r->deadline) != 0)
            log_error("[%s] did not stop within shutdown.timeout after its revocation: it may run on two workers "
                      "until it does", t->task->prefix);
        t->assigned = 0;
        return;
    }
    if (t->thread_started)
        log_info("[%s] task %s: stopping it here", t->task->prefix,
                 r->lost ? "lost (this worker was out of the group for longer than group.session.timeout)"
                         : "revoked from this worker");
    /* Lost: another worker owns it already; it stops at once and stores
     * nothing (source.c). */
    if (r->lost) atomic_store(&t->lost, 1);
    t->start_pending = 0;
    worker_task_request_stop(t, r->lost ? clock_ms() + 1000 : r->deadline);
    (void)g;
}

static void group_revoke(worker_group_t *g, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    int64_t timeout = g->w->wc->shutdown_timeout_ms > 0 ? g->w->wc->shutdown_timeout_ms : 30000;
    struct revoke r = {.lost = lost, .deadline = clock_ms() + timeout};
    for (int i = 0; i < parts->cnt; i++) set_owned(g, parts->elems[i].partition, 0);
    /* All of them stop at once, then they are waited for. */
    each_task(g, parts, revoke_one, &r);
    r.joining = 1;
    each_task(g, parts, revoke_one, &r);
}

static void group_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e, rd_kafka_topic_partition_list_t *parts,
                               void *opaque)
{
    worker_group_t *g = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
        group_assign(g, parts);
    } else {
        group_revoke(g, parts, rd_kafka_assignment_lost(rk));
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (error) {
        log_warn("group %s: %s", g->w->wc->group_id, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen)
{
    char rderr[256];
    if (rd_kafka_conf_set(conf, k, v, rderr, sizeof(rderr)) == RD_KAFKA_CONF_OK) return 0;
    snprintf(err, errlen, "group consumer: %s=%s: %s", k, v, rderr);
    return -1;
}

worker_group_t *group_new(worker_t *w, char *err, size_t errlen)
{
    const worker_config_t *wc = w->wc;
    worker_group_t *g = xcalloc(1, sizeof(*g));
    g->w = w;
    g->topic = str_dup(wc->tasks_topic);
    int nslots = 0, ntasks = 0; /* one past the highest slot */
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->nslots; j++) {
            if (w->conns[i]->slots[j] >= nslots) nslots = w->conns[i]->slots[j] + 1;
            ntasks++;
        }
    int parts = kafka_ensure_topic(w->kenv, g->topic, nslots ? nslots : 1, wc->offsets_replication, 0, err, errlen);
    if (parts < 0) goto fail;
    if (parts < nslots && kafka_topic_grow(w->kenv, g->topic, nslots, err, errlen) == 0) parts = nslots;
    if (parts < nslots) {
        snprintf(err, errlen,
                 "tasks topic '%s' has %d partition(s), but the connectors' source tasks use %d: add "
                 "partitions (kafka-topics.sh --alter --partitions %d) or name a new worker.tasks.topic",
                 g->topic, parts, nslots, nslots);
        goto fail;
    }
    g->nparts = parts;
    rd_kafka_conf_t *conf = kafka_conf_new(w->kenv, KAFKA_CONSUMER, NULL, NULL, 0, err, errlen);
    if (!conf) goto fail;
    char client_id[300], session[32], heartbeat[32];
    char host[128] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(client_id, sizeof(client_id), "ferry-worker-%s-%ld", host, (long)getpid());
    snprintf(session, sizeof(session), "%lld", (long long)wc->group_session_ms);
    snprintf(heartbeat, sizeof(heartbeat), "%lld", (long long)(wc->group_session_ms / 3));
    if (conf_set(conf, "group.id", wc->group_id, err, errlen) ||
        conf_set(conf, "client.id", client_id, err, errlen) ||
        conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err, errlen) ||
        conf_set(conf, "session.timeout.ms", session, err, errlen) ||
        conf_set(conf, "heartbeat.interval.ms", heartbeat, err, errlen) ||
        conf_set(conf, "enable.auto.commit", "false", err, errlen) ||
        conf_set(conf, "auto.offset.reset", "latest", err, errlen) ||
        /* Partitions added for new connectors (cluster.c) are seen soon. */
        conf_set(conf, "topic.metadata.refresh.interval.ms", "3000", err, errlen) ||
        conf_set(conf, "allow.auto.create.topics", "false", err, errlen)) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    rd_kafka_conf_set_rebalance_cb(conf, group_rebalance_cb);
    rd_kafka_conf_set_opaque(conf, g);
    char rderr[512];
    g->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr, sizeof(rderr));
    if (!g->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "group consumer: %s", rderr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(g->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, g->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(g->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errlen, "group %s: subscribe to '%s': %s", wc->group_id, g->topic, rd_kafka_err2str(e));
        goto fail;
    }
    log_info("group %s: joining with %d source task(s) to divide (tasks topic %s, %d partitions)", wc->group_id,
             ntasks, g->topic, parts);
    return g;
fail:
    group_free(g);
    return NULL;
}

int group_partitions(worker_group_t *g, int n)
{
    char err[512];
    int parts = kafka_ensure_topic(g->w->kenv, g->topic, 1, g->w->wc->offsets_replication, 0, err, sizeof(err));
    if (parts > g->nparts) g->nparts = parts;
    if (n > g->nparts) {
        if (kafka_topic_grow(g->w->kenv, g->topic, n, err, sizeof(err)) == 0)
            g->nparts = n;
        else
            log_warn("group %s: %s: new tasks share partitions with others", g->w->wc->group_id, err);
    }
    return g->nparts;
}

void group_poll(worker_group_t *g)
{
    if (!g || !g->rk) return;
    /* Nothing is ever produced to the tasks topic; a message here is an
     * error event (or someone else's record, ignored). */
    for (int i = 0; i < 100; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(g->rk, 0);
        if (!m) break;
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            log_warn("group %s: %s", g->w->wc->group_id, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
}

void group_leave(worker_group_t *g)
{
    if (!g || !g->rk) return;
    /* Revokes what is left (the tasks are stopped already) and leaves the
     * group at once, so the others take the tasks over without waiting for
     * the session timeout. */
    rd_kafka_consumer_close(g->rk);
    rd_kafka_destroy(g->rk);
    g->rk = NULL;
}

void group_free(worker_group_t *g)
{
    if (!g) return;
    group_leave(g);
    free(g->owned);
    free(g->topic);
    free(g);
}
