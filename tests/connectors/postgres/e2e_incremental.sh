#!/usr/bin/env bash
# postgres-cdc's incremental snapshots through Debezium's signal table, end to end:
#  1. execute-snapshot while a writer updates, inserts and deletes rows of the same table: every
#     row is read, and the last event of every key is the row as it is now (a snapshot row never
#     overwrites a newer change: the watermark windows drop the keys that streamed meanwhile);
#     additional-conditions limits the second table to its filter; op "r" with
#     source.snapshot "incremental"; streaming never stops (a change committed mid-snapshot is
#     delivered before the snapshot ends);
#  2. execute + pause in one transaction reads nothing until resume; execute + stop reads nothing;
#  3. kill -9 in the middle of a snapshot: the restart goes on from the stored progress (rows
#     emitted after the last durable offset may come twice, the table's start does not) and the
#     table is complete; bad signals are logged and ignored;
#  4. a table added to table.include.list (and so to ferry's filtered publication) is snapshotted
#     at the next start, incrementally, while streaming goes on;
#  5. signals through Kafka (signal.enabled.channels: kafka): keyed by topic.prefix (others are
#     ignored), read from the end at first, from the stored position after a restart (no replay).
. "$(dirname "$0")/pg_e2e_lib.sh"

devkafka_start --topic shop.public.t:4 --topic shop.public.f:4 --topic shop.public.p:4 --topic shop.public.k:16 \
    --topic shop.public.n:4 --topic shop-signal:1
pg_psql "CREATE TABLE public.dbz_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))" \
    "CREATE TABLE public.t (id int PRIMARY KEY, v text)" \
    "INSERT INTO t SELECT g, 'old-' || g FROM generate_series(1, 20000) g" \
    "CREATE TABLE public.f (id int PRIMARY KEY, v text)" \
    "INSERT INTO f SELECT g, 'f' FROM generate_series(1, 1000) g" \
    "CREATE TABLE public.p (id int PRIMARY KEY, v text)" \
    "INSERT INTO p SELECT g, 'p' FROM generate_series(1, 3000) g" \
    "CREATE TABLE public.k (a int, b text, v text, PRIMARY KEY (a, b))" \
    "INSERT INTO k SELECT g % 50, 'b' || g, 'k' FROM generate_series(1, 60000) g" >/dev/null

pg_yaml run "    table.include.list: public.t,public.f,public.p,public.k
    snapshot.mode: never
    publication.autocreate.mode: filtered
    signal.data.collection: public.dbz_signal
    incremental.snapshot.chunk.size: 700"
ferry_start run "$WORK/run.yaml"
wait_streaming run
signal() { pg_psql "INSERT INTO dbz_signal VALUES ('$1', '$2', '$3')" >/dev/null; }

# ---- 1. snapshot with concurrent writes -----------------------------------------------------
(i=0; while [ ! -f "$WORK/stop-writer" ] && [ $i -lt 400 ]; do
    pg_psql "UPDATE t SET v = 'upd-$i-' || id WHERE id % 97 = $((i % 97))" \
        "INSERT INTO t VALUES ($((20001 + i)), 'new')" \
        "DELETE FROM t WHERE id = $((i * 37 % 20000 + 1))" >/dev/null
    i=$((i + 1)); sleep 0.005
done) &
WRITER=$!
signal s1 execute-snapshot '{"data-collections": ["public.t", "public.f"], "type": "incremental",
    "additional-conditions": [{"data-collection": "public.f", "filter": "id <= 100"}]}'
wait_until 120 grep -q "incremental snapshot finished" "$WORK/run.log" || fail "the incremental snapshot did not finish"
touch "$WORK/stop-writer"
wait "$WRITER"
pg_psql "INSERT INTO t VALUES (999999, 'marker')" >/dev/null
wait_until 60 sh -c "$CHECK dump $BROKER shop.public.t 2>/dev/null | grep -q '\"id\":999999'" || fail "the marker was not streamed"
dump t.tsv shop.public.t shop.public.f
pg_psql "COPY (SELECT id, v FROM t ORDER BY id) TO STDOUT" >"$WORK/t-now.tsv"
/usr/bin/python3 - "$WORK/t.tsv" "$WORK/t-now.tsv" <<'PY' || fail "the incremental snapshot of public.t is not right"
import json, sys
last, snap, snap_f, src_ok = {}, set(), set(), True
for line in open(sys.argv[1], encoding="utf-8"):
    topic, key, value = line.rstrip("\n").split("\t")[:3]
    k = json.loads(key)["id"]
    if topic == "shop.public.f":
        v = json.loads(value)
        if v["op"] == "r":
            snap_f.add(k)
        continue
    if value == "\\N":
        last[k] = None
        continue
    v = json.loads(value)
    if v["op"] == "r":
        snap.add(k)
        src_ok &= v["source"]["snapshot"] == "incremental" and v["before"] is None
    last[k] = v["after"]["v"] if v["after"] else None
