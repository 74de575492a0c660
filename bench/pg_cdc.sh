#!/usr/bin/env bash
# pg_cdc.sh — postgres-cdc throughput against pg_recvlogical, on the same
# throwaway PostgreSQL 15 in the same run (DESIGN.md §9). A benchmark, not a
# test: it prints figures, it asserts none.
#
#   bench/pg_cdc.sh [--rows N] [--rounds R] [--build DIR] [--keep]
#
# Two workloads, each ~100-byte rows into one captured table:
#   one-txn:   N rows (default 1,000,000) inserted in one transaction;
#   small-txn: N/10 transactions of 10 rows.
# Each workload runs 2*R times (default R=1, i.e. twice), once per order in
# each round: raw-then-ferry and ferry-then-raw, so neither tool always gets
# the WAL first (page cache, server state). Every run truncates the table,
# creates two logical slots (pgoutput, same publication) before the load and
# loads anew, so both tools decode exactly the same WAL from the same point;
# the first tool is stopped before the second starts:
#   raw:   pg_recvlogical --start -o proto_version=1 -o publication_names=...
#          --endpos=<WAL end after the load> -f /dev/null; timed from start
#          to exit.
#   ferry: `ferry run` (snapshot.mode never, heartbeats off, offsets flushed
#          every 100 ms) against `ferry dev-kafka`; timed from start until the
#          slot's confirmed_flush_lsn passes the marker transaction committed
#          last. The slot is confirmed only after the offsets holding the LSN
#          are durable in the offsets topic, i.e. after Kafka acknowledged
#          every event before it: this is "first WAL → last event acknowledged"
#          plus at most one offset flush interval (100 ms), so it errs against
#          ferry. Start-up (connecting, dev-kafka metadata) is inside the span
#          for both. Each run uses its own topic prefix (source partition),
#          as its slot is new.
# Output: one line per run (with its order and ratio raw s / ferry s), then
# per workload each tool's median and mean span over its runs (events/s is
# N / that span), the ratio per order, and the overall ratio of the median
# spans and of the mean spans. (With R=1 each tool has two runs, so median
# and mean coincide.)
# Peak RSS: VmHWM of the ferry process just before it is stopped; the summary
# gives the largest over the workload's runs.
# The mock broker keeps ~5 MiB per partition and drops older batches; nothing
# is read back, so that does not matter here (64 partitions anyway).
# Use a release build (default build/release): ASan builds are 2-3x slower.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
ROWS=1000000
ROUNDS=1
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--rows N] [--rounds R] [--build DIR] [--keep]" >&2; exit 64 ;;
    esac
done
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "--rounds must be a positive integer" >&2; exit 64; }
FERRY=$BUILD/ferry
[ -x "$FERRY" ] || { echo "no ferry binary at $FERRY (cmake --preset release && cmake --build build/release)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/ferry-bench-pg.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pg_stop
    [ "$KEEP" = 1 ] && echo "work dir kept: $WORK" >&2 || rm -rf "$WORK"
}
. "$ROOT/tests/lib/pg.sh"
PG_NO_TRAP=1 PG_EXTRA_CONF="max_wal_size = 4GB
checkpoint_timeout = 30min
logical_decoding_work_mem = 256MB" pg_start
trap cleanup EXIT

now() { date +%s.%N; }
lsn_num() { /usr/bin/python3 -c 'import sys; a, b = sys.argv[1].split("/"); print(int(a, 16) << 32 | int(b, 16))' "$1"; }
confirmed() { pg_psql "SELECT coalesce(confirmed_flush_lsn, '0/0') FROM pg_replication_slots WHERE slot_name = '$1'"; }

# One topic per run: each run has a topic prefix of its own (see run_ferry).
TOPICS=()
for ((round = 1; round <= ROUNDS; round++)); do
    for w in one_txn small_txn; do
        for o in rf fr; do TOPICS+=(--topic "bench_${w}_${o}${round}.public.rows:64"); done
    done
done
"$FERRY" dev-kafka "${TOPICS[@]}" >"$WORK/devkafka.out" 2>"$WORK/devkafka.log" &
PIDS+=($!)
until head -n 1 "$WORK/devkafka.out" 2>/dev/null | grep -q :; do sleep 0.1; done
BROKER=$(head -n 1 "$WORK/devkafka.out")

pg_psql "CREATE TABLE rows (id bigint PRIMARY KEY, name text, qty int, price numeric(10,2), note text)" \
    "CREATE TABLE marker (id int PRIMARY KEY)" \
    "CREATE PUBLICATION bench FOR TABLE rows, marker" >/dev/null

cat >"$WORK/run.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {flush.interval: 100ms}
connectors:
  bench:
    connector: postgres-cdc
    conninfo: "$PG_CONNINFO"
    topic.prefix: PREFIX
    publication.name: bench
    publication.autocreate: disabled
    slot.name: ferry_bench
    snapshot.mode: never
    heartbeat.interval: 0
    status.update.interval: 100ms
YAML

RESULTS=$WORK/results.tsv
: >"$RESULTS"

run_raw() { # END-LSN; sets RAW_S
    local r0 r1
    r0=$(now)
    "$PG_BIN/pg_recvlogical" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -S recv_bench --start \
        -o proto_version=1 -o publication_names=bench --endpos="$1" -f /dev/null 2>"$WORK/recv.log"
    r1=$(now)
    RAW_S=$(echo "$r1 - $r0" | bc)
}

