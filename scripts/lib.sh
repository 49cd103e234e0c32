#!/usr/bin/env bash
# Shared helpers, sourced by the other scripts (never executed on its own).
# No `set -euo pipefail` here on purpose: the caller sets its own shell options
# (env.sh may be sourced into an interactive shell).
# shellcheck disable=SC2034  # REPO / *_VERSION / SCHEMATHESIS_BIN are used by the sourcing scripts

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCALSTACK_VERSION="2026.3.0"
MOTO_VERSION="5.2.5"
SCHEMATHESIS_VERSION="4.32.5"
AIOSMTPD_VERSION="1.4.6"
PG_OS_USER="${PG_OS_USER:-postgres}"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2 || true; }
die() { log "ERROR: $*"; exit 1; }

# apt-get install, with one `apt-get update` first (skipped if the lists are fresh);
# CI runs without stdin, so never prompt.
_APT_UPDATED=""
apt_install() {
  [ "$(id -u)" -eq 0 ] || die "need root to apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$_APT_UPDATED" ] &&
    ! find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | grep -q .; then
    log "apt-get update"
    apt-get update -qq >&2
  fi
  _APT_UPDATED=1
  log "apt-get install $*"
  apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2
}

# Tools the scripts themselves rely on (fresh CI images may lack them).
ensure_tools() {
  local missing=()
  command -v ss >/dev/null 2>&1 || missing+=(iproute2)
  command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
  command -v flock >/dev/null 2>&1 || missing+=(util-linux)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# First free TCP port (nobody listening, any address) at or above START.
free_port() {
  local p="${1:?free_port START}"
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}

port_in_use() { ss -Hltn "sport = :$1" | grep -q .; }

# Run a command as the unprivileged Postgres user: initdb/pg_ctl/postgres refuse root.
# When we are not root we simply run it as ourselves.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

# The `postgres` OS user normally comes with Debian's postgresql package; create it otherwise.
ensure_pg_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  id "$PG_OS_USER" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$PG_OS_USER"
}

# Sets PGBIN to the newest /usr/lib/postgresql/*/bin; installs Debian's postgresql if absent.
ensure_pg_binaries() {
  PGBIN="${PGBIN:-$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)}"
  if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    log "PostgreSQL server binaries not found: installing Debian's postgresql"
    apt_install postgresql
    # the package auto-creates and starts a system cluster on 5432; we never use it
    PGBIN="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -1)"
  fi
  [ -x "$PGBIN/initdb" ] || die "initdb not found under $PGBIN"
  ensure_pg_user
}

# Project-local state folder. $REPO/.local when the postgres OS user can reach it
# (initdb needs every parent to be traversable), else a per-checkout folder in /tmp.
_STATE_DIR=""
state_dir() {
  if [ -z "$_STATE_DIR" ]; then
    ensure_pg_user
    if [ -n "${REPSTREAM_STATE_DIR:-}" ]; then
      _STATE_DIR="$REPSTREAM_STATE_DIR"
    elif [ "$(id -u)" -ne 0 ] || runuser -u "$PG_OS_USER" -- test -x "$REPO" 2>/dev/null; then
      _STATE_DIR="$REPO/.local"
    else
      _STATE_DIR="/tmp/repstream-$(printf '%s' "$REPO" | sha1sum | cut -c1-12)"
    fi
    # explicit mode: a restrictive umask (077) would lock the postgres user out
    mkdir -p "$_STATE_DIR"
    chmod 755 "$_STATE_DIR"
  fi
  echo "$_STATE_DIR"
}

# First Python >= 3.12 (LocalStack 2026.x fails on 3.11 with "No component plugins found").
pick_python() {
  local pyroot p
  pyroot="$(pyenv root 2>/dev/null || true)"
  [ -n "$pyroot" ] || pyroot="${PYENV_ROOT:-/root/.pyenv}"
  for p in "$pyroot"/versions/3.13*/bin/python3 "$pyroot"/versions/3.12*/bin/python3 \
    /root/.pyenv/versions/3.13*/bin/python3 /root/.pyenv/versions/3.12*/bin/python3 \
    python3.13 python3.12 python3; do
    command -v "$p" >/dev/null 2>&1 || continue
    if "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$p"
      return 0
    fi
  done
  return 1
}

