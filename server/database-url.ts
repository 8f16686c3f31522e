// Where the database lives. Kept free of other imports so prisma.config.ts,
// the start script and server/env.ts all resolve it the same way.
import path from "node:path";

export const DEFAULT_DATA_DIR = "./data";

export function resolveDataDir(source: Record<string, string | undefined>): string {
  return path.resolve(source.DATA_DIR && source.DATA_DIR.trim() !== "" ? source.DATA_DIR : DEFAULT_DATA_DIR);
}

/** DATABASE_URL if set, else a SQLite file in DATA_DIR. Relative file: paths are made absolute. */
export function resolveDatabaseUrl(source: Record<string, string | undefined>): string {
  const raw = source.DATABASE_URL?.trim();
  if (!raw) return `file:${path.join(resolveDataDir(source), "rampart.db")}`;
  if (raw.startsWith("file:")) {
    const file = raw.slice("file:".length);
    return `file:${path.resolve(file)}`;
  }
  return raw;
}

/** postgresql:// or postgres:// selects PostgreSQL; everything else is SQLite. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** A PostgreSQL URL that names a host (or a socket directory) and a database. */
export function validPostgresUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.hostname !== "" || u.searchParams.has("host")) && u.pathname.length > 1;
  } catch {
    return false;
  }
}

/** The URL as it may be shown: a password is replaced by ****. */
export function displayDatabaseUrl(url: string): string {
  if (url.startsWith("file:")) return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = "****";
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:****@");
  }
}
