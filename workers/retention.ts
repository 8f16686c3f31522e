// Run history that does not grow without bound: one worker an hour (a BullMQ job
// scheduler, so once per installation however many workers run) removes the events
// and the stored plan of runs that ended more than RUN_RETENTION_DAYS ago. The run
// itself stays, with its status, outcome and journal, and so does the audit trail.
// A topology's latest plan and apply are kept whatever their age: its page shows them.
import type { Queue } from "bullmq";
import type { Db } from "@/server/db";
import { TERMINAL_STATUSES } from "@/server/schemas/run";

export const RETENTION_SCHEDULER_ID = "run-retention";
export const RETENTION_JOB = "run-retention";
export const RETENTION_CHECK_MS = 3600_000;
const DAY_MS = 24 * 3600_000;

export async function scheduleRetention(queue: Queue, days: number): Promise<void> {
  if (days <= 0) {
    await queue.removeJobScheduler(RETENTION_SCHEDULER_ID);
    return;
  }
  await queue.upsertJobScheduler(RETENTION_SCHEDULER_ID, { every: RETENTION_CHECK_MS }, { name: RETENTION_JOB, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
}

export interface PruneResult {
  runs: number;
  events: number;
}

/**
 * Prunes runs that ended before `days` ago, `batch` runs per transaction (short
 * transactions: the console and other runs keep writing meanwhile), at most `maxRuns`
 * per call (the next hourly job goes on).
 */
export async function pruneRuns(db: Db, days: number, now = new Date(), opts: { batch?: number; maxRuns?: number } = {}): Promise<PruneResult> {
  const out: PruneResult = { runs: 0, events: 0 };
  if (days <= 0) return out;
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  const batch = opts.batch ?? 100;
  const maxRuns = opts.maxRuns ?? 10_000;
  const latest = await db.topology.findMany({ select: { lastPlanRunId: true, lastApplyRunId: true } });
  const keep = latest.flatMap((t) => [t.lastPlanRunId, t.lastApplyRunId]).filter((id): id is string => !!id);
  while (out.runs < maxRuns) {
    const runs = await db.run.findMany({
      where: { finishedAt: { lt: cutoff }, status: { in: [...TERMINAL_STATUSES] }, eventsPrunedAt: null, id: { notIn: keep } },
      select: { id: true },
      orderBy: { finishedAt: "asc" },
      take: Math.min(batch, maxRuns - out.runs),
    });
    if (runs.length === 0) break;
    const ids = runs.map((r) => r.id);
    const [events] = await db.$transaction([db.runEvent.deleteMany({ where: { runId: { in: ids } } }), db.run.updateMany({ where: { id: { in: ids } }, data: { eventsPrunedAt: now, result: null } })]);
    out.runs += ids.length;
    out.events += events.count;
  }
  return out;
}
