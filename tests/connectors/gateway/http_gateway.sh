#!/usr/bin/env bash
# The gateway's HTTP interface (connectors/gateway/gw_http.c), driven with
# curl, checked with kcat and confluent_kafka (Debian's python3):
# - bearer tokens per group (401), topics outside `topics` (403), bodies
#   with a missing or mistyped field (400 naming it), unknown routes (404),
#   wrong methods (405);
# - a subscription gets every partition of its topic; one NDJSON stream per
#   partition with credit=10 sends exactly 10 records until they are
#   acknowledged, then the rest; all 300 records arrive exactly once with
#   their keys and values (kcat's dump);
# - GET /v1/offsets equals the acks, and the group's committed offsets in
#   Kafka are the acks + 1; /v1/end-offsets is the topic's last offsets;
# - a second subscription of the group splits the partitions (disjoint,
#   together all four); after it is deleted the first has all four again;
# - a partition is received by one stream at a time (409);
# - publish (text and base64) lands where the reply says (kcat);
# - Server-Sent Events: `id: <offset>` lines;
# - ferry stops cleanly (exit 0, so no leak under ASan) with a subscription
#   and a stream open; the stream's last line says why (503).
source "$TESTLIB"
broker_start --topic gw:4

# The embedded broker finishes a rebalance only after the members' session
# timeout less 1 s: 6 s keeps the test short.
cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER", consumer.session.timeout.ms: 6000, consumer.heartbeat.interval.ms: 500}
  offsets: {topic: $OFFSETS_TOPIC}
  rest: {listen: "off"}
connectors:
  gw:
    connector: gateway
    listen: "off"
    http.listen: 127.0.0.1:0
    topics: [gw]
    auth.tokens: {g1: secret1, other: secret2}
YAML
"$FERRY" validate "$WORK/p.yaml" >/dev/null || fail "validate rejected the gateway pipeline"

for i in $(seq 1 300); do echo "key-$i:value-$i"; done | kcat -b "$BROKER" -P -t gw -K: 2>>"$WORK/kcat.log" ||
    fail "kcat could not produce"
kcat -b "$BROKER" -C -t gw -o beginning -e -q -f '%p %o %k %s\n' 2>>"$WORK/kcat.log" | sort >"$WORK/expected.txt"
[ "$(wc -l <"$WORK/expected.txt")" = 300 ] || fail "kcat reads $(wc -l <"$WORK/expected.txt") records, not 300"

ferry_start run "$WORK/p.yaml"
wait_until 30 grep -q "gateway: HTTP on" "$WORK/run.log" || fail "the gateway's HTTP interface did not start"
URL=http://$(grep -o "gateway: HTTP on [0-9.:]*" "$WORK/run.log" | head -1 | awk '{print $NF}')
AUTH="Authorization: Bearer secret1"
log "gateway at $URL"

