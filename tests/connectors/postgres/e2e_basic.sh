#!/usr/bin/env bash
# postgres-cdc end to end: `ferry run` → dev-kafka → read back with Debian's
# python3-confluent-kafka. Snapshot, insert/update/delete/truncate, primary-key
# change, REPLICA IDENTITY FULL, TOAST unchanged placeholder; replaying the
# topic (as a consumer would: placeholder = keep the old value) gives exactly
# the table contents. SIGTERM exits 0 and the slot never passes the stored
# offset.
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic shop.public.orders:1 --topic shop.public.full_t:1
pg_psql "CREATE TABLE public.orders (id int PRIMARY KEY, name text, qty int, big text)" \
    "ALTER TABLE orders ALTER big SET STORAGE EXTERNAL" \
    "CREATE TABLE public.full_t (id int PRIMARY KEY, a text)" \
    "ALTER TABLE full_t REPLICA IDENTITY FULL" \
    "INSERT INTO orders SELECT g, 'snap' || g, g, NULL FROM generate_series(1, 50) g" \
    "INSERT INTO full_t SELECT g, 'f' FROM generate_series(1, 10) g" >/dev/null

pg_yaml run "    table.include.list: public.orders,public.full_t
    skipped.operations: none"
ferry_start run "$WORK/run.yaml"
wait_streaming run
pg_psql "INSERT INTO orders SELECT g, 'new' || g, g, NULL FROM generate_series(51, 80) g" \
    "UPDATE orders SET big = (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200) g) WHERE id <= 5" \
    "UPDATE orders SET qty = qty + 100 WHERE id <= 10" \
    "UPDATE orders SET id = id + 1000 WHERE id IN (20, 21)" \
    "DELETE FROM orders WHERE id BETWEEN 30 AND 39" \
    "UPDATE full_t SET a = 'g' WHERE id <= 3" \
    "DELETE FROM full_t WHERE id = 10" \
    "BEGIN; INSERT INTO orders VALUES (500, 'tx', 0, NULL); UPDATE full_t SET a = 'tx' WHERE id = 1; COMMIT" \
    "TRUNCATE full_t" \
    "INSERT INTO full_t VALUES (100, 'after truncate')" >/dev/null
# 50 + 30 + 5 + 10 + 2*(d + tombstone + c) + 10*(d + tombstone) + 1 = 122 on orders
wait_until 60 bash -c "$CHECK dump $BROKER shop.public.orders 2>/dev/null | wc -l | grep -qx 122" ||
    fail "orders: expected 122 records, got $($CHECK dump "$BROKER" shop.public.orders | wc -l)"
sleep 1.5 # one offset flush
check_slot_invariant
ferry_stop "$FERRY_PID"
check_slot_invariant
[ "$(slot_confirmed)" -gt 0 ] || fail "the slot was never confirmed"

dump orders.tsv shop.public.orders
dump full.tsv shop.public.full_t
pg_psql "COPY (SELECT id, name, qty, big FROM orders ORDER BY id) TO STDOUT" >"$WORK/orders.table"
pg_psql "COPY (SELECT id, a FROM full_t ORDER BY id) TO STDOUT" >"$WORK/full.table"
/usr/bin/python3 - "$WORK" <<'EOF' || fail "replayed topics differ from the tables"
import json, sys
w = sys.argv[1]
PH = "__debezium_unavailable_value"

def replay(path):
    state, ops, tombstones = {}, [], 0
    for line in open(path):
        topic, key, value = line.rstrip("\n").split("\t")[:3]
        if value == "\\N":
            tombstones += 1
            assert json.loads(key)["id"] not in state, "tombstone for a live row"
            continue
        ev = json.loads(value)
        ops.append(ev["op"])
        assert ev["source"]["connector"] == "postgresql" and ev["source"]["name"] == "shop"
        if ev["op"] in ("r", "c", "u"):
            row = dict(ev["after"])
            assert json.loads(key) == {"id": row["id"]}, (key, row)
            old = state.get(row["id"], {})
            for k, v in row.items():
                if v == PH:
                    row[k] = old[k]  # unchanged TOAST: keep what we had
            state[row["id"]] = row
        elif ev["op"] == "d":
            state.pop(ev["before"]["id"])
        elif ev["op"] == "t":
            state.clear()
    return state, ops, tombstones

def table(path, cols):
    rows = {}
    for line in open(path):
        vals = [None if v == "\\N" else v for v in line.rstrip("\n").split("\t")]
        row = dict(zip(cols, vals))
        row["id"] = int(row["id"])
        if "qty" in row:
            row["qty"] = int(row["qty"])
        rows[row["id"]] = row
    return rows

o, oops, otomb = replay(f"{w}/orders.tsv")
assert o == table(f"{w}/orders.table", ["id", "name", "qty", "big"]), "orders differ"
assert oops.count("r") == 50 and otomb == 12, (oops.count("r"), otomb)
assert any(l.count(PH) for l in open(f"{w}/orders.tsv")), "no TOAST placeholder seen"
f, fops, ftomb = replay(f"{w}/full.tsv")
assert f == table(f"{w}/full.table", ["id", "a"]), "full_t differs"
assert fops[-2:] == ["t", "c"], fops
full_updates = [json.loads(l.split("\t")[2]) for l in open(f"{w}/full.tsv") if '"op":"u"' in l]
assert all(e["before"] and e["before"]["a"] for e in full_updates), "REPLICA IDENTITY FULL without before"
print("replay ok:", len(o), "orders,", len(f), "full_t rows")
EOF
log "PASS"
