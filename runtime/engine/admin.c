/*
 * admin.c — worker_call, and the worker as Kafka Connect's REST API shows it.
 *
 * States are Connect's: a task is UNASSIGNED before its first start (and
 * when another worker runs it), RUNNING only while its loop runs,
 * RESTARTING while a failed task waits to start again, FAILED with its
 * error in "trace" (and FAILED for good after a FATAL error or when
 * restarts are off or used up).
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build_info.h"
#include "engine/admin.h"
#include "engine/engine_internal.h"
#include "util/log.h"
#include "util/strutil.h"

struct worker_call_req {
    worker_call_fn fn;
    void *arg;
    int state; /* 0 queued, 1 running, 2 done, -1 refused */
    struct worker_call_req *next;
};

static void abs_time(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts); /* calls_cond's clock */
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

static void calls_unlink(worker_t *w, struct worker_call_req *r)
{
    for (struct worker_call_req **p = &w->calls; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            return;
        }
}

int worker_call(worker_t *w, worker_call_fn fn, void *arg, int timeout_ms)
{
    struct worker_call_req r = {.fn = fn, .arg = arg};
    struct timespec until;
    abs_time(&until, timeout_ms);
    pthread_mutex_lock(&w->calls_lock);
    if (!w->calls_open) {
        pthread_mutex_unlock(&w->calls_lock);
        return -1;
    }
    struct worker_call_req **tail = &w->calls;
    while (*tail) tail = &(*tail)->next;
    *tail = &r;
    pthread_cond_broadcast(&w->calls_cond);
    while (r.state == 0 || r.state == 1) {
        if (r.state == 0 && pthread_cond_timedwait(&w->calls_cond, &w->calls_lock, &until) != 0 && r.state == 0) {
            calls_unlink(w, &r); /* never taken: give up */
            r.state = -1;
            break;
        }
        if (r.state == 1) pthread_cond_wait(&w->calls_cond, &w->calls_lock); /* taken: it uses arg, wait */
    }
    pthread_mutex_unlock(&w->calls_lock);
    return r.state == 2 ? 0 : -1;
}

void worker_calls_serve(worker_t *w, int wait_ms)
{
    struct timespec until;
    abs_time(&until, wait_ms);
    pthread_mutex_lock(&w->calls_lock);
    while (!w->calls && pthread_cond_timedwait(&w->calls_cond, &w->calls_lock, &until) == 0) {
    }
    while (w->calls) {
        struct worker_call_req *r = w->calls;
        w->calls = r->next;
        r->state = 1;
        pthread_mutex_unlock(&w->calls_lock);
        r->fn(w, r->arg);
        pthread_mutex_lock(&w->calls_lock);
        r->state = 2;
        pthread_cond_broadcast(&w->calls_cond);
    }
    pthread_mutex_unlock(&w->calls_lock);
}

void worker_calls_open(worker_t *w, int open)
{
    pthread_mutex_lock(&w->calls_lock);
    w->calls_open = open;
    if (!open) {
        while (w->calls) {
            w->calls->state = -1;
            w->calls = w->calls->next;
        }
        pthread_cond_broadcast(&w->calls_cond);
    }
    pthread_mutex_unlock(&w->calls_lock);
}

void worker_set_id(worker_t *w, const char *id)
{
    free(w->worker_id);
    w->worker_id = str_dup(id);
}

/* ---- views --------------------------------------------------------------------------------- */

const char *admin_worker_id(const worker_t *w) { return w->worker_id ? w->worker_id : "ferry"; }

static const char *conn_type(const conn_t *c) { return c->desc->kind == FERRY_SOURCE ? "source" : "sink"; }

const char *admin_task_state(const task_rt_t *t)
{
    if (!t->assigned) return "UNASSIGNED";
    /* Stopping to start again with a new config, or restarted over REST. */
    if (t->restart_requested || t->conn->next_cfg) return "RESTARTING";
    switch (atomic_load(&t->status)) {
    case TASK_RUNNING:
        /* PAUSED once its loop holds: until then it may still put or poll. */
        return atomic_load(&t->conn->paused) && atomic_load(&t->pause_held) ? "PAUSED" : "RUNNING";
    case TASK_FAILED:
        /* Waiting for its restart (not yet given up on). */
        return t->restart_at_ms && t->restart_at_ms != INT64_MAX ? "RESTARTING" : "FAILED";
    case TASK_FATAL:
        return "FAILED";
    case TASK_STARTING:
        /* A paused connector's task that is opening will not poll or put
         * once open: PAUSED, as Connect shows it. */
        if (atomic_load(&t->conn->paused)) return "PAUSED";
        return t->restarts ? "RESTARTING" : "UNASSIGNED";
    default:
        return "UNASSIGNED";
    }
}

