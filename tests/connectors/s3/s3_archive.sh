#!/usr/bin/env bash
# s3-sink archives a topic in every format and compression, with each
# partitioner: the objects, downloaded with Debian's aws CLI and decoded by
# s3check.py (fastavro for Avro), hold exactly what was produced (topic,
# partition, offset, key, value, headers, timestamp). One archive is large
# enough to go up as a multipart upload. `ferry archive verify` passes on
# every archive.
source "$TESTLIB"
source "$FERRY_SOURCE_DIR/tests/connectors/s3/s3_e2e_lib.sh"
broker_start --topic in:3 --topic big:1 --topic js:2 --topic in-dlq:1
s3_env
PFX=$(s3_fresh_prefix archive)
/usr/bin/python3 "$S3CHECK" produce "$BROKER" in 3 3000
/usr/bin/python3 "$S3CHECK" produce "$BROKER" big 1 4000 --big
/usr/bin/python3 "$S3CHECK" dump "$BROKER" in "$WORK/in.jsonl"
/usr/bin/python3 "$S3CHECK" dump "$BROKER" big "$WORK/big.jsonl"
# 4000 KiB: under the embedded broker's ~5 MiB per partition, and still more than one part.
[ "$(wc -l <"$WORK/big.jsonl")" = 4000 ] || fail "the big topic does not hold 4000 records"
[ "$(wc -l <"$WORK/in.jsonl")" = 3000 ] || fail "the input topic does not hold 3000 records"

sink() { s3_sink_yaml "$1" "$2" "${PFX}$1" "${@:3}"; } # NAME TOPIC FORMAT COMPRESSION [OPTION: VALUE]...
{
    s3_worker_yaml
    cat <<YAML
  gen:
    connector: datagen
    topic: js
    count: 400
YAML
    sink env_none in envelope none "flush.size: 250"
    sink env_gzip in envelope gzip "flush.size: 250"
    sink env_zstd in envelope zstd "flush.size: 100000" "rotate.interval.ms: 60s" "rotate.schedule.interval.ms: 4s"
    sink avro_plain in avro none "flush.size: 250"
    sink avro_deflate in avro gzip "flush.size: 250"
    sink avro_zstd in avro zstd "flush.size: 250"
    sink by_time in envelope none "flush.size: 250" "partitioner.class: io.confluent.connect.storage.partitioner.TimeBasedPartitioner" \
        "path.format: \"'dt'=YYYY-MM-dd/'hour'=HH\"" "partition.duration.ms: 1h" "rotate.schedule.interval.ms: 4s"
    sink multipart big envelope none "flush.size: 4000"
    sink raw big bytes gzip "flush.size: 1000"
    # Binary values and tombstones have no field to partition by: record errors, dead-lettered.
    sink no_field in envelope none "partitioner.class: field" "partition.field.name: id" "errors.tolerance: all" \
        "errors.deadletterqueue.topic.name: in-dlq"
    # topics.regex instead of topics: matches "in" only (whole names).
    sink by_regex in envelope none "flush.size: 250" | sed 's/^    topics: in$/    topics.regex: "i[n]|bi"/'
    sink values js io.confluent.connect.s3.format.json.JsonFormat none "flush.size: 100" \
        "partitioner.class: field" "partition.field.name: [seq]" "rotate.schedule.interval.ms: 4s"
} >"$WORK/p.yaml"
"$FERRY" validate "$WORK/p.yaml" >/dev/null || fail "validate rejected the archive pipeline"
# A sink names its topics one way, and a pattern must compile.
sed 's/^    topics.regex: .*/&\n    topics: in/' "$WORK/p.yaml" >"$WORK/both.yaml"
! "$FERRY" validate "$WORK/both.yaml" 2>"$WORK/both.err" && grep -q "connector by_regex: set 'topics' or 'topics.regex', not both" "$WORK/both.err" ||
    fail "topics and topics.regex together were not refused: $(cat "$WORK/both.err")"
sed 's/^    topics.regex: .*/    topics.regex: "in("/' "$WORK/p.yaml" >"$WORK/badre.yaml"
! "$FERRY" validate "$WORK/badre.yaml" 2>"$WORK/badre.err" && grep -q "topics.regex 'in(':" "$WORK/badre.err" ||
    fail "a bad topics.regex was not refused: $(cat "$WORK/badre.err")"
ferry_start run "$WORK/p.yaml"

# Fixed-size objects: 1000 records per partition, 250 per object.
for n in env_none env_gzip by_time env_zstd by_regex; do
    wait_until 120 s3_count_is envelope "${PFX}$n/" 3000 || fail "$n: the archive does not hold the 3000 records"
done
for n in avro_plain avro_deflate avro_zstd; do
    wait_until 60 s3_count_is avro "${PFX}$n/" 3000 || fail "$n: the Avro archive does not hold the 3000 records"
