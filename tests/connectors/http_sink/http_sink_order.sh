#!/usr/bin/env bash
# http-sink order: four partitions, max.in.flight 4 and a receiver that
# takes 80 ms a request. Several requests are on the wire at once (the
# receiver saw more than one at a time), never two of one partition, and
# each partition's records arrive in offset order, each once.
source "$(dirname "$0")/lib.sh"
broker_start --topic ord:4
httpd_start ord --delay-ms 80
for p in 0 1 2 3; do produce ord $p 0 149; done
{
    worker_yaml
    cat <<YAML
connectors:
  ord-sink:
    connector: http-sink
    topics: ord
    url: "$HTTPD/ord"
    format: ndjson
    batch.max.records: 10
    max.in.flight: 4
    flush.interval: 500ms
YAML
} >"$WORK/ord.yaml"
ferry_start ord "$WORK/ord.yaml"
wait_until 50 arrived --format ndjson --expect ord:4:150 --at-least-once || fail "not every record arrived"
ferry_stop "$FERRY_PID"
check --format ndjson --expect ord:4:150 --exactly-once --ordered --keys || fail "not exactly once in order"
httpd_stats | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
print("receiver: at most %d requests at once, at most %d of one partition" % (s["max_concurrent"], s["max_concurrent_per_partition"]))
assert s["max_concurrent"] >= 2, "requests never overlapped: max.in.flight not used"
assert s["max_concurrent_per_partition"] == 1, "two requests of one partition were in flight at once"
' || fail "concurrency"
log "PASS"
