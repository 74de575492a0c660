#!/usr/bin/env bash
# kafka_bench.sh — throughput and peak memory of ferry's Kafka data paths
# against librdkafka's own rdkafka_performance, on the same broker in the same
# run (DESIGN.md §9): librdkafka's mock broker (`ferry dev-kafka`, "embedded"),
# a real Apache Kafka (tests/kafka/kafka.sh, "kafka"), or both, one after the
# other. A benchmark, not a test: it prints figures, it asserts none.
#
#   bench/kafka_bench.sh [--broker embedded|kafka|both] [--records N]
#                        [--sizes "100 1024"] [--partitions P] [--build DIR]
#                        [--offsets-store kafka|file] [--kafka-prop KEY=VALUE]...
#                        [--keep]
#
# For every broker and record size (default 100 B and 1 KiB):
#   produce  raw:   rdkafka_performance -P -D (payload copied per message, as
#                   ferry does with RD_KAFKA_MSG_F_COPY), enable.idempotence=true,
#                   no key, sticky.partitioning.linger.ms=0 so records spread
#                   over all partitions like datagen's keyed records do, and
#                   ferry's producer defaults (linger.ms, the queue bound
#                   queue.buffering.max.kbytes: see RAW_PRODUCER_KEYS).
#            ferry: datagen (rate 0, count N, value.size SIZE) → topic.
#   consume  raw:   rdkafka_performance -C -G <fresh group> -o beginning -c N
#                   on the topic the raw producer filled, with ferry's consumer
#                   defaults (queued.min.messages, queued.max.messages.kbytes,
#                   fetch sizes: see RAW_CONSUMER_KEYS).
#            ferry: null-sink subscribed to that same topic (fresh group).
#   records in flight: null-sink on datagen's topic (JSON values) without,
#            then with the JSON converter and three transforms (XF_CHAIN):
#            their ratio and the chain's cost per record in ns.
# The raw tool's settings are read from kafka_client_defaults() in
# runtime/kafka/kafka.c (the DEFAULT("key", "value") lines), so both tools
# run with the same memory bounds; the table's footer prints them.
#
# How time is measured (start-up of either program is never counted):
#   produce: both tools are timed the same way, from the broker's side. A
#     watcher (/usr/bin/python3 + confluent_kafka) sums the high watermarks of
#     the topic's partitions with one ListOffsets request about every 1 ms;
#     the span runs from the first sample with any record in the topic to the
#     first sample with all N. That is "first record acknowledged → last record
#     acknowledged", with ~1 ms resolution. rdkafka_performance's own summary
#     (first produce() → last delivery report) is printed alongside as
#     "raw self"; the ratio uses the watcher figures for both.
#   consume: both from "partitions assigned" to "N-th record consumed" (the
#     consumer's OffsetFetch/ListOffsets/first Fetch after the assignment are
#     inside the span for both; the group join before it is not).
#     ferry: the sink task's "assigned N partition(s)" log line; progress.interval
#     100ms, and the moment the counter reached N is interpolated linearly
#     inside the progress interval where it did, at the rate of the interval
#     before (resolution ~ a few ms).
#     raw: its stdout/stderr lines are time-stamped; "Group rebalanced ...
#     assigned" gives the start; -i 50 prints "M messages consumed in X ms"
#     (X counted from its first message) every 50 ms, giving the time of its
#     first message and so of its N-th. Its own summary (first → N-th message,
#     which leaves out the ramp-up after assignment) is shown as "raw self".
#   peak RSS: VmHWM of the ferry process (/proc/PID/status) just before it is
#     stopped; for rdkafka_performance, "Maximum resident set size" of
#     /usr/bin/time -v when available.
#
# Volumes: the mock broker keeps at most 5 MiB per partition (it drops the
# oldest batches beyond that), and the consume runs must read every record
# from offset 0, so there each topic gets enough partitions to hold N records
# within ~3.5 MiB per partition (rounded up to a multiple of 8, at least 8).
# Apache Kafka has no such limit: there every topic has --partitions P
# (default 8) partitions, created fresh with tests/kafka/admin.py.
# Default N: 1,000,000 records of 100 B and N/5 = 200,000 of 1 KiB (or the
# --records value for 100 B and a fifth of it for sizes ≥ 1000 B).
#
# --kafka-prop KEY=VALUE (repeatable) changes a librdkafka setting for both
# tools alike: producer.KEY / consumer.KEY for one kind of client, a bare KEY
# for both (ferry gets it in worker.kafka, the raw tool as -X KEY=VALUE), to
# see what a setting costs or buys.
#
# The real broker is started with tests/kafka/kafka.sh (fetch, start DIR) in
# the work directory, with kafka.sh's small default heap, and stopped at exit.
#
# ferry runs with offsets.store: file by default. The runs are shorter than
# offsets.flush.interval (5 s), so the store is not written while measuring;
# the Kafka store would only add a ~15 s wait to every ferry start-up on the
# embedded broker (dev-kafka does not answer CreateTopics; ferry waits for
# the timeout). --offsets-store kafka uses it anyway.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
RECORDS=1000000
SIZES="100 1024"
OFFSETS_STORE=file
KEEP=0
BROKERS=both
KAFKA_PARTITIONS=8
KAFKA_PROPS=()
while [ $# -gt 0 ]; do
    case $1 in
    --broker) BROKERS=$2; shift 2 ;;
    --partitions) KAFKA_PARTITIONS=$2; shift 2 ;;
    --kafka-prop) KAFKA_PROPS+=("$2"); shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --offsets-store) OFFSETS_STORE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done

