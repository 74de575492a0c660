/*
 * conn_store.c — connectors created, changed, paused, stopped or deleted
 * over the REST API, kept so that a restart finds them again: in a compacted
 * topic (offsets.store: kafka; worker.config.topic, as Kafka Connect's
 * config.storage.topic) or in a JSON file (offsets.store: file;
 * worker.config.file).
 *
 * One record per connector, key "connector-NAME":
 *   {"config": {...}      the config as given, ${..} references unsubstituted
 *    "deleted": true      deleted over REST (a YAML connector stays deleted)
 *    "target": "PAUSED"   STARTED, PAUSED or STOPPED
 *    "yaml.hash": "..."}  the YAML entry it overrides, as it was then
 * A record whose yaml.hash no longer matches the YAML entry is forgotten:
 * the file was changed after the REST call, and the later change wins.
 *
 * In distributed mode the topic is the cluster's (cluster.c): every worker
 * keeps reading it (conn_store_poll) and carries out what the others wrote;
 * "status-task-NAME-J" and "restart-NAME" records travel the same way. A
 * worker's own connector records are skipped when they come back (it
 * carried them out when it wrote them): per connector, only a record at a
 * later offset than the last one applied counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "util/file_atomic.h"
#include "util/log.h"
#include "util/strutil.h"

#define KEY_PREFIX "connector-"
#define STORE_TIMEOUT_MS 15000

struct conn_store {
    worker_t *w;
    json_t *records;     /* name -> record */
    json_t *applied;     /* name -> offset of the record last applied (topic) */
    const char *file;    /* file store, or NULL */
    const char *topic;   /* topic store, or NULL */
    rd_kafka_t *producer;
    rd_kafka_t *reader;  /* the topic's partition 0; kept in distributed mode */
    int loaded;          /* the first read reached the end */
    int64_t next;        /* the reader's position: the offset after the last record read */
    rd_kafka_resp_err_t delivery; /* the last write's delivery report */
    int64_t delivered_at;         /* and its offset */
};

static void store_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    conn_store_t *s = opaque;
    if (m->_private == s) { /* a write conn_store_put waits for */
        s->delivery = m->err;
        s->delivered_at = m->offset;
    } else if (m->err) {
        log_warn("config topic '%s': a status or restart record was not delivered: %s", s->topic,
                 rd_kafka_err2str(m->err));
    }
}

/* One record of the topic: a connector's (into records, and carried out
 * once loaded), or a cluster one. */
static void read_record(conn_store_t *s, const rd_kafka_message_t *m)
{
    s->next = m->offset + 1;
    const char *key = m->key;
    size_t klen = m->key_len, plen = strlen(KEY_PREFIX);
    json_t *rec = NULL;
    if (m->payload) {
        rec = json_loadb(m->payload, m->len, 0, NULL);
        if (!json_is_object(rec)) {
            log_warn("config topic '%s' offset %lld: ignoring a record that is not a JSON object (key %.*s)",
                     s->topic, (long long)m->offset, (int)(klen > 200 ? 200 : klen), key ? key : "");
            json_decref(rec);
            return;
        }
    }
    if (key && klen > plen && memcmp(key, KEY_PREFIX, plen) == 0) {
        char *name = str_printf("%.*s", (int)(klen - plen), key + plen);
        json_t *at = json_object_get(s->applied, name);
        if (!at || json_integer_value(at) < m->offset) {
            json_object_set_new(s->applied, name, json_integer(m->offset));
            if (rec)
                json_object_set(s->records, name, rec);
            else
                json_object_del(s->records, name);
            if (s->loaded) cluster_on_connector(s->w, name, rec);
        }
        free(name);
    } else if (key) {
        cluster_on_record(s->w, key, klen, rec, s->loaded);
    }
    json_decref(rec);
}

static int file_load(conn_store_t *s, char *err, size_t errlen)
{
    FILE *f = fopen(s->file, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "connectors file %s: %s", s->file, strerror(errno));
        return -1;
    }
    json_error_t jerr;
    json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    json_t *recs = json_object_get(doc, "connectors");
    if (!json_is_object(recs)) {
        snprintf(err, errlen, "connectors file %s: %s", s->file,
                 doc ? "no \"connectors\" object" : jerr.text);
        json_decref(doc);
        return -1;
    }
    json_object_update(s->records, recs);
    json_decref(doc);
    return 0;
}

