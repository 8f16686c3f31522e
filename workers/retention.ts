// Run history that does not grow without bound: one worker an hour (a BullMQ job
// scheduler, so once per installation however many workers run) removes the events
// and the stored plan of runs that ended more than RUN_RETENTION_DAYS ago. The run
// itself stays, with its status, outcome and journal. The same job moves audit entries
// older than AUDIT_RETENTION_DAYS to files in DATA_DIR/audit-archive (archiveAudit).
// A topology's latest plan and apply are kept whatever their age: its page shows them.
import { mkdir, open, rename } from "node:fs/promises";
import path from "node:path";
import type { Queue } from "bullmq";
import type { Db } from "@/server/db";
import { TERMINAL_STATUSES } from "@/server/schemas/run";

export const RETENTION_SCHEDULER_ID = "run-retention";
export const RETENTION_JOB = "run-retention";
export const RETENTION_CHECK_MS = 3600_000;
const DAY_MS = 24 * 3600_000;

export async function scheduleRetention(queue: Queue, days: number, auditDays = 0): Promise<void> {
  if (days <= 0 && auditDays <= 0) {
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

// ---- The audit log's retention: archived to files, never deleted silently

export const AUDIT_ARCHIVE_DIR = "audit-archive";

export interface ArchiveResult {
  entries: number;
  files: string[];
}

/**
 * Moves audit entries recorded more than `days` ago out of the database into JSON-lines
 * files in DATA_DIR/audit-archive (directory 0700, files 0600), oldest first, `batch`
 * entries a file: the file is written and synced, then AuditArchive.throughId is
 * raised, then the entries are deleted (the database's trigger lets only archived
 * ones go). Stopped in between, the next run either writes the same file again (named
 * by its first entry) or deletes what was already archived.
 */
export async function archiveAudit(db: Db, dataDir: string, days: number, now = new Date(), opts: { batch?: number; max?: number } = {}): Promise<ArchiveResult> {
  const out: ArchiveResult = { entries: 0, files: [] };
  if (days <= 0) return out;
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  const batch = opts.batch ?? 1000;
  const max = opts.max ?? 100_000;
  const dir = path.join(dataDir, AUDIT_ARCHIVE_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let through = (await db.auditArchive.findUnique({ where: { id: 1 } }))?.throughId ?? 0;
  await db.auditEntry.deleteMany({ where: { id: { lte: through } } });
  while (out.entries < max) {
    const rows = await db.auditEntry.findMany({ where: { id: { gt: through } }, orderBy: { id: "asc" }, take: Math.min(batch, max - out.entries) });
    // A contiguous run of ids, all old enough: the archive never skips an entry.
    const young = rows.findIndex((r) => r.at >= cutoff);
    const old = young === -1 ? rows : rows.slice(0, young);
    if (old.length === 0) break;
    const last = old[old.length - 1]!.id;
    const file = `audit-${String(old[0]!.id).padStart(12, "0")}.jsonl`;
    const tmp = path.join(dir, `.${file}.tmp`);
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(old.map((r) => JSON.stringify(r)).join("\n") + "\n");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path.join(dir, file));
    await db.auditArchive.upsert({ where: { id: 1 }, create: { id: 1, throughId: last, file }, update: { throughId: last, file, archivedAt: now } });
    await db.auditEntry.deleteMany({ where: { id: { lte: last } } });
    through = last;
    out.entries += old.length;
    out.files.push(file);
    if (young !== -1) break;
  }
  return out;
}