case $BROKERS in
embedded | kafka) ;;
both) BROKERS="embedded kafka" ;;
*) echo "--broker must be embedded, kafka or both" >&2; exit 2 ;;
esac

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh" # only its raw-tool helpers: this script has its own set-up and cleanup
FERRY=$BUILD/ferry
PLUGINS=$BUILD/plugins
PY=/usr/bin/python3
KAFKA_SH=$ROOT/tests/kafka/kafka.sh
[ -x "$FERRY" ] || { echo "no ferry binary at $FERRY (build a Release tree first, see bench/README.md)" >&2; exit 2; }
[ -d "$PLUGINS" ] || { echo "no plugin directory at $PLUGINS" >&2; exit 2; }
$PY -c 'import confluent_kafka' 2>/dev/null || { echo "needs python3-confluent-kafka for $PY" >&2; exit 2; }

log() { printf '[bench] %s\n' "$*" >&2; }

# ---- rdkafka_performance, built once from the librdkafka-dev example --------
# (bench/lib.sh: bench_rdkafka_performance, with a generated shim header for the
# private rd.h/rdtime.h the example includes).
bench_rdkafka_performance

TIMEV=()
if [ -x /usr/bin/time ] && /usr/bin/time -v true 2>/dev/null; then TIMEV=(/usr/bin/time -v); fi

