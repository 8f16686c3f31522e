// Topologies: the desired shape of a site (which server has which roles), and
// starting plan and apply runs for it.
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Db } from "../db";
import { type TopologyDto, type TopologyValues, DRIFT_STATUSES, Role, PlanDto, AppSpec, DEFAULT_APP, LbHealth, MAX_ARTIFACT_BYTES } from "../schemas/topology";
import { hops } from "../provision/roles";
import type { SecretBox } from "../secrets/envelope";
import { ServiceError } from "./errors";
import { ArchiveError, repackArchive } from "../provision/archive";
import { activeTopologyRun, conflictingRun, describeActiveRun, startRun, type Caller, type RunsDeps } from "./runs";
import type { RunKind } from "../schemas/run";
const include = { members: { include: { server: true } } } as const;
type Row = NonNullable<Awaited<ReturnType<typeof findRow>>>;

function findRow(db: Db, id: string) {
  return db.topology.findUnique({ where: { id }, include });
}

function toDto(t: Row): TopologyDto {
  const members = [...t.members].sort((a, b) => a.server.name.localeCompare(b.server.name));
  return {
    id: t.id,
    name: t.name,
    balance: t.balance === "leastconn" ? "leastconn" : "roundrobin",
    rolloutBatchSize: t.rolloutBatchSize,
    failureBudget: t.failureBudget,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    driftStatus: DRIFT_STATUSES.find((s) => s === t.driftStatus) ?? "unknown",
    driftCheckedAt: t.driftCheckedAt,
    driftChanges: t.driftChanges,
    lastPlanRunId: t.lastPlanRunId,
    lastApplyRunId: t.lastApplyRunId,
    app: appDto(t.app, t.appSecretsEnc !== null ? secretNames(t) : new Set()),
    lbHealth: t.lbHealth ? LbHealth.nullable().catch(null).parse(JSON.parse(t.lbHealth)) : null,
    members: members.map((m) => ({
      serverId: m.serverId,
      serverName: m.server.name,
      address: m.server.address,
      roles: memberRoles(m),
      monitoring: m.monitoring,
      hostKeyStatus: m.server.hostKeyStatus,
      lastCheckError: m.server.lastCheckError,
      drained: m.drained,
      approved: m.approvedAt !== null,
    })),
    hops: hopsOf(t, members),
  };
}

/** The traffic between the topology's servers, from the role modules' declarations. */
function hopsOf(t: Row, members: Row["members"]) {
  const spec = {
    id: t.id,
    name: t.name,
    balance: "roundrobin" as const,
    app: readApp(t.app),
    appEnv: [],
    tls: { caPem: "", siteBundle: null, backends: new Map() },
    hosts: members.map((m) => ({ serverId: m.serverId, name: m.server.name, address: m.server.address, roles: memberRoles(m), monitoring: m.monitoring, drained: m.drained })),
  };
  return hops(spec).map((h) => ({
    toServerId: h.to.serverId,
    toRole: h.to.role,
    port: h.port,
    from: h.from.kind === "role" ? h.from.role : h.from.kind,
    protection: h.protection,
    label: h.label,
    detail: h.detail,
  }));
}

export async function listTopologies(db: Db): Promise<TopologyDto[]> {
  const rows = await db.topology.findMany({ include, orderBy: { name: "asc" } });
  return rows.map(toDto);
}

export async function getTopology(db: Db, id: string): Promise<TopologyDto> {
  const row = await findRow(db, id);
  if (!row) throw new ServiceError("NOT_FOUND", `No topology with id ${id}`, "id");
  return toDto(row);
}

/** Servers must exist and belong to no other topology (two topologies would fight over one host). */
async function checkMembers(db: Db, input: TopologyValues, topologyId: string | null): Promise<void> {
  const ids = input.members.map((m) => m.serverId);
  const servers = await db.server.findMany({ where: { id: { in: ids } }, include: { membership: { include: { topology: { select: { name: true } } } } } });
  const byId = new Map(servers.map((s) => [s.id, s]));
  input.members.forEach((m, i) => {
    const s = byId.get(m.serverId);
    if (!s) throw new ServiceError("BAD_REQUEST", `No server with id ${m.serverId}`, `members.${i}.serverId`);
    if (s.membership && s.membership.topologyId !== topologyId)
      throw new ServiceError("CONFLICT", `${s.name} already belongs to the topology ${s.membership.topology.name}; a server can be in one topology only`, `members.${i}.serverId`);
  });
}

async function checkName(db: Db, name: string, id: string | null): Promise<void> {
  const other = await db.topology.findUnique({ where: { name } });
  if (other && other.id !== id) throw new ServiceError("CONFLICT", `A topology for ${name} already exists`, "name");
}

