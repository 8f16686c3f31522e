// Promotion of a database replica, as an operation. The preview reads the candidate
// and the primary and refuses a promotion that would lose or invent data (the SQL
// thread stopped, too much lag, errant GTIDs, the cool-down). Confirmed, it holds
// every host's lock and runs its phases, each in the journal:
//
//   fence old primary   read-only, the app's accounts locked and their connections
//                       killed (kept out of the binary log); its last GTID recorded.
//                       Skipped only in a forced promotion of an unreachable primary.
//   catch up            the candidate applies everything up to that GTID.
//   change roles        the topology now names the candidate primary and the old
//                       primary a replica (from here on, any apply converges the new
//                       arrangement: never two writable primaries).
//   promote             the candidate stops replicating and takes writes.
//   repoint replicas    the other replicas follow the candidate (GTID positioning).
//   switch app          the app tier's apply: the app servers' credentials name the
//                       new primary (writes resume here).
//   converge            a full apply: firewalls, the old primary loaded from the new
//                       one as a replica, every check.
//
// Not resumable: a worker that dies mid-phase ends the run failed with its journal,
// and the registry's note says what to do next.
import { lookup } from "node:dns/promises";
import { z } from "zod";
import type { Target } from "@/server/exec/ssh-executor";
import { loadTarget } from "@/server/services/targets";
import { memberRoles } from "@/server/services/topologies";
import { databaseCredentials } from "@/server/services/topology-secrets";
import { FLAVOURS, REPLICATION_MARKER } from "@/server/provision/mysql/state";
import { errantGtids, formatGtids, gtidGap } from "@/server/provision/mysql/gtid";
import { renderAction } from "@/server/provision/resources";
import { APP_DB_USER, MYSQL_CA, MYSQL_PORT, REPL_USER, replicationMarkerKey } from "@/server/provision/roles/database";
import { DbStatus, PromoteInput } from "@/server/schemas/database";
import { query, replicaStatus } from "../engine/mysql";
import { defineOperation, holdTopologyHosts, type OperationContext } from "../operations";
import { applyUnderHeldLocks } from "./topology";
import type { KindContext, KindResult } from "./types";

type Input = z.infer<typeof PromoteInput>;
type Ctx = KindContext<Input>;
const f = FLAVOURS.mariadb;

/** A candidate further behind than this is refused (it would take long to catch up, or it is stuck). */
export const MAX_PROMOTION_LAG_S = 5;
/** How long the catch-up waits for the candidate to apply the old primary's last transaction. */
const CATCH_UP_S = 60;
const LOCK_WAIT_MS = 120_000;

interface Member {
  serverId: string;
  name: string;
  address: string;
  roles: string[];
}

async function loadTopology(ctx: Ctx) {
  const t = await ctx.db.topology.findUnique({ where: { id: ctx.input.topologyId }, include: { members: { include: { server: true } } } });
  if (!t) throw new Error("the topology has been deleted");
  const members: Member[] = t.members.map((m) => ({ serverId: m.serverId, name: m.server.name, address: m.server.address, roles: memberRoles(m) }));
  const primary = members.find((m) => m.roles.includes("db-primary")) ?? null;
  const candidate = members.find((m) => m.serverId === ctx.input.candidateId) ?? null;
  return { t, members, primary, candidate };
}

/** Does a replica's source (an address) name this server (an address or a host name)? */
async function sameHost(source: string, address: string): Promise<boolean> {
  if (source === address) return true;
  const found = await lookup(address, { all: true }).catch(() => []);
  return found.some((a) => a.address === source);
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0]!;

async function positions(ctx: Ctx, target: Target) {
  const [row] = await query(ctx.executor, target, f.positionsSql, ctx.signal);
  if (!row) throw new Error("the server answered nothing");
  return { readOnly: row[0] === "1", binlogState: row[1] ?? "", binlogPos: row[2] ?? "", currentPos: row[3] ?? "", slavePos: row[4] ?? "" };
}

