#!/usr/bin/env bash
# Bundles the worker and the helper scripts (TypeScript) into dist/*.mjs with esbuild.
# Dependencies stay in node_modules (--packages=external); only our code is bundled.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/esbuild workers/main.ts scripts/preflight.ts scripts/seed-lab.ts scripts/copy-db.ts fleet-sim=bench/fleet-sim/main.ts \
  --bundle --platform=node --target=node20 --format=esm --packages=external \
  --outdir=dist --out-extension:.js=.mjs --entry-names=[name] --log-level=warning \
  --tsconfig=tsconfig.json
mv dist/main.mjs dist/worker.mjs