json_t *admin_task_status_here(const worker_t *w, const task_rt_t *t, int id)
{
    const char *state = admin_task_state(t);
    const char *version = t->conn->desc->version ? t->conn->desc->version : FERRY_VERSION;
    json_t *o = json_pack("{s:i, s:s, s:s, s:s}", "id", id, "state", state, "worker_id", admin_worker_id(w), "version",
                          version);
    /* A trace only for a failure: not for a restart asked for over REST. */
    int failed = atomic_load(&t->status) == TASK_FAILED || atomic_load(&t->status) == TASK_FATAL;
    if (failed && (strcmp(state, "FAILED") == 0 || strcmp(state, "RESTARTING") == 0)) {
        /* Connect's trace is a Java stack trace; ferry's says what failed
         * where: the callback and the message, already scrubbed of secrets. */
        json_t *trace = json_string(t->error[0] ? t->error : "failed");
        json_object_set_new(o, "trace", trace ? trace : json_string("[invalid UTF-8]"));
    }
    return o;
}

static json_t *task_status_json(const worker_t *w, const task_rt_t *t, int id)
{
    /* Distributed mode: another worker's task, as that worker published it. */
    const json_t *remote = t->assigned ? NULL : cluster_status(w, t->conn->name, id);
    if (!remote) return admin_task_status_here(w, t, id);
    json_t *o = json_deep_copy(remote);
    json_object_set_new(o, "id", json_integer(id));
    json_object_del(o, "member");
    return o;
}

json_t *admin_connector_names(worker_t *w)
{
    json_t *a = json_array();
    for (size_t i = 0; i < w->nconns; i++)
        if (!w->conns[i]->deleting) json_array_append_new(a, json_string(w->conns[i]->name));
    return a;
}

int admin_connector_exists(worker_t *w, const char *name) { return conn_find(w, name) != NULL; }

json_t *admin_connector_status(worker_t *w, const char *name)
{
    conn_t *c = conn_find(w, name);
    if (!c) return NULL;
    json_t *tasks = json_array();
    for (int j = 0; j < c->ntasks; j++) json_array_append_new(tasks, task_status_json(w, &c->tasks[j], j));
    const char *state = c->restarting                    ? "RESTARTING"
                        : c->error[0]                      ? "FAILED"
                        : c->target == CONN_STOPPED && !c->ntasks ? "STOPPED"
                        : atomic_load(&c->paused)           ? "PAUSED"
                                                            : "RUNNING";
    json_t *conn = json_pack("{s:s, s:s, s:s}", "state", state, "worker_id", admin_worker_id(w), "version",
                             c->desc->version ? c->desc->version : FERRY_VERSION);
    if (c->error[0]) json_object_set_new(conn, "trace", json_string(c->error));
    return json_pack("{s:s, s:o, s:o, s:s}", "name", c->name, "connector", conn, "tasks", tasks, "type", conn_type(c));
}

json_t *admin_connector_config(worker_t *w, const char *name)
{
    conn_t *c = conn_find(w, name);
    if (!c) return NULL;
    /* A new config waiting for the tasks to stop is already the config. */
    const ferry_config_t *current = c->next_cfg ? c->next_cfg : c->cfg;
    const ferry_connector_t *desc = c->next_cfg ? c->next_desc : c->desc;
    char *text = config_to_json(current, 1);
    json_t *cfg = json_loads(text, 0, NULL);
    free(text);
    if (!cfg) cfg = json_object();
    /* What was set, as Connect shows it; defaults are left out. */
    const char *key;
    void *iter_tmp;
    json_t *val;
    json_object_foreach_safe(cfg, iter_tmp, key, val) {
        if (!config_is_set(current, key)) json_object_del(cfg, key);
    }
    /* Connect's configs always carry the name and the class. */
    json_object_set_new(cfg, "name", json_string(c->name));
    if (!json_object_get(cfg, "connector.class")) json_object_set_new(cfg, "connector.class", json_string(desc->name));
    json_object_del(cfg, "connector");
    return cfg;
}

