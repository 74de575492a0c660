#!/usr/bin/env bash
# The gateway's cold path (gw_cold.c, through gw_cold_dump) reads a
# partition back from s3-sink's archive exactly as the topic holds it:
# offsets, keys, values (tombstones, null keys) and timestamps, in offset
# order, nothing missing and nothing extra, from offset 0 and from offsets
# inside and past the archive, from envelope+gzip, Avro (deflate) and a
# time-partitioned envelope+zstd archive with several objects per partition.
# Objects are downloaded only when reached: a corrupt object fails the read
# that reaches it, naming its key, and not one that starts after it. A json
# object (values only) among a partition's objects fails the open, and so
# does a listing that fails, naming the bucket and prefix.
source "$TESTLIB"
source "$FERRY_SOURCE_DIR/tests/connectors/s3/s3_e2e_lib.sh"
DUMP=${GW_COLD_DUMP:?GW_COLD_DUMP must point at gw_cold_dump (ctest sets it)}
broker_start --topic cold:2
s3_env
PFX=$(s3_fresh_prefix cold)
# 300 records per partition: offsets 0..299, 50 to an object.
/usr/bin/python3 "$S3CHECK" produce "$BROKER" cold 2 600
/usr/bin/python3 "$S3CHECK" dump "$BROKER" cold "$WORK/cold.jsonl"
[ "$(wc -l <"$WORK/cold.jsonl")" = 600 ] || fail "the topic does not hold the 600 records"

sink() { s3_sink_yaml "$1" cold "${PFX}$1" "$2" "$3" "flush.size: 50" "${@:4}"; } # NAME FORMAT COMPRESSION [OPTION: VALUE]...
{
    s3_worker_yaml
    sink env_gzip envelope gzip
    sink avro avro gzip
    # One-minute buckets: a partition's records are 2 s apart, so each
    # bucket holds up to 30 of them, in objects under their own paths.
    sink by_time envelope zstd "partitioner.class: time" "path.format: \"'dt'=YYYY-MM-dd/'min'=HHmm\"" \
        "partition.duration.ms: 1m" "rotate.schedule.interval.ms: 4s"
} >"$WORK/p.yaml"
ferry_start archive "$WORK/p.yaml"
wait_until 120 s3_count_is envelope "${PFX}env_gzip/" 600 || fail "env_gzip: the archive does not hold the 600 records"
wait_until 60 s3_count_is avro "${PFX}avro/" 600 || fail "avro: the archive does not hold the 600 records"
wait_until 60 s3_count_is envelope "${PFX}by_time/" 600 || fail "by_time: the archive does not hold the 600 records"
ferry_stop "$FERRY_PID"
[ "$(s3_keys "${PFX}by_time/cold/" | grep -c '/cold+0+')" -ge 10 ] ||
    fail "by_time: expected 10 or more objects for partition 0: $(s3_keys "${PFX}by_time/cold/")"

# dump NAME PARTITION FROM OUT: gw_cold_dump of archive NAME; its stderr in OUT.err.
dump() {
    "$DUMP" "$S3_ENDPOINT" "$S3_BUCKET" "$S3_REGION" "${PFX}$1" cold "$2" "$3" >"$4" 2>"$4.err"
}

# expect PARTITION FROM GOT: GOT holds exactly the topic's records of
# PARTITION from offset FROM, in offset order.
expect() {
    /usr/bin/python3 - "$WORK/cold.jsonl" "$1" "$2" "$3" <<'PY'
import json, sys
src, part, frm, got = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
want = [{"offset": r["offset"], "timestamp": r["timestamp"], "key": r["key"], "value": r["value"]}
        for r in map(json.loads, open(src)) if r["partition"] == part and r["offset"] >= frm]
want.sort(key=lambda r: r["offset"])
have = [json.loads(l) for l in open(got)]
if have != want:
    for i, (a, b) in enumerate(zip(want, have)):
        if a != b:
            sys.exit("record %d differs:\n expected %s\n actual   %s" % (i, json.dumps(a), json.dumps(b)))
    sys.exit("%d records expected, %d read" % (len(want), len(have)))
PY
}

