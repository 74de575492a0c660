#!/usr/bin/env bash
# s3.sh — real S3 servers for the test suite, on 127.0.0.1: s3rver (Node.js, checks every SigV4
# signature, keeps objects on disk) and moto in server mode (Python, keeps objects in memory,
# accepts any signature). Both serve path-style URLs: http://127.0.0.1:PORT/BUCKET/KEY.
#
#   s3.sh fetch [s3rver|moto]       install the servers into the cache folder unless cached
#   s3.sh start s3rver|moto DIR     start one in DIR, create the bucket, print its endpoint URL
#                                   (also written to DIR/endpoint; pid in DIR/pid, log in
#                                   DIR/server.log, credentials in DIR/env)
#   s3.sh stop DIR                  SIGTERM, then SIGKILL after FERRY_S3_STOP_TIMEOUT
#   s3.sh aws DIR ARG...            run Debian's /usr/bin/aws against the server in DIR, e.g.
#                                   s3.sh aws DIR s3 ls s3://ferry-test/ (against
#                                   $S3_AWS_ENDPOINT instead when it is set: a fault proxy)
#   s3.sh env DIR                   print DIR/env
#   s3.sh python ARG...             run the Python of moto's virtualenv, which also has the
#                                   tests' readers (fastavro, zstandard; requirements.txt)
#
# DIR/env is shell-sourceable: S3_SERVER, S3_ENDPOINT, S3_BUCKET, S3_REGION, AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION.
#
# Environment: FERRY_CACHE (default ~/.cache/ferry; s3rver goes to $FERRY_CACHE/s3rver-VERSION,
# moto's virtualenv to $FERRY_CACHE/moto-VERSION), FERRY_S3_START_TIMEOUT (s, default 60),
# FERRY_S3_STOP_TIMEOUT (s, default 15).
#
# The versions are pinned with everything they pull in: s3rver/package-lock.json (npm ci) and
# requirements.txt (pip). A change to either file reinstalls. Each server is started in its own
# session with stdin, stdout and stderr away from the caller, so that a ctest fixture can start it
# and return.
set -euo pipefail

S3RVER_VERSION=5.0.0 # the same as in s3rver/package.json
MOTO_VERSION=5.2.5   # the same as in requirements.txt
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${FERRY_CACHE:-${HOME:-/root}/.cache/ferry}
S3RVER_HOME=$CACHE/s3rver-$S3RVER_VERSION
MOTO_HOME=$CACHE/moto-$MOTO_VERSION
# Debian's Python, never whatever python3 comes first on PATH: its venv module is Debian's
# python3-venv, and the tests' other Python tools run on it too.
PY=/usr/bin/python3
AWS=/usr/bin/aws
START_TIMEOUT=${FERRY_S3_START_TIMEOUT:-60}
STOP_TIMEOUT=${FERRY_S3_STOP_TIMEOUT:-15}

# The test credentials and bucket. s3rver accepts this key pair only; moto accepts any.
ACCESS_KEY=ferrytest
SECRET_KEY=ferrytest-secret-key
BUCKET=ferry-test
REGION=us-east-1

die() {
    echo "s3.sh: $*" >&2
    exit 1
}

# sum FILE...: identifies the pinned files a cache was installed from.
sum() { cat "$@" | sha256sum | cut -d' ' -f1; }

# install_locked HOME WANT WHAT FUNC: unless HOME/.sha256 is WANT, empties HOME and runs FUNC HOME
# under a lock, writing HOME/.sha256 last, so that an interrupted install is done again. One
# install at a time; a second caller waits, then finds it done. It installs in place because a
# virtualenv does not survive being moved.
install_locked() {
    local home=$1 want=$2 what=$3 func=$4
    [ "$(cat "$home/.sha256" 2>/dev/null)" = "$want" ] && return 0
    mkdir -p "$CACHE"
    exec 9>"$home.lock"
    flock 9
    if [ "$(cat "$home/.sha256" 2>/dev/null)" != "$want" ]; then
        local t0=$SECONDS
        rm -rf "$home"
        echo "s3.sh: installing $what into $home" >&2
        "$func" "$home" || { rm -rf "$home"; die "installing $what failed"; }
        echo "$want" >"$home/.sha256"
        echo "s3.sh: installed $what in $((SECONDS - t0)) s" >&2
    fi
    exec 9>&-
}

