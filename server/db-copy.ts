// Copies every row of one Rampart database into another, empty and migrated one:
// how an installation moves from SQLite to PostgreSQL (scripts/copy-db.ts).
// Tables go parents first, in chunks; autoincrement counters are moved past the
// copied ids so new rows do not collide.
import { Prisma } from "./generated/sqlite/client";
import { isPostgresUrl } from "./database-url";
import type { Db } from "./db";

/** Parents before children (foreign keys). A test checks that it names every model. */
export const COPY_ORDER = [
  "User",
  "Session",
  "ApiToken",
  "OneTimeLink",
  "AuditEntry",
  "AuditArchive",
  "SshKey",
  "Server",
  "KnownHost",
  "ServedCertificate",
  "Topology",
  "TopologyMember",
  "TopologySecret",
  "FirewallRule",
  "FirewallEvent",
  "ControlPlaneAddress",
  "CertificateAuthority",
  "Certificate",
  "AcmeAccount",
  "AcmeSite",
  "Alert",
  "AlertRuleSetting",
  "Run",
  "RunTarget",
  "RunPhase",
  "RunEvent",
] as const satisfies readonly Prisma.ModelName[];

/** Primary key fields, to page through each table in a stable order. */
const KEYS: Partial<Record<Prisma.ModelName, string[]>> = {
  RunTarget: ["runId", "serverId"],
  TopologyMember: ["topologyId", "serverId"],
  KnownHost: ["endpoint"],
  ControlPlaneAddress: ["address"],
  AcmeSite: ["topologyId"],
};
/** Tables whose id is an autoincrement integer. */
const SERIAL: Prisma.ModelName[] = ["RunEvent", "RunPhase", "AuditEntry"];

const CHUNK = 1000;

type Delegate = {
  count(): Promise<number>;
  findMany(args: { orderBy: Array<Record<string, "asc">>; skip: number; take: number }): Promise<object[]>;
  createMany(args: { data: object[] }): Promise<{ count: number }>;
};
const delegate = (db: Db, model: Prisma.ModelName) => (db as unknown as Record<string, Delegate>)[model[0]!.toLowerCase() + model.slice(1)]!;

export class CopyRefusedError extends Error {
  override name = "CopyRefusedError";
}

/** Copies `from` into `to`; `to` must be migrated and hold no rows. Returns the rows copied per table. */
export async function copyDatabase(from: Db, to: Db, toUrl: string, onProgress: (model: string, copied: number, total: number) => void = () => {}) {
  const notEmpty: string[] = [];
  for (const model of COPY_ORDER) if ((await delegate(to, model).count()) > 0) notEmpty.push(model);
  if (notEmpty.length) throw new CopyRefusedError(`the destination already holds rows (${notEmpty.join(", ")}): copy into a new, migrated database`);
  const copied: Record<string, number> = {};
  for (const model of COPY_ORDER) {
    const src = delegate(from, model);
    const dst = delegate(to, model);
    const total = await src.count();
    const orderBy = (KEYS[model] ?? ["id"]).map((k) => ({ [k]: "asc" as const }));
    let done = 0;
    while (done < total) {
      const rows = await src.findMany({ orderBy, skip: done, take: CHUNK });
      if (rows.length === 0) break;
      await dst.createMany({ data: rows });
      done += rows.length;
      onProgress(model, done, total);
    }
    copied[model] = done;
    if (isPostgresUrl(toUrl) && SERIAL.includes(model)) {
      // Explicit ids leave PostgreSQL's sequence behind: move it past the largest copied id.
      await to.$executeRawUnsafe(`SELECT setval(pg_get_serial_sequence('"${model}"', 'id'), COALESCE((SELECT MAX(id) FROM "${model}"), 0) + 1, false)`);
    }
  }
  return copied;
}

/** Every model the schema has, for the test that keeps COPY_ORDER whole. */
export const ALL_MODELS = Object.values(Prisma.ModelName);
