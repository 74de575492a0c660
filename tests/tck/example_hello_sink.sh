#!/usr/bin/env bash
# The out-of-tree C examples: installs the SDK (component "sdk") into a
# temporary prefix, builds examples/hello-sink with CMake and with its
# Makefile against it (pkg-config ferry-sdk), loads it with
# `ferry plugins --plugin-path`, and runs `ferry tck` on it and on
# examples/hello-source (built the same way).
source "$TESTLIB"
cmake --install "$FERRY_BUILD_DIR" --prefix "$WORK/prefix" --component sdk >"$WORK/install.log" 2>&1 ||
    fail "cmake --install --component sdk"
pc=$(find "$WORK/prefix" -name ferry-sdk.pc -print -quit)
[ -n "$pc" ] || fail "ferry-sdk.pc not installed"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")

mkdir -p "$WORK/plugins"
for ex in hello-sink hello-source; do
    cp -r "$FERRY_SOURCE_DIR/examples/$ex" "$WORK/$ex"
    rm -rf "$WORK/$ex/build" "$WORK/$ex/$ex.so"
    # A third party's build: no sanitizer flags, warnings as errors.
    env -u CFLAGS -u LDFLAGS cmake -S "$WORK/$ex" -B "$WORK/$ex/build" -DCMAKE_C_FLAGS="-Werror" \
        >"$WORK/$ex-cmake.log" 2>&1 || fail "configure $ex"
    cmake --build "$WORK/$ex/build" >"$WORK/$ex-build.log" 2>&1 || fail "build $ex with CMake"
    make -C "$WORK/$ex" CFLAGS="-O2 -Werror" >"$WORK/$ex-make.log" 2>&1 || fail "build $ex with make"
    [ -f "$WORK/$ex/$ex.so" ] || fail "make built no $ex.so"
    install -m 0644 "$WORK/$ex/build/$ex.so" "$WORK/plugins/$ex.so"
done

"$FERRY" plugins --plugin-path "$WORK/plugins" >"$WORK/plugins.txt" 2>"$WORK/plugins.log" || fail "ferry plugins"
grep -q "hello-sink" "$WORK/plugins.txt" || fail "hello-sink not listed: $(cat "$WORK/plugins.txt")"

# A plugin built without ASan, in an ASan ferry: the leak check still counts
# its mallocs (the sanitizer intercepts them).
printf 'path: ${env:FERRY_TCK_DIR}/out.txt\n' >"$WORK/sink.yaml"
printf 'topic: greetings\ninterval: 10ms\n' >"$WORK/source.yaml"
for ex in hello-sink:sink hello-source:source; do
    name=${ex%%:*} rc=0
    "$FERRY" tck "$WORK/plugins/$name.so" --config "$WORK/${ex#*:}.yaml" >"$WORK/$name.out" 2>"$WORK/$name-tck.log" || rc=$?
    cat "$WORK/$name.out" >&2
    [ "$rc" = 0 ] || fail "ferry tck $name.so exited $rc"
done
for r in open-failure put-flush flush-limits stop cycles; do
    grep -q "^PASS hello-sink $r: " "$WORK/hello-sink.out" || fail "hello-sink: $r did not pass"
done
grep -q "^PASS hello-sink put-flush: .*(the sink rejected records)" "$WORK/hello-sink.out" && fail "rejected records"
for r in open-failure poll-budget offsets stop cycles; do
    grep -q "^PASS hello-source $r: " "$WORK/hello-source.out" || fail "hello-source: $r did not pass"
done
log "PASS"
