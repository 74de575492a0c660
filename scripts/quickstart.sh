#!/usr/bin/env bash
# The quick start: installs what is missing, builds a release binary and runs
# configs/quickstart.yaml (datagen → topic "demo" on the embedded broker →
# file-sink) in ./quickstart/, showing the lines as they arrive. Ctrl-C stops
# it gracefully. QUICKSTART_SECONDS=N stops it after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" >/dev/null
mkdir -p quickstart
cd quickstart
: >quickstart-out.txt
"$root/build/release/ferry" run "$root/configs/quickstart.yaml" &
ferry_pid=$!
tail -n +1 -f quickstart-out.txt | sed 's/^/  line: /' &
tail_pid=$!
stop() { kill -TERM "$ferry_pid" 2>/dev/null || true; }
trap stop INT TERM
if [ -n "${QUICKSTART_SECONDS:-}" ]; then
    (sleep "$QUICKSTART_SECONDS"; kill -TERM "$ferry_pid" 2>/dev/null || true) &
fi
rc=0
wait "$ferry_pid" || rc=$?
# A trapped signal interrupts the first wait; wait for ferry's clean exit.
while kill -0 "$ferry_pid" 2>/dev/null; do wait "$ferry_pid" || rc=$?; done
sleep 0.5
kill "$tail_pid" 2>/dev/null || true
echo "ferry exited with $rc; $(wc -l <quickstart-out.txt) lines in quickstart/quickstart-out.txt"
exit "$rc"