# ---- work dir, processes, cleanup ---------------------------------------------
WORK=$(mktemp -d /tmp/ferry-bench.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.3
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -z "${KAFKA_DIR:-}" ] || "$KAFKA_SH" stop "$KAFKA_DIR" || true
    if [ $KEEP = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

records_for() { # SIZE → N
    if [ "$1" -ge 1000 ]; then echo $((RECORDS / 5)); else echo "$RECORDS"; fi
}
partitions_for() { # SIZE N → partitions holding N records in ≤ ~3.5 MiB each
    local per=$((($1 + 40) * $2)) cap=$((7 * 1024 * 1024 / 2))
    local p=$(((per + cap - 1) / cap))
    p=$((((p + 7) / 8) * 8))
    [ $p -ge 8 ] || p=8
    echo $p
}

declare -A NREC NPART
for s in $SIZES; do NREC[$s]=$(records_for "$s"); done

# The raw tool's -X settings: ferry's defaults from kafka_client_defaults() in
# runtime/kafka/kafka.c for RAW_PRODUCER_KEYS / RAW_CONSUMER_KEYS, then the
# --kafka-prop settings (bench/lib.sh: bench_raw_props, which says which keys
# are passed and why).
RAW_PRODUCER_X=$(bench_raw_props producer "$RAW_PRODUCER_KEYS")
RAW_CONSUMER_X=$(bench_raw_props consumer "$RAW_CONSUMER_KEYS")
# worker.kafka for ferry: the --kafka-prop settings as YAML flow-map entries.
FERRY_KAFKA_YAML=
for kv in "${KAFKA_PROPS[@]:-}"; do
    [ -z "$kv" ] || FERRY_KAFKA_YAML+=", \"${kv%%=*}\": \"${kv#*=}\""
done

# broker_start NAME: starts the broker (embedded: ferry dev-kafka; kafka:
# tests/kafka/kafka.sh) with topics raw-SIZE and ferry-SIZE; sets BROKER,
# NPART and BROKER_DESC.
broker_start() {
    local s topics=()
    case $1 in
    embedded)
        for s in $SIZES; do
            NPART[$s]=$(partitions_for "$s" "${NREC[$s]}")
            topics+=(--topic "raw-$s:${NPART[$s]}" --topic "ferry-$s:${NPART[$s]}")
        done
        "$FERRY" dev-kafka "${topics[@]}" >"$WORK/devkafka.out" 2>"$WORK/devkafka.log" &
        DEVKAFKA_PID=$!
        PIDS+=("$DEVKAFKA_PID")
        for _ in $(seq 100); do [ -s "$WORK/devkafka.out" ] && break; sleep 0.1; done
        BROKER=$(head -n1 "$WORK/devkafka.out")
        [ -n "$BROKER" ] || { echo "dev-kafka printed no address" >&2; exit 1; }
        BROKER_DESC="librdkafka mock broker (ferry dev-kafka)"
        ;;
    kafka)
        "$KAFKA_SH" fetch
        KAFKA_DIR=$WORK/kafka
        BROKER=$("$KAFKA_SH" start "$KAFKA_DIR" 2>"$WORK/kafka-start.log") ||
            { cat "$WORK/kafka-start.log" >&2; exit 1; }
        for s in $SIZES; do
            NPART[$s]=$KAFKA_PARTITIONS
            topics+=("raw-$s:$KAFKA_PARTITIONS" "ferry-$s:$KAFKA_PARTITIONS")
        done
        $PY "$ROOT/tests/kafka/admin.py" recreate "$BROKER" "${topics[@]}" >/dev/null ||
            { echo "could not create topics ${topics[*]} on $BROKER" >&2; exit 1; }
        BROKER_DESC="Apache Kafka $(basename "$("$KAFKA_SH" home)" | sed 's/^kafka-//'), one KRaft node"
        ;;
    esac
    log "$1: $BROKER_DESC at $BROKER; ferry $("$FERRY" version 2>/dev/null | head -n1); $(nproc) CPUs"
}

broker_stop() { # NAME
    case $1 in
    embedded) kill -TERM "$DEVKAFKA_PID" 2>/dev/null || true; wait "$DEVKAFKA_PID" 2>/dev/null || true ;;
    kafka) "$KAFKA_SH" stop "$KAFKA_DIR"; KAFKA_DIR= ;;
    esac
}

# ---- helpers in Python --------------------------------------------------------
bench_watch_py "$WORK/watch.py"

cat >"$WORK/marks.py" <<'PY'
# marks.py BROKER TOPIC PARTS: prints "low_sum high_sum".
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "bench-marks"})
lo = hi = 0
for p in range(int(sys.argv[3])):
    l, h = c.get_watermark_offsets(TopicPartition(sys.argv[2], p), timeout=10)
    lo += l; hi += h
