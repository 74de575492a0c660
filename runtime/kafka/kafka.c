/* kafka.c — see kafka.h. */
#include "kafka/kafka.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/kafka_meta.h"
#include "util/log.h"
#include "util/strutil.h"

struct kafka_env {
    char **keys, **values; /* owned: worker.kafka minus bootstrap.servers */
    size_t count;
    char *bootstrap;       /* owned */
    rd_kafka_t *mock_rk;   /* owner of the embedded cluster, or NULL */
    rd_kafka_mock_cluster_t *mcluster;
    rd_kafka_t *meta_rk;   /* lazily created producer for metadata/admin */
    /* A compaction check in flight (DescribeConfigs), polled by kafka_env_poll. */
    rd_kafka_queue_t *check_q;
    char *check_topic;
    int64_t check_deadline;
    /* kafka_env_settings' lists, [0] producer, [1] consumer: bootstrap.servers,
     * then the worker's properties for that kind (pointers into keys/values). */
    const char **set_keys[2], **set_values[2];
    size_t set_count[2];
};

/* librdkafka's log lines go through ours, at a level one step quieter:
 * its "warnings" are mostly transient connection noise. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    ferry_log_level_t lvl = level <= 3 ? FERRY_LOG_WARN : level <= 5 ? FERRY_LOG_INFO : FERRY_LOG_DEBUG;
    if ((int)lvl <= log_level_current) log_write(lvl, "kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    /* Transport errors are retried by librdkafka; only say so at debug level
     * unless the error is fatal. */
    rd_kafka_resp_err_t e = (rd_kafka_resp_err_t)err;
    if (e == RD_KAFKA_RESP_ERR__FATAL)
        log_error("kafka: %s: fatal: %s", rd_kafka_name(rk), reason);
    else if (e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        log_warn("kafka: %s: all brokers down (%s): waiting", rd_kafka_name(rk), reason);
    else
        log_debug("kafka: %s: %s", rd_kafka_name(rk), reason);
}

static rd_kafka_mock_cluster_t *mock_start(int brokers, rd_kafka_t **rk_out, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    /* This handle only owns the cluster; it never connects anywhere, so its
     * "no bootstrap.servers" warning is noise. */
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!rk) return NULL;
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        snprintf(err, errlen, "could not start the embedded Kafka broker");
        rd_kafka_destroy(rk);
        return NULL;
    }
    *rk_out = rk;
    return mc;
}

kafka_env_t *kafka_env_new(const char *const *keys, const char *const *values, size_t count, char *err,
                           size_t errlen)
{
    kafka_env_t *env = xcalloc(1, sizeof(*env));
    const char *bootstrap = NULL;
    env->keys = xcalloc(count + 1, sizeof(char *));
    env->values = xcalloc(count + 1, sizeof(char *));
    for (size_t i = 0; i < count; i++) {
        if (strcmp(keys[i], "bootstrap.servers") == 0 || strcmp(keys[i], "metadata.broker.list") == 0) {
            bootstrap = values[i];
            continue;
        }
        env->keys[env->count] = str_dup(keys[i]);
        env->values[env->count] = str_dup(values[i] ? values[i] : "");
        env->count++;
    }
    if (!bootstrap || !*bootstrap || strcmp(bootstrap, "embedded") == 0) {
        env->mcluster = mock_start(1, &env->mock_rk, err, errlen);
        if (!env->mcluster) {
            kafka_env_free(env);
            return NULL;
        }
        env->bootstrap = str_dup(rd_kafka_mock_cluster_bootstraps(env->mcluster));
        log_info("embedded Kafka broker (for development and tests only) at %s", env->bootstrap);
    } else {
        env->bootstrap = str_dup(bootstrap);
    }
    for (int c = 0; c < 2; c++) {
        kafka_client_kind_t kind = c ? KAFKA_CONSUMER : KAFKA_PRODUCER;
        env->set_keys[c] = xcalloc(env->count + 1, sizeof(char *));
        env->set_values[c] = xcalloc(env->count + 1, sizeof(char *));
        env->set_keys[c][0] = "bootstrap.servers";
        env->set_values[c][0] = env->bootstrap;
        env->set_count[c] = 1;
        for (size_t i = 0; i < env->count; i++) {
            const char *property = kafka_worker_property(env->keys[i], kind);
            if (!property) continue;
            env->set_keys[c][env->set_count[c]] = property;
            env->set_values[c][env->set_count[c]++] = env->values[i];
        }
    }
    return env;
}

