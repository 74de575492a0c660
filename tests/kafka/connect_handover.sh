#!/usr/bin/env bash
# Byte compatibility of the offsets topic with Kafka Connect, both ways, on
# one offsets topic and one connector name: Kafka Connect's
# FileStreamSourceConnector reads a file and stops; ferry's file-source
# under the same name resumes exactly where Connect stopped; then Connect
# resumes exactly where ferry stopped. The topic holds every line once, in
# order: no duplicate, no gap.
#
# (Connect's JsonConverter writes a line as a JSON string, "line-1", where
# ferry's file-source writes its bytes, line-1: the values are compared
# with the quotes taken off.)
source "$TESTLIB"
broker_start --topic ho-lines:1
HO_OFFSETS=connect-handover-offsets
kafka_admin delete "$HO_OFFSETS" || fail "could not delete $HO_OFFSETS" # Connect creates it

rest() { # rest METHOD PATH [JSON]
    curl -sS -f -m 30 -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "$CONNECT_URL$2"
}
connect_source() { # starts Connect on the shared offsets topic with connector "ho"
    connect_start "offset.storage.topic=$HO_OFFSETS"
    rest PUT /connectors/ho/config \
        "{\"connector.class\":\"FileStreamSource\",\"file\":\"$WORK/in.txt\",\"topic\":\"ho-lines\",\"tasks.max\":\"1\"}" \
        >/dev/null || fail "could not create the Connect source"
}
lines() { # the topic's values, unquoted
    kcat -b "$BROKER" -C -t ho-lines -o beginning -e -q -f '%s\n' 2>>"$WORK/kcat.log" | sed 's/^"\(.*\)"$/\1/'
}
stored_position() { # the last offset record of "ho" in the shared topic
    kcat -b "$BROKER" -C -t "$HO_OFFSETS" -o beginning -e -q -f '%k\t%s\n' 2>>"$WORK/kcat.log" |
        grep -F "[\"ho\",{\"filename\":\"$WORK/in.txt\"}]" | tail -n1 | cut -f2
}
want_position() { echo "{\"position\":$(stat -c %s "$WORK/in.txt")}"; }

# ---- 1: Kafka Connect reads lines 1-200 --------------------------------------------------
seq 1 200 | sed 's/^/line-/' >"$WORK/in.txt"
connect_source
wait_until 90 bash -c "[ \$(kcat -b $BROKER -C -t ho-lines -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 200 ]" ||
    fail "Connect delivered $(lines | wc -l) of 200 lines"
wait_until 30 bash -c "[ \"\$(kcat -b $BROKER -C -t $HO_OFFSETS -o beginning -e -q -f '%s\n' 2>/dev/null | tail -n1)\" = '$(want_position)' ]" ||
    fail "Connect did not store its position: $(stored_position)"
bash "$FERRY_SOURCE_DIR/tests/kafka/kafka.sh" connect-stop "$WORK/connect" || fail "Connect did not stop"
log "Connect stopped at $(stored_position)"

# ---- 2: ferry resumes, reads lines 201-400 ----------------------------------------------
seq 201 400 | sed 's/^/line-/' >>"$WORK/in.txt"
cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $HO_OFFSETS, flush.interval: 500ms}
connectors:
  ho: {connector: file-source, path: $WORK/in.txt, topic: ho-lines}
YAML
ferry_start ferry "$WORK/p.yaml"
wait_until 60 bash -c "[ \$(kcat -b $BROKER -C -t ho-lines -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 400 ]" ||
    fail "ferry did not deliver lines 201-400 ($(lines | wc -l) lines in the topic)"
grep -q "offsets: topic $HO_OFFSETS (25 partitions, 1 stored)" "$WORK/ferry.log" ||
    fail "ferry did not load Connect's offset: $(grep 'offsets:' "$WORK/ferry.log")"
sleep 1 # one more offsets flush
ferry_stop "$FERRY_PID"
[ "$(stored_position)" = "$(want_position)" ] || fail "ferry stored $(stored_position), expected $(want_position)"
log "ferry stopped at $(stored_position)"

# ---- 3: Kafka Connect resumes, reads lines 401-600 --------------------------------------
seq 401 600 | sed 's/^/line-/' >>"$WORK/in.txt"
connect_source
wait_until 90 bash -c "[ \$(kcat -b $BROKER -C -t ho-lines -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 600 ]" ||
    fail "Connect did not deliver lines 401-600 ($(lines | wc -l) lines in the topic)"
sleep 2 # duplicates, if any, would arrive now
rest DELETE /connectors/ho >/dev/null || true
bash "$FERRY_SOURCE_DIR/tests/kafka/kafka.sh" connect-stop "$WORK/connect"
lines | cmp -s - "$WORK/in.txt" ||
    fail "the topic is not the file's 600 lines once each, in order: $(lines | wc -l) lines; first difference: $(lines | cmp - "$WORK/in.txt" 2>&1 | head -n1)"
log "PASS"
