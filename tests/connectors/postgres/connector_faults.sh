#!/usr/bin/env bash
# postgres-cdc under pg_harness: faults and privileges.
#  1. Bad password, connection refused: one clear error each.
#  2. Least privilege: REPLICATION LOGIN + SELECT with an existing
#     publication works (snapshot and stream); without SELECT, or without a
#     publication it may not create, a clear error.
#  3. PostgreSQL restart mid-stream: reconnects, every row exactly once.
#  4. Heartbeats advance the slot on a quiet database.
#  5. Slot dropped; slot confirmed beyond the stored offset; wal_level not
#     logical: clear errors, nothing skipped silently.
. "$(dirname "$0")/pg_test_lib.sh"
wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }
expect_error() { # NAME PATTERN: the run NAME failed with exit 2 and PATTERN in its error
    grep -q "FAILED:.*$2" "$WORK/$1.err" || fail "$1: expected an error matching '$2', got: $(tail -n 3 "$WORK/$1.err")"
    log "$1: $(grep -o 'FAILED:.*' "$WORK/$1.err" | head -n 1 | cut -c1-200)"
}

pg_psql "CREATE TABLE public.t (id int PRIMARY KEY, v text)" \
    "INSERT INTO t SELECT g, 'v' FROM generate_series(1, 100) g" \
    "CREATE TABLE public.secret (id int PRIMARY KEY)" >/dev/null

# ---- 1. bad password, connection refused -------------------------------------
rc=0
HARNESS_RETRY_LIMIT=3 harness_run bad_pw.out conninfo="${PG_PW_CONNINFO/password=$PG_PW_PASSWORD/password=wrong}" \
    topic.prefix=shop || rc=$?
[ "$rc" = 2 ] || fail "bad password: exit $rc"
expect_error bad_pw.out "password authentication failed"
grep -q "wrong" "$WORK/bad_pw.out.err" && fail "the password appears in the log"
rc=0
HARNESS_RETRY_LIMIT=3 harness_run refused.out conninfo="host=127.0.0.1 port=1 user=postgres dbname=postgres" \
    topic.prefix=shop || rc=$?
[ "$rc" = 2 ] || fail "connection refused: exit $rc"
expect_error refused.out "Connection refused"

# ---- 2. least privilege --------------------------------------------------------
LP_ARGS=(conninfo="$PG_PW_CONNINFO" topic.prefix=shop table.include.list=public.t heartbeat.interval=1s
    status.update.interval=500ms)
rc=0
HARNESS_RETRY_LIMIT=3 harness_run nopub.out "${LP_ARGS[@]}" || rc=$?
[ "$rc" = 2 ] || fail "no publication, no right to create it: exit $rc"
expect_error nopub.out "creating publication.*permission denied"
pg_psql "CREATE PUBLICATION ferry_shop FOR TABLE t, secret" >/dev/null
rc=0
HARNESS_RETRY_LIMIT=3 harness_run noselect.out "${LP_ARGS[@]}" || rc=$?
[ "$rc" = 2 ] || fail "no SELECT: exit $rc"
expect_error noselect.out "permission denied for table t"
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" "GRANT SELECT ON t TO $PG_PW_USER" >/dev/null
: >"$OFFSETS"
harness_bg lp.out "${LP_ARGS[@]}"
wait_until 30 grep -qs "streaming slot" "$WORK/lp.out.err" || fail "least privilege: stream did not start"
pg_psql "INSERT INTO t SELECT g, 'lp' FROM generate_series(101, 200) g" >/dev/null
wait_lines lp.out 200 30 || fail "least privilege: stream incomplete"
sleep 2 # a heartbeat attempt (not permitted for this role: logged, not fatal)
harness_term
check ids "$WORK/lp.out" shop.public.t r,c 1 200 exact || fail "least privilege run lost or duplicated rows"
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" "DROP PUBLICATION ferry_shop" >/dev/null
: >"$OFFSETS"

# ---- 3. PostgreSQL restart mid-stream -----------------------------------------
ARGS=("${BASE_ARGS[@]}" table.include.list=public.t)
harness_bg restart.out "${ARGS[@]}"
wait_lines restart.out 100 30 || fail "snapshot did not arrive"
(for i in $(seq 0 29); do
    pg_psql "INSERT INTO t SELECT g, 'r' FROM generate_series(1001 + $i * 100, 1100 + $i * 100) g" >/dev/null 2>&1 ||
        { sleep 1; pg_psql "INSERT INTO t SELECT g, 'r' FROM generate_series(1001 + $i * 100, 1100 + $i * 100) g" >/dev/null; }
done) &
INSERTER=$!
sleep 0.3
pg_restart || fail "pg_restart"
wait "$INSERTER" || fail "inserts failed"
wait_lines restart.out 3100 60 || fail "stream after the restart incomplete"
grep -q "will reconnect" "$WORK/restart.out.err" || fail "no reconnect logged"
sleep 1
harness_term
check ids "$WORK/restart.out" shop.public.t r 1 200 exact || fail "snapshot rows"
check ids "$WORK/restart.out" shop.public.t c 1001 4000 exact || fail "rows lost or duplicated across a PostgreSQL restart"
[ "$(slot_confirmed)" -le "$(stored_lsn_commit)" ] || fail "slot confirmed beyond the stored offset"

# ---- 4. heartbeats -----------------------------------------------------------------
before=$(slot_confirmed)
harness_bg hb.out "${ARGS[@]}" heartbeat.interval=1s
sleep 4
harness_term
grep -q "^__debezium-heartbeat.shop" "$WORK/hb.out" || fail "no heartbeat records"
[ "$(slot_confirmed)" -gt "$before" ] || fail "heartbeats did not advance the slot"
[ "$(slot_confirmed)" -le "$(stored_lsn_commit)" ] || fail "slot confirmed beyond the stored offset"

# ---- 5. slot problems, wal_level ---------------------------------------------------
good=$(cat "$OFFSETS")
/usr/bin/python3 - "$OFFSETS" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
o["lsn_commit"] = o["lsn"] = o["lsn_proc"] = 1000
open(sys.argv[1], "w").write(json.dumps(o, separators=(",", ":")) + "\n")
EOF
rc=0
harness_run ahead.out "${ARGS[@]}" || rc=$?
[ "$rc" = 2 ] || fail "slot ahead of the offset: exit $rc"
expect_error ahead.out "beyond the stored offset"
echo "$good" >"$OFFSETS"
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" >/dev/null
rc=0
harness_run dropped.out "${ARGS[@]}" || rc=$?
[ "$rc" = 2 ] || fail "slot dropped: exit $rc"
expect_error dropped.out "slot \"ferry_shop\" does not exist"
pg_psql "ALTER SYSTEM SET wal_level = replica" >/dev/null
pg_restart || fail "pg_restart"
: >"$OFFSETS"
rc=0
harness_run wallevel.out "${ARGS[@]}" || rc=$?
[ "$rc" = 2 ] || fail "wal_level replica: exit $rc"
expect_error wallevel.out "wal_level is 'replica'"
log "PASS"
