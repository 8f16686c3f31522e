// RAMPART_PROCESSES: a console alone and a worker alone, started with npm start as two
// machines would be (their own data directories), meeting only in the shared database
// and Redis. A run asked for on the console is carried out by the other process.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "@/server/db";
import { freePort, startRedis, type TestRedis } from "../support/redis-server";
import { monitoringPorts, waitUntil } from "../support/processes";
import { setupAdminFromStartOutput } from "../support/first-run";

const started: Array<{ child: ChildProcess; exited: Promise<number | null> }> = [];
let redis: TestRedis | undefined;

async function npmStart(env: Record<string, string>) {
  const child = spawn("bash", ["scripts/start.sh"], { env: { ...process.env, ...(await monitoringPorts()), ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const p = { child, out: "", exited: new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code))) };
  child.stdout!.on("data", (d) => (p.out += d));
  child.stderr!.on("data", (d) => (p.out += d));
  started.push(p);
  return p;
}

afterAll(async () => {
  for (const p of started) p.child.kill("SIGTERM");
  await Promise.all(started.map((p) => p.exited));
  await redis?.stop();
});

describe("RAMPART_PROCESSES", () => {
  it("a console-only process and a worker-only process share the work through the database and Redis", async () => {
    redis = await startRedis();
    const shared = mkdtempSync(path.join(os.tmpdir(), "rampart-shared-"));
    const common = {
      DATABASE_URL: `file:${path.join(shared, "rampart.db")}`,
      REDIS_URL: redis.url,
      RAMPART_MASTER_KEY: randomBytes(32).toString("base64"),
    };
    const port = await freePort();
    const consoleOnly = await npmStart({ ...common, RAMPART_PROCESSES: "console", PORT: String(port), DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "rampart-console-")) });
    await waitUntil(async () => consoleOnly.out.includes("First run: create the first admin"), 240_000, "the console to start");
    const workerOnly = await npmStart({ ...common, RAMPART_PROCESSES: "worker", PORT: String(await freePort()), DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "rampart-worker-")) });
    await waitUntil(async () => workerOnly.out.includes("Rampart worker started") && /\[worker\] worker \S+ ready/.test(workerOnly.out), 120_000, "the worker to start").catch((err: Error) => {
      throw new Error(`${err.message}; it printed:\n${workerOnly.out}`);
    });

    // Each ran only its part: no worker beside the console, no console beside the worker.
    expect(consoleOnly.out).not.toMatch(/\[worker\]/);
    expect(workerOnly.out).toMatch(/\[worker\] worker \S+ ready/);
    expect(workerOnly.out).not.toContain("Rampart is up at");

    const origin = `http://localhost:${port}`;
    const { cookie } = await setupAdminFromStartOutput(consoleOnly.out, origin);
    const res = await fetch(`${origin}/api/trpc/runs.startSystemCheck`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-rampart-csrf": "1", origin, cookie },
      body: JSON.stringify({ json: { delayBetweenChecksMs: 0 } }),
    });
    const runId = (await res.json()).result.data.json.id as string;
    const workerId = /\[worker\] worker (\S+) ready/.exec(workerOnly.out)![1];

    const db = await createDb(common.DATABASE_URL);
    try {
      const run = await waitUntil(
        async () => {
          const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
          return r.status === "succeeded" || r.status === "failed" ? r : null;
        },
        60_000,
        "the worker-only process to carry out the run",
      );
      expect(run.status).toBe("succeeded");
      expect(run.workerId).toBe(workerId);
    } finally {
      await db.$disconnect();
    }
  }, 300_000);

  it("a console or worker alone without a shared REDIS_URL is refused in one line", async () => {
    const p = await npmStart({ RAMPART_PROCESSES: "worker", REDIS_URL: "", PORT: String(await freePort()), DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "rampart-alone-")) });
    expect(await p.exited).not.toBe(0);
    // eslint-disable-next-line no-control-regex
    const lines = p.out
      .replace(/\x1b\[[0-9;]*m/g, "")
      .split("\n")
      .filter((l) => l.trim() !== "");
    expect(lines).toEqual(["rampart: Invalid configuration: RAMPART_PROCESSES=worker needs REDIS_URL, the Redis the console and every worker share"]);
  });
});