json_t *admin_connector_info(worker_t *w, const char *name)
{
    conn_t *c = conn_find(w, name);
    if (!c) return NULL;
    json_t *tasks = json_array();
    for (int j = 0; j < c->ntasks; j++) json_array_append_new(tasks, json_pack("{s:s, s:i}", "connector", c->name, "task", j));
    return json_pack("{s:s, s:o, s:o, s:s}", "name", c->name, "config", admin_connector_config(w, name), "tasks", tasks,
                     "type", conn_type(c));
}

json_t *admin_connector_tasks(worker_t *w, const char *name)
{
    conn_t *c = conn_find(w, name);
    if (!c) return NULL;
    json_t *a = json_array();
    for (int j = 0; j < c->ntasks; j++) {
        char *text = config_to_json(c->tasks[j].cfg, 1);
        json_t *cfg = json_loads(text, 0, NULL);
        free(text);
        json_array_append_new(a, json_pack("{s:{s:s, s:i}, s:o}", "id", "connector", c->name, "task", j, "config",
                                           cfg ? cfg : json_object()));
    }
    return a;
}

json_t *admin_task_status(worker_t *w, const char *name, int task)
{
    conn_t *c = conn_find(w, name);
    if (!c || task < 0 || task >= c->ntasks) return NULL;
    return task_status_json(w, &c->tasks[task], task);
}

int admin_ready(worker_t *w, char *why, size_t whylen)
{
    for (size_t i = 0; i < w->nconns; i++)
        if (w->conns[i]->error[0] && !w->conns[i]->deleting) {
            snprintf(why, whylen, "connector %s is FAILED: %s", w->conns[i]->name, w->conns[i]->error);
            return 0;
        }
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++) {
            const task_rt_t *t = &w->conns[i]->tasks[j];
            if (t->assigned && atomic_load(&t->status) != TASK_RUNNING) {
                snprintf(why, whylen, "task %s is %s", t->task->prefix, admin_task_state(t));
                return 0;
            }
        }
    return 1;
}

/* ---- metrics -------------------------------------------------------------------------------- */

static void prom_escape(FILE *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') fputc('\\', b);
        if (*s == '\n') {
            fputs("\\n", b);
            continue;
        }
        fputc(*s, b);
    }
}

static void prom_labels(FILE *b, const task_rt_t *t, int id)
{
    fputs("{connector=\"", b);
    prom_escape(b, t->conn->name);
    fprintf(b, "\",task=\"%d\"}", id);
}

static long proc_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

typedef double (*task_value_fn)(const task_rt_t *t);
static double v_records(const task_rt_t *t) { return (double)atomic_load(&t->records); }
static double v_dead(const task_rt_t *t) { return (double)atomic_load(&t->dead_lettered); }
static double v_filtered(const task_rt_t *t) { return (double)atomic_load(&t->records_filtered); }
static double v_restarts(const task_rt_t *t) { return t->restarts; }
static double v_calls(const task_rt_t *t) { return (double)atomic_load(&t->m_calls); }
static double v_call_s(const task_rt_t *t) { return (double)atomic_load(&t->m_call_us) / 1e6; }
static double v_batch(const task_rt_t *t) { return (double)atomic_load(&t->m_batch); }
static double v_commit_ok(const task_rt_t *t) { return (double)atomic_load(&t->m_commits_ok); }
static double v_commit_failed(const task_rt_t *t) { return (double)atomic_load(&t->m_commits_failed); }

/* One family: a line per task (of one kind, or all with kind -1). */
static void prom_family(FILE *b, worker_t *w, const char *name, const char *type, const char *help, int kind,
                        task_value_fn fn)
{
    fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (size_t i = 0; i < w->nconns; i++) {
        if (kind >= 0 && (int)w->conns[i]->desc->kind != kind) continue;
        for (int j = 0; j < w->conns[i]->ntasks; j++) {
            fputs(name, b);
            prom_labels(b, &w->conns[i]->tasks[j], j);
            fprintf(b, " %.17g\n", fn(&w->conns[i]->tasks[j]));
        }
    }
}

