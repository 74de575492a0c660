#!/usr/bin/env bash
# postgres-cdc under pg_harness: streaming semantics.
#  1. insert/update/delete/truncate, primary-key change, REPLICA IDENTITY
#     FULL, keyless tables, TOAST unchanged placeholder, enums/domains/arrays
#     (pg_type resolver), multi-table transactions in commit order, filtered
#     tables, tombstones.
#  2. A transaction cut in the middle (graceful stop), then restart: every
#     row exactly once.
#  3. kill -9 mid-stream, restart: none lost.
#  4. The slot's confirmed_flush_lsn never passes lsn_commit of the stored
#     offset, and does not move at all when nothing is committed.
. "$(dirname "$0")/pg_test_lib.sh"

pg_psql "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')" \
    "CREATE DOMAIN posint AS int CHECK (VALUE > 0)" \
    "CREATE TABLE public.orders (id int PRIMARY KEY, name text, m mood, qty posint, tags int[], moods mood[],
        doc jsonb, big text)" \
    "ALTER TABLE orders ALTER big SET STORAGE EXTERNAL" \
    "CREATE TABLE public.full_t (id int PRIMARY KEY, a text, b int)" \
    "ALTER TABLE full_t REPLICA IDENTITY FULL" \
    "CREATE TABLE public.nokey (a int, b text)" \
    "ALTER TABLE nokey REPLICA IDENTITY FULL" \
    "CREATE TABLE public.ignored (id int PRIMARY KEY)" \
    "CREATE TABLE public.t (id int PRIMARY KEY, v text)" \
    "CREATE TABLE public.outbox (id uuid PRIMARY KEY, aggregatetype text, aggregateid text, type text,
        payload jsonb)" >/dev/null

ARGS=("${BASE_ARGS[@]}" snapshot.mode=never skipped.operations=none "table.include.list=public.orders,public.full_t,public.nokey,public\.t"
    outbox.table.list=public.outbox)

# ---- 1. event semantics --------------------------------------------------------
harness_bg s1.out "${ARGS[@]}"
wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }
wait_until 30 grep -qs "streaming slot" "$WORK/s1.out.err" || fail "stream did not start"
pg_psql "INSERT INTO orders (id, name, m, qty, tags, moods, doc) VALUES
            (1, 'a', 'happy', 3, '{1,2,NULL}', '{sad,ok}', '{\"k\": [1, \"x\"]}')" \
    "INSERT INTO orders (id, name, big) VALUES (2, 'toast', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200) g))" \
    "UPDATE orders SET name = 'toast2' WHERE id = 2" \
    "UPDATE orders SET name = 'b' WHERE id = 1" \
    "UPDATE orders SET id = 10 WHERE id = 1" \
    "DELETE FROM orders WHERE id = 10" \
    "INSERT INTO ignored VALUES (1)" \
    "INSERT INTO full_t VALUES (1, 'x', 1)" \
    "UPDATE full_t SET b = 2 WHERE id = 1" \
    "BEGIN; INSERT INTO orders (id, name) VALUES (3, 'tx'); INSERT INTO full_t VALUES (2, 'tx', 0);
        UPDATE orders SET name = 'tx2' WHERE id = 3; COMMIT" \
    "DELETE FROM full_t WHERE id = 1" \
    "INSERT INTO nokey VALUES (1, 'k')" \
    "DELETE FROM nokey" \
    "BEGIN; INSERT INTO outbox VALUES ('7f1c4a52-5d2e-4d4c-9a8e-2d7c1b0c9e11', 'Order', 'o-42', 'OrderCreated',
        '{\"total\": 12.5, \"items\": [\"é\"]}'); DELETE FROM outbox; COMMIT" \
    "ALTER TABLE full_t ADD COLUMN extra text DEFAULT 'x'" \
    "INSERT INTO full_t VALUES (7, 'schema', 7, 'changed')" \
    "TRUNCATE full_t" >/dev/null
wait_until 30 grep -q '"op":"t"' "$WORK/s1.out" || fail "truncate event did not arrive"
harness_term

