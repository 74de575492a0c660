/*
 * file_atomic.h — replacing a file so that a crash leaves the old content or
 * the new, never a mix.
 */
#ifndef FERRY_FILE_ATOMIC_H
#define FERRY_FILE_ATOMIC_H

#include <stddef.h>

/* Writes data to PATH.tmp (created with mode), fsyncs it, renames it over path and fsyncs the
 * directory. 0, or -1 with err ("WHAT PATH: ..."); PATH.tmp is removed on
 * failure. */
int file_replace_atomic(const char *path, const char *what, const void *data, size_t len, int mode, char *err,
                        size_t errlen);

#endif