c.close()
print(lo, hi)
PY

cat >"$WORK/sinklog.py" <<'PY'
# sinklog.py LOG CONNECTOR N: from ferry's log, the seconds between the sink
# task's first "assigned" line and the moment its progress counter reached N
# (interpolated inside the 100 ms progress interval where it did).
import re, sys, datetime
path, conn, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def ts(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
t_assign = None
prog = []
for line in open(path, errors="replace"):
    if t_assign is None and re.search(r"\[%s/\d+\] assigned [1-9]\d* partition" % re.escape(conn), line):
        t_assign = ts(line)
    m = re.search(r"\[%s\] (\d+) records \(" % re.escape(conn), line)
    if m:
        prog.append((ts(line), int(m.group(1))))
if t_assign is None:
    sys.exit("no 'assigned' line")
prog = [(t, c) for t, c in prog if t >= t_assign]
prog.insert(0, (t_assign, 0))
for i in range(1, len(prog)):
    if prog[i][1] >= n:
        t0, c0 = prog[i - 1]
        t1, c1 = prog[i]
        # rate of the interval before (if it was a full one), else of this one
        if i >= 2 and prog[i - 1][1] > prog[i - 2][1]:
            rate = (c0 - prog[i - 2][1]) / (t0 - prog[i - 2][0])
        else:
            rate = (c1 - c0) / (t1 - t0)
        t_n = min(t1, t0 + (n - c0) / rate) if rate > 0 else t1
        print("%.6f" % (t_n - t_assign))
        break
else:
    sys.exit("progress never reached %d" % n)
PY

cat >"$WORK/stamp.py" <<'PY'
import sys, time
for line in sys.stdin:
    sys.stdout.write("%.6f %s" % (time.time(), line))
    sys.stdout.flush()
PY

cat >"$WORK/rawcons.py" <<'PY'
# rawcons.py OUT N: seconds from rdkafka_performance's "partition(s) assigned"
# line to its N-th message. Its interval lines "% M messages ... consumed in
# X ms" count X from its first message, so first = stamp - X (earliest such
# estimate), and the N-th message came at first + X of the final line.
import re, sys
path, n = sys.argv[1], int(sys.argv[2])
t_assign = None
first = None
total_ms = None
for line in open(path, errors="replace"):
    stamp, _, rest = line.partition(" ")
    if t_assign is None and re.search(r"Group rebalanced .* [1-9]\d* new partition\(s\) assigned", rest):
        t_assign = float(stamp)
    m = re.search(r"% (\d+) messages \(\d+ bytes\) consumed in (\d+)ms", rest)
    if m and int(m.group(1)) > 0:
        est = float(stamp) - int(m.group(2)) / 1000.0
        first = est if first is None else min(first, est)
        if int(m.group(1)) >= n and total_ms is None:
            total_ms = int(m.group(2))
if t_assign is None or first is None or total_ms is None:
    sys.exit("cannot parse " + path)
print("%.6f" % (first + total_ms / 1000.0 - t_assign))
PY

# ---- one measurement each -----------------------------------------------------

vmhwm_mb() { bench_vmhwm_mb "$@"; }
time_rss_mb() { bench_time_rss_mb "$@"; }

# watch_start TOPIC PARTS N NAME: starts the watermark watcher, waits until it
# has its baseline; sets WATCH_PID.
watch_start() {
    $PY "$WORK/watch.py" "$BROKER" "$1" "$2" "$3" "$WORK/$4.watch" 2>"$WORK/$4.watch.err" &
    WATCH_PID=$!
    PIDS+=("$WATCH_PID")
    for _ in $(seq 200); do [ -e "$WORK/$4.watch.ready" ] && return 0; sleep 0.05; done
    echo "watermark watcher did not start: $(cat "$WORK/$4.watch.err")" >&2
    exit 1
}
watch_rate() { # NAME N → msgs/s between first and last record
    awk -v n="$2" '{ d = $2 - $1; if (d <= 0) d = 1e-6; printf "%.0f", n / d }' "$WORK/$1.watch"
}

ferry_config() { # FILE then connector YAML on stdin
    {
        cat <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"$FERRY_KAFKA_YAML}
  plugin.path: $PLUGINS
  progress.interval: 100ms
  offsets.store: $OFFSETS_STORE
  offsets.file: $WORK/offsets.dat
connectors:
YAML
        cat
    } >"$1"
}

# ferry_stop PID: SIGTERM and wait (up to 40 s).
ferry_stop() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 400); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    wait "$1" 2>/dev/null || log "ferry exited $? (see $WORK)"
}

