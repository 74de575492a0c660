#!/usr/bin/env bash
# postgres-cdc end to end through `ferry run` (the worker's offset store):
#  1. A finished snapshot is stored by its last record (defect 6 of issue 13):
#     a restart streams on and reads no table again (the last table has no
#     key, so a resumed snapshot would read it again), and the slot moves to
#     the snapshot's point once the snapshot is durable.
#  2. snapshot.mode=initial_only: a restart after the snapshot does nothing.
#  3. snapshot.mode=always (defect 11): a change made while ferry was down
#     arrives once, from the new snapshot, not again from the old WAL; the
#     slot never confirms past the stored offset.
#  4. slot.drop.on.stop: the worker's graceful stop drops the slot.
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic shop.public.a:1 --topic shop.public.plain:1
pg_psql "CREATE TABLE public.a (id int PRIMARY KEY, v text)" "INSERT INTO a SELECT g, 'a' FROM generate_series(1, 20) g" \
    "CREATE TABLE public.plain (x int)" "INSERT INTO plain SELECT g FROM generate_series(1, 30) g" >/dev/null
records() { $CHECK dump "$BROKER" shop.public.a shop.public.plain 2>/dev/null | wc -l; }
ops() { # ops OP: records with that op
    $CHECK dump "$BROKER" shop.public.a shop.public.plain 2>/dev/null | grep -c "\"op\":\"$1\"" || true
}
wait_records() {
    local end=$((SECONDS + 60))
    until [ "$(records)" -ge "$1" ]; do
        [ $SECONDS -lt $end ] || fail "$2 ($(records) of $1 records)"
        sleep 0.5
    done
}

# ---- 1. a finished snapshot is stored ---------------------------------------------------
pg_yaml run "    table.include.list: public.a,public.plain"
ferry_start run "$WORK/run.yaml"
wait_streaming run
wait_records 50 "the snapshot did not arrive"
sleep 1.5 # offsets flush every 500 ms
ferry_stop "$FERRY_PID"
check_slot_invariant
[ "$(slot_confirmed)" -gt 0 ] && [ "$(slot_confirmed)" = "$(stored_lsn_commit)" ] ||
    fail "1: the slot did not move to the finished snapshot's point ($(slot_confirmed) vs $(stored_lsn_commit))"
ferry_start run2 "$WORK/run.yaml"
wait_streaming run2
! grep -q "resuming an interrupted snapshot" "$WORK/run2.log" || fail "1: the restart resumed a finished snapshot"
pg_psql "INSERT INTO a VALUES (100, 'new')" >/dev/null
wait_records 51 "1: the insert after the restart did not arrive"
sleep 1
ferry_stop "$FERRY_PID"
[ "$(ops r)" = 50 ] || fail "1: the restart read tables again ($(ops r) snapshot records)"
check_slot_invariant

# ---- 2. initial_only ------------------------------------------------------------------
sed -i "s|^  shop:|  once:|; s|topic.prefix: shop|topic.prefix: once|" "$WORK/run.yaml"
echo "    snapshot.mode: initial_only" >>"$WORK/run.yaml"
ferry_start once "$WORK/run.yaml"
wait_until 60 grep -q "snapshot complete" "$WORK/once.log" || fail "2: the initial_only snapshot did not complete"
sleep 1.5
ferry_stop "$FERRY_PID"
ferry_start once2 "$WORK/run.yaml"
wait_until 60 grep -q "nothing to do" "$WORK/once2.log" || fail "2: initial_only read the tables again after a finished snapshot"
ferry_stop "$FERRY_PID"
! grep -q "snapshot of" "$WORK/once2.log" || fail "2: initial_only began a snapshot again"

# ---- 3. always ---------------------------------------------------------------------------
pg_yaml always "    table.include.list: public.a,public.plain
    snapshot.mode: always"
pg_psql "UPDATE a SET v = 'while down' WHERE id = 1" >/dev/null
before_r=$(ops r)
ferry_start always "$WORK/always.yaml"
wait_streaming always
pg_psql "INSERT INTO a VALUES (101, 'after')" >/dev/null
wait_until 60 grep -q "snapshot.mode=always" "$WORK/always.log" || fail "3: no new snapshot"
end=$((SECONDS + 60))
until $CHECK dump "$BROKER" shop.public.a 2>/dev/null | grep -q '"id":101'; do
    [ $SECONDS -lt $end ] || fail "3: the insert after the new snapshot did not arrive"
    sleep 0.5
done
sleep 1.5
ferry_stop "$FERRY_PID"
check_slot_invariant
dump all.tsv shop.public.a
/usr/bin/python3 - "$WORK/all.tsv" <<'PY' || fail "3: old changes replayed after the new snapshot"
import json, sys
evs = [json.loads(l.split("\t")[2]) for l in open(sys.argv[1]) if l.split("\t")[2] != "\\N"]
# Everything after the second snapshot's first record: no change to rows it read.
starts = [i for i, e in enumerate(evs) if e["op"] == "r" and e["source"]["snapshot"] == "first"]
assert len(starts) == 2, starts
later = evs[starts[1]:]
assert sum(1 for e in later if e["op"] == "r" and e["after"]["v"] == "while down") == 1, "snapshot missed the change"
stale = [e for e in later if e["op"] in ("c", "u") and e["after"]["id"] != 101]
assert not stale, stale[:2]
print("always: no replay")
PY
[ "$(ops r)" -gt "$before_r" ] || fail "3: always did not snapshot again"

# ---- 4. slot.drop.on.stop ------------------------------------------------------------------
# A connector of its own (no offsets yet); its second start goes on from a new
# slot, as Debezium's does.
pg_yaml drop "    table.include.list: public.a
    snapshot.mode: no_data
    slot.name: ferry_drop
    slot.drop.on.stop: true"
sed -i "s|^  shop:|  dropper:|; s|topic.prefix: shop|topic.prefix: shop|" "$WORK/drop.yaml"
slots() { pg_psql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'ferry_drop'"; }
for run in drop drop2; do
    ferry_start $run "$WORK/drop.yaml"
    wait_streaming $run
    [ "$(slots)" = 1 ] || fail "4: $run: no slot"
    pg_psql "INSERT INTO a VALUES (20$((${#run})), '$run')" >/dev/null
    wait_until 60 eval "\$CHECK dump \"\$BROKER\" shop.public.a 2>/dev/null | grep -q '\"v\":\"$run\"'" ||
        fail "4: $run: the insert did not arrive"
    sleep 1.5
    ferry_stop "$FERRY_PID"
    grep -q "dropped replication slot ferry_drop" "$WORK/$run.log" || fail "4: $run: the stop did not drop the slot"
    [ "$(slots)" = 0 ] || fail "4: $run: the slot is still there"
done
grep -q "slot.drop.on.stop: slot ferry_drop was dropped at the last stop" "$WORK/drop2.log" ||
    fail "4: the second start did not say it goes on from a new slot"
log "PASS"
