/*
 * conn.c — a connector's life on this worker: its tasks, built from the
 * plugin's task_configs; what must exist before they start; and changes
 * (a new config, STOPPED, deletion), which wait until every task of the
 * connector has stopped and then take effect at once. Main thread.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"
#include "transform/transform.h"
#include "util/topic_name.h"

/* ---- tasks ------------------------------------------------------------------------------ */

/* Keys a task_configs() may set per task: anything but what the runtime
 * owns, which the user's config (and its allow-lists) decides. */
static const char *taskset_key_problem(const char *key)
{
    static const char *const owned[] = {"connector", "connector.class", "tasks.max", NULL};
    for (const char *const *o = owned; *o; o++)
        if (strcmp(key, *o) == 0) return "is set by the runtime";
    if (strncmp(key, "errors.", 7) == 0) return "is an error-policy option, set by the user only";
    if (strncmp(key, "producer.override.", 18) == 0 || strncmp(key, "consumer.override.", 18) == 0)
        return "is a Kafka client override, set by the user only (and allow-listed)";
    return NULL;
}

/* The task set of a config: task_configs' answer, checked; or, without
 * task_configs, one task for a source and tasks.max for a sink. */
static int conn_taskset(const char *name, const ferry_connector_t *desc, const ferry_config_t *cfg,
                        ferry_taskset_t *set, cfg_errors_t *errs)
{
    int tasks_max = (int)config_int(cfg, "tasks.max");
    memset(set, 0, sizeof(*set));
    set->max = tasks_max;
    if (!desc->task_configs) {
        /* Sinks run tasks.max identical members of one consumer group. */
        int n = desc->kind == FERRY_SINK ? tasks_max : 1;
        set->tasks = xcalloc((size_t)n, sizeof(*set->tasks));
        set->count = n;
        return 0;
    }
    ferry_error_t err = {{0}};
    ferry_status_t st = desc->task_configs(host_api(), cfg, tasks_max, set, &err);
    int bad = 0;
    if (st != FERRY_OK) {
        cfg_errors_add(errs, "connector %s: task_configs: %s", name, err.msg[0] ? err.msg : "failed");
        bad = 1;
    } else if (set->count == 0) {
        cfg_errors_add(errs, "connector %s: task_configs produced no task", name);
        bad = 1;
    }
    for (int i = 0; !bad && i < set->count; i++)
        for (size_t j = 0; j < set->tasks[i].count; j++) {
            const char *why = taskset_key_problem(set->tasks[i].keys[j]);
            if (!why) continue;
            cfg_errors_add(errs, "connector %s: task_configs set '%s' for task %d, which it may not: '%s' %s", name,
                           set->tasks[i].keys[j], i, set->tasks[i].keys[j], why);
            bad = 1;
        }
    if (bad) taskset_clear(set);
    return bad ? -1 : 0;
}

int conn_check_tasks(const char *name, const ferry_connector_t *desc, const ferry_config_t *cfg, cfg_errors_t *errs)
{
    ferry_taskset_t set;
    if (conn_taskset(name, desc, cfg, &set, errs) != 0) return -1;
    int n = set.count;
    taskset_clear(&set);
    return n;
}

int conn_task_count(const char *name, const ferry_connector_t *desc, const ferry_config_t *cfg)
{
    cfg_errors_t errs = {0};
    int n = conn_check_tasks(name, desc, cfg, &errs);
    cfg_errors_clear(&errs);
    return n;
}

int conn_build_tasks(conn_t *c, cfg_errors_t *errs)
{
    ferry_taskset_t set;
    if (conn_taskset(c->name, c->desc, c->cfg, &set, errs) != 0) return -1;
    c->ntasks = set.count;
    c->tasks = xcalloc((size_t)set.count, sizeof(task_rt_t));
    c->limit = rate_limit_new(c->cfg);
    for (int i = 0; i < set.count; i++) {
        task_rt_t *t = &c->tasks[i];
        t->conn = c;
        t->cfg = config_overlay(c->cfg, (const char *const *)set.tasks[i].keys,
                                (const char *const *)set.tasks[i].values, set.tasks[i].count);
        t->task = host_task_new(c->name, i, c->worker->offsets);
        t->task->offsets_lock = &c->worker->offsets_lock;
        t->task->cfg = t->cfg;
        errors_policy_init(&t->policy, t->cfg);
        atomic_init(&t->status, TASK_STARTING);
        atomic_init(&t->opened, 0);
        atomic_init(&t->done, 0);
        atomic_init(&t->records, 0);
        atomic_init(&t->dead_lettered, 0);
        atomic_init(&t->records_filtered, 0);
        atomic_init(&t->unclean, 0);
        atomic_init(&t->stopper_done, 0);
        atomic_init(&t->stop_deadline_ms, 0);
        atomic_init(&t->lost, 0);
        t->assigned = 1;
        pthread_mutex_init(&t->lock, NULL);
        pthread_mutex_init(&t->kstats.lock, NULL);
    }
    taskset_clear(&set);
    return 0;
}

