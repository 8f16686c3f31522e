// Monitoring benchmark (issue 15). Prints:
//  - the idle memory (RSS) of the whole control plane as `npm start` runs it — the
//    console, the worker, Redis, Prometheus and Alertmanager — with a 3-host topology
//    applied and monitored on the lab (every exporter scraped every 15 s) (target < 600 MB);
//  - the node exporter's CPU on a lab host at the default interval, over a minute (target < 2 %).
// Run: bash bench/monitoring.sh (needs root: it brings the lab up and resets its hosts).
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { Queue } from "bullmq";
import { ensureLab, labSsh } from "@/e2e/lab/fixture";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology } from "@/server/services/topologies";
import { TopologyInput } from "@/server/schemas/topology";
import { createTestDb } from "@/tests/support/test-db";
import { freePort } from "@/tests/support/redis-server";
import { waitUntil } from "@/tests/support/processes";
import { registerFreshLabHosts } from "@/tests/support/lab-hosts";

const IDLE_S = Number(process.env.BENCH_IDLE_S || 90);

/** Every descendant of `pid` with its command name and RSS (kB). */
function tree(pid: number): Array<{ pid: number; comm: string; args: string; rssKb: number }> {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone
    }
  }
  const out: Array<{ pid: number; comm: string; args: string; rssKb: number }> = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      try {
        const status = readFileSync(`/proc/${c}/status`, "utf8");
        const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        out.push({ pid: c, comm: readFileSync(`/proc/${c}/comm`, "utf8").trim(), args: readFileSync(`/proc/${c}/cmdline`, "utf8").replace(/\0/g, " ").trim(), rssKb });
      } catch {
        // gone
      }
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function role(p: { comm: string; args: string }): string | null {
  if (p.args.includes("dist/worker.mjs")) return "worker";
  if (p.args.includes("web-server.mjs")) return "console";
  if (p.comm === "redis-server") return "Redis";
  if (p.comm === "prometheus") return "Prometheus";
  if (p.comm.startsWith("prometheus-aler") || p.args.includes("prometheus-alertmanager")) return "Alertmanager";
  return null;
}

async function main() {
  const lab = await ensureLab(3);
  const hosts = lab.hosts.slice(0, 3);
  const { db, dir, url } = await createTestDb({ sqlite: true });
  const box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  const ids = await registerFreshLabHosts(db, box, lab, hosts);
  const topology = await createTopology(
    db,
    TopologyInput.parse({
      name: "www.bench.test",
      members: [
        { serverId: ids[0], roles: ["load-balancer"] },
        { serverId: ids[1], roles: ["web", "app"] },
        { serverId: ids[2], roles: ["web", "app"] },
      ],
    }),
  );
  const ports = { PORT: await freePort(), REDIS_PORT: await freePort(), PROMETHEUS_PORT: await freePort(), ALERTMANAGER_PORT: await freePort() };
  // npm start as a user runs it (its own Redis, Prometheus and Alertmanager), on this database.
  const child = spawn("bash", ["scripts/start.sh"], {
    env: { ...process.env, DATA_DIR: dir, DATABASE_URL: url, REDIS_URL: "", DRIFT_CHECK_INTERVAL_S: "0", ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  try {
    await waitUntil(async () => out.includes("Rampart is up at") || child.exitCode !== null, 300_000, "Rampart to start");
    if (child.exitCode !== null) throw new Error(`npm start exited:\n${out}`);
    const redisPassword = readFileSync(`${dir}/redis/password`, "utf8").trim();
    const queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(`redis://:${redisPassword}@127.0.0.1:${ports.REDIS_PORT}`, "producer") });
    const t0 = Date.now();
    const run = await applyTopologyRun({ db, queue }, { name: "bench" }, topology.id);
    const done = await waitUntil(
      async () => {
        const r = await db.run.findUniqueOrThrow({ where: { id: run.id } });
        return r.status !== "queued" && r.status !== "running" ? r : null;
      },
      600_000,
      "the apply",
    );
    if (done.status !== "succeeded") throw new Error(`the apply ${done.status}: ${done.outcome}`);
    console.log(`  apply of the 3-host topology with monitoring: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await queue.close();
    // Every exporter scraped.
    await waitUntil(
      async () => {
        const res = await fetch(`http://127.0.0.1:${ports.PROMETHEUS_PORT}/api/v1/targets?state=active`);
        const t = ((await res.json()) as { data: { activeTargets: Array<{ labels: Record<string, string>; health: string }> } }).data.activeTargets.filter((x) => x.labels.job === "servers");
        return t.length === 6 && t.every((x) => x.health === "up");
      },
      120_000,
      "Prometheus to scrape the 6 exporters",
    );
    // The node exporter's CPU on lab2 while idle, from its own /proc (clock ticks), over the idle period.
    const ticks = async () => {
      const r = await labSsh(hosts[1]!.name, ["sh", "-c", 'p=$(systemctl show -p MainPID --value prometheus-node-exporter); cut -d" " -f14,15 /proc/$p/stat; getconf CLK_TCK']);
      const [times, hz] = r.stdout.trim().split("\n");
      const [u, s] = times!.split(" ").map(Number);
      return { ticks: u! + s!, hz: Number(hz), at: Date.now() };
    };
    const before = await ticks();
    console.log(`  idle for ${IDLE_S} s…`);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const after = await ticks();
    const cpu = (after.ticks - before.ticks) / before.hz / ((after.at - before.at) / 1000);
    const procs = tree(child.pid!)
      .map((p) => ({ ...p, role: role(p) }))
      .filter((p) => p.role);
    const byRole = new Map<string, number>();
    for (const p of procs) byRole.set(p.role!, (byRole.get(p.role!) ?? 0) + p.rssKb);
    const total = [...byRole.values()].reduce((a, b) => a + b, 0);
    for (const [r, kb] of [...byRole].sort((a, b) => b[1] - a[1])) console.log(`  ${r.padEnd(13)} ${(kb / 1024).toFixed(0).padStart(5)} MB`);
    console.log(`  control plane idle RSS, 3 hosts monitored (6 exporters): ${(total / 1024).toFixed(0)} MB (target < 600 MB)`);
    console.log(`  node exporter CPU on ${hosts[1]!.name} at the default 15 s interval: ${(cpu * 100).toFixed(2)} % of one core (target < 2 %)`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await db.$disconnect();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