# call METHOD PATH [BODY] [CURL-ARGS...]: the body in $WORK/resp, the status in CODE.
call() {
    local method=$1 path=$2 body=${3:-}
    shift $(($# < 3 ? $# : 3))
    local args=(-s -m 30 -o "$WORK/resp" -w '%{http_code}' -X "$method" "$@" "$URL$path")
    [ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
    CODE=$(curl "${args[@]}") || CODE=000
}
expect() { # CODE WHAT [JQ-EXPRESSION that must be true]
    [ "$CODE" = "$1" ] || fail "$2: HTTP $CODE, expected $1: $(head -c 500 "$WORK/resp")"
    if [ "${1:0:1}" != 2 ]; then
        jq -e --argjson c "$1" '.error_code == $c and (.message | type == "string")' "$WORK/resp" >/dev/null ||
            fail "$2: not a {error_code, message} body: $(head -c 500 "$WORK/resp")"
    fi
    [ -z "${3:-}" ] || jq -e "$3" "$WORK/resp" >/dev/null || fail "$2: '$3' is not true of $(head -c 500 "$WORK/resp")"
}

# ---- refusals ----
call POST /v1/subscriptions '{"topic":"gw","group":"g1"}'
expect 401 "subscribe without a token"
call POST /v1/subscriptions '{"topic":"gw","group":"g1"}' -H "Authorization: Bearer secret2"
expect 401 "subscribe with another group's token" '.message | test("g1")'
call POST /v1/subscriptions '{"topic":"secret-topic","group":"g1"}' -H "$AUTH"
expect 403 "subscribe to a topic outside topics" '.message | test("secret-topic")'
call POST /v1/subscriptions '{"topic":"gw"}' -H "$AUTH"
expect 400 "subscribe without a group" '.message | test("group")'
call POST /v1/subscriptions '{"topic":"gw","group":"g1","group_version":"one"}' -H "$AUTH"
expect 400 "subscribe with a string group_version" '.message | test("group_version")'
call POST /v1/subscriptions '{"topic":"gw","group":"g1","auto_offset_reset":"middle"}' -H "$AUTH"
expect 400 "subscribe with a bad auto_offset_reset" '.message | test("auto_offset_reset")'
call POST /v1/subscriptions '{"topic": ' -H "$AUTH"
expect 400 "subscribe with a body that is not JSON" '.message | test("JSON")'
call POST /v1/ack '{"session_id":"x","partition":0}' -H "$AUTH"
expect 400 "ack without an offset" '.message | test("offset")'
call GET /v1/nothing-here "" -H "$AUTH"
expect 404 "an unknown route"
call PUT /v1/publish '{}' -H "$AUTH"
expect 405 "PUT on /v1/publish"
call GET /v1/subscriptions/no-such-session "" -H "$AUTH"
expect 404 "an unknown subscription"

# ---- one subscription: every partition, credit, exactly once ----
call POST /v1/subscriptions '{"topic":"gw","group":"g1"}' -H "$AUTH"
expect 201 "subscribe as g1" '.topic == "gw" and .group == "g1" and (.session_id | length > 0)'
S1=$(jq -r .session_id "$WORK/resp")
[ "$(jq -c .assignments "$WORK/resp")" = "[0,1,2,3]" ] || fail "the only member got $(jq -c .assignments "$WORK/resp")"
log "subscription $S1 holds every partition"

declare -A CURL ACKED
for p in 0 1 2 3; do
    curl -s -N -H "$AUTH" "$URL/v1/subscriptions/$S1/partitions/$p/records?credit=10" >"$WORK/p$p.ndjson" 2>/dev/null &
    CURL[$p]=$!
    PIDS+=("${CURL[$p]}")
    ACKED[$p]=-1
done
lines() { wc -l <"$WORK/p$1.ndjson"; }
all_at() { for p in 0 1 2 3; do [ "$(lines $p)" -ge "$1" ] || return 1; done; }
wait_until 20 all_at 10 || fail "the streams did not send 10 records each: $(for p in 0 1 2 3; do echo -n "$(lines $p) "; done)"
sleep 1
for p in 0 1 2 3; do
    [ "$(lines $p)" = 10 ] || fail "credit=10: partition $p sent $(lines $p) records without an ack"
done

call GET /v1/subscriptions/$S1/partitions/0/records "" -H "$AUTH"
expect 409 "a second stream of a partition being received"
call GET /v1/subscriptions/$S1/partitions/9/records "" -H "$AUTH"
expect 404 "a stream of a partition the subscription does not hold"

# Acknowledge what arrived (partition 3 through topic + group) until every
# partition sent as many records as kcat sees in it.
want() { awk -v p="$1" '$1 == p' "$WORK/expected.txt" | wc -l; }
ack_round() {
    local p last done=1
    for p in 0 1 2 3; do
        # Complete lines only: curl may be writing the next one.
        last=$(head -n "$(lines $p)" "$WORK/p$p.ndjson" | tail -n 1 | jq -r .offset)
        if [ -n "$last" ] && [ "$last" != "${ACKED[$p]}" ]; then
            if [ "$p" = 3 ]; then
                call POST /v1/ack "{\"topic\":\"gw\",\"group\":\"g1\",\"partition\":3,\"offset\":$last}" -H "$AUTH"
            else
                call POST /v1/ack "{\"session_id\":\"$S1\",\"partition\":$p,\"offset\":$last}" -H "$AUTH"
            fi
            expect 204 "ack of $p at $last"
            ACKED[$p]=$last
        fi
        [ "$(lines $p)" -ge "$(want $p)" ] || done=0
    done
    [ $done = 1 ]
}
wait_until 30 ack_round || fail "the streams stopped short: $(for p in 0 1 2 3; do echo -n "$(lines $p)/$(want $p) "; done)"
ack_round || true
for p in 0 1 2 3; do
    jq -r --arg p "$p" '"\($p) \(.offset) \(.key | @base64d) \(.value | @base64d)"' "$WORK/p$p.ndjson"
done | sort >"$WORK/got.txt"
diff "$WORK/expected.txt" "$WORK/got.txt" >"$WORK/diff.txt" || fail "the streams' records differ from kcat's: $(head -20 "$WORK/diff.txt")"
jq -e -s 'all(.replay == false and (.timestamp | type == "number"))' "$WORK"/p?.ndjson >/dev/null ||
    fail "a record is marked replay or has no timestamp"
log "300 records once each, credit respected"

# ---- positions: ours, and the group's offsets in Kafka ----
last_offsets() { awk '!($1 in last) || $2 + 0 > last[$1] {last[$1] = $2 + 0} END {for (p in last) print p, last[p]}' "$WORK/expected.txt" | sort; }
call GET "/v1/offsets?topic=gw&group=g1" "" -H "$AUTH"
expect 200 "GET /v1/offsets"
jq -r '.offsets | to_entries[] | "\(.key) \(.value)"' "$WORK/resp" | sort >"$WORK/offsets.txt"
[ "$(cat "$WORK/offsets.txt")" = "$(last_offsets)" ] || fail "offsets $(cat "$WORK/offsets.txt" | tr '\n' ' ') are not the acks $(last_offsets | tr '\n' ' ')"
for p in 0 1 2 3; do [ "${ACKED[$p]}" = "$(awk -v p=$p '$1 == p {print $2}' "$WORK/offsets.txt")" ] || fail "partition $p: acked ${ACKED[$p]}, GET /v1/offsets says otherwise"; done
call GET "/v1/end-offsets?topic=gw" "" -H "$AUTH"
expect 200 "GET /v1/end-offsets"
[ "$(jq -r '.offsets | to_entries[] | "\(.key) \(.value)"' "$WORK/resp" | sort)" = "$(last_offsets)" ] ||
    fail "end offsets $(cat "$WORK/resp") are not the topic's last offsets"
/usr/bin/python3 - "$BROKER" >"$WORK/committed.txt" 2>>"$WORK/python.log" <<'PY' || fail "could not read g1's committed offsets"
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "g1", "enable.auto.commit": False})
for tp in c.committed([TopicPartition("gw", p) for p in range(4)], timeout=10):
    print(tp.partition, tp.offset - 1)
c.close()
PY
[ "$(sort "$WORK/committed.txt")" = "$(last_offsets)" ] ||
    fail "g1's committed offsets in Kafka (- 1) $(tr '\n' ' ' <"$WORK/committed.txt") are not the acks"
log "positions are the acks, in Kafka too"

for p in 0 1 2 3; do kill "${CURL[$p]}" 2>/dev/null || true; done

# ---- publish ----
call POST /v1/publish '{"topic":"gw","key_text":"pk","value_text":"hello gateway"}' -H "$AUTH"
expect 200 "publish text" '.topic == "gw" and (.partition | type == "number") and (.offset | type == "number")'
PP=$(jq -r .partition "$WORK/resp")
PO=$(jq -r .offset "$WORK/resp")
got=$(kcat -b "$BROKER" -C -t gw -p "$PP" -o "$PO" -c 1 -e -q -f '%k=%s' 2>>"$WORK/kcat.log")
[ "$got" = "pk=hello gateway" ] || fail "the published record at gw/$PP@$PO reads '$got'"
call POST /v1/publish "{\"topic\":\"gw\",\"key\":\"$(printf 'bk' | base64)\",\"value\":\"$(printf 'bin\001ary' | base64)\"}" -H "$AUTH"
expect 200 "publish base64"
got=$(kcat -b "$BROKER" -C -t gw -p "$(jq -r .partition "$WORK/resp")" -o "$(jq -r .offset "$WORK/resp")" -c 1 -e -q \
    -f '%k=%s' 2>>"$WORK/kcat.log" | od -An -c | tr -s ' ')
[ "$got" = " b k = b i n 001 a r y" ] || fail "the base64 record reads '$got'"
call POST /v1/publish '{"topic":"gw","value":"not base64!"}' -H "$AUTH"
expect 400 "publish a value that is not base64" '.message | test("value")'
call POST /v1/publish '{"topic":"gw","value_text":"x"}'
expect 401 "publish without a token"

# ---- Server-Sent Events: the published record, from the acked position ----
# The released streams' partitions become free within a moment.
sse() { curl -s -N -m 10 -H "$AUTH" "$URL/v1/subscriptions/$S1/partitions/$PP/records?format=sse&limit=1" >"$WORK/sse.txt" 2>/dev/null; grep -q '^id: ' "$WORK/sse.txt"; }
wait_until 10 sse || fail "no SSE record: $(head -c 500 "$WORK/sse.txt")"
[ "$(sed -n 1p "$WORK/sse.txt")" = "id: $PO" ] || fail "SSE: expected 'id: $PO' first: $(head -c 300 "$WORK/sse.txt")"
[ "$(sed -n 2p "$WORK/sse.txt")" = "event: record" ] || fail "SSE: no 'event: record' line"
[ "$(sed -n 3p "$WORK/sse.txt" | sed 's/^data: //' | jq -r '.value | @base64d')" = "hello gateway" ] ||
    fail "SSE: the data line is not the published record: $(sed -n 3p "$WORK/sse.txt")"
log "publish and SSE work"

# ---- a second member splits the partitions; deleting it gives them back ----
call POST "/v1/subscriptions?wait=20000" '{"topic":"gw","group":"g1"}' -H "$AUTH"
expect 201 "a second subscription of g1"
S2=$(jq -r .session_id "$WORK/resp")
assigned() { call GET "/v1/subscriptions/$1" "" -H "$AUTH"; [ "$CODE" = 200 ] && jq -c .assignments "$WORK/resp"; }
split() {
    local a b
    a=$(assigned "$S1") && b=$(assigned "$S2") || return 1
    SPLIT="$a $b"
    [ "$a" != "[]" ] && [ "$b" != "[]" ] &&
        [ "$(jq -nc --argjson a "$a" --argjson b "$b" '($a + $b | sort) == [0,1,2,3] and ($a - $b) == $a')" = true ]
}
wait_until 30 split || fail "two members did not split the 4 partitions: $SPLIT"
log "two members: $SPLIT"
call DELETE "/v1/subscriptions/$S2" "" -H "Authorization: Bearer secret2"
expect 401 "DELETE with another group's token"
call DELETE "/v1/subscriptions/$S2" "" -H "$AUTH"
expect 204 "DELETE the second subscription"
call GET "/v1/subscriptions/$S2" "" -H "$AUTH"
expect 404 "GET a deleted subscription"
whole() { [ "$(assigned "$S1")" = "[0,1,2,3]" ]; }
wait_until 30 whole || fail "the first member did not get every partition back: $(assigned "$S1")"
log "after DELETE the first member holds every partition"

# ---- stop with a subscription and a stream open ----
curl -s -N -H "$AUTH" "$URL/v1/subscriptions/$S1/partitions/0/records" >"$WORK/last.ndjson" 2>/dev/null &
PIDS+=("$!")
sleep 0.5
ferry_stop "$FERRY_PID" 30
jq -e -s 'length == 1 and .[0].error_code == 503' "$WORK/last.ndjson" >/dev/null ||
    fail "the stream open at stop did not end with a 503 line: $(head -c 300 "$WORK/last.ndjson")"
grep -q "ERROR" "$WORK/run.log" && fail "errors in the log: $(grep ERROR "$WORK/run.log" | head -5)"
log "ok"
