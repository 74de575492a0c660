/*
 * test_plugin_trust.c — the loader refuses plugin files that someone other
 * than root or the user running ferry could have written: group- or
 * world-writable files and directories, symlinks out of the plugin
 * directory, files and directories owned by another user.
 *
 * Each test builds its tree in a fresh directory under /tmp (mode 0700;
 * /tmp itself is sticky), from copies of the good.so fixture, because
 * neither git nor the build keeps such modes and owners.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin.h"
#include "util/log.h"
#include "util/strutil.h"

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must be defined by the build"
#endif

/* A uid that owns nothing on the machine. */
#define STRANGER 4242

static char root[64]; /* the test's directory */

static char *at(const char *rel) { return str_printf("%s/%s", root, rel); }

static void make_dir(const char *rel, mode_t mode)
{
    char *path = at(rel);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chmod(path, mode), 0); /* past the umask */
    free(path);
}

/* ROOT/rel: a copy of good.so with the given mode. */
static void copy_good(const char *rel, mode_t mode)
{
    char *path = at(rel);
    FILE *in = fopen(FIXTURE_DIR "/good.so", "rb");
    assert_non_null(in);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(chmod(path, mode), 0);
    free(path);
}

static void make_link(const char *target, const char *rel)
{
    char *path = at(rel);
    assert_int_equal(symlink(target, path), 0);
    free(path);
}

/* Gives ROOT/rel to STRANGER; 0, or -1 when this process may not (not root). */
static int give_away(const char *rel)
{
    char *path = at(rel);
    int rc = chown(path, STRANGER, (gid_t)-1);
    free(path);
    return rc;
}

