# pg_test_lib.sh — shared setup for the postgres-cdc connector tests that run
# the plugin under pg_harness (no Kafka). Source after setting nothing; it
# starts PostgreSQL (tests/lib/pg.sh) and defines:
#   harness_run OUT [key=value...]      foreground run (env HARNESS_* apply)
#   harness_bg OUT [key=value...]       background run; sets HPID
#   harness_term                        SIGTERM HPID and wait
#   check ARGS...                       pg_check.py
#   slot_confirmed                      the slot's confirmed_flush_lsn as a number
#   stored_lsn_commit                   lsn_commit in the offset file
set -euo pipefail

: "${PG_HARNESS:?PG_HARNESS must point at the pg_harness binary}"
: "${FERRY_PLUGIN_DIR:?}"
: "${FERRY_SOURCE_DIR:?}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/ferry-${TEST_NAME}.XXXXXX")
PLUGIN=$FERRY_PLUGIN_DIR/postgres.so
OFFSETS=$WORK/offsets.json
CHECK="/usr/bin/python3 $FERRY_SOURCE_DIR/tests/connectors/postgres/pg_check.py"
export HARNESS_CONNECTOR=shop
HPID=

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
fail() {
    log "FAIL: $*"
    for f in "$WORK"/*.err; do
        [ -f "$f" ] || continue
        echo "---- $f (last 30 lines) ----" >&2
        tail -n 30 "$f" >&2
    done
    pg_log_tail 20 >&2 || true
    exit 1
}
pg_test_cleanup() {
    local rc=$?
    [ -n "$HPID" ] && kill -9 "$HPID" 2>/dev/null || true
    pg_stop
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
    return $rc
}

. "$FERRY_SOURCE_DIR/tests/lib/pg.sh"
PG_NO_TRAP=1 pg_start || fail "could not start PostgreSQL"
trap pg_test_cleanup EXIT

BASE_ARGS=(conninfo="$PG_CONNINFO" topic.prefix=shop heartbeat.interval=0 status.update.interval=500ms)

harness_run() {
    local out=$1
    shift
    "$PG_HARNESS" "$PLUGIN" "$OFFSETS" "$@" >>"$WORK/$out" 2>>"$WORK/$out.err"
}
harness_bg() {
    local out=$1
    shift
    "$PG_HARNESS" "$PLUGIN" "$OFFSETS" "$@" >>"$WORK/$out" 2>>"$WORK/$out.err" &
    HPID=$!
}
harness_term() {
    kill -TERM "$HPID"
    local rc=0
    wait "$HPID" || rc=$?
    HPID=
    [ "$rc" = 0 ] || fail "harness exited $rc after SIGTERM"
}
check() { $CHECK "$@"; }

lsn_num() {
    /usr/bin/python3 -c 'import sys; a, b = sys.argv[1].split("/"); print(int(a, 16) << 32 | int(b, 16))' "$1"
}
slot_confirmed() { lsn_num "$(pg_psql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'ferry_shop'")"; }
stored_lsn_commit() {
    /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["lsn_commit"])' "$OFFSETS"
}
# wait_lines FILE N TIMEOUT: until FILE has at least N lines.
wait_lines() {
    local end=$((SECONDS + $3))
    while [ "$(cat "$WORK/$1" 2>/dev/null | wc -l)" -lt "$2" ]; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
