// The Prisma client, one per process. SQLite through the better-sqlite3 driver
// adapter: no engine binaries, works offline. WAL + busy_timeout let the web process and
// the worker write the same file without "database is locked" errors.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "./generated/prisma/client";
import { env } from "./env";

export type Db = PrismaClient;

export async function createDb(url: string): Promise<Db> {
  // timeout: how long a write waits for another process's write lock (busy_timeout).
  const db = new PrismaClient({ adapter: new PrismaBetterSQLite3({ url, timeout: 10_000 }) });
  await db.$queryRawUnsafe("PRAGMA journal_mode = WAL");
  await db.$queryRawUnsafe("PRAGMA busy_timeout = 5000");
  // In WAL mode NORMAL is crash-safe (a power cut may lose the last commits, never
  // corrupt the file) and avoids an fsync per run event.
  await db.$queryRawUnsafe("PRAGMA synchronous = NORMAL");
  return db;
}

const globalForDb = globalThis as unknown as { rampartDb?: Promise<Db> };

/** The process-wide client (kept across Next.js dev reloads). */
export function db(): Promise<Db> {
  globalForDb.rampartDb ??= createDb(env().DATABASE_URL);
  return globalForDb.rampartDb;
}
