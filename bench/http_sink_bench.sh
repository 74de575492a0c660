#!/usr/bin/env bash
# http_sink_bench.sh — records/s that http-sink delivers to a local receiver
# (tests/http/httpd.py), against that receiver's own ceiling measured with
# wrk posting the same bodies (DESIGN.md §9); prints the ratio and ferry's
# peak RSS. A benchmark, not a test: it prints figures, it asserts none.
#
#   bench/http_sink_bench.sh [--records N] [--size BYTES] [--batch R]
#                            [--partitions P] [--in-flight F] [--build DIR]
#
# raw:   wrk -c F -d 5s posting one json-array body of R records of SIZE bytes
#        (what ferry sends) to the receiver: requests/s × R = its ceiling.
# ferry: N records on P partitions of the embedded broker (ferry dev-kafka),
#        http-sink with batch.max.records R and max.in.flight F; timed from the
#        receiver's side, from its first accepted record to its N-th (the
#        receiver's counters are polled every 50 ms), so ferry's start-up and
#        group join are not counted.
# peak RSS: VmHWM of the ferry process just before it is stopped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
N=100000 SIZE=200 BATCH=500 PARTS=4 INFLIGHT=4 BUILD=${BUILD:-$HERE/build}
while [ $# -gt 0 ]; do
    case $1 in
    --records) N=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --in-flight) INFLIGHT=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
FERRY=$BUILD/ferry
[ -x "$FERRY" ] || { echo "no ferry binary in $BUILD (--build DIR)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: scripts/deps.sh --test" >&2; exit 2; }
WORK=$(mktemp -d /tmp/ferry-http-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

/usr/bin/python3 "$HERE/tests/http/httpd.py" --quiet --count-records --port-file "$WORK/port" >/dev/null 2>"$WORK/httpd.log" &
PIDS+=("$!")
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$WORK/port")"
stats() { curl -sf -m 5 "$URL/__stats"; }
records() { stats | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])'; }

# ---- raw: wrk with the body ferry sends ---------------------------------------------
/usr/bin/python3 - "$BATCH" "$SIZE" >"$WORK/body.json" <<'PY'
import json, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
pad = "x" * max(0, size - 40)
print("[" + ",".join(json.dumps({"id": i, "seq": i, "pad": pad}, separators=(",", ":")) for i in range(n)) + "]", end="")
PY
cat >"$WORK/post.lua" <<LUA
local f = io.open("$WORK/body.json", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
LUA
wrk -t 1 -c "$INFLIGHT" -d 5s -s "$WORK/post.lua" "$URL/raw" >"$WORK/wrk.out" 2>&1
raw_rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
raw=$(/usr/bin/python3 -c "print(round(float('$raw_rps') * $BATCH))")

# ---- ferry ------------------------------------------------------------------------------------
"$FERRY" dev-kafka --topic "bench:$PARTS" >"$WORK/kafka.out" 2>"$WORK/kafka.log" &
PIDS+=("$!")
for _ in $(seq 100); do [ -s "$WORK/kafka.out" ] && break; sleep 0.1; done
BROKER=$(head -n1 "$WORK/kafka.out")
/usr/bin/python3 - "$N" "$SIZE" "$PARTS" <<'PY' | kcat -b "$BROKER" -P -t bench -K $'\t' 2>>"$WORK/kcat.log"
import json, sys
n, size, parts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pad = "x" * max(0, size - 40)
out = sys.stdout
for i in range(n):
    out.write("k%d\t%s\n" % (i, json.dumps({"id": i, "seq": i, "pad": pad}, separators=(",", ":"))))
PY
before=$(records)
cat >"$WORK/bench.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: ferry-offsets, flush.interval: 1s}
connectors:
  bench-sink:
    connector: http-sink
    topics: bench
    url: "$URL/ferry"
    batch.max.records: $BATCH
    batch.max.bytes: 16MiB
    max.in.flight: $INFLIGHT
    value.converter: json
    value.converter.schemas.enable: false
YAML
FERRY_PLUGIN_PATH=$BUILD/plugins "$FERRY" run "$WORK/bench.yaml" >"$WORK/ferry.log" 2>&1 &
FPID=$!
PIDS+=("$FPID")
start="" end=""
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
    got=$(($(records) - before))
    now=$(date +%s.%N)
    [ -z "$start" ] && [ "$got" -gt 0 ] && start=$now
    if [ "$got" -ge "$N" ]; then end=$now; break; fi
    sleep 0.05
done
rss=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$FPID/status")
kill -TERM "$FPID"; wait "$FPID" || true
[ -n "$end" ] || { echo "ferry did not deliver $N records within 300 s (see $WORK/ferry.log)" >&2; exit 1; }
/usr/bin/python3 - "$N" "$start" "$end" "$raw" "$rss" "$SIZE" "$BATCH" "$PARTS" "$INFLIGHT" <<'PY'
import sys
n, start, end, raw = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rss, size, batch, parts, inflight = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8], sys.argv[9]
rate = n / max(end - start, 1e-3)
print("http-sink → tests/http/httpd.py, %s records of %s B, batch %s, %s partitions, max.in.flight %s" % (n, size, batch, parts, inflight))
print("  receiver ceiling (wrk, same bodies): %10.0f records/s" % raw)
print("  ferry http-sink:                     %10.0f records/s  (%.2fx of the ceiling)" % (rate, rate / raw if raw else 0))
print("  ferry peak RSS: %s" % rss)
PY