/** Reads both servers and says what stands in the way; changes nothing. */
async function assess(ctx: Ctx) {
  const { t, members, primary, candidate } = await loadTopology(ctx);
  if (!candidate) throw new Error("the candidate is not a member of this topology");
  if (!candidate.roles.includes("db-replica")) throw new Error(`${candidate.name} is not a database replica of this topology`);
  if (!primary) throw new Error("the topology has no database primary to take over from");
  const last = await ctx.db.run.findFirst({ where: { kind: "db-promote", topologyId: t.id, status: "succeeded", id: { not: ctx.runId } }, orderBy: { finishedAt: "desc" } });
  const cooldownS = ctx.env.PROMOTION_COOLDOWN_S;
  if (last?.finishedAt && Date.now() - last.finishedAt.getTime() < cooldownS * 1000) {
    const left = Math.ceil((cooldownS * 1000 - (Date.now() - last.finishedAt.getTime())) / 1000);
    throw new Error(`cool-down: the last promotion of this topology ended at ${last.finishedAt.toISOString()}; another is refused for ${left} s more (PROMOTION_COOLDOWN_S=${cooldownS})`);
  }
  const candidateTarget = await loadTarget(ctx.db, ctx.box, candidate.serverId);
  let cand: Awaited<ReturnType<typeof positions>>;
  let status: Awaited<ReturnType<typeof replicaStatus>>;
  try {
    cand = await positions(ctx, candidateTarget);
    status = await replicaStatus(ctx.executor, candidateTarget, ctx.signal);
  } catch (err) {
    throw new Error(`the candidate ${candidate.name} cannot be read: ${message(err)}`);
  }
  const refusals: string[] = [];
  if (!status) refusals.push(`${candidate.name} does not replicate`);
  else {
    if (!(await sameHost(status.sourceHost, primary.address))) refusals.push(`${candidate.name} replicates from ${status.sourceHost}, not from the primary ${primary.name}`);
    if (status.sql !== "Yes") refusals.push(`the SQL thread of ${candidate.name} is stopped${status.lastSqlError ? ` (${status.lastSqlError})` : ""}: it has not applied what it received`);
    if (status.lagS === null && status.sql === "Yes" && status.io === "Yes") refusals.push(`${candidate.name} cannot tell how far behind it is`);
    if (status.lagS !== null && status.lagS > MAX_PROMOTION_LAG_S) refusals.push(`${candidate.name} is ${status.lagS} s behind the primary (at most ${MAX_PROMOTION_LAG_S} s)`);
  }
  let prim: Awaited<ReturnType<typeof positions>> | null = null;
  let primaryError: string | null = null;
  try {
    prim = await positions(ctx, await loadTarget(ctx.db, ctx.box, primary.serverId));
  } catch (err) {
    primaryError = message(err);
  }
  if (prim) {
    const errant = errantGtids(cand.binlogState, prim.binlogState);
    if (errant.length > 0) refusals.push(`errant transactions on ${candidate.name}: ${formatGtids(errant)} (in its binary log, never on the primary ${primary.name})`);
  }
  // What the worker last read from the primary, for a forced promotion's known gap.
  const lastSeen = t.dbStatus ? DbStatus.safeParse(JSON.parse(t.dbStatus)) : null;
  const seen = lastSeen?.success ? lastSeen.data.members.find((m) => m.serverId === primary.serverId && m.gtidBinlog) : undefined;
  const primaryPos = prim?.binlogPos ?? seen?.gtidBinlog ?? "";
  const gap = primaryPos ? gtidGap(primaryPos, cand.currentPos) : [];
  return { t, members, primary, candidate, cand, status, prim, primaryError, refusals, gap, seenAt: seen?.seenAt ?? null };
}

