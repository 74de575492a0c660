# bench/lib.sh — what the Apache Kafka benchmarks latency.sh and scale_out.sh share. Sourced after
# a script has read its options (ROOT, BUILD and KEEP set).
#
#   bench_init NAME      FERRY, PLUGINS, PY, KAFKA_SH; log() with a [NAME] prefix; WORK (a fresh
#                        /tmp/ferry-NAME.* folder); PIDS (processes cleanup stops); the EXIT trap
#                        that stops them and the broker and removes WORK unless KEEP=1
#   bench_kafka_start    fetches the jars, starts a broker in $WORK/kafka, sets BROKER

bench_init() {
    BENCH_NAME=$1
    FERRY=$BUILD/ferry
    PLUGINS=$BUILD/plugins
    PY=/usr/bin/python3
    KAFKA_SH=$ROOT/tests/kafka/kafka.sh
    [ -x "$FERRY" ] || { echo "no ferry binary at $FERRY (build a Release tree first, see bench/README.md)" >&2; exit 2; }
    WORK=$(mktemp -d "/tmp/ferry-$BENCH_NAME.XXXXXX")
    PIDS=()
    KAFKA_DIR=
    trap bench_cleanup EXIT
}

log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&2; }

bench_cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -z "$KAFKA_DIR" ] || "$KAFKA_SH" stop "$KAFKA_DIR" || true
    if [ "$KEEP" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}

bench_kafka_start() {
    "$KAFKA_SH" fetch
    KAFKA_DIR=$WORK/kafka
    BROKER=$("$KAFKA_SH" start "$KAFKA_DIR" 2>"$WORK/kafka-start.log") || { cat "$WORK/kafka-start.log" >&2; exit 1; }
}
