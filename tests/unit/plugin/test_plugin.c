/*
 * test_plugin.c — the plugin loader against real (deliberately broken)
 * shared objects in FIXTURE_DIR, the descriptor checks against in-memory
 * descriptors, and the three printers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin/plugin.h"
#include "util/log.h"

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must be defined by the build"
#endif

#define FX(name) FIXTURE_DIR "/" name

/* ---- helpers ------------------------------------------------------------- */

/* Loads path into a fresh registry, expects a refusal and compares err with
 * "plugin PATH: " + reason. */
static void expect_refusal(const char *path, const char *reason)
{
    plugin_registry_t *reg = plugin_registry_new();
    char err[1024] = "";
    char want[1024];
    snprintf(want, sizeof(want), "plugin %s: %s", path, reason);
    assert_int_equal(plugin_registry_load_file(reg, path, err, sizeof(err)), -1);
    assert_string_equal(err, want);
    assert_int_equal(plugin_registry_count(reg), 0);
    plugin_registry_free(reg);
}

/* FIXTURE_DIR/writable.so: a world-writable copy of good.so. Made at test
 * time because neither git nor the build keeps such permissions. */
static void make_writable_copy(void)
{
    FILE *in = fopen(FX("good.so"), "rb");
    assert_non_null(in);
    FILE *out = fopen(FX("writable.so"), "wb");
    assert_non_null(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    assert_int_equal(chmod(FX("writable.so"), 0666), 0);
}

static char *capture(void (*print)(const plugin_registry_t *, FILE *), const plugin_registry_t *reg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    print(reg, mem);
    fclose(mem);
    return text;
}

static plugin_registry_t *load_good(void)
{
    plugin_registry_t *reg = plugin_registry_new();
    char err[1024] = "";
    if (plugin_registry_load_file(reg, FX("good.so"), err, sizeof(err)) != 0) fail_msg("good.so: %s", err);
    return reg;
}

/* ---- loading real files -------------------------------------------------- */

static void test_load_good(void **state)
{
    plugin_registry_t *reg = load_good();
    assert_int_equal(plugin_registry_count(reg), 2);

    const char *origin = NULL;
    const ferry_connector_t *src = plugin_registry_find(reg, "fixture-source", &origin);
    assert_non_null(src);
    assert_string_equal(origin, FX("good.so"));
    assert_int_equal(src->kind, FERRY_SOURCE);
    assert_non_null(src->poll);
    assert_string_equal(src->options[0].name, "topic");
    const ferry_connector_t *sink = plugin_registry_find(reg, "fixture-sink", NULL);
    assert_non_null(sink);
    assert_int_equal(sink->kind, FERRY_SINK);
    assert_null(plugin_registry_find(reg, "nope", NULL));
    assert_null(plugin_registry_find(reg, NULL, NULL));

    const ferry_plugin_t *plugin = NULL;
    origin = NULL;
    assert_ptr_equal(plugin_registry_get(reg, 0, &plugin, &origin), src);
    assert_string_equal(plugin->name, "fixture");
    assert_string_equal(origin, FX("good.so"));
    assert_null(plugin_registry_get(reg, 2, NULL, NULL));

    const char *const *names = NULL;
    assert_int_equal(plugin_registry_names(reg, &names), 2);
    assert_string_equal(names[0], "fixture-source");
    assert_string_equal(names[1], "fixture-sink");
    plugin_registry_free(reg);
    plugin_registry_free(NULL);
}

static void test_refuse_files(void **state)
{
    expect_refusal(FX("noentry.so"), "no ferry_plugin_entry symbol (not a ferry plugin?)");
    expect_refusal(FX("nullentry.so"), "ferry_plugin_entry returned NULL");
    expect_refusal(FX("abi99.so"), "built for ABI 99.3, this ferry supports ABI major 1");

    char reason[256];
    snprintf(reason, sizeof(reason), "descriptor too small (struct_size 8, ABI 1.0 needs %zu)",
             sizeof(ferry_plugin_t));
    expect_refusal(FX("small.so"), reason);
    expect_refusal(FX("nopoll.so"), "connector 'nopoll-source': missing required callback poll");
    expect_refusal(FX("noflush.so"), "connector 'fixture-sink': missing required callback flush");
    expect_refusal(FX("missing.so"), "cannot read: No such file or directory");
    expect_refusal(FX("subdir.so"), "not a regular file");

    make_writable_copy();
    expect_refusal(FX("writable.so"), "refusing world-writable plugin file (chmod o-w " FX("writable.so") ")");

    /* dlerror()'s wording belongs to glibc: check our part and the file. */
    plugin_registry_t *reg = plugin_registry_new();
    char err[1024] = "";
    assert_int_equal(plugin_registry_load_file(reg, FX("bad.so"), err, sizeof(err)), -1);
    const char *prefix = "plugin " FX("bad.so") ": dlopen failed: ";
    assert_memory_equal(err, prefix, strlen(prefix));
    assert_non_null(strstr(err + strlen(prefix), "bad.so"));
    assert_int_equal(plugin_registry_count(reg), 0);
    plugin_registry_free(reg);
}

static void test_refuse_duplicate_across_files(void **state)
{
    plugin_registry_t *reg = load_good();
    char err[1024] = "";
    assert_int_equal(plugin_registry_load_file(reg, FX("twin.so"), err, sizeof(err)), -1);
    assert_string_equal(err, "plugin " FX("twin.so") ": duplicate connector name 'fixture-source' (already "
                             "provided by " FX("good.so") ")");
    /* Nothing of the refused plugin stays, not even its unique connector. */
    assert_int_equal(plugin_registry_count(reg), 2);
    assert_null(plugin_registry_find(reg, "twin-sink", NULL));
    const char *origin = NULL;
    assert_non_null(plugin_registry_find(reg, "fixture-source", &origin));
    assert_string_equal(origin, FX("good.so"));
    plugin_registry_free(reg);
}

static void test_load_dir(void **state)
{
    make_writable_copy();
    plugin_registry_t *reg = plugin_registry_new();
    /* Every broken fixture is refused (and logged); the directory goes on. */
    assert_int_equal(plugin_registry_load_dir(reg, FIXTURE_DIR), 1);
    assert_int_equal(plugin_registry_count(reg), 2);
    const char *origin = NULL;
    assert_non_null(plugin_registry_find(reg, "fixture-source", &origin));
    assert_string_equal(origin, FIXTURE_DIR "/good.so");
    assert_null(plugin_registry_find(reg, "twin-sink", NULL));
    assert_null(plugin_registry_find(reg, "nopoll-source", NULL));

    assert_int_equal(plugin_registry_load_dir(reg, FIXTURE_DIR "/no-such-dir"), -1);
    assert_int_equal(plugin_registry_count(reg), 2);
    plugin_registry_free(reg);
}

/* ---- in-memory descriptors ----------------------------------------------- */

static ferry_status_t m_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                             void **state, ferry_error_t *err)
{
    return FERRY_OK;
}
static ferry_status_t m_poll(void *state, ferry_batch_t *batch, ferry_error_t *err) { return FERRY_OK; }
static ferry_status_t m_put(void *state, const ferry_batch_t *batch, ferry_error_t *err) { return FERRY_OK; }
static ferry_status_t m_flush(void *state, ferry_flush_t *fl, ferry_error_t *err) { return FERRY_OK; }
static void m_close(void *state) {}

