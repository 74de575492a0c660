/*
 * cluster.c — distributed mode (worker.group.id), the REST API's side.
 *
 * Every worker of the group follows the config topic (conn_store.c), so a
 * connector created, changed, paused, stopped, deleted or restarted over
 * the REST API of any worker is carried out by all of them; and each
 * worker publishes there the states of the tasks it runs, so that any of
 * them answers for every task.
 *
 * Where a source task runs is its slot, a partition of the tasks topic
 * (group.c). The YAML file's tasks have the first slots, in file order, on
 * every worker alike. A connector created over REST gets free ones from the
 * worker that answered, written in its record ("slots"), so that all
 * workers agree without asking each other; when none is free that worker
 * grows the topic (CreatePartitions), and where it cannot (librdkafka's
 * mock broker) the new task shares the least used partition.
 *
 * Records of the config topic besides "connector-NAME":
 *   status-task-NAME-J  {"state", "worker_id", "version", "trace", "member",
 *                       "at"}: from the worker that runs (or last ran) task J,
 *                       on every change and every 20 s
 *   restart-NAME        {"task": J or -1, "include_tasks", "only_failed",
 *                       "member", "seq"}: carried out by every other worker
 *                       for the tasks it runs
 * "member" tells workers apart (host, process, a random number): REST
 * addresses may be alike (sidecars all on 127.0.0.1:8083).
 *
 * Main thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"

#define STATUS_PREFIX "status-task-"
#define RESTART_PREFIX "restart-"
#define CLUSTER_REPUBLISH_MS 20000 /* a worker publishes its tasks' states at least this often */
#define CLUSTER_STALE_MS 60000     /* and one that has not for this long is taken for gone */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- slots ------------------------------------------------------------------------------ */

void cluster_yaml_slots(worker_t *w)
{
    if (!w->wc->group_id) return;
    int k = 0;
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = w->conns[i];
        if (c->desc->kind != FERRY_SOURCE || !c->ntasks) continue;
        free(c->slots);
        c->slots = xcalloc((size_t)c->ntasks, sizeof(*c->slots));
        c->nslots = c->ntasks;
        for (int j = 0; j < c->ntasks; j++) c->slots[j] = k++;
    }
}

void cluster_take_slots(conn_t *c, const json_t *slots)
{
    size_t n = json_array_size(slots);
    if (!n) return;
    if (c->ntasks && c->next_cfg) {
        /* Its tasks still run on the old slots: the new ones come with the
         * new config (conn_settle). */
        json_decref(c->next_slots);
        c->next_slots = json_incref((json_t *)slots);
        return;
    }
    int *s = xcalloc(n, sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        json_int_t v = json_integer_value(json_array_get(slots, i));
        s[i] = v >= 0 && v < 1000000 ? (int)v : 0;
    }
    free(c->slots);
    c->slots = s;
    c->nslots = (int)n;
}

json_t *cluster_slots_json(const conn_t *c)
{
    json_t *a = json_array();
    for (int i = 0; i < c->nslots; i++) json_array_append_new(a, json_integer(c->slots[i]));
    return a;
}

/* The slot least used (the lowest of those), among partitions 0..nparts-1. */
static int least_used(const int *uses, int nparts)
{
    int best = 0;
    for (int p = 1; p < nparts; p++)
        if (uses[p] < uses[best]) best = p;
    return best;
}

