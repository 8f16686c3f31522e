// Queue names, job payloads and Redis keys, shared by the web process and the worker.
// Jobs carry ids only: everything else (and never a secret) is read from the database.
import { z } from "zod";

export const RUNS_QUEUE = "rampart-runs";

export const RunJobData = z.object({ runId: z.string().min(1) });
export type RunJobData = z.infer<typeof RunJobData>;

export const redisKeys = {
  runEventsChannel: (runId: string) => `rampart:run-events:${runId}`,
  runsChannel: "rampart:runs",
  /** A run id published here asks the worker running it to stop. */
  cancelChannel: "rampart:run-cancel",
  workerPresence: (workerId: string) => `rampart:workers:${workerId}`,
  workerPresencePattern: "rampart:workers:*",
  /** Held by the one worker that does a periodic task this round (e.g. "lb-health"). */
  lease: (task: string) => `rampart:lease:${task}`,
};
