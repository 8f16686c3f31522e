// Plan and apply a topology. Both observe every host (one command per host) and
// plan with the pure planner, then run the roles' checks. Apply takes the hosts'
// locks and works tier by tier (database → app → web → load balancer); within a
// tier, hosts change in batches (one host first, then batches of the topology's
// size) with a failure budget; after a host's steps it is observed again and its
// roles' checks must pass. A host that cannot be reached is skipped (with the
// hosts that depend on it) and the run ends "partially applied", unless the
// apply is strict. A resumed apply simply starts over: it re-observes, so work
// already done plans nothing and is never repeated.
import { TopologyRunInput } from "@/server/schemas/run";
import type { Tier } from "@/server/schemas/topology";
import type { Db } from "@/server/db";
import { loadTarget } from "@/server/services/targets";
import type { Target } from "@/server/exec/ssh-executor";
import { databaseCredentials } from "@/server/services/topology-secrets";
import { backendNames, dependencies, desiredState, modulesOf, needsBackendCert, type HostDesired, type HostSpec, type TopologySpec } from "@/server/provision/roles";
import type { SecretBox } from "@/server/secrets/envelope";
import { ensureBackendCert, ensureCa, ensureCollectorCert, ensureSiteBundle } from "@/server/services/certificates";
import { appSecretsContext, artifactPath, memberRoles, readApp, reviewedPlan, secretsWaitForApproval } from "@/server/services/topologies";
import { staleText, unreviewedSteps } from "@/server/provision/plan-review";
import { readFile } from "node:fs/promises";
import { ArchiveError, inspectArchive } from "@/server/provision/archive";
import { type Freshness, observeCommand, parseHostObservation } from "@/server/provision/observe";
import { type HostObservation, type HostPlan, type Plan, type PlannedStep, observeExtras, planHost, planTopology, toPlanDto } from "@/server/provision/planner";
import { type CheckResult, isHostCheck, judgeHostCheck } from "@/server/provision/checks";
import { TIERS } from "@/server/schemas/topology";
import type { HostPlanDto, PlanDto } from "@/server/schemas/topology";
import { type HostFacts, verifyHost, type VerifyContext } from "../engine/verify";
import { batchesOf, skippedHosts } from "@/server/provision/rollout";
import { renderAction, sha256 } from "@/server/provision/resources";
import { hostAuditCommand } from "@/server/provision/host-audit";
import { acquireHostLocks, type HeldLocks, HostLockBusyError, lockGenerations, lockHolders } from "@/server/queue/host-locks";
import { describeCommand } from "@/server/provision/command";
import { TimeoutError, UnreachableError } from "@/server/exec/errors";
import type { KindContext, KindResult, RunKindHandler } from "./types";
import { recordConnectionProblem } from "./server-check";
import { loadFirewall } from "@/server/services/firewall";
import { confirmFirewall, learnFromObservations, probeReachabilityEarly, reachabilityMatrix, type ReachFound } from "../engine/firewall";
import type { ReachabilityDto } from "@/server/schemas/firewall";

/** What the engine's helpers need of a run (any kind: an operation may apply a topology too). */
type Ctx = KindContext<unknown>;
type TopologyCtx = KindContext<TopologyRunInput>;
type Spec = TopologySpec & Pick<LoadedTopology, "rollout">;

/** How long an apply waits for another run to release a host. */
const LOCK_WAIT_MS = 120_000;
const OBSERVE_TIMEOUT_S = 60;
/** Default rollout within a tier: one host first, then batches of this many; stop after more failed hosts than the budget. */
const DEFAULT_BATCH_SIZE = 5;
/** How long a host that just changed may take for its daemons to listen and take their configuration. */
const HOST_SETTLE_MS = 10_000;

/**
 * The stored app archive, checked again before any host gets it: one kept before the
 * archive checks were tightened is refused with the reason (upload it again to have it re-packed).
 */
async function storedArchive(file: string): Promise<Buffer | null> {
  const data = await readFile(file).catch(() => null);
  if (!data) return null;
  try {
    await inspectArchive(data);
  } catch (err) {
    if (err instanceof ArchiveError) throw new Error(`the stored app archive is refused by the archive checks (${err.message}): upload it again`);
    throw err;
  }
  return data;
}

/** The topology as the planner needs it: members, the app (its secret values decrypted), and no TLS material yet. */
export type LoadedTopology = Omit<TopologySpec, "tls"> & { rollout: { batchSize: number; failureBudget: number } };