void cluster_record_slots(worker_t *w, conn_t *c, const ferry_connector_t *desc, const ferry_config_t *cfg,
                          json_t *rec)
{
    if (!w->group) return;
    int n = conn_task_count(c ? c->name : "new", desc, cfg);
    if (n < 1) return;
    int keep = c ? (c->nslots < n ? c->nslots : n) : 0;
    json_t *slots = json_array();
    for (int j = 0; j < keep; j++) json_array_append_new(slots, json_integer(c->slots[j]));
    if (keep < n) {
        int nparts = group_partitions(w->group, 0);
        int *uses = xcalloc((size_t)nparts + (size_t)n, sizeof(*uses));
        for (size_t i = 0; i < w->nconns; i++) {
            const conn_t *o = w->conns[i];
            if (o->deleting) continue;
            for (int j = 0; j < (o == c ? keep : o->nslots); j++)
                if (o->slots[j] < nparts) uses[o->slots[j]]++;
        }
        int free_slots = 0;
        for (int p = 0; p < nparts; p++) free_slots += uses[p] == 0;
        if (free_slots < n - keep) {
            int grown = group_partitions(w->group, nparts + (n - keep - free_slots));
            if (grown > nparts) nparts = grown; /* the new ones are free */
        }
        for (int j = keep; j < n; j++) {
            int p = 0;
            while (p < nparts && uses[p]) p++;
            if (p == nparts) p = least_used(uses, nparts);
            uses[p]++;
            json_array_append_new(slots, json_integer(p));
        }
        free(uses);
    }
    json_object_set_new(rec, "slots", slots);
}

/* ---- what the other workers wrote ------------------------------------------------------- */

static conn_target_t target_of(const json_t *rec)
{
    const char *t = json_string_value(json_object_get(rec, "target"));
    return t && strcmp(t, "STOPPED") == 0 ? CONN_STOPPED : t && strcmp(t, "PAUSED") == 0 ? CONN_PAUSED : CONN_STARTED;
}

void cluster_on_connector(worker_t *w, const char *name, json_t *rec)
{
    for (size_t i = 0; i < w->nconns; i++)
        if (w->conns[i]->deleting && strcmp(w->conns[i]->name, name) == 0) {
            /* Its tasks are still stopping: what comes next waits for them
             * (cluster_unpark), or two instances would run at once. */
            json_object_set_new(w->parked, name, rec ? json_incref(rec) : json_null());
            return;
        }
    conn_t *c = conn_find(w, name);
    if (!rec || json_is_true(json_object_get(rec, "deleted"))) {
        if (c) {
            c->deleting = 1;
            log_info("[%s] deleted over the REST API of another worker: its tasks stop", name);
        }
        cluster_forget(w, name, 0);
        return;
    }
    json_t *config = json_object_get(rec, "config");
    const json_t *current = c ? (c->next_stored ? c->next_stored : c->stored) : NULL;
    if (config && !(current && json_equal(config, (json_t *)current))) {
        cfg_errors_t errs = {0};
        const ferry_connector_t *desc = NULL;
        ferry_config_t *cfg = conn_config_from_json(w->wc, w->reg, name, config, &desc, &errs);
        if (cfg) {
            int created = !c;
            c = conn_change(w, c, name, desc, cfg, json_incref(config));
            if (created) c->yaml_hash = conn_store_yaml_hash(w->store, name);
            log_info(created ? "[%s] created over the REST API of another worker"
                             : "[%s] config changed over the REST API of another worker: its tasks restart with it",
                     name);
        } else {
            /* Every worker of a group needs the same plugins and
             * config.providers; a connector known here keeps its config,
             * and follows pause, resume and stop. */
            log_error("[%s] another worker stored a config that is not valid on this one (are its plugins or "
                      "config.providers different?): %s", name, errs.count ? errs.items[0] : "?");
            cfg_errors_clear(&errs);
        }
    }
    if (!c) return;
    cluster_take_slots(c, json_object_get(rec, "slots"));
    conn_set_target(c, target_of(rec));
}

void cluster_unpark(worker_t *w, const char *name)
{
    json_t *rec = json_incref(json_object_get(w->parked, name));
    if (!rec) return;
    json_object_del(w->parked, name);
    cluster_on_connector(w, name, json_is_null(rec) ? NULL : rec);
    json_decref(rec);
}

