#!/usr/bin/env bash
# The admin REST API through the real server, read with curl and jq:
# Connect's shapes for the worker, connectors, tasks and plugins; statuses
# that follow the tasks; config validation with per-field errors; metrics
# that match what flowed; secrets redacted; errors as {error_code, message};
# hostile input (20 MB body, invalid and 10,000-deep JSON, a slow client)
# answered with 4xx or a closed connection while the server stays up; the
# bearer token off loopback.
source "$TESTLIB"
broker_start --topic lines:2
seq 1 2000 | sed 's/^/line-/' >"$WORK/in.txt"
export REST_OUT_PATH=$WORK/out.txt
cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  rest: {listen: "127.0.0.1:0", body.max.bytes: 64KiB}
connectors:
  src:
    connector: file-source
    path: $WORK/in.txt
    topic: lines
  dst:
    connector: file-sink
    topics: [lines]
    path: \${env:REST_OUT_PATH}
    flush.interval: 500ms
YAML
ferry_start run "$WORK/p.yaml"
wait_until 30 grep -q "rest: listening on" "$WORK/run.log" || fail "no REST address in the log"
URL=http://$(sed -n 's/.*rest: listening on http:\/\/\([^ ]*\).*/\1/p' "$WORK/run.log" | head -n1)

# call METHOD PATH [BODY-FILE]: the body in $WORK/resp, the status in CODE.
call() {
    local args=(-s -o "$WORK/resp" -w '%{http_code}' -X "$1" "$URL$2")
    [ -z "${3:-}" ] || args+=(-H 'Content-Type: application/json' --data-binary "@$3")
    CODE=$(curl "${args[@]}") || CODE=000
}
expect() { # CODE JQ-EXPRESSION (must be true) WHAT
    [ "$CODE" = "$1" ] || fail "$3: HTTP $CODE, expected $1: $(head -c 500 "$WORK/resp")"
    jq -e "$2" "$WORK/resp" >/dev/null || fail "$3: $2 is not true of $(head -c 800 "$WORK/resp")"
}

# The cluster id is null until the worker has the cluster's metadata.
wait_until 20 bash -c "curl -s $URL/ | jq -e '.kafka_cluster_id | length > 0' >/dev/null" || fail "no kafka_cluster_id"
call GET /
expect 200 "(.version == \"$("$FERRY" version | awk '{print $2}')\") and (.commit | type == \"string\") and (.kafka_cluster_id | length > 0)" "GET /"
call GET /connectors
expect 200 '. == ["src","dst"]' "GET /connectors"
# Statuses follow the tasks: RUNNING once both run.
wait_until 30 bash -c "curl -s '$URL/connectors?expand=status' | jq -e '[.[].status.tasks[].state] == [\"RUNNING\",\"RUNNING\"]' >/dev/null" ||
    fail "tasks never RUNNING: $(curl -s "$URL/connectors?expand=status")"
call GET '/connectors?expand=status&expand=info'
expect 200 '(.src.status.type == "source") and (.dst.status.type == "sink") and (.src.info.config."connector.class" == "file-source") and (.dst.status.connector.state == "RUNNING")' "expand=status&expand=info"
call GET /connectors/src/status
expect 200 "(.name == \"src\") and (.tasks[0].id == 0) and (.tasks[0].worker_id == \"${URL#http://}\")" "status"
call GET /connectors/dst/config
# Set options only (no defaults); a value that came from \${env:} is hidden.
expect 200 '(.name == "dst") and (."connector.class" == "file-sink") and (.path == "[hidden]") and (has("errors.retry.timeout") | not)' "config"
call GET /connectors/src
expect 200 '(.tasks == [{"connector":"src","task":0}]) and (.type == "source") and (.config.path | endswith("in.txt"))' "info"
call GET /connectors/src/tasks
expect 200 '(.[0].id == {"connector":"src","task":0}) and (.[0].config | type == "object")' "tasks"
call GET /connectors/dst/tasks/0/status
expect 200 '.state == "RUNNING"' "task status"
call GET /connectors/dst/tasks/7/status
expect 404 '(.error_code == 404) and (.message | test("No status found for task dst-7"))' "missing task"
call GET /connectors/nope/status
expect 404 '.message == "No status found for connector nope"' "missing connector"
call GET /nowhere
expect 404 '.error_code == 404' "unknown path"
call DELETE /connectors
expect 405 '.error_code == 405' "wrong method"
# Without a token a web page must not drive the worker: a Host that is not
# loopback (DNS rebinding) or a foreign Origin gets 403.
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -H 'Host: evil.example:8083' "$URL/connectors")
expect 403 '.error_code == 403' "foreign Host"
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X PUT -H 'Origin: http://evil.example' "$URL/connectors/src/pause")
expect 403 '.error_code == 403' "foreign Origin"
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -H "Origin: http://localhost:3000" "$URL/connectors")
expect 200 '' "loopback Origin"
printf '{"name":"x","connector.class":"file-source"}' >"$WORK/new.json"
call POST /connectors "$WORK/new.json"
expect 400 '.message | test("config")' "POST /connectors without a config (tests/e2e/rest_lifecycle.sh does the rest)"

