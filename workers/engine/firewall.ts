// The worker's side of the firewall: the commit-confirm over a NEW connection (and
// the proof of a rollback when that connection fails), the rollbacks hosts report,
// the control plane's addresses, and the reachability matrix.
import net from "node:net";
import { setTimeout as wait } from "node:timers/promises";
import type { Db } from "@/server/db";
import type { SshExecutor, Target } from "@/server/exec/ssh-executor";
import type { Command } from "@/server/provision/command";
import type { RunReporter } from "@/server/queue/run-events";
import type { HostDesired, HostSpec, TopologySpec } from "@/server/provision/roles";
import type { HostObservation } from "@/server/provision/planner";
import { expectedReachability, type ReachProbe } from "@/server/provision/firewall/policy";
import { parseReachProbe, reachProbeCommand, rollbackTraceCommand } from "@/server/provision/firewall/render";
import type { Observed } from "@/server/provision/resources";
import type { Reach, ReachabilityDto, ReachCellDto } from "@/server/schemas/firewall";

export interface FirewallCtx {
  db: Db;
  executor: SshExecutor;
  reporter: RunReporter;
  signal: AbortSignal;
  runId: string;
  env: { RAMPART_TEST_FIREWALL_CONFIRM_DELAY_MS: number };
}

export class FirewallRolledBackError extends Error {
  override name = "FirewallRolledBackError";
}

const sleep = (ms: number, signal: AbortSignal) => wait(ms, undefined, { signal });

const firewallOf = (o: HostObservation | undefined): Extract<Observed, { kind: "firewall" }> | null => {
  if (!o?.ok) return null;
  const f = [...o.observed.values()].find((x) => x.kind === "firewall");
  return f?.kind === "firewall" ? f : null;
};

/**
 * After the new rules loaded: open a NEW connection (the pooled one rides on an
 * established flow the rules let through anyway) and confirm over it. If Rampart
 * cannot get in, the host restores its previous rules when the window ends: wait for
 * that, prove it over another new connection, record it, and fail the step.
 */
export async function confirmFirewall(
  ctx: FirewallCtx,
  target: Target,
  host: { serverId: string; name: string; topologyId: string },
  confirm: { command: Command; hash: string; windowS: number },
): Promise<void> {
  const armedAt = Date.now();
  if (ctx.env.RAMPART_TEST_FIREWALL_CONFIRM_DELAY_MS > 0) await sleep(ctx.env.RAMPART_TEST_FIREWALL_CONFIRM_DELAY_MS, ctx.signal);
  let why: string;
  try {
    const r = await ctx.executor.execFresh(target, confirm.command, { signal: ctx.signal, connectAttempts: 2 });
    if (r.exitCode === 0) {
      await ctx.reporter.info("firewall confirmed over a new SSH connection; the rules are permanent", host.name);
      return;
    }
    if (r.exitCode !== 3) throw new Error(`the confirm command exited with ${r.exitCode}: ${r.stderr.trim().split("\n").slice(-2).join(" / ")}`);
    why = "the confirm window ended before Rampart confirmed";
  } catch (err) {
    ctx.signal.throwIfAborted();
    if (err instanceof Error && /confirm command exited/.test(err.message)) throw err;
    why = `Rampart could not get in over a new SSH connection (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`;
    await ctx.reporter.error(`${why}: the host restores its previous rules within ${confirm.windowS} s of loading these`, host.name);
    await sleep(Math.max(0, armedAt + confirm.windowS * 1000 + 3000 - Date.now()), ctx.signal);
  }
  // Prove the rollback: a new connection must get in, and the trace must name this rule set.
  let trace = "";
  try {
    trace = (await ctx.executor.execFresh(target, rollbackTraceCommand(), { signal: ctx.signal, connectAttempts: 3 })).stdout.trim();
  } catch (err) {
    ctx.signal.throwIfAborted();
    throw new Error(`the host did not let Rampart in after the confirm window either (${err instanceof Error ? err.message.split("\n")[0] : String(err)}): check its console`);
  }
  const [hash, at] = trace.split(" ");
  if (!hash || hash.slice(0, 16) !== confirm.hash.slice(0, 16)) throw new Error(`a new connection gets in again, but the host left no trace of rolling back (found "${trace}")`);
  const when = new Date(Number(at) * 1000 || Date.now());
  await recordRollback(ctx.db, ctx.runId, host, confirm.hash, when, why);
  throw new FirewallRolledBackError(`rolled back by the host at ${when.toISOString()}: ${why}; a new connection gets in again with the previous rules`);
}

async function recordRollback(db: Db, runId: string | null, host: { serverId: string; name: string; topologyId: string }, hash: string, at: Date, detail: string): Promise<boolean> {
  const exists = await db.firewallEvent.findFirst({ where: { serverId: host.serverId, kind: "rolled-back", rulesetHash: { startsWith: hash.slice(0, 16) }, at } });
  if (exists) return false;
  await db.firewallEvent.create({ data: { topologyId: host.topologyId, serverId: host.serverId, serverName: host.name, runId, kind: "rolled-back", rulesetHash: hash, detail, at } });
  return true;
}

/**
 * What the observations say about the firewall: a rollback a host carried out after
 * its worker died (recorded once, reported every time it blocks the plan), and the
 * addresses Rampart connects from (remembered: SSH stays open to each).
 * Returns the control plane's addresses as the hosts see them.
 */
