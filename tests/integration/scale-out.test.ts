// Scale-out on one machine: two console processes and two worker processes started
// with npm start as four machines would be (their own data directories and ports),
// sharing one database (PostgreSQL in the PostgreSQL pass of npm test, a SQLite file
// in the first) and one Redis. An apply of three simulated hosts (real SSH servers on
// loopback, tests/support/sim-hosts.ts) started on one console is followed live on the
// other; SIGKILL of the worker carrying it out hands it to another worker, which
// re-observes and finishes; the drift and renewal scans run once per interval for the
// whole installation.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import type { Db } from "@/server/db";
import { RUNS_QUEUE } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { DRIFT_SCAN_JOB, RENEWAL_SCAN_JOB } from "@/workers/drift";
import { freePort, startRedis, type TestRedis } from "../support/redis-server";
import { monitoringPorts, waitUntil } from "../support/processes";
import { setupAdminFromStartOutput } from "../support/first-run";
import { createTestDb } from "../support/test-db";
import { startSimHosts, type SimHosts } from "../support/sim-hosts";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { createTopology } from "@/server/services/topologies";
import { TopologyInput } from "@/server/schemas/topology";

interface Started {
  child: ChildProcess;
  out: string;
  exited: Promise<number | null>;
}
const started: Started[] = [];
let redis: TestRedis | undefined;
let db: Db | undefined;
let queue: Queue | undefined;
let sims: SimHosts | undefined;

function npmStart(env: Record<string, string>): Started {
  // Its own process group, so the whole tree (supervisor, console, worker) can be stopped.
  const child = spawn("bash", ["scripts/start.sh"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const p: Started = { child, out: "", exited: new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code))) };
  child.stdout!.on("data", (d) => (p.out += d));
  child.stderr!.on("data", (d) => (p.out += d));
  started.push(p);
  return p;
}

afterAll(async () => {
  for (const p of started) {
    try {
      process.kill(-p.child.pid!, "SIGTERM");
    } catch {
      /* already gone */
    }
  }
  await Promise.all(started.map((p) => p.exited));
  await queue?.close();
  await sims?.stop();
  await db?.$disconnect();
  await redis?.stop();
});

const INTERVAL_S = 10;
const workerIds = (out: string) => [...out.matchAll(/\[worker\] worker (\S+) ready/g)].map((m) => m[1]!);
const scanLines = (out: string, what: RegExp) => out.split("\n").filter((l) => what.test(l)).length;

