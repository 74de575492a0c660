#!/usr/bin/env bash
# The plugin built against earlier SDK headers (tests/abi/v1_0, ABI 1.0, and
# tests/abi/v1_1 and v1_2, ABI 1.1 and 1.2) passes `ferry tck` under today's host: its
# older-sized descriptors and records, offsets, put/flush, stop and open/close
# cycles (e2e_sdk_context runs the 1.0 build in a pipeline as well).
source "$TESTLIB"
: "${LEGACY_PLUGIN:?}" "${LEGACY11_PLUGIN:?}" "${LEGACY12_PLUGIN:?}"
cat >"$WORK/legacy.yaml" <<'YAML'
legacy-source: {topic: tck-legacy, count: 25}
legacy-sink: {path: "${env:FERRY_TCK_DIR}/legacy.out"}
YAML
rc=0
"$FERRY" tck "$LEGACY_PLUGIN" --config "$WORK/legacy.yaml" >"$WORK/tck.out" 2>"$WORK/tck.log" || rc=$?
cat "$WORK/tck.out" >&2
[ "$rc" = 0 ] || fail "ferry tck legacy.so exited $rc"
grep -q "^PASS legacy-source descriptor: source 1.0.0 of plugin legacy (ABI 1.0)" "$WORK/tck.out" || fail "not seen as ABI 1.0"
for r in open-failure poll-budget records offsets stop cycles; do
    grep -q "^PASS legacy-source $r: " "$WORK/tck.out" || fail "legacy-source $r did not pass"
done
grep -q "^PASS legacy-source offsets: 25 offsets" "$WORK/tck.out" || fail "legacy-source: not its 25 offsets"
for r in open-failure put-flush flush-limits stop cycles; do
    grep -q "^PASS legacy-sink $r: " "$WORK/tck.out" || fail "legacy-sink $r did not pass"
done

# The same source built against the 1.1 and 1.2 headers passes the same rules.
for build in "1.1 $LEGACY11_PLUGIN" "1.2 $LEGACY12_PLUGIN"; do
    abi=${build%% *} so=${build#* }
    rc=0
    "$FERRY" tck "$so" --config "$WORK/legacy.yaml" >"$WORK/tck-$abi.out" 2>"$WORK/tck-$abi.log" || rc=$?
    cat "$WORK/tck-$abi.out" >&2
    [ "$rc" = 0 ] || fail "ferry tck $so exited $rc"
    grep -q "^PASS legacy-source descriptor: source 1.0.0 of plugin legacy (ABI $abi)" "$WORK/tck-$abi.out" || fail "not seen as ABI $abi"
    n=$(grep -c "^PASS " "$WORK/tck-$abi.out")
    [ "$n" = "$(grep -c "^PASS " "$WORK/tck.out")" ] || fail "the $abi build passed $n rules, the 1.0 build $(grep -c "^PASS " "$WORK/tck.out")"
done
log "PASS"