async function preview(ctx: Ctx) {
  const a = await assess(ctx);
  if (a.refusals.length > 0) throw new Error(`promotion refused: ${a.refusals.join("; ")}`);
  const others = a.members.filter((m) => m.roles.includes("db-replica") && m.serverId !== a.candidate.serverId).map((m) => m.name);
  const details = {
    candidate: a.candidate.name,
    primary: a.primary.name,
    lagS: a.status?.lagS ?? null,
    candidateGtid: a.cand.currentPos,
    primaryGtid: a.prim?.binlogPos ?? null,
    primaryReachable: !a.primaryError,
    otherReplicas: others,
    forced: !!a.primaryError,
  };
  if (a.primaryError) {
    if (!ctx.input.force)
      throw new Error(
        `promotion refused: the primary ${a.primary.name} cannot be reached (${a.primaryError}), so it cannot be fenced and what it wrote last cannot be waited for. ` +
          `Start a forced promotion to go ahead anyway: ${a.gap.length > 0 ? `the primary was last seen at ${a.gap.map((g) => g.ahead).join(",")}${a.seenAt ? ` (${a.seenAt.toISOString()})` : ""} and ${a.candidate.name} has applied ${a.cand.currentPos || "nothing"}: up to ${a.gap.reduce((n, g) => n + g.missing, 0)} transaction(s) would be lost` : `${a.candidate.name} has applied ${a.cand.currentPos || "nothing"}; transactions the primary wrote after that would be lost`}`,
      );
    const gapText =
      a.gap.length > 0
        ? `up to ${a.gap.reduce((n, g) => n + g.missing, 0)} transaction(s) may be lost (the primary was last seen at ${a.gap.map((g) => g.ahead).join(",")}, ${a.candidate.name} has applied ${a.cand.currentPos})`
        : "transactions the primary wrote after the last reading may be lost";
    return { summary: `FORCED: will make ${a.candidate.name} the primary without fencing ${a.primary.name} (unreachable: ${a.primaryError}); ${gapText}`, details: { ...details, gap: a.gap } };
  }
  return {
    summary: `will fence ${a.primary.name} (read-only, the app's accounts locked), let ${a.candidate.name} apply everything (${a.status?.lagS ?? 0} s behind, no errant GTIDs), make it the primary${others.length ? `, repoint ${others.join(", ")}` : ""}, switch the app servers to it, then apply the topology (${a.primary.name} rejoins as a replica)`,
    details,
  };
}

async function targetOf(ctx: Ctx, m: Member) {
  return loadTarget(ctx.db, ctx.box, m.serverId);
}

