#!/usr/bin/env bash
# postgres-cdc under pg_harness: Debezium's options (issue 13, features).
#  1. A finished snapshot is recorded by its last record (defect 6): a restart
#     streams on and reads nothing again, also when the last table is empty
#     (its last record is still marked "last"); initial_only does nothing.
#  2. snapshot.mode=always streams from the new snapshot's point (defect 11):
#     a change made while the task was down is read by the snapshot only.
#  3. when_needed, no_data (and never, its alias).
#  4. snapshot.include.collection.list, snapshot.select.statement.overrides
#     (with the per-table key).
#  5. skipped.operations (default t), column.include/exclude.list,
#     message.key.columns, case-insensitive table.include.list.
#  6. publication.autocreate.mode (+ alias), slot.drop.on.stop,
#     replica.identity.autoset.values, heartbeat.action.query (+ .ms alias).
#  7. database.* options instead of conninfo; both or neither: clear errors.
#  8. publish.via.partition.root: a partitioned table's snapshot and changes
#     on the root's topic only (all_tables and filtered publications).
#  9. Logical decoding messages as op "m" events (message.prefix.*.list).
. "$(dirname "$0")/pg_test_lib.sh"

wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }
reset() {
    pg_psql "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" \
        "DROP PUBLICATION IF EXISTS ferry_shop" >/dev/null
    : >"$OFFSETS"
}
# count FILE EXPR: records (python expression over ev, topic, key) that match.
count() {
    /usr/bin/python3 - "$WORK/$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    topic, key, value = line.rstrip("\n").split("\t")[:3]
    ev = None if value == "\\N" else json.loads(value)
    key = None if key == "\\N" else json.loads(key)
    if eval("(" + sys.argv[2] + ")"):
        n += 1
print(n)
PY
}
expect() { # expect FILE EXPR N MESSAGE
    local got
    got=$(count "$1" "$2")
    [ "$got" = "$3" ] || fail "$4 (expected $3, got $got: $2)"
}

pg_psql "CREATE TABLE public.a1 (id int PRIMARY KEY, v text, secret text)" \
    "INSERT INTO a1 VALUES (1, 'one', 's1'), (2, 'two', 's2'), (3, 'three', 's3')" \
    "CREATE TABLE public.z_empty (id int PRIMARY KEY)" \
    "CREATE TABLE public.m_plain (a int)" "INSERT INTO m_plain VALUES (1), (2)" \
    "CREATE TABLE public.hb (ts timestamptz)" >/dev/null
ARGS=("${BASE_ARGS[@]}" "table.include.list=public.a1,public.z_empty")

# ---- 1. a finished snapshot is recorded (defect 6) -------------------------------
# The last table with rows has no key: a restart that resumed the snapshot
# would read it again.
ARGS1=("${BASE_ARGS[@]}" "table.include.list=public.a1,public.m_plain,public.z_empty")
harness_bg f1a.out "${ARGS1[@]}"
wait_until 30 grep -qs "streaming slot" "$WORK/f1a.out.err" || fail "1: the stream did not start"
harness_term
expect f1a.out 'ev["op"] == "r"' 5 "1: snapshot rows"
expect f1a.out 'ev["source"]["snapshot"] == "last" and topic == "shop.public.m_plain"' 1 \
    "1: the last record (before an empty table) is not marked last"
expect f1a.out 'ev["source"]["snapshot"] == "last"' 1 "1: one last record"
expect f1a.out 'ev["source"]["snapshot"] == "first" and ev["after"]["id"] == 1' 1 "1: first marker"
grep -q '"last_snapshot_record":true' "$OFFSETS" || fail "1: the finished snapshot is not in the offset: $(cat "$OFFSETS")"
harness_bg f1b.out "${ARGS1[@]}"
wait_until 30 grep -qs "streaming slot" "$WORK/f1b.out.err" || fail "1: the restart did not stream"
pg_psql "INSERT INTO a1 VALUES (4, 'four', 's4')" >/dev/null
wait_lines f1b.out 1 30 || fail "1: the streamed insert did not arrive"
harness_term
expect f1b.out 'ev["op"] == "r"' 0 "1: the restart read the snapshot again"
expect f1b.out 'ev["op"] == "c" and ev["after"]["id"] == 4' 1 "1: the insert after the restart"

