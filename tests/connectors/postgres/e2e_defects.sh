#!/usr/bin/env bash
# postgres-cdc end to end: outbox rows that cannot be routed (issue 13,
# defect 7) through `ferry run`. With errors.tolerance: all an outbox row with
# a NULL or empty aggregatetype goes to the dead-letter queue (with the
# reason and the source offset in the context headers) and the stream goes
# on; an aggregatetype with characters Kafka does not allow is routed to the
# name with them made '_'. With errors.tolerance: none the task fails with the
# reason instead of retrying forever.
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic outbox.event.Order:1 --topic outbox.event.Order_Created:1 --topic obdlq:1
pg_psql "CREATE TABLE public.outbox (id text PRIMARY KEY, aggregatetype text, aggregateid text, type text,
    payload text)" >/dev/null
pg_yaml run "    table.include.list: public.none
    outbox.table.list: public.outbox
    errors.tolerance: all
    errors.deadletterqueue.topic.name: obdlq
    errors.deadletterqueue.context.headers.enable: true"
ferry_start run "$WORK/run.yaml"
wait_streaming run
pg_psql "INSERT INTO outbox VALUES ('1', 'Order', 'o1', 'T', 'p1')" \
    "INSERT INTO outbox VALUES ('2', NULL, 'o2', 'T', 'p2')" \
    "INSERT INTO outbox VALUES ('3', 'Order Created', 'o3', 'T', 'p3')" \
    "INSERT INTO outbox VALUES ('4', '', 'o4', 'T', 'p4')" \
    "INSERT INTO outbox VALUES ('5', 'Order', 'o5', 'T', 'p5')" >/dev/null
wait_until 60 bash -c "$CHECK dump $BROKER outbox.event.Order 2>/dev/null | wc -l | grep -qx 2" ||
    fail "the stream did not go on past the bad rows"
wait_until 30 bash -c "$CHECK dump $BROKER obdlq 2>/dev/null | wc -l | grep -qx 2" || fail "expected 2 dead-lettered rows"
sleep 1
ferry_stop "$FERRY_PID"
dump order.tsv outbox.event.Order
dump created.tsv outbox.event.Order_Created
dump dlq.tsv obdlq
[ "$(cut -f3 "$WORK/order.tsv" | tr '\n' ' ')" = "p1 p5 " ] || fail "outbox.event.Order: $(cat "$WORK/order.tsv")"
[ "$(cut -f3 "$WORK/created.tsv")" = p3 ] || fail "outbox.event.Order_Created: $(cat "$WORK/created.tsv")"
[ "$(cut -f3 "$WORK/dlq.tsv" | tr '\n' ' ')" = "p2 p4 " ] || fail "dead-letter queue: $(cat "$WORK/dlq.tsv")"
grep -q '__connect.errors.exception.message=outbox table public.outbox: an event with a NULL aggregatetype cannot be routed' \
    "$WORK/dlq.tsv" || fail "no reason in the dead-letter headers: $(cut -f5 "$WORK/dlq.tsv")"
grep -q '__connect.errors.source.offset=.*lsn_commit' "$WORK/dlq.tsv" || fail "no source offset in the dead-letter headers"

# errors.tolerance: none: the task fails, naming the row's problem, and is not restarted.
pg_yaml none "    table.include.list: public.none
    outbox.table.list: public.outbox"
ferry_start none "$WORK/none.yaml"
wait_streaming none
pg_psql "INSERT INTO outbox VALUES ('6', NULL, 'o6', 'T', 'p6')" >/dev/null
wait_until 60 grep -q "record refused: outbox table public.outbox: an event with a NULL aggregatetype cannot be routed.*not restarted" \
    "$WORK/none.log" || fail "the task did not fail for good on a NULL aggregatetype: $(tail -5 "$WORK/none.log")"
ferry_stop "$FERRY_PID"
log "PASS"
