#!/usr/bin/env bash
# `ferry tck` fails exactly the rule each connector of tests/tck/broken breaks,
# and nothing else: a 3 s poll (poll-budget), offsets that are not JSON
# (offsets), a leak per open (cycles), an open that ignores its required
# option (open-failure), flush limits beyond what was put (flush-limits).
# A file that is no plugin fails the descriptor rule.
source "$TESTLIB"
: "${BROKEN_PLUGIN:?}"
# The leak is the TCK's to find (heap counts per cycle): LeakSanitizer's exit
# status would hide the TCK's own.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
cat >"$WORK/broken.yaml" <<YAML
slow-source: {topic: broken}
badoffset-source: {topic: broken}
leaky-source: {topic: broken}
lax-source: {topic: broken}
YAML
for pair in slow-source:poll-budget badoffset-source:offsets leaky-source:cycles lax-source:open-failure \
    overflush-sink:flush-limits; do
    name=${pair%%:*} rule=${pair#*:} rc=0
    "$FERRY" tck "$BROKEN_PLUGIN" --connector "$name" --config "$WORK/broken.yaml" >"$WORK/$name.out" \
        2>"$WORK/$name.log" || rc=$?
    cat "$WORK/$name.out" >&2
    [ "$rc" = 1 ] || fail "ferry tck --connector $name exited $rc, expected 1"
    failed=$(sed -n 's/^FAIL [^ ]* \([^:]*\):.*/\1/p' "$WORK/$name.out" | tr '\n' ' ')
    [ "$failed" = "$rule " ] || fail "$name: expected exactly '$rule' to fail, got '${failed}'"
    grep -q "^ferry tck: .*: [0-9]* passed, 1 failed" "$WORK/$name.out" || fail "$name: no summary line"
done
grep -q "^FAIL slow-source poll-budget: poll 1 took [0-9]* ms" "$WORK/slow-source.out" || fail "slow poll not measured"
grep -q "^FAIL badoffset-source offsets: .*not a JSON object" "$WORK/badoffset-source.out" || fail "bad offset not named"
grep -q "^FAIL leaky-source cycles: [0-9]* bytes more" "$WORK/leaky-source.out" || fail "leak not measured"

echo "not a shared object" >"$WORK/junk.so"
rc=0
"$FERRY" tck "$WORK/junk.so" >"$WORK/junk.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "^FAIL $WORK/junk.so descriptor: plugin $WORK/junk.so: dlopen failed" "$WORK/junk.out" ||
    fail "a file that is no plugin: rc $rc: $(cat "$WORK/junk.out")"
rc=0
"$FERRY" tck "$BROKEN_PLUGIN" --connector nosuch >"$WORK/nosuch.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "has no connector 'nosuch' (it has: slow-source" "$WORK/nosuch.out" || fail "--connector nosuch: rc $rc"
log "PASS"
