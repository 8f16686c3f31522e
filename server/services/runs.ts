// Runs: create and enqueue, list, read. Every later capability starts its work here.
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Db } from "../db";
import { type RunJobData, redisKeys } from "../queue/names";
import {
  type RunKind,
  type RunEventDto,
  type RunLogDto,
  type RunLogFilter,
  type RunLogSummaryDto,
  type RunPhaseDto,
  type SampleOperationInput,
  ACTIVE_STATUSES,
  EVENT_LEVELS,
  RETRYABLE_STATUSES,
  RunStatus,
  isTerminal,
} from "../schemas/run";
import { conflictingKinds, runKindLabel, runKindPolicy } from "../schemas/run-kinds";
import { ServiceError } from "./errors";
import { RunReporter, toEventDto, toPhaseDto } from "../queue/run-events";

export interface Caller {
  /** Shown as "who asked" on runs and (later) in the audit log. */
  name: string;
}

export interface RunsDeps {
  db: Db;
  queue: Pick<Queue<RunJobData>, "add">;
}

export async function startRun(deps: RunsDeps, caller: Caller, kind: RunKind, input: object, serverIds: string[] = [], extra: { topologyId?: string; retryOf?: string } = {}) {
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
  await enqueue(deps, run);
  return toRunDto(run);
}

/**
 * The BullMQ job id of a run's current job. jobId = runId makes adding the same
 * run twice a no-op; an operation's confirmed continuation needs an id of its own,
 * because the job that computed the preview has completed under the run's id.
 */
export const runJobId = (run: { id: string; confirmedAt: Date | null }) => (run.confirmedAt ? `${run.id}-confirmed` : run.id);

async function enqueue(deps: RunsDeps, run: { id: string; kind: string; confirmedAt: Date | null }) {
  try {
    await deps.queue.add(run.kind, { runId: run.id }, { jobId: runJobId(run) });
  } catch (err) {
    const reason = `could not queue the run: ${err instanceof Error ? err.message : String(err)}`;
    await deps.db.run.update({ where: { id: run.id }, data: { status: "failed", outcome: reason, finishedAt: new Date() } });
    throw new ServiceError("UNAVAILABLE", `The job queue (Redis) is unavailable, so the run was not started: ${reason}`);
  }
}

/**
 * The active run on a topology that a new run of `kind` would conflict with (the
 * registry's policy says which kinds exclude each other), or null. A run awaiting
 * confirmation counts: its preview was computed against the topology as it is.
 */
export async function conflictingRun(db: Db, topologyId: string, kind: RunKind) {
  const kinds = conflictingKinds(kind);
  if (kinds.length === 0) return null;
  return db.run.findFirst({ where: { topologyId, kind: { in: kinds }, status: { in: [...ACTIVE_STATUSES] } }, orderBy: { createdAt: "desc" } });
}

/** Any run still working on (or waiting to work on) the topology, whatever its kind. */
export async function activeTopologyRun(db: Db, topologyId: string) {
  return db.run.findFirst({ where: { topologyId, status: { in: [...ACTIVE_STATUSES] } }, orderBy: { createdAt: "desc" } });
}

/** "A topology apply (run …) is running" — for conflict messages. */
export function describeActiveRun(run: { id: string; kind: string; status: string }): string {
  const status = run.status === "awaiting-confirmation" ? "awaiting confirmation" : run.status;
  return `a ${runKindLabel(run.kind).toLowerCase()} (run ${run.id}) is ${status}`;
}

/**
 * Stops a run. A queued run ends at once; a running one is asked to stop (the
 * worker kills its remote commands and records "cancelled").
 */
export async function cancelRun(deps: { db: Db; queue: Pick<Queue<RunJobData>, "remove">; redis: Redis | null }, caller: Caller, id: string) {
  const run = await getRun(deps.db, id);
  if (isTerminal(run.status)) throw new ServiceError("CONFLICT", `This run has already ended (${run.status}); there is nothing to cancel`, "id");
  if (run.status === "queued" || run.status === "awaiting-confirmation") {
    // Only while still queued (or waiting for a confirmation nobody gave): a worker may
    // claim it this very moment, and then it must be stopped like any running run,
    // not marked cancelled behind its back.
    const outcome = run.status === "queued" ? `cancelled by ${caller.name} before it started` : `cancelled by ${caller.name} instead of confirming the preview`;
    const { count } = await deps.db.run.updateMany({
      where: { id, status: run.status },
      data: { status: "cancelled", outcome, finishedAt: new Date(), cancelRequestedAt: new Date(), cancelRequestedBy: caller.name },
    });
    if (count === 1) {
      const reporter = await RunReporter.open(deps.db, deps.redis, id);
      await reporter.emit("status", "cancelled");
      if (run.status === "queued") await deps.queue.remove(runJobId(run)).catch(() => 0); // a worker that picks it up anyway finds it ended
      return getRun(deps.db, id);
    }
  }
  await deps.db.run.updateMany({ where: { id, cancelRequestedAt: null, status: { in: ["queued", "running"] } }, data: { cancelRequestedAt: new Date(), cancelRequestedBy: caller.name } });
  // The worker also notices the request on its next heartbeat if this message is lost.
  await deps.redis?.publish(redisKeys.cancelChannel, id).catch(() => 0);
  return getRun(deps.db, id);
}

