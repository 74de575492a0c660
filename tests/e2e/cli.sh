#!/usr/bin/env bash
# The CLI surface: --help for each command, version, plugins listing, exit codes.
source "$TESTLIB"
"$FERRY" version | grep -Eq '^ferry [0-9]+\.[0-9]+\.[0-9]+' || fail "version"
for c in run validate plugins dev-kafka offsets; do
    "$FERRY" $c --help | grep -q "usage: ferry $c" || fail "$c --help"
done
rc=0; "$FERRY" frobnicate 2>/dev/null || rc=$?; [ "$rc" = 2 ] || fail "unknown command exit $rc"
rc=0; "$FERRY" run 2>/dev/null || rc=$?; [ "$rc" = 2 ] || fail "run without FILE exit $rc"
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
