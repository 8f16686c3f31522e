// Login throttling shared by every console process: the counts in Redis (each
// failure counted atomically by a script), and a per-(account, address) turn that
// one process holds at a time. Keys expire by themselves.
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Entry, ThrottleStore } from "./throttle";

const PREFIX = "rampart:login:";
/** A turn is given up after this long even if its holder died mid-attempt. */
const TURN_LEASE_MS = 30_000;
const TURN_POLL_MS = 25;

const BUMP = `
local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local now = tonumber(ARGV[1])
if t == 0 or now - t > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'f', 1, 't', now)
else
  redis.call('HINCRBY', KEYS[1], 'f', 1)
  redis.call('HSET', KEYS[1], 't', now)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class RedisThrottleStore implements ThrottleStore {
  constructor(private readonly redis: Redis) {}

  /** The console's connection fails fast rather than queueing: wait (briefly) for it to be ready. */
  private async ready(): Promise<void> {
    if (this.redis.status === "ready") return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off("ready", done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.redis.off("ready", done);
        reject(new Error("Redis is not answering: sign-ins cannot be checked against the throttle"));
      }, 3000);
      this.redis.on("ready", done);
      if (this.redis.status === "ready") done();
    });
  }

  async get(key: string): Promise<Entry | undefined> {
    await this.ready();
    const [f, t] = await this.redis.hmget(PREFIX + key, "f", "t");
    return t === null ? undefined : { failures: Number(f ?? 0), lastFailure: Number(t) };
  }

  async bump(key: string, now: number, windowMs: number): Promise<void> {
    await this.ready();
    await this.redis.eval(BUMP, 1, PREFIX + key, String(now), String(windowMs));
  }

  async mark(key: string, at: number, ttlMs: number): Promise<void> {
    await this.ready();
    await this.redis
      .multi()
      .hset(PREFIX + key, "f", 0, "t", at)
      .pexpire(PREFIX + key, ttlMs)
      .exec();
  }

  async delete(key: string): Promise<void> {
    await this.ready();
    await this.redis.del(PREFIX + key);
  }

  async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    await this.ready();
    const lock = PREFIX + key;
    const token = randomBytes(8).toString("hex");
    const giveUpAt = Date.now() + TURN_LEASE_MS;
    while ((await this.redis.set(lock, token, "PX", TURN_LEASE_MS, "NX")) !== "OK") {
      if (Date.now() > giveUpAt) break; // a holder that never released: its lease has lapsed by now anyway
      await new Promise((r) => setTimeout(r, TURN_POLL_MS));
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, lock, token).catch(() => {});
    }
  }
}
