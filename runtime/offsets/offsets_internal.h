/*
 * offsets_internal.h — helpers shared by the files of runtime/offsets/ only.
 * Nothing outside this folder includes it.
 */
#ifndef FERRY_OFFSETS_INTERNAL_H
#define FERRY_OFFSETS_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

/* A growable byte buffer. p is malloc'd and always NUL-terminated once
 * anything was appended; obuf_take() hands it to the caller. */
typedef struct obuf {
    char *p;
    size_t len, cap;
} obuf_t;

void obuf_append(obuf_t *buf, const void *data, size_t len);
void obuf_puts(obuf_t *buf, const char *s);
/* Returns the malloc'd string ("" when empty) and resets buf. */
char *obuf_take(obuf_t *buf);
void obuf_free(obuf_t *buf);

/* Appends s[0..len) as a JSON string literal, escaped the way Jackson (Kafka
 * Connect's JSON library) escapes: UTF-8 kept raw, ", \ and \b \t \n \f \r
 * short, other control characters as \u00XX with upper-case hex. */
void offsets_json_append_string(obuf_t *buf, const char *s, size_t len);
/* Appends v compact; sorted != 0 sorts object keys (bytewise) at every level. */
void offsets_json_append(obuf_t *buf, const json_t *v, int sorted);
/* offsets_json_append() into a new malloc'd string. */
char *offsets_json_dump(const json_t *v, int sorted);
/* Parses exactly [data, data+len) as one JSON object; NULL otherwise. */
json_t *offsets_json_parse_object(const void *data, size_t len);

/* Parses a key ["connector",{partition}] and returns the connector plus the
 * partition both as written (compact, field order kept) and canonical.
 * Any out pointer may be NULL. Returns 0, or -1 when malformed. */
int offsets_key_parse(const void *key, size_t len, char **connector, char **partition_compact,
                      char **partition_canonical);

#endif
