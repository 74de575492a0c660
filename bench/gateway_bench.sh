#!/usr/bin/env bash
# gateway_bench.sh — records per second the gateway (gRPC, LiiklusService)
# delivers to one client and to several, against a plain librdkafka consumer
# (kcat in a consumer group) on the same topic and broker, in the same run;
# and the gateway's memory per connected client (DESIGN.md §9). A benchmark,
# not a test: it prints figures, it asserts none.
#
#   bench/gateway_bench.sh [--records N] [--partitions P] [--clients C] [--size BYTES]
#                          [--build DIR] [--keep]
#
#   broker:   `ferry dev-kafka` (librdkafka's mock broker) with one topic of P
#             partitions (default 4) holding N records (default 100000; the mock broker holds ~5 MiB per partition) of BYTES
#             (default 100), produced by kcat before anything is timed.
#   raw:      librdkafka's high-level consumer in a fresh group (Debian's
#             python3-confluent-kafka: the same client language as the gateway's
#             client below, librdkafka's defaults, which are the gateway's own
#             consumers' too); rate = N / (last record - first record); the
#             median of 3 runs.
#   gateway:  the Python grpcio client of the tests (tests/connectors/gateway/
#             liiklus_client.py bench): Subscribe, one Receive per assigned
#             partition, an Ack every 1000 records; one client, then C clients
#             (default 4) of one group, each a process of its own; rate = N /
#             (last record - first record). The client is Python: it, not the
#             gateway, may be the limit, so the gateway's CPU time per record is
#             printed too (from /proc/PID/stat, both runs together).
#   RSS:      the worker's VmRSS with no client, and while C clients stream;
#             the difference / C is the memory per connected client; VmHWM at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
RECORDS=100000
PARTS=4
CLIENTS=4
SIZE=100
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --records) RECORDS=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done
command -v kcat >/dev/null || { echo "needs kcat" >&2; exit 2; }
/usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || { echo "needs python3-confluent-kafka" >&2; exit 2; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_init gateway
# shellcheck source=tests/lib/venv.sh
. "$ROOT/tests/lib/venv.sh"
GPY=$(py_venv grpcio "$ROOT/tests/connectors/gateway/requirements.txt")
CLIENT=$ROOT/tests/connectors/gateway/liiklus_client.py

"$FERRY" dev-kafka --topic "gwb:$PARTS" >"$WORK/devkafka.out" 2>"$WORK/devkafka.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/devkafka.out" ] && break; sleep 0.1; done
BROKER=$(head -n1 "$WORK/devkafka.out")
pad=$(head -c "$SIZE" /dev/zero | tr '\0' x)
$PY -c "
import sys
pad = sys.argv[2]
for i in range(int(sys.argv[1])):
    sys.stdout.write('k%d:%s\n' % (i, pad[:-len(str(i))] + str(i)))
" "$RECORDS" "$pad" >"$WORK/records.txt"
kcat -b "$BROKER" -P -t gwb -K: -l "$WORK/records.txt"
log "$RECORDS records of $SIZE B in gwb ($PARTS partitions) on $BROKER"

# The raw consumer: librdkafka's high-level consumer (python3-confluent-kafka, Debian's), the
# same client language as the gateway's client; rate = N / (last record - first record).
raw_once() {
    $PY -c "
import sys, time
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': sys.argv[2], 'auto.offset.reset': 'earliest',
              'enable.auto.commit': True})
c.subscribe(['gwb'])
n, first, want = 0, None, int(sys.argv[3])
while n < want:
    for m in c.consume(1000, 1.0):
        if m.error():
            continue
        n += 1
        first = first or time.time()
c.close()
print('%.0f' % (n / (time.time() - first)))
" "$BROKER" "raw-$1" "$RECORDS"
}
raw=$(for i in 1 2 3; do raw_once "$i"; done | sort -n | sed -n 2p)
log "raw librdkafka consumer: $raw records/s (median of 3)"

cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {store: file, file: $WORK/offsets.json}
  rest: {listen: off}
connectors:
  gateway:
    connector: gateway
    listen: 127.0.0.1:0
YAML
FERRY_PLUGIN_DIR=$PLUGINS "$FERRY" run "$WORK/p.yaml" >"$WORK/run.log" 2>&1 &
FPID=$!
PIDS+=($FPID)
for _ in $(seq 100); do grep -q "LiiklusService) on" "$WORK/run.log" && break; sleep 0.1; done
ADDR=$(grep -o "LiiklusService) on [0-9.:]*" "$WORK/run.log" | awk '{print $NF}')
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$FPID/status"; }
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$FPID/stat"; }
sleep 1
idle_rss=$(rss_kb)
cpu0=$(cpu_s)

# rate FILES...: records / (last - first) over the clients' outputs.
rate() { cat "$@" | $PY -c "
import json, sys
rs = [json.loads(l) for l in sys.stdin if l.strip()]
n = sum(r['count'] for r in rs)
first = min(r['first'] for r in rs if r['first']); last = max(r['last'] for r in rs if r['last'])
print('%d %.0f' % (n, n / (last - first)))"; }

"$GPY" "$CLIENT" "$ADDR" bench gwb one 3 >"$WORK/one.json"
read -r n1 r1 < <(rate "$WORK/one.json")
log "gateway, 1 client: $n1 records, $r1 records/s"

cpids=()
for c in $(seq "$CLIENTS"); do
    "$GPY" "$CLIENT" "$ADDR" bench gwb many 3 >"$WORK/many.$c.json" &
    cpids+=($!)
done
sleep 2
busy_rss=$(rss_kb)
wait "${cpids[@]}" || true
read -r nc rc < <(rate "$WORK"/many.*.json)
log "gateway, $CLIENTS clients: $nc records, $rc records/s"
cpu1=$(cpu_s)
hwm=$(bench_vmhwm_mb "$FPID")
cpu_us=$(echo "($cpu1 - $cpu0) * 1000000 / ($n1 + $nc)" | bc -l)

printf '\n%-34s %14s %10s\n' "path ($RECORDS x $SIZE B, $PARTS partitions)" "records/s" "ratio"
printf '%-34s %14.0f %10s\n' "librdkafka consumer (Python)" "$raw" "1.00"
printf '%-34s %14.0f %10.2f\n' "gateway -> 1 gRPC client" "$r1" "$(echo "$r1 / $raw" | bc -l)"
printf '%-34s %14.0f %10.2f\n' "gateway -> $CLIENTS gRPC clients" "$rc" "$(echo "$rc / $raw" | bc -l)"
printf 'gateway CPU per record: %.2f us; RSS idle %d MB, with %d clients streaming %d MB (%.1f MB per client); peak %s MB\n' \
    "$cpu_us" $((idle_rss / 1024)) "$CLIENTS" $((busy_rss / 1024)) "$(echo "($busy_rss - $idle_rss) / 1024 / $CLIENTS" | bc -l)" "$hwm"
[ "$n1" = "$RECORDS" ] && [ "$nc" = "$RECORDS" ] || log "note: the clients did not get all $RECORDS records each run ($n1, $nc)"
