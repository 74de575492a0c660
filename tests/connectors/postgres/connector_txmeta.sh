#!/usr/bin/env bash
# postgres-cdc under pg_harness: transaction metadata and envelope fields, without Kafka.
#  1. provide.transaction.metadata off (the default): every event has "transaction": null
#     and nothing goes to a transaction topic.
#  2. Switched on (topic.transaction renamed) over the same offsets: the transaction stored
#     last is resent by the server; none of its events is repeated (the stored count is
#     converted to the numbering with BEGIN/END), only its END is written. Then a
#     transaction over two tables cut in the middle by a graceful stop (HARNESS_MAX_RECORDS)
#     and resumed: BEGIN, every event once with total_order 1..n, END with the counts, in
#     that order; source.sequence the same before and after the cut; a single-statement
#     transaction after it.
#  3. Switched off again in the middle of a transaction: the rest of its events once.
#  4. source.xmin: null by default, the slot's catalog_xmin with xmin.fetch.interval.ms.
. "$(dirname "$0")/pg_test_lib.sh"

pg_psql "CREATE TABLE public.t (id int PRIMARY KEY, v text)" "CREATE TABLE public.u (id int PRIMARY KEY)" >/dev/null
ARGS=("${BASE_ARGS[@]}" "table.include.list=public.t,public.u")
wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }

# ---- 1. off ----------------------------------------------------------------------
harness_bg s1.out "${ARGS[@]}" snapshot.mode=never
wait_until 30 grep -qs "streaming slot" "$WORK/s1.out.err" || fail "stream did not start"
pg_psql "BEGIN; INSERT INTO t VALUES (1, 'a'); INSERT INTO u VALUES (1); COMMIT" >/dev/null
wait_lines s1.out 2 30 || fail "events did not arrive"
harness_term
grep -q '^shop.transaction' "$WORK/s1.out" && fail "transaction records although provide.transaction.metadata is off"
[ "$(grep -c '"transaction":null,"op"' "$WORK/s1.out")" = 2 ] || fail "events without \"transaction\":null: $(cat "$WORK/s1.out")"

# ---- 2. on, cut in the middle ------------------------------------------------------
TX=("${ARGS[@]}" provide.transaction.metadata=true topic.transaction=txs)
pg_psql "BEGIN; INSERT INTO t SELECT g, 'x' FROM generate_series(100, 1099) g;
    INSERT INTO u SELECT g FROM generate_series(100, 599) g; UPDATE t SET v = 'y' WHERE id >= 100 AND id < 200; COMMIT" \
    "INSERT INTO u VALUES (2)" >/dev/null
# The END of section 1's transaction, 1 BEGIN + 700 events: the cut falls inside the big one.
HARNESS_BATCH=50 HARNESS_MAX_RECORDS=702 harness_run s2a.out "${TX[@]}"
[ "$(wc -l <"$WORK/s2a.out")" = 702 ] || fail "expected 702 records before the cut, got $(wc -l <"$WORK/s2a.out")"
harness_bg s2b.out "${TX[@]}"
wait_lines s2b.out 903 60 || fail "the rest did not arrive ($(wc -l <"$WORK/s2b.out"))"
sleep 1
harness_term
cat "$WORK/s2a.out" "$WORK/s2b.out" >"$WORK/s2.all"
/usr/bin/python3 - "$WORK/s2.all" <<'PY' || fail "transaction metadata across a cut in the middle of a transaction"
import json, sys
recs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8")]
recs = [(r[0], json.loads(r[1]), json.loads(r[2])) for r in recs if r[2] != "\\N"]
assert all(t != "shop.transaction" for t, _, _ in recs), "topic.transaction ignored"
tx = [(k, v) for t, k, v in recs if t == "shop.txs"]
assert [v["status"] for _, v in tx] == ["END", "BEGIN", "END", "BEGIN", "END"], [v["status"] for _, v in tx]
assert all(k == {"id": v["id"]} for k, v in tx)
# Section 1's transaction (delivered without metadata): its END only, none of its events again.
assert recs[0][0] == "shop.txs" and tx[0][1]["event_count"] == 2, recs[0]
assert not [v for t, k, v in recs if t != "shop.txs" and v["op"] == "c" and v["after"]["id"] == 1], "an event of section 1 repeated"
tx = tx[1:]
recs = recs[1:]
big = [v for t, k, v in recs if t != "shop.txs" and v["transaction"]["id"].split(":")[0] == tx[0][1]["id"].split(":")[0]]
assert len(big) == 1600, len(big)
assert [v["transaction"]["total_order"] for v in big] == list(range(1, 1601)), "total_order"
for table, n in (("t", 1100), ("u", 500)):
    mine = [v["transaction"]["data_collection_order"] for v in big if v["source"]["table"] == table]
    assert mine == list(range(1, n + 1)), table
