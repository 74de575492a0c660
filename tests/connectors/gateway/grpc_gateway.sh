#!/usr/bin/env bash
# The gateway's gRPC service (Liiklus's LiiklusService), driven by a Python
# grpcio client generated from the proto (liiklus_client.py), checked with
# kcat and Kafka's own consumer-groups tool:
# - publish (records and a LiiklusEvent) lands in Kafka where the reply says;
# - one client receives every record of every partition once, in order per
#   partition; acks become the group's Kafka offsets (GetOffsets, and on real
#   Kafka kafka-consumer-groups sees them);
# - two clients of a group split the partitions; an ack through one for a
#   partition the other holds is refused; when one leaves its partitions move
#   to the other;
# - a new LATEST group gets a whole window before its first ack;
# - acks never move a position back, and name a record that exists;
# - ack after processing: a client that dies before its ack gets the record
#   again (at-least-once); ack before: the record is lost, never repeated
#   (at-most-once);
# - a client that does not ack one partition stalls only that partition
#   (max.in.flight.per.partition);
# - bearer tokens per group; topics outside `topics` are refused;
# - (real Kafka) acks survive a restart of the gateway.
source "$TESTLIB"
broker_start --topic gw:4 --topic one:1 --topic two:2 --topic ev:1
PY=$(py_venv grpcio "$FERRY_SOURCE_DIR/tests/connectors/gateway/requirements.txt") || fail "no grpcio for the client"
CLIENT="$FERRY_SOURCE_DIR/tests/connectors/gateway/liiklus_client.py"

cat >"$WORK/p.yaml" <<YAML
worker:
  # A member that left is noticed within 6 s (the embedded broker ends a
  # rebalance only after the session timeout, less 1 s).
  kafka: {bootstrap.servers: "$BROKER", consumer.session.timeout.ms: 6000}
  offsets: {topic: $OFFSETS_TOPIC}
connectors:
  open:
    connector: gateway
    listen: 127.0.0.1:0
    topics: [gw, one, two, ev]
    max.in.flight.per.partition: 5
  locked:
    connector: gateway
    listen: 127.0.0.1:0
    topics: [gw]
    auth.tokens: {team-a: "\${env:GW_TOKEN_A}"}
YAML
export GW_TOKEN_A=s3cret-a
"$FERRY" validate "$WORK/p.yaml" >/dev/null || fail "validate rejected the gateway pipeline"

start_gateway() {
    : >"$WORK/run.log"
    ferry_start run "$WORK/p.yaml"
    wait_until 30 grep -q "\[open/0\].*gateway: gRPC (LiiklusService) on" "$WORK/run.log" || fail "the open gateway did not start"
    wait_until 30 grep -q "\[locked/0\].*gateway: gRPC (LiiklusService) on" "$WORK/run.log" || fail "the locked gateway did not start"
    OPEN=$(grep -o "\[open/0\].*gateway: gRPC (LiiklusService) on [0-9.:]*" "$WORK/run.log" | tail -1 | awk '{print $NF}')
    LOCKED=$(grep -o "\[locked/0\].*gateway: gRPC (LiiklusService) on [0-9.:]*" "$WORK/run.log" | tail -1 | awk '{print $NF}')
}
client() { "$PY" "$CLIENT" "$@"; }
start_gateway
log "gateways at $OPEN (open) and $LOCKED (tokens)"

# ---- publish: the reply's partition/offset hold the record (kcat) ----
client "$OPEN" publish gw 200 k >"$WORK/pub.jsonl" || fail "publish failed"
[ "$(wc -l <"$WORK/pub.jsonl")" = 200 ] || fail "publish: expected 200 replies"
line=$(sed -n 37p "$WORK/pub.jsonl")
p=$(echo "$line" | jq -r .partition)
o=$(echo "$line" | jq -r .offset)
got=$(kcat -b "$BROKER" -C -t gw -p "$p" -o "$o" -c 1 -e -q -f '%k=%s')
[ "$got" = "k36=k-value-36" ] || fail "publish: $p@$o holds '$got', not k36=k-value-36"
kcat -b "$BROKER" -C -t gw -o beginning -e -q -f '%p %o %k %s\n' | sort >"$WORK/gw.want"
[ "$(wc -l <"$WORK/gw.want")" = 200 ] || fail "topic gw does not hold the 200 published records"

