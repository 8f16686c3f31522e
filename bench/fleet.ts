// Fleet benchmark (issue 17): the real control plane against 100 and 1,000
// simulated hosts on this machine. Real SSH (ssh2 servers, one per host, each on
// its own loopback address, several sim processes), the real worker process
// (dist/worker.mjs), BullMQ on a real Redis, a real PostgreSQL (fleet.sh starts
// one; SQLite if TEST_DATABASE_URL is not set), the run's event stream followed by
// a separate process as the console would. For each fleet size it prints:
//  - the cold apply (fresh Debian hosts; every event stored, counted in the database);
//  - the no-op apply (the converged fleet applied again, every check included);
//  - events stored per second during each apply, and a direct burst of RunReporter;
//  - the worker's peak memory (VmHWM) and CPU, the follower's lag and memory, the
//    sim processes' CPU; where each apply's time went (from its events).
// Speed targets are printed next to the figures, never asserted.
//
// Run: bash bench/fleet.sh [--sizes 100,1000] [--batch 100] [--noop-runs 3]
//        [--sim-procs N] [--burst 100000] [--cmd-latency MS] [--host-parallelism N]
//        [--cpu-prof] [--sqlite] [--lab]
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import os from "node:os";
import path from "node:path";
import { Queue } from "bullmq";
import ssh2 from "ssh2";
import type { Db } from "@/server/db";
import { parsePublicKeyLine, generateEd25519 } from "@/server/exec/keys";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { createRedis, redisOptions } from "@/server/queue/redis";
import { RunReporter } from "@/server/queue/run-events";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { importKey } from "@/server/services/ssh-keys";
import { applyTopologyRun, createTopology } from "@/server/services/topologies";
import { TopologyInput } from "@/server/schemas/topology";
import { startWorker, waitUntil, type WorkerProcess } from "@/tests/support/processes";
import { startRedis, type TestRedis } from "@/tests/support/redis-server";
import { createTestDb, testDbProvider } from "@/tests/support/test-db";
import type { SimConfig, SimReport } from "./fleet-sim/main";

const SIM_PORT = 2222;
const SITE = "www.fleet.test";

// ---- Options

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] && !process.argv[i + 1]!.startsWith("--") ? process.argv[i + 1]! : fallback;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const SIZES = option("sizes", "100,1000")
  .split(",")
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n >= 3 && n <= 1000);
const BATCH = Number(option("batch", "100"));
const NOOP_RUNS = Math.max(1, Number(option("noop-runs", "3")));
const BURST = Number(option("burst", "100000"));
const CPU_PROF = flag("cpu-prof");
/** Milliseconds each sim command waits before answering (0: as fast as the sim can). */
const CMD_LATENCY = Number(option("cmd-latency", "0"));
/** The worker's HOST_PARALLELISM (hosts observed, changed and checked at once); unset: the worker's default. */
const HOST_PARALLELISM = option("host-parallelism", "");

// ---- Processes this benchmark started: stopped even when it dies (Ctrl-C, a closed pipe)

