// Provisioning engine benchmark (issues 6 and 11). Prints:
//  - the pure planner's time for 1,000 servers (fresh hosts, and converged hosts);
//  - on the lab, with the real worker process: the first, cold apply of a
//    3-host seed topology (load balancer + 2 web and app servers, packages from the
//    lab's apt cache) and the second apply of the converged topology, which
//    re-observes every host and runs every role's checks (listening sockets, the
//    running configuration, HTTPS through the load balancer, backends UP in HAProxy,
//    each web server's certificate through an SSH forward) (target < 1 s).
// Run: bash bench/engine.sh (needs root: it brings the lab up and resets its hosts).
import { Queue } from "bullmq";
import { ensureLab } from "@/e2e/lab/fixture";
import { desiredState, needsBackendCert, type HostSpec, type TopologySpec } from "@/server/provision/roles";
import { DEFAULT_APP } from "@/server/schemas/topology";
import { planTopology, type HostObservation } from "@/server/provision/planner";
import { parseObservation } from "@/server/provision/observe";
import type { Resource } from "@/server/provision/resources";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology } from "@/server/services/topologies";
import { addFirewallRule, deleteFirewallRule } from "@/server/services/firewall";
import { FirewallRuleInput } from "@/server/schemas/firewall";
import { TopologyInput } from "@/server/schemas/topology";
import { SimHost } from "@/tests/support/host-sim";
import { createTestDb } from "@/tests/support/test-db";
import { startRedis } from "@/tests/support/redis-server";
import { startWorker, waitUntil } from "@/tests/support/processes";
import { registerFreshLabHosts } from "@/tests/support/lab-hosts";
import { testDatabase } from "../tests/support/db-credentials";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function plannerBench() {
  const n = 1000;
  const hosts: HostSpec[] = Array.from({ length: n }, (_, i) => ({
    serverId: `s${i}`,
    name: `h${i}`,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    roles: i < 4 ? ["load-balancer"] : i < 800 ? ["web", "app"] : i === 800 ? ["db-primary"] : ["db-replica"],
    monitoring: true,
    drained: false,
  }));
  // Stand-ins for certificates: the planner only copies them into files.
  const backends = new Map(hosts.filter(needsBackendCert).map((h) => [h.serverId, { certPem: `CERT ${h.name}\n`, keyPem: `KEY ${h.name}\n` }]));
  const spec: TopologySpec = {
    id: "t",
    name: "www.bench.test",
    balance: "roundrobin",
    hosts,
    app: DEFAULT_APP,
    appEnv: [],
    database: testDatabase(hosts),
    tls: { caPem: "CA\n", siteBundle: "SITE\n", backends },
  };
  const time = (observe: () => Map<string, HostObservation>) => {
    const runs: number[] = [];
    let changes = 0;
    for (let i = 0; i < 5; i++) {
      const observations = observe();
      const t0 = performance.now();
      const plan = planTopology(spec, desiredState(spec), observations, new Date());
      runs.push(performance.now() - t0);
      changes = plan.changes;
    }
    return { ms: median(runs), changes };
  };
  const desired = desiredState(spec);
  const watched = (rs: Resource[]) =>
    new Map(
      rs.filter((r) => r.kind === "service").map((r) => [r.kind === "service" ? r.name : "", r.kind === "service" ? [...r.reloadOn, ...r.restartOn].map((id) => id.slice(id.indexOf(":") + 1)) : []]),
    );
  const fresh = () => new Map(spec.hosts.map((h): [string, HostObservation] => [h.serverId, { ok: true, observed: new Map() }]));
  const sims = new Map(spec.hosts.map((h) => [h.serverId, new SimHost(watched(desired.get(h.serverId)!.resources))]));
  const first = planTopology(spec, desired, fresh(), new Date());
  for (const h of first.hosts) for (const s of h.steps) sims.get(h.serverId)!.apply(s.action);
  const outputs = new Map(spec.hosts.map((h) => [h.serverId, sims.get(h.serverId)!.observeOutput(desired.get(h.serverId)!.resources)]));
  const converged = () =>
    new Map(spec.hosts.map((h): [string, HostObservation] => [h.serverId, { ok: true, observed: parseObservation(desired.get(h.serverId)!.resources, outputs.get(h.serverId)!) }]));
  const a = time(fresh);
  const b = time(converged);
  console.log(`  planner, ${n} servers (4 LB, 796 web+app, 200 db), fresh hosts: ${a.ms.toFixed(1)} ms for ${a.changes} steps (median of 5, desired state included)`);
  console.log(`  planner, ${n} servers, converged hosts: ${b.ms.toFixed(1)} ms, ${b.changes} steps`);
}

