// The monitoring client on the lab (issue 15): Debian's node exporter on every
// monitored server, on the server's own address, over TLS with a certificate from
// Rampart's CA, answering only Rampart's collector certificate; its port open to the
// control plane only. One server starts with the exporter already installed and
// running with Debian's defaults (every address, no TLS), as servers come.
import { execFileSync, spawnSync } from "node:child_process";
import https from "node:https";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { ensureLab, labSsh, type LabInfo } from "@/e2e/lab/fixture";
import type { Db } from "@/server/db";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology, planTopologyRun } from "@/server/services/topologies";
import { caCertificate, ensureCa, ensureCollectorCert } from "@/server/services/certificates";
import { TopologyInput } from "@/server/schemas/topology";
import { NODE_EXPORTER_DEFAULTS } from "@/server/provision/roles";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";
import { startPrometheus, type TestPrometheus } from "../support/prometheus";
import { prometheusDir, serverMonitoring, topologyMonitoring } from "@/server/services/monitoring";

let lab: LabInfo;
let db: Db;
let dir: string;
let redis: TestRedis;
let queue: Queue<RunJobData>;
let worker: WorkerProcess;
let prometheus: TestPrometheus;
let box: SecretBox;
let topologyId: string;
const files = { ca: "", cert: "", key: "" };
const caller = { name: "tester@example.test" };
const web = () => lab.hosts[1]!;

async function finished(runId: string) {
  return waitUntil(
    async () => {
      const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
      return r.status !== "queued" && r.status !== "running" ? r : null;
    },
    300_000,
    `run ${runId}`,
  );
}
const eventsText = async (runId: string) => (await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } })).map((e) => `${e.host ?? "-"}: ${e.text}`).join("\n");

async function applied() {
  const run = await applyTopologyRun({ db, queue }, caller, topologyId);
  const r = await finished(run.id);
  if (r.status !== "succeeded") throw new Error(`run ${r.status}: ${r.outcome}\n${(await eventsText(run.id)).slice(-6000)}`);
  return { run: r, events: await eventsText(run.id) };
}

/** curl from the control plane (this test's namespace), as Prometheus scrapes. */
const scrape = (address: string, extra: string[], port = 9100) =>
  spawnSync("curl", ["-sS", "--max-time", "5", "--cacert", files.ca, ...extra, `https://${address}:${port}/metrics`], { encoding: "utf8" });

beforeAll(async () => {
  const info = await ensureLab(2);
  lab = { ...info, hosts: info.hosts.slice(0, 2) };
  redis = await startRedis();
  let url: string;
  ({ db, dir, url } = await createTestDb());
  box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  // Prometheus first, as `npm start` does: its scrape job for the servers cannot start until the
  // worker has written the collector's certificate, and then reloads it.
  prometheus = await startPrometheus(prometheusDir(dir));
  worker = startWorker({ DATA_DIR: dir, DATABASE_URL: url, REDIS_URL: redis.url, DRIFT_CHECK_INTERVAL_S: "0", PROMETHEUS_URL: prometheus.url });
  const ids = await registerFreshLabHosts(db, box, lab, lab.hosts);
  topologyId = (
    await createTopology(
      db,
      TopologyInput.parse({
        name: "metrics.test",
        members: [
          { serverId: ids[0], roles: ["load-balancer"] },
          { serverId: ids[1], roles: ["web", "app"] },
        ],
      }),
    )
  ).id;
  files.ca = path.join(dir, "ca.pem");
  writeFileSync(files.ca, (await caCertificate(db, box)).certPem);
}, 600_000);

afterAll(async () => {
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await prometheus?.stop();
  await queue?.close();
  await db?.$disconnect();
  await redis?.stop();
});