install_s3rver() {
    local tmp=$1
    mkdir -p "$tmp"
    cp "$HERE/s3rver/package.json" "$HERE/s3rver/package-lock.json" "$tmp/"
    # The package asks for Node 24 but runs on Debian 12's Node 20 (the suite checks it does).
    (cd "$tmp" && npm ci --prefix "$tmp" --omit=dev --no-audit --no-fund --loglevel=error \
        --engine-strict=false) >&2
}

install_moto() {
    local tmp=$1
    "$PY" -m venv "$tmp" >&2 ||
        die "$PY -m venv failed (scripts/deps.sh --test installs python3-venv)"
    "$tmp/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt" >&2
}

fetch_s3rver() {
    command -v node >/dev/null || die "node not found (scripts/deps.sh --test installs it)"
    command -v npm >/dev/null || die "npm not found (scripts/deps.sh --test installs it)"
    install_locked "$S3RVER_HOME" "$(sum "$HERE/s3rver/package-lock.json")" \
        "s3rver $S3RVER_VERSION" install_s3rver
}

fetch_moto() {
    install_locked "$MOTO_HOME" "$(sum "$HERE/requirements.txt")" "moto $MOTO_VERSION" install_moto
}

cmd_fetch() {
    case ${1:-all} in
    s3rver) fetch_s3rver ;;
    moto) fetch_moto ;;
    all) fetch_s3rver && fetch_moto ;;
    *) die "usage: s3.sh fetch [s3rver|moto]" ;;
    esac
}

# free_port: a free TCP port on 127.0.0.1 (released for the server to take).
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# alive DIR: the process in DIR/pid runs and is one that s3.sh started for DIR (its working folder
# is DIR; a recycled pid belongs to someone else and is left alone).
alive() {
    local pid
    pid=$(cat "$1/pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$1" ]
}

# stop_server DIR: SIGTERM, poll, SIGKILL after STOP_TIMEOUT; removes DIR/pid.
stop_server() {
    local dir=$1 pid end
    if ! alive "$dir"; then
        rm -f "$dir/pid"
        return 0
    fi
    pid=$(cat "$dir/pid")
    kill -TERM "$pid" 2>/dev/null || true
    end=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "s3.sh: the server (pid $pid) still runs ${STOP_TIMEOUT}s after SIGTERM: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$dir/pid"
}

# launch DIR CMD...: starts CMD in its own session with DIR as its working folder, logging to
# DIR/server.log. setsid execs in place (a background job of a script leads no process group),
# so $! is the server itself.
launch() {
    local dir=$1
    shift
    (cd "$dir" && exec setsid "$@" </dev/null >>"$dir/server.log" 2>&1) &
    echo $! >"$dir/pid"
}

