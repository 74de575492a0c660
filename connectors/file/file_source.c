/*
 * file_source.c — file-source: one record per line of a text file, followed
 * as it grows.
 *
 * Reading goes through one buffer of at least max.line.size + 1 bytes, so a
 * line that is not longer than the limit always fits in it whole and records
 * can point straight into the buffer (batch_add copies them). buf[start, end)
 * holds bytes read but not yet emitted; buf[start] is at file byte `pos`,
 * which is also the offset of the next record to emit.
 *
 * A last line without its '\n' stays in the buffer until the newline arrives:
 * a writer appending a line in several write(2) calls must not produce half
 * records. Its position is never committed, so after a restart it is read
 * again from its first byte.
 *
 * An error (an overlong line, a failed read) is returned by a poll that added
 * no record, so the lines before it are delivered and committed first and
 * the error message names the exact byte offset of the offending line.
 */
#include <ferry/ferry.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"

/* Poll blocks at most this long (SDK contract: ~100 ms). */
#define FILE_SOURCE_MAX_WAIT_NS 100000000LL
/* Read size beyond the longest line, so that short lines need few read(2)s. */
#define FILE_SOURCE_READ_CHUNK (64 * 1024)

typedef struct file_source {
    ferry_task_t *task;
    const ferry_host_t *host;
    const char *path;  /* owned by the config */
    const char *topic; /* owned by the config */
    int fd;
    size_t max_line;
    uint32_t flags;  /* what a line is (value.format) */
    int64_t poll_interval_ns;
    char *partition; /* {"filename":"<path>"} (owned) */

    char *buf; /* cap bytes (owned) */
    size_t cap;
    size_t start, end;    /* unconsumed bytes */
    size_t scan;          /* no '\n' in buf[start, scan): where the next search begins */
    int64_t pos;          /* file position of buf[start] */
    int64_t eof_until_ns; /* at EOF: do not read again before this (monotonic); 0 = read now */
} file_source_t;

static int64_t file_source_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void file_source_sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000LL),
                          .tv_nsec = (long)(ns % 1000000000LL)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* {"filename":"<path>"} with path escaped as a JSON string. host->alloc'd. */
static char *file_source_partition_json(const ferry_host_t *host, const char *path)
{
    static const char head[] = "{\"filename\":\"";
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(path);
    /* Worst case every byte becomes \u00XX. */
    char *out = host->alloc(sizeof(head) + len * 6 + 3);
    if (out == NULL) {
        return NULL;
    }
    size_t n = sizeof(head) - 1;
    memcpy(out, head, n);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[c >> 4];
            out[n + 5] = hex[c & 0xf];
            n += 6;
        } else {
            out[n++] = (char)c;
        }
    }
    memcpy(out + n, "\"}", 3);
    return out;
}

static void file_source_reset_buffer(file_source_t *fs, int64_t pos)
{
    fs->start = fs->end = fs->scan = 0;
    fs->pos = pos;
}

