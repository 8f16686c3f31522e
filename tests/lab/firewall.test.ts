// Firewalls on the lab, with the real worker and nftables on the hosts: the seed
// topology (a load balancer, two web+app servers, a database primary and replica)
// gets exactly the intended ports, checked by an independent probe from the root
// namespace and from inside each host; nothing changes on a second apply; a rule
// added by hand is drift; someone else's table is untouched; a rule set nftables
// refuses changes nothing; rules that lock Rampart out are rolled back by the host
// (also when the worker is SIGKILLed between loading and confirming), and the next
// apply does not load them again until an admin forces it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { ensureLab, labSsh, type LabInfo } from "@/e2e/lab/fixture";
import type { Db } from "@/server/db";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology, planTopologyRun, runPlan } from "@/server/services/topologies";
import { addFirewallRule, deleteFirewallRule, getFirewall } from "@/server/services/firewall";
import { loadTarget } from "@/server/services/targets";
import { SshExecutor } from "@/server/exec/ssh-executor";
import { renderAction, sha256 } from "@/server/provision/resources";
import { renderRuleset } from "@/server/provision/firewall/render";
import type { EffectiveRule } from "@/server/provision/firewall/types";
import { FirewallRuleInput } from "@/server/schemas/firewall";
import { TopologyInput } from "@/server/schemas/topology";
import type { RunReporter } from "@/server/queue/run-events";
import { confirmFirewall, FirewallRolledBackError } from "@/workers/engine/firewall";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";
import { probeFrom, probeHere, type Reach } from "../support/reach-probe";

const WINDOW_S = 10;
let lab: LabInfo;
let db: Db;
let box: SecretBox;
let dir: string;
let dbUrl: string;
let redis: TestRedis;
let queue: Queue<RunJobData>;
let worker: WorkerProcess;
let topologyId: string;
const ids: string[] = [];
const caller = { name: "tester@example.test" };
const deps = () => ({ db, queue });
const workerEnv = (extra: Record<string, string> = {}) => ({
  DATA_DIR: dir,
  DATABASE_URL: dbUrl,
  REDIS_URL: redis.url,
  DRIFT_CHECK_INTERVAL_S: "0",
  FIREWALL_CONFIRM_WINDOW_S: String(WINDOW_S),
  ...extra,
});

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
const host = (i: number) => lab.hosts[i]!;
const listing = async (i: number) => (await labSsh(host(i).name, ["sh", "-c", "nft list table inet rampart 2>&1 || true"])).stdout;

beforeAll(async () => {
  const info = await ensureLab(5);
  lab = { ...info, hosts: info.hosts.slice(0, 5) };
  redis = await startRedis();
  ({ db, dir, url: dbUrl } = await createTestDb());
  box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  worker = startWorker(workerEnv());
  ids.push(...(await registerFreshLabHosts(db, box, lab, lab.hosts)));
  // Someone else's table on lab3, which Rampart must leave alone.
  await labSsh(host(2).name, ["nft", "add table inet other; add chain inet other c { type filter hook input priority 10; policy accept; }"]);
}, 600_000);

afterAll(async () => {
  if (worker) {
    worker.child.kill("SIGKILL");
    await worker.exited;
  }
  // Leave the hosts open for the other lab tests.
  for (const h of lab?.hosts ?? []) await labSsh(h.name, ["sh", "-c", "nft delete table inet rampart; nft delete table inet other; systemctl disable rampart-firewall; true"]).catch(() => {});
  await queue?.close();
  await db?.$disconnect();
  await redis?.stop();
});

