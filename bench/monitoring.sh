#!/usr/bin/env bash
# Builds Rampart if needed, bundles the benchmark, and runs it. See bench/monitoring.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_apt redis-server; ensure_apt_quiet prometheus prometheus-alertmanager
ensure_node_modules
ensure_prisma_client
ensure_build
node_modules/.bin/esbuild bench/monitoring.ts --bundle --platform=node --target=node20 --format=esm --packages=external \
  --outfile=dist/bench-monitoring.mjs --log-level=warning --tsconfig=tsconfig.json
LAB_SCRIPT="$PWD/e2e/lab/lab.sh" node dist/bench-monitoring.mjs
