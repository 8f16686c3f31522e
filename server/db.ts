// The Prisma client, one per process, for the database DATABASE_URL names.
// SQLite (the default) through the better-sqlite3 driver adapter: WAL + busy_timeout
// let the web process and the worker write the same file without "database is locked".
// PostgreSQL (postgresql://…) through the pg driver adapter, for installations with
// several console and worker processes. Both clients come from the same models
// (prisma/models.prisma); the code is typed against SQLite's, which PostgreSQL's
// client accepts unchanged.
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "./generated/sqlite/client";
import { isPostgresUrl } from "./database-url";
import { env } from "./env";

export type Db = PrismaClient;

const postgresClients = new WeakSet<object>();
/** Whether a client talks to PostgreSQL (for the few statements written for one database: bulk event inserts). */
export const isPostgresDb = (db: Db): boolean => postgresClients.has(db);

export async function createDb(url: string, opts: { poolSize?: number; connectTimeoutMs?: number } = {}): Promise<Db> {
  if (isPostgresUrl(url)) {
    const [{ PrismaPg }, { PrismaClient: PgClient }] = await Promise.all([import("@prisma/adapter-pg"), import("./generated/pg/client")]);
    const client = new PgClient({ adapter: new PrismaPg({ connectionString: url, max: opts.poolSize ?? 10, connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000 }) });
    await client.$connect();
    postgresClients.add(client);
    return client as unknown as Db;
  }
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
