#!/usr/bin/env bash
# postgres-cdc under pg_harness: regression tests for defects found by
# reading (issue 13), one section each.
#  1. Inheritance: the snapshot reads a parent's own rows only (FROM ONLY);
#     a child's rows reach the child's topic, once.
#  2. REPLICA IDENTITY FULL: an unchanged TOASTed column in `after` has the
#     value `before` has, not the placeholder.
#  5. Keys agree between snapshot and stream and follow Debezium: a table
#     keyed only by REPLICA IDENTITY USING INDEX is keyed in the snapshot
#     too; a primary key with another identity index never gives a
#     {"id":null} key nor a false key change; a TOASTed primary key is no
#     key change.
#  4. A snapshot of wide rows stays within a memory bound (peak RSS).
#  8. A publication that cannot be extended fails the task clearly.
#  7. Outbox topic names are made Kafka-legal; a row without a usable
#     aggregatetype goes to the host's error policy (dead-letter / failure).
# 10. Two connectors whose default slot names collide: the second one says
#     so at once instead of retrying on "slot active".
# 12. A restart mid-transaction with a config that numbers the transaction's
#     records differently re-emits the transaction instead of skipping by
#     the old count (fingerprint "fp" in the offset).
. "$(dirname "$0")/pg_test_lib.sh"

wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }

# A long text that the server stores out of line (EXTERNAL: uncompressed).
BIG="(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 100) g)" # 3200 bytes
KEY="(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 78) g)" # 2496 bytes: fits a btree entry

pg_psql "CREATE TABLE public.parent (id int PRIMARY KEY, v text)" \
    "CREATE TABLE public.child (extra text) INHERITS (public.parent)" \
    "ALTER TABLE public.child ADD PRIMARY KEY (id)" \
    "INSERT INTO parent SELECT g, 'p' FROM generate_series(1, 5) g" \
    "INSERT INTO child SELECT g, 'c', 'x' FROM generate_series(1, 7) g" \
    "CREATE TABLE public.full_toast (id int PRIMARY KEY, big text, n int)" \
    "ALTER TABLE full_toast ALTER big SET STORAGE EXTERNAL" \
    "ALTER TABLE full_toast REPLICA IDENTITY FULL" \
    "CREATE TABLE public.ri_only (a int NOT NULL, b text)" \
    "CREATE UNIQUE INDEX ri_only_a ON ri_only (a)" \
    "ALTER TABLE ri_only REPLICA IDENTITY USING INDEX ri_only_a" \
    "INSERT INTO ri_only VALUES (1, 'x'), (2, 'y')" \
    "CREATE TABLE public.pk_ri (id int PRIMARY KEY, email text NOT NULL, v int)" \
    "CREATE UNIQUE INDEX pk_ri_email ON pk_ri (email)" \
    "ALTER TABLE pk_ri REPLICA IDENTITY USING INDEX pk_ri_email" \
    "INSERT INTO pk_ri VALUES (1, 'a@x', 0), (2, 'b@x', 0)" \
    "CREATE TABLE public.toast_pk (id text PRIMARY KEY, v int)" \
    "ALTER TABLE toast_pk ALTER id SET STORAGE EXTERNAL" >/dev/null

ARGS=("${BASE_ARGS[@]}" snapshot.chunk.size=2
    "table.include.list=public.parent,public.child,public.full_toast,public.ri_only,public.pk_ri,public.toast_pk")

harness_bg s1.out "${ARGS[@]}"
wait_until 30 grep -qs "streaming slot" "$WORK/s1.out.err" || fail "stream did not start"
pg_psql "INSERT INTO full_toast VALUES (1, $BIG, 0)" \
    "UPDATE full_toast SET n = 1 WHERE id = 1" \
    "INSERT INTO ri_only VALUES (3, 'z')" \
    "UPDATE pk_ri SET email = 'c@x' WHERE id = 1" \
    "DELETE FROM pk_ri WHERE id = 2" \
    "INSERT INTO toast_pk VALUES ('k' || $KEY, 0)" \
    "UPDATE toast_pk SET v = 1" \
    "INSERT INTO parent VALUES (100, 'end')" >/dev/null
