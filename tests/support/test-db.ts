// A fresh, migrated SQLite database per test file, made with the same
// `prisma migrate deploy` that the start command runs.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createDb, type Db } from "@/server/db";
import { loadMasterKey } from "@/server/secrets/master-key";

export async function createTestDb(): Promise<{ db: Db; url: string; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-db-"));
  const url = `file:${path.join(dir, "rampart.db")}`;
  execFileSync("node_modules/.bin/prisma", ["migrate", "deploy"], { env: { ...process.env, DATABASE_URL: url }, stdio: "pipe" });
  loadMasterKey({ dataDir: dir, create: true }); // as the start command does
  return { db: await createDb(url), url, dir };
}
