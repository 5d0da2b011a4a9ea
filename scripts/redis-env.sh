# Shared by scripts/redis-start.sh and scripts/redis-stop.sh (sourced, not run): logging, the
# state-dir lock, which pid is "our" server, and stopping it. Callers set STATE_DIR, DATA_DIR,
# PID_FILE and TIMEOUT_S before they call these.

MARKER=".dosna-redis-state"

redis_log() { printf '[redis %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
redis_die() { redis_log "ERROR: $*"; exit 1; }

# Holds an exclusive lock on the state dir for the rest of this script (fd 9; the server is
# started with 9<&- so it never inherits it).
lock_state_dir() {
  exec 9<"$STATE_DIR" || redis_die "cannot open $STATE_DIR"
  flock -w "$TIMEOUT_S" 9 || redis_die "another redis-start/stop holds the lock on $STATE_DIR"
}

# True when PID is a live (not zombie) redis-server working in this state dir's data dir: the pid
# file can outlive its process, and Redis rewrites its command line, so its cwd ("dir") tells.
pid_is_ours() {
  local pid="$1" stat state cmdline
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  state="${stat##*) }"; state="${state%% *}"
  [[ "$state" != Z && "$state" != X && "$state" != x ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *redis-server* && "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$DATA_DIR" ]]
}

running_pid() {
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  pid_is_ours "$pid" && echo "$pid"
}

# Sends SIGTERM (Redis then fsyncs the AOF and exits) to the recorded server, waits for it to
# exit, SIGKILLs it after 10 s.
stop_server() {
  local pid deadline
  pid="$(running_pid)" || return 0
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
}