size_t kafka_env_settings(const kafka_env_t *env, kafka_client_kind_t kind, const char *const **keys,
                          const char *const **values)
{
    int c = kind == KAFKA_CONSUMER;
    *keys = (const char *const *)env->set_keys[c];
    *values = (const char *const *)env->set_values[c];
    return env->set_count[c];
}

static int kafka_check_compacted_finish(kafka_env_t *env, rd_kafka_event_t *ev, char *err, size_t errlen);

void kafka_env_free(kafka_env_t *env)
{
    if (!env) return;
    if (env->check_q) {
        /* Still unanswered at exit: say so rather than stay silent. */
        rd_kafka_event_t *ev = rd_kafka_queue_poll(env->check_q, 0);
        char err[512];
        if (kafka_check_compacted_finish(env, ev, err, sizeof(err)) < 0) log_error("%s", err);
    }
    if (env->meta_rk) rd_kafka_destroy(env->meta_rk);
    if (env->mcluster) rd_kafka_mock_cluster_destroy(env->mcluster);
    if (env->mock_rk) rd_kafka_destroy(env->mock_rk);
    for (int c = 0; c < 2; c++) {
        free(env->set_keys[c]);
        free(env->set_values[c]);
    }
    for (size_t i = 0; i < env->count; i++) {
        free(env->keys[i]);
        free(env->values[i]);
    }
    free(env->keys);
    free(env->values);
    free(env->bootstrap);
    free(env);
}

const char *kafka_env_bootstrap(const kafka_env_t *env) { return env->bootstrap; }
int kafka_env_is_embedded(const kafka_env_t *env) { return env->mcluster != NULL; }

void kafka_client_defaults(kafka_defaults_t *d, kafka_client_kind_t kind, const char *connector, int task)
{
    size_t n = 0;
#define DEFAULT(k, v) (d->keys[n] = (k), d->values[n++] = (v))
    /* Tuning, which worker.kafka may change. */
    if (kind == KAFKA_PRODUCER) {
        /* Same partition for the same key as Kafka's Java clients. */
        DEFAULT("partitioner", "murmur2_random");
        DEFAULT("linger.ms", "5");
        /* librdkafka queues up to 1 GiB by default: while the broker is
         * away a task would hold that much. 4 MiB of queued records (plus
         * the produce requests built from them, ~2x in all) keeps the source
         * waiting (backpressure) long before memory becomes a problem, and
         * still lets one task keep Apache Kafka busy (bench/README.md:
         * peak RSS under 35 MB, throughput as rdkafka_performance's with
         * the same bound). Raise it to trade memory for throughput. */
        DEFAULT("queue.buffering.max.kbytes", "4096");
    } else if (kind == KAFKA_CONSUMER) {
        DEFAULT("auto.offset.reset", "earliest");
        DEFAULT("allow.auto.create.topics", "true");
        /* Fetched records wait in the task's consumer queue. librdkafka's
         * defaults let it hold 100k records or 64 MiB, and a fetch response
         * up to 50 MiB on top. Bounded here: 20k records (small records
         * cost ~450 B each in memory, more than their bytes) or 16 MiB,
         * whichever comes first, and responses of at most 4 MiB. librdkafka
         * 2.0 stops fetching at either bound and looks again only at its
         * next wake-up, up to 1 s later; sink tasks wake it as soon as they
         * have drained the queue below the bound (sink_wakeup in
         * engine/sink.c), so a small bound costs no throughput. */
        DEFAULT("queued.min.messages", "20000");
        DEFAULT("queued.max.messages.kbytes", "16384");
        DEFAULT("fetch.max.bytes", "4194304");
    }
    d->tunable = n;
    /* What delivery depends on: set after worker.kafka. */
    if (kind != KAFKA_ADMIN) {
        snprintf(d->client_id, sizeof(d->client_id), "ferry-%s-%d", connector, task);
        DEFAULT("client.id", d->client_id);
    }
    if (kind == KAFKA_PRODUCER) {
        DEFAULT("enable.idempotence", "true");
    } else if (kind == KAFKA_CONSUMER) {
        snprintf(d->group_id, sizeof(d->group_id), "ferry-%s", connector);
        DEFAULT("group.id", d->group_id);
        DEFAULT("enable.auto.commit", "false");
        DEFAULT("enable.auto.offset.store", "false");
    }
#undef DEFAULT
    d->count = n;
}

