#!/usr/bin/env bash
# The SDK's host contract, 1.1 additions and the engine review's smaller
# defects, with the testkit plugin and a plugin built against ABI 1.0:
#  1. a plugin built against the previous SDK (1.0) loads and runs;
#  2. a secret the plugin writes into log lines and error messages is
#     scrubbed; while poll() returns RETRY, delivery reports are served and
#     offsets are stored and committed;
#  3. an error message without a NUL does not make the host read past it;
#  4. task_configs may not set runtime keys; no connector may write to the
#     offsets topic;
#  5. sinks: sink_rewind re-delivers, request_commit commits before the
#     interval, partitions_assigned/revoked are called, sink_pause holds a
#     partition until sink_resume.
source "$TESTLIB"
: "${TESTKIT_DIR:?}" "${LEGACY_DIR:?}"
broker_start --topic legacy:1 --topic mixed:1 --topic ctxa:1 --topic ctxb:1 --topic ctxc:1
export FERRY_PLUGIN_PATH="$FERRY_PLUGIN_DIR:$TESTKIT_DIR:$LEGACY_DIR"

# ---- 1: ABI 1.0 ---------------------------------------------------------------------
cat >"$WORK/legacy.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER", consumer.session.timeout.ms: "6000"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 200ms}
connectors:
  old-src: {connector: legacy-source, topic: legacy, count: 25}
  old-sink: {connector: legacy-sink, topics: legacy, path: $WORK/legacy.out, flush.interval: 300ms}
YAML
"$FERRY" plugins >"$WORK/plugins.txt" 2>&1
grep -q "legacy-source" "$WORK/plugins.txt" || fail "the 1.0 plugin was not loaded: $(grep -i legacy "$WORK/plugins.txt")"
ferry_start legacy "$WORK/legacy.yaml"
wait_until 60 bash -c "[ \$(wc -l <$WORK/legacy.out 2>/dev/null || echo 0) -ge 25 ]" || fail "1.0 plugin pipeline did not deliver"
ferry_stop "$FERRY_PID"
[ "$(sort -u "$WORK/legacy.out" | wc -l)" = 25 ] && grep -qx "legacy:24" "$WORK/legacy.out" || fail "wrong records from the 1.0 plugin"
"$FERRY" offsets "$WORK/legacy.yaml" --connector old-src | grep -q '"offset":{"n":24}' || fail "1.0 source offsets not stored"

# ---- 2: secrets; offsets while retrying ---------------------------------------------------
SECRET=s3cr3t-pw-77
cat >"$WORK/retry.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 200ms}
connectors:
  leaky: {connector: mixed-source, topic: mixed, count: 20, retry.after: 5, release.path: $WORK/release,
          password: $SECRET, errors.retry.delay.max: 300ms}
YAML
ferry_start retry "$WORK/retry.yaml"
wait_until 20 grep -q "retrying from n=5" "$WORK/retry.log" || fail "the source did not start retrying"
# While poll() keeps returning RETRY, the first five are acknowledged, stored and committed.
wait_until 20 grep -q 'commit {"n":4}' "$WORK/retry.log" || fail "no commit while poll() was retried"
"$FERRY" offsets "$WORK/retry.yaml" --connector leaky | grep -q '"offset":{"n":4}' || fail "offsets not stored while retrying"
wait_until 10 grep -q "upstream unavailable (password \[hidden\])" "$WORK/retry.log" || fail "the RETRY message is not shown scrubbed"
touch "$WORK/release"
wait_until 20 grep -q 'commit {"n":19}' "$WORK/retry.log" || fail "the source did not resume"
ferry_stop "$FERRY_PID"
grep -q "connecting with password \[hidden\]" "$WORK/retry.log" || fail "the plugin's log line is missing"
grep -q "$SECRET" "$WORK/retry.log" && fail "the secret reached the log: $(grep "$SECRET" "$WORK/retry.log" | head -2)"

# ---- 3: an error message without NUL ------------------------------------------------------
cat >"$WORK/nul.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC}
connectors:
  unterminated: {connector: mixed-source, topic: mixed, fail.unterminated: true, errors.restart.enabled: false}
YAML
ferry_start nul "$WORK/nul.yaml"
wait_until 20 grep -q "\[unterminated/0\] task failed in poll: AAAA" "$WORK/nul.log" || fail "the failure was not reported"
ferry_stop "$FERRY_PID"

# ---- 4: keys and topics no connector may use ------------------------------------------------
printf 'connectors:\n  t: {connector: taskcfg-source, forbidden.key: producer.override.plugin.library.paths}\n' >"$WORK/taskcfg.yaml"
rc=0
"$FERRY" validate "$WORK/taskcfg.yaml" >"$WORK/taskcfg.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "task_configs set 'producer.override.plugin.library.paths' for task 0, which it may not" \
    "$WORK/taskcfg.out" || fail "task_configs bypassed the override allow-list: $(cat "$WORK/taskcfg.out")"
