#!/usr/bin/env bash
# The archive's object set is exactly-once: a run that is killed with -9
# several times (uploads slowed by a proxy, so the kills land mid-run) ends
# with the same objects as an uninterrupted run of the same topic, the same
# keys with the same SHA-256, and every offset in exactly one object.
source "$TESTLIB"
source "$FERRY_SOURCE_DIR/tests/connectors/s3/s3_e2e_lib.sh"
broker_start --topic eo:3
s3_env
PFX=$(s3_fresh_prefix eo)
/usr/bin/python3 "$S3CHECK" produce "$BROKER" eo 3 6000
# 2000 records per partition, 3 s apart: rotate.interval.ms 150s cuts every
# 50 records, flush.size 80 never; the last object of each partition stays
# open, so 39 complete objects per partition.
WANT=$((3 * 39))

pipeline() { # NAME DIR ENDPOINT
    s3_worker_yaml
    cat <<YAML
  $1:
    connector: s3-sink
    topics: eo
    topics.dir: ${PFX}$2
    format.class: envelope
    s3.compression.type: gzip
    flush.size: 80
    rotate.interval.ms: 150s
    flush.interval: 300ms
    # A killed member holds its partitions until its session times out.
    consumer.override.session.timeout.ms: 6000
    consumer.override.heartbeat.interval.ms: 1000
$(s3_store_yaml "$3")
YAML
}

# The reference: one uninterrupted run.
pipeline ref ref "$S3_ENDPOINT" >"$WORK/ref.yaml"
ferry_start ref "$WORK/ref.yaml"
wait_until 120 s3_keys_at_least "${PFX}ref/" "$WANT" || fail "the reference run wrote fewer than $WANT objects"
sleep 2 # nothing more may come: the tails stay open
ferry_stop "$FERRY_PID"
[ "$(s3_keys "${PFX}ref/" | wc -l)" -eq "$WANT" ] || fail "the reference run wrote $(s3_keys "${PFX}ref/" | wc -l) objects, not $WANT"

# The same topic again under another consumer group and folder, through a
# proxy that holds every upload 60 ms, killed four times.
faultproxy_start 'PutObject:delay=60'
pipeline crash crash "$PROXY_ENDPOINT" >"$WORK/crash.yaml"
kills=0
for i in 1 2 3 4; do
    ferry_start crash "$WORK/crash.yaml"
    sleep "1.$((RANDOM % 9))"
    kill -9 "$FERRY_PID"
    wait "$FERRY_PID" 2>/dev/null || true
    kills=$((kills + 1))
    log "kill -9 #$i: $(s3_keys "${PFX}crash/" | wc -l) objects so far"
done
[ "$(s3_keys "${PFX}crash/" | wc -l)" -lt "$WANT" ] || fail "the kills came too late: the archive was already complete"
ferry_start crash "$WORK/crash.yaml"
wait_until 180 s3_keys_at_least "${PFX}crash/" "$WANT" || fail "after $kills kills the archive has fewer than $WANT objects"
sleep 2
ferry_stop "$FERRY_PID"

# Same keys, same bytes.
for run in ref crash; do
    s3_download "${PFX}$run/" "$WORK/$run"
    (cd "$WORK/$run" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$WORK/$run.sha"
done
diff "$WORK/ref.sha" "$WORK/crash.sha" >&2 || fail "the object sets differ after kill -9"
# Every offset in exactly one object, and all of them there.
"$FERRY" archive verify --bucket "$S3_BUCKET" --prefix "${PFX}crash" --endpoint "$S3_ENDPOINT" >"$WORK/verify.txt" ||
    fail "archive verify: $(cat "$WORK/verify.txt")"
s3_py "$S3CHECK" decode envelope "$WORK/crash" "$WORK/crash.jsonl"
[ "$(wc -l <"$WORK/crash.jsonl")" -eq $((WANT * 50)) ] || fail "the archive holds $(wc -l <"$WORK/crash.jsonl") records"
/usr/bin/python3 -c '
import collections, json, sys
seen = collections.Counter((r["partition"], r["offset"]) for r in map(json.loads, open(sys.argv[1])))
twice = [k for k, n in seen.items() if n > 1]
sys.exit("offsets in two objects: %s" % twice[:5] if twice else 0)' "$WORK/crash.jsonl" || fail "an offset is archived twice"
# moto honours If-None-Match: objects written before a kill were kept, not
# written again (s3rver ignores the condition and overwrites the same bytes).
if [ "$S3_SERVER" = moto ]; then
    grep -q "was archived before (same size): kept" "$WORK/crash.log" || fail "no conditional write was refused (412)"
fi
log "PASS ($kills kills; $WANT objects, same SHA-256 as the uninterrupted run)"