const char *kafka_worker_property(const char *key, kafka_client_kind_t kind)
{
    static const char *const prefixes[] = {"producer.", "consumer.", "admin."};
    for (int k = 0; k < 3; k++) {
        size_t pl = strlen(prefixes[k]);
        if (strncmp(key, prefixes[k], pl) == 0) return k == (int)kind ? key + pl : NULL;
    }
    return key;
}

static size_t fill_layer(rd_kafka_conf_t *conf, kafka_client_kind_t kind, kafka_layer_t layer,
                         const kafka_props_t *props, kafka_conf_error_fn on_error, void *arg)
{
    size_t refused = 0;
    for (size_t i = 0; props && i < props->count; i++) {
        const char *property = layer == KAFKA_LAYER_WORKER ? kafka_worker_property(props->keys[i], kind)
                                                           : props->keys[i];
        if (!property) continue;
        /* Room for librdkafka to quote the whole value in its message. */
        size_t cap = strlen(props->values[i]) + 512;
        char *rderr = xmalloc(cap);
        rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, property, props->values[i], rderr, cap);
        if (res != RD_KAFKA_CONF_OK) {
            refused++;
            /* librdkafka ends some messages with a newline. */
            size_t len = strlen(rderr);
            while (len > 0 && (rderr[len - 1] == '\n' || rderr[len - 1] == ' ')) rderr[--len] = '\0';
            if (on_error) on_error(arg, layer, i, property, res, rderr);
        }
        free(rderr);
    }
    return refused;
}

size_t kafka_conf_fill(rd_kafka_conf_t *conf, kafka_client_kind_t kind, const kafka_props_t *worker,
                       const kafka_props_t *defaults, const kafka_props_t *overrides,
                       kafka_conf_error_fn on_error, void *arg)
{
    /* Tuning defaults, the worker's properties, the defaults the runtime
     * owns, the connector's overrides: later wins. */
    kafka_props_t tuning = {0}, owned = {0};
    if (defaults) {
        size_t t = defaults->tunable < defaults->count ? defaults->tunable : defaults->count;
        tuning = (kafka_props_t){defaults->keys, defaults->values, t, 0};
        owned = (kafka_props_t){defaults->keys + t, defaults->values + t, defaults->count - t, 0};
    }
    size_t refused = fill_layer(conf, kind, KAFKA_LAYER_DEFAULTS, &tuning, on_error, arg);
    refused += fill_layer(conf, kind, KAFKA_LAYER_WORKER, worker, on_error, arg);
    refused += fill_layer(conf, kind, KAFKA_LAYER_DEFAULTS, &owned, on_error, arg);
    return refused + fill_layer(conf, kind, KAFKA_LAYER_OVERRIDES, overrides, on_error, arg);
}

typedef struct first_error {
    char *err;
    size_t errlen;
    int seen;
} first_error_t;

static void keep_first_error(void *arg, kafka_layer_t layer, size_t index, const char *property,
                             rd_kafka_conf_res_t res, const char *msg)
{
    (void)layer, (void)index, (void)res;
    first_error_t *fe = arg;
    if (fe->seen++) return;
    snprintf(fe->err, fe->errlen, "kafka property '%s': %s", property, msg);
}

