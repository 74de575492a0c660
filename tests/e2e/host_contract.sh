#!/usr/bin/env bash
# The host's side of the plugin contract, with the test-only testkit plugin:
#  1. records whose topic/partition strings live in a reused buffer land in
#     the right topics and offsets are filed under the right partitions;
#  2. an offset that is not a JSON object fails the task (FATAL, not
#     restarted) and nothing is stored for it;
#  3. a sink whose flush declares only part of what it received durable
#     (flush_limit) gets consumer offsets committed exactly up to that;
#     also when its transforms renamed the topic (RegexRouter): the limits
#     it declares on the new name are committed on the consumed topic; two
#     consumed topics merged into one name cannot be limited (clear failure);
#  4. a source record's illegal topic is accepted when a RegexRouter repairs it.
source "$TESTLIB"
: "${TESTKIT_DIR:?}"
broker_start --topic kit0:2 --topic kit1:2 --topic fixkit:1 --topic repaired:1
export FERRY_PLUGIN_PATH="$FERRY_PLUGIN_DIR:$TESTKIT_DIR"
cat >"$WORK/p.yaml" <<YAML
worker:
  kafka:
    bootstrap.servers: "$BROKER"
    consumer.session.timeout.ms: "6000"
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
connectors:
  good: {connector: reuse-source, count: 200}
  bad: {connector: reuse-source, count: 10}
  half: {connector: half-sink, topics: kit0, path: $WORK/half.out, flush.interval: 300ms}
  halfr:
    connector: half-sink
    topics: kit0
    path: $WORK/halfr.out
    flush.interval: 300ms
    transforms: rename
    transforms.rename.type: org.apache.kafka.connect.transforms.RegexRouter
    transforms.rename.regex: 'kit(.*)'
    transforms.rename.replacement: 'renamed-\$1'
  fix:
    connector: mixed-source
    topic: fixkit
    count: 20
    bad.every: 5
    bad.kind: topic
    transforms: repair
    transforms.repair.type: RegexRouter
    transforms.repair.regex: 'bad topic!'
    transforms.repair.replacement: repaired
  halfm:
    connector: half-sink
    topics: kit0,kit1
    path: $WORK/halfm.out
    flush.interval: 300ms
    transforms: merge
    transforms.merge.type: RegexRouter
    transforms.merge.regex: 'kit.'
    transforms.merge.replacement: merged
YAML
ferry_start p "$WORK/p.yaml"
wait_until 60 bash -c "[ \$(kcat -b $BROKER -C -t kit1 -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 100 ]" \
    || fail "reuse-source did not deliver"
wait_until 30 grep -q "\[bad/0\] task failed" "$WORK/p.log" || fail "bad offsets did not fail the task"
# The sink joins its group after the broker's initial rebalance delay (~3 s).
wait_until 60 grep -q "durable kit0/" "$WORK/p.log" || fail "half-sink never flushed"
wait_until 30 grep -q "durable renamed-0/" "$WORK/p.log" || fail "the renaming half-sink never flushed"
sleep 1
ferry_stop "$FERRY_PID"

# 1. topics by content: kit0 holds only kit0:* values (the good source's
#    100 plus up to 5 of the bad one's), kit1 only kit1:*.
for t in kit0 kit1; do
    topic_dump "$t" >"$WORK/$t.txt"
    grep -qv "^$t:" "$WORK/$t.txt" && fail "topic $t holds records of another topic: $(grep -v "^$t:" "$WORK/$t.txt" | head -3)"
    [ "$(grep -c . "$WORK/$t.txt")" -ge 100 ] || fail "topic $t has $(wc -l <"$WORK/$t.txt") records"
done
"$FERRY" offsets "$WORK/p.yaml" >"$WORK/offsets.json" 2>/dev/null || fail "ferry offsets"
/usr/bin/python3 - "$WORK/offsets.json" <<'PY' || fail "offsets filed under the wrong partitions: $(cat "$WORK/offsets.json")"
import json, sys
d = json.load(open(sys.argv[1]))
good = {e["partition"]["stream"]: e["offset"]["n"] for e in d if e["connector"] == "good"}
assert good == {0: 198, 1: 199}, good
assert not [e for e in d if e["connector"] == "bad"], "offsets stored for the failing connector"
PY

# 2. the invalid offset: a clear, permanent failure.
grep -q 'record refused: its source offset is not a JSON object' "$WORK/p.log" || fail "no clear message for the invalid offset"
grep -q "\[bad/0\] restarting" "$WORK/p.log" && fail "a FATAL failure was restarted"

# 3. committed consumer offsets == what the sink last declared durable
#    (under the topic it saw: renamed for halfr), on the consumed topic.
committed_is_declared() { # GROUP LOG-TOPIC
    grep -o "\[$1/0\] durable $2/[0-9]* next=[0-9]*" "$WORK/p.log" | sed 's/.*durable //' \
        | awk -F'[/ =]' '{last[$2]=$4} END {for (p in last) print p, last[p]}' | sort >"$WORK/declared-$1"
    [ -s "$WORK/declared-$1" ] || fail "$1 declared nothing durable"
    /usr/bin/python3 - "$BROKER" "$WORK/declared-$1" "ferry-$1" <<'PY' || fail "$1: committed offsets differ from what flush declared durable"
import sys
from confluent_kafka import Consumer, TopicPartition
declared = dict(map(int, l.split()) for l in open(sys.argv[2]))
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[3], "enable.auto.commit": False})
got = {tp.partition: tp.offset for tp in c.committed([TopicPartition("kit0", p) for p in declared], timeout=10)}
c.close()
print(sys.argv[3], "declared durable", declared, "committed", got)
assert got == declared, (got, declared)
PY
}
committed_is_declared half kit0
committed_is_declared halfr renamed-0
grep -q "\[halfm/0\] task failed.*merged records of several consumed topics" "$WORK/p.log" ||
    fail "limits on merged topics did not fail the task clearly: $(grep 'halfm/0' "$WORK/p.log" | tail -3)"
# A source's illegal topic ('bad topic!') repaired by its RegexRouter: the
# name is checked after the transforms.
wait_until 20 bash -c "[ \$(kcat -b $BROKER -C -t repaired -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 4 ]" ||
    fail "repaired holds $(topic_count repaired) records, not 4"
[ "$(topic_count fixkit)" = 16 ] || fail "fixkit holds $(topic_count fixkit) records, not 16"
grep -q "\[fix/0\] task failed" "$WORK/p.log" && fail "the repairing source failed: $(grep 'fix/0' "$WORK/p.log" | tail -2)"
# The renaming sink saw the records under the new name only.
grep -q "durable kit0/" <(grep "\[halfr/0\]" "$WORK/p.log") && fail "halfr saw the consumed topic name"
log "PASS"
