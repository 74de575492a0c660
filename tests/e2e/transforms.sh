#!/usr/bin/env bash
# Records in flight, checked with kcat: converters (JsonConverter's envelope
# byte for byte), content routing of a service's events by type (direct
# routes, a regex rule with a capture group, the default topic), a Filter
# under a predicate, sink-side transforms with the JSON converter, a record
# that fails its converter dead-lettered with Connect's headers, a rate limit
# held within 10 % over 10 s, and a sink with delivery.guarantee:
# at-most-once killed with kill -9: nothing twice, at most a batch lost.
source "$TESTLIB"
broker_start --topic tf-lines:1 --topic tf-events:1 --topic tasks.created:1 --topic tasks.updated:1 \
    --topic tasks.deleted:1 --topic tasks.other:1 --topic audit.task.archived:1 --topic tf-in:1 \
    --topic tf-dlq:1 --topic tf-rate:1 --topic tf-amo:1 --topic tasks.all:1
start() { # NAME YAML-CONNECTORS
    cat >"$WORK/$1.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
  progress.interval: 0
connectors:
$2
YAML
    ferry_start "$1" "$WORK/$1.yaml"
}
values() { topic_dump "$1"; }

# 1. A file's lines through the JSON converter with schemas: Connect's
#    StringConverter-less envelope for a string, exactly.
printf 'plain line\nwith "quotes"\n' >"$WORK/lines.txt"
start conv "  lines:
    connector: file-source
    path: $WORK/lines.txt
    topic: tf-lines
    value.converter: org.apache.kafka.connect.json.JsonConverter"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t tf-lines -o beginning -e -q -f 'x\n' | wc -l) -ge 2 ]" || fail "tf-lines: $(topic_count tf-lines) of 2 records"
expected='{"schema":{"type":"string","optional":false},"payload":"plain line"}
{"schema":{"type":"string","optional":false},"payload":"with \"quotes\""}'
[ "$(values tf-lines)" = "$expected" ] || fail "tf-lines holds: $(values tf-lines)"
ferry_stop "$FERRY_PID"

# 2. One service's events on one file, split by type (created ones also to
#    tasks.all: fanout); deleted ones filtered.
cat >"$WORK/events.jsonl" <<'EOF'
{"type":"Task.Created","id":1}
{"type":"Task.Updated","id":1}
{"type":"Task.Archived","id":1}
{"type":"Task.Deleted","id":1}
{"type":"Task.Moved","id":1}
{"type":"Task.Created","id":2}
EOF
start route "  events:
    connector: file-source
    path: $WORK/events.jsonl
    topic: tf-events
    value.format: json
    transforms: byType,noDeletes
    transforms.byType.type: route
    transforms.byType.field: type
    transforms.byType.routes: 'Task.Created:tasks.created|tasks.all,Task.Updated:tasks.updated,Task.Deleted:tasks.deleted'
    transforms.byType.regex: 'Task\\.(Archived)=>audit.task.archived'
    transforms.byType.default.topic: tasks.other
    transforms.noDeletes.type: Filter
    transforms.noDeletes.predicate: isDelete
    predicates: isDelete
    predicates.isDelete.type: TopicNameMatches
    predicates.isDelete.pattern: tasks\\.deleted"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t tasks.created -o beginning -e -q -f 'x\n' | wc -l) -ge 2 ]" || fail "tasks.created: $(topic_count tasks.created) of 2"
