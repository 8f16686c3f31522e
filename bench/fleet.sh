#!/usr/bin/env bash
# Bundles and runs bench/fleet.ts: the real worker, queue, database and event
# stream against 100 and 1,000 simulated SSH hosts (bench/fleet-sim/), on a
# throwaway PostgreSQL (SQLite with --sqlite). Needs root: PostgreSQL runs as the
# postgres user, and the sims' load balancers listen on <address>:443.
#   bash bench/fleet.sh [--sizes 100,1000] [--batch 100] [--noop-runs 3] [--sim-procs N] [--cmd-latency MS]
#                       [--host-parallelism N]
#                       [--burst 100000] [--cpu-prof] [--sqlite] [--lab]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
. scripts/lib/postgres.sh
ensure_node_modules
ensure_prisma_client
bash scripts/build-node.sh
node_modules/.bin/esbuild bench-fleet=bench/fleet.ts bench-fleet-follow=bench/fleet-follow.ts bench-fleet-sim=bench/fleet-sim/main.ts \
  --bundle --platform=node --target=node20 --format=esm --packages=external \
  --outdir=dist --out-extension:.js=.mjs --log-level=warning --tsconfig=tsconfig.json

args=()
sqlite=0
lab=0
for a in "$@"; do
  case $a in
  --sqlite) sqlite=1 ;;
  --lab) lab=1 ;;
  *) args+=("$a") ;;
  esac
done

if [ "$sqlite" = 0 ]; then
  [ "$(id -u)" = 0 ] || die "run as root (PostgreSQL runs as the postgres user), or pass --sqlite"
  log "PostgreSQL: a throwaway cluster (Debian's postgresql, as the postgres user)"
  start_test_postgres || die "could not start PostgreSQL"
  trap stop_test_postgres EXIT
  export TEST_DATABASE_URL=$PG_TEST_URL PG_TEST_DIR
else
  unset TEST_DATABASE_URL
fi
node dist/bench-fleet.mjs "${args[@]}"

if [ "$lab" = 1 ]; then
  log "The lab's figures (3 real Debian hosts): bash bench/engine.sh"
  bash bench/engine.sh
fi
