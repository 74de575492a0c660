#!/usr/bin/env bash
# Converters and transforms against Kafka Connect itself: the same lines go
# through Connect's FileStreamSource and through ferry's file-source with the
# same converter and transform settings (Connect's class names on both), and
# the records each writes must be the same bytes. Twice: JsonConverter with
# schemas (the struct schema HoistField and InsertField build, as JSON) and
# without; RegexRouter renames the topics alike.
source "$TESTLIB"
broker_start --topic c-raw --topic f-raw --topic c-plain --topic f-plain --topic out-c-raw --topic out-f-raw \
    --topic out-c-plain --topic out-f-plain
printf '%s\n' 'first line' 'with "quotes" and \ backslash' 'ünïcödé ✓' 'tab	inside' '{"looks":"like json"}' >"$WORK/in.txt"

# chain: the transforms both sides run (flat keys, Connect's names).
chain() { # SCHEMAS(true|false) PREFIX(c|f)
    cat <<JSON
"value.converter": "org.apache.kafka.connect.json.JsonConverter",
"value.converter.schemas.enable": "$1",
"key.converter": "org.apache.kafka.connect.json.JsonConverter",
"key.converter.schemas.enable": "$1",
"transforms": "hoist,ins,ren,mask,route",
"transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField\$Value",
"transforms.hoist.field": "line",
"transforms.ins.type": "org.apache.kafka.connect.transforms.InsertField\$Value",
"transforms.ins.static.field": "origin",
"transforms.ins.static.value": "files",
"transforms.ren.type": "org.apache.kafka.connect.transforms.ReplaceField\$Value",
"transforms.ren.renames": "line:text",
"transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField\$Value",
"transforms.mask.fields": "origin",
"transforms.mask.replacement": "***",
"transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
"transforms.route.regex": "$2-(.*)",
"transforms.route.replacement": "out-$2-\$1"
JSON
}
connect_start
for v in raw:true plain:false; do
    name=${v%%:*} schemas=${v##*:}
    body="{\"connector.class\":\"FileStreamSource\",\"file\":\"$WORK/in.txt\",\"topic\":\"c-$name\",$(chain "$schemas" c)}"
    code=$(curl -s -o "$WORK/connect-$name.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        --data-binary "$body" "$CONNECT_URL/connectors/cmp-$name/config")
    [ "$code" = 201 ] || fail "Connect refused cmp-$name ($code): $(cat "$WORK/connect-$name.json")"
done
{
    cat <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 300ms}
  progress.interval: 0
connectors:
YAML
    for v in raw:true plain:false; do
        name=${v%%:*} schemas=${v##*:}
        echo "  cmp-$name:"
        echo "    connector: file-source"
        echo "    path: $WORK/in.txt"
        echo "    topic: f-$name"
        # The same keys as Connect's, as YAML (JSON is YAML).
        chain "$schemas" f | sed -e 's/,$//' -e 's/^/    /'
    done
} >"$WORK/ferry.yaml"
ferry_start ferry "$WORK/ferry.yaml"
for t in out-c-raw out-f-raw out-c-plain out-f-plain; do
    wait_until 60 bash -c "[ \$(kcat -b $BROKER -C -t $t -o beginning -e -q -f 'x\n' | wc -l) -ge 5 ]" ||
        fail "$t has $(topic_count "$t") of 5 records (Connect: $(curl -s "$CONNECT_URL/connectors/cmp-raw/status"))"
done
for name in raw plain; do
    kcat -b "$BROKER" -C -t "out-c-$name" -o beginning -e -q -f '%k|%s\n' >"$WORK/connect-$name.out" 2>>"$WORK/kcat.log"
    kcat -b "$BROKER" -C -t "out-f-$name" -o beginning -e -q -f '%k|%s\n' >"$WORK/ferry-$name.out" 2>>"$WORK/kcat.log"
    if ! cmp -s "$WORK/connect-$name.out" "$WORK/ferry-$name.out"; then
        diff "$WORK/connect-$name.out" "$WORK/ferry-$name.out" >&2 || true
        fail "ferry's records differ from Kafka Connect's ($name: schemas $([ $name = raw ] && echo on || echo off))"
    fi
    log "$name: $(wc -l <"$WORK/ferry-$name.out") records, byte for byte as Connect's, e.g. $(head -n1 "$WORK/ferry-$name.out")"
done
[ "$(topic_count c-raw)" = 0 ] && [ "$(topic_count f-raw)" = 0 ] || fail "RegexRouter left records on the input topics"
ferry_stop "$FERRY_PID"
log "ok"
