/*
 * plugin_trust.c — refusing plugin files that someone other than root or
 * the user running ferry could have written.
 *
 * A plugin runs with the worker's rights, so a file that another user can
 * change is code that user can run as ferry. The rules follow sshd's
 * StrictModes checks (OpenSSH's safe_path()): the file, its directory and
 * every directory above it must be owned by root or by the user running
 * ferry, and writable by nobody else. Two refinements:
 *   - A directory above the plugin directory may be writable by others
 *     when it is sticky (/tmp, mode 1777): there nobody else may rename or
 *     remove an entry that is ours, and the entry we go through is checked
 *     next. The plugin directory itself may not be, sticky or not: anyone
 *     could add a plugin to it.
 *   - A plugin may be a symlink to a file in the same directory (the usual
 *     libx.so -> libx.so.1), never to one elsewhere: the checks of the
 *     directory would not cover it.
 * The file is opened with O_NOFOLLOW and judged by fstat on that
 * descriptor, so the attributes checked are those of the file opened.
 *
 * dlopen() then opens the checked path again. It is not given
 * "/proc/self/fd/N" to close that gap: the link map would name the file
 * /proc/self/fd/N, which sanitizer and debugger symbolizers (separate
 * processes, with a /proc/self of their own) cannot open, so plugin frames
 * would lose their names in every ASan/LSan report. Nor is it needed: once
 * the directory and those above it are writable only by root and ferry's
 * user, nobody else can swap the file between the check and the dlopen.
 */
#include "plugin/plugin_trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/strutil.h"

static int owner_trusted(const struct stat *st) { return st->st_uid == 0 || st->st_uid == geteuid(); }

/* what ends in a verb: "plugin directory D is", "refusing plugin file". */
static void not_owner(char *why, size_t whylen, const char *what, const struct stat *st)
{
    snprintf(why, whylen, "%s owned by uid %u, not by root or the user running ferry (uid %u)", what,
             (unsigned)st->st_uid, (unsigned)geteuid());
}

/* Checks each directory above real_dir (resolved, so free of symlinks). */
static int trust_ancestors(const char *real_dir, char *why, size_t whylen)
{
    char *path = str_dup(real_dir);
    size_t len = strlen(path);
    int rc = 0;
    while (rc == 0 && len > 1) {
        while (len > 1 && path[len - 1] != '/') len--;
        if (len > 1) len--; /* the slash, unless it is the root */
        path[len] = '\0';
        struct stat st;
        char *what = str_printf("directory %s above plugin directory %s", path, real_dir);
        if (stat(path, &st) < 0) {
            snprintf(why, whylen, "%s cannot be read: %s", what, strerror(errno));
            rc = -1;
        } else if (!owner_trusted(&st)) {
            char *is = str_printf("%s is", what);
            not_owner(why, whylen, is, &st);
            free(is);
            rc = -1;
        } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
            const char *who = st.st_mode & S_IWOTH ? "others" : "its group";
            snprintf(why, whylen, "%s is writable by %s and not sticky (chmod %s %s)", what, who,
                     st.st_mode & S_IWOTH ? "o-w" : "g-w", path);
            rc = -1;
        }
        free(what);
    }
    free(path);
    return rc;
}

int plugin_trust_dir(const char *dir, char **real_dir, char *why, size_t whylen)
{
    *real_dir = NULL;
    char *real = realpath(dir, NULL);
    if (!real) {
        snprintf(why, whylen, "plugin directory %s cannot be resolved: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    char *what = str_printf("plugin directory %s is", real);
    int rc = -1;
    if (stat(real, &st) < 0) snprintf(why, whylen, "plugin directory %s cannot be read: %s", real, strerror(errno));
    else if (!S_ISDIR(st.st_mode)) snprintf(why, whylen, "%s not a directory", what);
    else if (!owner_trusted(&st)) not_owner(why, whylen, what, &st);
    else if (st.st_mode & S_IWOTH) snprintf(why, whylen, "%s writable by others (chmod o-w %s)", what, real);
    else if (st.st_mode & S_IWGRP) snprintf(why, whylen, "%s writable by its group (chmod g-w %s)", what, real);
    else rc = trust_ancestors(real, why, whylen);
    free(what);
    if (rc < 0) {
        free(real);
        return -1;
    }
    *real_dir = real;
    return 0;
}

/* *file is a symlink in real_dir: follows it when it ends in real_dir too,
 * replacing *file with the target. Returns the open descriptor, or -1 with
 * why. */
static int open_symlink(const char *real_dir, char **file, char *why, size_t whylen)
{
    char *target = realpath(*file, NULL);
    if (!target) {
        snprintf(why, whylen, "cannot read: %s", strerror(errno));
        return -1;
    }
    const char *slash = strrchr(target, '/');
    size_t parent = slash == target ? 1 : (size_t)(slash - target);
    if (strlen(real_dir) != parent || strncmp(target, real_dir, parent) != 0) {
        snprintf(why, whylen, "refusing symlink to %s, outside the plugin directory %s", target, real_dir);
        free(target);
        return -1;
    }
    free(*file);
    *file = target;
    int fd = open(target, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) snprintf(why, whylen, "cannot read: %s", strerror(errno));
    return fd;
}

/* The checks on the opened file itself. */
static int trust_opened(int fd, const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(why, whylen, "cannot read: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file");
        return -1;
    }
    if (!owner_trusted(&st)) {
        not_owner(why, whylen, "refusing plugin file", &st);
        return -1;
    }
    if (st.st_mode & S_IWOTH) {
        snprintf(why, whylen, "refusing world-writable plugin file (chmod o-w %s)", path);
        return -1;
    }
    if (st.st_mode & S_IWGRP) {
        snprintf(why, whylen, "refusing group-writable plugin file (chmod g-w %s)", path);
        return -1;
    }
    return 0;
}

int plugin_trust_file(const char *real_dir, const char *path, char **file, char *why, size_t whylen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    *file = str_printf("%s/%s", strcmp(real_dir, "/") == 0 ? "" : real_dir, base);
    int fd = open(*file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP) fd = open_symlink(real_dir, file, why, whylen);
    else if (fd < 0) snprintf(why, whylen, "cannot read: %s", strerror(errno));
    int rc = fd < 0 ? -1 : trust_opened(fd, path, why, whylen);
    if (fd >= 0) close(fd);
    if (rc < 0) {
        free(*file);
        *file = NULL;
    }
    return rc;
}