for name in env_gzip avro by_time; do
    for p in 0 1; do
        for from in 0 137 299 300; do
            out="$WORK/$name-$p-$from.jsonl"
            dump "$name" "$p" "$from" "$out" || fail "$name: gw_cold_dump $p $from exited $?: $(cat "$out.err")"
            expect "$p" "$from" "$out" || fail "$name: partition $p from $from differs from the topic"
        done
    done
    # A partition that was never archived reads as empty.
    dump "$name" 7 0 "$WORK/none.jsonl" || fail "$name: partition 7 (not archived): $(cat "$WORK/none.jsonl.err")"
    [ ! -s "$WORK/none.jsonl" ] || fail "$name: partition 7 (not archived) gave records"
done
[ "$(wc -l <"$WORK/env_gzip-0-137.jsonl")" = 163 ] || fail "from 137: expected offsets 137..299"

# Corrupt objects, named as the sink names them, between offsets 150 and 200.
bad_env="${PFX}env_gzip/cold/partition=0/cold+0+0000000000000000175.jsonl.gz"
bad_avro="${PFX}avro/cold/partition=1/cold+1+0000000000000000175.avro"
printf 'garbage, not gzip\n' >"$WORK/garbage"
aws_s3 s3 cp --only-show-errors "$WORK/garbage" "s3://$S3_BUCKET/$bad_env"
head -n 3 "$WORK/cold.jsonl" >"$WORK/not-avro"
aws_s3 s3 cp --only-show-errors "$WORK/not-avro" "s3://$S3_BUCKET/$bad_avro"
for c in "env_gzip 0 $bad_env" "avro 1 $bad_avro"; do
    read -r name p key <<<"$c"
    rc=0
    dump "$name" "$p" 0 "$WORK/bad.jsonl" || rc=$?
    [ "$rc" = 1 ] || fail "$name: a corrupt object gave exit $rc, expected 1"
    grep -qF "s3://$S3_BUCKET/$key: corrupt or truncated object" "$WORK/bad.jsonl.err" ||
        fail "$name: the error does not name the corrupt object: $(cat "$WORK/bad.jsonl.err")"
    # What comes before it was read, in order: offsets 0..199 (the objects at 0..150).
    /usr/bin/python3 -c 'import json, sys; sys.exit([json.loads(l)["offset"] for l in open(sys.argv[1])] != list(range(200)))' \
        "$WORK/bad.jsonl" || fail "$name: the records before the corrupt object were not all read"
    # A read from 250 starts at the object of offset 250: the corrupt one is never downloaded.
    dump "$name" "$p" 250 "$WORK/after.jsonl" ||
        fail "$name: a read after the corrupt object failed: $(cat "$WORK/after.jsonl.err")"
    expect "$p" 250 "$WORK/after.jsonl" || fail "$name: the read from 250 differs from the topic"
done

# A json object (values only, no offsets) among the partition's objects.
aws_s3 s3 cp --only-show-errors "$WORK/garbage" "s3://$S3_BUCKET/${PFX}by_time/cold/x=1/cold+1+0000000000000000000.json"
rc=0
dump by_time 1 0 "$WORK/json.jsonl" || rc=$?
[ "$rc" = 1 ] || fail "a json object in the archive gave exit $rc, expected 1"
grep -qF "s3://$S3_BUCKET/${PFX}by_time/cold/x=1/cold+1+0000000000000000000.json is in the json format" \
    "$WORK/json.jsonl.err" || fail "the json object is not named: $(cat "$WORK/json.jsonl.err")"
dump by_time 0 0 "$WORK/json0.jsonl" ||
    fail "partition 0 failed on partition 1's json object: $(cat "$WORK/json0.jsonl.err")"

# A listing that fails names the bucket and the prefix.
rc=0
"$DUMP" "$S3_ENDPOINT" ferry-no-such-bucket "$S3_REGION" "${PFX}env_gzip" cold 0 0 >"$WORK/nob.jsonl" \
    2>"$WORK/nob.err" || rc=$?
[ "$rc" = 1 ] || fail "a missing bucket gave exit $rc, expected 1"
grep -qF "under s3://ferry-no-such-bucket/${PFX}env_gzip/cold/:" "$WORK/nob.err" ||
    fail "the listing error does not name the bucket and prefix: $(cat "$WORK/nob.err")"
log "PASS"
