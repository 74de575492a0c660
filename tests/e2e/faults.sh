#!/usr/bin/env bash
# Faults through the binary:
#  1. a task that fails (file-source on a missing file) is restarted with
#     backoff and recovers once the file exists;
#  2. a broker that stops answering (SIGSTOP) makes the source wait, and
#     nothing is lost after it comes back;
#  3. (Apache Kafka only: the embedded broker holds ~5 MiB per partition)
#     with the default settings the wait takes bounded memory: a source that
#     could queue ~100 MB grows by far less than that while the broker is
#     stopped (librdkafka's own default would let it queue 400 MB of them).
source "$TESTLIB"
broker_start --topic rs:2 --topic bp:4 --topic mem:4

# ---- 1: restart after failure ------------------------------------------------------
cat >"$WORK/rs.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
connectors:
  late:
    connector: file-source
    path: $WORK/late.txt
    topic: rs
YAML
ferry_start rs "$WORK/rs.yaml"
wait_until 20 grep -q "task failed in open: .*late.txt" "$WORK/rs.log" || fail "missing file did not fail the task clearly"
wait_until 20 grep -q "restarting failed task" "$WORK/rs.log" || fail "failed task not scheduled for restart"
seq 1 100 >"$WORK/late.txt"
wait_until 60 bash -c "[ \$(kcat -b $BROKER -C -t rs -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 100 ]" \
    || fail "restarted task did not deliver the file"
ferry_stop "$FERRY_PID"

# ---- 1b: with errors.restart.enabled: false the task stays FAILED -----------------------
sed -e 's/  late:/  never:/' -e "s|late.txt|never.txt|" -e 's/    topic: rs/    topic: rs\n    errors.restart.enabled: false/' \
    "$WORK/rs.yaml" >"$WORK/norestart.yaml"
ferry_start norestart "$WORK/norestart.yaml"
wait_until 20 grep -q "task stays FAILED (errors.restart.enabled: false)" "$WORK/norestart.log" \
    || fail "task with errors.restart.enabled: false was not left FAILED"
seq 1 10 >"$WORK/never.txt"
sleep 3
grep -q "\[never/0\] restarting" "$WORK/norestart.log" && fail "task restarted despite errors.restart.enabled: false"
ferry_stop "$FERRY_PID"

# stall_broker SECONDS: stops the broker that long while ferry runs; sets
# rss_before (kB, just before) and max_rss (the peak, sampled every 0.2 s).
rss() { awk '/VmRSS/ {print $2}' "/proc/$FERRY_PID/status"; }
stall_broker() {
    rss_before=$(rss)
    max_rss=$rss_before
    broker_pause
    for _ in $(seq 1 $(($1 * 5))); do
        sleep 0.2
        local r
        r=$(rss)
        [ "$r" -gt "$max_rss" ] && max_rss=$r
    done
    broker_resume
}

# ---- 2: broker stalls ------------------------------------------------------------------
N=20000
cat >"$WORK/bp.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  progress.interval: 1s
connectors:
  gen:
    connector: datagen
    topic: bp
    count: $N
    rate: 4000
    value.size: 100
YAML
ferry_start bp "$WORK/bp.yaml"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t bp -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 2000 ]" \
    || fail "no records before the stall"
stall_broker 6
log "RSS before the stall ${rss_before} kB, peak during it ${max_rss} kB"
wait_until 90 bash -c "[ \$(kcat -b $BROKER -C -t bp -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge $N ]" \
    || fail "records missing after the broker came back"
ferry_stop "$FERRY_PID"
kcat -b "$BROKER" -C -t bp -o beginning -e -q -f '%k\n' 2>/dev/null | sort -n | uniq >"$WORK/keys"
[ "$(wc -l <"$WORK/keys")" = "$N" ] && [ "$(head -1 "$WORK/keys")" = 0 ] && [ "$(tail -1 "$WORK/keys")" = $((N - 1)) ] \
    || fail "keys are not exactly 0..$((N - 1))"

# ---- 3: bounded memory by default -------------------------------------------------------
if [ "$FERRY_TEST_BROKER" = kafka ]; then
    N=25000
    sed -e 's/^  gen:/  memgen:/' -e 's/flush.interval: 500ms/flush.interval: 60s/' -e 's/topic: bp/topic: mem/' -e "s/count: .*/count: $N/" -e 's/rate: .*/rate: 2500/' -e 's/value.size: .*/value.size: 4000/' \
        "$WORK/bp.yaml" >"$WORK/mem.yaml"
    ferry_start mem "$WORK/mem.yaml"
    wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t mem -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 500 ]" \
        || fail "no records before the stall"
    stall_broker 12
    log "4 KB records at 2500/s, broker stopped for 12 s: RSS ${rss_before} kB before, peak ${max_rss} kB"
    # In those 12 s the source had the ~98 MB of the remaining records to
    # queue (nothing is freed meanwhile, so ASan's quarantine does not grow);
    # the producer queue (4 MiB by default) must have stopped it. Measured
    # with the former 32 MiB default: ~48 MB growth, the queue plus the
    # produce requests already built from it and the allocator's overhead
    # (ASan's included); unbounded it would be > 100 MB.
    [ $((max_rss - rss_before)) -lt $((64 * 1024)) ] \
        || fail "memory grew by $((max_rss - rss_before)) kB while the broker was stopped (queue not bounded)"
    wait_until 120 bash -c "[ \$(kcat -b $BROKER -C -t mem -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge $N ]" \
        || fail "records missing after the broker came back"
    ferry_stop "$FERRY_PID"
    [ "$(kcat -b "$BROKER" -C -t mem -o beginning -e -q -f '%k\n' 2>/dev/null | sort -u | wc -l)" = "$N" ] \
        || fail "not exactly $N distinct keys in topic mem"
fi
log "PASS"