/* 1 when every task has stopped (or never ran), its plugin stop() included. */
static int tasks_stopped(const conn_t *c)
{
    for (int j = 0; j < c->ntasks; j++) {
        const task_rt_t *t = &c->tasks[j];
        if (t->thread_started && !atomic_load(&t->done)) return 0;
        if (t->stopper_started && !atomic_load(&t->stopper_done)) return 0;
    }
    return 1;
}

void conn_free_tasks(conn_t *c)
{
    for (int j = 0; j < c->ntasks; j++) {
        task_rt_t *t = &c->tasks[j];
        /* done is a task thread's last store: the join returns at once. */
        worker_task_join(t, clock_ms() + 5000);
        config_free(t->cfg);
        host_task_free(t->task);
        pthread_mutex_destroy(&t->lock);
        engine_kstats_clear(&t->kstats);
        pthread_mutex_destroy(&t->kstats.lock);
    }
    free(c->tasks);
    c->tasks = NULL;
    c->ntasks = 0;
    rate_limit_free(c->limit);
    c->limit = NULL;
}

int conn_task_slot(const conn_t *c, int j) { return c->nslots ? c->slots[j % c->nslots] : -1; }

int conn_task_here(const task_rt_t *t)
{
    const conn_t *c = t->conn;
    if (!c->worker->wc->group_id || c->desc->kind != FERRY_SOURCE) return 1;
    return c->worker->group && group_owns(c->worker->group, conn_task_slot(c, (int)(t - c->tasks)));
}

void conn_start_tasks(conn_t *c)
{
    const char *group = c->worker->wc->group_id;
    for (int j = 0; j < c->ntasks; j++) {
        task_rt_t *t = &c->tasks[j];
        t->assigned = conn_task_here(t);
        if (!t->assigned) continue;
        if (group && c->desc->kind == FERRY_SOURCE)
            log_info("[%s] task assigned to this worker (group %s, partition %d)", t->task->prefix, group,
                     conn_task_slot(c, j));
        worker_task_start(t);
    }
}

/* ---- topics and start-up ---------------------------------------------------------------- */

