// An unexpected error (here: a table the database no longer has) reaches the caller
// as a reference to quote, never as the database's own words or a file path; the
// details go to the log. Over tRPC and the REST API.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import type { Db } from "@/server/db";
import { createTestDb } from "../support/test-db";
import { makeUser } from "../support/auth";

let db: Db;
let http: typeof import("@/server/api/http");
let viewer: Awaited<ReturnType<typeof makeUser>>;
let runId = "";
const BASE = "http://localhost:3999";

beforeAll(async () => {
  let url: string;
  let dir: string;
  ({ db, url, dir } = await createTestDb());
  process.env.DATABASE_URL = url;
  process.env.DATA_DIR = dir;
  process.env.REDIS_URL = inject("redisUrl");
  http = await import("@/server/api/http");
  viewer = await makeUser(db, "viewer");
  runId = (await db.run.create({ data: { kind: "system-check", requestedBy: "test", status: "succeeded" } })).id;
  await db.$executeRawUnsafe('DROP TABLE "RunPhase"');
});
afterAll(() => db.$disconnect());

describe("internal errors", () => {
  it("show a reference, not the database's message, and log the details under that reference", async () => {
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    try {
      const headers = { host: "localhost:3999", cookie: viewer.cookie };
      const input = encodeURIComponent(JSON.stringify({ json: { id: runId } }));
      const trpc = await http.handleTrpc(new Request(`${BASE}/api/trpc/runs.phases?input=${input}`, { headers }));
      const rest = await http.handleRest(new Request(`${BASE}/api/v1/runs/${runId}/phases`, { headers }));
      for (const res of [trpc, rest]) {
        expect(res.status).toBe(500);
        const text = await res.text();
        expect(text).toMatch(/Something went wrong on the server \(reference [0-9a-f]{8}\)/);
        expect(text).not.toMatch(/RunPhase|prisma|sqlite|postgres|relation|no such table|\/tmp\/|\/work\//i);
        const ref = /reference ([0-9a-f]{8})/.exec(text)![1]!;
        expect(logged.some((l) => l.includes(`ref ${ref}`) && /RunPhase/.test(l))).toBe(true);
      }
    } finally {
      spy.mockRestore();
    }
  });
});