/* Reads the topic from its start to the end it has now. */
static int topic_load(conn_store_t *s, char *err, size_t errlen)
{
    worker_t *w = s->w;
    char why[512], group[96];
    snprintf(group, sizeof(group), "ferry-config-reader-%ld", (long)getpid());
    static const char *const keys[] = {"group.id", "enable.auto.commit", "enable.partition.eof",
                                       "allow.auto.create.topics"};
    const char *const values[] = {group, "false", "true", "false"};
    rd_kafka_conf_t *conf = kafka_conf_new(w->kenv, KAFKA_CONSUMER, keys, values, 4, why, sizeof(why));
    s->reader = conf ? rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why)) : NULL;
    if (!s->reader) {
        if (conf) rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "config topic '%s': reader: %s", s->topic, why);
        return -1;
    }
    int64_t deadline = clock_ms() + 30000, lo = 0, hi = 0;
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_query_watermark_offsets(s->reader, s->topic, 0, &lo, &hi, 5000)) != 0 &&
           clock_ms() < deadline)
        usleep(200 * 1000);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, s->topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (!e) e = rd_kafka_assign(s->reader, l);
    rd_kafka_topic_partition_list_destroy(l);
    int64_t next = lo;
    while (!e && next < hi) {
        if (clock_ms() > deadline) {
            e = RD_KAFKA_RESP_ERR__TIMED_OUT;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->reader, 200);
        if (!m) continue;
        if (!m->err) {
            read_record(s, m);
            next = m->offset + 1;
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            next = hi; /* the end, at or past the one asked for (the rest was compacted away) */
        } else {
            log_debug("config topic '%s': %s (retrying)", s->topic, rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    if (e) {
        snprintf(err, errlen, "config topic '%s': reading it: %s", s->topic, rd_kafka_err2str(e));
        return -1;
    }
    s->next = next;
    s->loaded = 1;
    return 0;
}

static int topic_open(conn_store_t *s, char *err, size_t errlen)
{
    worker_t *w = s->w;
    char why[512];
    if (kafka_ensure_topic(w->kenv, s->topic, 1, w->wc->offsets_replication, 1, why, sizeof(why)) < 1) {
        snprintf(err, errlen, "config topic: %s", why);
        return -1;
    }
    if (topic_load(s, err, errlen) != 0) return -1;
    if (!w->wc->group_id) { /* one worker: nobody else writes it */
        rd_kafka_consumer_close(s->reader);
        rd_kafka_destroy(s->reader);
        s->reader = NULL;
    }
    rd_kafka_conf_t *conf;
    /* A write that is not delivered within the wait fails, and is not
     * delivered later either (message.timeout.ms below the wait). */
    static const char *const keys[] = {"enable.idempotence", "acks", "message.timeout.ms"};
    static const char *const values[] = {"true", "all", "10000"};
    conf = kafka_conf_new(w->kenv, KAFKA_PRODUCER, keys, values, 3, why, sizeof(why));
    if (conf) {
        rd_kafka_conf_set_dr_msg_cb(conf, store_dr_cb);
        rd_kafka_conf_set_opaque(conf, s);
        s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    }
    if (!s->producer) {
        if (conf) rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "config topic '%s': producer: %s", s->topic, why);
        return -1;
    }
    return 0;
}

conn_store_t *conn_store_open(worker_t *w, char *err, size_t errlen)
{
    conn_store_t *s = xcalloc(1, sizeof(*s));
    s->w = w;
    s->records = json_object();
    s->applied = json_object();
    int file = w->wc->offsets_store == OFFSETS_STORE_FILE;
    if (file)
        s->file = w->wc->config_file;
    else
        s->topic = w->wc->config_topic;
    if ((file ? file_load(s, err, errlen) : topic_open(s, err, errlen)) != 0) {
        conn_store_free(s);
        return NULL;
    }
    log_info("connectors from the REST API: %s %s (%zu stored)", file ? "file" : "topic", file ? s->file : s->topic,
             json_object_size(s->records));
    return s;
}

void conn_store_free(conn_store_t *s)
{
    if (!s) return;
    if (s->reader) {
        rd_kafka_consumer_close(s->reader);
        rd_kafka_destroy(s->reader);
    }
    if (s->producer) rd_kafka_destroy(s->producer);
    json_decref(s->records);
    json_decref(s->applied);
    free(s);
}

json_t *conn_store_records(const conn_store_t *s) { return s->records; }

static rd_kafka_resp_err_t topic_produce(conn_store_t *s, const char *key, const json_t *rec, void *opaque)
{
    char *value = rec ? json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        s->producer, RD_KAFKA_V_TOPIC(s->topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(value, value ? strlen(value) : 0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    free(value);
    return e;
}

static int topic_write(conn_store_t *s, const char *name, const json_t *rec, char *err, size_t errlen)
{
    char *key = str_printf(KEY_PREFIX "%s", name);
    /* Other records' reports may come first: only this one's counts. */
    s->delivery = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    s->delivered_at = -1;
    rd_kafka_resp_err_t e = topic_produce(s, key, rec, s);
    free(key);
    if (!e) e = rd_kafka_flush(s->producer, STORE_TIMEOUT_MS);
    if (e) {
        /* Not delivered in time: taken back. A request already sent may
         * still land (the caller's 500 says the outcome is unknown). */
        rd_kafka_purge(s->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(s->producer, 0);
    }
    if (!e) e = s->delivery; /* flush waits for the report; the report says how it went */
    if (e) {
        snprintf(err, errlen, "config topic '%s': %s%s", s->topic, rd_kafka_err2str(e),
                 e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT
                     ? " (it may still have been stored: GET the connector to see what holds)"
                     : "");
        return -1;
    }
    /* Carried out by the caller: not again when the reader gets to it. */
    json_object_set_new(s->applied, name, json_integer(s->delivered_at));
    return 0;
}

void conn_store_send(conn_store_t *s, const char *key, const json_t *rec)
{
    if (!s || !s->producer) return;
    rd_kafka_resp_err_t e = topic_produce(s, key, rec, NULL);
    if (e) log_warn("config topic '%s': %s: %s", s->topic, key, rd_kafka_err2str(e));
    rd_kafka_poll(s->producer, 0);
}

void conn_store_flush(conn_store_t *s, int timeout_ms)
{
    if (s && s->producer) rd_kafka_flush(s->producer, timeout_ms);
}

void conn_store_sync(conn_store_t *s)
{
    if (!s || !s->reader) return;
    int64_t lo = 0, hi = 0, deadline = clock_ms() + 3000;
    if (rd_kafka_query_watermark_offsets(s->reader, s->topic, 0, &lo, &hi, 2000) != 0) return;
    while (s->next < hi && clock_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->reader, 100);
        if (!m) continue;
        if (!m->err) read_record(s, m);
        rd_kafka_message_destroy(m);
    }
    if (s->next < hi)
        log_warn("config topic '%s': could not read up to its end (%lld of %lld) before a change: it is made on "
                 "what this worker has read", s->topic, (long long)s->next, (long long)hi);
}

void conn_store_poll(conn_store_t *s)
{
    if (!s || !s->reader) return;
    rd_kafka_poll(s->producer, 0);
    for (int i = 0; i < 100; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->reader, 0);
        if (!m) break;
        if (!m->err)
            read_record(s, m);
        else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            log_warn("config topic '%s': %s", s->topic, rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
    }
}

static int file_write(conn_store_t *s, char *err, size_t errlen)
{
    json_t *doc = json_pack("{s:O}", "connectors", s->records);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    /* Owner only: configs sent over REST may hold literal secrets. */
    int rc = file_replace_atomic(s->file, "connectors file", text, strlen(text), 0600, err, errlen);
    free(text);
    return rc;
}

int conn_store_put(conn_store_t *s, const char *name, json_t *rec, char *err, size_t errlen)
{
    json_t *old = json_object_get(s->records, name);
    json_incref(old);
    if (rec)
        json_object_set(s->records, name, rec);
    else
        json_object_del(s->records, name);
    int rc = s->file ? file_write(s, err, errlen) : topic_write(s, name, rec, err, errlen);
    if (rc != 0) { /* not stored: memory says what the store says */
        if (old)
            json_object_set(s->records, name, old);
        else
            json_object_del(s->records, name);
    }
    json_decref(old);
    return rc;
}

const char *conn_target_name(conn_target_t t)
{
    return t == CONN_PAUSED ? "PAUSED" : t == CONN_STOPPED ? "STOPPED" : "STARTED";
}

json_t *conn_store_record(uint64_t yaml_hash, const json_t *config, conn_target_t target)
{
    json_t *rec = json_object();
    if (config) json_object_set(rec, "config", (json_t *)config);
    json_object_set_new(rec, "target", json_string(conn_target_name(target)));
    if (yaml_hash) json_object_set_new(rec, "yaml.hash", json_sprintf("%016llx", (unsigned long long)yaml_hash));
    return rec;
}

uint64_t conn_store_yaml_hash(const conn_store_t *s, const char *name)
{
    const char *h = s ? json_string_value(json_object_get(json_object_get(s->records, name), "yaml.hash")) : NULL;
    return h ? strtoull(h, NULL, 16) : 0;
}
