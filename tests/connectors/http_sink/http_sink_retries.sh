#!/usr/bin/env bash
# http-sink retries: 500s, 429 with Retry-After (seconds and an HTTP-date), a
# connection reset and a reply slower than `timeout` (the receiver took the
# batch, the sink did not learn it) are all retried; with a receiver that
# drops duplicates by Idempotency-Key every record is accepted exactly once.
source "$(dirname "$0")/lib.sh"
broker_start --topic rt:2
date_in_2s=$(/usr/bin/python3 -c 'import email.utils,time; print(email.utils.formatdate(time.time()+2, usegmt=True))')
httpd_start rt --dedup \
    --fault '{"status": 500, "count": 3}' \
    --fault '{"status": 429, "retry_after": "1", "count": 2}' \
    --fault "{\"status\": 429, \"retry_after\": \"$date_in_2s\", \"count\": 1}" \
    --fault '{"reset": true, "count": 2}' \
    --fault '{"slow": 2.5, "count": 1}'
produce rt 0 0 299
produce rt 1 0 299
# ${topic} is the sink's placeholder, not a reference (those have a provider: ${env:X}).
{
    worker_yaml
    cat <<YAML
connectors:
  rt-sink:
    connector: http-sink
    topics: rt
    url: "$HTTPD/ingest/\${topic}/\${partition}"
    batch.max.records: 50
    timeout: 1s
    retry.max: 8
    retry.backoff.initial: 50ms
    retry.backoff.max: 500ms
    flush.interval: 500ms
YAML
} >"$WORK/rt.yaml"
ferry_start rt "$WORK/rt.yaml"
wait_until 40 arrived --expect rt:2:300 --at-least-once || { check --expect rt:2:300 --at-least-once || true; fail "not every record arrived"; }
ferry_stop "$FERRY_PID"
# The slow reply is logged when its handler wakes up (2.5 s after it began).
wait_until 10 grep -q '"dup": true' "$HTTPD_LOG" || fail "the slow reply left no duplicate to drop"
check --expect rt:2:300 --exactly-once --ordered --keys || fail "not exactly once in order"
/usr/bin/python3 - "$HTTPD_LOG" <<'PY' || fail "the faults were not all met, or Retry-After not honoured"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
by = lambda f: [r for r in reqs if r["fault"] == f or (f == "dup" and r["dup"])]
st = [r["status"] for r in reqs]
assert st.count(500) == 3 and st.count(429) == 3, "500s %d, 429s %d" % (st.count(500), st.count(429))
assert len(by("reset")) == 2, "resets %d" % len(by("reset"))
assert len(by("dup")) >= 1, "the slow reply left no duplicate to drop"
assert all(r["path"] in ("/ingest/rt/0", "/ingest/rt/1") for r in reqs), "a url was not expanded"
# Retry-After: the same batch (key) is not asked again before the server said
# ("1": a second; the HTTP-date may have passed by the time it was answered).
gaps = []
for i, r in enumerate(reqs):
    if r["status"] != 429:
        continue
    key = r["headers"]["Idempotency-Key"]
    nxt = next(x for x in reqs[i + 1:] if x["headers"].get("Idempotency-Key") == key)
    gaps.append(nxt["t"] - r["t"])
assert sum(g >= 0.9 for g in gaps) >= 2, "retried %s s after 429s with Retry-After" % ["%.2f" % g for g in gaps]
print("faults met: 3x500, 3x429 (Retry-After honoured), 2 resets, %d duplicate(s) dropped" % len(by("dup")))
PY
grep -q "task failed" "$WORK/rt.log" && fail "the task failed"
log "PASS"
