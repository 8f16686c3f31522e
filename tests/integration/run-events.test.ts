// Run events against a real SQLite database and a real Redis: dense seqs, live
// fan-out, and resuming from any seq without gaps or duplicates.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Redis } from "ioredis";
import { createRedis } from "@/server/queue/redis";
import { RunReporter, finishRun } from "@/server/queue/run-events";
import { EventHub, followRun } from "@/server/queue/run-follow";
import type { RunEventDto } from "@/server/schemas/run";
import type { Db } from "@/server/db";
import { createTestDb } from "../support/test-db";

let db: Db;
let publisher: Redis;
let hub: EventHub;
let subscriber: Redis;

beforeAll(async () => {
  ({ db } = await createTestDb());
  publisher = createRedis(inject("redisUrl"), "worker");
  subscriber = createRedis(inject("redisUrl"), "subscriber");
  hub = new EventHub(subscriber);
});

afterAll(async () => {
  publisher.disconnect();
  subscriber.disconnect();
  await db.$disconnect();
});

async function newRun() {
  const run = await db.run.create({ data: { kind: "system-check", requestedBy: "test", status: "running" } });
  return run.id;
}

async function collect(gen: AsyncGenerator<RunEventDto>, max = Infinity): Promise<RunEventDto[]> {
  const out: RunEventDto[] = [];
  for await (const e of gen) {
    out.push(e);
    if (out.length >= max) break;
  }
  return out;
}

