/*
 * plugin_print.c — `ferry plugins` output: human text, JSON, and the
 * Markdown reference checked in as docs/connectors.md.
 *
 * All three list connectors sorted by name so that the output does not
 * depend on the order plugins were found in; the Markdown never mentions
 * file paths, so the checked-in reference does not depend on the build
 * directory either. Secret defaults are never printed anywhere.
 */
#include "plugin/plugin.h"

#include <jansson.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

static const char *kind_name(ferry_kind_t kind) { return kind == FERRY_SINK ? "sink" : "source"; }

static const char *or_empty(const char *s) { return s ? s : ""; }

typedef struct sort_item {
    const char *name;
    size_t index;
} sort_item_t;

static int compare_items(const void *a, const void *b)
{
    return strcmp(((const sort_item_t *)a)->name, ((const sort_item_t *)b)->name);
}

/* Indices of reg's connectors sorted by name; malloc'd, *count set. */
static size_t *sorted_indices(const plugin_registry_t *reg, size_t *count)
{
    *count = plugin_registry_count(reg);
    sort_item_t *items = xmalloc((*count ? *count : 1) * sizeof(*items));
    for (size_t i = 0; i < *count; i++) {
        items[i].name = plugin_registry_get(reg, i, NULL, NULL)->name;
        items[i].index = i;
    }
    if (*count > 1) qsort(items, *count, sizeof(*items), compare_items);
    size_t *idx = xmalloc((*count ? *count : 1) * sizeof(*idx));
    for (size_t i = 0; i < *count; i++) idx[i] = items[i].index;
    free(items);
    return idx;
}

/* The default as it may be shown: secrets are hidden, absent is NULL. */
static const char *shown_default(const ferry_option_t *opt)
{
    if (!opt->default_value) return NULL;
    return opt->type == FERRY_OPT_SECRET ? "[hidden]" : opt->default_value;
}

/* Whether a bound is a whole number that int64_t holds exactly (no libm:
 * the plugin library links nothing beyond libdl and jansson). */
static int bound_is_integral(double v)
{
    return v > -9.0e15 && v < 9.0e15 && (double)(int64_t)v == v;
}

/* A bound written the way a user would write the value: durations in the
 * largest exact unit ("1h", "250ms"), sizes in the largest exact binary unit
 * ("64MiB", or a bare byte count). */
static char *format_bound(const ferry_option_t *opt, double v)
{
    static const struct {
        int64_t scale;
        const char *unit;
    } durations[] = {{3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}},
      sizes[] = {{1073741824, "GiB"}, {1048576, "MiB"}, {1024, "KiB"}, {1, ""}};
    if (!bound_is_integral(v)) return str_printf("%g%s", v, opt->type == FERRY_OPT_LIST ? " items" : "");
    int64_t n = (int64_t)v;
    if (opt->type == FERRY_OPT_DURATION || opt->type == FERRY_OPT_SIZE) {
        int is_dur = opt->type == FERRY_OPT_DURATION;
        for (size_t i = 0; i < 4; i++) {
            int64_t scale = is_dur ? durations[i].scale : sizes[i].scale;
            /* 0 and non-multiples fall through to the base unit. */
            if (scale != 1 && (n == 0 || n % scale != 0)) continue;
            return str_printf("%" PRId64 "%s", n / scale, is_dur ? durations[i].unit : sizes[i].unit);
        }
    }
    return str_printf("%" PRId64 "%s", n, opt->type == FERRY_OPT_LIST ? " items" : "");
}

/* "one of a, b, c" / "min 1, max 10" / "" (malloc'd). */
static char *format_values(const ferry_option_t *opt, const char *sep)
{
    char *out = str_dup("");
    if (opt->type == FERRY_OPT_ENUM && opt->enum_values) {
        for (const char *const *v = opt->enum_values; *v; v++) {
            char *next = str_printf("%s%s%s", out, v == opt->enum_values ? "" : sep, *v);
            free(out);
            out = next;
        }
        return out;
    }
    if (opt->flags & FERRY_OPT_HAS_MIN) {
        char *b = format_bound(opt, opt->min);
        free(out);
        out = str_printf("min %s", b);
        free(b);
    }
    if (opt->flags & FERRY_OPT_HAS_MAX) {
        char *b = format_bound(opt, opt->max);
        char *next = str_printf("%s%smax %s", out, out[0] ? ", " : "", b);
        free(b);
        free(out);
        out = next;
    }
    return out;
}

