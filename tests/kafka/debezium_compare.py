#!/usr/bin/env python3
"""Debezium's PostgreSQL connector against ferry's postgres-cdc, record by record.

    debezium_compare.py has-marker BROKER TOPIC KEY_JSON
        exit 0 when TOPIC holds a record with that key and a non-null value
    debezium_compare.py has-all BROKER N TOPIC...
        exit 0 when every TOPIC holds a record whose after.id is N
    debezium_compare.py compare BROKER DBZ_PREFIX FERRY_PREFIX KNOWN TABLE...
        read <prefix>.TABLE for both prefixes, print the differences, and exit 0 only
        when they are exactly the lines of KNOWN (a known line that no longer occurs
        fails too); with DEBEZIUM_COMPARE_DUMP=DIR, also writes the records it read to
        DIR/TOPIC.jsonl, one [key, value] a line. A TABLE written DP/FP/TABLE compares
        DP.TABLE with FP.TABLE instead (its lines say DP/FP/TABLE). With
        DEBEZIUM_COMPARE_ONLY=before,after only those fields of the values are compared
        (keys and the pairing of records still are): for connector pairs whose envelope
        is compared elsewhere

Records of a table are paired as follows: snapshot records (op "r") by key, everything
after them (changes, tombstones, truncates) by position. A pair is compared on its key, on
every top-level field of the value and on every field of "source", except the wall-clock
fields (ts_ms, ts_us, ts_ns, source.ts_*), source.version, source.connector, source.name
and the "transaction" block. LSNs and transaction ids are compared on presence and type
in the snapshot (each connector's slot has its own snapshot point) and also on value in
the stream (both read the same WAL). Nothing else is normalised.

A difference is one line "TABLE FIELD: what differs (debezium=..., ferry=...)". The same
kind of difference in the same field of the same table is one line, with the values of its
first occurrence: tables hold fixed rows and records arrive in a fixed order, so the lines
do not change from run to run, and they never hold an LSN or a time of day.
"""
import json
import os
import sys

IGNORED_TOP = {"ts_ms", "ts_us", "ts_ns", "transaction"}
ONLY_TOP = set(filter(None, os.environ.get("DEBEZIUM_COMPARE_ONLY", "").split(",")))
IGNORED_SOURCE = {"ts_ms", "ts_us", "ts_ns", "version", "connector", "name"}
# Values that differ between two slots by nature: compared on presence and type only in
# the snapshot, and not printed in a line anywhere.
POSITIONAL_SOURCE = {"lsn", "txId", "xmin", "sequence"}


