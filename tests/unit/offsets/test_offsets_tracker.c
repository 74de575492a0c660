/*
 * test_offsets_tracker.c — committable offsets from out-of-order acks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "offsets/offsets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P1 "{\"server\":\"a\"}"
#define P2 "{\"server\":\"b\"}"

/* The offset take() reports for partition, or NULL when it reports none. */
static const char *find(const ferry_offset_t *offs, size_t n, const char *partition)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(offs[i].source_partition, partition) == 0) return offs[i].source_offset;
    }
    return NULL;
}

static void test_in_order(void **state)
{
    (void)state;
    offset_tracker_t *tr = offset_tracker_new();
    const ferry_offset_t *offs;
    uint64_t h1 = offset_tracker_add(tr, P1, "{\"lsn\":1}");
    uint64_t h2 = offset_tracker_add(tr, P1, "{\"lsn\":2}");
    assert_true(h1 != 0 && h2 != 0 && h1 != h2);
    assert_int_equal(offset_tracker_pending(tr), 2);
    assert_int_equal(offset_tracker_take(tr, &offs), 0);

    offset_tracker_ack(tr, h1);
    assert_int_equal(offset_tracker_pending(tr), 1);
    assert_int_equal(offset_tracker_take(tr, &offs), 1);
    assert_string_equal(offs[0].source_partition, P1);
    assert_string_equal(offs[0].source_offset, "{\"lsn\":1}");

    offset_tracker_ack(tr, h2);
    assert_int_equal(offset_tracker_pending(tr), 0);
    assert_int_equal(offset_tracker_take(tr, &offs), 1);
    assert_string_equal(offs[0].source_offset, "{\"lsn\":2}");
    assert_int_equal(offset_tracker_take(tr, &offs), 0); /* nothing changed since */
    offset_tracker_free(tr);
    offset_tracker_free(NULL);
}

/* A record delivered three times (fanout copies): its offset counts after
 * the third ack only. */
static void test_held_until_every_copy(void **state)
{
    (void)state;
    offset_tracker_t *tr = offset_tracker_new();
    const ferry_offset_t *offs;
    uint64_t h = offset_tracker_add(tr, P1, "{\"lsn\":5}");
    offset_tracker_hold(tr, h);
    offset_tracker_hold(tr, h);
    offset_tracker_ack(tr, h);
    offset_tracker_ack(tr, h);
    assert_int_equal(offset_tracker_pending(tr), 1);
    assert_int_equal(offset_tracker_take(tr, &offs), 0);
    offset_tracker_ack(tr, h);
    assert_int_equal(offset_tracker_pending(tr), 0);
    assert_int_equal(offset_tracker_take(tr, &offs), 1);
    assert_string_equal(offs[0].source_offset, "{\"lsn\":5}");
    offset_tracker_free(tr);
}

static void test_out_of_order_only_contiguous_prefix(void **state)
{
    (void)state;
    offset_tracker_t *tr = offset_tracker_new();
    const ferry_offset_t *offs;
    uint64_t h[5];
    char off[32];
    for (int i = 0; i < 5; i++) {
        snprintf(off, sizeof(off), "{\"lsn\":%d}", i + 1);
        h[i] = offset_tracker_add(tr, P1, off);
    }
    offset_tracker_ack(tr, h[4]);
    offset_tracker_ack(tr, h[2]);
    offset_tracker_ack(tr, h[1]);
    assert_int_equal(offset_tracker_take(tr, &offs), 0); /* record 1 still in flight */
    assert_int_equal(offset_tracker_pending(tr), 2);

    offset_tracker_ack(tr, h[0]);
    assert_int_equal(offset_tracker_take(tr, &offs), 1);
    assert_string_equal(offs[0].source_offset, "{\"lsn\":3}"); /* 1,2,3 acked; 4 not */

    offset_tracker_ack(tr, h[3]);
    assert_int_equal(offset_tracker_take(tr, &offs), 1);
    assert_string_equal(offs[0].source_offset, "{\"lsn\":5}");
    assert_int_equal(offset_tracker_pending(tr), 0);

    /* Duplicate, unknown and zero handles change nothing. */
    offset_tracker_ack(tr, h[3]);
    offset_tracker_ack(tr, 0);
    offset_tracker_ack(tr, 999999);
    assert_int_equal(offset_tracker_pending(tr), 0);
    assert_int_equal(offset_tracker_take(tr, &offs), 0);
    offset_tracker_free(tr);
}

