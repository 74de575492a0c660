/*
 * s3_path.h — object keys: where a record goes (the partitioner) and what an
 * object is called.
 *
 *   <topics.dir>/<topic>/<encoded partition>/<topic>+<p>+<start offset, 19 digits><ext>
 *
 * The encoded partition is "partition=<p>" (default), "<field>=<value>/…"
 * (field) or a formatted time (time). Every piece is a function of the
 * record, except the time partitioner's Wallclock extractor.
 */
#ifndef FERRY_S3_PATH_H
#define FERRY_S3_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "s3_format.h"

typedef enum s3_partitioner_kind { S3_PART_DEFAULT, S3_PART_FIELD, S3_PART_TIME } s3_partitioner_kind_t;
typedef enum s3_ts_extractor { S3_TS_RECORD, S3_TS_RECORD_FIELD, S3_TS_WALLCLOCK } s3_ts_extractor_t;

typedef struct s3_partitioner {
    s3_partitioner_kind_t kind;
    const char *const *fields; /* field: top-level JSON fields of the value */
    size_t field_count;
    const char *path_format;   /* time: e.g. "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH" */
    int64_t duration_ms;       /* time: bucket width (partition.duration.ms) */
    int64_t tz_offset_s;       /* time: fixed offset east of UTC */
    s3_ts_extractor_t extractor;
    const char *ts_field;      /* RecordField: top-level field (ms since epoch, or ISO-8601) */
} s3_partitioner_t;

/* Parses a partitioner name (ours or Confluent's class name); -1 when unknown. */
int s3_partitioner_parse(const char *name);
int s3_extractor_parse(const char *name);
/* "UTC", "Z", "+02:00", "-0530"; 0 or -1. */
int s3_timezone_parse(const char *tz, int64_t *offset_s);
/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" as milliseconds since the epoch; 0, or -1
 * when malformed or not a real date (2026-02-30). */
int s3_iso_ms(const char *s, int64_t *ms);

/* Checks a path.format; 0, or -1 with err naming the problem. */
int s3_path_format_check(const char *fmt, char *err, size_t errlen);

/* The encoded partition of rec into out. Returns 0, or -1 with err filled
 * when the record lacks what the partitioner needs (a field, a timestamp):
 * that is a record error. */
int s3_partition_encode(const s3_partitioner_t *p, const s3_rec_t *rec, int64_t now_ms, char *out,
                        size_t outlen, char *err, size_t errlen);

/* The object key. 0, or -1 when it does not fit. */
int s3_object_key(char *out, size_t outlen, const char *topics_dir, const char *topic,
                  const char *encoded, int32_t partition, int64_t start_offset, const char *ext);

/* Reads "<topic>+<p>+<offset><ext>" from the last path element of key.
 * topic_out gets the topic. 0, or -1 when key is not an archive object. */
int s3_object_key_parse(const char *key, char *topic_out, size_t topic_len, int32_t *partition,
                        int64_t *start_offset);

/* An object that replay can read, from its key alone: an archive object's
 * name (as s3_object_key_parse) with a format's ending (as
 * s3_format_from_name). 0, or -1 when key is something else. */
int s3_archive_key_parse(const char *key, char *topic_out, size_t topic_len, int32_t *partition,
                         int64_t *start_offset, s3_format_kind_t *fmt, s3_compression_t *comp);

/* The order in which a partition's objects are read: by the start offset in
 * their names, then by key (so that two listings sort alike). <0, 0, >0. */
int s3_object_order(int64_t a_start, const char *a_key, int64_t b_start, const char *b_key);

/* A topics.dir as keys use it: without leading or trailing '/' (NULL = "").
 * Cut to outlen - 1 bytes. */
void s3_dir_trim(const char *dir, char *out, size_t outlen);

/* The prefix every object of topic lives under, whatever the partitioner:
 * "<topics_dir>/<topic>/" ("<topic>/" for an empty topics_dir, which is
 * trimmed as s3_dir_trim gives it). 0, or -1 when it does not fit. */
int s3_topic_prefix(char *out, size_t outlen, const char *topics_dir, const char *topic);

#endif /* FERRY_S3_PATH_H */
