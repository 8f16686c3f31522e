// The console's view of Rampart itself: are the database, Redis and a worker alive?
import { router, publicProcedure } from "../trpc";
import { env } from "../../env";
import { redactUrl } from "../../queue/redis";
import { listWorkers } from "../../services/workers";
import { redis } from "../../queue/producer";

export const systemRouter = router({
  status: publicProcedure.query(async ({ ctx }) => {
    const database = await ctx.db.$queryRawUnsafe("SELECT 1").then(
      () => ({ ok: true as const, detail: "reachable" }),
      (e: unknown) => ({ ok: false as const, detail: e instanceof Error ? e.message : String(e) }),
    );
    let redisState: { ok: boolean; detail: string } = { ok: false, detail: "unreachable" };
    let workers: Awaited<ReturnType<typeof listWorkers>> = [];
    try {
      await redis().ping();
      redisState = { ok: true, detail: "reachable" };
      workers = await listWorkers(redis());
    } catch (e) {
      redisState = { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
    return { database, redis: redisState, workers };
  }),

  config: publicProcedure.query(() => {
    const e = env();
    return {
      port: e.PORT,
      bindAddress: e.BIND_ADDRESS,
      dataDir: e.DATA_DIR,
      databaseUrl: e.DATABASE_URL,
      redisUrl: redactUrl(e.REDIS_URL),
      workerConcurrency: e.WORKER_CONCURRENCY,
      diskMinFreeMb: e.DISK_MIN_FREE_MB,
    };
  }),
});
