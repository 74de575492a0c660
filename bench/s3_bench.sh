#!/usr/bin/env bash
# s3_bench.sh — throughput and peak memory of the s3 plugin's two paths
# against the raw tools, on one s3rver and one broker in the same run
# (DESIGN.md §9). A benchmark, not a test: it prints figures, it asserts none.
#
#   bench/s3_bench.sh [--broker embedded|kafka] [--mib M] [--partitions P]
#                     [--flush-size N] [--build DIR] [--keep]
#
# M MiB of 1 KiB record values (default 1024: 1,048,576 records) are written
# into topic src before anything is timed, the same number into every
# partition (a Python producer with explicit partitions), so that flush.size
# divides every partition's count and every object closes by itself.
#
#   archive  ferry: s3-sink, topics src, format.class envelope, everything
#                   else at its default (s3.part.size 5 MiB, one task, no
#                   compression) but flush.size (below).
#            raw:   /usr/bin/aws s3 cp of one file of M MiB (random bytes, in
#                   the page cache) to the same bucket: multipart with the
#                   CLI's defaults (8 MiB parts, 10 concurrent requests).
#   replay   ferry: s3-source replaying that archive (topic.rename src →
#                   replay, a fresh topic with the same partitions), defaults.
#            raw:   rdkafka_performance -P -D producing the same number of
#                   1 KiB records to topic raw (same partitions) with ferry's
#                   producer settings (idempotent; kafka_client_defaults()
#                   linger.ms, queue.buffering.max.kbytes: bench/lib.sh
#                   bench_raw_props), sticky.partitioning.linger.ms=0.
#
# Brokers and volumes:
#   embedded (default): ferry dev-kafka, librdkafka's mock broker. It keeps
#     only ~5 MiB per partition (older batches are dropped), so the topics
#     get M/4 partitions of 4 MiB of values (4,096 records) each: 256 for
#     1 GiB. A partition then holds less than one 64 MiB object, so
#     flush.size is 4,096: one object per partition, ~5.7 MiB of envelope
#     each (a 5 MiB part and a ~0.7 MiB last part).
#   kafka: Apache Kafka (tests/kafka/kafka.sh, small default heap), P
#     partitions (default 8). flush.size 65,536: objects of 64 MiB of values
#     (~90 MiB of envelope, 18 parts), 2 per partition at 1 GiB.
#   --partitions and --flush-size override these; the record count is
#   rounded up so that every partition holds a multiple of flush.size.
#
# How time is measured (start-up of either program is never counted):
#   archive, ferry: from the sink task's "assigned N partition(s)" log line
#     (its consumer joined the group; fetching, encoding and uploading are
#     all after it) to the last "s3-sink: wrote KEY" line (ferry runs with
#     --log-level debug for these; ms time stamps): the moment the server
#     answered the last object's CompleteMultipartUpload or PUT. The object
#     count and total size are then read back from the server (aws s3 ls).
#     MB/s of values = M MiB / span; wire MB/s = the objects' bytes / span.
#     The ratio uses the values: the same M MiB reach the store either way,
#     envelope adds base64 (4/3) and JSON around each record (~1.4x).
#   archive, raw: the whole `aws s3 cp` command (its Python start-up, ~0.5 s,
#     included), M MiB / wall time.
#   replay, both: from the broker's side as kafka_bench.sh's produce: the
#     watcher sums the target topic's high watermarks about every 1 ms; first
#     record acknowledged → all N acknowledged. records/s = N / span.
#   peak RSS: ferry: VmHWM from /proc/PID/status just before SIGTERM; raw:
#     "Maximum resident set size" of /usr/bin/time -v.
#
# Needs what kafka_bench.sh needs (librdkafka-dev, cc, pkg-config,
# python3-confluent-kafka, /usr/bin/time) and what tests/s3 needs (node and
# npm for s3rver, /usr/bin/aws).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
BROKER_KIND=embedded
MIB=1024
PARTS=
FLUSH=
KEEP=0
SIZE=1024
while [ $# -gt 0 ]; do
    case $1 in
    --broker) BROKER_KIND=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    --flush-size) FLUSH=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done
