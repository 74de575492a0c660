/*
 * test_config_subst.c — what ${file:} and ${env:} may read: the worker
 * options config.providers.file.param.allowed.paths and
 * config.providers.env.param.allowlist.pattern, their defaults for the
 * operator's own file and for untrusted configs, and the file checks.
 *
 * Each test works in a fresh directory:
 *   DIR/allowed/secret.txt          "in-secret"
 *   DIR/allowed/link.txt         -> ../outside/other.txt
 *   DIR/allowed/inner.txt        -> secret.txt
 *   DIR/allowed/sub/             (empty directory)
 *   DIR/outside/other.txt           "out-secret"
 *   DIR/pipeline.yaml               whatever the test loads
 */
#include "config_test.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_OPT "config.providers.file.param.allowed.paths"
#define ENV_OPT "config.providers.env.param.allowlist.pattern"

typedef struct fixture {
    char dir[64];
    char *allowed, *outside, *yaml; /* owned paths */
} fixture_t;

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/ferry-subst-test-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    fx->allowed = str_printf("%s/allowed", fx->dir);
    fx->outside = str_printf("%s/outside", fx->dir);
    fx->yaml = str_printf("%s/pipeline.yaml", fx->dir);
    char *sub = str_printf("%s/sub", fx->allowed);
    if (mkdir(fx->allowed, 0755) < 0 || mkdir(fx->outside, 0755) < 0 || mkdir(sub, 0755) < 0) return -1;
    free(sub);
    char *p = str_printf("%s/secret.txt", fx->allowed);
    put_file(p, "in-secret\n");
    free(p);
    p = str_printf("%s/other.txt", fx->outside);
    put_file(p, "out-secret\n");
    free(p);
    p = str_printf("%s/link.txt", fx->allowed);
    if (symlink("../outside/other.txt", p) < 0) return -1;
    free(p);
    p = str_printf("%s/inner.txt", fx->allowed);
    if (symlink("secret.txt", p) < 0) return -1;
    free(p);
    *state = fx;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    nftw(fx->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx->allowed);
    free(fx->outside);
    free(fx->yaml);
    free(fx);
    return 0;
}

/* Writes text (a printf format over the fixture's paths) to DIR/pipeline.yaml
 * and loads it. */