done
wait_until 120 s3_count_is envelope "${PFX}multipart/" 4000 || fail "multipart: the archive does not hold 4000 records"
wait_until 60 s3_keys_at_least "${PFX}values/" 400 || fail "json: expected 400 objects (one per seq value)"
wait_until 180 topic_at_least in-dlq 3000 ||
    fail "the records the field partitioner cannot place did not all reach the dead-letter topic"
ferry_stop "$FERRY_PID"
[ "$(s3_keys "${PFX}no_field/" | wc -l)" -eq 0 ] || fail "records without the field were archived"

for n in env_none env_gzip env_zstd by_time by_regex; do
    s3_archived envelope "${PFX}$n/" "$WORK/$n.jsonl"
    /usr/bin/python3 "$S3CHECK" compare "$WORK/in.jsonl" "$WORK/$n.jsonl" >/dev/null || fail "$n: archive differs from the topic"
done
for n in avro_plain avro_deflate avro_zstd; do
    s3_archived avro "${PFX}$n/" "$WORK/$n.jsonl"
    /usr/bin/python3 "$S3CHECK" compare "$WORK/in.jsonl" "$WORK/$n.jsonl" >/dev/null || fail "$n: Avro archive differs from the topic"
done
s3_archived envelope "${PFX}multipart/" "$WORK/multipart.jsonl"
/usr/bin/python3 "$S3CHECK" compare "$WORK/big.jsonl" "$WORK/multipart.jsonl" >/dev/null || fail "multipart archive differs"
s3_archived bytes "${PFX}raw/" "$WORK/raw.jsonl"
/usr/bin/python3 "$S3CHECK" compare "$WORK/big.jsonl" "$WORK/raw.jsonl" --values-only >/dev/null || fail "bytes archive differs"

# Object names: exactly the keys the rules give, nothing else.
s3_keys "${PFX}env_none/" >"$WORK/keys.txt"
for p in 0 1 2; do
    for start in 0 250 500 750; do
        printf '%senv_none/in/partition=%d/in+%d+%019d.jsonl\n' "$PFX" "$p" "$p" "$start"
    done
done | sort >"$WORK/keys.want"
diff "$WORK/keys.want" "$WORK/keys.txt" >&2 || fail "env_none: unexpected object keys"
s3_keys "${PFX}env_gzip/" | grep -c '\.jsonl\.gz$' | grep -qx 12 || fail "env_gzip: expected 12 .jsonl.gz objects"
s3_keys "${PFX}avro_plain/" | grep -c '\.avro$' | grep -qx 12 || fail "avro: expected 12 .avro objects"
# The time partitioner's paths: hour 22 and 23 of 2023-11-14 (UTC).
s3_keys "${PFX}by_time/" | sed -E 's|.*/(dt=[^/]*/hour=[0-9]+)/.*|\1|' | sort -u | tr '\n' ' ' >"$WORK/hours.txt"
[ "$(cat "$WORK/hours.txt")" = "dt=2023-11-14/hour=22 dt=2023-11-14/hour=23 " ] ||
    fail "time partitioner paths: $(cat "$WORK/hours.txt")"
# rotate.interval.ms: a partition's records are 3 s apart, so 60 s give 20 per object.
s3_keys "${PFX}env_zstd/in/partition=0/" | head -2 | sed 's/.*+//' | tr '\n' ' ' >"$WORK/zstd.txt"
[ "$(cat "$WORK/zstd.txt")" = "0000000000000000000.jsonl.zst 0000000000000000020.jsonl.zst " ] ||
    fail "rotate.interval.ms: first objects $(cat "$WORK/zstd.txt")"
# The multipart object is larger than one part.
size=$(aws_s3 s3api head-object --bucket "$S3_BUCKET" --key "${PFX}multipart/big/partition=0/big+0+0000000000000000000.jsonl" \
    --query ContentLength --output text)
[ "$size" -gt $((5 * 1024 * 1024)) ] || fail "the multipart object has only $size bytes"
# json format + field partitioner: datagen's values as JSON lines under seq=<n>.
s3_download "${PFX}values/" "$WORK/values"
[ "$(find "$WORK/values" -path '*/seq=*' -name 'js+*.json' | wc -l)" -gt 0 ] || fail "field partitioner: no seq=<n> paths"
[ "$(cat "$WORK"/values/js/*/*.json | wc -l)" -eq 400 ] || fail "json format: expected 400 lines"
cat "$WORK"/values/js/*/*.json | /usr/bin/python3 -c 'import json,sys; [json.loads(l)["seq"] for l in sys.stdin]' ||
    fail "json format: a line is not datagen's JSON value"

# The operators' check passes on each archive.
for n in env_none env_gzip env_zstd avro_plain avro_deflate multipart; do
    "$FERRY" archive verify --bucket "$S3_BUCKET" --prefix "${PFX}$n" --endpoint "$S3_ENDPOINT" >"$WORK/verify-$n.txt" ||
        fail "archive verify found problems in $n: $(cat "$WORK/verify-$n.txt")"
done
grep -q '^in/0 .* 0 *1000 ' "$WORK/verify-env_none.txt" || fail "verify summary: $(cat "$WORK/verify-env_none.txt")"
log "PASS"
