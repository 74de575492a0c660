#!/usr/bin/env bash
# Scale-out on Kafka itself: two workers run the same sink connector (one
# consumer group, ferry-dst) and the group divides the topic's partitions;
# a third worker with tasks.max: 2 runs two group members in one process.
# Together they write every record exactly once.
source "$TESTLIB"
broker_start --topic so:6
N=6000
cat >"$WORK/gen.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC}
connectors:
  gen: {connector: datagen, topic: so, count: $N, rate: 1000, value.size: 64}
YAML
sink_config() { # NAME OUT TASKS
    cat >"$WORK/$1.yaml" <<YAML
worker:
  kafka:
    bootstrap.servers: "$BROKER"
    consumer.session.timeout.ms: "6000"
    consumer.heartbeat.interval.ms: "500"
connectors:
  dst:
    connector: file-sink
    topics: so
    path: $2
    tasks.max: $3
    flush.interval: 500ms
YAML
}
sink_config w1 "$WORK/w1.out" 1
sink_config w2 "$WORK/w2.out" 1
sink_config w3 "$WORK/w3.out" 2
ferry_start w1 "$WORK/w1.yaml"; W1=$FERRY_PID
ferry_start w2 "$WORK/w2.yaml"; W2=$FERRY_PID
ferry_start w3 "$WORK/w3.yaml"; W3=$FERRY_PID

# On the embedded broker, produce only once the group is stable: librdkafka's
# mock broker refuses offset commits while a rebalance is in progress (Kafka
# accepts them from the current generation), so a rebalance during the run
# would re-deliver records there that a real cluster would not. On Apache
# Kafka the records flow while the group forms and rebalances, and still
# none may be lost or written twice.
# group_stable: every one of the 4 sink tasks last logged an assignment, and
# together they own all 6 partitions.
group_stable() {
    local state
    state=$(for w in w1 w2 w3; do
        grep -oE '\[dst/[0-9]+\] (assigned|revoking) [0-9]+' "$WORK/$w.log" |
            awk -v w="$w" '{last[$1] = $2 " " $3} END {for (t in last) print w, t, last[t]}'
    done)
    [ "$(echo "$state" | grep -c ' assigned ')" = 4 ] || return 1
    [ "$(echo "$state" | awk '$3 == "assigned" {s += $4} END {print s + 0}')" = 6 ]
}
if [ "$FERRY_TEST_BROKER" = embedded ]; then
    wait_until 60 group_stable || fail "the consumer group did not settle on 4 members with 6 partitions"
    sleep 3
    group_stable || fail "the consumer group kept rebalancing"
fi
ferry_start gen "$WORK/gen.yaml"; GEN=$FERRY_PID
total() { cat "$WORK"/w*.out 2>/dev/null | wc -l; }
wait_until 120 bash -c "[ \$(cat $WORK/w*.out 2>/dev/null | wc -l) -ge $N ]" || fail "only $(total) of $N records arrived"
sleep 1
for p in $GEN $W1 $W2 $W3; do ferry_stop "$p"; done
for w in w1 w2 w3; do
    [ -s "$WORK/$w.out" ] || fail "$w received nothing: partitions were not divided"
    log "$w wrote $(wc -l <"$WORK/$w.out") records"
done
grep -q "assigned" "$WORK/w3.log" || fail "no assignment logged"
[ "$(grep -c 'sink task running' "$WORK/w3.log")" = 2 ] || fail "tasks.max: 2 did not start two sink tasks"
cat "$WORK"/w*.out | /usr/bin/python3 -c '
import json, sys
seqs = [json.loads(l)["seq"] for l in sys.stdin]
assert sorted(seqs) == list(range(int(sys.argv[1]))), f"{len(seqs)} records, {len(set(seqs))} distinct"
' "$N" || fail "records lost or duplicated across the group"
log "PASS"