# ---- one client, every partition: every record once, in order per partition ----
client "$OPEN" receive gw all 200 >"$WORK/all.jsonl" || fail "receive failed"
jq -r '"\(.partition) \(.offset) \(.key) \(.value)"' "$WORK/all.jsonl" | sort >"$WORK/gw.got"
diff "$WORK/gw.want" "$WORK/gw.got" >&2 || fail "the client did not receive exactly the topic's records"
for part in 0 1 2 3; do
    jq -r "select(.partition == $part) | .offset" "$WORK/all.jsonl" >"$WORK/order.$part"
    sort -n "$WORK/order.$part" | cmp -s - "$WORK/order.$part" || fail "partition $part arrived out of order"
done
jq -e 'select(.replay == true)' "$WORK/all.jsonl" >/dev/null && fail "a first delivery was flagged replay"
# The acks are the group's positions: the last offset of each partition.
client "$OPEN" offsets gw all >"$WORK/offsets.json"
client "$OPEN" end-offsets gw >"$WORK/end.json"
cmp -s "$WORK/offsets.json" "$WORK/end.json" ||
    fail "GetOffsets $(cat "$WORK/offsets.json") differs from GetEndOffsets $(cat "$WORK/end.json") after acking everything"
# A second run of the group starts after its acks: nothing left to get.
timeout 8 "$PY" "$CLIENT" "$OPEN" receive gw all 1 >"$WORK/again.jsonl" 2>/dev/null && fail "the group got records again after acking all"

# ---- two clients in a group split the partitions; the survivor takes over ----
client "$OPEN" split gw splitters 4 >"$WORK/split.jsonl" || fail "split: $(tail -1 "$WORK/split.jsonl")"
log "split: $(tr '\n' ' ' <"$WORK/split.jsonl")"

# ---- ack after processing: at-least-once; before: at-most-once ----
kcat -b "$BROKER" -P -t one -K: < <(for i in $(seq 0 59); do echo "o$i:one-$i"; done)
client "$OPEN" crash one alo after 20 >"$WORK/alo1.jsonl" || fail "crash (after) failed"
client "$OPEN" receive one alo 40 >"$WORK/alo2.jsonl" || fail "at-least-once: the second client did not get the rest"
# The first processed 0..19 and acked 0..18: record 19 comes again, flagged
# as not acknowledged (replay false), and nothing is missing.
[ "$(jq -r .offset "$WORK/alo1.jsonl" | tr '\n' ' ')" = "$(seq -s ' ' 0 19) " ] || fail "at-least-once: first client processed $(jq -r .offset "$WORK/alo1.jsonl" | tr '\n' ' ')"
[ "$(jq -r .offset "$WORK/alo2.jsonl" | head -1)" = 19 ] || fail "at-least-once: the second client began at $(jq -r .offset "$WORK/alo2.jsonl" | head -1), not 19"
cat "$WORK/alo1.jsonl" "$WORK/alo2.jsonl" | jq -r .offset | sort -un | wc -l | grep -qx 60 || fail "at-least-once: a record was lost"
client "$OPEN" crash one amo before 20 >"$WORK/amo1.jsonl" || fail "crash (before) failed"
client "$OPEN" receive one amo 40 >"$WORK/amo2.jsonl" || fail "at-most-once: the second client did not get the rest"
# Acked 0..19, processed 0..18: 19 is lost, nothing repeats.
[ "$(jq -r .offset "$WORK/amo2.jsonl" | head -1)" = 20 ] || fail "at-most-once: the second client began at $(jq -r .offset "$WORK/amo2.jsonl" | head -1), not 20"
cat "$WORK/amo1.jsonl" "$WORK/amo2.jsonl" | jq -r .offset | sort -n | uniq -d | grep -q . && fail "at-most-once: a record was processed twice"
cat "$WORK/amo1.jsonl" "$WORK/amo2.jsonl" | jq -r .offset | grep -qx 19 && fail "at-most-once: record 19 was processed"

# ---- a group that starts at the end gets a whole window before its first ack ----
client "$OPEN" late one late 20 5 >"$WORK/late.json" || fail "late: a new LATEST group did not get a window of records"

# ---- a client that does not ack stalls only its own partition ----
kcat -b "$BROKER" -P -t two -p 0 < <(seq 1 200)
kcat -b "$BROKER" -P -t two -p 1 < <(seq 1 200)
client "$OPEN" slow two slowgroup >"$WORK/slow.json" || fail "slow: partition 1 was held up by partition 0"
[ "$(jq -r .p0 "$WORK/slow.json")" = 5 ] || fail "slow: partition 0 got $(jq -r .p0 "$WORK/slow.json") records without acking, not max.in.flight.per.partition (5)"

