#!/usr/bin/env bash
# The suite's Kafka Connect: a distributed worker on the shared broker loads
# the FileStream connectors from plugin.path, copies a file through a topic
# into another file, and keeps the source's offset in its offsets topic in
# the JSON form ferry's offsets are compatible with.
source "$TESTLIB"
broker_start --topic cs-lines:2
connect_start
seq 1 300 | sed 's/^/line-/' >"$WORK/in.txt"

# rest METHOD PATH [JSON]: one call to the worker's REST API; prints the body.
rest() {
    curl -sS -f -m 30 -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "$CONNECT_URL$2"
}
rest GET /connector-plugins >"$WORK/plugins.json" || fail "GET /connector-plugins failed"
grep -q FileStreamSourceConnector "$WORK/plugins.json" || fail "connect-file not loaded: $(cat "$WORK/plugins.json")"

rest PUT /connectors/cs-src/config \
    "{\"connector.class\":\"FileStreamSource\",\"file\":\"$WORK/in.txt\",\"topic\":\"cs-lines\",\"tasks.max\":\"1\"}" \
    >/dev/null || fail "could not create the source connector"
rest PUT /connectors/cs-dst/config \
    "{\"connector.class\":\"FileStreamSink\",\"file\":\"$WORK/out.txt\",\"topics\":\"cs-lines\",\"tasks.max\":\"1\"}" \
    >/dev/null || fail "could not create the sink connector"
wait_until 90 bash -c "[ -f $WORK/out.txt ] && [ \$(wc -l < $WORK/out.txt) -ge 300 ]" ||
    fail "the sink wrote $(wc -l <"$WORK/out.txt" 2>/dev/null || echo 0) of 300 lines"
for c in cs-src cs-dst; do
    rest GET "/connectors/$c/status" | grep -q '"state":"RUNNING"' || fail "$c is not RUNNING"
done
sort "$WORK/in.txt" | cmp -s - <(sort "$WORK/out.txt") || fail "the sink's file differs from the source's"

# The source offset: key ["<connector>",{"filename":...}], value {"position":<bytes>}.
offsets_topic=$(sed -n 's/^offset.storage.topic=//p' "$WORK/connect/connect.properties" | tail -n1)
want="[\"cs-src\",{\"filename\":\"$WORK/in.txt\"}]	{\"position\":$(stat -c %s "$WORK/in.txt")}"
wait_until 30 bash -c "kcat -b $BROKER -C -t $offsets_topic -o beginning -e -q -f '%k\t%s\n' 2>/dev/null | grep -qxF '$want'" ||
    fail "no offset record '$want' in $offsets_topic"
rest DELETE /connectors/cs-src >/dev/null || fail "could not delete cs-src"
rest DELETE /connectors/cs-dst >/dev/null || fail "could not delete cs-dst"
log "PASS"