check events "$WORK/s1.out" shop.public.orders >"$WORK/orders.jsonl"
check events "$WORK/s1.out" shop.public.full_t >"$WORK/full.jsonl"
check events "$WORK/s1.out" shop.public.nokey >"$WORK/nokey.jsonl"
grep -q shop.public.ignored "$WORK/s1.out" && fail "events from a table outside table.include.list"
grep -q shop.public.outbox "$WORK/s1.out" && fail "outbox table rows must not be change events"
[ "$(grep -c '^outbox.event.Order' "$WORK/s1.out")" = 1 ] || fail "expected one outbox message"
grep -q $'^outbox.event.Order\to-42\t{"items": \\["é"\\], "total": 12.5}\t{.*}\tid=7f1c4a52-5d2e-4d4c-9a8e-2d7c1b0c9e11;type=OrderCreated$' \
    "$WORK/s1.out" || fail "outbox message: $(grep '^outbox' "$WORK/s1.out")"
/usr/bin/python3 - "$WORK" <<'EOF' || fail "event semantics"
import json, sys
w = sys.argv[1]
load = lambda n: [json.loads(l) for l in open(f"{w}/{n}")]
o, f, nk = load("orders.jsonl"), load("full.jsonl"), load("nokey.jsonl")
ops = [e["op"] for e in o]
assert ops == ["c", "c", "u", "u", "d", "tombstone", "c", "d", "tombstone", "c", "u"], ops
c1 = o[0]["after"]
assert c1 == {"id": 1, "name": "a", "m": "happy", "qty": 3, "tags": [1, 2, None], "moods": ["sad", "ok"],
              "doc": "{\"k\": [1, \"x\"]}", "big": None}, c1  # jsonb: the document as a string
assert o[0]["key"] == {"id": 1}
assert len(o[1]["after"]["big"]) == 6400
assert o[2]["after"]["big"] == "__debezium_unavailable_value", o[2]  # unchanged TOAST
assert o[2]["after"]["name"] == "toast2"
# primary-key change: delete old key + tombstone + create new key
assert o[4]["key"] == {"id": 1} and o[4]["after"] is None and o[5]["key"] == {"id": 1}
assert o[6]["key"] == {"id": 10} and o[6]["after"]["id"] == 10 and o[6]["before"] is None
assert o[7]["key"] == {"id": 10} and o[7]["before"]["id"] == 10
fops = [e["op"] for e in f]
assert fops == ["c", "u", "c", "d", "tombstone", "c", "t"], fops
assert f[5]["after"] == {"id": 7, "a": "schema", "b": 7, "extra": "changed"}, f[5]  # schema change
assert f[1]["before"] == {"id": 1, "a": "x", "b": 1} and f[1]["after"] == {"id": 1, "a": "x", "b": 2}, f[1]
assert f[1]["key"] == {"id": 1}, f[1]  # keyed by the primary key, not the FULL identity
assert f[3]["before"] == {"id": 1, "a": "x", "b": 2}
assert f[6]["key"] is None
assert [e["op"] for e in nk] == ["c", "d"], nk  # keyless: no key, no tombstone
assert nk[1]["key"] is None and nk[1]["before"] == {"a": 1, "b": "k"}
print("event semantics ok")
EOF
# Commit order across tables: the transaction's three events are adjacent.
/usr/bin/python3 - "$WORK/s1.out" <<'EOF' || fail "multi-table transaction not in commit order"
import json, sys
lines = [l.split("\t") for l in open(sys.argv[1])]
def is_tx(p):
    if p[2] == "\\N" or not p[0].startswith("shop."):
        return False
    after = json.loads(p[2])["after"] or {}
    return str(after.get("name", after.get("a", ""))).startswith("tx")
idx = [i for i, p in enumerate(lines) if is_tx(p)]
got = [(lines[i][0], json.loads(lines[i][2])["op"]) for i in idx]
assert got == [("shop.public.orders", "c"), ("shop.public.full_t", "c"), ("shop.public.orders", "u")], got
assert idx == list(range(idx[0], idx[0] + 3)), idx
EOF
[ "$(slot_confirmed)" -le "$(stored_lsn_commit)" ] || fail "slot confirmed beyond the stored offset"

