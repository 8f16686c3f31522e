// Run schemas shared by the console's forms, the tRPC routers and the worker.
// No server-only imports here: this file is bundled into the browser.
import { z } from "zod";
import { RUN_KIND_NAMES } from "./run-kinds";

/**
 * awaiting-confirmation: an operation computed its preview and waits for an
 * operator to confirm or cancel it (no worker is held meanwhile).
 * partial: "partially applied" — some hosts converged, others were skipped or failed.
 */
export const RUN_STATUSES = ["queued", "running", "awaiting-confirmation", "succeeded", "failed", "cancelled", "partial"] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;
export const TERMINAL_STATUSES = ["succeeded", "failed", "cancelled", "partial"] as const satisfies readonly RunStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export const isTerminal = (s: string) => (TERMINAL_STATUSES as readonly string[]).includes(s);
/** Not ended: such a run still counts against conflicting runs on its topology. */
export const ACTIVE_STATUSES = ["queued", "running", "awaiting-confirmation"] as const satisfies readonly RunStatus[];
/** A worker may (still) pick the run up. */
export const CLAIMABLE_STATUSES = ["queued", "running"] as const satisfies readonly RunStatus[];
/** Statuses from which "start again" makes sense. */
export const RETRYABLE_STATUSES = ["failed", "cancelled", "partial"] as const satisfies readonly RunStatus[];

/** The kinds and their policy live in run-kinds.ts (the one registry). */
export const RUN_KINDS = RUN_KIND_NAMES;
export const RunKind = z.enum(RUN_KINDS);
export type RunKind = z.infer<typeof RunKind>;

/** A phase of a run's journal. A phase left "running" by a dead worker is how a takeover knows where it stopped. */
export const PHASE_STATUSES = ["running", "done", "failed"] as const;
export const PhaseStatus = z.enum(PHASE_STATUSES);
export type PhaseStatus = z.infer<typeof PhaseStatus>;
/** The journal phase in which an operation records the preview the operator confirms. */
export const PREVIEW_PHASE = "preview";

/** output: a line a remote command printed; progress: step n of m on a host (data = {done, total}). */
export const EVENT_LEVELS = ["debug", "info", "warn", "error", "status", "output", "progress"] as const;
export const EventLevel = z.enum(EVENT_LEVELS);
export type EventLevel = z.infer<typeof EventLevel>;

/** One event as stored and as streamed to followers. */
export const RunEventSchema = z.object({
  runId: z.string(),
  seq: z.number().int().positive(),
  time: z.coerce.date(),
  level: EventLevel,
  host: z.string().nullable(),
  text: z.string(),
  /** Structured details (progress: {done, total}). */
  data: z.record(z.string(), z.unknown()).nullable().default(null),
});
export type RunEventDto = z.infer<typeof RunEventSchema>;

export const SystemCheckInput = z.object({
  /** Pause between checks, to watch a run stream live (and to test a worker dying mid-run). */
  delayBetweenChecksMs: z.number().int().min(0, "must be 0 or more").max(60_000, "must be at most 60000 (one minute)").default(0),
});
export type SystemCheckInput = z.infer<typeof SystemCheckInput>;

export const ServerCheckInput = z.object({ serverIds: z.array(z.string().min(1)).min(1).max(1000) });
export type ServerCheckInput = z.infer<typeof ServerCheckInput>;

export const TopologyRunInput = z.object({
  topologyId: z.string().min(1),
  /** A scheduled drift check (a plan nobody asked for): shown as such. */
  drift: z.boolean().default(false),
  /** All or nothing: an unreachable host fails the apply instead of being skipped ("partially applied"). */
  strict: z.boolean().default(false),
});
export type TopologyRunInput = z.infer<typeof TopologyRunInput>;

/** A sample of the operation machinery: two phases that only wait, after a preview. */
export const SampleOperationInput = z.object({
  /** How long each phase waits (abortable by cancel), to watch the journal and to kill a worker mid-phase. */
  phaseDelayMs: z.number().int().min(0, "must be 0 or more").max(60_000, "must be at most 60000 (one minute)").default(1000),
  /** Optional: run it "on" a topology, to see exclusivity (an apply is refused meanwhile) and the host locks it holds. */
  topologyId: z.string().min(1).max(64).optional(),
});
export type SampleOperationInput = z.infer<typeof SampleOperationInput>;
export const StartSampleOperationInput = SampleOperationInput.extend({
  /** sample-operation resumes after a worker dies; sample-operation-strict stops and reports. */
  kind: z.enum(["sample-operation", "sample-operation-strict"]).default("sample-operation"),
});

export const RunIdInput = z.object({ id: z.string().min(1, "a run id is required").max(64) });

export const RunListInput = z.object({
  limit: z.number().int().min(1).max(200).default(50),
  cursor: z.string().nullish(),
  status: RunStatus.optional(),
  kind: RunKind.optional(),
  topologyId: z.string().max(64).optional(),
});

export const RunEventsInput = z.object({
  id: z.string().min(1).max(64),
  afterSeq: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(5000).default(1000),
});

export const RunFollowInput = z.object({
  id: z.string().min(1).max(64),
  /** Set by the client on reconnect: the last seq it received (tRPC's tracked id). */
  lastEventId: z.string().regex(/^\d+$/, "must be a sequence number").nullish(),
});

// Outputs (also the REST API's response schemas).
export const RunDto = z.object({
  id: z.string(),
  kind: z.string(),
  status: RunStatus,
  requestedBy: z.string(),
  createdAt: z.date(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
  outcome: z.string().nullable(),
  attempts: z.number(),
  input: z.unknown(),
  topologyId: z.string().nullable(),
  retryOf: z.string().nullable(),
  cancelRequestedAt: z.date().nullable(),
  cancelRequestedBy: z.string().nullable(),
  /** Who confirmed the operation's preview, and when (null until then, or for kinds without a preview). */
  confirmedAt: z.date().nullable(),
  confirmedBy: z.string().nullable(),
  /** When the retention (RUN_RETENTION_DAYS) removed this run's log and plan; its outcome stays. */
  eventsPrunedAt: z.date().nullable(),
});
export const RunDetailDto = RunDto.extend({ lastSeq: z.number() });
export const RunPageDto = z.object({ items: z.array(RunDto), nextCursor: z.string().nullable() });
export const RunEventOutDto = z.object({
  runId: z.string(),
  seq: z.number(),
  time: z.date(),
  level: EventLevel,
  host: z.string().nullable(),
  text: z.string(),
  data: z.record(z.string(), z.unknown()).nullable(),
});
/** One phase of a run's journal: what it did (data), how far it got, how it ended. */
export const RunPhaseDto = z.object({
  name: z.string(),
  status: PhaseStatus,
  startedAt: z.date(),
  finishedAt: z.date().nullable(),
  /** More than 1: a worker took the run over during this phase and ran it again. */
  attempts: z.number(),
  data: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
});
export type RunPhaseDto = z.infer<typeof RunPhaseDto>;
