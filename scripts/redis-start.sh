#!/usr/bin/env bash
# Starts a throw-away Redis server (Debian's redis-server) on 127.0.0.1 for tests, with the append-only
# file on (appendfsync everysec), so data survives a restart. No Docker needed.
#
#   eval "$(scripts/redis-start.sh [STATE_DIR])"      # start (or reuse a healthy one), export env
#   scripts/redis-start.sh --restart [STATE_DIR]      # stop it (SIGTERM) and start it again, same config and data
#   scripts/redis-stop.sh [STATE_DIR]                 # stop it, wipe STATE_DIR
#
# STATE_DIR defaults to $DOSNA_REDIS_DIR or /tmp/dosna-redis and holds everything the server writes:
#   redis.conf  env.sh  redis.pid  redis.log  redis.stdout  .dosna-redis-state (marker: may be wiped)
#   data/       the server's working dir: appendonlydir/ (AOF), dump.rdb
# Environment: DOSNA_REDIS_PORT (6390), DOSNA_REDIS_PASSWORD (optional: requirepass; never logged),
# DOSNA_REDIS_TIMEOUT (20 s to wait for PONG).
# Progress goes to stderr; the last lines on stdout are the exports (also in STATE_DIR/env.sh, mode 600):
#   DOSNA_TEST_REDIS_URL=redis://127.0.0.1:PORT, and DOSNA_TEST_REDIS_PASSWORD only when a password is set
# Installs the Debian package redis-server (which brings redis-cli) when missing.
set -euo pipefail

PORT="${DOSNA_REDIS_PORT:-6390}"
TIMEOUT_S="${DOSNA_REDIS_TIMEOUT:-20}"
PASSWORD="${DOSNA_REDIS_PASSWORD:-}"
# shellcheck source=scripts/redis-env.sh
source "$(dirname "$0")/redis-env.sh"

restart=false
state_arg=""
for arg in "$@"; do
  case "$arg" in
    --restart) restart=true ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    -*) redis_die "unknown option '$arg' (expected --restart or a state dir)" ;;
    *) [[ -z "$state_arg" ]] || redis_die "expected at most one state dir, got '$state_arg' and '$arg'"
       state_arg="$arg" ;;
  esac
