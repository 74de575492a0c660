#!/usr/bin/env bash
# `ferry run` on Apache Kafka: datagen's records arrive (kcat), ferry creates
# its offsets topic itself through CreateTopics, compacted and with the
# default 25 partitions, and stores the offset there in Kafka Connect's
# format. A second run finds the topic, says it is compacted, and carries on
# from the stored offset: after two graceful stops every sequence number is
# in the topic exactly once. Then an offsets topic that exists without
# cleanup.policy=compact is refused at start-up, naming the topic and the fix
# (as Kafka Connect refuses one), and nothing is produced.
source "$TESTLIB"
broker_start --topic fo-data:3
kafka_admin delete "$OFFSETS_TOPIC" || fail "could not delete $OFFSETS_TOPIC" # ferry creates it

config() { # COUNT
    cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
connectors:
  fo-gen:
    connector: datagen
    topic: fo-data
    count: $1
    value.size: 100
YAML
}
data_count() { topic_count fo-data; }

# started_or_exited PID LOG: the worker loaded its offsets, or it is gone.
started_or_exited() { grep -q "offsets: topic" "$2" || ! kill -0 "$1" 2>/dev/null; }

config 2000
# The first start creates the offsets topic and reads it at once: right after
# creation the broker can still refuse as "not leader", which ferry retries
# (it used to exit 1 on about every second first start).
ferry_start run1 "$WORK/p.yaml"
wait_until 60 started_or_exited "$FERRY_PID" "$WORK/run1.log" || fail "the worker neither started nor exited"
kill -0 "$FERRY_PID" 2>/dev/null || fail "the worker exited at its first start: $(grep ERROR "$WORK/run1.log" | tail -n1)"
wait_until 60 bash -c "[ \$(kcat -b $BROKER -C -t fo-data -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 2000 ]" ||
    fail "datagen delivered $(data_count) of 2000 records"
sleep 1 # one more offsets flush
ferry_stop "$FERRY_PID"
grep -E "offsets|topic '$OFFSETS_TOPIC'" "$WORK/run1.log" | sed 's/^/    ferry: /' >&2
grep -q "created topic '$OFFSETS_TOPIC' (25 partitions, compacted)" "$WORK/run1.log" ||
    fail "ferry did not say it created the offsets topic compacted"
grep -q "could not" "$WORK/run1.log" && fail "ferry could not do something on a real broker: $(grep "could not" "$WORK/run1.log")"

# The topic as the broker sees it (DescribeConfigs through python3-confluent-kafka).
kafka_admin describe "$OFFSETS_TOPIC" >"$WORK/offsets-topic.json" || fail "could not describe $OFFSETS_TOPIC"
log "offsets topic: $(cat "$WORK/offsets-topic.json" | head -c 300)"
/usr/bin/python3 - "$WORK/offsets-topic.json" <<'PY' || fail "offsets topic not created as documented: $(cat "$WORK/offsets-topic.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["partitions"] == 25, d["partitions"]
assert d["configs"]["cleanup.policy"] == "compact", d["configs"]["cleanup.policy"]
PY

# The offset record: Kafka Connect's key and value, the last sequence number.
kcat -b "$BROKER" -C -t "$OFFSETS_TOPIC" -o beginning -e -q -f '%k\t%s\n' 2>>"$WORK/kcat.log" >"$WORK/offsets.tsv"
tail -n1 "$WORK/offsets.tsv" | grep -qx '\["fo-gen",{"task":0}\]	{"seq":1999}' ||
    fail "unexpected offset records: $(tail -n3 "$WORK/offsets.tsv")"

# Second run: the topic exists; the sequence carries on at 2000.
config 3000
ferry_start run2 "$WORK/p.yaml"
wait_until 60 bash -c "[ \$(kcat -b $BROKER -C -t fo-data -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 3000 ]" ||
    fail "the second run delivered $(($(data_count) - 2000)) of 1000 records"
sleep 1
ferry_stop "$FERRY_PID"
grep -q "offsets topic '$OFFSETS_TOPIC' is compacted" "$WORK/run2.log" ||
    fail "the second run did not check that the offsets topic is compacted"
grep -q "offsets: topic $OFFSETS_TOPIC (25 partitions, 1 stored)" "$WORK/run2.log" ||
    fail "the second run did not load the stored offset"
kcat -b "$BROKER" -C -t fo-data -o beginning -e -q -f '%k\n' 2>>"$WORK/kcat.log" | sort -n >"$WORK/keys"
seq 0 2999 | cmp -s - "$WORK/keys" || fail "fo-data does not hold 0..2999 exactly once ($(wc -l <"$WORK/keys") keys)"

plain="$OFFSETS_TOPIC-plain"
kafka_admin recreate "$plain:5" "fo-none:1" || fail "could not create $plain"
sed -e "s/topic: $OFFSETS_TOPIC,/topic: $plain,/" -e 's/topic: fo-data/topic: fo-none/' "$WORK/p.yaml" >"$WORK/plain.yaml"
rc=0
timeout 60 "$FERRY" run "$WORK/plain.yaml" >"$WORK/plain.log" 2>&1 || rc=$?
[ $rc = 1 ] || fail "ferry exited $rc on an offsets topic that is not compacted (expected 1)"
grep -q "offsets topic '$plain' has cleanup.policy=delete, but it must be compact" "$WORK/plain.log" ||
    fail "the refusal does not name the topic and its policy: $(grep ERROR "$WORK/plain.log" | head -n2)"
grep -q "add-config cleanup.policy=compact" "$WORK/plain.log" || fail "the refusal does not say how to fix it"
[ "$(topic_count fo-none)" = 0 ] || fail "records were produced although the offsets topic was refused"
log "PASS"