const started = new Set<ChildProcess>();
const track = (c: ChildProcess) => {
  started.add(c);
  c.once("exit", () => started.delete(c));
  return c;
};
process.on("exit", () => {
  for (const c of started) c.kill("SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => process.exit(130));

// ---- /proc readings

const procStatus = (pid: number, field: string) => {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
/** CPU seconds (user + system) a process has used so far (with its children that exited and were waited for). */
const cpuSeconds = (pid: number, reapedChildren = false) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12]) + (reapedChildren ? Number(f[13]) + Number(f[14]) : 0)) / 100;
  } catch {
    return 0;
  }
};
/** Busy and total CPU seconds of the whole machine so far (all cores; /proc/stat). */
const machineCpu = () => {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0) / 100;
  return { busy: total - (f[3]! + f[4]!) / 100, total };
};
/** Our PostgreSQL's processes (the postmaster and its children), when fleet.sh started it (PG_TEST_DIR). */
const postgresCpu = () => {
  const dir = process.env.PG_TEST_DIR;
  if (!dir) return 0;
  try {
    const master = Number(readFileSync(path.join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    // The postmaster waits for its backends: their CPU time stays in its cutime/cstime when they exit.
    let sum = cpuSeconds(master, true);
    for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        if (/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] === String(master)) sum += cpuSeconds(Number(p));
      } catch {
        // gone meanwhile
      }
    }
    return sum;
  } catch {
    return 0;
  }
};
const mb = (kb: number) => `${Math.round(kb / 1024)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---- The simulated hosts

/**
 * A new key that ssh2 can read back: about 1 in 300 ed25519 keys from ssh2's
 * generateKeyPairSync (which server/exec/keys.ts generateEd25519 uses too) come out
 * "Malformed OpenSSH private key" for ssh2's own parser.
 */
function parseable<T>(make: () => T, pem: (k: T) => string): T {
  for (;;) {
    const k = make();
    if (!(ssh2.utils.parseKey(pem(k)) instanceof Error)) return k;
  }
}

/** 127.77.x.y: spread over the third and fourth octet, never .0 or .255. */
const addressOf = (i: number) => `127.77.${1 + Math.floor(i / 200)}.${10 + (i % 200)}`;

interface Sims {
  children: ChildProcess[];
  report(): Promise<SimReport[]>;
  cpu(): number;
  stop(): Promise<void>;
}

async function startSims(hosts: SimConfig["hosts"], procs: number, authorizedKey: string, dir: string): Promise<Sims> {
  const children: ChildProcess[] = [];
  const share = Math.ceil(hosts.length / procs);
  await Promise.all(
    Array.from({ length: procs }, async (_, k) => {
      const cfgPath = path.join(dir, `sim-${k}.json`);
      const cfg: SimConfig = { port: SIM_PORT, authorizedKey, latencyMs: CMD_LATENCY, hosts: hosts.slice(k * share, (k + 1) * share) };
      writeFileSync(cfgPath, JSON.stringify(cfg), { mode: 0o600 });
      const child = spawn(process.execPath, ["dist/bench-fleet-sim.mjs", cfgPath], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      children.push(track(child));
      await new Promise<void>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`a sim process exited with ${code} before it was ready`)));
        child.on("message", (m: { type?: string }) => m.type === "ready" && resolve());
      });
    }),
  );
  return {
    children,
    report: () =>
      Promise.all(
        children.map(
          (c) =>
            new Promise<SimReport>((resolve) => {
              const on = (m: SimReport) => {
                if (m.type !== "stats") return;
                c.off("message", on);
                resolve(m);
              };
              c.on("message", on);
              c.send({ type: "stats" });
            }),
        ),
      ),
    cpu: () => children.reduce((s, c) => s + cpuSeconds(c.pid!), 0),
    stop: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once("exit", () => resolve());
              c.kill("SIGTERM");
            }),
        ),
      );
    },
  };
}

// ---- The follower (the console's share of a run)

interface FollowResult {
  events: number;
  gaps: number;
  maxLagMs: number;
  meanLagMs: number;
  hwmKb: number;
  rssKb: number;
}

/** Starts the follower and waits until it is connected; then `follow(runId)` resolves with its report when the run ends. */
async function startFollower(env: Record<string, string>): Promise<{ follow: (runId: string) => Promise<FollowResult | null> }> {
  const child = track(spawn(process.execPath, ["dist/bench-fleet-follow.mjs"], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] }));
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stdin!.on("error", () => {});
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await Promise.race([waitUntil(async () => out.startsWith("ready\n"), 60_000, "the follower"), exited]);
  return {
    follow: async (runId) => {
      child.stdin!.end(`${runId}\n`);
      const timer = setTimeout(() => child.kill("SIGTERM"), 3_600_000);
      await exited;
      clearTimeout(timer);
      try {
        return JSON.parse(out.trim().split("\n").pop() ?? "") as FollowResult;
      } catch {
        return null;
      }
    },
  };
}

// ---- One apply, measured

interface ApplyFigures {
  label: string;
  ms: number;
  status: string;
  outcome: string;
  events: number;
  /** CPU seconds during the apply. */
  cpu: { worker: number; sims: number; postgres: number; redis: number; machine: number };
  /** The machine's CPU seconds available over the apply (cores × time). */
  cpuAvailable: number;
  sim: SimTotals;
  follower: FollowResult | null;
  phases: string;
  checks: string;
  /** Size of the plan stored on the run (run.result, JSON). */
  planBytes: number;
}

interface SimTotals {
  connections: number;
  execs: number;
  sftpWrites: number;
  forwards: number;
  httpsRequests: number;
}

const simTotals = (reports: SimReport[]): SimTotals =>
  reports.reduce(
    (a, r) => ({
      connections: a.connections + r.stats.connections,
      execs: a.execs + r.stats.execs,
      sftpWrites: a.sftpWrites + r.stats.sftpWrites,
      forwards: a.forwards + r.stats.forwards,
      httpsRequests: a.httpsRequests + r.stats.httpsRequests,
    }),
    { connections: 0, execs: 0, sftpWrites: 0, forwards: 0, httpsRequests: 0 },
  );
const minus = (a: SimTotals, b: SimTotals): SimTotals => ({
  connections: a.connections - b.connections,
  execs: a.execs - b.execs,
  sftpWrites: a.sftpWrites - b.sftpWrites,
  forwards: a.forwards - b.forwards,
  httpsRequests: a.httpsRequests - b.httpsRequests,
});

/** Where the time went, from the run's own events: each phase from its first event to the next phase's. */
async function phases(db: Db, runId: string, t0: number, run: { startedAt: Date | null; finishedAt: Date | null }): Promise<string> {
  const at = (d: Date | null | undefined) => (d ? d.getTime() - t0 : NaN);
  const find = (where: object) => db.runEvent.findFirst({ where: { runId, ...where }, orderBy: { seq: "asc" }, select: { time: true } });
  const applying = await find({ text: { startsWith: "Applying " } });
  const planned = await find({ OR: [{ text: { startsWith: "will " } }, { text: "no changes" }, { text: { startsWith: "cannot plan" } }], host: { not: null } });
  const plan = await find({ text: { startsWith: "Plan: " } });
  const tiers = await db.runEvent.findMany({
    where: { runId, host: null, OR: ["base system: ", "app servers: ", "web servers: ", "load balancers: "].map((p) => ({ text: { startsWith: p } })) },
    orderBy: { seq: "asc" },
    select: { time: true, text: true },
  });
  // [what happens from this moment on, when it starts]
  const starts = (
    [
      ["queue", 0],
      ["certificates", at(run.startedAt)],
      ["observe+plan", at(applying?.time)],
      ["locks+plan events+plan stored", at(planned?.time)],
      [tiers.length ? "to the first tier" : "verify", at(plan?.time)],
      ...tiers.map((t): [string, number] => [`${t.text.slice(0, t.text.indexOf(":"))} tier`, at(t.time)]),
    ] as Array<[string, number]>
  ).filter(([, t]) => !Number.isNaN(t));
  const end = at(run.finishedAt);
  return starts.map(([name, t], i) => `${name} ${secs((starts[i + 1]?.[1] ?? end) - t)}`).join(" | ");
}

/** When each kind of check passed (or failed) on its first and last host, from the request. */
async function checkSpans(db: Db, runId: string, t0: number): Promise<string> {
  const rows = await db.runEvent.findMany({ where: { runId, OR: [{ text: { startsWith: "check passed: " } }, { text: { startsWith: "check failed: " } }] }, select: { time: true, text: true } });
  const spans = new Map<string, { first: number; last: number; n: number; failed: number }>();
  for (const r of rows) {
    const rest = r.text.slice("check passed: ".length);
    const name = rest.slice(0, rest.indexOf(": "));
    const t = r.time.getTime() - t0;
    const s = spans.get(name) ?? { first: t, last: t, n: 0, failed: 0 };
    spans.set(name, { first: Math.min(s.first, t), last: Math.max(s.last, t), n: s.n + 1, failed: s.failed + (r.text.startsWith("check failed") ? 1 : 0) });
  }
  return [...spans]
    .sort((a, b) => a[1].first - b[1].first)
    .map(([name, s]) => `${name} ×${s.n}${s.failed ? ` (${s.failed} failed)` : ""} ${secs(s.first)}→${secs(s.last)}`)
    .join(" | ");
}

/** Every event with its offset from the request (FLEET_TIMELINE=1; for small fleets). */
async function timeline(db: Db, runId: string, t0: number) {
  const events = await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
  for (const e of events) console.log(`      +${e.time.getTime() - t0} ms ${e.level} ${e.host ?? ""} ${e.text.slice(0, 120)}`);
}

interface FleetFigures {
  n: number;
  lbs: number;
  /** Cold applies until one succeeded (a failed one is retried, as the outcome says to). */
  cold: ApplyFigures[];
  noop: ApplyFigures[];
  workerHwmKb: number;
  workerRssKb: number;
  simProcs: number;
  unknown: Map<string, { count: number; example: string }>;
  profiles: string[];
}

const COLD_ATTEMPTS = 3;

/** startWorker's process, with --cpu-prof (not allowed in NODE_OPTIONS): the profile is written when it exits. */
function startProfiledWorker(env: Record<string, string>, profDir: string): WorkerProcess {
  const child = spawn(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${profDir}`, "dist/worker.mjs"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