# Creates/reuses the emulator venv. Sets AWS_EMU (localstack|moto) and AWS_VENV.
# LocalStack lives in DIR; the moto fallback (no Python >= 3.12, or AWS_EMULATOR=moto) in DIR-moto.
# A lock serialises concurrent callers (e.g. `make test` and `make bench` at once).
ensure_localstack_venv() {
  local dir="${1:?ensure_localstack_venv DIR}" py t0
  mkdir -p "$(dirname "$dir")"
  AWS_EMU="${AWS_EMULATOR:-localstack}"
  if [ "$AWS_EMU" = localstack ] && ! py="$(pick_python)"; then
    log "no Python >= 3.12 found: falling back to moto (functional tests only, never benchmark on it)"
    AWS_EMU=moto
  fi
  exec 9>"$dir.lock"
  flock 9
  t0=$SECONDS
  if [ "$AWS_EMU" = localstack ]; then
    AWS_VENV="$dir"
    if ! "$AWS_VENV/bin/python" -c 'import localstack.aws.components, boto3' 2>/dev/null; then
      log "installing localstack-core $LOCALSTACK_VERSION into $AWS_VENV (takes ~40 s once)"
      rm -rf "$AWS_VENV"
      "$py" -m venv "$AWS_VENV"
      # the constraints file pins dependencies: current releases break the runtime
      "$AWS_VENV/bin/pip" install -q --disable-pip-version-check \
        "localstack-core[base-runtime]==$LOCALSTACK_VERSION" \
        -c "$REPO/localstack/localstack-$LOCALSTACK_VERSION-constraints.txt" >&2
      log "localstack venv ready in $((SECONDS - t0)) s"
    fi
  else
    AWS_VENV="$dir-moto"
    if ! "$AWS_VENV/bin/python" -c 'import moto.server, boto3' 2>/dev/null; then
      log "installing moto $MOTO_VERSION into $AWS_VENV"
      rm -rf "$AWS_VENV"
      py="$(command -v python3 || true)"
      [ -n "$py" ] || { apt_install python3 python3-venv; py="$(command -v python3)"; }
      "$py" -m venv "$AWS_VENV" 2>/dev/null || { apt_install python3-venv; rm -rf "$AWS_VENV"; "$py" -m venv "$AWS_VENV"; }
      "$AWS_VENV/bin/pip" install -q --disable-pip-version-check \
        "moto[s3,sqs,server]==$MOTO_VERSION" boto3 >&2
      log "moto venv ready in $((SECONDS - t0)) s"
    fi
  fi
  flock -u 9
  exec 9>&-
}

# Creates/reuses the test tools venv in DIR (idempotent: existing installs of the pinned
# versions are kept; pip never prompts): schemathesis (`make fuzz`, the contract test) and
# aiosmtpd (the SMTP server the SMTP delivery test talks to). Sets SCHEMATHESIS_BIN and
# SMTP_SERVER_PYTHON. A lock serialises concurrent callers.
ensure_test_venv() {
  local dir="${1:?ensure_test_venv DIR}" py t0
  mkdir -p "$(dirname "$dir")"
  exec 8>"$dir.lock"
  flock 8
  SCHEMATHESIS_BIN="$dir/bin/schemathesis"
  SMTP_SERVER_PYTHON="$dir/bin/python"
  if ! "$SCHEMATHESIS_BIN" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    t0=$SECONDS
    py="$(pick_python || command -v python3 || true)"
    [ -n "$py" ] || { apt_install python3 python3-venv; py="$(command -v python3)"; }
    log "installing schemathesis $SCHEMATHESIS_VERSION into $dir"
    rm -rf "$dir"
    "$py" -m venv "$dir" 2>/dev/null || { apt_install python3-venv; rm -rf "$dir"; "$py" -m venv "$dir"; }
    "$dir/bin/pip" install -q --disable-pip-version-check --no-input \
      "schemathesis==$SCHEMATHESIS_VERSION" >&2
    "$SCHEMATHESIS_BIN" --version >/dev/null || die "schemathesis did not install into $dir"
    log "schemathesis ready in $((SECONDS - t0)) s"
  fi
  if ! "$SMTP_SERVER_PYTHON" -c "import importlib.metadata as m, sys; sys.exit(m.version('aiosmtpd') != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    log "installing aiosmtpd $AIOSMTPD_VERSION into $dir"
    "$dir/bin/pip" install -q --disable-pip-version-check --no-input \
      "aiosmtpd==$AIOSMTPD_VERSION" >&2
  fi
  flock -u 8
  exec 8>&-
}

# Stop an emulator started by aws-up.sh (its folder ROOT holds the pid file).
# It runs in its own session (setsid), so the whole process group gets the signal.
# GRACE: tenths of a second to wait after TERM before KILL (LocalStack needs ~5-7 s to
# shut down cleanly; callers that wipe the state anyway pass a short grace).
aws_stop() {
  local root="${1:?aws_stop ROOT [GRACE]}" grace="${2:-100}" pid
  [ -f "$root/pid" ] || return 0
  pid="$(cat "$root/pid")"
  # guard against a recycled pid: only signal it if it still is our emulator
  if kill -0 "$pid" 2>/dev/null && grep -qaE 'localstack|moto' "/proc/$pid/cmdline" 2>/dev/null; then
    log "stopping emulator (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 "$grace"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$root/pid"
}