wait_until 20 bash -c "[ \$(kcat -b $BROKER -C -t tasks.other -o beginning -e -q -f 'x\n' | wc -l) -ge 1 ]" || fail "tasks.other is empty"
sleep 1
[ "$(values tasks.created)" = '{"type":"Task.Created","id":1}
{"type":"Task.Created","id":2}' ] || fail "tasks.created: $(values tasks.created)"
[ "$(values tasks.updated)" = '{"type":"Task.Updated","id":1}' ] || fail "tasks.updated: $(values tasks.updated)"
[ "$(values audit.task.archived)" = '{"type":"Task.Archived","id":1}' ] || fail "audit.task.archived: $(values audit.task.archived)"
[ "$(values tasks.other)" = '{"type":"Task.Moved","id":1}' ] || fail "tasks.other: $(values tasks.other)"
[ "$(values tasks.all)" = "$(values tasks.created)" ] || fail "fanout: tasks.all holds $(values tasks.all)"
kcat -b "$BROKER" -C -t tasks.all -o beginning -e -q -f '%h\n' 2>>"$WORK/kcat.log" | grep -q fanout &&
    fail "the fanout header reached Kafka"
[ "$(topic_count tasks.deleted)" = 0 ] || fail "the Filter let a delete through: $(values tasks.deleted)"
[ "$(topic_count tf-events)" = 0 ] || fail "an event stayed on tf-events"
ferry_stop "$FERRY_PID"

# 3. A sink with the JSON converter and transforms; a record that is not
#    JSON goes to the dead-letter topic with Connect's headers.
printf '%s\n' '{"id":1,"secret":"s1","name":"a"}' 'not json' '{"id":2,"secret":"s2","name":"b"}' |
    kcat -b "$BROKER" -P -t tf-in 2>>"$WORK/kcat.log"
start sink "  out:
    connector: file-sink
    topics: tf-in
    path: $WORK/out.jsonl
    flush.interval: 200ms
    value.converter: json
    value.converter.schemas.enable: false
    transforms: drop,tag
    transforms.drop.type: ReplaceField\$Value
    transforms.drop.exclude: secret
    transforms.tag.type: InsertField\$Value
    transforms.tag.static.field: src
    transforms.tag.static.value: tf
    errors.tolerance: all
    errors.deadletterqueue.topic.name: tf-dlq
    errors.deadletterqueue.context.headers.enable: true"
wait_until 30 bash -c "[ \$(wc -l < $WORK/out.jsonl 2>/dev/null || echo 0) -ge 2 ]" || fail "out.jsonl: $(cat "$WORK/out.jsonl" 2>/dev/null)"
[ "$(cat "$WORK/out.jsonl")" = '{"id":1,"name":"a","src":"tf"}
{"id":2,"name":"b","src":"tf"}' ] || fail "out.jsonl: $(cat "$WORK/out.jsonl")"
wait_until 20 bash -c "[ \$(kcat -b $BROKER -C -t tf-dlq -o beginning -e -q -f 'x\n' | wc -l) -ge 1 ]" || fail "nothing dead-lettered"
[ "$(values tf-dlq)" = "not json" ] || fail "tf-dlq: $(values tf-dlq)"
hdrs=$(kcat -b "$BROKER" -C -t tf-dlq -o beginning -e -q -f '%h\n' 2>>"$WORK/kcat.log")
grep -q '__connect.errors.stage=VALUE_CONVERTER' <<<"$hdrs" || fail "DLQ headers lack the stage: $hdrs"
grep -q '__connect.errors.topic=tf-in' <<<"$hdrs" || fail "DLQ headers lack the topic: $hdrs"
ferry_stop "$FERRY_PID"

# 4. rate.limit.records: 400/s, measured over 10 s once running.
start rate "  gen:
    connector: datagen
    topic: tf-rate
    rate: 0
    value.size: 64
    rate.limit.records: 400"
# The end offset (a consumer that reads to the end never gets there while
# records keep coming).
end_offset() { kcat -b "$BROKER" -Q -t tf-rate:0:-1 2>>"$WORK/kcat.log" | awk '{print $NF}'; }
wait_until 30 bash -c "[ \$(kcat -b $BROKER -Q -t tf-rate:0:-1 | awk '{print \$NF}') -ge 400 ]" || fail "tf-rate: nothing flows"
c0=$(end_offset)
t0=$(date +%s.%N)
sleep 10
c1=$(end_offset)
t1=$(date +%s.%N)
rate=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.0f", (b - a) / (e - s)}')
log "rate limit 400/s: measured $rate records/s"
[ "$rate" -ge 360 ] && [ "$rate" -le 440 ] || fail "rate.limit.records 400: measured $rate records/s over 10 s"
ferry_stop "$FERRY_PID"

# 5. At-most-once: a sink killed with -9 mid-stream and started again
#    writes no record twice and loses at most the batch it was putting.
seq 1 4000 | sed 's/^/amo-/' | kcat -b "$BROKER" -P -t tf-amo 2>>"$WORK/kcat.log"
amo() {
    start amo "  amo:
    connector: file-sink
    topics: tf-amo
    path: $WORK/amo.txt
    flush.interval: 10s
    batch.max.records: 100
    delivery.guarantee: at-most-once
    rate.limit.records: 1000
    consumer.override.session.timeout.ms: 6000"
}
amo
wait_until 30 bash -c "[ \$(wc -l < $WORK/amo.txt 2>/dev/null || echo 0) -ge 1000 ]" || fail "amo.txt: $(wc -l < "$WORK/amo.txt" 2>/dev/null) lines"
kill -9 "$FERRY_PID"
wait "$FERRY_PID" 2>/dev/null || true
amo
wait_until 60 bash -c "[ \$(wc -l < $WORK/amo.txt) -ge 3900 ] && sleep 2 && [ \$(wc -l < $WORK/amo.txt) -eq \$(sleep 1; wc -l < $WORK/amo.txt) ]" || fail "amo.txt stopped at $(wc -l < "$WORK/amo.txt") lines"
dups=$(sort "$WORK/amo.txt" | uniq -d | head -n3 | xargs)
[ -z "$dups" ] || fail "at-most-once wrote records twice: $dups"
lost=$((4000 - $(sort -u "$WORK/amo.txt" | wc -l)))
log "at-most-once after kill -9: $lost record(s) lost, none twice"
[ "$lost" -le 100 ] || fail "at-most-once lost $lost records, more than the batch in flight (100)"
ferry_stop "$FERRY_PID"
log "ok"
