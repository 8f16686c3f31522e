// Runs one job: owns the run's lifecycle (running → succeeded/failed/partial, or
// awaiting-confirmation for an operation's preview), its heartbeat, and the report
// of a takeover when a previous worker died — refused, with the reason, for a kind
// the registry says does not resume and that died in the middle of a phase.
import { DelayedError, type Job, type Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Db } from "@/server/db";
import type { Env } from "@/server/env";
import type { Logger } from "@/server/log";
import type { SshExecutor } from "@/server/exec/ssh-executor";
import type { SecretBox } from "@/server/secrets/envelope";
import { RunJobData } from "@/server/queue/names";
import { RunReporter, awaitConfirmation, finishRun } from "@/server/queue/run-events";
import { CLAIMABLE_STATUSES, PREVIEW_PHASE, isTerminal, RunKind } from "@/server/schemas/run";
import { interruptedReason, runKindPolicy } from "@/server/schemas/run-kinds";
import { kinds } from "./kinds";
import { RunJournal } from "./journal";

export interface ProcessorDeps {
  db: Db;
  redis: Redis;
  queue: Queue;
  env: Env;
  log: Logger;
  workerId: string;
  executor: SshExecutor;
  box: SecretBox;
  /** Aborted when the worker must stop now (shutdown timeout). */
  shutdown: AbortSignal;
  /** Where a cancel request (from Redis pub/sub) finds the run it must stop. */
  cancels?: CancelRegistry;
  heartbeatMs?: number;
}

/** The runs this worker is carrying out, so a cancel request can stop one. */
export class CancelRegistry {
  private readonly running = new Map<string, AbortController>();
  /** Runs being carried out here now. */
  get size(): number {
    return this.running.size;
  }
  track(runId: string): AbortController {
    const c = new AbortController();
    this.running.set(runId, c);
    return c;
  }
  untrack(runId: string): void {
    this.running.delete(runId);
  }
  cancel(runId: string, by: string): boolean {
    const c = this.running.get(runId);
    if (!c || c.signal.aborted) return false;
    c.abort(new Error(`cancelled by ${by}`));
    return true;
  }
  /** This worker no longer owns the run (another worker took it over): stop without recording an outcome. */
  lose(runId: string, why: string): boolean {
    const c = this.running.get(runId);
    if (!c || c.signal.aborted) return false;
    c.abort(new LostRunError(why));
    return true;
  }
}

export class LostRunError extends Error {
  override name = "LostRunError";
}

