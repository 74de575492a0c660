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
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>
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

/* A new snapshot for a slot that exists (snapshot.mode always/when_needed):
 * a temporary slot lends its consistent point and exported snapshot, so the
 * rows read and the stream after them meet exactly, and the stream starts
 * at that point (stream_floor). flushed: what the slot may confirm until the
 * snapshot is durable. */
static ferry_status_t new_snapshot(pg_ctx_t *ctx, uint64_t flushed, ferry_error_t *err)
{
    ferry_status_t st = pg_create_slot(ctx, 1, 1, err);
    if (st != FERRY_OK)
        return st;
    ctx->emit_pos = ctx->start_lsn;
    ctx->emit_cnt = 0;
    ctx->stream_floor = ctx->start_lsn;
    ctx->flush_from = flushed;
    return FERRY_OK;
}

static ferry_status_t boot(pg_ctx_t *ctx, ferry_error_t *err)
{
    ferry_status_t st;
    ctx->stream_floor = 0;
    ctx->flush_from = 0;
    if (!ctx->sql && (st = pg_connect(ctx, 0, &ctx->sql, err)) != FERRY_OK)
        return st;
    if ((st = pg_check_server(ctx, err)) != FERRY_OK)
        return st;

    const char *stored = ctx->stored_offset;
    int64_t v = 0, last = 0;
    int in_snapshot = stored && pg_offset_int(stored, "snapshot", &v) == 0 && v;
    /* A snapshot whose last record is durable is finished (defect 6 of
     * issue 13: it used to be recorded only by the first streamed record). */
    int snapshot_done = in_snapshot && pg_offset_int(stored, "last_snapshot_record", &last) == 0 && last;
    int stored_snapshot = in_snapshot && !snapshot_done;
    int64_t p = 0, k = 0;
    if (stored && pg_offset_int(stored, "lsn_commit", &p) != 0 && pg_offset_int(stored, "lsn", &p) != 0) {
        return ferry_error_set(err, FERRY_ERROR,
                               "stored offset for %s has no lsn_commit/lsn field: %s; reset the offsets "
                               "(ferry offsets ...) to start over",
                               ctx->partition_json, stored);
    }
    int64_t fp = 0;
    if (stored) {
        pg_offset_int(stored, "event", &k);
        ctx->emit_fp_known = pg_offset_int(stored, "fp", &fp) == 0;
        ctx->emit_fp = (uint32_t)fp;
    }

    /* The stored event count numbers the resent transaction with BEGIN/END
     * records or without (see emit_txm): convert it to this run's numbering.
     * Off -> on: the BEGIN counts as delivered (never written for that
     * transaction; its END follows its remaining events). On -> off: its
     * BEGIN (and END) leave the count. */
    int64_t txm = 0;
    if (stored && !stored_snapshot) {
        pg_offset_int(stored, "txm", &txm);
        if (!ctx->txm_enabled && k > 0 && txm > 0)
            k = k > txm ? k - txm : 0;
        else if (ctx->txm_enabled && k > 0 && txm == 0)
            k++;
    }
    ctx->emit_txm = ctx->txm_enabled ? (txm ? (int)txm : 1) : 0;
    int64_t last_commit = 0;
    if (stored && !stored_snapshot && pg_offset_int(stored, "lsn_last_commit", &last_commit) == 0 && last_commit > 0)
        ctx->emit_last_commit = ctx->last_commit_lsn = (uint64_t)last_commit;

    if (ctx->snap_mode == PG_SNAP_INITIAL_ONLY) {
        /* No slot: the snapshot is all there is. */
        if (snapshot_done || (stored && !in_snapshot)) {
            ctx->host->log(ctx->task, FERRY_LOG_INFO,
                           "snapshot.mode=initial_only: the snapshot was completed before; nothing to do");
            ctx->phase = PG_PHASE_IDLE;
            return FERRY_OK;
        }
        if ((st = pg_snapshot_begin(ctx, NULL, stored_snapshot ? stored : NULL, err)) != FERRY_OK)
            return st;
        ctx->phase = PG_PHASE_SNAPSHOT;
        return FERRY_OK;
    }

    if ((st = pg_ensure_publication(ctx, err)) != FERRY_OK)
        return st;
    if ((st = pg_replica_identity_autoset(ctx, err)) != FERRY_OK)
        return st;
    int exists = 0;
    uint64_t confirmed = 0;
    if ((st = pg_slot_state(ctx, &exists, &confirmed, err)) != FERRY_OK)
        return st;

    char a[32], b[32];
    if (stored && (ctx->snap_mode == PG_SNAP_WHEN_NEEDED || ctx->snap_mode == PG_SNAP_ALWAYS) &&
        (!exists || confirmed > (uint64_t)p)) {
        /* The stored position cannot be streamed from, and a new snapshot
         * is allowed: take one (below, as if nothing were stored). */
        ctx->host->log(ctx->task, FERRY_LOG_WARN, "snapshot.mode=%s: %s; taking a new snapshot",
                       ctx->snap_mode == PG_SNAP_ALWAYS ? "always" : "when_needed",
                       !exists ? "the replication slot is gone" : "the slot has moved past the stored offset");
        stored = NULL;
        stored_snapshot = 0;
    }
    if (stored && !exists && ctx->slot_drop_on_stop && !stored_snapshot) {
        /* The slot was dropped at the last stop, as asked: like Debezium,
         * go on from a new slot, without what changed in between. */
        pg_lsn_format((uint64_t)p, b);
        ctx->host->log(ctx->task, FERRY_LOG_WARN,
                       "slot.drop.on.stop: slot %s was dropped at the last stop (offsets at %s); creating it "
                       "again and streaming from now: changes made while the task was stopped are not captured",
                       ctx->slot, b);
        st = pg_create_slot(ctx, 0, 0, err);
        ctx->emit_pos = ctx->start_lsn;
        ctx->emit_cnt = 0;
        ctx->phase = PG_PHASE_STREAM;
    } else if (stored) {
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
        if (stored_snapshot && ctx->snap_mode != PG_SNAP_ALWAYS) {
            ctx->host->log(ctx->task, FERRY_LOG_INFO,
                           "resuming an interrupted snapshot with a fresh snapshot; rows changed since "
                           "%s may appear twice (snapshot and stream), none is lost",
                           b);
            st = pg_snapshot_begin(ctx, NULL, stored, err);
            ctx->phase = PG_PHASE_SNAPSHOT;
        } else if (ctx->snap_mode == PG_SNAP_ALWAYS) {
            /* A new snapshot at a new consistent point; streaming goes on
             * from there, not from the stored offset, which would replay
             * older changes over the newer rows (defect 11 of issue 13). */
            st = new_snapshot(ctx, (uint64_t)p, err);
            ctx->phase = PG_PHASE_SNAPSHOT;
            if (st == FERRY_OK)
                ctx->host->log(ctx->task, FERRY_LOG_INFO, "snapshot.mode=always: new snapshot");
        } else {
            ctx->phase = PG_PHASE_STREAM;
        }
    } else if (exists) {
        ctx->start_lsn = confirmed;
        ctx->emit_pos = confirmed;
        ctx->emit_cnt = 0;
        if (ctx->snap_mode == PG_SNAP_NO_DATA) {
            ctx->phase = PG_PHASE_STREAM;
        } else if (ctx->snap_mode == PG_SNAP_ALWAYS || ctx->snap_mode == PG_SNAP_WHEN_NEEDED) {
            st = new_snapshot(ctx, confirmed, err);
            ctx->phase = PG_PHASE_SNAPSHOT;
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
        st = pg_create_slot(ctx, ctx->snap_mode != PG_SNAP_NO_DATA, 0, err);
        ctx->emit_pos = ctx->start_lsn;
        ctx->emit_cnt = 0;
        ctx->phase = ctx->snap_mode == PG_SNAP_NO_DATA ? PG_PHASE_STREAM : PG_PHASE_SNAPSHOT;
    }
    if (st != FERRY_OK) {
        ctx->phase = PG_PHASE_BOOT;
        return st;
    }
    /* After new_snapshot the slot is confirmed only up to flush_from until
     * the whole snapshot is durable (pg_commit). */
    ctx->committed_lsn = ctx->flush_from ? ctx->flush_from : ctx->start_lsn;
    ctx->flush_from = 0;
    if (ctx->phase == PG_PHASE_STREAM && ctx->stored_offset && ctx->nadded)
        /* Tables new to the publication: their rows from before it had them
         * never streamed. Read them while streaming. */
        pg_signal_snapshot_tables(ctx, ctx->added_tables, ctx->nadded, "added to the publication");
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

/* A UUIDv7 (RFC 9562: 48-bit Unix milliseconds, version 7, variant 10,
 * random bits), Debezium's __debezium.context.runId of a task run. */
static void make_run_id(char out[40])
{
    uint8_t b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        /* No entropy source: the clock's nanoseconds and the pid still tell runs apart. */
        uint64_t x = (uint64_t)pg_wall_ns() ^ ((uint64_t)getpid() << 32);
        for (int i = 0; i < 16; i++, x = x * 6364136223846793005u + 1442695040888963407u)
            b[i] = (uint8_t)(x >> 56);
    }
    uint64_t ms = (uint64_t)(pg_wall_ns() / 1000000);
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (40 - 8 * i));
    b[6] = (uint8_t)(0x70 | (b[6] & 0x0f));
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static int enum_index(const char *v, const char *const *values)
{
    for (int i = 0; v && values[i]; i++)
        if (strcmp(v, values[i]) == 0)
            return i;
    return 0;
}

/* In enum pg_pub_mode / pg_snap_mode order; "never" is ferry's old name of
 * no_data. */
static const char *const pub_modes[] = {"filtered", "all_tables", "disabled", "no_tables", NULL};
static const char *const snap_modes[] = {"initial", "no_data", "initial_only", "always", "when_needed", "never", NULL};
static const char *const ssl_modes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL};