# Plugins and their option tables.
call GET /connector-plugins
expect 200 'map(select(.class == "file-source" and .type == "source")) | length == 1' "plugins"
call GET /connector-plugins/file-source/config
expect 200 'map(select(.name == "path" and .required == true and .type == "STRING")) | length == 1' "plugin config"
call GET /connector-plugins/nope/config
expect 404 '.error_code == 404' "unknown plugin"
# validate: per-field errors in Connect's configs[].value.errors.
printf '{"connector.class":"file-source","tasks.max":"x","pathh":"/tmp/a"}' >"$WORK/v.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/v.json"
expect 200 '(.name == "file-source") and (.error_count == 4)' "validate count"
jq -e '[.configs[] | select(.value.name == "tasks.max") | .value.errors[]] | any(test("expected an integer"))' "$WORK/resp" >/dev/null ||
    fail "validate: no error on tasks.max: $(cat "$WORK/resp")"
jq -e '[.configs[] | select(.value.name == "path") | .value.errors[]] | any(test("missing required"))' "$WORK/resp" >/dev/null ||
    fail "validate: no error on path"
jq -e '[.configs[] | select(.value.name == "connector") | .value.errors[]] | any(test("unknown option .pathh."))' "$WORK/resp" >/dev/null ||
    fail "validate: the unknown key is not reported"
printf '{"connector.class":"file-source","path":"/tmp/a","topic":"t"}' >"$WORK/v.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/v.json"
expect 200 '.error_count == 0' "validate a good config"
# Transforms' keys listed as Connect lists them, with their errors.
printf '{"connector.class":"file-source","path":"/tmp/a","topic":"t","transforms":"ins,bad","transforms.ins.type":"InsertField$Value","transforms.ins.topik.field":"x","transforms.bad.type":"NoSuchSMT"}' >"$WORK/v.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/v.json"
expect 200 '.error_count == 2' "validate transforms"
jq -e '[.configs[] | select(.value.name == "transforms.ins.topik.field") | .value.errors[]] | any(test("unknown option .topik.field."))' "$WORK/resp" >/dev/null ||
    fail "validate: the transform's unknown option is not on its key: $(cat "$WORK/resp")"
jq -e '[.configs[] | select(.value.name == "transforms.bad.type") | .value.errors[]] | any(test("unknown type .NoSuchSMT."))' "$WORK/resp" >/dev/null ||
    fail "validate: the unknown transform type is not on its key"
jq -e '[.configs[] | select(.value.name == "transforms.ins.type") | .definition.group] == ["Transforms: ins"]' "$WORK/resp" >/dev/null ||
    fail "validate: transforms.ins.type is not listed in its group"
printf '{"connector.class":"file-sink"}' >"$WORK/v.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/v.json"
expect 400 '.message | test("does not match")' "validate with another class"
printf '{"path": [1,2]}' >"$WORK/v.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/v.json"
expect 200 '.error_count == 1' "validate a non-string value"

