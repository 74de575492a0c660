/*
 * config_subst.c — ${env:NAME} and ${file:/path} in config values, and the
 * policy that limits which variables and files they may read.
 *
 * The policy is Kafka Connect's: KIP-993's `allowed.paths` for the file
 * provider and KIP-887's `allowlist.pattern` for the environment provider,
 * under Connect's worker option names (CFG_OPT_FILE_ALLOWED_PATHS,
 * CFG_OPT_ENV_ALLOWLIST_PATTERN). Who wrote a config decides what an unset
 * option means (cfg_subst_ctx_t.trusted): the operator's own YAML file keeps
 * Connect's default, everything allowed, so existing files keep working; a
 * config from an untrusted source (the REST API) reads nothing the options
 * do not allow explicitly.
 *
 * Paths are compared after realpath(), so neither ".." nor a symlink inside
 * an allowed directory can leave it, and the file is then opened by its
 * resolved name with O_NOFOLLOW. What stays open is a race in which someone
 * who may rename directories inside an allowed directory swaps one for a
 * symlink between the check and the open; such a person already controls
 * the secrets kept there.
 *
 * A substituted value is a secret: no message here contains one. Messages
 * do name the reference (variable name, path), which the config's author
 * wrote.
 */
#include "config/config_internal.h"
#include "util/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBST_FILE_MAX (1024 * 1024)
#define SUBST_PATTERN_MAX 1024

/* What one provider's option says. RULE_INVALID fails closed: the option
 * was set but could not be used, so nothing is read through it. */
typedef enum subst_rule { RULE_UNSET, RULE_SET, RULE_INVALID } subst_rule_t;

struct cfg_subst_policy {
    subst_rule_t file_rule;
    char **paths; /* owned; realpath()s of the allowed files and directories */
    size_t path_count;
    subst_rule_t env_rule;
    regex_t env_re; /* compiled when env_rule == RULE_SET */
};

/* Where a message points: "FILE:LINE:COL: ", "LABEL: " (line 0) or nothing. */
typedef struct subst_pos {
    const char *where;
    int line, col;
} subst_pos_t;

