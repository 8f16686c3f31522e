// Drift checks: a BullMQ job scheduler (upserted at worker start) fires a scan
// job; the scan starts a plan run for every topology that has no run in progress
// (a plan, an apply, an operation). A plan never changes anything: drift is shown, not fixed.
import type { Queue } from "bullmq";
import type { Db } from "@/server/db";
import { activeTopologyRun, conflictingRun, startRun } from "@/server/services/runs";
import { memberRoles, startTopologyRun } from "@/server/services/topologies";
import { needsRenewal } from "@/server/pki/x509";
import { pickInWindow, renewalInfo, type RenewalWindow } from "@/server/acme/client";
import { dueByLifetime } from "@/server/services/acme";

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
      where: { replacedAt: null, source: { in: ["internal", "acme"] }, OR: [{ serverId: { in: backendIds }, purpose: "backend" }, ...(hasLb ? [{ topologyId: t.id, purpose: "site" }] : [])] },
    });
    const lastApply = await db.run.findFirst({ where: { topologyId: t.id, kind: { in: ["topology-apply", "certificate-order"] }, status: "succeeded" }, orderBy: { finishedAt: "desc" } });
    // An ACME certificate is renewed by an order (scanForAcmeRenewals); here only one not deployed yet counts.
    const due = certs.some((c) => (c.source === "internal" && needsRenewal(c, now)) || (lastApply?.finishedAt ? c.createdAt > lastApply.finishedAt : false));
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

/** How the scan asks a CA for a certificate's renewal window (null: the CA offers no ARI). */
export type AriLookup = (server: { directoryUrl: string; trustPem: string }, certPem: string) => Promise<RenewalWindow | null>;

/**
 * Starts an order for every site whose ACME certificate is due: at the time picked
 * inside the CA's renewal window (ACME Renewal Information, asked at each scan), or
 * once a third of its lifetime remains; after failures, at the retry time the last
 * attempt recorded. The first certificate of a site is the operator's order, never the
 * scheduler's. One order per site at a time: a site with a run in progress waits.
 */
export async function scanForAcmeRenewals(db: Db, queue: Queue, now = new Date(), ari: AriLookup = renewalInfo): Promise<string[]> {
  const sites = await db.acmeSite.findMany({ include: { account: true } });
  const started: string[] = [];
  for (const site of sites) {
    const cert = await db.certificate.findFirst({ where: { topologyId: site.topologyId, purpose: "site", replacedAt: null }, orderBy: { createdAt: "desc" } });
    if (!cert || cert.source !== "acme") continue;
    let next = site.nextAttemptAt;
    let window: RenewalWindow | null = null;
    if (site.failures === 0) {
      window = await ari(site.account, cert.certPem).catch(() => null);
      if (window && (!next || next < window.start || next > window.end)) next = pickInWindow(window);
      if (!window) next ??= dueByLifetime(cert);
      if (next?.getTime() !== site.nextAttemptAt?.getTime() || window?.start.getTime() !== site.ariStart?.getTime() || window?.end.getTime() !== site.ariEnd?.getTime())
        await db.acmeSite.update({ where: { topologyId: site.topologyId }, data: { nextAttemptAt: next, ariStart: window?.start ?? null, ariEnd: window?.end ?? null } });
    }
    if (!next || next > now) continue;
    if (await conflictingRun(db, site.topologyId, "certificate-order")) continue;
    try {
      started.push((await startTopologyRun({ db, queue }, { name: "certificate renewal (schedule)" }, site.topologyId, "certificate-order", undefined, { input: { reason: "renew" } })).id);
    } catch {
      // Redis is down, or the topology lost its servers: the next scan tries again.
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
