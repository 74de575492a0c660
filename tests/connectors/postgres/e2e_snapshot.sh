#!/usr/bin/env bash
# postgres-cdc end to end, the initial snapshot through `ferry run`:
#  1. snapshot + concurrent writes: every row exactly once across snapshot
#     ('r') and stream ('c');
#  2. SIGTERM during a snapshot, restart: the snapshot resumes after the last
#     stored key and every row arrives exactly once (nothing changed meanwhile).
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic shop.public.t:8 --topic shop.public.big:8
pg_psql "CREATE TABLE public.t (id int PRIMARY KEY, v text)" \
    "INSERT INTO t SELECT g, 'old' FROM generate_series(1, 30000) g" \
    "CREATE TABLE public.big (id int PRIMARY KEY, v text)" \
    "INSERT INTO big SELECT g, 'big' FROM generate_series(1, 60000) g" >/dev/null

# ---- 1. snapshot + concurrent writes --------------------------------------------
pg_yaml run "    table.include.list: public.t
    snapshot.chunk.size: 50"
# Writes run before, during and after the snapshot: 100-row transactions
# until the stream has surely started.
(i=0; while [ ! -f "$WORK/stop-writer" ] && [ $i -lt 200 ]; do
    pg_psql "INSERT INTO t SELECT g, 'new' FROM generate_series($((30001 + i * 100)), $((30100 + i * 100))) g" >/dev/null
    i=$((i + 1)); echo $i >"$WORK/writer-count"; sleep 0.01
done) &
WRITER=$!
sleep 0.2
ferry_start run "$WORK/run.yaml"
wait_streaming run
sleep 0.5
touch "$WORK/stop-writer"
wait "$WRITER"
last=$((30000 + $(cat "$WORK/writer-count") * 100))
log "snapshot raced with $(( $(cat "$WORK/writer-count") )) write transactions"
wait_streaming run
count() { $CHECK dump "$BROKER" shop.public.t 2>/dev/null | wc -l; }
end=$((SECONDS + 60))
until [ "$(count)" -ge "$last" ]; do
    [ $SECONDS -lt $end ] || fail "rows missing after snapshot + stream ($(count) of $last)"
    sleep 1
done
sleep 1.5
ferry_stop "$FERRY_PID"
check_slot_invariant
dump t.tsv shop.public.t
check ids "$WORK/t.tsv" shop.public.t r,c 1 "$last" exact || fail "snapshot + concurrent writes not exactly once"

# ---- 2. SIGTERM during a snapshot, resume ---------------------------------------
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" "DROP PUBLICATION ferry_shop" >/dev/null
sed -i "s|table.include.list: public.t|table.include.list: public.big|; s|topic.prefix: shop|topic.prefix: shop|" \
    "$WORK/run.yaml"
# A new connector name: its offsets start empty, its slot is ferry_snap.
sed -i "s|^  shop:|  snap:|" "$WORK/run.yaml"
ferry_start resume "$WORK/run.yaml"
wait_until 60 grep -q "snapshot of 1 table" "$WORK/resume.log" || fail "the snapshot did not start"
ferry_stop "$FERRY_PID"
n=$(grep -c "snapshot complete" "$WORK/resume.log" || true)
ferry_start resume "$WORK/run.yaml"
wait_streaming resume
if [ "$n" = 0 ]; then
    grep -q "resuming an interrupted snapshot" "$WORK/resume.log" || fail "the interrupted snapshot did not resume"
else
    log "warning: the snapshot finished before SIGTERM; resume not exercised here (see pg_connector_snapshot)"
fi
end=$((SECONDS + 60))
until [ "$($CHECK dump "$BROKER" shop.public.big 2>/dev/null | wc -l)" -ge 60000 ]; do
    [ $SECONDS -lt $end ] || fail "rows missing after the resumed snapshot"
    sleep 1
done
sleep 1
ferry_stop "$FERRY_PID"
dump big.tsv shop.public.big
check ids "$WORK/big.tsv" shop.public.big r 1 60000 exact || fail "resumed snapshot lost or duplicated rows"
log "PASS"
