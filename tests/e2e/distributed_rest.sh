#!/usr/bin/env bash
# The REST API of a distributed group (worker.group.id): two workers, no
# connectors in their YAML files. A connector created over one worker runs
# on exactly one of them and both answer for it with the same status (the
# owner's worker_id); pause, resume, restart, config changes, stop, offsets
# reset and delete sent to either worker take effect where the task runs;
# everything survives a restart of both workers; after kill -9 of the
# owner the other takes the task over and says so.
source "$TESTLIB"
GROUP=drest-$TEST_NAME-$$
TOPICS=(--topic dr-a:1 --topic dr-b:1 --topic dr-a2:1)
# The embedded broker has neither CreateTopics nor CreatePartitions: the
# tasks topic is made up front there, with room for the two connectors.
# On Apache Kafka ferry creates it and grows it as connectors come.
if [ "$FERRY_TEST_BROKER" = embedded ]; then TOPICS+=(--topic "$GROUP-tasks:4"); fi
broker_start "${TOPICS[@]}"
seq 1 40 | sed 's/^/a-/' >"$WORK/in-a.txt"
seq 1 30 | sed 's/^/b-/' >"$WORK/in-b.txt"
for w in w1 w2; do
    cat >"$WORK/$w.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
  group.id: $GROUP
  group.session.timeout: 6s
  rest: {listen: "127.0.0.1:0"}
  progress.interval: 0
connectors: {}
YAML
done
declare -A URLS PID
start() { # WORKER (an earlier run's log is kept as WORKER.log.1)
    [ ! -f "$WORK/$1.log" ] || mv "$WORK/$1.log" "$WORK/$1.log.1"
    ferry_start "$1" "$WORK/$1.yaml"
    PID[$1]=$FERRY_PID
    wait_until 30 grep -q "rest: listening on" "$WORK/$1.log" || fail "$1: no REST address in the log"
    URLS[$1]=http://$(sed -n 's/.*rest: listening on http:\/\/\([^ ]*\).*/\1/p' "$WORK/$1.log" | tail -n1)
}
call() { # WORKER METHOD PATH [BODY]: the body in $WORK/resp, the status in CODE
    local args=(-s -o "$WORK/resp" -w '%{http_code}' -X "$2" "${URLS[$1]}$3")
    [ -z "${4:-}" ] || args+=(-H 'Content-Type: application/json' --data-binary "$4")
    CODE=$(curl "${args[@]}") || CODE=000
}
expect() { # CODE JQ-EXPRESSION WHAT
    [ "$CODE" = "$1" ] || fail "$3: HTTP $CODE, expected $1: $(head -c 600 "$WORK/resp")"
    [ -z "$2" ] || jq -e "$2" "$WORK/resp" >/dev/null || fail "$3: $2 is not true of $(head -c 800 "$WORK/resp")"
}
status() { curl -s "${URLS[$1]}/connectors/$2/status"; }
# task_is WORKER CONNECTOR STATE: WORKER reports task 0 of CONNECTOR in STATE.
task_is() { status "$1" "$2" | jq -e ".tasks[0].state == \"$3\"" >/dev/null; }
# owner CONNECTOR: the worker whose log last had CONNECTOR's task assigned
# (and not revoked or lost since).
owner() {
    local w
    for w in "${!URLS[@]}"; do
        if grep -oE "\[$1/0\] task (assigned|revoked|lost)" "$WORK/$w.log" | tail -n1 | grep -q assigned; then
            echo "$w"
        fi
    done
    return 0
}
other() { [ "$1" = w1 ] && echo w2 || echo w1; }
runs() { grep -c "\[$2/0\] .*task running" "$WORK/$1.log" || true; }
start w1
start w2
log "workers at ${URLS[w1]} and ${URLS[w2]}"

