#!/usr/bin/env bash
# ferry's postgres-cdc against Debezium's PostgreSQL connector (3.6.1.Final, on a Kafka
# Connect worker): both capture the same tables of one PostgreSQL server, each with its own
# slot and publication, into the same Apache Kafka broker (topics dbz.* and fer.*), with
# JsonConverter without schemas for keys and values. Rows inserted before the connectors
# start make the snapshot; then one series of changes makes the stream: inserts, updates, a
# delete, primary-key changes, REPLICA IDENTITY DEFAULT and FULL, an update that leaves a
# TOASTed column unchanged (under DEFAULT and under FULL), a table keyed only by its
# REPLICA IDENTITY USING INDEX index, a truncate. tests/kafka/debezium_compare.py compares the two
# event streams record by record; the test passes when the differences are exactly the
# lines of tests/kafka/debezium_conformance.known.
#
# Debezium runs with its defaults except where ferry has no choice to match: it is told its
# slot, publication (created for the included tables, as ferry's default), topic prefix and
# table list, and skipped.operations=none, so that it emits truncate events as ferry does
# (Debezium's default skips them).
source "$TESTLIB"
. "$FERRY_SOURCE_DIR/tests/lib/pg.sh"
PG_NO_TRAP=1 pg_start || fail "could not start PostgreSQL"
trap 'rc=$?; pg_stop; cleanup; exit $rc' EXIT

TABLES="public.types public.full_t public.toast_t public.fulltoast_t public.ri_t"
KNOWN=$FERRY_SOURCE_DIR/tests/kafka/debezium_conformance.known
COMPARE="/usr/bin/python3 $FERRY_SOURCE_DIR/tests/kafka/debezium_compare.py"
topics=()
for t in $TABLES; do topics+=(--topic "dbz.$t" --topic "fer.$t"); done
broker_start "${topics[@]}"

pg_psql <<'SQL' >/dev/null
CREATE TABLE types (
    id int PRIMARY KEY, c_int2 int2, c_int4 int4, c_int8 int8, c_num numeric(10,2), c_numv numeric,
    c_float float8, c_bool bool, c_text text, c_varchar varchar(20), c_bytea bytea, c_date date,
    c_ts timestamp, c_tstz timestamptz, c_uuid uuid, c_json json, c_jsonb jsonb, c_arr int[]);
CREATE TABLE full_t (id int PRIMARY KEY, a text, n int);
ALTER TABLE full_t REPLICA IDENTITY FULL;
CREATE TABLE toast_t (id int PRIMARY KEY, note text, big text);
ALTER TABLE toast_t ALTER big SET STORAGE EXTERNAL;
CREATE TABLE fulltoast_t (id int PRIMARY KEY, note text, big text);
ALTER TABLE fulltoast_t ALTER big SET STORAGE EXTERNAL;
ALTER TABLE fulltoast_t REPLICA IDENTITY FULL;
CREATE TABLE ri_t (id int NOT NULL, v text);
CREATE UNIQUE INDEX ri_t_id ON ri_t (id);
ALTER TABLE ri_t REPLICA IDENTITY USING INDEX ri_t_id;
INSERT INTO fulltoast_t SELECT g, 'note', (SELECT string_agg(md5((g * 1000 + i)::text), '')
    FROM generate_series(1, 300) i) FROM generate_series(1, 2) g;