describe("the monitoring client on the lab", () => {
  it("takes over an exporter already running with Debian's defaults: TLS on the server's address, Rampart's client certificate required, the port open to the control plane only", async () => {
    // As servers come: the exporter installed by hand, serving plain HTTP on every address.
    await labSsh(web().name, [
      "sh",
      "-c",
      "export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/dev/null && apt-get -q -y install --no-install-recommends prometheus-node-exporter >/dev/null && systemctl is-active prometheus-node-exporter",
    ]);
    await waitUntil(
      async () => spawnSync("curl", ["-sS", "--max-time", "3", `http://${web().address}:9100/metrics`], { encoding: "utf8" }).stdout.includes("node_cpu_seconds_total"),
      20_000,
      "the stock exporter",
    );

    const { events } = await applied();
    for (const h of lab.hosts) expect(events).toMatch(new RegExp(`${h.name}: check passed: node exporter on :9100: answered with node_cpu_seconds_total; a client without a certificate was refused`));
    expect(events).toMatch(/lab1: check passed: haproxy exporter on :8405: answered with haproxy_frontend_http_requests_total; a client without a certificate was refused/);
    expect(events).toMatch(/lab2: check passed: nginx exporter on :9114: answered with nginx_http_requests_total; a client without a certificate was refused/);

    // Rampart's collector certificate (what Prometheus presents) gets the metrics, over TLS verified by Rampart's CA.
    const collector = await ensureCollectorCert(db, box, await ensureCa(db, box));
    files.cert = path.join(dir, "collector.pem");
    files.key = path.join(dir, "collector.key");
    writeFileSync(files.cert, collector.certPem);
    writeFileSync(files.key, collector.keyPem, { mode: 0o600 });
    const exporters: Array<[string, number, string]> = [
      [lab.hosts[0]!.address, 9100, "node_cpu_seconds_total"],
      [web().address, 9100, "node_cpu_seconds_total"],
      [lab.hosts[0]!.address, 8405, "haproxy_frontend_http_requests_total"], // HAProxy's own exporter
      [web().address, 9114, "nginx_http_requests_total"], // the nginx exporter, through nginx's TLS front
    ];
    for (const [address, port, metric] of exporters) {
      const ok = scrape(address, ["--cert", files.cert, "--key", files.key], port);
      expect(ok.status, `${address}:${port} ${ok.stderr}`).toBe(0);
      expect(ok.stdout).toMatch(new RegExp(`^${metric}[{ ]`, "m"));
      // Without a client certificate: refused, no metrics.
      const anon = scrape(address, [], port);
      expect(anon.stdout).not.toContain(metric);
      // Plain HTTP: no metrics either.
      const plain = spawnSync("curl", ["-sS", "--max-time", "3", `http://${address}:${port}/metrics`], { encoding: "utf8" });
      expect(plain.stdout).not.toContain(metric);
    }
    // The nginx exporter and nginx's stub_status themselves are on loopback only.
    const ssWeb = (await labSsh(web().name, ["ss", "-Htln"])).stdout;
    expect(ssWeb).toMatch(/127\.0\.0\.1:9113 /);
    expect(ssWeb).toMatch(/127\.0\.0\.1:8081 /);
    expect(ssWeb).not.toMatch(/(0\.0\.0\.0|\*|\[::\]):(9113|8081) /);
    for (const h of lab.hosts) {
      // On the server's own address only (not loopback, not every address).
      const ss = (await labSsh(h.name, ["ss", "-Htln", "sport", "= :9100"])).stdout.trim().split("\n");
      expect(ss).toHaveLength(1);
      expect(ss[0]).toContain(`${h.address}:9100`);
      // The key is readable by the exporter's group only.
      expect((await labSsh(h.name, ["stat", "-c", "%a %U:%G", "/etc/rampart/tls/exporter.key"])).stdout.trim()).toBe("640 root:prometheus");
    }

    // The firewall: another server of the topology (not a monitoring source) cannot reach the port at all.
    for (const port of [9100, 9114]) {
      const fromPeer = await labSsh(lab.hosts[0]!.name, ["curl", "-sk", "--max-time", "3", "-o", "/dev/null", `https://${web().address}:${port}/metrics`], { check: false });
      expect(fromPeer.code, `lab1 → lab2:${port}`).toBe(28); // dropped (a timeout), not a TLS refusal
    }
    // The reachability matrix recorded by the apply says the same.
    const t = await db.topology.findUniqueOrThrow({ where: { id: topologyId } });
    const cells = (JSON.parse(t.reachability!) as { cells: Array<{ from: string; toName: string; port: number; expected: string; observed: string | null; ok: boolean }> }).cells.filter(
      (c) => c.port === 9100 && c.toName === web().name,
    );
    expect(cells.map((c) => [c.from === "control-plane" ? "control plane" : "peer", c.expected, c.observed, c.ok]).sort()).toEqual([
      ["control plane", "open", "open", true],
      ["peer", "filtered", "filtered", true],
    ]);
  });

  it("Prometheus scrapes every monitored server with Rampart's collector certificate, labelled with its server, topology and roles", async () => {
    // The worker writes the targets of applied topologies within a few seconds.
    const targets = await waitUntil(
      async () => {
        const t = (await prometheus.targets()).filter((x) => x.labels.job === "servers");
        return t.length === 4 && t.every((x) => x.health === "up") ? t : null;
      },
      60_000,
      `every exporter scraped (${prometheus.output().slice(-2000)})`,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\ntargets: ${JSON.stringify(await prometheus.targets())}\nworker: ${worker.output().slice(-2000)}`);
    });
    expect(targets.map((t) => `${t.labels.instance} ${t.labels.exporter}`).sort()).toEqual(["lab1 haproxy", "lab1 node", "lab2 nginx", "lab2 node"]);
    expect(targets.find((t) => t.labels.instance === "lab2")!.labels).toMatchObject({ topology: "metrics.test", roles: ",web,app," });
    const load = await waitUntil(
      async () => {
        const r = await prometheus.query('node_load1{topology="metrics.test"}');
        return r.length === 2 ? r : null;
      },
      30_000,
      "node_load1 from both servers",
    );
    expect(load.map((r) => r.metric.server).sort()).toEqual(["lab1", "lab2"]);
    expect(worker.output()).toMatch(/monitoring: 4 exporter\(s\) to scrape/);
  });

  it("under a load of known rate through the load balancer, the QPS views agree with it within 10 %", async () => {
    const RATE = 40; // requests per second, each on a new TLS connection
    const SECONDS = 75;
    let ok = 0;
    let failed = 0;
    const one = () =>
      new Promise<void>((resolve) => {
        const req = https.request(
          { host: lab.hosts[0]!.address, port: 443, servername: "metrics.test", path: "/", ca: readFileSync(files.ca), agent: false, headers: { host: "metrics.test" }, timeout: 5000 },
          (res) => {
            res.resume();
            res.on("end", () => {
              if (res.statusCode === 200) ok++;
              else failed++;
              resolve();
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => {
          failed++;
          resolve();
        });
        req.end();
      });
    const started = Date.now();
    const pending: Array<Promise<void>> = [];
    await new Promise<void>((resolve) => {
      let sent = 0;
      const timer = setInterval(() => {
        // Fixed rate: as many requests as the clock says are due.
        const due = Math.floor(((Date.now() - started) / 1000) * RATE);
        while (sent < due) {
          pending.push(one());
          sent++;
        }
        if (Date.now() - started >= SECONDS * 1000) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    await Promise.all(pending);
    const loadEnd = new Date();
    expect(failed).toBe(0);
    const measured = ok / ((loadEnd.getTime() - started) / 1000);
    // The views a minute before the end of the load (their rate window lies inside it).
    const at = new Date(loadEnd.getTime() - 5_000);
    await new Promise((r) => setTimeout(r, 4_000)); // the last scrapes of that minute are in
    const view = await topologyMonitoring(db, prometheus.url, { id: topologyId, rangeS: 900, end: at });
    expect(view.error).toBeNull();
    const last = (id: string) => Object.fromEntries(view.charts.find((c) => c.id === id)!.series.map((s) => [s.name, s.points.at(-1)?.[1] ?? NaN]));
    const lb = last("lb-qps");
    const web = last("web-qps");
    const backends = last("backend-qps");
    console.log(`load ${measured.toFixed(2)} req/s; load balancer ${JSON.stringify(lb)}; web servers ${JSON.stringify(web)}; backends ${JSON.stringify(backends)}`);
    expect(Math.abs(lb.lab1! - measured) / measured).toBeLessThan(0.1);
    const webSum = Object.values(web).reduce((a, b) => a + b, 0);
    expect(Math.abs(webSum - measured) / measured).toBeLessThan(0.1);
    expect(Math.abs(backends.lab2! - measured) / measured).toBeLessThan(0.1);
    // Every exporter reads up; CPU, memory and disk have a line per server; the apply is a marker.
    expect(view.servers.flatMap((s) => s.exporters.map((e) => `${s.name} ${e.name} ${e.up}`))).toEqual(["lab1 node true", "lab1 haproxy true", "lab2 node true", "lab2 nginx true"]);
    expect(view.charts.find((c) => c.id === "latency")!.series.map((s) => s.name)).toEqual(["lab2"]);
    for (const id of ["cpu", "memory", "disk", "load"]) expect(view.charts.find((c) => c.id === id)!.series.map((s) => s.name)).toEqual(["lab1", "lab2"]);
    expect(view.markers.filter((m) => m.kind === "apply").length).toBeGreaterThanOrEqual(1);
    expect(view.servers.map((s) => `${s.name} ${s.health.state}`)).toEqual(["lab1 healthy", "lab2 healthy"]);
    // The web server's own page: its QPS alone, the same figure.
    const web2 = view.servers.find((s) => s.name === "lab2")!;
    const own = (await serverMonitoring(db, prometheus.url, { id: web2.serverId, rangeS: 900, end: at }))!;
    expect(own.charts.map((c) => c.id)).toEqual(["web-qps", "cpu", "memory", "disk", "load"]);
    const ownQps = own.charts[0]!.series.map((s) => [s.name, s.points.at(-1)?.[1]]);
    expect(ownQps).toEqual([["lab2", web.lab2]]);
  }, 180_000);

  it("a second apply plans nothing; a hand edit of the exporter's arguments is drift, put right by an apply", async () => {
    const plan = await planTopologyRun({ db, queue }, caller, topologyId);
    const p = await finished(plan.id);
    expect(p.status).toBe("succeeded");
    expect(p.outcome).toMatch(/no changes/);

    await labSsh(web().name, ["sh", "-c", 'printf \'ARGS=""\\n\' > "$1" && systemctl restart prometheus-node-exporter', "rampart-test", NODE_EXPORTER_DEFAULTS]);
    await waitUntil(async () => scrape(web().address, ["--cert", files.cert, "--key", files.key]).status !== 0, 10_000, "the exporter to lose its TLS");
    const drift = await planTopologyRun({ db, queue }, caller, topologyId);
    expect((await finished(drift.id)).status).toBe("succeeded");
    const events = await eventsText(drift.id);
    expect(events).toMatch(/check failed: node exporter on :9100/);
    const { events: fixed } = await applied();
    expect(fixed).toMatch(/restart prometheus-node-exporter/);
    const ok = scrape(web().address, ["--cert", files.cert, "--key", files.key]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", files.ca, "--cert", files.cert, "--key", files.key, `https://${web().address}:9100/metrics`], { encoding: "utf8" })).toContain(
      "node_cpu_seconds_total",
    );
  });
});
