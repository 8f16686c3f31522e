// The web process's side of the queue: adds jobs and reads their state. One Queue
// per process, on a fail-fast connection.
import { Queue } from "bullmq";
import { env } from "../env";
import { redisOptions, createRedis } from "./redis";
import { RUNS_QUEUE, type RunJobData } from "./names";
import type { Redis } from "ioredis";
import { EventHub } from "./run-follow";

export function createRunsQueue(redisUrl: string): Queue<RunJobData> {
  return new Queue<RunJobData>(RUNS_QUEUE, {
    connection: redisOptions(redisUrl, "producer"),
    defaultJobOptions: {
      // A run's record lives in the database; BullMQ only needs the job until it ends.
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      attempts: 1,
    },
  });
}

const g = globalThis as unknown as { rampartRunsQueue?: Queue<RunJobData>; rampartHub?: EventHub; rampartPublisher?: Redis };

export function runsQueue(): Queue<RunJobData> {
  g.rampartRunsQueue ??= createRunsQueue(env().REDIS_URL);
  return g.rampartRunsQueue;
}

/** The process's single subscriber connection, shared by every live stream. */
export function eventHub(): EventHub {
  if (!g.rampartHub) {
    const sub = createRedis(env().REDIS_URL, "subscriber");
    sub.on("error", () => {}); // reconnects by itself; streams fall back to polling meanwhile
    g.rampartHub = new EventHub(sub);
  }
  return g.rampartHub;
}

/** A general-purpose connection for reads such as worker presence (fails fast). */
export function redis(): Redis {
  if (!g.rampartPublisher) {
    g.rampartPublisher = createRedis(env().REDIS_URL, "producer");
    g.rampartPublisher.on("error", () => {});
  }
  return g.rampartPublisher;
}