static void test_partitions_interleaved(void **state)
{
    (void)state;
    offset_tracker_t *tr = offset_tracker_new();
    const ferry_offset_t *offs;
    uint64_t a1 = offset_tracker_add(tr, P1, "{\"o\":1}");
    uint64_t b1 = offset_tracker_add(tr, P2, "{\"o\":10}");
    uint64_t a2 = offset_tracker_add(tr, P1, "{\"o\":2}");
    uint64_t b2 = offset_tracker_add(tr, P2, "{\"o\":20}");
    uint64_t a3 = offset_tracker_add(tr, P1, "{\"o\":3}");

    /* P2 advances while P1's first record is in flight: partitions are independent. */
    offset_tracker_ack(tr, b1);
    offset_tracker_ack(tr, b2);
    offset_tracker_ack(tr, a2);
    size_t n = offset_tracker_take(tr, &offs);
    assert_int_equal(n, 1);
    assert_string_equal(find(offs, n, P2), "{\"o\":20}");

    /* take() returns only what changed: P1 now, not P2 again. */
    offset_tracker_ack(tr, a1);
    n = offset_tracker_take(tr, &offs);
    assert_int_equal(n, 1);
    assert_string_equal(find(offs, n, P1), "{\"o\":2}");
    assert_null(find(offs, n, P2));

    /* The result stays valid through add/ack until the next take(). */
    offset_tracker_ack(tr, a3);
    uint64_t b3 = offset_tracker_add(tr, P2, "{\"o\":30}");
    offset_tracker_ack(tr, b3);
    assert_string_equal(offs[0].source_offset, "{\"o\":2}");
    n = offset_tracker_take(tr, &offs);
    assert_int_equal(n, 2);
    assert_string_equal(find(offs, n, P1), "{\"o\":3}");
    assert_string_equal(find(offs, n, P2), "{\"o\":30}");
    assert_int_equal(offset_tracker_pending(tr), 0);

    /* The same offset committed again is not a change. */
    uint64_t b4 = offset_tracker_add(tr, P2, "{\"o\":30}");
    offset_tracker_ack(tr, b4);
    assert_int_equal(offset_tracker_take(tr, &offs), 0);
    offset_tracker_free(tr);
}

static void test_records_without_offsets(void **state)
{
    (void)state;
    offset_tracker_t *tr = offset_tracker_new();
    const ferry_offset_t *offs;
    uint64_t n1 = offset_tracker_add(tr, NULL, NULL);
    uint64_t a1 = offset_tracker_add(tr, P1, "{\"o\":1}");
    uint64_t a2 = offset_tracker_add(tr, P1, NULL); /* orders P1 but has no offset */
    uint64_t a3 = offset_tracker_add(tr, P1, "{\"o\":3}");
    uint64_t n2 = offset_tracker_add(tr, NULL, "{\"ignored\":1}");
    assert_true(n1 && n2);
    assert_int_equal(offset_tracker_pending(tr), 5);

    offset_tracker_ack(tr, n2);
    offset_tracker_ack(tr, a1);
    offset_tracker_ack(tr, a3);
    assert_int_equal(offset_tracker_pending(tr), 2);
    size_t n = offset_tracker_take(tr, &offs);
    assert_int_equal(n, 1);
    assert_string_equal(offs[0].source_offset, "{\"o\":1}"); /* a2 holds back a3 */

    offset_tracker_ack(tr, a2);
    n = offset_tracker_take(tr, &offs);
    assert_int_equal(n, 1);
    assert_string_equal(offs[0].source_offset, "{\"o\":3}");
    offset_tracker_ack(tr, n1);
    assert_int_equal(offset_tracker_pending(tr), 0);
    assert_int_equal(offset_tracker_take(tr, &offs), 0);
    offset_tracker_free(tr);
}

