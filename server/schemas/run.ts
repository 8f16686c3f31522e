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
  /** An admin asked to apply firewall rules a server rolled back before. */
  forceFirewall: z.boolean().default(false),
  /** An apply of a reviewed plan: this plan run's steps are the only ones it may take. */
  planRunId: z.string().nullable().default(null),
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

/**
 * What a run's log shows: the same filters on the server (a window of the stored
 * log) and in the browser (live events as they arrive). Nothing set: every event.
 */
export const RunLogFilter = z.object({
  /** Only these levels (none given: every level). */
  levels: z.array(EventLevel).max(EVENT_LEVELS.length).optional(),
  /** Only the events of this host. */
  host: z.string().min(1).max(253).optional(),
  /** Only lines containing this text (ignoring case). */
  search: z.string().max(200).optional(),
  /** hide: leave out the commands Rampart ran (debug lines starting with "$ "), keeping what they printed. */
  echoes: z.enum(["show", "hide"]).optional(),
});
export type RunLogFilter = z.infer<typeof RunLogFilter>;

/** A command Rampart ran on a host, as echoed in the log before its output. */
export const isCommandEcho = (e: { level: string; text: string }) => e.level === "debug" && e.text.startsWith("$ ");

/** The browser's copy of the server's filter, for live events (search ignores case, like the server's). */
export function matchesRunLogFilter(e: { level: string; host: string | null; text: string }, f: RunLogFilter): boolean {
  if (f.levels && f.levels.length > 0 && !(f.levels as readonly string[]).includes(e.level)) return false;
  if (f.host && e.host !== f.host) return false;
  if (f.echoes === "hide" && isCommandEcho(e)) return false;
  if (f.search && !e.text.toLowerCase().includes(f.search.toLowerCase())) return false;
  return true;
}

export const RunEventsInput = RunLogFilter.extend({
  id: z.string().min(1).max(64),
  afterSeq: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(5000).default(1000),
});

/**
 * A window of a run's log with a filter applied, as of one moment (uptoSeq), so
 * positions stay put while the run goes on: the events that match are numbered
 * 0…total-1 in seq order, and new events only ever add positions at the end.
 */
export const RunLogInput = RunLogFilter.extend({
  id: z.string().min(1).max(64),
  /** Position of the first event to return; omitted: the last `limit` events. */
  offset: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(1000).default(200),
  /** Count only events up to this seq (omitted: every event stored now). */
  uptoSeq: z.number().int().min(0).optional(),
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
/** A window of a run's log (see RunLogInput). */
export const RunLogDto = z.object({
  /** The log as of this seq: later events are not counted in total. */
  uptoSeq: z.number(),
  /** How many events match the filter, up to uptoSeq. */
  total: z.number(),
  /** Position of the first item. */
  offset: z.number(),
  items: z.array(RunEventOutDto),
});
export type RunLogDto = z.infer<typeof RunLogDto>;

/** The latest progress event of a host: step `done` of `total`. */
export const HostProgressDto = z.object({ host: z.string(), seq: z.number(), done: z.number(), total: z.number(), text: z.string() });
export type HostProgressDto = z.infer<typeof HostProgressDto>;

/** What a run's log holds, for its filters and progress bars, without reading every event. */
export const RunLogSummaryDto = z.object({
  /** As of this seq. */
  lastSeq: z.number(),
  events: z.number(),
  hosts: z.array(z.object({ host: z.string(), count: z.number() })),
  levels: z.array(z.object({ level: EventLevel, count: z.number() })),
  /** Commands echoed (debug lines starting with "$ "). */
  echoes: z.number(),
  /** Per host, in the order hosts first reported progress. */
  progress: z.array(HostProgressDto),
});
export type RunLogSummaryDto = z.infer<typeof RunLogSummaryDto>;

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
