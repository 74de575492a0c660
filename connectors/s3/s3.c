/*
 * s3.c — the `s3` plugin: s3-sink archives topics to S3-compatible object
 * storage, s3-source replays such an archive into Kafka. Option tables,
 * descriptors and the entry point; the connectors live in s3_sink.c and
 * s3_source.c, the client in s3_client.c, formats in s3_format.c and
 * object keys in s3_path.c.
 *
 * Option names follow Confluent's S3 sink where it has one.
 */
#include <ferry/ferry.h>

#include "s3.h"
#include "s3_conn.h"


static const char *const compression_values[] = {"none", "gzip", "zstd", NULL};
static const char *const extractor_values[] = {"Record", "RecordField", "Wallclock", NULL};

static const ferry_option_t s3_sink_options[] = {
    S3_STORE_OPTIONS(FERRY_OPT_REQUIRED),
    {"format.class", FERRY_OPT_STRING, "envelope", 0, 0, 0, NULL,
     "envelope (JSON lines with key, value, headers, timestamp, partition, offset: what replay needs), json "
     "(values as JSON lines), bytes (raw values and a separator) or avro; Confluent's format class names work "
     "too."},
    {"format.bytearray.separator", FERRY_OPT_STRING, "\\n", 0, 0, 0, NULL,
     "bytes format: written after each value (\\n, \\r, \\t and \\0 are understood)."},
    {"s3.compression.type", FERRY_OPT_ENUM, "none", 0, 0, 0, compression_values,
     "Compression of whole objects (avro: its deflate or zstandard block codec)."},
    {"flush.size", FERRY_OPT_INT, "10000", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "Records per object: an object is closed after this many."},
    {"flush.bytes", FERRY_OPT_SIZE, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "Also close an object once its encoded (uncompressed) size reaches this; 0 = no limit."},
    {"rotate.interval.ms", FERRY_OPT_DURATION, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "Close an object when a record's timestamp is this far past the object's first (deterministic); 0 = off."},
    {"rotate.schedule.interval.ms", FERRY_OPT_DURATION, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "Close an object this long (wall clock) after it was opened, for quiet topics. Not deterministic: a "
     "replayed run may cut objects elsewhere. 0 = off."},
    {"s3.part.size", FERRY_OPT_SIZE, "5MiB", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 5.0 * 1024 * 1024,
     5.0 * 1024 * 1024 * 1024, NULL,
     "Multipart part size and per-partition buffer: memory is about this times the open partitions."},
    {"s3.conditional.writes", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Write with If-None-Match: * so that an archived object is never overwritten."},
    {"partitioner.class", FERRY_OPT_STRING, "default", 0, 0, 0, NULL,
     "default (partition=<p>), field (<field>=<value> from the JSON value) or time (path.format); "
     "Confluent's partitioner class names work too."},
    {"partition.field.name", FERRY_OPT_LIST, "", 0, 0, 0, NULL, "field partitioner: top-level value fields."},
    {"path.format", FERRY_OPT_STRING, "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", 0, 0, 0, NULL,
     "time partitioner: the path, with YYYY MM dd HH mm ss and quoted literals."},
    {"partition.duration.ms", FERRY_OPT_DURATION, "1h", FERRY_OPT_HAS_MIN, 1, 0, NULL,
     "time partitioner: width of a time bucket."},
    {"timezone", FERRY_OPT_STRING, "UTC", 0, 0, 0, NULL, "time partitioner: UTC or a fixed offset (+02:00)."},
    {"timestamp.extractor", FERRY_OPT_ENUM, "Record", 0, 0, 0, extractor_values,
     "time partitioner: the record's timestamp, a field of the value (timestamp.field), or the wall clock "
     "(not deterministic)."},
    {"timestamp.field", FERRY_OPT_STRING, "", 0, 0, 0, NULL,
     "RecordField: top-level field holding ms since the epoch or an ISO-8601 UTC time."},
    FERRY_OPTIONS_END};

static const ferry_option_t s3_source_options[] = {
    S3_STORE_OPTIONS(FERRY_OPT_REQUIRED),
    {"topics", FERRY_OPT_LIST, NULL, FERRY_OPT_REQUIRED | FERRY_OPT_HAS_MIN | FERRY_OPT_TOPIC, 1, 0, NULL,
     "Archived topics to replay."},
    {"topic.rename", FERRY_OPT_MAP, "", 0, 0, 0, NULL,
     "Archived topic -> topic to produce to; topics not listed keep their name."},
    {"start.time", FERRY_OPT_STRING, "", 0, 0, 0, NULL,
     "Replay only records with a timestamp at or after this (ms since the epoch or ISO-8601 UTC)."},
    {"end.time", FERRY_OPT_STRING, "", 0, 0, 0, NULL, "Replay only records with a timestamp at or before this."},
    {"poll.interval", FERRY_OPT_DURATION, "10s", FERRY_OPT_HAS_MIN, 100, 0, NULL,
     "Once everything is replayed, how often to list the archive again for new objects."},
    FERRY_OPTIONS_END};

static const ferry_connector_t s3_sink = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SINK,
    .name = "s3-sink",
    .version = "0.1.0",
    .description = "Archives topics to S3-compatible storage; objects are named by their first offset, "
                   "exactly once.",
    .options = s3_sink_options,
    .option_size = sizeof(ferry_option_t),
    .validate = s3_sink_validate,
    .open = s3_sink_open,
    .put = s3_sink_put,
    .flush = s3_sink_flush,
    .close = s3_sink_close,
    .partitions_revoked = s3_sink_revoked,
};

static const ferry_connector_t s3_source = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "s3-source",
    .version = "0.1.0",
    .description = "Replays an s3-sink archive (envelope or avro) into Kafka: same partitions, keys, "
                   "values, headers and timestamps.",
    .options = s3_source_options,
    .option_size = sizeof(ferry_option_t),
    .validate = s3_source_validate,
    .task_configs = s3_source_task_configs,
    .open = s3_source_open,
    .poll = s3_source_poll,
    .close = s3_source_close,
};

static const ferry_connector_t *const s3_connectors[] = {&s3_sink, &s3_source, NULL};

static const ferry_plugin_t s3_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "s3",
    .version = "0.1.0",
    .connectors = s3_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    return &s3_plugin;
}
