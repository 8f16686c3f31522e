// The database checks the worker carries out over SSH (as root over the server's
// socket): the server's settings, and replication proven end to end — both
// threads running over TLS with GTID positioning, lag under the bound, and a row
// written on the primary arriving on the replica.
import { randomBytes } from "node:crypto";
import type { SshExecutor, Target } from "@/server/exec/ssh-executor";
import type { CheckResult } from "@/server/provision/checks";
import { FLAVOURS, parseReplicaStatus } from "@/server/provision/mysql/state";
import type { ReplicaStatus } from "@/server/provision/mysql/types";
import type { CheckSpec, HostSpec, ModuleName } from "@/server/provision/roles";
import { CHECK_DATABASE, primaryOf } from "@/server/provision/roles/database";
import type { TopologySpec } from "@/server/provision/roles";

/** What a check needs of the verify phase (its VerifyContext). */
interface VerifyContext {
  executor: SshExecutor;
  signal: AbortSignal;
  spec: TopologySpec;
  excused: Map<string, string>;
  targets?: Map<string, Target>;
}

const f = FLAVOURS.mariadb;
/** How long a heartbeat row may take to reach a replica before the check fails. */
const HEARTBEAT_WAIT_MS = 10_000;

/** Runs SQL as root over the server's socket; rows as arrays of columns (batch mode, tab-separated). */
export async function query(executor: SshExecutor, target: Target, sql: string, signal?: AbortSignal, headers = false): Promise<string[][]> {
  const r = await executor.run(target, { argv: [f.client, headers ? "-B" : "-NB", "--connect-timeout=5", "-e", sql], timeoutMs: 20_000 }, { signal });
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t"));
}

export async function replicaStatus(executor: SshExecutor, target: Target, signal?: AbortSignal): Promise<ReplicaStatus | null> {
  const rows = await query(executor, target, f.showReplicaStatus, signal, true);
  return rows.length >= 2 ? parseReplicaStatus(rows[0]!, rows[1]!) : null;
}

export interface ServerVars {
  ssl: string;
  gtidStrict: boolean;
  logBin: boolean;
  secureTransport: boolean;
  readOnly: boolean;
  serverId: number;
  gtidCurrent: string;
  gtidBinlog: string;
  gtidSlave: string;
}

export async function serverVars(executor: SshExecutor, target: Target, signal?: AbortSignal): Promise<ServerVars> {
  const [row] = await query(
    executor,
    target,
    "SELECT @@have_ssl, @@gtid_strict_mode, @@log_bin, @@require_secure_transport, @@read_only, @@server_id, @@gtid_current_pos, @@gtid_binlog_pos, @@gtid_slave_pos",
    signal,
  );
  if (!row) throw new Error("the server answered nothing");
  return {
    ssl: row[0] ?? "",
    gtidStrict: row[1] === "1",
    logBin: row[2] === "1",
    secureTransport: row[3] === "1",
    readOnly: row[4] === "1",
    serverId: Number(row[5]),
    gtidCurrent: row[6] ?? "",
    gtidBinlog: row[7] ?? "",
    gtidSlave: row[8] ?? "",
  };
}

export async function mysqlServerCheck(ctx: VerifyContext, target: Target, role: ModuleName, c: Extract<CheckSpec, { kind: "mysql-server" }>, name: string): Promise<CheckResult> {
  const expected = `TLS available and required, the binary log on with GTID strict mode, server_id ${c.serverId}, ${c.role === "replica" ? "read-only" : "writable"}`;
  const v = await serverVars(ctx.executor, target, ctx.signal);
  const wrong: string[] = [];
  if (v.ssl !== "YES") wrong.push(`TLS is ${v.ssl || "unavailable"} (have_ssl): the certificate or key could not be loaded`);
  if (!v.secureTransport) wrong.push("require_secure_transport is off");
  if (!v.logBin) wrong.push("the binary log is off");
  if (!v.gtidStrict) wrong.push("gtid_strict_mode is off");
  if (v.serverId !== c.serverId) wrong.push(`server_id is ${v.serverId}`);
  if (c.role === "replica" && !v.readOnly) wrong.push("it is writable");
  if (c.role === "primary" && v.readOnly) wrong.push("it is read-only");
  if (wrong.length > 0) return { role, name, ok: false, expected, found: wrong.join("; ") };
  return { role, name, ok: true, expected, found: `as expected (GTID position ${v.gtidCurrent || "empty"})` };
}

export async function replicationCheck(ctx: VerifyContext, h: HostSpec, target: Target, role: ModuleName, c: Extract<CheckSpec, { kind: "replication" }>, name: string): Promise<CheckResult> {
  const primary = primaryOf(ctx.spec);
  const expected = `IO and SQL threads running from ${primary?.name ?? "the primary"} over TLS with GTID positioning, less than ${c.maxLagS} s behind, a row written on the primary arriving within ${HEARTBEAT_WAIT_MS / 1000} s`;
  if (!primary) return { role, name, ok: false, expected, found: "the topology has no primary" };
  const s = await replicaStatus(ctx.executor, target, ctx.signal);
  if (!s) return { role, name, ok: false, expected, found: "it does not replicate (no replication configured)" };
  const wrong: string[] = [];
  if (s.io !== "Yes") wrong.push(`the IO thread is ${s.io === "No" ? "stopped" : s.io.toLowerCase()}${s.lastIoError ? ` (${s.lastIoError})` : ""}`);
  if (s.sql !== "Yes") wrong.push(`the SQL thread is stopped${s.lastSqlError ? ` (${s.lastSqlError})` : ""}`);
  if (!s.ssl || !s.sslVerify) wrong.push("replication does not verify the primary's TLS certificate");
  if (s.usingGtid !== "Slave_Pos" && s.usingGtid !== "Current_Pos") wrong.push(`GTID positioning is ${s.usingGtid}`);
  if (s.lagS !== null && s.lagS > c.maxLagS) wrong.push(`${s.lagS} s behind`);
  if (wrong.length > 0) return { role, name, ok: false, expected, found: wrong.join("; ") };
  const source = ctx.targets?.get(primary.serverId);
  if (!source || ctx.excused.has(primary.serverId))
    return { role, name, ok: true, expected, found: `threads running, ${s.lagS ?? "?"} s behind (the primary is not reachable in this run: no test row written)` };
  // A heartbeat row, written as root on the primary (sql_log_bin on: it replicates).
  const token = randomBytes(16).toString("hex");
  await query(
    ctx.executor,
    source,
    `CREATE TABLE IF NOT EXISTS \`${CHECK_DATABASE}\`.heartbeat (id TINYINT PRIMARY KEY, token CHAR(32) NOT NULL, written_at TIMESTAMP(6) NOT NULL); REPLACE INTO \`${CHECK_DATABASE}\`.heartbeat VALUES (1, '${token}', NOW(6))`,
    ctx.signal,
  );
  const started = Date.now();
  for (;;) {
    const rows = await query(ctx.executor, target, `SELECT token FROM \`${CHECK_DATABASE}\`.heartbeat WHERE id = 1`, ctx.signal).catch(() => []);
    if (rows[0]?.[0] === token)
      return { role, name, ok: true, expected, found: `threads running over TLS, ${s.lagS ?? 0} s behind; a row written on ${primary.name} arrived in ${Date.now() - started} ms` };
    if (Date.now() - started > HEARTBEAT_WAIT_MS) return { role, name, ok: false, expected, found: `a row written on ${primary.name} did not arrive within ${HEARTBEAT_WAIT_MS / 1000} s` };
    await new Promise((r) => setTimeout(r, 100));
    ctx.signal.throwIfAborted();
  }
}
