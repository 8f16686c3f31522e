#!/usr/bin/env bash
# Bundles and runs bench/executor.ts against the lab (brought up if needed; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_node_modules
node_modules/.bin/esbuild bench/executor.ts --bundle --platform=node --target=node20 --format=esm --packages=external \
  --outfile=dist/bench-executor.mjs --log-level=warning --tsconfig=tsconfig.json
LAB_SCRIPT="$PWD/e2e/lab/lab.sh" node dist/bench-executor.mjs
