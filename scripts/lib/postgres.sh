# A throwaway PostgreSQL for the tests: Debian's postgresql package, a cluster in a
# temporary directory owned by an unprivileged user (PostgreSQL refuses to run as
# root), listening on 127.0.0.1 and a socket in that directory. Sourced, not run.
#
#   start_test_postgres   sets PG_TEST_URL (superuser "rampart", database "postgres"); returns 1 if it cannot
#   stop_test_postgres    stops it and removes the directory

start_test_postgres() {
  ensure_apt postgresql || return 1
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PG_TEST_DIR=$(mktemp -d /tmp/rampart-pg.XXXXXX)
  local port; port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PG_TEST_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U rampart -A trust -E UTF8 --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1 || { cat "$PG_TEST_DIR/initdb.log" >&2; log "initdb failed"; return 1; }
  # Durability is not what these tests are about: no fsync makes migrations and test databases fast.
  "${as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
    -o "-k $PG_TEST_DIR -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null ||
    { cat "$PG_TEST_DIR/server.log" >&2; log "PostgreSQL did not start"; return 1; }
  PG_TEST_BIN=$bin
  PG_TEST_URL="postgresql://rampart@127.0.0.1:$port/postgres"
  export PG_TEST_URL
}

stop_test_postgres() {
  [ -n "${PG_TEST_DIR:-}" ] || return 0
  local as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$PG_TEST_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_TEST_DIR"
  PG_TEST_DIR=
}
