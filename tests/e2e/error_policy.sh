#!/usr/bin/env bash
# The error policy (errors.tolerance, dead-letter queues) for sources and
# sinks, with the testkit plugin:
#  1. tolerance none: a source record with an illegal topic fails the task
#     for good (FATAL, no restart loop), with a message naming the topic; the
#     worker does not crash, and what was stored is a prefix;
#  2. tolerance all + DLQ: records with an illegal topic or an offset that
#     is not JSON go to the DLQ with Connect's context headers; a record too
#     large for the producer (and so for its DLQ copy) is skipped loudly; the
#     stream goes on and its last offset is stored;
#  2b. (Apache Kafka only) a record the broker itself refuses (larger than
#     the topic's max.message.bytes) goes through the policy from its
#     delivery report: with all + DLQ it goes to the DLQ, the others to the
#     topic, exactly once each, and the stream goes on (one record per
#     produce request here: the broker refuses the whole batch a large
#     record is in, for Kafka Connect too);
#  3. a sink's per-record rejection (record_error): with all + DLQ the
#     rejected records are in the DLQ with their original topic/partition/
#     offset and the committed offsets reach the end; with none the task
#     fails for good and nothing at or after the rejected record is committed.
source "$TESTLIB"
: "${TESTKIT_DIR:?}"
broker_start --topic mix:1 --topic mixdlq:1 --topic srcdlq:1 --topic sinkdlq:1 --topic rej:2
export FERRY_PLUGIN_PATH="$FERRY_PLUGIN_DIR:$TESTKIT_DIR"

stored_n() { # stored_n CONFIG CONNECTOR: the stored "n" of connector, or -1
    "$FERRY" offsets "$1" --connector "$2" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d[0]["offset"]["n"] if d else -1)'
}

# ---- 1: tolerance none ------------------------------------------------------------------
cat >"$WORK/none.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 200ms}
  progress.interval: 1s
connectors:
  strict: {connector: mixed-source, topic: mix, count: 50, bad.every: 20, batch.max.records: 5}
  other: {connector: mixed-source, topic: mixdlq, count: 30}
YAML
ferry_start none "$WORK/none.yaml"
wait_until 30 grep -q "\[strict/0\] task failed" "$WORK/none.log" || fail "the bad record did not fail the task"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t mixdlq -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 30 ]" \
    || fail "the other connector stopped working"
sleep 2.5
grep -q "topic 'bad topic!' is refused: a topic name may only contain" "$WORK/none.log" || fail "no clear reason"
grep -q "not restarted" "$WORK/none.log" || fail "the message does not say the task stays failed"
grep -q "\[strict/0\] restarting" "$WORK/none.log" && fail "a permanent failure was restarted"
grep -q "FAILED (not restarted" "$WORK/none.log" || fail "status does not show the failure"
ferry_stop "$FERRY_PID"
n=$(stored_n "$WORK/none.yaml" strict)
# Record 19 is bad: its batch (15..19) is refused, so at most 14 is stored.
[ "$n" -ge 0 ] && [ "$n" -le 14 ] || fail "stored offset $n is not a prefix before the bad record"
[ "$(topic_count mix)" = $((n + 1)) ] || fail "topic mix has $(topic_count mix) records, stored offset $n"

# ---- 2: tolerance all, source DLQ ---------------------------------------------------------
cat >"$WORK/all.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 200ms}
  progress.interval: 1s
connectors:
  lenient:
    connector: mixed-source
    topic: mixdlq
    count: 60
    bad.every: 5
    bad.mix: true
    errors.tolerance: all
    errors.log.enable: true
    errors.deadletterqueue.topic.name: srcdlq
    errors.deadletterqueue.context.headers.enable: true
    producer.override.message.max.bytes: 2000
