// The console's view of Rampart itself: are the database, Redis and a worker alive?
import { z } from "zod";
import { router, readProcedure } from "../trpc";
import { env } from "../../env";
import { redactUrl } from "../../queue/redis";
import { listWorkers } from "../../services/workers";
import { redis } from "../../queue/producer";

const SystemStatusDto = z.object({
  database: z.object({ ok: z.boolean(), detail: z.string() }),
  redis: z.object({ ok: z.boolean(), detail: z.string() }),
  workers: z.array(z.object({ id: z.string(), hostname: z.string(), pid: z.number(), startedAt: z.date(), seenAt: z.date(), concurrency: z.number() })),
});

export const systemRouter = router({
  status: readProcedure
    .meta({ openapi: { method: "GET", path: "/system/status", protect: true, tags: ["system"], summary: "Health of the database, Redis and workers" } })
    .input(z.void())
    .output(SystemStatusDto)
    .query(async ({ ctx }) => {
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

  config: readProcedure.query(() => {
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
