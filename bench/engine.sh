#!/usr/bin/env bash
# Bundles and runs bench/engine.ts: the planner for 1,000 servers, and cold and
# warm applies on the lab (brought up if needed; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_node_modules
ensure_prisma_client
bash scripts/build-node.sh
node_modules/.bin/esbuild bench/engine.ts --bundle --platform=node --target=node20 --format=esm --packages=external \
  --outfile=dist/bench-engine.mjs --log-level=warning --tsconfig=tsconfig.json
LAB_SCRIPT="$PWD/e2e/lab/lab.sh" node dist/bench-engine.mjs
