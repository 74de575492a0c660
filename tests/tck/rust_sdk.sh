#!/usr/bin/env bash
# The Rust SDK (sdk/rust): builds the crate's example connector as a cdylib
# with `cargo build --release --offline` (the crate has no dependencies) and
# its layout test with `cargo test`, lists it with `ferry plugins
# --plugin-path`, runs `ferry tck` on it, and runs it in a pipeline on the
# embedded broker: 40 records, read back with kcat, and its offset stored.
# Without cargo the test fails, saying so.
source "$TESTLIB"
CARGO=$(command -v cargo || true)
for c in "${HOME:-/root}/.cargo/bin/cargo" /root/.cargo/bin/cargo; do
    [ -n "$CARGO" ] || { [ -x "$c" ] && CARGO=$c; } || true
done
[ -n "$CARGO" ] || fail "cargo not found (on PATH or in \$HOME/.cargo/bin): install Rust (rustup) to build sdk/rust"
log "cargo: $CARGO ($("$CARGO" --version))"

# Build a copy, so that nothing (Cargo.lock, target/) is written into the source tree.
cp -r "$FERRY_SOURCE_DIR/sdk/rust" "$WORK/rust"
rm -rf "$WORK/rust/target"
export CARGO_TARGET_DIR="$WORK/target"
# A third party's build: none of the C build's sanitizer flags.
(cd "$WORK/rust" && env -u RUSTFLAGS "$CARGO" build --release --offline --examples) >"$WORK/cargo-build.log" 2>&1 ||
    fail "cargo build --release --offline --examples"
(cd "$WORK/rust" && env -u RUSTFLAGS "$CARGO" test --release --offline) >"$WORK/cargo-test.log" 2>&1 ||
    fail "cargo test (the FFI layouts against ferry.h)"
grep -q "test tests::layouts_match_ferry_h ... ok" "$WORK/cargo-test.log" || fail "the layout test did not run"
so="$CARGO_TARGET_DIR/release/examples/librust_counter.so"
[ -f "$so" ] || fail "no $so"
# The loader refuses files writable by group or others: install it 0644.
mkdir -p "$WORK/plugins"
install -m 0644 "$so" "$WORK/plugins/librust_counter.so"

"$FERRY" plugins --plugin-path "$WORK/plugins" >"$WORK/plugins.txt" 2>"$WORK/plugins.log" || fail "ferry plugins"
grep -q "rust-counter-source" "$WORK/plugins.txt" || fail "not listed: $(cat "$WORK/plugins.txt")"

printf 'topic: tck-rust\ncount: 30\n' >"$WORK/tck.yaml"
rc=0
"$FERRY" tck "$WORK/plugins/librust_counter.so" --config "$WORK/tck.yaml" >"$WORK/tck.out" 2>"$WORK/tck.log" || rc=$?
cat "$WORK/tck.out" >&2
[ "$rc" = 0 ] || fail "ferry tck on the Rust plugin exited $rc"
for r in open-failure poll-budget records offsets commit-twice should-stop stop cycles; do
    grep -q "^PASS rust-counter-source $r: " "$WORK/tck.out" || fail "rule $r did not pass"
done

broker_start --topic rust:1
cat >"$WORK/rust.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: "$BROKER"}
  offsets: {topic: $OFFSETS_TOPIC, flush.interval: 200ms}
  plugin.path: ["$WORK/plugins"]
connectors:
  counter: {connector: rust-counter-source, topic: rust, count: 40}
YAML
ferry_start rust "$WORK/rust.yaml"
wait_until 60 bash -c "[ \$(kcat -b '$BROKER' -C -t rust -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l) -ge 40 ]" ||
    fail "the Rust source did not deliver 40 records"
wait_until 20 bash -c "'$FERRY' offsets '$WORK/rust.yaml' --connector counter 2>/dev/null | grep -q '\"offset\":{\"n\":39}'" ||
    fail "the Rust source's offset {\"n\":39} was not stored"
ferry_stop "$FERRY_PID"
topic_dump rust >"$WORK/rust.out"
[ "$(sort -u "$WORK/rust.out" | wc -l)" = 40 ] && grep -qx "rust 0" "$WORK/rust.out" && grep -qx "rust 39" "$WORK/rust.out" ||
    fail "wrong records: $(head -3 "$WORK/rust.out")"
log "PASS"
