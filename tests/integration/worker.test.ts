// The real worker process (dist/worker.mjs) against a real Redis and SQLite:
// it runs a system check, finishes active runs on SIGTERM, and a run whose worker
// was SIGKILLed is taken over by the next worker, never left "running".
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue } from "bullmq";
import { redisOptions } from "@/server/queue/redis";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { startRun } from "@/server/services/runs";
import type { Db } from "@/server/db";
import { createTestDb } from "../support/test-db";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { startRedis, type TestRedis } from "../support/redis-server";

// This file gets a Redis of its own: a worker here must not pick up other files' jobs.
let redis: TestRedis;
let db: Db;
let dbUrl: string;
let dataDir: string;
let queue: Queue<RunJobData>;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  ({ db, url: dbUrl, dir: dataDir } = await createTestDb());
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
});

afterEach(async () => {
  for (const w of workers.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      w.child.kill("SIGKILL");
      await w.exited;
    }
  }
});

afterAll(async () => {
  await queue.close();
  await db.$disconnect();
  await redis.stop();
});

function worker(extra: Record<string, string> = {}) {
  const w = startWorker({ DATA_DIR: dataDir, DATABASE_URL: dbUrl, REDIS_URL: redis.url, DISK_MIN_FREE_MB: "1", ...extra });
  workers.push(w);
  return w;
}

const caller = { name: "tester" };
const runOf = (id: string) => db.run.findUniqueOrThrow({ where: { id } });
const eventsOf = (id: string) => db.runEvent.findMany({ where: { runId: id }, orderBy: { seq: "asc" } });

describe("worker", () => {
  it("runs a system check and reports one event per check", async () => {
    worker();
    const run = await startRun({ db, queue }, caller, "system-check", { delayBetweenChecksMs: 0 });
    const done = await waitUntil(
      async () => {
        const r = await runOf(run.id);
        return r.status === "succeeded" || r.status === "failed" ? r : null;
      },
      20_000,
      "the system check to finish",
    );
    expect(done.status).toBe("succeeded");
    expect(done.outcome).toBe("4 passed, 0 warnings, 0 failed");
    const events = await eventsOf(run.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.text)).toEqual([
      "running",
      expect.stringMatching(/^\[1\/4\] Database: OK — SQLite at .* answers in [\d.]+ ms; \d+ migration\(s\) applied/),
      expect.stringMatching(/^\[2\/4\] Redis: OK — Redis [\d.]+ answers PING in [\d.]+ ms; appendonly yes, maxmemory-policy noeviction$/),
      expect.stringMatching(/^\[3\/4\] Job queue: OK — \d+ waiting, 1 active/),
      expect.stringMatching(/^\[4\/4\] Disk space: OK — [\d.]+ GB free of [\d.]+ GB/),
      "succeeded",
    ]);
  });

  it("fails the disk check when free space is below DISK_MIN_FREE_MB", async () => {
    worker({ DISK_MIN_FREE_MB: "9999999" });
    const run = await startRun({ db, queue }, caller, "system-check", {});
    const done = await waitUntil(async () => ((await runOf(run.id)).status === "failed" ? runOf(run.id) : null), 20_000, "the run to fail");
    expect(done.outcome).toBe("3 passed, 0 warnings, 1 failed");
    const disk = (await eventsOf(run.id)).find((e) => e.text.includes("Disk space"));
    expect(disk).toMatchObject({ level: "error" });
    expect(disk!.text).toMatch(/below DISK_MIN_FREE_MB \(9999999 MB\)/);
  });

  it("on SIGTERM finishes the active run before exiting", async () => {
    const w = worker();
    const run = await startRun({ db, queue }, caller, "system-check", { delayBetweenChecksMs: 700 });
    await waitUntil(async () => (await eventsOf(run.id)).length >= 2, 20_000, "the run to start");
    w.child.kill("SIGTERM");
    const exit = await w.exited;
    expect(exit.code).toBe(0);
    const r = await runOf(run.id);
    expect(r.status).toBe("succeeded");
    expect(w.output()).toContain("SIGTERM: finishing active runs");
  });

  it("a run whose worker is SIGKILLed is completed by the next worker, and nothing stays running", async () => {
    const first = worker();
    const run = await startRun({ db, queue }, caller, "system-check", { delayBetweenChecksMs: 1500 });
    await waitUntil(async () => (await eventsOf(run.id)).length >= 2, 20_000, "the run to start");
    first.child.kill("SIGKILL");
    await first.exited;
    expect((await runOf(run.id)).status).toBe("running");

    worker();
    const done = await waitUntil(
      async () => {
        const r = await runOf(run.id);
        return r.status !== "running" && r.status !== "queued" ? r : null;
      },
      45_000,
      "the next worker to take the run over",
    );
    expect(done.status).toBe("succeeded");
    expect(done.attempts).toBe(2);
    const events = await eventsOf(run.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.some((e) => /stopped before finishing this run; worker .* is taking it over/.test(e.text))).toBe(true);
    expect(await db.run.count({ where: { status: { in: ["running", "queued"] } } })).toBe(0);
  });

  it("a run whose job vanished from Redis is marked failed with the reason", async () => {
    const run = await db.run.create({ data: { kind: "system-check", requestedBy: "tester", status: "running", createdAt: new Date(Date.now() - 5 * 60_000) } });
    worker();
    const done = await waitUntil(async () => ((await runOf(run.id)).status === "failed" ? runOf(run.id) : null), 20_000, "the reconciler");
    expect(done.outcome).toMatch(/no longer in the queue/);
  });

  it("refuses to start when Redis may evict keys, and says why", async () => {
    const evicting = await startRedis(["--maxmemory-policy", "allkeys-lru"]);
    try {
      const w = worker({ REDIS_URL: evicting.url });
      const exit = await w.exited;
      expect(exit.code).toBe(1);
      expect(w.output()).toMatch(/maxmemory-policy is "allkeys-lru" but must be "noeviction"/);
    } finally {
      await evicting.stop();
    }
  });

  it("warns when Redis does not persist", async () => {
    const volatile = await startRedis(["--appendonly", "no"]);
    try {
      const w = worker({ REDIS_URL: volatile.url });
      await waitUntil(async () => w.output().includes("ready"), 15_000, "the worker to start");
      expect(w.output()).toMatch(/appendonly is "no": queued runs may be lost/);
    } finally {
      await volatile.stop();
    }
  });
});