/* Splits "NAME-J" (NAME may hold '-'). 0, or -1. */
static int split_task_key(const char *key, size_t klen, char **name, int *task)
{
    const char *dash = NULL;
    for (size_t i = 0; i < klen; i++)
        if (key[i] == '-') dash = key + i;
    if (!dash || dash == key || dash + 1 == key + klen) return -1;
    char *end = NULL;
    char num[16];
    size_t nlen = (size_t)(key + klen - dash - 1);
    if (nlen >= sizeof(num)) return -1;
    memcpy(num, dash + 1, nlen);
    num[nlen] = '\0';
    long j = strtol(num, &end, 10);
    if (*end || j < 0 || j > 100000) return -1;
    *name = str_printf("%.*s", (int)(dash - key), key);
    *task = (int)j;
    return 0;
}

static void on_status(worker_t *w, const char *key, size_t klen, json_t *rec)
{
    char *name = NULL;
    int task = 0;
    if (split_task_key(key, klen, &name, &task) != 0) return;
    char id[16];
    snprintf(id, sizeof(id), "%d", task);
    json_t *tasks = json_object_get(w->statuses, name);
    if (rec && json_is_string(json_object_get(rec, "state")) && json_is_string(json_object_get(rec, "worker_id")) &&
        json_is_string(json_object_get(rec, "member"))) {
        if (!tasks) json_object_set_new(w->statuses, name, tasks = json_object());
        /* A worker that stopped running the task says so; if another one
         * runs it already, that one's state stands (the two producers'
         * records are in no particular order). */
        const json_t *old = json_object_get(tasks, id);
        const char *state = json_string_value(json_object_get(rec, "state"));
        const char *old_state = json_string_value(json_object_get(old, "state"));
        if (old && strcmp(state, "UNASSIGNED") == 0 && strcmp(old_state, "UNASSIGNED") != 0 &&
            !json_equal(json_object_get(old, "member"), json_object_get(rec, "member"))) {
            free(name);
            return;
        }
        json_object_set(tasks, id, rec);
    } else if (tasks) {
        json_object_del(tasks, id);
    }
    free(name);
}

static void on_restart(worker_t *w, const char *name, json_t *rec)
{
    const char *from = json_string_value(json_object_get(rec, "member"));
    if (!from || strcmp(from, w->member) == 0) return; /* its own: done when asked */
    json_int_t task = json_integer_value(json_object_get(rec, "task"));
    if (json_object_get(rec, "task") && task >= 0)
        admin_restart_here(w, name, (int)task, 0, 0);
    else
        admin_restart_here(w, name, -1, json_is_true(json_object_get(rec, "include_tasks")),
                           json_is_true(json_object_get(rec, "only_failed")));
}

void cluster_on_record(worker_t *w, const char *key, size_t klen, json_t *rec, int live)
{
    size_t sl = strlen(STATUS_PREFIX), rl = strlen(RESTART_PREFIX);
    if (klen > sl && memcmp(key, STATUS_PREFIX, sl) == 0) {
        on_status(w, key + sl, klen - sl, rec);
    } else if (klen > rl && memcmp(key, RESTART_PREFIX, rl) == 0 && live && rec) {
        /* Only those asked for while this worker runs: not old ones at start-up. */
        char *name = str_printf("%.*s", (int)(klen - rl), key + rl);
        on_restart(w, name, rec);
        free(name);
    }
}

/* ---- what this worker publishes ---------------------------------------------------------- */

static void publish(worker_t *w, const conn_t *c, int j, const char *state)
{
    const task_rt_t *t = &c->tasks[j];
    json_t *st = admin_task_status_here(w, t, j);
    json_object_del(st, "id");
    if (state) {
        json_object_set_new(st, "state", json_string(state));
        json_object_del(st, "trace");
    }
    json_object_set_new(st, "member", json_string(w->member));
    json_object_set_new(st, "at", json_integer(wall_ms()));
    char *key = str_printf(STATUS_PREFIX "%s-%d", c->name, j);
    conn_store_send(w->store, key, st);
    free(key);
    json_decref(st);
}

