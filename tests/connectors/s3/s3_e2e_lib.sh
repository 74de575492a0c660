# s3_e2e_lib.sh — shared by the s3 connector's end-to-end tests: the pieces
# of a pipeline file and the read-back of archives with Debian's aws CLI and
# s3check.py. Source after common.sh, then broker_start and s3_env.
S3CHECK=$FERRY_SOURCE_DIR/tests/connectors/s3/s3check.py

# s3_worker_yaml: the worker section, offsets in $OFFSETS_TOPIC.
s3_worker_yaml() {
    cat <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
connectors:
YAML
}

# s3_store_yaml [ENDPOINT]: the store options every s3 connector of a test shares.
s3_store_yaml() {
    cat <<YAML
    store.url: ${1:-$S3_ENDPOINT}
    s3.bucket.name: $S3_BUCKET
    aws.access.key.id: $AWS_ACCESS_KEY_ID
    aws.secret.access.key: \${env:AWS_SECRET_ACCESS_KEY}
YAML
}

# s3_sink_yaml NAME TOPIC DIR FORMAT COMPRESSION [OPTION: VALUE]...: an
# s3-sink connector entry archiving TOPIC under DIR (flush.interval 1s).
s3_sink_yaml() {
    cat <<YAML
  $1:
    connector: s3-sink
    topics: $2
    topics.dir: $3
    format.class: $4
    s3.compression.type: $5
    flush.interval: 1s
$(s3_store_yaml)
YAML
    shift 5
    local kv
    for kv in "$@"; do echo "    $kv"; done
}

# s3_download PREFIX DIR: every object under s3://$S3_BUCKET/PREFIX into DIR.
s3_download() {
    rm -rf "$2"
    mkdir -p "$2"
    aws_s3 s3 cp --recursive --only-show-errors "s3://$S3_BUCKET/$1" "$2" >>"$WORK/aws.log" 2>&1
}

# s3_keys PREFIX: the keys under PREFIX, sorted, one per line.
s3_keys() {
    aws_s3 s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$1" --query 'Contents[].Key' --output text \
        2>>"$WORK/aws.log" | tr '\t' '\n' | grep -v '^None$' | sort || true
}

# s3_keys_at_least PREFIX N: there are N or more objects under PREFIX.
s3_keys_at_least() {
    [ "$(s3_keys "$1" | wc -l)" -ge "$2" ]
}

# s3_archived FORMAT PREFIX OUT: downloads and decodes the archive under PREFIX.
s3_archived() {
    s3_download "$2" "$WORK/dl" && s3_py "$S3CHECK" decode "$1" "$WORK/dl" "$3"
}

# s3_count_is FORMAT PREFIX N: the archive under PREFIX holds N records.
s3_count_is() {
    s3_archived "$1" "$2" "$WORK/count.jsonl" 2>>"$WORK/decode.log" && [ "$(wc -l <"$WORK/count.jsonl")" -eq "$3" ]
}

# topic_at_least TOPIC N: TOPIC holds N records or more.
topic_at_least() {
    [ "$(topic_count "$1")" -ge "$2" ]
}
