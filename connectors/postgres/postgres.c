/*
 * postgres.c — the postgres-cdc source connector: options, the task
 * callbacks and the start-up decision (snapshot or stream, from the stored
 * offset and the slot). The top floor: pg_conn.h lists the files below it
 * and explains positions and deduplication.
 */
#include "pg_conn.h"

#include <ctype.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int pg_offset_int(const char *json, const char *field, int64_t *out)
{
    json_error_t jerr;
    json_t *root = json ? json_loads(json, 0, &jerr) : NULL;
    int rc = -1;
    if (root) {
        json_t *v = json_object_get(root, field);
        if (json_is_integer(v)) {
            *out = json_integer_value(v);
            rc = 0;
        } else if (json_is_true(v) || json_is_false(v)) {
            *out = json_is_true(v);
            rc = 0;
        }
        json_decref(root);
    }
    return rc;
}

/* ---- start-up: what to do given the stored offset and the slot ----------- */

static ferry_status_t boot(pg_ctx_t *ctx, ferry_error_t *err)
{
    ferry_status_t st;
    if (!ctx->sql && (st = pg_connect(ctx, 0, &ctx->sql, err)) != FERRY_OK)
        return st;
    if ((st = pg_check_server(ctx, err)) != FERRY_OK)
        return st;

    const char *stored = ctx->stored_offset;
    int64_t v = 0;
    int stored_snapshot = stored && pg_offset_int(stored, "snapshot", &v) == 0 && v;
    int64_t p = 0, k = 0;
    if (stored && pg_offset_int(stored, "lsn_commit", &p) != 0 && pg_offset_int(stored, "lsn", &p) != 0) {
        return ferry_error_set(err, FERRY_ERROR,
                               "stored offset for %s has no lsn_commit/lsn field: %s; reset the offsets "
                               "(ferry offsets ...) to start over",
                               ctx->partition_json, stored);
    }
    if (stored)
        pg_offset_int(stored, "event", &k);

    if (ctx->snap_mode == PG_SNAP_INITIAL_ONLY) {
        /* No slot: the snapshot is all there is. A finished snapshot resumes
         * past its last row, reads nothing and goes idle. */
        if ((st = pg_snapshot_begin(ctx, NULL, stored_snapshot ? stored : NULL, err)) != FERRY_OK)
            return st;
        ctx->phase = PG_PHASE_SNAPSHOT;
        return FERRY_OK;
    }

    if ((st = pg_ensure_publication(ctx, err)) != FERRY_OK)
        return st;
    int exists = 0;
    uint64_t confirmed = 0;
    if ((st = pg_slot_state(ctx, &exists, &confirmed, err)) != FERRY_OK)
        return st;

    char a[32], b[32];
    if (stored) {
        pg_lsn_format((uint64_t)p, b);
        if (!exists)
            return ferry_error_set(err, FERRY_ERROR,
                                   "replication slot \"%s\" does not exist, but offsets are stored for %s "
                                   "(lsn_commit %s): the changes since then are gone. Drop the stored offsets "
                                   "(ferry offsets ...) to re-snapshot into a new slot",
                                   ctx->slot, ctx->partition_json, b);
        if (confirmed > (uint64_t)p) {
            pg_lsn_format(confirmed, a);
            return ferry_error_set(err, FERRY_ERROR,
                                   "slot %s has confirmed LSN %s beyond the stored offset %s: events in between "
                                   "were lost; drop the slot and the stored offsets (ferry offsets ...) to "
                                   "re-snapshot",
                                   ctx->slot, a, b);
        }
        ctx->start_lsn = (uint64_t)p;
        ctx->emit_pos = (uint64_t)p;
        ctx->emit_cnt = k;
        if (stored_snapshot) {
            ctx->host->log(ctx->task, FERRY_LOG_INFO,
                           "resuming an interrupted snapshot with a fresh snapshot; rows changed since "
                           "%s may appear twice (snapshot and stream), none is lost",
                           b);
            st = pg_snapshot_begin(ctx, NULL, stored, err);
            ctx->phase = PG_PHASE_SNAPSHOT;
        } else if (ctx->snap_mode == PG_SNAP_ALWAYS) {
            st = pg_snapshot_begin(ctx, NULL, NULL, err);
            ctx->phase = PG_PHASE_SNAPSHOT;
        } else {
            ctx->phase = PG_PHASE_STREAM;
        }
    } else if (exists) {
        ctx->start_lsn = confirmed;
        ctx->emit_pos = confirmed;
        ctx->emit_cnt = 0;
        if (ctx->snap_mode == PG_SNAP_NEVER) {
            ctx->phase = PG_PHASE_STREAM;
        } else {
            pg_lsn_format(confirmed, a);
            ctx->host->log(ctx->task, FERRY_LOG_WARN,
                           "slot %s exists but no offsets are stored: snapshotting with a fresh snapshot and "
                           "streaming from the slot's %s; rows changed since then may appear twice",
                           ctx->slot, a);
            st = pg_snapshot_begin(ctx, NULL, NULL, err);
            ctx->phase = PG_PHASE_SNAPSHOT;
        }
    } else {
        /* pg_create_slot sets start_lsn to the consistent point and, when
         * exporting, begins the snapshot transaction with it. */
        st = pg_create_slot(ctx, ctx->snap_mode != PG_SNAP_NEVER, err);
        ctx->emit_pos = ctx->start_lsn;
        ctx->emit_cnt = 0;
        ctx->phase = ctx->snap_mode == PG_SNAP_NEVER ? PG_PHASE_STREAM : PG_PHASE_SNAPSHOT;
    }
    if (st != FERRY_OK) {
        ctx->phase = PG_PHASE_BOOT;
        return st;
    }
    ctx->committed_lsn = ctx->start_lsn;
    pg_lsn_format(ctx->start_lsn, a);
    ctx->host->log(ctx->task, FERRY_LOG_INFO, "slot %s, publication %s: %s from %s (event %lld)", ctx->slot,
                   ctx->publication, ctx->phase == PG_PHASE_SNAPSHOT ? "snapshot, then stream" : "streaming", a,
                   (long long)ctx->emit_cnt);
    return FERRY_OK;
}

