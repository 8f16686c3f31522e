// Plan and apply a topology. Both observe every host (one command per host) and
// plan with the pure planner; apply then takes the hosts' locks, runs the steps
// tier by tier (database → app → web → load balancer; hosts in parallel within a
// tier, steps in order on each host), streams every line and the progress, and
// re-observes to prove the hosts converged. A resumed apply simply starts over:
// it re-observes, so work already done plans nothing and is never repeated.
import { TopologyRunInput } from "@/server/schemas/run";
import type { Tier } from "@/server/schemas/topology";
import type { Db } from "@/server/db";
import { loadTarget } from "@/server/services/targets";
import type { Target } from "@/server/exec/ssh-executor";
import { backendNames, desiredState, needsBackendCert, type HostDesired, type TopologySpec } from "@/server/provision/roles";
import type { SecretBox } from "@/server/secrets/envelope";
import { ensureBackendCert, ensureCa, ensureSiteBundle } from "@/server/services/certificates";
import { appSecretsContext, artifactPath, memberRoles, readApp } from "@/server/services/topologies";
import { readFile } from "node:fs/promises";
import { observeCommand, parseObservation } from "@/server/provision/observe";
import { type HostObservation, type Plan, type PlannedStep, planTopology, tiersWithWork, toPlanDto } from "@/server/provision/planner";
import { renderAction } from "@/server/provision/resources";
import { hostAuditCommand } from "@/server/provision/host-audit";
import { acquireHostLocks, HostLockBusyError } from "@/server/queue/host-locks";
import { describeCommand } from "@/server/provision/command";
import { TimeoutError } from "@/server/exec/errors";
import type { KindContext, KindResult, RunKindHandler } from "./types";
import { recordConnectionProblem } from "./server-check";

type Ctx = KindContext<TopologyRunInput>;

/** How long an apply waits for another run to release a host. */
const LOCK_WAIT_MS = 120_000;
const OBSERVE_TIMEOUT_S = 60;
/** At most this many hosts are observed at once. */
const OBSERVE_PARALLEL = 20;

/** The topology as the planner needs it: members, the app (its secret values decrypted), and no TLS material yet. */
export async function loadTopologySpec(db: Db, box: SecretBox, dataDir: string, topologyId: string): Promise<Omit<TopologySpec, "tls"> | null> {
  const t = await db.topology.findUnique({ where: { id: topologyId }, include: { members: { include: { server: true } } } });
  if (!t) return null;
  const members = [...t.members].sort((a, b) => a.server.name.localeCompare(b.server.name));
  const app = readApp(t.app);
  const secrets = t.appSecretsEnc ? (JSON.parse(box.decrypt(t.appSecretsEnc, appSecretsContext(t.id)).reveal()) as Record<string, string>) : {};
  return {
    id: t.id,
    name: t.name,
    balance: t.balance === "leastconn" ? "leastconn" : "roundrobin",
    app,
    appArchive: app.source === "tarball" && app.artifact ? await readFile(artifactPath(dataDir, app.artifact)).catch(() => null) : null,
    appEnv: app.env.flatMap((v): Array<[string, string]> => (v.secret ? (secrets[v.name] !== undefined ? [[v.name, secrets[v.name]!]] : []) : [[v.name, v.value ?? ""]])),
    hosts: members.map((m) => ({
      serverId: m.serverId,
      name: m.server.name,
      address: m.server.address,
      roles: memberRoles(m),
      monitoring: m.monitoring,
      drained: m.drained,
    })),
  };
}

/**
 * The certificates the topology needs, from the database: the internal CA's
 * certificate, each web/app server's certificate (issued, or re-issued past
 * two-thirds of its life), and the site's bundle for the load balancers.
 */
async function withTls(ctx: Ctx, spec: Omit<TopologySpec, "tls">, store: boolean): Promise<TopologySpec> {
  const ca = await ensureCa(ctx.db, ctx.box);
  const backends = new Map<string, { certPem: string; keyPem: string }>();
  for (const h of spec.hosts) if (needsBackendCert(h)) backends.set(h.serverId, await ensureBackendCert(ctx.db, ctx.box, ca, h.serverId, backendNames(h), new Date(), store));
  let siteBundle: string | null = null;
  if (spec.hosts.some((h) => h.roles.includes("load-balancer"))) {
    const site = await ensureSiteBundle(ctx.db, ctx.box, ca, { id: spec.id, name: spec.name }, new Date(), store);
    siteBundle = site.bundle;
    ctx.reporter.addSecret(site.bundle.slice(site.bundle.search(/-----BEGIN [A-Z ]*PRIVATE KEY-----/)));
  }
  for (const b of backends.values()) ctx.reporter.addSecret(b.keyPem);
  const secretNames = new Set(spec.app.env.filter((v) => v.secret).map((v) => v.name));
  for (const [k, v] of spec.appEnv) if (secretNames.has(k)) ctx.reporter.addSecret(v);
  return { ...spec, tls: { caPem: ca.certPem, siteBundle, backends } };
}

