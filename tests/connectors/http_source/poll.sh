#!/usr/bin/env bash
# http-source mode poll against api_server.py (ours, stdlib) and the
# embedded broker; kcat reads the topics back.
#   - a paginated API (cursor style and Link style) is read completely, once,
#     in order, with keys from record.key.pointer, through injected 500s
#   - unchanged pages are asked with If-None-Match and answered 304
#   - after a restart each connector goes on from its stored position: new
#     items only, no duplicates
#   - a response that is not JSON, and a 404, fail the task with the status
#     and the first bytes of the body
source "$TESTLIB"
broker_start --topic cur:1 --topic lnk:1 --topic junk:1 --topic gone:1 --topic mid:1

/usr/bin/python3 "$FERRY_SOURCE_DIR/tests/connectors/http_source/api_server.py" --port-file "$WORK/api.port" \
    --items 25 >"$WORK/api.log" 2>&1 &
PIDS+=($!)
wait_until 10 test -s "$WORK/api.port" || fail "api_server.py did not start"
API="http://127.0.0.1:$(cat "$WORK/api.port")"
curl -sf -X POST "$API/_fail?n=3" >/dev/null || fail "api_server.py does not answer"
RP=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
  rest: {listen: "127.0.0.1:$RP"}
connectors:
  cur:
    connector: http-source
    mode: poll
    url: "$API/cursor?limit=10"
    topic: cur
    interval: 300ms
    response.records.pointer: /data
    record.key.pointer: /id
    cursor.pointer: /meta/next
    cursor.param: after
    retry.backoff.max: 300ms
    headers: {X-Test: poll}
  lnk:
    connector: http-source
    mode: poll
    url: "$API/link?page=1&per=10"
    topic: lnk
    interval: 300ms
    record.key.pointer: /id
    retry.backoff.max: 300ms
YAML
cat >"$WORK/bad.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
  rest: {listen: "127.0.0.1:$RP"}
connectors:
  junk:
    connector: http-source
    mode: poll
    url: "$API/bad"
    topic: junk
    errors.restart.enabled: false
  gone:
    connector: http-source
    mode: poll
    url: "$API/nope"
    topic: gone
    errors.restart.enabled: false
YAML
"$FERRY" validate "$WORK/p.yaml" >/dev/null || fail "validate rejected a good config"

ids() { kcat -b "$BROKER" -C -t "$1" -o beginning -e -q -f '%k\n' 2>>"$WORK/kcat.log"; }
check_ids() { # check_ids TOPIC N: keys are exactly 1..N in order, values match
    local want got
    want=$(seq 1 "$2")
    got=$(ids "$1")
    [ "$got" = "$want" ] || fail "topic $1: keys are not 1..$2 once each in order: $(echo $got | head -c 400)"
    topic_dump "$1" | head -n1 | grep -qx '{"id":1,"name":"item-1"}' || fail "topic $1: first value $(topic_dump "$1" | head -n1)"
}
stat() { curl -sf "$API/_stats" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# ---- first run: everything once, through three 500s ----
ferry_start run "$WORK/p.yaml"
wait_until 40 bash -c "[ \$(kcat -b $BROKER -C -t cur -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 25 ] && [ \$(kcat -b $BROKER -C -t lnk -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 25 ]" ||
    fail "the API was not read completely: cur $(topic_count cur), lnk $(topic_count lnk)"
[ "$(stat failed)" = 3 ] || fail "the API failed $(stat failed) requests, expected 3"
grep -q 'HTTP 500' "$WORK/run.log" || fail "the 500s were not logged"
grep -q 'FAILED\|task failed' "$WORK/run.log" && fail "a 500 failed the task"
# Caught up: the last pages are asked again, conditionally.
wait_until 20 bash -c "[ \$(curl -sf $API/_stats | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[\"not_modified\"])') -ge 4 ]" ||
    fail "no 304 answers: the connector does not send If-None-Match"
check_ids cur 25
check_ids lnk 25
ferry_stop "$FERRY_PID"

# ---- restart: only what is new ----
curl -sf -X POST "$API/_add?n=12" >/dev/null
ferry_start run2 "$WORK/p.yaml"
wait_until 40 bash -c "[ \$(kcat -b $BROKER -C -t cur -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 37 ] && [ \$(kcat -b $BROKER -C -t lnk -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 37 ]" ||
    fail "new items not read after the restart: cur $(topic_count cur), lnk $(topic_count lnk)"
grep -q 'resuming' "$WORK/run2.log" || fail "the restarted tasks did not resume from their offsets"
sleep 1.5 # several more polls: nothing may come twice
check_ids cur 37
check_ids lnk 37
ferry_stop "$FERRY_PID"

# ---- killed in the middle of a page: the rest of the page comes after the restart ----
# One page of all 37 items, read at 10 records/s; kill -9 once some are stored. The stored
# offset points into the page: the restart must fetch it in full (no If-None-Match that the
# unchanged page would answer 304 forever) and go on after the stored index.
cat >"$WORK/mid.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 200ms}
  rest: {listen: "127.0.0.1:$RP"}
connectors:
  mid:
    connector: http-source
    mode: poll
    url: "$API/cursor?limit=100"
    topic: mid
    interval: 300ms
    response.records.pointer: /data
    record.key.pointer: /id
    cursor.pointer: /meta/next
    cursor.param: after
    rate.limit.records: 10
    batch.max.records: 1
YAML
ferry_start mid "$WORK/mid.yaml"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t mid -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 12 ]" ||
    fail "mid: $(topic_count mid) records before the kill"
kill -9 "$FERRY_PID"
wait "$FERRY_PID" 2>/dev/null || true
before=$(topic_count mid)
[ "$before" -lt 37 ] || fail "mid: the whole page ($before) was read before the kill; the test proves nothing"
sed -i 's/rate.limit.records: 10/rate.limit.records: 1000/' "$WORK/mid.yaml"
ferry_start mid2 "$WORK/mid.yaml"
wait_until 40 bash -c "[ \$(kcat -b $BROKER -C -t mid -o beginning -e -q -f '%k\n' 2>/dev/null | sort -un | wc -l) -ge 37 ]" ||
    fail "after a kill mid-page ($before stored) the rest was never read: $(ids mid | sort -un | wc -l) of 37 distinct items"
ferry_stop "$FERRY_PID"
log "mid-page restart: $before before the kill, all 37 after (at-least-once: $(topic_count mid) records)"

# ---- responses that cannot be used ----
ferry_start bad "$WORK/bad.yaml"
wait_until 20 grep -q "the response is not JSON" "$WORK/bad.log" || fail "an unparsable response was not reported"
grep "the response is not JSON" "$WORK/bad.log" | grep -q "HTTP 200.*first bytes: '<html><body>Service temporarily" ||
    fail "the report lacks the status or the first bytes: $(grep 'not JSON' "$WORK/bad.log" | head -n1)"
wait_until 20 grep -q "HTTP 404; the response's first bytes: '{\"error\":\"no such endpoint\"}'" "$WORK/bad.log" ||
    fail "a 404 was not reported with its status and first bytes"
[ "$(topic_count junk)" = 0 ] || fail "an unparsable response produced records"
ferry_stop "$FERRY_PID"
log "PASS"
