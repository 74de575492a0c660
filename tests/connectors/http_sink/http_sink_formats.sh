#!/usr/bin/env bash
# http-sink formats: one topic with JSON values, a plain-text value and a
# tombstone, read by three sinks: json-array (JSON embedded, text as a JSON
# string), ndjson (one value per line), single (each value as it is, one
# request each). Also: method PUT, custom headers, content.type, and
# ${key} in the url.
source "$(dirname "$0")/lib.sh"
broker_start --topic fmt:1
httpd_start fmt
{
    printf 'a\t{"n":1}\n'
    printf 'b\tplain "text"\n'
    printf 'c\t[1,2,3]\n'
} | kcat -b "$BROKER" -P -t fmt -p 0 -K $'\t'
printf 'd\t\n' | kcat -b "$BROKER" -P -t fmt -p 0 -K $'\t' -Z # a tombstone (NULL value)
printf 'e\t{"n":5}\n' | kcat -b "$BROKER" -P -t fmt -p 0 -K $'\t'
{
    worker_yaml
    cat <<YAML
connectors:
  fa:
    connector: http-sink
    topics: fmt
    url: "$HTTPD/ja"
    format: json-array
    flush.interval: 300ms
    headers: {X-Source: ferry, X-Env: test}
  fn:
    connector: http-sink
    topics: fmt
    url: "$HTTPD/nd"
    format: ndjson
    method: PUT
    flush.interval: 300ms
  fs:
    connector: http-sink
    topics: fmt
    url: "$HTTPD/single/\$\${key}"
    format: single
    method: PATCH
    content.type: text/plain
    flush.interval: 300ms
YAML
} >"$WORK/fmt.yaml"
ferry_start fmt "$WORK/fmt.yaml"
count_of() { /usr/bin/python3 -c "import json,sys; print(sum(len(json.loads(l)['body']) > 0 and json.loads(l)['path'].startswith(sys.argv[2]) for l in open(sys.argv[1])))" "$HTTPD_LOG" "$1"; }
wait_until 30 bash -c "[ \$(grep -c '\"path\": \"/single/' '$HTTPD_LOG') -ge 4 ] && grep -q '\"path\": \"/ja\"' '$HTTPD_LOG' && grep -q '\"path\": \"/nd\"' '$HTTPD_LOG'" ||
    fail "not every sink delivered"
sleep 1
ferry_stop "$FERRY_PID"
/usr/bin/python3 - "$HTTPD_LOG" <<'PY' || fail "bodies are not as the formats say"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
def bodies(prefix):
    return [r for r in reqs if r["path"].startswith(prefix)]
ja = [v for r in bodies("/ja") for v in json.loads(r["body"])]
assert ja == [{"n": 1}, 'plain "text"', [1, 2, 3], {"n": 5}], ja
r = bodies("/ja")[0]
assert r["method"] == "POST" and r["headers"]["Content-Type"] == "application/json", r["headers"]
assert r["headers"]["X-Source"] == "ferry" and r["headers"]["X-Env"] == "test", r["headers"]
nd = "".join(r["body"] for r in bodies("/nd"))
assert nd == '{"n":1}\n"plain \\"text\\""\n[1,2,3]\n{"n":5}\n', repr(nd)
r = bodies("/nd")[0]
assert r["method"] == "PUT" and r["headers"]["Content-Type"] == "application/x-ndjson", r
single = [(r["path"], r["body"], r["method"], r["headers"]["Content-Type"]) for r in bodies("/single")]
assert single == [("/single/a", '{"n":1}', "PATCH", "text/plain"), ("/single/b", 'plain "text"', "PATCH", "text/plain"),
                  ("/single/c", "[1,2,3]", "PATCH", "text/plain"), ("/single/e", '{"n":5}', "PATCH", "text/plain")], single
keys = [r["headers"]["Idempotency-Key"] for r in bodies("/single")]
assert keys == ["fmt-0-0-0", "fmt-0-1-1", "fmt-0-2-2", "fmt-0-4-4"], keys
print("json-array, ndjson and single bodies as documented; tombstone skipped")
PY
log "PASS"