wait_until 30 grep -q '"id":100' "$WORK/s1.out" || fail "stream did not deliver"
harness_term

for t in parent child full_toast ri_only pk_ri toast_pk; do
    check events "$WORK/s1.out" shop.public.$t >"$WORK/$t.jsonl"
done
/usr/bin/python3 - "$WORK" <<'EOF' || fail "defects 1, 2, 5"
import json, sys
w = sys.argv[1]
load = lambda n: [json.loads(l) for l in open(f"{w}/{n}.jsonl")]
failed = []
def check(name, fn):
    try:
        fn()
        print("ok:", name)
    except AssertionError as e:
        print("FAILED:", name, e)
        failed.append(name)

def inheritance():
    # The parent's snapshot has its own five rows, the child its seven.
    p, c = load("parent"), load("child")
    pr = sorted(e["after"]["id"] for e in p if e["op"] == "r")
    cr = sorted(e["after"]["id"] for e in c if e["op"] == "r")
    assert pr == [1, 2, 3, 4, 5], ("parent snapshot (children's rows leak in without ONLY)", pr)
    assert cr == [1, 2, 3, 4, 5, 6, 7], ("child snapshot", cr)
check("1 inheritance", inheritance)

def full_toast():
    f = load("full_toast")
    assert [e["op"] for e in f] == ["c", "u"], f
    u = f[1]
    assert len(u["before"]["big"]) == 3200, u["before"]
    assert u["after"]["big"] == u["before"]["big"], ("after.big", u["after"]["big"][:40])
    assert u["after"]["n"] == 1
check("2 REPLICA IDENTITY FULL, unchanged TOAST", full_toast)

def identity_only():
    r = load("ri_only")
    assert [(e["op"], e["key"]) for e in r] == [("r", {"a": 1}), ("r", {"a": 2}), ("c", {"a": 3})], r
check("5a keyed by the identity index in snapshot and stream", identity_only)

def pk_and_identity():
    k = load("pk_ri")
    ops = [(e["op"], e["key"]) for e in k]
    assert ops[:2] == [("r", {"id": 1}), ("r", {"id": 2})], ops
    assert ops[2] == ("u", {"id": 1}) and k[2]["after"]["email"] == "c@x", ops
    # The old image has email only: no key rather than {"id":null}, no tombstone.
    assert ops[3:] == [("d", None)], ops
check("5b primary key + another identity index", pk_and_identity)

def toast_pk():
    t = load("toast_pk")
    assert [e["op"] for e in t] == ["c", "u"], [e["op"] for e in t]
    assert len(t[1]["key"]["id"]) == 2497 and t[1]["key"]["id"] == t[0]["after"]["id"], t[1]["key"]
    assert t[1]["after"]["id"] == t[0]["after"]["id"], t[1]["after"]
check("5c TOASTed primary key", toast_pk)
assert not failed, failed
EOF
log "1, 2, 5 ok"

# ---- 4. a snapshot of wide rows in bounded memory ----------------------------------
# 100 rows of 3 MB (compressed to almost nothing on disk, 300 MB as text): read
# in one result, as a chunk of snapshot.chunk.size rows was, they would take
# 300 MB of client memory. Fetches bounded by bytes keep the harness (with
# ASan's shadow memory; its quarantine made small) far below.
RSS_BOUND_KB=$((150 * 1024))
pg_psql "CREATE TABLE public.wide (id int PRIMARY KEY, big text)" \
    "INSERT INTO wide SELECT g, repeat(chr(97 + g % 26), 3000000) FROM generate_series(1, 100) g" >/dev/null
: >"$OFFSETS"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8:detect_leaks=0" HARNESS_MAX_RECORDS=100 \
    /usr/bin/time -f %M -o "$WORK/wide.rss" "$PG_HARNESS" "$PLUGIN" "$OFFSETS" "${BASE_ARGS[@]}" \
    table.include.list=public.wide snapshot.mode=initial_only 2>"$WORK/wide.out.err" | cut -c1-40 >"$WORK/wide.out" ||
    fail "wide snapshot run failed"