reset
harness_bg f1c.out "${ARGS[@]}" snapshot.mode=initial_only
wait_until 30 grep -qs "snapshot complete" "$WORK/f1c.out.err" || fail "1: initial_only did not complete"
harness_term
expect f1c.out 'ev["op"] == "r"' 4 "1: initial_only rows"
harness_bg f1d.out "${ARGS[@]}" snapshot.mode=initial_only
wait_until 30 grep -qs "nothing to do" "$WORK/f1d.out.err" || fail "1: initial_only restart did not go idle"
harness_term
[ ! -s "$WORK/f1d.out" ] || fail "1: initial_only read the tables again after a finished snapshot"

# ---- 2. always streams from the new snapshot (defect 11) -----------------------------
reset
harness_bg f2a.out "${ARGS[@]}" snapshot.mode=always
wait_until 30 grep -qs "streaming slot" "$WORK/f2a.out.err" || fail "2: the stream did not start"
pg_psql "UPDATE a1 SET v = 'streamed' WHERE id = 1" >/dev/null
wait_until 30 grep -qs '"op":"u"' "$WORK/f2a.out" || fail "2: the update did not arrive"
harness_term
pg_psql "UPDATE a1 SET v = 'while down' WHERE id = 2" "INSERT INTO a1 VALUES (5, 'five', 's5')" >/dev/null
harness_bg f2b.out "${ARGS[@]}" snapshot.mode=always
wait_until 30 grep -qs "streaming slot" "$WORK/f2b.out.err" || fail "2: the restart did not stream"
pg_psql "INSERT INTO a1 VALUES (6, 'six', 's6')" >/dev/null
wait_until 30 grep -qs '"id":6' "$WORK/f2b.out" || fail "2: the insert after the restart did not arrive"
harness_term
expect f2b.out 'ev["op"] == "r"' 5 "2: always did not snapshot again"
expect f2b.out 'ev["op"] == "r" and ev["after"]["v"] == "while down"' 1 "2: the snapshot missed the change"
expect f2b.out 'ev["op"] in ("c", "u") and ev["after"]["id"] in (1, 2, 5)' 0 \
    "2: old changes replayed after the new snapshot"
expect f2b.out 'ev["op"] == "c" and ev["after"]["id"] == 6' 1 "2: the new insert"

# ---- 3. when_needed, no_data, never ---------------------------------------------------
reset
harness_bg f3a.out "${ARGS[@]}" snapshot.mode=no_data
wait_until 30 grep -qs "streaming slot" "$WORK/f3a.out.err" || fail "3: no_data did not stream"
harness_term
[ ! -s "$WORK/f3a.out" ] || fail "3: no_data read rows"
reset
harness_bg f3b.out "${ARGS[@]}" snapshot.mode=never
wait_until 30 grep -qs "streaming slot" "$WORK/f3b.out.err" || fail "3: never did not stream"
harness_term
[ ! -s "$WORK/f3b.out" ] || fail "3: never read rows"
reset
harness_bg f3c.out "${ARGS[@]}" snapshot.mode=when_needed
wait_until 30 grep -qs "streaming slot" "$WORK/f3c.out.err" || fail "3: when_needed did not stream"
pg_psql "INSERT INTO a1 VALUES (7, 'seven', 's7')" >/dev/null
wait_until 30 grep -qs '"id":7' "$WORK/f3c.out" || fail "3: when_needed: the insert did not arrive"
harness_term
expect f3c.out 'ev["op"] == "r"' 6 "3: when_needed first snapshot"
# The slot is gone: initial would fail, when_needed snapshots again.
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" >/dev/null
harness_bg f3d.out "${ARGS[@]}" snapshot.mode=when_needed
wait_until 30 grep -qs "streaming slot" "$WORK/f3d.out.err" || fail "3: when_needed did not recover"
harness_term
grep -q "taking a new snapshot" "$WORK/f3d.out.err" || fail "3: when_needed did not say why"
expect f3d.out 'ev["op"] == "r"' 7 "3: when_needed second snapshot"

