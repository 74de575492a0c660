#!/usr/bin/env bash
# Installs the SDK (component "sdk") from the build tree into a temporary
# prefix, builds examples/hello-source out of tree against it with CMake and
# with the Makefile, and loads both results with the plugin loader.
# Env: FERRY_SOURCE_DIR, FERRY_BUILD_DIR, PLUGIN_PROBE (set by ctest).
set -euo pipefail

: "${FERRY_SOURCE_DIR:?}" "${FERRY_BUILD_DIR:?}" "${PLUGIN_PROBE:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Install just the SDK. The prefix differs from the configured one on
#    purpose: the .pc file has to find the headers relative to itself.
cmake --install "$FERRY_BUILD_DIR" --prefix "$tmp/prefix" --component sdk >"$tmp/install.log" \
    || { cat "$tmp/install.log" >&2; fail "cmake --install"; }
test -f "$tmp/prefix/include/ferry/ferry.h" || fail "ferry.h not installed"
# GNUInstallDirs may pick lib/ or lib/<multiarch>/.
pc=$(find "$tmp/prefix" -name ferry-sdk.pc -print -quit)
test -n "$pc" || fail "ferry-sdk.pc not installed"
export PKG_CONFIG_PATH="$(dirname "$pc")"
cflags=$(pkg-config --cflags ferry-sdk)
echo "ferry-sdk cflags: $cflags"
incdir=$(pkg-config --variable=includedir ferry-sdk)
test -f "$incdir/ferry/ferry.h" || fail "includedir $incdir from the .pc has no ferry/ferry.h"
case "$(pkg-config --variable=plugindir ferry-sdk)" in
    "$tmp"/prefix/*/ferry/plugins) ;;
    *) fail "plugindir not under the install prefix: $(pkg-config --variable=plugindir ferry-sdk)" ;;
esac

# 2. Copy the example, so nothing is written into the source tree.
cp -r "$FERRY_SOURCE_DIR/examples/hello-source" "$tmp/src"
rm -rf "$tmp/src/build" "$tmp/src/hello-source.so"

# 3a. CMake, out of tree, with a compiler environment free of the sanitizer
#     flags of the main build (a third party's plugin would not have them).
env -u CFLAGS -u LDFLAGS cmake -S "$tmp/src" -B "$tmp/build" -DCMAKE_C_FLAGS="-Werror" >"$tmp/cmake.log" 2>&1 \
    || { cat "$tmp/cmake.log" >&2; fail "configure hello-source"; }
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "build hello-source"; }
so="$tmp/build/hello-source.so"
test -f "$so" || fail "no hello-source.so"

# 3b. The Makefile alternative.
make -C "$tmp/src" CFLAGS="-O2 -Werror" >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log" >&2; fail "make"; }
test -f "$tmp/src/hello-source.so" || fail "make built no hello-source.so"

# 4. The loader registers the connector from both builds.
for f in "$so" "$tmp/src/hello-source.so"; do
    out=$("$PLUGIN_PROBE" "$f") || fail "loader refused $f"
    echo "$out"
    grep -qx 'hello-source source 1.0.0' <<<"$out" || fail "hello-source not registered from $f"
done

# 5. It runs, and resumes after a stored offset {"n":41}.
out=$("$PLUGIN_PROBE" --run hello-source --records 3 --offset '{"n":41}' \
      --set topic=greetings --set interval=10 "$so") || fail "running hello-source"
echo "$out"
grep -qx 'greetings hello 42 {"hello":"world"} {"n":42}' <<<"$out" || fail "did not resume at 42"
grep -qx 'greetings hello 44 {"hello":"world"} {"n":44}' <<<"$out" || fail "no third record"
out=$("$PLUGIN_PROBE" --run hello-source --records 1 --set topic=t --set interval=10 "$so")
grep -qx 't hello 0 {"hello":"world"} {"n":0}' <<<"$out" || fail "fresh start is not at 0"
echo "PASS"