static worker_config_t *load(fixture_t *fx, cfg_errors_t *errs, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static worker_config_t *load(fixture_t *fx, cfg_errors_t *errs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = str_vprintf(fmt, ap);
    va_end(ap);
    put_file(fx->yaml, text);
    free(text);
    return worker_config_load(fx->yaml, errs);
}

static const char *connector_value(const worker_config_t *wc, const char *key)
{
    assert_true(wc->connector_count > 0);
    const cfg_node_t *node = cfg_node_get(wc->connectors[0].node, key);
    assert_non_null(node);
    assert_true(node->secret_subst);
    return node->scalar;
}

/* assert_error with a printf-formed needle. */
static void assert_error_fmt(const cfg_errors_t *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void assert_error_fmt(const cfg_errors_t *errs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *want = str_vprintf(fmt, ap);
    va_end(ap);
    assert_error(errs, want);
    free(want);
}

/* Every message that names a secret's content is a leak. */
static void assert_no_secret(const cfg_errors_t *errs)
{
    assert_true(errors_lack(errs, "in-secret"));
    assert_true(errors_lack(errs, "out-secret"));
    assert_true(errors_lack(errs, "env-secret"));
}

/* ---- ${file:} with allowed.paths ------------------------------------------- */

static void test_allowed_paths_admit(void **state)
{
    fixture_t *fx = *state;
    cfg_errors_t errs = {0};
    /* Flat and nested spellings of the option, a symlink within the folder,
     * ".." that stays inside. */
    worker_config_t *wc = load(fx, &errs,
                               "worker:\n"
                               "  " FILE_OPT ": [%s]\n"
                               "connectors:\n"
                               "  a:\n"
                               "    connector: x\n"
                               "    plain: ${file:%s/secret.txt}\n"
                               "    inner: ${file:%s/inner.txt}\n"
                               "    dots: ${file:%s/sub/../secret.txt}\n",
                               fx->allowed, fx->allowed, fx->allowed, fx->allowed);
    if (errs.count) errors_dump(&errs);
    assert_int_equal(errs.count, 0);
    assert_string_equal(connector_value(wc, "plain"), "in-secret");
    assert_string_equal(connector_value(wc, "inner"), "in-secret");
    assert_string_equal(connector_value(wc, "dots"), "in-secret");
    assert_non_null(wc->subst_policy);
    worker_config_free(wc);

    wc = load(fx, &errs,
              "connectors:\n"
              "  a: {connector: x, plain: '${file:%s/secret.txt}'}\n"
              "worker:\n"
              "  config:\n"
              "    providers:\n"
              "      file.param:\n"
              "        allowed.paths: '%s/secret.txt, %s/sub'\n",
              fx->allowed, fx->allowed, fx->allowed);
    if (errs.count) errors_dump(&errs);
    assert_int_equal(errs.count, 0);
    assert_string_equal(connector_value(wc, "plain"), "in-secret"); /* a file may be listed itself */
    worker_config_free(wc);
}

static void test_allowed_paths_refuse(void **state)
{
    fixture_t *fx = *state;
    cfg_errors_t errs = {0};
    assert_null(load(fx, &errs,
                     "worker:\n"
                     "  " FILE_OPT ": %s\n"
                     "connectors:\n"
                     "  a:\n"
                     "    connector: x\n"
                     "    dotdot: ${file:%s/../outside/other.txt}\n"
                     "    link: ${file:%s/link.txt}\n"
                     "    outside: ${file:%s/other.txt}\n"
                     "    sibling: ${file:%s-not/x}\n"
                     "    shadow: ${file:/etc/shadow}\n"
                     "    gone: ${file:/nonexistent/ferry/secret}\n"
                     "    missing: ${file:%s/missing.txt}\n",
                     fx->allowed, fx->allowed, fx->allowed, fx->outside, fx->allowed, fx->allowed));
    assert_int_equal(errs.count, 7);
    assert_error_fmt(&errs, "%s:6:13: file '%s/../outside/other.txt' (referenced as ${file:%s/../outside/other.txt}) "
                            "resolves to '%s/other.txt', outside worker option '" FILE_OPT "'",
                            fx->yaml, fx->allowed, fx->allowed, fx->outside);
    assert_error_fmt(&errs, ":7:11: file '%s/link.txt' (referenced as ${file:%s/link.txt}) resolves to '%s/other.txt', "
                      "outside worker option '" FILE_OPT "'",
                      fx->allowed, fx->allowed, fx->outside);
    assert_error_fmt(&errs, ":8:14: file '%s/other.txt' (referenced as ${file:%s/other.txt}) is outside worker option '" FILE_OPT
                      "'",
                      fx->outside, fx->outside);
    /* "/x/allowed-not" shares a prefix with "/x/allowed" but is not in it. */
    assert_error_fmt(&errs, ":9:14: file '%s-not/x' (referenced as ${file:%s-not/x}) is outside", fx->allowed, fx->allowed);
    assert_error(&errs, ":10:13: file '/etc/shadow' (referenced as ${file:/etc/shadow}) is outside worker option");
    /* A missing file outside is refused without saying whether it exists;
     * inside, the operator learns why it cannot be read. */
    assert_error(&errs, ":11:11: file '/nonexistent/ferry/secret' (referenced as ${file:/nonexistent/ferry/secret}) is "
                        "outside worker option");
    assert_error_fmt(&errs, ":12:14: cannot read file '%s/missing.txt' (referenced as ${file:%s/missing.txt}): No such file "
                      "or directory",
                      fx->allowed, fx->allowed);
    assert_no_secret(&errs);
    cfg_errors_clear(&errs);
}

static void test_allowed_paths_option_errors(void **state)
{
    fixture_t *fx = *state;
    cfg_errors_t errs = {0};
    setenv("FERRY_TEST_DIR", fx->allowed, 1);
    /* Every bad entry is reported; the option is then invalid and no file
     * is read through it (fail closed), not even one in a good entry. */
    assert_null(load(fx, &errs,
                     "worker:\n"
                     "  " FILE_OPT ":\n"
                     "    - relative/dir\n"
                     "    - %s/nope\n"
                     "    - ${env:FERRY_TEST_DIR}\n"
                     "    - %s\n"
                     "connectors:\n"
                     "  a: {connector: x, v: '${file:%s/secret.txt}'}\n",
                     fx->dir, fx->allowed, fx->allowed));
    assert_int_equal(errs.count, 4);
    assert_error(&errs, ":3:7: worker option '" FILE_OPT "': path 'relative/dir' is not absolute");
    assert_error_fmt(&errs, ":4:7: worker option '" FILE_OPT "': path '%s/nope' cannot be resolved: No such file or "
                            "directory",
                            fx->dir);
    assert_error(&errs, ":5:7: worker option '" FILE_OPT "': cannot use ${...} references: it decides what they may read");
    assert_error_fmt(&errs, ":8:24: file '%s/secret.txt' (referenced as ${file:%s/secret.txt}) is not read: worker option '" FILE_OPT
                      "' is invalid",
                      fx->allowed, fx->allowed);
    assert_no_secret(&errs);
    cfg_errors_clear(&errs);

    /* An empty list allows nothing. */
    assert_null(load(fx, &errs, "worker: {" FILE_OPT ": []}\nconnectors: {a: {v: '${file:%s/secret.txt}'}}\n",
                     fx->allowed));
    assert_error(&errs, "is outside worker option '" FILE_OPT "'");
    cfg_errors_clear(&errs);
    unsetenv("FERRY_TEST_DIR");
}

/* ---- file checks (with and without a policy) -------------------------------- */

static void test_file_kinds(void **state)
{
    fixture_t *fx = *state;
    cfg_errors_t errs = {0};
    char *fifo = str_printf("%s/fifo", fx->allowed);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *big = str_printf("%s/big.txt", fx->allowed);
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    for (int i = 0; i < 1024 * 1024 + 1; i++) fputc('x', f);
    fclose(f);
    /* No policy: the operator's file reads anything, but only regular
     * files of sane size, and a FIFO does not hang the load. */
    assert_null(load(fx, &errs,
                     "connectors:\n"
                     "  a:\n"
                     "    dir: ${file:%s/sub}\n"
                     "    fifo: ${file:%s}\n"
                     "    dev: ${file:/dev/zero}\n"
                     "    big: ${file:%s}\n",
                     fx->allowed, fifo, big));
    assert_int_equal(errs.count, 4);
    assert_error_fmt(&errs, ":3:10: cannot read file '%s/sub' (referenced as ${file:%s/sub}): not a regular file",
                            fx->allowed, fx->allowed);
    assert_error_fmt(&errs, ":4:11: cannot read file '%s' (referenced as ${file:%s}): not a regular file", fifo, fifo);
    assert_error(&errs, ":5:10: cannot read file '/dev/zero' (referenced as ${file:/dev/zero}): not a regular file");
    assert_error_fmt(&errs, ":6:10: cannot read file '%s' (referenced as ${file:%s}): file larger than 1 MiB", big, big);
    cfg_errors_clear(&errs);
    unlink(fifo);
    unlink(big);
    free(fifo);
    free(big);
}

/* ---- ${env:} with allowlist.pattern ------------------------------------------ */

static void test_env_allowlist(void **state)
{
    fixture_t *fx = *state;
    setenv("FERRY_OK_PW", "env-secret", 1);
    setenv("FERRY_NO_PW", "env-secret", 1);
    setenv("X_FERRY_OK_PW", "env-secret", 1);
    unsetenv("FERRY_OK_UNSET");
    cfg_errors_t errs = {0};
    worker_config_t *wc = load(fx, &errs,
                               "worker:\n"
                               "  config.providers.env.param:\n"
                               "    allowlist.pattern: 'FERRY_OK_.*|OTHER'\n"
                               "connectors:\n"
                               "  a: {connector: x, pw: '${env:FERRY_OK_PW}'}\n");
    if (errs.count) errors_dump(&errs);
    assert_int_equal(errs.count, 0);
    assert_string_equal(connector_value(wc, "pw"), "env-secret");
    worker_config_free(wc);

    /* The pattern matches whole names; a refused name is not looked up. */
    assert_null(load(fx, &errs,
                     "worker: {" ENV_OPT ": 'FERRY_OK_.*'}\n"
                     "connectors:\n"
                     "  a:\n"
                     "    no: ${env:FERRY_NO_PW}\n"
                     "    prefixed: ${env:X_FERRY_OK_PW}\n"
                     "    unset: ${env:FERRY_OK_UNSET}\n"
                     "    home: ${env:HOME}\n"));
    assert_int_equal(errs.count, 4);
    assert_error(&errs, ":4:9: environment variable 'FERRY_NO_PW' (referenced as ${env:FERRY_NO_PW}) does not match "
                        "worker option '" ENV_OPT "'");
    assert_error(&errs, ":5:15: environment variable 'X_FERRY_OK_PW' (referenced as ${env:X_FERRY_OK_PW}) does not match");
    assert_error(&errs, ":6:12: environment variable 'FERRY_OK_UNSET' is not set (referenced as ${env:FERRY_OK_UNSET})");
    assert_error(&errs, ":7:11: environment variable 'HOME' (referenced as ${env:HOME}) does not match");
    assert_no_secret(&errs);
    cfg_errors_clear(&errs);

    /* Neither groups nor alternatives escape the whole-name rule. */
    assert_null(load(fx, &errs, "worker: {" ENV_OPT ": '(NOPE)|(FERRY_OK_PW)'}\nconnectors: {a: {pw: '${env:X_FERRY_OK_PW}'}}\n"));
    assert_error(&errs, "environment variable 'X_FERRY_OK_PW' (referenced as ${env:X_FERRY_OK_PW}) does not match");
    cfg_errors_clear(&errs);
    wc = load(fx, &errs, "worker: {" ENV_OPT ": 'FERRY_N|FERRY_NO_PW'}\nconnectors: {a: {connector: x, pw: '${env:FERRY_NO_PW}'}}\n");
    if (errs.count) errors_dump(&errs);
    assert_int_equal(errs.count, 0);
    assert_string_equal(connector_value(wc, "pw"), "env-secret"); /* leftmost-longest finds the whole name */
    worker_config_free(wc);

    /* A bad pattern is reported and refuses every variable. */
    assert_null(load(fx, &errs, "worker: {" ENV_OPT ": 'FERRY_(OK'}\nconnectors: {a: {pw: '${env:FERRY_OK_PW}'}}\n"));
    assert_int_equal(errs.count, 2);
    assert_error(&errs, ":1:56: worker option '" ENV_OPT "': invalid regular expression: ");
    assert_error(&errs, ":2:22: environment variable 'FERRY_OK_PW' (referenced as ${env:FERRY_OK_PW}) is not read: "
                        "worker option '" ENV_OPT "' is invalid");
    cfg_errors_clear(&errs);

    assert_null(load(fx, &errs, "worker: {" ENV_OPT ": '${env:FERRY_OK_PW}'}\n"));
    assert_error(&errs, "worker option '" ENV_OPT "': cannot use ${...} references");
    assert_no_secret(&errs);
    cfg_errors_clear(&errs);
    unsetenv("FERRY_OK_PW");
    unsetenv("FERRY_NO_PW");
    unsetenv("X_FERRY_OK_PW");
}

/* ---- untrusted configs (the REST API) ---------------------------------------- */

static void test_untrusted_defaults_deny(void **state)
{
    fixture_t *fx = *state;
    setenv("FERRY_OK_PW", "env-secret", 1);
    cfg_errors_t errs = {0};
    /* No option set: the operator's file may read anything ... */
    worker_config_t *wc = load(fx, &errs, "connectors: {a: {connector: x, pw: '${env:FERRY_OK_PW}'}}\n");
    assert_int_equal(errs.count, 0);
    assert_non_null(wc->subst_policy);

    /* ... an untrusted config nothing. The zero context is untrusted. */
    cfg_subst_ctx_t ctx = {.policy = wc->subst_policy};
    int subst = 0;
    char *ref = str_printf("${file:%s/secret.txt}", fx->allowed);
    assert_null(cfg_subst_string(&ctx, "${env:FERRY_OK_PW}", "connector a: option 'pw'", 0, 0, &subst, &errs));
    assert_null(cfg_subst_string(&ctx, ref, NULL, 0, 0, &subst, &errs));
    assert_false(subst);
    assert_int_equal(errs.count, 2);
    assert_string_equal(errs.items[0],
                        "connector a: option 'pw': environment variable 'FERRY_OK_PW' (referenced as "
                        "${env:FERRY_OK_PW}) may not be read: a config from an untrusted source may read only "
                        "variables matching worker option '" ENV_OPT "', which is not set");
    char *want = str_printf("file '%s/secret.txt' (referenced as ${file:%s/secret.txt}) may not be read: a config from "
                            "an untrusted source may read only files within worker option '" FILE_OPT "', which is not set",
                            fx->allowed, fx->allowed);
    assert_string_equal(errs.items[1], want);
    free(want);
    cfg_errors_clear(&errs);
    /* Plain text and "$${" pass, and nothing counts as substituted. */
    char *v = cfg_subst_string(&ctx, "a $${env:X} b", NULL, 0, 0, &subst, &errs);
    assert_string_equal(v, "a ${env:X} b");
    assert_false(subst);
    free(v);
    worker_config_free(wc);

    /* With the options set, an untrusted config reads what they allow. */
    wc = load(fx, &errs, "worker: {" FILE_OPT ": %s, " ENV_OPT ": FERRY_OK_.*}\n", fx->allowed);
    assert_int_equal(errs.count, 0);
    ctx.policy = wc->subst_policy;
    v = cfg_subst_string(&ctx, ref, NULL, 0, 0, &subst, &errs);
    assert_string_equal(v, "in-secret");
    assert_true(subst);
    free(v);
    v = cfg_subst_string(&ctx, "${env:FERRY_OK_PW}", NULL, 0, 0, &subst, &errs);
    assert_string_equal(v, "env-secret");
    free(v);
    char *link = str_printf("${file:%s/link.txt}", fx->allowed);
    assert_null(cfg_subst_string(&ctx, link, "rest", 0, 0, &subst, &errs));
    /* The operator's file is told where a symlink leads; an untrusted caller is not. */
    want = str_printf("rest: file '%s/link.txt' (referenced as ${file:%s/link.txt}) is outside worker option '" FILE_OPT
                      "'",
                      fx->allowed, fx->allowed);
    assert_string_equal(errs.items[0], want);
    free(want);
    free(link);
    assert_no_secret(&errs);
    cfg_errors_clear(&errs);
    free(ref);
    worker_config_free(wc);
    unsetenv("FERRY_OK_PW");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_allowed_paths_admit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowed_paths_refuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowed_paths_option_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_allowlist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untrusted_defaults_deny, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
