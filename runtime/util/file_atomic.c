/*
 * file_atomic.c — write a temporary file, fsync, rename, fsync the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file_atomic.h"
#include "util/strutil.h"

/* fsync the directory holding path, so that the rename itself is durable. */
static int sync_dir(const char *path, const char *what, char *err, size_t errlen)
{
    char *dir = str_dup(path);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        free(dir);
        dir = str_dup(".");
    } else if (slash == dir) {
        slash[1] = '\0'; /* "/file" lives in "/" */
    } else {
        *slash = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "%s %s: fsync directory %s: %s", what, path, dir, strerror(errno));
        rc = -1;
    }
    if (fd >= 0) close(fd);
    free(dir);
    return rc;
}

int file_replace_atomic(const char *path, const char *what, const void *data, size_t len, int mode, char *err,
                        size_t errlen)
{
    char *tmp = str_printf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "%s %s: %s", what, tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    const char *failed = NULL;
    while (left > 0 && !failed) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) failed = "write";
        else p += n, left -= (size_t)n;
    }
    if (!failed && fchmod(fd, (mode_t)mode) != 0) failed = "chmod"; /* a left-over PATH.tmp had its own */
    if (!failed && fsync(fd) != 0) failed = "fsync";
    if (close(fd) != 0 && !failed) failed = "close";
    if (!failed && rename(tmp, path) != 0) failed = "rename";
    if (failed) {
        snprintf(err, errlen, "%s %s: %s: %s", what, failed[0] == 'r' ? path : tmp, failed, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return sync_dir(path, what, err, errlen);
}
