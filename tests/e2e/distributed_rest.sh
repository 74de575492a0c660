#!/usr/bin/env bash
# The REST API of a distributed group (worker.group.id): two workers, no
# connectors in their YAML files. A connector created over one worker runs
# on exactly one of them and both answer for it with the same status (the
# owner's worker_id); pause, resume, restart, config changes, stop, offsets
# reset and delete sent to the worker that does not run the task take effect
# where it runs (exact record counts: nothing lost, nothing twice); a
# connector deleted and created again at once never runs twice;
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
# exactly TOPIC N: TOPIC holds N records, no value twice.
exactly() {
    local n dups
    n=$(topic_count "$1")
    dups=$(topic_dump "$1" | sort | uniq -d | head -n3 | xargs)
    [ "$n" = "$2" ] && [ -z "$dups" ]
}
fill() { wait_until 30 bash -c "[ \$(kcat -b $BROKER -C -t $1 -o beginning -e -q -f 'x\n' | wc -l) -ge $2 ]" || true; }
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
fill dr-a 40
exactly dr-a 40 || fail "dr-a: $(topic_count dr-a) records (duplicates: $(topic_dump dr-a | sort | uniq -d | head -n3 | xargs)), expected 40"
log "src-a runs on $OWNER ($id1); both workers say so"

# A second connector, created over w2, gets a partition of its own; w1 answers for it.
call w2 PUT /connectors/src-b/config "{\"connector.class\":\"file-source\",\"path\":\"$WORK/in-b.txt\",\"topic\":\"dr-b\"}"
expect 201 '.name == "src-b"' "PUT src-b to w2"
wait_until 40 task_is w1 src-b RUNNING || fail "w1: src-b is not RUNNING: $(status w1 src-b)"
[ "$(owner src-b | wc -l)" = 1 ] || fail "src-b is held by '$(owner src-b | xargs)'"
grep -h "\[src-[ab]/0\] task assigned" "$WORK/w1.log" "$WORK/w2.log" | grep -oE 'partition [0-9]+' | sort | uniq -d | grep -q . &&
    fail "src-a and src-b share a partition of the tasks topic: $(grep -h 'task assigned' "$WORK"/w?.log)"
fill dr-b 30
exactly dr-b 30 || fail "dr-b: $(topic_count dr-b) records, expected 30 once each"

# Pause over the worker that does not run it: the owner holds, both say PAUSED.
call "$OTHER" PUT /connectors/src-a/pause
expect 202 '' "pause over $OTHER"
wait_until 20 task_is "$OTHER" src-a PAUSED || fail "$OTHER: src-a not PAUSED: $(status "$OTHER" src-a)"
wait_until 10 task_is "$OWNER" src-a PAUSED || fail "$OWNER: src-a not PAUSED: $(status "$OWNER" src-a)"
seq 41 50 | sed 's/^/a-/' >>"$WORK/in-a.txt"
sleep 3
[ "$(topic_count dr-a)" = 40 ] || fail "records flowed while paused: $(topic_count dr-a)"
call "$OTHER" PUT /connectors/src-a/resume
expect 202 '' "resume over $OTHER"
fill dr-a 50
exactly dr-a 50 || fail "dr-a: $(topic_count dr-a) records after resume, expected 50 once each"
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
fill dr-a2 5
exactly dr-a2 5 || fail "dr-a2: $(topic_count dr-a2) records after the change, expected 5 (a-51..a-55)"

# Stop over one, offsets read and reset over the other, resume: the file is read again.
call "$OTHER" PUT /connectors/src-a/stop
expect 204 '' "stop over $OTHER"
wait_until 20 bash -c "curl -s ${URLS[$OWNER]}/connectors/src-a/status | jq -e '.connector.state == \"STOPPED\" and .tasks == []' >/dev/null" || fail "the owner does not show src-a STOPPED: $(status "$OWNER" src-a)"
wait_until 20 bash -c "curl -s ${URLS[$OTHER]}/connectors/src-a/offsets | jq -e '.offsets | length == 1' >/dev/null" || fail "$OTHER shows no offsets of src-a: $(curl -s "${URLS[$OTHER]}/connectors/src-a/offsets")"
# Refused (400) until the owner's task has stopped and said so; then done.
wait_until 30 bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X DELETE ${URLS[$OTHER]}/connectors/src-a/offsets) = 200 ]" || fail "offsets reset over $OTHER: never 200: $(curl -s -X DELETE "${URLS[$OTHER]}/connectors/src-a/offsets")"
call "$OTHER" GET /connectors/src-a/offsets
expect 200 '.offsets == []' "offsets after the reset, over $OTHER"
call "$OTHER" PUT /connectors/src-a/resume
expect 202 '' "resume from STOPPED"
fill dr-a2 60
[ "$(topic_count dr-a2)" = 60 ] || fail "dr-a2: $(topic_count dr-a2) records, expected 60: the file read once more after the reset"
[ "$(topic_dump dr-a2 | sort -u | wc -l)" = 55 ] || fail "dr-a2 does not hold a-1..a-55"

# Delete over the worker that does not run it, and create it again at once
# over that one: the new task starts only after the old one stopped, and
# resumes from its offsets (nothing again); deleted again, it is gone.
B_OWNER=$(owner src-b)
B_OTHER=$(other "$B_OWNER")
call "$B_OTHER" DELETE /connectors/src-b
expect 204 '' "DELETE src-b over $B_OTHER"
call "$B_OTHER" POST /connectors "{\"name\":\"src-b\",\"config\":{\"connector.class\":\"file-source\",\"path\":\"$WORK/in-b.txt\",\"topic\":\"dr-b\"}}"
[ "$CODE" = 201 ] || [ "$CODE" = 409 ] || fail "re-create src-b: HTTP $CODE: $(cat "$WORK/resp")"
[ "$CODE" = 201 ] || wait_until 20 bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -X POST --data-binary '{\"name\":\"src-b\",\"config\":{\"connector.class\":\"file-source\",\"path\":\"$WORK/in-b.txt\",\"topic\":\"dr-b\"}}' ${URLS[$B_OTHER]}/connectors) = 201 ]" || fail "src-b could not be created again"
wait_until 40 task_is "$B_OTHER" src-b RUNNING || fail "src-b not RUNNING again: $(status "$B_OTHER" src-b)"
for w in w1 w2; do
    # In each log: no "task running" of src-b between the old run's last start and its stop.
    awk '/\[src-b\/0\] source task running/ {run++; if (run > stopped + 1) bad = 1} /\[src-b\/0\] source task stopped/ {stopped++} END {exit bad}' "$WORK/$w.log" ||
        fail "$w ran two instances of src-b/0 at once"
done
sleep 2
exactly dr-b 30 || fail "dr-b: $(topic_count dr-b) records after src-b was created again, expected the same 30"
call "$B_OWNER" DELETE /connectors/src-b
expect 204 '' "DELETE src-b"
for w in w1 w2; do
    wait_until 20 bash -c "curl -s ${URLS[$w]}/connectors | jq -e 'index(\"src-b\") == null' >/dev/null" || fail "$w still lists src-b"
done

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
