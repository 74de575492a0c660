#!/usr/bin/env bash
# The Connect schemas of ferry's postgres-cdc against Debezium's PostgreSQL connector
# (3.6.1.Final, on a Kafka Connect worker): both capture the same tables into one Apache Kafka
# broker with JsonConverter and schemas.enable=true for keys and values, so each record is
# {"schema": ..., "payload": ...} as Debezium's. tests/kafka/debezium_schemas.py compares the
# key and value schemas field by field (types, optional, names, versions, parameters); the test
# passes when the differences are exactly the lines of tests/kafka/debezium_schemas.known.
# The payloads themselves are compared by kafka_debezium_conformance.
source "$TESTLIB"
. "$FERRY_SOURCE_DIR/tests/lib/pg.sh"
. "$FERRY_SOURCE_DIR/tests/kafka/debezium_lib.sh"
PG_NO_TRAP=1 pg_start || fail "could not start PostgreSQL"
trap 'rc=$?; pg_stop; cleanup; exit $rc' EXIT

TABLES="public.s_types public.s_nokey public.s_full public.s_more"
KNOWN=$FERRY_SOURCE_DIR/tests/kafka/debezium_schemas.known
SCHEMAS="/usr/bin/python3 $FERRY_SOURCE_DIR/tests/kafka/debezium_schemas.py"
topics=()
for t in $TABLES; do topics+=(--topic "dbzs.$t" --topic "fers.$t"); done
broker_start "${topics[@]}"

pg_psql <<'SQL' >/dev/null
CREATE TABLE s_types (
    id int, k2 text, c_int2 int2 NOT NULL DEFAULT 0, c_int4 int4, c_int8 int8, c_num numeric(10,2),
    c_numv numeric, c_float4 float4, c_float8 float8, c_bool bool, c_text text NOT NULL DEFAULT '',
    c_varchar varchar(20), c_char char(3), c_bytea bytea, c_date date, c_time time, c_time3 time(3),
    c_timetz timetz, c_ts timestamp, c_ts0 timestamp(0), c_ts3 timestamp(3), c_tstz timestamptz,
    c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb, c_xml xml, c_arr int[], c_tarr text[],
    c_money money, c_inet inet, c_bit bit(1), c_bits bit(8), PRIMARY KEY (id, k2));
CREATE TABLE s_nokey (a int, b text);
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE s_more (id serial PRIMARY KEY, c_enum mood, c_dom posint, c_point point, c_cidr cidr,
    c_mac macaddr, c_varbit varbit(5), c_varbitu varbit, c_range int4range, c_tsrange tsrange,
    c_numarr numeric(5,2)[], c_2d int[][], c_tsarr timestamp[], c_datearr date[],
    c_dvc varchar(10) NOT NULL DEFAULT 'x''y', c_dnum numeric(6,2) DEFAULT 1.5, c_dbool bool DEFAULT true,
    c_dneg int DEFAULT -1, c_dts timestamp DEFAULT now(), c_ddate date DEFAULT '2020-01-02',
    c_dfloat float8 DEFAULT 2.5, c_dtext text DEFAULT 'plain');
CREATE TABLE s_full (id bigint PRIMARY KEY, a text);
ALTER TABLE s_full REPLICA IDENTITY FULL;
INSERT INTO s_types (id, k2, c_int4, c_num, c_text) VALUES (1, 'a', 1, 1.5, 'one');
INSERT INTO s_nokey VALUES (1, 'one');
INSERT INTO s_full VALUES (1, 'one');
INSERT INTO s_more (c_enum, c_dom, c_point, c_cidr, c_mac, c_varbit, c_varbitu, c_range, c_tsrange, c_numarr,
    c_2d, c_tsarr, c_datearr) VALUES ('ok', 5, '(1.5,2.5)', '10.0.0.0/8', '08:00:2b:01:02:03', B'101', B'1',
    '[1,5)', '[2024-01-01,2024-02-01)', '{1.5,NULL}', '{{1,2},{3,4}}', '{2024-01-02 03:04:05}', '{2024-01-02}');
SQL

connect_start
dbz_connector dbzs dbzs table.include.list="${TABLES// /,}" skipped.operations=none key.converter.schemas.enable=true value.converter.schemas.enable=true

ferry_worker_yaml "$WORK/ferry.yaml"
cat >>"$WORK/ferry.yaml" <<YAML
  fers:
    connector: postgres-cdc
    conninfo: "$PG_CONNINFO"
    slot.name: fers_slot
    publication.name: fers_pub
    topic.prefix: fers
    table.include.list: ${TABLES// /,}
    skipped.operations: none
    key.converter: org.apache.kafka.connect.json.JsonConverter
    key.converter.schemas.enable: true
    value.converter: org.apache.kafka.connect.json.JsonConverter
    value.converter.schemas.enable: true
YAML
ferry_start ferry "$WORK/ferry.yaml"

# count_at_least TOPIC N: TOPIC holds at least N records.
count_at_least() { [ "$(topic_count "$1")" -ge "$2" ]; }
both_have() { # N: every table's topic of both connectors holds N records
    local t p
    for t in $TABLES; do
        for p in dbzs fers; do count_at_least "$p.$t" "$1" || return 1; done
    done
}
wait_until 120 both_have 1 || fail "the snapshots did not arrive (Debezium: $(curl -s "$CONNECT_URL/connectors/dbzs/status"))"

pg_psql <<'SQL' >/dev/null
INSERT INTO s_types VALUES (2, 'b', -1, 2, 3, 4.25, 5.5, 6.5, 7.5, true, 'two', 'vc', 'abc', '\x01', '2024-01-02',
    '01:02:03.456789', '01:02:03.456', '01:02:03+02', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05',
    '2024-01-02 03:04:05.123', '2024-01-02 03:04:05+00', '1 day 2 hours', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '{"a": 1}', '{"b": 2}', '<x/>', '{1,2}', '{a,b}', 12.34, '10.0.0.1', B'1', B'10101010');
UPDATE s_types SET c_text = 'changed' WHERE id = 2;
DELETE FROM s_types WHERE id = 1;
INSERT INTO s_nokey VALUES (2, 'two');
UPDATE s_full SET a = 'uno' WHERE id = 1;
DELETE FROM s_full WHERE id = 1;
TRUNCATE s_nokey;
SQL
# s_types: 1 snapshot + insert, update, delete, tombstone; s_nokey: 2 + truncate; s_full: 1 + update,
# delete, tombstone; s_more: 1.
done_all() {
    local p
    for p in dbzs fers; do
        count_at_least "$p.public.s_types" 5 && count_at_least "$p.public.s_nokey" 3 &&
            count_at_least "$p.public.s_full" 4 || return 1
    done
}
wait_until 120 done_all || fail "the stream did not arrive"
sleep 2

# shellcheck disable=SC2086 # TABLES is a list of names
DEBEZIUM_COMPARE_DUMP=$WORK $SCHEMAS compare "$BROKER" dbzs fers "$KNOWN" $TABLES >"$WORK/diffs.txt" 2>"$WORK/compare.log" || {
    cat "$WORK/diffs.txt" >&2
    cat "$WORK/compare.log" >&2
    log "the records compared are in $WORK/schemas-*.jsonl (KEEP_WORK=1 keeps them)"
    fail "the schema differences from Debezium are not those of $(basename "$KNOWN")"
}
cat "$WORK/compare.log" >&2
ferry_stop "$FERRY_PID"
log "ok"
