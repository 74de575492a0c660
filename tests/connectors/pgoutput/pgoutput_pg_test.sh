#!/bin/bash
# pgoutput against a real PostgreSQL 15: starts a throwaway server (tests/lib/pg.sh),
# makes changes of every kind, reads the raw pgoutput bytes through the SQL
# interface (pg_logical_slot_peek_binary_changes), decodes them with the
# connector's decoder (pgoutput_dump) and compares with what PostgreSQL itself
# says the rows contain (expect.sql) — check.py does the comparing.
# Usage: pgoutput_pg_test.sh PATH/TO/pgoutput_dump
set -euo pipefail
DUMP=${1:?usage: $0 pgoutput_dump}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../lib/pg.sh"

W=$(mktemp -d)
trap 'rc=$?; [ $rc -ne 0 ] && { echo "--- server log"; pg_log_tail 30; }; pg_stop; rm -rf "$W"; exit $rc' EXIT
PG_NO_TRAP=1 pg_start

# The GUCs the decoder's text formats assume (pgoutput's output functions
# run in the session that reads the slot).
SESSION="SET DateStyle='ISO'; SET IntervalStyle='iso_8601'; SET TimeZone='UTC';
SET extra_float_digits=3; SET bytea_output='hex'; SET lc_monetary='C';"

pg_psql "CREATE PUBLICATION p FOR ALL TABLES" \
    "SELECT 1 FROM pg_create_logical_replication_slot('s', 'pgoutput')" >/dev/null

# Phase A: every type.
pg_psql <"$HERE/types.sql"
pg_psql <"$HERE/expect.sql" >"$W/expect_a.jsonl"

# Phase B: default replica identity: plain update, PK change, delete.
pg_psql "UPDATE types SET tx = 'updated' WHERE id = 1" \
    "UPDATE types SET id = 10 WHERE id = 2" \
    "DELETE FROM types WHERE id = 3"
pg_psql <"$HERE/expect.sql" >"$W/expect_b.jsonl"

# Phase C: REPLICA IDENTITY FULL; Phase D: unchanged TOAST; Phase E: truncate.
pg_psql "CREATE TABLE full_t (id int PRIMARY KEY, v text, n numeric)" \
    "ALTER TABLE full_t REPLICA IDENTITY FULL" \
    "INSERT INTO full_t VALUES (1, 'a', 1.50), (2, 'b', NULL)" \
    "UPDATE full_t SET v = 'a2' WHERE id = 1" \
    "DELETE FROM full_t WHERE id = 2" \
    "CREATE TABLE toast_t (id int PRIMARY KEY, big text, small int)" \
    "ALTER TABLE toast_t ALTER COLUMN big SET STORAGE EXTERNAL" \
    "INSERT INTO toast_t SELECT 1, string_agg(md5(g::text), ''), 1 FROM generate_series(1, 400) g" \
    "UPDATE toast_t SET small = 2 WHERE id = 1" \
    "CREATE TABLE tr1 (id int PRIMARY KEY)" \
    "CREATE TABLE tr2 (id serial PRIMARY KEY)" \
    "INSERT INTO tr1 VALUES (1)" \
    "TRUNCATE tr1, tr2 RESTART IDENTITY" \
    "TRUNCATE tr1 CASCADE"
pg_psql "SELECT big FROM toast_t WHERE id = 1" >"$W/toast_big.txt"

# Phase F: logical decoding messages; Phase G: schema change; Phase H:
# multi-table transaction with its xid; Phase I: replication origin.
pg_psql "SELECT 1 FROM pg_logical_emit_message(true, 'ferry', 'tx message é')" \
    "SELECT 1 FROM pg_logical_emit_message(false, 'ferry-nt', 'non-tx')" \
    "ALTER TABLE full_t ADD COLUMN extra int DEFAULT 5" \
    "INSERT INTO full_t (id, v) VALUES (3, 'c')" >/dev/null
pg_psql "BEGIN" "INSERT INTO tr1 VALUES (100)" "INSERT INTO full_t (id, v) VALUES (4, 'd')" \
    "SELECT txid_current()" "COMMIT" >"$W/xid.txt"
pg_psql "SELECT 1 FROM pg_replication_origin_create('o1')" >/dev/null
pg_psql "SELECT pg_replication_origin_session_setup('o1')" "BEGIN" \
    "SELECT 1 FROM pg_replication_origin_xact_setup('0/10', now())" \
    "INSERT INTO tr1 VALUES (200)" "COMMIT" >/dev/null

pg_psql "SELECT oid, CASE WHEN typtype = 'e' THEN 'e' WHEN typtype = 'd' THEN 'd'
                          WHEN typcategory = 'A' THEN 'a' ELSE '0' END, typbasetype, typelem
         FROM pg_type WHERE oid >= 16384" | tr '|' ' ' >"$W/types.txt"

peek() { # proto extra-options...
    local proto=$1 extra=${2:-}
    pg_psql "$SESSION SET logical_decoding_work_mem = '64kB';
      SELECT encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('s', NULL, NULL,
        'proto_version', '$proto', 'publication_names', 'p', 'messages', 'true' $extra)"
}
peek 1 >"$W/v1.hex"
"$DUMP" --types "$W/types.txt" "$W/v1.hex" >"$W/v1.jsonl"
"$DUMP" --types "$W/types.txt" --envelope "$W/v1.hex" >"$W/v1_env.jsonl"

# Phase J (proto 2 streaming): a transaction bigger than
# logical_decoding_work_mem is streamed while in progress, including a rolled
# back subtransaction and a wholly aborted transaction.
pg_psql "CREATE TABLE stream_t (id int PRIMARY KEY, pad text)"
pg_psql "BEGIN" "INSERT INTO stream_t SELECT g, repeat('x', 200) FROM generate_series(1, 3000) g" \
    "SAVEPOINT sp" "INSERT INTO stream_t SELECT g, repeat('y', 200) FROM generate_series(3001, 4000) g" \
    "ROLLBACK TO SAVEPOINT sp" "SELECT txid_current()" "COMMIT" >"$W/stream_xid.txt"
pg_psql "BEGIN" "INSERT INTO stream_t SELECT g, repeat('z', 200) FROM generate_series(5001, 8000) g" \
    "ROLLBACK"
peek 2 ", 'streaming', 'on'" >"$W/v2.hex"
"$DUMP" --proto 2 --types "$W/types.txt" "$W/v2.hex" >"$W/v2.jsonl"

[ -n "${PGDEC_KEEP:-}" ] && cp -r "$W" "$PGDEC_KEEP"
/usr/bin/python3 "$HERE/check.py" "$W"
echo "pgoutput against PostgreSQL: OK"
