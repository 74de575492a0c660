#!/usr/bin/env bash
# postgres-cdc transaction metadata (provide.transaction.metadata) and exactly-once delivery
# on Apache Kafka: one big transaction (300000 rows over two tables, between small ones) is
# streamed while the worker is killed with SIGKILL twice in its middle (its BEGIN is in
# the transaction topic, its END not yet) and restarted. A read_committed consumer then sees
# exactly one BEGIN and one END per transaction, END's event_count and data_collections
# right, every row exactly once, and the big transaction's total_order exactly 1..300000
# (nothing numbered twice or skipped across the restarts), and source.sequence naming the
# previous transaction's commit in every event, before and after the restarts.
. "$(dirname "$0")/pg_e2e_lib.sh"
[ "$FERRY_TEST_BROKER" = kafka ] || fail "runs on Apache Kafka only (the embedded broker has no real transactions)"

broker_start --topic shop.public.t --topic shop.public.u --topic shop.transaction
pg_psql "CREATE TABLE public.t (id int PRIMARY KEY, v text)" "CREATE TABLE public.u (id int PRIMARY KEY, v text)" >/dev/null
cat >"$WORK/run.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  exactly.once.source.support: enabled
  shutdown.timeout: 20s
connectors:
  shop:
    connector: postgres-cdc
    conninfo: "$PG_CONNINFO"
    topic.prefix: shop
    status.update.interval: 500ms
    table.include.list: public.t,public.u
    provide.transaction.metadata: true
    exactly.once.support: required
YAML

# tx_state: "BEGINS ENDS" of the transaction topic, read_committed.
tx_state() {
    $CHECK dump "$BROKER" shop.transaction 2>/dev/null | /usr/bin/python3 -c '
import json, sys
st = [json.loads(l.split("\t")[2])["status"] for l in sys.stdin]
print(st.count("BEGIN"), st.count("END"))'
}

ferry_start run "$WORK/run.yaml"
wait_streaming run
pg_psql "INSERT INTO t VALUES (0, 'before')" \
    "BEGIN; INSERT INTO t SELECT g, 'big' FROM generate_series(1, 100000) g;
        INSERT INTO u SELECT g, 'big' FROM generate_series(1, 100000) g;
        INSERT INTO t SELECT g, 'big' FROM generate_series(100001, 200000) g; COMMIT" \
    "INSERT INTO u VALUES (0, 'after')" >/dev/null
# Kill twice while the big transaction is half delivered: its BEGIN (the second) is
# committed in Kafka, its END is not.
for k in 1 2; do
    end=$((SECONDS + 60))
    until read -r b e < <(tx_state) && [ "$b" -ge 2 ] && [ "$e" -lt 2 ]; do
        [ $SECONDS -lt $end ] || fail "kill $k: never saw the big transaction half delivered (BEGINs/ENDs: $(tx_state))"
        sleep 0.1
    done
    kill -KILL "$FERRY_PID"
    wait "$FERRY_PID" 2>/dev/null || true
    read -r b e < <(tx_state)
    [ "$e" -lt 2 ] || fail "kill $k came after the big transaction's END"
    log "kill $k: in the middle of the big transaction ($b BEGIN, $e END delivered)"
    ferry_start run "$WORK/run.yaml"
    wait_until 90 bash -c "[ \$(grep -c 'streaming slot' '$WORK/run.log') -ge $((k + 1)) ]" ||
        fail "restart $k: the task did not stream again"
done
wait_until 120 bash -c "[ \"\$($CHECK dump $BROKER shop.transaction 2>/dev/null | wc -l)\" -ge 6 ]" ||
    fail "not every transaction record arrived after the restarts ($(tx_state))"
sleep 2
ferry_stop "$FERRY_PID"
check_slot_invariant
dump all.tsv shop.public.t shop.public.u shop.transaction
check ids "$WORK/all.tsv" shop.public.t c 0 200000 exact || fail "rows of t lost or delivered twice"
check ids "$WORK/all.tsv" shop.public.u c 0 100000 exact || fail "rows of u lost or delivered twice"
/usr/bin/python3 - "$WORK/all.tsv" <<'PY' || fail "transaction metadata wrong after kill -9 in the middle of a transaction"
import json, sys
tx, orders, seqs = {}, {}, {}
for line in open(sys.argv[1], encoding="utf-8"):
    topic, key, value = line.rstrip("\n").split("\t")[:3]
    if value == "\\N":
        continue
    v = json.loads(value)
    if topic == "shop.transaction":
        assert json.loads(key) == {"id": v["id"]}, (key, v)
        tx.setdefault(v["id"].split(":")[0], []).append(v)
    else:
        blk = v["transaction"]
        orders.setdefault(blk["id"].split(":")[0], []).append((topic, blk["total_order"], blk["data_collection_order"]))
        seqs.setdefault(blk["id"].split(":")[0], set()).add(json.loads(v["source"]["sequence"])[0])
assert len(tx) == 3, "transactions: %s" % sorted(tx)
for txid, recs in tx.items():
    assert [r["status"] for r in recs] == ["BEGIN", "END"], (txid, [r["status"] for r in recs])
    end = recs[1]
    got = orders[txid]
    assert end["event_count"] == len(got), (txid, end["event_count"], len(got))
    assert sorted(o for _, o, _ in got) == list(range(1, len(got) + 1)), (txid, "total_order not 1..n")
    per = {dc["data_collection"]: dc["event_count"] for dc in end["data_collections"]}
    for table in per:
        mine = sorted(d for t, _, d in got if t == "shop." + table)
        assert mine == list(range(1, per[table] + 1)), (txid, table, "data_collection_order not 1..n")
    assert sum(per.values()) == len(got)
big = [recs[1] for recs in tx.values() if recs[1]["event_count"] > 1]
assert len(big) == 1 and big[0]["event_count"] == 300000, big
assert sorted((dc["data_collection"], dc["event_count"]) for dc in big[0]["data_collections"]) == \
    [("public.t", 200000), ("public.u", 100000)], big[0]["data_collections"]
# source.sequence[0] is the end of the previous transaction's commit -- the lsn in its END's
# id -- for every event, also those emitted after a restart in the middle (lsn_last_commit
# in the offset).
ends = sorted((int(recs[1]["id"].split(":")[1]), txid) for txid, recs in tx.items())
for (prev_end, _), (_, txid) in zip(ends, ends[1:]):
    assert seqs[txid] == {str(prev_end)}, (txid, seqs[txid], prev_end)
print("3 transactions, one BEGIN and one END each; the big one: 300000 events, total_order 1..300000")
PY
log "PASS: transaction metadata exactly once through two kill -9s in the middle of a transaction"
