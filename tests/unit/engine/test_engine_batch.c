/*
 * test_engine_batch.c — what batch_add makes of a plugin's records, and why
 * it matters to the offset tracker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/host.h"
#include "offsets/offsets.h"
#include "util/json_scan.h"
#include "util/topic_name.h"

static ferry_record_t rec_for(const char *topic, const char *part, const char *off)
{
    ferry_record_t r = {.topic = topic, .partition = -1, .value = "v", .value_len = 1,
                        .source_partition = part, .source_offset = off};
    return r;
}

/* The scanner agrees with jansson on what is one JSON object, and its
 * compact form parses to the same value. */
static void test_json_scan_matches_jansson(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "{}", " { } ", "{\"a\":1}", "{\"a\": 1, \"b\" : [1, 2.5e-3, -0, true, false, null]}",
        "{\"s\":\"x\\\"y\\\\z\\u00e9\\n\"}", "{\"n\":{\"m\":{\"o\":[{}]}}}", "{\"a\":0.1}",
        "[]", "1", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{\"a\":01}", "{\"a\":1.}",
        "{\"a\":.5}", "{\"a\":+1}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
        "{\"a\":1} {}", "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":\"tab\there\"}", "", "   ",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        const char *in = inputs[i];
        json_error_t jerr;
        json_t *ref = json_loads(in, JSON_DECODE_ANY, &jerr);
        int ref_ok = ref && json_is_object(ref);
        char out[256];
        int compact = -1;
        long n = json_scan_object(in, strlen(in), out, &compact);
        if ((n >= 0) != ref_ok) fail_msg("json_scan_object and jansson disagree on %s", in);
        if (n >= 0) {
            out[n] = '\0';
            json_t *again = json_loads(out, 0, &jerr);
            assert_non_null(again);
            assert_true(json_equal(ref, again));
            assert_int_equal(compact, (size_t)n == strlen(in));
            json_decref(again);
        }
        json_decref(ref);
    }
    /* Numbers are kept byte for byte, unlike a re-encode. */
    char out[64];
    long n = json_scan_object("{ \"x\" : 0.1 }", 13, out, NULL);
    assert_int_equal(n, 9);
    out[n] = '\0';
    assert_string_equal(out, "{\"x\":0.1}");
    /* Nesting is bounded. */
    char deep[200];
    memset(deep, '[', sizeof(deep));
    memcpy(deep, "{\"a\":", 5);
    assert_true(json_scan_object(deep, sizeof(deep), NULL, NULL) < 0);
}

static void test_topic_names(void **state)
{
    (void)state;
    assert_null(topic_name_problem("orders.v1_x-2"));
    assert_non_null(topic_name_problem(""));
    assert_non_null(topic_name_problem("."));
    assert_non_null(topic_name_problem(".."));
    assert_non_null(topic_name_problem("a b"));
    assert_non_null(topic_name_problem("a/b"));
    char longest[251];
    memset(longest, 'x', 250);
    longest[250] = '\0';
    assert_non_null(topic_name_problem(longest));
    longest[249] = '\0';
    assert_null(topic_name_problem(longest));
}

/* Defect 1 of the engine review: {"f":"x"} and {"f": "x"} are one
 * partition to the offset store. Before batch_add canonicalized them, the
 * tracker saw two partitions, and the later record's offset became
 * committable while the earlier record was still unacknowledged. */
