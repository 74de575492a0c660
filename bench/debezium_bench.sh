#!/usr/bin/env bash
# debezium_bench.sh — postgres-cdc against Debezium's PostgreSQL connector, side by side: the same
# PostgreSQL 15, the same rows, the same Apache Kafka broker, one after the other in the same run
# (issue 13's benchmark; DESIGN.md §9). A benchmark, not a test: it prints figures, it asserts none.
#
#   bench/debezium_bench.sh [--rows N] [--rounds R] [--connect-heap SIZE] [--build DIR] [--keep]
#
# Workloads (rows of ~100 bytes into one captured table, table `rows`):
#   one-txn:   N rows (default 1,000,000) in one transaction;
#   small-txn: N/10 transactions of 10 rows.
# Each workload runs 2*R times (default R=1): Debezium first, then ferry first, so neither always
# decodes the WAL first. Each run truncates the table, creates both slots (pgoutput, one
# publication) before the load, loads, and then runs each tool from a cold start:
#   Debezium: a Kafka Connect distributed worker is started (heap --connect-heap, default 1g;
#             tests/kafka/kafka.sh) and given the connector (snapshot.mode no_data, the existing
#             slot, JsonConverter without schemas, as ferry); the worker is stopped afterwards.
#   ferry:    `ferry run` with the same settings (snapshot.mode no_data).
# Both write to topics of their own (one partition each, created before the tool starts) on the
# same broker. The span runs from launching the process (the JVM, or ferry) until the topic's high
# watermark has grown by N (every event is in Kafka: acknowledged by the broker, which is what a
# consumer can read); "start-up" is launch → first event in Kafka; the rate "after the first event"
# is N / (span - start-up), i.e. without the JVM's or ferry's start. Peak RSS: VmHWM of the process
# (the whole Connect worker for Debezium: that is what a user runs) just before it is stopped.
# Use a release build (default build/release): ASan builds are 2-3x slower.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
ROWS=1000000
ROUNDS=1
HEAP=1g
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --connect-heap) HEAP=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--rows N] [--rounds R] [--connect-heap SIZE] [--build DIR] [--keep]" >&2; exit 64 ;;
    esac
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "--rounds must be a positive integer" >&2; exit 64; }
[ "$ROWS" -ge 10 ] 2>/dev/null || { echo "--rows must be an integer of at least 10" >&2; exit 64; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_init debezium
. "$ROOT/tests/lib/pg.sh"
PG_NO_TRAP=1 PG_EXTRA_CONF="max_wal_size = 4GB
checkpoint_timeout = 30min
logical_decoding_work_mem = 256MB" pg_start
trap 'bench_cleanup; pg_stop' EXIT
bench_kafka_start
bench_watch_py "$WORK/watch.py"
log "broker $BROKER, PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')"

now() { date +%s.%N; }
mono() { $PY -c 'import time; print("%.6f" % time.monotonic())'; }

pg_psql "CREATE TABLE rows (id bigint PRIMARY KEY, name text, qty int, price numeric(10,2), note text)" \
    "CREATE PUBLICATION bench FOR TABLE rows" >/dev/null

create_topic() { # NAME
    $PY - "$BROKER" "$1" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.create_topics([NewTopic(sys.argv[2], 1, 1)]).values():
    f.result()
PY
}

# watch TOPIC OUT: starts the watcher and waits for its baseline.
watch() {
    $PY "$WORK/watch.py" "$BROKER" "$1" 1 "$ROWS" "$2" 2>"$2.err" &
    WATCH_PID=$!
    until [ -f "$2.ready" ]; do
        kill -0 "$WATCH_PID" 2>/dev/null || { cat "$2.err" >&2; exit 1; }
        sleep 0.05
    done
}

# wait_watch PID OUT LOG: until the watcher is done; dies with the tool's log if it failed.
wait_watch() {
    local pid=$1 out=$2 logf=$3 tool=$4
    while kill -0 "$WATCH_PID" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$logf" >&2
            log "$tool exited before every event was in Kafka"
            exit 1
        fi
        sleep 0.2
    done
    wait "$WATCH_PID" || { cat "$out.err" >&2; exit 1; }
}

run_debezium() { # ID; sets SPAN START RSS
    local id=$1 dir=$WORK/connect-$1 t0 pid url
    create_topic "dbz_$id.public.rows"
    watch "dbz_$id.public.rows" "$WORK/w-dbz-$id"
    t0=$(mono)
    url=$(FERRY_CONNECT_HEAP=$HEAP "$KAFKA_SH" connect-start "$dir" "$BROKER" 2>"$WORK/connect-start-$id.log") ||
        { cat "$WORK/connect-start-$id.log" >&2; exit 1; }
    pid=$(cat "$dir/connect.pid")
    PIDS+=("$pid")
    cat >"$WORK/dbz-$id.json" <<JSON
{
  "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "tasks.max": "1",
  "database.hostname": "127.0.0.1", "database.port": "$PGPORT", "database.user": "postgres",
  "database.password": "unused", "database.dbname": "postgres",
  "plugin.name": "pgoutput", "slot.name": "dbz_bench", "publication.name": "bench",
  "publication.autocreate.mode": "disabled", "snapshot.mode": "no_data",
  "topic.prefix": "dbz_$id", "table.include.list": "public.rows",
  "key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
  "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false"
}
JSON
    curl -sf -o /dev/null -X PUT -H 'Content-Type: application/json' --data-binary "@$WORK/dbz-$id.json" \
        "$url/connectors/dbz/config" || { log "Connect refused Debezium"; exit 1; }
    wait_watch "$pid" "$WORK/w-dbz-$id" "$dir/connect.log" Debezium
    RSS=$(bench_vmhwm_mb "$pid")
    "$KAFKA_SH" connect-stop "$dir" 2>/dev/null || true
    read -r first all _ <"$WORK/w-dbz-$id"
    SPAN=$(echo "$all - $t0" | bc)
    START=$(echo "$first - $t0" | bc)
}

run_ferry() { # ID; sets SPAN START RSS
    local id=$1 t0 pid
    create_topic "fer_$id.public.rows"
    cat >"$WORK/ferry-$id.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
connectors:
  bench:
    connector: postgres-cdc
    conninfo: "$PG_CONNINFO"
    topic.prefix: fer_$id
    table.include.list: public.rows
    publication.name: bench
    publication.autocreate: disabled
    slot.name: ferry_bench
    snapshot.mode: never
    key.converter: org.apache.kafka.connect.json.JsonConverter
    key.converter.schemas.enable: false
    value.converter: org.apache.kafka.connect.json.JsonConverter
    value.converter.schemas.enable: false
YAML
    watch "fer_$id.public.rows" "$WORK/w-fer-$id"
    t0=$(mono)
    "$FERRY" run "$WORK/ferry-$id.yaml" >"$WORK/ferry-$id.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_watch "$pid" "$WORK/w-fer-$id" "$WORK/ferry-$id.log" ferry
    RSS=$(bench_vmhwm_mb "$pid")
    kill -TERM "$pid"
    wait "$pid" || true
    read -r first all _ <"$WORK/w-fer-$id"
    SPAN=$(echo "$all - $t0" | bc)
    START=$(echo "$first - $t0" | bc)
}

gen_one_txn() {
    echo "INSERT INTO rows SELECT g, 'name-' || g, g % 1000, (g % 100000) / 100.0,
        repeat('x', 40) FROM generate_series(1, $ROWS) g;"
}
gen_small_txns() {
    local i
    for ((i = 0; i < ROWS / 10; i++)); do
        echo "INSERT INTO rows SELECT g, 'name-' || g, g % 1000, (g % 100000) / 100.0, repeat('x', 40)
            FROM generate_series($((i * 10 + 1)), $((i * 10 + 10))) g;"
    done
}

RESULTS=$WORK/results.tsv
: >"$RESULTS"
run_once() { # WORKLOAD GENERATOR ORDER ROUND
    local name=$1 gen=$2 order=$3 round=$4 id t0 t1 tool
    id="${name//-/_}_${order}${round}"
    pg_psql "TRUNCATE rows" >/dev/null
    pg_psql "SELECT pg_create_logical_replication_slot('ferry_bench', 'pgoutput')" \
        "SELECT pg_create_logical_replication_slot('dbz_bench', 'pgoutput')" >/dev/null
    t0=$(now)
    $gen | pg_psql >/dev/null
    t1=$(now)
    log "$name ($order): $ROWS rows loaded in $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s"
    for tool in $( [ "$order" = df ] && echo "debezium ferry" || echo "ferry debezium"); do
        "run_$tool" "$id"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$order" "$tool" "$SPAN" "$START" "$RSS" >>"$RESULTS"
        $PY -c 'import sys; n, s, st, r = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"{sys.argv[1]:<40} {n / s:>10,.0f} events/s ({s:.2f} s)   start-up {st:.2f} s   peak RSS {r} MB")' \
            "$name $order $tool" "$ROWS" "$SPAN" "$START" "$RSS"
    done
    pg_psql "SELECT pg_drop_replication_slot('ferry_bench')" "SELECT pg_drop_replication_slot('dbz_bench')" >/dev/null
}

echo "postgres-cdc vs Debezium 3.6.1.Final (Connect heap $HEAP), $ROWS rows of ~100 bytes, same broker"
for ((round = 1; round <= ROUNDS; round++)); do
    run_once one-txn gen_one_txn df "$round"
    run_once one-txn gen_one_txn fd "$round"
    run_once small-txn gen_small_txns df "$round"
    run_once small-txn gen_small_txns fd "$round"
done

echo
echo "summary: medians over $((2 * ROUNDS)) runs per tool and workload (events/s = rows / span)"
$PY - "$ROWS" "$RESULTS" <<'PY'
import statistics, sys
n = int(sys.argv[1])
runs = {}
for line in open(sys.argv[2]):
    w, order, tool, span, start, rss = line.rstrip("\n").split("\t")
    runs.setdefault(w, {}).setdefault(tool, []).append((float(span), float(start), float(rss)))
print(f"{'workload':<10} {'Debezium':>24} {'ferry':>24} {'ratio':>6}   after the first event (Debezium / ferry, ratio)   start-up (Debezium / ferry)   peak RSS (Debezium / ferry)")
for w, tools in runs.items():
    d, f = tools["debezium"], tools["ferry"]
    ds, fs = statistics.median(x[0] for x in d), statistics.median(x[0] for x in f)
    dst, fst = statistics.median(x[1] for x in d), statistics.median(x[1] for x in f)
    # The rate once events flow: the span minus the start-up.
    dr, fr = n / (ds - dst), n / (fs - fst)
    print(f"{w:<10} {n / ds:>13,.0f} events/s {n / fs:>13,.0f} events/s {ds / fs:>6.2f}   "
          f"{dr:,.0f} / {fr:,.0f} events/s, {fr / dr:.2f}   "
          f"{dst:.1f} s / {fst:.2f} s   {max(x[2] for x in d):.0f} MB / {max(x[2] for x in f):.0f} MB")
PY
