// Checks run before anything starts, so a bad setting fails fast with one clear line.
import { access, constants } from "node:fs/promises";
import path from "node:path";
import { createDb, type Db } from "./db";
import { displayDatabaseUrl, isPostgresUrl } from "./database-url";

/** SQLite: the file's directory exists and is writable. PostgreSQL: the server answers (within 5 s). */
export async function checkDatabaseReachable(url: string): Promise<void> {
  if (isPostgresUrl(url)) {
    const db = await openDatabase(url);
    await db.$disconnect();
    return;
  }
  const dir = path.dirname(url.slice("file:".length));
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new Error(`DATABASE_URL points into ${dir}, which does not exist or is not writable`);
  }
}

async function openDatabase(url: string): Promise<Db> {
  let db: Db | undefined;
  try {
    db = await createDb(url, { connectTimeoutMs: 5_000 });
    await db.$queryRawUnsafe("SELECT 1");
    return db;
  } catch (err) {
    await db?.$disconnect().catch(() => {});
    const what = isPostgresUrl(url) ? "PostgreSQL at" : "DATABASE_URL";
    throw new Error(`${what} ${displayDatabaseUrl(url)} cannot be opened: ${oneLine(err)}${isPostgresUrl(url) ? " (check DATABASE_URL)" : ""}`);
  }
}

/** The driver's own words: Prisma wraps them in "Invalid `prisma.…()` invocation: … Message: `…`". */
const oneLine = (err: unknown) => {
  const e = err as { message?: string; cause?: { message?: string } };
  const text = e.cause?.message || e.message || String(err);
  const quoted = /Message: `([^`]+)`/.exec(text);
  if (quoted) return quoted[1]!;
  const lines = text.split("\n").filter((l) => l.trim() && !/^Invalid `prisma\./.test(l.trim()));
  return lines[lines.length - 1]?.trim() ?? String(err);
};

/** Opens the database and checks that migrations have been applied. */
export async function checkDatabase(url: string): Promise<Db> {
  await checkDatabaseReachable(url);
  const db = await openDatabase(url);
  try {
    await db.$queryRawUnsafe('SELECT 1 FROM "Run" LIMIT 1');
  } catch {
    await db.$disconnect();
    throw new Error(`the database at ${displayDatabaseUrl(url)} has no Rampart tables; run the migrations (npm start does it)`);
  }
  return db;
}
