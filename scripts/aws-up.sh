#!/usr/bin/env bash
# Start a project-local AWS emulator (SQS + S3) without Docker and print its endpoint.
# LocalStack (localstack-core, needs Python >= 3.12) by default; moto server as a fallback
# when no Python >= 3.12 exists (or AWS_EMULATOR=moto). Queues/buckets from
# localstack/resources.json are created by localstack/init/ready.d/10-resources.py.
#
# usage: scripts/aws-up.sh NAME [--throwaway]
#   (default)    reuse the emulator of NAME if it is running
#   --throwaway  stop any leftover of NAME and wipe its state first
#
# stdout: exactly one line, AWS_ENDPOINT_URL=http://127.0.0.1:PORT. Logs go to stderr and
# to aws-NAME/emulator.log.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NAME="${1:?usage: aws-up.sh NAME [--throwaway]}"
THROWAWAY=0
case "${2:-}" in
  "") ;;
  --throwaway) THROWAWAY=1 ;;
  *) die "unknown option: $2" ;;
esac

ensure_tools
SD="$(state_dir)"
ROOT="$SD/aws-$NAME"
FS="$ROOT/fs"
HOOKS="$FS/etc/localstack/init/ready.d"

# serialise concurrent aws-up/aws-down of the same NAME
exec 8>"$ROOT.lock"
flock 8

answers() { # any HTTP answer from the emulator's port
  local code
  code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/_localstack/health" 2>/dev/null || true)"
  [ -n "$code" ] && [ "$code" != 000 ]
}

if [ "$THROWAWAY" = 1 ]; then
  aws_stop "$ROOT" 20 # state is wiped anyway: no need for a clean shutdown
  rm -rf "$ROOT"
elif [ -f "$ROOT/pid" ] && [ -f "$ROOT/port" ] && kill -0 "$(cat "$ROOT/pid")" 2>/dev/null &&
  answers "$(cat "$ROOT/port")"; then
  PORT="$(cat "$ROOT/port")"
  log "reusing running $(cat "$ROOT/kind" 2>/dev/null || echo emulator) $NAME on port $PORT"
  echo "AWS_ENDPOINT_URL=http://127.0.0.1:$PORT"
  exit 0
else
  aws_stop "$ROOT" # stale pid file or hung process
fi

ensure_localstack_venv "$SD/venv/localstack" # sets AWS_EMU, AWS_VENV

# init hooks + the resource declaration they read, refreshed on every start
mkdir -p "$HOOKS"
rm -rf "${HOOKS:?}"/*
cp -r "$REPO"/localstack/init/ready.d/. "$HOOKS"/
cp "$REPO/localstack/resources.json" "$HOOKS/resources.json"

PORT="$(free_port 4566)"
LOGF="$ROOT/emulator.log"
T0=$SECONDS
log "starting $AWS_EMU $NAME on 127.0.0.1:$PORT"
(
  # our own env must not leak into the emulator (its internal clients use their own endpoints)
  unset AWS_ENDPOINT_URL AWS_PROFILE AWS_DEFAULT_PROFILE
  export REPSTREAM_AWS_ENDPOINT="http://127.0.0.1:$PORT" REPSTREAM_RESOURCES="$HOOKS/resources.json"
  if [ "$AWS_EMU" = localstack ]; then
    export GATEWAY_LISTEN="127.0.0.1:$PORT" LOCALSTACK_HOST="127.0.0.1:$PORT"
    export SERVICES=sqs,s3 EAGER_SERVICE_LOADING=1
    # the sandbox has /.dockerenv: tell LocalStack it is NOT in Docker
    export OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$FS"
    export DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1
    # 0 = check S3 signatures, so expired/forged presigned URLs are rejected like on AWS
    export S3_SKIP_SIGNATURE_VALIDATION=0 SQS_ENDPOINT_STRATEGY=path
    # twisted is markedly faster than hypercorn here
    export GATEWAY_SERVER="${LOCALSTACK_GATEWAY_SERVER:-twisted}"
    exec setsid "$AWS_VENV/bin/python" -m localstack.runtime.main
  else
    exec setsid "$AWS_VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT"
  fi
) >"$LOGF" 2>&1 </dev/null 8>&- &
PID=$!
echo "$PID" >"$ROOT/pid"
echo "$PORT" >"$ROOT/port"
echo "$AWS_EMU" >"$ROOT/kind"

fail() {
  tail -40 "$LOGF" >&2 || true
  aws_stop "$ROOT"
  die "$*"
}

# ready = LocalStack's init hooks completed (moto: the port answers, then we run the hooks)
READY=0
for _ in $(seq 1 900); do # up to 90 s
  kill -0 "$PID" 2>/dev/null || fail "$AWS_EMU exited during start-up"
  if [ "$AWS_EMU" = localstack ]; then
    R="$(curl -s -m 2 "http://127.0.0.1:$PORT/_localstack/init/ready" 2>/dev/null || true)"
    if grep -qE '"completed": *true' <<<"$R"; then
      ! grep -q '"ERROR"' <<<"$R" || fail "an init hook failed: $R"
      READY=1
      break
    fi
  elif curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/moto-api/" 2>/dev/null; then
    for hook in "$HOOKS"/*; do
      case "$hook" in
        *.py) REPSTREAM_RESOURCES="$HOOKS/resources.json" \
          "$AWS_VENV/bin/python" "$hook" "http://127.0.0.1:$PORT" >>"$LOGF" 2>&1 || fail "init hook $hook failed" ;;
        *.sh) AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" bash "$hook" >>"$LOGF" 2>&1 || fail "init hook $hook failed" ;;
      esac
    done
    READY=1
    break
  fi
  sleep 0.1
done
[ "$READY" = 1 ] || fail "$AWS_EMU not ready after 90 s"
log "$AWS_EMU ready in $((SECONDS - T0)) s (log: $LOGF)"
echo "AWS_ENDPOINT_URL=http://127.0.0.1:$PORT"
