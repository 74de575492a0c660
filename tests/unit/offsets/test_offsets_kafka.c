/*
 * test_offsets_kafka.c — the Kafka store against librdkafka's in-process
 * mock cluster: records produced with offsets_record_encode() by a real
 * producer are read back by offsets_kafka_load(), and by python3-confluent-
 * kafka (a client no one here wrote) when it is installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "offsets/offsets.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPIC "connect-offsets"
#define NPART 3

typedef struct cluster {
    rd_kafka_t *rk; /* dummy handle that owns the mock cluster */
    rd_kafka_mock_cluster_t *mcluster;
    rd_kafka_t *producer;
    char bootstraps[256];
} cluster_t;

static rd_kafka_conf_t *conf_with(const char *bootstraps)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof(errstr)),
        RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    return conf;
}

static int setup_cluster(void **state)
{
    char errstr[256];
    cluster_t *cl = calloc(1, sizeof(*cl));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    cl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!cl->rk) return -1;
    cl->mcluster = rd_kafka_mock_cluster_new(cl->rk, 1);
    if (!cl->mcluster) return -1;
    snprintf(cl->bootstraps, sizeof(cl->bootstraps), "%s",
             rd_kafka_mock_cluster_bootstraps(cl->mcluster));
    if (rd_kafka_mock_topic_create(cl->mcluster, TOPIC, NPART, 1) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    cl->producer =
        rd_kafka_new(RD_KAFKA_PRODUCER, conf_with(cl->bootstraps), errstr, sizeof(errstr));
    if (!cl->producer) return -1;
    *state = cl;
    return 0;
}

static int teardown_cluster(void **state)
{
    cluster_t *cl = *state;
    rd_kafka_destroy(cl->producer);
    rd_kafka_mock_cluster_destroy(cl->mcluster);
    rd_kafka_destroy(cl->rk);
    free(cl);
    return 0;
}

/* Produces one offset record exactly as the engine will: encoded key/value
 * on the partition murmur2 picks. */
static int32_t produce(cluster_t *cl, const char *connector, const char *partition,
                       const char *offset)
{
    char *key = NULL, *value = NULL;
    size_t klen = 0, vlen = 0;
    int32_t p = -1;
    assert_int_equal(
        offsets_record_encode(connector, partition, offset, NPART, &key, &klen, &value, &vlen, &p),
        0);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        cl->producer, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(p), RD_KAFKA_V_KEY(key, klen),
        RD_KAFKA_V_VALUE(value, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    free(key);
    free(value);
    return p;
}

static void produce_raw(cluster_t *cl, int32_t p, const char *key, const char *value)
{
    rd_kafka_resp_err_t err =
        rd_kafka_producev(cl->producer, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(p),
                          RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)value, value ? strlen(value) : 0),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
}