static ferry_connector_t mem_source(const char *name)
{
    ferry_connector_t c = {.struct_size = sizeof(ferry_connector_t),
                           .kind = FERRY_SOURCE,
                           .name = name,
                           .version = "1",
                           .open = m_open,
                           .poll = m_poll,
                           .close = m_close};
    return c;
}

/* Adds a plugin made of the given connectors; returns the add result. */
static int add_mem(plugin_registry_t *reg, uint32_t abi, const ferry_connector_t *a, const ferry_connector_t *b,
                   char *err, size_t errlen)
{
    const ferry_connector_t *list[] = {a, b, NULL};
    ferry_plugin_t plugin = {abi, sizeof(ferry_plugin_t), "mem", "1", list};
    return plugin_registry_add(reg, &plugin, "mem", err, errlen);
}

static void expect_mem_refusal(const ferry_connector_t *a, const ferry_connector_t *b, const char *reason)
{
    plugin_registry_t *reg = plugin_registry_new();
    char err[1024] = "";
    char want[1024];
    snprintf(want, sizeof(want), "plugin mem: %s", reason);
    assert_int_equal(add_mem(reg, FERRY_ABI_VERSION, a, b, err, sizeof(err)), -1);
    assert_string_equal(err, want);
    assert_int_equal(plugin_registry_count(reg), 0);
    plugin_registry_free(reg);
}

