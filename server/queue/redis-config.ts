// BullMQ's production guide: Redis must never evict keys (it would silently drop
// jobs), and should persist (appendonly) so queued runs survive a Redis restart.
import type { Redis } from "ioredis";

export interface RedisConfigReport {
  /** Settings that make Rampart unsafe to run: the worker refuses to start. */
  problems: string[];
  /** Settings an operator should know about. */
  warnings: string[];
  appendonly: string | null;
  maxmemoryPolicy: string | null;
}

async function configGet(redis: Redis, name: string): Promise<string | null> {
  const reply = (await redis.call("CONFIG", "GET", name)) as string[];
  return reply.length >= 2 ? String(reply[1]) : null;
}

export async function inspectRedisConfig(redis: Redis): Promise<RedisConfigReport> {
  const report: RedisConfigReport = { problems: [], warnings: [], appendonly: null, maxmemoryPolicy: null };
  try {
    report.maxmemoryPolicy = await configGet(redis, "maxmemory-policy");
    report.appendonly = await configGet(redis, "appendonly");
  } catch (err) {
    report.warnings.push(`could not read Redis settings with CONFIG GET (${err instanceof Error ? err.message : String(err)}); make sure maxmemory-policy is noeviction and appendonly is yes`);
    return report;
  }
  if (report.maxmemoryPolicy !== null && report.maxmemoryPolicy !== "noeviction") {
    report.problems.push(
      `Redis maxmemory-policy is "${report.maxmemoryPolicy}" but must be "noeviction": with eviction Redis may silently delete queued runs (set "maxmemory-policy noeviction" in redis.conf)`,
    );
  }
  if (report.appendonly !== null && report.appendonly !== "yes") {
    report.warnings.push(`Redis appendonly is "${report.appendonly}": queued runs may be lost if Redis restarts (set "appendonly yes" in redis.conf)`);
  }
  return report;
}
