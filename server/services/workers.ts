// Worker presence: each worker refreshes a short-lived key; a missing key means gone.
import type { Redis } from "ioredis";
import { z } from "zod";
import { redisKeys } from "../queue/names";

export const WorkerPresence = z.object({
  id: z.string(),
  hostname: z.string(),
  pid: z.number(),
  startedAt: z.coerce.date(),
  seenAt: z.coerce.date(),
  concurrency: z.number(),
  /** Its SSH pool when it last announced itself (absent from older workers). */
  ssh: z.object({ connections: z.number(), connecting: z.number(), channels: z.number(), opened: z.number() }).optional(),
  /** Runs it is carrying out. */
  activeRuns: z.number().optional(),
});
export type WorkerPresence = z.infer<typeof WorkerPresence>;

export const PRESENCE_TTL_SECONDS = 15;

export async function announceWorker(redis: Redis, presence: WorkerPresence): Promise<void> {
  await redis.set(redisKeys.workerPresence(presence.id), JSON.stringify(presence), "EX", PRESENCE_TTL_SECONDS);
}

export async function withdrawWorker(redis: Redis, id: string): Promise<void> {
  await redis.del(redisKeys.workerPresence(id));
}

export async function listWorkers(redis: Redis): Promise<WorkerPresence[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", redisKeys.workerPresencePattern, "COUNT", 100);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values.flatMap((v) => {
    if (!v) return [];
    const p = WorkerPresence.safeParse(JSON.parse(v));
    return p.success ? [p.data] : [];
  });
}
