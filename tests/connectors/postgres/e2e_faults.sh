#!/usr/bin/env bash
# postgres-cdc end to end, faults through `ferry run`:
#  1. PostgreSQL restarts mid-stream: the task reconnects and every row
#     arrives exactly once;
#  2. the slot is dropped while the worker is down: a clear error, no data
#     skipped silently;
#  3. a bad password: a clear error, and the password is never logged.
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic shop.public.t:4
pg_psql "CREATE TABLE public.t (id int PRIMARY KEY, v text)" >/dev/null
pg_yaml run "    table.include.list: public.t"

count_ids() {
    $CHECK dump "$BROKER" shop.public.t 2>/dev/null | wc -l
}

# ---- 1. PostgreSQL restart mid-stream ----------------------------------------
ferry_start run "$WORK/run.yaml"
wait_streaming run
(for i in $(seq 0 39); do
    until pg_psql "INSERT INTO t SELECT g, 'r' FROM generate_series($((i * 100 + 1)), $((i * 100 + 100))) g" \
        >/dev/null 2>&1; do sleep 0.5; done
    sleep 0.05
done) &
WRITER=$!
sleep 0.5
pg_restart || fail "pg_restart"
wait "$WRITER"
end=$((SECONDS + 90))
until [ "$(count_ids)" -ge 4000 ]; do
    [ $SECONDS -lt $end ] || fail "rows missing after the PostgreSQL restart ($(count_ids) of 4000)"
    sleep 1
done
grep -q "will reconnect" "$WORK/run.log" || fail "the restart was not noticed"
sleep 1.5
ferry_stop "$FERRY_PID"
check_slot_invariant
dump restart.tsv shop.public.t
check ids "$WORK/restart.tsv" shop.public.t c 1 4000 exact || fail "rows lost or duplicated across a PostgreSQL restart"

# ---- 2. slot dropped while the worker is down ---------------------------------------
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" >/dev/null
ferry_start dropped "$WORK/run.yaml"
wait_until 60 grep -q 'replication slot "ferry_shop" does not exist' "$WORK/dropped.log" ||
    fail "no clear error for a dropped slot"
log "$(grep -o 'replication slot "ferry_shop" does not exist.*' "$WORK/dropped.log" | head -n 1 | cut -c1-160)"
[ "$(pg_psql "SELECT count(*) FROM pg_replication_slots")" = 0 ] || fail "a new slot was created silently"
kill -TERM "$FERRY_PID"; wait "$FERRY_PID" 2>/dev/null || true

# ---- 3. bad password -------------------------------------------------------------
pg_yaml badpw "    table.include.list: public.t"
sed -i "s|conninfo: .*|conninfo: \"${PG_PW_CONNINFO/password=$PG_PW_PASSWORD/password=not-the-password}\"|" "$WORK/badpw.yaml"
sed -i "s|topic.prefix: shop|topic.prefix: other|" "$WORK/badpw.yaml"
ferry_start badpw "$WORK/badpw.yaml"
wait_until 60 grep -q "password authentication failed" "$WORK/badpw.log" || fail "no clear error for a bad password"
kill -TERM "$FERRY_PID"; wait "$FERRY_PID" 2>/dev/null || true
grep -q "not-the-password" "$WORK/badpw.log" && fail "the password appears in the log"
log "PASS"
