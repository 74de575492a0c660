#!/usr/bin/env bash
# postgres-cdc end to end, the transactional outbox: an insert into the
# outbox table becomes one message on outbox.event.<aggregatetype>, keyed by
# aggregateid, the payload as value, id and type as headers; published exactly
# when the business transaction commits (a rolled-back one publishes
# nothing), and the outbox table itself produces no change events.
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic outbox.event.Order:1 --topic shop.public.orders:1
pg_psql "CREATE TABLE public.orders (id int PRIMARY KEY, total numeric)" \
    "CREATE TABLE public.outbox (id uuid PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload jsonb)" \
    >/dev/null
pg_yaml run "    table.include.list: public.orders
    outbox.table.list: public.outbox"
ferry_start run "$WORK/run.yaml"
wait_streaming run
pg_psql "BEGIN; INSERT INTO orders VALUES (1, 9.5);
    INSERT INTO outbox VALUES ('11111111-1111-1111-1111-111111111111', 'Order', '1', 'OrderCreated',
        '{\"id\": 1, \"total\": 9.5}'); COMMIT" \
    "BEGIN; INSERT INTO orders VALUES (2, 1);
    INSERT INTO outbox VALUES ('22222222-2222-2222-2222-222222222222', 'Order', '2', 'OrderCreated', '{}'); ROLLBACK" \
    "BEGIN; UPDATE orders SET total = 10 WHERE id = 1;
    INSERT INTO outbox VALUES ('33333333-3333-3333-3333-333333333333', 'Order', '1', 'OrderUpdated',
        '{\"id\": 1, \"total\": 10}'); DELETE FROM outbox; COMMIT" >/dev/null
wait_until 60 bash -c "$CHECK dump $BROKER outbox.event.Order 2>/dev/null | wc -l | grep -qx 2" ||
    fail "expected 2 outbox messages"
sleep 1
ferry_stop "$FERRY_PID"
dump outbox.tsv outbox.event.Order
dump orders.tsv shop.public.orders
/usr/bin/python3 - "$WORK/outbox.tsv" "$WORK/orders.tsv" <<'PY' || fail "outbox messages"
import json, sys
msgs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
assert [m[1] for m in msgs] == ["1", "1"], msgs
assert json.loads(msgs[0][2]) == {"id": 1, "total": 9.5} and json.loads(msgs[1][2]) == {"id": 1, "total": 10}
assert msgs[0][4] == "id=11111111-1111-1111-1111-111111111111;type=OrderCreated", msgs[0][4]
assert msgs[1][4] == "id=33333333-3333-3333-3333-333333333333;type=OrderUpdated", msgs[1][4]
orders = [json.loads(l.split("\t")[2])["op"] for l in open(sys.argv[2])]
assert orders == ["c", "u"], orders
print("outbox ok")
PY
grep -q '"table":"outbox"' "$WORK/outbox.tsv" && fail "outbox rows leaked as change events"
log "PASS"
