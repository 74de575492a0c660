/*
 * offsets.h — source offsets: Kafka Connect–compatible records, the
 * in-memory map, the file and Kafka stores, and the per-task tracker.
 *
 * Record format (byte-compatible with Kafka Connect's offsets topic, JSON
 * converter without schemas):
 *   key   = ["<connector>",<partition object>]   e.g. ["shop",{"server":"shop"}]
 *   value = <offset object>                      e.g. {"lsn":24023128,"txId":755}
 *   value absent (tombstone) = the partition's offset was reset
 * Both compact (no spaces), object fields in the order the connector wrote
 * them. Partition: murmur2(key) like Java's default partitioner.
 *
 * Lookups compare partitions by their canonical form: parsed and re-encoded
 * compact with sorted keys, so a record written by Kafka Connect with another
 * field order still matches.
 */
#ifndef FERRY_OFFSETS_H
#define FERRY_OFFSETS_H

#include <ferry/ferry.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* ---- encoding ------------------------------------------------------------ */
/* ["connector",partition] compact; partition_json must be a JSON object.
 * malloc'd, or NULL when partition_json is not a JSON object. */
char *offsets_key_encode(const char *connector, const char *partition_json);
/* Decodes a key. On success sets *connector and *partition_canonical
 * (malloc'd) and returns 0; -1 when the key is not [string, object]. */
int offsets_key_decode(const void *key, size_t len, char **connector, char **partition_canonical);
/* Compact JSON, field order kept (for values). NULL if not a JSON object. */
char *offsets_json_compact(const char *json, size_t len);
/* Compact JSON with sorted keys (for comparing partitions). NULL if not an object. */
char *offsets_json_canonical(const char *json, size_t len);

/* Kafka's murmur2 (as in Java's Utils.murmur2) and the default partitioner:
 * (murmur2(key) & 0x7fffffff) % partition_count; -1 when partition_count <= 0. */
uint32_t offsets_murmur2(const void *data, size_t len);
int32_t offsets_partition_for_key(const void *key, size_t len, int32_t partition_count);

/* ---- in-memory map --------------------------------------------------------- */
typedef struct offset_map offset_map_t;

offset_map_t *offset_map_new(void);
void offset_map_free(offset_map_t *map);
/* offset_json NULL removes the entry (a reset). Copies its arguments. */
void offset_map_put(offset_map_t *map, const char *connector, const char *partition_json,
                    const char *offset_json);
/* The stored offset (compact, as written), or NULL. Owned by the map. */
const char *offset_map_get(const offset_map_t *map, const char *connector, const char *partition_json);
/* Applies one raw record (as read from the topic or file). A value that is
 * NULL, empty or the JSON literal null is a reset (removes the entry).
 * Returns 0, or -1 when the key is malformed or the value is neither an
 * object nor null (the record is then ignored by the caller, with a warning). */
int offset_map_apply(offset_map_t *map, const void *key, size_t klen, const void *value, size_t vlen);
/* Iteration in insertion order (an overwrite keeps the entry's position; a
 * reset removes it and shifts later indexes down). offset_map_entry returns 1,
 * or 0 at the end. partition_json is compact in the field order last written.
 * Pointers owned by the map, valid until the next change. */
size_t offset_map_count(const offset_map_t *map);
int offset_map_entry(const offset_map_t *map, size_t index, const char **connector,
                     const char **partition_json, const char **offset_json);
/* All entries (optionally only one connector) as a JSON array of
 * {"connector":..,"partition":{..},"offset":{..}}; malloc'd. For `ferry offsets`. */
char *offset_map_to_json(const offset_map_t *map, const char *connector);

/* ---- file store (offsets.store: file) --------------------------------------- */
/* File format: one record per line, "<key>\t<value>\n" (value "null" = reset),
 * so the same records as the topic. A missing file is an empty store. On a
 * malformed line returns -1 with err naming path:line; the map then holds the
 * records before that line. Errors name the path and strerror. */
