// Runs: list, read, follow live, and start the system check.
import { tracked } from "@trpc/server";
import { router, publicProcedure } from "../trpc";
import { RunEventsInput, RunFollowInput, RunIdInput, RunListInput, SystemCheckInput } from "../../schemas/run";
import { getRun, listRunEvents, listRuns, startRun } from "../../services/runs";
import { followRun } from "../../queue/run-follow";
import { eventHub, runsQueue } from "../../queue/producer";
import { shutdownSignal } from "../../lifecycle";

export const runsRouter = router({
  list: publicProcedure.input(RunListInput).query(({ ctx, input }) => listRuns(ctx.db, input)),

  get: publicProcedure.input(RunIdInput).query(({ ctx, input }) => getRun(ctx.db, input.id)),

  events: publicProcedure.input(RunEventsInput).query(({ ctx, input }) => listRunEvents(ctx.db, input.id, input.afterSeq, input.limit)),

  /** Live events over SSE. The client resends the last tracked id on reconnect. */
  follow: publicProcedure.input(RunFollowInput).subscription(async function* ({ ctx, input, signal }) {
    await getRun(ctx.db, input.id);
    let hub = null;
    try {
      hub = eventHub();
    } catch {
      hub = null; // no Redis: the stream still works by polling the database
    }
    const events = followRun({ db: ctx.db, hub, runId: input.id, afterSeq: input.lastEventId ? Number(input.lastEventId) : 0,
      signal: signal ? AbortSignal.any([signal, shutdownSignal()]) : shutdownSignal(),
    });
    for await (const event of events) yield tracked(String(event.seq), event);
  }),

  startSystemCheck: publicProcedure
    .input(SystemCheckInput)
    .mutation(({ ctx, input }) => startRun({ db: ctx.db, queue: runsQueue() }, ctx.caller, "system-check", input)),
});
