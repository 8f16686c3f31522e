// npm run db:copy -- --from <DATABASE_URL> --to <DATABASE_URL>
// Moves an installation to another database (typically SQLite → PostgreSQL): applies
// the destination's migrations, refuses a destination that already holds rows, then
// copies every table. Stop Rampart first, so nothing changes during the copy.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createDb } from "@/server/db";
import { copyDatabase, CopyRefusedError } from "@/server/db-copy";
import { displayDatabaseUrl, resolveDatabaseUrl } from "@/server/database-url";
import { pendingMigrations } from "@/server/migrations";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const fromRaw = arg("from");
  const toRaw = arg("to");
  if (!fromRaw || !toRaw)
    throw new CopyRefusedError("usage: npm run db:copy -- --from <DATABASE_URL> --to <DATABASE_URL> (e.g. --from file:data/rampart.db --to postgresql://rampart:…@db.example/rampart)");
  const from = resolveDatabaseUrl({ DATABASE_URL: fromRaw });
  const to = resolveDatabaseUrl({ DATABASE_URL: toRaw });
  if (from === to) throw new CopyRefusedError("--from and --to name the same database");
  if (from.startsWith("file:") && !existsSync(from.slice("file:".length))) throw new CopyRefusedError(`there is no database at ${from}`);
  if ((await pendingMigrations(from)).length > 0)
    throw new CopyRefusedError(`${displayDatabaseUrl(from)} is not an up-to-date Rampart database: start this version of Rampart on it once (it applies the migrations), stop it, then copy`);
  if ((await pendingMigrations(to)).length > 0) await migrate(to);
  const [src, dst] = await Promise.all([createDb(from), createDb(to)]);
  try {
    const t0 = Date.now();
    const copied = await copyDatabase(src, dst, to, (model, done, total) => process.stderr.write(`  ${model}: ${done}/${total}\r${done === total ? "\n" : ""}`));
    const rows = Object.values(copied).reduce((a, b) => a + b, 0);
    process.stderr.write(
      `copied ${rows} rows from ${displayDatabaseUrl(from)} to ${displayDatabaseUrl(to)} in ${((Date.now() - t0) / 1000).toFixed(1)} s; now start Rampart with DATABASE_URL set to the new database\n`,
    );
  } finally {
    await Promise.all([src.$disconnect(), dst.$disconnect()]);
  }
}

async function migrate(to: string) {
  process.stderr.write(`applying the migrations of ${displayDatabaseUrl(to)}\n`);
  try {
    execFileSync("node_modules/.bin/prisma", ["migrate", "deploy"], { env: { ...process.env, DATABASE_URL: to }, stdio: "pipe", encoding: "utf8" });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const last = `${e.stdout ?? ""}${e.stderr ?? ""}`.split("\n").filter((l) => /error/i.test(l))[0] ?? "see prisma migrate deploy";
    throw new CopyRefusedError(`could not migrate ${displayDatabaseUrl(to)}: ${last.trim()}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`rampart: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