# ---- 4. snapshot.include.collection.list, snapshot.select.statement.overrides ---------------
reset
harness_bg f4a.out "${BASE_ARGS[@]}" "table.include.list=public.a1,public.hb" snapshot.include.collection.list=public.hb
wait_until 30 grep -qs "streaming slot" "$WORK/f4a.out.err" || fail "4: the stream did not start"
pg_psql "INSERT INTO a1 VALUES (8, 'eight', 's8')" >/dev/null
wait_until 30 grep -qs '"id":8' "$WORK/f4a.out" || fail "4: a table left out of the snapshot is not streamed"
harness_term
expect f4a.out 'ev["op"] == "r"' 0 "4: snapshot.include.collection.list did not narrow the snapshot"
reset
OV=(snapshot.select.statement.overrides=public.a1
    "snapshot.select.statement.overrides.public.a1=SELECT id, v FROM public.a1 WHERE id % 2 = 0")
HARNESS_BATCH=1 harness_bg f4b.out "${ARGS[@]}" snapshot.chunk.size=1 "${OV[@]}"
wait_until 30 grep -qs "streaming slot" "$WORK/f4b.out.err" || fail "4: override: the stream did not start"
harness_term
expect f4b.out 'ev["op"] == "r"' 4 "4: the override statement's rows"
expect f4b.out 'ev["op"] == "r" and (ev["after"]["id"] % 2 or "secret" in ev["after"])' 0 "4: not the override's rows"
expect f4b.out 'ev["source"]["snapshot"] == "last" and ev["after"]["id"] == 8' 1 "4: the override's last row"
reset
rc=0
harness_run f4c.out "${ARGS[@]}" snapshot.select.statement.overrides=public.a1 || rc=$?
[ "$rc" != 0 ] && grep -q "snapshot.select.statement.overrides.public.a1 is not set" "$WORK/f4c.out.err" ||
    fail "4: a listed table without its statement was not refused (exit $rc)"

# ---- 5. skipped.operations, columns, keys, case ----------------------------------------------------
reset
harness_bg f5a.out "${BASE_ARGS[@]}" table.include.list=PUBLIC.A1 snapshot.mode=no_data column.exclude.list='public\.a1\.SECRET' \
    'message.key.columns=public.a1:v'
wait_until 30 grep -qs "streaming slot" "$WORK/f5a.out.err" || fail "5: the stream did not start"
pg_psql "INSERT INTO a1 VALUES (9, 'nine', 's9')" "TRUNCATE a1" "INSERT INTO a1 VALUES (10, 'ten', 's10')" >/dev/null
wait_until 30 grep -qs '"id":10' "$WORK/f5a.out" || fail "5: upper-case table.include.list did not capture public.a1"
harness_term
expect f5a.out 'ev and ev["op"] == "t"' 0 "5: a truncate was emitted under the default skipped.operations"
expect f5a.out 'ev and "secret" in ev["after"]' 0 "5: column.exclude.list"
expect f5a.out 'ev and ev["op"] == "c" and key == {"v": ev["after"]["v"]}' 2 "5: message.key.columns"
reset
harness_bg f5b.out "${ARGS[@]}" snapshot.mode=no_data skipped.operations=none column.include.list='public\.a1\.(id|v)'
wait_until 30 grep -qs "streaming slot" "$WORK/f5b.out.err" || fail "5: none: the stream did not start"
pg_psql "TRUNCATE a1" "INSERT INTO a1 VALUES (11, 'eleven', 's')" >/dev/null
wait_until 30 grep -qs '"id":11' "$WORK/f5b.out" || fail "5: none: the insert did not arrive"
harness_term
expect f5b.out 'ev and ev["op"] == "t"' 1 "5: skipped.operations=none skipped the truncate"
expect f5b.out 'ev and ev["op"] == "c" and sorted(ev["after"]) == ["id", "v"]' 1 "5: column.include.list"
reset
harness_bg f5c.out "${ARGS[@]}" snapshot.mode=no_data skipped.operations=c,d
wait_until 30 grep -qs "streaming slot" "$WORK/f5c.out.err" || fail "5: c,d: the stream did not start"
pg_psql "INSERT INTO a1 VALUES (12, 'x', 's')" "DELETE FROM a1 WHERE id = 12" "INSERT INTO a1 VALUES (13, 'x', 's')" \
    "UPDATE a1 SET v = 'y' WHERE id = 13" >/dev/null
