#!/usr/bin/env bash
# The demo on one machine: brings up the test lab (3 Debian hosts) and registers
# them in Rampart's database. Then start Rampart (npm start) and check them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
[ "$(id -u)" = 0 ] || die "the demo needs root: the lab creates network namespaces and boots containers (run it as root)"
load_dotenv
ensure_node_modules
ensure_prisma_client
ensure_build
node dist/preflight.mjs --stage=config
migrate
bash e2e/lab/lab.sh up
node dist/seed-lab.mjs
