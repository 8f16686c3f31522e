// The Overview's data (server/schemas/overview.ts), read in one go.
import type { Db } from "../db";
import { EXPIRING_DAYS, type OverviewDto } from "../schemas/overview";

const DAY_MS = 86_400_000;

type TopologyState = OverviewDto["topologies"][number]["state"];

export async function overview(db: Db, now = new Date()): Promise<OverviewDto> {
  const [topologies, servers, runs, certificates, alerts] = await Promise.all([
    db.topology.findMany({ orderBy: { name: "asc" }, include: { _count: { select: { members: true } } } }),
    db.server.findMany({
      where: { OR: [{ lastCheckError: { not: null } }, { hostKeyStatus: { in: ["mismatch", "pending"] } }] },
      orderBy: { name: "asc" },
      select: { id: true, name: true, address: true, port: true, lastCheckError: true, lastCheckAt: true, hostKeyStatus: true },
    }),
    db.run.findMany({
      where: { status: { in: ["failed", "partial"] }, finishedAt: { gte: new Date(now.getTime() - DAY_MS) } },
      orderBy: { finishedAt: "desc" },
      take: 20,
      select: { id: true, kind: true, status: true, outcome: true, finishedAt: true, topologyId: true },
    }),
    db.certificate.findMany({
      where: { replacedAt: null, notAfter: { lte: new Date(now.getTime() + EXPIRING_DAYS * DAY_MS) } },
      orderBy: { notAfter: "asc" },
      take: 50,
      select: { id: true, purpose: true, names: true, source: true, notAfter: true, topology: { select: { name: true } } },
    }),
    db.alert.findMany({ where: { status: "firing" }, orderBy: { startsAt: "desc" }, take: 50, select: { id: true, name: true, severity: true, summary: true, topologyId: true, startsAt: true } }),
  ]);
  const lastApplies = await db.run.findMany({
    where: { id: { in: topologies.map((t) => t.lastApplyRunId).filter((id): id is string => !!id) } },
    select: { id: true, status: true, outcome: true },
  });
  const applyOf = new Map(lastApplies.map((r) => [r.id, r]));
  return {
    topologies: topologies.map((t) => {
      const apply = t.lastApplyRunId ? applyOf.get(t.lastApplyRunId) : undefined;
      const firingAlerts = alerts.filter((a) => a.topologyId === t.id).length;
      const { state, detail } = topologyState(t, apply);
      return { id: t.id, name: t.name, state, detail, servers: t._count.members, firingAlerts, checkedAt: t.driftCheckedAt };
    }),
    unreachableServers: servers.map((s) => ({
      id: s.id,
      name: s.name,
      address: `${s.address}:${s.port}`,
      problem: s.hostKeyStatus === "mismatch" ? "its host key changed" : s.hostKeyStatus === "pending" ? "host key to accept" : (s.lastCheckError ?? ""),
      at: s.lastCheckAt,
    })),
    failedRuns: runs.map((r) => ({
      id: r.id,
      kind: r.kind,
      status: r.status,
      topologyName: topologies.find((t) => t.id === r.topologyId)?.name ?? null,
      outcome: r.outcome,
      finishedAt: r.finishedAt!,
    })),
    expiringCertificates: certificates.map((c) => ({
      id: c.id,
      purpose: c.purpose,
      names: c.names,
      source: c.source,
      notAfter: c.notAfter,
      daysLeft: Math.floor((c.notAfter.getTime() - now.getTime()) / DAY_MS),
      topologyName: c.topology?.name ?? null,
    })),
    alerts,
  };
}

/**
 * One state per topology, the most urgent first: the last apply failed or ended partial
 * (some hosts were not changed), then what the last plan or drift check found.
 */
function topologyState(
  t: { driftStatus: string; driftChanges: number | null; lastApplyRunId: string | null },
  apply: { status: string; outcome: string | null } | undefined,
): { state: TopologyState; detail: string } {
  if (!t.lastApplyRunId) return { state: "never-applied", detail: "never applied: plan it, review, apply" };
  if (apply?.status === "partial") return { state: "partially-applied", detail: apply.outcome ?? "the last apply changed some hosts only" };
  if (apply?.status === "failed" && t.driftStatus !== "in-sync") return { state: "failed", detail: apply.outcome ?? "the last apply failed" };
  switch (t.driftStatus) {
    case "in-sync":
      return { state: "in-sync", detail: "every server matches and passes its checks" };
    case "drifted":
      return { state: "drifted", detail: `${t.driftChanges ?? "some"} change${t.driftChanges === 1 ? "" : "s"} to make` };
    case "failing":
      return { state: "failing", detail: "the servers match, but a check fails" };
    case "error":
      return { state: "error", detail: "the last plan could not observe every server" };
    default:
      return { state: "unknown", detail: "not checked yet" };
  }
}
