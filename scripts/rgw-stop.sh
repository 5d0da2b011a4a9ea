#!/usr/bin/env bash
# Stops the test Ceph cluster and gateway started by scripts/rgw-start.sh from STATE_DIR
# (default $DOSNA_RGW_DIR or /tmp/dosna-rgw): exactly the daemons recorded in its pid files
# (or started with its ceph.conf), radosgw first (SIGKILL), then the OSD, then the mon; waits
# for each to exit, then deletes STATE_DIR. Safe to run when nothing is running.
#   scripts/rgw-stop.sh [STATE_DIR]
set -euo pipefail
# shellcheck source=scripts/rgw-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/rgw-env.sh"

(( $# <= 1 )) || rgw_die "usage: scripts/rgw-stop.sh [STATE_DIR]"
dir="${1:-$RGW_STATE_DIR_DEFAULT}"
if [[ ! -d "$dir" ]]; then
  rgw_log "nothing to stop: $dir does not exist"
  exit 0
fi
rgw_set_state_dir "$dir"
rgw_lock_state_dir
rgw_stop_daemons
rgw_wipe_state_dir remove
rgw_log "stopped; removed $STATE_DIR"
