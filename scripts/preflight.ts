// Run by scripts/start.sh before starting anything: one clear line and exit 1 on
// any problem, so an operator never sees a stack trace for a typo in a setting.
//   --stage=config    environment variables and the data directory
//   --stage=services  the database (migrated) and Redis answer
//   --stage=setup-link  while no user exists, prints a new one-time setup token
//   --stage=migrations  exits 0 if migrations are pending, 3 if the database is up to date
import { mkdir, access, constants } from "node:fs/promises";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadMasterKey, masterKeyPath } from "@/server/secrets/master-key";
import { ConfigError, loadEnv } from "@/server/env";
import { checkDatabase, checkDatabaseReachable } from "@/server/preflight";
import { createDb } from "@/server/db";
import { isPostgresUrl } from "@/server/database-url";
import { pingRedis } from "@/server/queue/redis";
import { createSetupLink } from "@/server/services/auth";

async function main() {
  const stage = process.argv.find((a) => a.startsWith("--stage="))?.slice("--stage=".length) ?? "config";
  const env = loadEnv();
  if (stage === "migrations") {
    // Exit 0 when migrations are pending (or the database is new), 3 when it is up to date:
    // a second process starting beside running ones need not take the migration lock.
    process.exit((await pendingMigrations(env.DATABASE_URL)).length > 0 ? 0 : 3);
  }
  if (stage === "config") {
    await mkdir(env.DATA_DIR, { recursive: true }).catch(() => {});
    await access(env.DATA_DIR, constants.W_OK).catch(() => {
      throw new Error(`DATA_DIR ${env.DATA_DIR} is not a writable directory`);
    });
    if (!env.RAMPART_MASTER_KEY && !existsSync(masterKeyPath(env.DATA_DIR))) {
      loadMasterKey({ dataDir: env.DATA_DIR, create: true });
      // Said once Rampart is up (scripts/supervise.mjs), so a failed start stays one line.
      writeFileSync(path.join(env.DATA_DIR, ".master-key-created"), "");
    }
    loadMasterKey({ envKey: env.RAMPART_MASTER_KEY, dataDir: env.DATA_DIR, create: false });
    await checkDatabaseReachable(env.DATABASE_URL);
    return;
  }
  const db = await checkDatabase(env.DATABASE_URL);
  if (stage === "setup-link") {
    const token = await createSetupLink(db);
    if (token) process.stdout.write(`${token}\n`);
    await db.$disconnect();
    return;
  }
  await db.$disconnect();
  await pingRedis(env.REDIS_URL).catch((err: Error) => {
    throw new Error(`${err.message} (check REDIS_URL)`);
  });
}

/** The committed migrations this database has not finished applying (all of them for a new database). */
async function pendingMigrations(url: string): Promise<string[]> {
  const dir = path.join("prisma", isPostgresUrl(url) ? "pg" : "sqlite", "migrations");
  const committed = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  let applied: Set<string>;
  const db = await createDb(url);
  try {
    const rows = await db.$queryRawUnsafe<Array<{ name: string }>>('SELECT migration_name AS name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL');
    applied = new Set(rows.map((r) => r.name));
  } catch {
    applied = new Set(); // no migrations table yet
  } finally {
    await db.$disconnect();
  }
  return committed.filter((m) => !applied.has(m));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const msg = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`rampart: ${msg}\n`);
    process.exit(1);
  },
);
