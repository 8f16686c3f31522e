// Drift checks: a BullMQ job scheduler (upserted at worker start) fires a scan
// job; the scan starts a plan run for every topology that has no run in progress
// (a plan, an apply, an operation). A plan never changes anything: drift is shown, not fixed.
import type { Queue } from "bullmq";
import type { Db } from "@/server/db";
import { activeTopologyRun, conflictingRun, startRun } from "@/server/services/runs";
import { memberRoles, startTopologyRun } from "@/server/services/topologies";
import { needsRenewal } from "@/server/pki/x509";

export const DRIFT_SCHEDULER_ID = "drift-check";
export const DRIFT_SCAN_JOB = "drift-scan";
export const RENEWAL_SCHEDULER_ID = "certificate-renewal";
export const RENEWAL_SCAN_JOB = "certificate-renewal-scan";
/** How often certificates are looked at (RENEWAL_CHECK_INTERVAL_S): hourly is far inside the 10 days a 30-day certificate has left at renewal. */
export async function scheduleCertificateRenewal(queue: Queue, intervalS: number): Promise<void> {
  await queue.upsertJobScheduler(RENEWAL_SCHEDULER_ID, { every: intervalS * 1000 }, { name: RENEWAL_SCAN_JOB, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
}

/**
 * Starts an apply for every topology whose internal-CA certificates need one:
 * one past two-thirds of its life (the apply re-issues and deploys it), or one
 * issued after the topology's last successful apply ended (a renewal whose
 * apply failed: it is not on the servers yet). Only certificates the topology still
 * uses count. Uploaded certificates are the operator's: reported, not replaced.
 * A renewal apply applies the topology as it is stored.
 */
export async function scanForRenewals(db: Db, queue: Queue, now = new Date()): Promise<string[]> {
  const topologies = await db.topology.findMany({ include: { members: true } });
  const started: string[] = [];
  for (const t of topologies) {
    const roles = new Map(t.members.map((m) => [m.serverId, memberRoles(m)]));
    const backendIds = [...roles].filter(([, r]) => r.includes("web") || r.includes("app") || r.includes("load-balancer")).map(([id]) => id);
    const hasLb = [...roles.values()].some((r) => r.includes("load-balancer"));
    const certs = await db.certificate.findMany({
      where: { replacedAt: null, source: "internal", OR: [{ serverId: { in: backendIds }, purpose: "backend" }, ...(hasLb ? [{ topologyId: t.id, purpose: "site" }] : [])] },
    });
    const lastApply = await db.run.findFirst({ where: { topologyId: t.id, kind: "topology-apply", status: "succeeded" }, orderBy: { finishedAt: "desc" } });
    const due = certs.some((c) => needsRenewal(c, now) || (lastApply?.finishedAt ? c.createdAt > lastApply.finishedAt : false));
    if (!due) continue;
    // Whatever an apply would conflict with (another apply, an operation) makes the renewal wait for the next scan.
    if (await conflictingRun(db, t.id, "topology-apply")) continue;
    try {
      started.push((await startTopologyRun({ db, queue }, { name: "certificate renewal (schedule)" }, t.id, "topology-apply")).id);
    } catch {
      // The topology has no servers, or Redis is down: the next scan tries again.
    }
  }
  return started;
}

export async function scheduleDriftChecks(queue: Queue, intervalS: number): Promise<void> {
  if (intervalS <= 0) {
    await queue.removeJobScheduler(DRIFT_SCHEDULER_ID);
    return;
  }
  await queue.upsertJobScheduler(DRIFT_SCHEDULER_ID, { every: intervalS * 1000 }, { name: DRIFT_SCAN_JOB, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
}

/** Starts one drift-check plan run per topology; returns the run ids. */
export async function scanForDrift(db: Db, queue: Queue): Promise<string[]> {
  const topologies = await db.topology.findMany({ include: { members: { select: { serverId: true } } } });
  const started: string[] = [];
  for (const t of topologies) {
    if (t.members.length === 0) continue;
    // A plan during another run would report that run's changes in flight as drift.
    if (await activeTopologyRun(db, t.id)) continue;
    // A server whose host key is not trusted would fail every check: the topology already says so.
    const unpinned = await db.server.count({ where: { id: { in: t.members.map((m) => m.serverId) }, hostKeyStatus: { not: "pinned" } } });
    if (unpinned > 0) continue;
    try {
      const run = await startRun(
        { db, queue },
        { name: "drift check (schedule)" },
        "topology-plan",
        { topologyId: t.id, drift: true },
        t.members.map((m) => m.serverId),
        { topologyId: t.id },
      );
      started.push(run.id);
    } catch {
      // Redis is unavailable: the next scan tries again.
    }
  }
  return started;
}
