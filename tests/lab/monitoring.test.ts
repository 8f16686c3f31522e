// The monitoring client on the lab (issue 15): Debian's node exporter on every
// monitored server, on the server's own address, over TLS with a certificate from
// Rampart's CA, answering only Rampart's collector certificate; its port open to the
// control plane only. One server starts with the exporter already installed and
// running with Debian's defaults (every address, no TLS), as servers come.
import { execFileSync, spawnSync } from "node:child_process";
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
import { applyTopologyRun, createTopology, planTopologyRun } from "@/server/services/topologies";
import { caCertificate, ensureCa, ensureCollectorCert } from "@/server/services/certificates";
import { TopologyInput } from "@/server/schemas/topology";
import { NODE_EXPORTER_DEFAULTS } from "@/server/provision/roles";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";
import { startPrometheus, type TestPrometheus } from "../support/prometheus";
import { prometheusDir } from "@/server/services/monitoring";

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
const scrape = (address: string, extra: string[]) => spawnSync("curl", ["-sS", "--max-time", "5", "--cacert", files.ca, ...extra, `https://${address}:9100/metrics`], { encoding: "utf8" });

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

    // Rampart's collector certificate (what Prometheus presents) gets the metrics, over TLS verified by Rampart's CA.
    const collector = await ensureCollectorCert(db, box, await ensureCa(db, box));
    files.cert = path.join(dir, "collector.pem");
    files.key = path.join(dir, "collector.key");
    writeFileSync(files.cert, collector.certPem);
    writeFileSync(files.key, collector.keyPem, { mode: 0o600 });
    for (const h of lab.hosts) {
      const ok = scrape(h.address, ["--cert", files.cert, "--key", files.key]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^node_cpu_seconds_total\{/m);
      // Without a client certificate: refused in the TLS handshake, no metrics.
      const anon = scrape(h.address, []);
      expect(anon.status).not.toBe(0);
      expect(anon.stdout).not.toContain("node_cpu_seconds_total");
      // Plain HTTP: no metrics either.
      const plain = spawnSync("curl", ["-sS", "--max-time", "3", `http://${h.address}:9100/metrics`], { encoding: "utf8" });
      expect(plain.stdout).not.toContain("node_cpu_seconds_total");
      // On the server's own address only (not loopback, not every address).
      const ss = (await labSsh(h.name, ["ss", "-Htln", "sport", "= :9100"])).stdout.trim().split("\n");
      expect(ss).toHaveLength(1);
      expect(ss[0]).toContain(`${h.address}:9100`);
      // The key is readable by the exporter's group only.
      expect((await labSsh(h.name, ["stat", "-c", "%a %U:%G", "/etc/rampart/tls/exporter.key"])).stdout.trim()).toBe("640 root:prometheus");
    }

    // The firewall: another server of the topology (not a monitoring source) cannot reach the port at all.
    const fromPeer = await labSsh(lab.hosts[0]!.name, ["sh", "-c", `curl -sk --max-time 3 -o /dev/null https://${web().address}:9100/metrics; echo "exit $?"`], { check: false });
    expect(fromPeer.stdout.trim()).toBe("exit 28"); // dropped (a timeout), not a TLS refusal
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
        return t.length === 2 && t.every((x) => x.health === "up") ? t : null;
      },
      60_000,
      `both servers scraped (${prometheus.output().slice(-2000)})`,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}\ntargets: ${JSON.stringify(await prometheus.targets())}\nworker: ${worker.output().slice(-2000)}`);
    });
    expect(targets.map((t) => t.labels.instance).sort()).toEqual(["lab1", "lab2"]);
    expect(targets.find((t) => t.labels.instance === "lab2")!.labels).toMatchObject({ exporter: "node", topology: "metrics.test", roles: ",web,app," });
    const load = await waitUntil(
      async () => {
        const r = await prometheus.query('node_load1{topology="metrics.test"}');
        return r.length === 2 ? r : null;
      },
      30_000,
      "node_load1 from both servers",
    );
    expect(load.map((r) => r.metric.server).sort()).toEqual(["lab1", "lab2"]);
    expect(worker.output()).toMatch(/monitoring: 2 exporter\(s\) to scrape/);
  });

  it("a second apply plans nothing; a hand edit of the exporter's arguments is drift, put right by an apply", async () => {
    const plan = await planTopologyRun({ db, queue }, caller, topologyId);
    const p = await finished(plan.id);
    expect(p.status).toBe("succeeded");
    expect(p.outcome).toMatch(/no changes/);

    await labSsh(web().name, ["sh", "-c", `printf 'ARGS=""\\n' > ${NODE_EXPORTER_DEFAULTS} && systemctl restart prometheus-node-exporter`]);
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
