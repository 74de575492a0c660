#!/usr/bin/python3
"""pg_check.py — reads postgres-cdc output back and checks it.

Records are handled as tab-separated lines: topic, key, value, offset,
headers ("\\N" = NULL), the format pg_harness prints and `dump` writes from
Kafka (with Debian's python3-confluent-kafka, a client no one here wrote).

  pg_check.py dump BROKER TOPIC...        print every record of the topics
  pg_check.py ids FILE TOPIC OPS LO HI MODE
        MODE exact: every id in [LO, HI] appears exactly once among events of
        TOPIC whose op is in OPS (comma list, e.g. c,r); atleast: at least once.
        Ids outside the range are an error, unless MODE ends with _in (exact_in,
        atleast_in): then only the range is checked.
  pg_check.py events FILE TOPIC           print op, key, before, after as JSON lines
"""
import json
import sys


def records(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            topic, key, value = parts[0], parts[1], parts[2]
            yield topic, (None if key == "\\N" else key), (None if value == "\\N" else value), parts[3:]


def dump(broker, topics):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": broker, "group.id": "pg-check", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "enable.partition.eof": True,
                  "isolation.level": "read_committed"})
    md = c.list_topics(timeout=10)
    parts = []
    for t in topics:
        if t in md.topics and md.topics[t].partitions:
            parts += [TopicPartition(t, p, 0) for p in md.topics[t].partitions]
    if not parts:
        return
    c.assign(parts)
    remaining = {(p.topic, p.partition) for p in parts}
    idle = 0
    while remaining and idle < 100:
        m = c.poll(0.2)
        if m is None:
            idle += 1
            continue
        idle = 0
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                remaining.discard((m.topic(), m.partition()))
            continue
        k = m.key().decode() if m.key() is not None else "\\N"
        v = m.value().decode() if m.value() is not None else "\\N"
        hdrs = ";".join("%s=%s" % (n, (hv or b"").decode()) for n, hv in (m.headers() or []))
        print("\t".join([m.topic(), k, v, "-", hdrs]))
    c.close()


def ids(path, topic, ops, lo, hi, mode):
    ops = set(ops.split(","))
    only_range = mode.endswith("_in")
    mode = mode[:-3] if only_range else mode
    seen = {}
    for t, key, value, _ in records(path):
        if t != topic or value is None:
            continue
        ev = json.loads(value)
        if ev.get("op") not in ops:
            continue
        row = ev.get("after") or ev.get("before")
        i = int(row["id"])
        seen[i] = seen.get(i, 0) + 1
    bad = []
    for i in range(lo, hi + 1):
        n = seen.get(i, 0)
        if n == 0 or (mode == "exact" and n > 1):
            bad.append((i, n))
    extra = [] if only_range else sorted(i for i in seen if i < lo or i > hi)
    dups = sum(n - 1 for i, n in seen.items() if n > 1 and lo <= i <= hi)
    print("ids %s..%s: %d distinct, %d duplicates, %d wrong, %d outside" % (lo, hi, len(seen), dups, len(bad),
                                                                           len(extra)))
    if bad or extra:
        print("first problems: missing/duplicated %s outside %s" % (bad[:10], extra[:10]))
        return 1
    return 0


def events(path, topic):
    for t, key, value, _ in records(path):
        if t != topic:
            continue
        if value is None:
            print(json.dumps({"op": "tombstone", "key": json.loads(key) if key else None}))
            continue
        ev = json.loads(value)
        print(json.dumps({"op": ev["op"], "key": json.loads(key) if key else None, "before": ev["before"],
                          "after": ev["after"]}, sort_keys=True))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "dump":
        dump(argv[2], argv[3:])
        return 0
    if len(argv) == 8 and argv[1] == "ids":
        return ids(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), argv[7])
    if len(argv) == 4 and argv[1] == "events":
        return events(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
