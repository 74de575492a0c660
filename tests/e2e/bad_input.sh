#!/usr/bin/env bash
# Bad configurations: each error class gets a clear message naming the input
# (FILE:LINE:COL), `validate` and `run` exit 2, and nothing crashes.
source "$TESTLIB"

# expect_error NAME PATTERN: `ferry validate` on $WORK/NAME.yaml exits 2 and
# prints PATTERN (extended regex); `ferry run` does the same.
expect_error() {
    local name=$1 pattern=$2 rc=0
    "$FERRY" validate "$WORK/$name.yaml" >"$WORK/$name.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "$name: validate exited $rc, expected 2: $(cat "$WORK/$name.out")"
    grep -Eq -- "$pattern" "$WORK/$name.out" || fail "$name: expected /$pattern/ in: $(cat "$WORK/$name.out")"
    rc=0
    timeout 30 "$FERRY" run "$WORK/$name.yaml" >"$WORK/$name.run" 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "$name: run exited $rc, expected 2"
    log "ok: $name"
}

printf 'connectors:\n  a: {connector: datagen, topic: t\n' >"$WORK/malformed.yaml"
expect_error malformed "malformed.yaml:[0-9]+:[0-9]+"

printf 'connectors:\n  a:\n    connector: datagen\n    topic: t\n    topic: u\n' >"$WORK/dupkey.yaml"
expect_error dupkey "dupkey.yaml:5:[0-9]+: .*duplicate key 'topic'"

printf 'connectors:\n  a:\n    connector: datagen\n    topik: t\n' >"$WORK/unknown.yaml"
expect_error unknown "unknown.yaml:4:5: connector a: unknown option 'topik' \\(did you mean 'topic'\\?\\)"

printf 'connectors:\n  a:\n    connector: datagen\n' >"$WORK/required.yaml"
expect_error required "required.yaml:[0-9]+:[0-9]+: connector a: .*'topic'"

printf 'connectors:\n  a:\n    connector: datagn\n    topic: t\n' >"$WORK/noconn.yaml"
expect_error noconn "noconn.yaml:[0-9]+:[0-9]+: connector a: unknown connector 'datagn' \\(did you mean 'datagen'\\?\\)"

printf 'connectors:\n  a:\n    connector: datagen\n    topic: t\n    count: lots\n' >"$WORK/badint.yaml"
expect_error badint "badint.yaml:5:[0-9]+: connector a: .*count"

printf 'worker:\n  offsets:\n    flush.interval: soon\nconnectors: {}\n' >"$WORK/badduration.yaml"
expect_error badduration "badduration.yaml:3:[0-9]+: .*flush.interval.*(250ms|5s)"

printf 'connectors:\n  a:\n    connector: datagen\n    topic: ${env:FERRY_TEST_SURELY_UNSET}\n' >"$WORK/badenv.yaml"
expect_error badenv "badenv.yaml:4:[0-9]+: .*FERRY_TEST_SURELY_UNSET"

printf 'connectors:\n  a:\n    connector: datagen\n    topic: t\n    tasks.max: 0\n' >"$WORK/bounds.yaml"
expect_error bounds "bounds.yaml:5:[0-9]+: connector a: .*tasks.max"

# Several errors at once: all reported.
printf 'connectors:\n  a:\n    connector: datagen\n    topik: t\n  b:\n    connector: file-sink\n    topics: x\n    pth: /tmp/x\n' >"$WORK/many.yaml"
expect_error many "topik"
grep -q "pth" "$WORK/many.out" || fail "second error not reported: $(cat "$WORK/many.out")"

# Substitutions are limited by the worker's config.providers options: a path
# that leaves allowed.paths through ".." or a symlink, and a variable the
# allow-list pattern does not match, are refused at their position, naming
# the option, without printing what they would have read.
mkdir -p "$WORK/secrets" "$WORK/private"
echo hunter2-file-secret >"$WORK/private/key"
ln -s ../private/key "$WORK/secrets/key"
printf 'worker:\n  config.providers.file.param.allowed.paths: [%s/secrets]\nconnectors:\n  a:\n    connector: datagen\n    topic: ${file:%s/secrets/../private/key}\n' \
    "$WORK" "$WORK" >"$WORK/dotdot.yaml"
