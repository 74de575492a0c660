/*
 * plugin_load.c — the registry of connectors, the ABI checks, and loading
 * plugin files and directories.
 *
 * Every check runs before anything of a plugin is registered, so a refused
 * plugin leaves no trace: its handle is dlclosed and the registry is exactly
 * what it was before. The host never keeps a pointer to the plugin's own
 * descriptors for reading: each descriptor is copied into a zero-filled
 * struct of the host's layout, limited to the plugin's struct_size. A plugin
 * built against a newer minor ABI (larger structs) is then read only as far
 * as this host knows, and a host that appends members in the future reads
 * them as zero from older plugins.
 */
#include "plugin/plugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin_trust.h"
#include "util/log.h"
#include "util/strutil.h"

/* The smallest descriptors a 1.x plugin can have: the sizes of the structs
 * as they were in ABI 1.0. These must never change within major 1, even
 * when members are appended later. */
#define PLUGIN_SIZE_V1_0 (offsetof(ferry_plugin_t, connectors) + sizeof(void *))
#define CONNECTOR_SIZE_V1_0 (offsetof(ferry_connector_t, reserved) + 4 * sizeof(void *))
/* ferry_option_t has not grown since 1.0. */
#define OPTION_SIZE_V1_0 sizeof(ferry_option_t)

/* A plugin with more connectors or options than this is taken to have a
 * missing NULL terminator rather than being read until it crashes. */
#define PLUGIN_MAX_CONNECTORS 256
#define PLUGIN_MAX_OPTIONS 1024

/* One loaded plugin. */
typedef struct plugin_entry {
    ferry_plugin_t plugin; /* host-layout copy of the plugin's descriptor */
    char *origin;          /* owned: the file it came from (or the caller's label) */
    void *handle;          /* owned: dlopen handle, NULL for in-memory plugins */
} plugin_entry_t;

/* One registered connector. */
typedef struct plugin_conn {
    ferry_connector_t conn; /* host-layout copy of the connector's descriptor */
    size_t plugin_index;    /* into plugin_registry.plugins */
} plugin_conn_t;

struct plugin_registry {
    /* Each plugin_entry_t / plugin_conn_t is allocated on its own so that the
     * pointers handed out by find/get stay valid while more plugins load. */
    plugin_entry_t **plugins;
    size_t plugin_count;
    plugin_conn_t **conns;
    size_t conn_count;
    const char **names; /* conns[i]->conn.name, for did-you-mean; grows with conns */
};

plugin_registry_t *plugin_registry_new(void) { return xcalloc(1, sizeof(plugin_registry_t)); }

void plugin_registry_free(plugin_registry_t *reg)
{
    if (!reg) return;
    for (size_t i = 0; i < reg->conn_count; i++) {
        free((void *)reg->conns[i]->conn.options); /* the host-layout copy (copy_options) */
        free(reg->conns[i]);
    }
    /* dlclose last: the connector copies point at strings inside the plugin. */
    for (size_t i = 0; i < reg->plugin_count; i++) {
        if (reg->plugins[i]->handle) dlclose(reg->plugins[i]->handle);
        free(reg->plugins[i]->origin);
        free(reg->plugins[i]);
    }
    free(reg->plugins);
    free(reg->conns);
    free(reg->names);
    free(reg);
}

/* ---- error text -------------------------------------------------------- */

static FERRY_PRINTF(4, 5) int refuse(char *err, size_t errlen, const char *origin, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "plugin %s: ", origin);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* ---- option-table checks ------------------------------------------------- */

const char *plugin_opt_type_name(ferry_opt_type_t type)
{
    switch (type) {
    case FERRY_OPT_STRING: return "string";
    case FERRY_OPT_INT: return "int";
    case FERRY_OPT_BOOL: return "bool";
    case FERRY_OPT_DOUBLE: return "double";
    case FERRY_OPT_DURATION: return "duration";
    case FERRY_OPT_SIZE: return "size";
    case FERRY_OPT_ENUM: return "enum";
    case FERRY_OPT_LIST: return "list";
    case FERRY_OPT_MAP: return "map";
    case FERRY_OPT_SECRET: return "secret";
    }
    /* ABI rule: a type from a newer minor version is handled as a string. */
    return "string";
}

static int opt_type_known(ferry_opt_type_t type)
{
    return (int)type >= (int)FERRY_OPT_STRING && (int)type <= (int)FERRY_OPT_SECRET;
}