/* Debezium's name of an option and ferry's older one: the value of whichever
 * the user set (validation refuses both with different values). */
static const char *alias_string(const ferry_host_t *host, const ferry_config_t *cfg, const char *name,
                                const char *alias)
{
    if (!host->cfg_is_set(cfg, name) && host->cfg_is_set(cfg, alias))
        return host->cfg_string(cfg, alias);
    return host->cfg_string(cfg, name);
}

/* skipped.operations: c, u, d, t or none. Returns -1 on an unknown item. */
static int skip_ops_parse(const ferry_host_t *host, const ferry_config_t *cfg, unsigned *out, ferry_error_t *err)
{
    const char *const *items = NULL;
    size_t n = host->cfg_list(cfg, "skipped.operations", &items);
    unsigned ops = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = items[i];
        if (strcmp(v, "c") == 0)
            ops |= PG_SKIP_C;
        else if (strcmp(v, "u") == 0)
            ops |= PG_SKIP_U;
        else if (strcmp(v, "d") == 0)
            ops |= PG_SKIP_D;
        else if (strcmp(v, "t") == 0)
            ops |= PG_SKIP_T;
        else if (strcmp(v, "none") != 0)
            return ferry_error_set(err, FERRY_ERROR, "skipped.operations: \"%s\" is not one of c, u, d, t, none", v),
                   -1;
    }
    *out = ops;
    return 0;
}

