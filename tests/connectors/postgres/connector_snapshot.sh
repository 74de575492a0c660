#!/usr/bin/env bash
# postgres-cdc under pg_harness: the initial snapshot.
#  1. Snapshot + concurrent writes: every row exactly once across snapshot
#     ('r') and stream ('c'), and replaying the events gives the table.
#  2. An interrupted snapshot (graceful stop, composite text/int key, tiny
#     chunks) resumes after the last key: every row exactly once.
#  3. snapshot.mode=initial_only creates no slot; always re-reads.
#  4. Every built-in type reads the same through the snapshot (SQL
#     connection) and the stream (walsender): same session settings on both.
. "$(dirname "$0")/pg_test_lib.sh"

pg_psql "CREATE TABLE public.t (id int PRIMARY KEY, v text, n int)" \
    "INSERT INTO t SELECT g, 'v' || g, 0 FROM generate_series(1, 20000) g" \
    "CREATE TABLE public.comp (a text, b int, x text, PRIMARY KEY (a, b))" \
    "INSERT INTO comp SELECT chr(97 + g % 5) || ' é', g, 'x' FROM generate_series(1, 500) g" \
    "CREATE TABLE public.plain (a int, b text)" \
    "INSERT INTO plain SELECT g, 'p' FROM generate_series(1, 300) g"

# ---- 1. snapshot + concurrent writes -----------------------------------------------
HARNESS_BATCH=100 harness_bg s1.out "${BASE_ARGS[@]}" table.include.list=public.t snapshot.chunk.size=1000
wait_lines s1.out 100 30 || fail "snapshot did not start"
for i in $(seq 0 9); do
    pg_psql "INSERT INTO t SELECT g, 'new', 0 FROM generate_series(20001 + $i * 100, 20100 + $i * 100) g" \
        "UPDATE t SET n = n + 1 WHERE id % 997 = $i" \
        "DELETE FROM t WHERE id = 15000 + $i"
done
wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }
wait_until 60 grep -qs "snapshot complete" "$WORK/s1.out.err" || fail "snapshot did not complete"
sleep 2
harness_term
check ids "$WORK/s1.out" shop.public.t r,c 1 21000 exact || fail "snapshot + stream not exactly once"
pg_psql "COPY (SELECT id, v, n FROM t ORDER BY id) TO STDOUT" >"$WORK/table.tsv"
/usr/bin/python3 - "$WORK/s1.out" "$WORK/table.tsv" <<'EOF' || fail "replayed events differ from the table"
import json, sys
state = {}
for line in open(sys.argv[1]):
    topic, key, value = line.rstrip("\n").split("\t")[:3]
    if value == "\\N":
        continue
    ev = json.loads(value)
    if ev["op"] in ("r", "c", "u"):
        state[ev["after"]["id"]] = ev["after"]
    elif ev["op"] == "d":
        state.pop(ev["before"]["id"], None)
table = {}
for line in open(sys.argv[2]):
    i, v, n = line.rstrip("\n").split("\t")
    table[int(i)] = {"id": int(i), "v": v, "n": int(n)}
assert state == table, (len(state), len(table), [k for k in table if state.get(k) != table[k]][:5])
print("replay matches the table:", len(table), "rows")
EOF

# ---- 2. interrupted snapshot resumes (composite key, keyless table) -----------
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" "DROP PUBLICATION ferry_shop" >/dev/null
: >"$OFFSETS"
ARGS=("${BASE_ARGS[@]}" "table.include.list=public.comp,public.plain" snapshot.chunk.size=7)
HARNESS_BATCH=10 HARNESS_MAX_RECORDS=333 harness_run s2a.out "${ARGS[@]}"
grep -q '"snapshot":true' "$OFFSETS" || fail "no snapshot progress in the offset: $(cat "$OFFSETS")"
grep -q '"last_pk":\["' "$OFFSETS" || fail "no key in the snapshot progress: $(cat "$OFFSETS")"
HARNESS_BATCH=10 HARNESS_MAX_RECORDS=100 harness_run s2b.out "${ARGS[@]}"
harness_bg s2c.out "${ARGS[@]}"
wait_until 60 grep -qs "snapshot complete" "$WORK/s2c.out.err" || fail "snapshot did not complete"
harness_term
cat "$WORK"/s2?.out >"$WORK/s2.all"
/usr/bin/python3 - "$WORK/s2.all" <<'EOF' || fail "resumed snapshot lost or duplicated rows"
import json, sys, collections
comp, plain = collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    topic, key, value = line.rstrip("\n").split("\t")[:3]
    ev = json.loads(value)
    assert ev["op"] == "r", ev
    if topic == "shop.public.comp":
        comp[(ev["after"]["a"], ev["after"]["b"])] += 1
        assert json.loads(key) == {"a": ev["after"]["a"], "b": ev["after"]["b"]}, key
    else:
        plain[ev["after"]["a"]] += 1