/* A number followed by an optional unit made of letters ("5s", "16MiB").
 * Deliberately loose: the config subsystem owns the exact grammar and
 * reports bad user values; this only catches descriptors whose default
 * could never parse (empty, "fast", "-1s"). */
static int default_is_quantity(const char *s)
{
    const char *p = s;
    if (*p < '0' || *p > '9') return 0;
    while ((*p >= '0' && *p <= '9') || *p == '.') p++;
    while (*p == ' ') p++;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) p++;
    return *p == '\0';
}

static int default_is_bool(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(s, words[i]) == 0) return 1;
    return 0;
}

/* Checks that opt's default parses as its type and lies within its bounds.
 * Returns NULL when fine, else a static description of the problem. */
static const char *default_problem(const ferry_option_t *opt)
{
    const char *d = opt->default_value;
    char *end = NULL;
    double num;
    switch (opt->type) {
    case FERRY_OPT_INT:
        errno = 0;
        num = (double)strtoll(d, &end, 10);
        if (errno || end == d || *end) return "is not an integer";
        break;
    case FERRY_OPT_DOUBLE:
        errno = 0;
        num = strtod(d, &end);
        if (errno || end == d || *end || !isfinite(num)) return "is not a number";
        break;
    case FERRY_OPT_BOOL: return default_is_bool(d) ? NULL : "is not a boolean";
    case FERRY_OPT_DURATION:
    case FERRY_OPT_SIZE: return default_is_quantity(d) ? NULL : "is not a number with an optional unit";
    case FERRY_OPT_ENUM:
        for (const char *const *v = opt->enum_values; *v; v++)
            if (strcmp(*v, d) == 0) return NULL;
        return "is not one of the enum values";
    default: return NULL;
    }
    if ((opt->flags & FERRY_OPT_HAS_MIN) && num < opt->min) return "is below the minimum";
    if ((opt->flags & FERRY_OPT_HAS_MAX) && num > opt->max) return "is above the maximum";
    return NULL;
}

static int check_options(const ferry_connector_t *conn, int newer_minor, const char *origin, char *err,
                         size_t errlen)
{
    const ferry_option_t *opts = conn->options;
    if (!opts) return 0; /* no options at all is fine */
    for (size_t i = 0; opts[i].name; i++) {
        const ferry_option_t *opt = &opts[i];
        const char *cn = conn->name;
        if (i >= PLUGIN_MAX_OPTIONS)
            return refuse(err, errlen, origin, "connector '%s': more than %d options (missing FERRY_OPTIONS_END?)",
                          cn, PLUGIN_MAX_OPTIONS);
        if (!opt->name[0]) return refuse(err, errlen, origin, "connector '%s': option #%zu has an empty name", cn, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(opts[j].name, opt->name) == 0)
                return refuse(err, errlen, origin, "connector '%s': option '%s' is declared twice", cn, opt->name);
        /* Unknown types are only legitimate from a plugin built against a
         * newer minor ABI, which may add types; such options are handled
         * as strings. From anyone else they are garbage. */
        if (!opt_type_known(opt->type) && !newer_minor)
            return refuse(err, errlen, origin, "connector '%s': option '%s' has unknown type %d", cn, opt->name,
                          (int)opt->type);
        if (opt->type == FERRY_OPT_ENUM && (!opt->enum_values || !opt->enum_values[0]))
            return refuse(err, errlen, origin, "connector '%s': enum option '%s' has no enum_values", cn, opt->name);
        if ((opt->flags & FERRY_OPT_REQUIRED) && opt->default_value)
            return refuse(err, errlen, origin, "connector '%s': option '%s' is required but has a default", cn,
                          opt->name);
        if ((opt->flags & FERRY_OPT_HAS_MIN) && (opt->flags & FERRY_OPT_HAS_MAX) && opt->min > opt->max)
            return refuse(err, errlen, origin, "connector '%s': option '%s' has min > max", cn, opt->name);
        if (opt->default_value && opt_type_known(opt->type)) {
            const char *why = default_problem(opt);
            if (why)
                return refuse(err, errlen, origin, "connector '%s': default \"%s\" of option '%s' %s", cn,
                              opt->default_value, opt->name, why);
        }
    }
    return 0;
}

/* ---- descriptor checks --------------------------------------------------- */

static const plugin_conn_t *find_conn(const plugin_registry_t *reg, const char *name)
{
    for (size_t i = 0; i < reg->conn_count; i++)
        if (strcmp(reg->conns[i]->conn.name, name) == 0) return reg->conns[i];
    return NULL;
}

