// Every few seconds, asks each load balancer how it sees its backends (HAProxy's
// runtime API over SSH) and stores it on the topology, for the console. Not a
// run: nothing changes on the hosts, and it would flood the run list. One worker
// of the installation asks each round (a Redis lease), however many workers run.
import type { Redis } from "ioredis";
import { redisKeys } from "@/server/queue/names";
import type { Db } from "@/server/db";
import type { SshExecutor } from "@/server/exec/ssh-executor";
import type { SecretBox } from "@/server/secrets/envelope";
import type { Logger } from "@/server/log";
import { loadTarget } from "@/server/services/targets";
import { parseShowStat, showStatCommand } from "@/server/provision/haproxy-stat";
import type { LbHealth } from "@/server/schemas/topology";
import { memberRoles } from "@/server/services/topologies";

export const LB_HEALTH_INTERVAL_MS = 3000;

export async function collectLbHealth(deps: { db: Db; executor: SshExecutor; box: SecretBox; signal?: AbortSignal }): Promise<number> {
  const { db, executor, box } = deps;
  // Only topologies that have been applied: before that there is no HAProxy to ask.
  const topologies = await db.topology.findMany({ where: { lastApplyRunId: { not: null } }, include: { members: { include: { server: true } } } });
  let asked = 0;
  for (const t of topologies) {
    const lbs = t.members.filter((m) => m.server.hostKeyStatus === "pinned" && memberRoles(m).includes("load-balancer"));
    if (lbs.length === 0) continue;
    const loadBalancers: LbHealth["loadBalancers"] = await Promise.all(
      lbs.map(async (m) => {
        try {
          const r = await executor.exec(await loadTarget(db, box, m.serverId), showStatCommand(), { signal: deps.signal });
          if (r.exitCode !== 0) return { name: m.server.name, error: (r.stderr.trim() || `exit ${r.exitCode}`).split("\n")[0]!, backends: [] };
          return { name: m.server.name, error: null, backends: parseShowStat(r.stdout) };
        } catch (err) {
          return { name: m.server.name, error: (err instanceof Error ? err.message : String(err)).split("\n")[0]!, backends: [] };
        }
      }),
    );
    asked += lbs.length;
    const health: LbHealth = { at: new Date(), loadBalancers };
    await db.topology.update({ where: { id: t.id }, data: { lbHealth: JSON.stringify(health), lbHealthAt: health.at } });
  }
  return asked;
}

/**
 * Takes this round of a periodic task for this worker if no other worker of the
 * installation has (a Redis lease that lapses by itself just before the next round).
 */
export async function takeRound(redis: Redis, task: string, workerId: string, intervalMs: number): Promise<boolean> {
  return (await redis.set(redisKeys.lease(task), workerId, "PX", Math.max(1, intervalMs - 200), "NX")) === "OK";
}

/**
 * Runs `collect` every intervalMs until stopped: never two rounds at once, and one worker per
 * round however many there are (the Redis lease of `task`). Errors are logged with `label`.
 */
export function startLeasedLoop<D extends { log: Logger; redis: Redis; workerId: string }>(
  deps: D,
  task: string,
  label: string,
  intervalMs: number,
  collect: (deps: D & { signal: AbortSignal }) => Promise<unknown>,
): () => void {
  let busy = false;
  const stop = new AbortController();
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    const mine = await takeRound(deps.redis, task, deps.workerId, intervalMs).catch(() => false);
    if (!mine) {
      busy = false;
      return;
    }
    collect({ ...deps, signal: stop.signal })
      .catch((err: Error) => deps.log.warn(`${label}: ${err.message}`))
      .finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    stop.abort();
  };
}

/** Asks the load balancers every LB_HEALTH_INTERVAL_MS (one worker per round). */
export const startLbHealthLoop = (deps: { db: Db; executor: SshExecutor; box: SecretBox; log: Logger; redis: Redis; workerId: string }) =>
  startLeasedLoop(deps, "lb-health", "load balancer health", LB_HEALTH_INTERVAL_MS, collectLbHealth);