async function labBench() {
  const lab = await ensureLab(3);
  const hosts = lab.hosts.slice(0, 3);
  // Fresh hosts: remove what the topology installs.
  const redis = await startRedis();
  const { db, dir, url } = await createTestDb();
  const box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  const queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  const worker = startWorker({ DATA_DIR: dir, DATABASE_URL: url, REDIS_URL: redis.url, DRIFT_CHECK_INTERVAL_S: "0" });
  try {
    const ids = await registerFreshLabHosts(db, box, lab, hosts);
    const t = await createTopology(
      db,
      TopologyInput.parse({
        name: "www.foobar.test",
        members: [
          { serverId: ids[0], roles: ["load-balancer"] },
          { serverId: ids[1], roles: ["web", "app"] },
          { serverId: ids[2], roles: ["web", "app"] },
        ],
      }),
    );
    const apply = async () => {
      const t0 = Date.now();
      const run = await applyTopologyRun({ db, queue }, { name: "bench" }, t.id);
      const done = await waitUntil(
        async () => {
          const r = await db.run.findUniqueOrThrow({ where: { id: run.id } });
          return r.status !== "queued" && r.status !== "running" ? r : null;
        },
        600_000,
        "the apply",
      );
      // When the worker recorded the outcome (not when this loop, polling every 100 ms, saw it).
      const ms = (done.finishedAt?.getTime() ?? Date.now()) - t0;
      if (done.status !== "succeeded") throw new Error(`apply ${done.status}: ${done.outcome}`);
      if (process.env.BENCH_TIMELINE) {
        // Where the time goes: each event's offset from the run's creation.
        const events = await db.runEvent.findMany({ where: { runId: run.id }, orderBy: { seq: "asc" } });
        console.log(`    run created +${done.createdAt.getTime() - t0} ms, finished +${(done.finishedAt?.getTime() ?? 0) - t0} ms after the request`);
        for (const e of events) console.log(`    +${e.time.getTime() - done.createdAt.getTime()} ms ${e.host ?? ""} ${e.text.slice(0, 100)}`);
      }
      return { ms, outcome: done.outcome ?? "" };
    };
    const cold = await apply();
    console.log(`  first (cold) apply, 3 fresh hosts: ${(cold.ms / 1000).toFixed(1)} s — ${cold.outcome}`);
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push((await apply()).ms);
    console.log(
      `  second apply, converged, with every check and the firewall's reachability matrix on all 3 hosts (warm worker), request → outcome recorded: median ${median(warm).toFixed(0)} ms, max ${Math.max(...warm).toFixed(0)} ms (target < 1000 ms)`,
    );
    // A firewall change on every host: check, arm the rollback, load, confirm over a new connection, matrix.
    const changes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const rule = await addFirewallRule(db, t.id, FirewallRuleInput.parse({ name: `bench ${i}`, portFrom: 9200 + i, peer: "cidr", peerValue: "192.0.2.0/24" }), "bench");
      changes.push((await apply()).ms);
      await deleteFirewallRule(db, rule.id);
      await apply();
    }
    console.log(
      `  firewall change on all 3 hosts (one host first, then the other two), confirmed over new connections: median ${median(changes).toFixed(0)} ms, max ${Math.max(...changes).toFixed(0)} ms`,
    );
  } finally {
    worker.child.kill("SIGTERM");
    await worker.exited;
    await queue.close();
    await db.$disconnect();
    await redis.stop();
  }
}

async function main() {
  console.log(`\nRampart provisioning engine benchmark (${new Date().toISOString()})`);
  plannerBench();
  await labBench();
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
