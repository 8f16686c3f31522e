// Per-host locks against a real Redis: exclusion, all-or-nothing, waiting, a
// takeover by the same run, and a lease that ends by itself when its holder dies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { acquireHostLocks, HostLockBusyError, lockHolders, lockKey } from "@/server/queue/host-locks";
import { startRedis, type TestRedis } from "../support/redis-server";

let redis: TestRedis;
let client: Redis;
const hosts = [
  { id: "srv-a", name: "a" },
  { id: "srv-b", name: "b" },
  { id: "srv-c", name: "c" },
];

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe("host locks", () => {
  it("a second run cannot take a host another run holds, and takes none of its other hosts either", async () => {
    const first = await acquireHostLocks(client, "run-1", hosts.slice(0, 2), { waitMs: 0 });
    const waited: string[] = [];
    await expect(acquireHostLocks(client, "run-2", hosts.slice(1), { waitMs: 300, onWait: (name, holder) => waited.push(`${name}:${holder}`) })).rejects.toBeInstanceOf(HostLockBusyError);
    expect(waited).toEqual(["b:run-1"]);
    expect(
      Object.fromEntries(
        await lockHolders(
          client,
          hosts.map((h) => h.id),
        ),
      ),
    ).toEqual({ "srv-a": "run-1", "srv-b": "run-1", "srv-c": null });
    await first.release();
    expect([
      ...(
        await lockHolders(
          client,
          hosts.map((h) => h.id),
        )
      ).values(),
    ]).toEqual([null, null, null]);
  });

  it("a waiting run gets the hosts as soon as they are released", async () => {
    const first = await acquireHostLocks(client, "run-1", hosts, { waitMs: 0 });
    const second = acquireHostLocks(client, "run-2", hosts, { waitMs: 10_000 });
    setTimeout(() => void first.release(), 500);
    const held = await second;
    expect([
      ...(
        await lockHolders(
          client,
          hosts.map((h) => h.id),
        )
      ).values(),
    ]).toEqual(["run-2", "run-2", "run-2"]);
    await held.release();
  });

  it("the worker that takes a run over may take that run's locks again", async () => {
    const dead = await acquireHostLocks(client, "run-7", hosts, { waitMs: 0 });
    void dead; // its worker "died": never released
    const again = await acquireHostLocks(client, "run-7", hosts, { waitMs: 0 });
    await again.release();
  });

  it("a lock whose holder died expires with its lease; a live holder's lease is renewed", async () => {
    const live = await acquireHostLocks(client, "run-live", [hosts[0]!], { waitMs: 0, leaseMs: 600 });
    // A worker that took hosts[1] and was then SIGKILLed: its lock, with nobody renewing it.
    await client.set(lockKey(hosts[1]!.id), "run-dead", "PX", 600);
    await expect(acquireHostLocks(client, "run-next", [hosts[1]!], { waitMs: 0 })).rejects.toBeInstanceOf(HostLockBusyError);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await lockHolders(client, [hosts[0]!.id])).get(hosts[0]!.id)).toBe("run-live"); // renewed past its 600 ms lease
    const next = await acquireHostLocks(client, "run-next", [hosts[1]!], { waitMs: 0 });
    await next.release();
    await live.release();
  });

  it("locks taken early are renewed while the run waits for the others", async () => {
    const other = await acquireHostLocks(client, "run-other", [hosts[1]!], { waitMs: 0, leaseMs: 600 });
    setTimeout(() => void other.release(), 1500);
    const held = await acquireHostLocks(client, "run-waiting", hosts.slice(0, 2), { waitMs: 5000, leaseMs: 600 });
    expect(held.lost.aborted).toBe(false);
    expect([...(await lockHolders(client, [hosts[0]!.id, hosts[1]!.id])).values()]).toEqual(["run-waiting", "run-waiting"]);
    await held.release();
  });
});

describe("rounds of a periodic task", () => {
  it("one worker of several takes each round; the next round is free again once the interval has passed", async () => {
    const { takeRound } = await import("@/workers/lb-health");
    const workers = ["w1", "w2", "w3"];
    const first = await Promise.all(workers.flatMap((w) => [takeRound(client, "test-task", w, 600), takeRound(client, "test-task", w, 600)]));
    expect(first.filter(Boolean)).toHaveLength(1);
    expect(await takeRound(client, "test-task", "w2", 600)).toBe(false);
    await new Promise((r) => setTimeout(r, 500)); // the lease lapses 200 ms before the interval ends
    const second = await Promise.all(workers.map((w) => takeRound(client, "test-task", w, 600)));
    expect(second.filter(Boolean)).toHaveLength(1);
  });
});