def read_topic(broker, topic):
    """Every record of TOPIC's partition 0, in order, as (key, value) of parsed JSON or None."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": broker, "group.id": "debezium-compare",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "enable.partition.eof": True})
    md = c.list_topics(topic, timeout=10)
    if topic not in md.topics or not md.topics[topic].partitions:
        c.close()
        return []
    c.assign([TopicPartition(topic, 0, 0)])
    out, idle = [], 0
    while idle < 50:
        m = c.poll(0.2)
        if m is None:
            idle += 1
            continue
        idle = 0
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                break
            continue
        key = json.loads(m.key()) if m.key() else None
        value = json.loads(m.value()) if m.value() else None
        out.append((key, value))
    c.close()
    return out


def kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def position_kind(v):
    """The kind of an LSN or transaction id: 0 stands for "none" and is told apart."""
    return "0" if v == 0 and kind(v) == "int" else kind(v)


def show(v, limit=60):
    s = json.dumps(v, sort_keys=True, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


class Diffs:
    """The differences of one run, one line per (table, field, kind)."""

    def __init__(self):
        self.lines = {}  # (table, field, what) -> line, in order of first occurrence

    def add(self, table, field, what, dbz=None, fer=None, values=True, side="both"):
        k = (table, field, what)
        if field.startswith("source.") and values:
            # Few and short (snapshot markers, names): each pair of values is a line.
            k += (show(dbz), show(fer))
        if k in self.lines:
            return
        line = "%s %s: %s" % (table, field, what)
        if values and side == "debezium":
            line += " (debezium=%s)" % show(dbz)
        elif values and side == "ferry":
            line += " (ferry=%s)" % show(fer)
        elif values:
            line += " (debezium=%s, ferry=%s)" % (show(dbz), show(fer))
        self.lines[k] = line

    def value(self, table, field, dbz, fer, values=True):
        """Compares two JSON values; objects field by field (FIELD.sub)."""
        if dbz == fer and kind(dbz) == kind(fer):
            return
        kd, kf = kind(dbz), kind(fer)
        if kd == "object" and kf == "object":
            for name in list(dbz) + [n for n in fer if n not in dbz]:
                sub = "%s.%s" % (field, name)
                if name not in fer:
                    self.add(table, sub, "only debezium has it", dbz[name], None, values, "debezium")
                elif name not in dbz:
                    self.add(table, sub, "only ferry has it", None, fer[name], values, "ferry")
                else:
                    self.value(table, sub, dbz[name], fer[name], values)
        elif kd != kf:
            self.add(table, field, "debezium %s, ferry %s" % (kd, kf), dbz, fer, values)
        else:
            self.add(table, field, "%s values differ" % kd, dbz, fer, values)


def compare_value(d, table, dbz, fer, phase):
    """Two record values (envelopes or None for tombstones)."""
    if dbz is None or fer is None:
        if dbz is not fer:
            d.add(table, "value", "%s: debezium %s, ferry %s" % (
                phase, "tombstone" if dbz is None else "op " + str(dbz.get("op")),
                "tombstone" if fer is None else "op " + str(fer.get("op"))), values=False)
        return
    names = [n for n in dbz if n not in IGNORED_TOP] + \
        [n for n in fer if n not in IGNORED_TOP and n not in dbz]
    if ONLY_TOP:
        names = [n for n in names if n in ONLY_TOP]
    for name in names:
        if name not in fer:
            d.add(table, name, "only debezium has it", dbz[name], None, side="debezium")
        elif name not in dbz:
            d.add(table, name, "only ferry has it", None, fer[name], side="ferry")
        elif name == "source":
            compare_source(d, table, dbz[name], fer[name], phase)
        elif name in ("before", "after"):
            sd, sf = dbz[name], fer[name]
            op = dbz.get("op")
            if (sd is None) != (sf is None):
                d.add(table, name, "op %s: debezium %s, ferry %s" % (op, kind(sd), kind(sf)), sd, sf)
            elif sd is not None:
                d.value(table, name, sd, sf)
        else:
            d.value(table, name, dbz[name], fer[name])


def compare_source(d, table, sd, sf, phase):
    if kind(sd) != "object" or kind(sf) != "object":
        d.value(table, "source", sd, sf)
        return
    names = [n for n in sd if n not in IGNORED_SOURCE] + \
        [n for n in sf if n not in IGNORED_SOURCE and n not in sd]
    for name in names:
        field = "source." + name
        a, b = sd.get(name), sf.get(name)
        positional = name in POSITIONAL_SOURCE
        if name not in sf:
            d.add(table, field, "only debezium has it", a, None, not positional, "debezium")
        elif name not in sd:
            d.add(table, field, "only ferry has it", None, b, not positional, "ferry")
        elif positional:
            if position_kind(a) != position_kind(b):
                d.add(table, field, "%s: debezium %s, ferry %s" % (phase, position_kind(a), position_kind(b)),
                      values=False)
            elif phase == "stream" and a != b:
                d.add(table, field, "stream: values differ", values=False)
        else:
            d.value(table, field, a, b)


def split(records):
    """(snapshot records by key, the records after the snapshot)."""
    snap, rest = {}, []
    for key, value in records:
        if not rest and value is not None and value.get("op") == "r":
            snap[json.dumps(key, sort_keys=True)] = (key, value)
        else:
            rest.append((key, value))
    return snap, rest


def describe(rec):
    key, value = rec
    what = "tombstone" if value is None else "op " + str(value.get("op"))
    return "%s key %s" % (what, show(key))


def compare_table(d, broker, table, dbz_topic, fer_topic, dump_dir):
    dbz, fer = read_topic(broker, dbz_topic), read_topic(broker, fer_topic)
    if dump_dir:
        for topic, recs in ((dbz_topic, dbz), (fer_topic, fer)):
            with open("%s/%s.jsonl" % (dump_dir, topic), "w", encoding="utf-8") as f:
                for key, value in recs:
                    f.write(json.dumps([key, value], ensure_ascii=False) + "\n")
    if not dbz:
        sys.exit("%s: Debezium wrote no records: nothing to compare" % dbz_topic)
    dsnap, drest = split(dbz)
    fsnap, frest = split(fer)
    for k in sorted(set(dsnap) | set(fsnap)):
        if k not in fsnap:
            d.add(table, "snapshot", "only debezium has key %s" % k, values=False)
        elif k not in dsnap:
            d.add(table, "snapshot", "only ferry has key %s" % k, values=False)
        else:
            compare_value(d, table, dsnap[k][1], fsnap[k][1], "snapshot")
    for i in range(max(len(drest), len(frest))):
        if i >= len(frest):
            d.add(table, "stream", "record %d only debezium has: %s" % (i + 1, describe(drest[i])), values=False)
            continue
        if i >= len(drest):
            d.add(table, "stream", "record %d only ferry has: %s" % (i + 1, describe(frest[i])), values=False)
            continue
        (dk, dv), (fk, fv) = drest[i], frest[i]
        if dk != fk or kind(dk) != kind(fk):
            d.add(table, "key", "stream record %d differs" % (i + 1), dk, fk)
        compare_value(d, table, dv, fv, "stream")
    return len(dbz), len(fer)


def known_lines(path):
    """The lines of KNOWN without comments and blank lines; text after a tab is a note."""
    out = set()
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        out.add(line.split("\t")[0])
    return out


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "has-marker":
        want = json.loads(sys.argv[4])
        sys.exit(0 if any(k == want and v is not None for k, v in read_topic(sys.argv[2], sys.argv[3])) else 1)
    if len(sys.argv) >= 5 and sys.argv[1] == "has-all":
        want = int(sys.argv[3])
        for topic in sys.argv[4:]:
            if not any(isinstance(v, dict) and isinstance(v.get("after"), dict) and v["after"].get("id") == want
                       for _, v in read_topic(sys.argv[2], topic)):
                print("%s: no row %d yet" % (topic, want), file=sys.stderr)
                sys.exit(1)
        sys.exit(0)
    if len(sys.argv) < 7 or sys.argv[1] != "compare":
        sys.exit(__doc__)
    broker, dprefix, fprefix, known_path = sys.argv[2:6]
    d = Diffs()
    for table in sys.argv[6:]:
        dp, fp, name = dprefix, fprefix, table
        if table.count("/") == 2:
            dp, fp, name = table.split("/")
        nd, nf = compare_table(d, broker, table, "%s.%s" % (dp, name), "%s.%s" % (fp, name),
                               os.environ.get("DEBEZIUM_COMPARE_DUMP"))
        print("%s: debezium %d records, ferry %d" % (table, nd, nf), file=sys.stderr)
    seen = set(d.lines.values())
    known = known_lines(known_path)
    for line in d.lines.values():
        print("%s %s" % ("(known)" if line in known else "  NEW  ", line))
    stale = sorted(known - seen)
    for line in stale:
        print("  GONE  %s" % line)
    new = [line for line in d.lines.values() if line not in known]
    print("%d differences, %d known, %d new, %d known ones gone (%s)"
          % (len(seen), len(seen & known), len(new), len(stale), known_path), file=sys.stderr)
    sys.exit(1 if new or stale else 0)


if __name__ == "__main__":
    main()
