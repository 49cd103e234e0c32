#!/usr/bin/env bash
# `make test` (and CI): fmt and clippy checks, throwaway Postgres + LocalStack (and schemathesis for
# the contract test), then ONE cargo invocation that builds and runs every test. Extra args go to
# cargo nextest/test: scripts/test.sh -E 'test(x)'
# Infra is torn down and wiped on any exit.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO"
T0=$SECONDS

# cheap checks first: no point starting infra for a formatting or lint failure
log "cargo fmt --all --check"
cargo fmt --all --check
log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
# unused dependencies (cargo-machete reads the sources; installed once into .local/tools)
MACHETE="$REPO/.local/tools/bin/cargo-machete"
if [ ! -x "$MACHETE" ]; then
  log "installing cargo-machete into .local/tools"
  cargo install --quiet --locked cargo-machete --version 0.9.2 --root "$REPO/.local/tools"
fi
log "cargo machete"
"$MACHETE"

NAME="test-$$"
TMP="$(mktemp -d)"
PG_PID=""
AWS_PID=""
ST_PID=""
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$? p
  trap '' INT TERM
  # interrupted during start-up: stop the starters first (their servers are stopped below)
  for p in $PG_PID $AWS_PID $ST_PID; do kill "$p" 2>/dev/null || true; done
  "$REPO/scripts/aws-down.sh" "$NAME" --wipe || true
  "$REPO/scripts/pg-down.sh" "$NAME" --wipe || true
  rm -rf "$TMP"
  log "elapsed: $((SECONDS - T0)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Postgres and the emulator start in parallel (the first LocalStack install takes ~50 s),
# and the test tools venv (schemathesis for tests/tests/integration/contract.rs, aiosmtpd
# for the SMTP test in notifications.rs) installs beside them the first time (~25 s)
ensure_tools
TEST_VENV="$(state_dir)/venv/test-tools"
"$REPO/scripts/pg-up.sh" "$NAME" --throwaway >"$TMP/pg.out" &
PG_PID=$!
"$REPO/scripts/aws-up.sh" "$NAME" --throwaway >"$TMP/aws.out" &
AWS_PID=$!
ensure_test_venv "$TEST_VENV" &
ST_PID=$!
PG_RC=0
AWS_RC=0
ST_RC=0
wait "$PG_PID" || PG_RC=$?
wait "$AWS_PID" || AWS_RC=$?
wait "$ST_PID" || ST_RC=$?
[ "$PG_RC" = 0 ] || die "pg-up.sh failed ($PG_RC)"
[ "$AWS_RC" = 0 ] || die "aws-up.sh failed ($AWS_RC)"
[ "$ST_RC" = 0 ] || die "installing the test tools failed ($ST_RC)"
export SCHEMATHESIS_BIN="$TEST_VENV/bin/schemathesis" SMTP_SERVER_PYTHON="$TEST_VENV/bin/python"

# DATABASE_URL is the admin URL: tests create their own databases from it
DATABASE_URL="$(tail -1 "$TMP/pg.out")"
export DATABASE_URL="${DATABASE_URL#DATABASE_URL=}"
AWS_ENDPOINT_URL="$(tail -1 "$TMP/aws.out")"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL#AWS_ENDPOINT_URL=}"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export REPSTREAM_TEST_INFRA=1
log "DATABASE_URL=$DATABASE_URL AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL SCHEMATHESIS_BIN=$SCHEMATHESIS_BIN SMTP_SERVER_PYTHON=$SMTP_SERVER_PYTHON"

set +e
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  log "cargo-nextest not installed: using cargo test"
  cargo test --workspace --no-fail-fast "$@"
fi
RC=$?
set -e
if [ "$RC" = 0 ]; then log "tests passed"; else log "tests FAILED (exit $RC)"; fi
exit "$RC"
