#!/usr/bin/env bash
# Stop a cluster started by pg-up.sh (fast shutdown). Data is kept unless --wipe.
# usage: scripts/pg-down.sh NAME [--wipe]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME="${1:?usage: pg-down.sh NAME [--wipe]}"
WIPE=0
case "${2:-}" in
  "") ;;
  --wipe) WIPE=1 ;;
  *) die "unknown option: $2" ;;
esac

ROOT="$(state_dir)/pg-$NAME"
DATA="$ROOT/data"
[ -d "$ROOT" ] || exit 0

exec 8>"$ROOT.lock"
flock 8

# never install anything just to stop: use whatever server binaries are present
PGBIN="${PGBIN:-$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)}"
if [ -f "$DATA/postmaster.pid" ] && [ -n "$PGBIN" ]; then
  if as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "stopping cluster $NAME"
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null ||
      as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null
  fi
fi

if [ "$WIPE" = 1 ]; then
  log "wiping $ROOT"
  rm -rf "$ROOT" "$ROOT.lock"
fi
