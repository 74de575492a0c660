#!/usr/bin/env bash
# The Debian packages, as an operator meets them: built with CPack from this
# tree (Release, prefix /usr), installed on this machine with dpkg, then:
# the ferry system user and its state directory exist; /etc/ferry/ferry.yaml
# is a conffile that passes `ferry validate`; the systemd unit verifies; the
# man page renders; the bash completion completes; a pipeline runs from the
# installed binary and plugins as the ferry user; examples/hello-source from
# ferry-dev builds against the installed SDK with pkg-config and loads; and
# `dpkg --purge` leaves no file behind. Needs root (CI runs as root).
source "$TESTLIB"
[ "$(id -u)" = 0 ] || fail "this test installs packages with dpkg: run it as root (CI does)"
for t in cpack dpkg-shlibdeps adduser pkg-config make man systemd-analyze setpriv; do
    command -v "$t" >/dev/null || fail "$t not found (scripts/deps.sh installs it)"
done
purge() { dpkg --purge ferry-dev ferry >>"$WORK/dpkg.log" 2>&1 || true; }
if dpkg-query -W -f='${Status}' ferry 2>/dev/null | grep -q installed; then
    fail "a ferry package is already installed on this machine: not touching it (dpkg --purge ferry ferry-dev)"
fi
trap 'purge; cleanup' EXIT

log "building the packages"
cmake -S "$FERRY_SOURCE_DIR" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DFERRY_BUILD_TESTS=OFF >"$WORK/cmake.log" 2>&1 || fail "configure: $(tail -5 "$WORK/cmake.log")"
cmake --build "$WORK/build" -j"$(nproc)" >"$WORK/build.log" 2>&1 || fail "build: $(grep -m3 error "$WORK/build.log")"
(cd "$WORK/build" && cpack -G DEB) >"$WORK/cpack.log" 2>&1 || fail "cpack: $(tail -5 "$WORK/cpack.log")"
deb=$(ls "$WORK"/build/ferry_*_amd64.deb) dev=$(ls "$WORK"/build/ferry-dev_*_all.deb)
deps=$(dpkg-deb -f "$deb" Depends)
log "ferry depends on: $deps"
for lib in librdkafka1 libyaml-0-2 libjansson4 libmicrohttpd12 libcurl4 libpq5 adduser; do
    grep -q "$lib" <<<"$deps" || fail "Depends lacks $lib (shlibdeps): $deps"
done

dpkg -i "$deb" "$dev" >"$WORK/dpkg.log" 2>&1 || fail "dpkg -i: $(tail -5 "$WORK/dpkg.log")"
[ -x /usr/bin/ferry ] || fail "no /usr/bin/ferry"
uid=$(id -u ferry) || fail "no ferry user"
[ "$uid" -lt 1000 ] || fail "ferry is not a system user (uid $uid)"
[ "$(stat -c %U /var/lib/ferry)" = ferry ] || fail "/var/lib/ferry is not ferry's"
dpkg-query -W -f='${Conffiles}' ferry | grep -q "/etc/ferry/ferry.yaml" || fail "/etc/ferry/ferry.yaml is not a conffile"
/usr/bin/ferry validate /etc/ferry/ferry.yaml >"$WORK/validate.log" 2>&1 || fail "the default pipeline: $(cat "$WORK/validate.log")"
plugdir=$(realpath -m "$(pkg-config --variable=plugindir ferry-sdk)")
[ "$plugdir" = "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/ferry/plugins" ] ||
    fail "plugindir is $plugdir"
/usr/bin/ferry plugins >"$WORK/plugins.txt" 2>&1 || fail "ferry plugins: $(cat "$WORK/plugins.txt")"
grep -q "file-source" "$WORK/plugins.txt" || fail "the installed ferry does not find its plugins in $plugdir"

# The unit, the man page, the completion.
systemd-analyze verify /usr/lib/systemd/system/ferry.service >"$WORK/unit.log" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$WORK/unit.log")"
unit=/usr/lib/systemd/system/ferry.service
for want in "User=ferry" "Restart=on-failure" "KillSignal=SIGTERM" "ExecReload=/bin/kill -HUP" "NoNewPrivileges=yes" \
    "ProtectSystem=strict" "PrivateTmp=yes" "StateDirectory=ferry"; do
    grep -q "^$want" "$unit" || fail "the unit lacks $want"
