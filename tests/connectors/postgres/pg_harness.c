/*
 * pg_harness.c — a minimal stand-in host that loads postgres.so through the
 * public SDK only and drives one source task, for connector-level tests that
 * do not need Kafka (connector_*.sh through pg_test_lib.sh). Built as the
 * pg_cdc_harness executable.
 *
 *   pg_cdc_harness PLUGIN.so OFFSET_FILE key=value...
 *
 * Records go to stdout, one per line, tab-separated:
 *   topic \t key \t value \t source_offset \t headers(name=value;...)
 * with "\N" for a NULL key/value. After each poll every record counts as
 * acknowledged: the last offset is written to OFFSET_FILE (atomic rename,
 * like a durable offset store), stdout is flushed, then commit() is called,
 * the order the real host keeps. The offset read at open comes from the same
 * file. SIGTERM/SIGINT stop the task gracefully; HARNESS_MAX_RECORDS=N stops
 * after N records; HARNESS_COMMIT=0 never commits (the slot must not move).
 * The exit status is 0, or 2 with the task's error on stderr when poll
 * returns FERRY_ERROR/FATAL, or after HARNESS_RETRY_LIMIT (default 200)
 * consecutive FERRY_RETRY.
 *
 * record_error (a record that can never be delivered) follows
 * HARNESS_TOLERANCE like errors.tolerance: "all" prints it as a dead-letter
 * line (topic "__dlq", headers reason=...;topic=...) and counts it in the
 * batch; "none" (default) refuses it: like the runtime failing the task,
 * the harness stores no offset for that batch and exits 2 with
 * "FAILED: record refused: <reason>".
 */
#include <dlfcn.h>
#include <ferry/ferry.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop_requested;
static const ferry_option_t *options;
static char **cfg_keys, **cfg_vals;
static int cfg_n;
static const char *offset_file;
static char *stored_offset;

