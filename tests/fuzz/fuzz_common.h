/*
 * fuzz_common.h — small helpers shared by the fuzz targets: a per-process
 * scratch file for parsers that only read paths, and a JSON validity check
 * for outputs that promise to be JSON.
 *
 * Scratch files go to $FERRY_FUZZ_TMPDIR, else /dev/shm (tmpfs: the offsets
 * store fsyncs on every save), else /tmp. Each process creates its own, so
 * parallel libFuzzer jobs do not share them. Targets remove them after each
 * input (libFuzzer does not always run atexit handlers), and at exit.
 */
#ifndef FERRY_FUZZ_COMMON_H
#define FERRY_FUZZ_COMMON_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Aborts with a message: the driver (or libFuzzer) saves the input. */
#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz check failed: %s (%s:%d): ", #cond, __FILE__,      \
              __LINE__);                                                       \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static inline const char *fuzz_tmpdir(void) {
  const char *dir = getenv("FERRY_FUZZ_TMPDIR");
  struct stat st;
  if (dir && *dir)
    return dir;
  if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
      access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return "/tmp";
}

/* This process's scratch files (paths malloc'd), removed at exit. */
static char *fuzz_scratch_paths[4];
static size_t fuzz_scratch_count;

/* Removes a scratch file (and the ".tmp" sibling a save may leave). */
static inline void fuzz_scratch_remove(const char *path) {
  char tmp[4200];
  unlink(path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  unlink(tmp);
}

static inline void fuzz_cleanup(void) {
  for (size_t i = 0; i < fuzz_scratch_count; i++) {
    fuzz_scratch_remove(fuzz_scratch_paths[i]);
    free(fuzz_scratch_paths[i]);
  }
  fuzz_scratch_count = 0;
}

/* Creates a new empty scratch file and returns its path (owned by the list
 * above, valid until exit). */
static inline const char *fuzz_scratch_new(const char *tag) {
  if (fuzz_scratch_count ==
      sizeof fuzz_scratch_paths / sizeof fuzz_scratch_paths[0])
    abort();
  char path[4096];
  snprintf(path, sizeof path, "%s/ferry-fuzz-%s-XXXXXX", fuzz_tmpdir(), tag);
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("fuzz: mkstemp");
    abort();
  }
  close(fd);
  if (fuzz_scratch_count == 0)
    atexit(fuzz_cleanup);
  char *copy = strdup(path);
  if (!copy)
    abort();
  fuzz_scratch_paths[fuzz_scratch_count++] = copy;
  return copy;
}

/* Replaces the file's content with data. */
static inline void fuzz_write_file(const char *path, const uint8_t *data,
                                   size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    abort();
  }
  if (size && fwrite(data, 1, size, f) != size)
    abort();
  if (fclose(f) != 0)
    abort();
}

/* 1 when s[0..len) is exactly one JSON value by jansson's reading. Things
 * RFC 8259 allows but jansson refuses (numbers beyond double/int64 range,
 * lone surrogate escapes, nesting beyond jansson's depth limit) count as
 * valid: they are JSON, just not what jansson can represent. */
static inline int fuzz_json_valid(const char *s, size_t len, char *why,
                                  size_t whylen) {
  json_error_t jerr;
  json_t *v = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
  if (v) {
    json_decref(v);
    return 1;
  }
  enum json_error_code code = json_error_code(&jerr);
  if (code == json_error_numeric_overflow ||
      code == json_error_stack_overflow ||
      strstr(jerr.text, "invalid Unicode") || strstr(jerr.text, "too big"))
    return 1;
  snprintf(why, whylen, "%s at position %d", jerr.text, jerr.position);
  return 0;
}

#endif
