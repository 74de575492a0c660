/*
 * file_sink.c — file-sink: appends each record value as one line.
 *
 * put() copies lines into a buffer and writes it out when full; flush()
 * writes the rest and fsyncs, so FERRY_OK from flush means every line put so
 * far is on disk and the host may commit the consumer offsets. The file is
 * opened O_APPEND and each write(2) carries whole lines, so several tasks
 * appending to the same file do not interleave within a line.
 *
 * Tombstones (NULL values) have no line to write: they are skipped and
 * counted in the "tombstones" metric. Values are written as they are; a
 * value containing '\n' becomes several lines.
 */
#include <ferry/ferry.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "file.h"

#define FILE_SINK_BUFFER_SIZE (256 * 1024)

typedef struct file_sink {
    ferry_task_t *task;
    const ferry_host_t *host;
    const char *path; /* owned by the config */
    int fd;
    char *buf;  /* FILE_SINK_BUFFER_SIZE bytes (owned) */
    size_t len; /* bytes buffered, not yet written */
} file_sink_t;

ferry_status_t file_sink_open(ferry_task_t *task, const ferry_host_t *host,
                              const ferry_config_t *cfg, void **state, ferry_error_t *err)
{
    const char *path = host->cfg_string(cfg, "path");
    if (path == NULL || path[0] == '\0') {
        return ferry_error_set(err, FERRY_ERROR, "file-sink: option path must not be empty");
    }
    file_sink_t *sink = host->alloc(sizeof(*sink));
    if (sink == NULL) {
        return ferry_error_set(err, FERRY_ERROR, "file-sink: %s: out of memory", path);
    }
    memset(sink, 0, sizeof(*sink));
    sink->task = task;
    sink->host = host;
    sink->path = path;
    sink->buf = host->alloc(FILE_SINK_BUFFER_SIZE);
    if (sink->buf == NULL) {
        host->free(sink);
        return ferry_error_set(err, FERRY_ERROR, "file-sink: %s: out of memory", path);
    }
    sink->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (sink->fd < 0) {
        int e = errno;
        host->free(sink->buf);
        host->free(sink);
        return ferry_error_set(err, FERRY_ERROR, "file-sink: cannot open %s for appending: %s",
                               path, strerror(e));
    }
    host->log(task, FERRY_LOG_INFO, "file-sink: appending to %s", path);
    *state = sink;
    return FERRY_OK;
}

/* Writes all of iov (one or two spans). Returns 0 or -1 with errno set. */
static int file_sink_writev_all(int fd, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        ssize_t n = writev(fd, iov, iovcnt);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        size_t done = (size_t)n;
        while (iovcnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

/* Writes the buffer out. On failure the buffer is dropped: the task fails,
 * and the host replays from the last committed offsets. */
static ferry_status_t file_sink_drain(file_sink_t *sink, ferry_error_t *err)
{
    if (sink->len == 0) {
        return FERRY_OK;
    }
    struct iovec iov = {.iov_base = sink->buf, .iov_len = sink->len};
    size_t len = sink->len;
    sink->len = 0;
    if (file_sink_writev_all(sink->fd, &iov, 1) != 0) {
        return ferry_error_set(err, FERRY_ERROR, "file-sink: cannot write %zu bytes to %s: %s", len,
                               sink->path, strerror(errno));
    }
    return FERRY_OK;
}

ferry_status_t file_sink_put(void *state, const ferry_batch_t *batch, ferry_error_t *err)
{
    file_sink_t *sink = state;
    const ferry_host_t *host = sink->host;
    size_t count = host->batch_count(batch);
    size_t records = 0, tombstones = 0, bytes = 0;
    ferry_status_t status = FERRY_OK;

    for (size_t i = 0; i < count; i++) {
        const ferry_record_t *rec = host->batch_get(batch, i);
        if (rec == NULL || rec->value == NULL) {
            tombstones++;
            continue;
        }
        size_t need = rec->value_len + 1;
        if (sink->len + need > FILE_SINK_BUFFER_SIZE) {
            status = file_sink_drain(sink, err);
            if (status != FERRY_OK) {
                break;
            }
        }
        if (need > FILE_SINK_BUFFER_SIZE) {
            /* Larger than the whole buffer: write it directly, with its
             * newline in the same system call. */
            struct iovec iov[2] = {{.iov_base = (void *)rec->value, .iov_len = rec->value_len},
                                   {.iov_base = "\n", .iov_len = 1}};
            if (file_sink_writev_all(sink->fd, iov, 2) != 0) {
                status =
                    ferry_error_set(err, FERRY_ERROR, "file-sink: cannot write %zu bytes to %s: %s",
                                    need, sink->path, strerror(errno));
                break;
            }
        } else {
            memcpy(sink->buf + sink->len, rec->value, rec->value_len);
            sink->buf[sink->len + rec->value_len] = '\n';
            sink->len += need;
        }
        records++;
        bytes += need;
    }

    if (records > 0) {
        host->metric_add(sink->task, "records", (double)records);
        host->metric_add(sink->task, "bytes", (double)bytes);
    }
    if (tombstones > 0) {
        host->metric_add(sink->task, "tombstones", (double)tombstones);
    }
    return status;
}

ferry_status_t file_sink_flush(void *state, ferry_flush_t *fl, ferry_error_t *err)
{
    file_sink_t *sink = state;
    ferry_status_t status = file_sink_drain(sink, err);
    if (status != FERRY_OK) {
        return status;
    }
    while (fsync(sink->fd) != 0) {
        if (errno != EINTR) {
            return ferry_error_set(err, FERRY_ERROR, "file-sink: cannot fsync %s: %s", sink->path,
                                   strerror(errno));
        }
    }
    return FERRY_OK;
}

void file_sink_close(void *state)
{
    file_sink_t *sink = state;
    if (sink == NULL) {
        return;
    }
    const ferry_host_t *host = sink->host;
    /* Lines put but never flushed are written anyway (not fsynced): their
     * consumer offsets were not committed, so at worst they are written a
     * second time after a restart, which at-least-once allows. */
    ferry_error_t err;
    if (file_sink_drain(sink, &err) != FERRY_OK) {
        host->log(sink->task, FERRY_LOG_WARN, "%s", err.msg);
    }
    close(sink->fd);
    host->free(sink->buf);
    host->free(sink);
}
