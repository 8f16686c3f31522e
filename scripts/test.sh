#!/usr/bin/env bash
# Runs the whole test suite: unit and integration tests (vitest, real Redis and
# SQLite; the integration tests again on a real PostgreSQL), end-to-end tests
# (Playwright driving Debian's Chromium against Rampart started with npm start), and
# the test lab's tests when running as root.
# Installs whatever is missing first, like npm start. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
export NEXT_TELEMETRY_DISABLED=1

set -e
ensure_apt redis-server chromium openssh-client pebble
# What npm start runs itself, installed up front: a test that starts Rampart expects no install output.
ensure_apt_quiet prometheus prometheus-alertmanager
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

log "dependency audit (npm's advisory database, production dependencies; the policy is in scripts/audit-deps.mjs)"
node scripts/audit-deps.mjs
case $? in
  0) echo "audit 1 0 0" >> "$summary" ;;
  3) log "dependency audit: not checked (the advisory service did not answer); AUDIT_REQUIRED=1 makes that a failure" ;;
  *) echo "audit 0 1 0" >> "$summary"; rc=1 ;;
esac

log "unit and integration tests (vitest)"
node_modules/.bin/vitest run || rc=1

# The same integration suite against PostgreSQL, and both databases' migrations
# checked against the models (prisma migrate diff exits 2 on drift).
. scripts/lib/postgres.sh
log "PostgreSQL: a throwaway cluster (Debian's postgresql, as the postgres user)"
if start_test_postgres; then
  trap stop_test_postgres EXIT
  log "migrations in step with prisma/models.prisma (SQLite and PostgreSQL)"
  drift=0
  shadow=$(mktemp -d)
  for db in "sqlite file:$shadow/check.db" "pg $PG_TEST_URL"; do
    set -- $db
    if ! DATABASE_URL=$2 node_modules/.bin/prisma migrate diff --from-migrations "prisma/$1/migrations" --to-schema-datamodel "prisma/$1" --exit-code >"$shadow/$1.diff" 2>&1; then
      log "prisma/$1/migrations do not produce prisma/models.prisma: add a migration for $1"
      cat "$shadow/$1.diff" >&2
      drift=1
    fi
  done
  rm -rf "$shadow"
  if [ "$drift" = 0 ]; then echo "migrations 1 0 0" >> "$summary"; else echo "migrations 0 1 0" >> "$summary"; rc=1; fi

  # The files that open a database through tests/support/test-db.ts (the others start
  # Rampart with its own SQLite default, which the first run covered).
  log "integration tests on PostgreSQL (vitest)"
  TEST_DATABASE_URL=$PG_TEST_URL RAMPART_TEST_LABEL=vitest-pg node_modules/.bin/vitest run --project main $(grep -l createTestDb tests/integration/*.test.ts) || rc=1
  stop_test_postgres
  trap - EXIT
else
  echo "postgresql 0 1 0" >> "$summary"
  rc=1
fi

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