/* librdkafka's statistics of each task's client. */
static void prom_kafka(FILE *b, worker_t *w)
{
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"ferry_kafka_client_queue_messages", "gauge",
         "Messages in the task's client: waiting to be sent (producer) or fetched and not yet consumed (consumer)."},
        {"ferry_kafka_request_latency_avg_seconds", "gauge", "The slowest broker's average request round trip."},
        {"ferry_kafka_client_tx_bytes_total", "counter", "Bytes the task's client sent to brokers."},
        {"ferry_kafka_client_rx_bytes_total", "counter", "Bytes the task's client received from brokers."},
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help, fam[f].name, fam[f].type);
        for (size_t i = 0; i < w->nconns; i++)
            for (int j = 0; j < w->conns[i]->ntasks; j++) {
                task_rt_t *t = &w->conns[i]->tasks[j];
                pthread_mutex_lock(&t->kstats.lock);
                double v = f == 0 ? (double)t->kstats.queue : f == 1 ? (double)t->kstats.rtt_us / 1e6
                           : f == 2 ? (double)t->kstats.tx_bytes : (double)t->kstats.rx_bytes;
                int valid = t->kstats.valid;
                pthread_mutex_unlock(&t->kstats.lock);
                if (!valid) continue;
                fputs(fam[f].name, b);
                prom_labels(b, t, j);
                fprintf(b, " %.17g\n", v);
            }
    }
    fputs("# HELP ferry_sink_consumer_lag Records between a sink task's position and the partition's end.\n"
          "# TYPE ferry_sink_consumer_lag gauge\n", b);
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++) {
            task_rt_t *t = &w->conns[i]->tasks[j];
            pthread_mutex_lock(&t->kstats.lock);
            for (size_t k = 0; k < t->kstats.nlags; k++) {
                fputs("ferry_sink_consumer_lag{connector=\"", b);
                prom_escape(b, t->conn->name);
                fprintf(b, "\",task=\"%d\",topic=\"", j);
                prom_escape(b, t->kstats.lags[k].topic);
                fprintf(b, "\",partition=\"%d\"} %lld\n", (int)t->kstats.lags[k].partition,
                        (long long)t->kstats.lags[k].lag);
            }
            pthread_mutex_unlock(&t->kstats.lock);
        }
}

/* A plugin's metric_add/metric_set series: ferry_plugin_NAME (other
 * characters than [a-zA-Z0-9_] become '_'), one family per name. */
static void prom_plugin(FILE *b, worker_t *w)
{
    char **seen = NULL;
    size_t nseen = 0;
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++) {
            const ferry_task_t *ft = w->conns[i]->tasks[j].task;
            int n = atomic_load(&ft->metric_count);
            for (int m = 0; m < n; m++) {
                const char *name = ft->metrics[m].name;
                int dup = 0;
                for (size_t k = 0; k < nseen && !dup; k++) dup = strcmp(seen[k], name) == 0;
                if (dup) continue;
                seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
                seen[nseen++] = (char *)name;
            }
        }
    for (size_t k = 0; k < nseen; k++) {
        char metric[96];
        int len = snprintf(metric, sizeof(metric), "ferry_plugin_%s", seen[k]);
        for (int c = 13; c < len && c < (int)sizeof(metric); c++)
            if (!((metric[c] >= 'a' && metric[c] <= 'z') || (metric[c] >= 'A' && metric[c] <= 'Z') ||
                  (metric[c] >= '0' && metric[c] <= '9') || metric[c] == '_'))
                metric[c] = '_';
        fprintf(b, "# HELP %s The connector's own metric '%s'.\n# TYPE %s untyped\n", metric, seen[k], metric);
        for (size_t i = 0; i < w->nconns; i++)
            for (int j = 0; j < w->conns[i]->ntasks; j++) {
                const task_rt_t *t = &w->conns[i]->tasks[j];
                int n = atomic_load(&t->task->metric_count);
                for (int m = 0; m < n; m++)
                    if (strcmp(t->task->metrics[m].name, seen[k]) == 0) {
                        fputs(metric, b);
                        prom_labels(b, t, j);
                        fprintf(b, " %.17g\n", atomic_load(&t->task->metrics[m].value));
                    }
            }
    }
    free(seen);
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own */
}

