#!/usr/bin/env bash
# Start a project-local PostgreSQL cluster (no Docker, no system cluster) and print its URL.
#
# usage: scripts/pg-up.sh NAME [--throwaway | --bench]
#   (default)    dev cluster: data kept between runs, durable defaults; reused if running
#   --throwaway  wiped and re-initialised; fsync/synchronous_commit/full_page_writes off (tests)
#   --bench      wiped and re-initialised, but DEFAULT durability (benchmarks must be durable)
#
# stdout: exactly one line, DATABASE_URL=postgres://postgres@127.0.0.1:PORT/repstream
# (trust auth: any password works). Logs go to stderr; the server log to pg-NAME/server.log.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME="${1:?usage: pg-up.sh NAME [--throwaway|--bench]}"
MODE=dev
case "${2:-}" in
  "") ;;
  --throwaway) MODE=throwaway ;;
  --bench) MODE=bench ;;
  *) die "unknown option: $2" ;;
esac
DB=repstream

ensure_tools
ensure_pg_binaries
ROOT="$(state_dir)/pg-$NAME"
DATA="$ROOT/data"

# serialise concurrent pg-up/pg-down of the same NAME
exec 8>"$ROOT.lock"
flock 8

running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

psql_admin() { "$PGBIN/psql" -X -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

ensure_db() {
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE \"$DB\""
  fi
}

print_url() { echo "DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/$DB"; }

if [ "$MODE" != dev ]; then
  # throwaway/bench: stop any leftover of ours and start from scratch
  if running; then as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$ROOT"
elif running; then
  # dev cluster already up (e.g. a second `make run`): reuse it
  PORT="$(sed -n 4p "$DATA/postmaster.pid")"
  log "reusing running cluster $ROOT on port $PORT"
  ensure_db
  print_url
  exit 0
fi

mkdir -p "$ROOT"
chmod 755 "$ROOT"
[ "$(id -u)" -ne 0 ] || chown "$PG_OS_USER:" "$ROOT"

if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA"
  SYNC=()
  [ "$MODE" = dev ] || SYNC=(--no-sync) # throwaway data: no need to fsync initdb's files
  log "initdb $DATA ($MODE)"
  as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    "${SYNC[@]}" >"$ROOT/initdb.log" 2>&1 || { cat "$ROOT/initdb.log" >&2; die "initdb failed"; }
fi

# unix socket lives in the cluster folder unless the path would exceed the 107-byte limit
SOCK="$ROOT"
[ ${#ROOT} -le 90 ] || SOCK=/tmp

OPTS="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$SOCK -c max_connections=300"
# statement counts per database and role: the round-trip tests and `make bench` read them
OPTS="$OPTS -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top -c pg_stat_statements.track_utility=on"
if [ "$MODE" = throwaway ]; then
  # test data is disposable: trade crash safety for speed
  OPTS="$OPTS -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi

# port: the dev cluster keeps its previous port when still free; otherwise first free from 55432.
# Retry if another process grabs the port between the check and the bind.
PORT=""
if [ "$MODE" = dev ] && [ -f "$ROOT/port" ]; then
  PORT="$(cat "$ROOT/port")"
  port_in_use "$PORT" && PORT=""
fi
for attempt in 1 2 3 4 5; do
  [ -n "$PORT" ] || PORT="$(free_port 55432)"
  log "starting cluster $NAME on 127.0.0.1:$PORT ($MODE)"
  # 8>&-: the postmaster must not inherit (and hold forever) our lock fd
  if as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w -t 60 -o "$OPTS -p $PORT" start >&2 8>&-; then
    break
  fi
  if [ "$attempt" -lt 5 ] && port_in_use "$PORT"; then
    log "port $PORT was taken meanwhile; retrying"
    PORT=""
    continue
  fi
  tail -30 "$ROOT/server.log" >&2 || true
  die "pg_ctl start failed"
done
echo "$PORT" >"$ROOT/port"

ensure_db
if [ "$MODE" = throwaway ]; then
  log "durability: fsync=off synchronous_commit=off full_page_writes=off (throwaway)"
else
  log "durability: fsync=on synchronous_commit=on full_page_writes=on (defaults)"
fi
print_url
