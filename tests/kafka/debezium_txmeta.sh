#!/usr/bin/env bash
# Transaction metadata (provide.transaction.metadata=true) of ferry's postgres-cdc against
# Debezium's PostgreSQL connector 3.6.1.Final: both capture the same tables of one
# PostgreSQL server into one Apache Kafka broker (dbz.* and fer.*, JsonConverter without
# schemas). After a snapshot, a few multi-table transactions (inserts, updates, a delete
# with its tombstone, a primary-key change, a truncate, one with a replication origin) and
# single-statement ones.
# `debezium_compare.py compare-tx` compares the two transaction topics record by record
# (status, id, event_count, data_collections, ts_ms on type), the headers of every record,
# every data event's "transaction" block {id, total_order, data_collection_order} and its
# source.origin/origin_lsn, and checks on each side that END counts exactly the events of its
# transaction. The test passes when there is no difference at all.
source "$TESTLIB"
. "$FERRY_SOURCE_DIR/tests/lib/pg.sh"
. "$FERRY_SOURCE_DIR/tests/kafka/debezium_lib.sh"
PG_NO_TRAP=1 pg_start || fail "could not start PostgreSQL"
trap 'rc=$?; pg_stop; cleanup; exit $rc' EXIT

TABLES="public.a public.b public.c"
COMPARE="/usr/bin/python3 $FERRY_SOURCE_DIR/tests/kafka/debezium_compare.py"
topics=(--topic dbz.transaction --topic fer.transaction)
for t in $TABLES; do topics+=(--topic "dbz.$t" --topic "fer.$t"); done
broker_start "${topics[@]}"

pg_psql <<'SQL' >/dev/null
CREATE TABLE a (id int PRIMARY KEY, v text);
CREATE TABLE b (id int PRIMARY KEY, n int);
CREATE TABLE c (id int PRIMARY KEY, note text);
INSERT INTO a VALUES (1, 'snap'), (2, 'snap');
INSERT INTO b VALUES (1, 1);
INSERT INTO c VALUES (1, 'snap');
SQL

connect_start
dbz_connector dbz dbz table.include.list="${TABLES// /,}" skipped.operations=none provide.transaction.metadata=true

ferry_worker_yaml "$WORK/ferry.yaml"
cat >>"$WORK/ferry.yaml" <<YAML
  fer:
    connector: postgres-cdc
    conninfo: "$PG_CONNINFO"
    slot.name: fer_slot
    publication.name: fer_pub
    topic.prefix: fer
    table.include.list: ${TABLES// /,}
    skipped.operations: none
    publication.autocreate.mode: filtered
    provide.transaction.metadata: true
    key.converter: org.apache.kafka.connect.json.JsonConverter
    key.converter.schemas.enable: false
    value.converter: org.apache.kafka.connect.json.JsonConverter
    value.converter.schemas.enable: false
YAML
ferry_start ferry "$WORK/ferry.yaml"

has_marker() { $COMPARE has-marker "$BROKER" "$1" "$2" 2>>"$WORK/compare.log"; }
both_have() {
    local t p
    for t in $TABLES; do
        for p in dbz fer; do has_marker "$p.$t" "$1" || return 1; done
    done
}
dbz_state() { curl -s "$CONNECT_URL/connectors/dbz/status"; }
wait_until 120 both_have '{"id": 1}' || fail "the snapshots did not arrive (Debezium: $(dbz_state))"
log "both snapshots delivered"

pg_psql <<'SQL' >/dev/null
BEGIN;
INSERT INTO a VALUES (10, 'tx1');
INSERT INTO b VALUES (10, 10);
INSERT INTO a VALUES (11, 'tx1');
UPDATE b SET n = 11 WHERE id = 10;
INSERT INTO c VALUES (10, 'tx1');
COMMIT;
INSERT INTO a VALUES (20, 'alone');
BEGIN;
DELETE FROM a WHERE id = 1;
UPDATE b SET id = 2 WHERE id = 1;
UPDATE a SET v = 'tx3' WHERE id = 2;
COMMIT;
BEGIN;
TRUNCATE c;
INSERT INTO c VALUES (30, 'after truncate');
INSERT INTO b SELECT g, g FROM generate_series(100, 149) g;
COMMIT;
UPDATE b SET n = 0 WHERE id >= 100 AND id < 110;
-- A transaction replayed from another node: its replication origin (source.origin, origin_lsn).
SELECT pg_replication_origin_create('node_a');
SELECT pg_replication_origin_session_setup('node_a');
BEGIN;
SELECT pg_replication_origin_xact_setup('0/ABCDEF', now());
INSERT INTO a VALUES (40, 'replayed');
INSERT INTO c VALUES (40, 'replayed');
COMMIT;
SELECT pg_replication_origin_session_reset();
BEGIN;
INSERT INTO a VALUES (999, 'marker');
INSERT INTO b VALUES (999, 999);
INSERT INTO c VALUES (999, 'marker');
COMMIT;
SQL
wait_until 120 both_have '{"id": 999}' || fail "the stream did not arrive (Debezium: $(dbz_state))"
sleep 3 # the last END follows the last data events
log "both streams delivered"

# shellcheck disable=SC2086 # TABLES is a list of names
DEBEZIUM_COMPARE_DUMP=$WORK $COMPARE compare-tx "$BROKER" dbz fer $TABLES >"$WORK/diffs.txt" 2>"$WORK/compare.log" || {
    cat "$WORK/diffs.txt" >&2
    log "the records compared are in $WORK/*.jsonl (KEEP_WORK=1 keeps them)"
    fail "transaction metadata differs from Debezium's"
}
cat "$WORK/compare.log" >&2
# The origin comparison above is not vacuous: the replayed rows name their origin.
/usr/bin/python3 - "$WORK" <<'PY' || fail "the replayed transaction's rows do not carry origin node_a, origin_lsn 0/ABCDEF"
import json, sys
for p in ("dbz", "fer"):
    rows = [json.loads(l)[1] for l in open("%s/%s.public.a.jsonl" % (sys.argv[1], p))]
    src = [v["source"] for v in rows if v and v["after"] and v["after"]["id"] == 40]
    assert len(src) == 1 and src[0]["origin"] == "node_a" and src[0]["origin_lsn"] == 0xABCDEF, (p, src)
    assert all(v["source"]["origin"] is None for v in rows if v and (v["after"] or {}).get("id") != 40), p
PY
ferry_stop "$FERRY_PID"
log "ok"
