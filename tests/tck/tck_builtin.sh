#!/usr/bin/env bash
# Every built-in plugin passes `ferry tck` with its file in sdk/tck/: no rule
# fails. datagen, file-source, file-sink and null-sink run every rule,
# http-sink (against tests/http/httpd.py) and http-source (a webhook nobody
# calls: no records, so records/offsets/commit are skipped) and the gateway
# (gRPC and HTTP servers nobody calls, likewise) the others;
# postgres-cdc, s3-sink and s3-source need their servers, so their runtime
# rules are skipped with the reason (tck.skip.runtime), while descriptor,
# options, config and open-failure are checked.
source "$TESTLIB"
# The s3 connectors would take credentials from here; the open-failure cases need them absent.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

run_tck() {
    local p=$1 rc=0
    "$FERRY" tck "$FERRY_PLUGIN_DIR/$p.so" --config "$FERRY_SOURCE_DIR/sdk/tck/$p.yaml" \
        >"$WORK/$p.out" 2>"$WORK/$p.log" || rc=$?
    cat "$WORK/$p.out" >&2
    [ "$rc" = 0 ] || fail "ferry tck $p.so exited $rc: $(grep '^FAIL' "$WORK/$p.out" || true)"
}
expect() { grep -q "^$1 $2 $3: " "$WORK/$4.out" || fail "expected '$1 $2 $3' from ferry tck $4.so"; }

# http-sink posts to the project's test receiver; http-source listens on a free port.
/usr/bin/python3 "$FERRY_SOURCE_DIR/tests/http/httpd.py" --port-file "$WORK/httpd.port" --log "$WORK/httpd.jsonl" \
    >"$WORK/httpd.log" 2>&1 &
PIDS+=($!)
wait_until 20 test -s "$WORK/httpd.port" || fail "the test receiver did not start"
export FERRY_TCK_HTTP_URL=http://127.0.0.1:$(cat "$WORK/httpd.port")
export FERRY_TCK_HTTP_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for p in datagen file null s3 http gateway; do run_tck "$p"; done
if [ -f "$FERRY_PLUGIN_DIR/postgres.so" ]; then run_tck postgres; else log "postgres.so not built (FERRY_CONNECTOR_POSTGRES=OFF)"; fi

# The rules did run (a run that skipped them all would exit 0 as well).
for r in descriptor options config open-failure open poll-budget records offsets should-stop stop cycles; do
    expect PASS datagen "$r" datagen
    expect PASS file-source "$r" file
done
for r in descriptor options config open put-flush flush-limits stop cycles; do
    expect PASS file-sink "$r" file
    expect PASS null-sink "$r" null
done
expect PASS file-sink open-failure file
for r in descriptor options open-failure open put-flush flush-limits stop cycles; do expect PASS http-sink "$r" http; done
for r in descriptor options open-failure open poll-budget should-stop stop cycles; do expect PASS http-source "$r" http; done
for r in descriptor options open-failure open poll-budget should-stop stop cycles; do expect PASS gateway "$r" gateway; done
grep -q "^PUT\|^POST\|\"POST\"" "$WORK/httpd.jsonl" || fail "http-sink's TCK run sent nothing to the receiver"
for c in s3-sink s3-source; do
    expect PASS "$c" open-failure s3
    expect SKIP "$c" stop s3
    grep -q "^SKIP $c cycles: tck.skip.runtime: the s3 connectors need an S3 server" "$WORK/s3.out" || fail "no reason for $c"
done
if [ -f "$WORK/postgres.out" ]; then
    expect PASS postgres-cdc open-failure postgres
    expect SKIP postgres-cdc poll-budget postgres
fi
log "PASS"
