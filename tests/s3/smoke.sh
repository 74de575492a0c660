#!/usr/bin/env bash
# The S3 server of the fixture (s3rver or moto) and the fault proxy, through clients no one here
# wrote: Debian's aws CLI, and curl's own SigV4 signing where the CLI has no option for it. It
# proves what the S3 tests rely on, and pins down where the two servers differ (see README.md):
#   - put, list, get, byte for byte; ListObjectsV2 pages with max-keys and continuation tokens;
#   - a multipart upload (aws s3 cp of a file over its 8 MiB threshold), read back whole;
#   - PUT and CompleteMultipartUpload with If-None-Match: * on a taken key: 412 on moto,
#     ignored (200, overwritten) on s3rver;
#   - curl 7.88 signs a query as written: s3rver refuses an unsorted one (403), moto takes it;
#   - a wrong secret: 403 SignatureDoesNotMatch on s3rver, accepted by moto;
#   - faultproxy.py: 500s and a connection reset that the CLI retries, counted by the proxy, with
#     signed requests that pass through it unchanged (Host included).
# shellcheck source=../lib/common.sh
. "$TESTLIB"

s3_env
PREFIX=$(s3_fresh_prefix smoke)
B=$S3_BUCKET
log "prefix $PREFIX"

# sigv4_curl SECRET ARG...: curl signing with SECRET for the test's access key. curl 7.88 sends no
# x-amz-content-sha256 of its own (s3rver requires one); it signs with the value given.
sigv4_curl() {
    local secret=$1
    shift
    curl -sS -m 20 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$secret" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

# keys_of JSON_FILE: the keys of a list-objects-v2 answer, one a line.
keys_of() {
    /usr/bin/python3 -c 'import json, sys; [print(o["Key"]) for o in json.load(open(sys.argv[1])).get("Contents", [])]' "$1"
}
json_field() { # FILE FIELD
    /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"
}

# --- put, list, get ---
head -c 100000 /dev/urandom >"$WORK/small.bin"
aws_s3 s3api put-object --bucket "$B" --key "${PREFIX}small.bin" --body "$WORK/small.bin" >"$WORK/put.json"
aws_s3 s3api list-objects-v2 --bucket "$B" --prefix "$PREFIX" >"$WORK/list.json"
[ "$(keys_of "$WORK/list.json")" = "${PREFIX}small.bin" ] || fail "list shows $(keys_of "$WORK/list.json"), not ${PREFIX}small.bin"
aws_s3 s3api get-object --bucket "$B" --key "${PREFIX}small.bin" "$WORK/small.back" >/dev/null
cmp "$WORK/small.bin" "$WORK/small.back" || fail "the object read back differs from the one put"
log "put, list, get: ok (ETag $(json_field "$WORK/put.json" ETag))"

# --- ListObjectsV2 pagination: 5 keys, 2 a page, one call per page ---
for i in 1 2 3 4 5; do
    echo "$i" >"$WORK/p$i"
    aws_s3 s3api put-object --bucket "$B" --key "${PREFIX}page/k$i" --body "$WORK/p$i" >/dev/null
done
token=() pages=0 listed=()
while :; do
    aws_s3 s3api list-objects-v2 --no-paginate --bucket "$B" --prefix "${PREFIX}page/" --max-keys 2 \
        "${token[@]}" >"$WORK/page.json"
    pages=$((pages + 1))
    mapfile -t -O "${#listed[@]}" listed < <(keys_of "$WORK/page.json")
    next=$(json_field "$WORK/page.json" NextContinuationToken)
    [ "$(json_field "$WORK/page.json" IsTruncated)" = True ] || break
    [ -n "$next" ] || fail "a truncated page has no NextContinuationToken"
    token=(--continuation-token "$next")
    [ $pages -lt 10 ] || fail "pagination does not end"
done
want=$(printf '%spage/k%s\n' "$PREFIX" 1 "$PREFIX" 2 "$PREFIX" 3 "$PREFIX" 4 "$PREFIX" 5)
[ "$(printf '%s\n' "${listed[@]}")" = "$want" ] || fail "pages listed: ${listed[*]}"
[ $pages = 3 ] || fail "5 keys at max-keys 2 came in $pages pages, not 3"
log "ListObjectsV2 pagination: 5 keys in 3 pages of at most 2, in order"

# --- multipart upload: aws s3 cp goes multipart above 8 MiB (parts of 8 MiB) ---
head -c $((9 * 1024 * 1024 + 12345)) /dev/urandom >"$WORK/big.bin"
aws_s3 s3 cp --only-show-errors "$WORK/big.bin" "s3://$B/${PREFIX}big.bin"
aws_s3 s3api head-object --bucket "$B" --key "${PREFIX}big.bin" >"$WORK/head.json"
etag=$(json_field "$WORK/head.json" ETag)
size=$(json_field "$WORK/head.json" ContentLength)
[ "$size" = $((9 * 1024 * 1024 + 12345)) ] || fail "the multipart object has $size bytes"
aws_s3 s3 cp --only-show-errors "s3://$B/${PREFIX}big.bin" "$WORK/big.back"
cmp "$WORK/big.bin" "$WORK/big.back" || fail "the multipart object read back differs"
case $S3_SERVER in
# moto's ETag is S3's: the MD5 of the parts' MD5s, then -PARTS. s3rver's is a plain MD5.
moto) [[ $etag == *-2\" ]] || fail "moto's multipart ETag $etag does not end in -2" ;;
s3rver) [[ $etag =~ ^\"[0-9a-f]{32}\"$ ]] || fail "s3rver's multipart ETag $etag is not a plain MD5" ;;
esac
log "multipart upload of $size bytes: ok (ETag $etag)"

# --- conditional write: If-None-Match: * (awscli 2.9 has no --if-none-match) ---
code=$(sigv4_curl "$AWS_SECRET_ACCESS_KEY" -o "$WORK/inm.out" -w '%{http_code}' -T "$WORK/p1" \
    -H 'If-None-Match: *' "$S3_ENDPOINT/$B/${PREFIX}inm")
[ "$code" = 200 ] || fail "PUT If-None-Match: * of a new key answered $code: $(cat "$WORK/inm.out")"
code=$(sigv4_curl "$AWS_SECRET_ACCESS_KEY" -o "$WORK/inm.out" -w '%{http_code}' -T "$WORK/p2" \
    -H 'If-None-Match: *' "$S3_ENDPOINT/$B/${PREFIX}inm")
aws_s3 s3api get-object --bucket "$B" --key "${PREFIX}inm" "$WORK/inm.back" >/dev/null
case $S3_SERVER in
moto)
    [ "$code" = 412 ] || fail "moto answered $code, not 412, to If-None-Match: * on a taken key"
    grep -q PreconditionFailed "$WORK/inm.out" || fail "moto's 412 is not PreconditionFailed: $(cat "$WORK/inm.out")"
    cmp -s "$WORK/p1" "$WORK/inm.back" || fail "moto overwrote the key despite its 412"
    ;;
s3rver)
    # If this starts to fail, s3rver learnt conditional writes: update README.md and the sink.
    [ "$code" = 200 ] || fail "s3rver answered $code (it used to ignore If-None-Match and overwrite)"
    cmp -s "$WORK/p2" "$WORK/inm.back" || fail "s3rver answered 200 but kept the first object"
    ;;
esac
log "PUT If-None-Match: * on a taken key: $code"

# --- the same on CompleteMultipartUpload, as the sink completes its large objects ---
mpu_url="$S3_ENDPOINT/$B/${PREFIX}inm"
# The query is written as SigV4 canonicalises it: curl 7.88 signs it as written.
sigv4_curl "$AWS_SECRET_ACCESS_KEY" -f -X POST -o "$WORK/mpu.xml" "$mpu_url?uploads="
upload_id=$(sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p' "$WORK/mpu.xml")
[ -n "$upload_id" ] || fail "CreateMultipartUpload gave no UploadId: $(cat "$WORK/mpu.xml")"
part_etag=$(sigv4_curl "$AWS_SECRET_ACCESS_KEY" -f -T "$WORK/p3" -D - -o /dev/null \
    "$mpu_url?partNumber=1&uploadId=$upload_id" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p')
[ -n "$part_etag" ] || fail "UploadPart gave no ETag"
code=$(sigv4_curl "$AWS_SECRET_ACCESS_KEY" -o "$WORK/inm.out" -w '%{http_code}' -X POST -H 'If-None-Match: *' \
    -H 'Content-Type: application/xml' --data-binary \
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$part_etag</ETag></Part></CompleteMultipartUpload>" \
    "$mpu_url?uploadId=$upload_id")
case $S3_SERVER in
moto) [ "$code" = 412 ] || fail "moto answered $code, not 412, to a CompleteMultipartUpload with If-None-Match: * on a taken key" ;;
s3rver) [ "$code" = 200 ] || fail "s3rver answered $code to a CompleteMultipartUpload with If-None-Match: * (it used to ignore it)" ;;
esac
log "CompleteMultipartUpload If-None-Match: * on a taken key: $code"

# --- curl 7.88 signs the query exactly as written; s3rver checks it, moto does not ---
enc_prefix=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PREFIX")
code=$(sigv4_curl "$AWS_SECRET_ACCESS_KEY" -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/$B?list-type=2&prefix=$enc_prefix")
[ "$code" = 200 ] || fail "a list with a canonical query (sorted, encoded) answered $code"
code=$(sigv4_curl "$AWS_SECRET_ACCESS_KEY" -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/$B?prefix=$enc_prefix&list-type=2")
case $S3_SERVER in
s3rver) [ "$code" = 403 ] || fail "s3rver answered $code, not 403, to a query signed unsorted" ;;
moto) [ "$code" = 200 ] || fail "moto answered $code to a query signed unsorted" ;;
esac
log "a query signed unsorted: $code"

# --- signatures: a wrong secret ---
code=$(sigv4_curl wrong-secret -o "$WORK/wrong.out" -w '%{http_code}' "$S3_ENDPOINT/$B/${PREFIX}small.bin")
case $S3_SERVER in
s3rver)
    [ "$code" = 403 ] || fail "s3rver answered $code, not 403, to a wrong secret"
    grep -q SignatureDoesNotMatch "$WORK/wrong.out" || fail "s3rver's 403 is not SignatureDoesNotMatch: $(head -c 300 "$WORK/wrong.out")"
    code=$(curl -sS -m 20 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "S3RVER:S3RVER" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o "$WORK/wrong.out" -w '%{http_code}' "$S3_ENDPOINT/$B/")
    [ "$code" = 403 ] || fail "s3rver's built-in key pair S3RVER/S3RVER was not revoked ($code)"
    log "wrong secret: 403 SignatureDoesNotMatch; s3rver's default key pair: 403"
    ;;
moto)
    [ "$code" = 200 ] || fail "moto answered $code to a wrong secret (it used to accept any signature)"
    log "wrong secret: moto accepts it (it verifies no signature)"
    ;;