async function workerReady(w: WorkerProcess) {
  try {
    await waitUntil(async () => w.output().includes(" ready") || w.child.exitCode !== null, 60_000, "the worker to start");
  } finally {
    if (!w.output().includes(" ready")) console.log(`  the worker did not start:\n${w.output().trim().split("\n").slice(-10).join("\n")}`);
  }
  if (w.child.exitCode !== null) throw new Error(`the worker exited with ${w.child.exitCode}`);
}

async function fleet(n: number, redis: TestRedis): Promise<FleetFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-fleet-"));
  const simProcs = Number(option("sim-procs", n >= 500 ? "2" : "1"));
  const lbs = n >= 1000 ? 4 : 2;
  console.log(
    `\n${n} servers (${lbs} load balancers, ${n - lbs} web+app), rollout batches of ${BATCH}, HOST_PARALLELISM ${HOST_PARALLELISM || "default"}, ${simProcs} sim process(es), ${CMD_LATENCY} ms added per command`,
  );

  const t = Date.now();
  const client = parseable(
    () => generateEd25519("rampart-fleet-bench"),
    (k) => k.privateKey,
  );
  const hosts = Array.from({ length: n }, (_, i) => {
    const key = parseable(
      () => ssh2.utils.generateKeyPairSync("ed25519"),
      (k) => k.private,
    );
    return { name: `fleet-${String(i).padStart(4, "0")}`, address: addressOf(i), hostKey: key.private, publicKey: key.public.trim() };
  });
  const sims = await startSims(
    hosts.map(({ name, address, hostKey }) => ({ name, address, hostKey })),
    simProcs,
    client.publicKey,
    dir,
  );
  const { db, dir: dataDir, url } = await createTestDb();
  const box = new SecretBox(loadMasterKey({ dataDir, create: false }));
  const queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  const key = await importKey(db, box, "fleet-bench", { name: "fleet", privateKey: client.privateKey });
  await db.server.createMany({
    data: hosts.map((h) => {
      const k = parsePublicKeyLine(h.publicKey);
      return { name: h.name, address: h.address, port: SIM_PORT, user: "root", sshKeyId: key.id, hostKey: `${k.type} ${k.base64}`, hostKeyFingerprint: k.fingerprint, hostKeyStatus: "pinned" };
    }),
  });
  const servers = await db.server.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" } });
  const topology = await createTopology(
    db,
    TopologyInput.parse({ name: SITE, rolloutBatchSize: BATCH, members: servers.map((s, i) => ({ serverId: s.id, roles: i < lbs ? ["load-balancer"] : ["web", "app"], monitoring: false })) }), // the simulated hosts run no exporter
  );
  // The simulated hosts have no nftables.
  await db.topology.update({ where: { id: topology.id }, data: { firewallEnabled: false } });
  const profiles: string[] = [];
  // With --cpu-prof the cold applies and the no-op applies each get a worker (and a profile) of their own.
  const newWorker = (what: string) => {
    const profDir = path.resolve(`dist/fleet-prof/${n}-${what}`);
    if (CPU_PROF) mkdirSync(profDir, { recursive: true });
    if (CPU_PROF) profiles.push(profDir);
    const env = { DATA_DIR: dataDir, DATABASE_URL: url, REDIS_URL: redis.url, DRIFT_CHECK_INTERVAL_S: "0", ...(HOST_PARALLELISM ? { HOST_PARALLELISM } : {}) };
    const w = CPU_PROF ? startProfiledWorker(env, profDir) : startWorker(env);
    track(w.child);
    return w;
  };
  const stopWorker = async (w: WorkerProcess) => {
    w.child.kill("SIGTERM");
    const exited = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r(null), 60_000))]);
    if (!exited) w.child.kill("SIGKILL");
  };
  let worker = newWorker("cold");
  let hwmKb = 0;
  try {
    await workerReady(worker);
    console.log(`  set up in ${secs(Date.now() - t)} (keys, ${simProcs} sim process(es), database, ${n} servers, topology, worker)`);

    const apply = async (label: string): Promise<ApplyFigures> => {
      const wpid = worker.child.pid!;
      const simsBefore = simTotals(await sims.report());
      const follower = await startFollower({ DATABASE_URL: url, REDIS_URL: redis.url });
      const before = { worker: cpuSeconds(wpid), sims: sims.cpu(), postgres: postgresCpu(), redis: cpuSeconds(redis.process.pid!), machine: machineCpu() };
      const t0 = Date.now();
      const run = await applyTopologyRun({ db, queue }, { name: "fleet-bench" }, topology.id);
      const following = follower.follow(run.id);
      const done = await waitUntil(
        async () => {
          const r = await db.run.findUniqueOrThrow({ where: { id: run.id } });
          return r.status !== "queued" && r.status !== "running" ? r : null;
        },
        3_600_000,
        `the ${label} apply`,
      );
      const ms = (done.finishedAt?.getTime() ?? Date.now()) - t0;
      const m = machineCpu();
      const cpu = {
        worker: cpuSeconds(wpid) - before.worker,
        sims: sims.cpu() - before.sims,
        postgres: postgresCpu() - before.postgres,
        redis: cpuSeconds(redis.process.pid!) - before.redis,
        machine: m.busy - before.machine.busy,
      };
      const figures: ApplyFigures = {
        label,
        ms,
        status: done.status,
        outcome: done.outcome ?? "",
        events: await db.runEvent.count({ where: { runId: run.id } }),
        cpu,
        cpuAvailable: m.total - before.machine.total,
        sim: minus(simTotals(await sims.report()), simsBefore),
        follower: await following,
        phases: await phases(db, run.id, t0, done),
        checks: await checkSpans(db, run.id, t0),
        planBytes: Buffer.byteLength((await db.run.findUniqueOrThrow({ where: { id: run.id }, select: { result: true } })).result ?? ""),
      };
      const f = figures.follower;
      const s = figures.sim;
      console.log(
        `  ${label} apply: ${secs(ms)}, ${done.status}: ${figures.outcome.slice(0, 200)}\n` +
          `    ${figures.events} events stored (${Math.round(figures.events / (ms / 1000))}/s over the apply); plan stored on the run ${(figures.planBytes / 1e6).toFixed(1)} MB; worker VmHWM ${mb(procStatus(wpid, "VmHWM"))}\n` +
          `    CPU s: worker ${cpu.worker.toFixed(1)}, sims ${cpu.sims.toFixed(1)}, PostgreSQL ${cpu.postgres.toFixed(1)}, Redis ${cpu.redis.toFixed(1)}; the machine ${cpu.machine.toFixed(1)} of ${figures.cpuAvailable.toFixed(1)} (${os.cpus().length} cores, other processes included)\n` +
          `    sims: ${s.connections} SSH connections opened, ${s.execs} commands, ${s.sftpWrites} SFTP writes, ${s.forwards} forwards, ${s.httpsRequests} HTTPS requests\n` +
          `    follower: ${f ? `${f.events} events, ${f.gaps} gaps, lag mean ${f.meanLagMs} ms / max ${f.maxLagMs} ms, RSS peak ${mb(f.hwmKb)}` : "no report"}\n` +
          `    time: ${figures.phases}\n` +
          `    checks (first→last host): ${figures.checks || "none"}`,
      );
      if (process.env.FLEET_TIMELINE) await timeline(db, run.id, t0);
      if (done.status !== "succeeded") {
        const bad = await db.runEvent.findMany({ where: { runId: run.id, level: "error" }, take: 5, orderBy: { seq: "asc" } });
        for (const e of bad) console.log(`    error: ${e.host ?? ""} ${e.text.slice(0, 300)}`);
      }
      return figures;
    };

    const cold: ApplyFigures[] = [];
    for (let i = 1; i <= COLD_ATTEMPTS; i++) {
      cold.push(await apply(i === 1 ? "cold" : `cold, retry ${i - 1}`));
      if (cold[cold.length - 1]!.status === "succeeded") break;
    }
    hwmKb = procStatus(worker.child.pid!, "VmHWM");
    if (CPU_PROF) {
      await stopWorker(worker);
      worker = newWorker("noop");
      await workerReady(worker);
    }
    const noop: ApplyFigures[] = [];
    for (let i = 0; i < NOOP_RUNS; i++) noop.push(await apply(`no-op #${i + 1}`));
    const workerHwmKb = Math.max(hwmKb, procStatus(worker.child.pid!, "VmHWM"));
    const workerRssKb = procStatus(worker.child.pid!, "VmRSS");
    const unknown = new Map<string, { count: number; example: string }>();
    for (const r of await sims.report())
      for (const [k, v] of Object.entries(r.unknown)) {
        const u = unknown.get(k) ?? { count: 0, example: v.example };
        u.count += v.count;
        unknown.set(k, u);
      }
    return { n, lbs, cold, noop, workerHwmKb, workerRssKb, simProcs, unknown, profiles };
  } finally {
    await stopWorker(worker);
    await sims.stop();
    await queue.close();
    await db.$disconnect();
  }
}