int conn_check_topics(const worker_config_t *wc, const char *file, int line, int col, const char *name,
                      const ferry_config_t *cfg, const ferry_connector_t *desc, cfg_errors_t *errs)
{
    int bad = 0;
    char *label = str_printf("connector %s: ", name);
    const char *offsets = wc->offsets_store == OFFSETS_STORE_KAFKA ? wc->offsets_topic : NULL;
    const char *dlq = config_string(cfg, "errors.deadletterqueue.topic.name");
    const char *topic = desc->kind == FERRY_SOURCE ? config_string(cfg, "topic") : NULL;
    if (topic && *topic && topic_name_problem(topic)) {
        cfg_errors_add_at(errs, file, line, col, label, "option 'topic': not a valid topic name: %s",
                          topic_name_problem(topic));
        bad = 1;
    }
    if (offsets && topic && strcmp(topic, offsets) == 0) {
        cfg_errors_add_at(errs, file, line, col, label,
                          "option 'topic' names the offsets topic '%s', which only the runtime writes", offsets);
        bad = 1;
    }
    const char *unmet = desc->kind == FERRY_SOURCE && source_txn_required(cfg) ? source_txn_unmet(wc, 0) : NULL;
    if (unmet) {
        cfg_errors_add_at(errs, file, line, col, label, "exactly.once.support is required, but %s", unmet);
        bad = 1;
    }
    if (offsets && dlq && strcmp(dlq, offsets) == 0) {
        cfg_errors_add_at(errs, file, line, col, label,
                          "errors.deadletterqueue.topic.name names the offsets topic '%s', which only the runtime "
                          "writes", offsets);
        bad = 1;
    }
    /* Transforms, predicates and converters (their options are free-form
     * keys until here). */
    cfg_errors_t xf_errs = {0};
    if (xf_chain_check(name, cfg, desc->kind == FERRY_SINK, &xf_errs) != 0) bad = 1;
    for (size_t i = 0; i < xf_errs.count; i++) /* at the connector's place in the file */
        cfg_errors_add_at(errs, file, line, col, NULL, "%s", xf_errs.items[i]);
    cfg_errors_clear(&xf_errs);
    static const char *const convs[] = {"key.converter", "value.converter"};
    for (size_t i = 0; i < 2; i++) {
        xf_converter_t c;
        char why[512];
        if (xf_converter_from_config(cfg, convs[i], &c, why, sizeof(why)) != 0) {
            cfg_errors_add_at(errs, file, line, col, label, "%s", why);
            bad = 1;
        }
    }
    const char *hc = config_string(cfg, "header.converter");
    if (hc && *hc && strcmp(hc, "simple") != 0 && strcmp(hc, "org.apache.kafka.connect.storage.SimpleHeaderConverter") != 0) {
        cfg_errors_add_at(errs, file, line, col, label,
                          "option 'header.converter': '%s' is not supported: header values are written and read as "
                          "Connect's SimpleHeaderConverter does (text as it is, numbers and booleans as text, "
                          "structures as JSON); set it to simple or "
                          "org.apache.kafka.connect.storage.SimpleHeaderConverter, or leave it out", hc);
        bad = 1;
    }
    free(label);
    return bad ? -1 : 0;
}

/* Reads the offsets topic once, when the first source connector needs it. */
int conn_offsets_ready(worker_t *w, char *err, size_t errlen)
{
    if (w->offsets_loaded) return 0;
    const worker_config_t *wc = w->wc;
    char why[512];
    w->offsets_partitions = kafka_ensure_topic(w->kenv, wc->offsets_topic, wc->offsets_partitions,
                                               wc->offsets_replication, 1, why, sizeof(why));
    if (w->offsets_partitions < 1) {
        snprintf(err, errlen, "offsets topic: %s", why);
        return -1;
    }
    rd_kafka_conf_t *conf = kafka_conf_new(w->kenv, KAFKA_CONSUMER, NULL, NULL, 0, why, sizeof(why));
    pthread_mutex_lock(&w->offsets_lock);
    int rc = conf ? offsets_kafka_load(conf, wc->offsets_topic, w->offsets, 30000, why, sizeof(why)) : -1;
    size_t stored = offset_map_count(w->offsets);
    pthread_mutex_unlock(&w->offsets_lock);
    if (rc != 0) {
        snprintf(err, errlen, "offsets topic '%s': %s", wc->offsets_topic, why);
        return -1;
    }
    log_info("offsets: topic %s (%d partitions, %zu stored)", wc->offsets_topic, w->offsets_partitions, stored);
    w->offsets_loaded = 1;
    return 0;
}

