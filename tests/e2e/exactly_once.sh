#!/usr/bin/env bash
# Exactly-once source delivery (KIP-618) on Apache Kafka: two datagen
# connectors, one per transaction.boundary (poll, interval), in one worker
# with exactly.once.source.support: enabled. The worker is killed with
# SIGKILL four times mid-run and restarted each time. A read_committed
# consumer (Debian's python3-confluent-kafka) then sees every record exactly
# once, while a read_uncommitted one sees the aborted leftovers of the kills
# too (so the check can fail). Before that, the settings that cannot give
# exactly-once: `required` refuses to start, `requested` falls back loudly.
source "$TESTLIB"
[ "$FERRY_TEST_BROKER" = kafka ] || fail "exactly_once runs on Apache Kafka only (the embedded broker has no real transactions)"

# ---- settings that cannot provide it --------------------------------------------------
refuse() { # NAME EXPECTED-MESSAGE WORKER-LINES...
    local name=$1 want=$2
    shift 2
    {
        echo "worker:"
        for l in "$@"; do echo "  $l"; done
        echo "connectors:"
        echo "  gen: {connector: datagen, topic: x, count: 10, exactly.once.support: required}"
    } >"$WORK/$name.yaml"
    local rc=0
    timeout 60 "$FERRY" run "$WORK/$name.yaml" >"$WORK/$name.log" 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "$name: exactly.once.support: required started anyway"
    grep -q "$want" "$WORK/$name.log" || fail "$name: no clear error ('$want'): $(tail -3 "$WORK/$name.log")"
}
refuse req_disabled "exactly.once.support is required, but the worker's exactly.once.source.support is not enabled"
refuse req_embedded "exactly.once.support is required, but the embedded broker has no real transactions" \
    "exactly.once.source.support: enabled"
refuse req_file "exactly.once.support is required, but offsets.store is not kafka" \
    "exactly.once.source.support: enabled" "offsets: {store: file, file: $WORK/x.offsets}"
log "required: refused on a worker without it, on the embedded broker and with the file store"

broker_start --topic eos_poll:3 --topic eos_int:3
# A transaction interval the broker would cut short (transaction.timeout.ms, 60 s by default).
cat >"$WORK/long.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC}
  exactly.once.source.support: enabled
connectors:
  glong: {connector: datagen, topic: eos_int, count: 10, exactly.once.support: required,
          transaction.boundary: interval, transaction.boundary.interval.ms: 90s}
YAML
ferry_start long "$WORK/long.yaml"
wait_until 60 grep -q "transaction.boundary.interval.ms (90000 ms) must be shorter than the producer's transaction.timeout.ms (60000 ms)" "$WORK/long.log" ||
    fail "an interval longer than transaction.timeout.ms was not refused: $(tail -3 "$WORK/long.log")"
ferry_stop "$FERRY_PID"
! grep -q "restarting failed task" "$WORK/long.log" || fail "the refused interval was restarted"
log "interval: one longer than transaction.timeout.ms is refused"

N=60000
RATE=5000 # per connector: ~12 s of data
cat >"$WORK/eos.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
  exactly.once.source.support: enabled
connectors:
  gpoll: {connector: datagen, topic: eos_poll, count: $N, rate: $RATE, value.size: 64,
          exactly.once.support: required}
  gint: {connector: datagen, topic: eos_int, count: $N, rate: $RATE, value.size: 64,
         exactly.once.support: required, transaction.boundary: interval,
         transaction.boundary.interval.ms: 400}
YAML
# `requested` without the worker option: at-least-once, said in the log.
sed 's/exactly.once.source.support: enabled/exactly.once.source.support: disabled/; s/required/requested/g' \
    "$WORK/eos.yaml" >"$WORK/plain.yaml"

committed() { # TOPIC ISOLATION: how many records a consumer with that isolation level reads
    /usr/bin/python3 - "$BROKER" "$1" "$2" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
broker, topic, iso = sys.argv[1:]
c = Consumer({"bootstrap.servers": broker, "group.id": "eos-check", "enable.auto.commit": False,
              "isolation.level": iso, "enable.partition.eof": True})
parts = [TopicPartition(topic, p, 0) for p in c.list_topics(topic, timeout=10).topics[topic].partitions]
c.assign(parts)
left, n, idle = {p.partition for p in parts}, 0, 0
while left and idle < 50:
    m = c.poll(0.2)
    if m is None:
        idle += 1
        continue
    idle = 0
    if m.error():
        if m.error().code() == -191:
            left.discard(m.partition())
        continue
    n += 1
print(n)
PY
}

# once TOPIC N: a read_committed reader (kcat) finds each of the seqs 0..N-1 exactly once.
once() {
    kcat -b "$BROKER" -C -t "$1" -o beginning -e -q -X isolation.level=read_committed -f '%s\n' 2>>"$WORK/kcat.log" |
        /usr/bin/python3 -c '
import json, sys, collections
name, n = sys.argv[1], int(sys.argv[2])
seqs = collections.Counter(json.loads(l)["seq"] for l in sys.stdin if l.strip())
missing = [s for s in range(n) if s not in seqs]
twice = [s for s, c in seqs.items() if c > 1]
beyond = [s for s in seqs if s >= n]
if missing or twice or beyond:
    sys.exit(f"{name}: {len(missing)} missing (e.g. {missing[:5]}), {len(twice)} more than once "
             f"(e.g. {sorted(twice)[:5]}), {len(beyond)} beyond count")
print(f"{name}: each of {n} records exactly once (read_committed)")
' "$1" "$2"
}

