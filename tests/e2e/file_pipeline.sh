#!/usr/bin/env bash
# file-source → topic → file-sink, including a file that grows while the
# pipeline runs; the output holds exactly the input lines.
source "$TESTLIB"
broker_start --topic lines:2
seq 1 2000 | sed 's/^/line-/' >"$WORK/in.txt"
printf 'unicode: gr\xc3\xbc\xc3\x9fe \xe2\x9c\x93\n' >>"$WORK/in.txt"
cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
connectors:
  src:
    connector: file-source
    path: $WORK/in.txt
    topic: lines
  dst:
    connector: file-sink
    topics: [lines]
    path: $WORK/out.txt
    flush.interval: 500ms
YAML
"$FERRY" validate "$WORK/p.yaml" >/dev/null || fail "validate rejected a good config"
ferry_start run "$WORK/p.yaml"
wait_until 60 bash -c "[ -f $WORK/out.txt ] && [ \$(wc -l < $WORK/out.txt) -ge 2001 ]" || fail "sink did not write 2001 lines"
# Grow the file, with a partial last line completed later.
seq 2001 2500 | sed 's/^/line-/' >>"$WORK/in.txt"
printf 'partial-' >>"$WORK/in.txt"
sleep 1
printf 'done\n' >>"$WORK/in.txt"
wait_until 60 bash -c "[ \$(wc -l < $WORK/out.txt) -ge 2502 ]" || fail "growth not followed"
ferry_stop "$FERRY_PID"
sort "$WORK/in.txt" >"$WORK/in.sorted"
sort "$WORK/out.txt" >"$WORK/out.sorted"
cmp -s "$WORK/in.sorted" "$WORK/out.sorted" || {
    diff "$WORK/in.sorted" "$WORK/out.sorted" | head >&2
    fail "output differs from input"
}
grep -qx 'partial-done' "$WORK/out.txt" || fail "partial line was split"
log "PASS"
