// Per-host locks with a lease, in Redis: two runs never touch one host at once,
// and a lock whose worker died expires by itself (the lease), so a crash never
// leaves a host locked. The holder is a run id: the worker that takes over a run
// after a crash may take that run's locks again at once.
import type { Redis } from "ioredis";

export const LOCK_LEASE_MS = 30_000;
export const lockKey = (serverId: string) => `rampart:lock:host:${serverId}`;
/** Counts the times a host's lock was taken: a run that observed a host unlocked knows whether anyone changed it since. */
export const lockGenerationKey = (serverId: string) => `rampart:lock:host-gen:${serverId}`;

// Extend or release only the locks we still hold: all of a run's locks in one call
// (a run may hold a thousand; one round trip each would outlast the lease). RENEW
// returns how many it extended: fewer than asked means one was taken over.
const RENEW = `local n = 0
for i, k in ipairs(KEYS) do
  if redis.call("get", k) == ARGV[1] then n = n + redis.call("pexpire", k, ARGV[2]) end
end
return n`;
const RELEASE = `local n = 0
for i, k in ipairs(KEYS) do
  if redis.call("get", k) == ARGV[1] then n = n + redis.call("del", k) end
end
return n`;
/** Keys per script call: large enough for a big fleet in a few calls, small enough not to stall Redis. */
const KEYS_PER_CALL = 500;
const chunks = <T>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / KEYS_PER_CALL) }, (_, i) => xs.slice(i * KEYS_PER_CALL, (i + 1) * KEYS_PER_CALL));

export class HostLockBusyError extends Error {
  override name = "HostLockBusyError";
  constructor(
    readonly serverName: string,
    readonly holder: string,
  ) {
    super(`${serverName} is being changed by run ${holder}; this run waited and gave up`);
  }
}

/** How many times each server's lock has been taken so far (see lockGenerationKey). */
export async function lockGenerations(redis: Redis, serverIds: string[]): Promise<Map<string, number>> {
  if (serverIds.length === 0) return new Map();
  const values = await redis.mget(...serverIds.map(lockGenerationKey));
  return new Map(serverIds.map((id, i) => [id, Number(values[i] ?? 0)]));
}

/** Who holds the lock of each server (null when free). */
export async function lockHolders(redis: Redis, serverIds: string[]): Promise<Map<string, string | null>> {
  if (serverIds.length === 0) return new Map();
  const values = await redis.mget(...serverIds.map(lockKey));
  return new Map(serverIds.map((id, i) => [id, values[i] ?? null]));
}

export interface HeldLocks {
  /** Aborted if a lease could not be renewed (Redis lost it): stop touching the hosts. */
  lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * Takes the locks of all `servers` for `runId`, waiting up to `waitMs` for locks
 * other runs hold (calling onWait once per busy host). All or nothing: on
 * failure every lock taken is released. Locks are taken in id order, so two runs
 * wanting overlapping hosts cannot each hold half.
 */
export async function acquireHostLocks(
  redis: Redis,
  runId: string,
  servers: Array<{ id: string; name: string }>,
  opts: { waitMs: number; leaseMs?: number; signal?: AbortSignal; onWait?: (serverName: string, holder: string) => void },
): Promise<HeldLocks> {
  const lease = opts.leaseMs ?? LOCK_LEASE_MS;
  const sorted = [...servers].sort((a, b) => a.id.localeCompare(b.id));
  const held: string[] = [];
  const deadline = Date.now() + opts.waitMs;
  const told = new Set<string>();
  const lost = new AbortController();
  let lastRenewed = Date.now();

  // Locks already taken are renewed while the others are awaited (and after).
  // A renewal that fails, or Redis that stops answering for most of a lease,
  // means another run may hold a host now: stop touching the hosts.
  const renewAll = async () => {
    const started = Date.now();
    try {
      for (const ids of chunks([...held])) {
        const renewed = await withTimeout(redis.eval(RENEW, ids.length, ...ids.map(lockKey), runId, String(lease)), lease / 3);
        if (renewed !== ids.length) throw new Error("a lock was taken over");
      }
      lastRenewed = started;
    } catch {
      if (!lost.signal.aborted) lost.abort(new Error("the lock on a host was lost (Redis restarted, stopped answering, or the lease ran out); stopping so two runs cannot collide"));
    }
  };
  const renew = setInterval(
    () => {
      void renewAll();
      if (Date.now() - lastRenewed > (lease * 2) / 3 && !lost.signal.aborted) lost.abort(new Error("Redis did not confirm the host locks in time; stopping so two runs cannot collide"));
    },
    Math.floor(lease / 3),
  );
  renew.unref();
  const releaseAll = async () => {
    clearInterval(renew);
    for (const ids of chunks(held)) await withTimeout(redis.eval(RELEASE, ids.length, ...ids.map(lockKey), runId), 5000).catch(() => {});
  };

  try {
    for (const s of sorted) {
      for (;;) {
        opts.signal?.throwIfAborted();
        lost.signal.throwIfAborted();
        const ok = await redis.set(lockKey(s.id), runId, "PX", lease, "NX");
        if (ok === "OK") {
          await redis.incr(lockGenerationKey(s.id));
          break;
        }
        const holder = await redis.get(lockKey(s.id));
        if (holder === runId) {
          // This run's own lock (a worker took the run over): extend it and go on.
          await redis.pexpire(lockKey(s.id), lease);
          break;
        }
        if (holder === null) continue;
        if (!told.has(s.id)) {
          told.add(s.id);
          opts.onWait?.(s.name, holder);
        }
        if (Date.now() >= deadline) throw new HostLockBusyError(s.name, holder);
        await sleep(250, opts.signal);
      }
      held.push(s.id);
    }
    // Every lock taken early must still be ours.
    const holders = await lockHolders(redis, held);
    if ([...holders.values()].some((h) => h !== runId)) throw new Error("a host lock expired while this run waited for the others; try again");
  } catch (err) {
    await releaseAll();
    throw err;
  }
  return { lost: lost.signal, release: releaseAll };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
