#!/usr/bin/env bash
# http-sink crash: kill -9 while requests are in flight (a slow receiver),
# then restart: nothing is lost (offsets were committed only for records the
# receiver acknowledged), and what was sent twice carries the same
# Idempotency-Key, so the deduplicating receiver accepts each record once.
source "$(dirname "$0")/lib.sh"
broker_start --topic cr:2
httpd_start cr --dedup --delay-ms 150
produce cr 0 0 999
produce cr 1 0 999
{
    worker_yaml
    cat <<YAML
connectors:
  cr-sink:
    connector: http-sink
    topics: cr
    url: "$HTTPD/cr"
    batch.max.records: 40
    flush.interval: 300ms
YAML
} >"$WORK/cr.yaml"
ferry_start cr1 "$WORK/cr.yaml"
wait_until 30 bash -c "[ \$(wc -l <'$HTTPD_LOG') -ge 8 ]" || fail "nothing arrived"
kill -9 "$FERRY_PID"
wait "$FERRY_PID" 2>/dev/null || true
before=$(wc -l <"$HTTPD_LOG")
log "killed after $before requests"
ferry_start cr2 "$WORK/cr.yaml"
wait_until 50 arrived --expect cr:2:1000 --at-least-once || { check --expect cr:2:1000 --at-least-once || true; fail "records lost after kill -9"; }
ferry_stop "$FERRY_PID"
check --expect cr:2:1000 --exactly-once --ordered --keys || fail "not exactly once after the restart"
log "PASS"
