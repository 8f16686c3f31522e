// GET /metrics: Rampart's own metrics in Prometheus's text format, for a token or a
// session only. What the web process counts (API latency by route and status, live
// event delivery) and what it reads at scrape time (runs by kind and status, the
// queue, each worker's SSH pool from its presence in Redis).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Redis } from "ioredis";
import type { Db } from "@/server/db";
import { createTestDb } from "../support/test-db";
import { makeUser } from "../support/auth";
import { createToken } from "@/server/services/tokens";
import { announceWorker, withdrawWorker } from "@/server/services/workers";

let db: Db;
let http: typeof import("@/server/api/http");
let route: typeof import("@/app/metrics/route");
let metricsModule: typeof import("@/server/metrics");
let token: string;
let viewerCookie: string;
const BASE = "http://localhost:3999";

beforeAll(async () => {
  let url: string;
  let dir: string;
  ({ db, url, dir } = await createTestDb());
  process.env.DATABASE_URL = url;
  process.env.DATA_DIR = dir;
  process.env.REDIS_URL = inject("redisUrl");
  http = await import("@/server/api/http");
  route = await import("@/app/metrics/route");
  metricsModule = await import("@/server/metrics");
  const viewer = await makeUser(db, "viewer");
  viewerCookie = viewer.cookie;
  token = (await createToken(db, viewer.principal, { name: "prometheus", scope: "read", expiresInDays: 30 })).token;
});
afterAll(() => db.$disconnect());

const scrape = (headers: Record<string, string> = {}) => route.GET(new Request(`${BASE}/metrics`, { headers }));
/** The value of one sample line (name with its labels exactly as exposed), or null. */
function sample(text: string, series: string): number | null {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

describe("GET /metrics", () => {
  it("answers 401 without a token or session, and to an unknown token", async () => {
    const none = await scrape();
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const bad = await scrape({ authorization: "Bearer rp_not-a-real-token-at-all-000000000000" });
    expect(bad.status).toBe(401);
    expect(await bad.text()).toMatch(/unknown, revoked or expired/);
  });

  it("serves Prometheus's text format to a read token and to a signed-in viewer", async () => {
    const res = await scrape({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain("# TYPE rampart_api_request_duration_seconds histogram");
    expect(text).toContain("# TYPE rampart_runs gauge");
    expect(text).toContain("rampart_web_process_resident_memory_bytes");
    expect((await scrape({ cookie: viewerCookie })).status).toBe(200);
  });

  it("times API requests by procedure (tRPC) or route without ids (REST), with their status", async () => {
    const before = sample(await (await scrape({ authorization: `Bearer ${token}` })).text(), 'rampart_api_request_duration_seconds_count{api="trpc",route="runs.list",code="200"}') ?? 0;
    const auth = { authorization: `Bearer ${token}` };
    expect((await http.handleTrpc(new Request(`${BASE}/api/trpc/runs.list?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`, { headers: auth }))).status).toBe(200);
    expect((await http.handleTrpc(new Request(`${BASE}/api/trpc/runs.list?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`, { headers: auth }))).status).toBe(200);
    expect((await http.handleRest(new Request(`${BASE}/api/v1/runs/cm0000000000000000000000x`, { headers: auth }))).status).toBe(404);
    const text = await (await scrape(auth)).text();
    expect(sample(text, 'rampart_api_request_duration_seconds_count{api="trpc",route="runs.list",code="200"}')).toBe(before + 2);
    expect(sample(text, 'rampart_api_request_duration_seconds_count{api="rest",route="/runs/:id",code="404"}')).toBe(1);
    expect(metricsModule.routeOf("/runs/cm0abcdef1234567/events")).toBe("/runs/:id/events");
  });

  it("counts runs by kind and status from the database, and reads the queue's depth", async () => {
    await db.run.create({ data: { kind: "system-check", requestedBy: "t", status: "failed", finishedAt: new Date() } });
    await db.run.create({ data: { kind: "system-check", requestedBy: "t", status: "failed", finishedAt: new Date() } });
    await db.run.create({ data: { kind: "topology-plan", requestedBy: "t", status: "succeeded", finishedAt: new Date() } });
    const text = await (await scrape({ authorization: `Bearer ${token}` })).text();
    expect(sample(text, 'rampart_runs{kind="system-check",status="failed"}')).toBe(2);
    expect(sample(text, 'rampart_runs{kind="topology-plan",status="succeeded"}')).toBe(1);
    expect(sample(text, 'rampart_queue_jobs{state="waiting"}')).not.toBeNull();
  });

  it("shows each worker's SSH pool and active runs from its presence", async () => {
    const redis = new Redis(inject("redisUrl"));
    const id = `metrics-test-${Date.now()}`;
    try {
      await announceWorker(redis, {
        id,
        hostname: "h",
        pid: 1,
        startedAt: new Date(),
        seenAt: new Date(),
        concurrency: 4,
        ssh: { connections: 3, connecting: 1, channels: 5, opened: 9 },
        activeRuns: 2,
      });
      const text = await (await scrape({ authorization: `Bearer ${token}` })).text();
      expect(sample(text, `rampart_worker_ssh_connections{worker="${id}",state="open"}`)).toBe(3);
      expect(sample(text, `rampart_worker_ssh_connections{worker="${id}",state="connecting"}`)).toBe(1);
      expect(sample(text, `rampart_worker_ssh_channels{worker="${id}"}`)).toBe(5);
      expect(sample(text, `rampart_worker_ssh_connections_opened{worker="${id}"}`)).toBe(9);
      expect(sample(text, `rampart_worker_active_runs{worker="${id}"}`)).toBe(2);
      expect(sample(text, "rampart_worker_presence_read")).toBe(1);
      await withdrawWorker(redis, id);
      const after = await (await scrape({ authorization: `Bearer ${token}` })).text();
      expect(after).not.toContain(id);
    } finally {
      redis.disconnect();
    }
  });

  it("records how late a live run event reached a follower", async () => {
    const before = sample(await (await scrape({ authorization: `Bearer ${token}` })).text(), "rampart_run_event_delivery_seconds_count") ?? 0;
    metricsModule.observeEventDelivery(new Date(Date.now() - 40));
    const text = await (await scrape({ authorization: `Bearer ${token}` })).text();
    expect(sample(text, "rampart_run_event_delivery_seconds_count")).toBe(before + 1);
    expect(sample(text, 'rampart_run_event_delivery_seconds_bucket{le="0.05"}')).toBeGreaterThanOrEqual(1);
  });
});
