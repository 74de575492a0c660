/*
 * group.c — distributed mode: workers of one worker.group.id divide the
 * source tasks between them through Kafka's own group membership.
 *
 * Each source task (in the order of the configuration: connectors as
 * written, their tasks 0..n-1) is one partition of the tasks topic. Every
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
    task_rt_t **slots; /* not owned: partition i → task */
    int nslots;
};

static task_rt_t *slot_task(const worker_group_t *g, int32_t partition)
{
    return partition >= 0 && partition < g->nslots ? g->slots[partition] : NULL;
}

static void group_assign(worker_group_t *g, const rd_kafka_topic_partition_list_t *parts)
{
    if (atomic_load(&g->w->stopping)) return; /* an assignment that comes while leaving */
    for (int i = 0; i < parts->cnt; i++) {
        task_rt_t *t = slot_task(g, parts->elems[i].partition);
        if (!t || t->assigned) continue;
        log_info("[%s] task assigned to this worker (group %s, partition %d)", t->task->prefix, g->w->wc->group_id,
                 (int)parts->elems[i].partition);
        t->assigned = 1;
        t->restarts = 0;
        t->restart_at_ms = 0;
        /* Its last run here may still be stopping (it missed the revocation's
         * deadline): it starts once that one has ended (worker_supervise). */
        if (worker_task_join(t, clock_ms()) != 0) {
            log_warn("[%s] its previous run is still stopping: it starts once that one ended", t->task->prefix);
            t->start_pending = 1;
            continue;
        }
        worker_task_start(t);
    }
}

static void group_revoke(worker_group_t *g, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    int64_t timeout = g->w->wc->shutdown_timeout_ms > 0 ? g->w->wc->shutdown_timeout_ms : 30000;
    int64_t deadline = clock_ms() + timeout;
    /* All of them stop at once, then they are waited for. */
    for (int i = 0; i < parts->cnt; i++) {
        task_rt_t *t = slot_task(g, parts->elems[i].partition);
        if (!t || !t->assigned) continue;
        if (t->thread_started)
            log_info("[%s] task %s: stopping it here", t->task->prefix,
                     lost ? "lost (this worker was out of the group for longer than group.session.timeout)"
                          : "revoked from this worker");
        /* Lost: another worker owns it already; it stops at once and stores
         * nothing (source.c). */
        if (lost) atomic_store(&t->lost, 1);
        t->start_pending = 0;
        worker_task_request_stop(t, lost ? clock_ms() + 1000 : deadline);
    }
    for (int i = 0; i < parts->cnt; i++) {
        task_rt_t *t = slot_task(g, parts->elems[i].partition);
        if (!t || !t->assigned) continue;
        if (worker_task_join(t, deadline) != 0)
            log_error("[%s] did not stop within shutdown.timeout after its revocation: it may run on two workers "
                      "until it does", t->task->prefix);
        t->assigned = 0;
    }
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
    for (size_t i = 0; i < w->nconns; i++)
        if (w->conns[i]->desc->kind == FERRY_SOURCE) g->nslots += w->conns[i]->ntasks;
    g->slots = xcalloc((size_t)(g->nslots ? g->nslots : 1), sizeof(*g->slots));
    int n = 0;
    for (size_t i = 0; i < w->nconns; i++)
        if (w->conns[i]->desc->kind == FERRY_SOURCE)
            for (int j = 0; j < w->conns[i]->ntasks; j++) g->slots[n++] = &w->conns[i]->tasks[j];
    if (g->nslots == 0) return g; /* sinks only: nothing to divide */

    int parts = kafka_ensure_topic(w->kenv, g->topic, g->nslots, wc->offsets_replication, 0, err, errlen);
    if (parts < 0) goto fail;
    if (parts < g->nslots) {
        snprintf(err, errlen,
                 "tasks topic '%s' has %d partition(s), but the connectors define %d source task(s): add "
                 "partitions (kafka-topics.sh --alter --partitions %d) or name a new worker.tasks.topic",
                 g->topic, parts, g->nslots, g->nslots);
        goto fail;
    }
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
    log_info("group %s: joining with %d source task(s) to divide (tasks topic %s)", wc->group_id, g->nslots,
             g->topic);
    return g;
fail:
    group_free(g);
    return NULL;
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
    free(g->slots);
    free(g->topic);
    free(g);
}
