/* config_test.h — helpers shared by the runtime/config unit tests. */
#ifndef FERRY_TEST_CONFIG_TEST_H
#define FERRY_TEST_CONFIG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "config/config.h"
#include "util/strutil.h"

/* Path of a fixture; malloc'd. Fails the test when FERRY_SOURCE_DIR is unset. */
static inline char *fixture_path(const char *name)
{
    const char *src = getenv("FERRY_SOURCE_DIR");
    assert_non_null(src);
    return str_printf("%s/tests/unit/config/fixtures/%s", src, name);
}

/* 1 when some error message contains needle. */
static inline int errors_contain(const cfg_errors_t *errs, const char *needle)
{
    for (size_t i = 0; i < errs->count; i++)
        if (strstr(errs->items[i], needle)) return 1;
    return 0;
}

/* 1 when no error message contains needle. */
static inline int errors_lack(const cfg_errors_t *errs, const char *needle)
{
    return !errors_contain(errs, needle);
}

static inline void errors_dump(const cfg_errors_t *errs)
{
    for (size_t i = 0; i < errs->count; i++) fprintf(stderr, "  error: %s\n", errs->items[i]);
}

/* Writes text to a temporary file and loads it. *path is malloc'd; free
 * both with loaded_done(). */
static inline worker_config_t *load_text(const char *text, char **path, cfg_errors_t *errs)
{
    char tmpl[] = "/tmp/ferry-worker-test-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    *path = str_dup(tmpl);
    return worker_config_load(*path, errs);
}

static inline void loaded_done(worker_config_t *wc, char *path)
{
    worker_config_free(wc);
    unlink(path);
    free(path);
}

#define assert_error(errs, needle)                                                                 \
    do {                                                                                           \
        if (!errors_contain((errs), (needle))) {                                                   \
            errors_dump(errs);                                                                     \
            fail_msg("no error contains \"%s\"", (needle));                                       \
        }                                                                                          \
    } while (0)

#endif
