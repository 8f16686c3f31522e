// Samples of the operation machinery, changing nothing: a preview, then two phases
// that each wait `phaseDelayMs` and record what they did in the journal. Two kinds
// share the definition: "sample-operation" resumes after its worker dies,
// "sample-operation-strict" stops and reports (the registry says which).
// With a topology, it holds the topology's host locks through both phases, as a
// real operation (a promotion) would, and an apply of that topology is refused meanwhile.
import { setTimeout as sleep } from "node:timers/promises";
import { SampleOperationInput } from "@/server/schemas/run";
import { acquireHostLocks } from "@/server/queue/host-locks";
import { defineOperation, type OperationContext } from "../operations";

/** How long the sample waits for another run to release a host. */
const LOCK_WAIT_MS = 30_000;

const wait = async (ctx: OperationContext<SampleOperationInput>, phase: string) => {
  const started = Date.now();
  await ctx.reporter.info(`${phase}: waiting ${ctx.input.phaseDelayMs} ms`);
  await sleep(ctx.input.phaseDelayMs, undefined, { signal: ctx.signal });
  return { waitedMs: Date.now() - started };
};

export const sampleOperation = defineOperation({
  input: SampleOperationInput,
  async preview({ input }) {
    return { summary: `will run phase one then phase two, each waiting ${input.phaseDelayMs} ms; nothing on any server changes`, details: { phases: ["phase one", "phase two"] } };
  },
  async hold(ctx) {
    const topologyId = ctx.input.topologyId;
    const members = topologyId ? await ctx.db.topologyMember.findMany({ where: { topologyId }, include: { server: { select: { name: true } } } }) : [];
    const servers = members.map((m) => ({ id: m.serverId, name: m.server.name }));
    if (servers.length > 0) await ctx.reporter.info(`Holding the locks of ${servers.map((s) => s.name).join(", ")} through both phases`);
    return acquireHostLocks(ctx.redis, ctx.runId, servers, {
      waitMs: LOCK_WAIT_MS,
      signal: ctx.signal,
      onWait: (name, holder) => void ctx.reporter.warn(`waiting for run ${holder} to finish with this host`, name),
    });
  },
  phases: [
    { name: "phase one", run: (ctx) => wait(ctx, "phase one") },
    { name: "phase two", run: (ctx) => wait(ctx, "phase two") },
  ],
  outcome: (_ctx, state) => ({
    status: "succeeded",
    outcome: `phase one and phase two done (waited ${Number(state["phase one"]?.waitedMs ?? 0) + Number(state["phase two"]?.waitedMs ?? 0)} ms in all)`,
  }),
});
