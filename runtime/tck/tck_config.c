/*
 * tck_config.c — the file given to `ferry tck --config`, and the connector
 * configs built from it exactly as the runtime builds them.
 *
 * The file is YAML (or key=value lines, for one connector). Its top-level
 * keys are options of every connector under test, except:
 *   CONNECTOR: {...}          options of that connector only (override the top level)
 *   tck.skip.runtime: REASON  do not run the connector (it needs a server): only the
 *                             rules that need no running connector are checked
 *   tck.open.fail: [{...}]    option overrides with which open() must fail
 *   tck.files: {NAME: TEXT}   files written into $FERRY_TCK_DIR before the run
 * Values may use ${env:FERRY_TCK_DIR}, the TCK's scratch directory. Lists are
 * YAML sequences (or comma-separated), maps YAML mappings.
 */
#include "tck/tck_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/strutil.h"

struct tck_file {
    cfg_node_t *root; /* owned: a YAML mapping, or NULL for key=value files */
    tck_kv_t kv;      /* key=value files */
};

/* ---- key/value sets ------------------------------------------------------------------ */

void tck_kv_set(tck_kv_t *kv, const char *key, const char *value)
{
    for (size_t i = 0; i < kv->count; i++)
        if (strcmp(kv->keys[i], key) == 0) {
            free(kv->values[i]);
            kv->values[i] = str_dup(value);
            return;
        }
    kv->keys = xrealloc(kv->keys, (kv->count + 1) * sizeof(*kv->keys));
    kv->values = xrealloc(kv->values, (kv->count + 1) * sizeof(*kv->values));
    kv->keys[kv->count] = str_dup(key);
    kv->values[kv->count] = str_dup(value);
    kv->count++;
}

const char *tck_kv_get(const tck_kv_t *kv, const char *key)
{
    for (size_t i = 0; kv && i < kv->count; i++)
        if (strcmp(kv->keys[i], key) == 0) return kv->values[i];
    return NULL;
}

static void kv_remove(tck_kv_t *kv, const char *key)
{
    for (size_t i = 0; i < kv->count; i++)
        if (strcmp(kv->keys[i], key) == 0) {
            free(kv->keys[i]);
            free(kv->values[i]);
            memmove(&kv->keys[i], &kv->keys[i + 1], (kv->count - i - 1) * sizeof(*kv->keys));
            memmove(&kv->values[i], &kv->values[i + 1], (kv->count - i - 1) * sizeof(*kv->values));
            kv->count--;
            return;
        }
}

void tck_kv_clear(tck_kv_t *kv)
{
    for (size_t i = 0; i < kv->count; i++) {
        free(kv->keys[i]);
        free(kv->values[i]);
    }
    free(kv->keys);
    free(kv->values);
    memset(kv, 0, sizeof(*kv));
}

void tck_spec_clear(tck_spec_t *spec)
{
    tck_kv_clear(&spec->options);
    for (size_t i = 0; i < spec->open_fail_count; i++) tck_kv_clear(&spec->open_fail[i]);
    free(spec->open_fail);
    free(spec->skip_runtime);
    memset(spec, 0, sizeof(*spec));
}

/* ---- reading the file ------------------------------------------------------------------ */

/* A node as the flat string connector_config_from_kv takes: scalars as
 * they are, sequences comma-separated, mappings "k=v,k2=v2". NULL for YAML
 * null (unset). malloc'd. */
static char *node_text(const cfg_node_t *node)
{
    if (!node) return NULL;
    if (node->kind == CFG_SCALAR) return str_dup(node->scalar);
    strbuf_t b = {0};
    for (size_t i = 0; i < node->count; i++) {
        if (i) strbuf_add(&b, ",", 1);
        if (node->kind == CFG_MAP) {
            strbuf_add(&b, node->keys[i], strlen(node->keys[i]));
            strbuf_add(&b, "=", 1);
        }
        char *item = node_text(node->items[i]);
        if (item) strbuf_add(&b, item, strlen(item));
        free(item);
    }
    return b.s ? b.s : str_dup("");
}

