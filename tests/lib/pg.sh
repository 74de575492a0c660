# tests/lib/pg.sh — a throwaway PostgreSQL server for tests. Source it:
#
#   . "$FERRY_SOURCE_DIR/tests/lib/pg.sh"
#   pg_start                    # initdb + start; exports the PG* variables below
#   pg_psql "CREATE TABLE t (id int primary key)"
#   pg_restart                  # fast restart, same data, same port
#   pg_stop                     # fast shutdown and remove everything (also run on EXIT)
#
# After pg_start these are exported:
#   PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=postgres PG_DATADIR PG_TMPDIR PG_LOG
#   PG_CONNINFO="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
#   PG_PW_USER=ferry_pw PG_PW_PASSWORD  a LOGIN REPLICATION role whose password IS checked
#                                       (scram-sha-256), for bad-password tests
#   PG_PW_CONNINFO                      conninfo for that role, with the right password
#   PG_BIN                              the server's bin directory
#
# Why it looks like this: the server refuses to run as root, and tests run as
# root in CI, so as root every server command runs as the `postgres` system
# user, in a temp dir that user owns. As a normal user everything runs as that
# user. The superuser connects with `trust` over TCP (127.0.0.1 only) and over
# a unix socket inside the temp dir, so nothing depends on the machine's own
# cluster or on /var/run/postgresql.
#
# Knobs (environment, optional): PG_BIN (default /usr/lib/postgresql/15/bin),
# PG_TMPROOT (default /tmp; must be traversable by the postgres user),
# PG_EXTRA_CONF (lines appended to the server configuration),
# PG_NO_TRAP=1 (pg_start does not install `trap pg_cleanup EXIT`).
#
# One server per shell. pg_cleanup is idempotent and safe to call from traps.

_pg_die() {
    echo "pg.sh: $*" >&2
    return 1
}

# Finds the server binaries: PG_BIN, else Debian's PostgreSQL 15, else the
# newest Debian cluster version installed.
_pg_find_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        [ -x "$PG_BIN/postgres" ] || { _pg_die "PG_BIN=$PG_BIN has no postgres binary"; return 1; }
        return 0
    fi
    if [ -x /usr/lib/postgresql/15/bin/postgres ]; then
        PG_BIN=/usr/lib/postgresql/15/bin
    else
        local d
        d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
        [ -n "$d" ] && [ -x "$d/postgres" ] ||
            { _pg_die "no PostgreSQL server found (install postgresql-15)"; return 1; }
        echo "pg.sh: warning: PostgreSQL 15 not found, using $d" >&2
        PG_BIN=$d
    fi
    export PG_BIN
}

# Runs a command as the user that owns the server: `postgres` when we are
# root, ourselves otherwise. cwd is / so a root-only cwd (e.g. /root) does not
# make initdb/pg_ctl complain.
_pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
        fi
    else
        (cd / && "$@")
    fi
}

# True when something listens on 127.0.0.1:$1 (or the wildcard address).
_pg_port_busy() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        ss -Hltn "( sport = :$port )" 2>/dev/null | grep -q . && return 0
        return 1
    fi
    # No ss: a successful TCP connect means busy.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# Prints a port that is free right now (a race with other processes remains:
# pg_start retries with a new port when the server cannot bind).
_pg_free_port() {
    local i port
    for i in $(seq 1 200); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
        if ! _pg_port_busy "$port"; then
            echo "$port"
            return 0
        fi
    done
    _pg_die "no free TCP port found"
}

# Writes the configuration that pg_start owns (port included), as a file the
# main postgresql.conf includes, so rewriting it for a new port is simple.
_pg_write_conf() {
    local port=$1
    cat >"$PG_DATADIR/ferry_test.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_TMPDIR/sock'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_connections = 60
shared_buffers = 32MB
fsync = off
synchronous_commit = on
password_encryption = 'scram-sha-256'
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
${PG_EXTRA_CONF:-}
EOF
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DATADIR/ferry_test.conf"
    return 0
}

