#!/usr/bin/env bash
# The CLI surface: --help for each command, help COMMAND, version, plugins
# listing, per-command options and their values, exit codes.
source "$TESTLIB"
"$FERRY" version | grep -Eq '^ferry [0-9]+\.[0-9]+\.[0-9]+' || fail "version"
for c in run validate plugins dev-kafka offsets; do
    "$FERRY" $c --help | grep -q "usage: ferry $c" || fail "$c --help"
done
rc=0; "$FERRY" frobnicate 2>/dev/null || rc=$?; [ "$rc" = 2 ] || fail "unknown command exit $rc"
rc=0; "$FERRY" run 2>/dev/null || rc=$?; [ "$rc" = 2 ] || fail "run without FILE exit $rc"
# expect_usage PATTERN ARGS...: `ferry ARGS` exits 2 (a usage error, not a
# run: the timeout ends an old binary that would serve instead) and prints
# PATTERN (extended regex).
expect_usage() {
    local pattern=$1 rc=0
    shift
    timeout 10 "$FERRY" "$@" >"$WORK/usage.out" 2>&1 </dev/null || rc=$?
    [ "$rc" = 2 ] || fail "ferry $*: exit $rc, expected 2: $(head -c 2000 "$WORK/usage.out")"
    grep -Eq -- "$pattern" "$WORK/usage.out" || fail "ferry $*: expected /$pattern/ in: $(cat "$WORK/usage.out")"
}
printf 'connectors:\n  a: {connector: datagen, topic: t, count: 1}\n' >"$WORK/p.yaml"
# Each command takes only its own options.
expect_usage "ferry run: unknown option '--brokers' \(that is an option of 'ferry dev-kafka'\)" run "$WORK/p.yaml" --brokers 3
expect_usage "ferry dev-kafka: unknown option '--json' \(that is an option of 'ferry plugins'\)" dev-kafka --json
expect_usage "ferry validate: unknown option '--log-level'" validate "$WORK/p.yaml" --log-level debug
expect_usage "unknown option '--plugin-paths' \(did you mean '--plugin-path'\?\)" validate "$WORK/p.yaml" --plugin-paths x
expect_usage "ferry version: unexpected argument 'now'" version now
# Values are checked.
expect_usage "ferry run: invalid --log-level 'bogus' \(valid levels: error, warn, info, debug\)" run "$WORK/p.yaml" --log-level bogus
expect_usage "ferry dev-kafka: --brokers must be a whole number from 1 to 16, not '3x'" dev-kafka --brokers 3x
expect_usage "ferry dev-kafka: --brokers must be a whole number from 1 to 16, not '17'" dev-kafka --brokers=17
expect_usage "--topic 't:2x': PARTITIONS must be a whole number" dev-kafka --topic t:2x
expect_usage "ferry plugins: --json and --markdown cannot be combined" plugins --json --markdown
# Past a cap is an error, not a silently dropped option; at the cap is fine.
paths=()
for _ in $(seq 16); do paths+=(--plugin-path "$FERRY_PLUGIN_DIR"); done
"$FERRY" validate "$WORK/p.yaml" "${paths[@]}" >/dev/null 2>&1 || fail "16 --plugin-path options refused"
expect_usage "ferry validate: too many --plugin-path options \(at most 16\)" validate "$WORK/p.yaml" "${paths[@]}" --plugin-path=/x
topics=()
for i in $(seq 65); do topics+=(--topic "t$i"); done
expect_usage "ferry dev-kafka: too many --topic options \(at most 64\)" dev-kafka "${topics[@]}"
# `ferry help`, `ferry help COMMAND`.
grep -q "^usage: ferry run FILE" <<<"$("$FERRY" help run)" || fail "help run"
grep -q "^usage: ferry dev-kafka" <<<"$("$FERRY" help dev-kafka)" || fail "help dev-kafka"
grep -q "^usage: ferry <command>" <<<"$("$FERRY" help)" || fail "help"
expect_usage "ferry help: unknown command 'bogus'" help bogus
expect_usage "ferry: unknown command 'valdate' \(did you mean 'validate'\?\)" valdate "$WORK/p.yaml"
# --name=value works like --name value.
"$FERRY" plugins --plugin-path="$FERRY_PLUGIN_DIR" >"$WORK/plugins-eq.txt" || fail "--plugin-path=DIR"
grep -q datagen "$WORK/plugins-eq.txt" || fail "--plugin-path=DIR lists no datagen"

"$FERRY" plugins >"$WORK/plugins.txt" || fail "plugins"
for c in datagen file-source file-sink null-sink; do grep -q "$c" "$WORK/plugins.txt" || fail "plugins lacks $c"; done
"$FERRY" plugins --json >"$WORK/plugins.json" || fail "plugins --json"
/usr/bin/python3 - "$WORK/plugins.json" <<'PY' || fail "plugins --json content"
import json, sys
d = {c["name"]: c for c in json.load(open(sys.argv[1]))}
for name in ("datagen", "file-source", "file-sink", "null-sink"):
    assert name in d, name
opts = {o["name"]: o for o in d["datagen"]["options"]}
assert opts["topic"]["required"] is True and "description" in opts["topic"], opts["topic"]
PY
# The generated connector reference in docs/ is up to date.
"$FERRY" plugins --markdown >"$WORK/connectors.md"
cmp -s "$WORK/connectors.md" "$FERRY_SOURCE_DIR/docs/connectors.md" || {
    diff "$FERRY_SOURCE_DIR/docs/connectors.md" "$WORK/connectors.md" | head -20 >&2
    fail "docs/connectors.md is stale: regenerate with 'ferry plugins --markdown > docs/connectors.md'"
}
log "PASS"