expect_error dotdot "dotdot.yaml:6:12: file '.*/secrets/../private/key' .* resolves to '.*/private/key', outside worker option 'config.providers.file.param.allowed.paths'"
printf 'worker:\n  config.providers.file.param.allowed.paths: [%s/secrets]\nconnectors:\n  a:\n    connector: datagen\n    topic: ${file:%s/secrets/key}\n' \
    "$WORK" "$WORK" >"$WORK/symlink.yaml"
expect_error symlink "symlink.yaml:6:12: .*outside worker option 'config.providers.file.param.allowed.paths'"
export FERRY_TEST_SECRET_ENV=hunter2-env-secret
printf 'worker:\n  config.providers.env.param.allowlist.pattern: "APP_.*"\nconnectors:\n  a:\n    connector: datagen\n    topic: ${env:FERRY_TEST_SECRET_ENV}\n' \
    >"$WORK/envdeny.yaml"
expect_error envdeny "envdeny.yaml:6:12: environment variable 'FERRY_TEST_SECRET_ENV' .*does not match worker option 'config.providers.env.param.allowlist.pattern'"
! grep -q hunter2 "$WORK"/dotdot.out "$WORK"/symlink.out "$WORK"/envdeny.out || fail "a refused reference printed its secret"

# A plugin directory that its group may write to is refused as a whole,
# naming the directory; its connectors are then unknown.
mkdir "$WORK/gwplugins"
cp "$FERRY_PLUGIN_DIR/datagen.so" "$WORK/gwplugins/"
chmod 775 "$WORK/gwplugins"
printf 'connectors:\n  a: {connector: datagen, topic: t}\n' >"$WORK/gwplugins.yaml"
rc=0
"$FERRY" validate --plugin-path "$WORK/gwplugins" "$WORK/gwplugins.yaml" >"$WORK/gwplugins.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "group-writable plugin directory: exit $rc"
grep -q "plugin directory $WORK/gwplugins is writable by its group (chmod g-w $WORK/gwplugins)" "$WORK/gwplugins.out" \
    || fail "group-writable plugin directory not refused: $(cat "$WORK/gwplugins.out")"
log "ok: gwplugins"
# A directory, not a file.
mkdir "$WORK/dir.yaml"
expect_error dir "dir.yaml: is a directory"

# A bad UTF-8 byte, at its line and column.
printf 'connectors:\n  a:\n    connector: datagen\n    topic: "t\xff"\n' >"$WORK/badutf8.yaml"
expect_error badutf8 "badutf8.yaml:4:14: invalid YAML: invalid leading UTF-8 octet \(byte 0xff\)"

# A long invalid value is cut in the middle; the reason after it survives.
printf 'connectors:\n  a:\n    connector: datagen\n    topic: t\n    count: %s\n' "$(printf 'x%.0s' $(seq 3000))" >"$WORK/longvalue.yaml"
expect_error longvalue "longvalue.yaml:5:12: connector a: option 'count': invalid value 'x{20,80}…x{10,80}': expected an integer"

# worker.log.level takes the levels --log-level takes, and says which.
printf 'worker:\n  log.level: bogus\nconnectors:\n  a: {connector: datagen, topic: t}\n' >"$WORK/loglevel.yaml"
expect_error loglevel "loglevel.yaml:2:14: worker option 'log.level': invalid value 'bogus': must be one of: error, warn, info, debug"