static size_t option_count(const ferry_option_t *opts)
{
    size_t n = 0;
    while (opts && opts[n].name) n++;
    return n;
}

/* ---- text ---------------------------------------------------------------- */

static void print_text_options(const ferry_option_t *opts, FILE *out)
{
    size_t n = option_count(opts);
    if (!n) {
        fputs("  options: none\n", out);
        return;
    }
    /* Column widths from the data so the table lines up in a terminal. */
    int wname = 6, wtype = 4, wdef = 7, wvals = 6;
    char **vals = xmalloc(n * sizeof(*vals));
    for (size_t i = 0; i < n; i++) {
        vals[i] = format_values(&opts[i], "|");
        const char *d = shown_default(&opts[i]);
        if ((int)strlen(opts[i].name) > wname) wname = (int)strlen(opts[i].name);
        if ((int)strlen(plugin_opt_type_name(opts[i].type)) > wtype)
            wtype = (int)strlen(plugin_opt_type_name(opts[i].type));
        if (d && (int)strlen(d) > wdef) wdef = (int)strlen(d);
        if ((int)strlen(vals[i]) > wvals) wvals = (int)strlen(vals[i]);
    }
    fprintf(out, "  %-*s  %-*s  %-*s  %-8s  %-*s  %s\n", wname, "OPTION", wtype, "TYPE", wdef, "DEFAULT", "REQUIRED",
            wvals, "VALUES", "DESCRIPTION");
    for (size_t i = 0; i < n; i++) {
        const char *d = shown_default(&opts[i]);
        fprintf(out, "  %-*s  %-*s  %-*s  %-8s  %-*s  %s\n", wname, opts[i].name, wtype,
                plugin_opt_type_name(opts[i].type), wdef, d ? d : "-", (opts[i].flags & FERRY_OPT_REQUIRED) ? "yes" : "no",
                wvals, vals[i][0] ? vals[i] : "-", or_empty(opts[i].description));
        free(vals[i]);
    }
    free(vals);
}