declare -A RES DESC PARTS

RUNID=$$-$RANDOM

bench_produce_raw() { # SIZE
    local s=$1 n=${NREC[$1]} p=${NPART[$1]}
    watch_start "raw-$s" "$p" "$n" "$BN-praw$s"
    # shellcheck disable=SC2086 # RAW_PRODUCER_X is a list of words
    "${TIMEV[@]}" "$RDPERF" -P -t "raw-$s" -b "$BROKER" -s "$s" -c "$n" -D \
        -X enable.idempotence=true -X sticky.partitioning.linger.ms=0 $RAW_PRODUCER_X \
        >"$WORK/$BN-praw$s.out" 2>"$WORK/$BN-praw$s.err"
    wait "$WATCH_PID" || { echo "watcher failed: $(cat "$WORK/$BN-praw$s.watch.err")" >&2; exit 1; }
    RES[$BN:praw_self$s]=$(sed -n 's/.* delivered .* in [0-9]*ms: \([0-9]*\) msgs\/s.*/\1/p' "$WORK/$BN-praw$s.out" | tail -n1)
    RES[$BN:praw$s]=$(watch_rate "$BN-praw$s" "$n")
    RES[$BN:praw_rss$s]=$(time_rss_mb "$WORK/$BN-praw$s.err")
    read -r lo hi < <($PY "$WORK/marks.py" "$BROKER" "raw-$s" "$p")
    [ "$lo" = 0 ] && [ "$hi" = "$n" ] || log "WARNING: raw-$s holds offsets $lo..$hi, expected 0..$n (mock broker retention?)"
    log "$BN produce ${s}B raw: ${RES[$BN:praw$s]} msgs/s (self-reported ${RES[$BN:praw_self$s]})"
}

bench_produce_ferry() { # SIZE
    local s=$1 n=${NREC[$1]} p=${NPART[$1]} cfg=$WORK/$BN-pferry$s.yaml name=gen$s-$BN
    ferry_config "$cfg" <<YAML
  $name:
    connector: datagen
    topic: ferry-$s
    count: $n
    rate: 0
    value.size: $s
YAML
    watch_start "ferry-$s" "$p" "$n" "$BN-pferry$s"
    "$FERRY" run "$cfg" >"$WORK/$BN-pferry$s.log" 2>&1 &
    local fpid=$!
    PIDS+=("$fpid")
    wait "$WATCH_PID" || { echo "watcher failed: $(cat "$WORK/$BN-pferry$s.watch.err")" >&2; exit 1; }
    RES[$BN:pferry_rss$s]=$(vmhwm_mb "$fpid")
    ferry_stop "$fpid"
    RES[$BN:pferry$s]=$(watch_rate "$BN-pferry$s" "$n")
    log "$BN produce ${s}B ferry: ${RES[$BN:pferry$s]} msgs/s, peak RSS ${RES[$BN:pferry_rss$s]} MB"
}

