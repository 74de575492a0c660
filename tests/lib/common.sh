# common.sh — helpers for end-to-end tests that drive the ferry binary.
# Source it from a test script; ctest sets FERRY, FERRY_SOURCE_DIR,
# FERRY_BUILD_DIR and FERRY_PLUGIN_DIR.
set -euo pipefail

: "${FERRY:?FERRY must point at the ferry binary}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/ferry-${TEST_NAME}.XXXXXX")
PIDS=()

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
fail() {
    trap - ERR
    log "FAIL: $*"
    for f in "$WORK"/*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 40 lines) ----" >&2
        tail -n 40 "$f" >&2
    done
    exit 1
}

# Any command that fails outside a condition ends the test: say which, where.
trap 'fail "command exited $? at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR

cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# wait_until TIMEOUT_S CMD... : polls CMD every 0.2 s until it succeeds.
wait_until() {
    local timeout=$1
    shift
    local end=$((SECONDS + timeout))
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}

# devkafka_start [args]: starts `ferry dev-kafka`, sets BROKER.
devkafka_start() {
    "$FERRY" dev-kafka "$@" >"$WORK/devkafka.out" 2>"$WORK/devkafka.log" &
    DEVKAFKA_PID=$!
    PIDS+=("$DEVKAFKA_PID")
    wait_until 20 test -s "$WORK/devkafka.out" || fail "dev-kafka printed no address"
    BROKER=$(head -n1 "$WORK/devkafka.out")
    log "dev-kafka at $BROKER"
}

# ferry_start NAME CONFIG: runs `ferry run CONFIG` in the background, logging
# to $WORK/NAME.log; sets FERRY_PID.
ferry_start() {
    local name=$1 config=$2
    "$FERRY" run "$config" >>"$WORK/$name.log" 2>&1 &
    FERRY_PID=$!
    PIDS+=("$FERRY_PID")
}

# ferry_stop PID [TIMEOUT]: SIGTERM and wait; fails unless it exits 0 in time.
ferry_stop() {
    local pid=$1 timeout=${2:-40} rc=0
    kill -TERM "$pid"
    local end=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -lt $end ] || fail "ferry (pid $pid) did not exit within ${timeout}s of SIGTERM"
        sleep 0.1
    done
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "ferry exited $rc after SIGTERM (expected 0)"
}

# topic_dump TOPIC: every value of TOPIC, one per line, read with kcat.
topic_dump() {
    kcat -b "$BROKER" -C -t "$1" -o beginning -e -q -f '%s\n' 2>>"$WORK/kcat.log"
}

# topic_count TOPIC: number of records in TOPIC (kcat).
topic_count() {
    kcat -b "$BROKER" -C -t "$1" -o beginning -e -q -f 'x\n' 2>>"$WORK/kcat.log" | wc -l
}