/** A member's roles as stored (JSON); anything unreadable counts as no role. */
export const memberRoles = (m: { roles: string }): Role[] => Role.array().catch([]).parse(JSON.parse(m.roles));

/**
 * Who approves the members a change adds: an admin (their name), nobody (an operator:
 * the new members wait for an admin before they may receive the topology's secrets),
 * or Rampart's own code (tests, the lab seed). Members that stay keep their approval.
 */
export type MemberApprover = string | null;
const INTERNAL_APPROVER = "Rampart (internal)";

const memberRows = (input: TopologyValues, approver: MemberApprover, kept: Map<string, { approvedAt: Date | null; approvedBy: string | null }> = new Map()) =>
  input.members.map((m) => ({
    serverId: m.serverId,
    roles: JSON.stringify(m.roles),
    monitoring: m.monitoring,
    ...(kept.get(m.serverId) ?? (approver ? { approvedAt: new Date(), approvedBy: approver } : { approvedAt: null, approvedBy: null })),
  }));

export async function createTopology(db: Db, input: TopologyValues, approver: MemberApprover = INTERNAL_APPROVER): Promise<TopologyDto> {
  await checkName(db, input.name, null);
  await checkMembers(db, input, null);
  const row = await db.topology.create({
    data: { name: input.name, balance: input.balance, rolloutBatchSize: input.rolloutBatchSize, failureBudget: input.failureBudget, members: { create: memberRows(input, approver) } },
    include,
  });
  return toDto(row);
}

/** Whether the topology holds secrets that its servers receive: app secret values, or a site key (its certificate's). */
export async function holdsSecrets(db: Db, topologyId: string): Promise<string[]> {
  const t = await db.topology.findUnique({ where: { id: topologyId }, select: { appSecretsEnc: true } });
  const site = await db.certificate.count({ where: { topologyId, purpose: "site", replacedAt: null } });
  return [...(t?.appSecretsEnc ? ["the app's secret values"] : []), ...(site > 0 ? ["the site's private key"] : [])];
}

/** Why an apply may not send the topology's secrets yet (members waiting for an admin), or null. */
export async function secretsWaitForApproval(db: Db, topologyId: string): Promise<string | null> {
  const secrets = await holdsSecrets(db, topologyId);
  if (secrets.length === 0) return null;
  const waiting = await db.topologyMember.findMany({ where: { topologyId, approvedAt: null }, include: { server: { select: { name: true } } } });
  if (waiting.length === 0) return null;
  const one = waiting.length === 1;
  return `${waiting.map((m) => m.server.name).join(", ")} ${one ? "waits" : "wait"} for an admin to approve ${one ? "it" : "them"} (added or moved by an operator): this topology holds ${secrets.join(" and ")}, which ${one ? "it" : "they"} would receive`;
}

/** An admin approves every member waiting to receive the topology's secrets. */
export async function approveMembers(db: Db, id: string, admin: string): Promise<TopologyDto> {
  await getTopology(db, id);
  await db.topologyMember.updateMany({ where: { topologyId: id, approvedAt: null }, data: { approvedAt: new Date(), approvedBy: admin } });
  return getTopology(db, id);
}

