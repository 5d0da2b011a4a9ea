#!/usr/bin/env bash
# Shared settings and helpers for the local Ceph RADOS Gateway used by tests
# (scripts/rgw-start.sh, scripts/rgw-stop.sh source this file).
#
# Run directly, it prints the shell exports of a gateway that is up and answering:
#   eval "$(scripts/rgw-env.sh [STATE_DIR])"     # exit 1 if no healthy gateway there
#
# Layout of a state dir (everything the cluster writes stays inside it):
#   ceph.conf  env.sh  monmap  .dosna-rgw-state (marker: this dir may be wiped)
#   mon/ osd/ rgw/     daemon data (osd/osd.0/block is a sparse bluestore file)
#   run/               admin sockets and pid files: run/mon.a.pid, run/osd.0.pid, run/client.rgw.pid
#   log/               daemon logs: log/mon.a.log, log/osd.0.log, log/client.rgw.log
# Kill only the gateway:  kill -9 "$(cat STATE_DIR/run/client.rgw.pid)"
# then bring it back:     scripts/rgw-start.sh --gateway-only [STATE_DIR]

# shellcheck disable=SC2034  # used by the scripts that source this file
RGW_STATE_DIR_DEFAULT="${DOSNA_RGW_DIR:-/tmp/dosna-rgw}"
RGW_PORT="${DOSNA_RGW_PORT:-7480}"
RGW_TIMEOUT_S="${DOSNA_RGW_TIMEOUT:-60}"

# Fixed test credentials (test-only; the gateway listens on 127.0.0.1 only).
RGW_ACCESS_KEY="dosna-test-access"
RGW_SECRET_KEY="dosna-test-secret-key-0123456789"
RGW_REGION="us-east-1"
RGW_USER_ID="dosna-test"

RGW_MARKER=".dosna-rgw-state"
# Daemon names, as ceph spells them ($name), and the binary that runs each.
RGW_DAEMONS=("mon.a:ceph-mon" "osd.0:ceph-osd" "client.rgw:radosgw")