[ "$(grep -c '^shop.public.wide' "$WORK/wide.out")" = 100 ] || fail "wide snapshot: $(wc -l <"$WORK/wide.out") records, not 100"
rss=$(tail -n 1 "$WORK/wide.rss")
log "wide snapshot: peak RSS $((rss / 1024)) MB (bound $((RSS_BOUND_KB / 1024)) MB, table 300 MB as text)"
[ "$rss" -lt "$RSS_BOUND_KB" ] || fail "4: peak RSS ${rss} kB over the bound ${RSS_BOUND_KB} kB"
log "4 ok"

# ---- 8. a publication that cannot be extended ---------------------------------------
# The connector's role (REPLICATION, SELECT) does not own the publication,
# which lacks public.ri_only: snapshotting it and never streaming it would be a
# silent gap, so the task fails, saying what the owner must run.
pg_psql "CREATE ROLE cdc LOGIN REPLICATION" "GRANT SELECT ON ALL TABLES IN SCHEMA public TO cdc" \
    "CREATE PUBLICATION pub8 FOR TABLE public.full_toast" >/dev/null
CDC_CONNINFO="${PG_CONNINFO/user=postgres/user=cdc}"
: >"$OFFSETS"
rc=0
timeout 60 "$PG_HARNESS" "$PLUGIN" "$OFFSETS" "${BASE_ARGS[@]}" conninfo="$CDC_CONNINFO" publication.name=pub8 publication.autocreate.mode=filtered \
    slot.name=slot8 table.include.list=public.full_toast,public.ri_only >"$WORK/s8.out" 2>"$WORK/s8.out.err" || rc=$?
[ "$rc" = 2 ] || fail "8: expected the task to fail (exit 2), got $rc"
grep -q 'publication "pub8" lacks captured tables and could not be extended (ERROR:  must be owner of publication pub8).*ALTER PUBLICATION "pub8" ADD TABLE "public"."ri_only"' \
    "$WORK/s8.out.err" || fail "8: unclear error: $(grep FAILED "$WORK/s8.out.err")"
[ ! -s "$WORK/s8.out" ] || fail "8: records were emitted before the failure"
log "8 ok"

# ---- 10. default slot names that collide ---------------------------------------------
# "shop-eu" and "shop.eu" both default to slot and publication ferry_shop_eu.
# The second fails at once, naming the other connector and the fix, before it
# snapshots anything: from the comment on the publication the first created
# (a, b: running or not), or from the slot's holder (c: a publication
# without that comment, the first one streaming).
: >"$WORK/a10.off"
start_a10() {
    HARNESS_CONNECTOR=shop-eu "$PG_HARNESS" "$PLUGIN" "$WORK/a10.off" "${BASE_ARGS[@]}" topic.prefix=eu1 \
        table.include.list=public.parent >>"$WORK/a10.out" 2>>"$WORK/a10.out.err" &
    HPID=$!
    local n=$(($(grep -c "streaming slot ferry_shop_eu" "$WORK/a10.out.err" 2>/dev/null || true) + 1))
    wait_until 30 eval '[ "$(grep -c "streaming slot ferry_shop_eu" "$WORK/a10.out.err")" -ge $n ]' ||
        fail "10: first connector did not stream"
}
# run_b10 NAME PATTERN: the second connector fails within 15 s with PATTERN, emitting nothing.
run_b10() {
    local rc=0 start=$SECONDS
    : >"$WORK/b10.off"
    HARNESS_CONNECTOR=shop.eu HARNESS_RETRY_LIMIT=25 timeout 60 "$PG_HARNESS" "$PLUGIN" "$WORK/b10.off" \
        "${BASE_ARGS[@]}" topic.prefix=eu2 table.include.list=public.parent >"$WORK/b10$1.out" 2>"$WORK/b10$1.out.err" ||
        rc=$?
    [ "$rc" = 2 ] || fail "10$1: expected the second connector to fail (exit 2), got $rc"
    grep -q "FAILED: $2" "$WORK/b10$1.out.err" || fail "10$1: unclear error: $(grep -E 'FAILED|giving up' "$WORK/b10$1.out.err")"
    [ ! -s "$WORK/b10$1.out" ] || fail "10$1: the second connector emitted records"
    [ $((SECONDS - start)) -lt 15 ] || fail "10$1: the collision took $((SECONDS - start)) s to report"
}
PUB_MSG='publication "ferry_shop_eu" and slot "ferry_shop_eu" belong to ferry connector "shop-eu" (the publication.s comment says so), not to "shop.eu": the default slot and publication names .* are the same. Set slot.name and publication.name'
start_a10
run_b10 a "$PUB_MSG"
harness_term
run_b10 b "$PUB_MSG"
pg_psql "COMMENT ON PUBLICATION ferry_shop_eu IS NULL" >/dev/null
start_a10
run_b10 c 'replication slot "ferry_shop_eu" is in use by ferry connector "shop-eu" (pid [0-9]*): the default slot and publication names .* of connectors "shop.eu" and "shop-eu" are the same. Set slot.name and publication.name'
harness_term
log "10 ok"

