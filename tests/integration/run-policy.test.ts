// The run-kind registry applied by the services (real SQLite, real Redis, no worker):
// exclusive kinds refuse each other on a topology, partial runs can be retried, the
// reconciler leaves a run awaiting confirmation alone and still catches a confirmed
// run whose job was lost, and the runs router serves the journal.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Queue } from "bullmq";
import { randomBytes } from "node:crypto";
import type { Db } from "@/server/db";
import { redisOptions } from "@/server/queue/redis";
import type { RunJobData } from "@/server/queue/names";
import { runJobId } from "@/server/services/runs";
import { retryRun, startSampleOperation } from "@/server/services/run-retry";
import { applyTopologyRun, deleteTopology, reviewedPlan, startTopologyRun } from "@/server/services/topologies";
import { appRouter } from "@/server/api/root";
import { createCallerFactory } from "@/server/api/trpc";
import { reconcileRuns } from "@/workers/reconcile";
import { createTestDb } from "../support/test-db";
import { contextFor, makeUser } from "../support/auth";

let db: Db;
const added: Array<{ name: string; runId: string; jobId?: string }> = [];
const queue = { add: async (name: string, data: { runId: string }, opts?: { jobId?: string }) => void added.push({ name, runId: data.runId, jobId: opts?.jobId }) } as never;
const deps = () => ({ db, queue });
const caller = { name: "tester" };

beforeAll(async () => {
  ({ db } = await createTestDb());
});
afterAll(() => db.$disconnect());

async function topology(name: string) {
  const key = await db.sshKey.create({ data: { name: `k-${name}`, type: "ssh-ed25519", publicKey: "x", fingerprint: "x", privateKeyEnc: "x", createdBy: "t" } });
  const server = await db.server.create({ data: { name: `web-${name}`, address: "10.0.0.1", sshKeyId: key.id } });
  return db.topology.create({ data: { name, members: { create: [{ serverId: server.id, roles: JSON.stringify(["web"]) }] } } });
}

describe("exclusive kinds on a topology", () => {
  it("refuses an apply while an operation is active on it, and an operation while an apply is", async () => {
    const t = await topology("exclusive.test");
    const op = await startSampleOperation(deps(), caller, "sample-operation-strict", { phaseDelayMs: 10, topologyId: t.id });
    expect(op).toMatchObject({ status: "queued", topologyId: t.id, input: { phaseDelayMs: 10, topologyId: t.id } });
    await expect(startTopologyRun(deps(), caller, t.id, "topology-apply")).rejects.toMatchObject({
      code: "CONFLICT",
      message: `On exclusive.test, a sample operation (does not resume) (run ${op.id}) is queued; follow it, or cancel it first`,
    });
    // A plan only reads: it conflicts with nothing.
    await expect(startTopologyRun(deps(), caller, t.id, "topology-plan")).resolves.toMatchObject({ kind: "topology-plan", input: { topologyId: t.id, drift: false } });
    // Nor can the topology be deleted under a run.
    await expect(deleteTopology(db, t.id)).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/^A topology plan \(run \w+\) is queued on this topology/) });

    await db.run.update({ where: { id: op.id }, data: { status: "partial", finishedAt: new Date() } });
    const apply = await startTopologyRun(deps(), caller, t.id, "topology-apply");
    await expect(startSampleOperation(deps(), caller, "sample-operation", { phaseDelayMs: 10, topologyId: t.id })).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining(`a topology apply (run ${apply.id}) is queued`),
    });
    // Without a topology, a sample operation conflicts with nothing.
    await expect(startSampleOperation(deps(), caller, "sample-operation", { phaseDelayMs: 10 })).resolves.toMatchObject({ topologyId: null });
  });
});

describe("apply of a reviewed plan", () => {
  it("takes only the topology's latest plan run, ended with a plan; the API asks for a plan or an explicit unreviewed apply", async () => {
    const t = await topology("reviewed.test");
    const other = await topology("other.test");
    const planned = async (topologyId: string, result: string | null, finished = true) => {
      const run = await db.run.create({ data: { kind: "topology-plan", status: finished ? "succeeded" : "running", requestedBy: "t", topologyId, result, finishedAt: finished ? new Date() : null } });
      await db.topology.update({ where: { id: topologyId }, data: { lastPlanRunId: run.id } });
      return run.id;
    };
    const planJson = JSON.stringify({ topologyId: t.id, topologyName: t.name, observedAt: new Date(), changes: 0, hosts: [] });
    const older = await planned(t.id, planJson);
    const latest = await planned(t.id, planJson);
    await expect(applyTopologyRun(deps(), caller, t.id, { planRunId: older })).rejects.toMatchObject({
      code: "CONFLICT",
      message: expect.stringContaining(`A newer plan of this topology exists (run ${latest})`),
    });
    // The worker (resuming, or retrying an apply accepted before) needs the plan only.
    await expect(reviewedPlan(db, t.id, older, { latest: false })).resolves.toMatchObject({ plan: { topologyId: t.id } });
    await expect(applyTopologyRun(deps(), caller, t.id, { planRunId: await planned(other.id, planJson) })).rejects.toMatchObject({ code: "BAD_REQUEST", field: "planRunId" });
    await expect(applyTopologyRun(deps(), caller, t.id, { planRunId: "nope" })).rejects.toMatchObject({ code: "BAD_REQUEST", message: "nope is not a plan run of this topology" });
    const going = await planned(t.id, null, false);
    await expect(applyTopologyRun(deps(), caller, t.id, { planRunId: going })).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/still being computed/) });
    await db.run.update({ where: { id: going }, data: { status: "failed", finishedAt: new Date() } });
    await expect(applyTopologyRun(deps(), caller, t.id, { planRunId: going })).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/ended without a plan/) });
    const good = await planned(t.id, planJson);
    const run = await applyTopologyRun(deps(), caller, t.id, { planRunId: good, strict: true });
    expect(run).toMatchObject({ kind: "topology-apply", input: { topologyId: t.id, planRunId: good, strict: true } });
    await db.run.update({ where: { id: run.id }, data: { status: "failed", finishedAt: new Date() } });

    // Over the API: a plan to apply, or an explicit one-call apply.
    const { principal } = await makeUser(db, "operator");
    const api = createCallerFactory(appRouter)(contextFor(db, principal));
    await expect(api.topologies.startApply({ id: t.id } as never)).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/planRunId.*apply a plan you reviewed/s) });
    await expect(api.topologies.startApply({ id: t.id, planRunId: good, unreviewed: true } as never)).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });
});