case $BROKER_KIND in embedded | kafka) ;; *) echo "--broker must be embedded or kafka" >&2; exit 2 ;; esac

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_init s3-bench
[ -f "$PLUGINS/s3.so" ] || { echo "no s3 plugin in $PLUGINS" >&2; exit 2; }
$PY -c 'import confluent_kafka' 2>/dev/null || { echo "needs python3-confluent-kafka for $PY" >&2; exit 2; }
TIMEV=()
if [ -x /usr/bin/time ] && /usr/bin/time -v true 2>/dev/null; then TIMEV=(/usr/bin/time -v); fi
bench_rdkafka_performance
bench_watch_py "$WORK/watch.py"

# ---- volumes --------------------------------------------------------------------
N=$((MIB * 1024 * 1024 / SIZE))
if [ "$BROKER_KIND" = embedded ]; then
    [ -n "$PARTS" ] || PARTS=$(((MIB + 3) / 4))
    [ "$PARTS" -ge 1 ] || PARTS=1
    PER=$(((N + PARTS - 1) / PARTS))
    [ -n "$FLUSH" ] || FLUSH=$PER
else
    [ -n "$PARTS" ] || PARTS=8
    PER=$(((N + PARTS - 1) / PARTS))
    [ -n "$FLUSH" ] || FLUSH=65536
    [ "$FLUSH" -le "$PER" ] || FLUSH=$PER
fi
PER=$((((PER + FLUSH - 1) / FLUSH) * FLUSH))
N=$((PER * PARTS))
VALUE_BYTES=$((N * SIZE))
OBJECTS=$((N / FLUSH))
if [ "$BROKER_KIND" = embedded ] && [ $((PER * (SIZE + 40))) -gt $((5 * 1024 * 1024)) ]; then
    log "WARNING: $PER records of $SIZE B per partition exceed the mock broker's 5 MiB per partition"
fi

# ---- servers --------------------------------------------------------------------
bench_s3_start
log "s3rver at $S3_ENDPOINT (bucket $S3_BUCKET, data in $S3_DIR/data)"
case $BROKER_KIND in
embedded)
    "$FERRY" dev-kafka --topic "src:$PARTS" --topic "replay:$PARTS" --topic "raw:$PARTS" \
        >"$WORK/devkafka.out" 2>"$WORK/devkafka.log" &
    PIDS+=("$!")
    for _ in $(seq 100); do [ -s "$WORK/devkafka.out" ] && break; sleep 0.1; done
    BROKER=$(head -n1 "$WORK/devkafka.out")
    [ -n "$BROKER" ] || { echo "dev-kafka printed no address" >&2; exit 1; }
    BROKER_DESC="librdkafka mock broker (ferry dev-kafka)"
    ;;
kafka)
    bench_kafka_start
    $PY "$ROOT/tests/kafka/admin.py" recreate "$BROKER" "src:$PARTS" "replay:$PARTS" "raw:$PARTS" >/dev/null ||
        { echo "could not create the topics on $BROKER" >&2; exit 1; }
    BROKER_DESC="Apache Kafka $(basename "$("$KAFKA_SH" home)" | sed 's/^kafka-//'), one KRaft node"
    ;;
esac
log "$BROKER_KIND: $BROKER_DESC at $BROKER; ferry $("$FERRY" version 2>/dev/null | head -n1); $(nproc) CPUs"
log "$N records of $SIZE B ($((VALUE_BYTES / 1048576)) MiB of values) over $PARTS partitions ($PER each); flush.size $FLUSH → $OBJECTS objects"

# ---- helpers in Python ----------------------------------------------------------
cat >"$WORK/load.py" <<'PY'
# load.py BROKER TOPIC PARTS PER SIZE: PER records of SIZE random bytes (one
# block, reused; keys "k<i>") into each partition, then waits for delivery.
import os, sys
from confluent_kafka import Producer
broker, topic, parts, per, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
p = Producer({"bootstrap.servers": broker, "linger.ms": 20, "batch.size": 1000000,
              "queue.buffering.max.kbytes": 262144, "queue.buffering.max.messages": 1000000})