void cluster_publish(worker_t *w)
{
    if (!w->group || !w->store) return;
    /* Again every so often: a lost record is mended, and others can tell
     * a live worker's statuses from a dead one's ("at"). */
    int64_t now = clock_ms();
    int again = now - w->published_ms >= CLUSTER_REPUBLISH_MS;
    if (again) w->published_ms = now;
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = w->conns[i];
        /* Sinks run on every worker, each its own tasks: each shows its own. */
        if (c->deleting || c->desc->kind != FERRY_SOURCE) continue;
        for (int j = 0; j < c->ntasks; j++) {
            task_rt_t *t = &c->tasks[j];
            /* A task it no longer runs is UNASSIGNED here once: the new
             * owner's status follows (a revocation ends before the next
             * assignment begins). */
            const char *state = t->assigned ? admin_task_state(t) : t->published[0] ? "UNASSIGNED" : NULL;
            if (!state || (strcmp(state, t->published) == 0 && !(again && t->assigned))) continue;
            snprintf(t->published, sizeof(t->published), "%s", state);
            publish(w, c, j, NULL);
        }
    }
}

void cluster_tasks_gone(worker_t *w, conn_t *c)
{
    if (!w->group || !w->store || c->desc->kind != FERRY_SOURCE) return;
    for (int j = 0; j < c->ntasks; j++) {
        task_rt_t *t = &c->tasks[j];
        if (!t->published[0]) continue;
        if (c->deleting) { /* each worker erases what it published */
            char *key = str_printf(STATUS_PREFIX "%s-%d", c->name, j);
            conn_store_send(w->store, key, NULL);
            free(key);
        } else if (strcmp(t->published, "UNASSIGNED") != 0) {
            publish(w, c, j, "UNASSIGNED"); /* stopped here: its offsets are stored */
        }
        t->published[0] = '\0';
    }
}

int cluster_busy(const worker_t *w, const char *name, char *why, size_t whylen)
{
    const char *id;
    json_t *st;
    int64_t now = wall_ms();
    json_object_foreach(json_object_get(w->statuses, name), id, st) {
        const char *state = json_string_value(json_object_get(st, "state"));
        const char *from = json_string_value(json_object_get(st, "member"));
        int64_t at = json_integer_value(json_object_get(st, "at"));
        if (!state || !from || strcmp(from, w->member) == 0 || strcmp(state, "UNASSIGNED") == 0 ||
            strcmp(state, "FAILED") == 0)
            continue;
        if (at && now - at > CLUSTER_STALE_MS) continue; /* its worker has been silent: gone */
        snprintf(why, whylen, "task %s is still %s on worker %s", id, state,
                 json_string_value(json_object_get(st, "worker_id")));
        return 1;
    }
    return 0;
}

void cluster_restart(worker_t *w, const char *name, int task, int include_tasks, int only_failed)
{
    if (!w->group || !w->store) return;
    static int seq;
    json_t *rec = json_pack("{s:i, s:b, s:b, s:s, s:i}", "task", task, "include_tasks", include_tasks, "only_failed",
                            only_failed, "member", w->member, "seq", ++seq);
    char *key = str_printf(RESTART_PREFIX "%s", name);
    conn_store_send(w->store, key, rec);
    free(key);
    json_decref(rec);
}

void cluster_forget(worker_t *w, const char *name, int erase)
{
    json_t *tasks = json_object_get(w->statuses, name);
    const char *id;
    json_t *st;
    /* The worker that deleted it erases the statuses from the topic too. */
    if (erase && w->group && w->store)
        json_object_foreach(tasks, id, st) {
            char *key = str_printf(STATUS_PREFIX "%s-%s", name, id);
            conn_store_send(w->store, key, NULL);
            free(key);
        }
    json_object_del(w->statuses, name);
}

const json_t *cluster_status(const worker_t *w, const char *name, int j)
{
    char id[16];
    snprintf(id, sizeof(id), "%d", j);
    const json_t *st = json_object_get(json_object_get(w->statuses, name), id);
    const char *from = json_string_value(json_object_get(st, "member"));
    /* Its own, from before (a revocation): this worker knows better. */
    return from && strcmp(from, w->member) != 0 ? st : NULL;
}
