/*
 * gw_cold.h — the gateway's cold reads: one topic partition's records read
 * back from the S3 archive that ferry's s3-sink wrote, in offset order, from
 * a given offset. The hot path (Kafka) serves what the broker still holds;
 * this serves what retention already deleted.
 *
 * The archive is found as s3-source finds it: every object under
 * <prefix>/<topic>/ whose name is <topic>+<partition>+<start offset><ext>,
 * whatever the partitioner put between (partition=<p>, <field>=<value>/…, a
 * time path), in the envelope or avro format, any compression. Objects are
 * read in the order of their start offsets, one at a time and only when the
 * reader reaches them; only the object that holds from_offset and those
 * after it are downloaded.
 *
 * Order: a record whose offset is not above the last one returned is
 * skipped, so no offset is returned twice and offsets strictly increase.
 * This is exact when a partition's objects do not overlap in offsets, as
 * the default partitioner writes them, and the time partitioner when
 * timestamps do not go back across its buckets (`ferry archive verify`
 * checks it). Objects that interleave — the field partitioner splits a
 * partition by value, so its objects do — lose the records that sort below
 * one already returned.
 *
 * Threads: a gw_cold_t belongs to one thread at a time, and so does the
 * client it reads with (an s3_client_t is one curl handle): do not share
 * the client with another thread while a reader uses it.
 */
#ifndef FERRY_GW_COLD_H
#define FERRY_GW_COLD_H

#include <stddef.h>
#include <stdint.h>

#include "s3_client.h"

typedef struct gw_cold gw_cold_t;

/* A view into the loaded object: valid until the next gw_cold_next or
 * gw_cold_free. */
typedef struct gw_cold_rec {
    int64_t offset, timestamp_ms;
    const void *key;   /* NULL = no key */
    size_t key_len;
    const void *value; /* NULL = tombstone */
    size_t value_len;
} gw_cold_rec_t;

/* Lists the archive of topic/partition under prefix (the sink's topics.dir;
 * leading and trailing '/' do not matter). c is borrowed: it must outlive
 * the reader. prefix and topic are copied. Records below from_offset are
 * never returned (a negative from_offset reads from the start). Returns
 * NULL with err filled (naming the bucket and prefix) when the listing
 * fails, a json or bytes object (values only, no offsets) is archived for
 * the partition, or memory runs out. An empty archive is not an error. */
gw_cold_t *gw_cold_open(s3_client_t *c, const char *prefix, const char *topic, int32_t partition,
                        int64_t from_offset, char *err, size_t errlen);

/* The next archived record with offset >= from_offset, in offset order:
 * 1 (rec filled), 0 (no more), -1 (err filled: a download that failed, or
 * an object that cannot be decoded, named by its key). After -1, a call
 * again tries the same object again (the client has already retried what
 * is transient). */
int gw_cold_next(gw_cold_t *g, gw_cold_rec_t *rec, char *err, size_t errlen);

/* The lowest archived offset (the start offset of the first object's name),
 * -1 when nothing is archived. */
int64_t gw_cold_first(const gw_cold_t *g);

/* NULL is a no-op. */
void gw_cold_free(gw_cold_t *g);

#endif /* FERRY_GW_COLD_H */
