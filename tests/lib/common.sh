# common.sh — helpers for end-to-end tests that drive the ferry binary.
# Source it from a test script; ctest sets FERRY, FERRY_SOURCE_DIR,
# FERRY_BUILD_DIR and FERRY_PLUGIN_DIR.
#
# FERRY_TEST_BROKER chooses the Kafka that broker_start gives the test:
#   embedded (default)  the test starts its own `ferry dev-kafka`;
#   kafka               the suite's shared Apache Kafka broker, which ctest's
#                       kafka_start fixture started (tests/kafka/kafka.sh);
#                       its address is read from FERRY_KAFKA_BOOTSTRAP, else
#                       from $FERRY_KAFKA_DIR/bootstrap (default
#                       $FERRY_BUILD_DIR/kafka/bootstrap).
set -euo pipefail

: "${FERRY:?FERRY must point at the ferry binary}"
FERRY_TEST_BROKER=${FERRY_TEST_BROKER:-embedded}
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/ferry-${TEST_NAME}.XXXXXX")
PIDS=()
BROKER_PAUSED=0

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
fail() {
    trap - ERR
    log "FAIL: $*"
    for f in "$WORK"/*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 40 lines) ----" >&2
        tail -n 40 "$f" >&2
    done
    exit 1
}

# Any command that fails outside a condition ends the test: say which, where.
trap 'fail "command exited $? at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR

cleanup() {
    local pid
    # A shared broker outlives the test: never leave it stopped.
    [ "$BROKER_PAUSED" = 1 ] && { kill -CONT "$BROKER_PID" 2>/dev/null || true; }
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# wait_until TIMEOUT_S CMD... : polls CMD every 0.2 s until it succeeds.
wait_until() {
    local timeout=$1
    shift
    local end=$((SECONDS + timeout))
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}

# devkafka_start [args]: starts `ferry dev-kafka`, sets BROKER.
devkafka_start() {
    "$FERRY" dev-kafka "$@" >"$WORK/devkafka.out" 2>"$WORK/devkafka.log" &
    DEVKAFKA_PID=$!
    PIDS+=("$DEVKAFKA_PID")
    wait_until 20 test -s "$WORK/devkafka.out" || fail "dev-kafka printed no address"
    BROKER=$(head -n1 "$WORK/devkafka.out")
    log "dev-kafka at $BROKER"
}

# broker_start [--topic NAME[:PARTITIONS]]...: gives the test the Kafka that
# FERRY_TEST_BROKER names, with the topics listed (1 partition by default).
# Sets BROKER (bootstrap address), BROKER_PID (the broker's process, for
# broker_pause) and OFFSETS_TOPIC, which the test's pipelines must use as
# worker.offsets.topic.
#   embedded: `ferry dev-kafka --topic ...`; OFFSETS_TOPIC is ferry-offsets,
#             which dev-kafka creates.
#   kafka:    the shared broker keeps its topics between tests, so the listed
#             topics are deleted and created anew, and so is OFFSETS_TOPIC,
#             ferry-offsets-<test> (compacted, 25 partitions).
# The offsets topic is deleted here and ferry creates it (compacted), as on a
# new cluster; tests/kafka/ferry_offsets.sh checks how it was created.
broker_start() {
    case $FERRY_TEST_BROKER in
    embedded)
        devkafka_start "$@"
        BROKER_PID=$DEVKAFKA_PID
        OFFSETS_TOPIC=ferry-offsets
        ;;
    kafka) kafka_attach "$@" ;;
    *) fail "FERRY_TEST_BROKER must be 'embedded' or 'kafka', not '$FERRY_TEST_BROKER'" ;;
    esac
}

kafka_attach() {
    local dir=${FERRY_KAFKA_DIR:-$FERRY_BUILD_DIR/kafka} topics=()
    if [ -n "${FERRY_KAFKA_BOOTSTRAP:-}" ]; then
        BROKER=$FERRY_KAFKA_BOOTSTRAP
        BROKER_PID=
    else
        [ -s "$dir/bootstrap" ] || fail "no Apache Kafka running ($dir/bootstrap is missing): run the test through ctest, which starts it (fixture kafka_start), or start one with tests/kafka/kafka.sh start DIR and set FERRY_KAFKA_BOOTSTRAP"
        BROKER=$(cat "$dir/bootstrap")
        BROKER_PID=$(cat "$dir/kafka.pid" 2>/dev/null || true)
    fi
    kcat -b "$BROKER" -L -m 5 >/dev/null 2>>"$WORK/kcat.log" || fail "Apache Kafka at $BROKER does not answer"
    while [ $# -gt 0 ]; do
        case $1 in
        --topic) topics+=("$2"); shift 2 ;;
        *) fail "broker_start: unknown argument '$1'" ;;
        esac
    done
    OFFSETS_TOPIC=ferry-offsets-$TEST_NAME
    kafka_admin delete "$OFFSETS_TOPIC" || fail "could not delete the offsets topic $OFFSETS_TOPIC"
    if [ ${#topics[@]} -gt 0 ]; then
        kafka_admin recreate "${topics[@]}" || fail "could not create topics ${topics[*]}"
    fi
    log "Apache Kafka at $BROKER (topics: ${topics[*]:-none}; offsets topic $OFFSETS_TOPIC)"
}

# kafka_private_start [PROP=VALUE]...: an Apache Kafka broker of the test's
# own, in $WORK/kafka, for a test that needs other server properties than the
# shared broker's (e.g. auto.create.topics.enable=false). Sets BROKER and
# BROKER_PID; OFFSETS_TOPIC stays unset (ferry's default applies). cleanup
# kills it. Costs a broker start (3-5 s).
kafka_private_start() {
    BROKER=$(bash "$FERRY_SOURCE_DIR/tests/kafka/kafka.sh" start "$WORK/kafka" "$@" 2>>"$WORK/kafka-start.log") ||
        fail "the test's own Kafka broker did not start (see $WORK/kafka/kafka.log)"
    BROKER_PID=$(cat "$WORK/kafka/kafka.pid")
    PIDS+=("$BROKER_PID")
    log "own Apache Kafka at $BROKER ($*)"
}

# kafka_admin COMMAND ARGS...: tests/kafka/admin.py against $BROKER.
kafka_admin() {
    local cmd=$1
    shift
    /usr/bin/python3 "$FERRY_SOURCE_DIR/tests/kafka/admin.py" "$cmd" "$BROKER" "$@" 2>>"$WORK/admin.log"
}

# broker_pause / broker_resume: SIGSTOP and SIGCONT the broker, to make it
# stop answering without closing connections. cleanup resumes it.
broker_pause() {
    [ -n "$BROKER_PID" ] || fail "broker_pause: the broker's process is not known (FERRY_KAFKA_BOOTSTRAP?)"
    BROKER_PAUSED=1
    kill -STOP "$BROKER_PID"
}
broker_resume() {
    kill -CONT "$BROKER_PID"
    BROKER_PAUSED=0
}

# connect_start [PROP=VALUE]...: starts a Kafka Connect distributed worker on
# $BROKER (FERRY_TEST_BROKER=kafka only) in $WORK/connect, with the extra
# worker properties given; sets CONNECT_URL (its REST API). cleanup kills it.
connect_start() {
    [ "$FERRY_TEST_BROKER" = kafka ] || fail "connect_start needs FERRY_TEST_BROKER=kafka"
    CONNECT_URL=$(bash "$FERRY_SOURCE_DIR/tests/kafka/kafka.sh" connect-start "$WORK/connect" "$BROKER" "$@" \
        2>>"$WORK/connect-start.log") || fail "Kafka Connect did not start (see $WORK/connect/connect.log)"
    PIDS+=("$(cat "$WORK/connect/connect.pid")")
    log "Kafka Connect at $CONNECT_URL"
}

# ferry_start NAME CONFIG: runs `ferry run CONFIG` in the background, logging
# to $WORK/NAME.log; sets FERRY_PID.
ferry_start() {
    local name=$1 config=$2
    "$FERRY" run "$config" >>"$WORK/$name.log" 2>&1 &
    FERRY_PID=$!
    PIDS+=("$FERRY_PID")
}

# ferry_stop PID [TIMEOUT]: SIGTERM and wait; fails unless it exits 0 in time.
ferry_stop() {
    local pid=$1 timeout=${2:-40} rc=0
    kill -TERM "$pid"
    local end=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -lt $end ] || fail "ferry (pid $pid) did not exit within ${timeout}s of SIGTERM"
        sleep 0.1
    done
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "ferry exited $rc after SIGTERM (expected 0)"
}

# topic_dump TOPIC: every value of TOPIC, one per line, read with kcat.
topic_dump() {
    kcat -b "$BROKER" -C -t "$1" -o beginning -e -q -f '%s\n' 2>>"$WORK/kcat.log"
}

# topic_count TOPIC: number of records in TOPIC (kcat).
topic_count() {
    kcat -b "$BROKER" -C -t "$1" -o beginning -e -q -f 'x\n' 2>>"$WORK/kcat.log" | wc -l
}

# ---- S3 (tests/s3/s3.sh, tests/s3/faultproxy.py) ----
# A test registered with ferry_s3_test(TEST s3rver|moto) runs against the
# suite's shared S3 server of that kind; FERRY_S3_DIR names its folder.

# s3_env: reads the S3 server of $FERRY_S3_DIR and exports S3_SERVER (s3rver
# or moto), S3_ENDPOINT (http://127.0.0.1:PORT, path-style), S3_BUCKET,
# S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION.
# The bucket is shared by every test on that server: put the test's objects
# under s3_fresh_prefix.
s3_env() {
    local dir=${FERRY_S3_DIR:-}
    [ -n "$dir" ] || fail "FERRY_S3_DIR is not set: run the test through ctest (ferry_s3_test starts the server), or start one with tests/s3/s3.sh start s3rver|moto DIR and set FERRY_S3_DIR=DIR"
    [ -s "$dir/endpoint" ] || fail "no S3 server running in $dir ($dir/endpoint is missing)"
    # shellcheck source=/dev/null # written by tests/s3/s3.sh start
    . "$dir/env"
    export S3_SERVER S3_ENDPOINT S3_BUCKET S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
    curl -s -o /dev/null -m 5 "$S3_ENDPOINT/" || fail "the $S3_SERVER S3 server at $S3_ENDPOINT does not answer (log: $dir/server.log)"
    log "S3 ($S3_SERVER) at $S3_ENDPOINT, bucket $S3_BUCKET"
}

# aws_s3 ARG...: Debian's /usr/bin/aws against the test's S3 server, with its
# credentials and none of the user's (~/.aws is not read), e.g.
#   aws_s3 s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$PREFIX"
# With S3_AWS_ENDPOINT set (e.g. S3_AWS_ENDPOINT=$PROXY_ENDPOINT aws_s3 ...),
# it goes there instead.
aws_s3() {
    bash "$FERRY_SOURCE_DIR/tests/s3/s3.sh" aws "${FERRY_S3_DIR:?s3_env first}" "$@"
}

# s3_py ARG...: Python with the tests' S3-side readers (fastavro, zstandard,
# boto3), from moto's virtualenv.
s3_py() {
    bash "$FERRY_SOURCE_DIR/tests/s3/s3.sh" python "$@"
}

# s3_fresh_prefix NAME: prints a key prefix that no other test and no earlier
# run has used, ending in "/": TEST/NAME-TIME-PID-RANDOM/.
s3_fresh_prefix() {
    printf '%s/%s-%s-%s-%s/\n' "$TEST_NAME" "${1:?s3_fresh_prefix NAME}" "$(date -u +%Y%m%dT%H%M%S)" "$$" "$RANDOM"
}

# faultproxy_start [RULE]...: starts tests/s3/faultproxy.py in front of
# $S3_ENDPOINT with the rules given (OP:ACTION[:OPTION]..., e.g. PUT:500:3; see
# the head of faultproxy.py), logging to $WORK/faultproxy.log. Exports
# PROXY_ENDPOINT (http://127.0.0.1:PORT: point the client there; requests keep
# the Host the client signed) and PROXY_PID. cleanup kills it.
faultproxy_start() {
    [ -n "${S3_ENDPOINT:-}" ] || fail "faultproxy_start: s3_env first"
    local args=() rule
    for rule in "$@"; do args+=(--rule "$rule"); done
    rm -f "$WORK/faultproxy.port"
    /usr/bin/python3 "$FERRY_SOURCE_DIR/tests/s3/faultproxy.py" --upstream "$S3_ENDPOINT" \
        --port-file "$WORK/faultproxy.port" --log "$WORK/faultproxy.log" \
        --stats "$WORK/faultproxy.json" "${args[@]}" >/dev/null 2>>"$WORK/faultproxy-err.log" &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    wait_until 10 test -s "$WORK/faultproxy.port" || fail "faultproxy did not start (rules: $*)"
    PROXY_ENDPOINT="http://127.0.0.1:$(cat "$WORK/faultproxy.port")"
    export PROXY_ENDPOINT PROXY_PID
    log "faultproxy at $PROXY_ENDPOINT in front of $S3_ENDPOINT (rules: ${*:-none})"
}

# faultproxy_rules [RULE]...: replaces the running proxy's rules and zeroes
# its counters.
faultproxy_rules() {
    printf '%s\n' "$@" | curl -sf -m 5 -X PUT --data-binary @- "$PROXY_ENDPOINT/__rules" >/dev/null ||
        fail "faultproxy refused the rules: $*"
}

# faultproxy_count: prints the number of faults the proxy injected so far
# (the JSON of every rule's counters: curl $PROXY_ENDPOINT/__faults).
faultproxy_count() {
    curl -sf -m 5 "$PROXY_ENDPOINT/__faults/count" || fail "faultproxy at $PROXY_ENDPOINT does not answer"
}

# faultproxy_stop: stops the proxy (SIGTERM) and waits for it.
faultproxy_stop() {
    [ -n "${PROXY_PID:-}" ] || return 0
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=
    PROXY_ENDPOINT=
}

# ---- Python clients from PyPI (tests/lib/venv.sh: py_venv NAME REQUIREMENTS) ----
# shellcheck source=tests/lib/venv.sh
. "$FERRY_SOURCE_DIR/tests/lib/venv.sh"
