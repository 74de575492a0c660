#!/usr/bin/env python3
"""s3check.py - the S3 tests' independent side: produces the input records,
reads a topic back, and decodes archived objects without any ferry code.

  s3check.py produce BOOTSTRAP TOPIC PARTITIONS COUNT [--big]
        deterministic records: binary values, null keys, tombstones, headers
        (some with null values), explicit timestamps; --big: 1 KiB values
  s3check.py dump BOOTSTRAP TOPIC OUT        every record of TOPIC as JSON lines
  s3check.py decode FORMAT DIR OUT           every object file under DIR (as
        `aws s3 cp --recursive` downloaded it), decoded by FORMAT (envelope,
        json, bytes, avro; .gz/.zst by the file name) into JSON lines
  s3check.py compare EXPECTED ACTUAL [--values-only] [--no-offsets] [--rename A=B]

Records are compared as {topic, partition, offset, key, value, headers,
timestamp}, bytes in base64. Kafka access uses Debian's python3-confluent-kafka
(run with /usr/bin/python3); decoding Avro needs fastavro (s3_py).
"""
import base64
import gzip
import json
import os
import sys


def b64(b):
    return None if b is None else base64.b64encode(b).decode()


def produce(bootstrap, topic, partitions, count, big):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20})
    base = 1_700_000_000_000
    for i in range(count):
        part = i % partitions
        key = None if i % 5 == 0 else b"k-%d" % i
        if i % 13 == 0:
            value = None  # tombstone
        elif big:
            value = (b"%08d" % i) * 128
        else:
            value = bytes((i * 7 + j) & 0xFF for j in range(i % 200))
        headers = []
        if i % 3 == 1:
            headers = [("trace", b"t-%d" % i), ("bin", bytes([0, 255, i & 0xFF]))]
        elif i % 3 == 2:
            headers = [("nullh", None)]
        # Timestamps grow by 1 s per record so that rotate.interval.ms has work.
        p.produce(topic, value=value, key=key, partition=part, headers=headers, timestamp=base + i * 1000)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(60)
    if left:
        sys.exit("produce: %d records not delivered" % left)


def dump(bootstrap, topic, out):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "s3check-dump-%d" % os.getpid(),
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    md = c.list_topics(topic, timeout=10)
    parts = sorted(md.topics[topic].partitions)
    ends = {}
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = hi
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    rows = []
    done = {p for p in parts if ends[p] == 0}
    idle = 0
    while len(done) < len(parts) and idle < 100:
        msgs = c.consume(1000, 0.2)
        if not msgs:
            idle += 1
            continue
        idle = 0
        for m in msgs:
            if m.error():
                continue
            rows.append(row(m.topic(), m.partition(), m.offset(), m.key(), m.value(),
                            headers_of(m), m.timestamp()[1]))
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
    c.close()
    write_rows(out, rows)


def headers_of(m):
    """m.headers(), minding a bug of confluent-kafka 1.7 (Debian 12): for a
    record without headers it returns None without a reference of its own,
    so each call takes one from None and the interpreter aborts at exit once
    they run out. Give back what the call took."""
    h = m.headers()
    if h is None:
        import ctypes
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
        return []
    return h


def row(topic, partition, offset, key, value, headers, ts):
    return {"topic": topic, "partition": partition, "offset": offset, "key": b64(key), "value": b64(value),
            "headers": [[k, b64(v)] for k, v in headers], "timestamp": ts}


def write_rows(out, rows):
    rows.sort(key=lambda r: (r["topic"], r["partition"], r["offset"]))
    with open(out, "w") as f:
        for r in rows:
            f.write(json.dumps(r, sort_keys=True) + "\n")


def read_file(path):
    data = open(path, "rb").read()
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        import zstandard
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def name_parts(path):
    base = os.path.basename(path)
    stem = base.split(".")[0]
    topic, part, start = stem.rsplit("+", 2)
    return topic, int(part), int(start)


