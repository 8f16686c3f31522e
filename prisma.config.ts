// Prisma CLI configuration: the JavaScript schema engine with a driver adapter, so
// migrate/generate work offline with no engine binaries to download. DATABASE_URL
// chooses the database: postgresql://… uses prisma/pg, anything else SQLite (prisma/sqlite).
import { randomUUID } from "node:crypto";
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { isPostgresUrl, resolveDatabaseUrl } from "./server/database-url";

const url = resolveDatabaseUrl(process.env);
const postgres = isPostgresUrl(url);

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", postgres ? "pg" : "sqlite"),
  async adapter() {
    return postgres ? pgAdapter(pgConfig(url)) : sqliteAdapter(url);
  },
});

// Workarounds for the adapters' bugs on the migrate path (Prisma 6.19): the shadow
// database of `migrate diff --from-migrations` (which the test command runs to prove
// the migrations still produce the models) for both; for PostgreSQL also scripts split
// at every ";" and catalog column types it cannot read (CatalogClient, below).

/** SQLite: the shadow database receives each migration as one multi-statement executeRaw, which better-sqlite3 refuses. */
function sqliteAdapter(dbUrl: string) {
  const factory = new PrismaBetterSQLite3({ url: dbUrl });
  const connectShadow = factory.connectToShadowDb.bind(factory);
  factory.connectToShadowDb = async () => {
    const shadow = await connectShadow();
    const executeRaw = shadow.executeRaw.bind(shadow);
    shadow.executeRaw = async (q) => (q.args.length === 0 && /;\s*\S/.test(q.sql) ? (await shadow.executeScript(q.sql), 0) : executeRaw(q));
    return shadow;
  };
  return factory;
}

type PgConfig = ReturnType<typeof pgConfig>;
type PgAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;

function wholeScripts(adapter: PgAdapter): PgAdapter {
  const driver = adapter.underlyingDriver() as pg.Pool;
  adapter.executeScript = async (script: string) => {
    try {
      await driver.query(script);
    } catch (err) {
      // The adapter's own error mapping, so Prisma reports it as usual.
      (adapter as unknown as { onError(e: unknown): never }).onError(err);
    }
  };
  return adapter;
}

/**
 * PostgreSQL: the adapter runs a migration by splitting it at every ";", which breaks a
 * function body (the audit log's append-only trigger): this one sends the script whole
 * (one simple query, so PostgreSQL runs it in one implicit transaction). And the
 * adapter drops its shadow database while still connected to it: this one closes first.
 */
function pgAdapter(cfg: PgConfig) {
  const options = { Client: CatalogClient, allowExitOnIdle: true };
  const factory = new PrismaPg({ ...cfg, ...options });
  const connect = factory.connect.bind(factory);
  factory.connect = async () => wholeScripts(await connect());
  factory.connectToShadowDb = async () => {
    const database = `prisma_shadow_${randomUUID().replaceAll("-", "")}`;
    const admin = new pg.Client(cfg);
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    const shadow = wholeScripts(await new PrismaPg({ ...cfg, ...options, database }).connect());
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      try {
        await dispose();
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
        await admin.end();
      }
    };
    return shadow;
  };
  return factory;
}

/**
 * The connection as separate fields (given a connection string, Prisma's migrate path
 * would use the main database as its shadow database), parsed by pg's own parser so
 * that sslmode, socket directories and the rest mean what they mean at run time.
 */
function pgConfig(raw: string) {
  const { connectionString: _whole, ...fields } = parseIntoClientConfig(raw);
  return fields;
}

/** Type ids of PostgreSQL's `name` and `"char"` (catalog columns), and of `text`. */
const NAME_OID = 19;
const CHAR_OID = 18;
const TEXT_OID = 25;

/**
 * The adapter cannot read catalog columns of type name or "char" (prisma/orm#27403),
 * which migrate reads: this client reports them as text, which they are on the wire.
 */
class CatalogClient extends pg.Client {
  override query(...args: any[]): any {
    const asText = (res: pg.QueryResult | undefined) => {
      for (const f of res?.fields ?? []) if (f.dataTypeID === NAME_OID || f.dataTypeID === CHAR_OID) f.dataTypeID = TEXT_OID;
      return res;
    };
    const last = args[args.length - 1];
    if (typeof last === "function") {
      args[args.length - 1] = (err: Error | null, res: pg.QueryResult) => last(err, asText(res));
      return super.query(...(args as Parameters<pg.Client["query"]>));
    }
    const r: unknown = super.query(...(args as Parameters<pg.Client["query"]>));
    return r instanceof Promise ? r.then(asText) : r;
  }
}
