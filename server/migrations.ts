// Which committed migrations a database still lacks, read with the app's own client:
// Prisma's migrate cannot open a SQLite file that running Rampart processes use, so
// callers run it only when something is pending.
import { readdirSync } from "node:fs";
import path from "node:path";
import { createDb } from "./db";
import { isPostgresUrl } from "./database-url";

/** The committed migrations this database has not finished applying (all of them for a new database). */
export async function pendingMigrations(url: string): Promise<string[]> {
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
