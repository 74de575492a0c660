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
        DIR/TOPIC.jsonl, one [key, value] a line
    debezium_compare.py compare-tx BROKER DBZ_PREFIX FERRY_PREFIX TABLE...
        transaction metadata: <prefix>.transaction and the data events' "transaction"
        blocks of both, record by record, each side's END counts against its data events,
        and the headers of every record of those topics; prints the differences and exits
        0 only when there are none
        DIR/TOPIC.jsonl, one [key, value] a line. A TABLE written DP/FP/TABLE compares
        DP.TABLE with FP.TABLE instead (its lines say DP/FP/TABLE). With
        DEBEZIUM_COMPARE_ONLY=before,after only those fields of the values are compared
        (keys and the pairing of records still are): for connector pairs whose envelope
        is compared elsewhere

Records of a table are paired as follows: snapshot records (op "r") by key, everything
after them (changes, tombstones, truncates) by position. A pair is compared on its key, on
every top-level field of the value and on every field of "source", except source.version
and source.name (the connectors' version and topic prefix differ by nature). The wall-clock
fields (ts_ms, ts_us, ts_ns, source.ts_*) are compared on presence and type, and each side's
three must tell the same time (ts_us // 1000 == ts_ms, ts_ns // 1000 == ts_us), and the
fields both write must come in the same order. LSNs, transaction ids and source.sequence
are compared on presence and type in the snapshot (each connector's slot has its own
snapshot point) and also on value in the stream (both read the same WAL); source.sequence
must be ["<last commit>" or null, "<source.lsn>"] on both sides. Every record's headers are
compared byte for byte (__debezium.oldkey/newkey, Debezium 3.x's __debezium.context.*
headers), except that the topic prefix in connectorLogicalName and the per-run UUID in
runId are normalised. Nothing else is normalised.

A difference is one line "TABLE FIELD: what differs (debezium=..., ferry=...)". The same
kind of difference in the same field of the same table is one line, with the values of its
first occurrence: tables hold fixed rows and records arrive in a fixed order, so the lines
do not change from run to run, and they never hold an LSN or a time of day.
"""
import json
import os
import sys

IGNORED_TOP = set()
IGNORED_SOURCE = {"version", "name"}
# Wall-clock values: compared on presence and type only (and for agreement among themselves).
WALL_CLOCK = {"ts_ms", "ts_us", "ts_ns"}
ONLY_TOP = set(filter(None, os.environ.get("DEBEZIUM_COMPARE_ONLY", "").split(",")))
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
    else:
        field_order(d, table, "", dbz, fer)
    for name in names:
        if name not in fer:
            d.add(table, name, "only debezium has it", dbz[name], None, name not in WALL_CLOCK, side="debezium")
        elif name not in dbz:
            d.add(table, name, "only ferry has it", None, fer[name], name not in WALL_CLOCK, side="ferry")
        elif name in WALL_CLOCK:
            compare_clock(d, table, name, dbz[name], fer[name], phase)
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
    clock_agreement(d, table, "", dbz, fer)


def compare_clock(d, table, field, a, b, phase):
    if kind(a) != kind(b):
        d.add(table, field, "%s: debezium %s, ferry %s" % (phase, kind(a), kind(b)), values=False)


def clock_agreement(d, table, where, dbz, fer):
    """ts_ms, ts_us and ts_ns of one side must be the same instant at their precisions."""
    for side, obj in (("debezium", dbz), ("ferry", fer)):
        ms, us, ns = (obj.get(n) for n in ("ts_ms", "ts_us", "ts_ns"))
        if kind(ms) == kind(us) == "int" and us // 1000 != ms:
            d.add(table, where + "ts_us", "%s: ts_us // 1000 != ts_ms" % side, values=False)
        if kind(us) == kind(ns) == "int" and ns // 1000 != us:
            d.add(table, where + "ts_ns", "%s: ts_ns // 1000 != ts_us" % side, values=False)


def compare_source(d, table, sd, sf, phase):
    if kind(sd) != "object" or kind(sf) != "object":
        d.value(table, "source", sd, sf)
        return
    names = [n for n in sd if n not in IGNORED_SOURCE] + \
        [n for n in sf if n not in IGNORED_SOURCE and n not in sd]
    for name in names:
        field = "source." + name
        a, b = sd.get(name), sf.get(name)
        positional = name in POSITIONAL_SOURCE or name in WALL_CLOCK
        if name not in sf:
            d.add(table, field, "only debezium has it", a, None, not positional, "debezium")
        elif name not in sd:
            d.add(table, field, "only ferry has it", None, b, not positional, "ferry")
        elif name in WALL_CLOCK:
            compare_clock(d, table, field, a, b, phase)
        elif positional:
            if position_kind(a) != position_kind(b):
                d.add(table, field, "%s: debezium %s, ferry %s" % (phase, position_kind(a), position_kind(b)),
                      values=False)
            elif phase == "stream" and a != b:
                d.add(table, field, "stream: values differ", values=False)
        else:
            d.value(table, field, a, b)
    clock_agreement(d, table, "source.", sd, sf)
    field_order(d, table, "source.", sd, sf)
    for side, src in (("debezium", sd), ("ferry", sf)):
        sequence_shape(d, table, side, src, phase)


def field_order(d, table, where, dbz, fer):
    """The fields both sides write must come in the same order (Debezium's)."""
    a = [n for n in dbz if n in fer]
    b = [n for n in fer if n in dbz]
    if a != b:
        d.add(table, where + "*", "field order differs (debezium=%s, ferry=%s)" % (",".join(a), ",".join(b)),
              values=False)


def sequence_shape(d, table, side, src, phase):
    """source.sequence is Debezium's ["lastCommitLsn","lsn"] as a JSON string: two decimal strings
    (the first null before any commit, as in the snapshot), the second the record's source.lsn."""
    seq = src.get("sequence")
    if seq is None:
        return
    try:
        pair = json.loads(seq)
    except (TypeError, ValueError):
        pair = None
    ok = isinstance(pair, list) and len(pair) == 2 and pair[1] == str(src.get("lsn")) and \
        (pair[0] is None or (isinstance(pair[0], str) and pair[0].isdigit()))
    if ok and phase == "snapshot" and pair[0] is not None:
        ok = False
    if not ok:
        d.add(table, "source.sequence", "%s: %s's is not [last commit, source.lsn]" % (phase, side), values=False)


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
    compare_headers(d, broker, table, dbz_topic, fer_topic)
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


# ---- transaction metadata (debezium_txmeta.sh) --------------------------------------------

def tx_lines(broker, dprefix, fprefix, tables):
    """Differences between the two transaction topics and the data events' transaction blocks,
    plus each side's own consistency: one BEGIN and one END per transaction, END counting
    exactly the data events of its transaction (in total and per table; total_order and
    data_collection_order 1..n). Debezium 3.6's ids are "<txId>:<lsn of the record>" (BEGIN's
    Begin message, each event's own, END's Commit message), so a transaction is told by the
    txId part. Lines hold no LSN, id or time of day."""
    txn = lambda tid: str(tid).split(":")[0]
    out = []
    topics = {}
    for side, prefix in (("debezium", dprefix), ("ferry", fprefix)):
        tx = read_topic(broker, "%s.transaction" % prefix)
        data = {t: read_topic(broker, "%s.%s" % (prefix, t)) for t in tables}
        topics[side] = (tx, data)
        dump_dir = os.environ.get("DEBEZIUM_COMPARE_DUMP")
        if dump_dir:
            for topic, recs in [("%s.transaction" % prefix, tx)] + [("%s.%s" % (prefix, t), data[t]) for t in tables]:
                with open("%s/%s.jsonl" % (dump_dir, topic), "w", encoding="utf-8") as f:
                    for key, value in recs:
                        f.write(json.dumps([key, value], ensure_ascii=False) + "\n")
        if not tx:
            out.append("%s: no transaction records" % side)
            continue
        begun, ended = [], {}
        for i, (k, v) in enumerate(tx):
            if v is None or k != {"id": v.get("id")}:
                out.append("%s: transaction record %d: key is not {\"id\": value.id}" % (side, i + 1))
                continue
            tid = txn(v["id"])
            if v.get("status") == "BEGIN":
                if tid in begun:
                    out.append("%s: transaction record %d: BEGIN twice" % (side, i + 1))
                begun.append(tid)
                if v.get("event_count") is not None or v.get("data_collections") is not None:
                    out.append("%s: BEGIN with counts" % side)
            elif v.get("status") == "END":
                if tid in ended:
                    out.append("%s: transaction record %d: END twice" % (side, i + 1))
                if tid not in begun:
                    out.append("%s: transaction record %d: END without BEGIN" % (side, i + 1))
                ended[tid] = v
            else:
                out.append("%s: transaction record %d: status %s" % (side, i + 1, show(v.get("status"))))
        for tid in begun:
            if tid not in ended:
                out.append("%s: a BEGIN without END" % side)
        # The data events' blocks against the END records.
        seen = {}
        for t, recs in data.items():
            for k, v in recs:
                if v is None:
                    continue
                blk = v.get("transaction")
                if v.get("op") == "r" or blk is None:
                    continue
                tot = seen.setdefault(txn(blk.get("id")), {"orders": [], "tables": {}})
                tot["orders"].append(blk.get("total_order"))
                tot["tables"].setdefault(t, []).append(blk.get("data_collection_order"))
        for tid, got in seen.items():
            end = ended.get(tid)
            if end is None:
                out.append("%s: data events of a transaction without END" % side)
                continue
            if sorted(got["orders"]) != list(range(1, end.get("event_count", 0) + 1)):
                out.append("%s: total_order of the data events is not 1..event_count" % side)
            counts = {dc.get("data_collection"): dc.get("event_count") for dc in end.get("data_collections") or []}
            for t, orders in got["tables"].items():
                if sorted(orders) != list(range(1, counts.get(t, 0) + 1)):
                    out.append("%s: %s: data_collection_order is not 1..event_count of END" % (side, t))
            if set(counts) != set(got["tables"]):
                out.append("%s: END's data_collections are not the tables of its events" % side)
        for tid in ended:
            if tid not in seen:
                out.append("%s: an END without data events" % side)
    if len(topics) < 2:
        return out
    (dtx, ddata), (ftx, fdata) = topics["debezium"], topics["ferry"]
    if len(dtx) != len(ftx):
        out.append("transaction topic: debezium %d records, ferry %d" % (len(dtx), len(ftx)))
    for i, ((dk, dv), (fk, fv)) in enumerate(zip(dtx, ftx)):
        if dv is None or fv is None:
            continue
        if list(dv) != list(fv):
            out.append("transaction record %d: fields differ (debezium=%s, ferry=%s)"
                       % (i + 1, ",".join(dv), ",".join(fv)))
        for name in dv:
            if name not in fv:
                continue
            a, b = dv[name], fv[name]
            if name in WALL_CLOCK:
                if kind(a) != kind(b):
                    out.append("transaction record %d: %s: debezium %s, ferry %s" % (i + 1, name, kind(a), kind(b)))
            elif name == "data_collections" and isinstance(a, list) and isinstance(b, list):
                key = lambda dc: json.dumps(dc, sort_keys=True)
                if sorted(a, key=key) != sorted(b, key=key):
                    out.append("transaction record %d (%s): data_collections differ (debezium=%s, ferry=%s)"
                               % (i + 1, dv.get("status"), show(a, 200), show(b, 200)))
            elif a != b:
                out.append("transaction record %d (%s): %s differs%s" % (
                    i + 1, dv.get("status"), name,
                    "" if name == "id" else " (debezium=%s, ferry=%s)" % (show(a), show(b))))
    for t in tables:
        dsnap, drest = split(ddata[t])
        fsnap, frest = split(fdata[t])
        for k in sorted(set(dsnap) & set(fsnap)):
            a, b = dsnap[k][1].get("transaction", "absent"), fsnap[k][1].get("transaction", "absent")
            if a != b:
                out.append("%s snapshot: transaction differs (debezium=%s, ferry=%s)" % (t, show(a), show(b)))
                break
        if len(drest) != len(frest):
            out.append("%s: debezium %d records after the snapshot, ferry %d" % (t, len(drest), len(frest)))
        for i, ((dk, dv), (fk, fv)) in enumerate(zip(drest, frest)):
            a = dv.get("transaction", "absent") if dv else None
            b = fv.get("transaction", "absent") if fv else None
            if dv and fv:
                for name in ("origin", "origin_lsn"):
                    x, y = dv["source"].get(name, "absent"), fv["source"].get(name, "absent")
                    if x != y:
                        out.append("%s stream record %d: source.%s differs (debezium=%s, ferry=%s)"
                                   % (t, i + 1, name, show(x), show(y)))
            if a != b:
                out.append("%s stream record %d: transaction differs (debezium=%s, ferry=%s)" % (
                    t, i + 1, show({n: x for n, x in a.items() if n != "id"} if isinstance(a, dict) else a),
                    show({n: x for n, x in b.items() if n != "id"} if isinstance(b, dict) else b)))
    for t in ["transaction"] + list(tables):
        hd = Diffs()
        dh = normalise_headers(hd, t, "debezium", dprefix, read_headers(broker, "%s.%s" % (dprefix, t)))
        fh = normalise_headers(hd, t, "ferry", fprefix, read_headers(broker, "%s.%s" % (fprefix, t)))
        out += list(hd.lines.values())
        for i in range(min(len(dh), len(fh))):
            if dh[i] != fh[i]:
                out.append("%s record %d: headers differ (debezium=%s, ferry=%s)" % (t, i + 1, show(dh[i], 400),
                                                                                   show(fh[i], 400)))
                break
    return out


def compare_tx(argv):
    broker, dprefix, fprefix = argv[:3]
    lines = tx_lines(broker, dprefix, fprefix, argv[3:])
    for line in lines:
        print(line)
    print("%d differences in transaction metadata" % len(lines), file=sys.stderr)
    sys.exit(1 if lines else 0)


# ---- record headers (__debezium.oldkey / __debezium.newkey) -------------------------------

def read_headers(broker, topic):
    """The headers of every record of TOPIC's partition 0, in order: [(name, value text)]."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": broker, "group.id": "debezium-compare-headers",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "enable.partition.eof": True})
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
        out.append([(n, None if v is None else v.decode("utf-8", "replace")) for n, v in (m.headers() or [])])
    c.close()
    return out


def normalise_headers(d, table, side, prefix, headers):
    """Debezium 3.x's context headers hold values that differ by nature: the topic prefix
    (connectorLogicalName) and a UUID per task run (runId). They become <topic.prefix> and
    <run id> when they are that; a side with several run ids in one run is a difference."""
    import re
    runs = set()
    out = []
    for hs in headers:
        norm = []
        for name, value in hs:
            if name == "__debezium.context.connectorLogicalName" and value == prefix:
                value = "<topic.prefix>"
            elif name == "__debezium.context.runId" and value and \
                    re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value):
                runs.add(value)
                value = "<run id>"
            norm.append((name, value))
        out.append(norm)
    if len(runs) > 1:
        d.add(table, "headers", "%s: %d different runIds in one run" % (side, len(runs)), values=False)
    return out


def compare_headers(d, broker, table, dbz_topic, fer_topic):
    """Every record's headers, byte for byte, paired by position (the snapshot's records come
    first on both sides), after normalise_headers."""
    dh = normalise_headers(d, table, "debezium", dbz_topic.split(".")[0], read_headers(broker, dbz_topic))
    fh = normalise_headers(d, table, "ferry", fer_topic.split(".")[0], read_headers(broker, fer_topic))
    for i in range(min(len(dh), len(fh))):
        if dh[i] != fh[i]:
            d.add(table, "headers", "record %d differs (debezium=%s, ferry=%s)" % (i + 1, show(dh[i], 400),
                                                                                  show(fh[i], 400)), values=False)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "has-marker":
        want = json.loads(sys.argv[4])
        sys.exit(0 if any(k == want and v is not None for k, v in read_topic(sys.argv[2], sys.argv[3])) else 1)
    if len(sys.argv) >= 6 and sys.argv[1] == "compare-tx":
        compare_tx(sys.argv[2:])
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


# ---- debezium_features.sh (features): Debezium's options compared -------------------------
# Used as a module: python3 -c 'import debezium_compare as c; c.features_main(...)'.
# The same pairing and comparison as compare_table, but a run fails only on the fields
# these options decide (keys, ops, row images, the message block, which table, and in the
# stream the presence of txId); other differences (value encodings, envelope fields) are
# printed and belong to the conformance test.
FEATURE_FIELDS = ("key", "value", "snapshot", "stream", "op", "before", "after", "message",
                  "source.schema", "source.table", "source.txId")


def feature_line(line):
    field = line.split(" ", 2)[1].rstrip(":")
    if field == "source.txId" and ": snapshot:" in line:
        return False  # the snapshot's txId is the conformance test's (envelope)
    return any(field == f or field.startswith(f + ".") for f in FEATURE_FIELDS)


def features_main(broker, dprefix, fprefix, suffixes):
    d = Diffs()
    for suffix in suffixes:
        nd, nf = compare_table(d, broker, suffix, "%s.%s" % (dprefix, suffix), "%s.%s" % (fprefix, suffix),
                               os.environ.get("DEBEZIUM_COMPARE_DUMP"))
        print("%s: debezium %d records, ferry %d" % (suffix, nd, nf), file=sys.stderr)
    bad = 0
    for line in d.lines.values():
        mine = feature_line(line)
        bad += mine
        print("%s %s" % ("  DIFF " if mine else "(other)", line))
    print("%d differences in the compared fields" % bad, file=sys.stderr)
    sys.exit(1 if bad else 0)