static void test_spacing_is_one_partition(void **state)
{
    (void)state;
    ferry_batch_t *batch = batch_new(10, 0);
    ferry_record_t a = rec_for("t", "{\"f\": \"x\", \"a\": 1}", "{\"n\": 1}");
    ferry_record_t b = rec_for("t", "{\"a\":1,\"f\":\"x\"}", "{\"n\":2}");
    assert_int_equal(batch_add_record(batch, &a, sizeof(a)), FERRY_OK);
    assert_int_equal(batch_add_record(batch, &b, sizeof(b)), FERRY_OK);
    const ferry_record_t *ra = batch_record(batch, 0), *rb = batch_record(batch, 1);
    assert_string_equal(ra->source_partition, rb->source_partition);
    assert_string_equal(ra->source_partition, "{\"a\":1,\"f\":\"x\"}");
    assert_string_equal(ra->source_offset, "{\"n\":1}");

    offset_tracker_t *tr = offset_tracker_new();
    uint64_t ha = offset_tracker_add(tr, ra->source_partition, ra->source_offset);
    uint64_t hb = offset_tracker_add(tr, rb->source_partition, rb->source_offset);
    const ferry_offset_t *offs;
    offset_tracker_ack(tr, hb); /* the later record first */
    assert_int_equal(offset_tracker_take(tr, &offs), 0);
    offset_tracker_ack(tr, ha);
    assert_int_equal(offset_tracker_take(tr, &offs), 1);
    assert_string_equal(offs[0].source_offset, "{\"n\":2}");
    offset_tracker_free(tr);

    /* The partition form matches what the store uses for lookups. */
    char *canonical = offsets_json_canonical(a.source_partition, strlen(a.source_partition));
    assert_string_equal(canonical, ra->source_partition);
    free(canonical);
    batch_free(batch);
}

/* Alternating partitions (the cache) and reused plugin buffers. */
static void test_partition_cache_by_content(void **state)
{
    (void)state;
    ferry_batch_t *batch = batch_new(100, 0);
    char buf[64];
    for (int i = 0; i < 60; i++) {
        snprintf(buf, sizeof(buf), "{ \"stream\" : %d }", i % 3);
        ferry_record_t r = rec_for("t", buf, "{\"n\":0}");
        assert_int_equal(batch_add_record(batch, &r, sizeof(r)), FERRY_OK);
    }
    for (int i = 0; i < 60; i++) {
        snprintf(buf, sizeof(buf), "{\"stream\":%d}", i % 3);
        assert_string_equal(batch_record(batch, (size_t)i)->source_partition, buf);
    }
    batch_reset(batch);
    /* After a reset the arena is reused: nothing may point to old copies. */
    ferry_record_t r = rec_for("t", "{ \"stream\" : 1 }", "{\"n\":0}");
    assert_int_equal(batch_add_record(batch, &r, sizeof(r)), FERRY_OK);
    assert_string_equal(batch_record(batch, 0)->source_partition, "{\"stream\":1}");
    batch_free(batch);
}