export async function updateTopology(db: Db, input: TopologyValues & { id: string }, approver: MemberApprover = INTERNAL_APPROVER): Promise<TopologyDto> {
  await getTopology(db, input.id);
  // The change is applied next: refused while a run that an apply would conflict with is going.
  const running = await conflictingRun(db, input.id, "topology-apply");
  if (running) throw new ServiceError("CONFLICT", `${capitalise(describeActiveRun(running))}; change the topology when it has finished, or cancel it`);
  await checkName(db, input.name, input.id);
  await checkMembers(db, input, input.id);
  const kept = new Map((await db.topologyMember.findMany({ where: { topologyId: input.id } })).map((m) => [m.serverId, { approvedAt: m.approvedAt, approvedBy: m.approvedBy }]));
  // Replace the members in one transaction: nothing half-changed.
  await db.$transaction([
    db.topologyMember.deleteMany({ where: { topologyId: input.id } }),
    db.topology.update({
      where: { id: input.id },
      data: {
        name: input.name,
        balance: input.balance,
        rolloutBatchSize: input.rolloutBatchSize,
        failureBudget: input.failureBudget,
        driftStatus: "unknown",
        driftChanges: null,
        members: { create: memberRows(input, approver, kept) },
      },
    }),
  ]);
  return getTopology(db, input.id);
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Deleting a topology changes nothing on its servers; they keep their configuration. */
export async function deleteTopology(db: Db, id: string): Promise<TopologyDto> {
  const t = await getTopology(db, id);
  const run = await activeTopologyRun(db, id);
  if (run) throw new ServiceError("CONFLICT", `${capitalise(describeActiveRun(run))} on this topology: wait for it or cancel it, then delete`);
  await db.topology.delete({ where: { id } });
  return t;
}

/**
 * Starts a run of a kind that works on a topology (plan, apply, an operation) after
 * the checks every start shares: the topology exists and has servers, and no run the
 * registry says conflicts with this kind is active on it. `input` is the kind's own
 * (default: a plan's or an apply's).
 */
export async function startTopologyRun(
  deps: RunsDeps,
  caller: Caller,
  id: string,
  kind: RunKind,
  retryOf?: string,
  opts: { strict?: boolean; forceFirewall?: boolean; input?: Record<string, unknown> } = {},
) {
  const t = await findRow(deps.db, id).then((r) => (r ? toDto(r) : null));
  if (!t) throw new ServiceError(retryOf ? "CONFLICT" : "NOT_FOUND", retryOf ? "The topology of this run has been deleted" : `No topology with id ${id}`, "id");
  if (t.members.length === 0) throw new ServiceError("BAD_REQUEST", "The topology has no servers: add at least one", "id");
  const run = await conflictingRun(deps.db, id, kind);
  if (run) throw new ServiceError("CONFLICT", `On ${t.name}, ${describeActiveRun(run)}; follow it, or cancel it first`, "id");
  const input = { ...(opts.input ?? { drift: false }), ...(opts.strict ? { strict: true } : {}), ...(opts.forceFirewall ? { forceFirewall: true } : {}), topologyId: id };
  return startRun(
    deps,
    caller,
    kind,
    input,
    t.members.map((m) => m.serverId),
    { topologyId: id, retryOf },
  );
}

export const planTopologyRun = (deps: RunsDeps, caller: Caller, id: string) => startTopologyRun(deps, caller, id, "topology-plan");
export async function applyTopologyRun(deps: RunsDeps, caller: Caller, id: string, opts: { strict?: boolean; forceFirewall?: boolean; planRunId?: string } = {}) {
  if (opts.planRunId) await reviewedPlan(deps.db, id, opts.planRunId);
  return startTopologyRun(deps, caller, id, "topology-apply", undefined, {
    ...opts,
    input: { drift: false, ...(opts.planRunId ? { planRunId: opts.planRunId } : {}) },
  });
}

/**
 * The plan an apply of a reviewed plan starts from: a plan run of this topology that
 * ended with a plan, and the latest one (a newer plan, a drift check included, is what
 * the hosts look like now: review that one). The worker, resuming or retrying an apply
 * accepted before, asks only for the plan: its steps are what bounds the apply.
 */
export async function reviewedPlan(db: Db, topologyId: string, planRunId: string, opts: { latest: boolean } = { latest: true }): Promise<{ plan: PlanDto; at: Date }> {
  const run = await db.run.findUnique({ where: { id: planRunId }, select: { kind: true, topologyId: true, status: true, result: true, finishedAt: true } });
  if (!run || run.kind !== "topology-plan" || run.topologyId !== topologyId) throw new ServiceError("BAD_REQUEST", `${planRunId} is not a plan run of this topology`, "planRunId");
  if (!run.finishedAt) throw new ServiceError("CONFLICT", "That plan is still being computed: review it when its run has ended", "planRunId");
  const topology = await db.topology.findUnique({ where: { id: topologyId }, select: { lastPlanRunId: true } });
  if (opts.latest && topology?.lastPlanRunId !== planRunId)
    throw new ServiceError("CONFLICT", `A newer plan of this topology exists (run ${topology?.lastPlanRunId}): review that one, and apply it`, "planRunId");
  const parsed = run.result ? PlanDto.safeParse(JSON.parse(run.result)) : null;
  if (!parsed?.success) throw new ServiceError("BAD_REQUEST", "That run ended without a plan (see its log): plan again", "planRunId");
  return { plan: parsed.data, at: run.finishedAt };
}

/** The plan a plan or apply run computed (null while it has not got that far). */
export async function runPlan(db: Db, runId: string) {
  const run = await db.run.findUnique({ where: { id: runId }, select: { result: true } });
  if (!run) throw new ServiceError("NOT_FOUND", `No run with id ${runId}`, "id");
  if (!run.result) return null;
  const parsed = PlanDto.safeParse(JSON.parse(run.result));
  return parsed.success ? parsed.data : null;
}

// ---- The application app servers run

export const appSecretsContext = (topologyId: string) => `app-secrets:${topologyId}`;

/** The stored app spec (the sample app when none is set). */
export function readApp(json: string | null): AppSpec {
  if (!json) return DEFAULT_APP;
  const parsed = AppSpec.safeParse(JSON.parse(json));
  return parsed.success ? parsed.data : DEFAULT_APP;
}

/** Which secret variables have a stored value (names only are kept in the clear, in `secretNames`). */
function secretNames(t: { app: string | null }): Set<string> {
  return new Set(
    readApp(t.app)
      .env.filter((v) => v.secret)
      .map((v) => v.name),
  );
}

function appDto(json: string | null, setSecrets: Set<string>) {
  const app = readApp(json);
  return { ...app, env: app.env.map((v) => ({ name: v.name, value: v.secret ? null : v.value, secret: v.secret, isSet: v.secret ? setSecrets.has(v.name) : true })) };
}

/**
 * Sets the app. A secret variable given without a value keeps its stored value;
 * secret values are encrypted and never returned. Takes effect with the next apply.
 */
export async function setApp(db: Db, box: SecretBox, input: { id: string; app: AppSpec }): Promise<TopologyDto> {
  const row = await findRow(db, input.id);
  if (!row) throw new ServiceError("NOT_FOUND", `No topology with id ${input.id}`, "id");
  const old: Record<string, string> = row.appSecretsEnc ? JSON.parse(box.decrypt(row.appSecretsEnc, appSecretsContext(row.id)).reveal()) : {};
  const secrets: Record<string, string> = {};
  input.app.env.forEach((v, i) => {
    if (!v.secret) return;
    if (v.value !== null) secrets[v.name] = v.value;
    else if (old[v.name] !== undefined) secrets[v.name] = old[v.name]!;
    else throw new ServiceError("BAD_REQUEST", `${v.name} is a new secret: give its value`, `app.env.${i}.value`);
  });
  const stored: AppSpec = { ...input.app, env: input.app.env.map((v) => ({ ...v, value: v.secret ? null : v.value })) };
  await db.topology.update({
    where: { id: row.id },
    data: { app: JSON.stringify(stored), appSecretsEnc: Object.keys(secrets).length > 0 ? box.encrypt(JSON.stringify(secrets), appSecretsContext(row.id)) : null },
  });
  return getTopology(db, row.id);
}

/** Drains a web server (no new requests from the load balancers) or puts it back, then applies. */
export async function setDrained(deps: RunsDeps, caller: Caller, input: { id: string; serverId: string; drained: boolean }) {
  const member = await deps.db.topologyMember.findUnique({ where: { serverId: input.serverId }, include: { server: { select: { name: true } } } });
  if (!member || member.topologyId !== input.id) throw new ServiceError("NOT_FOUND", "That server is not in this topology", "serverId");
  if (!memberRoles(member).includes("web")) throw new ServiceError("BAD_REQUEST", `${member.server.name} is not a web server: only web servers sit behind the load balancer`, "serverId");
  const running = await conflictingRun(deps.db, input.id, "topology-apply");
  if (running) throw new ServiceError("CONFLICT", `${capitalise(describeActiveRun(running))}; try again when it has finished`);
  await deps.db.topologyMember.update({ where: { serverId: input.serverId }, data: { drained: input.drained } });
  return startTopologyRun(deps, caller, input.id, "topology-apply");
}

// ---- Uploaded app archives, kept in DATA_DIR/artifacts by their SHA-256

export const artifactPath = (dataDir: string, sha256: string) => path.join(dataDir, "artifacts", `${sha256}.tar.gz`);

/** Stores an uploaded .tar.gz (checked to be gzip data); the app form then refers to it by hash. */
export async function uploadArtifact(db: Db, dataDir: string, input: { id: string; filename: string; contentBase64: string }) {
  await getTopology(db, input.id);
  const data = Buffer.from(input.contentBase64, "base64");
  if (data.length === 0) throw new ServiceError("BAD_REQUEST", "the archive is empty", "contentBase64");
  if (data.length > MAX_ARTIFACT_BYTES) throw new ServiceError("BAD_REQUEST", "the archive is larger than 50 MB", "contentBase64");
  if (data[0] !== 0x1f || data[1] !== 0x8b) throw new ServiceError("BAD_REQUEST", `${input.filename} is not a gzip-compressed archive (.tar.gz)`, "contentBase64");
  // What is kept (and deployed) is a new archive written from what the check read, never the upload itself.
  let repacked;
  try {
    repacked = await repackArchive(data);
  } catch (err) {
    if (err instanceof ArchiveError) throw new ServiceError("BAD_REQUEST", `${input.filename}: ${err.message}`, "contentBase64");
    throw err;
  }
  const { sha256, archive } = repacked;
  const file = artifactPath(dataDir, sha256);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp`, archive, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return { sha256, size: archive.length, filename: input.filename };
}
