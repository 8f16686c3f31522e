// Run history retention against a real database (SQLite, and PostgreSQL in the
// second pass): old runs lose their events and plan, keep their outcome; the
// audit trail, recent runs, running runs and a topology's latest plan are untouched.
// Audit retention: old entries move to files, and only archived ones leave the database.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/server/db";
import { AUDIT_ARCHIVE_DIR, archiveAudit, pruneRuns } from "@/workers/retention";
import { createTestDb } from "../support/test-db";

let db: Db;
const now = new Date("2026-12-03T12:00:00Z");
const daysAgo = (d: number) => new Date(now.getTime() - d * 24 * 3600_000);

beforeAll(async () => {
  ({ db } = await createTestDb());
});
afterAll(async () => {
  await db.$disconnect();
});

async function runWithEvents(opts: { finishedDaysAgo: number | null; status?: string; events?: number }) {
  const finishedAt = opts.finishedDaysAgo === null ? null : daysAgo(opts.finishedDaysAgo);
  const run = await db.run.create({
    data: { kind: "topology-plan", requestedBy: "test", status: opts.status ?? "succeeded", outcome: "applied 3 changes", finishedAt, result: JSON.stringify({ plan: "…" }) },
  });
  const n = opts.events ?? 3;
  await db.runEvent.createMany({ data: Array.from({ length: n }, (_, i) => ({ runId: run.id, seq: i + 1, level: "info", text: `line ${i + 1}` })) });
  return run.id;
}

describe("run retention", () => {
  it("prunes the events and plan of runs that ended before the retention, and nothing else", async () => {
    const old = await runWithEvents({ finishedDaysAgo: 120, events: 50 });
    const recent = await runWithEvents({ finishedDaysAgo: 10 });
    const running = await runWithEvents({ finishedDaysAgo: null, status: "running" });
    const latestPlan = await runWithEvents({ finishedDaysAgo: 200 });
    await db.topology.create({ data: { name: `retention-${Date.now()}`, lastPlanRunId: latestPlan } });
    const audit = await db.auditEntry.count();

    const result = await pruneRuns(db, 90, now);
    expect(result.runs).toBeGreaterThanOrEqual(1);
    const oldRun = await db.run.findUniqueOrThrow({ where: { id: old } });
    expect(oldRun.eventsPrunedAt).toEqual(now);
    expect(oldRun.result).toBeNull();
    expect(oldRun.outcome).toBe("applied 3 changes");
    expect(oldRun.status).toBe("succeeded");
    expect(await db.runEvent.count({ where: { runId: old } })).toBe(0);
    for (const kept of [recent, running, latestPlan]) {
      expect(await db.runEvent.count({ where: { runId: kept } })).toBe(3);
      expect((await db.run.findUniqueOrThrow({ where: { id: kept } })).eventsPrunedAt).toBeNull();
    }
    expect(await db.auditEntry.count()).toBe(audit);
    // Nothing left to do: a second pass prunes nothing.
    expect(await pruneRuns(db, 90, now)).toEqual({ runs: 0, events: 0 });
  });

  it("works through many runs in short batches, and 0 days keeps everything", async () => {
    const ids = [];
    for (let i = 0; i < 25; i++) ids.push(await runWithEvents({ finishedDaysAgo: 400 + i, events: 4 }));
    expect(await pruneRuns(db, 0, now)).toEqual({ runs: 0, events: 0 });
    const limited = await pruneRuns(db, 365, now, { batch: 7, maxRuns: 20 });
    expect(limited).toEqual({ runs: 20, events: 80 });
    const rest = await pruneRuns(db, 365, now, { batch: 7 });
    expect(rest).toEqual({ runs: 5, events: 20 });
    expect(await db.runEvent.count({ where: { runId: { in: ids } } })).toBe(0);
  });
});

describe("audit retention", () => {
  let adb: Db;
  let dataDir: string;
  beforeAll(async () => {
    ({ db: adb, dir: dataDir } = await createTestDb());
  });
  afterAll(() => adb.$disconnect());
  const entry = (at: Date, action: string) => adb.auditEntry.create({ data: { at, actorKind: "user", actorLabel: "a@example.test", action, outcome: "ok", detail: "{}" } });
  const archiveDir = () => path.join(dataDir, AUDIT_ARCHIVE_DIR);
  const archived = () =>
    readdirSync(archiveDir())
      .sort()
      .flatMap((f) => readFileSync(path.join(archiveDir(), f), "utf8").trim().split("\n"))
      .map((l) => (JSON.parse(l) as { action: string }).action);

  it("moves entries past the retention to 0600 files, oldest first, and the database lets only those go", async () => {
    for (let i = 0; i < 7; i++) await entry(daysAgo(400 - i), `old.${i}`);
    for (let i = 0; i < 3; i++) await entry(daysAgo(10), `recent.${i}`);
    expect(await archiveAudit(adb, dataDir, 0, now)).toEqual({ entries: 0, files: [] });

    const r = await archiveAudit(adb, dataDir, 365, now, { batch: 3 });
    expect(r.entries).toBe(7);
    expect(r.files).toHaveLength(3);
    expect(archived()).toEqual(["old.0", "old.1", "old.2", "old.3", "old.4", "old.5", "old.6"]);
    expect(statSync(archiveDir()).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(archiveDir())) expect(statSync(path.join(archiveDir(), f)).mode & 0o777).toBe(0o600);
    expect((await adb.auditEntry.findMany({ orderBy: { id: "asc" } })).map((e) => e.action)).toEqual(["recent.0", "recent.1", "recent.2"]);

    // What was not archived cannot leave the database, whoever asks.
    const refused = await adb.auditEntry.deleteMany({}).catch((e: Error) => e);
    // (Prisma files SQLite's trigger error under "foreign key"; the trigger's own words are in its details.)
    expect(`${String(refused)} ${JSON.stringify(refused)}`).toMatch(/only archived entries may leave it/);
    expect(await adb.auditEntry.count()).toBe(3);
    expect(await archiveAudit(adb, dataDir, 365, now)).toEqual({ entries: 0, files: [] });
  });

  it("stopped between recording the archive and deleting, the next pass deletes what was archived and writes nothing twice", async () => {
    const first = await entry(daysAgo(500), "late.0");
    await entry(daysAgo(499), "late.1");
    // As if a pass wrote the file for late.0 and recorded it, then died before deleting.
    await adb.auditArchive.update({ where: { id: 1 }, data: { throughId: first.id } });
    writeFileSync(path.join(archiveDir(), `audit-${String(first.id).padStart(12, "0")}.jsonl`), `${JSON.stringify(first)}\n`, { mode: 0o600 });
    const before = archived().length;
    const r = await archiveAudit(adb, dataDir, 365, now);
    expect(r.entries).toBe(1);
    expect(archived().length).toBe(before + 1);
    expect(archived().filter((a) => a.startsWith("late."))).toEqual(["late.0", "late.1"]);
    expect(await adb.auditEntry.count({ where: { action: { startsWith: "late." } } })).toBe(0);
  });
});
