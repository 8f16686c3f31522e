// A fresh, migrated database per test file, made with the same `prisma migrate deploy`
// that the start command runs: a SQLite file by default, or, when TEST_DATABASE_URL
// names a PostgreSQL server (scripts/test.sh starts one), a new database on it.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createDb, type Db } from "@/server/db";
import { isPostgresUrl } from "@/server/database-url";
import { loadMasterKey } from "@/server/secrets/master-key";

const TEMPLATE = "rampart_template";

/** Which database the tests run against: "postgresql" when TEST_DATABASE_URL is a PostgreSQL URL. */
export const testDbProvider = () => (isPostgresUrl(process.env.TEST_DATABASE_URL ?? "") ? "postgresql" : "sqlite");

function migrate(url: string) {
  try {
    execFileSync("node_modules/.bin/prisma", ["migrate", "deploy"], { env: { ...process.env, DATABASE_URL: url }, stdio: "pipe", encoding: "utf8" });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`prisma migrate deploy failed: ${`${e.stdout ?? ""}${e.stderr ?? ""}`.trim().split("\n").slice(-12).join("\n")}`);
  }
}

const withDatabase = (server: string, database: string) => {
  const u = new URL(server);
  u.pathname = `/${database}`;
  return u.toString();
};

/**
 * Copies a migrated template database: one `migrate deploy` per test run, not per
 * file. The template is made once, under an advisory lock (test files run in parallel).
 */
async function createPostgresDb(server: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query("SELECT pg_advisory_lock(727001)");
    try {
      const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [TEMPLATE]);
      if (!rowCount) {
        // A run that died while making it leaves a half-made one behind.
        await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE}_new WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${TEMPLATE}_new`);
        migrate(withDatabase(server, `${TEMPLATE}_new`));
        await admin.query(`ALTER DATABASE ${TEMPLATE}_new RENAME TO ${TEMPLATE}`);
      }
      const name = `rampart_test_${randomBytes(6).toString("hex")}`;
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
      return withDatabase(server, name);
    } finally {
      await admin.query("SELECT pg_advisory_unlock(727001)");
    }
  } finally {
    await admin.end();
  }
}

export async function createTestDb(opts: { sqlite?: boolean } = {}): Promise<{ db: Db; url: string; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-db-"));
  const server = opts.sqlite ? undefined : process.env.TEST_DATABASE_URL;
  let url: string;
  if (server && isPostgresUrl(server)) {
    url = await createPostgresDb(server);
  } else {
    url = `file:${path.join(dir, "rampart.db")}`;
    migrate(url);
  }
  loadMasterKey({ dataDir: dir, create: true }); // as the start command does
  return { db: await createDb(url), url, dir };
}
