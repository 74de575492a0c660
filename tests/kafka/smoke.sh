#!/usr/bin/env bash
# The suite's Apache Kafka answers clients that no one here wrote: kcat and
# python3-confluent-kafka produce and consume through it, a group consumer
# gets its partitions, and a transactional producer's aborted records stay
# invisible to a read_committed consumer. kafka.sh's tool wrapper works, and
# so does a broker of a test's own with extra server properties.
source "$TESTLIB"
broker_start --topic smoke-kcat:2 --topic smoke-py:3 --topic smoke-tx:1

# kcat: keyed records in, the same records out.
seq 1 500 | awk '{print "k" $1 "\tv" $1}' | kcat -b "$BROKER" -P -t smoke-kcat -K '\t' 2>>"$WORK/kcat.log"
kcat -b "$BROKER" -C -t smoke-kcat -o beginning -e -q -f '%k\t%s\n' 2>>"$WORK/kcat.log" | sort >"$WORK/kcat.out"
seq 1 500 | awk '{print "k" $1 "\tv" $1}' | sort | cmp -s - "$WORK/kcat.out" ||
    fail "kcat read back $(wc -l <"$WORK/kcat.out") records, not the 500 it wrote"

# python3-confluent-kafka: idempotent producer, group consumer, transactions.
/usr/bin/python3 - "$BROKER" <<'PY' || fail "python3-confluent-kafka round trip failed"
import sys, time
from confluent_kafka import Consumer, Producer
bootstrap = sys.argv[1]

def consume(topic, n, **extra):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"smoke-{topic}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False, **extra})
    c.subscribe([topic])
    got, end = [], time.monotonic() + 60
    while len(got) < n and time.monotonic() < end:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    # Past the expected count, nothing more must come.
    end = time.monotonic() + 1
    while time.monotonic() < end:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    c.close()
    return got

p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
for i in range(1000):
    p.produce("smoke-py", key=str(i), value=f"py-{i}")
assert p.flush(30) == 0, "records left unsent"
got = consume("smoke-py", 1000)
assert sorted(got) == sorted(f"py-{i}" for i in range(1000)), f"{len(got)} records, {len(set(got))} distinct"
print("ok: 1000 records through an idempotent producer and a group consumer")

tp = Producer({"bootstrap.servers": bootstrap, "transactional.id": "smoke-tx"})
tp.init_transactions(30)
tp.begin_transaction()
for i in range(10):
    tp.produce("smoke-tx", value=f"aborted-{i}")
tp.abort_transaction(30)
tp.begin_transaction()
for i in range(10):
    tp.produce("smoke-tx", value=f"committed-{i}")
tp.commit_transaction(30)
got = consume("smoke-tx", 10, **{"isolation.level": "read_committed"})
assert got == [f"committed-{i}" for i in range(10)], got
print("ok: a read_committed consumer sees the committed transaction only")
PY

# The Kafka tools run from the cache (one JVM start).
bash "$FERRY_SOURCE_DIR/tests/kafka/kafka.sh" tool topics --bootstrap-server "$BROKER" --describe \
    --topic smoke-py >"$WORK/describe.out" 2>>"$WORK/tool.log" || fail "kafka-topics failed"
grep -q 'PartitionCount: 3' "$WORK/describe.out" || fail "kafka-topics: $(cat "$WORK/describe.out")"

# A broker of the test's own, without auto-creation: producing to a missing topic fails and
# creates nothing (the shared broker would have created it).
kafka_private_start auto.create.topics.enable=false
grep -qx 'auto.create.topics.enable=false' "$WORK/kafka/server.properties" || fail "extra property not written"
rc=0
echo x | kcat -b "$BROKER" -P -t smoke-missing -X message.timeout.ms=3000 2>>"$WORK/kcat.log" || rc=$?
[ "$rc" != 0 ] || fail "kcat could produce to a missing topic with auto-creation off"
kafka_admin describe smoke-missing >/dev/null && fail "the broker created smoke-missing with auto-creation off"
log "PASS"