done
[[ "$PORT" =~ ^[0-9]+$ ]] && (( 10#$PORT >= 1 && 10#$PORT <= 65535 )) ||
  redis_die "the port must be a number in 1..65535, got DOSNA_REDIS_PORT='$PORT'"
PORT=$(( 10#$PORT ))
[[ "$TIMEOUT_S" =~ ^[0-9]+$ ]] && (( 10#$TIMEOUT_S >= 1 )) ||
  redis_die "DOSNA_REDIS_TIMEOUT must be a whole number of seconds >= 1, got '$TIMEOUT_S'"
TIMEOUT_S=$(( 10#$TIMEOUT_S ))
# The password goes into redis.conf as a double-quoted string; refuse what that cannot hold safely.
if [[ -n "$PASSWORD" && "$PASSWORD" =~ [[:cntrl:]] ]]; then
  redis_die "DOSNA_REDIS_PASSWORD must not contain control characters (newlines, tabs, ...)"
fi
# redis-cli reads the password from REDISCLI_AUTH: never on a command line, never in a warning.
if [[ -n "$PASSWORD" ]]; then export REDISCLI_AUTH="$PASSWORD"; else unset REDISCLI_AUTH; fi

ensure_packages() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  local log; log="$(mktemp)"
  redis_log "installing redis-server (a few seconds)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy redis-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -qq >>"$log" 2>&1 || { tail -n 20 "$log" >&2; redis_die "apt-get update failed"; }
  fi
  local install=(apt-get install -y -qq --no-install-recommends redis-server)
  if ! "${install[@]}" >>"$log" 2>&1; then
    redis_log "install failed; refreshing package lists and retrying"
    apt-get update -qq >>"$log" 2>&1 && "${install[@]}" >>"$log" 2>&1 ||
      { tail -n 30 "$log" >&2; redis_die "could not install redis-server"; }
  fi
  rm -f "$log"
  # The package may start its own server (on 6379) through systemd or init; ours is separate.
}

set_state_dir() {
  local dir="${1:-${DOSNA_REDIS_DIR:-/tmp/dosna-redis}}"
  [[ -n "$dir" && "$dir" != "/" ]] || redis_die "refusing state dir '$dir'"
  mkdir -p "$dir" || redis_die "cannot create state dir '$dir'"
  STATE_DIR="$(cd "$dir" && pwd -P)"
  [[ "$STATE_DIR" != "/" ]] || redis_die "refusing state dir '/'"
  [[ "$STATE_DIR" != *[[:space:]\"\\]* ]] || redis_die "the state dir path must not contain spaces, quotes or backslashes: '$STATE_DIR'"
  CONF="$STATE_DIR/redis.conf"
  DATA_DIR="$STATE_DIR/data"
  PID_FILE="$STATE_DIR/redis.pid"
  LOG_FILE="$STATE_DIR/redis.log"
  ENV_FILE="$STATE_DIR/env.sh"
}

# True when the server answering on PORT is the process PID and answers PING with PONG.
answers_as() {
  local pid="$1" port="$2" info
  [[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]] || return 1
  info="$(timeout 5 redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r')" || return 1
  [[ "$info" == *$'\n'"process_id:$pid"$'\n'* ]]
}

port_is_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

conf_text() {
  local port="$1"
  cat <<EOF
# Written by scripts/redis-start.sh: a test server. Every path is inside $STATE_DIR.
bind 127.0.0.1
protected-mode yes
port $port
daemonize yes
supervised no
pidfile $PID_FILE
logfile $LOG_FILE
loglevel notice
always-show-logo no
dir $DATA_DIR
# no RDB snapshots: the append-only file is the persistence, fsynced every second
save ""
appendonly yes
appendfsync everysec
EOF
  if [[ -n "$PASSWORD" ]]; then
    local escaped="${PASSWORD//\\/\\\\}"; escaped="${escaped//\"/\\\"}"
    printf 'requirepass "%s"\n' "$escaped"
  fi
}

conf_port() { sed -n 's/^port \([0-9]*\)$/\1/p' "$CONF" 2>/dev/null; }

env_exports() {
  echo "export DOSNA_TEST_REDIS_URL=redis://127.0.0.1:$1"
  if [[ -n "$PASSWORD" ]]; then printf 'export DOSNA_TEST_REDIS_PASSWORD=%q\n' "$PASSWORD"; fi
}

# Prints the tails of the server's logs, stops it if it runs, and exits.
fail() {
  local file
  for file in "$LOG_FILE" "$STATE_DIR/redis.stdout"; do
    [[ -s "$file" ]] || continue
    echo "----- last lines of $file -----" >&2
    tail -n 25 "$file" >&2
  done
  stop_server
  redis_die "$1 (logs kept in $STATE_DIR; the next redis-start.sh wipes them)"
}

# Starts the server from CONF and waits until it answers PONG as the process in the pid file.
start_server() {
  local port="$1" t0="$2" pid="" deadline log_offset
  port_is_taken "$port" && redis_die "127.0.0.1:$port is already in use (another server?); set DOSNA_REDIS_PORT"
  rm -f "$PID_FILE"
  log_offset=$(( $(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0) + 1 ))
  redis_log "starting redis-server on 127.0.0.1:$port (state in $STATE_DIR)"
  redis-server "$CONF" 9<&- </dev/null >>"$STATE_DIR/redis.stdout" 2>&1 || fail "redis-server failed to start (exit $?)"
  deadline=$(( $(date +%s) + TIMEOUT_S ))
  until [[ -n "$pid" ]] && answers_as "$pid" "$port"; do
    (( $(date +%s) < deadline )) || fail "timed out after ${TIMEOUT_S}s waiting for PONG on port $port"
    if [[ -z "$pid" ]]; then
      pid="$(running_pid)" || pid=""
    elif ! pid_is_ours "$pid"; then
      fail "redis-server (pid $pid) exited during start-up"
    fi
    # The daemon writes its pid file only once it listens; a failed bind exits before that.
    if [[ -z "$pid" ]] && tail -c "+$log_offset" "$LOG_FILE" 2>/dev/null |
         grep -qE 'Failed listening|Fatal error|Aborting|Bad file format'; then
      fail "redis-server exited during start-up"
    fi
    sleep 0.05
  done
  env_exports "$port" >"$ENV_FILE"
  redis_log "redis up on redis://127.0.0.1:$port (pid $pid) after $(( ($(date +%s%N) - t0) / 1000000 )) ms" \
    "(stop: scripts/redis-stop.sh $STATE_DIR)"
  cat "$ENV_FILE"
}

wipe_state_dir_contents() {
  if [[ ! -e "$STATE_DIR/$MARKER" && -n "$(ls -A "$STATE_DIR")" ]]; then
    redis_die "$STATE_DIR is not empty and has no $MARKER marker: not wiping it"
  fi
  find "$STATE_DIR" -mindepth 1 -delete
}

restart_server() {
  local t0 port; t0=$(date +%s%N)
  [[ -f "$CONF" && -e "$STATE_DIR/$MARKER" && -s "$ENV_FILE" ]] ||
    redis_die "no Redis in $STATE_DIR: run scripts/redis-start.sh first"
  port="$(conf_port)"
  [[ -n "$port" ]] || redis_die "no port in $CONF"
  # Same config and data: the password is the one recorded at start, not today's DOSNA_REDIS_PASSWORD.
  PASSWORD="$(unset DOSNA_TEST_REDIS_PASSWORD; source "$ENV_FILE" >/dev/null; printf '%s' "${DOSNA_TEST_REDIS_PASSWORD:-}")"
  if [[ -n "$PASSWORD" ]]; then export REDISCLI_AUTH="$PASSWORD"; else unset REDISCLI_AUTH; fi
  if ! running_pid >/dev/null; then redis_log "no server running from $STATE_DIR; starting it"; fi
  stop_server
  start_server "$port" "$t0"
}

full_start() {
  local t0 pid; t0=$(date +%s%N)
  if pid="$(running_pid)" && [[ "$(cat "$CONF" 2>/dev/null)" == "$(conf_text "$PORT")" && -s "$ENV_FILE" ]] &&
     answers_as "$pid" "$PORT"; then
    redis_log "reusing the healthy redis-server (pid $pid) already running from $STATE_DIR"
    env_exports "$PORT" >"$ENV_FILE"
    cat "$ENV_FILE"
    return
  fi
  stop_server
  wipe_state_dir_contents
  mkdir -p "$DATA_DIR"
  touch "$STATE_DIR/$MARKER"
  (umask 077; conf_text "$PORT" >"$CONF"; : >"$ENV_FILE")
  start_server "$PORT" "$t0"
}

ensure_packages
set_state_dir "$state_arg"
lock_state_dir
if $restart; then restart_server; else full_start; fi
