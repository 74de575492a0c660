#!/usr/bin/env bash
# The test command: installs what is missing, builds the dev preset (Debug +
# ASan/UBSan, warnings as errors) and runs the whole suite with ctest. The
# tests start the services they need themselves (dev-kafka, PostgreSQL, one
# Apache Kafka broker for the whole run: the ctest fixture "kafka", and one
# s3rver and one moto: the fixtures "s3rver" and "moto").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
cmake --preset dev >/dev/null
cmake --build --preset dev -j"$(nproc)"
# The Apache Kafka jars, s3rver and moto, unless cached (~/.cache/ferry, or
# $FERRY_CACHE): fetched here so that a slow download does not count against a
# test's timeout.
tests/kafka/kafka.sh fetch
tests/s3/s3.sh fetch
cd build/dev
# ASan: librdkafka and dlopen'd plugins are instrumented; leaks are errors.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --output-on-failure -j2 "$@"