bench_consume_raw() { # SIZE [KEY-SUFFIX EXTRA-X...]
    local s=$1 n=${NREC[$1]} k=${2:-} x
    shift 2 2>/dev/null || shift
    x="$RAW_CONSUMER_X $*"
    # Every output line time-stamped (stdbuf: line-buffered even into a pipe);
    # -i 50 prints the running count every 50 ms, which pins down the time of
    # its first message (see rawcons.py).
    # shellcheck disable=SC2086 # RAW_CONSUMER_X is a list of words
    stdbuf -oL -eL "${TIMEV[@]}" "$RDPERF" -C -t "raw-$s" -b "$BROKER" -G "bench-raw$k-$s-$RUNID" \
        -o beginning -c "$n" -i 50 $x 2>&1 | $PY "$WORK/stamp.py" >"$WORK/$BN-craw$k$s.out"
    RES[$BN:craw${k}_self$s]=$(sed -n 's/.* '"$n"' messages .* consumed in [0-9]*ms: \([0-9]*\) msgs\/s.*/\1/p' "$WORK/$BN-craw$k$s.out" | tail -n1)
    local secs
    secs=$($PY "$WORK/rawcons.py" "$WORK/$BN-craw$k$s.out" "$n")
    RES[$BN:craw$k$s]=$(awk -v n="$n" -v d="$secs" 'BEGIN { printf "%.0f", n / d }')
    RES[$BN:craw${k}_rss$s]=$(time_rss_mb "$WORK/$BN-craw$k$s.out")
    log "$BN consume ${s}B raw${k:+ ($k)}: ${RES[$BN:craw$k$s]} msgs/s (self-reported ${RES[$BN:craw${k}_self$s]})"
}

# The transform chain of the "records in flight" figures: the JSON converter
# and three of Connect's transforms on every record.
XF_CHAIN='    value.converter: json
    value.converter.schemas.enable: false
    transforms: ins,drop,mask
    transforms.ins.type: InsertField$Value
    transforms.ins.static.field: origin
    transforms.ins.static.value: bench
    transforms.drop.type: ReplaceField$Value
    transforms.drop.exclude: ts
    transforms.mask.type: MaskField$Value
    transforms.mask.fields: seq'

