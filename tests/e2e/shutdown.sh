#!/usr/bin/env bash
# Graceful shutdown keeps its promise or says it could not:
#  1. a healthy stop exits 0, and a restart produces no duplicate;
#  2. when the broker stalls, the drain and the final offsets write cannot
#     finish: ferry exits 1 within shutdown.timeout and says what was not
#     committed (it used to log "stopped cleanly" and exit 0);
#  3. a connector whose stop() never returns cannot hold the worker past
#     shutdown.timeout: exit 1, naming the task;
#  4. a sink whose final flush() fails: exit 1, saying that the task failed
#     while stopping and that its uncommitted records come again (and a
#     restart does deliver them).
source "$TESTLIB"
: "${TESTKIT_DIR:?}"
broker_start --topic sd:2 --topic stall:2
export FERRY_PLUGIN_PATH="$FERRY_PLUGIN_DIR:$TESTKIT_DIR"

# exit_within NAME PID SECONDS: waits for PID, sets RC; fails when it takes longer.
exit_within() {
    local end=$((SECONDS + $3))
    while kill -0 "$2" 2>/dev/null; do
        [ $SECONDS -lt $end ] || fail "$1 did not exit within $3 s of SIGTERM"
        sleep 0.1
    done
    RC=0
    wait "$2" || RC=$?
}

# ---- 1 --------------------------------------------------------------------------------
cat >"$WORK/ok.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 1h}
connectors:
  gen: {connector: datagen, topic: sd, count: 3000, rate: 2000}
YAML
ferry_start ok "$WORK/ok.yaml"
wait_until 20 bash -c "[ \$(kcat -b $BROKER -C -t sd -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 500 ]" \
    || fail "no records"
ferry_stop "$FERRY_PID"
grep -qE "INFO +stopped cleanly" "$WORK/ok.log" || fail "no clean stop"
ferry_start ok2 "$WORK/ok.yaml"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t sd -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 3000 ]" \
    || fail "the restart did not finish the sequence"
sleep 1
ferry_stop "$FERRY_PID"
[ "$(topic_count sd)" = 3000 ] || fail "$(topic_count sd) records after a graceful stop and restart: duplicates"

# ---- 2 --------------------------------------------------------------------------------
cat >"$WORK/stall.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 1h}
  shutdown.timeout: 3s
connectors:
  gen: {connector: datagen, topic: stall, rate: 2000}
YAML
ferry_start stall "$WORK/stall.yaml"
# -c: a topic that keeps growing may never let kcat reach its end (-e).
wait_until 20 bash -c "[ \$(kcat -b $BROKER -C -t stall -o beginning -c 500 -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 500 ]" \
    || fail "no records before the stall"
broker_pause
sleep 0.5
kill -TERM "$FERRY_PID"
exit_within ferry "$FERRY_PID" 8
broker_resume
[ "$RC" = 1 ] || fail "ferry exited $RC although its final offsets could not be stored (expected 1)"
grep -qE "INFO +stopped cleanly" "$WORK/stall.log" && fail "ferry claims a clean stop"
grep -q "not stopped cleanly: .*final offsets .* were not stored" "$WORK/stall.log" \
    || grep -q "not stopped cleanly: .*not acknowledged by Kafka within shutdown.timeout" "$WORK/stall.log" \
    || fail "ferry does not say what was not committed"

# ---- 3 --------------------------------------------------------------------------------
cat >"$WORK/stuck.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC}
  shutdown.timeout: 2s
connectors:
  stuck: {connector: stuck-source}
YAML
ferry_start stuck "$WORK/stuck.yaml"
wait_until 20 grep -q "\[stuck/0\] source task running" "$WORK/stuck.log" || fail "stuck-source did not start"
kill -TERM "$FERRY_PID"
exit_within ferry "$FERRY_PID" 6
[ "$RC" = 1 ] || fail "ferry exited $RC after a stop() that never returned (expected 1)"
grep -q "stop() called: blocking forever" "$WORK/stuck.log" || fail "stop() was not called"
grep -q "\[stuck/0\] the connector's stop() did not return within shutdown.timeout" "$WORK/stuck.log" \
    || fail "the stuck task is not named"

# ---- 4 --------------------------------------------------------------------------------
cat >"$WORK/ff.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER", consumer.session.timeout.ms: "6000"}
  offsets: {topic: $OFFSETS_TOPIC}
  progress.interval: 500ms
connectors:
  ffsink: {connector: reject-sink, topics: sd, path: $WORK/ff.txt, flush.interval: 60s, flush.fail.on.stop: true}
YAML
ferry_start ff "$WORK/ff.yaml"
# (its file is written at flush, hence the progress line)
wait_until 30 grep -q "\[ffsink\] 3000 records" "$WORK/ff.log" || fail "reject-sink did not read sd"
kill -TERM "$FERRY_PID"
exit_within ferry "$FERRY_PID" 30
[ "$RC" = 1 ] || fail "ferry exited $RC after a final flush() failed (expected 1)"
grep -q "\[ffsink/0\] failed while stopping (flush: the target is gone" "$WORK/ff.log" ||
    fail "the failed final flush is not reported: $(grep ERROR "$WORK/ff.log" | head -n3)"
grep -qE "INFO +stopped cleanly" "$WORK/ff.log" && fail "ferry claimed a clean stop"
# Nothing was committed (the only flush failed): a restart reads sd again.
sed -i 's/flush.fail.on.stop: true/flush.fail.on.stop: false/' "$WORK/ff.yaml"
ferry_start ff2 "$WORK/ff.yaml"
wait_until 45 grep -q "\[ffsink\] 3000 records" "$WORK/ff2.log" || fail "the restarted sink did not get the records again"
ferry_stop "$FERRY_PID"
log "PASS"
