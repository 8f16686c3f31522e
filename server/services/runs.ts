// Runs: create and enqueue, list, read. Every later capability starts its work here.
import type { Queue } from "bullmq";
import type { Db } from "../db";
import type { RunJobData } from "../queue/names";
import { type RunKind, type RunEventDto, RunStatus } from "../schemas/run";
import { ServiceError } from "./errors";
import { toEventDto } from "../queue/run-events";

export interface Caller {
  /** Shown as "who asked" on runs and (later) in the audit log. */
  name: string;
}

export interface RunsDeps {
  db: Db;
  queue: Pick<Queue<RunJobData>, "add">;
}

export async function startRun(deps: RunsDeps, caller: Caller, kind: RunKind, input: object, serverIds: string[] = []) {
  const run = await deps.db.run.create({
    data: { kind, input: JSON.stringify(input), requestedBy: caller.name, runTargets: { create: serverIds.map((serverId) => ({ serverId })) } },
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

export async function listRuns(db: Db, opts: { limit: number; cursor?: string | null; status?: RunStatus; kind?: RunKind }) {
  const rows = await db.run.findMany({
    where: { status: opts.status, kind: opts.kind },
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
  };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return {};
  }
}
