// Operations against the real worker process (dist/worker.mjs), a real Redis and
// SQLite, with the sample operations: a preview the operator confirms (or cancels),
// phases in a journal, the registry's exclusivity, and a worker SIGKILLed in each
// phase — the resumable kind carries on without redoing a finished phase, the other
// ends failed with its journal and the reason, and no run stays running.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createRedis, redisOptions } from "@/server/queue/redis";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { lockHolders } from "@/server/queue/host-locks";
import { cancelRun, confirmRun, conflictingRun } from "@/server/services/runs";
import { startSampleOperation } from "@/server/services/run-retry";
import { startTopologyRun } from "@/server/services/topologies";
import { interruptedReason } from "@/server/schemas/run-kinds";
import type { Db } from "@/server/db";
import { createTestDb } from "../support/test-db";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { startRedis, type TestRedis } from "../support/redis-server";

// A Redis of its own: the workers here must not pick up other files' jobs.
let redis: TestRedis;
let client: Redis;
let db: Db;
let dbUrl: string;
let dataDir: string;
let queue: Queue<RunJobData>;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  client = createRedis(redis.url, "worker");
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
  client.disconnect();
  await db.$disconnect();
  await redis.stop();
});

function worker() {
  const w = startWorker({ DATA_DIR: dataDir, DATABASE_URL: dbUrl, REDIS_URL: redis.url, DISK_MIN_FREE_MB: "1" });
  workers.push(w);
  return w;
}

const caller = { name: "tester" };
const deps = () => ({ db, queue, redis: client });
const runOf = (id: string) => db.run.findUniqueOrThrow({ where: { id } });
const phasesOf = async (id: string) => db.runPhase.findMany({ where: { runId: id }, orderBy: { position: "asc" } });
const phase = async (id: string, name: string) => (await phasesOf(id)).find((p) => p.name === name);
const texts = async (id: string) => (await db.runEvent.findMany({ where: { runId: id }, orderBy: { seq: "asc" } })).map((e) => e.text);
const statusIs = (id: string, status: string) => async () => ((await runOf(id)).status === status ? runOf(id) : null);
const ended = (id: string) => async () => {
  const r = await runOf(id);
  return ["succeeded", "failed", "cancelled", "partial"].includes(r.status) ? r : null;
};

async function topologyWithServer(name: string) {
  const key = await db.sshKey.create({ data: { name: `k-${name}`, type: "ssh-ed25519", publicKey: "x", fingerprint: "x", privateKeyEnc: "x", createdBy: "t" } });
  const server = await db.server.create({ data: { name: `web-${name}`, address: "10.0.0.1", sshKeyId: key.id } });
  const t = await db.topology.create({ data: { name, members: { create: [{ serverId: server.id, roles: JSON.stringify(["web"]) }] } } });
  return { t, server };
}

/** Starts a sample operation and waits for its preview. */
async function previewed(kind: "sample-operation" | "sample-operation-strict", input: { phaseDelayMs: number; topologyId?: string }) {
  const run = await startSampleOperation(deps(), caller, kind, input);
  await waitUntil(statusIs(run.id, "awaiting-confirmation"), 20_000, `${kind} to compute its preview`);
  return run.id;
}