assert len(comp) == 500 and max(comp.values()) == 1, (len(comp), comp.most_common(2))
# The keyless table restarts on resume: complete, duplicates allowed.
assert len(plain) == 300, len(plain)
print("resumed snapshot ok")
EOF

# ---- 3. initial_only and always ---------------------------------------------
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" >/dev/null
: >"$OFFSETS"
harness_bg s3.out "${BASE_ARGS[@]}" table.include.list=public.plain snapshot.mode=initial_only
wait_until 30 grep -qs "snapshot complete" "$WORK/s3.out.err" || fail "initial_only snapshot did not complete"
harness_term
[ "$(wc -l <"$WORK/s3.out")" = 300 ] || fail "initial_only: expected 300 rows"
[ "$(pg_psql "SELECT count(*) FROM pg_replication_slots")" = 0 ] || fail "initial_only created a slot"

: >"$OFFSETS"
for run in a b; do
    harness_bg s4$run.out "${BASE_ARGS[@]}" table.include.list=public.plain snapshot.mode=always
    wait_until 30 grep -qs "snapshot complete" "$WORK/s4$run.out.err" || fail "always: snapshot $run did not complete"
    harness_term
    [ "$(grep -c '"op":"r"' "$WORK/s4$run.out")" = 300 ] || fail "always: run $run did not re-read the table"
done
# ---- 4. snapshot and stream format values alike ---------------------------------
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" "DROP PUBLICATION ferry_shop" >/dev/null
: >"$OFFSETS"
pg_psql "CREATE TYPE color AS ENUM ('red', 'green')" "CREATE DOMAIN short AS varchar(5)" \
    "CREATE TABLE public.types (id int PRIMARY KEY, i2 int2, i8 int8, f4 float4, f8 float8, fnan float8,
        finf float8, num numeric, num2 numeric(12,4), b bool, t text, e text, vc varchar(10), c char(3),
        ba bytea, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval, u uuid,
        j json, jb jsonb, ia int[], ta text[], na int[], col color, dom short, inet inet, money money)" \
    "INSERT INTO types VALUES (1, -32768, 9223372036854775807, 1.5, 0.1, 'NaN', '-Infinity',
        123456789012345678901234567890.123456789, 3.14159, true, 'snow ☃ \"q\" \\ end', '', 'abc', 'x',
        '\\x00ff10', '2024-02-29', '13:14:15.5', '13:14:15+02', '2024-01-02 03:04:05.123456',
        '2024-01-02 03:04:05.123456+01', '1 year 2 mons 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '{\"a\": [1, 2.50, null]}', '{\"b\": {\"c\": \"é\"}}', '{{1,2},{3,NULL}}', '{\"x y\",NULL,\"\"}',
        '{}', 'green', 'short', '10.0.0.1/8', 12.34)" >/dev/null
harness_bg s5.out "${BASE_ARGS[@]}" table.include.list=public.types
wait_until 30 grep -qs "streaming slot" "$WORK/s5.out.err" || fail "stream did not start"
pg_psql "INSERT INTO types SELECT 2, i2, i8, f4, f8, fnan, finf, num, num2, b, t, e, vc, c, ba, d, tm, ttz, ts, tstz,
        iv, u, j, jb, ia, ta, na, col, dom, inet, money FROM types WHERE id = 1" >/dev/null
wait_lines s5.out 2 30 || fail "the streamed row did not arrive"
harness_term
/usr/bin/python3 - "$WORK/s5.out" <<'PY' || fail "snapshot and stream format values differently"
import json, sys
rows = {}
for line in open(sys.argv[1]):
    ev = json.loads(line.split("\t")[2])
    rows[ev["op"]] = ev["after"]
r, c = rows["r"], rows["c"]
r.pop("id"); c.pop("id")
diff = {k: (r[k], c[k]) for k in r if r[k] != c[k]}
assert not diff, diff
assert r["fnan"] == "NaN" and r["finf"] == "-Infinity" and r["e"] == "" and r["b"] is True, r
# Debezium's defaults: numeric without scale {scale, value}, numeric(12,4) the unscaled
# value at scale 4 (the snapshot's typmod comes from the result's column), money at 2
# digits, date in days, jsonb as a string.
assert r["num"] == {"scale": 9, "value": "XODppWAV/sWq36MorjmBFQ=="}, r["num"]
assert r["num2"] == "erg=" and r["money"] == "BNI=" and r["d"] == 19782, r
assert r["jb"] == '{"b": {"c": "é"}}' and r["ia"] == [[1, 2], [3, None]] and r["col"] == "green", r
assert r["dom"] == "short" and r["ta"] == ["x y", None, ""], r
print("snapshot and stream agree on", len(r), "columns")
PY
log "PASS"