static void subst_error(cfg_errors_t *errs, const subst_pos_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void subst_error(cfg_errors_t *errs, const subst_pos_t *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = str_vprintf(fmt, ap);
    va_end(ap);
    if (pos->where && pos->line > 0)
        cfg_errors_add(errs, "%s:%d:%d: %s", pos->where, pos->line, pos->col, msg);
    else if (pos->where)
        cfg_errors_add(errs, "%s: %s", pos->where, msg);
    else
        cfg_errors_add(errs, "%s", msg);
    free(msg);
}

/* ---- policy --------------------------------------------------------------- */

const cfg_subst_ctx_t CFG_SUBST_OPERATOR = {.policy = NULL, .trusted = 1};

cfg_subst_policy_t *cfg_subst_policy_new(void) { return xcalloc(1, sizeof(cfg_subst_policy_t)); }

static void policy_clear_paths(cfg_subst_policy_t *policy)
{
    for (size_t i = 0; i < policy->path_count; i++) free(policy->paths[i]);
    free(policy->paths);
    policy->paths = NULL;
    policy->path_count = 0;
}

void cfg_subst_policy_free(cfg_subst_policy_t *policy)
{
    if (!policy) return;
    policy_clear_paths(policy);
    if (policy->env_rule == RULE_SET) regfree(&policy->env_re);
    free(policy);
}

/* The options that govern substitution cannot use it themselves: their
 * values are needed before anything is substituted. */
static int policy_value_literal(const char *opt, const char *value, const subst_pos_t *pos,
                                cfg_errors_t *errs)
{
    if (!strstr(value, "${")) return 0;
    subst_error(errs, pos, "worker option '%s': cannot use ${...} references: it decides what they may read",
                opt);
    return -1;
}

/* Adds one allowed path: absolute, existing (as Connect requires), stored
 * resolved. */
static int policy_add_path(cfg_subst_policy_t *policy, const char *path, const subst_pos_t *pos,
                           cfg_errors_t *errs)
{
    if (policy_value_literal(CFG_OPT_FILE_ALLOWED_PATHS, path, pos, errs) < 0) return -1;
    if (path[0] != '/') {
        subst_error(errs, pos, "worker option '%s': path '%s' is not absolute", CFG_OPT_FILE_ALLOWED_PATHS, path);
        return -1;
    }
    char *real = realpath(path, NULL);
    if (!real) {
        subst_error(errs, pos, "worker option '%s': path '%s' cannot be resolved: %s", CFG_OPT_FILE_ALLOWED_PATHS,
                    path, strerror(errno));
        return -1;
    }
    policy->paths = xrealloc(policy->paths, (policy->path_count + 1) * sizeof(*policy->paths));
    policy->paths[policy->path_count++] = real;
    return 0;
}

int cfg_subst_policy_paths(cfg_subst_policy_t *policy, const char *file, const cfg_node_t *node,
                           cfg_errors_t *errs)
{
    policy_clear_paths(policy);
    policy->file_rule = RULE_UNSET;
    if (!node || (node->kind == CFG_SCALAR && !node->scalar)) return 0; /* YAML null: unset */
    /* Any failure below fails closed. A value of the wrong shape is
     * reported by the worker section's validation, not twice here. */
    policy->file_rule = RULE_INVALID;
    int bad = 0;
    if (node->kind == CFG_SCALAR) {
        subst_pos_t pos = {file, node->line, node->col};
        char **items;
        size_t count = cfg_split_list(node->scalar, &items);
        for (size_t i = 0; i < count; i++) {
            bad |= policy_add_path(policy, items[i], &pos, errs) < 0;
            free(items[i]);
        }
        free(items);
    } else if (node->kind == CFG_SEQ) {
        for (size_t i = 0; i < node->count; i++) {
            const cfg_node_t *item = node->items[i];
            subst_pos_t pos = {file, item->line, item->col};
            if (item->kind != CFG_SCALAR || !item->scalar || !item->scalar[0]) bad = 1;
            else bad |= policy_add_path(policy, item->scalar, &pos, errs) < 0;
        }
    } else {
        return -1;
    }
    if (bad) {
        policy_clear_paths(policy);
        return -1;
    }
    /* An empty list allows no file at all (Connect reads an empty value
     * as unset; a list that names nothing is taken at its word here). */
    policy->file_rule = RULE_SET;
    return 0;
}

int cfg_subst_policy_env_pattern(cfg_subst_policy_t *policy, const char *file, const cfg_node_t *node,
                                 cfg_errors_t *errs)
{
    if (policy->env_rule == RULE_SET) regfree(&policy->env_re);
    policy->env_rule = RULE_UNSET;
    if (!node || (node->kind == CFG_SCALAR && !node->scalar)) return 0;
    policy->env_rule = RULE_INVALID;
    if (node->kind != CFG_SCALAR) return -1; /* reported by the worker section's validation */
    subst_pos_t pos = {file, node->line, node->col};
    const char *pattern = node->scalar;
    if (policy_value_literal(CFG_OPT_ENV_ALLOWLIST_PATTERN, pattern, &pos, errs) < 0) return -1;
    if (strlen(pattern) > SUBST_PATTERN_MAX) {
        subst_error(errs, &pos, "worker option '%s': pattern longer than %d bytes", CFG_OPT_ENV_ALLOWLIST_PATTERN,
                    SUBST_PATTERN_MAX);
        return -1;
    }
    int rc = regcomp(&policy->env_re, pattern, REG_EXTENDED);
    if (rc != 0) {
        char why[256];
        regerror(rc, &policy->env_re, why, sizeof(why));
        subst_error(errs, &pos, "worker option '%s': invalid regular expression: %s",
                    CFG_OPT_ENV_ALLOWLIST_PATTERN, why);
        return -1;
    }
    policy->env_rule = RULE_SET;
    return 0;
}

/* ---- ${env:NAME} ---------------------------------------------------------- */

/* The pattern must match the whole name, so "APP_.*" does not also allow
 * "NOT_APP_X" (Connect's find() would). Checked on the match, not by
 * wrapping the pattern in ^( )$, which "A)|(.*" would escape: POSIX
 * matching is leftmost-longest, so a whole-name match is the one found
 * whenever there is one. */
static int env_name_allowed(const regex_t *re, const char *name)
{
    regmatch_t m;
    return regexec(re, name, 1, &m, 0) == 0 && m.rm_so == 0 && (size_t)m.rm_eo == strlen(name);
}

static subst_rule_t env_rule(const cfg_subst_ctx_t *ctx)
{
    return ctx->policy ? ctx->policy->env_rule : RULE_UNSET;
}

static char *subst_env(const cfg_subst_ctx_t *ctx, const char *name, const subst_pos_t *pos,
                       cfg_errors_t *errs)
{
    subst_rule_t rule = env_rule(ctx);
    if (rule == RULE_INVALID) {
        subst_error(errs, pos, "environment variable '%s' (referenced as ${env:%s}) is not read: worker option '%s' is invalid",
                    name, name, CFG_OPT_ENV_ALLOWLIST_PATTERN);
        return NULL;
    }
    if (rule == RULE_UNSET && !ctx->trusted) {
        subst_error(errs, pos,
                    "environment variable '%s' (referenced as ${env:%s}) may not be read: a config from an untrusted "
                    "source may read only variables matching worker option '%s', which is not set",
                    name, name, CFG_OPT_ENV_ALLOWLIST_PATTERN);
        return NULL;
    }
    /* Checked before getenv, so a refused name does not tell whether it is set. */
    if (rule == RULE_SET && !env_name_allowed(&ctx->policy->env_re, name)) {
        subst_error(errs, pos,
                    "environment variable '%s' (referenced as ${env:%s}) does not match worker option '%s'",
                    name, name, CFG_OPT_ENV_ALLOWLIST_PATTERN);
        return NULL;
    }
    const char *value = getenv(name);
    if (!value) {
        subst_error(errs, pos, "environment variable '%s' is not set (referenced as ${env:%s})", name, name);
        return NULL;
    }
    return str_dup(value);
}

/* ---- ${file:/path} -------------------------------------------------------- */

/* path made absolute against the working directory, with "." and ".."
 * removed by text alone. Only used to choose the message for a path that
 * does not resolve, so that a refused reference does not tell whether the
 * file exists. malloc'd, or NULL when the working directory is unknown. */
static char *path_lexical(const char *path)
{
    char *abs;
    if (path[0] == '/') {
        abs = str_dup(path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) return NULL;
        abs = str_printf("%s/%s", cwd, path);
    }
    char *out = xmalloc(strlen(abs) + 2);
    size_t n = 0;
    for (const char *seg = abs; *seg;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (n > 0 && out[--n] != '/') {
            }
        } else if (len > 0 && !(len == 1 && seg[0] == '.')) {
            out[n++] = '/';
            memcpy(out + n, seg, len);
            n += len;
        }
        seg += len + (slash ? 1 : 0);
    }
    if (n == 0) out[n++] = '/';
    out[n] = '\0';
    free(abs);
    return out;
}

