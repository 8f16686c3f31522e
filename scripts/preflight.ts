// Run by scripts/start.sh before starting anything: one clear line and exit 1 on
// any problem, so an operator never sees a stack trace for a typo in a setting.
//   --stage=config    environment variables and the data directory
//   --stage=services  the database (migrated) and Redis answer
//   --stage=setup-link  while no user exists, prints a new one-time setup token
//   --stage=migrations  exits 0 if migrations are pending, 3 if the database is up to date
import { mkdir, access, constants } from "node:fs/promises";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadMasterKey, masterKeyPath } from "@/server/secrets/master-key";
import { ConfigError, loadEnv } from "@/server/env";
import { checkDatabase, checkDatabaseReachable } from "@/server/preflight";
import { pendingMigrations } from "@/server/migrations";
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

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const msg = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`rampart: ${msg}\n`);
    process.exit(1);
  },
);