static int write_files(const cfg_node_t *files, const char *dir, char *err, size_t errlen)
{
    if (files->kind != CFG_MAP) {
        snprintf(err, errlen, "line %d: tck.files must be a mapping of file names to their text", files->line);
        return -1;
    }
    for (size_t i = 0; i < files->count; i++) {
        const char *name = files->keys[i];
        const cfg_node_t *text = files->items[i];
        if (!name[0] || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
            snprintf(err, errlen, "line %d: tck.files: '%s' is not a plain file name", files->key_lines[i], name);
            return -1;
        }
        if (text->kind != CFG_SCALAR) {
            snprintf(err, errlen, "line %d: tck.files: the text of '%s' must be a string", files->key_lines[i], name);
            return -1;
        }
        char *path = str_printf("%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const char *s = text->scalar ? text->scalar : "";
        size_t len = strlen(s);
        int ok = fd >= 0 && write(fd, s, len) == (ssize_t)len;
        int e = errno;
        if (fd >= 0) close(fd);
        if (!ok) snprintf(err, errlen, "tck.files: cannot write %s: %s", path, strerror(e));
        free(path);
        if (!ok) return -1;
    }
    return 0;
}

/* key=value lines; '#' starts a comment line. */
static int read_kv(const char *path, tck_kv_t *kv, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int n = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        n++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char *eq = strchr(p, '=');
        if (!eq || eq == p) {
            snprintf(err, errlen, "%s:%d: expected key=value", path, n);
            rc = -1;
            break;
        }
        char *end = eq;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        *end = '\0';
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t') v++;
        tck_kv_set(kv, p, v);
    }
    fclose(f);
    return rc;
}

/* A key=value file: *.properties, *.conf, *.kv, or a first line that has
 * '=' before any ':'. */
static int looks_like_kv(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && (strcmp(dot, ".properties") == 0 || strcmp(dot, ".conf") == 0 || strcmp(dot, ".kv") == 0)) return 1;
    if (dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0)) return 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[1024];
    int kv = 0;
    while (fgets(line, sizeof(line), f)) {
        const char *p = line + strspn(line, " \t");
        if (!*p || *p == '#' || *p == '\n') continue;
        const char *eq = strchr(p, '='), *colon = strchr(p, ':');
        kv = eq && (!colon || eq < colon);
        break;
    }
    fclose(f);
    return kv;
}

tck_file_t *tck_file_load(const char *path, const char *dir, char *err, size_t errlen)
{
    tck_file_t *file = xcalloc(1, sizeof(*file));
    if (!path) return file;
    if (looks_like_kv(path)) {
        if (read_kv(path, &file->kv, err, errlen) == 0) return file;
        tck_file_free(file);
        return NULL;
    }
    cfg_errors_t errs = {0};
    file->root = cfg_yaml_load_file(path, &errs);
    if (!file->root || errs.count) {
        char *why = tck_errors_join(&errs);
        snprintf(err, errlen, "%s", why[0] ? why : "cannot read the file");
        free(why);
        cfg_errors_clear(&errs);
        tck_file_free(file);
        return NULL;
    }
    if (file->root->kind != CFG_MAP) {
        snprintf(err, errlen, "%s: expected a mapping of options", path);
        tck_file_free(file);
        return NULL;
    }
    const cfg_node_t *files = cfg_node_get(file->root, "tck.files");
    if (files && write_files(files, dir, err, errlen) < 0) {
        tck_file_free(file);
        return NULL;
    }
    return file;
}

void tck_file_free(tck_file_t *file)
{
    if (!file) return;
    cfg_node_free(file->root);
    tck_kv_clear(&file->kv);
    free(file);
}

static int is_name(const char *key, const char *const *names, size_t nnames)
{
    for (size_t i = 0; i < nnames; i++)
        if (strcmp(names[i], key) == 0) return 1;
    return 0;
}

/* One key of the file (or of a connector's section) into spec. */
static void spec_add(tck_spec_t *spec, const char *key, const cfg_node_t *node)
{
    if (strcmp(key, "tck.files") == 0) return; /* written at load */
    if (strcmp(key, "tck.skip.runtime") == 0) {
        free(spec->skip_runtime);
        spec->skip_runtime = node_text(node);
        return;
    }
    if (strcmp(key, "tck.open.fail") == 0) {
        for (size_t i = 0; node->kind == CFG_SEQ && i < node->count; i++) {
            const cfg_node_t *m = node->items[i];
            spec->open_fail = xrealloc(spec->open_fail, (spec->open_fail_count + 1) * sizeof(*spec->open_fail));
            tck_kv_t *kv = &spec->open_fail[spec->open_fail_count++];
            memset(kv, 0, sizeof(*kv));
            for (size_t k = 0; m->kind == CFG_MAP && k < m->count; k++) {
                char *v = node_text(m->items[k]);
                tck_kv_set(kv, m->keys[k], v);
                free(v);
            }
        }
        return;
    }
    char *v = node_text(node);
    if (v) tck_kv_set(&spec->options, key, v);
    else kv_remove(&spec->options, key); /* YAML null: unset (e.g. in a section) */
    free(v);
}