/**
 * Confirms the preview of a run awaiting confirmation: the run is queued again and
 * a worker carries out its phases. Only once: a second confirm (or a cancel that
 * got there first) is refused.
 */
export async function confirmRun(deps: RunsDeps & { redis: Redis | null }, caller: Caller, id: string) {
  const run = await getRun(deps.db, id);
  if (run.status !== "awaiting-confirmation") throw new ServiceError("CONFLICT", `Only a run awaiting confirmation can be confirmed; this one is ${run.status}`, "id");
  const confirmedAt = new Date();
  const { count } = await deps.db.run.updateMany({
    where: { id, status: "awaiting-confirmation" },
    data: { status: "queued", confirmedAt, confirmedBy: caller.name, outcome: null },
  });
  if (count === 0) throw new ServiceError("CONFLICT", "This run was confirmed or cancelled by someone else meanwhile", "id");
  const reporter = await RunReporter.open(deps.db, deps.redis, id);
  await reporter.info(`Preview confirmed by ${caller.name}`);
  await reporter.emit("status", "queued");
  await enqueue(deps, { id, kind: run.kind, confirmedAt });
  return getRun(deps.db, id);
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

export async function listRunEvents(db: Db, id: string, afterSeq: number, limit: number, filter: RunLogFilter = {}): Promise<RunEventDto[]> {
  await getRun(db, id);
  const rows = await db.runEvent.findMany({ where: { ...logWhere(db, id, filter), seq: { gt: afterSeq } }, orderBy: { seq: "asc" }, take: limit });
  return rows.map(toEventDto);
}

type EventWhere = NonNullable<NonNullable<Parameters<Db["runEvent"]["count"]>[0]>["where"]>;

const isFiltered = (f: RunLogFilter) => !!(f.levels?.length || f.host || f.search || f.echoes === "hide");

/** The filter as a query. matchesRunLogFilter (server/schemas/run.ts) is its copy for live events: keep them alike. */
function logWhere(db: Db, runId: string, f: RunLogFilter, uptoSeq?: number): EventWhere {
  return {
    runId,
    ...(uptoSeq !== undefined ? { seq: { lte: uptoSeq } } : {}),
    ...(f.levels?.length ? { level: { in: f.levels } } : {}),
    ...(f.host ? { host: f.host } : {}),
    ...(f.search ? { AND: textContains(db, f.search) } : {}),
    ...(f.echoes === "hide" ? { NOT: { level: "debug", text: { startsWith: "$ " } } } : {}),
  };
}

/**
 * "text contains this, ignoring case". Prisma passes the text to LIKE as it is, so % and _
 * would be wildcards. PostgreSQL's LIKE takes a backslash escape (and needs asking to
 * ignore case; the client is typed for SQLite, whose filter has no `mode`, hence the
 * cast). SQLite's has no escape character without an ESCAPE clause Prisma does not
 * write: there each piece between wildcards must be there, which can let through a
 * line that has the pieces apart (new live lines are matched exactly in the browser).
 */
function textContains(db: Db, search: string): EventWhere[] {
  if ((db as unknown as { _activeProvider?: string })._activeProvider === "postgresql")
    return [{ text: { contains: search.replace(/[\\%_]/g, (c) => `\\${c}`), mode: "insensitive" } as { contains: string } }];
  const pieces = search.split(/[%_]+/).filter((p) => p.length > 0);
  return pieces.length > 0 ? pieces.map((p) => ({ text: { contains: p } })) : [{ text: { contains: search } }];
}

/**
 * A window of a run's log (RunLogInput): how many events match the filter up to
 * uptoSeq, and `limit` of them from `offset` (by default the last ones). The run
 * page reads the part on screen, so a run of any length opens at once.
 */
export async function readRunLog(db: Db, id: string, q: RunLogFilter & { offset?: number; limit: number; uptoSeq?: number }): Promise<RunLogDto> {
  const run = await getRun(db, id);
  const uptoSeq = Math.min(q.uptoSeq ?? run.lastSeq, run.lastSeq);
  const where = logWhere(db, id, q, uptoSeq);
  const total = await db.runEvent.count({ where });
  const offset = Math.min(q.offset ?? Math.max(0, total - q.limit), total);
  const n = Math.min(q.limit, total - offset);
  if (n <= 0) return { uptoSeq, total, offset, items: [] };
  let rows;
  if (!isFiltered(q) && total === uptoSeq) {
    // Every seq from 1 to uptoSeq is there (seqs are dense): position i is seq i + 1.
    rows = await db.runEvent.findMany({ where: { runId: id, seq: { gt: offset, lte: offset + n } }, orderBy: { seq: "asc" } });
  } else {
    // Skipped rows are still walked: come from whichever end is nearer.
    const fromEnd = total - offset - n;
    rows =
      fromEnd < offset
        ? (await db.runEvent.findMany({ where, orderBy: { seq: "desc" }, skip: fromEnd, take: n })).reverse()
        : await db.runEvent.findMany({ where, orderBy: { seq: "asc" }, skip: offset, take: n });
  }
  return { uptoSeq, total, offset, items: rows.map(toEventDto) };
}

/**
 * What a run's log holds, by host and level, and each host's latest progress: what
 * the run page needs besides the lines on screen, in a few grouped queries.
 */
export async function summariseRunLog(db: Db, id: string): Promise<RunLogSummaryDto> {
  const { lastSeq } = await getRun(db, id);
  const upto = { runId: id, seq: { lte: lastSeq } };
  const [groups, echoes, progressed] = await Promise.all([
    db.runEvent.groupBy({ by: ["host", "level"], where: upto, _count: { _all: true } }),
    db.runEvent.count({ where: { ...upto, level: "debug", text: { startsWith: "$ " } } }),
    db.runEvent.groupBy({ by: ["host"], where: { ...upto, level: "progress", host: { not: null } }, _min: { seq: true }, _max: { seq: true } }),
  ]);
  const hosts = new Map<string, number>();
  const levels = new Map<string, number>();
  let events = 0;
  for (const g of groups) {
    events += g._count._all;
    if (g.host !== null) hosts.set(g.host, (hosts.get(g.host) ?? 0) + g._count._all);
    levels.set(g.level, (levels.get(g.level) ?? 0) + g._count._all);
  }
  const firstSeen = new Map(progressed.map((p) => [p.host, p._min.seq ?? 0]));
  const latest = await db.runEvent.findMany({ where: { runId: id, seq: { in: progressed.map((p) => p._max.seq!).filter((s) => s !== null) } } });
  const progress = latest
    .map(toEventDto)
    .map((e) => ({ host: e.host!, seq: e.seq, done: Number(e.data?.done), total: Number(e.data?.total), text: e.text }))
    .filter((p) => Number.isFinite(p.done) && Number.isFinite(p.total))
    .sort((a, b) => firstSeen.get(a.host)! - firstSeen.get(b.host)!);
  return {
    lastSeq,
    events,
    hosts: [...hosts].map(([host, count]) => ({ host, count })).sort((a, b) => a.host.localeCompare(b.host)),
    levels: EVENT_LEVELS.filter((l) => levels.has(l)).map((level) => ({ level, count: levels.get(level)! })),
    echoes,
    progress,
  };
}

/**
 * True when there is nothing left to follow after `afterSeq`: the run has ended and
 * its final status event is already behind the follower (who read the log in pages).
 */
export async function runFollowIsOver(db: Db, id: string, afterSeq: number): Promise<boolean> {
  const run = await getRun(db, id);
  if (!isTerminal(run.status) || afterSeq < run.lastSeq) return false;
  // Long ended without one (its events were pruned): nothing will come either.
  if (run.finishedAt && Date.now() - run.finishedAt.getTime() > 60_000) return true;
  const last = await db.runEvent.findUnique({ where: { runId_seq: { runId: id, seq: run.lastSeq } } });
  return !!last && last.level === "status" && isTerminal(last.text);
}

/** A run's journal: its phases in the order they were first started (empty for kinds that keep none). */
export async function listRunPhases(db: Db, id: string): Promise<RunPhaseDto[]> {
  await getRun(db, id);
  const rows = await db.runPhase.findMany({ where: { runId: id }, orderBy: { position: "asc" } });
  return rows.map(toPhaseDto);
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
    confirmedAt: r.confirmedAt,
    confirmedBy: r.confirmedBy,
    eventsPrunedAt: r.eventsPrunedAt,
  };
}

export function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return {};
  }
}