/* Copies one connector descriptor into host layout (see the file comment). */
static void copy_connector(ferry_connector_t *dst, const ferry_connector_t *src)
{
    size_t n = src->struct_size < sizeof(*dst) ? src->struct_size : sizeof(*dst);
    memset(dst, 0, sizeof(*dst));
    memcpy(dst, src, n);
}

/* The option table in host layout: entries of option_size bytes (1.0's
 * size when the plugin does not say) copied into zero-filled host entries,
 * so members appended in later minors read as 0 from older plugins and
 * members the host does not know are ignored. Owned by the caller (the
 * registry, once committed). 0, or -1 with err. */
static int copy_options(ferry_connector_t *conn, const char *origin, char *err, size_t errlen)
{
    const char *src = (const char *)conn->options;
    if (!src) return 0;
    size_t stride = conn->option_size ? conn->option_size : OPTION_SIZE_V1_0;
    if (stride < OPTION_SIZE_V1_0) {
        conn->options = NULL;
        return refuse(err, errlen, origin, "connector '%s': option_size %zu is smaller than ABI 1.0's %zu",
                      conn->name, stride, (size_t)OPTION_SIZE_V1_0);
    }
    size_t n = 0;
    while (n <= PLUGIN_MAX_OPTIONS && ((const ferry_option_t *)(const void *)(src + n * stride))->name) n++;
    ferry_option_t *copy = xcalloc(n + 1, sizeof(*copy));
    for (size_t i = 0; i < n; i++) memcpy(&copy[i], src + i * stride, stride < sizeof(*copy) ? stride : sizeof(*copy));
    conn->options = copy;
    return 0;
}

/* Checks one connector; fills *out with its host-layout copy. */
static int check_connector(const plugin_registry_t *reg, const ferry_connector_t *src, size_t index,
                           const ferry_connector_t *siblings, int newer_minor, const char *origin, char *err,
                           size_t errlen, ferry_connector_t *out)
{
    if (src->struct_size < CONNECTOR_SIZE_V1_0)
        return refuse(err, errlen, origin, "connector #%zu: descriptor too small (struct_size %u, ABI 1.0 needs %zu)",
                      index, src->struct_size, (size_t)CONNECTOR_SIZE_V1_0);
    copy_connector(out, src);
    if (!out->name || !out->name[0]) {
        out->options = NULL;
        return refuse(err, errlen, origin, "connector #%zu has no name", index);
    }
    const char *cn = out->name;
    for (size_t k = 0; k < sizeof(out->reserved) / sizeof(out->reserved[0]); k++)
        if (out->reserved[k]) {
            out->options = NULL;
            return refuse(err, errlen, origin, "connector '%s': reserved slot %zu is not zero", cn, k);
        }
    if (copy_options(out, origin, err, errlen) < 0) return -1;
    if (out->kind != FERRY_SOURCE && out->kind != FERRY_SINK)
        return refuse(err, errlen, origin, "connector '%s': kind %d is neither source (1) nor sink (2)", cn,
                      (int)out->kind);
    const char *missing = NULL;
    if (!out->open) missing = "open";
    else if (!out->close) missing = "close";
    else if (out->kind == FERRY_SOURCE && !out->poll) missing = "poll";
    else if (out->kind == FERRY_SINK && !out->put) missing = "put";
    else if (out->kind == FERRY_SINK && !out->flush) missing = "flush";
    if (missing)
        return refuse(err, errlen, origin, "connector '%s': missing required callback %s", cn, missing);
    if (check_options(out, newer_minor, origin, err, errlen) < 0) return -1;
    for (size_t j = 0; j < index; j++)
        if (strcmp(siblings[j].name, cn) == 0)
            return refuse(err, errlen, origin, "duplicate connector name '%s' (twice in this plugin)", cn);
    const plugin_conn_t *other = find_conn(reg, cn);
    if (other)
        return refuse(err, errlen, origin, "duplicate connector name '%s' (already provided by %s)", cn,
                      reg->plugins[other->plugin_index]->origin);
    return 0;
}

