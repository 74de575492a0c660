#!/usr/bin/env bash
# scale_out.sh — sink scale-out on a real Apache Kafka: null-sink throughput
# with 1, 2 and 4 ferry worker processes sharing one consumer group, and the
# pause in processing while a worker leaves or joins a group of 100 tasks.
# A benchmark, not a test: it prints figures, it asserts none.
#
#   bench/scale_out.sh [--records N] [--partitions P] [--workers "1 2 4"]
#                      [--pause-rate R] [--strategy S]... [--skip-throughput]
#                      [--skip-pause] [--build DIR] [--keep]
#
# Throughput: a topic of P partitions (default 16) is filled once with N
# records (default 2,000,000 × 100 B, datagen). For each worker count W, W
# ferry processes run the same null-sink connector (tasks.max 1 each, one
# consumer group, fresh for each W) from the earliest offset. The rate is
# taken after the group has settled: from the last "assigned" line of any
# worker to the moment the workers' summed progress counters (progress.interval
# 100ms) reach N, records consumed in that span / its length.
#
# Pause: "100 tasks" means 100 consumer-group members: 4 workers each run
# the sink connector with tasks.max 25 on a topic of 100 partitions, so every
# task owns one partition. A datagen worker produces R records/s (default
# 5,000, keyed, so all partitions get records) throughout. Once the group is
# settled, worker 4 is stopped (SIGTERM: its 25 members leave the group), and
# after the group has settled again it is started again (25 members join).
# For each event the pause is the longest time, within the 20 s after it,
# between two increases of the summed progress counters of workers 1-3 (the
# ones that keep running), at 100 ms resolution; with no pause it reads
# ~0.1-0.2 s. Each --strategy (default: ferry's default and
# cooperative-sticky) runs the pause test once with
# consumer.partition.assignment.strategy set to it ("default" sets nothing).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
RECORDS=2000000
PARTITIONS=16
WORKERS="1 2 4"
PAUSE_RATE=5000
STRATEGIES=()
DO_THROUGHPUT=1
DO_PAUSE=1
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --records) RECORDS=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --pause-rate) PAUSE_RATE=$2; shift 2 ;;
    --strategy) STRATEGIES+=("$2"); shift 2 ;;
    --skip-throughput) DO_THROUGHPUT=0; shift ;;
    --skip-pause) DO_PAUSE=0; shift ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
    esac