void plugin_registry_print_text(const plugin_registry_t *reg, FILE *out)
{
    size_t count;
    size_t *idx = sorted_indices(reg, &count);
    if (!count) fputs("no connectors loaded\n", out);
    for (size_t i = 0; i < count; i++) {
        const ferry_plugin_t *plugin;
        const char *origin;
        const ferry_connector_t *conn = plugin_registry_get(reg, idx[i], &plugin, &origin);
        if (i) fputc('\n', out);
        fprintf(out, "%s (%s) %s\n", conn->name, kind_name(conn->kind), or_empty(conn->version));
        fprintf(out, "  plugin: %s %s (%s)\n", or_empty(plugin->name), or_empty(plugin->version), origin);
        if (conn->description) fprintf(out, "  %s\n", conn->description);
        print_text_options(conn->options, out);
    }
    free(idx);
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *json_str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* Whole bounds as JSON integers (1000, not 1000.0); others as reals. */
static json_t *bound_to_json(double v)
{
    return bound_is_integral(v) ? json_integer((json_int_t)v) : json_real(v);
}

static json_t *options_to_json(const ferry_option_t *opts)
{
    json_t *arr = json_array();
    for (size_t i = 0; opts && opts[i].name; i++) {
        const ferry_option_t *opt = &opts[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(opt->name));
        json_object_set_new(o, "type", json_string(plugin_opt_type_name(opt->type)));
        /* null rather than "[hidden]": a machine reader must not mistake the
         * marker for a real default. */
        json_object_set_new(o, "default",
                            opt->type == FERRY_OPT_SECRET ? json_null() : json_str_or_null(opt->default_value));
        json_object_set_new(o, "required", json_boolean(opt->flags & FERRY_OPT_REQUIRED));
        json_object_set_new(o, "min", (opt->flags & FERRY_OPT_HAS_MIN) ? bound_to_json(opt->min) : json_null());
        json_object_set_new(o, "max", (opt->flags & FERRY_OPT_HAS_MAX) ? bound_to_json(opt->max) : json_null());
        json_t *en = json_null();
        if (opt->type == FERRY_OPT_ENUM && opt->enum_values) {
            en = json_array();
            for (const char *const *v = opt->enum_values; *v; v++) json_array_append_new(en, json_string(*v));
        }
        json_object_set_new(o, "enum", en);
        json_object_set_new(o, "description", json_str_or_null(opt->description));
        json_array_append_new(arr, o);
    }
    return arr;
}

char *plugin_registry_to_json(const plugin_registry_t *reg)
{
    size_t count;
    size_t *idx = sorted_indices(reg, &count);
    json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        const ferry_plugin_t *plugin;
        const char *origin;
        const ferry_connector_t *conn = plugin_registry_get(reg, idx[i], &plugin, &origin);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(conn->name));
        json_object_set_new(o, "kind", json_string(kind_name(conn->kind)));
        json_object_set_new(o, "version", json_str_or_null(conn->version));
        json_object_set_new(o, "description", json_str_or_null(conn->description));
        json_object_set_new(o, "plugin", json_str_or_null(plugin->name));
        json_object_set_new(o, "path", json_str_or_null(origin));
        json_object_set_new(o, "options", options_to_json(conn->options));
        json_array_append_new(arr, o);
    }
    free(idx);
    char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(arr);
    /* json_dumps allocates with malloc (the default allocator), but the
     * caller is promised a str_dup-style string that never is NULL. */
    char *out = str_dup(text ? text : "[]");
    free(text);
    return out;
}

/* ---- Markdown ------------------------------------------------------------ */

/* Writes s as one table cell: '|' escaped, line breaks folded. */
static void md_cell(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", out);
        else if (*s == '\n' || *s == '\r') fputc(' ', out);
        else fputc(*s, out);
    }
}

static void md_code_cell(FILE *out, const char *s)
{
    if (!s || !*s) return;
    fputc('`', out);
    md_cell(out, s);
    fputc('`', out);
}

void plugin_options_print_markdown(const ferry_option_t *opts, FILE *out)
{
    if (!option_count(opts)) {
        fputs("No options.\n", out);
        return;
    }
    fputs("| Option | Type | Default | Required | Values | Description |\n", out);
    fputs("|---|---|---|---|---|---|\n", out);
    for (size_t i = 0; opts[i].name; i++) {
        const ferry_option_t *opt = &opts[i];
        char *vals = format_values(opt, ", ");
        fputs("| ", out);
        md_code_cell(out, opt->name);
        fprintf(out, " | %s | ", plugin_opt_type_name(opt->type));
        md_code_cell(out, shown_default(opt));
        fprintf(out, " | %s | ", (opt->flags & FERRY_OPT_REQUIRED) ? "yes" : "no");
        md_cell(out, vals);
        fputs(" | ", out);
        md_cell(out, opt->description);
        fputs(" |\n", out);
        free(vals);
    }
}

void plugin_registry_print_markdown(const plugin_registry_t *reg, FILE *out)
{
    size_t count;
    size_t *idx = sorted_indices(reg, &count);
    for (size_t i = 0; i < count; i++) {
        const ferry_plugin_t *plugin;
        const ferry_connector_t *conn = plugin_registry_get(reg, idx[i], &plugin, NULL);
        if (i) fputc('\n', out);
        fprintf(out, "### `%s` (%s)\n\n", conn->name, kind_name(conn->kind));
        if (conn->description) fprintf(out, "%s\n\n", conn->description);
        fprintf(out, "Version %s, plugin `%s`.\n\n", conn->version ? conn->version : "unknown",
                plugin->name ? plugin->name : "unknown");
        plugin_options_print_markdown(conn->options, out);
    }
    free(idx);
}