export async function loadTopologySpec(db: Db, box: SecretBox, dataDir: string, topologyId: string): Promise<LoadedTopology | null> {
  const t = await db.topology.findUnique({ where: { id: topologyId }, include: { members: { include: { server: true } } } });
  if (!t) return null;
  const members = [...t.members].sort((a, b) => a.server.name.localeCompare(b.server.name));
  const app = readApp(t.app);
  const secrets = t.appSecretsEnc ? (JSON.parse(box.decrypt(t.appSecretsEnc, appSecretsContext(t.id)).reveal()) as Record<string, string>) : {};
  return {
    id: t.id,
    name: t.name,
    balance: t.balance === "leastconn" ? "leastconn" : "roundrobin",
    rollout: { batchSize: t.rolloutBatchSize ?? DEFAULT_BATCH_SIZE, failureBudget: t.failureBudget ?? 0 },
    app,
    appArchive: app.source === "tarball" && app.artifact ? await storedArchive(artifactPath(dataDir, app.artifact)) : null,
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
async function withTls(ctx: Ctx, spec: LoadedTopology, store: boolean): Promise<Spec> {
  const ca = await ensureCa(ctx.db, ctx.box);
  const backends = new Map<string, { certPem: string; keyPem: string }>();
  for (const h of spec.hosts) if (needsBackendCert(h)) backends.set(h.serverId, await ensureBackendCert(ctx.db, ctx.box, ca, h.serverId, backendNames(h), new Date(), store));
  let siteBundle: string | null = null;
  let siteSource: string | undefined;
  let siteWarnings: string[] = [];
  let acmeThumbprint: string | null = null;
  if (spec.hosts.some((h) => h.roles.includes("load-balancer"))) {
    acmeThumbprint = (await ctx.db.acmeSite.findUnique({ where: { topologyId: spec.id }, select: { account: { select: { thumbprint: true } } } }))?.account.thumbprint ?? null;
    const site = await ensureSiteBundle(ctx.db, ctx.box, ca, { id: spec.id, name: spec.name }, new Date(), store);
    siteBundle = site.bundle;
    siteSource = site.source;
    siteWarnings = site.warnings;
    ctx.reporter.addSecret(site.bundle.slice(site.bundle.search(/-----BEGIN [A-Z ]*PRIVATE KEY-----/)));
    // Said, and the run goes on: the backends' certificates still renew.
    for (const w of site.warnings) await ctx.reporter.warn(`site certificate: ${w}`);
  }
  const collector = spec.hosts.some((h) => h.monitoring) ? await ensureCollectorCert(ctx.db, ctx.box, ca, new Date(), store) : null;
  for (const b of [...backends.values(), ...(collector ? [collector] : [])]) ctx.reporter.addSecret(b.keyPem);
  const database = await databaseCredentials(ctx.db, ctx.box, spec.id, spec.hosts, store);
  if (database) for (const s of [database.appPassword, database.monitorPassword, ...database.replPasswords.values()]) ctx.reporter.addSecret(s.reveal());
  const secretNames = new Set(spec.app.env.filter((v) => v.secret).map((v) => v.name));
  for (const [k, v] of spec.appEnv) if (secretNames.has(k)) ctx.reporter.addSecret(v);
  return { ...spec, database, tls: { caPem: ca.certPem, siteBundle, siteSource, siteWarnings, acmeThumbprint, backends, collector } };
}

/** Runs fn on every item, at most `limit` at once (HOST_PARALLELISM); rejects with the first error, after every started call ended. */
async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < items.length && !failed) {
      try {
        await fn(items[next++]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane));
  const broke = lanes.find((l) => l.status === "rejected");
  if (broke) throw broke.reason;
}

/** Observes one host: its resources, who listens on its ports, how fresh each daemon's configuration is. */
async function observeHost(ctx: Ctx, h: HostSpec, d: HostDesired, targets: Map<string, Target>): Promise<HostObservation> {
  const server = await ctx.db.server.findUnique({ where: { id: h.serverId } });
  if (!server) return { ok: false, error: "the server was deleted" };
  try {
    let target = targets.get(h.serverId);
    if (!target) {
      target = await loadTarget(ctx.db, ctx.box, h.serverId);
      targets.set(h.serverId, target);
    }
    const extras = observeExtras(d);
    // One connect attempt: a host that does not answer is skipped within seconds, not retried for a minute.
    const r = await ctx.executor.exec(target, observeCommand(d.resources, extras), {
      signal: ctx.signal,
      connectAttempts: 1,
      // A host that does not answer is said to be tried, with how long, rather than nothing.
      onSlowConnect: ({ timeoutMs }) => void ctx.reporter.warn(`no answer yet from ${server.address}:${server.port}: still trying, for ${Math.round(timeoutMs / 1000)} s at most`, h.name),
    });
    if (r.exitCode !== 0) throw new Error(`the observe command exited with ${r.exitCode}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
    const o = parseHostObservation(d.resources, extras, r.stdout);
    return { ok: true, observed: o.resources, listeners: o.listeners, fresh: o.fresh };
  } catch (err) {
    ctx.signal.throwIfAborted();
    // A timeout's message would repeat the whole observe script: say it plainly.
    const e = err instanceof TimeoutError && !/handshake/.test(err.message) ? new Error(`reading the host's state did not finish within ${OBSERVE_TIMEOUT_S} s`) : err;
    const unreachable = err instanceof UnreachableError || (err instanceof TimeoutError && /handshake/.test(err.message));
    return { ok: false, unreachable, error: await recordConnectionProblem(ctx, server, e, "could not observe the host") };
  }
}

/** Observes every host (those in `only`, if given). A host that cannot be read gets an error, not a guess. */
async function observeHosts(ctx: Ctx, spec: TopologySpec, desired: Map<string, HostDesired>, targets: Map<string, Target>, only?: Set<string>) {
  const out = new Map<string, HostObservation>();
  const hosts = spec.hosts.filter((h) => !only || only.has(h.serverId));
  await parallel(hosts, ctx.env.HOST_PARALLELISM, async (h) => void out.set(h.serverId, await observeHost(ctx, h, desired.get(h.serverId)!, targets)));
  return out;
}

/** Hosts Rampart may not connect to yet, with the reason. */
async function unpinnedHosts(db: Db, spec: Pick<TopologySpec, "hosts">): Promise<string[]> {
  const servers = await db.server.findMany({ where: { id: { in: spec.hosts.map((h) => h.serverId) } } });
  return servers
    .filter((s) => s.hostKeyStatus !== "pinned")
    .map(
      (s) =>
        `${s.name}: ${s.hostKeyStatus === "mismatch" ? "its host key changed; an admin must review it on the server's page" : "its host key has not been accepted yet (run a check, then accept it)"}`,
    );
}

async function reportPlan(ctx: Ctx, plan: Plan): Promise<void> {
  for (const h of plan.hosts) {
    if (h.error) await ctx.reporter.error(`cannot plan: ${h.error}`, h.name);
    else if (h.steps.length === 0) await ctx.reporter.info("no changes", h.name);
    else for (const s of h.steps) await ctx.reporter.info(`will ${s.summary} (${s.reason})`, h.name);
  }
}

/** Stores the plan (with what is known so far of each host's checks and outcome) on the run, and the drift status on the topology. */
async function recordPlan(ctx: Ctx, plan: Plan, kind: "plan" | "apply", hosts: Map<string, HostReport> = new Map(), reachability: ReachabilityDto | null = null): Promise<PlanDto> {
  const dto = { ...withReports(toPlanDto(plan), hosts), reachability };
  const failed = plan.hosts.some((h) => h.error);
  const failing = dto.hosts.some((h) => h.checks.some((c) => !c.ok)) || (reachability?.mismatches ?? 0) > 0;
  await ctx.db.run.update({ where: { id: ctx.runId }, data: { result: JSON.stringify(dto) } });
  await ctx.db.topology.update({
    where: { id: plan.topologyId },
    data: {
      // Changes to make come first (applying them may well fix a failing check); "failing" is a topology that matches and still does not serve.
      driftStatus: failed ? "error" : plan.changes > 0 ? "drifted" : failing ? "failing" : "in-sync",
      driftChanges: failed ? null : plan.changes,
      driftCheckedAt: new Date(),
      ...(kind === "plan" ? { lastPlanRunId: ctx.runId } : { lastApplyRunId: ctx.runId }),
    },
  });
  return dto;
}

/** What a run found on one host beyond its plan: the checks, and (for an apply) how the host ended. */
interface HostReport {
  checks: CheckResult[];
  outcome?: HostPlanDto["outcome"];
  reason?: string | null;
}

function withReports(dto: PlanDto, hosts: Map<string, HostReport>): PlanDto {
  return {
    ...dto,
    hosts: dto.hosts.map((h) => ({
      ...h,
      checks: hosts.get(h.serverId)?.checks ?? h.checks,
      outcome: hosts.get(h.serverId)?.outcome ?? h.outcome,
      outcomeReason: hosts.get(h.serverId)?.reason ?? h.outcomeReason,
    })),
  };
}

async function reportChecks(ctx: Ctx, host: string, checks: CheckResult[]): Promise<void> {
  for (const c of checks) {
    if (c.ok) await ctx.reporter.info(`check passed: ${c.name}: ${c.found}`, host);
    else await ctx.reporter.error(`check failed: ${c.name}: expected ${c.expected}; found ${c.found}`, host);
  }
}

/**
 * What the host checks are judged from. A daemon's configuration counts as "on disk"
 * only through the files that hold what Rampart wants: a hand edit not reloaded yet is
 * drift (the plan shows it), not a daemon that failed to take Rampart's configuration.
 */
function factsOf(o: HostObservation | undefined, d: HostDesired): HostFacts {
  if (!o?.ok) return { listeners: null, fresh: new Map() };
  const want = new Map(d.resources.flatMap((r) => (r.kind === "file" && r.content !== null ? [[r.path, sha256(r.content)] as const] : [])));
  const matches = (path: string) => {
    const seen = o.observed.get(`file:${path}`);
    return seen?.kind === "path" && seen.sha256 === want.get(path);
  };
  const fresh = new Map([...(o.fresh ?? new Map<string, Freshness>())].map(([unit, f]) => [unit, { ...f, files: f.files.filter((x) => matches(x.path)) }]));
  return { listeners: o.listeners ?? null, fresh };
}

const hostsWithChanges = (plan: Plan) => plan.hosts.filter((h) => h.steps.length > 0);
const changesText = (plan: Plan) => `${plan.changes} change${plan.changes === 1 ? "" : "s"} on ${hostsWithChanges(plan).length} host${hostsWithChanges(plan).length === 1 ? "" : "s"}`;

/** The reachability probes' first round, run alongside the observation (see probeReachabilityEarly). */
async function earlyReachability(ctx: Ctx, spec: TopologySpec, desired: Map<string, HostDesired>, targets: Map<string, Target>): Promise<ReachFound | null> {
  await Promise.all(
    spec.hosts.map(async (h) => {
      if (targets.has(h.serverId)) return;
      try {
        targets.set(h.serverId, await loadTarget(ctx.db, ctx.box, h.serverId));
      } catch {
        // Not probed from: observing the host reports why.
      }
    }),
  );
  return probeReachabilityEarly(ctx, spec, desired, targets);
}

async function planFor(ctx: Ctx, spec: TopologySpec, targets: Map<string, Target>) {
  let desired = desiredState(spec);
  // Started now, judged later: a run that changes nothing does not wait for the probes' timeout again.
  const early = spec.firewall?.enabled ? earlyReachability(ctx, spec, desired, targets) : Promise.resolve(null);
  const observations = await observeHosts(ctx, spec, desired, targets);
  // The firewall keeps SSH open to every address Rampart connects from: one seen for
  // the first time joins the rules now (what the observe script read does not depend on them).
  const seen = await learnFromObservations(ctx, spec, observations);
  const controlPlane = seen[0] ?? null;
  if (spec.firewall && seen.some((a) => !spec.firewall!.controlPlane.includes(a))) {
    spec.firewall.controlPlane = [...new Set([...spec.firewall.controlPlane, ...seen])].sort();
    desired = desiredState(spec);
  }
  return { desired, observations, controlPlane, early, plan: planTopology(spec, desired, observations, new Date()) };
}

/**
 * The reachability matrix, recorded on the topology and reported: every mismatch is
 * an error line. Returns the matrix (its mismatches fail the run's check).
 */
async function checkReachability(
  ctx: Ctx,
  spec: TopologySpec,
  desired: Map<string, HostDesired>,
  targets: Map<string, Target>,
  controlPlane: string | null,
  skip: ReadonlySet<string>,
  early: ReachFound | null = null,
) {
  const matrix = await reachabilityMatrix(ctx, spec, desired, targets, controlPlane, skip, early);
  await ctx.db.topology.update({ where: { id: spec.id }, data: { reachability: JSON.stringify(matrix) } });
  for (const c of matrix.cells.filter((x) => !x.ok))
    await ctx.reporter.error(`reachability: ${c.fromName} → ${c.toName} ${c.address}:${c.port} (${c.purpose}): expected ${c.expected}, found ${c.observed}`, c.toName);
  const judged = matrix.cells.filter((c) => c.observed !== null).length;
  if (matrix.mismatches === 0) await ctx.reporter.info(`reachability: ${judged} probes (from the control plane and from each server) match the policy`);
  return matrix;
}

/** What each host served on its TLS ports, as this run's checks found it (the Certificates page shows it beside what was deployed). */
async function recordServed(ctx: Ctx, spec: TopologySpec, reports: Map<string, HostReport>): Promise<void> {
  const checkedAt = new Date();
  for (const [serverId, r] of reports)
    for (const c of r.checks) {
      if (!c.served) continue;
      const row = {
        topologyId: spec.id,
        purpose: c.served.purpose,
        fingerprint: c.served.fingerprint,
        matches: c.served.fingerprint !== null && c.served.fingerprint === c.served.deployed,
        checkedAt,
      };
      await ctx.db.servedCertificate.upsert({ where: { serverId_port: { serverId, port: c.served.port } }, create: { serverId, port: c.served.port, ...row }, update: row });
    }
}

const matrixText = (m: ReachabilityDto) =>
  `reachability differs from the policy in ${m.mismatches} place${m.mismatches === 1 ? "" : "s"}: ${m.cells
    .filter((c) => !c.ok)
    .slice(0, 5)
    .map((c) => `${c.fromName} → ${c.toName}:${c.port} ${c.observed} (expected ${c.expected})`)
    .join(", ")}${m.mismatches > 5 ? ", …" : ""}`;

/** Loads the topology and its certificates; a plan (`store` false) issues no certificate for good. */
async function prepare(ctx: TopologyCtx, store: boolean): Promise<Spec | KindResult> {
  const spec = await loadTopologySpec(ctx.db, ctx.box, ctx.env.DATA_DIR, ctx.input.topologyId);
  if (!spec) return { status: "failed", outcome: "the topology no longer exists" };
  if (spec.hosts.length === 0) return { status: "failed", outcome: "the topology has no servers" };
  const blocked = await unpinnedHosts(ctx.db, spec);
  if (blocked.length > 0) {
    for (const b of blocked) await ctx.reporter.error(b);
    await ctx.db.topology.update({ where: { id: spec.id }, data: { driftStatus: "error", driftCheckedAt: new Date() } });
    return { status: "failed", outcome: `${blocked.length} server(s) cannot be reached safely yet: ${blocked.join("; ")}` };
  }
  if (store) {
    // Secrets go only to servers an admin let in: one an operator added, or moved, waits.
    const waiting = await secretsWaitForApproval(ctx.db, spec.id);
    if (waiting) return { status: "failed", outcome: `nothing was changed: ${waiting}` };
  }
  try {
    const withFirewall = await loadFirewall(ctx.db, spec, { confirmWindowS: ctx.env.FIREWALL_CONFIRM_WINDOW_S, force: ctx.input.forceFirewall });
    return await withTls(ctx, withFirewall, store);
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
    const targets = new Map<string, Target>();
    const { desired, observations, plan, controlPlane, early } = await planFor(ctx, spec, targets);
    await reportPlan(ctx, plan);
    // "In sync" means serving, not only "files match": the roles' checks run too.
    const reports = new Map<string, HostReport>();
    const vctx: VerifyContext = { executor: ctx.executor, signal: ctx.signal, spec, excused: new Map(plan.hosts.filter((h) => h.error).map((h) => [h.serverId, h.error!])), targets };
    await parallel(
      spec.hosts.filter((h) => !plan.hosts.find((p) => p.serverId === h.serverId)?.error),
      ctx.env.HOST_PARALLELISM,
      async (h) => {
        const checks = await verifyHost(
          vctx,
          h,
          targets.get(h.serverId)!,
          desired.get(h.serverId)!,
          factsOf(observations.get(h.serverId), desired.get(h.serverId)!),
          new Set(modulesOf(h).map((m) => m.role)),
        );
        reports.set(h.serverId, { checks });
      },
    );
    for (const h of spec.hosts) await reportChecks(ctx, h.name, reports.get(h.serverId)?.checks ?? []);
    const unobserved = new Set(plan.hosts.filter((h) => h.error).map((h) => h.serverId));
    const matrix = spec.firewall?.enabled ? await checkReachability(ctx, spec, desired, targets, controlPlane, unobserved, await early) : null;
    await recordServed(ctx, spec, reports);
    await recordPlan(ctx, plan, "plan", reports, matrix);
    const errors = plan.hosts.filter((h) => h.error);
    const failing = spec.hosts.filter((h) => reports.get(h.serverId)?.checks.some((c) => !c.ok));
    const failingText = failing.length
      ? `; not serving: ${failing
          .map(
            (h) =>
              `${h.name} (${reports
                .get(h.serverId)!
                .checks.filter((c) => !c.ok)
                .map((c) => c.name)
                .join(", ")})`,
          )
          .join(", ")}`
      : "";
    const reachText = matrix && matrix.mismatches > 0 ? `; ${matrixText(matrix)}` : "";
    if (errors.length > 0) return { status: "failed", outcome: `could not observe ${errors.map((h) => `${h.name} (${h.error})`).join(", ")}${failingText}` };
    if (plan.changes === 0 && failing.length === 0 && !reachText) return { status: "succeeded", outcome: "no changes: every host matches the topology and passes its checks" };
    if (plan.changes === 0) return { status: "failed", outcome: `no changes to files or services${failingText}${reachText}` };
    return { status: "succeeded", outcome: `${changesText(plan)}${ctx.input.drift ? " (drift: apply to restore)" : ""}${failingText}${reachText}` };
  },
};

/** Runs one host's steps of one tier, in order. Returns the error, if a step failed. */
async function runHostSteps(
  ctx: Ctx,
  target: Target,
  member: { serverId: string; name: string; topologyId: string },
  steps: PlannedStep[],
  progress: { done: number; total: number; audited: boolean },
  targets?: Map<string, Target>,
): Promise<string | null> {
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
      if (rendered.pipe) {
        const from = targets?.get(rendered.pipe.from.serverId);
        if (!from) throw new Error(`${rendered.pipe.from.name} is not reachable in this run`);
        await ctx.reporter.emit("debug", `$ ${describeCommand(rendered.pipe.source)} (on ${rendered.pipe.from.name}) | ${describeCommand(rendered.pipe.sink)}`, host);
        const piped = await ctx.executor.pipe(from, rendered.pipe.source, target, rendered.pipe.sink, { signal: ctx.signal, onLine });
        await ctx.reporter.info(`loaded ${(piped.bytes / 1e6).toFixed(1)} MB from ${rendered.pipe.from.name} in ${(piped.durationMs / 1000).toFixed(1)} s`, host);
      }
      for (const cmd of rendered.after) await ctx.executor.run(target, cmd, { signal: ctx.signal, onLine });
      // A firewall change is kept only once a new connection gets in (else the host rolls it back).
      if (rendered.confirm) await confirmFirewall(ctx, target, member, rendered.confirm);
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

export interface ApplyOptions {
  /** All or nothing: refuse to change anything when a host cannot be planned. */
  strict?: boolean;
  /**
   * Takes the locks of hosts the plan changes (an apply run locks only those; an
   * operation holds every lock already and passes none). Returns the hosts that may
   * have changed since they were observed (another run held or took their lock):
   * they are observed and planned again under the lock.
   */
  lockChanged?: (hosts: Array<{ id: string; name: string }>) => Promise<Set<string>>;
  /** Hosts another run held while they were observed: what was read may be half-way through its change, so they are locked and read again too. */
  busy?: ReadonlySet<string>;
  /** Only these tiers converge (a promotion switches the app servers first); the other tiers' steps are left for a full apply. */
  tiers?: readonly Tier[];
  /** The plan the operator reviewed: only its steps may be taken (see server/provision/plan-review.ts). */
  reviewed?: { runId: string; plan: PlanDto; at: Date };
}

/** At most this many rounds of "lock the changed hosts, observe the ones another run touched, plan again". */
const LOCK_ROUNDS = 3;

/**
 * Applies the topology under host locks the caller already holds (an apply run, or
 * an operation that needs an apply between its phases). Observes, plans, converges
 * tier by tier in batches, verifies each host, and records the plan with every
 * host's checks and outcome on the run.
 */
export async function applyTopology(ctx: Ctx, spec: Spec, opts: ApplyOptions = {}): Promise<KindResult> {
  const started = Date.now();
  await ctx.reporter.info(`Applying ${spec.name}: observing ${spec.hosts.length} host(s)`);
  const targets = new Map<string, Target>();
  const planned = await planFor(ctx, spec, targets);
  const { desired, observations } = planned;
  let plan = planned.plan;
  // Another run changed hosts while this one waited for their locks: the early probes are stale.
  let reobserved = false;
  if (opts.lockChanged) {
    // Lock only the hosts this apply changes; a host another run touched meanwhile is read again under its lock.
    const locked = new Set<string>();
    for (let round = 1; ; round++) {
      const need = plan.hosts.filter((h) => (h.steps.length > 0 || (round === 1 && opts.busy?.has(h.serverId))) && !locked.has(h.serverId));
      if (need.length === 0) break;
      if (round > LOCK_ROUNDS) throw new Error(`hosts kept being changed by other runs while this one waited for their locks: ${need.map((h) => h.name).join(", ")}`);
      const again = await opts.lockChanged(need.map((h) => ({ id: h.serverId, name: h.name })));
      for (const h of need) locked.add(h.serverId);
      if (again.size === 0) break;
      await ctx.reporter.info(`Observing again, under their locks, the hosts another run held meanwhile: ${[...again].map((id) => nameOf(spec, id)).join(", ")}`);
      reobserved = true;
      for (const [id, o] of await observeHosts(ctx, spec, desired, targets, again)) observations.set(id, o);
      plan = planTopology(spec, desired, observations, new Date());
    }
  }
  if (opts.tiers) {
    const only = opts.tiers;
    const hosts = plan.hosts.map((h) => ({ ...h, steps: h.steps.filter((s) => only.includes(s.tier)) }));
    plan = { ...plan, hosts, changes: hosts.reduce((n, h) => n + h.steps.length, 0) };
    await ctx.reporter.info(`Only the ${only.map(tierLabel).join(", ")} tier${only.length > 1 ? "s" : ""} converge in this apply`);
  }
  if (opts.reviewed) {
    // Planned again under the locks: anything the operator did not review refuses the whole apply, before any change.
    const stale = unreviewedSteps(opts.reviewed.plan, toPlanDto(plan));
    if (stale.length > 0) {
      for (const st of stale)
        await ctx.reporter.error(`${st.action} ${st.resource}: ${st.why === "changed" ? "not the change the reviewed plan showed (changed since)" : "not in the reviewed plan"}`, st.host);
      await recordPlan(ctx, plan, "apply");
      return { status: "failed", outcome: staleText(stale, opts.reviewed.at) };
    }
    await ctx.reporter.info(`Every step is one the reviewed plan showed (plan run ${opts.reviewed.runId})`);
  }
  const skipped = skippedHosts(spec, plan);
  const reports = new Map<string, HostReport>();
  for (const [id, why] of skipped) reports.set(id, { checks: [], outcome: "skipped", reason: why });
  await reportPlan(ctx, plan);
  if (skipped.size > 0 && opts.strict) {
    await recordPlan(ctx, plan, "apply", reports);
    return { status: "failed", outcome: `nothing was changed (strict apply): ${[...skipped].map(([id, why]) => `${nameOf(spec, id)} ${why}`).join("; ")}` };
  }
  for (const [id, why] of skipped) await ctx.reporter.warn(`skipped: ${why}`, nameOf(spec, id));
  if (skipped.size === spec.hosts.length) {
    await recordPlan(ctx, plan, "apply", reports);
    return { status: "failed", outcome: `nothing was changed: ${[...skipped].map(([id, why]) => `${nameOf(spec, id)} ${why}`).join("; ")}` };
  }
  await recordPlan(ctx, plan, "apply", reports);
  const work = plan.hosts.filter((h) => !skipped.has(h.serverId));
  const changes = work.reduce((n, h) => n + h.steps.length, 0);
  await ctx.reporter.info(changes === 0 ? "Plan: no changes; verifying every host" : `Plan: ${changes} change${changes === 1 ? "" : "s"} on ${work.filter((h) => h.steps.length).length} host(s)`);

  const progress = new Map(work.map((h) => [h.serverId, { done: 0, total: h.steps.length, audited: false }]));
  for (const h of work.filter((h) => h.steps.length)) await ctx.reporter.progress(h.name, 0, h.steps.length, `0 of ${h.steps.length} steps`);
  const failed = new Map<string, string>();
  const facts = new Map(work.map((h) => [h.serverId, factsOf(observations.get(h.serverId), desired.get(h.serverId)!)]));
  const vctx: VerifyContext = { executor: ctx.executor, signal: ctx.signal, spec, excused: new Map([...skipped]), targets };
  const budget = spec.rollout.failureBudget;
  let stopped: string | null = null;

  for (const tier of TIERS) {
    if (opts.tiers && !opts.tiers.includes(tier)) continue;
    const hosts = work.filter((h) => !failed.has(h.serverId) && (h.steps.some((s) => s.tier === tier) || modulesOf(spec.hosts.find((x) => x.serverId === h.serverId)!).some((m) => m.tier === tier)));
    if (hosts.length === 0) continue;
    // Hosts that others in the tier depend on go first (a database primary before its replicas).
    const deps = (id: string) =>
      dependencies(
        spec,
        spec.hosts.find((x) => x.serverId === id)!,
      ).length;
    hosts.sort((a, b) => deps(a.serverId) - deps(b.serverId));
    const batches = batchesOf(hosts, spec.rollout.batchSize);
    const withSteps = hosts.filter((h) => h.steps.some((s) => s.tier === tier));
    if (withSteps.length > 0) await ctx.reporter.info(`${tierLabel(tier)}: ${withSteps.map((h) => h.name).join(", ")}${batches.length > 1 ? ` in ${batches.length} batches (one host first)` : ""}`);
    for (const batch of batches) {
      // If one host's lane breaks (cancel, lost lock, database error), stop the others
      // and wait for all of them before going on: the locks are released only after.
      const stage = new AbortController();
      const laneCtx = { ...ctx, signal: AbortSignal.any([ctx.signal, stage.signal]) };
      let broke: { reason: unknown } | null = null;
      await parallel(batch, ctx.env.HOST_PARALLELISM, async (hp) => {
        try {
          const err = await convergeTier(
            laneCtx,
            { ...vctx, signal: laneCtx.signal },
            spec,
            hp,
            tier,
            desired.get(hp.serverId)!,
            targets.get(hp.serverId)!,
            facts,
            progress.get(hp.serverId)!,
            reports,
          );
          if (err) {
            failed.set(hp.serverId, err);
            // Later checks (the load balancers' backends) excuse a host that failed, as one that was skipped.
            vctx.excused.set(hp.serverId, "failed in this run");
          }
        } catch (e) {
          stage.abort(e);
          throw e;
        }
      }).catch((reason: unknown) => void (broke = { reason }));
      ctx.signal.throwIfAborted();
      if (broke) throw (broke as { reason: unknown }).reason;
      if (failed.size > budget) {
        stopped = `${failed.size} host${failed.size === 1 ? "" : "s"} failed (the failure budget is ${budget})`;
        break;
      }
    }
    if (stopped) break;
  }

  for (const [id, why] of failed) reports.set(id, { ...(reports.get(id) ?? { checks: [] }), outcome: "failed", reason: why });
  for (const h of work)
    if (!reports.get(h.serverId)?.outcome)
      reports.set(h.serverId, { ...(reports.get(h.serverId) ?? { checks: [] }), outcome: stopped ? "not-started" : "converged", reason: stopped ? "the rollout stopped before this host" : null });
  // Who can reach what, now that every host has its rules (hosts skipped or failed are left out).
  // The probes made while observing still hold if nothing changed since (this run or another).
  const early = await planned.early;
  const matrix =
    // (Not after an apply of some tiers only: the firewalls may not have their new rules yet.)
    spec.firewall?.enabled && !stopped && !opts.tiers
      ? await checkReachability(ctx, spec, desired, targets, planned.controlPlane, new Set([...skipped.keys(), ...failed.keys()]), changes === 0 && !reobserved ? early : null)
      : null;
  const reachBad = matrix && matrix.mismatches > 0 ? matrixText(matrix) : null;
  await recordServed(ctx, spec, reports);
  await recordPlan(ctx, plan, "apply", reports, matrix);
  const failing = [...failed].map(([id, why]) => `${nameOf(spec, id)}: ${why}`);
  if (reachBad) failing.push(reachBad);
  const skippedText = [...skipped].map(([id, why]) => `${nameOf(spec, id)} skipped (${why})`);
  const driftStatus = skipped.size > 0 || failed.size > 0 || reachBad ? (failed.size > 0 || reachBad ? "failing" : "error") : "in-sync";
  await ctx.db.topology.update({ where: { id: spec.id }, data: { driftStatus, driftChanges: 0, driftCheckedAt: new Date() } });
  const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (stopped)
    return {
      status: "failed",
      outcome: `rollout stopped: ${stopped}: ${failing.join("; ")}${skippedText.length ? `; ${skippedText.join("; ")}` : ""}. Fix the cause and retry: the retry re-plans and continues from where this stopped.`,
    };
  if (reachBad && failed.size === 0 && skipped.size === 0) return { status: "failed", outcome: `applied ${changesText(plan)} in ${took}, but ${reachBad}` };
  if (failed.size > 0 || skipped.size > 0)
    return { status: "partial", outcome: `partially applied in ${took}: ${[...failing, ...skippedText].join("; ")}; the other hosts converged and pass their checks` };
  return {
    status: "succeeded",
    outcome:
      changes === 0
        ? `no changes: every host already matches the topology and passes its checks (${Date.now() - started} ms)`
        : `applied ${changesText(plan)} in ${took}; every host matches the topology and passes its checks`,
  };
}

const nameOf = (spec: TopologySpec, id: string) => spec.hosts.find((h) => h.serverId === id)?.name ?? id;

/**
 * One host, one tier: its steps, then (if anything changed) a fresh observation that
 * must plan nothing more for this tier, then the checks of its roles in this tier.
 * Returns why the host failed, or null.
 */
async function convergeTier(
  ctx: Ctx,
  vctx: VerifyContext,
  spec: TopologySpec,
  hp: HostPlan,
  tier: (typeof TIERS)[number],
  d: HostDesired,
  target: Target,
  facts: Map<string, HostFacts>,
  progress: { done: number; total: number; audited: boolean },
  reports: Map<string, HostReport>,
): Promise<string | null> {
  const h = spec.hosts.find((x) => x.serverId === hp.serverId)!;
  const steps = hp.steps.filter((s) => s.tier === tier);
  const problems: string[] = [];
  const roles = new Set(
    modulesOf(h)
      .filter((m) => m.tier === tier)
      .map((m) => m.role),
  );
  const hostChecks = d.checks.filter((c) => roles.has(c.role) && isHostCheck(c.check));
  if (steps.length > 0) {
    const err = await runHostSteps(ctx, target, { serverId: h.serverId, name: h.name, topologyId: spec.id }, steps, progress, vctx.targets);
    if (err) return err;
    // Prove the files and units converged: observe again; nothing may be left for this tier
    // (or before it). A daemon reloaded or started a moment ago may not have its new
    // processes or listeners yet (systemd returns once it has signalled the daemon), so
    // read the host again, for a few seconds, until it has converged and its host checks pass.
    // (Who holds the ports is for the checks to judge now: a conflict is a planning matter.)
    const settleUntil = Date.now() + HOST_SETTLE_MS;
    let left: PlannedStep[] = [];
    for (;;) {
      const o = await observeHost(ctx, h, d, new Map([[h.serverId, target]]));
      if (!o.ok) return `could not observe it after its steps: ${o.error}`;
      facts.set(h.serverId, factsOf(o, d));
      try {
        left = planHost(d, o.observed, { listeners: null, fresh: o.fresh }).filter((s) => TIERS.indexOf(s.tier) <= TIERS.indexOf(tier));
      } catch (err) {
        return `cannot plan it after its steps: ${err instanceof Error ? err.message : String(err)}`;
      }
      const settled = left.length === 0 && hostChecks.every((c) => judgeHostCheck(c.role, c.check, facts.get(h.serverId)!).ok);
      if (settled || Date.now() >= settleUntil) break;
      await new Promise((r) => setTimeout(r, 500));
      ctx.signal.throwIfAborted();
    }
    if (left.length > 0) {
      const text = left.map((s) => `${s.summary} (${s.reason})`).join(", ");
      await ctx.reporter.error(`still differs after its steps: ${text}`, h.name);
      problems.push(`did not converge: ${text}`);
    }
  }
  if (roles.size > 0) {
    const checks = await verifyHost(vctx, h, target, d, facts.get(h.serverId)!, roles);
    const report = reports.get(h.serverId) ?? { checks: [] };
    reports.set(h.serverId, { ...report, checks: [...report.checks, ...checks] });
    await reportChecks(ctx, h.name, checks);
    const bad = checks.filter((c) => !c.ok);
    // The checks first: they say what is wrong in terms of the outcome, and quote the daemon.
    if (bad.length > 0) problems.unshift(`check${bad.length > 1 ? "s" : ""} failed: ${bad.map((c) => `${c.name}: ${c.found}`).join("; ")}`);
  }
  return problems.length > 0 ? problems.join("; ") : null;
}

/**
 * For operations (promotion, certificate orders, firewall confirmation): apply a
 * topology under the host locks the operation already holds for its whole run,
 * instead of taking them again. Refuses if this run does not hold every host's lock.
 */
export async function applyUnderHeldLocks(ctx: KindContext<unknown>, held: HeldLocks, topologyId: string, opts: ApplyOptions = {}): Promise<KindResult> {
  const spec = await prepare({ ...ctx, input: { topologyId, drift: false, strict: !!opts.strict, forceFirewall: false, planRunId: null } }, true);
  if ("status" in spec) return spec;
  const holders = await lockHolders(
    ctx.redis,
    spec.hosts.map((h) => h.serverId),
  );
  const notMine = spec.hosts.filter((h) => holders.get(h.serverId) !== ctx.runId);
  if (notMine.length > 0) return { status: "failed", outcome: `this run does not hold the lock of ${notMine.map((h) => h.name).join(", ")}: take every host's lock before applying` };
  return applyTopology({ ...ctx, signal: AbortSignal.any([ctx.signal, held.lost]) }, spec, opts);
}

export const topologyApply: RunKindHandler<typeof TopologyRunInput> = {
  input: TopologyRunInput,
  async run(ctx) {
    const spec = await prepare(ctx, true);
    if ("status" in spec) return spec;
    if (ctx.resumed) await ctx.reporter.info("Resuming: observing every host again, so steps already done are not repeated");
    // Observed before locking: only the hosts the plan changes are locked (see lockChanged).
    const ids = spec.hosts.map((h) => h.serverId);
    const [holdersBefore, gensBefore] = await Promise.all([lockHolders(ctx.redis, ids), lockGenerations(ctx.redis, ids)]);
    const held: HeldLocks[] = [];
    const lost = new AbortController();
    const lockChanged = async (hosts: Array<{ id: string; name: string }>) => {
      const locks = await acquireHostLocks(ctx.redis, ctx.runId, hosts, {
        waitMs: LOCK_WAIT_MS,
        signal: ctx.signal,
        onWait: (name, holder) => void ctx.reporter.warn(`waiting for run ${holder} to finish with this host`, name),
      });
      held.push(locks);
      locks.lost.addEventListener("abort", () => lost.abort(locks.lost.reason), { once: true });
      // Taken once by this run since the observation, by nobody else, and nobody held it then: unchanged.
      const gensNow = await lockGenerations(
        ctx.redis,
        hosts.map((h) => h.id),
      );
      return new Set(hosts.filter((h) => holdersBefore.get(h.id) != null || gensNow.get(h.id) !== (gensBefore.get(h.id) ?? 0) + 1).map((h) => h.id));
    };
    let reviewed: ApplyOptions["reviewed"];
    if (ctx.input.planRunId) {
      try {
        // A drift check may have planned since the apply was accepted (or before its retry): the reviewed plan's steps still bound it.
        reviewed = { runId: ctx.input.planRunId, ...(await reviewedPlan(ctx.db, spec.id, ctx.input.planRunId, { latest: false })) };
      } catch (err) {
        return { status: "failed", outcome: `nothing was changed: ${(err as Error).message}` };
      }
    }
    try {
      const busy = new Set(ids.filter((id) => holdersBefore.get(id) != null));
      return await applyTopology({ ...ctx, signal: AbortSignal.any([ctx.signal, lost.signal]) }, spec, { strict: ctx.input.strict, lockChanged, busy, reviewed });
    } catch (err) {
      if (err instanceof HostLockBusyError) return { status: "failed", outcome: err.message };
      throw err;
    } finally {
      for (const l of held) await l.release();
    }
  },
};

function tierLabel(t: Tier): string {
  return { base: "base system", database: "databases", app: "app servers", web: "web servers", "load-balancer": "load balancers" }[t];
}