/* 1.1: reserved slots must be zero; option tables are read with the
 * plugin's option_size, so a newer plugin's larger entries still work. */
typedef struct wider_option {
    ferry_option_t base;
    const char *appended_in_a_later_minor;
} wider_option_t;

static void test_reserved_and_option_size(void **state)
{
    (void)state;
    ferry_connector_t c = mem_source("r");
    c.reserved[2] = (void *)&c;
    expect_mem_refusal(&c, NULL, "connector 'r': reserved slot 2 is not zero");

    static const wider_option_t wide[] = {
        {{"alpha", FERRY_OPT_INT, "1", 0, 0, 0, NULL, "first"}, "x"},
        {{"beta", FERRY_OPT_STRING, "b", 0, 0, 0, NULL, "second"}, "y"},
        {{NULL, FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, NULL}, NULL}};
    c = mem_source("w");
    c.options = &wide[0].base;
    c.option_size = sizeof(wider_option_t);
    plugin_registry_t *reg = plugin_registry_new();
    char err[512] = "";
    assert_int_equal(add_mem(reg, FERRY_ABI_VERSION + 1, &c, NULL, err, sizeof(err)), 0);
    const ferry_connector_t *got = plugin_registry_find(reg, "w", NULL);
    assert_non_null(got);
    assert_string_equal(got->options[0].name, "alpha");
    assert_string_equal(got->options[1].name, "beta");
    assert_string_equal(got->options[1].default_value, "b");
    assert_null(got->options[2].name);
    plugin_registry_free(reg);

    c = mem_source("s");
    c.options = &wide[0].base;
    c.option_size = 8;
    expect_mem_refusal(&c, NULL, "connector 's': option_size 8 is smaller than ABI 1.0's 64");
}

static void test_connector_checks(void **state)
{
    ferry_connector_t c = mem_source("m");
    c.struct_size = 16;
    char reason[256];
    snprintf(reason, sizeof(reason), "connector #0: descriptor too small (struct_size 16, ABI 1.0 needs %zu)",
             offsetof(ferry_connector_t, reserved) + sizeof(c.reserved));
    expect_mem_refusal(&c, NULL, reason);

    c = mem_source(NULL);
    expect_mem_refusal(&c, NULL, "connector #0 has no name");
    c = mem_source("m");
    c.kind = (ferry_kind_t)7;
    expect_mem_refusal(&c, NULL, "connector 'm': kind 7 is neither source (1) nor sink (2)");
    c = mem_source("m");
    c.open = NULL;
    expect_mem_refusal(&c, NULL, "connector 'm': missing required callback open");
    c = mem_source("m");
    c.close = NULL;
    expect_mem_refusal(&c, NULL, "connector 'm': missing required callback close");
    c = mem_source("m");
    c.kind = FERRY_SINK; /* has poll but neither put nor flush */
    expect_mem_refusal(&c, NULL, "connector 'm': missing required callback put");

    ferry_connector_t ok = mem_source("m");
    expect_mem_refusal(&ok, &ok, "duplicate connector name 'm' (twice in this plugin)");

    plugin_registry_t *reg = plugin_registry_new();
    char err[256] = "";
    ferry_plugin_t empty = {FERRY_ABI_VERSION, sizeof(ferry_plugin_t), "mem", "1", NULL};
    assert_int_equal(plugin_registry_add(reg, &empty, "mem", err, sizeof(err)), -1);
    assert_string_equal(err, "plugin mem: provides no connectors");
    assert_int_equal(plugin_registry_add(reg, NULL, "mem", err, sizeof(err)), -1);
    assert_string_equal(err, "plugin mem: no plugin descriptor");
    /* A sink with put and flush, and a source, register fine. */
    ferry_connector_t sink = mem_source("s");
    sink.kind = FERRY_SINK;
    sink.put = m_put;
    sink.flush = m_flush;
    assert_int_equal(add_mem(reg, FERRY_ABI_VERSION, &ok, &sink, err, sizeof(err)), 0);
    assert_int_equal(plugin_registry_count(reg), 2);
    plugin_registry_free(reg);
}