YAML
before=$(topic_count mixdlq)
ferry_start all "$WORK/all.yaml"
wait_until 30 bash -c "[ \"\$(\"$FERRY\" offsets $WORK/all.yaml --connector lenient 2>/dev/null | grep -o '\"n\":59')\" ]" \
    || fail "the last offset was not stored: the stream did not go on"
wait_until 10 grep -q "failed record(s) skipped or dead-lettered" "$WORK/all.log" || fail "progress does not count them"
ferry_stop "$FERRY_PID"
good=$(( $(topic_count mixdlq) - before ))
[ "$good" = 48 ] || fail "expected 48 good records in mixdlq, got $good"
kcat -b "$BROKER" -C -t srcdlq -o beginning -e -q -f '%s|%h\n' >"$WORK/srcdlq.txt" 2>/dev/null
[ "$(grep -c . "$WORK/srcdlq.txt")" = 8 ] || fail "expected 8 dead-lettered records: $(cat "$WORK/srcdlq.txt")"
grep -q '^mixed:[0-9]*:topic.*__connect.errors.topic=bad topic!' "$WORK/srcdlq.txt" || fail "no original topic header"
grep -q '__connect.errors.exception.class.name=org.apache.kafka.common.errors.InvalidTopicException' "$WORK/srcdlq.txt" \
    || fail "no exception class header"
grep -q '^mixed:[0-9]*:offset.*__connect.errors.source.offset=n=' "$WORK/srcdlq.txt" || fail "no source offset header"
grep -q '__connect.errors.stage=KAFKA_PRODUCE' "$WORK/srcdlq.txt" || fail "no stage header"
grep -q '__connect.errors.connector.name=lenient' "$WORK/srcdlq.txt" || fail "no connector header"
grep -q ':size' "$WORK/srcdlq.txt" && fail "a record too large for the producer reached its DLQ"
[ "$(grep -c 'dead-letter copy of a failed record was refused too' "$WORK/all.log")" = 4 ] \
    || fail "the too-large records were not reported"
grep -q 'error in stage KAFKA_PRODUCE' "$WORK/all.log" || fail "errors.log.enable logged nothing"

# ---- 2b: refused by the broker ------------------------------------------------------------
if [ "$FERRY_TEST_BROKER" = kafka ]; then
    kafka_admin recreate "small:1:max.message.bytes=1000" "smalldlq:1" || fail "could not create topic small"
    cat >"$WORK/broker.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 200ms}
connectors:
  refused:
    connector: mixed-source
    topic: small
    count: 40
    bad.every: 10
    bad.kind: size
    errors.tolerance: all
    errors.deadletterqueue.topic.name: smalldlq
    errors.deadletterqueue.context.headers.enable: true
    producer.override.batch.num.messages: 1
YAML
    ferry_start broker "$WORK/broker.yaml"
    wait_until 60 bash -c "[ \"\$(\"$FERRY\" offsets $WORK/broker.yaml --connector refused 2>/dev/null | grep -o '\"n\":39')\" ]" \
        || fail "broker refusal: the last offset was not stored: the stream did not go on"
    ferry_stop "$FERRY_PID"
    kcat -b "$BROKER" -C -t small -o beginning -e -q -f '%k\n' 2>/dev/null >"$WORK/small.keys"
    kcat -b "$BROKER" -C -t smalldlq -o beginning -e -q -f '%k|%h\n' 2>/dev/null >"$WORK/smalldlq.txt"
    grep -q 'RecordTooLargeException' "$WORK/smalldlq.txt" ||
        fail "the dead-lettered records do not say the broker found them too large: $(head -n3 "$WORK/smalldlq.txt")"
    for n in 9 19 29 39; do
        grep -q "^$n|" "$WORK/smalldlq.txt" || fail "record $n (too large for the topic) is not in the DLQ"
    done
    { cat "$WORK/small.keys"; cut -d'|' -f1 "$WORK/smalldlq.txt"; } | sort -n >"$WORK/small.all"
    seq 0 39 | cmp -s - "$WORK/small.all" ||
        fail "not every record exactly once in small or smalldlq: $(tr '\n' ' ' <"$WORK/small.all")"
    log "broker refusal: $(wc -l <"$WORK/small.keys") records in small, $(wc -l <"$WORK/smalldlq.txt") dead-lettered"
    # One record per produce request (batch.num.messages: 1): only the four
    # large ones are refused.
    [ "$(wc -l <"$WORK/smalldlq.txt")" = 4 ] || fail "expected exactly the 4 large records in the DLQ"