# ---- 7. outbox topic names and rows that cannot be routed ---------------------------
# Illegal characters in aggregatetype become '_' (each byte, as for change-event
# topics: 'Order Created/é' gives Order_Created___); a NULL, empty or too long
# one is a bad record: dead-lettered with HARNESS_TOLERANCE=all (the host's
# errors.tolerance: all) while the stream goes on, or the task fails with the
# reason (none), instead of a record the host refuses forever.
pg_psql "CREATE TABLE public.outbox (id text PRIMARY KEY, aggregatetype text, aggregateid text, type text,
        payload text)" >/dev/null
: >"$OFFSETS"
OUTBOX_ARGS=("${BASE_ARGS[@]}" slot.name=slot7 publication.name=pub7 snapshot.mode=never
    table.include.list=public.parent outbox.table.list=public.outbox)
HARNESS_TOLERANCE=all harness_bg s7.out "${OUTBOX_ARGS[@]}"
wait_until 30 grep -qs "streaming slot slot7" "$WORK/s7.out.err" || fail "7: stream did not start"
pg_psql "INSERT INTO outbox VALUES ('1', 'Order Created/é', 'o1', 'T', 'p1')" \
    "INSERT INTO outbox VALUES ('2', NULL, 'o2', 'T', 'p2')" \
    "INSERT INTO outbox VALUES ('3', '', 'o3', 'T', 'p3')" \
    "INSERT INTO outbox VALUES ('4', repeat('x', 300), 'o4', 'T', 'p4')" \
    "INSERT INTO outbox VALUES ('5', 'Order', 'o5', 'T', 'p5')" >/dev/null
wait_until 30 grep -qs 'p5' "$WORK/s7.out" || fail "7: the stream stopped at a bad outbox row"
harness_term
cut -f1,2,3,5 "$WORK/s7.out" | cut -c1-400 >"$WORK/s7.cut"
/usr/bin/python3 - "$WORK/s7.cut" <<'PYEOF' || fail "7: outbox records"
import sys
got = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
topics = [(g[0], g[2]) for g in got]
assert topics == [("outbox.event.Order_Created___", "p1"), ("__dlq", "p2"), ("__dlq", "p3"), ("__dlq", "p4"),
                  ("outbox.event.Order", "p5")], topics
