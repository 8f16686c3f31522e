// Run history retention against a real database (SQLite, and PostgreSQL in the
// second pass): old runs lose their events and plan, keep their outcome; the
// audit trail, recent runs, running runs and a topology's latest plan are untouched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/server/db";
import { pruneRuns } from "@/workers/retention";
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