export function createProcessor(deps: ProcessorDeps) {
  const { db, redis, log, workerId } = deps;
  return async function processRun(job: Job, token?: string, jobSignal?: AbortSignal): Promise<void> {
    const { runId } = RunJobData.parse(job.data);
    const run = await db.run.findUnique({ where: { id: runId } });
    if (!run) {
      log.warn(`job ${job.id}: run ${runId} no longer exists; nothing to do`);
      return;
    }
    // Already ended (e.g. by the reconciler), or parked awaiting confirmation: never redo work.
    if (!(CLAIMABLE_STATUSES as readonly string[]).includes(run.status)) return;

    const reporter = await RunReporter.open(db, redis, runId);
    const resumed = run.status === "running";
    // Claim it only if nobody ended it meanwhile (the reconciler, another worker).
    const { count } = await db.run.updateMany({
      where: { id: runId, status: { in: [...CLAIMABLE_STATUSES] } },
      data: { status: "running", startedAt: run.startedAt ?? new Date(), workerId, heartbeatAt: new Date(), attempts: { increment: 1 } },
    });
    if (count === 0) return;
    if (resumed) {
      await reporter.warn(`Worker ${run.workerId ?? "unknown"} stopped before finishing this run; worker ${workerId} is taking it over.`);
    } else {
      await reporter.emit("status", "running");
    }

    const cancels = deps.cancels ?? new CancelRegistry();
    const cancel = cancels.track(runId);
    const cancelledBy = () => (cancel.signal.reason instanceof Error ? cancel.signal.reason.message : "cancelled");
    if (run.cancelRequestedAt) cancels.cancel(runId, run.cancelRequestedBy ?? "an operator");
    const heartbeat = setInterval(() => {
      db.run
        .updateMany({ where: { id: runId, workerId, status: "running" }, data: { heartbeatAt: new Date() } })
        .then(({ count }) => {
          // Another worker claimed the run (this one was presumed dead), or it was ended: stop.
          if (count === 0) cancels.lose(runId, `run ${runId} is no longer this worker's`);
        })
        .catch(() => {});
      // The cancel request also reaches us this way if its Redis message was lost.
      db.run
        .findUnique({ where: { id: runId }, select: { cancelRequestedAt: true, cancelRequestedBy: true } })
        .then((r) => r?.cancelRequestedAt && cancels.cancel(runId, r.cancelRequestedBy ?? "an operator"))
        .catch(() => {});
    }, deps.heartbeatMs ?? 5000);
    const signal = AbortSignal.any([deps.shutdown, cancel.signal, ...(jobSignal ? [jobSignal] : [])]);

    try {
      const kind = RunKind.safeParse(run.kind);
      if (!kind.success) {
        await finishRun(db, reporter, "failed", `this worker does not know how to run "${run.kind}"`);
        return;
      }
      const handler = kinds[kind.data];
      const input = handler.input.safeParse(JSON.parse(run.input));
      if (!input.success) {
        await finishRun(db, reporter, "failed", `invalid input: ${input.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
        return;
      }
      const journal = new RunJournal(db, reporter, runId);
      if (resumed && !runKindPolicy(kind.data)?.resumable) {
        // The dead worker may have left this phase half done: stop and say so, journal intact.
        // (A preview only reads; between two phases nothing is half done: both carry on.)
        const cut = (await journal.list()).find((p) => p.status === "running" && p.name !== PREVIEW_PHASE);
        if (cut) {
          await finishRun(db, reporter, "failed", interruptedReason(kind.data, cut.name));
          return;
        }
      }
      const confirmation = run.confirmedAt ? { by: run.confirmedBy ?? "an operator", at: run.confirmedAt } : null;
      const result = await handler.run({
        runId,
        requestedBy: run.requestedBy,
        input: input.data,
        reporter,
        db,
        redis,
        queue: deps.queue,
        env: deps.env,
        executor: deps.executor,
        box: deps.box,
        signal,
        resumed,
        journal,
        confirmation,
      });
      if (cancel.signal.reason instanceof LostRunError) {
        log.warn(`${cancel.signal.reason.message}: its outcome is left to the worker that has it`);
        return;
      }
      if (result.status === "awaiting-confirmation") {
        // The preview is recorded; the job completes and the run waits for an operator.
        if (!cancel.signal.aborted && (await awaitConfirmation(db, reporter, result.outcome))) return;
        // Refused because a cancel was requested (its message may not have reached us yet).
        const by = cancel.signal.aborted ? cancelledBy() : `cancelled by ${(await db.run.findUnique({ where: { id: runId } }))?.cancelRequestedBy ?? "an operator"}`;
        await finishRun(db, reporter, "cancelled", `${by} before confirming the preview`);
      } else if (cancel.signal.aborted && result.status !== "succeeded") await finishRun(db, reporter, "cancelled", `${cancelledBy()}: ${result.outcome}`);
      else await finishRun(db, reporter, result.status, result.outcome);
    } catch (err) {
      if (cancel.signal.reason instanceof LostRunError) {
        log.warn(`${cancel.signal.reason.message}: stopped, leaving its outcome to the worker that has it`);
        return;
      }
      if (cancel.signal.aborted && !deps.shutdown.aborted) {
        await finishRun(db, reporter, "cancelled", cancelledBy());
        return;
      }
      if (deps.shutdown.aborted) {
        // Put the job back in the queue and leave the run "running": the next worker
        // takes it over (resumable kinds carry on; the others stop there if they were mid-phase).
        await reporter.warn(`Worker ${workerId} is shutting down; the run will continue on the next worker.`).catch(() => {});
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      const message = err instanceof Error ? err.message : String(err);
      log.error(`run ${runId} failed: ${message}`);
      await finishRun(db, reporter, "failed", message);
    } finally {
      clearInterval(heartbeat);
      cancels.untrack(runId);
      // Whatever the run printed last is stored before the job lets go of it.
      await reporter.flush().catch((err: Error) => log.warn(`run ${runId}: could not store its last events: ${err.message}`));
    }
  };
}