esac

# --- the fault proxy: two 500s on PUT, then a reset on GET; the CLI retries both ---
faultproxy_start 'PUT:500:2'
S3_AWS_ENDPOINT=$PROXY_ENDPOINT aws_s3 s3api put-object --bucket "$B" --key "${PREFIX}proxied.bin" \
    --body "$WORK/small.bin" >/dev/null
[ "$(faultproxy_count)" = 2 ] || fail "the proxy injected $(faultproxy_count) faults, not 2"
grep -q 'FAULT 500' "$WORK/faultproxy.log" || fail "the proxy's log shows no injected 500"
faultproxy_rules 'GetObject:reset:1'
S3_AWS_ENDPOINT=$PROXY_ENDPOINT aws_s3 s3api get-object --bucket "$B" --key "${PREFIX}proxied.bin" \
    "$WORK/proxied.back" >/dev/null
cmp "$WORK/small.bin" "$WORK/proxied.back" || fail "the object put and got through the proxy differs"
[ "$(faultproxy_count)" = 1 ] || fail "the proxy reset $(faultproxy_count) GETs, not 1"
# Multipart steps through the proxy: one UploadPart and the Complete fail once each.
faultproxy_rules 'UploadPart:500:1' 'CompleteMultipartUpload:503:1:retry-after=0'
S3_AWS_ENDPOINT=$PROXY_ENDPOINT aws_s3 s3 cp --only-show-errors "$WORK/big.bin" "s3://$B/${PREFIX}proxied-big.bin"
[ "$(faultproxy_count)" = 2 ] || fail "the proxy failed $(faultproxy_count) multipart steps, not 2"
aws_s3 s3 cp --only-show-errors "s3://$B/${PREFIX}proxied-big.bin" "$WORK/proxied-big.back"
cmp "$WORK/big.bin" "$WORK/proxied-big.back" || fail "the multipart object uploaded through the proxy differs"
faultproxy_stop
log "faultproxy: 500s, a reset and multipart faults injected, retried by the CLI; signed requests pass"

# Leave the shared bucket as it was.
aws_s3 s3 rm --only-show-errors --recursive "s3://$B/$PREFIX"
log "PASS"