block = os.urandom(size)
for part in range(parts):
    for i in range(per):
        while True:
            try:
                p.produce(topic, block, key=b"k%d" % i, partition=part)
                break
            except BufferError:
                p.poll(0.05)
    p.poll(0)
left = p.flush(300)
sys.exit("%d records not delivered" % left if left else 0)
PY

cat >"$WORK/marks.py" <<'PY'
# marks.py BROKER TOPIC PARTS: prints "low_sum high_sum min_high max_high".
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "bench-marks"})
lo = hi = 0
his = []
for p in range(int(sys.argv[3])):
    l, h = c.get_watermark_offsets(TopicPartition(sys.argv[2], p), timeout=10)
    lo += l; hi += h; his.append(h)
c.close()
print(lo, hi, min(his), max(his))
PY

cat >"$WORK/sinkspan.py" <<'PY'
# sinkspan.py LOG CONNECTOR: from ferry's log, "span first_wrote_after writes":
# seconds from the sink task's first "assigned" line to its last "wrote" line,
# and to its first.
import re, sys, datetime
path, conn = sys.argv[1], sys.argv[2]
def ts(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
t_assign = None
wrote = []
for line in open(path, errors="replace"):
    if t_assign is None and re.search(r"\[%s/\d+\] assigned [1-9]\d* partition" % re.escape(conn), line):
        t_assign = ts(line)
    if "s3-sink: wrote " in line:
        wrote.append(ts(line))
if t_assign is None or not wrote:
    sys.exit("no 'assigned' or 'wrote' line in " + path)
print("%.3f %.3f %d" % (wrote[-1] - t_assign, wrote[0] - t_assign, len(wrote)))
PY

watch_start() { # TOPIC N NAME: starts the watcher, waits for its baseline; sets WATCH_PID
    $PY "$WORK/watch.py" "$BROKER" "$1" "$PARTS" "$2" "$WORK/$3.watch" 2>"$WORK/$3.watch.err" &
    WATCH_PID=$!
    PIDS+=("$WATCH_PID")
    for _ in $(seq 200); do [ -e "$WORK/$3.watch.ready" ] && return 0; sleep 0.05; done
    echo "watermark watcher did not start: $(cat "$WORK/$3.watch.err")" >&2
    exit 1
}
watch_wait() { # NAME: waits for the watcher; sets RATE (records/s) and SPAN (s)
    wait "$WATCH_PID" || { echo "watcher failed: $(cat "$WORK/$1.watch.err")" >&2; exit 1; }
    read -r RATE SPAN < <(awk -v n="$N" '{ d = $2 - $1; if (d <= 0) d = 1e-6; printf "%.0f %.3f\n", n / d, d }' "$WORK/$1.watch")
}

ferry_config() { # FILE, then connector YAML on stdin
    {
        cat <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  plugin.path: $PLUGINS
  progress.interval: 100ms
  offsets.store: file
  offsets.file: $WORK/offsets.dat
connectors:
YAML
        cat
    } >"$1"
}
store_yaml() {
    cat <<YAML
    store.url: $S3_ENDPOINT
    s3.bucket.name: $S3_BUCKET
    aws.access.key.id: $AWS_ACCESS_KEY_ID
    aws.secret.access.key: \${env:AWS_SECRET_ACCESS_KEY}
YAML
}
ferry_stop() { # PID: SIGTERM and wait (up to 60 s)
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    wait "$1" 2>/dev/null || log "ferry exited $? (see $WORK)"
}
mbps() { awk -v b="$1" -v d="$2" 'BEGIN { if (d > 0) printf "%.1f", b / 1048576 / d; else print "?" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }
now() { date +%s.%N; }

# ---- the topic to archive --------------------------------------------------------
log "writing $N records into src"
t0=$SECONDS
$PY "$WORK/load.py" "$BROKER" src "$PARTS" "$PER" "$SIZE" || { echo "load.py failed" >&2; exit 1; }
read -r lo hi hmin hmax < <($PY "$WORK/marks.py" "$BROKER" src "$PARTS")
log "src holds offsets $lo..$hi (per partition $hmin..$hmax) after $((SECONDS - t0)) s"
[ "$lo" = 0 ] && [ "$hi" = "$N" ] || log "WARNING: src holds offsets $lo..$hi, expected 0..$N (mock broker retention?)"

# ---- archive: raw --------------------------------------------------------------
log "archive raw: aws s3 cp of $MIB MiB"
head -c "$VALUE_BYTES" /dev/urandom >"$WORK/raw.bin"
cat "$WORK/raw.bin" >/dev/null # in the page cache
t_a=$(now)
"${TIMEV[@]}" "$ROOT/tests/s3/s3.sh" aws "$S3_DIR" s3 cp --only-show-errors "$WORK/raw.bin" \
    "s3://$S3_BUCKET/raw/raw.bin" >"$WORK/aws-cp.out" 2>"$WORK/aws-cp.err" ||
    { cat "$WORK/aws-cp.out" "$WORK/aws-cp.err" >&2; exit 1; }
t_b=$(now)
rm -f "$WORK/raw.bin"
A_RAW_S=$(awk -v a="$t_a" -v b="$t_b" 'BEGIN { printf "%.3f", b - a }')
A_RAW=$(mbps "$VALUE_BYTES" "$A_RAW_S")
A_RAW_RSS=$(bench_time_rss_mb "$WORK/aws-cp.err")
log "archive raw: $A_RAW MB/s ($A_RAW_S s), peak RSS $A_RAW_RSS MB"

# ---- archive: ferry ------------------------------------------------------------
log "archive ferry: s3-sink, envelope, flush.size $FLUSH"
ferry_config "$WORK/archive.yaml" <<YAML
  archive:
    connector: s3-sink
    topics: src
    topics.dir: archive
    format.class: envelope
    flush.size: $FLUSH
$(store_yaml)
YAML
"$FERRY" run "$WORK/archive.yaml" --log-level debug >"$WORK/archive.log" 2>&1 &
fpid=$!
PIDS+=("$fpid")
end=$((SECONDS + 900))
while [ "$(grep -c 's3-sink: wrote ' "$WORK/archive.log" || true)" -lt "$OBJECTS" ]; do
    if ! kill -0 "$fpid" 2>/dev/null || [ $SECONDS -ge $end ]; then
        echo "s3-sink did not write $OBJECTS objects; log: $WORK/archive.log" >&2
        KEEP=1
        exit 1
    fi
    sleep 0.2
done
A_FERRY_RSS=$(bench_vmhwm_mb "$fpid")
ferry_stop "$fpid"
read -r A_SPAN A_FIRST A_WROTE < <($PY "$WORK/sinkspan.py" "$WORK/archive.log" archive)
bench_aws s3 ls --recursive --summarize "s3://$S3_BUCKET/archive/" >"$WORK/archive.ls" 2>"$WORK/archive.ls.err" || true
A_OBJS=$(sed -n 's/.*Total Objects: *\([0-9]*\).*/\1/p' "$WORK/archive.ls")
A_WIRE=$(sed -n 's/.*Total Size: *\([0-9]*\).*/\1/p' "$WORK/archive.ls")
[ "$A_OBJS" = "$OBJECTS" ] || log "WARNING: the server lists ${A_OBJS:-?} objects under archive/, expected $OBJECTS"
A_FERRY=$(mbps "$VALUE_BYTES" "$A_SPAN")
A_FERRY_WIRE=$(mbps "${A_WIRE:-0}" "$A_SPAN")
log "archive ferry: $A_FERRY MB/s of values, $A_FERRY_WIRE MB/s on the wire ($A_SPAN s; first object after $A_FIRST s), peak RSS $A_FERRY_RSS MB"

# ---- replay: raw ---------------------------------------------------------------
log "replay raw: rdkafka_performance -P, $N × $SIZE B"
RAW_PRODUCER_X=$(bench_raw_props producer "$RAW_PRODUCER_KEYS")
watch_start raw "$N" praw
# shellcheck disable=SC2086 # RAW_PRODUCER_X is a list of words
"${TIMEV[@]}" "$RDPERF" -P -t raw -b "$BROKER" -s "$SIZE" -c "$N" -D \
    -X enable.idempotence=true -X sticky.partitioning.linger.ms=0 $RAW_PRODUCER_X \
    >"$WORK/praw.out" 2>"$WORK/praw.err"
watch_wait praw
R_RAW=$RATE R_RAW_S=$SPAN
R_RAW_SELF=$(sed -n 's/.* delivered .* in [0-9]*ms: \([0-9]*\) msgs\/s.*/\1/p' "$WORK/praw.out" | tail -n1)
R_RAW_RSS=$(bench_time_rss_mb "$WORK/praw.err")
read -r lo hi _ _ < <($PY "$WORK/marks.py" "$BROKER" raw "$PARTS")
[ "$lo" = 0 ] && [ "$hi" = "$N" ] || log "WARNING: raw holds offsets $lo..$hi, expected 0..$N (mock broker retention?)"
log "replay raw: $R_RAW records/s ($R_RAW_S s; self-reported ${R_RAW_SELF:-?}), peak RSS $R_RAW_RSS MB"

# ---- replay: ferry -------------------------------------------------------------
log "replay ferry: s3-source → replay"
ferry_config "$WORK/replay.yaml" <<YAML
  replay:
    connector: s3-source
    topics: src
    topic.rename: {src: replay}
    topics.dir: archive
$(store_yaml)
YAML
watch_start replay "$N" pferry
"$FERRY" run "$WORK/replay.yaml" >"$WORK/replay.log" 2>&1 &
fpid=$!
PIDS+=("$fpid")
watch_wait pferry
R_FERRY=$RATE R_FERRY_S=$SPAN
R_FERRY_RSS=$(bench_vmhwm_mb "$fpid")
ferry_stop "$fpid"
read -r lo hi _ _ < <($PY "$WORK/marks.py" "$BROKER" replay "$PARTS")
[ "$lo" = 0 ] && [ "$hi" = "$N" ] || log "WARNING: replay holds offsets $lo..$hi, expected 0..$N"
log "replay ferry: $R_FERRY records/s ($R_FERRY_S s), peak RSS $R_FERRY_RSS MB"

# ---- tables --------------------------------------------------------------------
WIRE_X=$(awk -v w="${A_WIRE:-0}" -v v="$VALUE_BYTES" 'BEGIN { printf "%.2f", w / v }')
cat <<EOF

$BROKER_KIND: $BROKER_DESC; s3rver 5.0.0 on $S3_DIR/data
$N records of $SIZE B ($((VALUE_BYTES / 1048576)) MiB of values), $PARTS partitions × $PER

archive   raw MB/s   ferry MB/s (values)   ferry MB/s (wire)   ratio (values)   ratio (wire)   ferry MB   raw MB
$(printf '%-9s %8s %21s %19s %16s %14s %10s %8s' "" "$A_RAW" "$A_FERRY" "$A_FERRY_WIRE" \
    "$(ratio "$A_FERRY" "$A_RAW")" "$(ratio "$A_FERRY_WIRE" "$A_RAW")" "$A_FERRY_RSS" "$A_RAW_RSS")

replay    raw rec/s   ferry rec/s   raw self   ratio   ferry MB   raw MB
$(printf '%-9s %11s %13s %10s %7s %10s %8s' "" "$R_RAW" "$R_FERRY" "${R_RAW_SELF:-?}" \
    "$(ratio "$R_FERRY" "$R_RAW")" "$R_FERRY_RSS" "$R_RAW_RSS")

archive: ferry = s3-sink envelope, flush.size $FLUSH, s3.part.size 5 MiB (default): ${A_OBJS:-?} objects,
  ${A_WIRE:-?} bytes on the wire (${WIRE_X}x the values); span = sink "assigned" → last object written
  ($A_SPAN s; the first object was written after $A_FIRST s). raw = aws s3 cp of one $MIB MiB file
  (8 MiB parts, 10 concurrent requests), whole command ($A_RAW_S s). The ratio column uses value MB/s.
replay: broker high watermarks, first record → all $N ($R_FERRY_S s ferry, $R_RAW_S s raw).
  raw = rdkafka_performance -P -D -X enable.idempotence=true -X sticky.partitioning.linger.ms=0 $RAW_PRODUCER_X
ferry MB: peak RSS (VmHWM) of the ferry worker; raw MB: max RSS of /usr/bin/time -v.
EOF