static rd_kafka_conf_t *client_conf_new(const kafka_env_t *env, kafka_client_kind_t kind,
                                        const kafka_props_t *defaults, const kafka_props_t *overrides, char *err,
                                        size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The env holds the bootstrap address apart (it may be the embedded broker's). */
    const char *bootstrap_key = "bootstrap.servers";
    kafka_props_t bootstrap = {&bootstrap_key, (const char *const *)&env->bootstrap, 1, 0};
    kafka_props_t worker = {(const char *const *)env->keys, (const char *const *)env->values, env->count, 0};
    first_error_t fe = {err, errlen, 0};
    if (fill_layer(conf, kind, KAFKA_LAYER_WORKER, &bootstrap, keep_first_error, &fe) ||
        kafka_conf_fill(conf, kind, &worker, defaults, overrides, keep_first_error, &fe)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    return conf;
}

rd_kafka_conf_t *kafka_conf_new(const kafka_env_t *env, kafka_client_kind_t kind,
                                const char *const *okeys, const char *const *ovalues, size_t ocount,
                                char *err, size_t errlen)
{
    kafka_props_t overrides = {okeys, ovalues, ocount, 0};
    return client_conf_new(env, kind, NULL, &overrides, err, errlen);
}

rd_kafka_conf_t *kafka_task_conf_new(const kafka_env_t *env, kafka_client_kind_t kind, const char *connector,
                                     int task, const char *const *okeys, const char *const *ovalues,
                                     size_t ocount, char *err, size_t errlen)
{
    kafka_defaults_t d;
    kafka_client_defaults(&d, kind, connector, task);
    kafka_props_t defaults = {d.keys, d.values, d.count, d.tunable}, overrides = {okeys, ovalues, ocount, 0};
    return client_conf_new(env, kind, &defaults, &overrides, err, errlen);
}

static rd_kafka_t *meta_handle(kafka_env_t *env, char *err, size_t errlen)
{
    if (env->meta_rk) return env->meta_rk;
    rd_kafka_conf_t *conf = kafka_conf_new(env, KAFKA_ADMIN, NULL, NULL, 0, err, errlen);
    if (!conf) return NULL;
    /* Looking a topic up must never create it with broker defaults (an
     * uncompacted offsets topic would be worse than none). */
    rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", NULL, 0);
    env->meta_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    return env->meta_rk;
}

/* An existing offsets topic must be compacted, or old offsets vanish with
 * retention: like Kafka Connect, ferry refuses to start on one that is not.
 * Apache Kafka answers DescribeConfigs at once; brokers that never answer it
 * (librdkafka's mock) must not delay start-up for long, so the answer is
 * awaited briefly (CHECK_SYNC_MS) and otherwise taken in kafka_env_poll. */
#define CHECK_SYNC_MS 2000
static void kafka_check_compacted_start(kafka_env_t *env, rd_kafka_t *rk, const char *topic)
{
    if (env->check_q) return;
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(opts, 10000, NULL, 0);
    env->check_q = rd_kafka_queue_new(rk);
    env->check_topic = str_dup(topic);
    env->check_deadline = clock_ms() + 12000;
    rd_kafka_DescribeConfigs(rk, &res, 1, opts, env->check_q);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ConfigResource_destroy(res);
}

/* 1 compacted, 0 not known (no answer, or an error: a warning), -1 not
 * compacted (err says so). Consumes ev and ends the check. */
static int kafka_check_compacted_finish(kafka_env_t *env, rd_kafka_event_t *ev, char *err, size_t errlen)
{
    const char *topic = env->check_topic;
    const char *policy = NULL;
    int rc = 0;
    rd_kafka_resp_err_t e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (!e) {
        size_t nres = 0;
        const rd_kafka_ConfigResource_t **rs =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &nres);
        if (nres == 1 && !(e = rd_kafka_ConfigResource_error(rs[0]))) {
            size_t nc = 0;
            const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(rs[0], &nc);
            for (size_t i = 0; i < nc; i++)
                if (strcmp(rd_kafka_ConfigEntry_name(entries[i]), "cleanup.policy") == 0)
                    policy = rd_kafka_ConfigEntry_value(entries[i]);
        }
    }
    if (e) {
        log_warn("offsets topic '%s': could not verify cleanup.policy=compact (%s)", topic, rd_kafka_err2str(e));
    } else if (!policy || strcmp(policy, "compact") != 0) {
        /* "compact,delete" would still expire offsets: only compact will do. */
        snprintf(err, errlen,
                 "offsets topic '%s' has cleanup.policy=%s, but it must be compact, or stored offsets expire "
                 "with retention and sources start over; set cleanup.policy=compact on it (kafka-configs.sh "
                 "--alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact) or name "
                 "another offsets.topic",
                 topic, policy ? policy : "(unset)", topic);
        rc = -1;
    } else {
        log_info("offsets topic '%s' is compacted", topic);
        rc = 1;
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(env->check_q);
    env->check_q = NULL;
    free(env->check_topic);
    env->check_topic = NULL;
    return rc;
}

/* Starts the check and waits CHECK_SYNC_MS for its answer: -1 with err when
 * the topic is not compacted, else 0 (possibly still pending). */
static int kafka_check_compacted(kafka_env_t *env, rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    kafka_check_compacted_start(env, rk, topic);
    if (!env->check_q) return 0;
    rd_kafka_event_t *ev = rd_kafka_queue_poll(env->check_q, CHECK_SYNC_MS);
    if (!ev) {
        log_info("offsets topic '%s': no answer to DescribeConfigs yet; checking its cleanup.policy in the "
                 "background", topic);
        return 0;
    }
    return kafka_check_compacted_finish(env, ev, err, errlen) < 0 ? -1 : 0;
}

int kafka_env_poll(kafka_env_t *env, char *err, size_t errlen)
{
    if (!env || !env->check_q) return 0;
    rd_kafka_event_t *ev = rd_kafka_queue_poll(env->check_q, 0);
    if (ev || clock_ms() > env->check_deadline) return kafka_check_compacted_finish(env, ev, err, errlen) < 0 ? -1 : 0;
    return 0;
}

/* Partition count of an existing topic, 0 when it does not exist, -1 on
 * error. Never creates the topic (the handle has auto-creation off). */
static int topic_partitions(rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    int n = kafka_meta_partitions(rk, topic, 10000, NULL, &e);
    if (n < 0) snprintf(err, errlen, "topic '%s': metadata: %s", topic, rd_kafka_err2str(e));
    return n;
}

/* Waits until an existing (or just created) topic shows its partitions,
 * using rk; with auto-creation allowed on rk this also creates it (brokers
 * without CreateTopics, e.g. `ferry dev-kafka`). Returns the count or -1. */
static int topic_wait_partitions(rd_kafka_t *rk, const char *topic, char *err, size_t errlen)
{
    int64_t deadline = clock_ms() + 10000;
    int n;
    while ((n = topic_partitions(rk, topic, err, errlen)) == 0 && clock_ms() < deadline) usleep(100 * 1000);
    if (n == 0) snprintf(err, errlen, "topic '%s' does not exist and could not be created", topic);
    return n > 0 ? n : -1;
}

static int topic_auto_create(kafka_env_t *env, const char *topic, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = kafka_conf_new(env, KAFKA_ADMIN, NULL, NULL, 0, err, errlen);
    if (!conf) return -1;
    rd_kafka_conf_set(conf, "allow.auto.create.topics", "true", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!rk) return -1;
    int n = topic_wait_partitions(rk, topic, err, errlen);
    rd_kafka_destroy(rk);
    return n;
}

int kafka_ensure_topic(kafka_env_t *env, const char *topic, int partitions, int replication, int compact,
                       char *err, size_t errlen)
{
    if (env->mcluster) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(env->mcluster, topic, partitions, 1);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(err, errlen, "topic '%s': %s", topic, rd_kafka_err2str(e));
            return -1;
        }
        if (compact) log_info("topic '%s': the embedded broker does not compact (development only)", topic);
        if (!e) return partitions;
        /* It existed already: ask for its real partition count below. */
    }
    rd_kafka_t *rk = meta_handle(env, err, errlen);
    if (!rk) return -1;
    int n = topic_partitions(rk, topic, err, errlen);
    if (n < 0) return -1;
    if (n > 0) {
        if (compact && !env->mcluster && kafka_check_compacted(env, rk, topic, err, errlen) != 0) return -1;
        return n;
    }
    if (env->mcluster) return topic_wait_partitions(rk, topic, err, errlen);
    char rderr[256];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, replication, rderr, sizeof(rderr));
    if (!nt) {
        snprintf(err, errlen, "topic '%s': %s", topic, rderr);
        return -1;
    }
    if (compact) rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opts, 5000, NULL, 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 7000);
    int rc = partitions;
    rd_kafka_resp_err_t e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && ev) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
        if (cnt == 1) e = rd_kafka_topic_result_error(tr[0]);
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_info("created topic '%s' (%d partitions%s)", topic, partitions, compact ? ", compacted" : "");
    } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        /* Created meanwhile by someone else. */
        if (compact && kafka_check_compacted(env, rk, topic, err, errlen) != 0)
            rc = -1;
        else
            rc = topic_wait_partitions(rk, topic, err, errlen);
    } else {
        /* Brokers without CreateTopics (e.g. `ferry dev-kafka`) auto-create
         * on metadata requests; compaction cannot be checked there. */
        log_warn("topic '%s': could not create it (%s); relying on auto-creation%s", topic, rd_kafka_err2str(e),
                 compact ? ", could not verify cleanup.policy=compact" : "");
        rc = topic_auto_create(env, topic, err, errlen);
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

int kafka_topic_grow(kafka_env_t *env, const char *topic, int partitions, char *err, size_t errlen)
{
    if (env->mcluster) {
        snprintf(err, errlen, "topic '%s': the embedded broker cannot add partitions", topic);
        return -1;
    }
    rd_kafka_t *rk = meta_handle(env, err, errlen);
    if (!rk) return -1;
    char rderr[256];
    rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new(topic, (size_t)partitions, rderr, sizeof(rderr));
    if (!np) {
        snprintf(err, errlen, "topic '%s': %s", topic, rderr);
        return -1;
    }
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    rd_kafka_AdminOptions_set_request_timeout(opts, 5000, NULL, 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreatePartitions(rk, &np, 1, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 7000);
    rd_kafka_resp_err_t e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    const char *why = ev && e ? rd_kafka_event_error_string(ev) : NULL;
    if (!e) {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &cnt);
        if (cnt == 1) e = rd_kafka_topic_result_error(tr[0]), why = rd_kafka_topic_result_error_string(tr[0]);
    }
    if (e) snprintf(err, errlen, "topic '%s': adding partitions: %s", topic, why && *why ? why : rd_kafka_err2str(e));
    else log_info("topic '%s': grown to %d partitions", topic, partitions);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewPartitions_destroy(np);
    return e ? -1 : 0;
}

int kafka_dev_broker_run(int brokers, const char *const *topics, size_t topic_count, volatile sig_atomic_t *stop)
{
    char err[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = mock_start(brokers, &rk, err, sizeof(err));
    if (!mc) {
        log_error("dev-kafka: %s", err);
        return 1;
    }
    /* The default offsets topic, with Kafka Connect's default partition
     * count, so workers need no (unsupported) CreateTopics. */
    rd_kafka_mock_topic_create(mc, "ferry-offsets", 25, 1);
    for (size_t i = 0; i < topic_count; i++) {
        char name[256];
        int parts = 4;
        snprintf(name, sizeof(name), "%s", topics[i]);
        char *colon = strrchr(name, ':');
        if (colon) {
            *colon = '\0';
            parts = atoi(colon + 1);
            if (parts < 1) parts = 1;
        }
        rd_kafka_mock_topic_create(mc, name, parts, 1);
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    log_info("dev-kafka: %d broker(s) at %s (in memory; for development and tests only)", brokers,
             rd_kafka_mock_cluster_bootstraps(mc));
    while (!*stop) usleep(100 * 1000);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}

char *kafka_env_cluster_id(kafka_env_t *env, int timeout_ms)
{
    char err[256];
    rd_kafka_t *rk = meta_handle(env, err, sizeof(err));
    return rk ? rd_kafka_clusterid(rk, timeout_ms) : NULL;
}