now = {}
for line in open(sys.argv[2], encoding="utf-8"):
    i, v = line.rstrip("\n").split("\t")
    now[int(i)] = v
bad = [k for k in set(now) | set(last) if k <= 20000 and now.get(k) != last.get(k)]
if bad:
    sys.exit("%d keys whose last event is not the row as it is now, e.g. %s: event %r, table %r"
             % (len(bad), bad[0], last.get(bad[0]), now.get(bad[0])))
missing = [k for k in now if k <= 20000 and k not in snap and k not in last]
if missing:
    sys.exit("rows never delivered: %s" % missing[:5])
if len(snap) < 15000:
    sys.exit("only %d rows were read by the snapshot" % len(snap))
if not src_ok:
    sys.exit("a snapshot row without source.snapshot=incremental or with a before image")
if snap_f != set(range(1, 101)):
    sys.exit("public.f: the snapshot read %d rows, not ids 1..100 (additional-conditions)" % len(snap_f))
print("public.t: %d rows read by the snapshot, every key's last event is the current row; public.f: ids 1..100"
      % len(snap), file=sys.stderr)
PY
grep -q "incremental snapshot of public.t" "$WORK/run.log" || fail "no log line for public.t"
log "1. snapshot with concurrent writes: ok"

# ---- 2. pause/resume and stop ----------------------------------------------------------------
pg_psql "BEGIN" "INSERT INTO dbz_signal VALUES ('s2', 'execute-snapshot', '{\"data-collections\": [\"public.p\"]}')" \
    "INSERT INTO dbz_signal VALUES ('s3', 'pause-snapshot', '{}')" "COMMIT" >/dev/null
wait_until 30 grep -q "incremental snapshot paused by signal s3" "$WORK/run.log" || fail "not paused"
sleep 3
rcount() { $CHECK dump "$BROKER" "$1" 2>/dev/null | grep -c '"op":"r"' || true; }
[ "$(rcount shop.public.p)" = 0 ] || fail "a paused snapshot read $(rcount shop.public.p) rows"
signal s4 resume-snapshot '{}'
wait_until 60 sh -c "[ \$($CHECK dump $BROKER shop.public.p 2>/dev/null | grep -c '\"op\":\"r\"') -ge 3000 ]" ||
    fail "the resumed snapshot did not read public.p"
pg_psql "BEGIN" "INSERT INTO dbz_signal VALUES ('s5', 'execute-snapshot', '{\"data-collections\": [\"public.k\"]}')" \
    "INSERT INTO dbz_signal VALUES ('s6', 'stop-snapshot', '{\"data-collections\": [\"public.k\"]}')" "COMMIT" >/dev/null
wait_until 30 grep -q "incremental snapshot stopped by signal s6" "$WORK/run.log" || fail "not stopped"
sleep 2
[ "$(rcount shop.public.k)" = 0 ] || fail "a stopped snapshot read rows of public.k"
log "2. pause, resume and stop: ok"

# ---- 3. kill -9 during a snapshot, bad signals ------------------------------------------------
signal bad1 execute-snapshot 'not json'
signal bad2 execute-snapshot '{"data-collections": ["public.nosuch"]}'
signal bad3 no-such-signal '{}'
signal bad4 execute-snapshot '{"data-collections": ["public.p"], "additional-conditions":
    [{"data-collection": "public.p", "filter": "no_such_column > 1"}]}'
# A filter that costs time per row, so that the kill lands in the middle of the snapshot.
signal s7 execute-snapshot '{"data-collections": ["public.k"], "additional-conditions":
    [{"data-collection": "public.k", "filter": "a % 10 <> 0 OR pg_sleep(0.001) IS NOT NULL"}]}'
wait_until 60 sh -c "[ \$($CHECK dump $BROKER shop.public.k 2>/dev/null | grep -c '\"op\":\"r\"') -ge 2000 ]" ||
    fail "the snapshot of public.k did not start"
