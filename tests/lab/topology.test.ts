// The provisioning engine end to end on the lab, with the real worker process:
// plan (changes nothing), cancel during a package install (the remote process
// stops), SIGKILL of the worker mid-apply (the next worker converges, no lock
// stays held), curl through HAProxy alternating between the web servers, a
// second apply that plans nothing, and a scheduled drift check that reports a
// hand edit as a diff which the next apply undoes.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { ensureLab, labSsh, type LabInfo } from "@/e2e/lab/fixture";
import type { Db } from "@/server/db";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology, getTopology, planTopologyRun, runPlan } from "@/server/services/topologies";
import { cancelRun } from "@/server/services/runs";
import { retryRun } from "@/server/services/run-retry";
import { caCertificate } from "@/server/services/certificates";
import { lockHolders } from "@/server/queue/host-locks";
import { NGINX_SITE } from "@/server/provision/roles";
import { TopologyInput } from "@/server/schemas/topology";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";

let lab: LabInfo;
let db: Db;
let dir: string;
let dbUrl: string;
let redis: TestRedis;
let client: Redis;
let queue: Queue<RunJobData>;
let worker: WorkerProcess;
let topologyId: string;
const serverIds: string[] = [];
const caller = { name: "tester@example.test" };
const deps = () => ({ db, queue });

const workerEnv = (extra: Record<string, string> = {}) => ({ DATA_DIR: dir, DATABASE_URL: dbUrl, REDIS_URL: redis.url, DRIFT_CHECK_INTERVAL_S: "0", ...extra });

async function stopWorker() {
  worker.child.kill("SIGTERM");
  await worker.exited;
}

async function finished(runId: string, timeoutMs = 240_000) {
  try {
    return await waitUntil(
      async () => {
        const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
        return r.status !== "queued" && r.status !== "running" ? r : null;
      },
      timeoutMs,
      `run ${runId} to finish`,
    );
  } catch (err) {
    // Say why: the run's story and the worker's log.
    throw new Error(`${(err as Error).message}\n--- events:\n${await eventsText(runId)}\n--- worker:\n${worker.output().slice(-4000)}`);
  }
}
const events = (runId: string) => db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
const eventsText = async (runId: string) => (await events(runId)).map((e) => `${e.level} ${e.host ?? "-"}: ${e.text}`).join("\n");
const waitForEvent = (runId: string, test: (e: { level: string; host: string | null; text: string }) => boolean, what: string, timeoutMs = 180_000) =>
  waitUntil(async () => (await events(runId)).find(test), timeoutMs, what);

const lb = () => lab.hosts[0]!;
let caFile = "";
// HTTPS through the load balancer, trusting only Rampart's CA (the site certificate comes from it).
const curl = (path = "/") =>
  execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", caFile, "--resolve", `www.foobar.test:443:${lb().address}`, `https://www.foobar.test${path}`], { encoding: "utf8" });
const servedBy = (body: string) => /Served by (\S+)<\/p>/.exec(body)?.[1] ?? `(unexpected page: ${body.slice(0, 80)})`;
async function locksHeld() {
  return [...(await lockHolders(client, serverIds)).values()].filter((v) => v !== null);
}

beforeAll(async () => {
  const info = await ensureLab(3);
  lab = { ...info, hosts: info.hosts.slice(0, 3) };
  redis = await startRedis();
  client = new Redis(redis.url);
  ({ db, dir, url: dbUrl } = await createTestDb());
  const box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  caFile = path.join(dir, "ca.pem");
  writeFileSync(caFile, (await caCertificate(db, box)).certPem);
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  worker = startWorker(workerEnv());
  // Fresh hosts: nothing of what the topology installs is there yet.
  serverIds.push(...(await registerFreshLabHosts(db, box, lab, lab.hosts)));
}, 600_000);

afterAll(async () => {
  if (worker) await stopWorker();
  await queue?.close();
  client?.disconnect();
  await db?.$disconnect();
  await redis?.stop();
});