# librdkafka properties are checked as each client would take them: a typo
# in worker.kafka, and an override that idempotent producers refuse.
printf 'worker:\n  kafka:\n    linger.mss: 5\nconnectors:\n  a: {connector: datagen, topic: t}\n' >"$WORK/kafkatypo.yaml"
expect_error kafkatypo "kafkatypo.yaml:3:5: worker option 'kafka': property 'linger.mss': no such librdkafka property \(did you mean 'linger.ms'\?\)"
printf 'connectors:\n  a:\n    connector: datagen\n    topic: t\n    producer.override.acks: 0\n' >"$WORK/acks0.yaml"
expect_error acks0 "acks0.yaml:5:5: connector a: option 'producer.override.acks': librdkafka refuses it for the producer: .acks. must be set to .all. when .enable.idempotence. is true"
! grep -q "starting" "$WORK/acks0.run" || fail "run started something with an invalid config: $(cat "$WORK/acks0.run")"
printf 'connectors:\n  b:\n    connector: file-sink\n    topics: t\n    path: %s/out\n    consumer.override.max.poll.interval.ms: 1000\n' "$WORK" >"$WORK/pollint.yaml"
expect_error pollint "pollint.yaml:6:5: connector b: option 'consumer.override.max.poll.interval.ms': librdkafka refuses it for the consumer"

# A file without connectors: with the REST API off, a warning in validate
# and an error in run (which would otherwise idle forever); with it on,
# connectors may come from there (tests/e2e/rest.sh).
printf 'worker:\n  rest: {listen: "off"}\n' >"$WORK/empty.yaml"
rc=0
"$FERRY" validate "$WORK/empty.yaml" >"$WORK/empty.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "empty file: validate exited $rc: $(cat "$WORK/empty.out")"
grep -q "empty.yaml: warning: no connectors" "$WORK/empty.out" || fail "empty file: no warning: $(cat "$WORK/empty.out")"
for body in 'worker:\n  rest: {listen: "off"}\n' 'worker:\n  rest: {listen: "off"}\nconnectors:\n' \
    'worker:\n  progress.interval: 1s\n  rest: {listen: "off"}\nconnectors: {}\n'; do
    printf "$body" >"$WORK/noconnectors.yaml"
    rc=0
    timeout 20 "$FERRY" run "$WORK/noconnectors.yaml" >"$WORK/noconnectors.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "run without connectors exited $rc, expected 2"
    grep -q "noconnectors.yaml: no connectors to run" "$WORK/noconnectors.out" || fail "run without connectors: $(cat "$WORK/noconnectors.out")"
done

# A missing plugin directory names the directory.
printf 'worker:\n  plugin.path: [%s/nope]\nconnectors:\n  a: {connector: datagen, topic: t}\n' "$WORK" >"$WORK/noplugins.yaml"
rc=0
FERRY_PLUGIN_PATH= "$FERRY" validate "$WORK/noplugins.yaml" >"$WORK/noplugins.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "missing plugin dir: exit $rc"
grep -q "$WORK/nope" "$WORK/noplugins.out" || fail "missing plugin dir not named: $(cat "$WORK/noplugins.out")"

# Transforms and converters: errors at the connector's place in the file.
printf 'connectors:\n  a:\n    connector: datagen\n    topic: t\n    transforms: x\n    transforms.x.type: InsertField$Value\n    transforms.x.nope: 1\n' >"$WORK/badxf.yaml"
expect_error badxf "badxf.yaml:2:3: connector a: transform x.*unknown option 'nope'"
printf 'connectors:\n  a:\n    connector: datagen\n    topic: t\n    header.converter: org.apache.kafka.connect.json.JsonConverter\n' >"$WORK/badhc.yaml"
expect_error badhc "badhc.yaml:2:3: connector a: option 'header.converter': .*not supported"

# A missing file.
rc=0
"$FERRY" validate "$WORK/does-not-exist.yaml" >"$WORK/nofile.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "does-not-exist.yaml" "$WORK/nofile.out" || fail "missing file: exit $rc: $(cat "$WORK/nofile.out")"

# Secrets never appear in errors.
export FERRY_TEST_SECRET=hunter2-very-secret
printf 'connectors:\n  a:\n    connector: datagen\n    topic: t\n    count: ${env:FERRY_TEST_SECRET}\n' >"$WORK/secret.yaml"
rc=0
"$FERRY" validate "$WORK/secret.yaml" >"$WORK/secret.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "secret: exit $rc"
! grep -q hunter2 "$WORK/secret.out" || fail "a substituted secret was printed: $(cat "$WORK/secret.out")"
log "PASS"
