/*
 * offsets_file.c — the standalone offset store (offsets.store: file).
 *
 * One record per line, "<key>\t<value>\n", the same bytes as the offsets
 * topic (compact JSON never contains a raw tab or newline: both are escaped
 * inside strings). save() rewrites the whole file: write path.tmp, fsync,
 * rename over path, fsync the directory, so after a crash the file is either
 * the old or the new version, never a mix.
 */
#include "offsets.h"
#include "offsets_internal.h"

#include "util/file_atomic.h"
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int offsets_file_load(const char *path, offset_map_t *map, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        if (errno == ENOENT) return 0; /* first run: an empty store */
        snprintf(err, errlen, "offsets file %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = 0;
    errno = 0;
    while ((n = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        if (len == 0) continue;
        const char *tab = memchr(line, '\t', len);
        if (!tab) {
            snprintf(err, errlen, "offsets file %s:%zu: expected <key><TAB><value>", path, lineno);
            rc = -1;
            break;
        }
        size_t klen = (size_t)(tab - line);
        if (offset_map_apply(map, line, klen, tab + 1, len - klen - 1) != 0) {
            snprintf(err, errlen,
                     "offsets file %s:%zu: malformed record (key must be [\"connector\",{...}], "
                     "value {...} or null)",
                     path, lineno);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(fp)) {
        snprintf(err, errlen, "offsets file %s: read: %s", path, strerror(errno ? errno : EIO));
        rc = -1;
    }
    free(line);
    fclose(fp);
    return rc;
}

static int write_records(FILE *fp, const offset_map_t *map)
{
    for (size_t i = 0; i < offset_map_count(map); i++) {
        const char *connector, *partition, *offset;
        offset_map_entry(map, i, &connector, &partition, &offset);
        char *key = offsets_key_encode(connector, partition);
        if (!key) continue; /* cannot happen: the map only holds objects */
        int ok = fprintf(fp, "%s\t%s\n", key, offset) >= 0;
        free(key);
        if (!ok) return -1;
    }
    return 0;
}

int offsets_file_save(const char *path, const offset_map_t *map, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (!fp) {
        snprintf(err, errlen, "offsets file %s: %s", path, strerror(errno));
        return -1;
    }
    int bad = write_records(fp, map) != 0;
    bad |= fclose(fp) != 0;
    int rc = bad ? -1 : file_replace_atomic(path, "offsets file", text, len, 0644, err, errlen);
    if (bad) snprintf(err, errlen, "offsets file %s: out of memory", path);
    free(text);
    return rc;
}
