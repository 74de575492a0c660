#!/usr/bin/env bash
# http-sink rejections: the receiver answers 400 to any batch holding a record
# marked "bad". With errors.tolerance: all and a dead-letter topic, the
# records of the rejected batches (and only those) are in the dead-letter topic, with Connect's
# error headers naming the status and the receiver's reply; every other
# record is accepted, once. With
# errors.tolerance: none the task fails for good, naming the url and status.
source "$(dirname "$0")/lib.sh"
broker_start --topic rej:2 --topic rejdlq:1 --topic strict:1
httpd_start rej --fault '{"status": 400, "match": "\"bad\":true", "body": "{\"error\":\"field bad is not allowed\"}"}'
# Partition 0: records 0..59, 17 and 42 are bad; partition 1: 0..59, none bad.
for i in $(seq 0 59); do
    extra=; case $i in 17 | 42) extra=',"bad":true' ;; esac
    printf 'k%d\t{"id":"rej-0-%d","seq":%d,"p":0%s}\n' "$i" "$i" "$i" "$extra"
done | kcat -b "$BROKER" -P -t rej -p 0 -K $'\t'
produce rej 1 0 59
{
    worker_yaml
    cat <<YAML
connectors:
  rej-sink:
    connector: http-sink
    topics: rej
    url: "$HTTPD/rej"
    batch.max.records: 5
    flush.interval: 500ms
    errors.tolerance: all
    errors.deadletterqueue.topic.name: rejdlq
    errors.deadletterqueue.context.headers.enable: true
YAML
} >"$WORK/rej.yaml"
ferry_start rej "$WORK/rej.yaml"
dlq_n() { topic_count rejdlq; }
wait_until 40 bash -c "[ \$(kcat -b $BROKER -C -t rejdlq -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 10 ]" ||
    fail "the rejected batches did not reach the dead-letter topic ($(dlq_n) records)"
sleep 2 # a flush and a commit
ferry_stop "$FERRY_PID"
kcat -b "$BROKER" -C -t rejdlq -o beginning -e -q -J >"$WORK/dlq.json" 2>>"$WORK/kcat.log"
/usr/bin/python3 - "$WORK/dlq.json" "$HTTPD_LOG" <<'PY' || fail "dead-letter topic or deliveries wrong"
import base64, collections, json, sys
dlq = [json.loads(l) for l in open(sys.argv[1])]
ids = [json.loads(m["payload"])["id"] for m in dlq]
reqs = [json.loads(l) for l in open(sys.argv[2])]
# What the receiver refused: the records of every 400-answered body.
refused = set(rec["id"] for r in reqs if r["status"] == 400 for rec in json.loads(r["body"]))
assert {"rej-0-17", "rej-0-42"} <= set(ids), "a bad record is not in the DLQ: %s" % ids
assert len(ids) == len(set(ids)), "a record is twice in the DLQ: %s" % ids
assert set(ids) <= refused, "DLQ records that were never refused: %s" % (set(ids) - refused)
assert all(i.startswith("rej-0-") for i in ids), ids
want = ids
for m in dlq:
    h = dict(zip(m["headers"][0::2], m["headers"][1::2]))
    assert h.get("__connect.errors.topic") == "rej", h
    assert h.get("__connect.errors.partition") == "0", h
    msg = h.get("__connect.errors.exception.message", "")
    assert "answered 400" in msg and "field bad is not allowed" in msg and "/rej" in msg, msg
accepted = collections.Counter()
for r in reqs:
    if r["status"] == 200:
        for rec in json.loads(r["body"]):
            accepted[rec["id"]] += 1
expect = set("rej-%d-%d" % (p, i) for p in (0, 1) for i in range(60)) - set(want)
missing = expect - set(accepted)
assert not missing, "not delivered: %s" % sorted(missing)[:5]
assert not (set(accepted) - expect), "a rejected record was accepted"
assert max(accepted.values()) == 1, "a record was accepted twice"
assert refused - set(ids) <= set(accepted), "refused, not in the DLQ, never accepted"
print("DLQ: %d records (the batches holding 17 and 42) with error headers; %d others accepted once" % (len(dlq), len(expect)))
PY

# ---- errors.tolerance: none ----------------------------------------------------------
printf 'k0\t{"id":"strict-0-0","seq":0,"p":0,"bad":true}\n' | kcat -b "$BROKER" -P -t strict -p 0 -K $'\t'
{
    worker_yaml
    cat <<YAML
connectors:
  strict-sink:
    connector: http-sink
    topics: strict
    url: "$HTTPD/strict"
    flush.interval: 300ms
YAML
} >"$WORK/strict.yaml"
ferry_start strict "$WORK/strict.yaml"
wait_until 30 grep -q "\[strict-sink/0\] task failed\|strict-sink/0.*FAILED" "$WORK/strict.log" || fail "the task did not fail"
grep -q "answered 400" "$WORK/strict.log" || fail "the failure does not name the status"
grep -q "/strict" "$WORK/strict.log" || fail "the failure does not name the url"
log "PASS"