ferry_status_t file_source_open(ferry_task_t *task, const ferry_host_t *host,
                                const ferry_config_t *cfg, void **state, ferry_error_t *err)
{
    const char *path = host->cfg_string(cfg, "path");
    const char *topic = host->cfg_string(cfg, "topic");
    int64_t max_line = host->cfg_size(cfg, "max.line.size");
    int64_t interval_ms = host->cfg_duration_ms(cfg, "poll.interval");

    if (path == NULL || path[0] == '\0') {
        return ferry_error_set(err, FERRY_ERROR, "file-source: option path must not be empty");
    }
    if (topic == NULL || topic[0] == '\0') {
        return ferry_error_set(err, FERRY_ERROR, "file-source: option topic must not be empty");
    }
    if (max_line < 1 || interval_ms < 1) {
        /* Guaranteed by the option table; checked against a lax host. */
        return ferry_error_set(err, FERRY_ERROR,
                               "file-source: invalid options max.line.size=%" PRId64
                               " poll.interval=%" PRId64 "ms",
                               max_line, interval_ms);
    }

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return ferry_error_set(err, FERRY_ERROR, "file-source: cannot open %s: %s", path,
                               strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ferry_error_set(err, FERRY_ERROR, "file-source: cannot stat %s: %s", path,
                               strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return ferry_error_set(err, FERRY_ERROR, "file-source: cannot read %s: %s", path,
                               strerror(EISDIR));
    }

    file_source_t *fs = host->alloc(sizeof(*fs));
    if (fs == NULL) {
        close(fd);
        return ferry_error_set(err, FERRY_ERROR, "file-source: %s: out of memory", path);
    }
    memset(fs, 0, sizeof(*fs));
    fs->task = task;
    fs->host = host;
    fs->path = path;
    fs->topic = topic;
    fs->fd = fd;
    fs->max_line = (size_t)max_line;
    const char *format = host->cfg_string(cfg, "value.format");
    fs->flags = format && strcmp(format, "json") == 0 ? FERRY_RECORD_VALUE_JSON : FERRY_RECORD_VALUE_STRING;
    fs->poll_interval_ns = interval_ms * 1000000LL;
    /* A line of max_line bytes plus its "\n" fits (a "\r" counts in the line). */
    fs->cap = fs->max_line + 1 + FILE_SOURCE_READ_CHUNK;
    fs->buf = host->alloc(fs->cap);
    fs->partition = file_source_partition_json(host, path);
    if (fs->buf == NULL || fs->partition == NULL) {
        file_source_close(fs);
        return ferry_error_set(err, FERRY_ERROR,
                               "file-source: %s: out of memory (buffer of %zu bytes)", path,
                               fs->cap);
    }

    /* Resume at the stored position, unless the file is now shorter than
     * that: then it was truncated or replaced, and its content is new. */
    int64_t pos = 0;
    const char *offset = host->offset_get(task, fs->partition);
    if (offset != NULL) {
        if (host->json_get_int(offset, "position", &pos) != 0 || pos < 0) {
            host->log(task, FERRY_LOG_WARN,
                      "file-source: %s: ignoring stored offset %s without a valid \"position\"; "
                      "reading from the start",
                      path, offset);
            pos = 0;
        } else if (pos > (int64_t)st.st_size) {
            host->log(task, FERRY_LOG_WARN,
                      "file-source: %s is %" PRId64
                      " bytes, shorter than the stored position %" PRId64
                      ": it was truncated or replaced; reading from the start",
                      path, (int64_t)st.st_size, pos);
            pos = 0;
        }
    }
    if (pos > 0 && lseek(fd, (off_t)pos, SEEK_SET) == (off_t)-1) {
        int e = errno;
        file_source_close(fs);
        return ferry_error_set(err, FERRY_ERROR,
                               "file-source: cannot seek %s to byte %" PRId64 ": %s", path, pos,
                               strerror(e));
    }
    file_source_reset_buffer(fs, pos);
    host->log(task, FERRY_LOG_INFO, "file-source: reading %s from byte %" PRId64, path, pos);
    *state = fs;
    return FERRY_OK;
}

/* At EOF: if the file is now shorter than what was read, it was truncated
 * (e.g. `> file` by a log rotator): start over from its first byte. */
static void file_source_check_truncated(file_source_t *fs)
{
    struct stat st;
    int64_t read_pos = fs->pos + (int64_t)(fs->end - fs->start);
    if (fstat(fs->fd, &st) != 0 || (int64_t)st.st_size >= read_pos) {
        return;
    }
    fs->host->log(fs->task, FERRY_LOG_WARN,
                  "file-source: %s shrank to %" PRId64 " bytes while at byte %" PRId64
                  ": it was truncated; reading from the start",
                  fs->path, (int64_t)st.st_size, read_pos);
    if (lseek(fs->fd, 0, SEEK_SET) != (off_t)-1) {
        file_source_reset_buffer(fs, 0);
    }
}

/* Reads more bytes after buf[end]. Returns the count read (0 at EOF) or -1
 * with errno set. */
static ssize_t file_source_fill(file_source_t *fs)
{
    if (fs->start > 0) {
        /* Move the pending partial line to the front to make room. */
        size_t pending = fs->end - fs->start;
        memmove(fs->buf, fs->buf + fs->start, pending);
        fs->scan -= fs->start;
        fs->end = pending;
        fs->start = 0;
    }
    for (;;) {
        ssize_t n = read(fs->fd, fs->buf + fs->end, fs->cap - fs->end);
        if (n >= 0 || errno != EINTR) {
            if (n > 0) {
                fs->end += (size_t)n;
            }
            return n;
        }
    }
}

static ferry_status_t file_source_too_long(file_source_t *fs, ferry_error_t *err)
{
    return ferry_error_set(err, FERRY_ERROR,
                           "file-source: %s: the line at byte offset %" PRId64
                           " is longer than max.line.size (%zu bytes)",
                           fs->path, fs->pos, fs->max_line);
}

ferry_status_t file_source_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    file_source_t *fs = state;
    const ferry_host_t *host = fs->host;

    size_t room = host->batch_room(batch);
    if (room == 0) {
        return FERRY_OK;
    }

    /* At EOF, wait poll.interval before reading again, in slices of at most
     * 100 ms so that the host can stop the task in between. */
    if (fs->eof_until_ns != 0) {
        int64_t left = fs->eof_until_ns - file_source_now_ns();
        if (left > 0) {
            file_source_sleep_ns(left < FILE_SOURCE_MAX_WAIT_NS ? left : FILE_SOURCE_MAX_WAIT_NS);
            if (left > FILE_SOURCE_MAX_WAIT_NS || host->should_stop(fs->task)) {
                return FERRY_OK;
            }
        }
        fs->eof_until_ns = 0;
    }

    char offset[48];
    ferry_record_t rec = {
        .topic = fs->topic,
        .partition = -1,
        .source_partition = fs->partition,
        .source_offset = offset,
        .flags = fs->flags, /* a line of text, or of JSON */
    };
    size_t added = 0;
    ferry_status_t status = FERRY_OK;

    while (added < room) {
        char *nl = memchr(fs->buf + fs->scan, '\n', fs->end - fs->scan);
        if (nl != NULL) {
            size_t line_len = (size_t)(nl - (fs->buf + fs->start));
            if (line_len > fs->max_line) {
                status = added > 0 ? FERRY_OK : file_source_too_long(fs, err);
                break;
            }
            size_t value_len = line_len;
            if (value_len > 0 && fs->buf[fs->start + value_len - 1] == '\r') {
                value_len--;
            }
            int64_t next_pos = fs->pos + (int64_t)line_len + 1;
            snprintf(offset, sizeof(offset), "{\"position\":%" PRId64 "}", next_pos);
            rec.value = fs->buf + fs->start;
            rec.value_len = value_len;
            ferry_status_t st = ferry_batch_add(host, batch, &rec);
            if (st == FERRY_RETRY) {
                break; /* batch full; the line stays pending */
            }
            if (st != FERRY_OK) {
                status = ferry_error_set(
                    err, FERRY_ERROR, "file-source: %s: batch_add failed at byte offset %" PRId64,
                    fs->path, fs->pos);
                break;
            }
            fs->start += line_len + 1;
            fs->scan = fs->start;
            fs->pos = next_pos;
            added++;
            continue;
        }

        /* No complete line buffered. */
        fs->scan = fs->end;
        if (fs->end - fs->start > fs->max_line) {
            status = added > 0 ? FERRY_OK : file_source_too_long(fs, err);
            break;
        }
        ssize_t n = file_source_fill(fs);
        if (n < 0 && added > 0) {
            break; /* deliver what we have; the next poll reads again */
        }
        if (n < 0) {
            status = ferry_error_set(
                err, FERRY_ERROR, "file-source: cannot read %s at byte %" PRId64 ": %s", fs->path,
                fs->pos + (int64_t)(fs->end - fs->start), strerror(errno));
            break;
        }
        if (n == 0) {
            file_source_check_truncated(fs);
            fs->eof_until_ns = file_source_now_ns() + fs->poll_interval_ns;
            if (added == 0) {
                /* Idle: spend part of the interval here rather than have the
                 * host call again at once. */
                int64_t wait = fs->poll_interval_ns < FILE_SOURCE_MAX_WAIT_NS
                                   ? fs->poll_interval_ns
                                   : FILE_SOURCE_MAX_WAIT_NS;
                file_source_sleep_ns(wait);
            }
            break;
        }
    }

    if (added > 0) {
        host->metric_add(fs->task, "records", (double)added);
    }
    return status;
}

void file_source_close(void *state)
{
    file_source_t *fs = state;
    if (fs == NULL) {
        return;
    }
    const ferry_host_t *host = fs->host;
    if (fs->fd >= 0) {
        close(fs->fd);
    }
    host->free(fs->partition);
    host->free(fs->buf);
    host->free(fs);
}