/* Freeing with records in flight releases everything (ASan checks). */
static void test_free_with_pending(void **state)
{
    (void)state;
    offset_tracker_t *tr = offset_tracker_new();
    const ferry_offset_t *offs;
    uint64_t first = 0;
    for (int i = 0; i < 3000; i++) {
        uint64_t h = offset_tracker_add(tr, i % 3 ? P1 : P2, "{\"o\":1}");
        if (!first) first = h;
        if (i % 2) offset_tracker_ack(tr, h);
    }
    offset_tracker_take(tr, &offs);
    offset_tracker_add(tr, P1, "{\"o\":2}");
    offset_tracker_ack(tr, first);
    offset_tracker_free(tr);
}

/*
 * A million records over 4 partitions, acked in a scrambled order within
 * windows of 4096 (like delivery reports from several brokers), with a slow
 * record held back across windows so the live window grows. Checks the final
 * result and that take() never reports an offset past an unacked record.
 */
static void test_large_volume(void **state)
{
    (void)state;
    enum { N = 1000000, W = 4096, NP = 4 };
    static const char *parts[NP] = {"{\"p\":0}", "{\"p\":1}", "{\"p\":2}", "{\"p\":3}"};
    offset_tracker_t *tr = offset_tracker_new();
    uint64_t *handles = malloc(N * sizeof(*handles));
    const ferry_offset_t *offs;
    char off[32];
    int64_t last[NP] = {-1, -1, -1, -1};
    uint64_t held = 0; /* one record of partition 0 acked only at the very end */
    int64_t held_seq = -1;

    for (int base = 0; base < N; base += W) {
        int end = base + W < N ? base + W : N;
        for (int i = base; i < end; i++) {
            snprintf(off, sizeof(off), "{\"seq\":%d}", i);
            handles[i] = offset_tracker_add(tr, parts[i % NP], off);
        }
        if (base == 8 * W) {
            held = handles[base];
            held_seq = base;
        }
        /* Ack the window in a scrambled order: a stride coprime to W. */
        for (int j = 0; j < end - base; j++) {
            int i = base + (int)(((int64_t)j * 2654435761u) % (end - base));
            if (handles[i] == held) continue;
            offset_tracker_ack(tr, handles[i]);
        }
        size_t n = offset_tracker_take(tr, &offs);
        for (size_t k = 0; k < n; k++) {
            int p = offs[k].source_partition[5] - '0';
            long seq = strtol(offs[k].source_offset + 7, NULL, 10);
            assert_true(seq > last[p]);
            if (held && p == 0) assert_true(seq < held_seq); /* blocked by the held record */
            last[p] = seq;
        }
    }
    assert_int_equal(offset_tracker_pending(tr), 1);
    offset_tracker_ack(tr, held);
    assert_int_equal(offset_tracker_pending(tr), 0);
    size_t n = offset_tracker_take(tr, &offs);
    assert_int_equal(n, 1); /* only partition 0 was still behind */
    assert_string_equal(offs[0].source_partition, parts[0]);
    snprintf(off, sizeof(off), "{\"seq\":%d}", N - NP); /* last record of partition 0 */
    assert_string_equal(offs[0].source_offset, off);
    free(handles);
    offset_tracker_free(tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_held_until_every_copy),
        cmocka_unit_test(test_out_of_order_only_contiguous_prefix),
        cmocka_unit_test(test_partitions_interleaved),
        cmocka_unit_test(test_records_without_offsets),
        cmocka_unit_test(test_free_with_pending),
        cmocka_unit_test(test_large_volume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