describe("firewalls on the lab", () => {
  it("the seed topology gets exactly the intended ports: the independent probe and the console's matrix agree", async () => {
    topologyId = (
      await createTopology(
        db,
        TopologyInput.parse({
          name: "www.fw.test",
          members: [
            { serverId: ids[0], roles: ["load-balancer"] },
            { serverId: ids[1], roles: ["web", "app"] },
            { serverId: ids[2], roles: ["web", "app"] },
            { serverId: ids[3], roles: ["db-primary"] },
            { serverId: ids[4], roles: ["db-replica"] },
          ],
        }),
      )
    ).id;
    const run = await applyTopologyRun(deps(), caller, topologyId);
    const done = await finished(run.id);
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    expect(await eventsText(run.id)).toMatch(/firewall confirmed over a new SSH connection/);

    // What the topology intends, written out here (not computed by Rampart's policy).
    const [lb, web1, web2, primary, replica] = [0, 1, 2, 3, 4];
    const ports = [22, 80, 443, 3306];
    const intended = (from: number | "root", to: number, port: number): Reach => {
      if (port === 22) return from === "root" ? "open" : "filtered";
      if (to === lb && (port === 80 || port === 443)) return "open";
      if ((to === web1 || to === web2) && port === 443) return from === lb ? "open" : "filtered";
      // MariaDB listens on its server's address: the app servers and the replica reach the primary, the app servers the replica.
      if (to === primary && port === 3306) return from === web1 || from === web2 || from === replica ? "open" : "filtered";
      if (to === replica && port === 3306) return from === web1 || from === web2 ? "open" : "filtered";
      return "filtered";
    };
    const found: string[] = [];
    const wanted: string[] = [];
    for (let to = 0; to < 5; to++)
      for (const port of ports) {
        found.push(`root→${host(to).name}:${port} ${await probeHere(host(to).address, port)}`);
        wanted.push(`root→${host(to).name}:${port} ${intended("root", to, port)}`);
        for (let from = 0; from < 5; from++) {
          if (from === to) continue;
          found.push(`${host(from).name}→${host(to).name}:${port} ${await probeFrom(host(from).name, host(to).address, port)}`);
          wanted.push(`${host(from).name}→${host(to).name}:${port} ${intended(from, to, port)}`);
        }
      }
    expect(found).toEqual(wanted);

    // The console's matrix (and the run's plan) agree with the probe, cell by cell.
    const fw = await getFirewall(db, topologyId);
    expect(fw.reachability!.mismatches).toBe(0);
    const name = (id: string) => (id === "control-plane" ? "root" : host(ids.indexOf(id)).name);
    for (const c of fw.reachability!.cells.filter((c) => ports.includes(c.port))) {
      expect(found).toContain(`${name(c.from)}→${c.toName}:${c.port} ${c.observed}`);
    }
    expect((await runPlan(db, run.id))!.reachability!.cells.length).toBe(fw.reachability!.cells.length);
    // Persisted for boot by Rampart's own unit.
    expect((await labSsh(host(1).name, ["systemctl", "is-enabled", "rampart-firewall"])).stdout.trim()).toBe("enabled");
  }, 600_000);

  it("someone else's table is untouched, and an unchanged policy plans nothing", async () => {
    expect((await labSsh(host(2).name, ["nft", "list", "table", "inet", "other"])).stdout).toMatch(/chain c/);
    const run = await planTopologyRun(deps(), caller, topologyId);
    const done = await finished(run.id);
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    expect((await runPlan(db, run.id))!.changes).toBe(0);
  }, 300_000);

  it("a rule added by hand with nft is reported by the drift check, with the rule in the diff", async () => {
    await labSsh(host(1).name, ["nft", "add", "rule", "inet", "rampart", "input", "tcp", "dport", "8081", "accept"]);
    const run = await planTopologyRun(deps(), caller, topologyId);
    await finished(run.id);
    const plan = (await runPlan(db, run.id))!;
    const step = plan.hosts[1]!.steps.find((s) => s.kind === "firewall");
    expect(step?.reason).toMatch(/was changed on the host/);
    expect(step?.diff).toMatch(/^\+.*tcp dport 8081 accept/m);
    expect(plan.hosts.filter((h) => h.steps.length > 0).map((h) => h.name)).toEqual([host(1).name]);
    // The next apply puts the rules back.
    const apply = await applyTopologyRun(deps(), caller, topologyId);
    expect((await finished(apply.id)).status, await eventsText(apply.id)).toBe("succeeded");
    expect(await listing(1)).not.toMatch(/8081/);
  }, 300_000);

  it("a rule set nftables refuses changes nothing on the host", async () => {
    const before = await listing(1);
    const bad = renderRuleset("x", "x", []).replace("ct state established,related accept", "ct state established,related acept");
    const steps = renderAction({ op: "firewall-apply", ruleset: bad, hash: sha256(bad), confirmWindowS: WINDOW_S });
    const ex = new SshExecutor();
    const target = await loadTarget(db, box, ids[1]!);
    try {
      for (const c of steps.before) await ex.run(target, c);
      await ex.upload(target, steps.upload!);
      await expect(ex.run(target, steps.after[0]!)).rejects.toThrow(/acept/);
    } finally {
      await ex.close();
    }
    expect(await listing(1)).toBe(before);
    expect((await labSsh(host(1).name, ["sh", "-c", "systemctl list-timers --all --no-legend 'rampart-firewall-rollback-*' | wc -l"])).stdout.trim()).toBe("0");
  }, 120_000);

  it("rules that drop SSH from the control plane, forced past the guard, are rolled back by the host within the window", async () => {
    const before = await listing(1);
    const lockout: EffectiveRule[] = [{ direction: "in", action: "drop", protocol: "tcp", ports: [22, 22], peers: "any", origin: "rule: forced lockout", comment: "" }];
    const ruleset = renderRuleset(host(1).name, "www.fw.test", lockout);
    const hash = sha256(ruleset);
    const steps = renderAction({ op: "firewall-apply", ruleset, hash, confirmWindowS: WINDOW_S });
    const ex = new SshExecutor({ readyTimeoutMs: 4000 });
    const target = await loadTarget(db, box, ids[1]!);
    const lines: string[] = [];
    const reporter = { info: async (t: string) => void lines.push(t), warn: async (t: string) => void lines.push(t), error: async (t: string) => void lines.push(t) } as unknown as RunReporter;
    const started = Date.now();
    try {
      for (const c of steps.before) await ex.run(target, c);
      await ex.upload(target, steps.upload!);
      for (const c of steps.after) await ex.run(target, c);
      const ctx = { db, executor: ex, reporter, signal: new AbortController().signal, runId: "test", env: { RAMPART_TEST_FIREWALL_CONFIRM_DELAY_MS: 0 } };
      await expect(confirmFirewall(ctx, target, { serverId: ids[1]!, name: host(1).name, topologyId }, steps.confirm!)).rejects.toThrow(FirewallRolledBackError);
    } finally {
      await ex.close();
    }
    const took = (Date.now() - started) / 1000;
    expect(took).toBeLessThan(WINDOW_S + 20);
    expect(lines.join("\n")).toMatch(/could not get in over a new SSH connection/);
    expect(await listing(1)).toBe(before);
    expect(await probeHere(host(1).address, 22)).toBe("open");
    const ev = await db.firewallEvent.findFirst({ where: { serverId: ids[1]!, kind: "rolled-back", rulesetHash: hash } });
    expect(ev).not.toBeNull();
  }, 120_000);

  it("a worker SIGKILLed between loading and confirming: the host rolls back, the next apply says so and does not load the rules again until an admin forces it", async () => {
    const before = await listing(3);
    // A change on the primary only, and a worker that stalls between loading and confirming.
    const rule = await addFirewallRule(
      db,
      topologyId,
      FirewallRuleInput.parse({ name: "metrics", portFrom: 9100, peer: "cidr", peerValue: "10.213.47.0/24", scope: "server", scopeValue: ids[3] }),
      caller.name,
    );
    worker.child.kill("SIGTERM");
    await worker.exited;
    worker = startWorker(workerEnv({ RAMPART_TEST_FIREWALL_CONFIRM_DELAY_MS: "120000" }));
    const run = await applyTopologyRun(deps(), caller, topologyId);
    await waitUntil(async () => (await events(run.id)).some((e) => /rules loaded; confirming/.test(e.text)), 240_000, "the rules to be loaded");
    expect(await listing(3)).toMatch(/9100/);
    worker.child.kill("SIGKILL");
    await worker.exited;
    // The host restores its previous rules by itself.
    await waitUntil(async () => ((await listing(3)) === before ? true : null), (WINDOW_S + 10) * 1000, "the host to roll back");

    // The next worker takes the killed run over (it starts again from observing) and finishes it.
    worker = startWorker(workerEnv());
    await finished(run.id);
    const next = await applyTopologyRun(deps(), caller, topologyId);
    const done = await finished(next.id);
    expect(done.status).toBe("partial");
    // Reported once, by the run that found the rollback (the one taken over), and refused by each apply since.
    expect(await eventsText(run.id)).toMatch(/firewall: rolled back by the host at/);
    expect(done.outcome).toMatch(/rolled this firewall rule set back/);
    expect(await listing(3)).toBe(before);
    // Not looping: the apply after it refuses the same rule set again, loading nothing.
    const again = await applyTopologyRun(deps(), caller, topologyId);
    expect((await finished(again.id)).outcome).toMatch(/rolled this firewall rule set back/);
    expect((await getFirewall(db, topologyId)).events.filter((e) => e.kind === "rolled-back" && e.serverId === ids[3]).length).toBe(1);

    // An admin forces it: applied and confirmed.
    const forced = await applyTopologyRun(deps(), caller, topologyId, { forceFirewall: true });
    expect((await finished(forced.id)).status, await eventsText(forced.id)).toBe("succeeded");
    expect(await listing(3)).toMatch(/tcp dport 9100 accept/);
    await deleteFirewallRule(db, rule.id);
  }, 600_000);
});