char *admin_metrics(worker_t *w)
{
    char *text = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&text, &len);
    if (!b) return str_dup("");
    prom_family(b, w, "ferry_source_record_write_total", "counter",
                "Records a source task produced that Kafka acknowledged.", FERRY_SOURCE, v_records);
    prom_family(b, w, "ferry_sink_record_send_total", "counter", "Records a sink task put to its connector.",
                FERRY_SINK, v_records);
    prom_family(b, w, "ferry_source_poll_total", "counter", "poll() calls that returned records or nothing.",
                FERRY_SOURCE, v_calls);
    prom_family(b, w, "ferry_source_poll_seconds_total", "counter", "Time spent in poll().", FERRY_SOURCE, v_call_s);
    prom_family(b, w, "ferry_source_poll_records_total", "counter", "Records poll() returned (batch size: this "
                "over ferry_source_poll_total).", FERRY_SOURCE, v_batch);
    prom_family(b, w, "ferry_sink_put_total", "counter", "put() calls that succeeded.", FERRY_SINK, v_calls);
    prom_family(b, w, "ferry_sink_put_seconds_total", "counter", "Time spent in put().", FERRY_SINK, v_call_s);
    prom_family(b, w, "ferry_sink_put_records_total", "counter", "Records put() took.", FERRY_SINK, v_batch);
    prom_family(b, w, "ferry_task_offset_commit_success_total", "counter",
                "Offset stores (sources) and consumer offset commits (sinks) that succeeded.", -1, v_commit_ok);
    prom_family(b, w, "ferry_task_offset_commit_failure_total", "counter", "Those that failed.", -1,
                v_commit_failed);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    fputs("# HELP ferry_task_offset_commit_age_seconds Time since the task's last successful offset store or "
          "commit.\n# TYPE ferry_task_offset_commit_age_seconds gauge\n", b);
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++) {
            int64_t at = atomic_load(&w->conns[i]->tasks[j].m_commit_ms);
            if (!at) continue;
            fputs("ferry_task_offset_commit_age_seconds", b);
            prom_labels(b, &w->conns[i]->tasks[j], j);
            fprintf(b, " %.3f\n", (double)(now_ms - at) / 1000.0);
        }
    prom_family(b, w, "ferry_task_error_records_total", "counter",
                "Records that went to the error policy (skipped or dead-lettered).", -1, v_dead);
    prom_family(b, w, "ferry_task_records_filtered_total", "counter", "Records a transform dropped (Filter, a "
                "predicate, route without a match, ExtractNewRecordState's deletes).", -1, v_filtered);
    prom_family(b, w, "ferry_task_restarts", "gauge", "Consecutive restarts of a failed task.", -1, v_restarts);
    fputs("# HELP ferry_connector_rate_limit_wait_seconds_total Time the connector's tasks waited for "
          "rate.limit.records / rate.limit.bytes.\n# TYPE ferry_connector_rate_limit_wait_seconds_total counter\n", b);
    for (size_t i = 0; i < w->nconns; i++) {
        if (!w->conns[i]->limit) continue;
        fputs("ferry_connector_rate_limit_wait_seconds_total{connector=\"", b);
        prom_escape(b, w->conns[i]->name);
        fprintf(b, "\"} %.3f\n", rate_limit_waited_s(w->conns[i]->limit));
    }
    static const char *const states[] = {"RUNNING", "PAUSED", "UNASSIGNED", "RESTARTING", "FAILED"};
    fputs("# HELP ferry_task_state 1 for the task's current state (Connect's names).\n"
          "# TYPE ferry_task_state gauge\n", b);
    for (size_t i = 0; i < w->nconns; i++)
        for (int j = 0; j < w->conns[i]->ntasks; j++) {
            const task_rt_t *t = &w->conns[i]->tasks[j];
            const char *st = admin_task_state(t);
            for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
                fputs("ferry_task_state{connector=\"", b);
                prom_escape(b, t->conn->name);
                fprintf(b, "\",task=\"%d\",state=\"%s\"} %d\n", j, states[k], strcmp(st, states[k]) == 0);
            }
        }
    prom_kafka(b, w);
    prom_plugin(b, w);
    long rss = proc_status_kb("VmRSS"), threads = proc_status_kb("Threads"), fds = open_fds();
    if (rss >= 0)
        fprintf(b, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                   "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n",
                rss * 1024);
    if (threads >= 0)
        fprintf(b, "# HELP process_threads Threads of the process.\n# TYPE process_threads gauge\n"
                   "process_threads %ld\n", threads);
    if (fds >= 0)
        fprintf(b, "# HELP process_open_fds Open file descriptors.\n# TYPE process_open_fds gauge\n"
                   "process_open_fds %ld\n", fds);
    fclose(b);
    return text;
}