# Hostile input: the server answers and stays up, memory bounded.
printf '{"a":' >"$WORK/bad.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/bad.json"
expect 400 '.message | test("request body")' "invalid JSON"
/usr/bin/python3 -c 'print("[" * 10000 + "]" * 10000)' >"$WORK/deep.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/deep.json"
[ "$CODE" = 413 ] || [ "$CODE" = 400 ] || fail "10,000-deep JSON: HTTP $CODE"
head -c 30000 /dev/zero | tr '\0' '[' >"$WORK/deep2.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/deep2.json"
expect 400 '.error_code == 400' "30,000-deep JSON within the size limit"
head -c 20000000 /dev/zero | tr '\0' 'x' >"$WORK/big.json"
call PUT /connector-plugins/file-source/config/validate "$WORK/big.json"
expect 413 '.error_code == 413' "20 MB body"
# The same without Content-Length (chunked): discarded as it arrives.
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X PUT -H 'Transfer-Encoding: chunked' --data-binary "@$WORK/big.json" \
    "$URL/connector-plugins/file-source/config/validate") || CODE=000
[ "$CODE" = 413 ] || [ "$CODE" = 000 ] || fail "20 MB chunked body: HTTP $CODE"
# A slow client (half a request line, then nothing) is dropped after the
# connection timeout, and others are served meanwhile.
/usr/bin/python3 - "${URL#http://}" >"$WORK/slow.out" 2>&1 <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b"GET /connectors HTTP/1.1\r\nHost: x\r\n")
s.settimeout(30)
t = time.time()
try:
    data = s.recv(100)
except socket.timeout:
    data = b"timeout"
print("closed after %.1f s: %r" % (time.time() - t, data))
PY
SLOW=$!
sleep 1
call GET /health
expect 200 '.status == "healthy"' "health while a slow client waits"
wait "$SLOW" || fail "slow client script failed: $(cat "$WORK/slow.out")"
grep -Eq "closed after ([0-9]|1[0-9])\.[0-9] s: b''" "$WORK/slow.out" || fail "slow client not dropped: $(cat "$WORK/slow.out")"
kill -0 "$FERRY_PID" || fail "ferry died"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$FERRY_PID/status")
[ "$rss_kb" -lt 200000 ] || fail "RSS $rss_kb kB after hostile input"

# Metrics match what flowed: every line produced and put.
wait_until 60 bash -c "[ -f $WORK/out.txt ] && [ \$(wc -l < $WORK/out.txt) -ge 2000 ]" || fail "sink did not write 2000 lines"
wait_until 30 bash -c "curl -s $URL/metrics | grep -qx 'ferry_source_record_write_total{connector=\"src\",task=\"0\"} 2000'" ||
    fail "source counter: $(curl -s "$URL/metrics" | grep record_write)"
