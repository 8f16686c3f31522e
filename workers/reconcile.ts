// No run stays "running" (or "queued") forever. BullMQ re-queues a job whose worker
// died once its lock expires; this catches what that cannot: a job that failed
// without the processor recording it, or a job that vanished from Redis.
// A run awaiting confirmation is left alone: its preview job completed on purpose,
// and it waits for an operator. Once confirmed, its job is the "-confirmed" one.
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Db } from "@/server/db";
import { RunReporter, closeOpenPhases } from "@/server/queue/run-events";
import { CLAIMABLE_STATUSES } from "@/server/schemas/run";
import { runJobId } from "@/server/services/runs";

export interface ReconcileDeps {
  db: Db;
  redis: Redis | null;
  queue: Queue;
  /** A run whose job is missing is only failed after this grace period (it may be being enqueued). */
  missingGraceMs?: number;
  now?: () => Date;
}

export async function reconcileRuns(deps: ReconcileDeps): Promise<Array<{ runId: string; reason: string }>> {
  const now = deps.now?.() ?? new Date();
  const grace = deps.missingGraceMs ?? 60_000;
  const open = await deps.db.run.findMany({ where: { status: { in: [...CLAIMABLE_STATUSES] } }, select: { id: true, createdAt: true, confirmedAt: true } });
  const ended: Array<{ runId: string; reason: string }> = [];
  for (const run of open) {
    const job = await deps.queue.getJob(runJobId(run));
    const state = job ? await job.getState() : "missing";
    let reason: string | null = null;
    if (state === "failed") reason = describeJobFailure(job?.failedReason);
    else if (state === "completed") reason = "the worker finished its job without recording an outcome";
    // A confirmed run's job was added at confirmation, not at creation.
    else if ((state === "missing" || state === "unknown") && now.getTime() - (run.confirmedAt ?? run.createdAt).getTime() > grace)
      reason = "its job is no longer in the queue (was Redis's data lost?)";
    if (!reason) continue;
    // Claim the run first: one that finished meanwhile gets no stray error event.
    const claimed = await deps.db.$transaction(async (tx) => {
      const { count } = await tx.run.updateMany({
        where: { id: run.id, status: { in: [...CLAIMABLE_STATUSES] } },
        data: { status: "failed", outcome: reason, finishedAt: new Date() },
      });
      if (count > 0) await closeOpenPhases(tx, run.id, `run ended by the reconciler: ${reason}`);
      return count > 0;
    });
    if (!claimed) continue;
    const reporter = await RunReporter.open(deps.db, deps.redis, run.id);
    await reporter.error(`Run ended by the reconciler: ${reason}`);
    await reporter.emit("status", "failed");
    ended.push({ runId: run.id, reason });
  }
  return ended;
}

export function describeJobFailure(failedReason: string | undefined): string {
  if (!failedReason) return "its job failed without a reason";
  if (/stalled more than allowable limit/i.test(failedReason)) return "the worker running it stopped (crashed or was killed) too many times; start the run again";
  return `its job failed: ${failedReason}`;
}
