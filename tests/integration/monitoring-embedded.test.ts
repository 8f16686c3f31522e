// npm start runs Prometheus and Alertmanager itself (issue 15's embedded default):
// on loopback only, data in DATA_DIR/prometheus, Prometheus scraping Rampart's own
// /metrics with its own token and sending alerts to the Alertmanager; they stop with
// Rampart. With PROMETHEUS_URL set, none is started.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../support/redis-server";
import { waitUntil } from "../support/processes";

const started: Array<{ kill: () => void; exited: Promise<number | null> }> = [];
afterAll(async () => {
  for (const p of started) p.kill();
  await Promise.all(started.map((p) => p.exited));
});

async function npmStart(env: Record<string, string>) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "rampart-mon-"));
  const child = spawn("bash", ["scripts/start.sh"], { env: { ...process.env, DATA_DIR: dataDir, REDIS_URL: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  started.push({ kill: () => child.kill("SIGTERM"), exited });
  await waitUntil(async () => out.includes("First run: create the first admin") || child.exitCode !== null, 240_000, "Rampart to start");
  if (child.exitCode !== null) throw new Error(`npm start exited:\n${out}`);
  return { child, dataDir, exited, out: () => out };
}

/** Listening TCP sockets: local address:port and the owning process's pid. */
function listening(): Array<{ local: string; port: number; pid: number | null }> {
  return execFileSync("ss", ["-ltnpH"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const local = f[3]!;
      return { local, port: Number(local.slice(local.lastIndexOf(":") + 1)), pid: Number(/pid=(\d+)/.exec(l)?.[1]) || null };
    });
}
const comm = (pid: number) => execFileSync("cat", [`/proc/${pid}/comm`], { encoding: "utf8" }).trim();

async function query(promPort: number, q: string): Promise<number | null> {
  const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
  const v = body.data?.result?.[0]?.value?.[1];
  return v === undefined ? null : Number(v);
}

describe("the embedded Prometheus and Alertmanager", () => {
  it("run on loopback with their data in DATA_DIR; Prometheus scrapes Rampart's /metrics and knows the Alertmanager; both stop with Rampart", async () => {
    const ports = { PORT: await freePort(), REDIS_PORT: await freePort(), PROMETHEUS_PORT: await freePort(), ALERTMANAGER_PORT: await freePort() };
    const r = await npmStart(Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])));
    const mine = listening().filter((s) => s.pid && comm(s.pid).startsWith("prometheus") && [ports.PROMETHEUS_PORT, ports.ALERTMANAGER_PORT].includes(s.port));
    expect(mine.map((s) => s.local).sort()).toEqual([`127.0.0.1:${ports.ALERTMANAGER_PORT}`, `127.0.0.1:${ports.PROMETHEUS_PORT}`].sort());
    const pids = [...new Set(mine.map((s) => s.pid!))];
    // Nothing of theirs listens anywhere but loopback (Alertmanager's cluster port is off).
    const theirs = listening().filter((s) => s.pid && pids.includes(s.pid));
    expect(theirs.filter((s) => !s.local.startsWith("127.0.0.1:"))).toEqual([]);
    expect(existsSync(path.join(r.dataDir, "prometheus", "data", "wal"))).toBe(true);
    // Prometheus scrapes Rampart with its own token: the job is up, and Rampart's metrics are in.
    await waitUntil(async () => (await query(ports.PROMETHEUS_PORT, 'up{job="rampart"}')) === 1, 60_000, "Prometheus to scrape Rampart's /metrics");
    await waitUntil(async () => ((await query(ports.PROMETHEUS_PORT, "rampart_workers")) ?? 0) >= 1, 30_000, "rampart_workers in Prometheus");
    const ams = (await (await fetch(`http://127.0.0.1:${ports.PROMETHEUS_PORT}/api/v1/alertmanagers`)).json()) as { data: { activeAlertmanagers: Array<{ url: string }> } };
    expect(ams.data.activeAlertmanagers.map((a) => a.url)).toEqual([`http://127.0.0.1:${ports.ALERTMANAGER_PORT}/api/v2/alerts`]);
    // The default alerting rules are loaded (the worker writes them and reloads Prometheus); Alertmanager sends to Rampart, which refuses anyone else.
    const ruleNames = async () => {
      const rules = (await (await fetch(`http://127.0.0.1:${ports.PROMETHEUS_PORT}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; rules: Array<{ name: string }> }> } };
      return rules.data.groups.flatMap((g) => g.rules.map((x) => x.name)).join(",");
    };
    await waitUntil(async () => (await ruleNames()) !== "", 30_000, "the alerting rules in Prometheus");
    expect((await ruleNames()).split(",")).toEqual([
      "HostDown",
      "WebServerDown",
      "High5xxRatio",
      "ReplicationBroken",
      "ReplicaLagHigh",
      "DiskAlmostFull",
      "CertificateExpiring",
      "CertificateRenewalFailing",
    ]);
    const amStatus = (await (await fetch(`http://127.0.0.1:${ports.ALERTMANAGER_PORT}/api/v2/status`)).json()) as { config: { original: string } };
    expect(amStatus.config.original).toContain(`http://127.0.0.1:${ports.PORT}/api/alertmanager`);
    const forged = await fetch(`http://127.0.0.1:${ports.PORT}/api/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ version: "4", status: "firing", alerts: [] }),
    });
    expect(forged.status).toBe(401);
    // Without the token, /metrics refuses.
    expect((await fetch(`http://127.0.0.1:${ports.PORT}/metrics`)).status).toBe(401);

    r.child.kill("SIGTERM");
    expect(await r.exited).toBe(0);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it("with PROMETHEUS_URL set, starts neither", async () => {
    const promPort = await freePort();
    const r = await npmStart({
      PORT: String(await freePort()),
      REDIS_PORT: String(await freePort()),
      PROMETHEUS_PORT: String(promPort),
      ALERTMANAGER_PORT: String(await freePort()),
      PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(listening().filter((s) => s.port === promPort)).toEqual([]);
    // No Prometheus of its own (no configuration, no data); the worker still writes what an outside
    // Prometheus on this machine may read: the servers to scrape and the collector's certificate.
    expect(existsSync(path.join(r.dataDir, "prometheus", "prometheus.yml"))).toBe(false);
    expect(existsSync(path.join(r.dataDir, "prometheus", "data"))).toBe(false);
    await waitUntil(async () => existsSync(path.join(r.dataDir, "prometheus", "targets", "servers.json")), 20_000, "the worker to write the scrape targets");
    expect(existsSync(path.join(r.dataDir, "prometheus", "tls", "collector.key"))).toBe(true);
    r.child.kill("SIGTERM");
    expect(await r.exited).toBe(0);
  });
});
