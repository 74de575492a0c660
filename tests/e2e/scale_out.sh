#!/usr/bin/env bash
# Scale-out on Kafka itself: two workers run the same sink connector (one
# consumer group, ferry-dst) and the group divides the topic's partitions;
# a third worker with tasks.max: 2 runs two group members in one process.
# Together they write every record exactly once.
# Round 2 (Apache Kafka only: the mock broker refuses commits during the
# rebalance that follows): three workers share a sink, one is killed with
# SIGKILL mid-stream, and the others take its partitions over: nothing is
# lost, and the duplicates stay within what the killed worker had written
# since its last commit (one flush interval at the stream's rate, plus the
# batches in flight).
source "$TESTLIB"
broker_start --topic so:6 --topic so2:6
N=6000
cat >"$WORK/gen.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC}
connectors:
  gen: {connector: datagen, topic: so, count: $N, rate: 1000, value.size: 64}
YAML
sink_config() { # NAME OUT TASKS [TOPIC CONNECTOR]
    cat >"$WORK/$1.yaml" <<YAML
worker:
  kafka:
    bootstrap.servers: "$BROKER"
    consumer.session.timeout.ms: "6000"
    consumer.heartbeat.interval.ms: "500"
connectors:
  ${5:-dst}:
    connector: file-sink
    topics: ${4:-so}
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

# ---- 2: kill -9 of one worker ---------------------------------------------------------
if [ "$FERRY_TEST_BROKER" = kafka ]; then
    N=12000
    sed -e 's/topic: so,/topic: so2,/' -e "s/count: [0-9]*/count: $N/" -e 's/^  gen:/  gen2:/' "$WORK/gen.yaml" >"$WORK/gen2.yaml"
    for w in k1 k2 k3; do sink_config "$w" "$WORK/$w.out" 1 so2 dst2; done
    ferry_start k1 "$WORK/k1.yaml"; K1=$FERRY_PID
    ferry_start k2 "$WORK/k2.yaml"; K2=$FERRY_PID
    ferry_start k3 "$WORK/k3.yaml"; K3=$FERRY_PID
    ferry_start gen2 "$WORK/gen2.yaml"; GEN=$FERRY_PID
    seqs() { cat "$WORK"/k*.out 2>/dev/null | grep -o '"seq":[0-9]*'; }
    wait_until 60 bash -c "[ \$(cat $WORK/k*.out 2>/dev/null | wc -l) -ge 3000 ]" || fail "the group did not start consuming"
    kill -9 "$K2"
    log "killed k2 after $(wc -l <"$WORK/k2.out") of its records"
    wait_until 120 bash -c "[ \$(cat $WORK/k*.out 2>/dev/null | grep -o '\"seq\":[0-9]*' | sort -u | wc -l) -ge $N ]" ||
        fail "only $(seqs | sort -u | wc -l) of $N records arrived after the kill"
    sleep 1
    for p in $GEN $K1 $K3; do ferry_stop "$p"; done
    cat "$WORK"/k*.out | /usr/bin/python3 -c '
import json, sys
seqs = [json.loads(l)["seq"] for l in sys.stdin]
n = int(sys.argv[1])
assert set(seqs) == set(range(n)), f"lost: {sorted(set(range(n)) - set(seqs))[:10]}"
dups = len(seqs) - n
print(dups)
# 500 ms of flush interval at 1000 records/s, plus the fetched batches.
assert dups <= 2000, f"{dups} duplicates"
' "$N" >"$WORK/dups" 2>&1 || fail "after the kill: $(cat "$WORK/dups")"
    log "after kill -9 of one of three workers: nothing lost, $(cat "$WORK/dups") duplicates"
fi
log "PASS"
