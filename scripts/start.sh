#!/usr/bin/env bash
# Starts Rampart: installs what is missing, builds if needed, migrates the database,
# then runs Redis (unless REDIS_URL is set), Prometheus and Alertmanager (unless
# PROMETHEUS_URL is set), the worker and the console together.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
export NEXT_TELEMETRY_DISABLED=1
load_dotenv

command -v node >/dev/null || die "Node.js 20 or newer is needed"
if [ -z "${REDIS_URL:-}" ]; then ensure_apt redis-server; fi
if [ -z "${PROMETHEUS_URL:-}" ] && [ "${RAMPART_PROCESSES:-all}" != worker ]; then ensure_apt_quiet prometheus prometheus-alertmanager; fi
ensure_node_modules
ensure_prisma_client
ensure_build
node dist/preflight.mjs --stage=config
# From here on, what Rampart writes (the database, keys, Redis's data, logs) is its own: 0600/0700.
umask 077
migrate
exec node scripts/supervise.mjs
