#!/usr/bin/env bash
# latency.sh — end-to-end latency of datagen → Apache Kafka → null-sink at a
# steady rate, with ferry's default settings. A benchmark, not a test: it
# prints figures, it asserts none.
#
#   bench/latency.sh [--rate R] [--seconds S] [--size BYTES] [--partitions P]
#                    [--warmup DURATION] [--kafka-prop KEY=VALUE]...
#                    [--build DIR] [--keep]
#
# Defaults: 1,000 records/s for 30 s, 100 B values, a topic of 8 partitions on
# a real Apache Kafka (tests/kafka/kafka.sh, small default heap; stopped at
# exit). Two ferry workers: the sink worker (null-sink with latency.report:
# true) starts first and the source worker (datagen, rate R, count R × S)
# only once the sink has its partitions, so no record waits for a group join.
# The latency of a record is the wall-clock time of the sink's put() minus
# the record's timestamp, which datagen sets when it generates the record
# (one clock reading per poll): producer linger and batching, the broker, the
# consumer's fetch and the sink's batching are all inside it. null-sink keeps
# a 1 ms histogram and logs p50/p99/max when it closes. The first --warmup
# (default 5s) of records are left out (latency.warmup): on a fresh broker
# the idempotent producer waits ~0.5 s for its producer id ("Coordinator load
# in progress"), and the records generated meanwhile wait with it. The run
# lasts S seconds after the warm-up.
#
# --kafka-prop KEY=VALUE (repeatable) goes into both workers' worker.kafka
# (producer.KEY / consumer.KEY for one kind), e.g. producer.linger.ms=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
RATE=1000
SECONDS_RUN=30
SIZE=100
PARTITIONS=8
WARMUP=5s
KEEP=0
KAFKA_PROPS=()
while [ $# -gt 0 ]; do
    case $1 in
    --rate) RATE=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --kafka-prop) KAFKA_PROPS+=("$2"); shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_init latency
bench_kafka_start
$PY "$ROOT/tests/kafka/admin.py" recreate "$BROKER" "lat:$PARTITIONS" >/dev/null
log "Apache Kafka at $BROKER; $RATE records/s × $SECONDS_RUN s of $SIZE B over $PARTITIONS partitions"

PROPS=
for kv in "${KAFKA_PROPS[@]:-}"; do [ -z "$kv" ] || PROPS+=", \"${kv%%=*}\": \"${kv#*=}\""; done
worker_yaml() { # NAME then connectors YAML on stdin
    cat <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"$PROPS}
  plugin.path: $PLUGINS
  offsets.store: file
  offsets.file: $WORK/$1.offsets
connectors:
YAML
    cat
}

WARMUP_S=$(awk -v w="$WARMUP" 'BEGIN { v = w + 0; if (w ~ /ms$/) v /= 1000; else if (w ~ /m$/) v *= 60; printf "%d", v + 0.999 }')
N=$(awk -v r="$RATE" -v s="$((SECONDS_RUN + WARMUP_S))" 'BEGIN { printf "%d", r * s }')
worker_yaml sink >"$WORK/sink.yaml" <<YAML
  lat-sink:
    connector: null-sink
    topics: lat
    latency.report: true
    latency.warmup: $WARMUP
YAML
worker_yaml source >"$WORK/source.yaml" <<YAML
  lat-gen:
    connector: datagen
    topic: lat
    count: $N
    rate: $RATE
    value.size: $SIZE
YAML

"$FERRY" run "$WORK/sink.yaml" >"$WORK/sink.log" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")
end=$((SECONDS + 60))
until grep -q "\[lat-sink/0\] assigned [1-9]" "$WORK/sink.log"; do
    [ $SECONDS -lt $end ] && kill -0 "$SINK_PID" 2>/dev/null || { KEEP=1; echo "the sink got no partitions (see $WORK/sink.log)" >&2; exit 1; }
    sleep 0.1
done
"$FERRY" run "$WORK/source.yaml" >"$WORK/source.log" 2>&1 &
SOURCE_PID=$!
PIDS+=("$SOURCE_PID")

# Done when the topic holds all N records and the sink has had a moment to
# put the last ones (its progress line says how many it saw).
end=$((SECONDS + (SECONDS_RUN + WARMUP_S) * 3 + 60))
until grep -q "datagen finished" "$WORK/source.log"; do
    [ $SECONDS -lt $end ] || { KEEP=1; echo "datagen did not finish (see $WORK)" >&2; exit 1; }
    sleep 0.5
done
sleep 2
kill -TERM "$SOURCE_PID" "$SINK_PID"
wait "$SOURCE_PID" || true
wait "$SINK_PID" || true

line=$(grep -o "null-sink latency .*" "$WORK/sink.log" | tail -n1)
[ -n "$line" ] || { KEEP=1; echo "no latency line in $WORK/sink.log" >&2; exit 1; }
count=$(sed -n 's/.*: \([0-9]*\) records.*/\1/p' <<<"$line")
p50=$(sed -n 's/.* p50 \([0-9]*\) ms.*/\1/p' <<<"$line")
p99=$(sed -n 's/.* p99 \([0-9]*\) ms.*/\1/p' <<<"$line")
max=$(sed -n 's/.* max \([0-9]*\) ms.*/\1/p' <<<"$line")
skipped=$(sed -n 's/.*(\([0-9]*\) more in the warm-up).*/\1/p' <<<"$line")
[ $((count + skipped)) = "$N" ] || log "WARNING: the sink saw $((count + skipped)) records, datagen sent $N"
printf '\n%-10s %8s %6s %9s %7s %7s %7s\n' rate seconds size records "p50 ms" "p99 ms" "max ms"
printf '%-10s %8s %6s %9s %7s %7s %7s\n' "$RATE/s" "$SECONDS_RUN" "$SIZE" "$count" "$p50" "$p99" "$max"
echo
echo "latency = null-sink put() time - record timestamp (datagen: generation time), 1 ms buckets;"
echo "records of the first $WARMUP ($skipped) left out."
echo "Settings: ferry's defaults${PROPS:+, plus worker.kafka${PROPS#,}}."