sent=$(curl -s "$URL/metrics" | awk '/^ferry_sink_record_send_total\{connector="dst"/ {print $2}')
[ "$sent" = "$(wc -l <"$WORK/out.txt")" ] || fail "sink counter $sent, file has $(wc -l <"$WORK/out.txt") lines"
grep -q '^ferry_task_state{connector="dst",task="0",state="RUNNING"} 1$' < <(curl -s "$URL/metrics") || fail "task state metric"
grep -Eq '^process_resident_memory_bytes [0-9]+$' < <(curl -s "$URL/metrics") || fail "RSS metric"
grep -Eq '^process_open_fds [0-9]+$' < <(curl -s "$URL/metrics") || fail "open files metric"
# The loop's counters agree with each other and with the plugin's own.
m() { curl -s "$URL/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
[ "$(m 'ferry_source_poll_records_total{connector="src",task="0"}')" = 2000 ] || fail "poll records: $(m 'ferry_source_poll_records_total{connector="src",task="0"}')"
[ "$(m 'ferry_sink_put_records_total{connector="dst",task="0"}')" = "$sent" ] || fail "put records"
[ "$(m 'ferry_plugin_records{connector="dst",task="0"}')" = "$sent" ] || fail "the file sink's own 'records' metric: $(m 'ferry_plugin_records{connector="dst",task="0"}')"
wait_until 20 bash -c "curl -s $URL/metrics | grep -Eq '^ferry_task_offset_commit_success_total\{connector=\"dst\",task=\"0\"\} [1-9]'" || fail "no sink commit counted"
wait_until 20 bash -c "curl -s $URL/metrics | grep -Eq '^ferry_task_offset_commit_success_total\{connector=\"src\",task=\"0\"\} [1-9]'" || fail "no source offset store counted"
grep -Eq '^ferry_task_offset_commit_age_seconds\{connector="dst",task="0"\} [0-9.]+$' < <(curl -s "$URL/metrics") || fail "commit age"
# librdkafka's statistics (every 5 s): the sink's lag per partition is 0 once it caught up.
# (A partition without a position yet, one that got no record, has no line.)
lag_ok() {
    curl -s "$URL/metrics" >"$WORK/metrics.txt"
    grep -q '^ferry_sink_consumer_lag{connector="dst",task="0",topic="lines",partition="[01]"} 0$' "$WORK/metrics.txt" &&
        ! grep -Eq '^ferry_sink_consumer_lag\{.*\} [1-9]' "$WORK/metrics.txt"
}
wait_until 20 lag_ok || fail "consumer lag: $(grep consumer_lag "$WORK/metrics.txt")"
grep -Eq '^ferry_kafka_request_latency_avg_seconds\{connector="src",task="0"\} [0-9.e-]+$' < <(curl -s "$URL/metrics") || fail "request latency"
grep -Eq '^ferry_kafka_client_tx_bytes_total\{connector="src",task="0"\} [1-9]' < <(curl -s "$URL/metrics") || fail "tx bytes"
call GET /ready
expect 200 '.status == "ready"' "ready"
# `ferry status`: the table, exit 0 when all run.
"$FERRY" status --url "$URL/" >"$WORK/status.out" || fail "ferry status exit $?: $(cat "$WORK/status.out")"
grep -Eq '^src +source +RUNNING +0 +RUNNING +127\.0\.0\.1:' "$WORK/status.out" || fail "status table: $(cat "$WORK/status.out")"
grep -Eq '^dst +sink +RUNNING +0 +RUNNING' "$WORK/status.out" || fail "status table (dst): $(cat "$WORK/status.out")"
# Pause and resume change what flows. A paused sink puts nothing while its
# source goes on; a paused source reads nothing; after resume all arrives.
metric() { m "$1{connector=\"$2\",task=\"0\"}"; }
call PUT /connectors/dst/pause
[ "$CODE" = 202 ] || fail "pause: HTTP $CODE"
# PAUSED once the task's loop holds (until then it may still put a batch).
wait_until 10 bash -c "curl -s $URL/connectors/dst/status | jq -e '(.connector.state == \"PAUSED\") and (.tasks[0].state == \"PAUSED\")' >/dev/null" ||
    fail "paused status: $(curl -s "$URL/connectors/dst/status")"
seq 2001 2100 | sed 's/^/line-/' >>"$WORK/in.txt"
wait_until 30 bash -c "curl -s $URL/metrics | grep -qx 'ferry_source_record_write_total{connector=\"src\",task=\"0\"} 2100'" ||
    fail "source did not go on while the sink was paused: $(metric ferry_source_record_write_total src)"
sleep 2
[ "$(wc -l <"$WORK/out.txt")" = 2000 ] || fail "a paused sink wrote: $(wc -l <"$WORK/out.txt") lines"
call PUT /connectors/src/pause
[ "$CODE" = 202 ] || fail "pause source: HTTP $CODE"
wait_until 10 bash -c "curl -s $URL/connectors/src/status | jq -e '.tasks[0].state == \"PAUSED\"' >/dev/null" ||
    fail "source not PAUSED: $(curl -s "$URL/connectors/src/status")"
seq 2101 2200 | sed 's/^/line-/' >>"$WORK/in.txt"
sleep 2
[ "$(metric ferry_source_record_write_total src)" = 2100 ] || fail "a paused source read: $(metric ferry_source_record_write_total src)"
call PUT /connectors/src/resume
[ "$CODE" = 202 ] || fail "resume source: HTTP $CODE"
call PUT /connectors/dst/resume
[ "$CODE" = 202 ] || fail "resume sink: HTTP $CODE"
wait_until 60 bash -c "[ \$(wc -l < $WORK/out.txt) -ge 2200 ]" || fail "after resume: $(wc -l <"$WORK/out.txt") lines"
sort "$WORK/in.txt" >"$WORK/in.sorted"
sort "$WORK/out.txt" >"$WORK/out.sorted"
cmp -s "$WORK/in.sorted" "$WORK/out.sorted" || fail "after pause/resume the output differs from the input"
call GET /connectors/dst/status
expect 200 '(.connector.state == "RUNNING") and (.tasks[0].state == "RUNNING")' "resumed status"
call PUT /connectors/nope/pause
expect 404 '.error_code == 404' "pause unknown"
call POST /connectors/dst/pause
expect 405 '.error_code == 405' "POST pause"
# Restarts: a task stops and runs again; the worker stays up.
started=$(grep -c "\[src/0\] source task running" "$WORK/run.log")
call POST /connectors/src/tasks/0/restart
[ "$CODE" = 204 ] || fail "task restart: HTTP $CODE"
wait_until 30 bash -c "[ \$(grep -c '\[src/0\] source task running' $WORK/run.log) -gt $started ]" || fail "task not started again"
wait_until 30 bash -c "curl -s $URL/connectors/src/tasks/0/status | jq -e '.state == \"RUNNING\"' >/dev/null" || fail "not RUNNING after restart"
call POST /connectors/src/restart
[ "$CODE" = 204 ] || fail "connector restart without tasks: HTTP $CODE"
call POST /connectors/nope/restart
expect 404 '.error_code == 404' "restart unknown connector"
call POST /connectors/src/tasks/3/restart
expect 404 '.message | test("Task src-3 not found")' "restart unknown task"
call GET /connectors/src/restart
expect 405 '.error_code == 405' "GET restart"
ferry_stop "$FERRY_PID"

# A failed task: FAILED with its error in trace, and /ready says 503.
cat >"$WORK/f.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC}
  rest: {listen: "127.0.0.1:0"}
connectors:
  bad:
    connector: file-sink
    topics: [lines]
    path: $WORK/no/such/dir/out.txt
    errors.restart.enabled: false
YAML
: >"$WORK/run.log"
ferry_start run "$WORK/f.yaml"
wait_until 30 grep -q "rest: listening on" "$WORK/run.log" || fail "no REST address (second run)"
URL=http://$(sed -n 's/.*rest: listening on http:\/\/\([^ ]*\).*/\1/p' "$WORK/run.log" | head -n1)
wait_until 30 bash -c "curl -s $URL/connectors/bad/status | jq -e '.tasks[0].state == \"FAILED\"' >/dev/null" ||
    fail "failed task not FAILED: $(curl -s "$URL/connectors/bad/status")"
call GET /connectors/bad/status
expect 200 '.tasks[0].trace | test("no/such/dir")' "trace names the error"
call GET /ready
expect 503 '(.status == "not ready") and (.message | test("bad/0 is FAILED"))' "not ready"
rc=0; "$FERRY" status --url "$URL" >"$WORK/status.out" || rc=$?
[ "$rc" = 1 ] || fail "ferry status with a FAILED task: exit $rc"
grep -Eq '^bad +sink +RUNNING +0 +FAILED' "$WORK/status.out" || fail "status table: $(cat "$WORK/status.out")"
grep -q 'no/such/dir' "$WORK/status.out" || fail "status shows no trace: $(cat "$WORK/status.out")"
# Mend the cause, restart only the failed tasks: RESTARTING, then RUNNING, then ready.
mkdir -p "$WORK/no/such/dir"
call POST '/connectors/bad/restart?includeTasks=true&onlyFailed=true'
expect 202 '(.name == "bad") and (.tasks[0].state == "RESTARTING")' "restart failed tasks"
wait_until 30 bash -c "curl -s $URL/connectors/bad/status | jq -e '.tasks[0].state == \"RUNNING\"' >/dev/null" ||
    fail "restarted task not RUNNING: $(curl -s "$URL/connectors/bad/status")"
call GET /ready
expect 200 '.status == "ready"' "ready after the restart"
rm -rf "$WORK/no"
kill -TERM "$FERRY_PID"; wait "$FERRY_PID" || true

# Off loopback a token is required; with one, every path but the probes asks for it.
sed -i 's/listen: "127.0.0.1:0"/listen: "0.0.0.0:0"/' "$WORK/f.yaml"
rc=0; "$FERRY" validate "$WORK/f.yaml" >"$WORK/v.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "validate accepted 0.0.0.0 without a token (exit $rc)"
grep -q "not a loopback address, so the REST API needs 'rest.token'" "$WORK/v.out" || fail "token message: $(cat "$WORK/v.out")"
: >"$WORK/empty-token"
sed "s|listen: \"0.0.0.0:0\"|listen: \"127.0.0.1:0\", token: \"\${file:$WORK/empty-token}\"|" "$WORK/f.yaml" >"$WORK/e.yaml"
rc=0; "$FERRY" validate "$WORK/e.yaml" >"$WORK/v.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "'rest.token': empty" "$WORK/v.out" || fail "an empty token accepted (exit $rc): $(cat "$WORK/v.out")"
sed 's|listen: "0.0.0.0:0"|listen: "127.0.0.1:"|' "$WORK/f.yaml" >"$WORK/e.yaml"
rc=0; "$FERRY" validate "$WORK/e.yaml" >"$WORK/v.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "listen without a port accepted (exit $rc)"
printf 's3cret-token\n' >"$WORK/token"
sed -i "s|listen: \"0.0.0.0:0\"|listen: \"0.0.0.0:0\", token: \"\${file:$WORK/token}\"|" "$WORK/f.yaml"
: >"$WORK/run.log"
ferry_start run "$WORK/f.yaml"
wait_until 30 grep -q "rest: listening on" "$WORK/run.log" || fail "no REST address (token run)"
PORT=$(sed -n 's/.*rest: listening on http:\/\/[^ ]*:\([0-9]*\).*/\1/p' "$WORK/run.log" | head -n1)
URL=http://127.0.0.1:$PORT
call GET /connectors
expect 401 '.error_code == 401' "no token"
curl -s -D - -o /dev/null "$URL/connectors" | grep -qi '^WWW-Authenticate: Bearer' || fail "401 without WWW-Authenticate"
# The token is checked before a body is read: a large one is refused at once.
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X PUT --data-binary "@$WORK/big.json" "$URL/connector-plugins/file-source/config/validate") || CODE=000
[ "$CODE" = 401 ] || [ "$CODE" = 000 ] || fail "a body without the token: HTTP $CODE"
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -H 'Authorization: Bearer wrong' "$URL/connectors")
expect 401 '.error_code == 401' "wrong token"
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -H "Authorization: Bearer $(cat "$WORK/token")" "$URL/connectors")
expect 200 '. == ["bad"]' "right token"
call GET /health
expect 200 '.status == "healthy"' "health needs no token"
rc=0; "$FERRY" status --url "$URL" >"$WORK/status.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "HTTP 401" "$WORK/status.out" || fail "ferry status without the token: exit $rc: $(cat "$WORK/status.out")"
FERRY_REST_TOKEN=$(cat "$WORK/token") "$FERRY" status --url "$URL" >"$WORK/status.out" 2>&1 || true
grep -Eq '^bad +sink' "$WORK/status.out" || fail "ferry status with FERRY_REST_TOKEN: $(cat "$WORK/status.out")"
kill -TERM "$FERRY_PID"; wait "$FERRY_PID" || true
rc=0; "$FERRY" status --url "$URL" >"$WORK/status.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "ferry status: http://127.0.0.1:$PORT/connectors" "$WORK/status.out" || fail "ferry status with no worker: exit $rc: $(cat "$WORK/status.out")"
# TLS: with a certificate and key the API speaks HTTPS only.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || fail "openssl could not make a certificate"
sed -i "s|^  rest: .*|  rest: {listen: \"127.0.0.1:0\", tls.cert: $WORK/cert.pem}|" "$WORK/f.yaml"
rc=0; "$FERRY" validate "$WORK/f.yaml" >"$WORK/v.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "'rest.tls.cert' and 'rest.tls.key' go together" "$WORK/v.out" || fail "a certificate without a key accepted (exit $rc): $(cat "$WORK/v.out")"
sed -i "s|tls.cert: $WORK/cert.pem}|tls.cert: $WORK/cert.pem, tls.key: $WORK/key.pem}|" "$WORK/f.yaml"
: >"$WORK/run.log"
ferry_start run "$WORK/f.yaml"
wait_until 30 grep -q "rest: listening on https://" "$WORK/run.log" || fail "no HTTPS address: $(tail -3 "$WORK/run.log")"
HOSTPORT=$(sed -n 's/.*rest: listening on https:\/\/\([^ ]*\).*/\1/p' "$WORK/run.log" | head -n1)
CODE=$(curl -s --cacert "$WORK/cert.pem" -o "$WORK/resp" -w '%{http_code}' "https://$HOSTPORT/connectors") || CODE=000
expect 200 '. == ["bad"]' "over HTTPS"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "http://$HOSTPORT/connectors") || CODE=000
[ "$CODE" = 000 ] || fail "plain HTTP answered $CODE on the HTTPS port"
ferry_stop "$FERRY_PID"
log "PASS"
