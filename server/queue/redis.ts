// Redis connections, configured as BullMQ's production guide says: workers and
// subscribers retry forever (maxRetriesPerRequest: null); producers fail fast so an
// API call answers with an error instead of hanging while Redis is down.
import { Redis } from "ioredis";
import type { RedisOptions } from "bullmq";

export type ConnectionRole = "worker" | "producer" | "subscriber";

export function redisOptions(url: string, role: ConnectionRole): RedisOptions {
  const u = new URL(url);
  const base: RedisOptions = {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === "rediss:" ? {} : undefined,
    connectionName: `rampart-${role}`,
  };
  if (role === "producer") {
    return { ...base, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000 };
  }
  return { ...base, maxRetriesPerRequest: null, enableReadyCheck: true };
}

export function createRedis(url: string, role: ConnectionRole): Redis {
  return new Redis(redisOptions(url, role) as object);
}

/** Waits until a fresh connection answers PING, or throws a one-line reason. */
export async function pingRedis(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Redis({ ...(redisOptions(url, "producer") as object), lazyConnect: true, retryStrategy: () => null, connectTimeout: timeoutMs });
  client.on("error", () => {});
  const safeUrl = redactUrl(url);
  try {
    await withTimeout(client.connect(), timeoutMs, `Redis at ${safeUrl} did not answer within ${timeoutMs} ms`);
    await withTimeout(client.ping(), timeoutMs, `Redis at ${safeUrl} did not answer PING within ${timeoutMs} ms`);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(msg.startsWith("Redis at") ? msg : `Redis at ${safeUrl} is unreachable: ${msg}`);
  } finally {
    client.disconnect();
  }
}

/** A URL safe to print: the password is replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