printf 'connectors:\n  g: {connector: datagen, topic: ferry-offsets}\n' >"$WORK/offtopic.yaml"
rc=0
"$FERRY" validate "$WORK/offtopic.yaml" >"$WORK/offtopic.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "names the offsets topic 'ferry-offsets', which only the runtime writes" "$WORK/offtopic.out" \
    || fail "a source may write to the offsets topic: $(cat "$WORK/offtopic.out")"

# ---- 5: the sink context ------------------------------------------------------------------------
seq 0 19 | sed 's/$/:ok/' | kcat -b "$BROKER" -P -t ctxa -p 0
seq 0 19 | sed 's/$/:ok/' | kcat -b "$BROKER" -P -t ctxb -p 0
seq 0 19 | sed 's/$/:ok/' | kcat -b "$BROKER" -P -t ctxc -p 0
cat >"$WORK/ctx.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER", consumer.session.timeout.ms: "6000"}
  offsets: {topic: $OFFSETS_TOPIC}
connectors:
  ctxa: {connector: reject-sink, topics: ctxa, path: $WORK/ctxa.out, rewind.once: true, commit.request: true,
         flush.interval: 1h}
  ctxb: {connector: reject-sink, topics: ctxb, path: $WORK/ctxb.out, pause.ms: 2000, flush.interval: 200ms}
  ctxc:
    connector: reject-sink
    topics: ctxc
    path: $WORK/ctxc.out
    rewind.once: true
    flush.interval: 200ms
    transforms: rename
    transforms.rename.type: RegexRouter
    transforms.rename.regex: 'ctx(.)'
    transforms.rename.replacement: 'renamed-ctx\$1'
YAML
ferry_start ctx "$WORK/ctx.yaml"
committed() {
    /usr/bin/python3 - "$BROKER" "$1" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "ferry-" + sys.argv[2], "enable.auto.commit": False})
print(c.committed([TopicPartition(sys.argv[2], 0)], timeout=10)[0].offset)
c.close()
PY
}
wait_until 60 bash -c "[ \$(wc -l <$WORK/ctxa.out 2>/dev/null || echo 0) -ge 40 ]" || fail "the rewind did not re-deliver"
[ "$(committed ctxa)" = 20 ] || fail "request_commit did not commit before flush.interval (committed $(committed ctxa))"
grep -q "\[ctxa/0\] rewinding ctxa/0 to offset 0" "$WORK/ctx.log" || fail "the host did not log the rewind"
[ "$(sort -u "$WORK/ctxa.out" | wc -l)" = 20 ] || fail "wrong records after the rewind"
wait_until 30 grep -q "\[ctxb/0\] assigned ctxb/0" "$WORK/ctx.log" || fail "partitions_assigned was not called"
sleep 1
[ ! -s "$WORK/ctxb.out" ] || fail "records arrived although the partition was paused"
wait_until 20 grep -q "\[ctxb/0\] resumed after" "$WORK/ctx.log" || fail "never resumed"
wait_until 20 bash -c "[ \$(wc -l <$WORK/ctxb.out 2>/dev/null || echo 0) -ge 20 ]" || fail "nothing after resume"
# A rewind the connector asks for under the name its transforms gave
# (renamed-ctxc) is carried back to the consumed partition.
wait_until 60 bash -c "[ \$(wc -l <$WORK/ctxc.out 2>/dev/null || echo 0) -ge 40 ]" || fail "the rewind of a renamed topic did not re-deliver"
grep -q "\[ctxc/0\] rewinding renamed-ctxc/0 to 0" "$WORK/ctx.log" || fail "reject-sink did not rewind under the new name"
grep -q "\[ctxc/0\] rewinding ctxc/0 to offset 0" "$WORK/ctx.log" || fail "the host did not rewind the consumed partition"
[ "$(sort -u "$WORK/ctxc.out" | wc -l)" = 20 ] || fail "wrong records after the renamed rewind"
for _ in $(seq 1 40); do [ "$(committed ctxc)" = 20 ] && break; sleep 0.5; done
[ "$(committed ctxc)" = 20 ] || fail "renamed: committed $(committed ctxc), not 20"
ferry_stop "$FERRY_PID"
grep -q "\[ctxb/0\] revoked ctxb/0" "$WORK/ctx.log" || fail "partitions_revoked was not called at close"
grep -q "\[ctxc/0\] revoked renamed-ctxc/0" "$WORK/ctx.log" || fail "partitions_revoked did not name the renamed topic"
grep -q "\[ctxc/0\] revoked ctxc/0" "$WORK/ctx.log" || fail "partitions_revoked did not name the consumed topic"
log "PASS"
