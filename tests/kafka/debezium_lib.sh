# debezium_lib.sh — what the tests comparing postgres-cdc with Debezium share. Sourced after
# $TESTLIB (tests/lib/common.sh) and tests/lib/pg.sh, once connect_start and broker_start ran.
#
#   dbz_connector NAME PREFIX [KEY=VALUE]...
#       starts Debezium's PostgreSQL connector NAME on the Connect worker (CONNECT_URL): the test's
#       PostgreSQL as user postgres, pgoutput, slot PREFIX_slot, publication PREFIX_pub
#       (filtered), topic.prefix PREFIX, JsonConverter without schemas for keys and values, then
#       the options given (which win). Its config is left in $WORK/NAME.json. Fails the test
#       unless Connect accepted it.
#   ferry_worker_yaml FILE [OFFSETS_TOPIC]
#       writes the worker part of a ferry config on $BROKER (offsets in OFFSETS_TOPIC, default
#       $OFFSETS_TOPIC, flushed every 500 ms; REST on a free port) and "connectors:".

dbz_connector() {
    local name=$1 prefix=$2
    shift 2
    /usr/bin/python3 - "$PGPORT" "$prefix" "$@" >"$WORK/$name.json" <<'PY' || fail "dbz_connector: bad options $*"
import json, sys
port, prefix = sys.argv[1], sys.argv[2]
c = {
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "tasks.max": "1",
    "database.hostname": "127.0.0.1",
    "database.port": port,
    "database.user": "postgres",
    "database.password": "unused",
    "database.dbname": "postgres",
    "plugin.name": "pgoutput",
    "slot.name": prefix + "_slot",
    "publication.name": prefix + "_pub",
    "publication.autocreate.mode": "filtered",
    "topic.prefix": prefix,
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "key.converter.schemas.enable": "false",
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
}
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    c[k] = v
print(json.dumps(c, indent=2))
PY
    local code
    code=$(curl -s -o "$WORK/$name-put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        --data-binary "@$WORK/$name.json" "$CONNECT_URL/connectors/$name/config")
    [ "$code" = 201 ] || fail "Connect refused Debezium connector $name ($code): $(cat "$WORK/$name-put.json")"
}

ferry_worker_yaml() {
    cat >"$1" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: ${2:-$OFFSETS_TOPIC}, flush.interval: 500ms}
  progress.interval: 0
  rest: {listen: "127.0.0.1:0"}
connectors:
YAML
}