static void test_option_checks(void **state)
{
    static const char *const none[] = {NULL};
    struct {
        ferry_option_t opt;
        const char *reason;
    } cases[] = {
        {{"", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, NULL}, "connector 'm': option #0 has an empty name"},
        {{"e", FERRY_OPT_ENUM, NULL, 0, 0, 0, NULL, NULL}, "connector 'm': enum option 'e' has no enum_values"},
        {{"e", FERRY_OPT_ENUM, NULL, 0, 0, 0, none, NULL}, "connector 'm': enum option 'e' has no enum_values"},
        {{"t", (ferry_opt_type_t)42, NULL, 0, 0, 0, NULL, NULL}, "connector 'm': option 't' has unknown type 42"},
        {{"r", FERRY_OPT_STRING, "x", FERRY_OPT_REQUIRED, 0, 0, NULL, NULL},
         "connector 'm': option 'r' is required but has a default"},
        {{"b", FERRY_OPT_INT, NULL, FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 5, 1, NULL, NULL},
         "connector 'm': option 'b' has min > max"},
        {{"i", FERRY_OPT_INT, "ten", 0, 0, 0, NULL, NULL},
         "connector 'm': default \"ten\" of option 'i' is not an integer"},
        {{"i", FERRY_OPT_INT, "0", FERRY_OPT_HAS_MIN, 1, 0, NULL, NULL},
         "connector 'm': default \"0\" of option 'i' is below the minimum"},
        {{"d", FERRY_OPT_DOUBLE, "2.5", FERRY_OPT_HAS_MAX, 0, 1, NULL, NULL},
         "connector 'm': default \"2.5\" of option 'd' is above the maximum"},
        {{"f", FERRY_OPT_BOOL, "maybe", 0, 0, 0, NULL, NULL},
         "connector 'm': default \"maybe\" of option 'f' is not a boolean"},
        {{"w", FERRY_OPT_DURATION, "soon", 0, 0, 0, NULL, NULL},
         "connector 'm': default \"soon\" of option 'w' is not a number with an optional unit"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ferry_option_t opts[] = {cases[i].opt, FERRY_OPTIONS_END};
        ferry_connector_t c = mem_source("m");
        c.options = opts;
        expect_mem_refusal(&c, NULL, cases[i].reason);
    }

    static const char *const fmts[] = {"json", "avro", NULL};
    ferry_option_t dup[] = {{"a", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, NULL},
                            {"a", FERRY_OPT_INT, NULL, 0, 0, 0, NULL, NULL},
                            FERRY_OPTIONS_END};
    ferry_connector_t c = mem_source("m");
    c.options = dup;
    expect_mem_refusal(&c, NULL, "connector 'm': option 'a' is declared twice");
    ferry_option_t enum_bad[] = {{"e", FERRY_OPT_ENUM, "xml", 0, 0, 0, fmts, NULL}, FERRY_OPTIONS_END};
    c.options = enum_bad;
    expect_mem_refusal(&c, NULL, "connector 'm': default \"xml\" of option 'e' is not one of the enum values");

    /* Well-formed defaults of every kind are accepted. */
    ferry_option_t good[] = {{"e", FERRY_OPT_ENUM, "avro", 0, 0, 0, fmts, NULL},
                             {"w", FERRY_OPT_DURATION, "250ms", 0, 0, 0, NULL, NULL},
                             {"z", FERRY_OPT_SIZE, "16MiB", 0, 0, 0, NULL, NULL},
                             {"f", FERRY_OPT_BOOL, "on", 0, 0, 0, NULL, NULL},
                             {"i", FERRY_OPT_INT, "-3", FERRY_OPT_HAS_MIN, -5, 0, NULL, NULL},
                             {"d", FERRY_OPT_DOUBLE, "0.5", FERRY_OPT_HAS_MAX, 0, 1, NULL, NULL},
                             FERRY_OPTIONS_END};
    c.options = good;
    plugin_registry_t *reg = plugin_registry_new();
    char err[256] = "";
    if (add_mem(reg, FERRY_ABI_VERSION, &c, NULL, err, sizeof(err)) != 0) fail_msg("%s", err);
    plugin_registry_free(reg);
}

/* A plugin built against a future 1.x: bigger structs, an option type this
 * host does not know. It is accepted and read as far as this host knows. */
typedef struct future_connector {
    ferry_connector_t v1;
    void (*future_callback)(void *state);
} future_connector_t;

typedef struct future_plugin {
    ferry_plugin_t v1;
    const char *future_field;
} future_plugin_t;

static void test_newer_minor_accepted(void **state)
{
    ferry_option_t opts[] = {{"t", (ferry_opt_type_t)42, "x", 0, 0, 0, NULL, NULL}, FERRY_OPTIONS_END};
    future_connector_t fc = {.v1 = mem_source("future"), .future_callback = m_close};
    fc.v1.struct_size = sizeof(fc);
    fc.v1.options = opts;
    const ferry_connector_t *list[] = {&fc.v1, NULL};
    future_plugin_t fp = {{(1u << 16) | 7u, sizeof(fp), "future", "9", list}, "ignored"};

    plugin_registry_t *reg = plugin_registry_new();
    char err[256] = "";
    if (plugin_registry_add(reg, &fp.v1, "future", err, sizeof(err)) != 0) fail_msg("%s", err);
    const ferry_connector_t *c = plugin_registry_find(reg, "future", NULL);
    assert_non_null(c);
    assert_ptr_equal(c->poll, m_poll);
    assert_string_equal(plugin_opt_type_name(c->options[0].type), "string");
    plugin_registry_free(reg);

    /* The same unknown type from a plugin of this very ABI is garbage. */
    fp.v1.abi_version = FERRY_ABI_VERSION;
    reg = plugin_registry_new();
    assert_int_equal(plugin_registry_add(reg, &fp.v1, "future", err, sizeof(err)), -1);
    assert_string_equal(err, "plugin future: connector 'future': option 't' has unknown type 42");
    plugin_registry_free(reg);
}

/* ---- printers ------------------------------------------------------------ */

static void test_opt_type_names(void **state)
{
    assert_string_equal(plugin_opt_type_name(FERRY_OPT_STRING), "string");
    assert_string_equal(plugin_opt_type_name(FERRY_OPT_DURATION), "duration");
    assert_string_equal(plugin_opt_type_name(FERRY_OPT_SIZE), "size");
    assert_string_equal(plugin_opt_type_name(FERRY_OPT_ENUM), "enum");
    assert_string_equal(plugin_opt_type_name(FERRY_OPT_MAP), "map");
    assert_string_equal(plugin_opt_type_name(FERRY_OPT_SECRET), "secret");
}

static void test_json(void **state)
{
    plugin_registry_t *reg = load_good();
    char *text = plugin_registry_to_json(reg);
    assert_non_null(text);
    assert_null(strstr(text, "hunter2"));
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!root) fail_msg("JSON does not parse: %s\n%s", jerr.text, text);
    assert_true(json_is_array(root));
    assert_int_equal(json_array_size(root), 2);

    /* Sorted by name: the sink comes first. */
    json_t *sink = json_array_get(root, 0);
    assert_string_equal(json_string_value(json_object_get(sink, "name")), "fixture-sink");
    assert_string_equal(json_string_value(json_object_get(sink, "kind")), "sink");
    json_t *src = json_array_get(root, 1);
    assert_string_equal(json_string_value(json_object_get(src, "name")), "fixture-source");
    assert_string_equal(json_string_value(json_object_get(src, "kind")), "source");
    assert_string_equal(json_string_value(json_object_get(src, "version")), "1.2.3");
    assert_string_equal(json_string_value(json_object_get(src, "plugin")), "fixture");
    assert_string_equal(json_string_value(json_object_get(src, "path")), FX("good.so"));
    assert_string_equal(json_string_value(json_object_get(src, "description")), "A source for loader tests.");

    json_t *opts = json_object_get(src, "options");
    assert_int_equal(json_array_size(opts), 5);
    json_t *topic = json_array_get(opts, 0);
    assert_string_equal(json_string_value(json_object_get(topic, "name")), "topic");
    assert_string_equal(json_string_value(json_object_get(topic, "type")), "string");
    assert_true(json_is_true(json_object_get(topic, "required")));
    assert_true(json_is_null(json_object_get(topic, "default")));
    json_t *interval = json_array_get(opts, 1);
    assert_string_equal(json_string_value(json_object_get(interval, "default")), "1s");
    assert_true(json_number_value(json_object_get(interval, "min")) == 1.0);
    assert_true(json_is_null(json_object_get(interval, "max")));
    json_t *count = json_array_get(opts, 2);
    assert_true(json_number_value(json_object_get(count, "max")) == 1000.0);
    json_t *format = json_array_get(opts, 3);
    json_t *en = json_object_get(format, "enum");
    assert_int_equal(json_array_size(en), 2);
    assert_string_equal(json_string_value(json_array_get(en, 1)), "string");
    json_t *password = json_array_get(opts, 4);
    assert_string_equal(json_string_value(json_object_get(password, "type")), "secret");
    assert_true(json_is_null(json_object_get(password, "default")));
    json_decref(root);
    free(text);

    plugin_registry_t *empty = plugin_registry_new();
    text = plugin_registry_to_json(empty);
    assert_string_equal(text, "[]");
    free(text);
    plugin_registry_free(empty);
    plugin_registry_free(reg);
}

