// The planner: desired state + what was observed → an ordered plan per host.
// Pure and synchronous (no I/O, no clock): the same inputs give the same plan.
import { describeCommand } from "./command";
import { type Tier, TIERS, type PlanDto, type HostPlanDto, type PlanStepDto } from "../schemas/topology";
import type { HostDesired, TopologySpec } from "./roles";
import type { FreshnessProbe, Freshness, ObserveExtras } from "./observe";
import { type Listener, portFindings } from "./listeners";
import {
  type Action,
  type Change,
  type Observed,
  type PendingMark,
  type Resource,
  checkResource,
  describeResource,
  diffArchive,
  diffDirectory,
  diffFirewall,
  diffMysqlServer,
  diffFile,
  diffPackage,
  diffService,
  diffUser,
  renderAction,
  resourceId,
} from "./resources";

export type HostObservation =
  | { ok: true; observed: Map<string, Observed>; listeners?: Listener[] | null; fresh?: Map<string, Freshness> }
  /** unreachable: the host did not answer (skipped by an apply); otherwise it answered and could not be read. */
  | { ok: false; error: string; unreachable?: boolean };

/** How much older than the newest file a daemon's youngest process may be (clock readings are taken a few ms apart). */
const FRESHNESS_SLACK_S = 0.05;

/** The services whose running configuration is compared with their files: each service and the files it reloads or restarts for. */
export function freshnessProbes(resources: readonly Resource[]): FreshnessProbe[] {
  const files = new Map(resources.filter((r) => r.kind === "file" && r.content !== null).map((r) => [resourceId(r), (r as { path: string }).path]));
  return resources
    .flatMap((r) => (r.kind === "service" ? [{ unit: r.name, files: [...r.reloadOn, ...r.restartOn].flatMap((id) => (files.has(id) ? [files.get(id)!] : [])) }] : []))
    .filter((p) => p.files.length > 0);
}

/** What the observe command reads on a host besides its resources. */
export const observeExtras = (d: HostDesired): ObserveExtras => ({ listeners: true, fresh: freshnessProbes(d.resources) });

/** The newest file a daemon reads that changed after its youngest process started, if any. */
export function staleFile(f: Freshness | undefined): { path: string; changedAt: number } | null {
  if (!f || f.youngestStart === null || f.files.length === 0) return null;
  const newest = f.files.reduce((a, b) => (b.mtime > a.mtime ? b : a));
  return newest.mtime > f.youngestStart + FRESHNESS_SLACK_S ? { path: newest.path, changedAt: newest.mtime } : null;
}

/** A plan cannot be made for a host: the reasons, each naming what and where. */
export class PlanRefusedError extends Error {
  override name = "PlanRefusedError";
}

export interface PlannedStep {
  id: string;
  tier: Tier;
  resource: string;
  kind: Resource["kind"];
  verb: string;
  summary: string;
  reason: string;
  diff: string | null;
  action: Action;
}

export interface HostPlan {
  serverId: string;
  name: string;
  address: string;
  roles: TopologySpec["hosts"][number]["roles"];
  error: string | null;
  /** The host did not answer: an apply skips it. */
  unreachable?: boolean;
  steps: PlannedStep[];
  notes: string[];
}

export interface Plan {
  topologyId: string;
  topologyName: string;
  observedAt: Date;
  hosts: HostPlan[];
  changes: number;
}

const tierIndex = (t: Tier) => TIERS.indexOf(t);

/** Which services must hear about a change to each file. */
function notifications(resources: readonly Resource[]): Map<string, PendingMark[]> {
  const out = new Map<string, PendingMark[]>();
  for (const r of resources) {
    if (r.kind !== "service") continue;
    for (const [ids, how] of [
      [r.reloadOn, "reload"],
      [r.restartOn, "restart"],
    ] as const)
      for (const id of ids) out.set(id, [...(out.get(id) ?? []), { unit: r.name, how }]);
  }
  return out;
}