# Created over w1: listed by both, runs on exactly one, whose worker_id both show.
call w1 POST /connectors "{\"name\":\"src-a\",\"config\":{\"connector.class\":\"file-source\",\"path\":\"$WORK/in-a.txt\",\"topic\":\"dr-a\"}}"
expect 201 '.name == "src-a"' "POST src-a to w1"
wait_until 30 bash -c "curl -s ${URLS[w2]}/connectors | jq -e 'index(\"src-a\")' >/dev/null" || fail "w2 does not list src-a"
wait_until 40 task_is w1 src-a RUNNING || fail "w1: src-a is not RUNNING: $(status w1 src-a)"
wait_until 20 task_is w2 src-a RUNNING || fail "w2: src-a is not RUNNING: $(status w2 src-a)"
[ "$(owner src-a | wc -l)" = 1 ] || fail "src-a is held by '$(owner src-a | xargs)', expected one worker"
OWNER=$(owner src-a)
OTHER=$(other "$OWNER")
id1=$(status w1 src-a | jq -r '.tasks[0].worker_id')
id2=$(status w2 src-a | jq -r '.tasks[0].worker_id')
[ "$id1" = "$id2" ] || fail "the workers disagree on where src-a runs: $id1 / $id2"
[ "$(runs "$OTHER" src-a)" = 0 ] || fail "src-a also ran on $OTHER"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t dr-a -o beginning -e -q -f 'x\n' | wc -l) -ge 40 ]" || fail "dr-a has $(topic_count dr-a) of 40 records"
log "src-a runs on $OWNER ($id1); both workers say so"

# A second connector, created over w2, gets a partition of its own; w1 answers for it.
call w2 PUT /connectors/src-b/config "{\"connector.class\":\"file-source\",\"path\":\"$WORK/in-b.txt\",\"topic\":\"dr-b\"}"
expect 201 '.name == "src-b"' "PUT src-b to w2"
wait_until 40 task_is w1 src-b RUNNING || fail "w1: src-b is not RUNNING: $(status w1 src-b)"
[ "$(owner src-b | wc -l)" = 1 ] || fail "src-b is held by '$(owner src-b | xargs)'"
grep -h "\[src-[ab]/0\] task assigned" "$WORK/w1.log" "$WORK/w2.log" | grep -oE 'partition [0-9]+' | sort | uniq -d | grep -q . &&
    fail "src-a and src-b share a partition of the tasks topic: $(grep -h 'task assigned' "$WORK"/w?.log)"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t dr-b -o beginning -e -q -f 'x\n' | wc -l) -ge 30 ]" || fail "dr-b has $(topic_count dr-b) of 30 records"

# Pause over the worker that does not run it: the owner holds, both say PAUSED.
call "$OTHER" PUT /connectors/src-a/pause
expect 202 '' "pause over $OTHER"
wait_until 20 task_is "$OTHER" src-a PAUSED || fail "$OTHER: src-a not PAUSED: $(status "$OTHER" src-a)"
wait_until 10 task_is "$OWNER" src-a PAUSED || fail "$OWNER: src-a not PAUSED: $(status "$OWNER" src-a)"
seq 41 50 | sed 's/^/a-/' >>"$WORK/in-a.txt"
sleep 3
[ "$(topic_count dr-a)" = 40 ] || fail "records flowed while paused: $(topic_count dr-a)"
call "$OWNER" PUT /connectors/src-a/resume
expect 202 '' "resume over $OWNER"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t dr-a -o beginning -e -q -f 'x\n' | wc -l) -ge 50 ]" || fail "dr-a has $(topic_count dr-a) of 50 after resume"
wait_until 20 task_is "$OTHER" src-a RUNNING || fail "$OTHER: src-a not RUNNING after resume"

# A task restart sent to the other worker restarts it where it runs.
before=$(runs "$OWNER" src-a)
call "$OTHER" POST /connectors/src-a/tasks/0/restart
expect 204 '' "task restart over $OTHER"
wait_until 30 bash -c "[ \$(grep -c '\[src-a/0\] .*task running' $WORK/$OWNER.log) -gt $before ]" || fail "the owner did not restart src-a/0"
[ "$(runs "$OTHER" src-a)" = 0 ] || fail "the restart started src-a on $OTHER too"