describe("retry", () => {
  it("starts a partially applied run again, with the same checks as a fresh start", async () => {
    const t = await topology("retry.test");
    const partial = await db.run.create({
      data: { kind: "topology-apply", topologyId: t.id, requestedBy: "x", status: "partial", input: JSON.stringify({ topologyId: t.id, drift: true, strict: false }) },
    });
    const again = await retryRun(deps(), caller, partial.id);
    // A retry is asked for by someone: never a scheduled drift check.
    expect(again).toMatchObject({ kind: "topology-apply", retryOf: partial.id, input: { topologyId: t.id, strict: false } });
    expect(again.input).not.toHaveProperty("drift");
    // That apply is now queued: a second retry conflicts with it.
    await expect(retryRun(deps(), caller, partial.id)).rejects.toMatchObject({ code: "CONFLICT" });
    const ok = await db.run.create({ data: { kind: "system-check", requestedBy: "x", status: "succeeded" } });
    await expect(retryRun(deps(), caller, ok.id)).rejects.toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/failed, cancelled or partially applied/) });
  });
});

describe("reconciler and confirmation", () => {
  it("leaves a run awaiting confirmation alone, and fails a confirmed run whose job was lost", async () => {
    // A queue of its own, that no worker serves: the reconciler only reads job states.
    const q = new Queue<RunJobData>(`rampart-reconcile-${randomBytes(4).toString("hex")}`, { connection: redisOptions(inject("redisUrl"), "producer") });
    try {
      const { db: own } = await createTestDb();
      const old = new Date(Date.now() - 10 * 60_000);
      const awaiting = await own.run.create({ data: { kind: "sample-operation", requestedBy: "x", status: "awaiting-confirmation", createdAt: old } });
      const lost = await own.run.create({ data: { kind: "sample-operation", requestedBy: "x", status: "queued", createdAt: old, confirmedAt: old, confirmedBy: "x" } });
      const confirmed = await own.run.create({ data: { kind: "sample-operation", requestedBy: "x", status: "queued", createdAt: old, confirmedAt: new Date(), confirmedBy: "x" } });
      const waiting = await own.run.create({ data: { kind: "sample-operation", requestedBy: "x", status: "queued", createdAt: old, confirmedAt: old, confirmedBy: "x" } });
      await q.add("sample-operation", { runId: waiting.id }, { jobId: runJobId(waiting) });
      expect(runJobId(waiting)).toBe(`${waiting.id}-confirmed`);

      const ended = await reconcileRuns({ db: own, redis: null, queue: q, missingGraceMs: 60_000 });
      expect(ended).toEqual([{ runId: lost.id, reason: "its job is no longer in the queue (was Redis's data lost?)" }]);
      expect((await own.run.findUniqueOrThrow({ where: { id: awaiting.id } })).status).toBe("awaiting-confirmation");
      // Confirmed just now: its job may be being added (the grace counts from the confirmation).
      expect((await own.run.findUniqueOrThrow({ where: { id: confirmed.id } })).status).toBe("queued");
      expect((await own.run.findUniqueOrThrow({ where: { id: waiting.id } })).status).toBe("queued");
      await own.$disconnect();
    } finally {
      await q.obliterate({ force: true });
      await q.close();
    }
  });
});

describe("runs router", () => {
  it("serves a run's journal in order, with its data parsed", async () => {
    const operator = (await makeUser(db, "viewer")).principal;
    const run = await db.run.create({ data: { kind: "sample-operation", requestedBy: "x", status: "running" } });
    await db.runPhase.create({ data: { runId: run.id, name: "preview", position: 0, status: "done", data: JSON.stringify({ summary: "will do it" }), finishedAt: new Date() } });
    await db.runPhase.create({ data: { runId: run.id, name: "phase one", position: 1, status: "running", attempts: 2 } });
    const phases = await createCallerFactory(appRouter)(contextFor(db, operator)).runs.phases({ id: run.id });
    expect(phases).toEqual([
      expect.objectContaining({ name: "preview", status: "done", data: { summary: "will do it" }, attempts: 1, error: null }),
      expect.objectContaining({ name: "phase one", status: "running", data: null, attempts: 2, finishedAt: null }),
    ]);
    await expect(createCallerFactory(appRouter)(contextFor(db, operator)).runs.phases({ id: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
