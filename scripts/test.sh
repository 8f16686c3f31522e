#!/usr/bin/env bash
# Runs the whole test suite: unit and integration tests (vitest, real Redis and
# SQLite), end-to-end tests (Playwright driving Debian's Chromium against Rampart
# started with npm start), and the test lab's tests when running as root.
# Installs whatever is missing first, like npm start. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
export NEXT_TELEMETRY_DISABLED=1

set -e
ensure_apt redis-server chromium openssh-client
ensure_node_modules
ensure_prisma_client
ensure_build
set +e

summary=$(mktemp)
export RAMPART_TEST_SUMMARY=$summary
rc=0

log "type check (tsc)"
if node_modules/.bin/tsc --noEmit -p .; then echo "typecheck 1 0 0" >> "$summary"; else echo "typecheck 0 1 0" >> "$summary"; rc=1; fi

log "import boundaries (dependency-cruiser, rules in .dependency-cruiser.cjs)"
if npm run -s lint:deps; then echo "deps 1 0 0" >> "$summary"; else echo "deps 0 1 0" >> "$summary"; rc=1; fi

log "formatting (Prettier, .prettierrc.json; npm run format fixes it)"
if npm run -s format:check; then echo "format 1 0 0" >> "$summary"; else echo "format 0 1 0" >> "$summary"; rc=1; fi

log "unit and integration tests (vitest)"
node_modules/.bin/vitest run || rc=1

log "end-to-end tests (Playwright, /usr/bin/chromium)"
node_modules/.bin/playwright test || rc=1

if [ -f e2e/lab/lab.test.mjs ]; then
  if [ "$(id -u)" = 0 ]; then
    log "test lab tests (systemd-nspawn hosts; the first run builds the Debian image, a few minutes)"
    # The lab's own tests start from a lab of exactly 3 hosts.
    bash e2e/lab/lab.sh down >/dev/null 2>&1 || true
    tap=$(mktemp)
    node --test --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$tap" e2e/lab/lab.test.mjs || rc=1
    echo "lab $(awk '/^# pass/{p=$3} /^# fail/{f=$3} /^# skipped/{s=$3} END{print p+0, f+0, s+0}' "$tap")" >> "$summary"
  else
    log "skipping the test lab's tests: they need root"
    echo "lab 0 1 0" >> "$summary"
    rc=1
  fi
fi

read -r passed failed skipped < <(awk '{p+=$2; f+=$3; s+=$4} END{print p+0, f+0, s+0}' "$summary")
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi # a suite that crashed before reporting
printf '\n'
cat "$summary" | awk '{printf "  %-10s %s passed, %s failed\n", $1, $2, $3}'
if [ "$skipped" != 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
rm -f "$summary"
exit $rc