done
# (Read from the package itself: a minimal image may exclude /usr/share/man from dpkg.)
dpkg-deb -x "$deb" "$WORK/x"
page=$WORK/x/usr/share/man/man1/ferry.1
[ -f "$page" ] || fail "the package has no usr/share/man/man1/ferry.1"
MANWIDTH=100 man --warnings -l "$page" >"$WORK/man.txt" 2>"$WORK/man.err" || fail "man ferry: $(cat "$WORK/man.err")"
[ -s "$WORK/man.err" ] && fail "man page warnings: $(head -5 "$WORK/man.err")"
for want in "ferry run FILE" "offsets.flush.interval" "file-source" "EXIT STATUS"; do
    grep -q -- "$want" "$WORK/man.txt" || fail "the man page lacks '$want'"
done
got=$(bash -c 'source /usr/share/bash-completion/completions/ferry; COMP_WORDS=(ferry va); COMP_CWORD=1; _ferry; echo "${COMPREPLY[*]}"')
[ "$got" = validate ] || fail "completion of 'ferry va' gave '$got'"
got=$(bash -c 'source /usr/share/bash-completion/completions/ferry; COMP_WORDS=(ferry run --pl); COMP_CWORD=2; _ferry; echo "${COMPREPLY[*]}"')
[ "$got" = --plugin-path ] || fail "completion of 'ferry run --pl' gave '$got'"

# A pipeline from the installed paths, run as the service's user.
run=/var/lib/ferry/pkgtest
install -d -o ferry -g ferry "$run"
cat >"$run/p.yaml" <<YAML
worker:
  kafka: {bootstrap.servers: embedded}
  offsets: {store: file, file: $run/offsets.dat, flush.interval: 300ms}
  progress.interval: 0
connectors:
  gen: {connector: datagen, topic: demo, count: 50}
  out: {connector: file-sink, topics: demo, path: $run/out.txt, flush.interval: 300ms}
YAML
chown ferry:ferry "$run/p.yaml"
# setpriv execs ferry itself (runuser would stay between, and answer SIGTERM with 143).
setpriv --reuid ferry --regid ferry --init-groups -- /usr/bin/ferry run "$run/p.yaml" >"$WORK/run.log" 2>&1 &
pid=$!
PIDS+=("$pid")
wait_until 60 bash -c "[ \$(wc -l < $run/out.txt 2>/dev/null || echo 0) -ge 50 ]" || fail "the installed pipeline wrote $(wc -l <"$run/out.txt" 2>/dev/null) of 50 lines"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "the installed ferry exited $rc on SIGTERM"

# ferry-dev: the example, built out of tree against the installed SDK.
cp -r /usr/share/doc/ferry-dev/examples/hello-source "$WORK/hello"
make -C "$WORK/hello" >"$WORK/make.log" 2>&1 || fail "make hello-source: $(tail -5 "$WORK/make.log")"
chmod go-w "$WORK/hello" "$WORK/hello/hello-source.so"
/usr/bin/ferry plugins --plugin-path "$WORK/hello" >"$WORK/hello.txt" 2>&1 || fail "ferry plugins: $(cat "$WORK/hello.txt")"
grep -q "hello" "$WORK/hello.txt" || fail "the example plugin does not load: $(cat "$WORK/hello.txt")"

# Purged: nothing left.
rm -rf "$run"
dpkg --purge ferry-dev ferry >>"$WORK/dpkg.log" 2>&1 || fail "dpkg --purge: $(tail -5 "$WORK/dpkg.log")"
for p in /usr/bin/ferry /etc/ferry /var/lib/ferry /usr/include/ferry "$plugdir" /usr/share/man/man1/ferry.1.gz \
    /usr/share/man/man1/ferry.1 /usr/lib/systemd/system/ferry.service; do
    [ -e "$p" ] && fail "$p is left after purge"
done
dpkg-query -W ferry >/dev/null 2>&1 && dpkg-query -W -f='${Status}' ferry | grep -q "installed" && fail "ferry still installed"
log "PASS"
