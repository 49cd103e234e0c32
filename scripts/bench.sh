#!/usr/bin/env bash
# `make bench`: repstream-bench (release; the API, relay and projector as release binaries
# in processes of their own) against a fresh Postgres with DEFAULT durability
# (fsync on: numbers must be comparable to a durable baseline) and a fresh LocalStack.
# Extra args go to the bench binary: scripts/bench.sh --help. Infra is wiped on exit.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO"

NAME=bench
TMP="$(mktemp -d)"
cleanup() {
  local rc=$?
  trap '' INT TERM
  "$REPO/scripts/aws-down.sh" "$NAME" --wipe || true
  "$REPO/scripts/pg-down.sh" "$NAME" --wipe || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$REPO/scripts/pg-up.sh" "$NAME" --bench >"$TMP/pg.out"
"$REPO/scripts/aws-up.sh" "$NAME" --throwaway >"$TMP/aws.out"
# moto slows to a crawl with queue depth: its numbers would be meaningless
if [ "$(cat "$(state_dir)/aws-$NAME/kind")" != localstack ] && [ "${BENCH_ALLOW_MOTO:-0}" != 1 ]; then
  die "benchmarks need LocalStack (Python >= 3.12), not the moto fallback (BENCH_ALLOW_MOTO=1 overrides)"
fi

DATABASE_URL="$(tail -1 "$TMP/pg.out")"
export DATABASE_URL="${DATABASE_URL#DATABASE_URL=}"
AWS_ENDPOINT_URL="$(tail -1 "$TMP/aws.out")"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL#AWS_ENDPOINT_URL=}"
# Per-request INFO logs would bury the figures and cost the API throughput they measure.
export RUST_LOG="${RUST_LOG:-warn}"
# shellcheck source=scripts/env.sh
source "$REPO/scripts/env.sh"

# record the durability settings the numbers were measured under
log "postgres settings: $(psql -X -qtA "$DATABASE_URL" -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'max_connections', 'shared_buffers')" 2>/dev/null || echo unknown)"
log "emulator: $(cat "$(state_dir)/aws-$NAME/kind") at $AWS_ENDPOINT_URL"

# One release build of the services the bench starts as processes, and of the bench.
log "cargo build --release (api, outbox-relay, projector, bench)"
cargo build --release -p repstream-api -p repstream-outbox-relay -p repstream-projector -p repstream-bench
"${CARGO_TARGET_DIR:-$REPO/target}/release/repstream-bench" "$@"