// ---- CPU profiles (--cpu-prof): where the worker's CPU time went, by function

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where a profile's CPU time went: by module, by function (self time), and by
 * Rampart function including what it calls (a function counted once per sample,
 * however deep it recurses), which is what says which part of the engine costs.
 */
function summarizeProfiles(dir: string, top = 15, bundle = "dist/worker.mjs"): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byModule = new Map<string, number>();
  let total = 0;
  const fileOf = (url: string) => url.replace(/^file:\/\//, "").replace(`${process.cwd()}/`, "");
  const label = (cf: CpuProfile["nodes"][number]["callFrame"]) => `${cf.functionName || "(anonymous)"} ${fileOf(cf.url) ? `${fileOf(cf.url)}:${cf.lineNumber + 1}` : ""}`.trim();
  for (const f of files) {
    const p = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as CpuProfile;
    const nodes = new Map(p.nodes.map((nd) => [nd.id, nd]));
    const parent = new Map<number, number>();
    for (const nd of p.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
    p.samples.forEach((id, i) => {
      const nd = nodes.get(id)!;
      const us = p.timeDeltas[i] ?? 0;
      const { functionName, url } = nd.callFrame;
      if (functionName === "(idle)" || functionName === "(program)") return;
      total += us;
      const file = fileOf(url);
      self.set(label(nd.callFrame), (self.get(label(nd.callFrame)) ?? 0) + us);
      const mod = /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(file)?.[1] ?? (file.startsWith("node:") ? "node core" : file ? file : functionName);
      byModule.set(mod, (byModule.get(mod) ?? 0) + us);
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const cf = nodes.get(cur)!.callFrame;
        if (!cf.url.endsWith(bundle)) continue;
        const k = label(cf);
        if (seen.has(k)) continue;
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + us);
      }
    });
  }
  const pct = (us: number) => `${((100 * us) / Math.max(1, total)).toFixed(1)}%`.padStart(6);
  const lines = [`  ${dir}: ${(total / 1e6).toFixed(1)} s of CPU sampled (idle excluded)`, "    by module:"];
  for (const [k, us] of [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 8)) lines.push(`    ${pct(us)}  ${k}`);
  lines.push("    by function (self time):");
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${pct(us)}  ${k}`);
  lines.push(`    by Rampart function, with what it calls (${bundle}; main and run-loop wrappers left out):`);
  for (const [k, us] of [...inclusive]
    .filter(([k]) => !/^(main|\(anonymous\)|processRun|processJob|run|runKind|lane|parallel) /.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top + 5))
    lines.push(`    ${pct(us)}  ${k}`);
  return lines;
}

/** RunReporter writing `count` events as fast as it can (the worker's path: database, then Redis). */
const BURST_PROF = path.resolve("dist/fleet-prof/burst");

async function burst(redis: TestRedis, count: number): Promise<{ ms: number; stored: number; postgresCpu: number; selfCpu: number }> {
  const { db } = await createTestDb();
  const publisher = createRedis(redis.url, "producer");
  publisher.on("error", () => {});
  await new Promise((resolve) => publisher.once("ready", resolve));
  try {
    const run = await db.run.create({ data: { kind: "topology-apply", status: "running", requestedBy: "fleet-bench", startedAt: new Date() } });
    const reporter = await RunReporter.open(db, publisher, run.id);
    const pg0 = postgresCpu();
    const self0 = process.cpuUsage();
    const session = CPU_PROF ? new Session() : null;
    if (session) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    }
    const t0 = performance.now();
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < count; i++) pending.push(reporter.output(`Setting up nginx (1.22.1-9) ... line ${i}`, `fleet-${String(i % 1000).padStart(4, "0")}`));
    await Promise.all(pending);
    await reporter.flush();
    const ms = performance.now() - t0;
    const self = process.cpuUsage(self0);
    if (session) {
      const { profile } = await session.post("Profiler.stop");
      mkdirSync(BURST_PROF, { recursive: true });
      writeFileSync(path.join(BURST_PROF, "burst.cpuprofile"), JSON.stringify(profile));
      session.disconnect();
    }
    return { ms, stored: await db.runEvent.count({ where: { runId: run.id } }), postgresCpu: postgresCpu() - pg0, selfCpu: (self.user + self.system) / 1e6 };
  } finally {
    publisher.disconnect();
    await db.$disconnect();
  }
}

function printTable(results: FleetFigures[], burstResult: Awaited<ReturnType<typeof burst>> | null) {
  if (results.length > 0) printFleetTable(results);
  const provider = testDbProvider() === "postgresql" ? "PostgreSQL" : "SQLite";
  if (burstResult)
    console.log(
      `\nRunReporter burst on ${provider}: ${burstResult.stored.toLocaleString("en")} events stored in ${secs(burstResult.ms)}: ${Math.round(burstResult.stored / (burstResult.ms / 1000)).toLocaleString("en")}/s ` +
        `(target 10,000/s on PostgreSQL); CPU s: writer ${burstResult.selfCpu.toFixed(1)}, PostgreSQL ${burstResult.postgresCpu.toFixed(1)}`,
    );
  console.log("\nThe lab, for comparison (README, 3 real Debian hosts under systemd-nspawn; `bash bench/fleet.sh --lab` runs bench/engine.sh to measure them again):");
  console.log("  first (cold) apply, 3 fresh lab hosts (packages from the lab's apt cache): 26.5 s");
  console.log("  second apply of the converged 3-host topology, every check: median 650 ms, max 679 ms");
  console.log("  trivial SSH command on a warm connection: p50 30 ms (the sims answer in ~1 ms; --cmd-latency 30 adds the difference)");
  const unknown = new Map<string, { count: number; example: string }>();
  for (const r of results)
    for (const [k, v] of r.unknown) {
      const u = unknown.get(k) ?? { count: 0, example: v.example };
      u.count += v.count;
      unknown.set(k, u);
    }
  if (results.length > 0 && unknown.size === 0) console.log("\nCommands the sims did not know: none");
  else if (unknown.size > 0) {
    console.log("\nCommands the sims did not know (answered with exit 127):");
    for (const [k, v] of unknown) console.log(`  ${v.count} × ${k}   e.g. ${v.example.slice(0, 160)}`);
  }
  for (const r of results) for (const dir of r.profiles) for (const l of summarizeProfiles(dir)) console.log(l);
  if (burstResult && CPU_PROF) for (const l of summarizeProfiles(BURST_PROF, 15, "dist/bench-fleet.mjs")) console.log(l);
}

function printFleetTable(results: FleetFigures[]) {
  const provider = testDbProvider() === "postgresql" ? "PostgreSQL" : "SQLite";
  const last = (r: FleetFigures) => r.cold[r.cold.length - 1]!;
  const coldText = (r: FleetFigures) => {
    const ok = last(r).status === "succeeded";
    if (r.cold.length === 1) return `${secs(r.cold[0]!.ms)}${ok ? "" : ` (${r.cold[0]!.status})`}`;
    return `${r.cold.map((c) => `${secs(c.ms)}${c.status === "succeeded" ? "" : "✗"}`).join(" + ")}`;
  };
  const noopMs = (r: FleetFigures) => r.noop.filter((x) => x.status === "succeeded").map((x) => x.ms);
  const rows: Array<[string, ...string[]]> = [
    ["cold apply, fresh hosts (✗: failed, retried)", ...results.map(coldText)],
    ["  events stored (counted in the database)", ...results.map((r) => r.cold.map((c) => c.events.toLocaleString("en")).join(" + "))],
    ["  events per second over the apply", ...results.map((r) => Math.round(last(r).events / (last(r).ms / 1000)).toLocaleString("en"))],
    [
      `no-op apply, median (min–max) of ${NOOP_RUNS}; target < 20 s at 1,000`,
      ...results.map((r) => (noopMs(r).length ? `${secs(median(noopMs(r)))} (${secs(Math.min(...noopMs(r)))}–${secs(Math.max(...noopMs(r)))})` : "none succeeded")),
    ],
    ["  events stored per no-op apply", ...results.map((r) => r.noop[0]!.events.toLocaleString("en"))],
    ["worker peak RSS (VmHWM) / RSS at the end", ...results.map((r) => `${mb(r.workerHwmKb)} / ${mb(r.workerRssKb)}`)],
    ["worker CPU s: last cold / no-op", ...results.map((r) => `${last(r).cpu.worker.toFixed(1)} / ${median(r.noop.map((x) => x.cpu.worker)).toFixed(1)}`)],
    ["sims CPU s: last cold / no-op", ...results.map((r) => `${last(r).cpu.sims.toFixed(1)} / ${median(r.noop.map((x) => x.cpu.sims)).toFixed(1)}`)],
    ["PostgreSQL CPU s: last cold / no-op", ...results.map((r) => `${last(r).cpu.postgres.toFixed(1)} / ${median(r.noop.map((x) => x.cpu.postgres)).toFixed(1)}`)],
    ["machine busy: last cold / no-op", ...results.map((r) => `${pctOf(last(r))} / ${pctOf(r.noop[r.noop.length - 1]!)}`)],
    ["follower (console's stream): max lag, cold / no-op", ...results.map((r) => `${last(r).follower?.maxLagMs ?? "?"} / ${r.noop[0]!.follower?.maxLagMs ?? "?"} ms`)],
    ["follower process peak RSS", ...results.map((r) => mb(Math.max(...[...r.cold, ...r.noop].map((x) => x.follower?.hwmKb ?? 0))))],
    ["SSH connections opened: cold / no-op", ...results.map((r) => `${r.cold.reduce((a, c) => a + c.sim.connections, 0)} / ${r.noop[r.noop.length - 1]!.sim.connections}`)],
    ["commands + uploads + forwards: last cold", ...results.map((r) => `${last(r).sim.execs}+${last(r).sim.sftpWrites}+${last(r).sim.forwards}`)],
    ["commands + uploads + forwards: no-op", ...results.map((r) => `${r.noop[0]!.sim.execs}+${r.noop[0]!.sim.sftpWrites}+${r.noop[0]!.sim.forwards}`)],
  ];
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  const colW = Math.max(20, ...rows.flatMap(([, ...v]) => v.map((x) => x.length + 2)));
  console.log(`\nRampart fleet benchmark, ${provider}, ${os.cpus().length} cores, rollout batches of ${BATCH} (${new Date().toISOString()})`);
  console.log(`${"".padEnd(width)}${results.map((r) => `${r.n.toLocaleString("en")} servers`.padStart(colW)).join("")}`);
  for (const [label, ...vals] of rows) console.log(`${label.padEnd(width)}${vals.map((v) => v.padStart(colW)).join("")}`);
}

const pctOf = (a: ApplyFigures) => `${Math.round((100 * a.cpu.machine) / Math.max(0.01, a.cpuAvailable))}%`;

async function main() {
  if (process.argv.includes("--summarize")) {
    for (const l of summarizeProfiles(option("summarize", "dist/fleet-prof"), 25)) console.log(l);
    return;
  }
  console.log(`\nRampart fleet benchmark (${new Date().toISOString()}): database ${testDbProvider()}, sizes ${SIZES.join(", ")}`);
  if (testDbProvider() !== "postgresql") console.log("  (TEST_DATABASE_URL is not a PostgreSQL URL: SQLite. bash bench/fleet.sh starts a PostgreSQL.)");
  const redis = await startRedis();
  track(redis.process);
  const results: FleetFigures[] = [];
  let burstResult: Awaited<ReturnType<typeof burst>> | null = null;
  try {
    for (const n of SIZES) results.push(await fleet(n, redis));
    if (BURST > 0) burstResult = await burst(redis, BURST);
  } finally {
    await redis.stop();
  }
  printTable(results, burstResult);
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
