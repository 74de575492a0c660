#!/usr/bin/env bash
# http-source configuration errors name the option: mode-specific
# requirements (`ferry validate`), and a listen address that cannot be bound
# (`ferry run`).
source "$TESTLIB"
broker_start
base() {
    cat <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC}
connectors:
  c:
    connector: http-source
YAML
}
# refused 'YAML lines' 'expected message'
refused() {
    { base; printf '%s\n' "$1" | sed 's/^/    /'; } >"$WORK/c.yaml"
    if "$FERRY" validate "$WORK/c.yaml" >"$WORK/v.out" 2>&1; then fail "validate accepted: $1"; fi
    grep -qF -- "$2" "$WORK/v.out" || fail "for '$1' expected '$2' in: $(cat "$WORK/v.out")"
}
refused $'mode: poll\ntopic: t' "mode poll needs option url"
refused $'mode: webhook' "topic"
refused $'mode: webhook\ntopic: t\nauth.type: hmac' "auth.type hmac needs option auth.hmac.secret"
refused $'mode: webhook\ntopic: t\nauth.type: bearer' "auth.type bearer needs option auth.token"
refused $'mode: webhook\ntopic: t\nauth.type: oauth2' "option auth.type: 'oauth2' is for mode poll"
refused $'mode: poll\ntopic: t\nurl: http://x/\nauth.type: hmac' "option auth.type: hmac is for mode webhook"
refused $'mode: poll\ntopic: t\nurl: ftp://x/' "option url: 'ftp://x/' is not an http:// or https:// URL"
refused $'mode: poll\ntopic: t\nurl: http://x/\ncursor.pointer: /next' "option cursor.pointer needs option cursor.param"
refused $'mode: poll\ntopic: t\nurl: http://x/\nrecord.key.pointer: id' "option record.key.pointer: 'id' is not a JSON pointer"
refused $'mode: webhook\ntopic: t\nurl: http://x/' "option url is for mode poll, not mode webhook"
refused $'mode: webhook\ntopic: t\nlisten: example.com:80' "option listen: 'example.com:80' is not host:port"
refused $'mode: webhook\ntopic: t\nkey.header: X\nkey.json.pointer: /id' "key.header and key.json.pointer exclude each other"
refused $'mode: sideways\ntopic: t' "mode"

# A port that is taken: the task fails naming the address.
/usr/bin/python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$WORK/port" &
PIDS+=($!)
wait_until 10 test -s "$WORK/port" || fail "could not hold a port"
PORT=$(cat "$WORK/port")
{ base; printf '    mode: webhook\n    topic: t\n    listen: 127.0.0.1:%s\n    errors.restart.enabled: false\n' "$PORT"; } >"$WORK/c.yaml"
ferry_start run "$WORK/c.yaml"
wait_until 20 grep -q "cannot listen on 127.0.0.1:$PORT (option listen): Address already in use" "$WORK/run.log" ||
    fail "a busy listen address was not reported: $(grep -i listen "$WORK/run.log" | tail -n 3)"
ferry_stop "$FERRY_PID"
log "PASS"
