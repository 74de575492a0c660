/*
 * gateway.c — the `gateway` plugin: a consumer gateway in the manner of
 * Liiklus. Applications subscribe to a topic as a group, receive each
 * assigned partition as a stream with backpressure and acknowledge
 * positions, over gRPC (Liiklus's LiiklusService, gw_grpc.c) or plain HTTP
 * (gw_http.c); the core (gw.h) keeps the group's positions as Kafka consumer
 * offsets and serves offsets older than Kafka's earliest from the S3
 * archive (gw_cold.h).
 *
 * It is a source connector with one task that writes nothing through the
 * host: Publish goes to Kafka with the gateway's own producer (a client
 * waits for its record's offset). The task's poll() only waits, and
 * expires idle HTTP subscriptions. The servers start in open() and stop in
 * stop()/close(), so reload, pause and shutdown work as for any connector.
 */
#include <ferry/ferry.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw.h"
#include "gw_grpc.h"
#include "gw_http.h"
#include "s3_conn.h"

static const ferry_option_t gateway_options[] = {
    {"listen", FERRY_OPT_STRING, "127.0.0.1:6565", 0, 0, 0, NULL,
     "Address of the gRPC service (Liiklus's LiiklusService), host:port; port 0 picks a free one; off = no gRPC."},
    {"http.listen", FERRY_OPT_STRING, "off", 0, 0, 0, NULL,
     "Address of the HTTP interface (subscribe, receive as NDJSON or Server-Sent Events, ack), host:port; off = none."},
    {"topics", FERRY_OPT_LIST, "", FERRY_OPT_TOPIC, 0, 0, NULL,
     "Topics clients may use; empty = any topic."},
    {"auth.tokens", FERRY_OPT_MAP, NULL, 0, 0, 0, NULL,
     "Bearer tokens per group (group: token; use ${env:...} or ${file:...}): a client acting for a group sends "
     "`authorization: Bearer <token>`; Publish and GetEndOffsets take any of them. Empty = no authentication."},
    {"tls.cert.file", FERRY_OPT_STRING, "", 0, 0, 0, NULL,
     "PEM certificate (chain) for TLS on both interfaces; empty = plaintext."},
    {"tls.key.file", FERRY_OPT_STRING, "", 0, 0, 0, NULL, "PEM private key of tls.cert.file."},
    {"max.in.flight.per.partition", FERRY_OPT_INT, "1000", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "Records a stream sends ahead of the client's acknowledgements, per partition; 0 = no limit. The "
     "HTTP interface's credit lowers it per stream."},
    {"ack.timeout", FERRY_OPT_DURATION, "60s", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "A stream whose window (max.in.flight.per.partition) stays full this long ends with DEADLINE_EXCEEDED; "
     "receiving again resends from the last acknowledged offset. 0 = wait for ever."},
    {"session.timeout", FERRY_OPT_DURATION, "30s", FERRY_OPT_HAS_MIN, 1000, 0, NULL,
     "An HTTP subscription that no request touched this long is closed and its partitions released."},
    /* The archive (s3-sink's, same option names); no bucket = no cold reads. */
    S3_STORE_OPTIONS(0),
    FERRY_OPTIONS_END};

typedef struct gateway {
    const ferry_host_t *host;
    ferry_task_t *task;
    gw_t *gw;
    gw_grpc_t *grpc;
    gw_http_t *http;
    s3_client_t *probe; /* the archive's client, which s3_conn_open checked the bucket with; streams dup it */
    char topics_dir[1024];
    int stopped;
} gateway_t;

static ferry_status_t gateway_validate(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err)
{
    const char *g = host->cfg_string(cfg, "listen"), *h = host->cfg_string(cfg, "http.listen");
    if (strcmp(g, "off") == 0 && strcmp(h, "off") == 0)
        return ferry_error_set(err, FERRY_FATAL, "listen and http.listen are both off: the gateway would serve nobody");
    const char *cert = host->cfg_string(cfg, "tls.cert.file"), *key = host->cfg_string(cfg, "tls.key.file");
    if ((*cert != '\0') != (*key != '\0'))
        return ferry_error_set(err, FERRY_FATAL, "tls.cert.file and tls.key.file go together");
    return FERRY_OK;
}

static void gateway_free(gateway_t *gwc)
{
    gw_stop(gwc->gw);
    gw_grpc_stop(gwc->grpc);
    gw_http_stop(gwc->http);
    gw_free(gwc->gw);
    s3_client_free(gwc->probe);
    gwc->host->free(gwc);
}

