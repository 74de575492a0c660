/*
 * fuzz_pgoutput.c — fuzz target for the pgoutput decoder and the value
 * formatter (connectors/postgres: pgoutput_decode.c, pg_types.c,
 * pg_envelope.c, pg_buf.c).
 *
 * Input layout, chosen by the first byte:
 *   < 0x80  message mode: the rest is a sequence of XLogData payloads, each
 *           a 2-byte big-endian length then that many bytes (the last one
 *           takes what is left). The sequence is decoded by a proto_version 1
 *           and by a proto_version 2 decoder; every Insert/Update/Delete is
 *           rendered with pg_row_json() and pg_envelope_json().
 *   >= 0x80 value mode: the rest is one datum in PostgreSQL text output
 *           format, formatted by pg_value_json() as the type oid picked by
 *           the low 7 bits from the table below (built-in oids plus a few
 *           resolver-defined enum/domain/array oids, including loops).
 *
 * Checks beyond "no crash, no leak, no UB": every row image, envelope and
 * value is exactly one valid JSON value (pg_types.c's documented invariant),
 * and a decoded tuple has as many columns as its relation.
 */
#include "fuzz_common.h"
#include "pgoutput.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type oids for value mode: built-in scalars, built-in arrays, and oids
 * from 90000 on that only the resolver below knows. */
static const uint32_t g_oids[] = {
    16,   17,   20,    21,    23,    25,    26,    114,   700,   701,   1082,
    1114, 1184, 1700,  1043,  1083,  1186,  1266,  2950,  3802,  18,    19,
    650,  869,  1000,  1001,  1005,  1007,  1009,  1015,  1016,  1021,  1022,
    1020, 199,  3807,  1115,  1182,  1185,  1187,  1231,  1270,  2951,  600,
    1017, 0,    90000, 90001, 90002, 90003, 90004, 90005, 90006, 90007, 90008, 90009, 790,  1560,  1562,  3614,
};

/* 90000 enum, 90001 domain over int4, 90002 array of 90001, 90003 domain
 * over itself (a broken catalog), 90004 array of itself, 90005 domain over
 * 90006, 90006 array of timestamptz, 90007 unknown, 90008 hstore, 90009
 * domain over numeric(10,3). */
static char fuzz_resolve(void *ctx, uint32_t oid, uint32_t *base_oid,
                         int32_t *base_typmod, uint32_t *elem_oid) {
  (void)ctx;
  *base_typmod = -1;
  switch (oid) {
  case 90000:
    return 'e';
  case 90001:
    *base_oid = 23;
    return 'd';
  case 90008:
    return 'h';
  case 90009:
    *base_oid = 1700;
    *base_typmod = (10 << 16 | 3) + 4;
    return 'd';
  case 90002:
    *elem_oid = 90001;
    return 'a';
  case 90003:
    *base_oid = 90003;
    return 'd';
  case 90004:
    *elem_oid = 90004;
    return 'a';
  case 90005:
    *base_oid = 90006;
    return 'd';
  case 90006:
    *elem_oid = 1184;
    return 'a';
  default:
    return 0;
  }
}

static const pg_type_resolver_t g_resolver = {.resolve = fuzz_resolve,
                                              .ctx = NULL};

static void check_json(const char *what, const pg_buf_t *b, size_t from) {
  char why[256];
  const char *s = b->data ? b->data + from : "";
  size_t len = b->len - from;
  FUZZ_CHECK(fuzz_json_valid(s, len, why, sizeof why),
             "%s is not valid JSON (%s): %.*s", what, why,
             (int)(len > 2000 ? 2000 : len), s);
  FUZZ_CHECK(pg_json_valid(s, len), "%s is rejected by pg_json_valid: %.*s",
             what, (int)(len > 2000 ? 2000 : len), s);
}

/* Every value option in turn, and typmods with a meaning for numeric,
 * time(p), timestamp(p) and bit(1). */
static const int32_t g_typmods[] = {-1, (10 << 16 | 2) + 4, (5 << 16) + 4, 0, 1, 3, 6};

static void value_mode(uint8_t sel, const uint8_t *text, size_t len) {
  uint32_t oid = g_oids[(sel & 0x7f) % (sizeof g_oids / sizeof g_oids[0])];
  int32_t typmod = g_typmods[len % (sizeof g_typmods / sizeof g_typmods[0])];
  pg_format_t fmt = {.decimal = (pg_decimal_mode_t)(len % 3),
                     .time = (pg_time_mode_t)(len / 3 % 4),
                     .interval = (pg_interval_mode_t)(len / 12 % 2),
                     .hstore = (pg_hstore_mode_t)(len / 24 % 2),
                     .binary = (pg_binary_mode_t)(len / 48 % 4),
                     .money_digits = (int)(len % 5),
                     .money_digits_set = 1,
                     .types = &g_resolver};
  pg_buf_t out = {0};
  pg_value_json(&out, oid, typmod, (const char *)text, len, &fmt);
  check_json("pg_value_json", &out, 0);
  pg_buf_reset(&out);
  pg_value_json(&out, oid, -1, (const char *)text, len, NULL);
  check_json("pg_value_json (defaults, no resolver)", &out, 0);

  pg_datum_t datum = {.kind = PG_DATUM_BINARY,
                      .data = (const char *)text,
                      .len = (uint32_t)len};
  pg_buf_reset(&out);
  pg_datum_json(&out, oid, typmod, &datum, &fmt);
  check_json("pg_datum_json (binary)", &out, 0);
  pg_buf_reset(&out);
  pg_buf_json_string(&out, (const char *)text, len);
  check_json("pg_buf_json_string", &out, 0);
  pg_buf_free(&out);

  /* The same bytes as an LSN, which must survive format → parse. */
  char *s = malloc(len + 1);
  if (!s)
    abort();
  memcpy(s, text, len);
  s[len] = '\0';
  uint64_t lsn, lsn2;
  if (pg_lsn_parse(s, &lsn) == 0) {
    char buf[32];
    pg_lsn_format(lsn, buf);
    FUZZ_CHECK(pg_lsn_parse(buf, &lsn2) == 0 && lsn2 == lsn,
               "LSN %s did not round-trip", buf);
  }
  free(s);
}

