#!/usr/bin/env bash
# Copies a Rampart database into another (see scripts/copy-db.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_node_modules
ensure_prisma_client
bash scripts/build-node.sh
exec node dist/copy-db.mjs "$@"