bench_consume_ferry() { # SIZE [KIND]: KIND plain|xf reads datagen's JSON (ferry-SIZE), xf with XF_CHAIN
    local s=$1 kind=${2:-}
    local n=${NREC[$s]} cfg=$WORK/$BN-cferry$s$kind.yaml name=sink$s$kind-$BN-${RUNID//-/_} topic=raw-$s extra=
    [ -z "$kind" ] || topic=ferry-$s
    [ "$kind" != xf ] || extra=$XF_CHAIN
    ferry_config "$cfg" <<YAML
  $name:
    connector: null-sink
    topics: $topic
$extra
YAML
    "$FERRY" run "$cfg" >"$WORK/$BN-cferry$s$kind.log" 2>&1 &
    local fpid=$!
    PIDS+=("$fpid")
    local end=$((SECONDS + 300))
    until grep -Eq "\[$name\] $n records" "$WORK/$BN-cferry$s$kind.log"; do
        if ! kill -0 "$fpid" 2>/dev/null || [ $SECONDS -ge $end ]; then
            echo "ferry null-sink did not reach $n records; log: $WORK/$BN-cferry$s$kind.log" >&2
            KEEP=1
            exit 1
        fi
        sleep 0.1
    done
    RES[$BN:cferry${kind}_rss$s]=$(vmhwm_mb "$fpid")
    ferry_stop "$fpid"
    local secs
    secs=$($PY "$WORK/sinklog.py" "$WORK/$BN-cferry$s$kind.log" "$name" "$n")
    RES[$BN:cferry$kind$s]=$(awk -v n="$n" -v d="$secs" 'BEGIN { printf "%.0f", n / d }')
    log "$BN consume ${s}B ferry${kind:+ ($kind)}: ${RES[$BN:cferry$kind$s]} msgs/s, peak RSS ${RES[$BN:cferry${kind}_rss$s]} MB"
}

for BN in $BROKERS; do
    broker_start "$BN"
    for s in $SIZES; do
        log "$BN, size $s B: $(printf "%'d" "${NREC[$s]}" 2>/dev/null || echo "${NREC[$s]}") records over ${NPART[$s]} partitions"
        bench_produce_raw "$s"
        bench_produce_ferry "$s"
        bench_consume_raw "$s"
        # The same tool with librdkafka's own queue bounds, which never reach
        # the fetch stall described in bench/README.md: ferry's consume is
        # compared with this too.
        bench_consume_raw "$s" unbounded -X queued.min.messages=1000000 -X queued.max.messages.kbytes=1048576
        bench_consume_ferry "$s"
        # Records in flight: datagen's JSON without and with XF_CHAIN.
        bench_consume_ferry "$s" plain
        bench_consume_ferry "$s" xf
    done
    DESC[$BN]=$BROKER_DESC
    for s in $SIZES; do PARTS[$BN:$s]=${NPART[$s]}; done
    broker_stop "$BN"
done

# ---- tables -------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }
row() { # BROKER PATH SIZE KEY
    local b=$1 s=$3 k=$4
    printf '%-8s %6s %9s %6s %12s %12s %12s %6s %9s %9s\n' "$2" "$s" "${NREC[$s]}" "${PARTS[$b:$s]}" \
        "${RES[$b:${k}raw$s]}" "${RES[$b:${k}ferry$s]}" "${RES[$b:${k}raw_self$s]}" \
        "$(ratio "${RES[$b:${k}ferry$s]}" "${RES[$b:${k}raw$s]}")" "${RES[$b:${k}ferry_rss$s]}" "${RES[$b:${k}raw_rss$s]}"
}
for BN in $BROKERS; do
    printf '\n%s: %s\n' "$BN" "${DESC[$BN]}"
    printf '%-8s %6s %9s %6s %12s %12s %12s %6s %9s %9s\n' path size records parts "raw msgs/s" "ferry msgs/s" "raw self" ratio "ferry MB" "raw MB"
    for s in $SIZES; do
        row "$BN" produce "$s" p
        row "$BN" consume "$s" c
    done
    for s in $SIZES; do
        printf 'consume %s B vs raw with an unbounded queue (no fetch stall): raw %s msgs/s, %s MB; ratio %s\n' "$s" \
            "${RES[$BN:crawunbounded$s]}" "${RES[$BN:crawunbounded_rss$s]}" \
            "$(ratio "${RES[$BN:cferry$s]}" "${RES[$BN:crawunbounded$s]}")"
    done
done
for BN in $BROKERS; do
    for s in $SIZES; do
        printf '%s consume %s B of JSON, JSON converter + 3 transforms: %s msgs/s vs %s without (ratio %s, %s ns/record for the chain), %s MB\n' \
            "$BN" "$s" "${RES[$BN:cferryxf$s]}" "${RES[$BN:cferryplain$s]}" \
            "$(ratio "${RES[$BN:cferryxf$s]}" "${RES[$BN:cferryplain$s]}")" \
            "$(awk -v a="${RES[$BN:cferryxf$s]}" -v b="${RES[$BN:cferryplain$s]}" 'BEGIN { if (a > 0 && b > 0) printf "%.0f", 1e9 / a - 1e9 / b; else print "?" }')" \
            "${RES[$BN:cferryxf_rss$s]}"
    done
done
cat <<EOF

produce (raw and ferry): broker high watermarks, first record → all N records.
consume (raw and ferry): partitions assigned → N-th record consumed.
raw self: rdkafka_performance's own summary. ratio = ferry / raw (DESIGN target ≥ 0.9).
ferry MB: peak RSS (VmHWM) of the ferry worker; raw MB: rdkafka_performance's max RSS.
Both tools ran with ferry's default client settings (kafka_client_defaults()):
  producers: enable.idempotence=true $RAW_PRODUCER_X
  consumers: $RAW_CONSUMER_X
EOF
