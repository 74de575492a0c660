#!/usr/bin/env bash
# http-sink with OAuth2 client credentials: the receiver's tokens live 2 s
# and it refuses expired ones with 401. Records trickle in for ~7 s: the
# sink fetches several tokens (refreshing before expiry, or after a 401),
# every record is accepted, and the task never fails. Then the receiver
# revokes a cached token: the 401 drops it and the batch goes again at once. The client secret
# comes from ${env:...}.
source "$(dirname "$0")/lib.sh"
broker_start --topic oa:1
httpd_start oa --oauth2-client "ferry-client:s3cr3t value" --token-ttl 2
export OA_SECRET="s3cr3t value"
{
    worker_yaml
    cat <<YAML
connectors:
  oa-sink:
    connector: http-sink
    topics: oa
    url: "$HTTPD/oa"
    flush.interval: 300ms
    auth.type: oauth2
    auth.oauth2.token.url: "$HTTPD/token"
    auth.oauth2.client.id: ferry-client
    auth.oauth2.client.secret: "\${env:OA_SECRET}"
    auth.oauth2.scope: "ingest write"
YAML
} >"$WORK/oa.yaml"
ferry_start oa "$WORK/oa.yaml"
produce oa 0 0 9
wait_until 30 arrived --expect oa:1:10 --at-least-once || fail "the first records did not arrive"
for k in $(seq 1 13); do
    produce oa 0 $((k * 10)) $((k * 10 + 9))
    sleep 0.5
done
wait_until 30 arrived --expect oa:1:140 --at-least-once || fail "not every record arrived"
# The receiver forgets its tokens (new ones live an hour); once a token of an
# hour is cached, it forgets again: the next batch meets a 401 for sure.
curl -sf -m 5 -X POST "$HTTPD/__revoke?ttl=3600" >/dev/null
produce oa 0 140 149
wait_until 30 arrived --expect oa:1:150 --at-least-once || fail "records after the first revocation did not arrive"
curl -sf -m 5 -X POST "$HTTPD/__revoke" >/dev/null
produce oa 0 150 159
wait_until 30 arrived --expect oa:1:160 --at-least-once || fail "records after the second revocation did not arrive"
ferry_stop "$FERRY_PID"
check --expect oa:1:160 --at-least-once --ordered || fail "records missing"
grep -q "s3cr3t" "$WORK/oa.log" && fail "the client secret is in the log"
grep -q "task failed" "$WORK/oa.log" && fail "the task failed"
httpd_stats | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
print("tokens issued %d, requests refused for their token %d" % (s["tokens_issued"], s["token_rejected"]))
assert s["tokens_issued"] >= 3, "the token was not refreshed"
assert s["token_rejected"] >= 1, "the revoked token was never refused"
' || fail "token refresh"
# Every batch was accepted in the end: no Idempotency-Key whose last answer is a 401.
/usr/bin/python3 - "$HTTPD_LOG" <<'PY' || fail "a request was refused in the end"
import json, sys
last = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == "/token":
        assert "scope=ingest+write" in r["body"] or "scope=ingest%20write" in r["body"], r["body"]
        continue
    last[r["headers"]["Idempotency-Key"]] = r["status"]
bad = [k for k, s in last.items() if s != 200]
assert not bad, "refused in the end: %s" % bad
PY
log "PASS"
