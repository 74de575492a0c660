#!/usr/bin/env bash
# kafka.sh — a real Apache Kafka for the test suite and benchmarks: one KRaft node (broker and
# controller in one JVM) and, on demand, a Kafka Connect distributed worker, both on 127.0.0.1.
#
#   kafka.sh fetch                          fetch the jars (tests/kafka/pom.xml, and Debezium's
#                                           PostgreSQL connector from debezium-pom.xml) unless cached
#   kafka.sh home                           print the cache folder (after fetch)
#   kafka.sh start DIR [PROP=VALUE]...      format DIR, start the broker, print its bootstrap
#                                           address (also written to DIR/bootstrap)
#   kafka.sh stop DIR                       SIGTERM, then SIGKILL after FERRY_KAFKA_STOP_TIMEOUT
#   kafka.sh connect-start DIR BOOTSTRAP [PROP=VALUE]...
#                                           start a Connect worker, print its REST URL (also
#                                           written to DIR/connect-url)
#   kafka.sh connect-stop DIR
#   kafka.sh tool NAME [ARG]...             run a Kafka tool: topics, configs, consumer-groups,
#                                           console-consumer, console-producer, get-offsets,
#                                           or any fully qualified class name
#
# PROP=VALUE arguments are appended to the generated server or worker properties, so they
# override the defaults (e.g. auto.create.topics.enable=false). So do the whitespace-separated
# PROP=VALUE words of FERRY_KAFKA_PROPERTIES (broker) and FERRY_CONNECT_PROPERTIES (worker).
#
# Environment: FERRY_CACHE (default ~/.cache/ferry; the jars go to $FERRY_CACHE/kafka-VERSION),
# FERRY_KAFKA_HEAP / FERRY_CONNECT_HEAP (-Xmx, default 384m / 320m), FERRY_KAFKA_JVM_OPTS (replaces
# the light JIT/GC flags below), FERRY_KAFKA_START_TIMEOUT (s, default 120),
# FERRY_KAFKA_STOP_TIMEOUT (s, default 30).
#
# Every process is started in its own session with stdin, stdout and stderr away from the
# caller, so that a ctest fixture can start it and return, and stop reads its pid from DIR.
set -euo pipefail

KAFKA_VERSION=4.3.0 # the same as kafka.version in pom.xml
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${FERRY_CACHE:-${HOME:-/root}/.cache/ferry}
KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
PY=/usr/bin/python3
START_TIMEOUT=${FERRY_KAFKA_START_TIMEOUT:-120}
STOP_TIMEOUT=${FERRY_KAFKA_STOP_TIMEOUT:-30}
# Start-up matters more than peak speed here: C1 only, the serial collector, no perf data file.
JVM_LIGHT=${FERRY_KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData}

die() {
    echo "kafka.sh: $*" >&2
    exit 1
}

# pom_sum: identifies the POMs the cache was fetched with, so that a changed POM refetches.
pom_sum() { cat "$HERE/pom.xml" "$HERE/debezium-pom.xml" | sha256sum | cut -d' ' -f1; }

