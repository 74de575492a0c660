#!/usr/bin/env bash
# postgres-cdc under pg_harness: a heartbeat message and the transaction
# that commits right after it can share one LSN. The heartbeat must not use
# up an event index of that position: every row of the transaction arrives,
# in-process and after a restart from the heartbeat's stored offset.
. "$(dirname "$0")/pg_test_lib.sh"
wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }

pg_psql "CREATE TABLE public.hb (id int PRIMARY KEY, v text)" >/dev/null
ARGS=("${BASE_ARGS[@]}" table.include.list=public.hb snapshot.mode=never)
harness_bg run1.out "${ARGS[@]}"
wait_until 30 grep -qs "streaming slot" "$WORK/run1.out.err" || fail "stream did not start"
pg_psql "INSERT INTO hb VALUES (0, 'before')" >/dev/null
# The heartbeat's record ends where the commit record of the same
# transaction begins: both report the same LSN.
pg_psql "BEGIN; INSERT INTO hb VALUES (1, 'x'); INSERT INTO hb VALUES (2, 'y');
         SELECT pg_logical_emit_message(false, 'ferry_heartbeat', ''); COMMIT;" >/dev/null
pg_psql "INSERT INTO hb VALUES (3, 'after')" >/dev/null
wait_lines run1.out 5 30 || fail "expected 4 row events and a heartbeat, got: $(cat "$WORK/run1.out")"
sleep 1.5 # a status update carries the committed position
harness_term
check ids "$WORK/run1.out" shop.public.hb c 0 3 exact || fail "a row next to a heartbeat was lost or duplicated"

# Restart from a stored heartbeat offset: the next transaction is whole.
pg_psql "SELECT pg_logical_emit_message(false, 'ferry_heartbeat', '')" >/dev/null
harness_bg run2.out "${ARGS[@]}"
wait_until 30 grep -qs "__debezium-heartbeat" "$WORK/run2.out" || fail "heartbeat not seen after restart"
sleep 1.5
harness_term
grep -q '"lsn_commit"' "$OFFSETS" || fail "no stored offset"
pg_psql "BEGIN; INSERT INTO hb VALUES (4, 'x'); INSERT INTO hb VALUES (5, 'y');
         SELECT pg_logical_emit_message(false, 'ferry_heartbeat', ''); COMMIT;" >/dev/null
harness_bg run3.out "${ARGS[@]}"
wait_until 30 bash -c "grep -c 'shop.public.hb' '$WORK/run3.out' | grep -qx 2" || fail "rows 4 and 5 not both delivered after restart: $(cat "$WORK/run3.out")"
harness_term
check ids "$WORK/run3.out" shop.public.hb c 4 5 exact || fail "restart from a heartbeat offset lost or duplicated rows"
log "PASS"
