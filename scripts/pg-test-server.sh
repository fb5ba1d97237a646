#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the test suite (PostgreSQL >= 13 from
# Debian's packages: `apt-get install -y postgresql`).
#
#   scripts/pg-test-server.sh start   # prints the URL to export as ECMO_TEST_PG_URL
#   scripts/pg-test-server.sh stop
#   scripts/pg-test-server.sh url
#
# The cluster lives in $PG_TEST_DIR (default /tmp/ecmo-pg-test), listens on 127.0.0.1 only,
# port $PG_TEST_PORT (default 5433), trust authentication (loopback, test data only).
# Run as root it runs the server as the `postgres` system user (initdb refuses root).
set -euo pipefail

DIR="${PG_TEST_DIR:-/tmp/ecmo-pg-test}"
PORT="${PG_TEST_PORT:-5433}"
URL="postgres://postgres@127.0.0.1:${PORT}/postgres"

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  echo "error: PostgreSQL server binaries not found (apt-get install -y postgresql, or set PG_BIN)" >&2
  exit 1
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$*"
  else
    sh -c "$*"
  fi
}

case "${1:-}" in
  start)
    BIN=$(find_bin)
    mkdir -p "$DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      as_pg "'$BIN/initdb' -D '$DIR/data' -A trust -U postgres --no-sync" >"$DIR/initdb.log" 2>&1 ||
        { cat "$DIR/initdb.log" >&2; exit 1; }
    fi
    if as_pg "'$BIN/pg_ctl' -D '$DIR/data' status" >/dev/null 2>&1; then
      echo "$URL"; exit 0
    fi
    # fsync off: a test cluster is thrown away; many tests create schemas in parallel.
    as_pg "'$BIN/pg_ctl' -D '$DIR/data' -w -t 60 -l '$DIR/log' -o \"-p $PORT -k '$DIR' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start" >/dev/null ||
      { cat "$DIR/log" >&2; exit 1; }
    echo "$URL"
    ;;
  stop)
    BIN=$(find_bin)
    if [ -f "$DIR/data/PG_VERSION" ]; then
      as_pg "'$BIN/pg_ctl' -D '$DIR/data' -m fast -w stop" >/dev/null 2>&1 || true
    fi
    ;;
  url)
    echo "$URL"
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