/* Registers plugin after every check passed; takes ownership of handle. */
static void registry_commit(plugin_registry_t *reg, const ferry_plugin_t *plugin, const char *origin,
                            void *handle, const ferry_connector_t *conns, size_t count)
{
    plugin_entry_t *entry = xcalloc(1, sizeof(*entry));
    memcpy(&entry->plugin, plugin, sizeof(entry->plugin));
    entry->origin = str_dup(origin);
    entry->handle = handle;
    reg->plugins = xrealloc(reg->plugins, (reg->plugin_count + 1) * sizeof(*reg->plugins));
    reg->plugins[reg->plugin_count] = entry;

    reg->conns = xrealloc(reg->conns, (reg->conn_count + count) * sizeof(*reg->conns));
    reg->names = xrealloc(reg->names, (reg->conn_count + count) * sizeof(*reg->names));
    for (size_t i = 0; i < count; i++) {
        plugin_conn_t *pc = xmalloc(sizeof(*pc));
        pc->conn = conns[i];
        pc->plugin_index = reg->plugin_count;
        reg->conns[reg->conn_count] = pc;
        reg->names[reg->conn_count] = pc->conn.name;
        reg->conn_count++;
    }
    reg->plugin_count++;
}

/* The checks behind plugin_registry_add; handle (may be NULL) is owned by
 * the registry on success and left to the caller on failure. */
static int registry_add(plugin_registry_t *reg, const ferry_plugin_t *plugin, const char *origin, void *handle,
                        char *err, size_t errlen)
{
    if (!origin) origin = "(memory)";
    if (!reg || !plugin) return refuse(err, errlen, origin, "no plugin descriptor");
    uint32_t major = FERRY_ABI_VERSION_MAJOR(plugin->abi_version);
    uint32_t minor = FERRY_ABI_VERSION_MINOR(plugin->abi_version);
    if (major != FERRY_ABI_MAJOR)
        return refuse(err, errlen, origin, "built for ABI %u.%u, this ferry supports ABI major %d", major, minor,
                      FERRY_ABI_MAJOR);
    if (plugin->struct_size < PLUGIN_SIZE_V1_0)
        return refuse(err, errlen, origin, "descriptor too small (struct_size %u, ABI 1.0 needs %zu)",
                      plugin->struct_size, (size_t)PLUGIN_SIZE_V1_0);
    ferry_plugin_t copy;
    memset(&copy, 0, sizeof(copy));
    memcpy(&copy, plugin, plugin->struct_size < sizeof(copy) ? plugin->struct_size : sizeof(copy));
    if (!copy.connectors || !copy.connectors[0]) return refuse(err, errlen, origin, "provides no connectors");

    size_t count = 0;
    while (copy.connectors[count]) {
        if (++count > PLUGIN_MAX_CONNECTORS)
            return refuse(err, errlen, origin, "more than %d connectors (missing NULL terminator?)",
                          PLUGIN_MAX_CONNECTORS);
    }
    int newer_minor = minor > FERRY_ABI_MINOR;
    ferry_connector_t *conns = xcalloc(count, sizeof(*conns));
    for (size_t i = 0; i < count; i++) {
        if (check_connector(reg, copy.connectors[i], i, conns, newer_minor, origin, err, errlen, &conns[i]) < 0) {
            for (size_t j = 0; j <= i; j++) free((void *)conns[j].options);
            free(conns);
            return -1;
        }
    }
    if (newer_minor)
        log_debug("plugin %s: built for ABI %u.%u, newer than this ferry's %d.%d; using the %d.%d subset", origin,
                  major, minor, FERRY_ABI_MAJOR, FERRY_ABI_MINOR, FERRY_ABI_MAJOR, FERRY_ABI_MINOR);
    registry_commit(reg, &copy, origin, handle, conns, count);
    free(conns);
    return 0;
}

int plugin_registry_add(plugin_registry_t *reg, const ferry_plugin_t *plugin, const char *origin, char *err,
                        size_t errlen)
{
    return registry_add(reg, plugin, origin, NULL, err, errlen);
}

/* ---- files and directories ---------------------------------------------- */