static void test_markdown(void **state)
{
    plugin_registry_t *reg = load_good();
    char *md = capture(plugin_registry_print_markdown, reg);
    assert_non_null(strstr(md, "### `fixture-source` (source)\n"));
    assert_non_null(strstr(md, "### `fixture-sink` (sink)\n"));
    assert_true(strstr(md, "### `fixture-sink`") < strstr(md, "### `fixture-source`"));
    assert_non_null(strstr(md, "| Option | Type | Default | Required | Values | Description |\n|---|"));
    assert_non_null(strstr(md, "| `topic` | string |  | yes |  | Topic to write to. |\n"));
    assert_non_null(strstr(md, "| `interval` | duration | `1s` | no | min 1ms | Wait between records. |\n"));
    assert_non_null(strstr(md, "| `count` | int | `10` | no | min 0, max 1000 | Records \\| total. |\n"));
    assert_non_null(strstr(md, "| `format` | enum | `json` | no | json, string | Value format. |\n"));
    assert_non_null(strstr(md, "| `password` | secret | `[hidden]` |"));
    assert_non_null(strstr(md, "| `buffer` | size | `1MiB` | no | min 1000, max 64MiB | Buffer. |\n"));
    assert_non_null(strstr(md, "| `linger` | duration | `5s` | no | min 0ms, max 1h | Linger. |\n"));
    assert_null(strstr(md, "hunter2"));
    /* The checked-in docs must not depend on where the build tree is. */
    assert_null(strstr(md, FIXTURE_DIR));
    free(md);
    plugin_registry_free(reg);
}