/* 1 when path is dir or lies beneath it (whole components: /a is not
 * within /ab). Both are absolute and normalised. */
static int path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0) return 0;
    return path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/');
}

static int path_allowed(const cfg_subst_policy_t *policy, const char *path)
{
    for (size_t i = 0; i < policy->path_count; i++)
        if (path_within(path, policy->paths[i])) return 1;
    return 0;
}

/* Reads a regular file of at most SUBST_FILE_MAX bytes, NUL-free; drops one
 * trailing newline (editors and `echo` add one). O_NONBLOCK keeps a FIFO
 * from hanging the open; nofollow refuses a symlink as the last component.
 * The content is the secret itself, so nothing of it goes into *why. */
static char *file_read(const char *path, int nofollow, const char **why)
{
    *why = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) {
        *why = strerror(errno);
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    if (fstat(fd, &st) < 0) *why = strerror(errno);
    else if (!S_ISREG(st.st_mode)) *why = "not a regular file";
    else if (st.st_size > SUBST_FILE_MAX) *why = "file larger than 1 MiB";
    else {
        buf = xmalloc(SUBST_FILE_MAX + 1);
        ssize_t got;
        while (n <= SUBST_FILE_MAX && (got = read(fd, buf + n, SUBST_FILE_MAX + 1 - n)) != 0) {
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) {
                *why = strerror(errno);
                break;
            }
            n += (size_t)got;
        }
        if (!*why && n > SUBST_FILE_MAX) *why = "file larger than 1 MiB"; /* it grew */
        if (!*why && memchr(buf, '\0', n)) *why = "file contains a NUL byte";
    }
    close(fd);
    if (*why) {
        free(buf);
        return NULL;
    }
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r') n--;
    }
    buf[n] = '\0';
    return buf;
}

/* Applies the policy to path. Returns the name to open (malloc'd: the
 * resolved path when the policy restricts files, else a copy of path), or
 * NULL after reporting why the reference is refused or unreadable. */
