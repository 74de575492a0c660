#!/usr/bin/env bash
# datagen → topic (dev-kafka or Apache Kafka: FERRY_TEST_BROKER); kcat and
# python3-confluent-kafka read back every record: count, keys, value JSON and
# size.
source "$TESTLIB"
broker_start --topic dg:3
cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  progress.interval: 1s
connectors:
  gen:
    connector: datagen
    topic: dg
    count: 3000
    value.size: 200
YAML
ferry_start run "$WORK/p.yaml"
wait_until 60 bash -c "[ \$(kcat -b $BROKER -C -t dg -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 3000 ]" \
    || fail "datagen did not deliver 3000 records"
sleep 1
ferry_stop "$FERRY_PID"
grep -q "records" "$WORK/run.log" || fail "no progress line in the log"
if [ "$FERRY_TEST_BROKER" = embedded ]; then
    # dev-kafka has no CreateTopics/DescribeConfigs: the worker must say it could not check compaction.
    grep -q "could not verify cleanup.policy=compact" "$WORK/run.log" || fail "no compaction warning for dev-kafka"
else
    # Apache Kafka answers CreateTopics and DescribeConfigs: the worker created the offsets topic
    # compacted, or checked that the existing one is.
    grep -qE "offsets topic '$OFFSETS_TOPIC' is compacted|created topic '$OFFSETS_TOPIC' \(25 partitions, compacted\)" "$WORK/run.log" ||
        fail "the worker did not check the offsets topic's cleanup.policy: $(grep -i offsets "$WORK/run.log")"
fi

kcat -b "$BROKER" -C -t dg -o beginning -e -q -f '%k\t%s\n' >"$WORK/dump.tsv" 2>>"$WORK/kcat.log"
/usr/bin/python3 - "$WORK/dump.tsv" <<'PY' || fail "content check failed"
import json, sys
keys = set()
for line in open(sys.argv[1], encoding="utf-8"):
    k, v = line.rstrip("\n").split("\t", 1)
    doc = json.loads(v)
    assert len(v.encode()) == 200, f"value size {len(v)}"
    assert str(doc["seq"]) == k, (k, doc)
    keys.add(int(k))
assert keys == set(range(3000)), f"{len(keys)} distinct keys, expected 0..2999"
print("ok: 3000 records, keys 0..2999, 200-byte JSON values")
PY

# A client no one here wrote: librdkafka's Python binding, partition by partition.
/usr/bin/python3 - "$BROKER" <<'PY' || fail "python3-confluent-kafka check failed"
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "dg-check", "enable.auto.commit": False})
total = 0
for p in range(3):
    lo, hi = c.get_watermark_offsets(TopicPartition("dg", p), timeout=10)
    total += hi - lo
c.close()
assert total == 3000, total
print("ok: watermarks add up to", total)
PY

# The stored offset is the last sequence number, in Kafka Connect's format.
cat >"$WORK/off.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC}
YAML
"$FERRY" offsets "$WORK/off.yaml" --connector gen >"$WORK/offsets.json" 2>>"$WORK/offsets.log" || fail "ferry offsets failed"
/usr/bin/python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert len(d)==1 and d[0]["offset"]["seq"]==2999, d
' "$WORK/offsets.json" || fail "unexpected offsets: $(cat "$WORK/offsets.json")"
kcat -b "$BROKER" -C -t "$OFFSETS_TOPIC" -o beginning -e -q -f '%k\n' | sort -u >"$WORK/keys" 2>>"$WORK/kcat.log"
grep -qx '\["gen",{"task":0}\]' "$WORK/keys" || fail "offsets key not in Kafka Connect format: $(cat "$WORK/keys")"
log "PASS"
