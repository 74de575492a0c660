#!/usr/bin/env bash
# postgres-cdc under pg_harness: the value options and the session settings values depend on.
#  1. A server whose lc_monetary is de_DE (money prints "1.234,56 €" there): money is
#     still read right, in the snapshot and in the stream (defect 9: the connector pins
#     lc_monetary=C in its sessions).
#  2. decimal.handling.mode, time.precision.mode, interval.handling.mode,
#     binary.handling.mode, money.fraction.digits and toast.unchanged.placeholder (the
#     alias of unavailable.value.placeholder), snapshot and stream alike.
#  3. unavailable.value.placeholder and its alias set to different values: refused,
#     naming both.
# What Debezium writes for each of these is proven by kafka_debezium_conformance; this
# test needs no Kafka or JVM.

# A de_DE locale for the server, built here (the machine may have only C).
LOCDIR=$(mktemp -d /tmp/ferry-locale.XXXXXX)
chmod 755 "$LOCDIR"
if ! localedef -i de_DE -f UTF-8 "$LOCDIR/de_DE.UTF-8" >"$LOCDIR/localedef.log" 2>&1; then
    # localedef warns (exit 1) on some locale sources yet writes the locale.
    [ -e "$LOCDIR/de_DE.UTF-8/LC_MONETARY" ] || {
        echo "[connector_types] FAIL: cannot build a de_DE.UTF-8 locale: $(tail -n 3 "$LOCDIR/localedef.log")" >&2
        exit 1
    }
fi
chmod -R a+rX "$LOCDIR"
export LOCPATH=$LOCDIR
export PG_EXTRA_CONF="lc_monetary = 'de_DE.UTF-8'"
. "$(dirname "$0")/pg_test_lib.sh"
unset LOCPATH # the server has it; glibc leaks a little in the harness with it (ASan)
trap 'rc=$?; pg_test_cleanup; rm -rf "$LOCDIR"; exit $rc' EXIT
wait_until() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }

# The condition is real: a plain session of this server formats money its own way.
plain=$(pg_psql "SELECT 1234.56::money")
[ "$plain" != '$1,234.56' ] || fail "the server's lc_monetary did not take effect (money prints $plain)"
log "the server prints money as '$plain'"

pg_psql "CREATE TABLE public.t (id int PRIMARY KEY, m money, n numeric(10,2), nv numeric, d date,
        ts timestamp(3), tm time, iv interval, b bytea, j jsonb, big text, tags text[])" \
    "ALTER TABLE t ALTER big SET STORAGE EXTERNAL, ALTER tags SET STORAGE EXTERNAL" \
    "INSERT INTO t VALUES (1, 1234.56, 12345.67, 1.50, '2024-02-29', '2024-02-29 13:45:56.123', '13:45:56.5',
        '1 year 2 mons 3 days 04:05:06.789', '\\xdeadbeef', '{\"a\": 1}',
        (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200) g),
        (SELECT array_agg(md5(g::text)) FROM generate_series(1, 200) g))" >/dev/null

# run NAME OPTIONS...: snapshot row 1, then stream row 2 (a copy with other money) and an
# update of row 1 that leaves big and tags unchanged (TOAST).
run() {
    local name=$1
    shift
    pg_psql "DELETE FROM t WHERE id = 2" "UPDATE t SET n = 12345.67 WHERE id = 1" >/dev/null
    : >"$OFFSETS"
    harness_bg "$name.out" "${BASE_ARGS[@]}" table.include.list=public.t "$@"
    wait_until 30 grep -qs "streaming slot" "$WORK/$name.out.err" || fail "$name: stream did not start"
    pg_psql "INSERT INTO t SELECT 2, -99.5, n, nv, d, ts, tm, iv, b, j, big, tags FROM t WHERE id = 1" \
        "UPDATE t SET n = 0.5 WHERE id = 1" >/dev/null
    wait_lines "$name.out" 3 30 || fail "$name: the streamed rows did not arrive"
    harness_term
    pg_psql "SELECT pg_drop_replication_slot('ferry_shop')" "DROP PUBLICATION ferry_shop" >/dev/null
}

# ---- 1. defaults, under the de_DE server -------------------------------------------
run defaults
/usr/bin/python3 - "$WORK/defaults.out" <<'PY' || fail "default encodings"
import json, sys
ev = [json.loads(l.split("\t")[2]) for l in open(sys.argv[1])]
r, c, u = ev[0]["after"], ev[1]["after"], ev[2]["after"]
assert [e["op"] for e in ev] == ["r", "c", "u"], ev
# money 1234.56 and -99.50 as Decimals of scale 2: unscaled 123456 and -9950
assert r["m"] == "AeJA" and c["m"] == "2SI=", (r["m"], c["m"])
assert r["n"] == "EtaH" and r["nv"] == {"scale": 1, "value": "Dw=="} and u["n"] == "Mg==", r
assert r["d"] == 19782 and r["ts"] == 1709214356123 and r["tm"] == 49556500000, r
assert r["iv"] == 37091106789000 and r["b"] == "3q2+7w==" and r["j"] == '{"a": 1}', r
assert u["big"] == "__debezium_unavailable_value" and u["tags"] == ["__debezium_unavailable_value"], u
print("defaults ok")
PY

# ---- 2. the other modes ----------------------------------------------------------------
run modes decimal.handling.mode=string time.precision.mode=connect interval.handling.mode=string \
    binary.handling.mode=hex money.fraction.digits=3 toast.unchanged.placeholder=gone
/usr/bin/python3 - "$WORK/modes.out" <<'PY' || fail "value options"
import json, sys
ev = [json.loads(l.split("\t")[2]) for l in open(sys.argv[1])]
r, c, u = ev[0]["after"], ev[1]["after"], ev[2]["after"]
assert r["m"] == "1234.56" and c["m"] == "-99.50", (r["m"], c["m"])
assert r["n"] == "12345.67" and r["nv"] == "1.50" and u["n"] == "0.50", r
assert r["d"] == 19782 and r["ts"] == 1709214356123 and r["tm"] == 49556500, r
assert r["iv"] == "P1Y2M3DT4H5M6.789S" and r["b"] == "deadbeef", r
assert u["big"] == "gone" and u["tags"] == ["gone"], u
print("modes ok")
PY
run digits money.fraction.digits=3 decimal.handling.mode=precise
/usr/bin/python3 - "$WORK/digits.out" <<'PY' || fail "money.fraction.digits"
import json, sys
ev = [json.loads(l.split("\t")[2]) for l in open(sys.argv[1])]
# 1234.560 and -99.500: unscaled 1234560 (12 D6 80) and -99500 (FE 7B 54)
assert ev[0]["after"]["m"] == "EtaA" and ev[1]["after"]["m"] == "/ntU", ev
print("money.fraction.digits ok")
PY

# ---- 3. the placeholder and its alias, different ----------------------------------------
: >"$OFFSETS"
rc=0
HARNESS_RETRY_LIMIT=1 harness_run conflict.out "${BASE_ARGS[@]}" table.include.list=public.t \
    unavailable.value.placeholder=a toast.unchanged.placeholder=b || rc=$?
[ "$rc" = 2 ] || fail "conflicting placeholder options: exit $rc"
grep -q "unavailable.value.placeholder \"a\" and its alias toast.unchanged.placeholder \"b\"" "$WORK/conflict.out.err" ||
    fail "conflicting placeholder options: $(tail -n 3 "$WORK/conflict.out.err")"
log "PASS"
