/*
 * chaos_broker.c — a librdkafka mock cluster that misbehaves on a schedule,
 * for tests/e2e/chaos.sh (tests only). Faults, all of which a real cluster
 * produces in normal life and none of which may cost a record:
 *   leaders:     every 3 s the leader of every partition of each topic moves on;
 *   coordinator: every 10 s the group coordinator of each group moves between
 *                the two prompt brokers (a join takes the mock ~3 s, so moving
 *                more often than that, or onto the slow broker, would never
 *                let a group form);
 *   produce:     every 2 s three produce requests fail with retriable errors;
 *   commit:      every 2 s three offset commits fail with coordinator errors;
 *   rtt:         broker 2 answers everything 2 s late.
 * The faults start once the file named by CHAOS_START_FILE exists (the
 * test creates it when records flow end to end), or else after
 * CHAOS_CALM_S seconds (default 8).
 * usage: chaos_broker TOPIC:PARTITIONS... [--group NAME]... [--without FAULT]...
 * Prints the bootstrap address on the first line and runs until SIGTERM.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BROKERS 3
/* Kafka protocol ApiKeys (not in librdkafka's public headers). */
#define API_PRODUCE 0
#define API_OFFSET_COMMIT 8

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig, stop = 1; }

typedef struct topic {
    char name[128];
    int partitions;
} topic_t;

int main(int argc, char **argv)
{
    topic_t topics[16];
    const char *groups[16];
    int ntopics = 0, ngroups = 0;
    int leaders = 1, coordinator = 1, produce = 1, commit = 1, rtt = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--without") == 0 && i + 1 < argc) {
            const char *w = argv[++i];
            leaders &= strcmp(w, "leaders") != 0;
            coordinator &= strcmp(w, "coordinator") != 0;
            produce &= strcmp(w, "produce") != 0;
            commit &= strcmp(w, "commit") != 0;
            rtt &= strcmp(w, "rtt") != 0;
            continue;
        }
        if (strcmp(argv[i], "--group") == 0 && i + 1 < argc) {
            if (ngroups < 16) groups[ngroups++] = argv[++i];
            continue;
        }
        if (ntopics == 16) continue;
        topic_t *t = &topics[ntopics++];
        snprintf(t->name, sizeof(t->name), "%s", argv[i]);
        char *colon = strrchr(t->name, ':');
        t->partitions = colon ? atoi(colon + 1) : 1;
        if (colon) *colon = '\0';
        if (t->partitions < 1) t->partitions = 1;
    }
    /* Retriable answers a real broker gives. Not NOT_LEADER_FOR_PARTITION:
     * real leader moves (leaders) produce real ones. */
    rd_kafka_resp_err_t produce_errs[8] = {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                           RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT};
    size_t nproduce_errs = 3;
    if (getenv("CHAOS_PRODUCE_ERRORS")) { /* comma-separated codes, to study one at a time */
        nproduce_errs = 0;
        char *copy = strdup(getenv("CHAOS_PRODUCE_ERRORS")), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && nproduce_errs < 8; t = strtok_r(NULL, ",", &save))
            produce_errs[nproduce_errs++] = (rd_kafka_resp_err_t)atoi(t);
        free(copy);
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "chaos_broker: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, BROKERS);
    rd_kafka_mock_topic_create(mc, "ferry-offsets", 25, BROKERS);
    for (int i = 0; i < ntopics; i++) rd_kafka_mock_topic_create(mc, topics[i].name, topics[i].partitions, BROKERS);
    if (rtt) rd_kafka_mock_broker_set_rtt(mc, 2, 2000);
    for (int g = 0; g < ngroups; g++) rd_kafka_mock_coordinator_set(mc, "group", groups[g], 1);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    /* Faults begin after a calm start, so that the pipeline under test has
     * started and its group has formed once; what is tested is surviving
     * them, not starting amid them. */
    const char *start_file = getenv("CHAOS_START_FILE");
    long calm = getenv("CHAOS_CALM_S") ? atol(getenv("CHAOS_CALM_S")) : 8;
    if (start_file)
        while (!stop && access(start_file, F_OK) != 0) usleep(100 * 1000);
    else
        for (long i = 0; i < calm * 10 && !stop; i++) usleep(100 * 1000);
    fprintf(stderr, "chaos_broker: faults start\n");
    for (long tick = 1; !stop; tick++) {
        usleep(1000 * 1000);
        if (leaders && tick % 3 == 0)
            for (int i = 0; i < ntopics; i++)
                for (int p = 0; p < topics[i].partitions; p++)
                    rd_kafka_mock_partition_set_leader(mc, topics[i].name, p, (int32_t)((tick / 3 + p) % BROKERS) + 1);
        if (coordinator && tick % 10 == 0)
            for (int g = 0; g < ngroups; g++)
                rd_kafka_mock_coordinator_set(mc, "group", groups[g], (tick / 10) % 2 ? 3 : 1);
        if (produce && tick % 2 == 0)
            rd_kafka_mock_push_request_errors_array(mc, API_PRODUCE, nproduce_errs, produce_errs);
        if (commit && tick % 2 == 0)
            rd_kafka_mock_push_request_errors(mc, API_OFFSET_COMMIT, 3, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                              RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
