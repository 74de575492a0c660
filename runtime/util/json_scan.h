/*
 * json_scan.h — checks that a string is one JSON object and compacts it
 * (drops whitespace outside strings) without parsing it into a tree: the
 * source hot path does this for every record's offset, where a full parse
 * and re-encode would cost more than the rest of batch_add. Numbers and
 * strings are kept byte for byte (a re-encode would reformat 0.1 as
 * 0.10000000000000001).
 *
 * Thread: reentrant.
 */
#ifndef FERRY_UTIL_JSON_SCAN_H
#define FERRY_UTIL_JSON_SCAN_H

#include <stddef.h>

/* Objects and arrays nest at most this deep. */
#define JSON_SCAN_MAX_DEPTH 64

/*
 * Scans s[0..len) as one JSON object (RFC 8259 syntax, UTF-8 not checked
 * beyond what the grammar needs; leading/trailing whitespace allowed).
 * Returns the length of its compact form, or -1 when s is not exactly one
 * JSON object. When out is not NULL it receives the compact form (it needs
 * room for len bytes; no NUL is written). *already_compact, when not NULL,
 * is set to 1 when s is its own compact form.
 */
long json_scan_object(const char *s, size_t len, char *out, int *already_compact);

#endif
