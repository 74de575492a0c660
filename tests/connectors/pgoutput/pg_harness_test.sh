#!/bin/bash
# Self-test of tests/lib/pg.sh: start, settings, trust and password auth
# (a wrong password is refused), replication connection, restart, down/up,
# and that pg_stop removes everything.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../../lib/pg.sh"
pg_start
fail() { echo "FAIL: $*" >&2; pg_log_tail 20 >&2; exit 1; }
[ "$(pg_psql 'SHOW wal_level')" = logical ] || fail "wal_level"
[ "$(pg_psql 'SHOW max_replication_slots')" = 10 ] || fail "max_replication_slots"
[ "$(pg_psql 'SHOW listen_addresses')" = 127.0.0.1 ] || fail "listen_addresses"
[ "$(psql "$PG_CONNINFO" -XAtc 'SELECT current_user')" = postgres ] || fail "trust login"
[ "$(psql "$PG_PW_CONNINFO" -XAtc 'SELECT current_user')" = "$PG_PW_USER" ] || fail "password login"
if PGPASSWORD=wrong psql -h 127.0.0.1 -p "$PGPORT" -U "$PG_PW_USER" -d postgres -XAtc 'SELECT 1' 2>/dev/null; then
    fail "a wrong password was accepted"
fi
psql "$PG_PW_CONNINFO replication=database" -XAtc 'IDENTIFY_SYSTEM' | grep -q '|' || fail "replication connection"
echo "SELECT 41 + 1" | pg_psql | grep -qx 42 || fail "pg_psql from stdin"
pg_psql "CREATE TABLE t (id int)" "INSERT INTO t VALUES (1)"
pg_restart
[ "$(pg_psql 'SELECT count(*) FROM t')" = 1 ] || fail "data after restart"
pg_down
if pg_psql 'SELECT 1' 2>/dev/null; then fail "server still up after pg_down"; fi
pg_up
[ "$(pg_psql 'SELECT count(*) FROM t')" = 1 ] || fail "data after pg_up"
dir=$PG_TMPDIR
pg_stop
[ ! -d "$dir" ] || fail "pg_stop left $dir"
pg_stop # idempotent
echo "pg.sh: OK"
