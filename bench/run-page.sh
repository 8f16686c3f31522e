#!/usr/bin/env bash
# Builds Rampart if needed, bundles the benchmark, and runs it. See bench/run-page.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_apt redis-server chromium
ensure_node_modules
ensure_prisma_client
ensure_build
node_modules/.bin/esbuild bench/run-page.ts --bundle --platform=node --target=node20 --format=esm --packages=external \
  --outfile=dist/bench-run-page.mjs --log-level=warning --tsconfig=tsconfig.json
node dist/bench-run-page.mjs