/* ---- callbacks ---------------------------------------------------------------- */

static char *default_name(const ferry_host_t *host, ferry_task_t *task)
{
    const char *cn = host->connector_name(task);
    if (!cn)
        cn = "connector";
    size_t n = strlen(cn);
    if (n > 57)
        n = 57; /* slot names are at most 63 bytes */
    char *s = malloc(n + 7);
    if (!s)
        return NULL;
    memcpy(s, "ferry_", 6);
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)cn[i]);
        s[6 + i] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') ? c : '_';
    }
    s[6 + n] = '\0';
    return s;
}

static int enum_index(const char *v, const char *const *values)
{
    for (int i = 0; v && values[i]; i++)
        if (strcmp(v, values[i]) == 0)
            return i;
    return 0;
}

static const char *const pub_modes[] = {"filtered", "all_tables", "disabled", NULL};
static const char *const snap_modes[] = {"initial", "never", "initial_only", "always", NULL};

static const char *const decimal_modes[] = {"precise", "double", "string", NULL};
static const char *const time_modes[] = {"adaptive", "adaptive_time_microseconds", "connect", "isostring", NULL};
static const char *const interval_modes[] = {"numeric", "string", NULL};
static const char *const hstore_modes[] = {"json", "map", NULL};
static const char *const binary_modes[] = {"bytes", "base64", "base64-url-safe", "hex", NULL};

static void pg_close(void *state);
static int enum_index(const char *v, const char *const *values);

/* The value options (Debezium's names) into one pg_format_t; the format's
 * strings stay owned by cfg. toast.unchanged.placeholder is ferry's older
 * name of unavailable.value.placeholder. */
