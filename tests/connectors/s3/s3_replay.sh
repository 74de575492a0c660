#!/usr/bin/env bash
# Archive, then replay into new topics with s3-source: record by record the
# replayed topic equals the archived one (key, value, headers, timestamp,
# partition, order), from envelope and from Avro objects, with two tasks and
# a stop and restart in the middle (it resumes at its stored offset, neither
# losing nor repeating a record). start.time/end.time replay a window only.
source "$TESTLIB"
source "$FERRY_SOURCE_DIR/tests/connectors/s3/s3_e2e_lib.sh"
broker_start --topic src:3 --topic dst:3 --topic dst_avro:3 --topic window:3
s3_env
PFX=$(s3_fresh_prefix replay)
/usr/bin/python3 "$S3CHECK" produce "$BROKER" src 3 3000
/usr/bin/python3 "$S3CHECK" dump "$BROKER" src "$WORK/src.jsonl"
{
    s3_worker_yaml
    for f in envelope avro; do
        cat <<YAML
  arch_$f:
    connector: s3-sink
    topics: src
    topics.dir: ${PFX}$f
    format.class: $f
    s3.compression.type: zstd
    flush.size: 100
    flush.interval: 500ms
$(s3_store_yaml)
YAML
    done
} >"$WORK/archive.yaml"
ferry_start archive "$WORK/archive.yaml"
wait_until 120 s3_keys_at_least "${PFX}envelope/" 30 || fail "the envelope archive is incomplete"
wait_until 60 s3_keys_at_least "${PFX}avro/" 30 || fail "the Avro archive is incomplete"
ferry_stop "$FERRY_PID"

replay_yaml() { # NAME DIR TARGET [OPTION: VALUE]...
    local name=$1 dir=$2 target=$3
    shift 3
    s3_worker_yaml
    cat <<YAML
  $name:
    connector: s3-source
    topics: src
    topic.rename: {src: $target}
    topics.dir: ${PFX}$dir
    tasks.max: 2
$(s3_store_yaml "${REPLAY_ENDPOINT:-$S3_ENDPOINT}")
YAML
    local kv
    for kv in "$@"; do echo "    $kv"; done
}

# Envelope: stopped once in the middle, then run to the end. A proxy holds
# every download 300 ms, so that the stop comes in the middle.
faultproxy_start 'GetObject:delay=300'
REPLAY_ENDPOINT=$PROXY_ENDPOINT replay_yaml replay envelope dst "batch.max.records: 50" >"$WORK/replay.yaml"
ferry_start replay "$WORK/replay.yaml"
wait_until 60 topic_at_least dst 300 ||
    fail "replay did not start"
ferry_stop "$FERRY_PID"
mid=$(topic_count dst)
log "stopped after $mid records"
[ "$mid" -lt 3000 ] || fail "replay finished before the stop (no resume tested)"
ferry_start replay "$WORK/replay.yaml"
wait_until 120 topic_at_least dst 3000 ||
    fail "replay did not finish after the restart"
sleep 1
ferry_stop "$FERRY_PID"
grep -q "resumes at" "$WORK/replay.log" || fail "the restarted replay did not resume from its stored offsets"
/usr/bin/python3 "$S3CHECK" dump "$BROKER" dst "$WORK/dst.jsonl"
/usr/bin/python3 "$S3CHECK" compare "$WORK/src.jsonl" "$WORK/dst.jsonl" --no-offsets --rename=src=dst ||
    fail "the replayed topic differs from the archived one"

# Avro objects replay the same.
replay_yaml replay_avro avro dst_avro >"$WORK/replay_avro.yaml"
ferry_start replay_avro "$WORK/replay_avro.yaml"
wait_until 120 topic_at_least dst_avro 3000 ||
    fail "Avro replay did not finish"
sleep 1
ferry_stop "$FERRY_PID"
/usr/bin/python3 "$S3CHECK" dump "$BROKER" dst_avro "$WORK/dst_avro.jsonl"
/usr/bin/python3 "$S3CHECK" compare "$WORK/src.jsonl" "$WORK/dst_avro.jsonl" --no-offsets --rename=src=dst_avro ||
    fail "the topic replayed from Avro differs"

# A time window: records 1000..1999 by timestamp (1 s apart from 1700000000000).
replay_yaml replay_window envelope window "start.time: 1700001000000" "end.time: 2023-11-14T22:46:39Z" \
    >"$WORK/replay_window.yaml"
ferry_start replay_window "$WORK/replay_window.yaml"
wait_until 120 topic_at_least window 1000 ||
    fail "window replay did not finish"
sleep 2
ferry_stop "$FERRY_PID"
/usr/bin/python3 "$S3CHECK" dump "$BROKER" window "$WORK/window.jsonl"
/usr/bin/python3 - "$WORK/src.jsonl" "$WORK/window.jsonl" <<'PY' || fail "the window replay holds other records"
import json, sys
src = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
want = [r for r in src if 1700001000000 <= r["timestamp"] <= 1700001999000]
key = lambda r: (r["partition"], r["timestamp"])
strip = lambda rs: sorted(({k: v for k, v in r.items() if k not in ("offset", "topic")} for r in rs), key=key)
sys.exit(0 if len(want) == 1000 and strip(want) == strip(got) else "%d wanted, %d replayed" % (len(want), len(got)))
PY
log "PASS"
