# lib.sh — helpers of the http-sink tests, on top of tests/lib/common.sh.
# shellcheck source=/dev/null
source "$TESTLIB"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HTTPD="$FERRY_SOURCE_DIR/tests/http/httpd.py"

# httpd_start NAME [ARGS...]: starts tests/http/httpd.py (log $WORK/NAME.jsonl);
# sets HTTPD (http://127.0.0.1:PORT) and HTTPD_LOG.
httpd_start() {
    local name=$1
    shift
    HTTPD_LOG="$WORK/$name.jsonl"
    rm -f "$WORK/$name.port"
    /usr/bin/python3 "$HTTPD" --port-file "$WORK/$name.port" --log "$HTTPD_LOG" "$@" \
        >/dev/null 2>>"$WORK/$name-httpd.log" &
    PIDS+=("$!")
    wait_until 10 test -s "$WORK/$name.port" || fail "httpd.py did not start ($*)"
    HTTPD="http://127.0.0.1:$(cat "$WORK/$name.port")"
    log "receiver at $HTTPD ($*)"
}

# httpd_stats: the receiver's counters (JSON).
httpd_stats() { curl -sf -m 5 "$HTTPD/__stats"; }

# produce TOPIC PARTITION FROM TO [EXTRA]: records key k<i>, value
# {"id":"<TOPIC>-<PARTITION>-<i>","seq":<i>,"p":<PARTITION>EXTRA} for i in FROM..TO.
produce() {
    local topic=$1 p=$2 from=$3 to=$4 extra=${5:-}
    for ((i = from; i <= to; i++)); do
        printf 'k%d\t{"id":"%s-%d-%d","seq":%d,"p":%d%s}\n' "$i" "$topic" "$p" "$i" "$i" "$p" "$extra"
    done | kcat -b "$BROKER" -P -t "$topic" -p "$p" -K $'\t' 2>>"$WORK/kcat.log"
}

# check ARGS...: tests/connectors/http_sink/check.py on $HTTPD_LOG.
check() { /usr/bin/python3 "$HERE/check.py" "$HTTPD_LOG" "$@"; }

# worker_yaml: the worker part of a pipeline file.
worker_yaml() {
    cat <<YAML
worker:
  kafka:
    bootstrap.servers: "$BROKER"
    consumer.session.timeout.ms: "6000"
    consumer.heartbeat.interval.ms: "500"
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  shutdown.timeout: 20s
YAML
}

# arrived CHECK-ARGS...: check passes, and ferry still runs (else fail now).
arrived() {
    kill -0 "$FERRY_PID" 2>/dev/null || fail "ferry exited"
    check "$@" >/dev/null
}
