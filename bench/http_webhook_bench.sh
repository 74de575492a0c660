#!/usr/bin/env bash
# http_webhook_bench.sh — requests per second that http-source (mode webhook)
# accepts into Kafka, against the same load generator on a trivial endpoint,
# in the same ferry process and the same run (DESIGN.md §9). A benchmark,
# not a test: it prints figures, it asserts none.
#
#   bench/http_webhook_bench.sh [--duration S] [--connections C] [--threads T]
#                               [--size BYTES] [--build DIR] [--keep]
#
#   broker:    `ferry dev-kafka` (librdkafka's mock broker, "embedded").
#   load:      wrk (Debian package wrk), keep-alive connections, for S seconds
#              (default 10) with C connections (default 32) on T threads (2).
#   webhook:   POST of a BYTES-byte body (default 200) to http-source; a 200
#              means the record is in Kafka (the handler waited for commit()),
#              so "accepted/s" = 2xx answers / duration; 503s (backpressure)
#              are counted apart. The topic's end offset (kcat -Q) afterwards
#              and must hold at least as many records as 200s were given.
#   baseline:  GET / of ferry's own REST API (libmicrohttpd, 4 threads, no
#              Kafka behind it) in the same worker, same wrk settings (the
#              REST server allows 32 connections per client address).
#   ratio:     webhook accepted/s ÷ baseline requests/s.
#   peak RSS:  VmHWM of the ferry worker (/proc/PID/status) before it stops.
# Offsets go to the file store, so that the offsets topic write is not what is
# measured on the mock broker (it has no CreateTopics); the webhook commits
# through request_commit() either way.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
DURATION=10
CONNS=32
THREADS=2
SIZE=200
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
command -v kcat >/dev/null || { echo "needs kcat" >&2; exit 2; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_init http_webhook

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$FERRY" dev-kafka --topic hooks:1 >"$WORK/devkafka.out" 2>"$WORK/devkafka.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/devkafka.out" ] && break; sleep 0.1; done
BROKER=$(head -n1 "$WORK/devkafka.out")
HOOK_PORT=$(free_port)
REST_PORT=$(free_port)
cat >"$WORK/p.yaml" <<YAML
worker:
  plugin.path: [$PLUGINS]
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {store: file, file: $WORK/offsets.json}
  rest: {listen: "127.0.0.1:$REST_PORT"}
connectors:
  hook:
    connector: http-source
    mode: webhook
    listen: 127.0.0.1:$HOOK_PORT
    path: /hook
    topic: hooks
YAML
"$FERRY" run "$WORK/p.yaml" >"$WORK/ferry.log" 2>&1 &
FERRY_PID=$!
PIDS+=("$FERRY_PID")
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$HOOK_PORT/" && curl -s -o /dev/null "http://127.0.0.1:$REST_PORT/" && break
    sleep 0.1
done

head -c "$SIZE" /dev/zero | tr '\0' 'x' >"$WORK/body"
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
local f = io.open("$WORK/body", "rb")
wrk.body = f:read("*a")
f:close()
LUA

# run_wrk NAME ARGS...: wrk's report in $WORK/NAME.txt
run_wrk() {
    local name=$1
    shift
    wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --latency "$@" >"$WORK/$name.txt" 2>&1
}
# stats FILE: "<requests> <non-2xx> <seconds> <p50>"
stats() {
    awk '/requests in/ {req=$1; s=$4; sub(/s,?$/, "", s)}
         /Non-2xx or 3xx responses:/ {bad=$NF}
         /^ +50%/ {p50=$2}
         END {printf "%d %d %s %s\n", req, bad + 0, s, p50}' "$1"
}

log "baseline: wrk GET / on ferry's REST API (${DURATION}s, $CONNS connections)"
run_wrk rest "http://127.0.0.1:$REST_PORT/"
log "webhook: wrk POST of $SIZE bytes to http-source (${DURATION}s, $CONNS connections)"
run_wrk hook -s "$WORK/post.lua" "http://127.0.0.1:$HOOK_PORT/hook"
RSS=$(bench_vmhwm_mb "$FERRY_PID")

read -r rest_req rest_bad rest_s rest_p50 < <(stats "$WORK/rest.txt")
read -r hook_req hook_bad hook_s hook_p50 < <(stats "$WORK/hook.txt")
hook_ok=$((hook_req - hook_bad))
# The partition's end offset: every record ever stored (the mock broker keeps only about
# 5 MiB per partition, so reading the records back would count fewer).
stored=$(kcat -b "$BROKER" -Q -t hooks:0:-1 2>/dev/null | awk '{print $NF}')
kill -TERM "$FERRY_PID"
wait "$FERRY_PID" 2>/dev/null || true

$PY - "$rest_req" "$rest_bad" "$rest_s" "$rest_p50" "$hook_req" "$hook_ok" "$hook_s" "$hook_p50" "$stored" "$RSS" \
    "$SIZE" "$CONNS" <<'PY'
import sys
rest_req, rest_bad, rest_s, rest_p50, hook_req, hook_ok, hook_s, hook_p50, stored, rss, size, conns = sys.argv[1:]
rest_rate = (int(rest_req) - int(rest_bad)) / float(rest_s)
hook_rate = int(hook_ok) / float(hook_s)
print(f"http-source webhook vs ferry REST GET / (wrk, {conns} connections, embedded broker)")
print(f"{'':24}{'req/s':>12}{'p50':>10}{'requests':>10}{'refused':>9}")
print(f"{'baseline GET /':24}{rest_rate:12.0f}{rest_p50:>10}{rest_req:>10}{rest_bad:>9}")
print(f"{'webhook POST ' + size + ' B':24}{hook_rate:12.0f}{hook_p50:>10}{hook_req:>10}{int(hook_req) - int(hook_ok):>9}")
print(f"ratio (webhook accepted / baseline): {hook_rate / rest_rate:.2f}")
print(f"records in the topic: {stored} (2xx answers: {hook_ok}{'' if int(stored) >= int(hook_ok) else ' — FEWER RECORDS THAN 2xx'})")
print(f"ferry peak RSS: {rss} MB")
PY
