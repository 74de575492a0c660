/*
 * s3_object.h — one archived object, downloaded and decoded, its records held
 * until the next load: what replay (s3-source) and the gateway's cold reads
 * (connectors/gateway/gw_cold.c) walk record by record.
 *
 * The decoder's record views (s3_decode) live only during its callback, so
 * every span is copied into one arena here, and the records stay readable
 * for as long as the object is loaded. The arena and the tables keep their
 * capacity from one load to the next: a reader holds at most one object,
 * and reuses its memory.
 *
 * Threads: an s3_object_t belongs to one thread at a time (that of the
 * client it loads with).
 */
#ifndef FERRY_S3_OBJECT_H
#define FERRY_S3_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "s3_client.h"
#include "s3_format.h"

/* One decoded record: spans are offsets into the object's arena. */
typedef struct s3_orec {
    int64_t offset, timestamp;
    int timestamp_type; /* FERRY_TIMESTAMP_* */
    int has_key, has_value;
    size_t key_off, key_len, value_off, value_len;
    size_t hdr_first, hdr_count; /* into the object's hdrs */
} s3_orec_t;

/* One header of a decoded record. The name is NUL-terminated in the arena. */
typedef struct s3_ohdr {
    size_t name_off, name_len, value_off, value_len;
    int has_value;
} s3_ohdr_t;

/* Zero-initialised: empty. Owns every buffer (s3_object_free). */
typedef struct s3_object {
    s3_buf_t arena;
    s3_orec_t *recs;
    size_t nrec, rcap;
    s3_ohdr_t *hdrs;
    size_t nhdr, hcap;
} s3_object_t;

typedef enum s3_load {
    S3_LOAD_OK = 0,
    S3_LOAD_GET,     /* the download failed: *st says how, s3_client_error(c) why (with bucket and key) */
    S3_LOAD_CORRUPT, /* not a readable archive object: why says which record and what is wrong */
    S3_LOAD_NOMEM,   /* out of memory */
} s3_load_t;

/* Downloads key and decodes it (the format and compression come from its
 * name: envelope or avro). The records of the object loaded before are
 * dropped first; on any failure the object is left empty. st gets the
 * download's status (S3_OK unless S3_LOAD_GET). */
s3_load_t s3_object_load(s3_object_t *o, s3_client_t *c, const char *key, s3_status_t *st, char *why,
                         size_t whylen);

/* s3_object_load without the download: data/len are the object's bytes as
 * stored. S3_LOAD_OK, S3_LOAD_CORRUPT or S3_LOAD_NOMEM. */
s3_load_t s3_object_decode(s3_object_t *o, const char *key, const void *data, size_t len, char *why,
                           size_t whylen);

/* Drops the records, keeping the buffers for the next load. */
void s3_object_clear(s3_object_t *o);
/* Releases the buffers; the object is empty and usable again. */
void s3_object_free(s3_object_t *o);

/* A record's and a header's spans: NULL when absent (no key, a tombstone, a
 * null header value), never NULL for a present empty span. Valid until the
 * next load, clear or free. */
const void *s3_orec_key(const s3_object_t *o, const s3_orec_t *r);
const void *s3_orec_value(const s3_object_t *o, const s3_orec_t *r);
const char *s3_ohdr_name(const s3_object_t *o, const s3_ohdr_t *h);
const void *s3_ohdr_value(const s3_object_t *o, const s3_ohdr_t *h);

#endif /* FERRY_S3_OBJECT_H */
