// Operations: multi-phase, imperative work on top of runs (promotion, ACME orders,
// firewall confirmation). An operation is a preview the operator confirms, then
// phases run in order, each recorded in the run's journal:
//
//   export const promote = defineOperation({
//     input: PromoteInput,
//     preview: async (ctx) => ({ summary: "will make db-2 the primary", ... }),
//     hold: (ctx) => acquireHostLocks(ctx.redis, ctx.runId, servers, { waitMs, signal: ctx.signal }),
//     phases: [
//       { name: "stop writes", run: async (ctx, state) => ({ gtid: "…" }) },
//       { name: "promote", run: async (ctx, state) => { … state["stop writes"] … } },
//       { name: "converge", run: async (ctx) => ({ ...(await applyUnderHeldLocks(ctx, ctx.held!, ctx.input.topologyId)) }) },
//     ],
//   });
//
// On (re)start the helper reads the journal and skips the phases already done; the
// data each recorded is handed to the later ones (`state`, by phase name), so a
// takeover continues with what its predecessor learned. A phase the dead worker left
// "running" is run again only if the registry says the kind is resumable (so such
// phases must be idempotent); otherwise the processor has already ended the run.
//
// `hold` takes what the phases need held throughout (the hosts' locks) once the
// operation is confirmed, and releases it after the last phase. The locks are keyed
// by run id, so a worker taking the run over takes them again at once. A phase that
// converges hosts calls applyUnderHeldLocks (exported by kinds/topology.ts) with
// ctx.held: the apply then runs under those locks instead of taking its own, and
// its KindResult ("partial" included), recorded as the phase's data, can be
// returned from `outcome`.
import type { z } from "zod";
import { setTimeout as sleep } from "node:timers/promises";
import { acquireHostLocks, type HeldLocks } from "@/server/queue/host-locks";
import { PREVIEW_PHASE } from "@/server/schemas/run";
import type { KindContext, KindResult, RunKindHandler } from "./kinds/types";

/** What the operator is asked to confirm. Recorded as the journal's preview phase. */
export interface Preview {
  /** One line: what the operation will do. */
  summary: string;
  /** Anything the console should show with it (JSON, never secrets). */
  details?: Record<string, unknown>;
}

/** What the phases before this one recorded, by phase name (the preview's under "preview"). */
export type PhaseState = Readonly<Record<string, Record<string, unknown> | null>>;

export interface OperationContext<I> extends KindContext<I> {
  /** What `hold` took, while the phases run (null without `hold`). */
  held: HeldLocks | null;
}

export interface OperationPhase<I> {
  name: string;
  /** Does the work; returns what to record (handed to later phases). Must honour ctx.signal. */
  run(ctx: OperationContext<I>, state: PhaseState): Promise<Record<string, unknown> | void>;
}

export interface OperationDefinition<S extends z.ZodType> {
  input: S;
  /** Computed first, changing nothing; the run then waits for an operator to confirm it. */
  preview?: (ctx: KindContext<z.infer<S>>) => Promise<Preview>;
  /** Taken before the first phase (after confirmation), released after the last one. */
  hold?: (ctx: KindContext<z.infer<S>>) => Promise<HeldLocks>;
  phases: Array<OperationPhase<z.infer<S>>>;
  /** How the run ends once every phase is done (default: succeeded, naming the phases). */
  outcome?: (ctx: OperationContext<z.infer<S>>, state: PhaseState) => KindResult | Promise<KindResult>;
}

/** Tests only (RAMPART_TEST_OPERATION_PAUSE): wait once a phase's work is done, before it is recorded done, to be killed there. */
async function testPause(ctx: OperationContext<unknown>, phase: string): Promise<void> {
  const pause = ctx.env.RAMPART_TEST_OPERATION_PAUSE;
  if (!pause) return;
  const at = pause.lastIndexOf(":");
  if (pause.slice(0, at) !== phase) return;
  await ctx.reporter.warn(`test: pausing ${pause.slice(at + 1)} ms at the end of phase '${phase}'`);
  await sleep(Number(pause.slice(at + 1)), undefined, { signal: ctx.signal });
}

export function defineOperation<S extends z.ZodType>(def: OperationDefinition<S>): RunKindHandler<S> {
  const names = def.phases.map((p) => p.name);
  if (new Set(names).size !== names.length || names.includes(PREVIEW_PHASE)) throw new Error(`operation phases need distinct names other than "${PREVIEW_PHASE}": ${names.join(", ")}`);
  return {
    input: def.input,
    async run(ctx) {
      const { journal, reporter } = ctx;
      if (def.preview && !ctx.confirmation) {
        // Also after a takeover during the preview: it only reads, so computing it again is safe.
        await journal.start(PREVIEW_PHASE);
        const preview = await def.preview(ctx);
        await journal.finish(PREVIEW_PHASE, { summary: preview.summary, ...(preview.details ? { details: preview.details } : {}) });
        await reporter.info(`Preview: ${preview.summary}. Waiting for an operator to confirm or cancel.`);
        return { status: "awaiting-confirmation", outcome: preview.summary };
      }
      if (ctx.confirmation) await reporter.info(`Carrying out the preview ${ctx.confirmation.by} confirmed`);

      const recorded = await journal.list();
      const state: Record<string, Record<string, unknown> | null> = Object.fromEntries(recorded.filter((p) => p.status === "done").map((p) => [p.name, p.data]));
      const held = def.hold ? await def.hold(ctx) : null;
      const opCtx: OperationContext<z.infer<S>> = { ...ctx, held, signal: held ? AbortSignal.any([ctx.signal, held.lost]) : ctx.signal };
      try {
        for (const phase of def.phases) {
          if (phase.name in state) {
            await reporter.info(`Phase '${phase.name}' was already done; not repeating it`);
            continue;
          }
          opCtx.signal.throwIfAborted();
          await journal.start(phase.name);
          let data: Record<string, unknown> | null;
          try {
            data = (await phase.run(opCtx, state)) ?? null;
            await testPause(opCtx, phase.name);
          } catch (err) {
            // Stopped from outside (cancel, shutdown, lost locks): the processor decides how
            // the run ends, and a phase still "running" tells the next worker where it was.
            if (!opCtx.signal.aborted) await journal.fail(phase.name, err instanceof Error ? err.message : String(err));
            throw err;
          }
          await journal.finish(phase.name, data);
          state[phase.name] = data;
        }
        if (def.outcome) return await def.outcome(opCtx, state);
        return { status: "succeeded", outcome: `${names.length} phase${names.length === 1 ? "" : "s"} done: ${names.join(", ")}` };
      } finally {
        await held?.release();
      }
    },
  };
}

/** For `hold`: every host of the topology, waiting up to waitMs for runs that hold one (said in the run's log). */
export async function holdTopologyHosts(ctx: KindContext<unknown>, topologyId: string, waitMs: number): Promise<HeldLocks> {
  const members = await ctx.db.topologyMember.findMany({ where: { topologyId }, include: { server: { select: { name: true } } } });
  return acquireHostLocks(
    ctx.redis,
    ctx.runId,
    members.map((m) => ({ id: m.serverId, name: m.server.name })),
    { waitMs, signal: ctx.signal, onWait: (name, holder) => void ctx.reporter.warn(`waiting for run ${holder} to finish with this host`, name) },
  );
}