/* Loads path, whose directory real_dir passed plugin_trust_dir. */
static int load_trusted(plugin_registry_t *reg, const char *path, const char *real_dir, char *err, size_t errlen)
{
    char why[1024];
    char *file = NULL; /* absolute, so dlopen does not search the library path */
    if (plugin_trust_file(real_dir, path, &file, why, sizeof(why)) < 0)
        return refuse(err, errlen, path, "%s", why);
    dlerror();
    void *handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    free(file);
    if (!handle) {
        const char *dlwhy = dlerror();
        return refuse(err, errlen, path, "dlopen failed: %s", dlwhy ? dlwhy : "unknown error");
    }
    dlerror();
    void *sym = dlsym(handle, FERRY_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        dlclose(handle);
        return refuse(err, errlen, path, "no " FERRY_PLUGIN_ENTRY_SYMBOL " symbol (not a ferry plugin?)");
    }
    /* POSIX guarantees that a data pointer from dlsym converts to a function
     * pointer; memcpy keeps ISO C warnings quiet about it. */
    ferry_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof(entry));
    const ferry_plugin_t *plugin = entry();
    if (!plugin) {
        dlclose(handle);
        return refuse(err, errlen, path, FERRY_PLUGIN_ENTRY_SYMBOL " returned NULL");
    }
    if (registry_add(reg, plugin, path, handle, err, errlen) < 0) {
        dlclose(handle);
        return -1;
    }
    log_debug("plugin %s: loaded %s %s", path, plugin->name ? plugin->name : "(unnamed)",
              plugin->version ? plugin->version : "");
    return 0;
}

int plugin_registry_load_file(plugin_registry_t *reg, const char *path, char *err, size_t errlen)
{
    if (!reg || !path) return refuse(err, errlen, path ? path : "(null)", "no registry or path");
    const char *slash = strrchr(path, '/');
    char *dir = !slash ? str_dup(".") : slash == path ? str_dup("/") : str_printf("%.*s", (int)(slash - path), path);
    char why[1024];
    char *real_dir = NULL;
    int rc = plugin_trust_dir(dir, &real_dir, why, sizeof(why)) < 0 ? refuse(err, errlen, path, "%s", why)
                                                                     : load_trusted(reg, path, real_dir, err, errlen);
    free(real_dir);
    free(dir);
    return rc;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_so_suffix(const char *name)
{
    size_t len = strlen(name);
    return len > 3 && strcmp(name + len - 3, ".so") == 0;
}

int plugin_registry_load_dir(plugin_registry_t *reg, const char *dir)
{
    if (!reg || !dir) return -1;
    DIR *d = opendir(dir);
    if (!d) {
        log_error("plugin directory %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!has_so_suffix(de->d_name)) continue;
        names = xrealloc(names, (count + 1) * sizeof(*names));
        names[count++] = str_dup(de->d_name);
    }
    closedir(d);
    /* Sorted, so that which of two duplicate connectors wins does not
     * depend on the file system's directory order. */
    if (count) qsort(names, count, sizeof(*names), compare_names);

    char why[1024];
    char *real_dir = NULL;
    if (plugin_trust_dir(dir, &real_dir, why, sizeof(why)) < 0) {
        log_error("%s; none of its plugins is loaded", why);
        for (size_t i = 0; i < count; i++) free(names[i]);
        free(names);
        return -1;
    }
    int loaded = 0;
    for (size_t i = 0; i < count; i++) {
        char *path = str_printf("%s/%s", dir, names[i]);
        struct stat st;
        /* stat follows symlinks: a link to a regular .so is a plugin. */
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
            log_debug("plugin directory %s: skipping %s (not a regular file)", dir, names[i]);
        } else {
            char err[1024];
            if (load_trusted(reg, path, real_dir, err, sizeof(err)) == 0) loaded++;
            else log_error("%s", err);
        }
        free(path);
        free(names[i]);
    }
    free(names);
    free(real_dir);
    return loaded;
}

/* ---- lookups ------------------------------------------------------------- */

const ferry_connector_t *plugin_registry_find(const plugin_registry_t *reg, const char *name, const char **origin)
{
    if (!reg || !name) return NULL;
    const plugin_conn_t *pc = find_conn(reg, name);
    if (!pc) return NULL;
    if (origin) *origin = reg->plugins[pc->plugin_index]->origin;
    return &pc->conn;
}

size_t plugin_registry_count(const plugin_registry_t *reg) { return reg ? reg->conn_count : 0; }

const ferry_connector_t *plugin_registry_get(const plugin_registry_t *reg, size_t index,
                                             const ferry_plugin_t **plugin, const char **origin)
{
    if (!reg || index >= reg->conn_count) return NULL;
    const plugin_conn_t *pc = reg->conns[index];
    const plugin_entry_t *entry = reg->plugins[pc->plugin_index];
    if (plugin) *plugin = &entry->plugin;
    if (origin) *origin = entry->origin;
    return &pc->conn;
}

size_t plugin_registry_names(const plugin_registry_t *reg, const char *const **names)
{
    if (names) *names = reg ? reg->names : NULL;
    return reg ? reg->conn_count : 0;
}