sleep 1.5 # offsets are flushed every 500 ms: the progress is stored
kill -9 "$FERRY_PID"
wait "$FERRY_PID" 2>/dev/null || true
before=$(rcount shop.public.k)
[ "$before" -lt 60000 ] || fail "the snapshot of public.k finished before the kill ($before rows): make it bigger"
ferry_start run2 "$WORK/run.yaml"
wait_until 30 grep -q "incremental snapshot: resuming with public.k" "$WORK/run2.log" || fail "the snapshot did not resume"
wait_until 120 grep -q "incremental snapshot finished" "$WORK/run2.log" || fail "the resumed snapshot did not finish"
dump k.tsv shop.public.k
/usr/bin/python3 - "$WORK/k.tsv" "$before" <<'PY' || fail "public.k after the restart"
import json, sys
seen = {}
for line in open(sys.argv[1], encoding="utf-8"):
    topic, key, value = line.rstrip("\n").split("\t")[:3]
    k = json.loads(key)
    seen[(k["a"], k["b"])] = seen.get((k["a"], k["b"]), 0) + 1
if len(seen) != 60000:
    sys.exit("%d distinct keys of 60000" % len(seen))
dups = sum(n - 1 for n in seen.values())
# The restart goes on from the stored progress: what was emitted after the last durable offset
# may come again, but not the table from its start (the first chunk was read once).
order = sorted(seen, key=lambda k: (k[0], k[1]))
if any(seen[k] > 1 for k in order[:700]):
    sys.exit("the first chunk came twice: the restart read the table from the start")
print("public.k: all 60000 rows (%d before the kill, %d read again after the restart)" % (int(sys.argv[2]), dups),
      file=sys.stderr)
PY
for s in "signal bad1 (execute-snapshot): data is not a JSON object" "data collection public.nosuch names no captured table" \
    'signal bad3: unknown type "no-such-signal"' 'execute-snapshot of public.p: the filter "no_such_column > 1" is refused'; do
    grep -q "$s" "$WORK/run.log" || fail "no warning: $s"
done
ferry_stop "$FERRY_PID"
log "3. kill -9 and resume, bad signals: ok"

# ---- 4. a table added to table.include.list is snapshotted while streaming ------------------
pg_psql "CREATE TABLE public.n (id int PRIMARY KEY, v text)" \
    "INSERT INTO n SELECT g, 'n' FROM generate_series(1, 2500) g" >/dev/null
sed -i "s|table.include.list: public.t,public.f,public.p,public.k|table.include.list: public.t,public.f,public.p,public.k,public.n|" \
    "$WORK/run.yaml"
ferry_start run3 "$WORK/run.yaml"
wait_until 60 grep -q "incremental snapshot of public.n queued: added to the publication" "$WORK/run3.log" ||
    fail "the added table was not queued"
wait_until 60 grep -q "incremental snapshot finished" "$WORK/run3.log" || fail "the added table was not read"
pg_psql "INSERT INTO n VALUES (2501, 'streamed')" >/dev/null
wait_until 60 sh -c "$CHECK dump $BROKER shop.public.n 2>/dev/null | grep -q '\"id\":2501'" || fail "public.n is not streamed"
ferry_stop "$FERRY_PID"
dump n.tsv shop.public.n
check ids "$WORK/n.tsv" shop.public.n r 1 2500 exact || fail "public.n: not every row once by the snapshot"
log "4. a table added to the include list: ok"

# ---- 5. the Kafka signal channel -------------------------------------------------------------
cat >>"$WORK/run.yaml" <<YAML
    signal.enabled.channels: source,kafka
    signal.kafka.bootstrap.servers: "$BROKER"
YAML
ferry_start run4 "$WORK/run.yaml"
wait_until 60 grep -q "signals: Kafka topic shop-signal from its end" "$WORK/run4.log" || fail "no Kafka signal channel"
wait_streaming run4
sleep 2 # the consumer resolves "the end" on its first fetch
printf '%s\n' 'other|{"type":"execute-snapshot","data":{"data-collections":["public.p"]}}' \
    'shop|{"type":"execute-snapshot","data":{"data-collections":["public.f"],"type":"INCREMENTAL"}}' |
    kcat -b "$BROKER" -t shop-signal -K'|' -P 2>>"$WORK/kcat.log" || fail "kcat could not send the signals"
wait_until 60 grep -q "incremental snapshot of public.f done" "$WORK/run4.log" || fail "the Kafka signal was not acted on"
ferry_stop "$FERRY_PID"
f_before=$(rcount shop.public.f)
[ "$f_before" = 1100 ] || fail "public.f: $f_before snapshot rows, expected 100 (part 1) + 1000"
[ "$(rcount shop.public.p)" = 3000 ] || fail "a signal keyed for another connector was acted on"
ferry_start run5 "$WORK/run.yaml"
wait_until 60 grep -q "signals: Kafka topic shop-signal from the stored offset" "$WORK/run5.log" ||
    fail "the Kafka signal position was not stored"
wait_streaming run5
sleep 3
[ "$(rcount shop.public.f)" = 1100 ] || fail "the Kafka signal was acted on again after a restart"
ferry_stop "$FERRY_PID"
log "5. the Kafka signal channel: ok"