static void test_refusals(void **state)
{
    (void)state;
    batch_rules_t rules = {.default_topic = NULL, .offsets_topic = "ferry-offsets", .tolerate_all = 0};
    ferry_batch_t *batch = batch_new(10, 0);
    batch_set_rules(batch, &rules);
    char long_topic[300];
    memset(long_topic, 'x', sizeof(long_topic) - 1);
    long_topic[sizeof(long_topic) - 1] = '\0';
    struct {
        ferry_record_t rec;
        const char *reason;
    } cases[] = {
        {rec_for(NULL, NULL, NULL), "the record has no topic and the connector has no 'topic' option"},
        {rec_for(long_topic, NULL, NULL), "a topic name is at most 249 characters long"},
        {rec_for("a b", NULL, NULL), "may only contain letters"},
        {rec_for("ferry-offsets", NULL, NULL), "it is the worker's offsets topic"},
        {rec_for("t", "[1]", "{}"), "its source partition is not a JSON object"},
        {rec_for("t", "{}", "42"), "its source offset is not a JSON object"},
        {rec_for("t", "{\"a\":1", "{}"), "its source partition is not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        batch_reset(batch);
        assert_int_equal(batch_add_record(batch, &cases[i].rec, sizeof(cases[i].rec)), FERRY_ERROR);
        assert_int_equal(batch_size(batch), 0);
        assert_non_null(batch_error(batch));
        if (!strstr(batch_error(batch), cases[i].reason)) fail_msg("case %zu: %s", i, batch_error(batch));
    }
    /* A long topic name is shown cut in the middle. */
    batch_reset(batch);
    assert_int_equal(batch_add_record(batch, &cases[1].rec, sizeof(cases[1].rec)), FERRY_ERROR);
    assert_true(strlen(batch_error(batch)) < 200);
    assert_non_null(strstr(batch_error(batch), "..."));

    /* With errors.tolerance: all the record is kept and flagged. */
    rules.tolerate_all = 1;
    rules.default_topic = "fallback";
    batch_reset(batch);
    ferry_record_t bad = rec_for("a b", "{\"p\":1}", "{\"o\":1}");
    ferry_record_t worse = rec_for(NULL, "{\"p\":1}", "not json");
    assert_int_equal(batch_add_record(batch, &bad, sizeof(bad)), FERRY_OK);
    assert_int_equal(batch_add_record(batch, &worse, sizeof(worse)), FERRY_OK);
    assert_null(batch_error(batch));
    int valid = -1;
    assert_non_null(batch_record_problem(batch, 0, &valid, NULL));
    assert_int_equal(valid, 1);
    assert_string_equal(batch_record(batch, 0)->topic, "a b");
    assert_non_null(batch_record_problem(batch, 1, &valid, NULL));
    assert_int_equal(valid, 0);
    assert_string_equal(batch_record(batch, 1)->topic, "fallback");
    assert_string_equal(batch_record(batch, 1)->source_offset, "not json");

    /* With transforms after the batch, a topic is only required here: a
     * RegexRouter may still repair its name (the chain checks what it
     * leaves). A missing topic is refused as before. */
    rules.tolerate_all = 0;
    rules.default_topic = NULL;
    rules.topic_after_chain = 1;
    batch_reset(batch);
    ferry_record_t spaced = rec_for("a b", NULL, NULL), offsets = rec_for("ferry-offsets", NULL, NULL);
    assert_int_equal(batch_add_record(batch, &spaced, sizeof(spaced)), FERRY_OK);
    assert_int_equal(batch_add_record(batch, &offsets, sizeof(offsets)), FERRY_OK);
    assert_null(batch_record_problem(batch, 0, NULL, NULL));
    assert_string_equal(batch_record(batch, 0)->topic, "a b");
    assert_int_equal(batch_add_record(batch, &cases[0].rec, sizeof(cases[0].rec)), FERRY_ERROR);
    batch_free(batch);
}

/* record_error from a source (batch_add_failed): the plugin's reason, like a
 * refusal: kept and flagged with errors.tolerance: all, else refused. */
static void test_reported_failures(void **state)
{
    (void)state;
    batch_rules_t rules = {.default_topic = NULL, .offsets_topic = "ferry-offsets", .tolerate_all = 0};
    ferry_batch_t *batch = batch_new(2, 0);
    batch_set_rules(batch, &rules);
    ferry_record_t rec = rec_for("outbox.event.", "{\"p\":1}", "{\"o\":1}");
    assert_int_equal(batch_add_failed(batch, &rec, sizeof(rec), "cannot be routed"), FERRY_ERROR);
    assert_int_equal(batch_size(batch), 0);
    assert_non_null(batch_error(batch));
    assert_non_null(strstr(batch_error(batch), "cannot be routed"));

    rules.tolerate_all = 1;
    batch_reset(batch);
    ferry_record_t good = rec_for("t", "{\"p\":1}", "{\"o\":2}");
    assert_int_equal(batch_add_failed(batch, &rec, sizeof(rec), "cannot be routed"), FERRY_OK);
    assert_int_equal(batch_add_record(batch, &good, sizeof(good)), FERRY_OK);
    assert_null(batch_error(batch));
    int valid = -1;
    assert_string_equal(batch_record_problem(batch, 0, &valid, NULL), "cannot be routed");
    assert_int_equal(valid, 1); /* its offset counts once it is dead-lettered */
    assert_true(batch_record_reported(batch, 0));
    assert_string_equal(batch_record(batch, 0)->source_offset, "{\"o\":1}");
    assert_null(batch_record_problem(batch, 1, NULL, NULL));
    assert_false(batch_record_reported(batch, 1));
    assert_int_equal(batch_add_failed(batch, &rec, sizeof(rec), "full"), FERRY_RETRY);
    batch_free(batch);
}

/* A 1.0 plugin's record is read only as far as 1.0 had members; batch_alloc
 * memory is kept without a second copy. */
static void test_sizes_and_batch_alloc(void **state)
{
    (void)state;
    ferry_batch_t *batch = batch_new(10, 0);
    ferry_record_t r = rec_for("t", NULL, NULL);
    r.timestamp_type = 77;
    r.flags = 5;
    assert_int_equal(batch_add_record(batch, &r, FERRY_RECORD_SIZE_1_0), FERRY_OK);
    assert_int_equal(batch_record(batch, 0)->timestamp_type, 0);
    assert_int_equal(batch_record(batch, 0)->flags, 0);
    char *value = batch_alloc(batch, 100);
    assert_non_null(value);
    memset(value, 'z', 100);
    r.value = value;
    r.value_len = 100;
    assert_int_equal(batch_add_record(batch, &r, sizeof(r)), FERRY_OK);
    assert_ptr_equal(batch_record(batch, 1)->value, value);
    /* Plugin memory is copied. */
    char mine[4] = "abc";
    r.value = mine;
    r.value_len = 3;
    assert_int_equal(batch_add_record(batch, &r, sizeof(r)), FERRY_OK);
    assert_ptr_not_equal(batch_record(batch, 2)->value, mine);
    assert_null(batch_alloc(batch, 0));
    batch_free(batch);
}

/* offset_get returns one copy per stored value, not one per call. */
static void test_offset_get_does_not_grow(void **state)
{
    (void)state;
    offset_map_t *map = offset_map_new();
    offset_map_put(map, "c", "{\"p\":1}", "{\"o\":1}");
    ferry_task_t *task = host_task_new("c", 0, map);
    const ferry_host_t *host = host_api();
    const char *first = host->offset_get(task, "{\"p\": 1}");
    assert_string_equal(first, "{\"o\":1}");
    for (int i = 0; i < 1000; i++) assert_ptr_equal(host->offset_get(task, "{\"p\": 1}"), first);
    assert_int_equal(task->offset_copy_count, 1);
    offset_map_put(map, "c", "{\"p\":1}", "{\"o\":2}");
    const char *second = host->offset_get(task, "{\"p\": 1}");
    assert_string_equal(second, "{\"o\":2}");
    assert_string_equal(first, "{\"o\":1}"); /* still valid until close */
    assert_null(host->offset_get(task, "{\"p\":9}"));
    host_task_free(task);
    offset_map_free(map);
}

/* Metric names added from several threads never share a slot. */
static void *add_metrics(void *arg)
{
    ferry_task_t *task = arg;
    char name[32];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        host_api()->metric_add(task, name, 1);
    }
    return NULL;
}

static void test_metrics_threads(void **state)
{
    (void)state;
    ferry_task_t *task = host_task_new("c", 0, NULL);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, add_metrics, task);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&task->metric_count), 20);
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof(name), "m%d", i);
        assert_true(host_task_metric(task, name) == 4.0);
    }
    host_task_free(task);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_scan_matches_jansson), cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_spacing_is_one_partition),  cmocka_unit_test(test_partition_cache_by_content),
        cmocka_unit_test(test_refusals),                  cmocka_unit_test(test_reported_failures),
        cmocka_unit_test(test_sizes_and_batch_alloc),
        cmocka_unit_test(test_offset_get_does_not_grow),  cmocka_unit_test(test_metrics_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