static char *file_admit(const cfg_subst_ctx_t *ctx, const char *path, const subst_pos_t *pos,
                        cfg_errors_t *errs)
{
    subst_rule_t rule = ctx->policy ? ctx->policy->file_rule : RULE_UNSET;
    if (rule == RULE_UNSET && ctx->trusted) return str_dup(path);
    if (rule == RULE_INVALID) {
        subst_error(errs, pos, "file '%s' (referenced as ${file:%s}) is not read: worker option '%s' is invalid", path,
                    path, CFG_OPT_FILE_ALLOWED_PATHS);
        return NULL;
    }
    if (rule == RULE_UNSET) {
        subst_error(errs, pos,
                    "file '%s' (referenced as ${file:%s}) may not be read: a config from an untrusted source may "
                    "read only files within worker option '%s', which is not set",
                    path, path, CFG_OPT_FILE_ALLOWED_PATHS);
        return NULL;
    }
    char *real = realpath(path, NULL);
    if (!real) {
        const char *why = strerror(errno);
        char *lexical = path_lexical(path);
        int inside = lexical && path_allowed(ctx->policy, lexical);
        free(lexical);
        if (inside) {
            subst_error(errs, pos, "cannot read file '%s' (referenced as ${file:%s}): %s", path, path, why);
            return NULL;
        }
    } else if (path_allowed(ctx->policy, real)) {
        return real;
    }
    /* The resolved name is shown only to the operator: to anyone else it
     * would tell where symlinks on this machine point. */
    if (real && ctx->trusted && strcmp(real, path) != 0)
        subst_error(errs, pos, "file '%s' (referenced as ${file:%s}) resolves to '%s', outside worker option '%s'",
                    path, path, real, CFG_OPT_FILE_ALLOWED_PATHS);
    else
        subst_error(errs, pos, "file '%s' (referenced as ${file:%s}) is outside worker option '%s'", path, path,
                    CFG_OPT_FILE_ALLOWED_PATHS);
    free(real);
    return NULL;
}

static char *subst_file(const cfg_subst_ctx_t *ctx, const char *path, const subst_pos_t *pos,
                        cfg_errors_t *errs)
{
    char *name = file_admit(ctx, path, pos, errs);
    if (!name) return NULL;
    int restricted = ctx->policy && ctx->policy->file_rule == RULE_SET;
    const char *why = NULL;
    char *value = file_read(name, restricted, &why);
    free(name);
    if (!value) subst_error(errs, pos, "cannot read file '%s' (referenced as ${file:%s}): %s", path, path, why);
    return value;
}

/* ---- scanning a value ------------------------------------------------------- */

/* The value of one reference (the text between "${" and "}"), or NULL
 * after reporting an error. */
static char *subst_ref(const cfg_subst_ctx_t *ctx, const char *ref, const subst_pos_t *pos, cfg_errors_t *errs)
{
    if (strncmp(ref, "env:", 4) == 0 && ref[4]) return subst_env(ctx, ref + 4, pos, errs);
    if (strncmp(ref, "file:", 5) == 0 && ref[5]) return subst_file(ctx, ref + 5, pos, errs);
    subst_error(errs, pos, "unknown reference '${%s}': use ${env:NAME} or ${file:/path} ('$${' for a literal '${')",
                ref);
    return NULL;
}

char *cfg_subst_string(const cfg_subst_ctx_t *ctx, const char *s, const char *where, int line, int col,
                       int *substituted, cfg_errors_t *errs)
{
    subst_pos_t pos = {where, line, col};
    char *out = NULL; /* owned by mem until fclose, then by us */
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    if (!mem) {
        subst_error(errs, &pos, "cannot substitute references: %s", strerror(errno));
        return NULL;
    }
    const char *p = s;
    int ok = 1;
    while (*p) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            fputs("${", mem);
            p += 3;
            continue;
        }
        if (!(p[0] == '$' && p[1] == '{')) {
            fputc(*p++, mem);
            continue;
        }
        const char *end = strchr(p + 2, '}');
        if (!end) {
            subst_error(errs, &pos, "unterminated '${' reference (write '$${' for a literal '${')");
            ok = 0;
            break;
        }
        char *ref = str_printf("%.*s", (int)(end - (p + 2)), p + 2);
        if (!strchr(ref, ':')) {
            /* Not a reference: ${provider:key} is one, as in Connect's
             * ConfigTransformer; ${topic} (a connector's or a transform's
             * own template) stays as written. */
            fprintf(mem, "${%s}", ref);
            free(ref);
            p = end + 1;
            continue;
        }
        char *value = subst_ref(ctx, ref, &pos, errs);
        free(ref);
        p = end + 1;
        if (!value) {
            ok = 0;
            continue;
        }
        fputs(value, mem);
        free(value);
        *substituted = 1;
    }
    if (fclose(mem) != 0 && ok) {
        subst_error(errs, &pos, "cannot substitute references: out of memory");
        ok = 0;
    }
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}
