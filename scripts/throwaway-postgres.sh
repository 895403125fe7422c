#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster from the local server binaries (no Docker needed).
#   scripts/throwaway-postgres.sh start DIR PORT [extra postgres -c settings...]   prints the connection string
#   scripts/throwaway-postgres.sh stop DIR                                          stops it and deletes DIR
# As root the cluster runs as the postgres user (initdb and postgres refuse to run as root).
set -euo pipefail

find_bindir() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then echo "$PG_BIN"; return; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  return 1
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:?usage: $0 start DIR PORT | stop DIR}
dir=${2:?DIR}
case "$cmd" in
  start)
    port=${3:?PORT}
    shift 3
    bindir=$(find_bindir) || { echo "No PostgreSQL server binaries found (initdb). On Debian: apt-get install postgresql." >&2; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_postgres "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
    for setting in "$@"; do opts="$opts -c $setting"; done
    as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >/dev/null \
      || { cat "$dir/postgres.log" >&2; exit 1; }
    echo "Host=127.0.0.1;Port=$port;Database=postgres;Username=postgres"
    ;;
  stop)
    bindir=$(find_bindir) || exit 0
    if [ -d "$dir/data" ]; then as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
