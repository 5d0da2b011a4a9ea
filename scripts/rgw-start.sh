#!/usr/bin/env bash
# Starts a throw-away single-node Ceph cluster (1 mon, 1 bluestore OSD on a sparse file, no mgr,
# auth none) and a RADOS Gateway (S3) on 127.0.0.1, for tests and benchmarks. No Docker needed.
#
#   eval "$(scripts/rgw-start.sh [STATE_DIR])"          # start (or reuse a healthy one), export env
#   scripts/rgw-start.sh --gateway-only [STATE_DIR]     # restart ONLY radosgw (same config and data)
#   scripts/rgw-stop.sh [STATE_DIR]                     # stop everything, wipe STATE_DIR
#
# STATE_DIR defaults to $DOSNA_RGW_DIR or /tmp/dosna-rgw and holds everything (see rgw-env.sh for
# the layout; the gateway's pid file is STATE_DIR/run/client.rgw.pid). It must be on a filesystem
# that supports O_DIRECT (not an old tmpfs): bluestore opens its block file that way.
# Environment: DOSNA_RGW_PORT (7480), DOSNA_RGW_MON_PORT (3300, msgr v2) and DOSNA_RGW_MON_V1_PORT
# (6789), DOSNA_RGW_OSD_SIZE_GIB (10, sparse), DOSNA_RGW_TIMEOUT (60 s per wait).
# Progress goes to stderr; the last lines on stdout are the exports (also in STATE_DIR/env.sh):
#   DOSNA_TEST_S3_ENDPOINT, DOSNA_TEST_S3_ACCESS_KEY, DOSNA_TEST_S3_SECRET_KEY, DOSNA_TEST_S3_REGION
# Installs the Debian packages ceph-mon ceph-osd radosgw ceph-common (and curl) when missing.
set -euo pipefail
# shellcheck source=scripts/rgw-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/rgw-env.sh"

MON_PORT="${DOSNA_RGW_MON_PORT:-3300}"
MON_V1_PORT="${DOSNA_RGW_MON_V1_PORT:-6789}"
OSD_SIZE_GIB="${DOSNA_RGW_OSD_SIZE_GIB:-10}"

gateway_only=false
state_arg=""
for arg in "$@"; do
  case "$arg" in
    --gateway-only) gateway_only=true ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    -*) rgw_die "unknown option '$arg' (expected --gateway-only or a state dir)" ;;
    *) [[ -z "$state_arg" ]] || rgw_die "expected at most one state dir, got '$state_arg' and '$arg'"
       state_arg="$arg" ;;
  esac
done
for port_var in RGW_PORT MON_PORT MON_V1_PORT; do
  [[ "${!port_var}" =~ ^[0-9]+$ ]] && (( ${!port_var} >= 1 && ${!port_var} <= 65535 )) ||
    rgw_die "ports must be numbers in 1..65535, got $port_var='${!port_var}' (see DOSNA_RGW_*PORT)"
done
[[ "$OSD_SIZE_GIB" =~ ^[0-9]+$ ]] && (( OSD_SIZE_GIB >= 1 )) ||
  rgw_die "DOSNA_RGW_OSD_SIZE_GIB must be a whole number of GiB >= 1, got '$OSD_SIZE_GIB'"

ensure_packages() {
  local missing=false tool
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool curl; do
    command -v "$tool" >/dev/null || missing=true
  done
  $missing || return 0
  local pkgs=(ceph-mon ceph-osd radosgw ceph-common curl) log
  log="$(mktemp)"
  rgw_log "installing ${pkgs[*]} (about 30 s, 270 MB)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy ceph-mon 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -qq >>"$log" 2>&1 || { tail -n 20 "$log" >&2; rgw_die "apt-get update failed"; }
  fi
  local install=(apt-get install -y -qq --no-install-recommends "${pkgs[@]}")
  if ! "${install[@]}" >>"$log" 2>&1; then
    rgw_log "install failed; refreshing package lists and retrying"
    apt-get update -qq >>"$log" 2>&1 && "${install[@]}" >>"$log" 2>&1 ||
      { tail -n 30 "$log" >&2; rgw_die "could not install ${pkgs[*]}"; }
  fi
  rm -f "$log"
}

port_is_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Runs a daemon that forks into the background: stdio to its log dir, and without fd 9
# (the state dir lock), so command substitutions and later locks never wait on it.
start_daemon() {
  local name="$1"; shift
  "$@" 9<&- </dev/null >>"$LOG_DIR/$name.stdout" 2>&1 ||
    fail "$name failed to start (exit $?)" "$name"
}

