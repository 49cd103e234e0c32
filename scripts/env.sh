#!/usr/bin/env bash
# Common environment of the repstream services, given DATABASE_URL and AWS_ENDPOINT_URL.
#   source scripts/env.sh   -> exports the variables into the current shell
#   scripts/env.sh          -> prints them as KEY=VALUE lines (e.g. for `env $(scripts/env.sh) ...`)
# Values already set in the environment win over these defaults.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  # executed: strict mode (when sourced, the caller's shell options are left alone)
  set -euo pipefail
fi
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${DATABASE_URL:-}" ] || log "warning: DATABASE_URL is not set (see scripts/pg-up.sh)"
[ -n "${AWS_ENDPOINT_URL:-}" ] || log "warning: AWS_ENDPOINT_URL is not set (see scripts/aws-up.sh)"

export AWS_REGION="${AWS_REGION:-us-east-1}"
# the emulators accept any credentials; the SDK just needs some
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export EVENTS_QUEUE="${EVENTS_QUEUE:-repstream-events.fifo}"
export NOTIFICATIONS_QUEUE="${NOTIFICATIONS_QUEUE:-repstream-notifications.fifo}"
if [ -z "${API_ADDR:-}" ]; then
  # another service may hold 8080 on a shared machine: take the next free port
  _api_port="$(free_port 8080)"
  [ "$_api_port" = 8080 ] || log "port 8080 is taken: API_ADDR=127.0.0.1:$_api_port"
  export API_ADDR="127.0.0.1:$_api_port"
  unset _api_port
fi
export LOG_FORMAT="${LOG_FORMAT:-json}"
export RUST_LOG="${RUST_LOG:-info}"
# A dev secret, generated once and kept with the dev state (tokens and mailed links
# survive restarts), unless the variable is set already.
dev_secret() { # VAR FILE
  if [ -z "${!1:-}" ]; then
    local file
    file="$(state_dir)/$2"
    if [ ! -s "$file" ]; then
      (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$file")
    fi
    printf -v "$1" '%s' "$(cat "$file")"
    export "${1?}"
  fi
}
dev_secret JWT_SECRET jwt-secret               # access-token signing key
dev_secret ACCOUNT_LINK_KEY account-link-key   # mailed verification and reset links
dev_secret WEBHOOK_SECRET_KEY webhook-secret-key # webhook endpoints' signing secrets
# local receivers listen on localhost over http: the SSRF guard is for production
export WEBHOOK_ALLOW_PRIVATE="${WEBHOOK_ALLOW_PRIVATE:-true}"
# mails the workers "send" locally are written here
export MAILBOX_DIR="${MAILBOX_DIR:-$(state_dir)/mailbox}"

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  for _v in DATABASE_URL AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
    EVENTS_QUEUE NOTIFICATIONS_QUEUE API_ADDR LOG_FORMAT RUST_LOG JWT_SECRET ACCOUNT_LINK_KEY \
    WEBHOOK_SECRET_KEY WEBHOOK_ALLOW_PRIVATE MAILBOX_DIR; do
    [ -z "${!_v:-}" ] || echo "$_v=${!_v}"
  done
fi