export const dbPromote = defineOperation({
  input: PromoteInput,
  preview,
  hold: (ctx) => holdTopologyHosts(ctx, ctx.input.topologyId, LOCK_WAIT_MS),
  phases: [
    {
      name: "fence old primary",
      async run(ctx) {
        // Read again: between the preview and the confirmation anything may have changed.
        const a = await assess(ctx);
        if (a.refusals.length > 0) throw new Error(`no longer safe: ${a.refusals.join("; ")}`);
        if (a.primaryError) {
          if (!ctx.input.force) throw new Error(`the primary ${a.primary.name} cannot be reached (${a.primaryError}); only a forced promotion goes ahead without fencing it`);
          await ctx.reporter.warn(`not fenced: ${a.primaryError}. It must not take writes again: an apply makes it a read-only replica once it is back`, a.primary.name);
          return { fenced: false, reason: a.primaryError, gtid: null };
        }
        const apps = a.members.filter((m) => m.roles.includes("app")).map((m) => ({ user: APP_DB_USER, host: m.address }));
        const rows = await query(ctx.executor, await targetOf(ctx, a.primary), f.fenceSql(apps), ctx.signal);
        const gtid = rows.at(-1)?.[0] ?? "";
        await ctx.reporter.info(`read-only, the app's accounts locked and disconnected; its last transaction: ${gtid || "none"}`, a.primary.name);
        return { fenced: true, gtid, primary: a.primary.name };
      },
    },
    {
      name: "catch up",
      async run(ctx, state) {
        const { candidate } = await loadTopology(ctx);
        const target = await targetOf(ctx, candidate!);
        const gtid = (state["fence old primary"] as { gtid: string | null } | null)?.gtid;
        if (!gtid) {
          // Unfenced (forced): apply what was received, whatever the IO thread has.
          const s = await replicaStatus(ctx.executor, target, ctx.signal);
          const received = s?.gtidIoPos ?? "";
          if (!received) return { waitedFor: null };
          const [[r]] = (await query(ctx.executor, target, f.gtidWaitSql(received, CATCH_UP_S), ctx.signal)) as [[string]];
          if (r !== "0") throw new Error(`${candidate!.name} did not apply what it received (${received}) within ${CATCH_UP_S} s`);
          return { waitedFor: received };
        }
        const started = Date.now();
        const [[r]] = (await query(ctx.executor, target, f.gtidWaitSql(gtid, CATCH_UP_S), ctx.signal)) as [[string]];
        if (r !== "0")
          throw new Error(
            `${candidate!.name} did not apply the old primary's last transaction ${gtid} within ${CATCH_UP_S} s: the old primary stays fenced; see why the candidate lags, then promote again`,
          );
        await ctx.reporter.info(`applied everything up to ${gtid} (${Date.now() - started} ms)`, candidate!.name);
        return { waitedFor: gtid, ms: Date.now() - started };
      },
    },
    {
      name: "change roles",
      async run(ctx) {
        const { primary, candidate } = await loadTopology(ctx);
        if (!candidate) throw new Error("the candidate is no longer a member of the topology");
        const swap = (roles: string[], from: string, to: string) => JSON.stringify([...roles.filter((r) => r !== from && r !== to), to]);
        await ctx.db.$transaction([
          ctx.db.topologyMember.update({
            where: { topologyId_serverId: { topologyId: ctx.input.topologyId, serverId: candidate.serverId } },
            data: { roles: swap(candidate.roles, "db-replica", "db-primary") },
          }),
          ...(primary && primary.serverId !== candidate.serverId
            ? [
                ctx.db.topologyMember.update({
                  where: { topologyId_serverId: { topologyId: ctx.input.topologyId, serverId: primary.serverId } },
                  data: { roles: swap(primary.roles, "db-primary", "db-replica") },
                }),
              ]
            : []),
        ]);
        await ctx.reporter.info(`The topology now names ${candidate.name} the database primary${primary ? ` and ${primary.name} a replica` : ""}`);
        return { primary: candidate.name, formerPrimary: primary?.name ?? null };
      },
    },
    {
      name: "promote",
      async run(ctx) {
        const { candidate } = await loadTopology(ctx);
        const rows = await query(ctx.executor, await targetOf(ctx, candidate!), f.promoteSql, ctx.signal);
        const gtid = rows.at(-1)?.[0] ?? "";
        await ctx.reporter.info(`replication stopped and reset; writable; at ${gtid}`, candidate!.name);
        return { gtid };
      },
    },
    {
      name: "repoint replicas",
      async run(ctx, state) {
        const { t, members, candidate } = await loadTopology(ctx);
        const former = (state["change roles"] as { formerPrimary: string | null } | null)?.formerPrimary;
        // The old primary rejoins in the converge phase (loaded from the new one); the other replicas follow it now.
        const others = members.filter((m) => m.roles.includes("db-replica") && m.name !== former);
        const creds = await databaseCredentials(ctx.db, ctx.box, t.id, members, true);
        const done: string[] = [];
        for (const r of others) {
          const password = creds?.replPasswords.get(r.serverId);
          if (!password) throw new Error(`no replication password for ${r.name}`);
          ctx.reporter.addSecret(password.reveal());
          const source = { serverId: candidate!.serverId, name: candidate!.name, host: candidate!.address, port: MYSQL_PORT, user: REPL_USER };
          const key = replicationMarkerKey(source, password);
          const rendered = renderAction({ op: "mysql", flavour: "mariadb", statements: [{ do: "replicate", source, password, caFile: MYSQL_CA, marker: { path: REPLICATION_MARKER, key } }] });
          const target = await targetOf(ctx, r);
          for (const cmd of rendered.before) await ctx.executor.run(target, cmd, { signal: ctx.signal });
          await ctx.reporter.info(`follows ${candidate!.name} now (GTID positioning)`, r.name);
          done.push(r.name);
        }
        return { repointed: done };
      },
    },
    {
      name: "switch app",
      async run(ctx) {
        const r = await applyUnderHeldLocks(ctx, (ctx as OperationContext<Input>).held!, ctx.input.topologyId, { tiers: ["app"] });
        if (r.status === "failed") throw new Error(`the app servers could not be switched to the new primary: ${r.outcome}`);
        return { status: r.status, outcome: r.outcome };
      },
    },
    {
      name: "converge",
      async run(ctx) {
        const r = await applyUnderHeldLocks(ctx, (ctx as OperationContext<Input>).held!, ctx.input.topologyId);
        return { status: r.status, outcome: r.outcome };
      },
    },
  ],
  outcome(_ctx, state): KindResult {
    const roles = state["change roles"] as { primary: string; formerPrimary: string | null } | null;
    const fence = state["fence old primary"] as { fenced: boolean } | null;
    const converge = state["converge"] as { status: KindResult["status"]; outcome: string } | null;
    const what = `${roles?.primary} is the primary${fence?.fenced ? ` (${roles?.formerPrimary} fenced first)` : ` (forced: ${roles?.formerPrimary} was not fenced)`}`;
    if (converge?.status !== "succeeded")
      return { status: "partial", outcome: `${what}; the apply that follows: ${converge?.outcome ?? "did not run"}. Apply the topology again once the servers are reachable` };
    return { status: "succeeded", outcome: `${what}; the app writes to it, and every host converged (${roles?.formerPrimary} rejoined as a replica)` };
  },
});
