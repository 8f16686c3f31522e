// The engine's second step on the lab, with the real worker process, on hosts that
// start the way many real servers do: the distribution's nginx installed and
// serving its default site on :80.
//   - the plan for the load balancer shows the conflict on :80 and the step that
//     resolves it; after apply, HTTPS through the load balancer works (curl --cacert);
//   - a foreign listener on :443 of the load balancer: the plan refuses, naming
//     the process and the port;
//   - a reload the daemon refuses while systemd says it succeeded (another process
//     took :443 after the plan) fails the run with the daemon's own message, and the
//     drift check reports the host as not serving;
//   - a web server cut off the network: the apply converges the others and ends
//     "partially applied" within 30 s naming it, and draining it works while it is down;
//   - a rollout in batches stops at the first failed batch, or goes on within its
//     failure budget; a strict apply changes nothing while a host is unreachable.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { ensureLab, labSsh, type LabInfo } from "@/e2e/lab/fixture";
import type { Db } from "@/server/db";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology, getTopology, planTopologyRun, runPlan, setDrained, updateTopology } from "@/server/services/topologies";
import { caCertificate } from "@/server/services/certificates";
import { HAPROXY_CONFIG, NGINX_SITE } from "@/server/provision/roles";
import { TopologyInput } from "@/server/schemas/topology";
import { Redis } from "ioredis";
import { SshExecutor } from "@/server/exec/ssh-executor";
import { RunReporter } from "@/server/queue/run-events";
import { acquireHostLocks } from "@/server/queue/host-locks";
import { loadEnv } from "@/server/env";
import { RunJournal } from "@/workers/journal";
import { applyUnderHeldLocks } from "@/workers/kinds/topology";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";

const SITE = "www.engine.test";
let lab: LabInfo;
let db: Db;
let dir: string;
let redis: TestRedis;
let queue: Queue<RunJobData>;
let worker: WorkerProcess;
let topologyId: string;
let dbUrl: string;
let caFile = "";
const ids: string[] = [];
const caller = { name: "tester@example.test" };
const deps = () => ({ db, queue });

const events = (runId: string) => db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
const eventsText = async (runId: string) => (await events(runId)).map((e) => `${e.level} ${e.host ?? "-"}: ${e.text}`).join("\n");

async function finished(runId: string, timeoutMs = 300_000) {
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
    throw new Error(`${(err as Error).message}\n--- events:\n${await eventsText(runId)}\n--- worker:\n${worker.output().slice(-4000)}`);
  }
}

const lb = () => lab.hosts[0]!;
const curl = (path = "/", maxTimeS = 5) =>
  execFileSync("curl", ["-sS", "--max-time", String(maxTimeS), "--cacert", caFile, "--resolve", `${SITE}:443:${lb().address}`, `https://${SITE}${path}`], { encoding: "utf8" });
const nft = (host: string, script: string) =>
  execFileSync("ip", ["netns", "exec", lab.hosts.find((h) => h.name === host)!.netns, "nft", "-f", "-"], { input: script, stdio: ["pipe", "pipe", "pipe"] });

/** On lab1: a path unit that starts a listener on :443 as soon as /etc/rampart/tls appears. */
const GRABBER = [
  "cat > /run/systemd/system/rampart-test-grab.service <<'EOF'",
  "[Service]",
  "ExecStart=/usr/bin/python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"0.0.0.0\", 443)); s.listen(); time.sleep(600)'",
  "EOF",
  "cat > /run/systemd/system/rampart-test-grab.path <<'EOF'",
  "[Path]",
  "PathExists=/etc/rampart/tls",
  "EOF",
  "systemctl daemon-reload && systemctl start rampart-test-grab.path",
].join("\n");

async function apply() {
  const run = await applyTopologyRun(deps(), caller, topologyId);
  return { run, done: await finished(run.id) };
}

