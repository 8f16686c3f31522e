// The contract every run kind implements. The processor owns the run's lifecycle
// (status, heartbeat, outcome); a kind only does its work and reports progress.
import type { z } from "zod";
import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import type { Db } from "@/server/db";
import type { Env } from "@/server/env";
import type { RunReporter } from "@/server/queue/run-events";
import type { SshExecutor } from "@/server/exec/ssh-executor";
import type { SecretBox } from "@/server/secrets/envelope";
import type { RunJournal } from "../journal";

export interface KindContext<I> {
  runId: string;
  /** Who asked for the run (for the audit line on each host). */
  requestedBy: string;
  input: I;
  reporter: RunReporter;
  db: Db;
  redis: Redis;
  queue: Queue;
  env: Env;
  /** The worker's one SSH executor (pooled connections). */
  executor: SshExecutor;
  box: SecretBox;
  /** Aborted when the run is cancelled or the worker must stop now. */
  signal: AbortSignal;
  /** Is this run being resumed after a worker died? */
  resumed: boolean;
  /** The run's phases (see workers/operations.ts); any kind may record its phases here. */
  journal: RunJournal;
  /** Who confirmed the run's preview, or null (not confirmed yet, or a kind without a preview). */
  confirmation: { by: string; at: Date } | null;
}

export interface KindResult {
  /**
   * partial: "partially applied" — some hosts converged, others were skipped or failed.
   * awaiting-confirmation: an operation recorded its preview; the run waits for an
   * operator to confirm it (the processor parks it and the worker moves on).
   */
  status: "succeeded" | "failed" | "partial" | "awaiting-confirmation";
  outcome: string;
}

export interface RunKindHandler<S extends z.ZodType = z.ZodType> {
  input: S;
  run(ctx: KindContext<z.infer<S>>): Promise<KindResult>;
}