wait_until 30 grep -qs '"op":"u"' "$WORK/f5c.out" || fail "5: c,d: the update did not arrive"
harness_term
expect f5c.out 'True' 1 "5: skipped.operations=c,d let inserts, deletes or tombstones through"

# ---- 6. publication, slot, replica identity, heartbeat action ----------------------------
hb_rows() { [ "$(pg_psql "SELECT count(*) >= 2 FROM hb")" = t ]; }
reset
harness_bg f6a.out "${ARGS[@]}" snapshot.mode=no_data
wait_until 30 grep -qs "streaming slot" "$WORK/f6a.out.err" || fail "6: the stream did not start"
harness_term
[ "$(pg_psql "SELECT puballtables FROM pg_publication WHERE pubname = 'ferry_shop'")" = t ] ||
    fail "6: the default publication.autocreate.mode is not all_tables"
for opt in publication.autocreate.mode publication.autocreate; do
    reset
    harness_bg f6b.out "${ARGS[@]}" snapshot.mode=no_data $opt=filtered slot.drop.on.stop=true \
        'replica.identity.autoset.values=public\.A1:FULL' heartbeat.interval=300ms heartbeat.interval.ms=300 \
        "heartbeat.action.query=INSERT INTO public.hb VALUES (now())"
    wait_until 30 grep -qs "streaming slot" "$WORK/f6b.out.err" || fail "6: $opt: the stream did not start"
    wait_until 30 hb_rows || fail "6: heartbeat.action.query did not run"
    harness_term
    [ "$(pg_psql "SELECT puballtables FROM pg_publication WHERE pubname = 'ferry_shop'")" = f ] ||
        fail "6: $opt=filtered did not create a filtered publication"
    [ "$(pg_psql "SELECT count(*) FROM pg_replication_slots")" = 0 ] || fail "6: slot.drop.on.stop kept the slot"
    [ "$(pg_psql "SELECT relreplident FROM pg_class WHERE relname = 'a1'")" = f ] ||
        fail "6: replica.identity.autoset.values did not set FULL"
    pg_psql "ALTER TABLE a1 REPLICA IDENTITY DEFAULT" "DELETE FROM hb" >/dev/null
done
rc=0
harness_run f6d.out "${ARGS[@]}" 'replica.identity.autoset.values=public.a1:HALF' || rc=$?
[ "$rc" != 0 ] && grep -q 'replica.identity.autoset.values: item "public.a1:HALF"' "$WORK/f6d.out.err" ||
    fail "6: a bad replica.identity.autoset.values item was not refused"
rc=0
harness_run f6c.out "${ARGS[@]}" publication.autocreate.mode=filtered publication.autocreate=disabled || rc=$?
[ "$rc" != 0 ] && grep -q "alias publication.autocreate" "$WORK/f6c.out.err" || fail "6: conflicting aliases not refused"

# ---- 7. database.* options -----------------------------------------------------------------
reset
DB=(topic.prefix=shop heartbeat.interval=0 status.update.interval=500ms table.include.list=public.a1
    database.hostname=127.0.0.1 "database.port=$PGPORT" database.user=postgres database.dbname=postgres
    database.sslmode=disable)
harness_bg f7a.out "${DB[@]}"
wait_until 30 grep -qs "streaming slot" "$WORK/f7a.out.err" || fail "7: database.* did not connect"
harness_term
expect f7a.out 'ev["op"] == "r"' "$(pg_psql "SELECT count(*) FROM a1")" "7: snapshot over database.*"
rc=0
harness_run f7b.out "${DB[@]}" conninfo="$PG_CONNINFO" || rc=$?
[ "$rc" != 0 ] && grep -q "not both" "$WORK/f7b.out.err" || fail "7: conninfo and database.* together not refused"
rc=0
harness_run f7c.out topic.prefix=shop || rc=$?
[ "$rc" != 0 ] && grep -q "no connection: set conninfo" "$WORK/f7c.out.err" || fail "7: no connection options not refused"