pg_start() {
    if [ -n "${PG_DATADIR:-}" ] && [ -d "${PG_DATADIR}" ]; then
        _pg_die "pg_start: a server is already set up in $PG_DATADIR (pg_stop first)"
        return 1
    fi
    _pg_find_bin || return 1
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        _pg_die "running as root but there is no 'postgres' user to run the server"
        return 1
    fi
    PG_TMPDIR=$(mktemp -d "${PG_TMPROOT:-/tmp}/ferry-pg.XXXXXX") || { _pg_die "mktemp failed"; return 1; }
    export PG_TMPDIR
    export PG_DATADIR=$PG_TMPDIR/data
    export PG_LOG=$PG_TMPDIR/server.log
    mkdir -p "$PG_TMPDIR/sock"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres: "$PG_TMPDIR"
    fi
    chmod 700 "$PG_TMPDIR"
    if [ -z "${PG_NO_TRAP:-}" ] && [ -z "$(trap -p EXIT)" ]; then
        trap pg_cleanup EXIT
    fi

    if ! _pg_as "$PG_BIN/initdb" -D "$PG_DATADIR" -U postgres --auth=trust \
        --encoding=UTF8 --no-locale --no-sync >"$PG_TMPDIR/initdb.log" 2>&1; then
        cat "$PG_TMPDIR/initdb.log" >&2
        _pg_die "initdb failed"
        return 1
    fi

    export PG_PW_USER=ferry_pw
    export PG_PW_PASSWORD=ferry-pw-secret
    # First match wins: the password role is checked before the trust lines.
    _pg_as sh -c "cat >'$PG_DATADIR/pg_hba.conf'" <<EOF
local   all          all                       trust
local   replication  all                       trust
host    all          $PG_PW_USER   127.0.0.1/32  scram-sha-256
host    replication  $PG_PW_USER   127.0.0.1/32  scram-sha-256
host    all          all           127.0.0.1/32  trust
host    replication  all           127.0.0.1/32  trust
EOF
    _pg_as sh -c "echo \"include_if_exists = 'ferry_test.conf'\" >>'$PG_DATADIR/postgresql.conf'"

    local attempt port started=
    for attempt in 1 2 3 4 5; do
        port=$(_pg_free_port) || return 1
        _pg_write_conf "$port"
        if _pg_as "$PG_BIN/pg_ctl" -D "$PG_DATADIR" -l "$PG_LOG" -w -t 60 start >/dev/null 2>&1; then
            started=1
            break
        fi
        # Most likely someone took the port between the probe and the bind.
        echo "pg.sh: server did not start on port $port (attempt $attempt), retrying" >&2
    done
    if [ -z "$started" ]; then
        tail -n 30 "$PG_LOG" >&2 2>/dev/null
        _pg_die "could not start PostgreSQL"
        return 1
    fi

    export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
    export PG_CONNINFO="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
    export PG_PW_CONNINFO="host=127.0.0.1 port=$PGPORT user=$PG_PW_USER password=$PG_PW_PASSWORD dbname=postgres"
    unset PGPASSWORD PGSERVICE PGOPTIONS 2>/dev/null
    pg_psql "CREATE ROLE $PG_PW_USER LOGIN REPLICATION PASSWORD '$PG_PW_PASSWORD'" || return 1
}

# Runs SQL as the superuser over TCP: psql -X -q -At -v ON_ERROR_STOP=1.
# With arguments, each argument is one script (run in one session, in order);
# without, the script is read from stdin. Output goes to stdout.
pg_psql() {
    local psql=psql
    [ -x "${PG_BIN:-}/psql" ] && psql=$PG_BIN/psql
    if [ $# -gt 0 ]; then
        printf '%s;\n' "$@" | "$psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres \
            -d "${PGDATABASE:-postgres}" -f -
    else
        "$psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U postgres \
            -d "${PGDATABASE:-postgres}" -f -
    fi
}

# Stops the server (fast shutdown) and keeps its data: for "database went
# away" tests. pg_up starts it again on the same port.
pg_down() {
    [ -n "${PG_DATADIR:-}" ] || { _pg_die "pg_down: no server"; return 1; }
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_DATADIR" -m fast -w -t 60 stop >/dev/null
}

pg_up() {
    [ -n "${PG_DATADIR:-}" ] || { _pg_die "pg_up: no server"; return 1; }
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_DATADIR" -l "$PG_LOG" -w -t 60 start >/dev/null ||
        { tail -n 30 "$PG_LOG" >&2; _pg_die "pg_up: server did not start"; return 1; }
}

# Fast restart, same data directory and port.
pg_restart() {
    [ -n "${PG_DATADIR:-}" ] || { _pg_die "pg_restart: no server"; return 1; }
    _pg_as "$PG_BIN/pg_ctl" -D "$PG_DATADIR" -l "$PG_LOG" -m fast -w -t 60 restart >/dev/null ||
        { tail -n 30 "$PG_LOG" >&2; _pg_die "pg_restart failed"; return 1; }
}

# Fast shutdown and removal of the temp dir. Idempotent; never fails (for traps).
pg_stop() {
    if [ -n "${PG_DATADIR:-}" ] && [ -f "$PG_DATADIR/postmaster.pid" ]; then
        _pg_as "$PG_BIN/pg_ctl" -D "$PG_DATADIR" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            _pg_as "$PG_BIN/pg_ctl" -D "$PG_DATADIR" -m immediate -w -t 30 stop >/dev/null 2>&1
    fi
    if [ -n "${PG_TMPDIR:-}" ] && [ -d "$PG_TMPDIR" ]; then
        rm -rf "$PG_TMPDIR"
    fi
    unset PG_DATADIR PG_TMPDIR PG_LOG
    return 0
}

# For `trap pg_cleanup EXIT`: keeps the script's exit status.
pg_cleanup() {
    local rc=$?
    pg_stop
    return $rc
}

# Prints the tail of the server log (for failure diagnostics).
pg_log_tail() {
    [ -n "${PG_LOG:-}" ] && [ -f "$PG_LOG" ] && tail -n "${1:-50}" "$PG_LOG"
    return 0
}
