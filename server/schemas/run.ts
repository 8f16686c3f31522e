// Run schemas shared by the console's forms, the tRPC routers and the worker.
// No server-only imports here: this file is bundled into the browser.
import { z } from "zod";

export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;
export const TERMINAL_STATUSES: readonly RunStatus[] = ["succeeded", "failed", "cancelled"];
export const isTerminal = (s: string) => (TERMINAL_STATUSES as readonly string[]).includes(s);

export const RUN_KINDS = ["system-check", "server-check", "topology-plan", "topology-apply"] as const;
export const RunKind = z.enum(RUN_KINDS);
export type RunKind = z.infer<typeof RunKind>;

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
});
export type TopologyRunInput = z.infer<typeof TopologyRunInput>;

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
});
export const RunDetailDto = RunDto.extend({ lastSeq: z.number() });
export const RunPageDto = z.object({ items: z.array(RunDto), nextCursor: z.string().nullable() });
export const RunEventOutDto = z.object({ runId: z.string(), seq: z.number(), time: z.date(), level: EventLevel, host: z.string().nullable(), text: z.string(), data: z.record(z.string(), z.unknown()).nullable() });