describe("the provisioning engine on the lab", () => {
  it("creates a topology: one load balancer, two web servers", async () => {
    const input = TopologyInput.parse({
      name: "www.foobar.test",
      members: [
        { serverId: serverIds[0], roles: ["load-balancer"] },
        { serverId: serverIds[1], roles: ["web"] },
        { serverId: serverIds[2], roles: ["web"] },
      ],
    });
    topologyId = (await createTopology(db, input)).id;
    expect((await getTopology(db, topologyId)).members.map((m) => m.roles)).toEqual([["load-balancer"], ["web"], ["web"]]);
  });

  it("plans without changing anything", async () => {
    const run = await planTopologyRun(deps(), caller, topologyId);
    const done = await finished(run.id);
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    const plan = (await runPlan(db, run.id))!;
    expect(plan.changes).toBeGreaterThan(10);
    expect(plan.hosts.map((h) => h.steps.some((s) => s.summary === "install nginx"))).toEqual([false, true, true]);
    expect(plan.hosts[0]!.steps.map((s) => s.summary)).toContain("install haproxy, socat");
    for (const h of lab.hosts) expect((await labSsh(h.name, ["sh", "-c", "command -v nginx haproxy || echo none"])).stdout.trim()).toBe("none");
    expect((await getTopology(db, topologyId)).driftStatus).toBe("drifted");
  });

  it("cancel during the package install stops the remote process and the run shows cancelled", async () => {
    const run = await applyTopologyRun(deps(), caller, topologyId);
    // The first stage installs nothing (its firewall step prints "rampart: …" lines); wait for apt to print on a web server.
    const seen = await waitForEvent(run.id, (e) => e.level === "output" && e.host === "lab2" && !e.text.startsWith("rampart: "), "apt output on lab2");
    expect(seen).toBeTruthy();
    expect((await labSsh("lab2", ["pgrep", "-f", "[r]ampart-apt"], { check: false })).code).toBe(0);
    await cancelRun({ db, queue, redis: client }, caller, run.id);
    const done = await finished(run.id, 60_000);
    expect(done.status, await eventsText(run.id)).toBe("cancelled");
    expect(done.outcome).toContain(`cancelled by ${caller.name}`);
    // The remote apt (and the dpkg it starts) is gone, not left running.
    await waitUntil(async () => (await labSsh("lab2", ["pgrep", "-f", "[r]ampart-apt|[a]pt-get|[d]pkg"], { check: false })).code === 1, 15_000, "apt to stop on lab2");
    expect(await locksHeld()).toEqual([]);
  });

  it("a worker SIGKILLed mid-apply: the next worker re-observes and converges, and no lock stays held", { timeout: 300_000 }, async () => {
    const run = await retryRun(deps(), caller, (await db.run.findFirstOrThrow({ where: { topologyId, status: "cancelled" } })).id);
    expect(run.retryOf).not.toBeNull();
    await waitForEvent(run.id, (e) => e.level === "progress" && e.host === "lab2" && /\[\d+\/\d+\] (install nginx|create \/var\/www)/.test(e.text), "a web step to start on lab2");
    worker.child.kill("SIGKILL");
    await worker.exited;
    expect((await db.run.findUniqueOrThrow({ where: { id: run.id } })).status).toBe("running");
    worker = startWorker(workerEnv());
    const done = await finished(run.id);
    const text = await eventsText(run.id);
    expect(done.status, text).toBe("succeeded");
    expect(done.attempts).toBe(2);
    expect(text).toContain("Resuming: observing every host again");
    expect(done.outcome).toMatch(/every host matches the topology and passes its checks/);
    expect(await locksHeld()).toEqual([]);
  });

  it("curl over HTTPS through the load balancer alternates between the web servers", async () => {
    await waitUntil(
      async () => {
        try {
          return servedBy(curl()).startsWith("lab");
        } catch {
          return false;
        }
      },
      20_000,
      "HAProxy to answer",
    );
    const names = Array.from({ length: 6 }, () => servedBy(curl()));
    expect(new Set(names)).toEqual(new Set(["lab2", "lab3"]));
    for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]); // round robin
    expect((await labSsh(lb().name, ["systemctl", "is-active", "haproxy"])).stdout.trim()).toBe("active");
    // Debian's own haproxy.cfg was kept before Rampart replaced it.
    expect((await labSsh(lb().name, ["cat", "/var/lib/rampart/backup/etc/haproxy/haproxy.cfg"])).stdout).toContain("errorfile 503");
  });

  it("a second apply plans no changes", async () => {
    const t0 = Date.now();
    const run = await applyTopologyRun(deps(), caller, topologyId);
    const done = await finished(run.id);
    const ms = Date.now() - t0;
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    expect(done.outcome).toMatch(/^no changes/);
    expect((await runPlan(db, run.id))!.changes).toBe(0);
    expect((await getTopology(db, topologyId)).driftStatus).toBe("in-sync");
    console.log(`second apply of 3 converged hosts: ${ms} ms from request to recorded outcome`);
  });

  it("a scheduled drift check reports a hand edit as a diff, and apply restores the file", async () => {
    const original = (await labSsh("lab2", ["cat", NGINX_SITE])).stdout;
    await labSsh("lab2", ["sed", "-i", "s/index index.html;/index index.html hacked.html;/", NGINX_SITE]);
    await stopWorker();
    worker = startWorker(workerEnv({ DRIFT_CHECK_INTERVAL_S: "10" }));
    const drift = await waitUntil(
      async () => db.run.findFirst({ where: { topologyId, kind: "topology-plan", requestedBy: "drift check (schedule)", status: "succeeded" } }),
      60_000,
      "a scheduled drift check",
    );
    const plan = (await runPlan(db, drift.id))!;
    const steps = plan.hosts.find((h) => h.name === "lab2")!.steps;
    expect(steps.map((s) => s.summary)).toEqual([`update ${NGINX_SITE}`, "reload nginx"]);
    expect(steps[0]!.diff).toContain("-    index index.html hacked.html;");
    expect(steps[0]!.diff).toContain("+    index index.html;");
    expect(plan.hosts.filter((h) => h.name !== "lab2").every((h) => h.steps.length === 0)).toBe(true);
    expect((await getTopology(db, topologyId)).driftStatus).toBe("drifted");
    // The drift check changed nothing.
    expect((await labSsh("lab2", ["cat", NGINX_SITE])).stdout).toContain("hacked.html");

    const run = await applyTopologyRun(deps(), caller, topologyId);
    // Only the host with changes is locked: sample the locks while the apply runs.
    const lockedByRun = new Set<string>();
    const sampling = (async () => {
      for (;;) {
        const holders = await lockHolders(client, serverIds);
        serverIds.forEach((id, i) => holders.get(id) === run.id && lockedByRun.add(lab.hosts[i]!.name));
        const r = await db.run.findUniqueOrThrow({ where: { id: run.id } });
        if (["succeeded", "failed", "partial", "cancelled"].includes(r.status)) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const done = await finished(run.id);
    await sampling;
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    expect([...lockedByRun]).toEqual(["lab2"]);
    expect((await labSsh("lab2", ["cat", NGINX_SITE])).stdout).toBe(original);
    expect((await getTopology(db, topologyId)).driftStatus).toBe("in-sync");
    expect(await locksHeld()).toEqual([]);
  });
});
