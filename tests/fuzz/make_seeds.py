#!/usr/bin/env python3
"""make_seeds.py - regenerates the binary seed inputs of fuzz_offsets_record
and fuzz_pgoutput (the YAML seeds of fuzz_config_yaml are plain files, edited
by hand).

pgoutput seeds are real PostgreSQL 15 output. To refresh them, keep the hex
dumps of the pgoutput test and point this script at them:

    PGDEC_KEEP=/tmp/pgkeep bash tests/connectors/pgoutput/pgoutput_pg_test.sh \
        build/tests/connectors/pgoutput/pgoutput_dump
    python3 tests/fuzz/make_seeds.py --pg-hex /tmp/pgkeep

Without --pg-hex only the offsets and value-mode seeds are rewritten.
Input layouts are described at the top of each fuzz_*.c file.
"""
import argparse
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# Must match g_oids in fuzz_pgoutput.c (value mode: 0x80 | index).
OIDS = [16, 17, 20, 21, 23, 25, 26, 114, 700, 701, 1082, 1114, 1184, 1700, 1043, 1083,
        1186, 1266, 2950, 3802, 18, 19, 650, 869, 1000, 1001, 1005, 1007, 1009, 1015, 1016, 1021,
        1022, 1020, 199, 3807, 1115, 1182, 1185, 1187, 1231, 1270, 2951, 600, 1017, 0, 90000, 90001,
        90002, 90003, 90004, 90005, 90006, 90007]


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def offsets_seeds():
    def record(key, value):
        key = key.encode()
        assert len(key) < 256
        return bytes([len(key)]) + key + value.encode()

    t = "fuzz_offsets_record"
    write(t, "record-pg", record('["shop",{"server":"shop"}]', '{"lsn":24023128,"txId":755,"ts_usec":1700000000000000}'))
    write(t, "record-file", record('["file-src",{"filename":"/var/data/a.jsonl"}]', '{"position":1234}'))
    write(t, "record-reset", record('["shop",{"server":"shop"}]', "null"))
    write(t, "record-tombstone", record('["shop",{"server":"shop"}]', ""))
    write(t, "record-types", record('["k\\u00e9\\t",{"z":[1,2.5,-0.0,1e300],"a":{"n":null,"b":true}}]',
                                   '{"f":0.1,"g":1.0E10,"h":"\\u0000\\ud83d\\ude00","i":-9223372036854775808}'))
    write(t, "record-badkey", record('["x",[1]]', '{"a":1}'))
    # Whole-input file seeds: a leading ' ' (= key length 32) or '\n' is
    # JSON whitespace, so the bytes are also a well-formed offsets file.
    lines = ['["shop",{"server":"shop"}]\t{"lsn":1}',
             '["shop",{"server":"shop","db":"a"}]\t{"lsn":2,"txId":3}',
             '["gen",{"task":0}]\t{"seq":99}',
             '["shop",{"server":"shop"}]\tnull',
             '["gen",{"task":0}]\t{"seq":100}']
    write(t, "file-records", (" " + "\n".join(lines) + "\n").encode())
    write(t, "file-crlf", ("\n" + "\r\n".join(lines) + "\r\n\r\n").encode())
    write(t, "file-malformed", (" " + lines[0] + "\nnot a record\n" + lines[2] + "\n").encode())


def value_seeds():
    t = "fuzz_pgoutput"
    values = [
        (16, "t"), (17, "\\x0102ff00"), (17, "esc\\\\ape\\001"), (20, "-9223372036854775808"),
        (23, "42"), (25, "caf\u00e9 \"quoted\"\n"), (114, '{"a":[1,2.5e3,{"b":null}],"c":"\\u00e9"}'),
        (3802, '[true, false, "x"]'), (701, "1.5e+300"), (700, "NaN"), (701, "-Infinity"),
        (1700, "123456789012345678901234567890.000001"), (1082, "2024-01-02"), (1082, "0044-03-15 BC"),
        (1114, "2024-01-02 03:04:05.123456"), (1184, "2024-01-02 03:04:05.5+05:30"),
        (1184, "infinity"), (1186, "P1Y2M3DT4H5M6S"), (1266, "13:14:15.5+00"),
        (2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), (1007, "{1,2,NULL,4}"),
        (1009, '{{"a b","c\\"d"},{e,NULL}}'), (1007, "[0:1]={1,2}"), (1020, "{(1,1),(0,0);(2,2),(1,1)}"),
        (199, '{"{\\"k\\": 1}",null}'), (1185, '{"2024-01-02 03:04:05+00"}'), (1231, "{1.5,NaN}"),
        (90000, "happy"), (90001, "7"), (90002, "{1,2}"), (90003, "x"), (90004, "{{1},{2}}"),
        (90005, '{"2024-01-02 03:04:05+00",NULL}'), (1001, '{"\\\\x00ff"}'), (0, "16/B374D848"),
    ]
    for i, (oid, text) in enumerate(values):
        write(t, "value-%02d-%d" % (i, oid), bytes([0x80 | OIDS.index(oid)]) + text.encode())


def pg_seeds(hexdir):
    t = "fuzz_pgoutput"

    def load(name):
        with open(os.path.join(hexdir, name)) as f:
            return [bytes.fromhex(l.strip()) for l in f if l.strip()]

    def stream(msgs):
        out = b"\x00"
        for m in msgs:
            assert len(m) < 65536
            out += struct.pack(">H", len(m)) + m
        return out

    v1 = load("v1.hex")
    # Cut the proto 1 changes into transactions (Begin .. Commit); the
    # Relation messages a transaction needs are always inside it or before.
    txs, cur = [], []
    for m in v1:
        cur.append(m)
        if m[:1] == b"C":
            txs.append(cur)
            cur = []
    rels = [m for m in v1 if m[:1] == b"R"]
    for i, tx in enumerate(txs):
        kinds = "".join(sorted(set(chr(m[0]) for m in tx)))
        data = stream([r for r in rels if r not in tx] + tx)
        if len(data) > 60000:
            continue
        write(t, "pg-v1-tx%02d-%s" % (i, kinds.replace("B", "").replace("C", "")), data)
    v2 = load("v2.hex")
    # proto 2: the start of a streamed transaction, a few rows, its stop,
    # and the tail (stream commit/abort).
    start = next(i for i, m in enumerate(v2) if m[:1] == b"S")
    write(t, "pg-v2-stream-start", stream(v2[start:start + 6] + [m for m in v2 if m[:1] == b"E"][:1]))
    tail = [m for m in v2 if m[:1] in (b"c", b"A")]
    write(t, "pg-v2-stream-end", stream([v2[start]] + [m for m in v2 if m[:1] == b"R"][-1:] + [b"E"] + tail))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg-hex", help="directory with v1.hex and v2.hex from pgoutput_pg_test.sh")
    args = ap.parse_args()
    offsets_seeds()
    value_seeds()
    if args.pg_hex:
        pg_seeds(args.pg_hex)


if __name__ == "__main__":
    main()
