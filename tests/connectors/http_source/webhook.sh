#!/usr/bin/env bash
# http-source mode webhook against the embedded broker, with curl as the
# caller, openssl computing signatures and kcat reading the topics back:
#   - a POST lands in the topic with its key (key.header) and forwarded headers
#   - split.json.array: one record per element, keyed by key.json.pointer
#   - HMAC: wrong → 401 and nothing produced; right GitHub and Stripe style → 200
#   - 404 / 405 / 413 / 415 / 400 / 401 (bearer) with a JSON error body
#   - broker down (SIGSTOP): 503 with Retry-After; every 200 that was given
#     is in the topic once the broker is back (at-least-once to the caller)
source "$TESTLIB"
broker_start --topic hooks:1 --topic split:1 --topic gh:1 --topic stripe:1 --topic bearer:1

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port); P5=$(free_port); RP=$(free_port)
SECRET='s3cr3t-hmac'
cat >"$WORK/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  rest: {listen: "127.0.0.1:$RP"}
connectors:
  plain:
    connector: http-source
    mode: webhook
    listen: 127.0.0.1:$P1
    path: /hook
    topic: hooks
    key.header: X-Delivery
    headers.forward: [X-Event, X-Absent]
    max.body.bytes: 1KiB
    ack.timeout: 2s
    retry.after: 7s
  split:
    connector: http-source
    mode: webhook
    listen: 127.0.0.1:$P2
    topic: split
    split.json.array: true
    key.json.pointer: /id
  github:
    connector: http-source
    mode: webhook
    listen: 127.0.0.1:$P3
    topic: gh
    auth.type: hmac
    auth.hmac.secret: "$SECRET"
  stripe:
    connector: http-source
    mode: webhook
    listen: 127.0.0.1:$P4
    topic: stripe
    auth.type: hmac
    auth.hmac.style: stripe
    auth.hmac.secret: "$SECRET"
    auth.hmac.tolerance: 60s
  bearer:
    connector: http-source
    mode: webhook
    listen: 127.0.0.1:$P5
    topic: bearer
    auth.type: bearer
    auth.token: tok-123
YAML
"$FERRY" validate "$WORK/p.yaml" >/dev/null || fail "validate rejected a good config"
ferry_start run "$WORK/p.yaml"
for p in $P1 $P2 $P3 $P4 $P5; do
    wait_until 20 bash -c "curl -s -o /dev/null http://127.0.0.1:$p/" || fail "webhook on port $p did not come up"
done

# post URL ARGS...: prints "<status> <body>" of a POST.
post() {
    local url=$1
    shift
    curl -s -m 20 -o "$WORK/body" -w '%{http_code}' "$@" "$url" >"$WORK/code" || true
    echo "$(cat "$WORK/code") $(cat "$WORK/body")"
}
expect() { # expect CODE OUTPUT-OF-post WHAT
    [ "${2%% *}" = "$1" ] || fail "$3: expected HTTP $1, got: $2"
    case $1 in 2*) ;; *) [[ "${2#* }" == *'"error":'* ]] || fail "$3: no JSON error body: $2" ;; esac
}

# ---- a plain POST: key, value, forwarded headers ----
r=$(post "http://127.0.0.1:$P1/hook" -H 'X-Delivery: d-1' -H 'X-Event: push' -H 'Content-Type: text/plain' --data-binary 'hello one')
expect 200 "$r" "plain post"
got=$(kcat -b "$BROKER" -C -t hooks -o beginning -e -q -f '%k|%s|%h\n' 2>>"$WORK/kcat.log")
[ "$got" = "d-1|hello one|X-Event=push" ] || fail "record in topic hooks: '$got'"
r=$(post "http://127.0.0.1:$P1/hook" -X PUT --data-binary 'by put')
expect 200 "$r" "PUT"

# ---- refusals: 404, 405, 413 (header and streamed), and nothing produced ----
expect 404 "$(post "http://127.0.0.1:$P1/other" --data-binary x)" "wrong path"
expect 405 "$(curl -s -m 5 -o "$WORK/b" -w '%{http_code}' "http://127.0.0.1:$P1/hook"; echo " $(cat "$WORK/b")")" "GET"
curl -s -m 5 -D "$WORK/h405" -o /dev/null -X DELETE "http://127.0.0.1:$P1/hook"
grep -qi '^Allow: POST, PUT' "$WORK/h405" || fail "405 without Allow"
head -c 2000 /dev/zero | tr '\0' 'a' >"$WORK/big"
expect 413 "$(post "http://127.0.0.1:$P1/hook" --data-binary @"$WORK/big")" "oversized body"
expect 413 "$(post "http://127.0.0.1:$P1/hook" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big")" "oversized chunked body"
[ "$(topic_count hooks)" = 2 ] || fail "refused requests produced records: $(topic_count hooks) in hooks"