void worker_note_cluster_id(worker_t *w)
{
    int64_t now = clock_ms();
    if (w->cluster_id || !w->kenv || now - w->cluster_id_asked_ms < 1000) return;
    w->cluster_id_asked_ms = now;
    char *id = kafka_env_cluster_id(w->kenv, 100); /* at most 100 ms a second until known */
    if (!id) return;
    pthread_mutex_lock(&w->calls_lock);
    w->cluster_id = str_dup(id);
    pthread_mutex_unlock(&w->calls_lock);
    rd_kafka_mem_free(NULL, id);
}

char *admin_cluster_id(worker_t *w)
{
    pthread_mutex_lock(&w->calls_lock);
    char *copy = w->cluster_id ? str_dup(w->cluster_id) : NULL;
    pthread_mutex_unlock(&w->calls_lock);
    return copy;
}

int admin_alive(worker_t *w, int64_t within_ms)
{
    int64_t beat = atomic_load(&w->heartbeat_ms);
    return beat && clock_ms() - beat <= within_ms && !atomic_load(&w->stopping);
}

/* ---- restarts ----------------------------------------------------------------------------- */

/* Stops the task (if it runs) and starts it again once it stopped: the
 * supervisor's start_pending path, as when a group assignment comes back. */
static void task_restart(worker_t *w, task_rt_t *t)
{
    if (!t->assigned || t->start_pending) return;
    int64_t timeout = w->wc->shutdown_timeout_ms > 0 ? w->wc->shutdown_timeout_ms : 30000;
    if (!atomic_load(&t->done) && t->thread_started) worker_task_request_stop(t, clock_ms() + timeout);
    t->restarts = 0;
    t->restart_at_ms = 0;
    t->start_pending = 1;
    /* Until it runs again it shows as RESTARTING, as Connect shows it. */
    t->restart_requested = 1;
}

int admin_restart_here(worker_t *w, const char *name, int task, int include_tasks, int only_failed)
{
    conn_t *c = conn_find(w, name);
    if (!c) return -1;
    if (task >= 0) {
        if (task >= c->ntasks) return -2;
        task_restart(w, &c->tasks[task]);
        return 0;
    }
    /* Its own instance is task_configs: run again when that failed. */
    if (c->error[0] && c->target != CONN_STOPPED && !c->ntasks) c->relaunch = 1;
    if (!include_tasks) return 0;
    /* Connect restarts the connector too: it shows RESTARTING meanwhile. */
    c->restarting = !only_failed && c->ntasks > 0;
    for (int j = 0; j < c->ntasks; j++) {
        int st = atomic_load(&c->tasks[j].status);
        if (only_failed && st != TASK_FAILED && st != TASK_FATAL) continue;
        task_restart(w, &c->tasks[j]);
    }
    return 0;
}

int admin_task_restart(worker_t *w, const char *name, int task)
{
    int rc = admin_restart_here(w, name, task < 0 ? INT_MAX : task, 0, 0); /* -2 for task < 0 */
    if (rc == 0) cluster_restart(w, name, task, 0, 0); /* where it runs, if elsewhere */
    return rc;
}

int admin_connector_restart(worker_t *w, const char *name, int include_tasks, int only_failed)
{
    int rc = admin_restart_here(w, name, -1, include_tasks, only_failed);
    if (rc == 0 && include_tasks) cluster_restart(w, name, -1, include_tasks, only_failed);
    return rc;
}

/* ---- changes ------------------------------------------------------------------------------- */

/* Stores what c (or, for a new connector, name) is to be: rec NULL forgets
 * it. 0 or -1. */
static int persist(worker_t *w, const char *name, json_t *rec, char *err, size_t errlen)
{
    int rc = w->store ? conn_store_put(w->store, name, rec, err, errlen) : 0;
    json_decref(rec);
    return rc;
}