assert "a NULL aggregatetype cannot be routed" in got[1][3], got[1][3]
assert "an empty aggregatetype cannot be routed" in got[2][3], got[2][3]
assert "which Kafka does not allow (at most 249" in got[3][3], got[3][3]
print("outbox records ok")
PYEOF
grep -q '"event":1,' "$OFFSETS" || fail "7: the stored offset is not past the last outbox row: $(cat "$OFFSETS")"
# errors.tolerance: none: the task fails, naming the row's problem.
pg_psql "INSERT INTO outbox VALUES ('6', NULL, 'o6', 'T', 'p6')" >/dev/null
rc=0
timeout 60 "$PG_HARNESS" "$PLUGIN" "$OFFSETS" "${OUTBOX_ARGS[@]}" >"$WORK/s7b.out" 2>"$WORK/s7b.out.err" || rc=$?
[ "$rc" = 2 ] || fail "7: expected the task to fail on a NULL aggregatetype (tolerance none), got $rc"
grep -q 'FAILED: record refused: outbox table public.outbox: an event with a NULL aggregatetype cannot be routed' \
    "$WORK/s7b.out.err" || fail "7: unclear error: $(grep FAILED "$WORK/s7b.out.err")"
log "7 ok"

# ---- 12. a transaction numbered differently after a restart --------------------------
# The offset counts records within a transaction. A restart mid-transaction
# with a config that yields other records (here tombstones.on.delete turned
# off) must not skip by the old count: the fingerprint in the offset tells,
# and the whole transaction is emitted again (duplicates, none lost).
pg_psql "CREATE TABLE public.t12 (id int PRIMARY KEY)" "INSERT INTO t12 SELECT generate_series(1, 10)" \
    "CREATE TABLE public.u12 (id int PRIMARY KEY)" "INSERT INTO u12 SELECT generate_series(1, 2)" >/dev/null
: >"$OFFSETS"
ARGS12=("${BASE_ARGS[@]}" slot.name=slot12 publication.name=pub12 snapshot.mode=never table.include.list=public.t12,public.u12)
harness_bg s12a.out "${ARGS12[@]}"
wait_until 30 grep -qs "streaming slot slot12" "$WORK/s12a.out.err" || fail "12: stream did not start"
harness_term
# a) other records at the count: 10 deletes gave d, tombstone, d, ...; cut after 5 records.
pg_psql "DELETE FROM t12" >/dev/null
HARNESS_MAX_RECORDS=5 harness_run s12b.out "${ARGS12[@]}"
grep -q '"event":5,"fp":' "$OFFSETS" || fail "12: no fingerprint in the offset: $(cat "$OFFSETS")"
harness_bg s12c.out "${ARGS12[@]}" tombstones.on.delete=false
wait_until 30 grep -qs '"id":10' "$WORK/s12c.out" || fail "12: the rest of the transaction did not come"
# One more transaction moves the stored offset past this one (a restart
# re-reads the transaction at the stored position).
pg_psql "INSERT INTO t12 VALUES (100)" >/dev/null
wait_until 30 grep -qs '"id":100' "$WORK/s12c.out" || fail "12: the stream did not go on"
harness_term
cat "$WORK/s12b.out" "$WORK/s12c.out" >"$WORK/s12.all"
check ids "$WORK/s12.all" shop.public.t12 d 1 10 atleast || fail "12: deletes lost after a renumbered restart"
grep -q "yields other records than when its first 5 were emitted (other kinds or tables" "$WORK/s12c.out.err" ||
    fail "12: the renumbering was not reported"
# b) fewer records than the count: 2 deletes with tombstones, cut after 3.
pg_psql "DELETE FROM u12" >/dev/null
HARNESS_MAX_RECORDS=3 harness_run s12d.out "${ARGS12[@]}"
harness_bg s12e.out "${ARGS12[@]}" tombstones.on.delete=false
wait_until 30 grep -qs "fewer records" "$WORK/s12e.out.err" || fail "12: fewer records were not reported"
wait_until 30 grep -qs '"id":2' "$WORK/s12e.out" || fail "12: the transaction was not emitted again"
harness_term
cat "$WORK/s12d.out" "$WORK/s12e.out" >"$WORK/s12b.all"
check ids "$WORK/s12b.all" shop.public.u12 d 1 2 atleast || fail "12: deletes lost (fewer records)"
log "12 ok"
