#!/usr/bin/env bash
# Stop the emulator started by aws-up.sh. Its state is kept unless --wipe.
# usage: scripts/aws-down.sh NAME [--wipe]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME="${1:?usage: aws-down.sh NAME [--wipe]}"
WIPE=0
case "${2:-}" in
  "") ;;
  --wipe) WIPE=1 ;;
  *) die "unknown option: $2" ;;
esac

ROOT="$(state_dir)/aws-$NAME"
[ -d "$ROOT" ] || exit 0
exec 8>"$ROOT.lock"
flock 8
if [ "$WIPE" = 1 ]; then aws_stop "$ROOT" 20; else aws_stop "$ROOT"; fi
if [ "$WIPE" = 1 ]; then
  log "wiping $ROOT"
  rm -rf "$ROOT" "$ROOT.lock"
fi