# ---- 2. a transaction cut in the middle --------------------------------------
: >"$OFFSETS"
pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" >/dev/null
pg_psql "INSERT INTO t SELECT 0, 'before'" >/dev/null
harness_bg s2a.out "${ARGS[@]}" table.include.list=public.t
wait_until 30 grep -qs "streaming slot" "$WORK/s2a.out.err" || fail "stream did not start"
kill -TERM "$HPID"; wait "$HPID"; HPID=
pg_psql "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 3000) g"
HARNESS_BATCH=100 HARNESS_MAX_RECORDS=1100 harness_run s2b.out "${ARGS[@]}" table.include.list=public.t
[ "$(wc -l <"$WORK/s2b.out")" = 1100 ] || fail "expected 1100 records in the first part"
grep -q '"event":1100' "$OFFSETS" || fail "offset does not count events within the transaction: $(cat "$OFFSETS")"
[ "$(slot_confirmed)" -le "$(stored_lsn_commit)" ] || fail "slot confirmed beyond the stored offset"
harness_bg s2c.out "${ARGS[@]}" table.include.list=public.t
wait_lines s2c.out 1900 60 || fail "second part incomplete"
sleep 1
harness_term
cat "$WORK/s2b.out" "$WORK/s2c.out" >"$WORK/s2.all"
check ids "$WORK/s2.all" shop.public.t c 1 3000 exact || fail "mid-transaction restart lost or duplicated rows"

# ---- 3. kill -9 mid-stream, then 4. no commit = no slot movement ----------------
before=$(slot_confirmed)
HARNESS_COMMIT=0 harness_bg s3a.out "${ARGS[@]}" table.include.list=public.t
for i in $(seq 0 19); do
    pg_psql "INSERT INTO t SELECT g, 'k' FROM generate_series(10001 + $i * 500, 10000 + ($i + 1) * 500) g"
done
wait_lines s3a.out 10000 60 || fail "stream incomplete"
sleep 1
[ "$(slot_confirmed)" = "$before" ] || fail "slot moved although nothing was committed"
kill -9 "$HPID"; wait "$HPID" 2>/dev/null || true; HPID=
harness_bg s3b.out "${ARGS[@]}" table.include.list=public.t
wait_lines s3b.out 10000 60 || fail "replay after kill -9 incomplete"
pg_psql "INSERT INTO t SELECT g, 'k' FROM generate_series(20001, 25000) g"
wait_lines s3b.out 15000 60 || fail "stream after restart incomplete"
# Kill while transactions are arriving.
(for i in $(seq 0 20); do pg_psql "INSERT INTO t SELECT g, 'k' FROM generate_series(25001 + 100 * $i, 25100 + 100 * $i) g"; done) &
INSERTER=$!
sleep 0.5
kill -9 "$HPID"; wait "$HPID" 2>/dev/null || true; HPID=
wait "$INSERTER" || fail "inserts failed"
harness_bg s3c.out "${ARGS[@]}" table.include.list=public.t
sleep 3
harness_term
cat "$WORK"/s3?.out >"$WORK/s3.all"
check ids "$WORK/s3.all" shop.public.t c 10001 27100 atleast || fail "rows lost after kill -9"
[ "$(slot_confirmed)" -le "$(stored_lsn_commit)" ] || fail "slot confirmed beyond the stored offset"

# ---- 5. a table name Kafka does not allow in topics ------------------------------
pg_psql 'CREATE TABLE public."Odd Näme" (id int PRIMARY KEY)' >/dev/null
harness_bg s5.out "${ARGS[@]}" 'table.include.list=public.Odd Näme'
wait_until 30 grep -qs "streaming slot" "$WORK/s5.out.err" || fail "stream did not start"
pg_psql 'INSERT INTO public."Odd Näme" VALUES (1)' >/dev/null
wait_lines s5.out 1 30 || fail "no event for the oddly named table"
harness_term
cut -f1 "$WORK/s5.out" | grep -qx 'shop.public.Odd_N__me' \
    || fail "topic not sanitized like Debezium: $(cut -f1 "$WORK/s5.out" | sort -u)"
log "PASS"