/** The steps that converge one host, in the order they must run. */
export function planHost(desired: HostDesired, observed: Map<string, Observed>, extra: { listeners?: Listener[] | null; fresh?: Map<string, Freshness> } = {}): PlannedStep[] {
  for (const r of desired.resources) checkResource(r);
  const notify = notifications(desired.resources);
  const changes: Change[] = [];
  for (const r of desired.resources) if (r.kind === "package") changes.push(...[diffPackage(r, observed.get(resourceId(r)))].filter((c) => c !== null));
  // Packages installed in the file's tier or before it: one of a later tier runs after the file is settled.
  const installingBy = (tier: Tier) => changes.filter((c) => TIERS.indexOf(c.resource.tier) <= TIERS.indexOf(tier)).flatMap((c) => (c.action.op === "apt-install" ? c.action.packages : []));
  const installing = changes.flatMap((c) => (c.action.op === "apt-install" ? c.action.packages : []));
  for (const r of desired.resources) {
    const o = observed.get(resourceId(r));
    const c =
      r.kind === "directory"
        ? diffDirectory(r, o)
        : r.kind === "file"
          ? diffFile(r, o, notify.get(resourceId(r)) ?? [], installingBy(r.tier))
          : r.kind === "user"
            ? diffUser(r, o)
            : r.kind === "archive"
              ? diffArchive(r, o)
              : r.kind === "firewall"
                ? diffFirewall(r, o, installing)
                : r.kind === "mysql"
                  ? diffMysqlServer(r, o)
                  : null;
    if (c) changes.push(c);
  }
  const changed = new Set(changes.map((c) => resourceId(c.resource)));
  const services: Change[] = [];
  for (const r of desired.resources) if (r.kind === "service") services.push(...diffService(r, observed.get(resourceId(r)), changed, staleFile(extra.fresh?.get(r.name))));
  changes.push(...portConflicts(desired, extra.listeners ?? null, services), ...services);

  // Order: by tier; within a tier, one apt step for all its packages first, then the
  // rest in the order the role lists them (users, directories, files, then services).
  const steps: PlannedStep[] = [];
  for (const tier of TIERS) {
    const inTier = changes.filter((c) => c.resource.tier === tier);
    const packages = inTier.filter((c) => c.action.op === "apt-install").flatMap((c) => (c.action.op === "apt-install" ? c.action.packages : []));
    if (packages.length > 0) {
      steps.push({
        id: `${tier}:packages:install`,
        tier,
        resource: `package ${packages.join(" ")}`,
        kind: "package",
        verb: "install",
        summary: `install ${packages.join(", ")}`,
        reason: inTier
          .filter((c) => c.action.op === "apt-install")
          .map((c) => c.reason)
          .join("; "),
        diff: null,
        action: { op: "apt-install", packages },
      });
    }
    // The database server's own state is set once its service runs (after its files and services).
    const order = (c: Change) => (c.resource.kind === "service" ? 1 : c.resource.kind === "mysql" ? 2 : 0);
    for (const c of inTier.filter((c) => c.action.op !== "apt-install").sort((a, b) => order(a) - order(b))) {
      steps.push({
        id: `${tier}:${resourceId(c.resource)}:${c.verb}`,
        tier,
        resource: describeResource(c.resource),
        kind: c.resource.kind,
        verb: c.verb,
        summary: c.summary,
        reason: c.reason,
        diff: c.diff,
        action: c.action,
      });
    }
  }
  return steps;
}

/**
 * What the plan does about the ports this host's roles need: nothing when they are
 * free or held by the right daemon; an explicit stop-and-disable step for a known
 * daemon the roles do not use; a refusal (naming process and port) for anything else.
 */
