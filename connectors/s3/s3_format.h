/*
 * s3_format.h — how archived records are laid out in an object, and back.
 *
 * Writing streams: records go through the format's encoder and then the
 * compressor into the object's output buffer, which the sink uploads part by
 * part. The bytes depend only on the records and the settings (no clock, no
 * random sync marker), so the same records always give the same object.
 *
 * Formats:
 *   envelope  JSON lines with everything replay needs: topic, partition,
 *             offset, timestamp and its type, key/value/headers in base64.
 *   json      the values as JSON lines (a value that is not JSON becomes a
 *             JSON string); tombstones are skipped.
 *   bytes     the raw values, each followed by a separator; tombstones skipped.
 *   avro      an Avro object container file whose records carry the same
 *             fields as the envelope (schema in s3_format.c).
 * Reading (replay, verify) understands envelope and avro.
 */
#ifndef FERRY_S3_FORMAT_H
#define FERRY_S3_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "s3_client.h"

typedef enum s3_format_kind { S3_FMT_ENVELOPE, S3_FMT_JSON, S3_FMT_BYTES, S3_FMT_AVRO } s3_format_kind_t;
typedef enum s3_compression { S3_COMP_NONE, S3_COMP_GZIP, S3_COMP_ZSTD } s3_compression_t;

/* A record as the formats see it (a view; nothing is owned). */
typedef struct s3_hdr {
    const char *name;
    size_t name_len;
    const void *value; /* NULL = null header value */
    size_t value_len;
} s3_hdr_t;

typedef struct s3_rec {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    int timestamp_type; /* FERRY_TIMESTAMP_* */
    const void *key;    /* NULL = no key */
    size_t key_len;
    const void *value;  /* NULL = tombstone */
    size_t value_len;
    const s3_hdr_t *headers;
    size_t header_count;
} s3_rec_t;

/* The Avro schema of archived records (an Avro file's avro.schema). */
extern const char s3_avro_schema[];

/* Parses a format name (ours, or Confluent's class name); -1 when unknown. */
int s3_format_parse(const char *name);
int s3_compression_parse(const char *name);
/* The file name ending: ".jsonl", ".json.gz", ".avro", ... */
const char *s3_format_ext(s3_format_kind_t fmt, s3_compression_t comp);
const char *s3_format_content_type(s3_format_kind_t fmt, s3_compression_t comp);
/* The format and compression a file name ends with; -1 when none matches. */
int s3_format_from_name(const char *key, s3_format_kind_t *fmt, s3_compression_t *comp);

/* Appends [data, data+n) in base64 (RFC 4648, padded). 0 or -1. */
int s3_b64(s3_buf_t *b, const void *data, size_t n);
/* Appends the bytes of the base64 text [s, s+n) to out. 0, or -1 when
 * malformed (or out of memory). */
int s3_b64_decode(const char *s, size_t n, s3_buf_t *out);

/* Appends [s, s+n) as a JSON string literal (quotes included). 0 or -1. */
int s3_json_str(s3_buf_t *b, const char *s, size_t n);

/* ---- writing -------------------------------------------------------------- */

typedef struct s3_writer s3_writer_t;

/* sync: 16 bytes used as the Avro sync marker (the caller derives it from the
 * object key, so that it is deterministic). sep/sep_len: the bytes format's
 * separator. Returns NULL on out of memory. */
s3_writer_t *s3_writer_new(s3_format_kind_t fmt, s3_compression_t comp, const char *sep,
                           size_t sep_len, const unsigned char sync[16]);
void s3_writer_free(s3_writer_t *w);

/* Encodes one record, appending compressed output to out. Returns 0, 1 when
 * the format skips it (tombstone in json/bytes), -1 on out of memory or a
 * compressor failure. */
int s3_writer_add(s3_writer_t *w, const s3_rec_t *rec, s3_buf_t *out);
/* Ends the object: trailing block, compressor end. 0 or -1. */
int s3_writer_finish(s3_writer_t *w, s3_buf_t *out);
/* Uncompressed bytes encoded so far (what flush.bytes counts). */
uint64_t s3_writer_raw_bytes(const s3_writer_t *w);

/* ---- reading --------------------------------------------------------------- */

/* Decompresses data (by comp) into out. 0, or -1 with err filled. */
int s3_decompress(s3_compression_t comp, const void *data, size_t len, s3_buf_t *out, char *err,
                  size_t errlen);

/* Calls fn for each record of a decompressed object, in order. The record and
 * its spans are valid only during the call. Returns the number of records, or
 * -1 with err filled (which record, what is wrong) on a corrupt object; fn's
 * nonzero return stops the walk early (returned as -2). */
typedef int (*s3_rec_fn)(void *arg, const s3_rec_t *rec, size_t index);
long s3_decode(s3_format_kind_t fmt, const char *data, size_t len, s3_rec_fn fn, void *arg,
               char *err, size_t errlen);

/* An object as stored: decompressed (line formats; Avro compresses per
 * block) and decoded, as s3_decode. The uncompressed case is read in place. */
long s3_decode_object(s3_format_kind_t fmt, s3_compression_t comp, const char *data, size_t len, s3_rec_fn fn,
                      void *arg, char *err, size_t errlen);

#endif /* FERRY_S3_FORMAT_H */