/* conninfo, or one built from Debezium's database.* options (malloc'd into
 * *built). Exactly one of the two ways must be used. */
static int conninfo_resolve(const ferry_host_t *host, const ferry_config_t *cfg, const char **out, char **built,
                            ferry_error_t *err)
{
    static const char *const keys[] = {"database.hostname", "database.port", "database.user",
                                       "database.password", "database.dbname", "database.sslmode"};
    static const char *const libpq[] = {"host", "port", "user", "password", "dbname", "sslmode"};
    int any = 0;
    for (size_t i = 0; i < 6; i++)
        any |= host->cfg_is_set(cfg, keys[i]);
    const char *conninfo = host->cfg_string(cfg, "conninfo");
    *built = NULL;
    if (conninfo && *conninfo && any)
        return ferry_error_set(err, FERRY_ERROR,
                               "set either conninfo or the database.* options (database.hostname, ...), not both"),
               -1;
    if (conninfo && *conninfo) {
        *out = conninfo;
        return 0;
    }
    if (!host->cfg_is_set(cfg, "database.hostname") || !host->cfg_is_set(cfg, "database.dbname"))
        return ferry_error_set(err, FERRY_ERROR,
                               "no connection: set conninfo, or database.hostname and database.dbname (with "
                               "database.port, database.user, database.password, database.sslmode)"),
               -1;
    pg_buf_t b = {0};
    for (size_t i = 0; i < 6; i++) {
        const char *v = host->cfg_string(cfg, keys[i]);
        char num[32];
        if (i == 1) {
            snprintf(num, sizeof(num), "%lld", (long long)host->cfg_int(cfg, keys[i]));
            v = num;
        }
        if (!v || !*v)
            continue;
        /* libpq's quoting: single quotes, with \ and ' escaped. */
        pg_buf_printf(&b, "%s%s='", b.len ? " " : "", libpq[i]);
        for (const char *c = v; *c; c++) {
            if (*c == '\\' || *c == '\'')
                pg_buf_puts(&b, "\\");
            pg_buf_printf(&b, "%c", *c);
        }
        pg_buf_puts(&b, "'");
    }
    if (!b.data)
        return ferry_error_set(err, FERRY_ERROR, "out of memory"), -1;
    *built = b.data;
    *out = b.data;
    return 0;
}

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
    ctx->prefix = host->cfg_string(cfg, "topic.prefix");
    ctx->outbox_prefix = host->cfg_string(cfg, "outbox.topic.prefix");
    if (!ctx->outbox_prefix)
        ctx->outbox_prefix = "outbox.event.";
    const char *s = host->cfg_string(cfg, "slot.name");
    ctx->slot_name_default = !(s && *s);
    ctx->slot = s && *s ? strdup(s) : default_name(host, task);
    const char *cn = host->connector_name(task);
    size_t an = strlen(cn ? cn : "") + 8;
    if ((ctx->appname = malloc(an)))
        snprintf(ctx->appname, an, "ferry/%s", cn ? cn : "");
    s = host->cfg_string(cfg, "publication.name");
    ctx->pub_name_default = !(s && *s);
    ctx->publication = s && *s ? strdup(s) : default_name(host, task);
    ctx->pub_mode = (enum pg_pub_mode)enum_index(
        alias_string(host, cfg, "publication.autocreate.mode", "publication.autocreate"), pub_modes);
    int sm = enum_index(host->cfg_string(cfg, "snapshot.mode"), snap_modes);
    ctx->snap_mode = sm == 5 ? PG_SNAP_NO_DATA : (enum pg_snap_mode)sm;
    ctx->chunk_size = host->cfg_int(cfg, "snapshot.chunk.size");
    if (ctx->chunk_size <= 0)
        ctx->chunk_size = 10000;
    ctx->heartbeat_ms = host->cfg_is_set(cfg, "heartbeat.interval.ms") ? host->cfg_int(cfg, "heartbeat.interval.ms")
                                                                       : host->cfg_duration_ms(cfg, "heartbeat.interval");
    ctx->status_ms = host->cfg_is_set(cfg, "status.update.interval.ms")
                         ? host->cfg_int(cfg, "status.update.interval.ms")
                         : host->cfg_duration_ms(cfg, "status.update.interval");
    ctx->slot_drop_on_stop = host->cfg_bool(cfg, "slot.drop.on.stop");
    ctx->via_root = host->cfg_bool(cfg, "publish.via.partition.root");
    ctx->heartbeat_query = host->cfg_string(cfg, "heartbeat.action.query");
    if (ctx->heartbeat_query && !*ctx->heartbeat_query)
        ctx->heartbeat_query = NULL;
    if (ctx->status_ms <= 0)
        ctx->status_ms = 10000;
    ctx->tombstones = host->cfg_bool(cfg, "tombstones.on.delete");
    ctx->signal_table = host->cfg_string(cfg, "signal.data.collection");
    if (ctx->signal_table && !*ctx->signal_table)
        ctx->signal_table = NULL;
    ctx->incr_chunk = host->cfg_int(cfg, "incremental.snapshot.chunk.size");
    if (ctx->incr_chunk <= 0)
        ctx->incr_chunk = 1024;
    if (FERRY_HOST_HAS(host, converter_schemas)) {
        ctx->schemas_key = host->converter_schemas(task, 0);
        ctx->schemas_value = host->converter_schemas(task, 1);
    }
    ctx->txm_enabled = host->cfg_bool(cfg, "provide.transaction.metadata");
    ctx->ext_headers = host->cfg_bool(cfg, "extended.headers.enabled");
    ctx->xmin_ms = host->cfg_int(cfg, "xmin.fetch.interval.ms");
    snprintf(ctx->task_id, sizeof(ctx->task_id), "%d", host->task_id ? host->task_id(task) : 0);
    make_run_id(ctx->run_id);
    *state = ctx;
    if (format_from_cfg(host, cfg, &ctx->format, err) != FERRY_OK) {
        pg_close(ctx);
        *state = NULL;
        return FERRY_ERROR;
    }
    ctx->format.types = &ctx->types;
    if (conninfo_resolve(host, cfg, &ctx->conninfo, &ctx->conninfo_built, err) != 0) {
        pg_close(ctx);
        *state = NULL;
        return FERRY_ERROR;
    }
    if (!ctx->prefix || !*ctx->prefix) {
        pg_close(ctx);
        *state = NULL;
        return ferry_error_set(err, FERRY_ERROR, "topic.prefix is required");
    }
    if (!ctx->slot || !ctx->publication || pg_filter_build(&ctx->include, host, cfg, "table.include.list", err) ||
        pg_filter_build(&ctx->exclude, host, cfg, "table.exclude.list", err) ||
        pg_filter_build(&ctx->outbox, host, cfg, "outbox.table.list", err) ||
        pg_filter_build(&ctx->snap_include, host, cfg, "snapshot.include.collection.list", err) ||
        pg_filter_build(&ctx->col_include, host, cfg, "column.include.list", err) ||
        pg_filter_build(&ctx->col_exclude, host, cfg, "column.exclude.list", err) ||
        pg_filter_build(&ctx->msg_include, host, cfg, "message.prefix.include.list", err) ||
        pg_filter_build(&ctx->msg_exclude, host, cfg, "message.prefix.exclude.list", err) ||
        skip_ops_parse(host, cfg, &ctx->skip_ops, err) ||
        pg_keycols_build(ctx, host->cfg_string(cfg, "message.key.columns"), err)) {
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

    const char *txt = host->cfg_string(cfg, "topic.transaction");
    size_t tn = strlen(ctx->prefix) + strlen(txt && *txt ? txt : "transaction") + 2;
    ctx->txm_topic = malloc(tn);
    if (ctx->txm_topic)
        snprintf(ctx->txm_topic, tn, "%s.%s", ctx->prefix, txt && *txt ? txt : "transaction");
    if (!ctx->heartbeat_topic || !ctx->txm_topic) {
        pg_close(ctx);
        *state = NULL;
        return ferry_error_set(err, FERRY_ERROR, "out of memory");
    }

    const char *stored = host->offset_get(task, ctx->partition_json);
    ctx->stored_offset = stored ? strdup(stored) : NULL;
    int kafka_signals = 0;
    const char *const *channels = NULL;
    size_t nch = host->cfg_list(cfg, "signal.enabled.channels", &channels);
    for (size_t i = 0; i < nch; i++)
        kafka_signals |= strcmp(channels[i], "kafka") == 0;
    if (pg_signal_restore(ctx, ctx->stored_offset, err) != FERRY_OK ||
        (kafka_signals && pg_signal_start_kafka(ctx, err) != FERRY_OK)) {
        pg_close(ctx);
        *state = NULL;
        return FERRY_ERROR;
    }
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
        /* Snapshot offsets confirm nothing until the last one: the stream
         * has not started. */
        int64_t last = 0;
        if (pg_offset_int(offsets[i].source_offset, "snapshot", &snap) == 0 && snap &&
            !(pg_offset_int(offsets[i].source_offset, "last_snapshot_record", &last) == 0 && last))
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
    /* Only a graceful stop drops the slot: a task that failed or restarts
     * needs it to resume. */
    if (ctx->slot_drop_on_stop && ctx->ever_connected && ctx->snap_mode != PG_SNAP_INITIAL_ONLY &&
        (atomic_load(&ctx->stop) || ctx->host->should_stop(ctx->task)))
        pg_slot_drop(ctx);
    pg_stream_reset(ctx);
    pg_caches_free(ctx);
    pg_pending_free(ctx);
    pg_schema_free(ctx);
    pg_signal_free(ctx);
    pg_free_names(ctx->added_tables, ctx->nadded);
    pg_filter_free(&ctx->include);
    pg_filter_free(&ctx->exclude);
    pg_filter_free(&ctx->outbox);
    pg_features_free(ctx);
    pg_buf_free(&ctx->kbuf);
    pg_buf_free(&ctx->vbuf);
    pg_buf_free(&ctx->before);
    pg_buf_free(&ctx->after);
    pg_buf_free(&ctx->obuf);
    free(ctx->slot);
    free(ctx->publication);
    free(ctx->partition_json);
    free(ctx->appname);
    free(ctx->heartbeat_topic);
    free(ctx->stored_offset);
    free(ctx->cur_origin);
    pg_txm_free(ctx);
    free(ctx->txm_topic);
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
    const char *sig = host->cfg_string(cfg, "signal.data.collection");
    if (sig && *sig && (!strchr(sig, '.') || strchr(sig, '.') == sig || !strchr(sig, '.')[1]))
        return ferry_error_set(err, FERRY_ERROR,
                               "signal.data.collection \"%s\": expected schema.table, e.g. public.debezium_signal", sig);
    const char *const *channels = NULL;
    size_t nch = host->cfg_list(cfg, "signal.enabled.channels", &channels);
    int kafka = 0;
    for (size_t i = 0; i < nch; i++) {
        if (strcmp(channels[i], "kafka") == 0)
            kafka = 1;
        else if (strcmp(channels[i], "source") != 0)
            return ferry_error_set(err, FERRY_ERROR,
                                   "signal.enabled.channels: \"%s\" is not a channel ferry has (source: the signal "
                                   "table; kafka: signal.kafka.topic)",
                                   channels[i]);
    }
    const char *kbs = host->cfg_string(cfg, "signal.kafka.bootstrap.servers");
    if (kafka && (!kbs || !*kbs))
        return ferry_error_set(err, FERRY_ERROR,
                               "signal.enabled.channels has kafka: signal.kafka.bootstrap.servers is required");
    const char *lists[] = {"table.include.list",  "table.exclude.list",
                           "outbox.table.list",   "snapshot.include.collection.list",
                           "column.include.list", "column.exclude.list",
                           "message.prefix.include.list", "message.prefix.exclude.list"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        pg_filter_t f = {0};
        int rc = pg_filter_build(&f, host, cfg, lists[i], err);
        pg_filter_free(&f);
        if (rc)
            return FERRY_ERROR;
    }
    const char *const *tmp = NULL;
    if (host->cfg_list(cfg, "column.include.list", &tmp) && host->cfg_list(cfg, "column.exclude.list", &tmp))
        return ferry_error_set(err, FERRY_ERROR, "set column.include.list or column.exclude.list, not both");
    if (host->cfg_list(cfg, "message.prefix.include.list", &tmp) && host->cfg_list(cfg, "message.prefix.exclude.list", &tmp))
        return ferry_error_set(err, FERRY_ERROR,
                               "set message.prefix.include.list or message.prefix.exclude.list, not both");
    /* Debezium's spelling and ferry's older one: one value. */
    static const char *const aliases[][2] = {{"publication.autocreate.mode", "publication.autocreate"}};
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        const char *a = host->cfg_string(cfg, aliases[i][0]), *b = host->cfg_string(cfg, aliases[i][1]);
        if (host->cfg_is_set(cfg, aliases[i][0]) && host->cfg_is_set(cfg, aliases[i][1]) && a && b && strcmp(a, b) != 0)
            return ferry_error_set(err, FERRY_ERROR, "%s (%s) and its alias %s (%s) are both set, to different values",
                                   aliases[i][0], a, aliases[i][1], b);
    }
    if (host->cfg_is_set(cfg, "heartbeat.interval.ms") && host->cfg_is_set(cfg, "heartbeat.interval") &&
        host->cfg_int(cfg, "heartbeat.interval.ms") != host->cfg_duration_ms(cfg, "heartbeat.interval"))
        return ferry_error_set(err, FERRY_ERROR,
                               "heartbeat.interval.ms and its alias heartbeat.interval are both set, to different values");
    if (host->cfg_is_set(cfg, "status.update.interval.ms") && host->cfg_is_set(cfg, "status.update.interval") &&
        host->cfg_int(cfg, "status.update.interval.ms") != host->cfg_duration_ms(cfg, "status.update.interval"))
        return ferry_error_set(err, FERRY_ERROR, "status.update.interval.ms and its alias status.update.interval are "
                                                 "both set, to different values");
    unsigned ops = 0;
    if (skip_ops_parse(host, cfg, &ops, err))
        return FERRY_ERROR;
    const char *conninfo = NULL;
    char *built = NULL;
    int rc = conninfo_resolve(host, cfg, &conninfo, &built, err);
    free(built);
    if (rc)
        return FERRY_ERROR;
    /* Each table snapshot.select.statement.overrides names needs its
     * statement. */
    const char *const *over = NULL;
    size_t nover = host->cfg_list(cfg, "snapshot.select.statement.overrides", &over);
    for (size_t i = 0; i < nover; i++) {
        char key[600];
        snprintf(key, sizeof(key), "snapshot.select.statement.overrides.%s", over[i]);
        const char *stmt = host->cfg_string(cfg, key);
        if (!stmt || !*stmt)
            return ferry_error_set(err, FERRY_ERROR,
                                   "snapshot.select.statement.overrides lists %s but %s is not set", over[i], key);
    }
    /* replica.identity.autoset.values: <table regex>:DEFAULT|FULL|NOTHING|INDEX <name>. */
    const char *const *ri = NULL;
    size_t nri = host->cfg_list(cfg, "replica.identity.autoset.values", &ri);
    for (size_t i = 0; i < nri; i++) {
        const char *colon = strrchr(ri[i], ':');
        const char *v = colon ? colon + 1 : "";
        while (*v == ' ')
            v++;
        if (!colon || colon == ri[i] ||
            !(strcasecmp(v, "DEFAULT") == 0 || strcasecmp(v, "FULL") == 0 || strcasecmp(v, "NOTHING") == 0 ||
              (strncasecmp(v, "INDEX ", 6) == 0 && v[6])))
            return ferry_error_set(err, FERRY_ERROR,
                                   "replica.identity.autoset.values: item \"%s\" is not <table regex>:DEFAULT, "
                                   "FULL, NOTHING or INDEX <name>",
                                   ri[i]);
    }
    pg_ctx_t probe = {.host = host, .cfg = cfg};
    rc = pg_keycols_build(&probe, host->cfg_string(cfg, "message.key.columns"), err);
    pg_features_free(&probe);
    return rc ? FERRY_ERROR : FERRY_OK;
}

