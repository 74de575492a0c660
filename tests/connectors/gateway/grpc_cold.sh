#!/usr/bin/env bash
# Cold reads through the gateway, on Apache Kafka and moto: a topic archived
# by s3-sink (same ferry process) loses its head to DeleteRecords (as
# retention would delete it); a Liiklus client subscribing from the earliest
# offset gets every record, 0..999, once and in order: the deleted part from
# the S3 archive, then Kafka from its earliest offset (the seam: no gap, no
# duplicate, same keys, values and timestamps as before the deletion). A
# group whose position is inside the archived part resumes there. When an
# archived object is missing, the stream ends with DATA_LOSS naming the
# missing offsets instead of skipping them.
source "$TESTLIB"
source "$FERRY_SOURCE_DIR/tests/connectors/s3/s3_e2e_lib.sh"
broker_start --topic cold:1
s3_env
PFX=$(s3_fresh_prefix cold)
PY=$(py_venv grpcio "$FERRY_SOURCE_DIR/tests/connectors/gateway/requirements.txt") || fail "no grpcio for the client"
CLIENT="$FERRY_SOURCE_DIR/tests/connectors/gateway/liiklus_client.py"
client() { "$PY" "$CLIENT" "$@"; }

kcat -b "$BROKER" -P -t cold -K: < <(for i in $(seq 0 999); do echo "k$i:value-$i"; done)
kcat -b "$BROKER" -C -t cold -o beginning -e -q -f '%o %k %s %T\n' >"$WORK/want.txt"
[ "$(wc -l <"$WORK/want.txt")" = 1000 ] || fail "the topic does not hold 1000 records"

cat >"$WORK/p.yaml" <<YAML
$(s3_worker_yaml)
$(s3_sink_yaml archive cold "$PFX" envelope gzip "flush.size: 100")
  gateway:
    connector: gateway
    listen: 127.0.0.1:0
    topics: [cold]
    topics.dir: ${PFX}
$(s3_store_yaml)
YAML
ferry_start run "$WORK/p.yaml"
wait_until 30 grep -q "gateway: gRPC (LiiklusService) on" "$WORK/run.log" || fail "the gateway did not start"
ADDR=$(grep -o "gateway: gRPC (LiiklusService) on [0-9.:]*" "$WORK/run.log" | tail -1 | awk '{print $NF}')
grep -q "gateway: offsets older than Kafka's are read from s3://$S3_BUCKET/${PFX%/}" "$WORK/run.log" ||
    fail "the gateway does not say where its archive is"
wait_until 120 s3_count_is envelope "$PFX" 1000 || fail "the archive does not hold the 1000 records"

# Retention deletes the head: offsets 0..599 are gone from Kafka.
echo '{"partitions":[{"topic":"cold","partition":0,"offset":600}],"version":1}' >"$WORK/delete.json"
bash "$FERRY_SOURCE_DIR/tests/kafka/kafka.sh" tool delete-records --bootstrap-server "$BROKER" \
    --offset-json-file "$WORK/delete.json" >"$WORK/delete.log" 2>&1 || fail "DeleteRecords failed: $(cat "$WORK/delete.log")"
first=$(kcat -b "$BROKER" -C -t cold -o beginning -c 1 -e -q -f '%o')
[ "$first" = 600 ] || fail "Kafka's earliest offset is $first after DeleteRecords, not 600"

# A new group from the earliest offset: the archive, then Kafka.
client "$ADDR" receive cold fresh 1000 >"$WORK/fresh.jsonl" || fail "receive from the earliest offset failed"
jq -r '"\(.offset) \(.key) \(.value) \(.timestamp_ms)"' "$WORK/fresh.jsonl" >"$WORK/got.txt"
diff "$WORK/want.txt" "$WORK/got.txt" >&2 || fail "the records from archive + Kafka differ from the topic before the deletion"
grep -q "archive read up to 599, Kafka from 600" "$WORK/run.log" || fail "the switch from the archive to Kafka is not at 600"

# A group whose position is in the archived part resumes right after it.
client "$ADDR" ack cold mid 0 299
client "$ADDR" receive cold mid 700 >"$WORK/mid.jsonl" || fail "receive from a position in the archive failed"
[ "$(jq -r .offset "$WORK/mid.jsonl" | head -1)-$(jq -r .offset "$WORK/mid.jsonl" | tail -1)" = 300-999 ] ||
    fail "the group at 299 got offsets $(jq -r .offset "$WORK/mid.jsonl" | head -1)..$(jq -r .offset "$WORK/mid.jsonl" | tail -1)"
jq -r .offset "$WORK/mid.jsonl" | sort -n | uniq -d | grep -q . && fail "a record came twice across the seam"

# An archived object goes missing: the stream says which offsets, it does
# not skip them.
key=$(s3_keys "$PFX" | grep '+0000000000000000200\.' | head -1)
[ -n "$key" ] || fail "no archived object starts at offset 200: $(s3_keys "$PFX" | tr '\n' ' ')"
aws_s3 s3 rm "s3://$S3_BUCKET/$key" >/dev/null
client "$ADDR" expect-code DATA_LOSS receive cold gap 1000 >"$WORK/gap.json" || fail "a missing archived object was not DATA_LOSS"
jq -e '.details | test("offsets 200\\.\\.299 are neither in Kafka nor in the archive")' "$WORK/gap.json" >/dev/null ||
    fail "DATA_LOSS does not name offsets 200..299: $(cat "$WORK/gap.json")"
ferry_stop "$FERRY_PID"
log "PASS"
