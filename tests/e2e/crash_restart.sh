#!/usr/bin/env bash
# Delivery guarantees through the binary, file-source → topic → file-sink:
#  1. kill -9 mid-stream, restart: every line at least once, duplicates
#     bounded by what one flush interval can hold;
#  2. SIGTERM mid-stream, restart: every line exactly once.
source "$TESTLIB"
broker_start --topic crash:2 --topic clean:2

RATE_LINES=200   # lines appended per tick
TICK=0.05        # seconds per tick (≈4000 lines/s)

# writer FILE TAG N: appends N ticks of lines "TAG-<i>" to FILE.
writer() {
    local file=$1 tag=$2 ticks=$3 i=0 t
    for ((t = 0; t < ticks; t++)); do
        for ((k = 0; k < RATE_LINES; k++)); do printf '%s-%d\n' "$tag" "$i"; i=$((i + 1)); done >>"$file"
        sleep "$TICK"
    done
}

config() { # NAME TOPIC IN OUT
    cat >"$WORK/$1.yaml" <<YAML
worker:
  kafka:
    bootstrap.servers: "$BROKER"
    consumer.session.timeout.ms: "6000"
    consumer.heartbeat.interval.ms: "500"
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  shutdown.timeout: 20s
connectors:
  $1-src:
    connector: file-source
    path: $3
    topic: $2
  $1-dst:
    connector: file-sink
    topics: $2
    path: $4
    flush.interval: 500ms
YAML
}

# check IN OUT MAXDUP: every input line is in OUT; at most MAXDUP duplicates.
check() {
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import collections, sys
inp = open(sys.argv[1]).read().split("\n")[:-1]
out = collections.Counter(open(sys.argv[2]).read().split("\n")[:-1])
missing = [l for l in inp if out[l] == 0]
extra = [l for l in out if l not in set(inp)]
dups = sum(c - 1 for c in out.values() if c > 1)
print(f"input {len(inp)} lines, output {sum(out.values())}, missing {len(missing)}, duplicates {dups}")
assert not missing, f"lost lines, e.g. {missing[:5]}"
assert not extra, f"unexpected lines, e.g. {extra[:5]}"
assert dups <= int(sys.argv[3]), f"{dups} duplicates > bound {sys.argv[3]}"
PY
}

# ---- 1: kill -9 ----------------------------------------------------------------
: >"$WORK/crash.in"
config crash crash "$WORK/crash.in" "$WORK/crash.out"
ferry_start crash "$WORK/crash.yaml"
writer "$WORK/crash.in" a 60 &
WPID=$!
sleep 1.5
kill -9 "$FERRY_PID"
wait "$FERRY_PID" 2>/dev/null || true
log "killed -9 with $(wc -l <"$WORK/crash.out" 2>/dev/null || echo 0) lines written out"
ferry_start crash "$WORK/crash.yaml"
wait "$WPID"
total=$(wc -l <"$WORK/crash.in")
wait_until 90 bash -c "[ \$(sort -u $WORK/crash.out | wc -l) -ge $total ]" || fail "not all lines arrived after restart"
ferry_stop "$FERRY_PID"
# One flush interval (0.5 s) at ≈4000 lines/s on each side, plus one batch in flight each.
check "$WORK/crash.in" "$WORK/crash.out" 8000 || fail "kill -9 guarantees violated"

# ---- 2: SIGTERM -----------------------------------------------------------------
: >"$WORK/clean.in"
config clean clean "$WORK/clean.in" "$WORK/clean.out"
ferry_start clean "$WORK/clean.yaml"
writer "$WORK/clean.in" b 60 &
WPID=$!
sleep 1.5
ferry_stop "$FERRY_PID"
log "stopped with SIGTERM at $(wc -l <"$WORK/clean.out") lines out"
ferry_start clean "$WORK/clean.yaml"
wait "$WPID"
total=$(wc -l <"$WORK/clean.in")
wait_until 90 bash -c "[ \$(wc -l < $WORK/clean.out) -ge $total ]" || fail "not all lines arrived after SIGTERM restart"
sleep 1
ferry_stop "$FERRY_PID"
check "$WORK/clean.in" "$WORK/clean.out" 0 || fail "SIGTERM restart produced duplicates or lost lines"
log "PASS"