static ferry_status_t format_from_cfg(const ferry_host_t *host, const ferry_config_t *cfg, pg_format_t *f,
                                      ferry_error_t *err)
{
    memset(f, 0, sizeof *f);
    f->decimal = (pg_decimal_mode_t)enum_index(host->cfg_string(cfg, "decimal.handling.mode"), decimal_modes);
    f->time = (pg_time_mode_t)enum_index(host->cfg_string(cfg, "time.precision.mode"), time_modes);
    f->interval = (pg_interval_mode_t)enum_index(host->cfg_string(cfg, "interval.handling.mode"), interval_modes);
    f->hstore = (pg_hstore_mode_t)enum_index(host->cfg_string(cfg, "hstore.handling.mode"), hstore_modes);
    f->binary = (pg_binary_mode_t)enum_index(host->cfg_string(cfg, "binary.handling.mode"), binary_modes);
    f->money_digits = (int)host->cfg_int(cfg, "money.fraction.digits");
    f->money_digits_set = 1;
    const char *ph = host->cfg_string(cfg, "unavailable.value.placeholder");
    const char *old = host->cfg_string(cfg, "toast.unchanged.placeholder");
    if (host->cfg_is_set(cfg, "toast.unchanged.placeholder")) {
        if (host->cfg_is_set(cfg, "unavailable.value.placeholder") && ph && old && strcmp(ph, old) != 0)
            return ferry_error_set(err, FERRY_ERROR,
                                   "unavailable.value.placeholder \"%s\" and its alias toast.unchanged.placeholder "
                                   "\"%s\" are both set, to different values: set one",
                                   ph, old);
        ph = old;
    }
    f->unavailable = ph && *ph ? ph : NULL;
    return FERRY_OK;
}

static ferry_status_t pg_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                              void **state, ferry_error_t *err)
{
    pg_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    ctx->task = task;
    ctx->host = host;
    ctx->cfg = cfg;
    atomic_init(&ctx->stop, 0);
    pg_caches_init(ctx);
    ctx->conninfo = host->cfg_string(cfg, "conninfo");
    ctx->prefix = host->cfg_string(cfg, "topic.prefix");
    ctx->outbox_prefix = host->cfg_string(cfg, "outbox.topic.prefix");
    if (!ctx->outbox_prefix)
        ctx->outbox_prefix = "outbox.event.";
    const char *s = host->cfg_string(cfg, "slot.name");
    ctx->slot = s && *s ? strdup(s) : default_name(host, task);
    s = host->cfg_string(cfg, "publication.name");
    ctx->publication = s && *s ? strdup(s) : default_name(host, task);
    ctx->pub_mode = (enum pg_pub_mode)enum_index(host->cfg_string(cfg, "publication.autocreate"), pub_modes);
    ctx->snap_mode = (enum pg_snap_mode)enum_index(host->cfg_string(cfg, "snapshot.mode"), snap_modes);
    ctx->chunk_size = host->cfg_int(cfg, "snapshot.chunk.size");
    if (ctx->chunk_size <= 0)
        ctx->chunk_size = 10000;
    ctx->heartbeat_ms = host->cfg_duration_ms(cfg, "heartbeat.interval");
    ctx->status_ms = host->cfg_duration_ms(cfg, "status.update.interval");
    if (ctx->status_ms <= 0)
        ctx->status_ms = 10000;
    ctx->tombstones = host->cfg_bool(cfg, "tombstones.on.delete");
    *state = ctx;
    if (format_from_cfg(host, cfg, &ctx->format, err) != FERRY_OK) {
        pg_close(ctx);
        *state = NULL;
        return FERRY_ERROR;
    }
    ctx->format.types = &ctx->types;
    if (!ctx->conninfo || !ctx->prefix || !*ctx->prefix) {
        pg_close(ctx);
        *state = NULL;
        return ferry_error_set(err, FERRY_ERROR, "conninfo and topic.prefix are required");
    }
    if (!ctx->slot || !ctx->publication || pg_filter_build(&ctx->include, host, cfg, "table.include.list", err) ||
        pg_filter_build(&ctx->exclude, host, cfg, "table.exclude.list", err) ||
        pg_filter_build(&ctx->outbox, host, cfg, "outbox.table.list", err)) {
        pg_close(ctx);
        *state = NULL;
        return err->msg[0] ? FERRY_ERROR : ferry_error_set(err, FERRY_ERROR, "out of memory");
    }

    pg_buf_t b = {0};
    pg_buf_puts(&b, "{\"server\":");
    pg_buf_json_string(&b, ctx->prefix, strlen(ctx->prefix));
    pg_buf_puts(&b, "}");
    ctx->partition_json = b.data; /* ownership moves to ctx */
    size_t hn = strlen(ctx->prefix) + 32;
    ctx->heartbeat_topic = malloc(hn);
    if (ctx->heartbeat_topic)
        snprintf(ctx->heartbeat_topic, hn, "__debezium-heartbeat.%s", ctx->prefix);

    const char *stored = host->offset_get(task, ctx->partition_json);
    ctx->stored_offset = stored ? strdup(stored) : NULL;
    ctx->phase = PG_PHASE_BOOT;
    ctx->last_heartbeat_ms = pg_now_ms();
    return FERRY_OK;
}

