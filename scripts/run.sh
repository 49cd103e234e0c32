#!/usr/bin/env bash
# `make run`: the whole system locally, without Docker.
#   dev Postgres (data kept between runs) + dev LocalStack, debug build, migrate + seed,
#   then api / outbox-relay / projector / workers in the background until Ctrl-C.
# On Ctrl-C/TERM or when any service dies: stop the services, LocalStack and Postgres
# (without wiping: dev data survives a restart; `make clean-dev` wipes it).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO"

SD="$(state_dir)"
# REPSTREAM_ENV: which local stack (its Postgres cluster and emulator); `dev` keeps its data
# between runs, others are for tools such as `make fuzz`
ENV_NAME="${REPSTREAM_ENV:-dev}"
LOGS="$SD/logs"
[ "$ENV_NAME" = dev ] || LOGS="$SD/logs-$ENV_NAME"
mkdir -p "$LOGS"
# REPSTREAM_BIN_DIR: run prebuilt binaries from elsewhere (the build step still runs)
BIN="${REPSTREAM_BIN_DIR:-$REPO/target/debug}"

NAMES=()
PIDS=()
CLEANED=0

stop_services() {
  local i pid alive
  [ ${#PIDS[@]} -gt 0 ] || return 0
  log "stopping services"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do # graceful: up to 10 s
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.1
  done
  for i in "${!PIDS[@]}"; do
    if kill -0 "${PIDS[$i]}" 2>/dev/null; then
      log "${NAMES[$i]} did not stop within 10 s: killing it"
      kill -KILL "${PIDS[$i]}" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  PIDS=()
}

cleanup() {
  [ "$CLEANED" = 0 ] || return 0
  CLEANED=1
  trap '' INT TERM # a second Ctrl-C must not abort the shutdown half-way
  # If our output went to a pipe whose reader died with the Ctrl-C (`make run | tee`),
  # writing a log line must not kill the shutdown.
  trap '' PIPE
  stop_services
  "$REPO/scripts/aws-down.sh" "$ENV_NAME" || true
  "$REPO/scripts/pg-down.sh" "$ENV_NAME" || true
  log "stopped (dev data kept in $SD; 'make clean-dev' wipes it)"
}
trap cleanup EXIT
trap 'exit 0' INT TERM # EXIT trap does the work

# 1. infrastructure (both reused if already running)
PG_OUT="$("$REPO/scripts/pg-up.sh" "$ENV_NAME")"
export DATABASE_URL="${PG_OUT##*DATABASE_URL=}"
AWS_OUT="$("$REPO/scripts/aws-up.sh" "$ENV_NAME")"
export AWS_ENDPOINT_URL="${AWS_OUT##*AWS_ENDPOINT_URL=}"
# shellcheck source=scripts/env.sh
source "$REPO/scripts/env.sh"

# Each service connects with its own Postgres role (created by the migrations; row-level
# security applies to all of them). The local cluster trusts loopback connections, so
# only the user name changes; production sets passwords on the roles. Migrations (and
# `repstream-projector rebuild`) run as the schema owner.
as_role() { # as_role ROLE -> DATABASE_URL with that user
  local rest="${DATABASE_URL#postgres://}"
  echo "postgres://$1@${rest#*@}"
}

# 2. build (debug) and prepare the database
log "cargo build (the four services)"
cargo build -p repstream-api -p repstream-outbox-relay -p repstream-projector -p repstream-workers --bins
log "migrating"
"$BIN/repstream-api" migrate >"$LOGS/migrate.log" 2>&1 || {
  tail -40 "$LOGS/migrate.log" >&2
  die "migrate failed (log: $LOGS/migrate.log)"
}
log "seeding demo data"
# seed prints the demo credentials on stdout; its logs (stderr) go to the log file
SEED_OUT="$(DATABASE_URL="$(as_role repstream_api)" "$BIN/repstream-api" seed 2>"$LOGS/seed.log")" || {
  tail -40 "$LOGS/seed.log" >&2
  die "seed failed (log: $LOGS/seed.log)"
}

# 3. services, each in its own session so a terminal Ctrl-C reaches only this script,
#    which then stops them in order
start() { # start NAME CMD...
  local name="$1"
  shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  NAMES+=("$name")
  PIDS+=("$!")
  log "started $name (pid $!, log: $LOGS/$name.log)"
}
# Prometheus metrics: one listener per service, on the next free ports from 9100.
M_API="$(free_port 9100)"
M_RELAY="$(free_port $((M_API + 1)))"
M_PROJECTOR="$(free_port $((M_RELAY + 1)))"
M_WORKERS="$(free_port $((M_PROJECTOR + 1)))"
start api env DATABASE_URL="$(as_role repstream_api)" METRICS_ADDR="127.0.0.1:$M_API" \
  DEV_MAILBOX_DIR="$MAILBOX_DIR" "$BIN/repstream-api" serve
start outbox-relay env DATABASE_URL="$(as_role repstream_relay)" METRICS_ADDR="127.0.0.1:$M_RELAY" "$BIN/repstream-outbox-relay"
start projector env DATABASE_URL="$(as_role repstream_projector)" METRICS_ADDR="127.0.0.1:$M_PROJECTOR" "$BIN/repstream-projector" run
start workers env DATABASE_URL="$(as_role repstream_worker)" METRICS_ADDR="127.0.0.1:$M_WORKERS" \
  API_PUBLIC_URL="http://$API_ADDR" "$BIN/repstream-workers"

check_services() { # a dead service stops everything
  local i
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      log "${NAMES[$i]} exited unexpectedly; last lines of $LOGS/${NAMES[$i]}.log:"
      tail -40 "$LOGS/${NAMES[$i]}.log" >&2 || true
      exit 1
    fi
  done
}

# 4. wait for the API to be ready (60 s)
API="http://$API_ADDR"
READY=0
for _ in $(seq 1 120); do
  check_services
  if [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$API/readyz" 2>/dev/null || true)" = 200 ]; then
    READY=1
    break
  fi
  sleep 0.5
done
if [ "$READY" = 0 ]; then
  tail -40 "$LOGS/api.log" >&2 || true
  die "$API/readyz did not answer 200 within 60 s"
fi

cat <<BANNER

==================================================================
 repstream is running
   API       $API
   Docs      $API/docs
   OpenAPI   $API/openapi.json
   Postgres  $DATABASE_URL
   AWS       $AWS_ENDPOINT_URL (SQS + S3 emulator)
   Metrics   http://127.0.0.1:{$M_API,$M_RELAY,$M_PROJECTOR,$M_WORKERS}/metrics (api, relay, projector, workers)
   Outbox    target/debug/repstream-outbox-relay status | parked list
   Mailbox   $API/dev/mailbox (every mail the workers sent: verification and reset links,
             booking confirmations, waitlist places, reminders — today's Express Core
             reminds Cara within minutes; .eml files in $MAILBOX_DIR)
   Inbox     sign in as the owner, GET $API/api/v1/me/notifications (who booked and who
             waits in her Express Core; live: .../me/notifications/stream)
   AI        sign in as Theo, GET .../clients/{cara}/recommendations (the rules engine's
             answer to Cara's intake; artifacts in s3://repstream-ai-artifacts)

 Demo data:
$(printf '%s\n' "$SEED_OUT" | sed 's/^/   /')

 Logs: $LOGS/{api,outbox-relay,projector,workers}.log
 Ctrl-C to stop
==================================================================

BANNER

# 5. watch the services until one dies or we are told to stop
while true; do
  check_services
  sleep 1
done
