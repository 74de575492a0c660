#!/usr/bin/env bash
# REST conformance with Kafka Connect 4.x: the same sequence of calls goes to
# a Connect distributed worker (FileStreamSource/FileStreamSink) and to ferry
# (file-source/file-sink), and the answers are compared call by call: the
# HTTP status and the shape of the JSON body (recursively the object keys and
# the JSON type of each value, array elements merged), plus every "state"
# value and every "type" that is source or sink. Names, ids, traces, versions
# and messages are not compared. When the statuses differ, that is the call's
# one difference (its bodies' shapes are printed, not counted).
#
# A difference is allowed only when tests/kafka/rest_conformance.known lists
# it (LABEL<TAB>difference<TAB>reason, the difference as this test prints
# it); a listed difference that no longer occurs fails the test too.
#
# KEEP_WORK=1 keeps every request and answer in $WORK/{connect,ferry}/;
# CONFORMANCE_RESPONSES=FILE writes Connect's answers there as Markdown.
source "$TESTLIB"
KNOWN=$FERRY_SOURCE_DIR/tests/kafka/rest_conformance.known
[ -f "$KNOWN" ] || fail "no allow-list $KNOWN"
# Each side has its own topics and files; the base connector's too.
broker_start --topic connect-lines --topic ferry-lines --topic connect-base --topic ferry-base
for t in connect ferry; do
    mkdir -p "$WORK/$t"
    seq 1 50 | sed 's/^/line-/' >"$WORK/$t-in.txt"
    seq 1 20 | sed 's/^/base-/' >"$WORK/$t-base.txt"
done

# `ferry run` refuses a file without connectors, so ferry starts with one,
# conf-base, which Connect gets over REST before the calls on it. The calls
# on conf-base compare what ferry serves today; the lists leave it out.
cat >"$WORK/ferry.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 500ms}
  rest: {listen: "127.0.0.1:0"}
connectors:
  conf-base:
    connector: file-source
    path: $WORK/ferry-base.txt
    topic: ferry-base
YAML
ferry_start ferry "$WORK/ferry.yaml" # starts while Connect does
connect_start
wait_until 30 grep -q "rest: listening on" "$WORK/ferry.log" || fail "ferry logged no REST address"
FERRY_URL=http://$(sed -n 's/.*rest: listening on http:\/\/\([^ ]*\).*/\1/p' "$WORK/ferry.log" | head -n1)

# target connect|ferry: what the sequence sends to that side.
target() {
    T=$1
    OUT=$WORK/$T
    N=0
    IN=$WORK/$T-in.txt
    if [ "$T" = connect ]; then
        URL=$CONNECT_URL SRC_CLASS=FileStreamSource SINK_CLASS=FileStreamSink FILE_KEY=file
    else
        URL=$FERRY_URL SRC_CLASS=file-source SINK_CLASS=file-sink FILE_KEY=path
    fi
}