describe("operations", () => {
  it("computes a preview, waits for confirmation without holding a worker, then runs its phases under the topology's host locks", async () => {
    worker();
    const { t, server } = await topologyWithServer("confirm.test");
    const id = await previewed("sample-operation", { phaseDelayMs: 1200, topologyId: t.id });

    const waiting = await runOf(id);
    expect(waiting.outcome).toMatch(/^awaiting confirmation: will run phase one then phase two/);
    // No worker is held: the preview's job completes (just after it marks the run, so give it a moment under load).
    await waitUntil(async () => (await (await queue.getJob(id))?.getState()) === "completed", 5000, "the preview's job to complete");
    expect((await phasesOf(id)).map((p) => [p.name, p.status])).toEqual([["preview", "done"]]);
    expect(JSON.parse((await phase(id, "preview"))!.data!)).toMatchObject({ summary: expect.stringMatching(/^will run phase one then phase two/) });
    // Waiting counts as active: an apply of the same topology is refused; a plan is not.
    await expect(startTopologyRun(deps(), caller, t.id, "topology-apply")).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringContaining(`(run ${id}) is awaiting confirmation`) });
    expect(await conflictingRun(db, t.id, "topology-plan")).toBeNull();

    const confirmed = await confirmRun(deps(), caller, id);
    // Queued again (or already picked up by the worker).
    expect(confirmed).toMatchObject({ status: expect.stringMatching(/^(queued|running)$/), confirmedBy: "tester" });
    await expect(confirmRun(deps(), caller, id)).rejects.toMatchObject({ code: "CONFLICT" });

    await waitUntil(async () => (await phase(id, "phase one"))?.status === "running", 20_000, "phase one to start");
    expect((await lockHolders(client, [server.id])).get(server.id)).toBe(id);
    await expect(startTopologyRun(deps(), caller, t.id, "topology-apply")).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringContaining("is running") });

    const done = await waitUntil(ended(id), 20_000, "the operation to finish");
    expect(done.status).toBe("succeeded");
    expect(done.outcome).toMatch(/^phase one and phase two done/);
    const journal = await phasesOf(id);
    expect(journal.map((p) => [p.name, p.status, p.attempts])).toEqual([
      ["preview", "done", 1],
      ["phase one", "done", 1],
      ["phase two", "done", 1],
    ]);
    expect(JSON.parse(journal[1]!.data!).waitedMs).toBeGreaterThanOrEqual(1200);
    expect(journal[2]!.startedAt.getTime()).toBeGreaterThanOrEqual(journal[1]!.finishedAt!.getTime());
    // The run's row ends first (exactly once), then its status event follows.
    await waitUntil(async () => (await texts(id)).includes("succeeded"), 5_000, "the terminal status event");
    expect(await texts(id)).toEqual(expect.arrayContaining(["awaiting-confirmation", "Preview confirmed by tester", "Phase 'phase two' done", "succeeded"]));
    expect((await lockHolders(client, [server.id])).get(server.id)).toBeNull(); // released
  });

  it("cancelling a run awaiting confirmation ends it at once, and it can no longer be confirmed", async () => {
    worker();
    const id = await previewed("sample-operation-strict", { phaseDelayMs: 100 });
    const cancelled = await cancelRun(deps(), caller, id);
    expect(cancelled).toMatchObject({ status: "cancelled", outcome: "cancelled by tester instead of confirming the preview" });
    await expect(confirmRun(deps(), caller, id)).rejects.toMatchObject({ code: "CONFLICT" });
    expect((await phasesOf(id)).map((p) => p.name)).toEqual(["preview"]);
  });

  it("cancelling during a phase ends the run cancelled and closes the phase in the journal", async () => {
    worker();
    const id = await previewed("sample-operation", { phaseDelayMs: 20_000 });
    await confirmRun(deps(), caller, id);
    await waitUntil(async () => (await phase(id, "phase one"))?.status === "running", 20_000, "phase one to start");
    await cancelRun(deps(), caller, id);
    const done = await waitUntil(ended(id), 20_000, "the cancel to stop the phase");
    expect(done.status).toBe("cancelled");
    expect(await phase(id, "phase one")).toMatchObject({ status: "failed", error: expect.stringMatching(/^cancelled by tester/) });
    expect(await phase(id, "phase two")).toBeUndefined();
  });

  it("a worker SIGKILLed mid-phase: the resumable kind continues without redoing a finished phase; the strict one ends failed with its journal and the reason", async () => {
    const first = worker();
    // Long phases for the runs killed in phase one, short ones for those killed in phase two.
    const inOne = { phaseDelayMs: 5000 };
    const inTwo = { phaseDelayMs: 1500 };
    const runs = {
      resumableInOne: await previewed("sample-operation", inOne),
      resumableInTwo: await previewed("sample-operation", inTwo),
      strictInOne: await previewed("sample-operation-strict", inOne),
      strictInTwo: await previewed("sample-operation-strict", inTwo),
    };
    for (const id of Object.values(runs)) await confirmRun(deps(), caller, id);
    await waitUntil(
      async () =>
        (await phase(runs.resumableInTwo, "phase two"))?.status === "running" &&
        (await phase(runs.strictInTwo, "phase two"))?.status === "running" &&
        (await phase(runs.resumableInOne, "phase one"))?.status === "running" &&
        (await phase(runs.strictInOne, "phase one"))?.status === "running",
      20_000,
      "two runs in phase one and two in phase two",
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const killedAt = new Date();
    // Where each run really was when its worker died.
    for (const id of [runs.resumableInOne, runs.strictInOne])
      expect((await phasesOf(id)).map((p) => [p.name, p.status])).toEqual([
        ["preview", "done"],
        ["phase one", "running"],
      ]);
    for (const id of [runs.resumableInTwo, runs.strictInTwo])
      expect((await phasesOf(id)).map((p) => [p.name, p.status])).toEqual([
        ["preview", "done"],
        ["phase one", "done"],
        ["phase two", "running"],
      ]);
    for (const id of Object.values(runs)) expect((await runOf(id)).status).toBe("running");

    worker();
    const outcomes = Object.fromEntries(await Promise.all(Object.entries(runs).map(async ([k, id]) => [k, await waitUntil(ended(id), 60_000, `${k} to end after the takeover`)] as const)));

    // Resumable, killed in phase one: phase one runs again, then phase two.
    expect(outcomes.resumableInOne).toMatchObject({ status: "succeeded", attempts: 3 }); // preview, confirmed job, takeover
    expect((await phasesOf(runs.resumableInOne)).map((p) => [p.name, p.status, p.attempts])).toEqual([
      ["preview", "done", 1],
      ["phase one", "done", 2],
      ["phase two", "done", 1],
    ]);
    expect(await texts(runs.resumableInOne)).toContain("Phase 'phase one' started again (attempt 2)");

    // Resumable, killed in phase two: phase one is not redone.
    expect(outcomes.resumableInTwo).toMatchObject({ status: "succeeded" });
    const two = await phasesOf(runs.resumableInTwo);
    expect(two.map((p) => [p.name, p.status, p.attempts])).toEqual([
      ["preview", "done", 1],
      ["phase one", "done", 1],
      ["phase two", "done", 2],
    ]);
    expect(two[1]!.finishedAt!.getTime()).toBeLessThan(killedAt.getTime());
    expect(await texts(runs.resumableInTwo)).toContain("Phase 'phase one' was already done; not repeating it");

    // Strict: failed with the reason naming the phase; the journal kept, the cut phase closed with the reason.
    expect(outcomes.strictInOne).toMatchObject({ status: "failed", outcome: interruptedReason("sample-operation-strict", "phase one") });
    expect((await phasesOf(runs.strictInOne)).map((p) => [p.name, p.status, p.error])).toEqual([
      ["preview", "done", null],
      ["phase one", "failed", interruptedReason("sample-operation-strict", "phase one")],
    ]);
    expect(outcomes.strictInTwo).toMatchObject({ status: "failed", outcome: expect.stringContaining("the worker stopped during phase 'phase two'; this kind does not resume") });
    expect((await phasesOf(runs.strictInTwo)).map((p) => [p.name, p.status, p.attempts])).toEqual([
      ["preview", "done", 1],
      ["phase one", "done", 1],
      ["phase two", "failed", 1],
    ]);
    for (const id of [runs.strictInOne, runs.strictInTwo])
      expect(await texts(id)).toEqual(expect.arrayContaining([expect.stringMatching(/stopped before finishing this run; worker .* is taking it over/), "failed"]));

    expect(await db.run.count({ where: { status: { in: ["running", "queued"] } } })).toBe(0);
    expect(await db.runPhase.count({ where: { status: "running" } })).toBe(0);
  });
});