fi

# ---- 3: sinks -----------------------------------------------------------------------------
for i in $(seq 0 39); do
    if [ $((i % 10)) = 7 ]; then echo "$i:bad"; else echo "$i:ok"; fi
done | kcat -b "$BROKER" -P -t rej -p 0
committed() { # committed GROUP: "p0 p1" committed offsets of topic rej
    /usr/bin/python3 - "$BROKER" "$1" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "enable.auto.commit": False})
print(" ".join(str(tp.offset) for tp in c.committed([TopicPartition("rej", p) for p in (0, 1)], timeout=10)))
c.close()
PY
}
cat >"$WORK/sinkall.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER", consumer.session.timeout.ms: "6000"}
  offsets: {topic: $OFFSETS_TOPIC}
connectors:
  rejall:
    connector: reject-sink
    topics: rej
    path: $WORK/rejall.out
    flush.interval: 300ms
    errors.tolerance: all
    errors.deadletterqueue.topic.name: sinkdlq
    errors.deadletterqueue.context.headers.enable: true
YAML
ferry_start sinkall "$WORK/sinkall.yaml"
wait_until 60 bash -c "[ \$(wc -l <$WORK/rejall.out 2>/dev/null || echo 0) -ge 36 ]" || fail "sink did not write the good records"
sleep 1
ferry_stop "$FERRY_PID"
[ "$(committed ferry-rejall)" = "40 -1001" ] || fail "committed offsets $(committed ferry-rejall), want 40 on partition 0"
kcat -b "$BROKER" -C -t sinkdlq -o beginning -e -q -f '%s|%h\n' >"$WORK/sinkdlq.txt" 2>/dev/null
[ "$(grep -c . "$WORK/sinkdlq.txt")" = 4 ] || fail "expected 4 rejected records in the DLQ: $(cat "$WORK/sinkdlq.txt")"
grep -q '^7:bad|.*__connect.errors.topic=rej,__connect.errors.partition=0,__connect.errors.offset=7' "$WORK/sinkdlq.txt" \
    || fail "DLQ headers do not name the original position: $(head -1 "$WORK/sinkdlq.txt")"
grep -q '__connect.errors.stage=TASK_PUT' "$WORK/sinkdlq.txt" || fail "no TASK_PUT stage header"
grep -q '__connect.errors.exception.message=the target refused this record' "$WORK/sinkdlq.txt" || fail "no message header"

cat >"$WORK/sinknone.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER", consumer.session.timeout.ms: "6000"}
  offsets: {topic: $OFFSETS_TOPIC}
connectors:
  rejnone: {connector: reject-sink, topics: rej, path: $WORK/rejnone.out, flush.interval: 300ms, batch.max.records: 4}
YAML
ferry_start sinknone "$WORK/sinknone.yaml"
wait_until 60 grep -q "\[rejnone/0\] task failed" "$WORK/sinknone.log" || fail "the rejection did not fail the task"
grep -q "record rej/0@7 rejected: the target refused this record" "$WORK/sinknone.log" || fail "no clear reason"
sleep 2.5
grep -q "\[rejnone/0\] restarting" "$WORK/sinknone.log" && fail "a permanent failure was restarted"
ferry_stop "$FERRY_PID"
c=$(committed ferry-rejnone | cut -d' ' -f1)
[ "$c" -le 7 ] || fail "committed offset $c is past the rejected record 7"
log "PASS"