admin_rc_t admin_connector_put(worker_t *w, const char *name, const ferry_connector_t *desc, ferry_config_t *cfg,
                               json_t *given, int create_only, char *err, size_t errlen)
{
    /* Distributed mode: decided on what the group has written so far. */
    if (w->group) conn_store_sync(w->store);
    conn_t *c = conn_find(w, name);
    admin_rc_t rc = ADMIN_FAILED;
    if (c && create_only) {
        snprintf(err, errlen, "Connector %s already exists", name);
        rc = ADMIN_EXISTS;
        goto out;
    }
    for (size_t i = 0; !c && i < w->nconns; i++)
        if (w->conns[i]->deleting && strcmp(w->conns[i]->name, name) == 0) {
            snprintf(err, errlen, "connector %s is still being deleted: its tasks are stopping; try again", name);
            rc = ADMIN_CONFLICT;
            goto out;
        }
    /* A name the YAML file had (deleted over REST) keeps its entry's hash,
     * so that the file takes it back only when that entry changes. */
    uint64_t yaml_hash = c ? c->yaml_hash : conn_store_yaml_hash(w->store, name);
    json_t *rec = conn_store_record(yaml_hash, given, c ? c->target : CONN_STARTED);
    if (w->wc->group_id && desc->kind == FERRY_SOURCE) cluster_record_slots(w, c, desc, cfg, rec);
    json_t *slots = json_incref(json_object_get(rec, "slots"));
    if (persist(w, name, rec, err, errlen) != 0) {
        json_decref(slots);
        goto out;
    }
    int created = !c;
    c = conn_change(w, c, name, desc, cfg, json_incref(given));
    c->yaml_hash = yaml_hash;
    cluster_take_slots(c, slots);
    json_decref(slots);
    log_info(created ? "[%s] created over the REST API" : "[%s] config changed over the REST API: its tasks restart "
                                                          "with it", name);
    return created ? ADMIN_CREATED : ADMIN_OK;
out:
    config_free(cfg);
    return rc;
}

json_t *admin_connector_given(worker_t *w, const char *name, char *err, size_t errlen)
{
    if (w->group) conn_store_sync(w->store); /* a PATCH merges into the latest */
    conn_t *c = conn_find(w, name);
    if (!c) return NULL;
    if (c->next_stored || c->stored) return json_deep_copy(c->next_stored ? c->next_stored : c->stored);
    /* A YAML connector: its set options. Secrets and values from ${..}
     * are JSON null: the PATCH must give them (the file holds them, and the
     * store must not get them, nor "[hidden]" in their place). */
    const ferry_config_t *cfg = c->next_cfg ? c->next_cfg : c->cfg;
    char *plain = config_to_json(cfg, 0);
    json_t *p = json_loads(plain, 0, NULL);
    free(plain);
    json_t *out = json_object();
    const char *key;
    json_t *val;
    json_object_foreach(p, key, val) {
        if (!config_is_set(cfg, key)) continue;
        json_object_set(out, key, config_is_hidden(cfg, key) ? json_null() : val);
    }
    json_decref(p);
    (void)err, (void)errlen;
    return out;
}

admin_rc_t admin_connector_delete(worker_t *w, const char *name, char *err, size_t errlen)
{
    /* Distributed mode: decided on what the group has written so far. */
    if (w->group) conn_store_sync(w->store);
    conn_t *c = conn_find(w, name);
    if (!c) return ADMIN_UNKNOWN;
    /* A YAML connector stays deleted until its entry in the file changes. */
    json_t *rec = NULL;
    if (c->yaml_hash) {
        rec = conn_store_record(c->yaml_hash, NULL, CONN_STARTED);
        json_object_del(rec, "target");
        json_object_set_new(rec, "deleted", json_true());
    }
    if (persist(w, name, rec, err, errlen) != 0) return ADMIN_FAILED;
    c->deleting = 1;
    cluster_forget(w, name, 1);
    log_info("[%s] deleted over the REST API: its tasks stop", name);
    return ADMIN_OK;
}

admin_rc_t admin_connector_target(worker_t *w, const char *name, conn_target_t target, char *err, size_t errlen)
{
    /* Distributed mode: decided on what the group has written so far. */
    if (w->group) conn_store_sync(w->store);
    conn_t *c = conn_find(w, name);
    if (!c) return ADMIN_UNKNOWN;
    json_t *rec = conn_store_record(c->yaml_hash, c->next_stored ? c->next_stored : c->stored, target);
    if (c->nslots) json_object_set_new(rec, "slots", cluster_slots_json(c));
    if (c->target != target && persist(w, name, rec, err, errlen) != 0) return ADMIN_FAILED;
    if (c->target == target) json_decref(rec);
    conn_set_target(c, target);
    return ADMIN_OK;
}