# ---- split.json.array + key.json.pointer; 415 and 400 ----
r=$(post "http://127.0.0.1:$P2/" -H 'Content-Type: application/json' --data-binary '[{"id":"a","n":1},{"id":"b","n":2},{"n":3}]')
expect 200 "$r" "split array"
[[ "$r" == *'"records":3'* ]] || fail "split answer: $r"
expect 415 "$(post "http://127.0.0.1:$P2/" -H 'Content-Type: text/plain' --data-binary '[1]')" "text to a JSON webhook"
expect 400 "$(post "http://127.0.0.1:$P2/" -H 'Content-Type: application/json' --data-binary '[{"id":')" "bad JSON"
r=$(post "http://127.0.0.1:$P2/" -H 'Content-Type: application/json; charset=utf-8' --data-binary '{"id":7,"single":true}')
expect 200 "$r" "a single object"
got=$(kcat -b "$BROKER" -C -t split -o beginning -e -q -K'|' -f '%k|%s\n' 2>>"$WORK/kcat.log")
want=$(printf '%s\n' 'a|{"id":"a","n":1}' 'b|{"id":"b","n":2}' '|{"n":3}' '7|{"id":7,"single":true}')
[ "$got" = "$want" ] || fail "split records: got
$got
want
$want"

# ---- HMAC, GitHub style ----
body='{"action":"opened","number":1}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')
expect 401 "$(post "http://127.0.0.1:$P3/" -H "X-Hub-Signature-256: sha256=${sig//a/b}0" --data-binary "$body")" "malformed signature"
bad=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "wrong" -hex | sed 's/^.* //')
expect 401 "$(post "http://127.0.0.1:$P3/" -H "X-Hub-Signature-256: sha256=$bad" --data-binary "$body")" "wrong HMAC"
expect 401 "$(post "http://127.0.0.1:$P3/" --data-binary "$body")" "no signature"
expect 401 "$(post "http://127.0.0.1:$P3/" -H "X-Hub-Signature-256: sha256=$sig" --data-binary "${body}x")" "tampered body"
[ "$(topic_count gh)" = 0 ] || fail "requests with bad signatures produced records"
expect 200 "$(post "http://127.0.0.1:$P3/" -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body")" "right HMAC"
[ "$(topic_dump gh)" = "$body" ] || fail "gh topic: $(topic_dump gh)"

# ---- HMAC, Stripe style (timestamped) ----
t=$(date +%s)
v1=$(printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')
expect 200 "$(post "http://127.0.0.1:$P4/" -H "Stripe-Signature: t=$t,v1=$v1,v0=ignored" --data-binary "$body")" "stripe"
old=$((t - 600))
v1old=$(printf '%s' "$old.$body" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')
expect 401 "$(post "http://127.0.0.1:$P4/" -H "Stripe-Signature: t=$old,v1=$v1old" --data-binary "$body")" "stripe, old timestamp"
expect 401 "$(post "http://127.0.0.1:$P4/" -H "Stripe-Signature: t=$((t + 1)),v1=$v1" --data-binary "$body")" "stripe, other timestamp"
[ "$(topic_count stripe)" = 1 ] || fail "stripe topic has $(topic_count stripe) records, want 1"

# ---- bearer ----
expect 401 "$(post "http://127.0.0.1:$P5/" -H 'Authorization: Bearer nope' --data-binary b)" "wrong bearer token"
expect 200 "$(post "http://127.0.0.1:$P5/" -H 'Authorization: Bearer tok-123' --data-binary b)" "bearer token"
[ "$(topic_count bearer)" = 1 ] || fail "bearer topic has $(topic_count bearer) records, want 1"

# ---- broker down: 503 + Retry-After; every 200 is stored ----
before=$(topic_count hooks)
broker_pause
curl -s -m 20 -D "$WORK/h503" -o "$WORK/b503" -X POST --data-binary 'during-outage-0' "http://127.0.0.1:$P1/hook" || true
head -n1 "$WORK/h503" | grep -q ' 503' || fail "no 503 while the broker is down: $(head -n1 "$WORK/h503")"
grep -qi '^Retry-After: 7' "$WORK/h503" || fail "503 without Retry-After: 7"
grep -q '"error":' "$WORK/b503" || fail "503 without a JSON error"
# Callers keep posting while the broker is paused, then while it comes back.
: >"$WORK/acked"
for i in $(seq 1 40); do
    [ "$i" = 5 ] && broker_resume
    code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST --data-binary "req-$i" "http://127.0.0.1:$P1/hook" || true)
    case $code in
    200) echo "req-$i" >>"$WORK/acked" ;;
    503) ;;
    *) fail "request $i: HTTP $code (expected 200 or 503)" ;;
    esac
done
[ "$BROKER_PAUSED" = 0 ] || broker_resume
n_acked=$(wc -l <"$WORK/acked")
log "$n_acked of 40 requests acknowledged around the outage"
[ "$n_acked" -ge 20 ] || fail "only $n_acked requests got a 200 after the broker came back"
topic_dump hooks >"$WORK/stored"
while read -r v; do
    grep -qxF "$v" "$WORK/stored" || fail "'$v' was answered 200 but is not in the topic"
done <"$WORK/acked"
[ "$(topic_count hooks)" -ge $((before + n_acked)) ] || fail "fewer records than acknowledged requests"

ferry_stop "$FERRY_PID"
log "PASS"
