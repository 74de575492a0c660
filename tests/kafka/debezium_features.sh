#!/usr/bin/env bash
# Debezium's options in ferry's postgres-cdc against Debezium 3.6.1.Final itself: both run
# with the same feature options (Debezium's names; ferry connects with Debezium's
# database.* options) on one PostgreSQL server into one Apache Kafka broker, and
# debezium_compare.py (features_main) compares keys, ops, row images and message blocks
# record by record:
#  - skipped.operations at its default (t: the truncate is skipped by both),
#  - table.include.list in another case than the tables' names,
#  - column.exclude.list, message.key.columns,
#  - publish.via.partition.root: a partitioned table through its root,
#  - logical decoding messages (op "m", transactional and not) on <prefix>.message,
#    with message.prefix.exclude.list.
source "$TESTLIB"
. "$FERRY_SOURCE_DIR/tests/lib/pg.sh"
. "$FERRY_SOURCE_DIR/tests/kafka/debezium_lib.sh"
PG_NO_TRAP=1 pg_start || fail "could not start PostgreSQL"
trap 'rc=$?; pg_stop; cleanup; exit $rc' EXIT

SUFFIXES="public.items public.meas message"
topics=()
for t in $SUFFIXES; do topics+=(--topic "dbz.$t" --topic "fer.$t"); done
broker_start "${topics[@]}"

pg_psql <<'SQL' >/dev/null
CREATE TABLE items (id int PRIMARY KEY, code text, secret text, n int);
INSERT INTO items VALUES (1, 'a', 's1', 1), (2, 'b', 's2', 2);
CREATE TABLE meas (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE meas_eu PARTITION OF meas FOR VALUES IN ('eu');
CREATE TABLE meas_us PARTITION OF meas FOR VALUES IN ('us');
INSERT INTO meas VALUES (1, 'eu', 1), (2, 'us', 2);
SQL

connect_start
dbz_connector dbz dbz "table.include.list=PUBLIC.ITEMS,public.meas" "column.exclude.list=public.items.secret" \
    "message.key.columns=public.items:code" "publish.via.partition.root=true" "message.prefix.exclude.list=skip.*"

ferry_worker_yaml "$WORK/ferry.yaml" fer_offsets
cat >>"$WORK/ferry.yaml" <<YAML
  fer:
    connector: postgres-cdc
    database.hostname: 127.0.0.1
    database.port: $PGPORT
    database.user: postgres
    database.dbname: postgres
    slot.name: fer_slot
    publication.name: fer_pub
    topic.prefix: fer
    heartbeat.interval: 0
    table.include.list: PUBLIC.ITEMS,public.meas
    column.exclude.list: public.items.secret
    message.key.columns: "public.items:code"
    publish.via.partition.root: true
    message.prefix.exclude.list: skip.*
    publication.autocreate.mode: filtered
    key.converter: org.apache.kafka.connect.json.JsonConverter
    key.converter.schemas.enable: false
    value.converter: org.apache.kafka.connect.json.JsonConverter
    value.converter.schemas.enable: false
YAML
ferry_start ferry "$WORK/ferry.yaml"

COMPARE="/usr/bin/python3 $FERRY_SOURCE_DIR/tests/kafka/debezium_compare.py"
has_marker() { $COMPARE has-marker "$BROKER" "$1" "$2" 2>>"$WORK/compare.log"; }
both_have() { # both_have SUFFIX KEY
    local p
    for p in dbz fer; do has_marker "$p.$1" "$2" || return 1; done
}
dbz_state() { curl -s "$CONNECT_URL/connectors/dbz/status"; }

wait_until 120 both_have public.items '{"code": "b"}' ||
    fail "the items snapshots did not arrive (Debezium: $(dbz_state))"
wait_until 60 both_have public.meas '{"id": 2, "region": "us"}' ||
    fail "the partitioned table's snapshots did not arrive on the root's topic (Debezium: $(dbz_state))"
log "both snapshots delivered"

pg_psql <<'SQL' >/dev/null
INSERT INTO items VALUES (3, 'c', 's3', 3);
UPDATE items SET n = 20, secret = 'changed' WHERE id = 2;
DELETE FROM items WHERE id = 1;
INSERT INTO meas VALUES (3, 'eu', 3), (4, 'us', 4);
UPDATE meas SET v = 30 WHERE id = 3;
BEGIN;
SELECT pg_logical_emit_message(true, 'audit', 'in a transaction');
INSERT INTO items VALUES (4, 'd', 's4', 4);
COMMIT;
SELECT pg_logical_emit_message(false, 'notice', 'outside');
SELECT pg_logical_emit_message(false, 'skip.me', 'excluded');
TRUNCATE items;
INSERT INTO items VALUES (999, 'end', 's', 0);
INSERT INTO meas VALUES (999, 'eu', 0);
SELECT pg_logical_emit_message(false, 'end', 'end');
SQL
wait_until 120 both_have public.items '{"code": "end"}' ||
    fail "the items stream did not arrive (Debezium: $(dbz_state))"
wait_until 60 both_have public.meas '{"id": 999, "region": "eu"}' ||
    fail "the partitioned table's stream did not arrive (Debezium: $(dbz_state))"
wait_until 60 both_have message '{"prefix": "end"}' || fail "the messages did not arrive (Debezium: $(dbz_state))"
sleep 2
log "both streams delivered"

# shellcheck disable=SC2086 # SUFFIXES is a list of names
DEBEZIUM_COMPARE_DUMP=$WORK PYTHONPATH=$FERRY_SOURCE_DIR/tests/kafka /usr/bin/python3 -c \
    'import sys, debezium_compare as c; c.features_main(*sys.argv[1:4], sys.argv[4:])' \
    "$BROKER" dbz fer $SUFFIXES >"$WORK/diffs.txt" 2>"$WORK/compare.log" || {
    cat "$WORK/diffs.txt" "$WORK/compare.log" >&2
    log "the records compared are in $WORK/*.jsonl (KEEP_WORK=1 keeps them)"
    fail "ferry's options do not do what Debezium's do (DIFF lines)"
}
cat "$WORK/diffs.txt" "$WORK/compare.log" >&2
ferry_stop "$FERRY_PID"
log "ok"
