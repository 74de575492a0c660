# venv.sh — py_venv, for tests (through common.sh) and benchmarks.
#
# py_venv NAME REQUIREMENTS: the python of a virtualenv of Debian's python3
# (with its site packages, e.g. python3-confluent-kafka) holding the pinned
# REQUIREMENTS, made once in $FERRY_CACHE/NAME-<sum of the file> under a lock
# (tests run in parallel). Prints the interpreter's path; returns 1 with the
# reason on stderr when pip cannot install them.
py_venv() {
    local name=$1 req=$2 cache=${FERRY_CACHE:-${HOME:-/root}/.cache/ferry}
    local dir
    dir=$cache/$name-$(sha256sum "$req" | cut -c1-12)
    mkdir -p "$cache"
    (
        flock 9
        if [ ! -x "$dir/bin/python" ]; then
            rm -rf "$dir.tmp"
            /usr/bin/python3 -m venv --system-site-packages "$dir.tmp" >&2 &&
                "$dir.tmp/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2 &&
                mv "$dir.tmp" "$dir"
        fi
    ) 9>"$cache/$name.lock"
    [ -x "$dir/bin/python" ] || { echo "py_venv: could not install $req into $dir (PyPI reachable?)" >&2; return 1; }
    echo "$dir/bin/python"
}
