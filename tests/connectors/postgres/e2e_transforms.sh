#!/usr/bin/env bash
# postgres-cdc with Debezium's transforms, configured as Debezium users do:
# ExtractNewRecordState unwraps the change events of a table to its rows
# (deletes dropped, the op and table added as fields), and the outbox
# EventRouter turns inserts into an ordinary outbox table (captured like any
# other) into messages on outbox.event.<aggregatetype>, keyed by aggregateid,
# with the event id as a header and the payload expanded from its JSON text.
# The predicate TopicNameMatches sends each topic's events to its transform.
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic shop.public.items:1 --topic shop.public.outbox:1 --topic outbox.event.Item:1
pg_psql "CREATE TABLE public.items (id int PRIMARY KEY, qty int)" \
    "CREATE TABLE public.outbox (id text PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload text)" \
    >/dev/null
pg_yaml run "    table.include.list: public.items,public.outbox
    predicates: isOutbox
    predicates.isOutbox.type: org.apache.kafka.connect.transforms.predicates.TopicNameMatches
    predicates.isOutbox.pattern: shop\\.public\\.outbox
    transforms: unwrap,outbox
    transforms.unwrap.type: io.debezium.transforms.ExtractNewRecordState
    transforms.unwrap.add.fields: op,table
    transforms.unwrap.predicate: isOutbox
    transforms.unwrap.negate: true
    transforms.outbox.type: io.debezium.transforms.outbox.EventRouter
    transforms.outbox.table.expand.json.payload: true
    transforms.outbox.predicate: isOutbox"
ferry_start run "$WORK/run.yaml"
wait_streaming run
pg_psql "INSERT INTO items VALUES (1, 5)" "UPDATE items SET qty = 7 WHERE id = 1" "INSERT INTO items VALUES (2, 1)" \
    "DELETE FROM items WHERE id = 2" \
    "INSERT INTO outbox VALUES ('e-1', 'Item', '1', 'ItemCreated', '{\"id\": 1, \"qty\": 5}')" >/dev/null
wait_until 60 bash -c "$CHECK dump $BROKER shop.public.items 2>/dev/null | wc -l | grep -qx 3" ||
    fail "expected 3 rows on shop.public.items: $($CHECK dump "$BROKER" shop.public.items 2>&1 | head -5)"
wait_until 30 bash -c "$CHECK dump $BROKER outbox.event.Item 2>/dev/null | wc -l | grep -qx 1" ||
    fail "expected 1 outbox message"
sleep 1
ferry_stop "$FERRY_PID"
dump items.tsv shop.public.items
dump outbox.tsv outbox.event.Item shop.public.outbox
/usr/bin/python3 - "$WORK/items.tsv" "$WORK/outbox.tsv" <<'PY' || fail "unwrapped rows or outbox messages"
import json, sys
rows = [json.loads(l.rstrip("\n").split("\t")[2]) for l in open(sys.argv[1])]
want = [{"id": 1, "qty": 5, "__op": "c", "__table": "items"}, {"id": 1, "qty": 7, "__op": "u", "__table": "items"},
        {"id": 2, "qty": 1, "__op": "c", "__table": "items"}]
assert rows == want, rows
out = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
assert len(out) == 1, out  # nothing left on shop.public.outbox
topic, key, value, headers = out[0][0], out[0][1], out[0][2], out[0][4]
assert topic.startswith("outbox.event.Item"), out[0]
assert json.loads(key) == "1", key  # a JSON string, as JsonConverter writes it
assert json.loads(value) == {"id": 1, "qty": 5}, value
assert "id=e-1" in headers, headers
print("transforms ok")
PY
log "PASS"