# rec LABEL METHOD PATH [BODY [OPTION...]]: one call of the sequence; the
# request body goes to $OUT/NN.req, the answer's to $OUT/NN.body, the call
# and its status to $OUT/calls.tsv. OPTIONs
# tell the comparison about the body (paths as the diff prints them):
#   map=PATH    an object whose keys are names (connectors, options,
#               loggers): keys are not compared, the values' shapes are
#   loose=PATH  an array whose elements are not compared (only that it is one)
#   drop=NAME   leave NAME out of a top-level list or map (conf-base)
rec() {
    local label=$1 method=$2 path=$3 body=${4:-} n code
    shift 3
    [ $# = 0 ] || shift
    N=$((N + 1))
    n=$(printf '%02d' "$N")
    local args=(-s -m 30 -o "$OUT/$n.body" -w '%{http_code}' -X "$method" "$URL$path")
    if [ -n "$body" ]; then
        printf '%s' "$body" >"$OUT/$n.req"
        args+=(-H 'Content-Type: application/json' --data-binary "@$OUT/$n.req")
    fi
    code=$(curl "${args[@]}") || code=000
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$label" "$method" "$path" "$code" "$*" >>"$OUT/calls.tsv"
}

# await PATH JQ WHAT: polls GET PATH until it answers 200 and JQ is true of
# the body, for up to 60 s; gives up early on 501 or after 404s for 3 s (a
# connector Connect just created has no status for a moment). Connect not
# getting there ends the test; ferry not getting there is logged, and the
# calls after it show the difference.
await() {
    local path=$1 expr=$2 what=$3 end=$((SECONDS + 60)) since404='' code
    while :; do
        code=$(curl -s -m 10 -o "$WORK/await.json" -w '%{http_code}' "$URL$path") || code=000
        [ "$code" = 200 ] && jq -e "$expr" "$WORK/await.json" >/dev/null 2>&1 && return 0
        case $code in
        501) break ;;
        404)
            since404=${since404:-$SECONDS}
            [ $((SECONDS - since404)) -lt 3 ] || break
            ;;
        *) since404='' ;;
        esac
        [ $SECONDS -lt $end ] || break
        sleep 0.2
    done
    [ "$T" = ferry ] || fail "Kafka Connect: $what: GET $path: HTTP $code: $(head -c 500 "$WORK/await.json")"
    log "ferry: $what: not reached (GET $path: HTTP $code)"
}
RUNNING='.connector.state == "RUNNING" and (.tasks | length > 0) and all(.tasks[]; .state == "RUNNING")'
PAUSED='.connector.state == "PAUSED" and (.tasks | length > 0) and all(.tasks[]; .state == "PAUSED")'
STOPPED='.connector.state == "STOPPED" and .tasks == []'
HAS_OFFSETS='.offsets | length > 0'