beforeAll(async () => {
  const info = await ensureLab(3);
  lab = { ...info, hosts: info.hosts.slice(0, 3) };
  redis = await startRedis();
  ({ db, dir, url: dbUrl } = await createTestDb());
  const box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  worker = startWorker({ DATA_DIR: dir, DATABASE_URL: dbUrl, REDIS_URL: redis.url, DRIFT_CHECK_INTERVAL_S: "0" });
  ids.push(...(await registerFreshLabHosts(db, box, lab, lab.hosts)));
  // Servers as they often come: Debian's nginx installed, enabled and serving its default site on :80.
  await Promise.all(
    lab.hosts.map((h) =>
      labSsh(h.name, ["sh", "-c", "apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -y -q install nginx >/dev/null && systemctl is-active nginx"], { timeoutMs: 300_000 }),
    ),
  );
  topologyId = (
    await createTopology(
      db,
      TopologyInput.parse({
        name: SITE,
        members: [
          { serverId: ids[0], roles: ["load-balancer"] },
          { serverId: ids[1], roles: ["web", "app"] },
          { serverId: ids[2], roles: ["web", "app"] },
        ],
      }),
    )
  ).id;
  caFile = path.join(dir, "ca.pem");
  writeFileSync(caFile, (await caCertificate(db, box)).certPem);
}, 600_000);

afterAll(async () => {
  // Never leave a host cut off, whatever failed.
  for (const h of lab?.hosts ?? []) {
    try {
      nft(h.name, "delete table inet rampart_test_cut\n");
    } catch {
      /* not there */
    }
  }
  await labSsh(
    "lab1",
    [
      "sh",
      "-c",
      "[ -f /run/rampart-test-listener.pid ] && kill $(cat /run/rampart-test-listener.pid); rm -f /run/rampart-test-listener.pid; systemctl stop rampart-test-grab.path rampart-test-grab.service 2>/dev/null; true",
    ],
    { check: false },
  ).catch(() => {});
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await queue?.close();
  await db?.$disconnect();
  await redis?.stop();
});