ferry_start eos "$WORK/eos.yaml"
wait_until 60 grep -q "\[gint/0\] source task running" "$WORK/eos.log" || fail "the tasks did not start"
for k in 1 2 3 4; do
    # Mid-run: both tasks of this start are producing.
    wait_until 60 bash -c "[ \$(grep -c 'source task running' '$WORK/eos.log') -ge $((2 * k)) ]" ||
        fail "start $k: the tasks did not start"
    sleep 1.2
    kill -KILL "$FERRY_PID"
    wait "$FERRY_PID" 2>/dev/null || true
    log "kill $k: $(committed eos_poll read_committed) + $(committed eos_int read_committed) committed records"
    ferry_start eos "$WORK/eos.yaml"
done
done_both() { [ "$(grep -c "datagen finished" "$WORK/eos.log")" -ge 2 ]; }
wait_until 120 done_both || fail "the connectors did not finish after the kills"
wait_until 30 bash -c "[ \$(grep -c 'resuming at seq' '$WORK/eos.log') -ge 8 ]" ||
    fail "the restarted tasks did not resume from stored offsets"
ferry_stop "$FERRY_PID"

for t in eos_poll eos_int; do
    once "$t" "$N" || fail "$t: not exactly once"
    all=$(committed "$t" read_uncommitted)
    log "$t: read_uncommitted sees $all records (aborted leftovers of the kills: $((all - N)))"
    aborted=$((${aborted:-0} + all - N))
done
# Kills that hit open transactions left records a read_uncommitted consumer
# sees: without them the kills proved nothing.
[ "$aborted" -gt 0 ] || fail "no kill hit an open transaction"

# The offsets topic holds transaction markers too: ferry's own reader (read_committed) resumes.
ferry_start again "$WORK/eos.yaml"
wait_until 60 bash -c "[ \$(grep -c 'datagen finished' '$WORK/again.log') -ge 2 ]" || fail "restart after the end did not find the stored offsets"
ferry_stop "$FERRY_PID"
for t in eos_poll eos_int; do
    [ "$(committed "$t" read_committed)" = $N ] || fail "$t: a restart after the end produced again"
done

# ---- a zombie is fenced ------------------------------------------------------------------
# Two workers of one group, one task each. One is frozen (SIGSTOP) past the
# group's session timeout: its task moves to the other worker, whose new
# producer fences the frozen one. Thawed, the zombie's transaction cannot
# commit, and read_committed still sees every record once.
kafka_admin recreate zomb0:2 zomb1:2 || fail "could not create the zombie topics"
ZN=30000
cat >"$WORK/zomb.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
  exactly.once.source.support: enabled
  group.id: zomb-$TEST_NAME
  group.session.timeout: 6s
connectors:
  z0: {connector: datagen, topic: zomb0, count: $ZN, rate: 2000, value.size: 64, exactly.once.support: required,
       transaction.boundary: interval, transaction.boundary.interval.ms: 2000}
  z1: {connector: datagen, topic: zomb1, count: $ZN, rate: 2000, value.size: 64, exactly.once.support: required,
       transaction.boundary: interval, transaction.boundary.interval.ms: 2000}
YAML
kafka_admin delete "zomb-$TEST_NAME-tasks" || fail "could not delete the old tasks topic"
ferry_start za "$WORK/zomb.yaml"; ZA=$FERRY_PID
wait_until 60 grep -q "source task running" "$WORK/za.log" || fail "worker A ran no task"
ferry_start zb "$WORK/zomb.yaml"; ZB=$FERRY_PID
one_each() { grep -q "source task running" "$WORK/zb.log" && [ "$(grep -c 'task revoked' "$WORK/za.log")" -ge 1 ]; }
wait_until 60 one_each || fail "the two workers did not take one task each"
sleep 2.5
kill -STOP "$ZA"
log "worker A frozen mid-transaction"
wait_until 60 bash -c "[ \$(grep -c 'source task running' '$WORK/zb.log') -ge 2 ]" ||
    { kill -CONT "$ZA"; fail "worker B did not take the frozen worker's task over"; }
sleep 2
kill -CONT "$ZA"
log "worker A thawed"
# Thawed, A rejoins the group and may get a task back: wherever they run, both finish.
zdone() { grep -q '\[z0/0\] datagen finished' "$WORK/za.log" "$WORK/zb.log" && grep -q '\[z1/0\] datagen finished' "$WORK/za.log" "$WORK/zb.log"; }
wait_until 120 zdone || fail "the two tasks did not finish"
wait_until 30 grep -q "fenced by a newer instance" "$WORK/za.log" ||
    fail "the zombie's writes were not refused as fenced"
kill -TERM "$ZA"; wait "$ZA" 2>/dev/null || true
ferry_stop "$ZB"
for t in zomb0 zomb1; do
    once "$t" "$ZN" || fail "$t: not exactly once across a zombie"
done
grep -E "fenced|lost \(" "$WORK/za.log" | head -2 >&2

# requested without the worker option runs at-least-once, and says so only when the worker enabled it.
sed -i 's/exactly.once.source.support: disabled/exactly.once.source.support: enabled/; s#bootstrap.servers: "[^"]*"#bootstrap.servers: embedded#' "$WORK/plain.yaml"
sed -i "s/count: $N/count: 10/g" "$WORK/plain.yaml"
ferry_start plain "$WORK/plain.yaml"
wait_until 30 grep -q "exactly-once delivery is not possible (the embedded broker has no real transactions): at-least-once" "$WORK/plain.log" ||
    fail "requested on the embedded broker did not say it falls back"
ferry_stop "$FERRY_PID"
log "ok: exactly once through four kill -9s, both transaction boundaries"
