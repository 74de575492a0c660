/*
 * pgoutput_dump — test helper: reads pgoutput messages, one hex-encoded
 * message per line (as `SELECT encode(data,'hex') FROM
 * pg_logical_slot_peek_binary_changes(...)` prints them), decodes each with
 * the connector's decoder and prints one JSON object per line:
 *   {"kind":"B","xid":..,"final_lsn":..,"commit_ts_us":..}
 *   {"kind":"C","commit_lsn":..,"end_lsn":..,"commit_ts_us":..}
 *   {"kind":"R","schema":..,"table":..,"replident":"d","cols":[{"name","type","key"}..]}
 *   {"kind":"I|U|D","schema":..,"table":..,"old_kind":"K|O|"?,"old":row|null,"new":row|null,
 *    "key":row-of-key-columns|null}
 *   {"kind":"T","tables":["s.t",..],"flags":n}
 *   {"kind":"M","transactional":b,"prefix":..,"content":..}
 *   {"kind":"Y"|"O"|"S"|"E"|"c"|"A", ...}
 *   {"kind":"envelope", ...}  with --envelope, after each row event
 * Usage: pgoutput_dump [--proto N] [--envelope] [--types TYPEFILE] [FILE]   (stdin when no FILE)
 * TYPEFILE: lines "oid category base_oid elem_oid" (category e/d/a/0, as
 * pg_type's typtype/typcategory give them) that feed the type resolver.
 * Exit status 1 on the first decode error (printed to stderr).
 */
#include "pgoutput.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The test's type resolver: a small table loaded from --types. */
typedef struct type_entry {
    uint32_t oid, base, elem;
    char cat;
} type_entry_t;
static type_entry_t *g_types;
static size_t g_ntypes;

static char resolve(void *ctx, uint32_t oid, uint32_t *base, int32_t *base_typmod, uint32_t *elem)
{
    (void)ctx;
    *base_typmod = -1;
    for (size_t i = 0; i < g_ntypes; i++) {
        if (g_types[i].oid == oid) {
            *base = g_types[i].base;
            *elem = g_types[i].elem;
            return g_types[i].cat == '0' ? 0 : g_types[i].cat;
        }
    }
    return 0;
}

static const pg_type_resolver_t g_resolver = {.resolve = resolve, .ctx = NULL};
static const pg_type_resolver_t *g_res;

/* Debezium's default value formats, with this placeholder and g_res. */
static const pg_format_t *fmt_with(const char *placeholder)
{
    static pg_format_t f;
    f = (pg_format_t){.unavailable = placeholder, .types = g_res};
    return &f;
}

static int load_types(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    type_entry_t e;
    while (fscanf(f, "%" SCNu32 " %c %" SCNu32 " %" SCNu32, &e.oid, &e.cat, &e.base, &e.elem) == 4) {
        type_entry_t *n = realloc(g_types, (g_ntypes + 1) * sizeof *n);
        if (!n)
            abort();
        g_types = n;
        g_types[g_ntypes++] = e;
    }
    fclose(f);
    g_res = &g_resolver;
    return 0;
}

static void put_str(pg_buf_t *out, const char *s)
{
    if (s)
        pg_buf_json_string(out, s, strlen(s));
    else
        pg_buf_puts(out, "null");
}

static void put_rel(pg_buf_t *out, const pg_relation_t *rel)
{
    pg_buf_puts(out, ",\"schema\":");
    put_str(out, rel ? rel->schema : NULL);
    pg_buf_puts(out, ",\"table\":");
    put_str(out, rel ? rel->table : NULL);
}

