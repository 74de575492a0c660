/*
 * s3_xml.h — just enough XML for S3's replies: the text of the first
 * <Tag>…</Tag> within a span, with XML's five entities and numeric character
 * references decoded. S3 answers with flat, namespace-free documents of known
 * shape (ListBucketResult, InitiateMultipartUploadResult, Error), so a
 * scanner for one element at a time is all the parsing they need.
 */
#ifndef FERRY_S3_XML_H
#define FERRY_S3_XML_H

#include <stddef.h>

/* Finds the first element <tag> in [xml, xml+len) (the name exactly; an
 * element with attributes counts; a self-closing <tag/> has empty text).
 * Sets *inner / *inner_len to its raw content and returns a pointer just past
 * its end tag, or NULL when there is none or it is not closed. */
const char *s3_xml_find(const char *xml, size_t len, const char *tag, const char **inner,
                        size_t *inner_len);

/* The decoded text of the first <tag> into out (NUL-terminated). Returns its
 * length, or -1 when absent, malformed (a bad entity) or longer than
 * outlen-1. */
long s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t outlen);

/* Decodes entities of [s, s+len) into out; returns the length or -1. */
long s3_xml_unescape(const char *s, size_t len, char *out, size_t outlen);

/* Escapes & < > " ' of s (NUL-terminated) into out; returns the length or -1
 * when out is too small. */
long s3_xml_escape(const char *s, char *out, size_t outlen);

#endif /* FERRY_S3_XML_H */