# Prints the tails of the named daemons' logs, stops what was started, and exits.
fail() {
  local message="$1" name; shift
  for name in "$@"; do
    for file in "$(rgw_log_file "$name")" "$LOG_DIR/$name.stdout"; do
      [[ -s "$file" ]] || continue
      echo "----- last lines of $file -----" >&2
      tail -n 25 "$file" >&2
    done
  done
  rgw_stop_daemons
  rgw_die "$message (logs kept in $LOG_DIR; the next rgw-start.sh wipes them)"
}

# wait_for DESCRIPTION LOG_NAME COMMAND...: polls the quiet predicate COMMAND until it succeeds.
wait_for() {
  local what="$1" name="$2"; shift 2
  local deadline=$(( $(date +%s) + RGW_TIMEOUT_S ))
  until "$@"; do
    (( $(date +%s) < deadline )) || fail "timed out after ${RGW_TIMEOUT_S}s waiting for $what" "$name"
    sleep 0.1
  done
}

ceph_cli() { timeout 30 ceph --connect-timeout 20 "$@"; }
mon_in_quorum() { ceph_cli quorum_status -f json 2>/dev/null | grep -q '"quorum_names":\["a"\]'; }
osd0_up() { ceph_cli osd dump -f json 2>/dev/null | grep -Eq '"osd":0,"uuid":"[^"]*","up":1,'; }
daemon_alive() { rgw_running_pid "$1" "$2" >/dev/null; }
gateway_answers() {
  rgw_pid_is_ours "$GATEWAY_PID" radosgw || fail "radosgw exited during start-up" client.rgw
  rgw_http_answers "$1"
}

write_conf() {
  cat >"$CONF" <<EOF
# Written by scripts/rgw-start.sh: a one-node test cluster. Every path is inside $STATE_DIR.
[global]
fsid = $(cat /proc/sys/kernel/random/uuid)
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_V1_PORT]
# auth none; radosgw still asks for a secure mon connection (and hangs) unless crc is allowed
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
mon warn on insecure global id reclaim allowed = false
run dir = $RUN_DIR
crash dir = $STATE_DIR/crash
log file = $LOG_DIR/\$name.log
mon cluster log file = $LOG_DIR/cluster.log
# one OSD must be enough
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off

[mon]
mon data = $STATE_DIR/mon/\$name
pid file = $RUN_DIR/\$name.pid
mon allow pool delete = true
# the 1 s default makes start-up ~13 s and the first CreateBucket ~7 s
paxos propose interval = 0.01
paxos min wait = 0.001

[osd]
osd data = $STATE_DIR/osd/\$name
pid file = $RUN_DIR/\$name.pid
public addr = 127.0.0.1
cluster addr = 127.0.0.1
osd objectstore = bluestore
# a sparse block file inside osd data; setting a block path makes mkfs fail (symlink loop)
bluestore block create = true
bluestore block size = $(( OSD_SIZE_GIB * 1024 * 1024 * 1024 ))
bluestore fsck on mkfs = false
bluestore fsck on mount = false
bdev aio poll ms = 10
osd memory target = 1073741824

[client.rgw]
# tcp_nodelay=1: without it every small GET waits ~40 ms on Nagle + delayed ACK (measured here:
# a 100-byte GET 47.8 ms → 2.7 ms median), which would dwarf everything dosna does per request.
rgw data = $STATE_DIR/rgw/\$name
admin socket = $RUN_DIR/\$name.asok
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
EOF
}

# radosgw runs in the foreground (-f) as our own background child, so its pid is known at
# once (its own daemonize writes the pid file only later) and an early death is seen at once.
start_gateway() {
  setsid radosgw -f -c "$CONF" -n client.rgw 9<&- </dev/null >>"$LOG_DIR/client.rgw.stdout" 2>&1 &
  GATEWAY_PID=$!
  # $! exists before the child has exec'd radosgw; until it has, the cmdline check in
  # gateway_answers would take the gateway for dead (and stop the whole cluster).
  local deadline=$(( $(date +%s) + 5 ))
  until [[ "$(readlink "/proc/$GATEWAY_PID/exe" 2>/dev/null)" == */radosgw ]] || (( $(date +%s) > deadline )); do
    sleep 0.01
  done
  echo "$GATEWAY_PID" >"$(rgw_pid_file client.rgw)"
}

conf_port() {
  sed -n 's|^rgw frontends = beast endpoint=127.0.0.1:\([0-9]*\)\( tcp_nodelay=1\)\{0,1\}$|\1|p' "$CONF" 2>/dev/null
}