static ferry_status_t pg_poll(void *state, ferry_batch_t *batch, ferry_error_t *err)
{
    pg_ctx_t *ctx = state;
    ctx->added = 0;
    pg_pending_drain(ctx, batch);
    if (pg_batch_full(ctx, batch))
        return FERRY_OK;

    ferry_status_t st = FERRY_OK;
    for (int steps = 0; steps < 4 && st == FERRY_OK; steps++) {
        if (atomic_load(&ctx->stop) || ctx->host->should_stop(ctx->task))
            return FERRY_OK;
        switch (ctx->phase) {
        case PG_PHASE_BOOT:
            st = boot(ctx, err);
            continue;
        case PG_PHASE_SNAPSHOT: {
            int done = 0;
            st = pg_snapshot_poll(ctx, batch, &done, err);
            if (st != FERRY_OK || !done)
                break;
            pg_snapshot_free(ctx);
            if (ctx->snap_mode == PG_SNAP_INITIAL_ONLY) {
                ctx->host->log(ctx->task, FERRY_LOG_INFO,
                               "snapshot complete; snapshot.mode=initial_only: not streaming");
                ctx->phase = PG_PHASE_IDLE;
            } else {
                ctx->host->log(ctx->task, FERRY_LOG_INFO, "snapshot complete; streaming");
                ctx->phase = PG_PHASE_STREAM;
            }
            if (pg_batch_full(ctx, batch))
                return FERRY_OK;
            continue;
        }
        case PG_PHASE_STREAM:
            st = pg_stream_poll(ctx, batch, err);
            break;
        case PG_PHASE_IDLE:
            poll(NULL, 0, 100);
            break;
        }
        break;
    }
    if (st == FERRY_RETRY) {
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "%s (will reconnect)", err->msg);
        pg_disconnect(ctx);
        /* Records already in this batch must reach the host: they count as
         * emitted for deduplication. Report the trouble on the next poll. */
        if (ctx->added > 0) {
            err->msg[0] = '\0';
            return FERRY_OK;
        }
    }
    return st;
}

static ferry_status_t pg_commit(void *state, const ferry_offset_t *offsets, size_t count, ferry_error_t *err)
{
    pg_ctx_t *ctx = state;
    for (size_t i = 0; i < count; i++) {
        if (!offsets[i].source_partition || strcmp(offsets[i].source_partition, ctx->partition_json) != 0)
            continue;
        int64_t snap = 0, p = 0;
        /* Snapshot offsets confirm nothing: the stream has not started. */
        if (pg_offset_int(offsets[i].source_offset, "snapshot", &snap) == 0 && snap)
            continue;
        if (pg_offset_int(offsets[i].source_offset, "lsn_commit", &p) == 0 && (uint64_t)p > ctx->committed_lsn)
            ctx->committed_lsn = (uint64_t)p;
    }
    if (ctx->streaming)
        pg_stream_send_status(ctx, 0);
    return FERRY_OK;
}