static int setup(void **state)
{
    snprintf(root, sizeof(root), "/tmp/ferry-plugin-trust-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    return nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* reason with each "{}" replaced by ROOT; malloc'd. */
static char *expand(const char *reason)
{
    char *out = str_dup("");
    for (const char *p = reason; *p;) {
        const char *mark = strstr(p, "{}");
        size_t n = mark ? (size_t)(mark - p) : strlen(p);
        char *next = str_printf("%s%.*s%s", out, (int)n, p, mark ? root : "");
        free(out);
        out = next;
        p += n + (mark ? 2 : 0);
    }
    return out;
}

/* Loads ROOT/rel; expects success (reason NULL), or the refusal
 * "plugin ROOT/rel: REASON" where "{}" in reason stands for ROOT. */
static void expect_load(const char *rel, const char *reason)
{
    char *path = at(rel);
    plugin_registry_t *reg = plugin_registry_new();
    char err[1024] = "";
    int rc = plugin_registry_load_file(reg, path, err, sizeof(err));
    if (!reason) {
        if (rc != 0) fail_msg("%s", err);
        assert_non_null(plugin_registry_find(reg, "fixture-source", NULL));
    } else {
        char *why = expand(reason);
        char *want = str_printf("plugin %s: %s", path, why);
        assert_int_equal(rc, -1);
        assert_string_equal(err, want);
        assert_int_equal(plugin_registry_count(reg), 0);
        free(want);
        free(why);
    }
    plugin_registry_free(reg);
    free(path);
}

static void test_writable_files(void **state)
{
    make_dir("plugins", 0755);
    copy_good("plugins/good.so", 0644);
    copy_good("plugins/groupw.so", 0664);
    copy_good("plugins/worldw.so", 0646);
    expect_load("plugins/good.so", NULL);
    expect_load("plugins/groupw.so", "refusing group-writable plugin file (chmod g-w {}/plugins/groupw.so)");
    expect_load("plugins/worldw.so", "refusing world-writable plugin file (chmod o-w {}/plugins/worldw.so)");
}

static void test_symlinks(void **state)
{
    make_dir("plugins", 0755);
    make_dir("elsewhere", 0755);
    copy_good("plugins/good.so", 0644);
    copy_good("elsewhere/good.so", 0644);
    make_link("good.so", "plugins/inside.so");
    make_link("../plugins/good.so", "plugins/roundabout.so");
    make_link("../elsewhere/good.so", "plugins/outside.so");
    make_link("/etc/passwd", "plugins/passwd.so");
    make_link("missing.so", "plugins/dangling.so");
    /* Within the directory, however written, a symlink is fine. */
    expect_load("plugins/inside.so", NULL);
    expect_load("plugins/roundabout.so", NULL);
    expect_load("plugins/outside.so",
                "refusing symlink to {}/elsewhere/good.so, outside the plugin directory {}/plugins");
    expect_load("plugins/passwd.so", "refusing symlink to /etc/passwd, outside the plugin directory {}/plugins");
    expect_load("plugins/dangling.so", "cannot read: No such file or directory");

    /* A directory reached through a symlink is judged where it really is. */
    make_link("elsewhere", "linkdir");
    expect_load("linkdir/good.so", NULL);

    /* load_dir loads good.so; inside.so and roundabout.so then provide a
     * duplicate, the others are refused. */
    plugin_registry_t *reg = plugin_registry_new();
    char *dir = at("plugins");
    assert_int_equal(plugin_registry_load_dir(reg, dir), 1);
    free(dir);
    plugin_registry_free(reg);
}

static void test_writable_directories(void **state)
{
    make_dir("gw", 0775);
    copy_good("gw/good.so", 0644);
    make_dir("ow", 0757);
    copy_good("ow/good.so", 0644);
    make_dir("sticky", 01777);
    copy_good("sticky/good.so", 0644);
    expect_load("gw/good.so", "plugin directory {}/gw is writable by its group (chmod g-w {}/gw)");
    expect_load("ow/good.so", "plugin directory {}/ow is writable by others (chmod o-w {}/ow)");
    /* Sticky or not: anyone could add a plugin to it. */
    expect_load("sticky/good.so", "plugin directory {}/sticky is writable by others (chmod o-w {}/sticky)");

    /* The directories above count too, unless sticky (like /tmp). */
    make_dir("open", 0777);
    make_dir("open/inner", 0755);
    copy_good("open/inner/good.so", 0644);
    expect_load("open/inner/good.so", "directory {}/open above plugin directory {}/open/inner is writable by "
                                      "others and not sticky (chmod o-w {}/open)");
    make_dir("team", 0775);
    make_dir("team/inner", 0755);
    copy_good("team/inner/good.so", 0644);
    expect_load("team/inner/good.so", "directory {}/team above plugin directory {}/team/inner is writable by "
                                      "its group and not sticky (chmod g-w {}/team)");
    make_dir("shared", 01777);
    make_dir("shared/inner", 0755);
    copy_good("shared/inner/good.so", 0644);
    expect_load("shared/inner/good.so", NULL);

    /* load_dir refuses the whole directory, and loads nothing from it. */
    plugin_registry_t *reg = plugin_registry_new();
    char *dir = at("gw");
    assert_int_equal(plugin_registry_load_dir(reg, dir), -1);
    assert_int_equal(plugin_registry_count(reg), 0);
    free(dir);
    plugin_registry_free(reg);
}

static void test_foreign_owner(void **state)
{
    make_dir("plugins", 0755);
    copy_good("plugins/foreign.so", 0644);
    if (give_away("plugins/foreign.so") < 0) skip(); /* only root may give files away */
    make_dir("theirs", 0755);
    copy_good("theirs/good.so", 0644);
    assert_int_equal(give_away("theirs"), 0);
    make_dir("above", 0755);
    make_dir("above/inner", 0755);
    copy_good("above/inner/good.so", 0644);
    assert_int_equal(give_away("above"), 0);

    char reason[512];
    unsigned me = (unsigned)geteuid();
    snprintf(reason, sizeof(reason),
             "refusing plugin file owned by uid %d, not by root or the user running ferry (uid %u)", STRANGER, me);
    expect_load("plugins/foreign.so", reason);
    snprintf(reason, sizeof(reason),
             "plugin directory {}/theirs is owned by uid %d, not by root or the user running ferry (uid %u)",
             STRANGER, me);
    expect_load("theirs/good.so", reason);
    snprintf(reason, sizeof(reason),
             "directory {}/above above plugin directory {}/above/inner is owned by uid %d, not by root or the "
             "user running ferry (uid %u)",
             STRANGER, me);
    expect_load("above/inner/good.so", reason);
}

int main(void)
{
    log_set_level(FERRY_LOG_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writable_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable_directories, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_owner, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