static ferry_status_t gateway_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                   void **state, ferry_error_t *err)
{
    if (!FERRY_HOST_HAS(host, kafka_settings))
        return ferry_error_set(err, FERRY_FATAL, "the gateway needs a host with ABI 1.3 (kafka_settings)");
    gateway_t *gwc = host->alloc(sizeof(*gwc));
    if (!gwc) return ferry_error_set(err, FERRY_ERROR, "out of memory");
    memset(gwc, 0, sizeof(*gwc));
    gwc->host = host;
    gwc->task = task;

    gw_settings_t s = {0};
    s.topic_count = host->cfg_list(cfg, "topics", &s.topics);
    s.token_count = host->cfg_map(cfg, "auth.tokens", &s.token_groups, &s.tokens);
    s.max_in_flight = host->cfg_int(cfg, "max.in.flight.per.partition");
    s.ack_timeout_ms = host->cfg_duration_ms(cfg, "ack.timeout");
    s.session_timeout_ms = host->cfg_duration_ms(cfg, "session.timeout");
    s.consumer.count = host->kafka_settings(task, 1, &s.consumer.keys, &s.consumer.values);
    s.producer.count = host->kafka_settings(task, 0, &s.producer.keys, &s.producer.values);
    const char *bucket = host->cfg_string(cfg, "s3.bucket.name");
    if (bucket && *bucket) {
        /* Checks the bucket once, with the same messages as s3-sink; each
         * stream that reads the archive then makes a client of its own. */
        ferry_status_t st = s3_conn_open(task, host, cfg, "gateway archive", &gwc->probe, err);
        if (st != FERRY_OK) {
            host->free(gwc);
            return st;
        }
        s3_conn_topics_dir(host, cfg, gwc->topics_dir, sizeof(gwc->topics_dir));
        s.cold_s3 = gwc->probe;
        s.cold_prefix = gwc->topics_dir;
    }
    gw_error_t gerr = {0};
    gwc->gw = gw_new(&s, task, host, &gerr);
    const char *cert = host->cfg_string(cfg, "tls.cert.file"), *key = host->cfg_string(cfg, "tls.key.file");
    const char *listen = host->cfg_string(cfg, "listen"), *http_listen = host->cfg_string(cfg, "http.listen");
    if (gwc->gw && strcmp(listen, "off") != 0) {
        gwc->grpc = gw_grpc_start(gwc->gw, listen, cert, key, &gerr);
        if (gwc->grpc)
            host->log(task, FERRY_LOG_INFO, "gateway: gRPC (LiiklusService) on %s%s", gw_grpc_address(gwc->grpc),
                      *cert ? " (TLS)" : "");
    }
    if (gwc->gw && gerr.code == GW_OK && strcmp(http_listen, "off") != 0) {
        gwc->http = gw_http_start(gwc->gw, http_listen, cert, key, &gerr);
        if (gwc->http)
            host->log(task, FERRY_LOG_INFO, "gateway: HTTP on %s%s", gw_http_address(gwc->http), *cert ? " (TLS)" : "");
    }
    if (!gwc->gw || gerr.code != GW_OK) {
        gateway_free(gwc);
        /* A taken port or a bad certificate stays so: no restart loop. */
        return ferry_error_set(err, FERRY_FATAL, "gateway: %s", gerr.msg);
    }
    if (s.cold_s3)
        host->log(task, FERRY_LOG_INFO, "gateway: offsets older than Kafka's are read from s3://%s/%s", bucket,
                  gwc->topics_dir);
    *state = gwc;
    return FERRY_OK;
}

static ferry_status_t gateway_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    (void)batch;
    (void)err;
    gateway_t *gwc = state;
    gw_http_expire(gwc->http);
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    return FERRY_OK;
}

static void gateway_stop(void *state)
{
    gateway_t *gwc = state;
    gw_stop(gwc->gw);
}

static void gateway_close(void *state)
{
    if (state) gateway_free(state);
}

static const ferry_connector_t gateway_source = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "gateway",
    .version = "0.1.0",
    .description = "Consumer gateway (Liiklus's gRPC API, and HTTP): applications subscribe to topics as "
                   "a group, receive each assigned partition with backpressure and acknowledge; positions "
                   "are the group's Kafka offsets; offsets older than Kafka's are read from the S3 archive.",
    .options = gateway_options,
    .option_size = sizeof(ferry_option_t),
    .validate = gateway_validate,
    .open = gateway_open,
    .poll = gateway_poll,
    .close = gateway_close,
    .stop = gateway_stop,
};

static const ferry_connector_t *const gateway_connectors[] = {&gateway_source, NULL};

static const ferry_plugin_t gateway_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "gateway",
    .version = "0.1.0",
    .connectors = gateway_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void) { return &gateway_plugin; }
