#!/usr/bin/env bash
# Runs the quick-start pipeline under valgrind (a non-sanitizer build) for a
# few seconds, stops it with SIGTERM, and fails on any memory error or leak.
#   scripts/valgrind.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-15}
command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null; }
cmake -S . -B build/valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_BUILD_TESTS=OFF >/dev/null
cmake --build build/valgrind -j"$(nproc)" >/dev/null
work=$(mktemp -d)
cd "$work"
valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=9 "$root/build/valgrind/ferry" run "$root/configs/quickstart.yaml" >valgrind.log 2>&1 &
pid=$!
sleep "$secs"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
grep -E "definitely lost|indirectly lost|ERROR SUMMARY" valgrind.log
echo "$(wc -l <quickstart-out.txt) records written; exit code $rc"
rm -rf "$work"
exit "$rc"