done
[ ${#STRATEGIES[@]} -gt 0 ] || STRATEGIES=(default cooperative-sticky)

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_init scale-out
bench_kafka_start
log "Apache Kafka at $BROKER; $(nproc) CPUs"
RUNID=$$

# worker_yaml FILE PROPS: worker section (PROPS: extra worker.kafka entries),
# then the connectors from stdin.
worker_yaml() {
    {
        cat <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"$2}
  plugin.path: $PLUGINS
  progress.interval: 100ms
  offsets.store: file
  offsets.file: $1.offsets
connectors:
YAML
        cat
    } >"$1"
}

# start_worker NAME: runs ferry on $WORK/NAME.yaml, log $WORK/NAME.log; sets WPID.
start_worker() {
    "$FERRY" run "$WORK/$1.yaml" >"$WORK/$1.log" 2>&1 &
    WPID=$!
    PIDS+=("$WPID")
}
stop_pid() { # PID: SIGTERM and wait
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
# wait_for FILE REGEX SECONDS
wait_for() {
    local end=$((SECONDS + $3))
    until grep -Eq "$2" "$1"; do
        [ $SECONDS -lt $end ] || { KEEP=1; echo "timed out waiting for '$2' in $1" >&2; exit 1; }
        sleep 0.1
    done
}

cat >"$WORK/analyze.py" <<'PY'
# analyze.py rate N CONNECTOR LOG...: records/s of the workers together from
#   the last "assigned" line (any worker) to the moment their summed
#   progress counters reach N.
# analyze.py gap T_EVENT CONNECTOR LOG...: the longest time within 20 s after
#   T_EVENT (epoch s) between two increases of the summed counters.
# analyze.py span T_EVENT CONNECTOR LOG...: "SETTLED REVOKED": seconds from
#   T_EVENT to the last "assigned" line within 20 s after it (the group has
#   its new assignment), and how many "revoking" lines (tasks that stopped
#   consuming what they had) the logs show in that window.
import datetime, re, sys
mode, arg, conn, logs = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4:]
def ts(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()
prog = re.compile(r"\[%s\] (\d+) records \(" % re.escape(conn))
assign = re.compile(r"\[%s/\d+\] assigned [1-9]\d* partition" % re.escape(conn))
revoke = re.compile(r"\[%s/\d+\] revoking [1-9]\d* partition" % re.escape(conn))
events = []          # (t, worker, cumulative count)
last_assign = 0.0
assigns, revokes = [], []
for w, path in enumerate(logs):
    for line in open(path, errors="replace"):
        m = prog.search(line)
        if m:
            events.append((ts(line), w, int(m.group(1))))
        elif assign.search(line):
            last_assign = max(last_assign, ts(line))
            assigns.append(ts(line))
        elif revoke.search(line):
            revokes.append(ts(line))
events.sort()
counts = [0] * len(logs)
series = []          # (t, total) after each progress line
for t, w, c in events:
    counts[w] = c
    series.append((t, sum(counts)))
if mode == "rate":
    n = int(arg)
    base = max([tot for t, tot in series if t <= last_assign] or [0])
    t_end = next((t for t, tot in series if tot >= n), None)
    if t_end is None:
        sys.exit("the workers never reached %d records" % n)
    print("%.0f %.2f" % ((n - base) / (t_end - last_assign), t_end - last_assign))
elif mode == "span":
    t0, t1 = arg, arg + 20
    done = max([t for t in assigns if t0 <= t <= t1] or [float("nan")])
    print("%.2f %d" % (done - t0, sum(1 for t in revokes if t0 <= t <= t1)))
else:
    t0, t1 = arg, arg + 20
    rises = [t for (t, tot), (_, prev) in zip(series[1:], series[:-1]) if tot > prev and t0 - 1 <= t <= t1]
    gaps = [b - a for a, b in zip(rises[:-1], rises[1:]) if b >= t0]
    print("%.2f" % max(gaps or [float("nan")]))
PY

# ---- throughput with 1, 2, 4 workers ----------------------------------------------
declare -A RATE SPAN
if [ $DO_THROUGHPUT = 1 ]; then
    $PY "$ROOT/tests/kafka/admin.py" recreate "$BROKER" "so:$PARTITIONS" >/dev/null
    worker_yaml "$WORK/fill.yaml" "" <<YAML
  so-fill:
    connector: datagen
    topic: so
    count: $RECORDS
    rate: 0
    value.size: 100
YAML
    log "filling topic so ($PARTITIONS partitions) with $RECORDS records of 100 B"
    start_worker fill
    wait_for "$WORK/fill.log" "datagen finished" 600
    sleep 2
    stop_pid "$WPID"
    for w in $WORKERS; do
        conn=so-sink-$w-$RUNID
        logs=()
        for i in $(seq "$w"); do
            worker_yaml "$WORK/tp$w-$i.yaml" "" <<YAML
  $conn:
    connector: null-sink
    topics: so
    tasks.max: 1
YAML
        done
        wpids=()
        for i in $(seq "$w"); do start_worker "tp$w-$i"; wpids+=("$WPID"); logs+=("$WORK/tp$w-$i.log"); done
        end=$((SECONDS + 600))
        until $PY "$WORK/analyze.py" rate "$RECORDS" "$conn" "${logs[@]}" >"$WORK/tp$w.rate" 2>/dev/null; do
            [ $SECONDS -lt $end ] || { KEEP=1; echo "$w worker(s) did not consume $RECORDS records" >&2; exit 1; }
            sleep 0.5
        done
        for p in "${wpids[@]}"; do stop_pid "$p"; done
        read -r RATE[$w] SPAN[$w] <"$WORK/tp$w.rate"
        log "$w worker(s): ${RATE[$w]} records/s (over ${SPAN[$w]} s after the group settled)"
    done
fi

# ---- pause while a worker leaves / joins a group of 100 tasks ----------------------
declare -A LEAVE JOIN LSET LREV JSET JREV
if [ $DO_PAUSE = 1 ]; then
    for strat in "${STRATEGIES[@]}"; do
        topic=pause-${strat//[^a-z]/}
        $PY "$ROOT/tests/kafka/admin.py" recreate "$BROKER" "$topic:100" >/dev/null
        props=
        [ "$strat" = default ] || props=", \"consumer.partition.assignment.strategy\": \"$strat\""
        conn=pause-sink-${strat//[^a-z]/}-$RUNID
        worker_yaml "$WORK/gen-$strat.yaml" "" <<YAML
  pause-gen-${strat//[^a-z]/}:
    connector: datagen
    topic: $topic
    rate: $PAUSE_RATE
    value.size: 100
YAML
        for i in 1 2 3 4; do
            worker_yaml "$WORK/p-$strat-$i.yaml" "$props" <<YAML
  $conn:
    connector: null-sink
    topics: $topic
    tasks.max: 25
YAML
        done
        start_worker "gen-$strat"
        gpid=$WPID
        ppids=()
        for i in 1 2 3 4; do start_worker "p-$strat-$i"; ppids+=("$WPID"); done
        log "$strat: 4 workers × 25 sink tasks on 100 partitions, datagen at $PAUSE_RATE/s; settling"
        sleep 20
        t_leave=$(date +%s.%N)
        stop_pid "${ppids[3]}"
        log "$strat: worker 4 stopped (25 members left); settling"
        sleep 20
        mv "$WORK/p-$strat-4.log" "$WORK/p-$strat-4.first.log"
        t_join=$(date +%s.%N)
        start_worker "p-$strat-4"
        ppids[3]=$WPID
        log "$strat: worker 4 started again (25 members join); settling"
        sleep 22
        logs=("$WORK/p-$strat-1.log" "$WORK/p-$strat-2.log" "$WORK/p-$strat-3.log")
        LEAVE[$strat]=$($PY "$WORK/analyze.py" gap "$t_leave" "$conn" "${logs[@]}")
        JOIN[$strat]=$($PY "$WORK/analyze.py" gap "$t_join" "$conn" "${logs[@]}")
        read -r LSET[$strat] LREV[$strat] < <($PY "$WORK/analyze.py" span "$t_leave" "$conn" "${logs[@]}")
        read -r JSET[$strat] JREV[$strat] < <($PY "$WORK/analyze.py" span "$t_join" "$conn" "${logs[@]}" "$WORK/p-$strat-4.log")
        for p in "${ppids[@]}" "$gpid"; do stop_pid "$p"; done
        log "$strat: longest pause of workers 1-3: ${LEAVE[$strat]} s on leave, ${JOIN[$strat]} s on join;" \
            "settled after ${LSET[$strat]} s / ${JSET[$strat]} s, ${LREV[$strat]} / ${JREV[$strat]} tasks revoked"
    done
fi

# ---- tables -------------------------------------------------------------------------
if [ $DO_THROUGHPUT = 1 ]; then
    printf '\nnull-sink throughput, %s records of 100 B over %s partitions (Apache Kafka, %s CPUs)\n' \
        "$RECORDS" "$PARTITIONS" "$(nproc)"
    printf '%-8s %14s %12s\n' workers "records/s" "span s"
    for w in $WORKERS; do printf '%-8s %14s %12s\n' "$w" "${RATE[$w]}" "${SPAN[$w]}"; done
fi
if [ $DO_PAUSE = 1 ]; then
    printf '\nlongest pause of the 3 workers that keep running (100 tasks = 4 workers × tasks.max 25, 100 partitions, %s records/s)\n' "$PAUSE_RATE"
    printf '%-20s %8s %10s %8s %8s %10s %8s\n' strategy "leave s" "settled s" revoked "join s" "settled s" revoked
    for strat in "${STRATEGIES[@]}"; do
        printf '%-20s %8s %10s %8s %8s %10s %8s\n' "$strat" "${LEAVE[$strat]}" "${LSET[$strat]}" "${LREV[$strat]}" \
            "${JOIN[$strat]}" "${JSET[$strat]}" "${JREV[$strat]}"
    done
    cat <<EOF
leave s / join s: longest gap between increases of the summed progress counters of workers 1-3
  (sampled every 100 ms: ~0.1-0.2 s means no visible pause).
settled s: from the SIGTERM / start of worker 4 to the last "assigned" line of the rebalance.
revoked: "revoking" lines of workers 1-3 (and, on join, 4) in that window: tasks that stopped
  consuming their partitions (eager protocol: every task; cooperative: only moved partitions).
EOF
fi
