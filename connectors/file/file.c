/*
 * file.c — the `file` plugin: option tables and descriptors of file-source
 * and file-sink, and the entry point. The connectors live in file_source.c
 * and file_sink.c.
 *
 * Offsets are those of Kafka Connect's FileStreamSource, so that an offsets
 * topic written by either can be read by the other:
 *   partition {"filename":"<path>"}, offset {"position":<next byte>}.
 */
#include <ferry/ferry.h>

#include "file.h"

static const char *const file_value_formats[] = {"string", "json", NULL};

static const ferry_option_t file_source_options[] = {
    {"path", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,
     "Text file to read, one record per line. It is followed as it grows (like tail -f)."},
    {"topic", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED | FERRY_OPT_TOPIC, 0, 0, NULL,
     "Kafka topic the lines are written to."},
    {"poll.interval", FERRY_OPT_DURATION, "250ms", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1,
     3600000, NULL, "How long to wait at the end of the file before checking whether it grew."},
    {"max.line.size", FERRY_OPT_SIZE, "1MiB", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1,
     256.0 * 1024 * 1024, NULL,
     "Longest accepted line in bytes, without its line ending; a longer line fails the task."},
    {"value.format", FERRY_OPT_ENUM, "string", 0, 0, 0, file_value_formats,
     "What each line is, for converters and transforms: string (text) or json (one JSON value per line, "
     "as JSON Lines)."},
    FERRY_OPTIONS_END};

static const ferry_option_t file_sink_options[] = {
    {"path", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,
     "File the record values are appended to, one line each (created if missing). "
     "Tombstones are skipped."},
    FERRY_OPTIONS_END};

static const ferry_connector_t file_source = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "file-source",
    .version = "0.1.0",
    .description = "Reads a text file line by line into a topic and follows it as it grows.",
    .options = file_source_options,
    .option_size = sizeof(ferry_option_t),
    .open = file_source_open,
    .poll = file_source_poll,
    .close = file_source_close,
};

static const ferry_connector_t file_sink = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SINK,
    .name = "file-sink",
    .version = "0.1.0",
    .description = "Appends each record value as one line to a file; flush fsyncs it.",
    .options = file_sink_options,
    .option_size = sizeof(ferry_option_t),
    .open = file_sink_open,
    .put = file_sink_put,
    .flush = file_sink_flush,
    .close = file_sink_close,
};

static const ferry_connector_t *const file_connectors[] = {&file_source, &file_sink, NULL};

static const ferry_plugin_t file_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "file",
    .version = "0.1.0",
    .connectors = file_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    return &file_plugin;
}