describe("proven outcomes and partial failure on the lab", () => {
  it("plans the load balancer's conflict with the distribution's nginx on :80, with the step that resolves it", async () => {
    const run = await planTopologyRun(deps(), caller, topologyId);
    const done = await finished(run.id);
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    const plan = (await runPlan(db, run.id))!;
    const stop = plan.hosts[0]!.steps.find((s) => s.summary === "stop and disable nginx");
    expect(stop, JSON.stringify(plan.hosts[0]!.steps.map((s) => s.summary))).toBeDefined();
    expect(stop!.reason).toMatch(/port 80, which haproxy.service needs .* is held by nginx \(pid \d+, nginx.service\)/);
    expect(stop!.commands).toContain("systemctl disable --now -- nginx.service");
    // The plan's checks say what is not there yet: nothing serves the site.
    expect(plan.hosts[0]!.checks.find((c) => c.name === "HTTPS on :443")?.ok).toBe(false);
    // Planning changed nothing.
    expect((await labSsh("lab1", ["systemctl", "is-active", "nginx"])).stdout.trim()).toBe("active");
  });

  it("applies: nginx on the load balancer is stopped and disabled, HAProxy serves the site, every check passes", async () => {
    const { run, done } = await apply();
    expect(done.status, `${done.outcome}\n${await eventsText(run.id)}`).toBe("succeeded");
    expect((await labSsh("lab1", ["systemctl", "is-enabled", "nginx"], { check: false })).stdout.trim()).toBe("disabled");
    expect(curl()).toMatch(/app on lab[23], through web server lab[23]/);
    const plan = (await runPlan(db, run.id))!;
    for (const h of plan.hosts) {
      expect(h.outcome).toBe("converged");
      expect(h.checks.length).toBeGreaterThan(0);
      expect(h.checks.filter((c) => !c.ok)).toEqual([]);
    }
    expect(plan.hosts[0]!.checks.map((c) => c.name)).toEqual([
      "listening on :9100",
      "prometheus-node-exporter runs the configuration on disk",
      "node exporter on :9100",
      "listening on :80",
      "listening on :443",
      "listening on :8405",
      "haproxy runs the configuration on disk",
      "HTTPS on :443",
      "backends up",
      "haproxy exporter on :8405",
    ]);
    expect(plan.hosts[1]!.checks.map((c) => c.name)).toContain("certificate on :443");
    expect((await getTopology(db, topologyId)).driftStatus).toBe("in-sync");
  });

  it("a second apply changes nothing and still proves every check", async () => {
    const { run, done } = await apply();
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    expect(done.outcome).toMatch(/^no changes: every host already matches the topology and passes its checks/);
    const texts = (await events(run.id)).map((e) => e.text);
    expect(texts.filter((t) => t.startsWith("check passed: ")).length).toBeGreaterThanOrEqual(10);
  });

  it("a foreign listener on :443 of the load balancer: the plan refuses, naming the process and the port", async () => {
    await labSsh("lab1", ["systemctl", "stop", "haproxy"]);
    // An ad-hoc listener, as someone testing by hand would leave one: not a daemon Rampart knows.
    await labSsh("lab1", [
      "sh",
      "-c",
      "setsid python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"0.0.0.0\", 443)); s.listen(); time.sleep(600)' </dev/null >/dev/null 2>&1 & echo $! > /run/rampart-test-listener.pid; sleep 0.5",
    ]);
    try {
      const run = await planTopologyRun(deps(), caller, topologyId);
      const done = await finished(run.id);
      const plan = (await runPlan(db, run.id))!;
      expect(plan.hosts[0]!.error).toMatch(
        /port 443, which haproxy.service needs \(HTTPS for www.engine.test\), is held by python3 \(pid \d+, [^)]+\) on 0\.0\.0\.0:443, which Rampart does not manage/,
      );
      expect(plan.hosts[0]!.steps).toEqual([]);
      expect(done.status).toBe("failed");
      expect(done.outcome).toMatch(/python3/);
    } finally {
      await labSsh("lab1", ["sh", "-c", "kill $(cat /run/rampart-test-listener.pid); rm -f /run/rampart-test-listener.pid; sleep 0.3; systemctl start haproxy"]);
    }
  });

  it("a reload HAProxy refuses while systemd reports success fails the run with HAProxy's message; the drift check reports the load balancer as not serving", async () => {
    // The load balancer as a fresh server has it: Debian's HAProxy running its stock
    // configuration (no listeners), and no Rampart files yet. Something takes :443 after
    // Rampart observed the host and before HAProxy reloads (here: a listener started the
    // moment the apply creates /etc/rampart/tls). `haproxy -c` cannot see it, and systemd's
    // reload (the check, then USR2 to the master) reports success; HAProxy keeps its old
    // configuration and logs why.
    await labSsh("lab1", ["sh", "-c", "cp /var/lib/rampart/backup/etc/haproxy/haproxy.cfg /etc/haproxy/haproxy.cfg && systemctl restart haproxy && rm -rf /etc/rampart/tls"]);
    await labSsh("lab1", ["sh", "-c", GRABBER]);
    try {
      const { run, done } = await apply();
      const text = await eventsText(run.id);
      expect(done.status, text).toBe("failed");
      expect(done.outcome).toMatch(/lab1: checks failed: .*haproxy runs an older configuration.*haproxy said: .*cannot bind socket \(Address already in use\) for \[0\.0\.0\.0:443\]/);
      expect(text).toMatch(/debug lab1: \$ systemctl reload -- haproxy/);
      expect(text).toMatch(/check failed: listening on :443: .*held by python3/);
      expect((await labSsh("lab1", ["systemctl", "is-active", "haproxy"])).stdout.trim()).toBe("active");

      // The listener goes away; HAProxy still runs its old configuration: the drift check says so.
      await labSsh("lab1", ["systemctl", "stop", "rampart-test-grab.path", "rampart-test-grab.service"]);
      const drift = await planTopologyRun(deps(), caller, topologyId);
      const dd = await finished(drift.id);
      expect(dd.outcome).toMatch(/not serving: lab1 \(.*haproxy runs the configuration on disk/);
      const plan = (await runPlan(db, drift.id))!;
      const failing = plan.hosts[0]!.checks.filter((c) => !c.ok);
      expect(failing.map((c) => c.name)).toEqual(expect.arrayContaining(["listening on :443", "haproxy runs the configuration on disk", "HTTPS on :443"]));
      expect(failing.find((c) => c.name === "haproxy runs the configuration on disk")!.found).toMatch(/cannot bind socket/);
      // The plan offers the reload again, with the reason.
      const steps = plan.hosts[0]!.steps;
      expect(steps.map((s) => s.summary)).toEqual(["reload haproxy"]);
      expect(steps[0]!.reason).toMatch(/haproxy runs a configuration older than \/etc\/haproxy\//);
    } finally {
      await labSsh("lab1", ["sh", "-c", "systemctl stop rampart-test-grab.path rampart-test-grab.service; rm -f /run/systemd/system/rampart-test-grab.*; systemctl daemon-reload"]);
    }
    const { run, done } = await apply();
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    expect(curl()).toMatch(/app on lab[23], through web server lab[23]/);
  });

  it("one web server cut off the network: the others converge and the run ends partially applied within 30 s, naming it; draining it works while it is down", async () => {
    // Every packet to and from lab3 is dropped (a black hole, the slow kind of unreachable).
    nft("lab3", "table inet rampart_test_cut {\n chain in { type filter hook input priority -300; policy drop; }\n chain out { type filter hook output priority -300; policy drop; }\n}\n");
    try {
      const t = await getTopology(db, topologyId);
      await updateTopology(db, {
        id: topologyId,
        name: t.name,
        balance: "leastconn",
        rolloutBatchSize: 5,
        failureBudget: 0,
        members: t.members.map((m) => ({ serverId: m.serverId, roles: m.roles, monitoring: m.monitoring })),
      });
      const started = Date.now();
      const { run, done } = await apply();
      const took = Date.now() - started;
      const text = await eventsText(run.id);
      expect(done.status, text).toBe("partial");
      expect(took, text).toBeLessThan(30_000);
      expect(done.outcome).toMatch(/lab3 skipped \(unreachable: /);
      // While it waited, the run said it was still trying lab3, and for how long.
      expect(text).toMatch(/no answer yet from [\d.]+:22: still trying, for 10 s at most/);
      const plan = (await runPlan(db, run.id))!;
      expect(plan.hosts.map((h) => [h.name, h.outcome])).toEqual([
        ["lab1", "converged"],
        ["lab2", "converged"],
        ["lab3", "skipped"],
      ]);
      expect(plan.hosts[2]!.unreachable).toBe(true);
      expect((await labSsh("lab1", ["grep", "-c", "balance leastconn", HAPROXY_CONFIG])).stdout.trim()).toBe("1");
      // Until HAProxy's health checks mark lab3 down, a request may wait for its connect timeout, then go to lab2.
      expect(curl("/", 20)).toMatch(/app on lab2, through web server lab2/);

      // Drain the dead server: the load balancer changes while lab3 stays unreachable.
      const drain = await setDrained(deps(), caller, { id: topologyId, serverId: ids[2]!, drained: true });
      const dd = await finished(drain.id);
      expect(dd.status, await eventsText(drain.id)).toBe("partial");
      expect((await labSsh("lab1", ["grep", "server lab3", HAPROXY_CONFIG])).stdout).toMatch(/weight 0/);
    } finally {
      nft("lab3", "delete table inet rampart_test_cut\n");
    }
    const back = await setDrained(deps(), caller, { id: topologyId, serverId: ids[2]!, drained: false });
    const bd = await finished(back.id);
    expect(bd.status, await eventsText(back.id)).toBe("succeeded");
    expect((await labSsh("lab1", ["grep", "server lab3", HAPROXY_CONFIG])).stdout).not.toMatch(/weight 0/);
  });

  it("rolls out one web server first: when it fails, the others are not touched; a failure budget lets the rollout go on", async () => {
    // The same hand edit on both web servers, and an operator's broken include on lab2: its
    // nginx -t fails, so its step fails (and is rolled back).
    for (const h of ["lab2", "lab3"]) await labSsh(h, ["sed", "-i", "s/index index.html;/index index.html default.html;/", NGINX_SITE]);
    await labSsh("lab2", ["sh", "-c", "echo 'this is not nginx syntax' > /etc/nginx/conf.d/zz-broken.conf"]);
    try {
      const t = await getTopology(db, topologyId);
      const settings = (failureBudget: number) => ({
        id: topologyId,
        name: t.name,
        balance: t.balance,
        rolloutBatchSize: 1,
        failureBudget,
        members: t.members.map((m) => ({ serverId: m.serverId, roles: m.roles, monitoring: m.monitoring })),
      });
      await updateTopology(db, settings(0));
      const { run, done } = await apply();
      expect(done.status, await eventsText(run.id)).toBe("failed");
      expect(done.outcome).toMatch(/^rollout stopped: 1 host failed \(the failure budget is 0\): lab2: /);
      const plan = (await runPlan(db, run.id))!;
      expect(plan.hosts.map((h) => [h.name, h.outcome])).toEqual([
        ["lab1", "not-started"],
        ["lab2", "failed"],
        ["lab3", "not-started"],
      ]);
      expect((await labSsh("lab3", ["cat", NGINX_SITE])).stdout).toContain("default.html");

      await updateTopology(db, settings(1));
      const second = await apply();
      expect(second.done.status, await eventsText(second.run.id)).toBe("partial");
      const p2 = (await runPlan(db, second.run.id))!;
      expect(p2.hosts.map((h) => [h.name, h.outcome])).toEqual([
        ["lab1", "converged"],
        ["lab2", "failed"],
        ["lab3", "converged"],
      ]);
      expect((await labSsh("lab3", ["cat", NGINX_SITE])).stdout).not.toContain("default.html");
    } finally {
      await labSsh("lab2", ["rm", "-f", "/etc/nginx/conf.d/zz-broken.conf"]);
    }
    const { run, done } = await apply();
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
  });

  it("an operation applies under the host locks it already holds; without them it is refused, and a separate apply waits", async () => {
    // The operation's side, in this process, as an operation phase would call it.
    // Its row names no topology, so the separate apply below is not refused as a conflict: it has to wait for the locks.
    const op = await db.run.create({ data: { kind: "sample-operation", input: "{}", requestedBy: "tester", status: "running" } });
    const redisClient = new Redis(redis.url, { maxRetriesPerRequest: null });
    const executor = new SshExecutor();
    const reporter = await RunReporter.open(db, redisClient, op.id);
    const ctx = {
      runId: op.id,
      requestedBy: "tester",
      input: {},
      reporter,
      db,
      redis: redisClient,
      queue,
      env: loadEnv({ DATA_DIR: dir, DATABASE_URL: dbUrl, REDIS_URL: redis.url }),
      executor,
      box: new SecretBox(loadMasterKey({ dataDir: dir, create: false })),
      signal: new AbortController().signal,
      resumed: false,
      journal: new RunJournal(db, reporter, op.id),
      confirmation: null,
    };
    try {
      const servers = lab.hosts.map((h, i) => ({ id: ids[i]!, name: h.name }));
      const someone = { lost: new AbortController().signal, release: async () => {} };
      expect(await applyUnderHeldLocks(ctx, someone, topologyId)).toMatchObject({ status: "failed", outcome: expect.stringMatching(/^this run does not hold the lock of lab1, lab2, lab3/) });

      const held = await acquireHostLocks(redisClient, op.id, servers, { waitMs: 5000 });
      try {
        // An apply asked for meanwhile waits for the operation's locks.
        const other = await applyTopologyRun(deps(), caller, topologyId);
        await waitUntil(async () => (await events(other.id)).find((e) => /waiting for run .* to finish with this host/.test(e.text)), 30_000, "the other apply to wait for the locks");
        const result = await applyUnderHeldLocks(ctx, held, topologyId);
        expect(result, await eventsText(op.id)).toMatchObject({ status: "succeeded" });
        expect(result.outcome).toMatch(/every host (already )?matches the topology and passes its checks/);
        expect((await db.run.findUniqueOrThrow({ where: { id: other.id } })).status).toBe("running");
        await held.release();
        expect((await finished(other.id)).status).toBe("succeeded");
      } finally {
        await held.release();
      }
    } finally {
      await db.run.update({ where: { id: op.id }, data: { status: "succeeded", finishedAt: new Date() } });
      await executor.close();
      redisClient.disconnect();
    }
  });

  it("a strict apply changes nothing while a host is unreachable", async () => {
    nft("lab3", "table inet rampart_test_cut {\n chain in { type filter hook input priority -300; policy drop; }\n chain out { type filter hook output priority -300; policy drop; }\n}\n");
    try {
      const t = await getTopology(db, topologyId);
      await updateTopology(db, {
        id: topologyId,
        name: t.name,
        balance: "roundrobin",
        rolloutBatchSize: 5,
        failureBudget: 0,
        members: t.members.map((m) => ({ serverId: m.serverId, roles: m.roles, monitoring: m.monitoring })),
      });
      const run = await applyTopologyRun(deps(), caller, topologyId, { strict: true });
      const done = await finished(run.id);
      expect(done.status).toBe("failed");
      expect(done.outcome).toMatch(/^nothing was changed \(strict apply\): lab3 unreachable/);
      expect((await labSsh("lab1", ["grep", "-c", "balance leastconn", HAPROXY_CONFIG])).stdout.trim()).toBe("1");
    } finally {
      nft("lab3", "delete table inet rampart_test_cut\n");
    }
  });
});