# wait_ready DIR WHAT CMD...: polls CMD until it succeeds; fails as soon as the server died
# (status 2), or after START_TIMEOUT (status 1), with the end of its log.
wait_ready() {
    local dir=$1 what=$2 end
    shift 2
    end=$((SECONDS + START_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ! alive "$dir"; then
            tail -n 30 "$dir/server.log" >&2
            return 2
        fi
        if [ $SECONDS -ge $end ]; then
            tail -n 30 "$dir/server.log" >&2
            echo "s3.sh: $what did not answer within ${START_TIMEOUT}s" >&2
            return 1
        fi
        sleep 0.1
    done
}

# answers URL: the server at URL answers HTTP at all (any status: / needs a signature).
answers() { [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1/")" != 000 ]; }

# signed_curl ARG...: curl with SigV4 signing by the test credentials. curl 7.88 does not send
# x-amz-content-sha256 by itself, which s3rver requires; given one, curl signs with its value.
signed_curl() {
    curl -sS -m 10 --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

start_s3rver() {
    local dir=$1
    fetch_s3rver
    rm -rf "$dir/data" "$dir/port"
    # Node 20 with OpenSSL 3: s3rver's dependencies still reach for legacy digests.
    NODE_OPTIONS=--openssl-legacy-provider launch "$dir" node "$HERE/s3rver/run.js" "$S3RVER_HOME" \
        "$dir/data" "$dir/port" "$ACCESS_KEY" "$SECRET_KEY" "$BUCKET"
    wait_ready "$dir" "s3rver" test -s "$dir/port" ||
        { stop_server "$dir"; die "s3rver did not start (log: $dir/server.log)"; }
    PORT=$(cat "$dir/port")
}

start_moto() {
    local dir=$1 rc=1
    fetch_moto
    # A free port can be taken by someone else before moto binds it: retry with others.
    for _ in 1 2 3; do
        PORT=$(free_port)
        launch "$dir" "$MOTO_HOME/bin/python" "$MOTO_HOME/bin/moto_server" -H 127.0.0.1 -p "$PORT"
        rc=0
        wait_ready "$dir" "moto at 127.0.0.1:$PORT" answers "http://127.0.0.1:$PORT" || rc=$?
        [ "$rc" = 0 ] && break
        [ "$rc" = 2 ] && grep -q 'Address already in use' "$dir/server.log" && continue
        stop_server "$dir"
        die "moto did not start (log: $dir/server.log)"
    done
    [ "$rc" = 0 ] || die "moto could not bind a free port in 3 attempts (log: $dir/server.log)"
    signed_curl -o "$dir/create-bucket.out" -f -X PUT "http://127.0.0.1:$PORT/$BUCKET" ||
        { stop_server "$dir"; die "moto did not create bucket $BUCKET (log: $dir/server.log)"; }
}

cmd_start() {
    [ $# = 2 ] || die "usage: s3.sh start s3rver|moto DIR"
    local server=$1 dir t0=$SECONDS
    mkdir -p "$2"
    dir=$(cd "$2" && pwd)
    command -v curl >/dev/null || die "curl not found (scripts/deps.sh --test installs it)"
    # A server left over from an earlier run in DIR goes first.
    stop_server "$dir"
    rm -f "$dir/server.log" "$dir/endpoint" "$dir/env"
    case $server in
    s3rver) start_s3rver "$dir" ;;
    moto) start_moto "$dir" ;;
    *) die "unknown server '$server' (s3rver or moto)" ;;
    esac
    local url="http://127.0.0.1:$PORT"
    # Ready means a signed request for the bucket succeeds.
    signed_curl -f -o /dev/null -I "$url/$BUCKET" ||
        { stop_server "$dir"; die "$server at $url does not serve bucket $BUCKET (log: $dir/server.log)"; }
    cat >"$dir/env" <<ENV
# Written by tests/s3/s3.sh start: the $server S3 server of this folder.
S3_SERVER=$server
S3_ENDPOINT=$url
S3_BUCKET=$BUCKET
S3_REGION=$REGION
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_DEFAULT_REGION=$REGION
ENV
    echo "$server" >"$dir/server"
    echo "$url" >"$dir/endpoint"
    echo "s3.sh: $server at $url (bucket $BUCKET), ready in $((SECONDS - t0)) s (pid $(cat "$dir/pid"), log $dir/server.log)" >&2
    echo "$url"
}

cmd_stop() {
    [ $# = 1 ] || die "usage: s3.sh stop DIR"
    [ -d "$1" ] || return 0
    local dir
    dir=$(cd "$1" && pwd)
    stop_server "$dir"
    rm -f "$dir/endpoint"
}

cmd_aws() {
    [ $# -ge 1 ] || die "usage: s3.sh aws DIR ARG..."
    local dir=$1
    shift
    [ -s "$dir/endpoint" ] || die "no S3 server running in $dir ($dir/endpoint is missing)"
    [ -x "$AWS" ] || die "$AWS not found (scripts/deps.sh --test installs awscli)"
    # Only the test server's credentials: no profile, config or credentials file of the user's,
    # no instance metadata lookups, no pager.
    exec env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_DEFAULT_PROFILE -u AWS_CA_BUNDLE \
        AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        AWS_EC2_METADATA_DISABLED=true AWS_PAGER= \
        AWS_ACCESS_KEY_ID="$ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$SECRET_KEY" \
        AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION" \
        "$AWS" --endpoint-url "${S3_AWS_ENDPOINT:-$(cat "$dir/endpoint")}" "$@"
}

[ $# -ge 1 ] || die "usage: s3.sh fetch|start|stop|aws|env ..."
sub=$1
shift
case $sub in
fetch) cmd_fetch "$@" ;;
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
aws) cmd_aws "$@" ;;
python)
    # moto's virtualenv also holds the tests' independent readers (fastavro).
    cmd_fetch moto
    exec "$MOTO_HOME/bin/python" "$@"
    ;;
env)
    [ $# = 1 ] || die "usage: s3.sh env DIR"
    cat "$1/env"
    ;;
*) die "unknown command '$sub'" ;;
esac