# ---- 8. partitioned tables through their root ----------------------------------------
pg_psql "CREATE TABLE public.meas (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region)" \
    "CREATE TABLE public.meas_eu PARTITION OF meas FOR VALUES IN ('eu')" \
    "CREATE TABLE public.meas_us PARTITION OF meas FOR VALUES IN ('us')" \
    "INSERT INTO meas VALUES (1, 'eu'), (2, 'us'), (3, 'eu')" >/dev/null
n=10
for mode in all_tables filtered; do
    reset
    harness_bg f8$mode.out "${BASE_ARGS[@]}" 'table.include.list=public\.meas.*' publish.via.partition.root=true \
        publication.autocreate.mode=$mode
    wait_until 30 grep -qs "streaming slot" "$WORK/f8$mode.out.err" || fail "8: $mode: the stream did not start"
    n=$((n + 1))
    pg_psql "INSERT INTO meas VALUES ($n, 'us')" >/dev/null
    wait_until 30 grep -qs "\"id\":$n" "$WORK/f8$mode.out" || fail "8: $mode: the insert into a partition did not arrive"
    harness_term
    [ "$(pg_psql "SELECT pubviaroot FROM pg_publication WHERE pubname = 'ferry_shop'")" = t ] ||
        fail "8: $mode: the publication does not publish via the root"
    expect f8$mode.out 'topic != "shop.public.meas"' 0 "8: $mode: events on a partition's topic"
    expect f8$mode.out 'ev["op"] == "r"' "$(pg_psql "SELECT count(*) - 1 FROM meas")" "8: $mode: the root's snapshot"
    expect f8$mode.out 'ev["op"] == "c" and ev["after"] == {"id": '$n', "region": "us"}' 1 "8: $mode: the insert"
done

# ---- 9. logical decoding messages --------------------------------------------------------
reset
harness_bg f9a.out "${ARGS[@]}" snapshot.mode=no_data heartbeat.interval=200ms
wait_until 30 grep -qs "streaming slot" "$WORK/f9a.out.err" || fail "9: the stream did not start"
pg_psql "BEGIN; SELECT pg_logical_emit_message(true, 'audit', 'hello'); INSERT INTO a1 VALUES (20, 'm', 's'); COMMIT" \
    "SELECT pg_logical_emit_message(false, 'other', 'x')" >/dev/null
wait_until 30 grep -qs '"prefix":"other"' "$WORK/f9a.out" || fail "9: the non-transactional message did not arrive"
harness_term
expect f9a.out 'topic == "shop.message"' 2 "9: messages"
expect f9a.out 'topic == "shop.message" and key == {"prefix": "audit"} and ev["op"] == "m" and
    ev["message"] == {"prefix": "audit", "content": "aGVsbG8="} and isinstance(ev["source"]["txId"], int) and
    ev["source"]["table"] == "" and "before" not in ev' 1 "9: the transactional message"
expect f9a.out 'topic == "shop.message" and key == {"prefix": "other"} and ev["source"]["txId"] is None' 1 \
    "9: the non-transactional message"
expect f9a.out 'ev and ev.get("message", {}).get("prefix") == "ferry_heartbeat"' 0 "9: a heartbeat as a message"
reset
harness_bg f9b.out "${ARGS[@]}" snapshot.mode=no_data message.prefix.exclude.list=OTH.*
wait_until 30 grep -qs "streaming slot" "$WORK/f9b.out.err" || fail "9: exclude: the stream did not start"
pg_psql "SELECT pg_logical_emit_message(false, 'other', 'x')" "SELECT pg_logical_emit_message(false, 'audit', 'y')" >/dev/null
wait_until 30 grep -qs '"prefix":"audit"' "$WORK/f9b.out" || fail "9: exclude: the audit message did not arrive"
harness_term
expect f9b.out 'key == {"prefix": "other"}' 0 "9: message.prefix.exclude.list"
log "PASS"