static void test_load_last_wins_and_tombstones(void **state)
{
    cluster_t *cl = *state;
    char err[512] = "";
    int used[NPART] = {0};
    used[produce(cl, "shop-cdc", "{\"server\":\"shop\"}", "{\"lsn\":1,\"txId\":1,\"ts_usec\":1}")] =
        1;
    used[produce(cl, "fs", "{\"filename\":\"/tmp/a.txt\"}", "{\"position\":1234}")] = 1;
    used[produce(cl, "gone", "{\"p\":1}", "{\"o\":1}")] = 1;
    char part[64], off[64];
    for (int i = 0; i < 30; i++) { /* spread over every partition */
        snprintf(part, sizeof(part), "{\"file\":\"f%d\"}", i);
        snprintf(off, sizeof(off), "{\"position\":%d}", i);
        used[produce(cl, "many", part, off)] = 1;
    }
    produce(cl, "shop-cdc", "{\"server\":\"shop\"}",
            "{\"lsn\":24023128,\"txId\":755,\"ts_usec\":1700000000000000}");
    produce(cl, "gone", "{\"p\":1}", NULL); /* tombstone */
    /* Garbage from some other writer is skipped with a warning. */
    produce_raw(cl, 0, "not a key", "{\"o\":1}");
    assert_int_equal(rd_kafka_flush(cl->producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_true(used[0] && used[1] && used[2]);

    offset_map_t *map = offset_map_new();
    assert_int_equal(
        offsets_kafka_load(conf_with(cl->bootstraps), TOPIC, map, 15000, err, sizeof(err)), 0);
    assert_string_equal(offset_map_get(map, "shop-cdc", "{\"server\":\"shop\"}"),
                        "{\"lsn\":24023128,\"txId\":755,\"ts_usec\":1700000000000000}");
    assert_string_equal(offset_map_get(map, "fs", "{\"filename\":\"/tmp/a.txt\"}"),
                        "{\"position\":1234}");
    assert_null(offset_map_get(map, "gone", "{\"p\":1}"));
    assert_string_equal(offset_map_get(map, "many", "{\"file\":\"f29\"}"), "{\"position\":29}");
    assert_int_equal(offset_map_count(map), 32);
    offset_map_free(map);

    /* Loading twice (a second reader, a new throwaway group) gives the same. */
    map = offset_map_new();
    assert_int_equal(
        offsets_kafka_load(conf_with(cl->bootstraps), TOPIC, map, 15000, err, sizeof(err)), 0);
    assert_int_equal(offset_map_count(map), 32);
    offset_map_free(map);
}

/* Reads the topic with python3-confluent-kafka and checks each record's
 * partition is the one Kafka's Java partitioner would pick for its key. */
static void test_other_client_sees_java_partitioning(void **state)
{
    cluster_t *cl = *state;
    if (system("/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1") != 0) {
        print_message("python3-confluent-kafka not installed: skipped\n");
        skip();
    }
    produce(cl, "py", "{\"server\":\"x\"}", "{\"lsn\":7}");
    for (int i = 0; i < 12; i++) {
        char part[64];
        snprintf(part, sizeof(part), "{\"file\":\"/data/%d.log\"}", i);
        produce(cl, "py", part, "{\"position\":1}");
    }
    assert_int_equal(rd_kafka_flush(cl->producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 - <<'EOF'\n"
             "from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING\n"
             "c = Consumer({'bootstrap.servers': '%s', 'group.id': 'pycheck',\n"
             "              'enable.auto.commit': False, 'enable.partition.eof': True})\n"
             "c.assign([TopicPartition('%s', p, OFFSET_BEGINNING) for p in range(%d)])\n"
             "eof = set(); n = 0\n"
             "while len(eof) < %d and n < 200:\n"
             "    m = c.poll(1.0); n += 1\n"
             "    if m is None: continue\n"
             "    if m.error():\n"
             "        eof.add(m.partition()); continue\n"
             "    if m.key().startswith(b'[\"py\"'):\n"
             "        print(m.partition(), m.key().hex(), m.value().decode())\n"
             "c.close()\n"
             "EOF\n",
             cl->bootstraps, TOPIC, NPART, NPART);
    FILE *py = popen(cmd, "r");
    assert_non_null(py);
    int p, seen = 0;
    char hex[512], value[256];
    while (fscanf(py, "%d %511s %255s", &p, hex, value) == 3) {
        unsigned char key[256];
        size_t klen = strlen(hex) / 2;
        for (size_t i = 0; i < klen; i++) sscanf(hex + 2 * i, "%2hhx", &key[i]);
        assert_int_equal(p, offsets_partition_for_key(key, klen, NPART));
        seen++;
    }
    assert_int_equal(pclose(py), 0);
    assert_int_equal(seen, 13);
}

static void test_missing_topic_is_empty(void **state)
{
    cluster_t *cl = *state;
    char err[512] = "";
    offset_map_t *map = offset_map_new();
    assert_int_equal(offsets_kafka_load(conf_with(cl->bootstraps), "no-such-topic", map, 10000, err,
                                        sizeof(err)),
                     0);
    assert_int_equal(offset_map_count(map), 0);
    offset_map_free(map);
}

static void test_empty_topic_is_empty(void **state)
{
    cluster_t *cl = *state;
    char err[512] = "";
    assert_int_equal(rd_kafka_mock_topic_create(cl->mcluster, "empty-offsets", 5, 1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    offset_map_t *map = offset_map_new();
    assert_int_equal(offsets_kafka_load(conf_with(cl->bootstraps), "empty-offsets", map, 10000, err,
                                        sizeof(err)),
                     0);
    assert_int_equal(offset_map_count(map), 0);
    offset_map_free(map);
}

static void test_unreachable_broker_times_out(void **state)
{
    (void)state;
    char err[512] = "";
    offset_map_t *map = offset_map_new();
    assert_int_equal(
        offsets_kafka_load(conf_with("127.0.0.1:1"), TOPIC, map, 1500, err, sizeof(err)), -1);
    assert_non_null(strstr(err, TOPIC));
    print_message("error as reported: %s\n", err);
    offset_map_free(map);
}

static void test_bad_config_is_an_error(void **state)
{
    (void)state;
    char err[512] = "", errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Valid to set, refused by rd_kafka_new(): the conf must still be freed. */
    rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "security.protocol", "ssl", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "ssl.key.location", "/nonexistent/ferry.key", errstr, sizeof(errstr));
    offset_map_t *map = offset_map_new();
    int rc = offsets_kafka_load(conf, TOPIC, map, 500, err, sizeof(err));
    assert_int_equal(rc, -1);
    assert_true(err[0] != '\0');
    print_message("error as reported: %s\n", err);
    offset_map_free(map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_last_wins_and_tombstones),
        cmocka_unit_test(test_other_client_sees_java_partitioning),
        cmocka_unit_test(test_missing_topic_is_empty),
        cmocka_unit_test(test_empty_topic_is_empty),
        cmocka_unit_test(test_unreachable_broker_times_out),
        cmocka_unit_test(test_bad_config_is_an_error),
    };
    return cmocka_run_group_tests(tests, setup_cluster, teardown_cluster);
}
