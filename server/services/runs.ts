// Runs: create and enqueue, list, read. Every later capability starts its work here.
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Db } from "../db";
import { type RunJobData, redisKeys } from "../queue/names";
import { type RunKind, type RunEventDto, RunStatus } from "../schemas/run";
import { ServiceError } from "./errors";
import { RunReporter, toEventDto } from "../queue/run-events";

export interface Caller {
  /** Shown as "who asked" on runs and (later) in the audit log. */
  name: string;
}

export interface RunsDeps {
  db: Db;
  queue: Pick<Queue<RunJobData>, "add">;
}

export async function startRun(
  deps: RunsDeps,
  caller: Caller,
  kind: RunKind,
  input: object,
  serverIds: string[] = [],
  extra: { topologyId?: string; retryOf?: string } = {},
) {
  const run = await deps.db.run.create({
    data: {
      kind,
      input: JSON.stringify(input),
      requestedBy: caller.name,
      topologyId: extra.topologyId ?? null,
      retryOf: extra.retryOf ?? null,
      runTargets: { create: [...new Set(serverIds)].map((serverId) => ({ serverId })) },
    },
  });
  try {
    // jobId = runId: adding the same run twice is a no-op in BullMQ.
    await deps.queue.add(kind, { runId: run.id }, { jobId: run.id });
  } catch (err) {
    const reason = `could not queue the run: ${err instanceof Error ? err.message : String(err)}`;
    await deps.db.run.update({ where: { id: run.id }, data: { status: "failed", outcome: reason, finishedAt: new Date() } });
    throw new ServiceError("UNAVAILABLE", `The job queue (Redis) is unavailable, so the run was not started: ${reason}`);
  }
  return toRunDto(run);
}

/**
 * Stops a run. A queued run ends at once; a running one is asked to stop (the
 * worker kills its remote commands and records "cancelled").
 */
export async function cancelRun(deps: { db: Db; queue: Pick<Queue<RunJobData>, "remove">; redis: Redis | null }, caller: Caller, id: string) {
  const run = await getRun(deps.db, id);
  if (TERMINAL.includes(run.status)) throw new ServiceError("CONFLICT", `This run has already ended (${run.status}); there is nothing to cancel`, "id");
  if (run.status === "queued") {
    // Only while still queued: a worker may claim it this very moment, and then it
    // must be stopped like any running run, not marked cancelled behind its back.
    const outcome = `cancelled by ${caller.name} before it started`;
    const { count } = await deps.db.run.updateMany({ where: { id, status: "queued" }, data: { status: "cancelled", outcome, finishedAt: new Date(), cancelRequestedAt: new Date(), cancelRequestedBy: caller.name } });
    if (count === 1) {
      const reporter = await RunReporter.open(deps.db, deps.redis, id);
      await reporter.emit("status", "cancelled");
      await deps.queue.remove(id).catch(() => 0); // a worker that picks it up anyway finds it ended
      return getRun(deps.db, id);
    }
  }
  await deps.db.run.updateMany({ where: { id, cancelRequestedAt: null, status: { in: ["queued", "running"] } }, data: { cancelRequestedAt: new Date(), cancelRequestedBy: caller.name } });
  // The worker also notices the request on its next heartbeat if this message is lost.
  await deps.redis?.publish(redisKeys.cancelChannel, id).catch(() => 0);
  return getRun(deps.db, id);
}

const TERMINAL: string[] = ["succeeded", "failed", "cancelled"];
const RETRYABLE = ["topology-apply", "topology-plan", "server-check", "system-check"];

/** Starts the same work again: a new run with the same kind and input (an apply re-plans, so it continues where the last one stopped). */
export async function retryRun(deps: RunsDeps, caller: Caller, id: string) {
  const row = await deps.db.run.findUnique({ where: { id }, include: { runTargets: true } });
  if (!row) throw new ServiceError("NOT_FOUND", `No run with id ${id}`, "id");
  if (row.status !== "failed" && row.status !== "cancelled") throw new ServiceError("CONFLICT", `Only a failed or cancelled run can be retried; this one is ${row.status}`, "id");
  if (!RETRYABLE.includes(row.kind)) throw new ServiceError("BAD_REQUEST", `A ${row.kind} run cannot be retried`, "id");
  if (row.topologyId && (row.kind === "topology-apply" || row.kind === "topology-plan")) {
    // The same checks as a fresh start (the topology exists, no apply already running), with today's servers.
    const { startTopologyRun } = await import("./topologies");
    return startTopologyRun(deps, caller, row.topologyId, row.kind, row.id);
  }
  return startRun(deps, caller, row.kind as RunKind, safeJson(row.input) as object, row.runTargets.map((t) => t.serverId), { topologyId: row.topologyId ?? undefined, retryOf: row.id });
}

export async function listRuns(db: Db, opts: { limit: number; cursor?: string | null; status?: RunStatus; kind?: RunKind; topologyId?: string }) {
  const rows = await db.run.findMany({
    where: { status: opts.status, kind: opts.kind, topologyId: opts.topologyId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: opts.limit + 1,
    ...(opts.cursor ? { cursor: { id: opts.cursor }, skip: 1 } : {}),
  });
  const more = rows.length > opts.limit;
  const items = (more ? rows.slice(0, opts.limit) : rows).map(toRunDto);
  return { items, nextCursor: more ? items[items.length - 1]!.id : null };
}

export async function getRun(db: Db, id: string) {
  const run = await db.run.findUnique({ where: { id } });
  if (!run) throw new ServiceError("NOT_FOUND", `No run with id ${id}`, "id");
  const lastEvent = await db.runEvent.aggregate({ where: { runId: id }, _max: { seq: true } });
  return { ...toRunDto(run), lastSeq: lastEvent._max.seq ?? 0 };
}

export async function listRunEvents(db: Db, id: string, afterSeq: number, limit: number): Promise<RunEventDto[]> {
  await getRun(db, id);
  const rows = await db.runEvent.findMany({ where: { runId: id, seq: { gt: afterSeq } }, orderBy: { seq: "asc" }, take: limit });
  return rows.map(toEventDto);
}

type RunRow = Awaited<ReturnType<Db["run"]["findUniqueOrThrow"]>>;

function toRunDto(r: RunRow) {
  return {
    id: r.id,
    kind: r.kind,
    status: RunStatus.catch("failed").parse(r.status),
    requestedBy: r.requestedBy,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    outcome: r.outcome,
    attempts: r.attempts,
    input: safeJson(r.input),
    topologyId: r.topologyId,
    retryOf: r.retryOf,
    cancelRequestedAt: r.cancelRequestedAt,
    cancelRequestedBy: r.cancelRequestedBy,
  };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return {};
  }
}