static const ferry_option_t pg_options[] = {
    {"conninfo", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL,
     "libpq connection string or URI (use ${env:..} or ${file:..} for the password). The role needs "
     "REPLICATION LOGIN and SELECT on the captured tables. Either this or the database.* options."},
    {"database.hostname", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Debezium's way to connect, instead of conninfo: the server's host name or address."},
    {"database.port", FERRY_OPT_INT, "5432", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 65535, NULL,
     "The server's port (with database.hostname)."},
    {"database.user", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, "The role to connect as (with database.hostname)."},
    {"database.password", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL,
     "The role's password (with database.hostname; use ${env:..} or ${file:..})."},
    {"database.dbname", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL, "The database to capture (with database.hostname)."},
    {"database.sslmode", FERRY_OPT_ENUM, "prefer", 0, 0, 0, ssl_modes,
     "libpq's sslmode (with database.hostname)."},
    {"slot.name", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Logical replication slot (pgoutput). Default: ferry_<connector name>. Created when missing."},
    {"publication.name", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Publication the slot streams. Default: ferry_<connector name>."},
    {"publication.autocreate.mode", FERRY_OPT_ENUM, "all_tables", 0, 0, 0, pub_modes,
     "When the publication is missing: all_tables creates it FOR ALL TABLES (superuser), filtered for the "
     "captured tables (and adds captured tables it lacks), no_tables with no table, disabled requires it to "
     "exist."},
    {"publication.autocreate", FERRY_OPT_ENUM, NULL, 0, 0, 0, pub_modes,
     "Alias of publication.autocreate.mode (ferry's older name)."},
    {"table.include.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Tables to capture, as schema.table names or regular expressions matched against the whole name. "
     "Empty: every table."},
    {"table.exclude.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Tables not to capture (names or regular expressions), applied after table.include.list. Table lists "
     "ignore case, like Debezium's."},
    {"column.include.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Columns in before/after, as regular expressions over schema.table.column; others are left out."},
    {"column.exclude.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Columns left out of before/after (regular expressions over schema.table.column)."},
    {"message.key.columns", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Record keys from other columns: <table regex>:<column>,<column>;... (Debezium's syntax)."},
    {"message.prefix.include.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Logical decoding messages (pg_logical_emit_message) emitted as op \"m\" events on "
     "<topic.prefix>.message, by prefix (regular expressions); default: every prefix but ferry's heartbeats."},
    {"message.prefix.exclude.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Logical decoding message prefixes not emitted (regular expressions)."},
    {"skipped.operations", FERRY_OPT_LIST, "t", 0, 0, 0, NULL,
     "Change events not emitted: c (inserts), u (updates), d (deletes), t (truncates), or none."},
    {"topic.prefix", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,
     "Logical server name: events go to <topic.prefix>.<schema>.<table>; also the offsets' source partition."},
    {"snapshot.mode", FERRY_OPT_ENUM, "initial", 0, 0, 0, snap_modes,
     "initial: snapshot when no offsets are stored, then stream; no_data: stream only (never is its alias); "
     "initial_only: snapshot and stop; always: snapshot at every start, then stream; when_needed: like "
     "initial, and snapshot again when the stored position cannot be streamed from."},
    {"snapshot.include.collection.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Captured tables the snapshot reads (names or regular expressions); default: all of them."},
    {"snapshot.select.statement.overrides", FERRY_OPT_LIST, NULL, FERRY_OPT_PREFIX, 0, 0, NULL,
     "Tables (schema.table) the snapshot reads with a statement of yours, given in "
     "snapshot.select.statement.overrides.<schema>.<table>; read in one pass."},
    {"snapshot.chunk.size", FERRY_OPT_INT, "10000", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 10000000, NULL,
     "Most rows fetched at a time (fewer for wide rows: a fetch holds about 8 MiB); progress is stored "
     "after each row so a snapshot resumes."},
    {"heartbeat.interval", FERRY_OPT_DURATION, "60s", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "On a quiet database, emit a logical message this often so the slot advances (0 = off). Heartbeats "
     "go to __debezium-heartbeat.<topic.prefix>."},
    {"heartbeat.interval.ms", FERRY_OPT_INT, NULL, FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "Alias of heartbeat.interval, in milliseconds (Debezium's name)."},
    {"heartbeat.action.query", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "SQL run on the database at every heartbeat (e.g. an UPDATE of a heartbeat table)."},
    {"replica.identity.autoset.values", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "REPLICA IDENTITY set on captured tables at start: <table regex>:DEFAULT|FULL|NOTHING|INDEX <name>, ... "
     "(Debezium's syntax; the role must own the tables)."},
    {"publish.via.partition.root", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Capture partitioned tables through their root: the publication ferry creates publishes partitions' "
     "changes as the root's (one topic), and the snapshot reads the root, not each partition."},
    {"slot.drop.on.stop", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Drop the replication slot when the task stops gracefully; the next start streams from a new slot, "
     "without the changes made meanwhile (tests and throw-away setups)."},
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
    {"status.update.interval.ms", FERRY_OPT_INT, NULL, FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 100, 3600000, NULL,
     "Alias of status.update.interval, in milliseconds (Debezium's name)."},
    {"provide.transaction.metadata", FERRY_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Debezium's transaction metadata: a BEGIN and an END record per transaction on "
     "<topic.prefix>.<topic.transaction> (key {\"id\"}; END with event_count and data_collections), and a "
     "transaction block {id, total_order, data_collection_order} in every change event."},
    {"topic.transaction", FERRY_OPT_STRING, "transaction", 0, 0, 0, NULL,
     "The transaction metadata topic is <topic.prefix>.<topic.transaction> (Debezium's option of that name)."},
    {"xmin.fetch.interval.ms", FERRY_OPT_INT, "0", FERRY_OPT_HAS_MIN, 0, 0, NULL,
     "How often (ms) to read the slot's catalog_xmin while streaming; it becomes source.xmin of the events "
     "(Debezium's option). 0: never, source.xmin is null."},
    {"extended.headers.enabled", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Debezium 3.x's context headers on every change event and tombstone: "
     "__debezium.context.connectorLogicalName (topic.prefix), taskId, connectorName (postgresql) and runId "
     "(a UUID per task start)."},
    {"outbox.table.list", FERRY_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Outbox tables (columns id, aggregatetype, aggregateid, type, payload): inserts become messages to "
     "<outbox.topic.prefix><aggregatetype>."},
    {"outbox.topic.prefix", FERRY_OPT_STRING, "outbox.event.", 0, 0, 0, NULL,
     "Topic prefix for outbox messages."},
    {"signal.data.collection", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Debezium's signal table (schema.table, columns id, type, data): rows inserted there start, stop, pause "
     "and resume incremental snapshots."},
    {"signal.enabled.channels", FERRY_OPT_LIST, "source", 0, 0, 0, NULL,
     "Where signals come from: source (the signal table) and/or kafka (signal.kafka.topic)."},
    {"signal.kafka.topic", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Kafka signal channel: the topic (partition 0; default <topic.prefix>-signal). Messages keyed by "
     "topic.prefix, valued {\"type\":...,\"data\":{...}} as Debezium's."},
    {"signal.kafka.bootstrap.servers", FERRY_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Kafka signal channel: the brokers to read signal.kafka.topic from."},
    {"signal.kafka.group.id", FERRY_OPT_STRING, "kafka-signal", 0, 0, 0, NULL,
     "Kafka signal channel: the consumer group (Debezium spells it signal.kafka.groupId; ferry option names are lower case). Its position is kept in the connector's offsets."},
    {"incremental.snapshot.chunk.size", FERRY_OPT_INT, "1024", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 1000000,
     NULL, "Rows an incremental snapshot reads per window (held in memory until the window closes)."},
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
