// Checks run before anything starts, so a bad setting fails fast with one clear line.
import { access, constants } from "node:fs/promises";
import path from "node:path";
import { createDb, type Db } from "./db";

/** Opens the database and checks that migrations have been applied. */
export async function checkDatabase(url: string): Promise<Db> {
  if (!url.startsWith("file:")) throw new Error(`DATABASE_URL must be a SQLite file: URL (got ${JSON.stringify(url)})`);
  const file = url.slice("file:".length);
  const dir = path.dirname(file);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new Error(`DATABASE_URL points into ${dir}, which does not exist or is not writable`);
  }
  let db: Db;
  try {
    db = await createDb(url);
    await db.$queryRawUnsafe("SELECT 1");
  } catch (err) {
    throw new Error(`DATABASE_URL ${url} cannot be opened: ${(err as Error).message}`);
  }
  try {
    await db.$queryRawUnsafe('SELECT 1 FROM "Run" LIMIT 1');
  } catch {
    await db.$disconnect();
    throw new Error(`the database at ${url} has no Rampart tables; run the migrations (npm start does it)`);
  }
  return db;
}