rgw_log() { printf '[rgw %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
rgw_die() { rgw_log "ERROR: $*"; exit 1; }

# Sets STATE_DIR (absolute) and the paths derived from it.
rgw_set_state_dir() {
  local dir="${1:-$RGW_STATE_DIR_DEFAULT}"
  [[ -n "$dir" && "$dir" != "/" ]] || rgw_die "refusing state dir '$dir'"
  mkdir -p "$dir" || rgw_die "cannot create state dir '$dir'"
  STATE_DIR="$(cd "$dir" && pwd -P)"
  [[ "$STATE_DIR" != "/" ]] || rgw_die "refusing state dir '/'"
  CONF="$STATE_DIR/ceph.conf"
  RUN_DIR="$STATE_DIR/run"
  LOG_DIR="$STATE_DIR/log"
  ENV_FILE="$STATE_DIR/env.sh"
  export CEPH_CONF="$CONF"
}

rgw_pid_file() { echo "$RUN_DIR/$1.pid"; }
rgw_log_file() { echo "$LOG_DIR/$1.log"; }

# True when PID is a live (not zombie/dead) process whose command line is BINARY
# started with this state dir's ceph.conf: pid files can outlive their process and
# kill -0 succeeds on zombies, which exited daemons can become here.
rgw_pid_is_ours() {
  local pid="$1" binary="$2" stat state cmdline
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  state="${stat##*) }"; state="${state%% *}"
  [[ "$state" != Z && "$state" != X && "$state" != x ]] || return 1
  cmdline="$(rgw_cmdline "$pid")" || return 1
  [[ "$cmdline" == *"$binary"* && "$cmdline" == *" $CONF "* ]]
}

# A process's arguments joined by spaces, with a trailing space (read without forking).
rgw_cmdline() {
  local -a args
  mapfile -d '' -t args 2>/dev/null <"/proc/$1/cmdline" || return 1
  printf '%s ' "${args[@]}"
}

# Prints the pid of daemon NAME if it is running from this state dir.
rgw_running_pid() {
  local name="$1" binary="$2" pid
  pid="$(cat "$(rgw_pid_file "$name")" 2>/dev/null)" || return 1
  rgw_pid_is_ours "$pid" "$binary" && echo "$pid"
}

rgw_http_answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null)"
  [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

rgw_env_exports() {
  cat <<EOF
export DOSNA_TEST_S3_ENDPOINT=http://127.0.0.1:$1
export DOSNA_TEST_S3_ACCESS_KEY=$RGW_ACCESS_KEY
export DOSNA_TEST_S3_SECRET_KEY=$RGW_SECRET_KEY
export DOSNA_TEST_S3_REGION=$RGW_REGION
EOF
}

# The port a completed bring-up recorded in env.sh (empty if none).
rgw_recorded_port() {
  sed -n 's|^export DOSNA_TEST_S3_ENDPOINT=http://127.0.0.1:\([0-9]*\)$|\1|p' "$ENV_FILE" 2>/dev/null
}

# Healthy = bring-up completed (env.sh written last), all three daemons alive, HTTP answering.
rgw_is_healthy() {
  local entry port
  port="$(rgw_recorded_port)"
  [[ -n "$port" ]] || return 1
  for entry in "${RGW_DAEMONS[@]}"; do
    rgw_running_pid "${entry%%:*}" "${entry#*:}" >/dev/null || return 1
  done
  rgw_http_answers "$port"
}

# Holds an exclusive lock on the state dir itself for the rest of the calling script
# (fd 9; daemons are started with 9<&- so they never inherit it).
rgw_lock_state_dir() {
  exec 9<"$STATE_DIR" || rgw_die "cannot open $STATE_DIR"
  if ! flock -w "$RGW_TIMEOUT_S" 9; then
    rgw_die "another rgw-start/stop holds the lock on $STATE_DIR"
  fi
}

# Pids of every live daemon started from this state dir: those in the pid files, plus any
# whose pid file was never written (a bring-up that died half way), found by "-c CONF".
rgw_our_pids() {
  local entry pid cmdline
  {
  for entry in "${RGW_DAEMONS[@]}"; do
    rgw_running_pid "${entry%%:*}" "${entry#*:}" || true
  done
  for pid in /proc/[0-9]*; do
    pid="${pid#/proc/}"
    cmdline="$(rgw_cmdline "$pid")" || continue
    [[ "$cmdline" == *" -c $CONF "* ]] || continue
    for entry in "${RGW_DAEMONS[@]}"; do
      if [[ "$cmdline" == *"${entry#*:}"* ]] && rgw_pid_is_ours "$pid" "${entry#*:}"; then
        echo "$pid"
      fi
    done
  done
  } | sort -u
}

# Sends SIGNAL to PIDS and waits up to SECONDS for them to exit; SIGKILLs survivors.
rgw_kill_and_wait() {
  local signal="$1" seconds="$2" binary="$3"; shift 3
  local pid deadline alive
  (( $# > 0 )) || return 0
  kill "-$signal" "$@" 2>/dev/null || true
  deadline=$(( $(date +%s%N) + seconds * 1000000000 ))
  while :; do
    alive=()
    for pid in "$@"; do rgw_pid_is_ours "$pid" "$binary" && alive+=("$pid"); done
    (( ${#alive[@]} == 0 )) && return 0
    if (( $(date +%s%N) > deadline )); then
      rgw_log "$binary (pid ${alive[*]}) still alive after ${seconds}s of SIG$signal: SIGKILL"
      kill -KILL "${alive[@]}" 2>/dev/null || true
      signal=KILL; deadline=$(( $(date +%s%N) + 5000000000 ))
    fi
    sleep 0.05
  done
}

# Stops this state dir's daemons: radosgw by SIGKILL (it keeps nothing worth saving and
# takes ~5 s on SIGTERM), then the OSD, then the mon (the OSD waits 5 s without a mon).
rgw_stop_daemons() {
  local entry binary pid pids
  local -a order=("radosgw:KILL" "ceph-osd:TERM" "ceph-mon:TERM")
  local all; all="$(rgw_our_pids)"
  [[ -n "$all" ]] || return 0
  for entry in "${order[@]}"; do
    binary="${entry%%:*}"; pids=()
    for pid in $all; do rgw_pid_is_ours "$pid" "$binary" && pids+=("$pid"); done
    (( ${#pids[@]} == 0 )) && continue
    rgw_log "stopping $binary (pid ${pids[*]})"
    rgw_kill_and_wait "${entry#*:}" 10 "$binary" "${pids[@]}"
  done
}

# Empties the state dir ("contents": rgw-start keeps the dir, it holds the lock on it), or with
# "remove" deletes it; only a dir this tooling created (marker) or an empty one.
rgw_wipe_state_dir() {
  [[ -d "$STATE_DIR" ]] || return 0
  if [[ ! -e "$STATE_DIR/$RGW_MARKER" && -n "$(ls -A "$STATE_DIR")" ]]; then
    rgw_die "$STATE_DIR is not empty and has no $RGW_MARKER marker: not wiping it"
  fi
  find "$STATE_DIR" -mindepth 1 -delete
  if [[ "${1:-}" == remove ]]; then rmdir "$STATE_DIR"; fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  rgw_set_state_dir "${1:-}"
  rgw_is_healthy || rgw_die "no healthy gateway in $STATE_DIR (start one with scripts/rgw-start.sh)"
  cat "$ENV_FILE"
fi
