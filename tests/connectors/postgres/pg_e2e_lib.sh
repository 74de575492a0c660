# pg_e2e_lib.sh — shared setup for postgres-cdc end-to-end tests through
# `ferry run` and `ferry dev-kafka`. Sources $TESTLIB (tests/lib/common.sh)
# and tests/lib/pg.sh, starts PostgreSQL, and defines:
#   pg_yaml NAME [EXTRA_CONNECTOR_LINES]  writes $WORK/NAME.yaml for connector "shop"
#   wait_streaming LOGNAME [TIMEOUT]      until the task logs that it streams
#   dump OUT TOPIC...                     every record of the topics into $WORK/OUT
#   writer FIRST TXNS ROWS [PAUSE]        TXNS inserts of ROWS rows into public.t from id FIRST,
#                                         PAUSE seconds apart (psql's errors in $WORK/writer.err)
#   distinct_ids                          how many different ids shop.public.t holds
#   check ARGS...                         pg_check.py
#   slot_confirmed / stored_lsn_commit    the invariant: first <= second
# Topics must be created with dev-kafka's --topic (no CreateTopics there);
# the caller runs devkafka_start with them.
# shellcheck disable=SC1090
source "$TESTLIB"
. "$FERRY_SOURCE_DIR/tests/lib/pg.sh"
PG_NO_TRAP=1 pg_start || fail "could not start PostgreSQL"
trap 'rc=$?; pg_stop; cleanup; exit $rc' EXIT

CHECK="/usr/bin/python3 $FERRY_SOURCE_DIR/tests/connectors/postgres/pg_check.py"
check() { $CHECK "$@"; }

pg_yaml() {
    local name=$1 extra=${2:-}
    cat >"$WORK/$name.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {flush.interval: 500ms}
  shutdown.timeout: 20s
connectors:
  shop:
    connector: postgres-cdc
    conninfo: "$PG_CONNINFO"
    topic.prefix: shop
    status.update.interval: 500ms
$extra
YAML
}

wait_streaming() {
    wait_until "${2:-90}" grep -q "streaming slot" "$WORK/$1.log" || fail "$1: the task did not start streaming"
}

dump() {
    local out=$1
    shift
    $CHECK dump "$BROKER" "$@" >"$WORK/$out" 2>>"$WORK/kcat.log" || fail "reading topics $* back failed"
}

writer() {
    local first=$1 txns=$2 rows=$3 pause=${4:-} i
    for ((i = 0; i < txns; i++)); do
        echo "INSERT INTO t SELECT g, 'row ' || g FROM generate_series($((first + i * rows)), $((first + (i + 1) * rows - 1))) g;"
        [ -z "$pause" ] || echo "SELECT pg_sleep($pause);"
    done | pg_psql >/dev/null 2>"$WORK/writer.err"
}

distinct_ids() {
    $CHECK dump "$BROKER" shop.public.t 2>/dev/null |
        /usr/bin/python3 -c 'import json, sys; print(len({json.loads(l.split("\t")[1])["id"] for l in sys.stdin if l.split("\t")[1] != "\\N"}))'
}

lsn_num() {
    /usr/bin/python3 -c 'import sys; a, b = sys.argv[1].split("/"); print(int(a, 16) << 32 | int(b, 16))' "$1"
}
slot_confirmed() {
    lsn_num "$(pg_psql "SELECT coalesce(confirmed_flush_lsn, '0/0') FROM pg_replication_slots WHERE slot_name = 'ferry_shop'")"
}
# lsn_commit of the newest stored offset for {"server":"shop"} in the offsets topic ($OFFSETS_TOPIC, default ferry-offsets)
# (0 when none). The key always lands in one partition, so the last record
# read is the newest.
stored_lsn_commit() {
    $CHECK dump "$BROKER" "${OFFSETS_TOPIC:-ferry-offsets}" 2>>"$WORK/kcat.log" | /usr/bin/python3 -c '
import json, sys
last = 0
for line in sys.stdin:
    t, k, v = line.rstrip("\n").split("\t")[:3]
    if k == "[\"shop\",{\"server\":\"shop\"}]" and v != "\\N":
        last = json.loads(v).get("lsn_commit", 0)
print(last)'
}
# The slot never confirms past the durable offset. Read the slot first: the
# stored offset only grows, so a later read can only make the check looser
# in the safe direction.
check_slot_invariant() {
    local confirmed stored
    confirmed=$(slot_confirmed)
    stored=$(stored_lsn_commit)
    [ "$confirmed" -le "$stored" ] || fail "slot confirmed_flush_lsn $confirmed is beyond the stored lsn_commit $stored"
}