end = tx[1][1]
assert end["event_count"] == 1600 and sorted((d["data_collection"], d["event_count"]) for d in end["data_collections"]) == \
    [("public.t", 1100), ("public.u", 500)], end
# BEGIN first, END after the last event, in the order the records were delivered.
order = [(t, v.get("status")) for t, k, v in recs]
b, e = order.index(("shop.txs", "BEGIN")), order.index(("shop.txs", "END"))
assert b == 0 and e == 1601, (b, e)
seq = {json.loads(v["source"]["sequence"])[0] for v in big}
assert len(seq) == 1, seq
small = [v for t, k, v in recs if t == "shop.public.u" and v["after"]["id"] == 2][0]
assert json.loads(small["source"]["sequence"])[0] == end["id"].split(":")[1], (small["source"]["sequence"], end["id"])
assert small["transaction"]["total_order"] == 1
print("BEGIN, 1600 events, END across the cut; then a second transaction")
PY

# ---- 3. switched off in the middle of a transaction ---------------------------------
pg_psql "INSERT INTO t SELECT g, 'z' FROM generate_series(5000, 5999) g" >/dev/null
HARNESS_BATCH=50 HARNESS_MAX_RECORDS=301 harness_run s3a.out "${TX[@]}"
grep -q '"txm":1' "$OFFSETS" || fail "the offset does not say it numbers BEGIN/END: $(cat "$OFFSETS")"
harness_bg s3b.out "${ARGS[@]}"
wait_lines s3b.out 700 60 || fail "the rest did not arrive ($(wc -l <"$WORK/s3b.out"))"
sleep 1
harness_term
grep -q '^shop.txs' "$WORK/s3b.out" && fail "transaction records after switching the option off"
cat "$WORK/s3a.out" "$WORK/s3b.out" >"$WORK/s3.all"
check ids "$WORK/s3.all" shop.public.t c 5000 5999 exact || fail "events repeated or lost after switching the option off"

# ---- 4. xmin.fetch.interval.ms: source.xmin is the slot's catalog_xmin -----------------
grep -q '"xmin":null' "$WORK/s3b.out" || fail "source.xmin is not null by default"
harness_bg s4.out "${ARGS[@]}" xmin.fetch.interval.ms=100
wait_until 30 grep -qs "streaming slot" "$WORK/s4.out.err" || fail "stream did not start"
pg_psql "INSERT INTO u VALUES (7000)" >/dev/null
wait_until 30 grep -qs '"after":{"id":7000}' "$WORK/s4.out" || fail "no event with xmin.fetch.interval.ms"
slot_xmin=$(pg_psql "SELECT catalog_xmin FROM pg_replication_slots WHERE slot_name = 'ferry_shop'")
harness_term
got=$(grep '"after":{"id":7000}' "$WORK/s4.out" | /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.stdin.readline().split("\t")[2])["source"]["xmin"])')
# catalog_xmin only moves forward, and not past the event's own transaction.
[ "$got" != None ] && [ "$got" -gt 0 ] && [ "$got" -le "$slot_xmin" ] ||
    fail "source.xmin $got is not the slot's catalog_xmin (now $slot_xmin)"
log "PASS"
