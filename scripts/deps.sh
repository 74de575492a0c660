#!/usr/bin/env bash
# Installs the Debian packages ferry needs (only the missing ones).
#   scripts/deps.sh          build + run dependencies
#   scripts/deps.sh --test   plus what the test suite and benchmarks use
set -euo pipefail
pkgs=(build-essential cmake pkg-config librdkafka-dev libyaml-dev libjansson-dev libpq-dev
      libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev libzstd-dev
      # The gateway: gRPC C core, protobuf-c and its compiler, the well-known .proto files.
      libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev)
if [ "${1:-}" = "--test" ]; then
    pkgs+=(libcmocka-dev kcat jq curl openssl python3-confluent-kafka python3-kafka postgresql-15 postgresql-client-15
           procps iproute2
           # tests/packaging: the man page rendered, the systemd unit verified.
           man-db systemd
           # Apache Kafka and Kafka Connect from Maven Central (tests/kafka/kafka.sh): Java 17 runs
           # them, Maven fetches them, curl talks to Connect's REST API.
           openjdk-17-jre-headless maven curl
           # S3 (tests/s3/s3.sh): Debian's aws CLI as the reference client, a virtualenv of
           # Debian's python3 for moto, flock for the install lock.
           awscli python3-venv util-linux
           # HTTP (bench/http_sink_bench.sh): wrk measures the receiver's own ceiling.
           wrk)
    # s3rver runs on Node.js and installs with npm; Debian's are enough when none is there.
    if ! command -v node >/dev/null; then pkgs+=(nodejs); fi
    if ! command -v npm >/dev/null; then pkgs+=(npm); fi
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
