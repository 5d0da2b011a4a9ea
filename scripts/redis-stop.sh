#!/usr/bin/env bash
# Stops the test Redis server started by scripts/redis-start.sh from STATE_DIR (default
# $DOSNA_REDIS_DIR or /tmp/dosna-redis): exactly the process recorded in STATE_DIR/redis.pid, and
# only if it is a redis-server working in STATE_DIR/data (SIGTERM, then SIGKILL after 10 s); waits
# for it to exit, then deletes STATE_DIR. Safe to run when nothing is running.
#   scripts/redis-stop.sh [STATE_DIR]
set -euo pipefail

MARKER=".dosna-redis-state"
redis_log() { printf '[redis %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
redis_die() { redis_log "ERROR: $*"; exit 1; }

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

# Same lock as redis-start.sh (fd 9 on the state dir).
exec 9<"$STATE_DIR" || redis_die "cannot open $STATE_DIR"
flock -w "${DOSNA_REDIS_TIMEOUT:-20}" 9 || redis_die "another redis-start/stop holds the lock on $STATE_DIR"

# A live (not zombie) redis-server whose cwd is this state dir's data dir (Redis chdirs to "dir"
# and rewrites its command line, so the cwd is what ties a pid to this state dir).
pid_is_ours() {
  local pid="$1" stat state cmdline
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  state="${stat##*) }"; state="${state%% *}"
  [[ "$state" != Z && "$state" != X && "$state" != x ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *redis-server* && "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$DATA_DIR" ]]
}

pid="$(cat "$PID_FILE" 2>/dev/null || true)"
if pid_is_ours "$pid"; then
  redis_log "stopping redis-server (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(( $(date +%s%N) + 10000000000 ))
  while pid_is_ours "$pid"; do
    if (( $(date +%s%N) > deadline )); then
      redis_log "redis-server (pid $pid) still alive after 10s of SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$(( $(date +%s%N) + 5000000000 ))
    fi
    sleep 0.05
  done
elif [[ -n "$pid" ]]; then
  redis_log "pid $pid in $PID_FILE is not a redis-server of $STATE_DIR (already stopped): not signalling it"
fi
find "$STATE_DIR" -mindepth 1 -delete
rmdir "$STATE_DIR"
redis_log "stopped; removed $STATE_DIR"
