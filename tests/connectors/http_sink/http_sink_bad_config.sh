#!/usr/bin/env bash
# http-sink configuration errors: `ferry validate` refuses each bad config
# with a message naming the option.
source "$(dirname "$0")/lib.sh"
bad() { # EXPECTED-TEXT YAML-LINES...
    local want=$1
    shift
    {
        echo "connectors:"
        echo "  h:"
        echo "    connector: http-sink"
        echo "    topics: t"
        for l in "$@"; do echo "    $l"; done
    } >"$WORK/bad.yaml"
    if "$FERRY" validate "$WORK/bad.yaml" >"$WORK/bad.out" 2>&1; then
        fail "accepted: $*"
    fi
    grep -qF -- "$want" "$WORK/bad.out" || { cat "$WORK/bad.out" >&2; fail "no '$want' for: $*"; }
    log "refused ($want): $*"
}
bad "option url: 'localhost:8080/x' is not an http:// or https:// URL" "url: localhost:8080/x"
bad 'unknown placeholder ${foo}' 'url: "http://h/${foo}"'
bad "option auth.oauth2.token.url is required" "url: http://h/x" "auth.type: oauth2" "auth.oauth2.client.id: c" "auth.oauth2.client.secret: s"
bad "option auth.token is required" "url: http://h/x" "auth.type: bearer"
bad "option auth.username is required" "url: http://h/x" "auth.type: basic"
bad "option headers: 'Idempotency-Key' is set by the sink itself" "url: http://h/x" "headers: {Idempotency-Key: x}"
bad "method" "url: http://h/x" "method: DELETE"
bad "format" "url: http://h/x" "format: xml"
bad "url" "format: ndjson"
# And a good one passes.
{
    echo "connectors:"
    echo "  h: {connector: http-sink, topics: t, url: 'https://h/\${topic}', auth.type: bearer, auth.token: x}"
} >"$WORK/good.yaml"
"$FERRY" validate "$WORK/good.yaml" >"$WORK/good.out" 2>&1 || { cat "$WORK/good.out" >&2; fail "a good config was refused"; }
log "PASS"
