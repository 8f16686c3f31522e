# Shared by scripts/start.sh and scripts/test.sh: install whatever is missing, and
# nothing that is already there, so both commands are idempotent and fast the
# second time. Sourced, not run.

log() { printf '\033[1;34m[rampart]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[rampart]\033[0m %s\n' "$*" >&2; exit 1; }

# ensure_apt PKG... — installs Debian packages that are not installed yet (needs root).
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} — install them (apt-get install ${missing[*]}) or run this as root"
  log "installing ${missing[*]} (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_apt_quiet PKG... — like ensure_apt, for daemons Rampart runs itself
# (Prometheus, Alertmanager): their Debian units are neither started by the install
# (a policy-rc.d denies it meanwhile) nor left enabled, so nothing of theirs listens
# on the machine's addresses (Alertmanager's cluster port would be on 0.0.0.0).
ensure_apt_quiet() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local made_policy=0
  if [ "$(id -u)" = 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  ensure_apt "${missing[@]}" || rc=$?
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || return "$rc"
  if command -v systemctl >/dev/null; then
    for pkg in "${missing[@]}"; do systemctl disable --now "$pkg" >/dev/null 2>&1 || true; done
  fi
}

# A hash of files, to tell whether a generated artefact is stale.
hash_files() {
  find "$@" -type f ! -path 'server/generated/*' -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

ensure_node_modules() {
  local want; want=$(sha256sum package-lock.json | cut -c1-16)
  if [ -f node_modules/.rampart-lock-hash ] && [ "$(cat node_modules/.rampart-lock-hash)" = "$want" ]; then return 0; fi
  # better-sqlite3 compiles from source here (its prebuilt download is not reachable).
  ensure_apt python3 make g++
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" > node_modules/.rampart-lock-hash
}

# Both clients, SQLite's and PostgreSQL's: server/db.ts picks one by DATABASE_URL.
ensure_prisma_client() {
  local want; want=$(hash_files prisma/models.prisma prisma/sqlite/schema.prisma prisma/pg/schema.prisma package-lock.json)
  if [ -f server/generated/.hash ] && [ "$(cat server/generated/.hash)" = "$want" ]; then return 0; fi
  log "generating the Prisma clients"
  local schema
  for schema in prisma/sqlite prisma/pg; do
    node_modules/.bin/prisma generate --schema "$schema" >/dev/null 2>&1 || die "prisma generate failed ($schema)"
  done
  echo "$want" > server/generated/.hash
}

# Builds the console (next build) and the worker (esbuild) when their sources changed.
ensure_build() {
  local want; want=$(hash_files app components server workers scripts prisma next.config.js postcss.config.mjs tsconfig.json package-lock.json)
  if [ -f .next/BUILD_ID ] && [ -f dist/worker.mjs ] && [ -f .rampart-build-stamp ] && [ "$(cat .rampart-build-stamp)" = "$want" ]; then return 0; fi
  log "building the console and the worker (about a minute)"
  bash scripts/build-node.sh
  local buildlog; buildlog=$(mktemp)
  NEXT_TELEMETRY_DISABLED=1 node_modules/.bin/next build > "$buildlog" 2>&1 || { tail -40 "$buildlog" >&2; die "next build failed (full log: $buildlog)"; }
  rm -f "$buildlog"
  echo "$want" > .rampart-build-stamp
}

load_dotenv() {
  if [ -f .env ]; then set -a; . ./.env; set +a; fi
}

# Applies committed migrations; prints one line and fails if the database cannot be used.
# Only when some are pending: Prisma's migrate cannot open a SQLite database that
# other Rampart processes are using (a console and a worker started separately).
migrate() {
  local out rc=0
  node dist/preflight.mjs --stage=migrations || rc=$?
  [ "$rc" = 3 ] && return 0
  if ! out=$(node_modules/.bin/prisma migrate deploy 2>&1); then
    if printf '%s' "$out" | grep -q SocketTimeout; then
      die "database migration failed: the database is busy; stop the other Rampart processes that use it, then start again to apply the new migrations"
    fi
    die "database migration failed: $(printf '%s\n' "$out" | grep -v '^\s*$' | grep -iv 'prisma config\|schema loaded\|datasource' | tail -1)"
  fi
}