# ---- LiiklusEvent: published as CloudEvents JSON, received as an event ----
client "$OPEN" publish-event ev evt-1 >/dev/null || fail "publish-event failed"
kcat -b "$BROKER" -C -t ev -o beginning -c 1 -e -q -f '%s' >"$WORK/ev.value"
jq -e '.specversion == "1.0" and .id == "evt-1" and .type == "com.example.created" and .source == "/tests/gateway" and .data == {"n":1}' \
    "$WORK/ev.value" >/dev/null || fail "the event is not CloudEvents JSON in Kafka: $(cat "$WORK/ev.value")"
client "$OPEN" receive ev evg 1 --event >"$WORK/ev.jsonl" || fail "receive (LIIKLUS_EVENT) failed"
jq -e '.event.id == "evt-1" and .event.source == "/tests/gateway" and .event.data == "{\"n\":1}" and .event.data_content_type == "application/json"' \
    "$WORK/ev.jsonl" >/dev/null || fail "the event came back as $(cat "$WORK/ev.jsonl")"
client "$OPEN" expect-code INVALID_ARGUMENT receive gw evbad 1 --event >/dev/null || fail "a non-event record in LIIKLUS_EVENT format was not refused"

# ---- tokens and topics ----
client "$LOCKED" expect-code UNAUTHENTICATED receive gw team-a 1 >/dev/null || fail "no token was accepted"
client "$LOCKED" --token wrong expect-code UNAUTHENTICATED receive gw team-a 1 >/dev/null || fail "a wrong token was accepted"
client "$LOCKED" --token s3cret-a expect-code UNAUTHENTICATED receive gw team-b 1 >/dev/null || fail "team-a's token worked for team-b"
client "$LOCKED" --token s3cret-a receive gw team-a 200 >/dev/null || fail "team-a with its token did not receive"
client "$LOCKED" --token s3cret-a expect-code PERMISSION_DENIED receive one team-a 1 >/dev/null || fail "a topic outside 'topics' was served"
grep -q "s3cret-a" "$WORK/run.log" && fail "the token appears in the log"

# ---- acks survive a restart (the embedded broker lives in its own process
# too, but the positions must be in Kafka, not in the gateway) ----
client "$OPEN" ack gw restart 0 9
client "$OPEN" ack gw restart 1 4
# An older ack is a no-op (it must not move the group back); an ack past the
# partition's end, or of a partition the topic lacks, is refused.
client "$OPEN" ack gw restart 0 3 || fail "an older ack was refused"
client "$OPEN" expect-code INVALID_ARGUMENT ack gw restart 0 999999 >"$WORK/past.json" || fail "an ack past the end was taken"
jq -e '.details | contains("past the end of gw/0")' "$WORK/past.json" >/dev/null || fail "ack past the end: $(cat "$WORK/past.json")"
client "$OPEN" expect-code INVALID_ARGUMENT ack gw restart 9 1 >"$WORK/nopart.json" || fail "an ack of partition 9 was taken"
jq -e '.details | contains("gw has no partition 9")' "$WORK/nopart.json" >/dev/null || fail "ack of partition 9: $(cat "$WORK/nopart.json")"
ferry_stop "$FERRY_PID"
start_gateway
client "$OPEN" offsets gw restart >"$WORK/restart.json"
jq -e '."0" == 9 and ."1" == 4' "$WORK/restart.json" >/dev/null || fail "positions after the restart: $(cat "$WORK/restart.json")"
if [ "$FERRY_TEST_BROKER" = kafka ]; then
    # Other Kafka tools see the positions: committed = acked + 1.
    bash "$FERRY_SOURCE_DIR/tests/kafka/kafka.sh" tool consumer-groups --bootstrap-server "$BROKER" --describe --group restart \
        >"$WORK/groups.txt" 2>>"$WORK/tool.log" || fail "kafka-consumer-groups failed"
    awk '$2 == "gw" && $3 == 0 {print $4}' "$WORK/groups.txt" | grep -qx 10 || fail "kafka-consumer-groups: $(cat "$WORK/groups.txt")"
fi
client "$OPEN" receive gw restart 185 >"$WORK/resume.jsonl" || fail "receive after the restart failed"
[ "$(jq -r 'select(.partition == 0) | .offset' "$WORK/resume.jsonl" | head -1)" = 10 ] || fail "partition 0 resumed at $(jq -r 'select(.partition == 0) | .offset' "$WORK/resume.jsonl" | head -1), not 10"
ferry_stop "$FERRY_PID"
grep -E "ERROR" "$WORK/run.log" | grep -v "UNAUTHENTICATED\|not valid\|required" && fail "errors in the log"
log "PASS"