const seqs = (events: RunEventDto[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("RunReporter", () => {
  it("numbers events 1, 2, 3… even when emitted concurrently", async () => {
    const runId = await newRun();
    const reporter = await RunReporter.open(db, publisher, runId);
    await Promise.all(range(1, 30).map((i) => reporter.info(`line ${i}`)));
    await reporter.flush();
    const rows = await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
    expect(rows.map((r) => r.seq)).toEqual(range(1, 30));
    expect(rows.map((r) => r.text)).toEqual(range(1, 30).map((i) => `line ${i}`));
  });

  it("continues the sequence when a second reporter (a new worker) takes the run over", async () => {
    const runId = await newRun();
    const first = await RunReporter.open(db, publisher, runId);
    await first.info("a");
    await first.info("b");
    await first.flush();
    const second = await RunReporter.open(db, publisher, runId);
    expect((await second.info("c")).seq).toBe(3);
  });

  it("redacts registered secrets before storing", async () => {
    const runId = await newRun();
    const reporter = await RunReporter.open(db, publisher, runId);
    reporter.addSecret("hunter2-password");
    const e = await reporter.info("connecting with hunter2-password now");
    expect(e.text).toBe("connecting with [redacted] now");
    await reporter.flush();
    const row = await db.runEvent.findFirstOrThrow({ where: { runId } });
    expect(row.text).not.toContain("hunter2");
  });

  it("stores a burst in batches, one statement per batch, in emission order", async () => {
    const runId = await newRun();
    let statements = 0;
    const counting = {
      ...db,
      runEvent: {
        aggregate: db.runEvent.aggregate.bind(db.runEvent),
        createMany: (args: Parameters<Db["runEvent"]["createMany"]>[0]) => {
          statements++;
          return db.runEvent.createMany(args);
        },
      },
    } as unknown as Db;
    const reporter = await RunReporter.open(counting, publisher, runId);
    const following = collect(followRun({ db, hub, runId, afterSeq: 0, pollMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 100));
    for (const i of range(1, 5000)) void reporter.output(`line ${i}`, i % 2 ? "web-1" : "web-2");
    await finishRun(db, reporter, "succeeded", "done");
    const rows = await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
    expect(rows.map((r) => r.seq)).toEqual(range(1, 5001));
    expect(rows.slice(0, 5000).map((r) => r.text)).toEqual(range(1, 5000).map((i) => `line ${i}`));
    expect(statements).toBeLessThanOrEqual(20);
    // The live stream saw every event once, in order.
    expect(seqs(await following)).toEqual(range(1, 5001));
  });

  it("two reporters writing one run at once (a worker presumed dead, still alive) never share a seq", async () => {
    const runId = await newRun();
    const first = await RunReporter.open(db, publisher, runId);
    const second = await RunReporter.open(db, publisher, runId);
    for (const i of range(1, 300)) {
      void first.info(`first ${i}`);
      void second.info(`second ${i}`);
    }
    await Promise.all([first.flush(), second.flush()]);
    const rows = await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
    expect(rows.map((r) => r.seq)).toEqual(range(1, 600));
    // Stored with the time it was emitted (UTC, whatever the database's time zone).
    expect(Math.abs(rows[0]!.time.getTime() - Date.now())).toBeLessThan(60_000);
    // Each writer's own lines keep their order.
    const firsts = rows.filter((r) => r.text.startsWith("first ")).map((r) => r.text);
    expect(firsts).toEqual(range(1, 300).map((i) => `first ${i}`));
  });

  it("a batch the database refuses is kept, reported by flush, and stored by the next flush in order", async () => {
    const runId = await newRun();
    let failing = true;
    const flaky = {
      ...db,
      runEvent: {
        aggregate: db.runEvent.aggregate.bind(db.runEvent),
        createMany: (args: Parameters<Db["runEvent"]["createMany"]>[0]) => (failing ? Promise.reject(new Error("database is down")) : db.runEvent.createMany(args)),
      },
    } as unknown as Db;
    const reporter = await RunReporter.open(flaky, null, runId);
    for (const i of range(1, 10)) void reporter.info(`line ${i}`);
    await expect(reporter.flush()).rejects.toThrow("database is down");
    expect(await db.runEvent.count({ where: { runId } })).toBe(0);
    failing = false;
    void reporter.info("line 11");
    await reporter.flush();
    const rows = await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
    expect(rows.map((r) => r.text)).toEqual(range(1, 11).map((i) => `line ${i}`));
  }, 20_000);

  it("ends a run once: a second finish is refused", async () => {
    const runId = await newRun();
    const reporter = await RunReporter.open(db, publisher, runId);
    expect(await finishRun(db, reporter, "succeeded", "ok")).toBe(true);
    expect(await finishRun(db, reporter, "failed", "late")).toBe(false);
    const run = await db.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run.status).toBe("succeeded");
    expect(run.outcome).toBe("ok");
  });
});

describe("followRun", () => {
  it("replays stored events, then follows live ones until the run ends", async () => {
    const runId = await newRun();
    const reporter = await RunReporter.open(db, publisher, runId);
    for (const i of range(1, 5)) await reporter.info(`before ${i}`);
    const following = collect(followRun({ db, hub, runId, afterSeq: 0, pollMs: 60_000 }));
    await new Promise((r) => setTimeout(r, 100));
    for (const i of range(1, 200)) void reporter.info(`live ${i}`);
    await finishRun(db, reporter, "succeeded", "done");
    const events = await following;
    expect(seqs(events)).toEqual(range(1, 206));
    expect(events.at(-1)).toMatchObject({ level: "status", text: "succeeded" });
  });

  it("resumes after a disconnect from the last seq seen, with no gap and no repeat", async () => {
    const runId = await newRun();
    const reporter = await RunReporter.open(db, publisher, runId);
    const producing = (async () => {
      for (const i of range(1, 120)) {
        await reporter.info(`line ${i}`);
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await finishRun(db, reporter, "succeeded", "done");
    })();
    const controller = new AbortController();
    const firstPart = await collect(followRun({ db, hub, runId, afterSeq: 0, signal: controller.signal }), 37);
    controller.abort();
    const last = firstPart.at(-1)!.seq;
    const rest = await collect(followRun({ db, hub, runId, afterSeq: last }));
    await producing;
    expect([...seqs(firstPart), ...seqs(rest)]).toEqual(range(1, 121));
  });

  it("still delivers every event when pub/sub is lost (falls back to the database)", async () => {
    const runId = await newRun();
    const silent = await RunReporter.open(db, null, runId); // publishes nothing
    const following = collect(followRun({ db, hub, runId, afterSeq: 0, pollMs: 50 }));
    for (const i of range(1, 20)) await silent.info(`quiet ${i}`);
    await finishRun(db, silent, "failed", "boom");
    expect(seqs(await following)).toEqual(range(1, 21));
  });

  it("works with no Redis at all", async () => {
    const runId = await newRun();
    const reporter = await RunReporter.open(db, null, runId);
    await reporter.info("only");
    await finishRun(db, reporter, "succeeded", "ok");
    expect(seqs(await collect(followRun({ db, hub: null, runId, afterSeq: 0, pollMs: 20 })))).toEqual([1, 2]);
  });

  it("stops when its signal is aborted, even while waiting", async () => {
    const runId = await newRun();
    const controller = new AbortController();
    const following = collect(followRun({ db, hub, runId, afterSeq: 0, signal: controller.signal, pollMs: 60_000 }));
    setTimeout(() => controller.abort(), 50);
    expect(await following).toEqual([]);
  });
});
