// Drift checks: a BullMQ job scheduler (upserted at worker start) fires a scan
// job; the scan starts a plan run for every topology that has no plan or apply
// in progress. A plan never changes anything: drift is shown, not fixed.
import type { Queue } from "bullmq";
import type { Db } from "@/server/db";
import { startRun } from "@/server/services/runs";

export const DRIFT_SCHEDULER_ID = "drift-check";
export const DRIFT_SCAN_JOB = "drift-scan";

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
    const busy = await db.run.findFirst({ where: { topologyId: t.id, kind: { in: ["topology-plan", "topology-apply"] }, status: { in: ["queued", "running"] } } });
    if (busy) continue;
    // A server whose host key is not trusted would fail every check: the topology already says so.
    const unpinned = await db.server.count({ where: { id: { in: t.members.map((m) => m.serverId) }, hostKeyStatus: { not: "pinned" } } });
    if (unpinned > 0) continue;
    try {
      const run = await startRun({ db, queue }, { name: "drift check (schedule)" }, "topology-plan", { topologyId: t.id, drift: true }, t.members.map((m) => m.serverId), { topologyId: t.id });
      started.push(run.id);
    } catch {
      // Redis is unavailable: the next scan tries again.
    }
  }
  return started;
}
