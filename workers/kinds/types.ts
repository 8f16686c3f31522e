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
}

export interface KindResult {
  status: "succeeded" | "failed";
  outcome: string;
}

export interface RunKindHandler<S extends z.ZodType = z.ZodType> {
  input: S;
  run(ctx: KindContext<z.infer<S>>): Promise<KindResult>;
}