static void test_text(void **state)
{
    plugin_registry_t *reg = load_good();
    char *text = capture(plugin_registry_print_text, reg);
    assert_non_null(strstr(text, "fixture-source (source) 1.2.3\n"));
    assert_non_null(strstr(text, "  plugin: fixture 0.0.1 (" FX("good.so") ")\n"));
    assert_non_null(strstr(text, "  A source for loader tests.\n"));
    assert_non_null(strstr(text, "OPTION"));
    assert_non_null(strstr(text, "json|string"));
    assert_non_null(strstr(text, "[hidden]"));
    assert_null(strstr(text, "hunter2"));
    free(text);
    plugin_registry_free(reg);

    plugin_registry_t *empty = plugin_registry_new();
    text = capture(plugin_registry_print_text, empty);
    assert_string_equal(text, "no connectors loaded\n");
    free(text);
    plugin_registry_free(empty);
}

int main(void)
{
    /* Refusals are logged at error level by load_dir; debug shows the rest. */
    log_set_level(FERRY_LOG_DEBUG);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_good),
        cmocka_unit_test(test_refuse_files),
        cmocka_unit_test(test_refuse_duplicate_across_files),
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_connector_checks),
        cmocka_unit_test(test_reserved_and_option_size),
        cmocka_unit_test(test_option_checks),
        cmocka_unit_test(test_newer_minor_accepted),
        cmocka_unit_test(test_opt_type_names),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
