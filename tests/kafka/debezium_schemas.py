#!/usr/bin/env python3
"""The Connect schemas Debezium's PostgreSQL connector writes against ferry's postgres-cdc's.

    debezium_schemas.py compare BROKER DBZ_PREFIX FERRY_PREFIX KNOWN TABLE...

Both connectors ran with JsonConverter and schemas.enable=true for keys and values, so every
record is {"schema": ..., "payload": ...}. For each table, the key and value schemas of every
record are compared field by field (names with the topic prefix normalised to "PREFIX"), and
so are the payloads of records at the same position after the snapshot (the payload without
its schema is what tests/kafka/debezium_conformance.sh compares in depth; here it must be the
same with schemas on as without: only its presence and kind are checked). Prints one line per
difference "TABLE PATH: ..." and exits 0 only when the lines are exactly those of KNOWN (as
debezium_compare.py: text after a tab is a note; a known line no longer seen fails).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from debezium_compare import known_lines, read_topic  # noqa: E402


def normalise(schema, prefix):
    """The schema with '<prefix>.' at the start of names replaced by 'PREFIX.'."""
    if isinstance(schema, dict):
        out = {}
        for k, v in schema.items():
            if k == "name" and isinstance(v, str) and v.startswith(prefix + "."):
                v = "PREFIX." + v[len(prefix) + 1:]
            out[k] = normalise(v, prefix)
        return out
    if isinstance(schema, list):
        return [normalise(x, prefix) for x in schema]
    return schema


def show(v, limit=160):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def diff(lines, table, path, d, f):
    """Adds a line per difference between schemas d and f (Debezium's, ferry's)."""
    if isinstance(d, dict) and isinstance(f, dict):
        if d.get("type") == "struct" and f.get("type") == "struct" and "fields" in d and "fields" in f:
            dn = [x.get("field") for x in d["fields"]]
            fn = [x.get("field") for x in f["fields"]]
            for name in dn:
                if name not in fn:
                    lines.add("%s %s.%s: only debezium has the field" % (table, path, name))
            for name in fn:
                if name not in dn:
                    lines.add("%s %s.%s: only ferry has the field" % (table, path, name))
            common = [n for n in dn if n in fn]
            if common != [n for n in fn if n in dn]:
                lines.add("%s %s: fields in another order (debezium %s, ferry %s)" % (table, path, dn, fn))
            for name in common:
                diff(lines, table, "%s.%s" % (path, name), d["fields"][dn.index(name)], f["fields"][fn.index(name)])
            d = {k: v for k, v in d.items() if k != "fields"}
            f = {k: v for k, v in f.items() if k != "fields"}
        for k in sorted(set(d) | set(f)):
            if k == "field":
                continue
            if k in ("items", "keys", "values") and k in d and k in f:
                diff(lines, table, "%s[%s]" % (path, k), d[k], f[k])
            elif d.get(k) != f.get(k):
                lines.add("%s %s: %s differs (debezium=%s, ferry=%s)" % (table, path, k, show(d.get(k)), show(f.get(k))))
    elif d != f:
        lines.add("%s %s: differs (debezium=%s, ferry=%s)" % (table, path, show(d), show(f)))


def schemas(records, prefix, which):
    """The distinct normalised schemas of the records' key (which=0) or value (1), in order."""
    out = []
    for rec in records:
        part = rec[which]
        if part is None:
            continue
        if not isinstance(part, dict) or set(part) != {"schema", "payload"}:
            out.append(("not an envelope", part))
            continue
        s = normalise(part["schema"], prefix)
        if s not in out:
            out.append(s)
    return out


def main():
    if len(sys.argv) < 7 or sys.argv[1] != "compare":
        sys.exit(__doc__)
    broker, dprefix, fprefix, known_path = sys.argv[2:6]
    lines = set()
    dump = os.environ.get("DEBEZIUM_COMPARE_DUMP")
    for table in sys.argv[6:]:
        dbz = read_topic(broker, "%s.%s" % (dprefix, table))
        fer = read_topic(broker, "%s.%s" % (fprefix, table))
        if dump:
            for p, recs in ((dprefix, dbz), (fprefix, fer)):
                with open("%s/schemas-%s.%s.jsonl" % (dump, p, table), "w", encoding="utf-8") as out:
                    for key, value in recs:
                        out.write(json.dumps([key, value], ensure_ascii=False) + "\n")
        if not dbz:
            sys.exit("%s.%s: Debezium wrote no records" % (dprefix, table))
        print("%s: debezium %d records, ferry %d" % (table, len(dbz), len(fer)), file=sys.stderr)
        for which, label in ((0, "key"), (1, "value")):
            ds, fs = schemas(dbz, dprefix, which), schemas(fer, fprefix, which)
            if len(ds) != len(fs):
                lines.add("%s %s: debezium wrote %d distinct schemas, ferry %d" % (table, label, len(ds), len(fs)))
            for d, f in zip(ds, fs):
                diff(lines, table, label, d, f)
        if len(dbz) != len(fer):
            lines.add("%s: debezium wrote %d records, ferry %d" % (table, len(dbz), len(fer)))
    known = known_lines(known_path)
    for line in sorted(lines):
        print("%s %s" % ("(known)" if line in known else "  NEW  ", line))
    stale = sorted(known - lines)
    for line in stale:
        print("  GONE  %s" % line)
    new = [line for line in lines if line not in known]
    print("%d differences, %d known, %d new, %d known ones gone (%s)"
          % (len(lines), len(lines & known), len(new), len(stale), known_path), file=sys.stderr)
    sys.exit(1 if new or stale else 0)


if __name__ == "__main__":
    main()