static void pg_stop(void *state)
{
    pg_ctx_t *ctx = state;
    atomic_store(&ctx->stop, 1);
}

static void pg_close(void *state)
{
    pg_ctx_t *ctx = state;
    if (!ctx)
        return;
    /* A last status update so the slot reflects what commit() confirmed. */
    if (ctx->streaming)
        pg_stream_send_status(ctx, 0);
    pg_snapshot_free(ctx);
    pg_disconnect(ctx);
    pg_stream_reset(ctx);
    pg_caches_free(ctx);
    pg_pending_free(ctx);
    pg_filter_free(&ctx->include);
    pg_filter_free(&ctx->exclude);
    pg_filter_free(&ctx->outbox);
    pg_buf_free(&ctx->kbuf);
    pg_buf_free(&ctx->vbuf);
    pg_buf_free(&ctx->before);
    pg_buf_free(&ctx->after);
    pg_buf_free(&ctx->obuf);
    free(ctx->slot);
    free(ctx->publication);
    free(ctx->partition_json);
    free(ctx->heartbeat_topic);
    free(ctx->stored_offset);
    free(ctx);
}

/* Checks what the option table cannot: names PostgreSQL would refuse and
 * regexes that do not compile, so `ferry validate` reports them. */
static ferry_status_t pg_validate(const ferry_host_t *host, const ferry_config_t *cfg, ferry_error_t *err)
{
    const char *slot = host->cfg_string(cfg, "slot.name");
    if (slot && *slot) {
        if (strlen(slot) > 63)
            return ferry_error_set(err, FERRY_ERROR, "slot.name \"%s\" is longer than 63 bytes", slot);
        for (const char *c = slot; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
                return ferry_error_set(err, FERRY_ERROR,
                                       "slot.name \"%s\": PostgreSQL allows only lower-case letters, digits "
                                       "and underscores",
                                       slot);
    }
    const char *prefix = host->cfg_string(cfg, "topic.prefix");
    if (!prefix || !*prefix)
        return ferry_error_set(err, FERRY_ERROR, "topic.prefix must not be empty");
    pg_format_t fmt;
    if (format_from_cfg(host, cfg, &fmt, err) != FERRY_OK)
        return FERRY_ERROR;
    const char *lists[] = {"table.include.list", "table.exclude.list", "outbox.table.list"};
    for (size_t i = 0; i < 3; i++) {
        pg_filter_t f = {0};
        int rc = pg_filter_build(&f, host, cfg, lists[i], err);
        pg_filter_free(&f);
        if (rc)
            return FERRY_ERROR;
    }
    return FERRY_OK;
}

static const ferry_option_t pg_options[] = {
    {"conninfo", FERRY_OPT_SECRET, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,
     "libpq connection string or URI (use ${env:..} or ${file:..} for the password). The role needs "
     "REPLICATION LOGIN and SELECT on the captured tables."},
    {"slot.name", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Logical replication slot (pgoutput). Default: ferry_<connector name>. Created when missing."},
    {"publication.name", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Publication the slot streams. Default: ferry_<connector name>."},
    {"publication.autocreate", FERRY_OPT_ENUM, "filtered", 0, 0, 0, pub_modes,
     "When the publication is missing: filtered creates it for the captured tables, all_tables FOR ALL "
     "TABLES (superuser), disabled requires it to exist."},
    {"table.include.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Tables to capture, as schema.table names or regular expressions matched against the whole name. "
     "Empty: every table."},
    {"table.exclude.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Tables not to capture (names or regular expressions), applied after table.include.list."},
    {"topic.prefix", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,
     "Logical server name: events go to <topic.prefix>.<schema>.<table>; also the offsets' source partition."},
    {"snapshot.mode", FERRY_OPT_ENUM, "initial", 0, 0, 0, snap_modes,
     "initial: snapshot when no offsets are stored, then stream; never: stream only; initial_only: "
     "snapshot and stop; always: snapshot at every start, then stream."},
    {"snapshot.chunk.size", FERRY_OPT_INT, "10000", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 10000000, NULL,
     "Rows read per primary-key chunk; progress is stored after each row so a snapshot resumes."},
    {"heartbeat.interval", FERRY_OPT_DURATION, "60s", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "On a quiet database, emit a logical message this often so the slot advances (0 = off). Heartbeats "
     "go to __debezium-heartbeat.<topic.prefix>."},
    {"tombstones.on.delete", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Follow each delete event with a tombstone (same key, null value) for log compaction."},
    {"unavailable.value.placeholder", FERRY_OPT_STRING, "__debezium_unavailable_value", 0, 0, 0, NULL,
     "Value written for an unchanged TOASTed column the server did not send (as Debezium: the string; for "
     "bytea its bytes; for text/json arrays a one-element array; for int4/int8/date arrays its bytes)."},
    {"toast.unchanged.placeholder", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Alias of unavailable.value.placeholder (ferry's older name)."},
    {"decimal.handling.mode", FERRY_OPT_ENUM, "precise", 0, 0, 0, decimal_modes,
     "numeric and money: precise writes Connect Decimals (base64 of the unscaled value; numeric without "
     "scale as {scale, value}; NaN as null), double a JSON number, string the digits."},
    {"time.precision.mode", FERRY_OPT_ENUM, "adaptive", 0, 0, 0, time_modes,
     "date/time/timestamp: adaptive (days; milliseconds for precision <= 3, else microseconds), "
     "adaptive_time_microseconds (time always in microseconds), connect (milliseconds), isostring "
     "(ISO-8601 strings). timestamptz and timetz are UTC strings in every mode."},
    {"interval.handling.mode", FERRY_OPT_ENUM, "numeric", 0, 0, 0, interval_modes,
     "interval: numeric writes microseconds (a month is 30.4375 days), string \"P1Y2M3DT4H5M6.789S\"."},
    {"hstore.handling.mode", FERRY_OPT_ENUM, "json", 0, 0, 0, hstore_modes,
     "hstore: json writes a string holding a JSON object, map a JSON object."},
    {"binary.handling.mode", FERRY_OPT_ENUM, "bytes", 0, 0, 0, binary_modes,
     "bytea: bytes and base64 write base64, base64-url-safe URL-safe base64, hex lowercase hex."},
    {"money.fraction.digits", FERRY_OPT_INT, "2", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 0, 1000, NULL,
     "Scale of money values (decimal.handling.mode precise: the Decimal's scale)."},
    {"status.update.interval", FERRY_OPT_DURATION, "10s", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 100, 3600000,
     NULL, "How often to send the server a standby status update (with the last durable LSN)."},
    {"outbox.table.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Outbox tables (columns id, aggregatetype, aggregateid, type, payload): inserts become messages to "
     "<outbox.topic.prefix><aggregatetype>."},
    {"outbox.topic.prefix", FERRY_OPT_STRING, "outbox.event.", 0, 0, 0, NULL,
     "Topic prefix for outbox messages."},
    FERRY_OPTIONS_END,
};

static const ferry_connector_t pg_source = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "postgres-cdc",
    .version = PG_CONNECTOR_VERSION,
    .description = "PostgreSQL change data capture over logical replication (pgoutput), Debezium-compatible "
                   "events",
    .options = pg_options,
    .option_size = sizeof(ferry_option_t),
    .validate = pg_validate,
    .open = pg_open,
    .poll = pg_poll,
    .commit = pg_commit,
    .close = pg_close,
    .stop = pg_stop,
};

static const ferry_connector_t *const pg_connectors[] = {&pg_source, NULL};

static const ferry_plugin_t pg_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "postgres",
    .version = PG_CONNECTOR_VERSION,
    .connectors = pg_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    return &pg_plugin;
}