void tck_file_spec(const tck_file_t *file, const char *connector, const char *const *names, size_t nnames,
                   tck_spec_t *spec)
{
    memset(spec, 0, sizeof(*spec));
    for (size_t i = 0; i < file->kv.count; i++) {
        if (strcmp(file->kv.keys[i], "tck.skip.runtime") == 0) {
            free(spec->skip_runtime);
            spec->skip_runtime = str_dup(file->kv.values[i]);
        } else {
            tck_kv_set(&spec->options, file->kv.keys[i], file->kv.values[i]);
        }
    }
    const cfg_node_t *root = file->root;
    if (!root) return;
    for (size_t i = 0; i < root->count; i++)
        if (!(is_name(root->keys[i], names, nnames) && root->items[i]->kind == CFG_MAP))
            spec_add(spec, root->keys[i], root->items[i]);
    const cfg_node_t *own = cfg_node_get(root, connector);
    for (size_t i = 0; own && own->kind == CFG_MAP && i < own->count; i++)
        spec_add(spec, own->keys[i], own->items[i]);
}

/* ---- configs ------------------------------------------------------------------------------ */

char *tck_errors_join(const cfg_errors_t *errs)
{
    strbuf_t b = {0};
    for (size_t i = 0; i < errs->count; i++) {
        if (i) strbuf_add(&b, "; ", 2);
        strbuf_add(&b, errs->items[i], strlen(errs->items[i]));
    }
    return b.s ? b.s : str_dup("");
}

/* The first task's config, when the connector splits its work. */
static ferry_config_t *first_task(const ferry_connector_t *conn, const ferry_host_t *host, ferry_config_t *cfg,
                                  cfg_errors_t *errs)
{
    if (!conn->task_configs) return cfg;
    ferry_taskset_t set = {.max = 1};
    ferry_error_t err = {{0}};
    ferry_status_t st = conn->task_configs(host, cfg, 1, &set, &err);
    ferry_config_t *task = NULL;
    if (st != FERRY_OK)
        cfg_errors_add(errs, "task_configs returned %s: %s", tck_status_name(st), err.msg);
    else if (set.count < 1)
        cfg_errors_add(errs, "task_configs produced no task");
    else
        task = config_overlay(cfg, (const char *const *)set.tasks[0].keys, (const char *const *)set.tasks[0].values,
                              set.tasks[0].count);
    taskset_clear(&set);
    config_free(cfg);
    return task;
}

ferry_config_t *tck_config_build(const ferry_connector_t *conn, const ferry_host_t *host, const tck_kv_t *base,
                                 const tck_kv_t *over, const char *drop, cfg_errors_t *errs)
{
    tck_kv_t kv = {0};
    for (size_t i = 0; i < base->count; i++) tck_kv_set(&kv, base->keys[i], base->values[i]);
    for (size_t i = 0; over && i < over->count; i++) tck_kv_set(&kv, over->keys[i], over->values[i]);
    tck_kv_set(&kv, "connector", conn->name);
    /* A sink's topics are the runtime's business: any name will do. */
    if (conn->kind == FERRY_SINK && !tck_kv_get(&kv, "topics") && !tck_kv_get(&kv, "topics.regex"))
        tck_kv_set(&kv, "topics", TCK_DEFAULT_TOPIC);
    ferry_connector_t desc = *conn;
    ferry_option_t *opts = NULL; /* owned: the table with drop no longer required */
    if (drop) {
        kv_remove(&kv, drop);
        size_t n = 0;
        while (conn->options && conn->options[n].name) n++;
        opts = xcalloc(n + 1, sizeof(*opts));
        for (size_t i = 0; i < n; i++) {
            opts[i] = conn->options[i];
            /* Other required options the file does not give are left out too. */
            if (strcmp(opts[i].name, drop) == 0 || !tck_kv_get(&kv, opts[i].name))
                opts[i].flags &= ~FERRY_OPT_REQUIRED;
        }
        desc.options = opts;
        desc.validate = NULL;
    }
    ferry_config_t *cfg = connector_config_from_kv(conn->name, (const char *const *)kv.keys,
                                                   (const char *const *)kv.values, NULL, kv.count, &desc, host, errs);
    free(opts);
    tck_kv_clear(&kv);
    return cfg ? first_task(conn, host, cfg, errs) : NULL;
}
