// Runs: list, read (the log in filtered windows), follow live, cancel, retry, confirm an operation's preview,
// and start the system check and the sample operations.
import { z } from "zod";
import { tracked } from "@trpc/server";
import { router, readProcedure, operateProcedure } from "../trpc";
import {
  RunDetailDto,
  RunDto,
  RunEventOutDto,
  RunEventsInput,
  RunFollowInput,
  RunIdInput,
  RunListInput,
  RunLogDto,
  RunLogInput,
  RunLogSummaryDto,
  RunPageDto,
  RunPhaseDto,
  StartSampleOperationInput,
  SystemCheckInput,
} from "../../schemas/run";
import { cancelRun, confirmRun, getRun, listRunEvents, listRunPhases, listRuns, readRunLog, runFollowIsOver, startRun, summariseRunLog } from "../../services/runs";
import { retryRun, startSampleOperation } from "../../services/run-retry";
import { followRun } from "../../queue/run-follow";
import { eventHub, redis, runsQueue } from "../../queue/producer";
import { shutdownSignal } from "../../lifecycle";
import { abortWhenSignedOut, principalLabel } from "../../auth/principal";

export const runsRouter = router({
  list: readProcedure
    .meta({ openapi: { method: "GET", path: "/runs", protect: true, tags: ["runs"], summary: "List runs, newest first" } })
    .input(RunListInput)
    .output(RunPageDto)
    .query(({ ctx, input }) => listRuns(ctx.db, input)),

  get: readProcedure
    .meta({ openapi: { method: "GET", path: "/runs/{id}", protect: true, tags: ["runs"], summary: "Read one run" } })
    .input(RunIdInput)
    .output(RunDetailDto)
    .query(({ ctx, input }) => getRun(ctx.db, input.id)),

  events: readProcedure
    .meta({ openapi: { method: "GET", path: "/runs/{id}/events", protect: true, tags: ["runs"], summary: "A run's events after a sequence number" } })
    .input(RunEventsInput)
    .output(z.array(RunEventOutDto))
    .query(({ ctx, input: { id, afterSeq, limit, ...filter } }) => listRunEvents(ctx.db, id, afterSeq, limit, filter)),

  log: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/runs/{id}/log",
        protect: true,
        tags: ["runs"],
        summary: "A window of a run's log, filtered (levels, host, search, echoes=hide): how many events match up to uptoSeq, and `limit` of them from `offset` (default: the last ones)",
      },
    })
    .input(RunLogInput)
    .output(RunLogDto)
    .query(({ ctx, input: { id, ...q } }) => readRunLog(ctx.db, id, q)),

  logSummary: readProcedure
    .meta({ openapi: { method: "GET", path: "/runs/{id}/log/summary", protect: true, tags: ["runs"], summary: "What a run's log holds: events per host and level, and each host's latest progress" } })
    .input(RunIdInput)
    .output(RunLogSummaryDto)
    .query(({ ctx, input }) => summariseRunLog(ctx.db, input.id)),

  phases: readProcedure
    .meta({ openapi: { method: "GET", path: "/runs/{id}/phases", protect: true, tags: ["runs"], summary: "A run's journal: its phases, with status, times, data and error" } })
    .input(RunIdInput)
    .output(z.array(RunPhaseDto))
    .query(({ ctx, input }) => listRunPhases(ctx.db, input.id)),

  /** Live events over SSE. The client resends the last tracked id on reconnect. */
  follow: readProcedure.input(RunFollowInput).subscription(async function* ({ ctx, input, signal }) {
    const afterSeq = input.lastEventId ? Number(input.lastEventId) : 0;
    if (await runFollowIsOver(ctx.db, input.id, afterSeq)) return;
    let hub = null;
    try {
      hub = eventHub();
    } catch {
      hub = null; // no Redis: the stream still works by polling the database
    }
    const stop = new AbortController();
    const until = AbortSignal.any([stop.signal, shutdownSignal(), ...(signal ? [signal] : [])]);
    // A stream opened while signed in ends when the session or token stops holding.
    const signedOut = abortWhenSignedOut(ctx.db, ctx.principal!, until);
    const events = followRun({ db: ctx.db, hub, runId: input.id, afterSeq, signal: AbortSignal.any([until, signedOut]) });
    try {
      for await (const event of events) yield tracked(String(event.seq), event);
    } finally {
      stop.abort();
    }
  }),

  startSystemCheck: operateProcedure
    .meta({ openapi: { method: "POST", path: "/runs/system-check", protect: true, tags: ["runs"], summary: "Start a system check run" } })
    .input(SystemCheckInput)
    .output(RunDto)
    .mutation(({ ctx, input }) => startRun({ db: ctx.db, queue: runsQueue() }, { name: principalLabel(ctx.principal!) }, "system-check", input)),

  startSampleOperation: operateProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/runs/sample-operation",
        protect: true,
        tags: ["runs"],
        summary: "Start a sample operation (a preview, then two phases that only wait): a demonstration of the operation machinery",
      },
    })
    .input(StartSampleOperationInput)
    .output(RunDto)
    .mutation(({ ctx, input: { kind, ...input } }) => startSampleOperation({ db: ctx.db, queue: runsQueue() }, { name: principalLabel(ctx.principal!) }, kind, input)),

  confirm: operateProcedure
    .meta({ openapi: { method: "POST", path: "/runs/{id}/confirm", protect: true, tags: ["runs"], summary: "Confirm the preview of a run awaiting confirmation: its phases then run" } })
    .input(RunIdInput)
    .output(RunDetailDto)
    .mutation(({ ctx, input }) => confirmRun({ db: ctx.db, queue: runsQueue(), redis: redis() }, { name: principalLabel(ctx.principal!) }, input.id)),

  cancel: operateProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/runs/{id}/cancel",
        protect: true,
        tags: ["runs"],
        summary: "Cancel a run: a queued run (or one awaiting confirmation) ends at once, a running one stops its remote commands",
      },
    })
    .input(RunIdInput)
    .output(RunDetailDto)
    .mutation(({ ctx, input }) => cancelRun({ db: ctx.db, queue: runsQueue(), redis: redis() }, { name: principalLabel(ctx.principal!) }, input.id)),

  retry: operateProcedure
    .meta({
      openapi: { method: "POST", path: "/runs/{id}/retry", protect: true, tags: ["runs"], summary: "Start a failed, cancelled or partially applied run again (an apply re-plans and continues)" },
    })
    .input(RunIdInput)
    .output(RunDto)
    .mutation(({ ctx, input }) => retryRun({ db: ctx.db, queue: runsQueue() }, { name: principalLabel(ctx.principal!) }, input.id)),
});