export async function learnFromObservations(ctx: FirewallCtx, spec: TopologySpec, observations: Map<string, HostObservation>): Promise<string[]> {
  const seen = new Set<string>();
  for (const h of spec.hosts) {
    const f = firewallOf(observations.get(h.serverId));
    if (!f) continue;
    if (f.client) seen.add(f.client);
    if (f.rolledBack) {
      const fresh = await recordRollback(
        ctx.db,
        null,
        { serverId: h.serverId, name: h.name, topologyId: spec.id },
        f.rolledBack.hash,
        f.rolledBack.at,
        "the host restored its previous rules: no new connection confirmed the rule set in time (the worker stopped, or could not get in)",
      );
      if (fresh) await ctx.reporter.warn(`firewall: rolled back by the host at ${f.rolledBack.at.toISOString()}: the rule set loaded then was never confirmed`, h.name);
    }
  }
  const now = new Date();
  for (const address of seen) await ctx.db.controlPlaneAddress.upsert({ where: { address }, create: { address }, update: { lastSeenAt: now } });
  return [...seen];
}

// ---- The reachability matrix

/** Fast first: a LAN answers in well under this; a probe that disagrees is tried again with the slow timeout. */
const FAST_TIMEOUT_S = 0.5;
const SLOW_TIMEOUT_S = 3;

function connectFromHere(address: string, port: number, timeoutS: number): Promise<Reach> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    const done = (r: Reach) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutS * 1000, () => done("filtered"));
    s.once("connect", () => done("open"));
    s.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "refused" : "filtered"));
  });
}

/** One probe's identity, the same whatever the control plane's address turns out to be. */
const pairKey = (p: Pick<ReachProbe, "from" | "toServerId" | "port">) => `${p.from} ${p.toServerId} ${p.port}`;

/** What probes found, by pair (null: the source could not be reached to probe from). */
export type ReachFound = Map<string, Reach | null>;

/** Probes every source → (server, port) pair; a source whose probes fail leaves its cells unjudged. */
async function probe(ctx: FirewallCtx, probes: ReachProbe[], targets: ReadonlyMap<string, Target>, timeoutS: number): Promise<ReachFound> {
  const out: ReachFound = new Map();
  const bySource = new Map<string, ReachProbe[]>();
  for (const p of probes) bySource.set(p.from, [...(bySource.get(p.from) ?? []), p]);
  await Promise.all(
    [...bySource].map(async ([from, list]) => {
      if (from === "control-plane") {
        await Promise.all(list.map(async (p) => out.set(pairKey(p), await connectFromHere(p.address, p.port, timeoutS))));
        return;
      }
      const target = targets.get(from);
      if (!target) return list.forEach((p) => out.set(pairKey(p), null));
      try {
        const r = await ctx.executor.exec(target, reachProbeCommand(list, timeoutS), { signal: ctx.signal, connectAttempts: 1 });
        const { found, complete } = parseReachProbe(r.stdout);
        for (const p of list) out.set(pairKey(p), found.get(`${p.address} ${p.port}`) ?? (complete ? "filtered" : null));
      } catch {
        ctx.signal.throwIfAborted();
        list.forEach((p) => out.set(pairKey(p), null));
      }
    }),
  );
  return out;
}

const listeningIn = (desired: Map<string, HostDesired>) => (h: HostSpec) => new Set((desired.get(h.serverId)?.ports ?? []).filter((p) => p.scope === "any").map((p) => p.port));

/**
 * The first, fast round of probes, started while the hosts are still being observed:
 * a run that changes nothing judges these (the pairs do not depend on the control
 * plane's address, only what is expected of them does). Never rejects: null if it failed.
 */
export function probeReachabilityEarly(ctx: FirewallCtx, spec: TopologySpec, desired: Map<string, HostDesired>, targets: ReadonlyMap<string, Target>): Promise<ReachFound | null> {
  const pairs = expectedReachability(spec, spec.firewall, "0.0.0.0", listeningIn(desired));
  return probe(ctx, pairs, targets, FAST_TIMEOUT_S).catch(() => null);
}

/**
 * Who can reach what: from the control plane and from inside each host, every port
 * the topology uses on every server, expected (from the policy) against observed.
 * Hosts in `skip` (unreachable, skipped) are neither probed from nor judged. `early`:
 * a first round already probed (by probeReachabilityEarly) in this state of the hosts.
 */
export async function reachabilityMatrix(
  ctx: FirewallCtx,
  spec: TopologySpec,
  desired: Map<string, HostDesired>,
  targets: Map<string, Target>,
  controlPlaneAddress: string | null,
  skip: ReadonlySet<string>,
  early: ReachFound | null = null,
): Promise<ReachabilityDto> {
  const all = expectedReachability(spec, spec.firewall, controlPlaneAddress ?? "0.0.0.0", listeningIn(desired)).filter(
    (p) => !skip.has(p.toServerId) && !skip.has(p.from) && (p.from !== "control-plane" || controlPlaneAddress !== null),
  );
  const first = early && all.every((p) => early.has(pairKey(p))) ? early : await probe(ctx, all, targets, FAST_TIMEOUT_S);
  // A slow network may look "filtered" at first: what disagrees is probed again, slowly.
  const again = all.filter((p) => first.get(pairKey(p)) != null && first.get(pairKey(p)) !== p.expected);
  const second: ReachFound = again.length > 0 ? await probe(ctx, again, targets, SLOW_TIMEOUT_S) : new Map();
  const cells: ReachCellDto[] = all.map((p) => {
    const key = pairKey(p);
    const observed = second.has(key) ? second.get(key)! : (first.get(key) ?? null);
    return {
      from: p.from,
      fromName: p.fromName,
      toServerId: p.toServerId,
      toName: p.toName,
      address: p.address,
      port: p.port,
      purpose: p.purpose,
      expected: p.expected,
      observed,
      ok: observed === null || observed === p.expected,
    };
  });
  return { checkedAt: new Date(), cells, mismatches: cells.filter((c) => !c.ok).length };
}