static void dump(pg_buf_t *out, const pgoutput_msg_t *msg, int envelope)
{
    char k[2] = {(char)msg->kind, 0};
    pg_buf_puts(out, "{\"kind\":");
    put_str(out, k);
    switch (msg->kind) {
    case PGO_BEGIN:
        pg_buf_printf(out, ",\"xid\":%" PRIu32 ",\"final_lsn\":%" PRIu64 ",\"commit_ts_us\":%" PRId64,
                      msg->xid, msg->final_lsn, msg->commit_ts_us);
        break;
    case PGO_COMMIT:
    case PGO_STREAM_COMMIT:
        pg_buf_printf(out, ",\"xid\":%" PRIu32 ",\"commit_lsn\":%" PRIu64 ",\"end_lsn\":%" PRIu64
                      ",\"commit_ts_us\":%" PRId64,
                      msg->xid, msg->commit_lsn, msg->end_lsn, msg->commit_ts_us);
        break;
    case PGO_RELATION:
        put_rel(out, msg->rel);
        pg_buf_printf(out, ",\"replident\":\"%c\",\"cols\":[", msg->rel->replident);
        for (int i = 0; i < msg->rel->ncols; i++)
            pg_buf_printf(out, "%s{\"name\":\"%s\",\"type\":%" PRIu32 ",\"typmod\":%d,\"key\":%d}",
                          i ? "," : "", msg->rel->cols[i].name, msg->rel->cols[i].type_oid,
                          msg->rel->cols[i].typmod, msg->rel->cols[i].is_key);
        pg_buf_puts(out, "]");
        break;
    case PGO_INSERT:
    case PGO_UPDATE:
    case PGO_DELETE:
        put_rel(out, msg->rel);
        pg_buf_printf(out, ",\"xid\":%" PRIu32 ",\"old_kind\":", msg->xid);
        if (msg->old_kind) {
            char ok[2] = {msg->old_kind, 0};
            put_str(out, ok);
        } else {
            pg_buf_puts(out, "null");
        }
        pg_buf_puts(out, ",\"old\":");
        if (msg->old_kind)
            pg_row_json(out, msg->rel, &msg->old_tuple, 0, fmt_with("__toast"));
        else
            pg_buf_puts(out, "null");
        pg_buf_puts(out, ",\"key\":");
        if (msg->old_kind)
            pg_row_json(out, msg->rel, &msg->old_tuple, 1, fmt_with("__toast"));
        else
            pg_buf_puts(out, "null");
        pg_buf_puts(out, ",\"new\":");
        if (msg->kind != PGO_DELETE)
            pg_row_json(out, msg->rel, &msg->new_tuple, 0, fmt_with("__toast"));
        else
            pg_buf_puts(out, "null");
        break;
    case PGO_TRUNCATE:
        pg_buf_puts(out, ",\"tables\":[");
        for (int i = 0; i < msg->ntruncated; i++) {
            if (i)
                pg_buf_puts(out, ",");
            pg_buf_printf(out, "\"%s.%s\"", msg->truncated[i]->schema, msg->truncated[i]->table);
        }
        pg_buf_printf(out, "],\"flags\":%u", msg->truncate_flags);
        break;
    case PGO_MESSAGE:
        pg_buf_printf(out, ",\"transactional\":%s,\"prefix\":", msg->transactional ? "true" : "false");
        put_str(out, msg->prefix);
        pg_buf_puts(out, ",\"content\":");
        pg_buf_json_string(out, msg->content, msg->content_len);
        break;
    case PGO_TYPE:
        pg_buf_printf(out, ",\"oid\":%" PRIu32 ",\"type_schema\":", msg->type_oid);
        put_str(out, msg->type_schema);
        pg_buf_puts(out, ",\"type_name\":");
        put_str(out, msg->type_name);
        break;
    case PGO_ORIGIN:
        pg_buf_printf(out, ",\"origin_lsn\":%" PRIu64 ",\"origin\":", msg->origin_lsn);
        put_str(out, msg->origin_name);
        break;
    case PGO_STREAM_START:
        pg_buf_printf(out, ",\"xid\":%" PRIu32, msg->xid);
        break;
    case PGO_STREAM_ABORT:
        pg_buf_printf(out, ",\"xid\":%" PRIu32 ",\"sub_xid\":%" PRIu32, msg->xid, msg->sub_xid);
        break;
    case PGO_STREAM_STOP:
        break;
    }
    pg_buf_puts(out, "}\n");

    if (envelope && (msg->kind == PGO_INSERT || msg->kind == PGO_UPDATE || msg->kind == PGO_DELETE)) {
        pg_buf_t before = {0}, after = {0};
        if (msg->old_kind)
            pg_row_json(&before, msg->rel, &msg->old_tuple, 0, fmt_with(NULL));
        if (msg->kind != PGO_DELETE)
            pg_row_json(&after, msg->rel, &msg->new_tuple, 0, fmt_with(NULL));
        pg_event_source_t src = {.version = "test", .name = "srv", .db = "postgres", .ts_ms = 1,
                                 .snapshot = "false", .txid = msg->xid, .lsn = 1};
        char op = msg->kind == PGO_INSERT ? 'c' : msg->kind == PGO_UPDATE ? 'u' : 'd';
        pg_envelope_json(out, op, msg->rel, before.data, after.data, &src, 2);
        pg_buf_puts(out, "\n");
        pg_buf_free(&before);
        pg_buf_free(&after);
    }
}

int main(int argc, char **argv)
{
    int proto = 1, envelope = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--proto") && i + 1 < argc)
            proto = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--types") && i + 1 < argc) {
            if (load_types(argv[++i]) < 0) {
                perror(argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--envelope"))
            envelope = 1;
        else
            path = argv[i];
    }
    FILE *in = path ? fopen(path, "r") : stdin;
    if (!in) {
        perror(path);
        return 2;
    }
    pgoutput_decoder_t *dec = pgoutput_decoder_new(proto);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint8_t *bytes = NULL;
    pg_buf_t out = {0};
    int rc = 0, lineno = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        if (n % 2) {
            fprintf(stderr, "line %d: odd hex length\n", lineno);
            rc = 1;
            break;
        }
        uint8_t *nb = realloc(bytes, (size_t)n / 2 + 1);
        if (!nb)
            abort();
        bytes = nb;
        for (ssize_t i = 0; i < n; i += 2)
            bytes[i / 2] = (uint8_t)(pg_hex_digit(line[i]) << 4 | pg_hex_digit(line[i + 1]));
        pgoutput_msg_t msg;
        char err[256];
        if (pgoutput_decode(dec, bytes, (size_t)n / 2, &msg, err, sizeof err) < 0) {
            fprintf(stderr, "line %d: %s\n", lineno, err);
            rc = 1;
            break;
        }
        pg_buf_reset(&out);
        dump(&out, &msg, envelope);
        fwrite(out.data, 1, out.len, stdout);
    }
    free(line);
    free(bytes);
    free(g_types);
    pg_buf_free(&out);
    pgoutput_decoder_free(dec);
    if (in != stdin)
        fclose(in);
    return rc;
}
