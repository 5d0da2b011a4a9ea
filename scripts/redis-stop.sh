#!/usr/bin/env bash
# Stops the test Redis server started by scripts/redis-start.sh from STATE_DIR (default
# $DOSNA_REDIS_DIR or /tmp/dosna-redis): exactly the process recorded in STATE_DIR/redis.pid, and
# only if it is a redis-server working in STATE_DIR/data (SIGTERM, then SIGKILL after 10 s); waits
# for it to exit, then deletes STATE_DIR. Safe to run when nothing is running.
#   scripts/redis-stop.sh [STATE_DIR]
set -euo pipefail

TIMEOUT_S="${DOSNA_REDIS_TIMEOUT:-20}"
# shellcheck source=scripts/redis-env.sh
source "$(dirname "$0")/redis-env.sh"

case "${1:-}" in
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  -*) redis_die "unknown option '$1' (usage: scripts/redis-stop.sh [STATE_DIR])" ;;
esac
(( $# <= 1 )) || redis_die "usage: scripts/redis-stop.sh [STATE_DIR]"
dir="${1:-${DOSNA_REDIS_DIR:-/tmp/dosna-redis}}"
[[ -n "$dir" && "$dir" != "/" ]] || redis_die "refusing state dir '$dir'"
if [[ ! -d "$dir" ]]; then
  redis_log "nothing to stop: $dir does not exist"
  exit 0
fi
STATE_DIR="$(cd "$dir" && pwd -P)"
[[ "$STATE_DIR" != "/" ]] || redis_die "refusing state dir '/'"
DATA_DIR="$STATE_DIR/data"
PID_FILE="$STATE_DIR/redis.pid"
if [[ ! -e "$STATE_DIR/$MARKER" && -n "$(ls -A "$STATE_DIR")" ]]; then
  redis_die "$STATE_DIR is not empty and has no $MARKER marker: not touching it"
fi

lock_state_dir
pid="$(cat "$PID_FILE" 2>/dev/null || true)"
if [[ -n "$pid" ]] && ! pid_is_ours "$pid"; then
  redis_log "pid $pid in $PID_FILE is not a redis-server of $STATE_DIR (already stopped): not signalling it"
fi
stop_server
find "$STATE_DIR" -mindepth 1 -delete
rmdir "$STATE_DIR"
redis_log "stopped; removed $STATE_DIR"