# A config change over the other worker: the owner restarts the task with it.
before=$(runs "$OWNER" src-a)
call "$OTHER" PUT /connectors/src-a/config "{\"connector.class\":\"file-source\",\"path\":\"$WORK/in-a.txt\",\"topic\":\"dr-a2\"}"
expect 200 '.config.topic == "dr-a2"' "config change over $OTHER"
wait_until 10 bash -c "curl -s ${URLS[$OWNER]}/connectors/src-a/config | jq -e '.topic == \"dr-a2\"' >/dev/null" || fail "the owner's config: $(curl -s "${URLS[$OWNER]}/connectors/src-a/config")"
wait_until 30 bash -c "[ \$(grep -c '\[src-a/0\] .*task running' $WORK/$OWNER.log) -gt $before ]" || fail "the owner did not restart src-a/0 with the new config"
seq 51 55 | sed 's/^/a-/' >>"$WORK/in-a.txt"
wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t dr-a2 -o beginning -e -q -f 'x\n' | wc -l) -ge 5 ]" || fail "dr-a2 has $(topic_count dr-a2) of 5 records after the change"

# Stop over one, offsets read and reset over the other, resume: the file is read again.
call "$OTHER" PUT /connectors/src-a/stop
expect 204 '' "stop over $OTHER"
wait_until 20 bash -c "curl -s ${URLS[$OWNER]}/connectors/src-a/status | jq -e '.connector.state == \"STOPPED\" and .tasks == []' >/dev/null" || fail "the owner does not show src-a STOPPED: $(status "$OWNER" src-a)"
wait_until 20 bash -c "curl -s ${URLS[$OTHER]}/connectors/src-a/offsets | jq -e '.offsets | length == 1' >/dev/null" || fail "$OTHER shows no offsets of src-a: $(curl -s "${URLS[$OTHER]}/connectors/src-a/offsets")"
call "$OWNER" DELETE /connectors/src-a/offsets
expect 200 '' "offsets reset over $OWNER"
call "$OTHER" GET /connectors/src-a/offsets
expect 200 '.offsets == []' "offsets after the reset, over $OTHER"
call "$OTHER" PUT /connectors/src-a/resume
expect 202 '' "resume from STOPPED"
wait_until 40 bash -c "[ \$(kcat -b $BROKER -C -t dr-a2 -o beginning -e -q -f 'x\n' | wc -l) -ge 60 ]" || fail "dr-a2 has $(topic_count dr-a2) of 60 records: the file was not read again after the reset"

# Delete over w1: gone from both; its task stops where it ran.
call w1 DELETE /connectors/src-b
expect 204 '' "DELETE src-b"
wait_until 20 bash -c "curl -s ${URLS[w2]}/connectors | jq -e 'index(\"src-b\") == null' >/dev/null" || fail "w2 still lists src-b"
B_OWNER=$(grep -l "\[src-b/0\] task assigned" "$WORK/w1.log" "$WORK/w2.log" | head -n1)
wait_until 20 grep -q "\[src-b\] deleted" "$B_OWNER" || fail "src-b was not deleted where it ran"

# Both workers restart: src-a comes back from the config topic, on one of them.
ferry_stop "${PID[w1]}"
ferry_stop "${PID[w2]}"
start w1
start w2
call w2 GET /connectors
expect 200 '. == ["src-a"]' "the connectors after a restart"
wait_until 40 task_is w1 src-a RUNNING || fail "src-a not RUNNING after the restart: $(status w1 src-a)"
wait_until 20 task_is w2 src-a RUNNING || fail "w2: src-a not RUNNING after the restart"
OWNER=$(owner src-a)
[ "$(echo "$OWNER" | wc -w)" = 1 ] || fail "src-a held by '$OWNER' after the restart"
OTHER=$(other "$OWNER")

# kill -9 of the owner: the other takes the task over and reports it as its own.
kill -9 "${PID[$OWNER]}"
wait "${PID[$OWNER]}" 2>/dev/null || true
own_id=$(curl -s "${URLS[$OTHER]}/" >/dev/null; status "$OTHER" src-a | jq -r '.connector.worker_id')
wait_until 40 bash -c "curl -s ${URLS[$OTHER]}/connectors/src-a/status | jq -e '.tasks[0].state == \"RUNNING\" and .tasks[0].worker_id == \"$own_id\"' >/dev/null" || fail "$OTHER did not take src-a over: $(status "$OTHER" src-a)"
seq 56 60 | sed 's/^/a-/' >>"$WORK/in-a.txt"
wait_until 30 bash -c "kcat -b $BROKER -C -t dr-a2 -o beginning -e -q -f '%s\n' | grep -qx a-60" || fail "a-60 did not arrive after the takeover"
ferry_stop "${PID[$OTHER]}"
log "ok"