def decode(fmt, root, out):
    rows = []
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
    for path in files:
        topic, part, start = name_parts(path)
        if fmt == "avro":
            import fastavro
            with open(path, "rb") as f:
                for i, r in enumerate(fastavro.reader(f)):
                    if i == 0 and r["offset"] != start:
                        sys.exit("%s: first offset %d, name says %d" % (path, r["offset"], start))
                    rows.append(row(r["topic"], r["partition"], r["offset"], r["key"], r["value"],
                                    [(h["key"], h["value"]) for h in r["headers"]], r["timestamp"]))
            continue
        data = read_file(path)
        if fmt == "envelope":
            for i, line in enumerate(data.splitlines()):
                e = json.loads(line)
                if i == 0 and e["offset"] != start:
                    sys.exit("%s: first offset %d, name says %d" % (path, e["offset"], start))
                dec = lambda s: None if s is None else base64.b64decode(s)
                rows.append(row(e["topic"], e["partition"], e["offset"], dec(e["key"]), dec(e["value"]),
                                [(h["key"], dec(h["value"])) for h in e["headers"]], e["timestamp"]))
        elif fmt == "json":
            for line in data.splitlines():
                v = json.loads(line)
                rows.append({"topic": topic, "partition": part, "value_json": v})
        elif fmt == "bytes":
            for v in data.split(b"\n")[:-1]:
                rows.append({"topic": topic, "partition": part, "value": b64(v)})
        else:
            sys.exit("unknown format " + fmt)
    if fmt in ("json", "bytes"):
        with open(out, "w") as f:
            for r in rows:
                f.write(json.dumps(r, sort_keys=True) + "\n")
        return
    write_rows(out, rows)


def compare(expected, actual, opts):
    exp = [json.loads(l) for l in open(expected)]
    act = [json.loads(l) for l in open(actual)]
    rename = {}
    for o in opts:
        if o.startswith("--rename="):
            a, b = o[len("--rename="):].split("=")
            rename[a] = b
    if "--values-only" in opts:
        # json/bytes archives hold values only, tombstones dropped: compare the
        # values per partition, in order.
        want = {}
        for r in exp:
            if r["value"] is not None:
                want.setdefault(r["partition"], []).append(r["value"])
        got = {}
        for r in act:
            v = r.get("value")
            if "value_json" in r:
                v = r["value_json"]
            got.setdefault(r["partition"], []).append(v)
        if "--json" in opts:
            for p in want:
                want[p] = [json.loads(base64.b64decode(v)) for v in want[p]]
        if want != got:
            for p in sorted(set(want) | set(got)):
                w, g = want.get(p, []), got.get(p, [])
                if w != g:
                    sys.exit("partition %s: %d values expected, %d archived; first difference at %s" % (
                        p, len(w), len(g), next((i for i, (a, b) in enumerate(zip(w, g)) if a != b), min(len(w), len(g)))))
        print("same %d values" % sum(len(v) for v in got.values()))
        return
    for r in exp:
        r["topic"] = rename.get(r["topic"], r["topic"])
    if "--no-offsets" in opts:
        # Replay: the same records in the same order per partition; offsets
        # in the new topic are its own.
        for r in exp + act:
            r.pop("offset")
        key = lambda r: r["partition"]
        exp.sort(key=key)
        act.sort(key=key)
    if exp != act:
        for i, (a, b) in enumerate(zip(exp, act)):
            if a != b:
                sys.exit("record %d differs:\n expected %s\n actual   %s" % (i, json.dumps(a), json.dumps(b)))
        sys.exit("%d records expected, %d found" % (len(exp), len(act)))
    print("same %d records" % len(act))


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    cmd = a[0]
    if cmd == "produce":
        produce(a[1], a[2], int(a[3]), int(a[4]), "--big" in a[5:])
    elif cmd == "dump":
        dump(a[1], a[2], a[3])
    elif cmd == "decode":
        decode(a[1], a[2], a[3])
    elif cmd == "compare":
        compare(a[1], a[2], a[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