function portConflicts(desired: HostDesired, listeners: Listener[] | null, services: Change[]): Change[] {
  if (!listeners) return [];
  const managed = new Set(desired.resources.flatMap((r) => (r.kind === "service" ? [`${r.name}.service`] : [])));
  const reconfigured = new Set(services.filter((c) => c.action.op === "systemctl" && c.action.verb !== "enable").map((c) => `${(c.resource as { name: string }).name}.service`));
  const out: Change[] = [];
  const refusals: string[] = [];
  for (const claim of desired.ports) {
    for (const f of portFindings([claim], listeners, managed, reconfigured)) {
      if (f.kind === "refuse") refusals.push(f.message);
      if (f.kind !== "stop" || out.some((c) => c.action.op === "systemctl" && c.action.unit === f.unit)) continue;
      const name = f.unit.replace(/\.service$/, "");
      out.push({
        resource: { kind: "service", tier: claim.tier, name, reloadOn: [], restartOn: [] },
        action: { op: "systemctl", verb: "disable-now", unit: f.unit, clears: false },
        verb: "stop",
        summary: `stop and disable ${name}`,
        reason: f.message,
        diff: null,
      });
    }
  }
  if (refusals.length > 0) throw new PlanRefusedError(refusals.join("; "));
  return out;
}

export function planTopology(spec: TopologySpec, desired: Map<string, HostDesired>, observations: Map<string, HostObservation>, observedAt: Date): Plan {
  const hosts: HostPlan[] = spec.hosts.map((h) => {
    const d = desired.get(h.serverId) ?? { resources: [], notes: [], ports: [], checks: [] };
    const base = { serverId: h.serverId, name: h.name, address: h.address, roles: h.roles, notes: d.notes };
    const obs = observations.get(h.serverId);
    if (!obs) return { ...base, error: "not observed", steps: [] };
    if (!obs.ok) return { ...base, error: obs.error, unreachable: !!obs.unreachable, steps: [] };
    try {
      return { ...base, error: null, steps: planHost(d, obs.observed, { listeners: obs.listeners, fresh: obs.fresh }) };
    } catch (err) {
      return { ...base, error: err instanceof Error ? err.message : String(err), steps: [] };
    }
  });
  return { topologyId: spec.id, topologyName: spec.name, observedAt, hosts, changes: hosts.reduce((n, h) => n + h.steps.length, 0) };
}

/** The tiers, in order, that have work on any host. */
export function tiersWithWork(plan: Plan): Tier[] {
  return TIERS.filter((t) => plan.hosts.some((h) => h.steps.some((s) => s.tier === t)));
}

export const tierOrder = tierIndex;

/** A step's commands as an operator reads them (uploads are named, their content is not repeated). */
export function describeStep(a: Action): string[] {
  const r = renderAction(a);
  const lines = r.before.map(describeCommand);
  if (r.upload)
    lines.push(`upload ${r.upload.path} (${Buffer.byteLength(r.upload.content)} bytes, mode ${(r.upload.mode & 0o7777).toString(8).padStart(4, "0")}, ${r.upload.owner}:${r.upload.group})`);
  if (r.pipe) lines.push(`${describeCommand(r.pipe.source)} (on ${r.pipe.from.name}, streamed through Rampart) | ${describeCommand(r.pipe.sink)}`);
  lines.push(...r.after.map(describeCommand));
  return lines;
}

/** The plan as the console and the API show it: no file contents, no secrets. */
export function toPlanDto(plan: Plan): PlanDto {
  const hosts: HostPlanDto[] = plan.hosts.map((h) => ({
    serverId: h.serverId,
    name: h.name,
    address: h.address,
    roles: h.roles,
    error: h.error,
    unreachable: !!h.unreachable,
    checks: [],
    outcome: null,
    outcomeReason: null,
    notes: h.notes,
    steps: h.steps.map((s): PlanStepDto => ({
      id: s.id,
      tier: s.tier,
      resource: s.resource,
      kind: s.kind,
      action: s.verb,
      summary: s.summary,
      reason: s.reason,
      diff: s.diff,
      commands: describeStep(s.action),
    })),
  }));
  return { topologyId: plan.topologyId, topologyName: plan.topologyName, observedAt: plan.observedAt, changes: plan.changes, hosts, reachability: null };
}