static void check_tuple(const pgoutput_msg_t *msg, const pg_tuple_t *tup) {
  FUZZ_CHECK(tup->ncols == msg->rel->ncols, "tuple has %d columns, relation %d",
             tup->ncols, msg->rel->ncols);
}

static void render_change(const pgoutput_msg_t *msg, int proto) {
  pg_buf_t before = {0}, after = {0}, key = {0}, env = {0};
  const pg_format_t fmt2 = {.unavailable = "__unavailable", .types = &g_resolver,
                            .decimal = PG_DECIMAL_STRING, .binary = PG_BINARY_HEX};
  const pg_format_t *types = proto == 2 ? &fmt2 : NULL;
  int has_old = msg->old_kind != 0, has_new = msg->kind != PGO_DELETE;
  if (has_old) {
    check_tuple(msg, &msg->old_tuple);
    pg_row_json(&before, msg->rel, &msg->old_tuple, msg->old_kind == 'K', types);
    check_json("before row", &before, 0);
    pg_row_json(&key, msg->rel, &msg->old_tuple, 1, types);
    check_json("key row", &key, 0);
  }
  if (has_new) {
    check_tuple(msg, &msg->new_tuple);
    pg_row_json(&after, msg->rel, &msg->new_tuple, 0, types);
    check_json("after row", &after, 0);
  }
  char op = msg->kind == PGO_INSERT ? 'c' : msg->kind == PGO_UPDATE ? 'u' : 'd';
  pg_event_source_t src = {.version = "0.1.0",
                           .name = "fuzz",
                           .db = "postgres",
                           .ts_ms = msg->commit_ts_us / 1000,
                           .snapshot = "false",
                           .txid = msg->xid,
                           .lsn = msg->final_lsn};
  pg_envelope_json(&env, op, msg->rel, has_old ? before.data : NULL,
                   has_new ? after.data : NULL, &src, 1700000000000);
  check_json("envelope", &env, 0);
  pg_buf_free(&before);
  pg_buf_free(&after);
  pg_buf_free(&key);
  pg_buf_free(&env);
}

static void message_mode(const uint8_t *data, size_t size, int proto) {
  pgoutput_decoder_t *dec = pgoutput_decoder_new(proto);
  FUZZ_CHECK(dec != NULL, "no decoder for proto %d", proto);
  char err[256];
  size_t pos = 0;
  while (pos < size) {
    size_t len;
    if (size - pos >= 2) {
      len = ((size_t)data[pos] << 8) | data[pos + 1];
      pos += 2;
      if (len > size - pos)
        len = size - pos;
    } else {
      len = size - pos;
    }
    /* A private copy: strings in msg point into it, and ASan then
     * catches a read past this one message. */
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
      abort();
    memcpy(buf, data + pos, len);
    pos += len;
    pgoutput_msg_t msg;
    int rc = pgoutput_decode(dec, buf, len, &msg, err, sizeof err);
    if (rc != 0) {
      FUZZ_CHECK(err[0] != '\0', "decode failed without a message");
    } else {
      switch (msg.kind) {
      case PGO_INSERT:
      case PGO_UPDATE:
      case PGO_DELETE:
        FUZZ_CHECK(msg.rel != NULL, "change without a relation");
        render_change(&msg, proto);
        break;
      case PGO_RELATION:
        FUZZ_CHECK(msg.rel && pgoutput_relation(dec, msg.rel->oid) == msg.rel,
                   "relation not cached");
        break;
      case PGO_TRUNCATE:
        for (int i = 0; i < msg.ntruncated; i++) {
          pg_buf_t env = {0};
          pg_envelope_json(&env, 't', msg.truncated[i], NULL, NULL, NULL, 0);
          check_json("truncate envelope", &env, 0);
          pg_buf_free(&env);
        }
        break;
      case PGO_MESSAGE: {
        pg_buf_t out = {0};
        pg_buf_json_string(&out, msg.content, msg.content_len);
        check_json("message content", &out, 0);
        pg_buf_free(&out);
        break;
      }
      default:
        break;
      }
    }
    (void)pgoutput_in_stream(dec);
    free(buf);
  }
  pgoutput_decoder_free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0 || size > 256 * 1024)
    return 0;
  if (data[0] & 0x80) {
    value_mode(data[0], data + 1, size - 1);
  } else {
    message_mode(data + 1, size - 1, 1);
    message_mode(data + 1, size - 1, 2);
  }
  return 0;
}
