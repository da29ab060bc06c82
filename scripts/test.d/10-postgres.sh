# Sourced by scripts/test.sh: start a throw-away PostgreSQL on loopback as the
# postgres user and export OPSKIT_TEST_PG_DSN.
if [ -z "${OPSKIT_TEST_PG_DSN:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pgbin" ]; then
    echo "test.d/postgres: no PostgreSQL server binaries found" >&2
  else
    pguser=postgres
    [ "$(id -u)" = 0 ] || pguser=$(id -un)
    pgdir=$(mktemp -d /tmp/opskit-pg.XXXXXX)
    chown "$pguser" "$pgdir"
    pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    asuser() { if [ "$(id -u)" = 0 ]; then runuser -u "$pguser" -- "$@"; else "$@"; fi; }
    if asuser "$pgbin/initdb" -D "$pgdir/data" -U opskit --auth=trust -E UTF8 >"$pgdir/initdb.log" 2>&1 &&
       asuser "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
         -o "-h 127.0.0.1 -p $pgport -k $pgdir -c fsync=off -c max_connections=200" start >/dev/null; then
      asuser "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U opskit opskit_test
      export OPSKIT_TEST_PG_DSN="postgres://opskit@127.0.0.1:$pgport/opskit_test?sslmode=disable"
      OPSKIT_CLEANUP+=("asuser $pgbin/pg_ctl -D $pgdir/data -m immediate stop >/dev/null 2>&1; rm -rf $pgdir")
      echo "test.d/postgres: PostgreSQL on 127.0.0.1:$pgport"
    else
      echo "test.d/postgres: could not start PostgreSQL:" >&2
      cat "$pgdir"/*.log >&2
    fi
  fi
fi