finish() {
  local port="$1" t0="$2"
  rgw_env_exports "$port" >"$ENV_FILE"
  rgw_log "gateway up on http://127.0.0.1:$port after $(( ($(date +%s%N) - t0) / 1000000 )) ms" \
    "(stop: scripts/rgw-stop.sh $STATE_DIR)"
  cat "$ENV_FILE"
}

restart_gateway_only() {
  local t0; t0=$(date +%s%N)
  [[ -f "$CONF" ]] || rgw_die "no cluster in $STATE_DIR: run scripts/rgw-start.sh first"
  daemon_alive mon.a ceph-mon && daemon_alive osd.0 ceph-osd ||
    rgw_die "mon/osd of $STATE_DIR are not running: run scripts/rgw-start.sh (full start)"
  local port pids=(); port="$(conf_port)"
  mapfile -t pids < <(rgw_our_pids | while read -r pid; do
    rgw_pid_is_ours "$pid" radosgw && echo "$pid"; done)
  if (( ${#pids[@]} > 0 )); then
    rgw_log "killing radosgw (pid ${pids[*]})"
    rgw_kill_and_wait KILL 10 radosgw "${pids[@]}"
  fi
  port_is_taken "$port" && rgw_die "port $port is still taken after radosgw exited"
  rgw_log "starting radosgw on 127.0.0.1:$port"
  start_gateway
  wait_for "radosgw to answer HTTP on port $port" client.rgw gateway_answers "$port"
  finish "$port" "$t0"
}

full_start() {
  local t0; t0=$(date +%s%N)
  if rgw_is_healthy && [[ "$(rgw_recorded_port)" == "$RGW_PORT" ]]; then
    rgw_log "reusing the healthy gateway already running from $STATE_DIR"
    cat "$ENV_FILE"
    return
  fi
  rgw_stop_daemons
  rgw_wipe_state_dir contents
  mkdir -p "$STATE_DIR" "$RUN_DIR" "$LOG_DIR" "$STATE_DIR/mon" "$STATE_DIR/osd/osd.0" "$STATE_DIR/rgw"
  touch "$STATE_DIR/$RGW_MARKER"
  local port
  for port in "$MON_PORT" "$MON_V1_PORT" "$RGW_PORT"; do
    port_is_taken "$port" && rgw_die "127.0.0.1:$port is already in use (another cluster or server?)"
  done
  write_conf

  rgw_log "creating and starting mon.a in $STATE_DIR"
  monmaptool --create --clobber --fsid "$(sed -n 's/^fsid = //p' "$CONF")" \
    --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_V1_PORT]" "$STATE_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$STATE_DIR/monmap" >>"$LOG_DIR/mon.a.stdout" 2>&1 ||
    fail "ceph-mon --mkfs failed" mon.a
  start_daemon mon.a ceph-mon -c "$CONF" -i a
  wait_for "mon.a to form a quorum" mon.a mon_in_quorum

  rgw_log "creating and starting osd.0 (bluestore, ${OSD_SIZE_GIB} GiB sparse file)"
  local uuid id
  uuid="$(cat /proc/sys/kernel/random/uuid)"
  id="$(ceph_cli osd new "$uuid" 2>>"$LOG_DIR/osd.0.stdout")" || fail "ceph osd new failed" mon.a osd.0
  [[ "$id" == 0 ]] || fail "ceph osd new gave id '$id', expected 0" mon.a
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >>"$LOG_DIR/osd.0.stdout" 2>&1 ||
    fail "ceph-osd --mkfs failed" osd.0
  start_daemon osd.0 ceph-osd -c "$CONF" -i 0

  rgw_log "starting radosgw on 127.0.0.1:$RGW_PORT"
  start_gateway
  wait_for "osd.0 to be up" osd.0 osd0_up
  wait_for "radosgw to answer HTTP on port $RGW_PORT" client.rgw gateway_answers "$RGW_PORT"

  rgw_log "creating S3 user $RGW_USER_ID"
  timeout 60 radosgw-admin user create --uid="$RGW_USER_ID" --display-name="dosna tests" \
    --access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" \
    >/dev/null 2>>"$LOG_DIR/radosgw-admin.stdout" || fail "radosgw-admin user create failed" radosgw-admin
  finish "$RGW_PORT" "$t0"
}

ensure_packages
rgw_set_state_dir "$state_arg"
rgw_lock_state_dir
if $gateway_only; then restart_gateway_only; else full_start; fi
