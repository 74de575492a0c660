#!/usr/bin/env bash
# Connectors created, changed, stopped and deleted over the REST API, as
# Kafka Connect's: what flows follows each call; bad bodies get 400 naming
# the option; a ${env:} reference from REST is refused unless allow-listed;
# everything survives a restart (the config topic on Kafka); the later of a
# REST change and a YAML change wins; SIGHUP applies the YAML file (changed
# connectors restart, unchanged ones run on, an invalid file is rejected).
source "$TESTLIB"
broker_start --topic lc-t1:1 --topic lc-t2:2
CONFIG_TOPIC=lc-configs-$$
# A restarted sink rejoins its group at once on Kafka; librdkafka's mock
# broker waits for the old member's session to time out.
SESSION='"consumer.override.session.timeout.ms":"6000"'
seq 1 50 | sed 's/^/a-/' >"$WORK/in1.txt"
seq 1 100 | sed 's/^/b-/' >"$WORK/in2.txt"
yaml() { # the YAML file; $1 = extra connector lines
    cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
  config.topic: $CONFIG_TOPIC
  config.providers.env.param.allowlist.pattern: "LC_OK_.*"
  rest: {listen: "127.0.0.1:0"}
  progress.interval: 0
connectors:
  lc-yml:
    connector: file-source
    path: \${env:LC_OK_IN1}
    topic: lc-t1
${1:-}
YAML
}
export LC_OK_IN1=$WORK/in1.txt
yaml
start() {
    : >"$WORK/run.log"
    ferry_start run "$WORK/p.yaml"
    wait_until 30 grep -q "rest: listening on" "$WORK/run.log" || fail "no REST address in the log"
    URL=http://$(sed -n 's/.*rest: listening on http:\/\/\([^ ]*\).*/\1/p' "$WORK/run.log" | head -n1)
}
call() { # METHOD PATH [BODY]: the body in $WORK/resp, the status in CODE
    local args=(-s -o "$WORK/resp" -w '%{http_code}' -X "$1" "$URL$2")
    [ -z "${3:-}" ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
    CODE=$(curl "${args[@]}") || CODE=000
}
expect() { # CODE JQ-EXPRESSION WHAT
    [ "$CODE" = "$1" ] || fail "$3: HTTP $CODE, expected $1: $(head -c 600 "$WORK/resp")"
    [ -z "$2" ] || jq -e "$2" "$WORK/resp" >/dev/null || fail "$3: $2 is not true of $(head -c 800 "$WORK/resp")"
}
state_is() { # CONNECTOR STATE [TASK-STATES-JSON]
    curl -s "$URL/connectors/$1/status" | jq -e ".connector.state == \"$2\" and ([.tasks[].state] == ${3:-[.tasks[].state]})" >/dev/null
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
started() { grep -c "\[$1/0\] .* task running" "$WORK/run.log" || true; }
start

# Create: POST a source, PUT a sink; both run and records flow.
call POST /connectors "{\"name\":\"lc-src\",\"config\":{\"connector.class\":\"file-source\",\"path\":\"$WORK/in2.txt\",\"topic\":\"lc-t2\"}}"
expect 201 '(.name == "lc-src") and (.type == "source") and (.config.path | endswith("in2.txt")) and (.tasks | type == "array")' "POST /connectors"
call PUT /connectors/lc-dst/config "{\"connector.class\":\"file-sink\",\"topics\":\"lc-t2\",\"path\":\"$WORK/out2.txt\",\"flush.interval\":\"200ms\",$SESSION}"
expect 201 '(.name == "lc-dst") and (.type == "sink")' "PUT config (create)"
wait_until 30 state_is lc-src RUNNING '["RUNNING"]' || fail "lc-src not RUNNING: $(curl -s "$URL/connectors/lc-src/status")"
wait_until 30 state_is lc-dst RUNNING '["RUNNING"]' || fail "lc-dst not RUNNING"
wait_until 60 bash -c "[ \$(wc -l < $WORK/out2.txt 2>/dev/null || echo 0) -ge 100 ]" || fail "out2 has $(lines "$WORK/out2.txt") of 100 lines"
call GET /connectors
expect 200 '. == ["lc-yml","lc-src","lc-dst"]' "the list"

# Bad requests: 409 for a name taken, 400 naming what is wrong.
call POST /connectors "{\"name\":\"lc-src\",\"config\":{\"connector.class\":\"file-source\",\"path\":\"/x\",\"topic\":\"x\"}}"
expect 409 '.message == "Connector lc-src already exists"' "duplicate POST"
call POST /connectors '{"name":"lc-bad","config":{"connector.class":"file-source","topic":"x","tasks.max":"two"}}'
expect 400 '(.message | test("2 error")) and (.message | test("missing required option .path.")) and (.message | test("tasks.max"))' "invalid config"
call POST /connectors '{"name":"lc-bad","config":{"connector.class":"nope-source"}}'
expect 400 '.message | test("unknown connector .nope-source.")' "unknown class"
call POST /connectors '{"name":"lc/bad","config":{"connector.class":"file-source"}}'
expect 400 '.message | test("invalid connector name")' "bad name"
call POST /connectors '{"name":"lc-bad"}'
expect 400 '.message | test("config")' "no config"
call POST /connectors '{"name":'
expect 400 '.message | test("request body")' "invalid JSON"
call PUT /connectors/lc-dst/config '{"name":"other","connector.class":"file-sink"}'
expect 400 '.message | test("doesn.t match")' "name mismatch"
call GET /connectors/lc-bad
expect 404 '' "nothing half-created"
# A REST config is untrusted: ${env:} needs the allowlist; the message names
# the reference and the option, never the value.
export LC_SECRET=hunter2-very-secret
call POST /connectors "{\"name\":\"lc-env\",\"config\":{\"connector.class\":\"file-sink\",\"topics\":\"lc-t2\",\"path\":\"\${env:LC_SECRET}\"}}"
expect 400 '(.message | test("LC_SECRET")) and (.message | test("allowlist.pattern")) and (.message | test("hunter2") | not)' "env reference refused"
# An allowed reference is a secret: a bad value is reported without it.
export LC_OK_NUM=not-a-number-4711
call POST /connectors "{\"name\":\"lc-env\",\"config\":{\"connector.class\":\"file-sink\",\"topics\":\"lc-t2\",\"path\":\"/x\",\"tasks.max\":\"\${env:LC_OK_NUM}\"}}"
expect 400 '(.message | test("tasks.max")) and (.message | test("4711") | not)' "a substituted value stays hidden"
call PUT /connector-plugins/file-sink/config/validate "{\"connector.class\":\"file-sink\",\"topics\":\"lc-t2\",\"path\":\"/x\",\"tasks.max\":\"\${env:LC_OK_NUM}\"}"
expect 200 '(.error_count == 1) and (tostring | test("4711") | not)' "validate hides a substituted value"
# Untrusted patterns stay small (regcomp on a hostile one costs seconds).
call POST /connectors '{"name":"lc-re","config":{"connector.class":"file-sink","topics.regex":"(a{1,100}){1,100}(b{1,100}){1,100}","path":"/x"}}'
expect 400 '.message | test("value from the REST API may not have")' "hostile topics.regex"
call POST /connectors '{"name":"lc-re","config":{"connector.class":"file-sink","topics.regex":"x{,30000}","path":"/x"}}'
expect 400 '.message | test("repeat count over 100")' "hostile topics.regex with an empty lower bound"

# PUT a new config: the sink's task restarts with it (a new file).
call PUT /connectors/lc-dst/config "{\"connector.class\":\"file-sink\",\"topics\":\"lc-t2\",\"path\":\"$WORK/out3.txt\",\"flush.interval\":\"200ms\",$SESSION}"
expect 200 '.config.path | endswith("out3.txt")' "PUT config (update)"
# The change is applied once the old task has stopped (until then it still
# writes to out2): wait for the new one, then send records.
wait_until 30 grep -q "\[lc-dst/0\] file-sink: appending to $WORK/out3.txt" "$WORK/run.log" || fail "no task with the new config"
seq 101 120 | sed 's/^/b-/' >>"$WORK/in2.txt"
wait_until 60 bash -c "[ \$(wc -l < $WORK/out3.txt 2>/dev/null || echo 0) -ge 20 ]" || fail "out3 has $(lines "$WORK/out3.txt") of 20 lines"
[ "$(lines "$WORK/out2.txt")" = 100 ] || fail "the old sink file still grows: $(lines "$WORK/out2.txt")"
# PATCH: keys replace, null removes, the rest stays.
call PATCH /connectors/lc-dst/config '{"batch.max.records":"10","flush.interval":null}'
expect 200 '(.config.path | endswith("out3.txt")) and (.config."batch.max.records" == "10") and (.config | has("flush.interval") | not)' "PATCH"
call PATCH /connectors/lc-nope/config '{"a":"b"}'
expect 404 '' "PATCH unknown"

# STOPPED: no tasks, nothing read; resume: it goes on from its offset.
call PUT /connectors/lc-src/stop
expect 204 '' "stop"
wait_until 30 state_is lc-src STOPPED '[]' || fail "not STOPPED: $(curl -s "$URL/connectors/lc-src/status")"
call GET /connectors/lc-src/tasks
expect 200 '. == []' "a STOPPED connector has no tasks"
seq 121 150 | sed 's/^/b-/' >>"$WORK/in2.txt"
sleep 2
[ "$(lines "$WORK/out3.txt")" = 20 ] || fail "a STOPPED source read: out3 has $(lines "$WORK/out3.txt")"
call PUT /connectors/lc-src/resume
expect 202 '' "resume"
wait_until 30 state_is lc-src RUNNING '["RUNNING"]' || fail "not RUNNING after resume"
wait_until 60 bash -c "[ \$(wc -l < $WORK/out3.txt) -ge 50 ]" || fail "after resume out3 has $(lines "$WORK/out3.txt") of 50"
sort "$WORK/out2.txt" "$WORK/out3.txt" | cmp -s - <(sort "$WORK/in2.txt") || fail "sink files differ from the input"

# Offsets (KIP-875): read in any state, changed only when STOPPED; a
# resumed task starts from them. The source's are its file position; the
# sink's its consumer group's, per partition.
size=$(stat -c %s "$WORK/in2.txt")
wait_until 30 bash -c "curl -s $URL/connectors/lc-src/offsets | jq -e '.offsets == [{\"partition\":{\"filename\":\"$WORK/in2.txt\"},\"offset\":{\"position\":$size}}]' >/dev/null" ||
    fail "source offsets: $(curl -s "$URL/connectors/lc-src/offsets")"
call PATCH /connectors/lc-src/offsets "{\"offsets\":[{\"partition\":{\"filename\":\"$WORK/in2.txt\"},\"offset\":{\"position\":0}}]}"
expect 400 '.message | test("must be in the STOPPED state")' "PATCH offsets of a running connector"
call PUT /connectors/lc-dst/stop
wait_until 30 state_is lc-dst STOPPED '[]' || fail "lc-dst not STOPPED"
call GET /connectors/lc-dst/offsets
expect 200 '([.offsets[] | select(.partition.kafka_topic == "lc-t2") | .offset.kafka_offset] | add) == 150' "sink offsets"
# Back to the start of both partitions: the sink writes all 150 again.
call PATCH /connectors/lc-dst/offsets '{"offsets":[{"partition":{"kafka_topic":"lc-t2","kafka_partition":0},"offset":{"kafka_offset":0}},{"partition":{"kafka_topic":"lc-t2","kafka_partition":1},"offset":{"kafka_offset":0}}]}'
expect 200 '.message == "The offsets for this connector have been altered successfully"' "PATCH sink offsets"
call GET /connectors/lc-dst/offsets
expect 200 '[.offsets[].offset.kafka_offset] == [0,0]' "sink offsets after PATCH"
if [ "$FERRY_TEST_BROKER" = kafka ]; then
    # On Kafka the group's offsets are listed whole, as Connect lists them:
    # also those of a topic the config no longer names.
    call PATCH /connectors/lc-dst/config '{"topics":"lc-t1"}'
    expect 200 '.config.topics == "lc-t1"' "PATCH a STOPPED sink's topics"
    call GET /connectors/lc-dst/offsets
    expect 200 '[.offsets[] | select(.partition.kafka_topic == "lc-t2")] | length == 2' "offsets of a topic no longer named"
    call PATCH /connectors/lc-dst/config '{"topics":"lc-t2"}'
    expect 200 '' "its topics back"
    wait_until 30 state_is lc-dst STOPPED '[]' || fail "lc-dst not STOPPED after PATCHes"
fi
call PATCH /connectors/lc-dst/offsets '{"offsets":[{"partition":{"kafka_topic":"lc-t2"},"offset":{"kafka_offset":-1}}]}'
expect 400 '.message | test("kafka_partition")' "a bad sink offset"
call PUT /connectors/lc-dst/resume
wait_until 60 bash -c "[ \$(wc -l < $WORK/out3.txt) -ge 200 ]" || fail "after the sink offsets PATCH out3 has $(lines "$WORK/out3.txt") of 200"
# A source reset: it reads its file from the beginning again.
call PUT /connectors/lc-src/stop
wait_until 30 state_is lc-src STOPPED '[]' || fail "lc-src not STOPPED"
call DELETE /connectors/lc-src/offsets
expect 200 '.message == "The offsets for this connector have been reset successfully"' "reset source offsets"
call GET /connectors/lc-src/offsets
expect 200 '.offsets == []' "source offsets after the reset"
call PUT /connectors/lc-src/resume
wait_until 60 bash -c "[ \$(wc -l < $WORK/out3.txt) -ge 350 ]" || fail "after the source reset out3 has $(lines "$WORK/out3.txt") of 350"
call GET /connectors/lc-src/topics
expect 200 '. == {"lc-src":{"topics":["lc-t2"]}}' "topics"
call PUT /connectors/lc-src/topics/reset
expect 200 '' "topics reset (the topics come from the config: nothing to empty)"
call PUT /connectors/lc-nope/topics/reset
expect 404 '' "topics reset of an unknown connector"
call GET /admin/loggers
expect 200 '.root.level == "INFO"' "loggers"
call PUT /admin/loggers/root '{"level":"DEBUG"}'
expect 200 '. == ["root"]' "set the log level"
call GET /admin/loggers/root
expect 200 '(.level == "DEBUG") and (.last_modified | type == "number")' "the log level"
call PUT /admin/loggers/root '{"level":"INFO"}'
expect 200 '' "log level back"

# A YAML connector changed over REST; another stopped; one deleted. PATCH
# cannot carry a value that came from \${env:} in the file over.
call PATCH /connectors/lc-yml/config '{"batch.max.records":"9"}'
expect 409 '.message | test("option .path. of connector lc-yml is a secret or comes from")' "PATCH over a substituted YAML value"
call PUT /connectors/lc-yml/config "{\"connector.class\":\"file-source\",\"path\":\"$WORK/in1.txt\",\"topic\":\"lc-t1\",\"batch.max.records\":\"7\"}"
expect 200 '.config."batch.max.records" == "7"' "PUT over a YAML connector"
call PUT /connectors/lc-dst/stop
expect 204 '' "stop the sink"
wait_until 30 state_is lc-dst STOPPED '[]' || fail "lc-dst not STOPPED"
call DELETE /connectors/lc-src
expect 204 '' "DELETE"
call DELETE /connectors/lc-src
expect 404 '.message == "Connector lc-src not found"' "DELETE again"
wait_until 30 bash -c "! curl -s $URL/connectors | jq -e 'index(\"lc-src\")' >/dev/null" || fail "lc-src still listed"

# A restart finds all of it in the config topic.
ferry_stop "$FERRY_PID"
start
call GET /connectors
expect 200 '. == ["lc-yml","lc-dst"]' "connectors after a restart"
call GET /connectors/lc-yml/config
expect 200 '."batch.max.records" == "7"' "the REST change of a YAML connector survives a restart"
call GET /connectors/lc-dst/config
expect 200 '(.path | endswith("out3.txt")) and (."batch.max.records" == "10")' "the REST config survives a restart"
wait_until 30 state_is lc-dst STOPPED '[]' || fail "lc-dst not STOPPED after a restart: $(curl -s "$URL/connectors/lc-dst/status")"
kcat -b "$BROKER" -C -t "$CONFIG_TOPIC" -o beginning -e -q -f '%k\n' >"$WORK/keys.txt"
grep -qx 'connector-lc-dst' "$WORK/keys.txt" || fail "no record of lc-dst in $CONFIG_TOPIC: $(cat "$WORK/keys.txt")"

# SIGHUP: the YAML entry of lc-yml changed (the later change: it wins over
# the REST one) and lc-yml2 added; lc-dst, untouched by the file, stays.
call PUT /connectors/lc-dst/resume
wait_until 30 state_is lc-dst RUNNING '["RUNNING"]' || fail "lc-dst not RUNNING"
dst_runs=$(started lc-dst)
yaml "    batch.max.records: 5
  lc-yml2:
    connector: file-sink
    topics: [lc-t1]
    path: $WORK/out1.txt
    consumer.override.session.timeout.ms: 6000
    flush.interval: 200ms"
kill -HUP "$FERRY_PID"
wait_until 30 grep -q "reload: .* applied (2 connector(s) changed)" "$WORK/run.log" || fail "reload not applied"
wait_until 30 state_is lc-yml2 RUNNING '["RUNNING"]' || fail "lc-yml2 not RUNNING after the reload"
call GET /connectors/lc-yml/config
expect 200 '."batch.max.records" == "5"' "the YAML change wins over the earlier REST change"
wait_until 60 bash -c "[ \$(wc -l < $WORK/out1.txt 2>/dev/null || echo 0) -ge 50 ]" || fail "lc-yml2 wrote $(lines "$WORK/out1.txt") of 50"
[ "$(started lc-dst)" = "$dst_runs" ] || fail "a reload restarted lc-dst, which did not change"
# An invalid file is rejected whole; everything keeps running.
yml2_runs=$(started lc-yml2)
yaml "  lc-yml2:
    connector: file-sink
    topics: [lc-t1]
    path: $WORK/out1.txt
    flush.intervall: 200ms"
kill -HUP "$FERRY_PID"
wait_until 30 grep -q "reload: .* rejected (1 error(s))" "$WORK/run.log" || fail "invalid file not rejected"
grep -q "unknown option 'flush.intervall' (did you mean 'flush.interval'?)" "$WORK/run.log" || fail "the reload error is not logged"
sleep 1
state_is lc-yml2 RUNNING '["RUNNING"]' || fail "a rejected reload stopped lc-yml2"
[ "$(started lc-yml2)" = "$yml2_runs" ] || fail "a rejected reload restarted lc-yml2"
# Removed from the file: stopped and gone; a REST-created one stays.
yaml
kill -HUP "$FERRY_PID"
wait_until 30 bash -c "curl -s $URL/connectors | jq -e '. == [\"lc-yml\",\"lc-dst\"]' >/dev/null" ||
    fail "after removing lc-yml2: $(curl -s "$URL/connectors")"

# Deleting a YAML connector lasts across restarts, until its entry changes.
call DELETE /connectors/lc-yml
expect 204 '' "DELETE a YAML connector"
ferry_stop "$FERRY_PID"
start
call GET /connectors
expect 200 '. == ["lc-dst"]' "a deleted YAML connector stays deleted"
ferry_stop "$FERRY_PID"
yaml "    batch.max.records: 3"
start
call GET /connectors/lc-yml/config
expect 200 '."batch.max.records" == "3"' "a changed YAML entry brings it back"
# Deleted over REST and created again there: that config stays over the
# unchanged YAML entry, through a reload and a restart.
call DELETE /connectors/lc-yml
# 409 while its tasks are still stopping, then 201.
post_yml() {
    call POST /connectors "{\"name\":\"lc-yml\",\"config\":{\"connector.class\":\"file-source\",\"path\":\"$WORK/in1.txt\",\"topic\":\"lc-t1\",\"batch.max.records\":\"11\"}}"
    [ "$CODE" = 201 ] || { [ "$CODE" = 409 ] && grep -q "still being deleted" "$WORK/resp" && return 1; } ||
        fail "POST a deleted YAML connector's name: HTTP $CODE: $(cat "$WORK/resp")"
}
wait_until 30 post_yml || fail "lc-yml still being deleted after 30 s"
kill -HUP "$FERRY_PID"
wait_until 30 grep -q "reload: .* applied (0 connector(s) changed)" "$WORK/run.log" || fail "the reload changed something"
ferry_stop "$FERRY_PID"
start
call GET /connectors/lc-yml/config
expect 200 '."batch.max.records" == "11"' "the REST config of a once-deleted YAML connector survives"
ferry_stop "$FERRY_PID"
log "PASS"