INSERT INTO ri_t VALUES (1, 'one'), (2, 'two');
INSERT INTO types VALUES
    (1, 1, 100000, 9000000000, 12345.67, 3.14159265358979, 1.5, true, 'hello', 'vc', '\x0102ff',
     '2024-02-29', '2024-02-29 13:45:56.123456', '2024-02-29 13:45:56.123456+02',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1, "b": [1, 2]}', '{"b": 2, "a": 1}', '{1,2,3}'),
    (2, -32768, -2147483648, -9223372036854775808, -0.01, 0.000001, -2.5e-10, false, 'ünï ✓ "q"', '',
     '\x', '1970-01-01', '1969-12-31 23:59:59.5', '2000-01-01 00:00:00+00',
     '00000000-0000-0000-0000-000000000000', '[]', 'null', '{}'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO full_t VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', NULL);
INSERT INTO toast_t SELECT g, 'note ' || g, (SELECT string_agg(md5((g * 1000 + i)::text), '')
    FROM generate_series(1, 300) i) FROM generate_series(1, 2) g;
SQL

# Debezium on a Connect worker. Debezium's jars carry ServiceLoader manifests, so the
# worker's plugin.discovery=service_load finds it.
connect_start
cat >"$WORK/dbz.json" <<JSON
{
  "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "tasks.max": "1",
  "database.hostname": "127.0.0.1",
  "database.port": "$PGPORT",
  "database.user": "postgres",
  "database.password": "unused",
  "database.dbname": "postgres",
  "plugin.name": "pgoutput",
  "slot.name": "dbz_slot",
  "publication.name": "dbz_pub",
  "publication.autocreate.mode": "filtered",
  "topic.prefix": "dbz",
  "table.include.list": "${TABLES// /,}",
  "skipped.operations": "none",
  "key.converter": "org.apache.kafka.connect.json.JsonConverter",
  "key.converter.schemas.enable": "false",
  "value.converter": "org.apache.kafka.connect.json.JsonConverter",
  "value.converter.schemas.enable": "false"
}
JSON
code=$(curl -s -o "$WORK/dbz-put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    --data-binary "@$WORK/dbz.json" "$CONNECT_URL/connectors/dbz/config")
[ "$code" = 201 ] || fail "Connect refused Debezium ($code): $(cat "$WORK/dbz-put.json")"

cat >"$WORK/ferry.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  progress.interval: 0
  rest: {listen: "127.0.0.1:0"}
connectors:
  fer:
    connector: postgres-cdc
    conninfo: "$PG_CONNINFO"
    slot.name: fer_slot
    publication.name: fer_pub
    topic.prefix: fer
    table.include.list: ${TABLES// /,}
    skipped.operations: none
    key.converter: org.apache.kafka.connect.json.JsonConverter
    key.converter.schemas.enable: false
    value.converter: org.apache.kafka.connect.json.JsonConverter
    value.converter.schemas.enable: false
YAML
ferry_start ferry "$WORK/ferry.yaml"

# has_marker TOPIC KEY: TOPIC holds a non-tombstone record with that key.
has_marker() { $COMPARE has-marker "$BROKER" "$1" "$2" 2>>"$WORK/compare.log"; }
# both_have KEY: every table's topic of both connectors holds a record with KEY.
both_have() {
    local t p
    for t in $TABLES; do
        for p in dbz fer; do has_marker "$p.$t" "$1" || return 1; done
    done
}
dbz_state() { curl -s "$CONNECT_URL/connectors/dbz/status"; }

# The snapshot is done on both sides when the last row of every table is there; both slots
# exist by then, so every change below is streamed by both.
wait_until 120 both_have '{"id": 2}' ||
    fail "the snapshots did not arrive (Debezium: $(dbz_state))"
log "both snapshots delivered"

pg_psql <<'SQL' >/dev/null
INSERT INTO types VALUES
    (10, 7, 70000, 7000000000, 99999999.99, 123456789012345678901234567890.123456789, 1e300, true,
     E'tab\there', 'x', '\xdeadbeef', '2099-12-31', '2099-12-31 23:59:59.999999', '2099-12-31 23:59:59.999999-08',
     'ffffffff-ffff-ffff-ffff-ffffffffffff', '{"nested": {"x": [true, null]}}', '[1, "two", 3.5]', '{-1,0,NULL}');
INSERT INTO types (id, c_text) VALUES (11, 'mostly null');
UPDATE types SET c_text = 'changed', c_num = 0.5, c_arr = '{}' WHERE id = 1;
UPDATE types SET id = 100 WHERE id = 2;
DELETE FROM types WHERE id = 3;
UPDATE full_t SET a = 'uno', n = 10 WHERE id = 1;
DELETE FROM full_t WHERE id = 2;
UPDATE full_t SET id = 30 WHERE id = 3;
UPDATE toast_t SET note = 'toast left unchanged' WHERE id = 1;
UPDATE toast_t SET big = repeat('changed', 2000) WHERE id = 2;
BEGIN;
INSERT INTO toast_t VALUES (3, 'in a transaction', repeat('z', 5000));
INSERT INTO full_t VALUES (4, 'in a transaction', 4);
COMMIT;
TRUNCATE full_t;
INSERT INTO full_t VALUES (40, 'after truncate', 40);
UPDATE fulltoast_t SET note = 'FULL: big unchanged, taken from before' WHERE id = 1;
INSERT INTO ri_t VALUES (3, 'three');
UPDATE ri_t SET v = 'uno' WHERE id = 1;
DELETE FROM ri_t WHERE id = 2;
INSERT INTO types (id) VALUES (999);
INSERT INTO full_t (id) VALUES (999);
INSERT INTO toast_t (id) VALUES (999);
INSERT INTO fulltoast_t (id) VALUES (999);
INSERT INTO ri_t (id) VALUES (999);
SQL
# Each table's last change is the row 999: once both connectors have delivered it
# everywhere, every change before it is there too (one partition per topic).
wait_until 120 both_have '{"id": 999}' ||
    fail "the stream did not arrive (Debezium: $(dbz_state))"
sleep 2 # anything a connector would still send after the marker, e.g. a late duplicate
log "both streams delivered"

# shellcheck disable=SC2086 # TABLES is a list of names
DEBEZIUM_COMPARE_DUMP=$WORK $COMPARE compare "$BROKER" dbz fer "$KNOWN" $TABLES >"$WORK/diffs.txt" 2>"$WORK/compare.log" || {
    cat "$WORK/diffs.txt" >&2
    log "the records compared are in $WORK/*.jsonl (KEEP_WORK=1 keeps them)"
    fail "the differences from Debezium are not those of $(basename "$KNOWN") (NEW: not listed there, GONE: listed but no longer seen)"
}
cat "$WORK/compare.log" >&2
ferry_stop "$FERRY_PID"
log "ok"
