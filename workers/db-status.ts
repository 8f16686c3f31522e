// Every few seconds, reads each database server's replication state (as root over
// its socket, one SSH command per server) and stores it on the topology, for the
// console's Databases page and the API. Not a run: nothing changes on the hosts.
// One worker of the installation asks each round (a Redis lease).
import type { Redis } from "ioredis";
import type { Db } from "@/server/db";
import type { SshExecutor } from "@/server/exec/ssh-executor";
import type { SecretBox } from "@/server/secrets/envelope";
import type { Logger } from "@/server/log";
import { loadTarget } from "@/server/services/targets";
import { memberRoles } from "@/server/services/topologies";
import { type DbMemberStatus, DbStatus } from "@/server/schemas/database";
import { FLAVOURS, parseReplicaStatus } from "@/server/provision/mysql/state";
import { startLeasedLoop } from "./lb-health";

export const DB_STATUS_INTERVAL_MS = 5000;
const f = FLAVOURS.mariadb;
const STATUS_SQL = `SELECT @@read_only AS read_only, @@gtid_current_pos AS gtid_current, @@gtid_binlog_pos AS gtid_binlog; ${f.showReplicaStatus}`;

/** The output of STATUS_SQL in batch mode with headers: the variables, then the replication status if any. */
export function parseDbStatus(stdout: string): Pick<DbMemberStatus, "readOnly" | "gtidCurrent" | "gtidBinlog" | "replication"> {
  const rows = stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
  const vars = rows[1] ?? [];
  const s = rows.length >= 4 ? parseReplicaStatus(rows[2]!, rows[3]!) : null;
  return {
    readOnly: vars[0] === "1",
    gtidCurrent: vars[1] ?? "",
    gtidBinlog: vars[2] ?? "",
    replication: s && {
      source: s.sourceHost,
      io: s.io,
      sql: s.sql,
      lagS: s.lagS,
      usingGtid: s.usingGtid,
      tls: s.ssl && s.sslVerify,
      gtidReceived: s.gtidIoPos,
      lastIoError: s.lastIoError,
      lastSqlError: s.lastSqlError,
    },
  };
}

export async function collectDbStatus(deps: { db: Db; executor: SshExecutor; box: SecretBox; signal?: AbortSignal }): Promise<number> {
  const { db, executor, box } = deps;
  const topologies = await db.topology.findMany({ where: { lastApplyRunId: { not: null } }, include: { members: { include: { server: true } } } });
  let asked = 0;
  for (const t of topologies) {
    const members = t.members
      .map((m) => ({ m, roles: memberRoles(m) }))
      .filter(({ m, roles }) => m.server.hostKeyStatus === "pinned" && (roles.includes("db-primary") || roles.includes("db-replica")));
    if (members.length === 0) {
      if (t.dbStatus) await db.topology.update({ where: { id: t.id }, data: { dbStatus: null, dbStatusAt: null } });
      continue;
    }
    const previous = t.dbStatus ? DbStatus.safeParse(JSON.parse(t.dbStatus)) : null;
    const read: DbMemberStatus[] = await Promise.all(
      members.map(async ({ m, roles }) => {
        const base = { serverId: m.serverId, name: m.server.name, address: m.server.address, role: roles.includes("db-primary") ? ("primary" as const) : ("replica" as const) };
        // A server that cannot be read keeps the positions it had when it last could (a forced promotion shows the gap from them).
        const before = previous?.success ? previous.data.members.find((x) => x.serverId === m.serverId) : undefined;
        const unread = (error: string): DbMemberStatus => ({
          ...base,
          error,
          readOnly: null,
          gtidCurrent: before?.gtidCurrent ?? "",
          gtidBinlog: before?.gtidBinlog ?? "",
          replication: null,
          seenAt: before?.seenAt ?? null,
        });
        try {
          const r = await executor.exec(
            await loadTarget(db, box, m.serverId),
            { argv: [f.client, "-B", "--connect-timeout=3", "-e", STATUS_SQL], timeoutMs: 10_000 },
            { signal: deps.signal, connectAttempts: 1 },
          );
          if (r.exitCode !== 0) return unread((r.stderr.trim() || `exit ${r.exitCode}`).split("\n")[0]!);
          return { ...base, error: null, ...parseDbStatus(r.stdout), seenAt: new Date() };
        } catch (err) {
          return unread((err instanceof Error ? err.message : String(err)).split("\n")[0]!);
        }
      }),
    );
    asked += members.length;
    const status: DbStatus = { at: new Date(), members: read };
    await db.topology.update({ where: { id: t.id }, data: { dbStatus: JSON.stringify(status), dbStatusAt: status.at } });
  }
  return asked;
}

/** Reads the database servers every DB_STATUS_INTERVAL_MS (one worker per round). */
export const startDbStatusLoop = (deps: { db: Db; executor: SshExecutor; box: SecretBox; log: Logger; redis: Redis; workerId: string }) =>
  startLeasedLoop(deps, "db-status", "database status", DB_STATUS_INTERVAL_MS, collectDbStatus);