cmd_fetch() {
    local want
    want=$(pom_sum)
    [ "$(cat "$KAFKA_HOME/.pom-sha256" 2>/dev/null)" = "$want" ] && return 0
    command -v java >/dev/null || die "java not found (scripts/deps.sh --test installs it)"
    command -v mvn >/dev/null || die "mvn not found (scripts/deps.sh --test installs it)"
    mkdir -p "$CACHE"
    # One fetch at a time; a second caller waits, then finds the cache filled.
    exec 9>"$CACHE/kafka-$KAFKA_VERSION.lock"
    flock 9
    if [ "$(cat "$KAFKA_HOME/.pom-sha256" 2>/dev/null)" != "$want" ]; then
        local tmp="$KAFKA_HOME.tmp.$$" t0=$SECONDS
        rm -rf "$tmp"
        echo "kafka.sh: fetching Apache Kafka $KAFKA_VERSION into $KAFKA_HOME" >&2
        # Debian's Maven writes colour resets even in batch mode: strip them.
        mvn -q -B -f "$HERE/pom.xml" -Dferry.kafka.dir="$tmp" \
            dependency:copy-dependencies@lib dependency:copy-dependencies@plugins 2>&1 |
            sed 's/\x1b\[[0-9;]*m//g' >&2 ||
            { rm -rf "$tmp"; die "mvn could not fetch the jars of tests/kafka/pom.xml"; }
        # Debezium's PostgreSQL connector, a plugin of its own (plugins/debezium-postgres/).
        mvn -q -B -f "$HERE/debezium-pom.xml" -Dferry.kafka.dir="$tmp" \
            dependency:copy-dependencies@debezium 2>&1 |
            sed 's/\x1b\[[0-9;]*m//g' >&2 ||
            { rm -rf "$tmp"; die "mvn could not fetch the jars of tests/kafka/debezium-pom.xml"; }
        rm -rf "$HERE/target" # maven's build folder, empty for a pom project
        echo "$want" >"$tmp/.pom-sha256"
        rm -rf "$KAFKA_HOME"
        mv "$tmp" "$KAFKA_HOME"
        echo "kafka.sh: fetched in $((SECONDS - t0)) s" >&2
    fi
    exec 9>&-
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, space-separated. They are bound together
# so that they differ, then released for the server to take.
free_ports() {
    "$PY" - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# alive PIDFILE DIR: the process in PIDFILE runs and is one that kafka.sh started for DIR (a
# recycled pid belongs to someone else and is left alone).
alive() {
    local pid
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2/"
}

# stop_pid PIDFILE DIR WHAT: SIGTERM, poll, SIGKILL after STOP_TIMEOUT; removes PIDFILE.
stop_pid() {
    local pidfile=$1 dir=$2 what=$3 pid end
    if ! alive "$pidfile" "$dir"; then
        rm -f "$pidfile"
        return 0
    fi
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    end=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "kafka.sh: $what (pid $pid) still running ${STOP_TIMEOUT}s after SIGTERM: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$pidfile"
}

# launch DIR NAME HEAP MAINCLASS ARGS...: starts a JVM in its own session, logging to
# DIR/NAME.log, pid in DIR/NAME.pid. Not a process-group leader (no job control in a script),
# setsid execs in place, so $! is the JVM.
launch() {
    local dir=$1 name=$2 heap=$3 main=$4
    shift 4
    # shellcheck disable=SC2086 # JVM_LIGHT is a list of flags
    setsid java -Xms32m -Xmx"$heap" $JVM_LIGHT -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dferry.log.level=info \
        -Dferry.dir="$dir/" -cp "$KAFKA_HOME/lib/*" "$main" "$@" \
        </dev/null >>"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
}

# wait_ready DIR NAME WHAT CMD...: polls CMD until it succeeds; fails as soon as the JVM died,
# or after START_TIMEOUT, with the end of its log.
wait_ready() {
    local dir=$1 name=$2 what=$3 end
    shift 3
    end=$((SECONDS + START_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ! alive "$dir/$name.pid" "$dir"; then
            tail -n 30 "$dir/$name.log" >&2
            return 2
        fi
        if [ $SECONDS -ge $end ]; then
            tail -n 30 "$dir/$name.log" >&2
            echo "kafka.sh: $what did not answer within ${START_TIMEOUT}s" >&2
            return 1
        fi
        sleep 0.2
    done
}

# extra_props ENVVAR ARGS...: the PROP=VALUE words of the variable, then the arguments.
extra_props() {
    local var=$1 word
    shift
    for word in ${!var:-} "$@"; do
        [[ $word == *=* ]] || die "not a PROP=VALUE property: '$word'"
        printf '%s\n' "$word"
    done
}

broker_properties() { # DIR PORT CONTROLLER_PORT EXTRA...
    local dir=$1 port=$2 cport=$3
    shift 3
    cat <<PROPS
# Written by tests/kafka/kafka.sh: one KRaft node, broker and controller, on 127.0.0.1.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
# One node: every internal topic has replication factor 1.
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions than the defaults (50): they are created on first use.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=1
# No time-based retention: tests produce records with fixed timestamps years in the past
# (s3_archive's 2023-11-14), which the default 7 days delete at the next retention check
# (every 5 minutes), so a test's topic could lose its records mid-run, depending on timing.
# A test that needs a deleted head deletes records explicitly (DeleteRecords).
log.retention.ms=-1
# Small for two shared cores and a small heap (the cleaner's buffer is on the heap).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
PROPS
    echo "# Extra properties (FERRY_KAFKA_PROPERTIES and arguments); the last one of a key wins."
    extra_props FERRY_KAFKA_PROPERTIES "$@"
}

# A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what
# kafka-storage random-uuid prints, without starting a JVM for it).
new_cluster_id() {
    local id
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [ ${#id} = 22 ] || die "could not make a cluster id"
    echo "$id"
}

cmd_start() {
    [ $# -ge 1 ] || die "usage: kafka.sh start DIR [PROP=VALUE]..."
    mkdir -p "$1"
    local dir
    dir=$(cd "$1" && pwd)
    shift
    extra_props FERRY_KAFKA_PROPERTIES "$@" >/dev/null
    cmd_fetch
    command -v kcat >/dev/null || die "kcat not found (scripts/deps.sh --test installs it)"
    # A broker left over from an earlier run in DIR goes first; DIR starts empty.
    stop_pid "$dir/kafka.pid" "$dir" "the old broker"
    rm -rf "$dir/data" "$dir/kafka.log" "$dir/bootstrap"
    local t0=$SECONDS attempt port cport rc
    # A free port can be taken by someone else before the broker binds it: retry with others.
    for attempt in 1 2 3; do
        read -r port cport < <(free_ports 2)
        broker_properties "$dir" "$port" "$cport" "$@" >"$dir/server.properties"
        if [ ! -f "$dir/data/meta.properties" ]; then
            java -Xmx128m $JVM_LIGHT -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
                -Dferry.log.level=warn -cp "$KAFKA_HOME/lib/*" kafka.tools.StorageTool format \
                --cluster-id "$(new_cluster_id)" --config "$dir/server.properties" \
                >>"$dir/kafka.log" 2>&1 </dev/null ||
                { tail -n 20 "$dir/kafka.log" >&2; die "formatting $dir/data failed"; }
        fi
        launch "$dir" kafka "${FERRY_KAFKA_HEAP:-384m}" kafka.Kafka "$dir/server.properties"
        rc=0
        wait_ready "$dir" kafka "the broker at 127.0.0.1:$port" \
            kcat -b "127.0.0.1:$port" -L -m 2 || rc=$?
        [ $rc = 0 ] && break
        [ $rc = 2 ] && grep -q 'Address already in use' "$dir/kafka.log" && continue
        stop_pid "$dir/kafka.pid" "$dir" "the broker"
        die "the broker did not start (log: $dir/kafka.log)"
    done
    [ $rc = 0 ] || die "the broker could not bind a free port in 3 attempts (log: $dir/kafka.log)"
    echo "127.0.0.1:$port" >"$dir/bootstrap"
    echo "kafka.sh: Kafka $KAFKA_VERSION at 127.0.0.1:$port, ready in $((SECONDS - t0)) s (pid $(cat "$dir/kafka.pid"), log $dir/kafka.log)" >&2
    echo "127.0.0.1:$port"
}

cmd_stop() {
    [ $# = 1 ] || die "usage: kafka.sh stop DIR"
    [ -d "$1" ] || return 0
    local dir
    dir=$(cd "$1" && pwd)
    stop_pid "$dir/connect.pid" "$dir" "the Connect worker"
    stop_pid "$dir/kafka.pid" "$dir" "the broker"
    rm -f "$dir/bootstrap"
}

connect_properties() { # DIR BOOTSTRAP PORT EXTRA...
    local dir=$1 bootstrap=$2 port=$3 id
    shift 3
    # The broker may be shared: each worker gets its own group and internal topics unless the
    # arguments say otherwise (a test that shares ferry's offsets topic names it).
    id=$(basename "$dir" | tr -c 'A-Za-z0-9._\n-' '_')-$port
    cat <<PROPS
# Written by tests/kafka/kafka.sh: a Kafka Connect distributed worker.
bootstrap.servers=$bootstrap
group.id=connect-$id
config.storage.topic=connect-$id-configs
offset.storage.topic=connect-$id-offsets
status.storage.topic=connect-$id-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
# Plain JSON, as ferry's offsets topic and most pipelines use it.
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$port
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$port
plugin.path=$KAFKA_HOME/plugins
# Plugins are found through their ServiceLoader manifests, not by scanning every class of the
# class path and plugin path: 2 s and 130 MB instead of 5 s and 430 MB. A plugin without
# manifests needs plugin.discovery=hybrid_warn.
plugin.discovery=service_load
PROPS
    echo "# Extra properties (FERRY_CONNECT_PROPERTIES and arguments); the last one of a key wins."
    extra_props FERRY_CONNECT_PROPERTIES "$@"
}

cmd_connect_start() {
    [ $# -ge 2 ] || die "usage: kafka.sh connect-start DIR BOOTSTRAP [PROP=VALUE]..."
    mkdir -p "$1"
    local dir bootstrap=$2
    dir=$(cd "$1" && pwd)
    shift 2
    extra_props FERRY_CONNECT_PROPERTIES "$@" >/dev/null
    cmd_fetch
    command -v curl >/dev/null || die "curl not found (scripts/deps.sh --test installs it)"
    stop_pid "$dir/connect.pid" "$dir" "the old Connect worker"
    rm -f "$dir/connect.log" "$dir/connect-url"
    local t0=$SECONDS attempt port url rc
    for attempt in 1 2 3; do
        read -r port < <(free_ports 1)
        url="http://127.0.0.1:$port"
        connect_properties "$dir" "$bootstrap" "$port" "$@" >"$dir/connect.properties"
        launch "$dir" connect "${FERRY_CONNECT_HEAP:-320m}" \
            org.apache.kafka.connect.cli.ConnectDistributed "$dir/connect.properties"
        rc=0
        wait_ready "$dir" connect "Kafka Connect at $url" curl -sf -m 5 "$url/connectors" || rc=$?
        [ $rc = 0 ] && break
        [ $rc = 2 ] && grep -q 'Address already in use' "$dir/connect.log" && continue
        stop_pid "$dir/connect.pid" "$dir" "the Connect worker"
        die "Kafka Connect did not start (log: $dir/connect.log)"
    done
    [ $rc = 0 ] || die "Kafka Connect could not bind a free port in 3 attempts (log: $dir/connect.log)"
    echo "$url" >"$dir/connect-url"
    echo "kafka.sh: Kafka Connect at $url, ready in $((SECONDS - t0)) s (pid $(cat "$dir/connect.pid"), log $dir/connect.log)" >&2
    echo "$url"
}

cmd_connect_stop() {
    [ $# = 1 ] || die "usage: kafka.sh connect-stop DIR"
    [ -d "$1" ] || return 0
    local dir
    dir=$(cd "$1" && pwd)
    stop_pid "$dir/connect.pid" "$dir" "the Connect worker"
    rm -f "$dir/connect-url"
}

cmd_tool() {
    [ $# -ge 1 ] || die "usage: kafka.sh tool NAME [ARG]..."
    local class
    case $1 in
    topics) class=org.apache.kafka.tools.TopicCommand ;;
    configs) class=kafka.admin.ConfigCommand ;;
    consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    console-producer) class=org.apache.kafka.tools.ConsoleProducer ;;
    get-offsets) class=org.apache.kafka.tools.GetOffsetShell ;;
    delete-records) class=org.apache.kafka.tools.DeleteRecordsCommand ;;
    *.*) class=$1 ;;
    *) die "unknown tool '$1'" ;;
    esac
    shift
    cmd_fetch
    # shellcheck disable=SC2086
    exec java -Xmx128m $JVM_LIGHT -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
        -Dferry.log.level=warn -cp "$KAFKA_HOME/lib/*" "$class" "$@"
}

[ $# -ge 1 ] || die "usage: kafka.sh fetch|home|start|stop|connect-start|connect-stop|tool ..."
sub=$1
shift
case $sub in
fetch) cmd_fetch "$@" ;;
home) cmd_fetch && echo "$KAFKA_HOME" ;;
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
connect-start) cmd_connect_start "$@" ;;
connect-stop) cmd_connect_stop "$@" ;;
tool) cmd_tool "$@" ;;
*) die "unknown command '$sub'" ;;
esac