run_ferry() { # RUN-ID TARGET-LSN; sets FERRY_S and FERRY_RSS (KiB)
    local id=$1 f0 f1 pid tnum
    tnum=$(lsn_num "$2")
    # A source partition of its own per run: the slot is new each time.
    sed "s|PREFIX|bench_${id}|" "$WORK/run.yaml" >"$WORK/run-$id.yaml"
    f0=$(now)
    "$FERRY" run "$WORK/run-$id.yaml" >"$WORK/ferry-$id.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    until [ "$(lsn_num "$(confirmed ferry_bench)")" -ge "$tnum" ]; do
        if ! kill -0 "$pid" 2>/dev/null || grep -q " ERROR " "$WORK/ferry-$id.log"; then
            tail -n 20 "$WORK/ferry-$id.log" >&2
            echo "ferry failed" >&2
            exit 1
        fi
        sleep 0.02
    done
    f1=$(now)
    FERRY_RSS=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid" || true
    FERRY_S=$(echo "$f1 - $f0" | bc)
}

run_once() { # NAME SQL-GENERATOR ORDER(rf|fr) ROUND
    local name=$1 gen=$2 order=$3 round=$4
    pg_psql "TRUNCATE rows, marker" >/dev/null
    pg_psql "SELECT pg_create_logical_replication_slot('ferry_bench', 'pgoutput')" \
        "SELECT pg_create_logical_replication_slot('recv_bench', 'pgoutput')" >/dev/null
    local t0 t1
    t0=$(now)
    $gen | pg_psql >/dev/null
    t1=$(now)
    # The marker commits last; its commit record starts at this LSN (nothing
    # else writes WAL meanwhile) and ferry confirms exactly that position.
    local target end
    target=$(pg_psql "BEGIN; INSERT INTO marker VALUES (1); SELECT pg_current_wal_insert_lsn(); COMMIT" | head -n 1)
    end=$(pg_psql "SELECT pg_current_wal_lsn()")
    local label
    [ "$order" = rf ] && label=raw-first || label=ferry-first
    printf '%-10s %-11s load: %d rows in %.1f s\n' "$name" "$label" "$ROWS" "$(echo "$t1 - $t0" | bc)"

    local id="${name//-/_}_${order}${round}"
    if [ "$order" = rf ]; then
        run_raw "$end"
        run_ferry "$id" "$target"
    else
        run_ferry "$id" "$target"
        run_raw "$end"
    fi
    pg_psql "SELECT pg_drop_replication_slot('ferry_bench')" "SELECT pg_drop_replication_slot('recv_bench')" >/dev/null

    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$order" "$RAW_S" "$FERRY_S" "$FERRY_RSS" >>"$RESULTS"
    /usr/bin/python3 - "$name" "$label" "$ROWS" "$RAW_S" "$FERRY_S" "$FERRY_RSS" <<'PY'
import sys
name, label, n, raw, fer, rss = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
print(f"{name:<10} {label:<11} pg_recvlogical {n / raw:>10,.0f} ev/s ({raw:.2f} s)   ferry {n / fer:>10,.0f} ev/s "
      f"({fer:.2f} s)   ratio {raw / fer:.2f}   ferry peak RSS {rss / 1024:.1f} MiB")
PY
}

run_workload() { # NAME SQL-GENERATOR
    local round
    for ((round = 1; round <= ROUNDS; round++)); do
        run_once "$1" "$2" rf "$round"
        run_once "$1" "$2" fr "$round"
    done
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

echo "postgres-cdc vs pg_recvlogical, $ROWS rows of ~100 bytes, PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}')"
run_workload one-txn gen_one_txn
run_workload small-txn gen_small_txns

echo
echo "summary: $ROUNDS round(s), $((2 * ROUNDS)) runs per tool and workload; ev/s = rows / span"
/usr/bin/python3 - "$ROWS" "$RESULTS" <<'PY'
import statistics, sys
n = int(sys.argv[1])
runs = {}
for line in open(sys.argv[2]):
    w, order, raw, fer, rss = line.split("\t")
    runs.setdefault(w, []).append((order, float(raw), float(fer), int(rss)))
for w, rs in runs.items():
    raw = [r[1] for r in rs]
    fer = [r[2] for r in rs]
    for tool, xs in (("pg_recvlogical", raw), ("ferry", fer)):
        med, mean = statistics.median(xs), statistics.mean(xs)
        print(f"{w:<10} {tool:<14} median {n / med:>10,.0f} ev/s ({med:.2f} s)   "
              f"mean {n / mean:>10,.0f} ev/s ({mean:.2f} s)   runs " + " ".join(f"{x:.2f}" for x in xs))
    per = []
    for order, label in (("rf", "raw-first"), ("fr", "ferry-first")):
        sel = [r for r in rs if r[0] == order]
        r_o = statistics.mean(r[1] for r in sel) / statistics.mean(r[2] for r in sel)
        per.append(f"{label} {r_o:.2f}")
    print(f"{w:<10} ratio          {'   '.join(per)}   overall {statistics.median(raw) / statistics.median(fer):.2f} (medians), "
          f"{statistics.mean(raw) / statistics.mean(fer):.2f} (means)   ferry peak RSS max {max(r[3] for r in rs) / 1024:.1f} MiB")
PY