int offsets_file_load(const char *path, offset_map_t *map, char *err, size_t errlen);
/* Writes the whole map to path.tmp, fsyncs, renames over path, fsyncs the dir. */
int offsets_file_save(const char *path, const offset_map_t *map, char *err, size_t errlen);

/* ---- Kafka store (offsets.store: kafka) -------------------------------------- */
/* Reads the whole offsets topic, from the beginning to the high watermark of
 * every partition, into map. conf is a configured rd_kafka_conf_t that this
 * function takes ownership of (bootstrap.servers etc. already set). A topic
 * that does not exist is an empty store. Returns 0 or -1 with err filled. */
int offsets_kafka_load(rd_kafka_conf_t *conf, const char *topic, offset_map_t *map, int timeout_ms,
                       char *err, size_t errlen);
/* The same, to the high watermark instead of the last stable offset: it
 * waits until every transaction open on the topic is committed or aborted,
 * so that offsets committed after one are read too (exactly-once tasks,
 * after init_transactions fenced their predecessor). */
int offsets_kafka_load_decided(rd_kafka_conf_t *conf, const char *topic, offset_map_t *map, int timeout_ms,
                               char *err, size_t errlen);
/* The reader behind both: every record of a compacted topic, from the
 * beginning to the end of each partition, in order, to fn (which returns
 * 0, or -1 for a record it ignores: logged as malformed). */
typedef int (*offsets_record_fn)(void *arg, const void *key, size_t klen, const void *value, size_t vlen);
int offsets_kafka_read(rd_kafka_conf_t *conf, const char *topic, offsets_record_fn fn, void *arg, int timeout_ms,
                       char *err, size_t errlen);
/* Encodes (connector, partition, offset) into a Kafka record: key and value
 * malloc'd (value NULL for a reset); *partition from murmur2 over
 * partition_count (-1 when partition_count <= 0). Returns 0, or -1 if
 * partition_json is not an object or offset_json is given and is not one. */
int offsets_record_encode(const char *connector, const char *partition_json, const char *offset_json,
                          int32_t partition_count, char **key, size_t *klen, char **value,
                          size_t *vlen, int32_t *partition);

/* ---- tracker ------------------------------------------------------------------ */
/*
 * One per source task, used from the task thread only. The engine calls
 * add() for each record in produce order and ack() from the delivery report
 * (any order). For each source partition, the committable offset is the
 * offset of the latest record such that it and every earlier record of that
 * partition were acknowledged.
 */
typedef struct offset_tracker offset_tracker_t;

offset_tracker_t *offset_tracker_new(void);
void offset_tracker_free(offset_tracker_t *tr);
/* Returns a non-zero handle for the delivery report. partition/offset may be
 * NULL (a record without an offset): its ack is then a no-op. A record with a
 * partition but a NULL offset still holds back later offsets of that
 * partition until acked. Partitions are compared byte-wise, so pass them in
 * canonical form (batch_add puts them in that form). Copies strings. */
uint64_t offset_tracker_add(offset_tracker_t *tr, const char *partition_json, const char *offset_json);
/* Unknown or repeated handles are ignored. */
/* The record of handle is delivered more than once (copies): it needs one
 * more ack before it is done. */
void offset_tracker_hold(offset_tracker_t *tr, uint64_t handle);
void offset_tracker_ack(offset_tracker_t *tr, uint64_t handle);
/* The partition and offset a pending handle was added with (owned by the
 * tracker, valid until it is acked); 0, or -1 for an unknown handle. */
int offset_tracker_get(const offset_tracker_t *tr, uint64_t handle, const char **partition_json,
                       const char **offset_json);
/* Records added and not yet acknowledged. */
size_t offset_tracker_pending(const offset_tracker_t *tr);
/* The committable offsets that changed since the previous call. *out points
 * to an array owned by the tracker, valid until the next call (add/ack in
 * between do not invalidate it). */
size_t offset_tracker_take(offset_tracker_t *tr, const ferry_offset_t **out);

#endif