async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Observes every host (those in `only`, if given). A host that cannot be read gets an error, not a guess. */
async function observeHosts(ctx: Ctx, spec: TopologySpec, desired: Map<string, HostDesired>, targets: Map<string, Target>, only?: Set<string>) {
  const out = new Map<string, HostObservation>();
  const hosts = spec.hosts.filter((h) => !only || only.has(h.serverId));
  await parallel(hosts, OBSERVE_PARALLEL, async (h) => {
    const resources = desired.get(h.serverId)?.resources ?? [];
    const server = await ctx.db.server.findUnique({ where: { id: h.serverId } });
    if (!server) return void out.set(h.serverId, { ok: false, error: "the server was deleted" });
    try {
      let target = targets.get(h.serverId);
      if (!target) {
        target = await loadTarget(ctx.db, ctx.box, h.serverId);
        targets.set(h.serverId, target);
      }
      const r = await ctx.executor.exec(target, observeCommand(resources), { signal: ctx.signal });
      if (r.exitCode !== 0) throw new Error(`the observe command exited with ${r.exitCode}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
      out.set(h.serverId, { ok: true, observed: parseObservation(resources, r.stdout) });
    } catch (err) {
      ctx.signal.throwIfAborted();
      // A timeout's message would repeat the whole observe script: say it plainly.
      const e = err instanceof TimeoutError ? new Error(`reading the host's state did not finish within ${OBSERVE_TIMEOUT_S} s`) : err;
      out.set(h.serverId, { ok: false, error: await recordConnectionProblem(ctx, server, e, "could not observe the host") });
    }
  });
  return out;
}

/** Hosts Rampart may not connect to yet, with the reason. */
async function unpinnedHosts(db: Db, spec: Pick<TopologySpec, "hosts">): Promise<string[]> {
  const servers = await db.server.findMany({ where: { id: { in: spec.hosts.map((h) => h.serverId) } } });
  return servers
    .filter((s) => s.hostKeyStatus !== "pinned")
    .map((s) => `${s.name}: ${s.hostKeyStatus === "mismatch" ? "its host key changed; an admin must review it on the server's page" : "its host key has not been accepted yet (run a check, then accept it)"}`);
}

async function reportPlan(ctx: Ctx, plan: Plan): Promise<void> {
  for (const h of plan.hosts) {
    if (h.error) await ctx.reporter.error(`cannot plan: ${h.error}`, h.name);
    else if (h.steps.length === 0) await ctx.reporter.info("no changes", h.name);
    else for (const s of h.steps) await ctx.reporter.info(`will ${s.summary} (${s.reason})`, h.name);
  }
}

async function recordPlan(ctx: Ctx, plan: Plan, kind: "plan" | "apply"): Promise<void> {
  const failed = plan.hosts.some((h) => h.error);
  await ctx.db.run.update({ where: { id: ctx.runId }, data: { result: JSON.stringify(toPlanDto(plan)) } });
  await ctx.db.topology.update({
    where: { id: plan.topologyId },
    data: {
      driftStatus: failed ? "error" : plan.changes === 0 ? "in-sync" : "drifted",
      driftChanges: failed ? null : plan.changes,
      driftCheckedAt: new Date(),
      ...(kind === "plan" ? { lastPlanRunId: ctx.runId } : { lastApplyRunId: ctx.runId }),
    },
  });
}

const hostsWithChanges = (plan: Plan) => plan.hosts.filter((h) => h.steps.length > 0);
const changesText = (plan: Plan) => `${plan.changes} change${plan.changes === 1 ? "" : "s"} on ${hostsWithChanges(plan).length} host${hostsWithChanges(plan).length === 1 ? "" : "s"}`;

async function planFor(ctx: Ctx, spec: TopologySpec, targets: Map<string, Target>, only?: Set<string>) {
  const desired = desiredState(spec);
  const observations = await observeHosts(ctx, spec, desired, targets, only);
  const scoped: TopologySpec = only ? { ...spec, hosts: spec.hosts.filter((h) => only.has(h.serverId)) } : spec;
  return planTopology(scoped, desired, observations, new Date());
}

/** Loads the topology and its certificates; a plan (`store` false) issues no certificate for good. */
async function prepare(ctx: Ctx, store: boolean): Promise<TopologySpec | KindResult> {
  const spec = await loadTopologySpec(ctx.db, ctx.box, ctx.env.DATA_DIR, ctx.input.topologyId);
  if (!spec) return { status: "failed", outcome: "the topology no longer exists" };
  if (spec.hosts.length === 0) return { status: "failed", outcome: "the topology has no servers" };
  const blocked = await unpinnedHosts(ctx.db, spec);
  if (blocked.length > 0) {
    for (const b of blocked) await ctx.reporter.error(b);
    await ctx.db.topology.update({ where: { id: spec.id }, data: { driftStatus: "error", driftCheckedAt: new Date() } });
    return { status: "failed", outcome: `${blocked.length} server(s) cannot be reached safely yet: ${blocked.join("; ")}` };
  }
  try {
    return await withTls(ctx, spec, store);
  } catch (err) {
    await ctx.db.topology.update({ where: { id: spec.id }, data: { driftStatus: "error", driftCheckedAt: new Date() } });
    return { status: "failed", outcome: `certificates: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export const topologyPlan: RunKindHandler<typeof TopologyRunInput> = {
  input: TopologyRunInput,
  async run(ctx) {
    const spec = await prepare(ctx, false);
    if ("status" in spec) return spec;
    await ctx.reporter.info(`${ctx.input.drift ? "Drift check" : "Planning"} ${spec.name}: observing ${spec.hosts.length} host(s)`);
    const plan = await planFor(ctx, spec, new Map());
    await reportPlan(ctx, plan);
    await recordPlan(ctx, plan, "plan");
    const errors = plan.hosts.filter((h) => h.error);
    if (errors.length > 0) return { status: "failed", outcome: `could not observe ${errors.map((h) => `${h.name} (${h.error})`).join(", ")}` };
    if (plan.changes === 0) return { status: "succeeded", outcome: "no changes: every host matches the topology" };
    return { status: "succeeded", outcome: `${changesText(plan)}${ctx.input.drift ? " (drift: apply to restore)" : ""}` };
  },
};

/** Runs one host's steps of one tier, in order. Returns the error, if a step failed. */
async function runHostSteps(ctx: Ctx, target: Target, steps: PlannedStep[], progress: { done: number; total: number; audited: boolean }): Promise<string | null> {
  const host = target.name;
  const onLine = (_stream: "stdout" | "stderr", line: string) => void ctx.reporter.output(line, host);
  for (const step of steps) {
    ctx.signal.throwIfAborted();
    await ctx.reporter.progress(host, progress.done, progress.total, `[${progress.done + 1}/${progress.total}] ${step.summary}`);
    try {
      if (!progress.audited) {
        await ctx.executor.run(target, hostAuditCommand(`${new Date().toISOString()} run ${ctx.runId} apply requested by ${ctx.requestedBy}`), { signal: ctx.signal });
        progress.audited = true;
      }
      const rendered = renderAction(step.action);
      for (const cmd of rendered.before) {
        await ctx.reporter.emit("debug", `$ ${describeCommand(cmd)}`, host);
        await ctx.executor.run(target, cmd, { signal: ctx.signal, onLine });
      }
      if (rendered.upload) {
        await ctx.reporter.emit("debug", `upload ${rendered.upload.path}`, host);
        await ctx.executor.upload(target, rendered.upload, { signal: ctx.signal });
      }
      for (const cmd of rendered.after) await ctx.executor.run(target, cmd, { signal: ctx.signal, onLine });
    } catch (err) {
      ctx.signal.throwIfAborted();
      const message = err instanceof Error ? err.message : String(err);
      await ctx.reporter.error(`${step.summary} failed: ${message}`, host);
      return `${step.summary}: ${message.split("\n")[0]}`;
    }
    progress.done++;
    await ctx.reporter.progress(host, progress.done, progress.total, progress.done === progress.total ? "done" : `[${progress.done}/${progress.total}] ${step.summary}: done`);
  }
  return null;
}

export const topologyApply: RunKindHandler<typeof TopologyRunInput> = {
  input: TopologyRunInput,
  async run(ctx) {
    const spec = await prepare(ctx, true);
    if ("status" in spec) return spec;
    if (ctx.resumed) await ctx.reporter.info("Resuming: observing every host again, so steps already done are not repeated");

    let locks;
    try {
      locks = await acquireHostLocks(
        ctx.redis,
        ctx.runId,
        spec.hosts.map((h) => ({ id: h.serverId, name: h.name })),
        { waitMs: LOCK_WAIT_MS, signal: ctx.signal, onWait: (name, holder) => void ctx.reporter.warn(`waiting for run ${holder} to finish with this host`, name) },
      );
    } catch (err) {
      if (err instanceof HostLockBusyError) return { status: "failed", outcome: err.message };
      throw err;
    }
    const outer = ctx;
    ctx = { ...outer, signal: AbortSignal.any([outer.signal, locks.lost]) };
    try {
      const started = Date.now();
      await ctx.reporter.info(`Applying ${spec.name}: observing ${spec.hosts.length} host(s)`);
      const targets = new Map<string, Target>();
      const plan = await planFor(ctx, spec, targets);
      await recordPlan(ctx, plan, "apply");
      const broken = plan.hosts.filter((h) => h.error);
      if (broken.length > 0) {
        await reportPlan(ctx, plan);
        return { status: "failed", outcome: `nothing was changed: could not plan ${broken.map((h) => `${h.name} (${h.error})`).join(", ")}` };
      }
      if (plan.changes === 0) {
        for (const h of plan.hosts) await ctx.reporter.info("no changes", h.name);
        return { status: "succeeded", outcome: `no changes: every host already matches the topology (${Date.now() - started} ms)` };
      }
      await ctx.reporter.info(`Plan: ${changesText(plan)}`);
      await reportPlan(ctx, plan);

      const progress = new Map(plan.hosts.map((h) => [h.serverId, { done: 0, total: h.steps.length, audited: false }]));
      for (const h of hostsWithChanges(plan)) await ctx.reporter.progress(h.name, 0, h.steps.length, `0 of ${h.steps.length} steps`);
      const failures: string[] = [];
      const tiers = tiersWithWork(plan);
      for (const [i, tier] of tiers.entries()) {
        const hosts = plan.hosts.filter((h) => h.steps.some((s) => s.tier === tier));
        await ctx.reporter.info(`Stage ${i + 1} of ${tiers.length}: ${tierLabel(tier)} on ${hosts.map((h) => h.name).join(", ")}`);
        // If one host's lane breaks (cancel, lost lock, database error), stop the others
        // and wait for all of them before going on: the locks are released only after.
        const stage = new AbortController();
        const laneCtx = { ...ctx, signal: AbortSignal.any([ctx.signal, stage.signal]) };
        const lanes = await Promise.allSettled(
          hosts.map(async (h) => {
            try {
              const err = await runHostSteps(laneCtx, targets.get(h.serverId)!, h.steps.filter((s) => s.tier === tier), progress.get(h.serverId)!);
              if (err) failures.push(`${h.name}: ${err}`);
            } catch (e) {
              stage.abort(e);
              throw e;
            }
          }),
        );
        ctx.signal.throwIfAborted();
        const broke = lanes.find((l) => l.status === "rejected");
        if (broke) throw broke.reason;
        if (failures.length > 0) {
          const skipped = tiers.slice(i + 1);
          if (skipped.length > 0) await ctx.reporter.warn(`Stopping: later stages (${skipped.map(tierLabel).join(", ")}) depend on this one and were not started`);
          return { status: "failed", outcome: `${failures.join("; ")}. Fix the cause and retry: the retry re-plans and continues from where this stopped.` };
        }
      }

      // Prove it: observe the changed hosts again; a converged host plans nothing.
      const changed = new Set(hostsWithChanges(plan).map((h) => h.serverId));
      const after = await planFor(ctx, spec, targets, changed);
      const left = after.hosts.filter((h) => h.error || h.steps.length > 0);
      await ctx.db.topology.update({ where: { id: spec.id }, data: { driftStatus: left.length ? "drifted" : "in-sync", driftChanges: after.changes, driftCheckedAt: new Date() } });
      if (left.length > 0) {
        for (const h of left) await ctx.reporter.error(`still differs after apply: ${h.error ?? h.steps.map((s) => s.summary).join(", ")}`, h.name);
        return { status: "failed", outcome: `applied, but ${left.map((h) => h.name).join(", ")} did not converge` };
      }
      return { status: "succeeded", outcome: `applied ${changesText(plan)} in ${((Date.now() - started) / 1000).toFixed(1)} s; every host now matches the topology` };
    } finally {
      await locks.release();
    }
  },
};

function tierLabel(t: Tier): string {
  return { base: "base system", database: "databases", app: "app servers", web: "web servers", "load-balancer": "load balancers" }[t];
}