# Connector configs for the side's FileStream connectors; ARG is merged in.
src_config() {
    local x='{}'
    [ $# = 0 ] || x=$1
    jq -cn --arg c "$SRC_CLASS" --arg k "$FILE_KEY" --arg f "$IN" --arg t "$T-lines" --argjson x "$x" \
        '{"connector.class": $c, ($k): $f, topic: $t, "tasks.max": "1"} + $x'
}
sink_config() {
    local x='{}'
    [ $# = 0 ] || x=$1
    jq -cn --arg c "$SINK_CLASS" --arg k "$FILE_KEY" --arg f "$WORK/$T-out.txt" --arg t "$T-lines" --argjson x "$x" \
        '{"connector.class": $c, ($k): $f, topics: $t, "tasks.max": "1"} + $x'
}

sequence() {
    local c=conf-src b=conf-base
    # The sink's consumer group is on the shared broker: one name per side.
    local s=conf-sink-$T
    local offsets
    offsets=$(jq -cn --arg f "$IN" '{offsets: [{partition: {filename: $f}, offset: {position: 5}}]}')

    rec root GET /
    rec list-empty GET /connectors '' drop=$b
    rec plugins GET /connector-plugins
    # No topic: a required option's error in configs[].value.errors.
    rec validate-error PUT "/connector-plugins/$SRC_CLASS/config/validate" \
        "$(jq -cn --arg c "$SRC_CLASS" --arg k "$FILE_KEY" --arg f "$IN" '{"connector.class": $c, ($k): $f, name: "conf-v"}')"

    # ---- conf-base: ferry's from its file, Connect's created here (not compared).
    if [ "$T" = connect ]; then
        curl -sf -m 30 -o /dev/null -X PUT -H 'Content-Type: application/json' "$URL/connectors/$b/config" \
            -d "$(jq -cn --arg f "$WORK/connect-base.txt" \
                '{"connector.class": "FileStreamSource", file: $f, topic: "connect-base", "tasks.max": "1"}')" ||
            fail "Kafka Connect: could not create $b"
    fi
    await "/connectors/$b/status" "$RUNNING" "$b RUNNING"
    rec base-info GET "/connectors/$b" '' map=.config
    rec base-config GET "/connectors/$b/config" '' map=.
    rec base-status GET "/connectors/$b/status"
    rec base-tasks GET "/connectors/$b/tasks" '' 'map=.[].config'
    rec base-task-status GET "/connectors/$b/tasks/0/status"
    rec base-pause PUT "/connectors/$b/pause"
    await "/connectors/$b/status" "$PAUSED" "$b PAUSED"
    rec base-paused GET "/connectors/$b/status"
    rec base-resume PUT "/connectors/$b/resume"
    await "/connectors/$b/status" "$RUNNING" "$b RUNNING after resume"
    rec base-resumed GET "/connectors/$b/status"
    rec base-restart POST "/connectors/$b/restart"
    rec base-restart-tasks POST "/connectors/$b/restart?includeTasks=true&onlyFailed=false"
    await "/connectors/$b/status" "$RUNNING" "$b RUNNING after restart"
    rec base-task-restart POST "/connectors/$b/tasks/0/restart"
    await "/connectors/$b/status" "$RUNNING" "$b RUNNING after the task's restart"
    rec base-task-404 GET "/connectors/$b/tasks/9/status"

    # ---- conf-src, created over REST.
    local create
    create=$(jq -cn --arg n "$c" --argjson cfg "$(src_config)" '{name: $n, config: $cfg}')
    # Connect answers before the tasks exist (tasks: []).
    rec create POST /connectors "$create" map=.config loose=.tasks
    rec create-duplicate POST /connectors "$create"
    rec create-bad-json POST /connectors '{"name":'
    rec create-unknown-class POST /connectors \
        '{"name":"conf-x","config":{"connector.class":"com.example.NoSuchConnector","topic":"x"}}'
    await "/connectors/$c/status" "$RUNNING" "$c RUNNING"
    rec info GET "/connectors/$c" '' map=.config
    rec config GET "/connectors/$c/config" '' map=.
    rec status GET "/connectors/$c/status"
    rec tasks GET "/connectors/$c/tasks" '' 'map=.[].config'
    rec task-status GET "/connectors/$c/tasks/0/status"
    rec list-expand GET '/connectors?expand=status&expand=info' '' drop=$b map=. 'map=.*.info.config'
    # Options both sides know; Connect restarts the connector on a change.
    rec update PUT "/connectors/$c/config" "$(src_config '{"errors.tolerance":"all"}')" map=.config
    await "/connectors/$c/status" "$RUNNING" "$c RUNNING after PUT config"
    rec patch PATCH "/connectors/$c/config" '{"errors.log.enable":"true"}' map=.config
    await "/connectors/$c/status" "$RUNNING" "$c RUNNING after PATCH config"
    rec pause PUT "/connectors/$c/pause"
    await "/connectors/$c/status" "$PAUSED" "$c PAUSED"
    rec paused GET "/connectors/$c/status"
    rec resume PUT "/connectors/$c/resume"
    await "/connectors/$c/status" "$RUNNING" "$c RUNNING after resume"
    rec resumed GET "/connectors/$c/status"
    rec stop PUT "/connectors/$c/stop"
    await "/connectors/$c/status" "$STOPPED" "$c STOPPED"
    rec stopped GET "/connectors/$c/status"
    # Its tasks committed the file's position on the way down.
    await "/connectors/$c/offsets" "$HAS_OFFSETS" "$c offsets stored"
    rec offsets GET "/connectors/$c/offsets"
    rec offsets-alter PATCH "/connectors/$c/offsets" "$offsets"
    rec offsets-reset DELETE "/connectors/$c/offsets"
    rec offsets-after-reset GET "/connectors/$c/offsets"
    rec resume-stopped PUT "/connectors/$c/resume"
    await "/connectors/$c/status" "$RUNNING" "$c RUNNING after STOPPED"
    rec offsets-alter-running PATCH "/connectors/$c/offsets" "$offsets"
    rec restart POST "/connectors/$c/restart"
    rec restart-tasks POST "/connectors/$c/restart?includeTasks=true&onlyFailed=false"
    await "/connectors/$c/status" "$RUNNING" "$c RUNNING after restart"
    rec task-restart POST "/connectors/$c/tasks/0/restart"
    await "/connectors/$c/status" "$RUNNING" "$c RUNNING after the task's restart"
    await "/connectors/$c/topics" '[.[].topics[]] | length > 0' "$c topics recorded"
    rec topics GET "/connectors/$c/topics" '' map=.
    rec get-404 GET /connectors/nope
    rec task-status-404 GET "/connectors/$c/tasks/9/status"
    rec delete DELETE "/connectors/$c"
    rec delete-again DELETE "/connectors/$c"

    # ---- the sink, created and updated with PUT config.
    rec sink-create PUT "/connectors/$s/config" "$(sink_config)" map=.config loose=.tasks
    await "/connectors/$s/status" "$RUNNING" "$s RUNNING"
    rec sink-update PUT "/connectors/$s/config" "$(sink_config '{"errors.tolerance":"all"}')" map=.config
    await "/connectors/$s/status" "$RUNNING" "$s RUNNING after PUT config"
    # Committed consumer offsets, then stopped.
    await "/connectors/$s/offsets" "$HAS_OFFSETS" "$s offsets committed"
    rec sink-stop PUT "/connectors/$s/stop"
    await "/connectors/$s/status" "$STOPPED" "$s STOPPED"
    rec sink-offsets GET "/connectors/$s/offsets"
    rec sink-delete DELETE "/connectors/$s"
    rec loggers GET /admin/loggers '' map=.
}

t0=$SECONDS
target connect
sequence
log "Kafka Connect: $N calls in $((SECONDS - t0)) s"
t0=$SECONDS
target ferry
sequence
log "ferry: $N calls in $((SECONDS - t0)) s"
kill -0 "$FERRY_PID" 2>/dev/null || fail "ferry died during the calls"

# The comparison: status, then shape, call by call, against the allow-list.
/usr/bin/python3 - "$WORK/connect" "$WORK/ferry" "$KNOWN" "${CONFORMANCE_RESPONSES:-}" <<'PY' || fail "ferry's REST API differs from Kafka Connect's (above)"
import json, os, re, sys

cdir, fdir, known_path, md_path = sys.argv[1:5]
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def calls(d):
    out = []
    with open(os.path.join(d, "calls.tsv")) as f:
        for line in f:
            n, label, method, path, code, opts = line.rstrip("\n").split("\t")
            body = open(os.path.join(d, n + ".body"), "rb").read() if os.path.exists(os.path.join(d, n + ".body")) else b""
            req = os.path.join(d, n + ".req")
            out.append(dict(n=n, label=label, method=method, path=path, code=code, opts=opts.split(),
                            body=body, req=open(req).read() if os.path.exists(req) else None))
    return out


def child(path, key):
    k = key if key == "*" or KEY.match(key) else json.dumps(key)
    return ("." if path == "." else path + ".") + k


def shape(body, opts):
    """The body's shape: a set of 'PATH TYPE' lines (array elements merged under PATH[])."""
    maps = {o[4:] for o in opts if o.startswith("map=")}
    loose = {o[6:] for o in opts if o.startswith("loose=")}
    drop = {o[5:] for o in opts if o.startswith("drop=")}
    if not body.strip():
        return {". (empty body)"}
    try:
        doc = json.loads(body)
    except ValueError:
        return {". (not JSON)"}
    if isinstance(doc, list):
        doc = [x for x in doc if not (isinstance(x, str) and x in drop)]
    elif isinstance(doc, dict):
        doc = {k: v for k, v in doc.items() if k not in drop}
    lines = set()

    def walk(v, path, key):
        if isinstance(v, dict):
            lines.add(path + " object")
            for k, x in v.items():
                k2 = "*" if path in maps else k
                walk(x, child(path, k2), k2)
        elif isinstance(v, list):
            lines.add(path + " array")
            if path not in loose:
                for x in v:
                    walk(x, ".[]" if path == "." else path + "[]", None)
        elif isinstance(v, bool):
            lines.add(path + " boolean")
        elif v is None:
            lines.add(path + " null")
        elif isinstance(v, (int, float)):
            lines.add(path + " number")
        elif key == "state" or (key == "type" and v in ("source", "sink")):
            lines.add("%s string %s" % (path, json.dumps(v)))
        else:
            lines.add(path + " string")

    walk(doc, ".", None)
    return lines


def brief(body, n=300):
    s = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return (s[:n] + "…") if len(s) > n else (s or "(empty)")


con, fer = calls(cdir), calls(fdir)
labels = [c["label"] for c in con]
if labels != [f["label"] for f in fer]:
    sys.exit("the two sides ran different sequences: %s vs %s" % (labels, [f["label"] for f in fer]))
if len(set(labels)) != len(labels):
    sys.exit("a label is used twice: %s" % sorted(l for l in set(labels) if labels.count(l) > 1))

known = {}
for i, line in enumerate(open(known_path), 1):
    if not line.strip() or line.startswith("#"):
        continue
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 3 or not all(p.strip() for p in parts):
        sys.exit("%s:%d: not LABEL<TAB>difference<TAB>reason: %r" % (known_path, i, line))
    known[(parts[0], parts[1])] = parts[2]

seen, bad, allowed = set(), 0, 0
for c, f in zip(con, fer):
    label = c["label"]
    where = "%s %s" % (c["method"], c["path"]) + ("" if c["path"] == f["path"] else " (ferry: %s)" % f["path"])
    cs, fs = shape(c["body"], c["opts"]), shape(f["body"], c["opts"])
    if c["code"] != f["code"]:
        # A different status makes the body's shape a consequence: one difference.
        diffs = ["status: Connect %s, ferry %s" % (c["code"], f["code"])]
    else:
        diffs = ["only Connect: " + l for l in sorted(cs - fs)] + ["only ferry: " + l for l in sorted(fs - cs)]
    if not diffs:
        continue
    new = [d for d in diffs if (label, d) not in known]
    seen.update((label, d) for d in diffs)
    allowed += len(diffs) - len(new)
    if not new:
        continue
    bad += len(new)
    print("MISMATCH %s %s: %s" % (c["n"], label, where), file=sys.stderr)
    for d in diffs:
        print("    %s %s" % ("(known)" if (label, d) in known else "  ->   ", d), file=sys.stderr)
    both = sorted(cs | fs)
    if len(both) <= 40:
        print("    shape (- Connect only, + ferry only):", file=sys.stderr)
        for l in both:
            print("      %s %s" % ("-" if l not in fs else "+" if l not in cs else " ", l), file=sys.stderr)
    else:
        print("    (%d shape lines in common not shown)" % len(cs & fs), file=sys.stderr)
    print("    Connect %s: %s" % (c["code"], brief(c["body"])), file=sys.stderr)
    print("    ferry   %s: %s" % (f["code"], brief(f["body"])), file=sys.stderr)

stale = sorted(k for k in known if k not in seen)
for label, d in stale:
    print("STALE %s\t%s: listed in %s but does not occur any more: remove the line"
          % (label, d, os.path.basename(known_path)), file=sys.stderr)

if md_path:
    def trim(v):
        if isinstance(v, list):
            keep = [x for x in v if isinstance(x, dict) and (x.get("value") or {}).get("errors")]
            head = v[:3] + [x for x in keep if x not in v[:3]]
            out = [trim(x) for x in head]
            if len(v) > len(head):
                out.append("… %d more" % (len(v) - len(head)))
            return out
        if isinstance(v, dict):
            items = list(v.items())
            head = items[:8] + [(k, x) for k, x in items[8:] if k == "root"]  # the root logger
            out = {k: trim(x) for k, x in head}
            if len(items) > len(head):
                out["…"] = "%d more" % (len(items) - len(head))
            return out
        if isinstance(v, str) and len(v) > 400:
            return v[:400] + "…"
        return v

    with open(md_path, "w") as md:
        md.write("# Kafka Connect 4.x REST answers\n\n")
        md.write("Recorded by tests/kafka/rest_conformance.sh (CONFORMANCE_RESPONSES=FILE): every call of its "
                 "sequence to a Kafka Connect distributed worker with FileStreamSource/FileStreamSink, in order. "
                 "Long lists are cut (marked …); paths under /tmp vary per run.\n\n")
        for c in con:
            md.write("## %s `%s` — `%s %s`\n\n" % (c["n"], c["label"], c["method"], c["path"]))
            if c["req"] is not None:
                try:
                    req = json.dumps(json.loads(c["req"]), indent=2)
                except ValueError:
                    req = c["req"]
                md.write("Request body:\n\n```json\n%s\n```\n\n" % req)
            md.write("Status **%s**" % c["code"])
            if not c["body"].strip():
                md.write(", empty body.\n\n")
                continue
            try:
                body = json.dumps(trim(json.loads(c["body"])), indent=2, ensure_ascii=False)
            except ValueError:
                body = c["body"].decode("utf-8", "replace")
            md.write(":\n\n```json\n%s\n```\n\n" % body)

print("%d calls: %d difference(s) not in the allow-list, %d allowed, %d stale allow-list line(s)"
      % (len(con), bad, allowed, len(stale)), file=sys.stderr)
sys.exit(1 if bad or stale else 0)
PY
log "PASS"