struct ferry_batch {
    size_t count, max;
    char *last_offset;
    char refused[512]; /* a record_error under HARNESS_TOLERANCE=none */
};
static struct ferry_batch *current_batch; /* the batch of the poll() running */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static FERRY_PRINTF(3, 4) void hlog(ferry_task_t *task, ferry_log_level_t level, const char *fmt, ...)
{
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[harness] %s ", names[level & 3]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const ferry_option_t *opt_find(const char *name)
{
    for (const ferry_option_t *o = options; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

/* A "<name>.<suffix>" key of a FERRY_OPT_PREFIX option, as the host accepts. */
static int opt_prefixed(const char *key)
{
    for (const ferry_option_t *o = options; o && o->name; o++) {
        size_t n = strlen(o->name);
        if ((o->flags & FERRY_OPT_PREFIX) && strncmp(key, o->name, n) == 0 && key[n] == '.' && key[n + 1])
            return 1;
    }
    return 0;
}

/* The last occurrence wins, so a test can override a base argument list. */
static const char *raw(const char *name)
{
    for (int i = cfg_n - 1; i >= 0; i--)
        if (strcmp(cfg_keys[i], name) == 0)
            return cfg_vals[i];
    const ferry_option_t *o = opt_find(name);
    return o ? o->default_value : NULL;
}

static const char *cfg_string(const ferry_config_t *cfg, const char *name)
{
    return raw(name);
}
static int64_t cfg_int(const ferry_config_t *cfg, const char *name)
{
    const char *v = raw(name);
    return v ? strtoll(v, NULL, 10) : 0;
}
static int cfg_bool(const ferry_config_t *cfg, const char *name)
{
    const char *v = raw(name);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0);
}
static double cfg_double(const ferry_config_t *cfg, const char *name)
{
    const char *v = raw(name);
    return v ? strtod(v, NULL) : 0;
}
static int64_t cfg_duration_ms(const ferry_config_t *cfg, const char *name)
{
    const char *v = raw(name);
    if (!v)
        return 0;
    char *end;
    double d = strtod(v, &end);
    if (strcmp(end, "s") == 0)
        d *= 1000;
    else if (strcmp(end, "m") == 0)
        d *= 60000;
    else if (strcmp(end, "h") == 0)
        d *= 3600000;
    return (int64_t)d;
}
static int64_t cfg_size(const ferry_config_t *cfg, const char *name)
{
    return cfg_int(cfg, name);
}
static size_t cfg_list(const ferry_config_t *cfg, const char *name, const char *const **items)
{
    /* One static split per option name is enough for a test host. */
    static struct {
        char name[64];
        char *copy;
        const char *items[64];
        size_t n;
    } lists[32];
    static int nlists;
    for (int i = 0; i < nlists; i++)
        if (strcmp(lists[i].name, name) == 0) {
            *items = lists[i].items;
            return lists[i].n;
        }
    const char *v = raw(name);
    *items = NULL;
    if (!v || !*v || nlists == 32)
        return 0;
    int k = nlists++;
    snprintf(lists[k].name, sizeof(lists[k].name), "%s", name);
    lists[k].copy = strdup(v);
    for (char *save = NULL, *tok = strtok_r(lists[k].copy, ",", &save); tok && lists[k].n < 64;
         tok = strtok_r(NULL, ",", &save))
        lists[k].items[lists[k].n++] = tok;
    *items = lists[k].items;
    return lists[k].n;
}
static size_t cfg_map(const ferry_config_t *cfg, const char *name, const char *const **keys,
                      const char *const **values)
{
    return 0;
}
static int cfg_is_set(const ferry_config_t *cfg, const char *name)
{
    for (int i = 0; i < cfg_n; i++)
        if (strcmp(cfg_keys[i], name) == 0)
            return 1;
    return 0;
}

static void put_span(const void *p, size_t n)
{
    if (!p) {
        fputs("\\N", stdout);
        return;
    }
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\t' || s[i] == '\n')
            fputc(' ', stdout);
        else
            fputc(s[i], stdout);
    }
}

static ferry_status_t batch_add(ferry_batch_t *batch, const ferry_record_t *rec)
{
    if (batch->count >= batch->max)
        return FERRY_RETRY;
    batch->count++;
    fputs(rec->topic ? rec->topic : "(default)", stdout);
    fputc('\t', stdout);
    put_span(rec->key, rec->key_len);
    fputc('\t', stdout);
    put_span(rec->value, rec->value_len);
    fputc('\t', stdout);
    fputs(rec->source_offset ? rec->source_offset : "\\N", stdout);
    fputc('\t', stdout);
    for (size_t i = 0; i < rec->header_count; i++) {
        printf("%s%s=", i ? ";" : "", rec->headers[i].name);
        put_span(rec->headers[i].value, rec->headers[i].value_len);
    }
    fputc('\n', stdout);
    if (rec->source_offset) {
        free(batch->last_offset);
        batch->last_offset = strdup(rec->source_offset);
    }
    return FERRY_OK;
}
static ferry_status_t record_error(ferry_task_t *task, const ferry_record_t *rec, const char *reason)
{
    struct ferry_batch *batch = current_batch;
    const char *tol = getenv("HARNESS_TOLERANCE");
    if (!batch)
        return FERRY_ERROR;
    if (!tol || strcmp(tol, "all") != 0) {
        if (!batch->refused[0])
            snprintf(batch->refused, sizeof(batch->refused), "record refused: %s", reason ? reason : "");
        return FERRY_ERROR;
    }
    if (batch->count >= batch->max)
        return FERRY_RETRY;
    ferry_record_t dlq = *rec;
    ferry_header_t h[2] = {{"reason", reason, reason ? strlen(reason) : 0},
                           {"topic", rec->topic, rec->topic ? strlen(rec->topic) : 0}};
    dlq.topic = "__dlq";
    dlq.headers = h;
    dlq.header_count = 2;
    return batch_add(batch, &dlq);
}

static size_t batch_room(const ferry_batch_t *batch)
{
    return batch->max - batch->count;
}
static const char *offset_get(ferry_task_t *task, const char *part)
{
    return stored_offset;
}
static int should_stop(ferry_task_t *task)
{
    return stop_requested;
}
static void metric_add(ferry_task_t *task, const char *name, double d)
{
}
static void metric_set(ferry_task_t *task, const char *name, double v)
{
}
static const char *connector_name(ferry_task_t *task)
{
    const char *n = getenv("HARNESS_CONNECTOR");
    return n ? n : "harness";
}
static int task_id(ferry_task_t *task)
{
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n'))
        buf[--n] = '\0';
    return n ? strdup(buf) : NULL;
}

static void write_offset(const char *json)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", offset_file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%s\n", json);
    fclose(f);
    rename(tmp, offset_file);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PLUGIN.so OFFSET_FILE key=value...\n", argv[0]);
        return 64;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    ferry_plugin_entry_fn entry = (ferry_plugin_entry_fn)(uintptr_t)dlsym(h, FERRY_PLUGIN_ENTRY_SYMBOL);
    const ferry_plugin_t *plugin = entry ? entry() : NULL;
    if (!plugin || !plugin->connectors || !plugin->connectors[0]) {
        fprintf(stderr, "no connector in %s\n", argv[1]);
        return 1;
    }
    const ferry_connector_t *conn = plugin->connectors[0];
    options = conn->options;
    offset_file = argv[2];
    cfg_keys = calloc((size_t)argc, sizeof(char *));
    cfg_vals = calloc((size_t)argc, sizeof(char *));
    for (int i = 3; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || (*eq = '\0', !opt_find(argv[i]) && !opt_prefixed(argv[i]))) {
            fprintf(stderr, "bad or unknown option: %s\n", argv[i]);
            return 64;
        }
        cfg_keys[cfg_n] = argv[i];
        cfg_vals[cfg_n++] = eq + 1;
    }
    for (const ferry_option_t *o = options; o->name; o++)
        if ((o->flags & FERRY_OPT_REQUIRED) && !cfg_is_set(NULL, o->name)) {
            fprintf(stderr, "missing required option %s\n", o->name);
            return 64;
        }
    stored_offset = read_file(offset_file);

    static ferry_host_t host = {
        .abi_version = FERRY_ABI_VERSION,
        .struct_size = sizeof(ferry_host_t),
        .log = hlog,
        .alloc = malloc,
        .free = free,
        .cfg_string = cfg_string,
        .cfg_int = cfg_int,
        .cfg_bool = cfg_bool,
        .cfg_double = cfg_double,
        .cfg_duration_ms = cfg_duration_ms,
        .cfg_size = cfg_size,
        .cfg_list = cfg_list,
        .cfg_map = cfg_map,
        .cfg_is_set = cfg_is_set,
        .batch_add = batch_add,
        .batch_room = batch_room,
        .offset_get = offset_get,
        .should_stop = should_stop,
        .metric_add = metric_add,
        .metric_set = metric_set,
        .connector_name = connector_name,
        .task_id = task_id,
        .record_error = record_error,
    };
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    ferry_error_t err = {{0}};
    if (conn->validate && conn->validate(&host, NULL, &err) != FERRY_OK) {
        fprintf(stderr, "validate: %s\n", err.msg);
        return 2;
    }
    void *state = NULL;
    if (conn->open(NULL, &host, NULL, &state, &err) != FERRY_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 2;
    }
    long max_records = getenv("HARNESS_MAX_RECORDS") ? atol(getenv("HARNESS_MAX_RECORDS")) : -1;
    int do_commit = !getenv("HARNESS_COMMIT") || strcmp(getenv("HARNESS_COMMIT"), "0") != 0;
    int retry_limit = getenv("HARNESS_RETRY_LIMIT") ? atoi(getenv("HARNESS_RETRY_LIMIT")) : 200;
    size_t batch_max = getenv("HARNESS_BATCH") ? (size_t)atol(getenv("HARNESS_BATCH")) : 500;
    long total = 0;
    int retries = 0, rc = 0;
    struct ferry_batch batch = {0};
    while (!stop_requested) {
        batch.count = 0;
        batch.max = batch_max;
        if (max_records >= 0 && total + (long)batch.max > max_records)
            batch.max = (size_t)(max_records - total);
        memset(&err, 0, sizeof(err));
        batch.refused[0] = '\0';
        current_batch = &batch;
        ferry_status_t st = conn->poll(state, &batch, &err);
        current_batch = NULL;
        total += (long)batch.count;
        fflush(stdout);
        if (batch.refused[0]) {
            /* Like the runtime: the batch's offset is not stored, the task fails. */
            fprintf(stderr, "[harness] FAILED: %s\n", batch.refused);
            rc = 2;
            break;
        }
        if (batch.count && batch.last_offset && do_commit) {
            write_offset(batch.last_offset);
            ferry_offset_t off = {"{}", batch.last_offset};
            const char *prefix = raw("topic.prefix");
            char part[512];
            snprintf(part, sizeof(part), "{\"server\":\"%s\"}", prefix ? prefix : "");
            off.source_partition = part;
            ferry_error_t cerr = {{0}};
            conn->commit(state, &off, 1, &cerr);
        }
        if (st == FERRY_RETRY) {
            fprintf(stderr, "[harness] RETRY %s\n", err.msg);
            if (++retries >= retry_limit) {
                fprintf(stderr, "[harness] giving up: %s\n", err.msg);
                rc = 2;
                break;
            }
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        retries = 0;
        if (st != FERRY_OK) {
            fprintf(stderr, "[harness] FAILED: %s\n", err.msg);
            rc = 2;
            break;
        }
        if (max_records >= 0 && total >= max_records)
            break;
    }
    conn->close(state);
    free(batch.last_offset);
    return rc;
}