describe("two consoles and two workers sharing one database and one Redis", () => {
  it("an apply started on one console is followed live on the other; SIGKILL of its worker hands it to another; scans run once per interval", async () => {
    redis = await startRedis();
    const test = await createTestDb();
    db = test.db;
    const common = {
      DATABASE_URL: test.url,
      REDIS_URL: redis.url,
      RAMPART_MASTER_KEY: randomBytes(32).toString("base64"),
      DRIFT_CHECK_INTERVAL_S: String(INTERVAL_S),
      RENEWAL_CHECK_INTERVAL_S: String(INTERVAL_S),
    };
    const dataDir = (name: string) => mkdtempSync(path.join(os.tmpdir(), `rampart-${name}-`));
    const [portA, portB] = [await freePort(), await freePort()];
    const consoleA = npmStart({ ...common, ...(await monitoringPorts()), RAMPART_PROCESSES: "console", PORT: String(portA), DATA_DIR: dataDir("console-a") });
    const says = (p: Started) => (e: Error) => Promise.reject(new Error(`${e.message}; it printed:\n${p.out}`));
    await waitUntil(async () => consoleA.out.includes("First run: create the first admin"), 240_000, "console A to start").catch(says(consoleA));
    const consoleB = npmStart({ ...common, ...(await monitoringPorts()), RAMPART_PROCESSES: "console", PORT: String(portB), DATA_DIR: dataDir("console-b") });
    await waitUntil(async () => consoleB.out.includes("First run: create the first admin"), 240_000, "console B to start").catch(says(consoleB));
    const workers = [
      npmStart({ ...common, RAMPART_PROCESSES: "worker", PORT: String(await freePort()), DATA_DIR: dataDir("worker-1") }),
      npmStart({ ...common, RAMPART_PROCESSES: "worker", PORT: String(await freePort()), DATA_DIR: dataDir("worker-2") }),
    ];
    for (const w of workers) await waitUntil(async () => workerIds(w.out).length > 0, 120_000, "a worker to start").catch(says(w));
    const scansFrom = Date.now();

    // Three simulated Debian hosts (real SSH servers on loopback) and a topology on them.
    const box = new SecretBox(loadMasterKey({ envKey: common.RAMPART_MASTER_KEY, dataDir: test.dir, create: false }));
    sims = await startSimHosts(db, box, { count: 3, net: 78, latencyMs: 150, prefix: "scale" });
    const [lb, web1, web2] = sims.servers;
    const topology = await createTopology(
      db,
      TopologyInput.parse({
        name: "www.scale.test",
        members: [
          // The simulated hosts run no exporter that could answer the collector (the lab tests prove it on real hosts).
          { serverId: lb!.id, roles: ["load-balancer"], monitoring: false },
          { serverId: web1!.id, roles: ["web", "app"], monitoring: false },
          { serverId: web2!.id, roles: ["web", "app"], monitoring: false },
        ],
      }),
    );
    // The simulated hosts have no nftables.
    await db.topology.update({ where: { id: topology.id }, data: { firewallEnabled: false } });

    // Signed in through console B's link (the latest one); the session works on both consoles.
    const originA = `http://localhost:${portA}`;
    const originB = `http://localhost:${portB}`;
    const { cookie } = await setupAdminFromStartOutput(consoleB.out, originB);
    const res = await fetch(`${originA}/api/trpc/topologies.startApply`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-rampart-csrf": "1", origin: originA, cookie },
      body: JSON.stringify({ json: { id: topology.id, unreviewed: true } }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const runId = (await res.json()).result.data.json.id as string;

    // Followed on console B, which never saw the request.
    const stream = await fetch(`${originB}/api/trpc/runs.follow?input=${encodeURIComponent(JSON.stringify({ json: { id: runId } }))}`, { headers: { cookie, accept: "text/event-stream" } });
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const reader = stream.body!.getReader();
    let sse = "";
    const streamClosed = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        sse += Buffer.from(value).toString();
      }
    })();
    await waitUntil(async () => /"level":"progress"/.test(sse), 60_000, "the apply's first steps on console B's stream");

    // The worker carrying it out is SIGKILLed in the middle of the apply (its id holds its pid).
    const first = await waitUntil(async () => (await db!.run.findUniqueOrThrow({ where: { id: runId } })).workerId, 10_000, "the run to be claimed");
    const pid = Number(/-(\d+)-[0-9a-f]{4}$/.exec(first)![1]);
    process.kill(pid, "SIGKILL");

    const run = await waitUntil(
      async () => {
        const r = await db!.run.findUniqueOrThrow({ where: { id: runId } });
        return ["succeeded", "failed", "cancelled", "partial"].includes(r.status) ? r : null;
      },
      240_000,
      "another worker to take the apply over and finish it",
    );
    const story = async () => (await db!.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } })).map((e) => `${e.level} ${e.host ?? "-"}: ${e.text}`).join("\n");
    expect(run.status, `${run.outcome}\n${await story()}`).toBe("succeeded");
    expect(run.outcome).toMatch(/every host matches the topology and passes its checks/);
    expect(run.workerId).not.toBe(first);
    expect(run.attempts).toBeGreaterThanOrEqual(2);
    await streamClosed;

    // Console B's stream carried the whole run, in order and without repeats, takeover included.
    const seqs = [...sse.matchAll(/"seq":(\d+)/g)].map((m) => Number(m[1]));
    const stored = await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" }, select: { seq: true } });
    expect(seqs).toEqual(stored.map((e) => e.seq));
    expect(sse).toContain(`Worker ${first} stopped before finishing this run`);
    expect(sse).toContain("Resuming: observing every host again");
    expect(sse).toMatch(/"text":"succeeded"/);

    // The scans: one job per interval for the installation, each carried out by one worker.
    await new Promise((r) => setTimeout(r, Math.max(0, scansFrom + 3 * INTERVAL_S * 1000 - Date.now())));
    queue = new Queue(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
    const outputs = workers.map((w) => w.out).join("\n");
    for (const [job, line] of [
      [DRIFT_SCAN_JOB, /\[worker\].*drift scan: started/],
      [RENEWAL_SCAN_JOB, /\[worker\].*certificate renewal scan:/],
    ] as const) {
      const done = (await queue.getJobs(["completed"], 0, 1000)).filter((j) => j.name === job).sort((a, b) => a.processedOn! - b.processedOn!);
      expect(done.length, `${job}: no scan ran`).toBeGreaterThan(0);
      // Two workers, one scan per interval since the first: never one per worker.
      const expected = Math.floor((Date.now() - done[0]!.processedOn!) / (INTERVAL_S * 1000)) + 1;
      expect(Math.abs(done.length - expected), `${job}: ${done.length} scans where ${expected} intervals began`).toBeLessThanOrEqual(1);
      for (let i = 1; i < done.length; i++) expect(done[i]!.processedOn! - done[i - 1]!.processedOn!).toBeGreaterThan(INTERVAL_S * 1000 * 0.8);
      // And each was carried out once: as many log lines, across both workers, as jobs done (give or take one in flight).
      expect(Math.abs(scanLines(outputs, line) - done.length)).toBeLessThanOrEqual(1);
    }
  }, 600_000);
});