int conn_prepare(conn_t *c, char *err, size_t errlen)
{
    worker_t *w = c->worker;
    char why[512];
    if (c->desc->kind == FERRY_SOURCE && conn_offsets_ready(w, err, errlen) != 0) return -1;
    /* Sink topics on the embedded broker are created up front so that
     * consumers find them; elsewhere they are the operator's business (or
     * auto-created). */
    if (c->desc->kind == FERRY_SINK && kafka_env_is_embedded(w->kenv)) {
        const char *const *topics = NULL;
        size_t n = config_list(c->cfg, "topics", &topics);
        for (size_t j = 0; j < n; j++) kafka_ensure_topic(w->kenv, topics[j], 4, 1, 0, why, sizeof(why));
    }
    /* exactly.once.support: required that this setup cannot meet stops the
     * connector, as one Kafka Connect refuses to create. */
    if (c->desc->kind == FERRY_SOURCE && c->ntasks && source_txn_required(c->cfg) &&
        source_txn_wanted(&c->tasks[0], why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    /* Dead-letter topics are created up front (Connect does the same), with
     * the configured replication factor; a failure is only a warning, since
     * the broker may auto-create them. */
    const task_rt_t *t = c->ntasks ? &c->tasks[0] : NULL;
    if (t && t->policy.tolerate_all && t->policy.dlq_topic &&
        kafka_ensure_topic(w->kenv, t->policy.dlq_topic, 1, t->policy.dlq_replication, 0, why, sizeof(why)) < 0)
        log_warn("[%s] dead-letter topic: %s", c->name, why);
    return 0;
}

/* ---- the connector list ---------------------------------------------------------------- */

conn_t *conn_add(worker_t *w, const char *name, const ferry_connector_t *desc, ferry_config_t *cfg)
{
    if (w->nconns == w->conns_cap) {
        w->conns_cap = w->conns_cap ? w->conns_cap * 2 : 8;
        w->conns = xrealloc(w->conns, w->conns_cap * sizeof(*w->conns));
    }
    conn_t *c = xcalloc(1, sizeof(*c));
    c->name = str_dup(name);
    c->desc = desc;
    c->cfg = cfg;
    c->worker = w;
    atomic_init(&c->paused, 0);
    w->conns[w->nconns++] = c;
    return c;
}

conn_t *conn_find(worker_t *w, const char *name)
{
    for (size_t i = 0; i < w->nconns; i++)
        if (!w->conns[i]->deleting && strcmp(w->conns[i]->name, name) == 0) return w->conns[i];
    return NULL;
}

void conn_remove(worker_t *w, conn_t *c)
{
    for (size_t i = 0; i < w->nconns; i++)
        if (w->conns[i] == c) {
            memmove(&w->conns[i], &w->conns[i + 1], (w->nconns - i - 1) * sizeof(*w->conns));
            w->nconns--;
            break;
        }
    conn_free(c);
}

void conn_reset(conn_t *c, const ferry_connector_t *desc, ferry_config_t *cfg, json_t *stored)
{
    conn_free_tasks(c);
    config_free(c->cfg);
    json_decref(c->stored);
    c->desc = desc;
    c->cfg = cfg;
    c->stored = stored;
    cfg_errors_t errs = {0};
    c->error[0] = '\0';
    if (conn_build_tasks(c, &errs) != 0)
        snprintf(c->error, sizeof(c->error), "%s", errs.count ? errs.items[0] : "task_configs failed");
    cfg_errors_clear(&errs);
}

uint64_t conn_config_hash(const ferry_config_t *cfg)
{
    char *text = config_to_json(cfg, 1);
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = text; p && *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    free(text);
    return h ? h : 1;
}

/* The values of a JSON object of scalars as strings ("name" left out);
 * -1 with an error when one is an object or an array. */
static int config_strings(json_t *config, const char *name, const char ***keys, char ***values, size_t *n,
                          cfg_errors_t *errs)
{
    size_t cap = json_object_size(config);
    *keys = xcalloc(cap + 1, sizeof(**keys));
    *values = xcalloc(cap + 1, sizeof(**values));
    *n = 0;
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach(config, k, v) {
        char *s = NULL;
        if (strcmp(k, "name") == 0) {
            if (!json_is_string(v) || strcmp(json_string_value(v), name) != 0) {
                cfg_errors_add(errs, "connector %s: option 'name' must be the connector's name, '%s'", name, name);
                bad = 1;
            }
            continue;
        }
        if (json_is_string(v))
            s = str_dup(json_string_value(v));
        else if (json_is_integer(v))
            s = str_printf("%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            s = str_printf("%.17g", json_real_value(v));
        else if (json_is_boolean(v))
            s = str_dup(json_is_true(v) ? "true" : "false");
        else if (!json_is_null(v)) {
            char *key = str_elide_middle(k, CFG_SHOWN_MAX);
            cfg_errors_add(errs, "connector %s: option '%s': the value must be a string", name, key);
            free(key);
            bad = 1;
            continue;
        }
        (*keys)[*n] = k;
        (*values)[(*n)++] = s;
    }
    return bad ? -1 : 0;
}

/* Why a value from an untrusted source is refused, or NULL. Any option may
 * be a regular expression (topics.regex, postgres-cdc's table lists), and
 * glibc's regcomp can spend seconds and gigabytes on a short pattern with
 * large or nested bounded repeats ({n}, {n,m}, {,m}): REST configs keep
 * every repeat count at 100 at most and their product at 10,000. */
static const char *untrusted_value_problem(const char *v)
{
    if (strlen(v) > 4096) return "more than 4096 characters";
    double product = 1;
    for (const char *p = v; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p != '{') continue;
        const char *q = p + 1;
        char *end = NULL;
        long lo = 0, hi;
        if (*q >= '0' && *q <= '9') lo = strtol(q, &end, 10), q = end;
        else if (*q != ',') continue; /* not a repeat: a literal brace */
        hi = lo;
        if (*q == ',') {
            q++;
            hi = *q >= '0' && *q <= '9' ? strtol(q, &end, 10) : lo;
            if (*q >= '0' && *q <= '9') q = end;
        }
        if (*q != '}') continue;
        if (lo > 100 || hi > 100) return "a repeat count over 100";
        product *= (double)(hi > 1 ? hi : 1);
        if (product > 10000) return "bounded repeats whose counts multiply to more than 10,000";
    }
    return NULL;
}

ferry_config_t *conn_config_from_json(const worker_config_t *wc, const plugin_registry_t *reg, const char *name,
                                      json_t *config, const ferry_connector_t **desc, cfg_errors_t *errs)
{
    size_t before = errs->count;
    *desc = NULL;
    const char *cls = json_string_value(json_object_get(config, "connector.class"));
    if (!cls) cls = json_string_value(json_object_get(config, "connector"));
    if (!cls) {
        cfg_errors_add(errs, "connector %s: missing required option 'connector.class'", name);
        return NULL;
    }
    *desc = plugin_registry_find(reg, cls, NULL);
    if (!*desc) {
        const char *const *names = NULL;
        size_t nn = plugin_registry_names(reg, &names);
        const char *dym = config_did_you_mean(cls, names, nn);
        char *shown = str_elide_middle(cls, CFG_SHOWN_MAX);
        cfg_errors_add(errs, "connector %s: option 'connector.class': unknown connector '%s'%s%s%s", name, shown,
                       dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : " (see GET /connector-plugins)");
        free(shown);
        return NULL;
    }
    const char **keys;
    char **values;
    size_t n;
    ferry_config_t *cfg = NULL;
    int *subst = NULL;
    if (config_strings(config, name, &keys, &values, &n, errs) == 0) {
        /* An untrusted source: ${env:}/${file:} only as the worker's
         * config.providers options allow. */
        cfg_subst_ctx_t sub = {.policy = wc->subst_policy, .trusted = 0};
        subst = xcalloc(n + 1, sizeof(*subst));
        for (size_t i = 0; i < n; i++) {
            if (!values[i]) continue;
            char *where = str_printf("connector %s: option '%s'", name, keys[i]);
            char *s = cfg_subst_string(&sub, values[i], where, 0, 0, &subst[i], errs);
            free(where);
            if (!s) continue;
            free(values[i]);
            values[i] = s;
        }
        for (size_t i = 0; i < n; i++) {
            const char *why = values[i] ? untrusted_value_problem(values[i]) : NULL;
            if (why) cfg_errors_add(errs, "connector %s: option '%s': a value from the REST API may not have %s "
                                    "(it may be a regular expression)", name, keys[i], why);
        }
        if (errs->count == before)
            cfg = connector_config_from_kv(name, keys, (const char *const *)values, subst, n, *desc, host_api(),
                                           errs);
    }
    for (size_t i = 0; i < n; i++) free(values[i]);
    free(values);
    free((void *)keys);
    free(subst);
    if (cfg && conn_check_topics(wc, NULL, 0, 0, name, cfg, *desc, errs) == 0) conn_check_tasks(name, *desc, cfg, errs);
    if (errs->count > before) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

void conn_free(conn_t *c)
{
    if (!c) return;
    conn_free_tasks(c);
    free(c->slots);
    json_decref(c->next_slots);
    config_free(c->cfg);
    config_free(c->next_cfg);
    json_decref(c->stored);
    json_decref(c->next_stored);
    free(c->name);
    free(c);
}

conn_t *conn_change(worker_t *w, conn_t *c, const char *name, const ferry_connector_t *desc, ferry_config_t *cfg,
                    json_t *given)
{
    if (!c) {
        c = conn_add(w, name, desc, cfg);
        c->stored = given;
        c->relaunch = 1;
        return c;
    }
    config_free(c->next_cfg);
    json_decref(c->next_stored);
    c->next_cfg = cfg;
    c->next_desc = desc;
    c->next_stored = given;
    return c;
}

void conn_set_target(conn_t *c, conn_target_t target)
{
    conn_target_t old = c->target;
    c->target = target;
    if (atomic_exchange(&c->paused, target == CONN_PAUSED) != (target == CONN_PAUSED) || old != target)
        log_info("[%s] %s", c->name,
                 target == CONN_PAUSED    ? "paused: its tasks neither poll nor put until resumed"
                 : target == CONN_STOPPED ? "stopping: its tasks stop until resumed"
                                          : "resumed");
    if (old == CONN_STOPPED && target != CONN_STOPPED) c->relaunch = 1;
}

/* Builds, prepares and starts the tasks of c's current config; a failure
 * leaves it without tasks, FAILED with the reason. */
static void conn_launch(conn_t *c)
{
    cfg_errors_t errs = {0};
    char err[512];
    c->error[0] = '\0';
    if (conn_build_tasks(c, &errs) != 0) {
        snprintf(c->error, sizeof(c->error), "%s", errs.count ? errs.items[0] : "task_configs failed");
        cfg_errors_clear(&errs);
        log_error("[%s] %s", c->name, c->error);
        return;
    }
    if (conn_prepare(c, err, sizeof(err)) != 0) {
        snprintf(c->error, sizeof(c->error), "%s", err);
        log_error("[%s] %s", c->name, c->error);
        conn_free_tasks(c);
        return;
    }
    log_info("[%s] starting %s connector '%s' with %d task(s)", c->name,
             c->desc->kind == FERRY_SOURCE ? "source" : "sink", c->desc->name, c->ntasks);
    conn_start_tasks(c);
}

int conn_settle(worker_t *w, conn_t *c)
{
    int change = c->deleting || c->next_cfg || c->target == CONN_STOPPED || c->stop_asked_ms;
    if (!change) {
        /* Resumed from STOPPED: its tasks come back. */
        if (c->ntasks == 0 && c->relaunch) {
            c->relaunch = 0;
            conn_launch(c);
        }
        return 0;
    }
    if (c->ntasks) {
        if (!c->stop_asked_ms) {
            int64_t timeout = w->wc->shutdown_timeout_ms > 0 ? w->wc->shutdown_timeout_ms : 30000;
            c->stop_asked_ms = clock_ms();
            for (int j = 0; j < c->ntasks; j++)
                if (c->tasks[j].thread_started && !atomic_load(&c->tasks[j].done))
                    worker_task_request_stop(&c->tasks[j], c->stop_asked_ms + timeout);
        }
        if (!tasks_stopped(c)) return 0;
        for (int j = 0; j < c->ntasks; j++)
            if (atomic_load(&c->tasks[j].unclean)) {
                /* Remembered for the exit code, as at shutdown. */
                log_error("[%s] not stopped cleanly: %s", c->tasks[j].task->prefix, c->tasks[j].unclean_note);
                w->unclean_changes++;
            }
        cluster_tasks_gone(w, c);
        conn_free_tasks(c);
        if (!c->deleting && !c->next_cfg && c->target == CONN_STOPPED)
            log_info("[%s] stopped: no tasks until resumed", c->name);
    }
    c->stop_asked_ms = 0;
    if (c->deleting) {
        log_info("[%s] deleted", c->name);
        char *name = str_dup(c->name);
        conn_remove(w, c);
        cluster_unpark(w, name); /* created again meanwhile (distributed mode) */
        free(name);
        return 1;
    }
    if (c->next_cfg) {
        cluster_take_slots(c, c->next_slots); /* no tasks now: taken at once */
        json_decref(c->next_slots);
        c->next_slots = NULL;
        config_free(c->cfg);
        c->cfg = c->next_cfg;
        c->desc = c->next_desc;
        c->next_cfg = NULL;
        json_decref(c->stored);
        c->stored = c->next_stored;
        c->next_stored = NULL;
        c->error[0] = '\0';
        log_info("[%s] new configuration%s", c->name, c->target == CONN_STOPPED ? " (stays STOPPED)" : "");
    }
    if (c->target != CONN_STOPPED) {
        c->relaunch = 0;
        conn_launch(c);
    }
    return 0;
}
