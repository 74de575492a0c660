#!/usr/bin/env bash
# postgres-cdc end to end, crashes and restarts through `ferry run`:
#  1. kill -9 during a 100k-row stream, restart: no row lost, duplicates
#     bounded by what an offset flush interval can hold;
#  2. SIGTERM mid-stream, restart: every row exactly once;
#  3. throughout, the slot's confirmed_flush_lsn never passes lsn_commit of
#     the newest offset in ferry-offsets (checked while running and after).
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic shop.public.t:24
pg_psql "CREATE TABLE public.t (id int PRIMARY KEY, v text)" >/dev/null
pg_yaml run "    table.include.list: public.t"

# ---- 1. kill -9 during a 100k-row stream ----------------------------------------
ferry_start run "$WORK/run.yaml"
wait_streaming run
writer 1 200 500 &
WRITER=$!
sleep 0.5
check_slot_invariant
kill -9 "$FERRY_PID"
wait "$FERRY_PID" 2>/dev/null || true
log "killed -9 at $(distinct_ids) distinct rows in the topic"
check_slot_invariant
ferry_start run "$WORK/run.yaml"
wait "$WRITER" || fail "writer failed"
check_slot_invariant
end=$((SECONDS + 120))
until [ "$(distinct_ids)" -ge 100000 ]; do
    [ $SECONDS -lt $end ] || fail "not every row arrived after the restart"
    sleep 2
done
sleep 1.5
check_slot_invariant
dump crash.tsv shop.public.t
check ids "$WORK/crash.tsv" shop.public.t c 1 100000 atleast || fail "rows lost after kill -9"
dups=$(( $(wc -l <"$WORK/crash.tsv") - 100000 ))
log "kill -9: $dups duplicates"
# Generous bound: everything produced but not yet in a durable offset when
# the process died (one 500 ms flush interval plus batches in flight).
[ "$dups" -le 50000 ] || fail "$dups duplicates after kill -9: more than a flush interval can explain"

# ---- 2. SIGTERM mid-stream: no duplicates -------------------------------------------
writer 200001 60 500 &
WRITER=$!
sleep 0.3
ferry_stop "$FERRY_PID"
check_slot_invariant
ferry_start run "$WORK/run.yaml"
wait "$WRITER" || fail "writer failed"
end=$((SECONDS + 120))
until [ "$(distinct_ids)" -ge 130000 ]; do
    [ $SECONDS -lt $end ] || fail "not every row arrived after the SIGTERM restart"
    sleep 2
done
sleep 1.5
ferry_stop "$FERRY_PID"
check_slot_invariant
dump all.tsv shop.public.t
check ids "$WORK/all.tsv" shop.public.t c 200001 230000 exact_in || fail "SIGTERM restart lost or duplicated rows"
log "PASS"
