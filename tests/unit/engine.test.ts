// The engine's second step, pure parts: who holds a role's ports and what the plan
// does about it, daemons that run an older configuration than the one on disk,
// host checks judged from an observation, skipped hosts and rollout batches, and
// the role modules' declarations. The observe script's new probes run under a real
// shell against real processes and files.
import { describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseListeners, portFindings } from "@/server/provision/listeners";
import { observeCommand, parseFreshness, parseHostObservation } from "@/server/provision/observe";
import { freshnessProbes, type HostObservation, planHost, planTopology, PlanRefusedError, staleFile } from "@/server/provision/planner";
import { judgeHostCheck } from "@/server/provision/checks";
import { batchesOf, skippedHosts } from "@/server/provision/rollout";
import { desiredState, hops, needsBackendCert, ROLE_MODULES, type TopologySpec } from "@/server/provision/roles";
import type { Observed } from "@/server/provision/resources";
import { DEFAULT_APP, ROLES } from "@/server/schemas/topology";
import { testDatabase } from "../support/db-credentials";

function withTls(spec: Omit<TopologySpec, "tls" | "app" | "appEnv">): TopologySpec {
  const backends = new Map(spec.hosts.filter(needsBackendCert).map((h) => [h.serverId, { certPem: `CERT ${h.name}\n`, keyPem: `KEY ${h.name}\n` }]));
  return { ...spec, app: DEFAULT_APP, appEnv: [], database: testDatabase(spec.hosts), tls: { caPem: "CA CERT\n", siteBundle: "SITE CERT\nSITE KEY\n", backends } };
}

const spec = withTls({
  id: "t",
  name: "www.foobar.test",
  balance: "roundrobin",
  hosts: [
    { serverId: "s1", name: "lab1", address: "10.213.47.11", roles: ["load-balancer"], monitoring: true, drained: false },
    { serverId: "s2", name: "lab2", address: "10.213.47.12", roles: ["web", "app"], monitoring: true, drained: false },
    { serverId: "s3", name: "lab3", address: "10.213.47.13", roles: ["web", "app"], monitoring: true, drained: false },
  ],
});

// As `ss -Htlnp` prints them on a Debian host where the distribution's nginx runs its default site.
const SS_NGINX = [
  'LISTEN 0      511          0.0.0.0:80        0.0.0.0:*    users:(("nginx",pid=412,fd=5),("nginx",pid=411,fd=5))',
  'LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=32,fd=3))',
  'LISTEN 0      511             [::]:80           [::]:*    users:(("nginx",pid=412,fd=6),("nginx",pid=411,fd=6))',
  "unit 32 ssh.service",
  "unit 411 nginx.service",
  "unit 412 nginx.service",
];
const SS_NC = ['LISTEN 0      1            0.0.0.0:443       0.0.0.0:*    users:(("nc",pid=977,fd=3))', "unit 977 session-4.scope"];
const SS_HAPROXY = ['LISTEN 0 4096 0.0.0.0:443 0.0.0.0:* users:(("haproxy",pid=88,fd=7))', 'LISTEN 0 4096 0.0.0.0:80 0.0.0.0:* users:(("haproxy",pid=88,fd=6))', "unit 88 haproxy.service"];

/** Everything of the LB host's desired resources observed as converged (installed, written, running). */
function convergedLb(): Map<string, Observed> {
  const d = desiredState(spec).get("s1")!;
  const out = new Map<string, Observed>();
  for (const r of d.resources) {
    if (r.kind === "package") out.set(`package:${r.name}`, { kind: "package", status: "installed", version: "1" });
    else if (r.kind === "service") out.set(`service:${r.name}`, { kind: "service", load: "loaded", unitFile: "enabled", active: "active", pending: "" });
    else if (r.kind === "directory") out.set(`directory:${r.path}`, { kind: "path", type: "directory", mode: r.mode, owner: r.owner, group: r.group, sha256: null, content: null });
    else if (r.kind === "file" && r.content !== null)
      out.set(`file:${r.path}`, {
        kind: "path",
        type: "file",
        mode: r.mode,
        owner: r.owner,
        group: r.group,
        sha256: (require("node:crypto") as typeof import("node:crypto")).createHash("sha256").update(r.content).digest("hex"),
        content: null,
      });
  }
  return out;
}

describe("listening sockets", () => {
  it("parses ss output with each process's systemd unit", () => {
    const l = parseListeners(SS_NGINX);
    expect(l).toHaveLength(3);
    expect(l[0]).toEqual({
      address: "0.0.0.0",
      port: 80,
      processes: [
        { name: "nginx", pid: 412, unit: "nginx.service" },
        { name: "nginx", pid: 411, unit: "nginx.service" },
      ],
    });
    expect(l[2]!.address).toBe("::");
  });

  it("a distribution's nginx on a load balancer's :80 is stopped and disabled by an explicit step, before HAProxy starts", () => {
    const d = desiredState(spec).get("s1")!;
    const steps = planHost(d, convergedLb(), { listeners: parseListeners(SS_NGINX), fresh: new Map() });
    const stop = steps.find((s) => s.summary === "stop and disable nginx");
    expect(stop).toBeDefined();
    expect(stop!.tier).toBe("load-balancer");
    expect(stop!.reason).toMatch(/port 80, which haproxy.service needs .* is held by nginx \(pid 412, nginx.service\)/);
    expect(stop!.action).toMatchObject({ op: "systemctl", verb: "disable-now", unit: "nginx.service" });
    // HAProxy's configuration is in sync here; the stop is the only step.
    expect(steps.map((s) => s.summary)).toEqual(["stop and disable nginx"]);
  });

  it("an unknown process on :443 of a load balancer: the plan refuses, naming the process and the port", () => {
    const d = desiredState(spec).get("s1")!;
    expect(() => planHost(d, convergedLb(), { listeners: parseListeners(SS_NC), fresh: new Map() })).toThrow(PlanRefusedError);
    expect(() => planHost(d, convergedLb(), { listeners: parseListeners(SS_NC), fresh: new Map() })).toThrow(
      /port 443, which haproxy.service needs .* held by nc \(pid 977, session-4.scope\) on 0.0.0.0:443/,
    );
    const plan = planTopology(spec, desiredState(spec), new Map([["s1", { ok: true, observed: convergedLb(), listeners: parseListeners(SS_NC) }]]), new Date(0));
    expect(plan.hosts[0]!.error).toMatch(/held by nc/);
  });

  it("the role's own daemon on its ports needs nothing", () => {
    const d = desiredState(spec).get("s1")!;
    expect(planHost(d, convergedLb(), { listeners: parseListeners(SS_HAPROXY), fresh: new Map() })).toEqual([]);
  });

  it("a daemon this host's roles manage, holding a port from an old configuration, is left to the plan that reconfigures it", () => {
    const claims = [{ port: 80, unit: "haproxy.service", purpose: "HTTP" }];
    const l = parseListeners(SS_NGINX);
    expect(portFindings(claims, l, new Set(["nginx.service"]), new Set(["nginx.service"]))[0]).toMatchObject({ kind: "freed-by-plan", unit: "nginx.service" });
    expect(portFindings(claims, l, new Set(["nginx.service"]), new Set())[0]).toMatchObject({ kind: "refuse" });
  });
});

describe("the running configuration", () => {
  it("turns process start ticks into epoch seconds with one clock reading", () => {
    const f = parseFreshness(["start 34639", "start 34644", "clock 1796123315.240 353.52 100", "mtime 1796123312.003 /etc/haproxy/haproxy.cfg"]);
    expect(f.youngestStart).toBeCloseTo(1796123315.24 - (353.52 - 346.44), 2);
    expect(staleFile(f)).toEqual({ path: "/etc/haproxy/haproxy.cfg", changedAt: 1796123312.003 });
    expect(staleFile({ ...f, files: [{ path: "/x", mtime: 1796123300 }] })).toBeNull();
  });

  it("a daemon older than its configuration is reloaded, with the reason", () => {
    const d = desiredState(spec).get("s1")!;
    const fresh = new Map([["haproxy", { youngestStart: 1000, files: [{ path: "/etc/haproxy/haproxy.cfg", mtime: 1005 }] }]]);
    const steps = planHost(d, convergedLb(), { listeners: parseListeners(SS_HAPROXY), fresh });
    expect(steps.map((s) => s.summary)).toEqual(["reload haproxy"]);
    expect(steps[0]!.reason).toMatch(/haproxy runs a configuration older than \/etc\/haproxy\/haproxy.cfg/);
  });

  it("judges the listening and running-configuration checks from an observation", () => {
    const lb = ROLE_MODULES["load-balancer"];
    const [listen443] = lb.checks(spec, spec.hosts[0]!).filter((c) => c.kind === "listening" && c.claim.port === 443);
    expect(judgeHostCheck("load-balancer", listen443!, { listeners: parseListeners(SS_HAPROXY), fresh: new Map() }).ok).toBe(true);
    const bad = judgeHostCheck("load-balancer", listen443!, { listeners: parseListeners(SS_NC), fresh: new Map() });
    expect(bad).toMatchObject({ ok: false, found: "0.0.0.0:443 is held by nc (pid 977, session-4.scope)" });
    expect(judgeHostCheck("load-balancer", listen443!, { listeners: [], fresh: new Map() }).found).toBe("nothing listens on port 443");
    const stale = judgeHostCheck(
      "load-balancer",
      { kind: "running-config", unit: "haproxy.service" },
      { listeners: [], fresh: new Map([["haproxy", { youngestStart: 1000, files: [{ path: "/etc/haproxy/haproxy.cfg", mtime: 1005 }] }]]) },
    );
    expect(stale.ok).toBe(false);
    expect(stale.found).toMatch(/runs an older configuration/);
  });

  it("the observe script reads listeners and freshness from a real system", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-fresh-"));
    const cfg = path.join(dir, "old.cfg");
    writeFileSync(cfg, "x");
    utimesSync(cfg, 1_000_000, 1_000_000);
    const d = desiredState(spec).get("s2")!;
    const extras = { listeners: true, fresh: [{ unit: "no-such-unit-here", files: [cfg, path.join(dir, "absent")] }] };
    const cmd = observeCommand([], extras);
    const out = execFileSync(cmd.argv[0]!, cmd.argv.slice(1), { encoding: "utf8" });
    const o = parseHostObservation([], extras, out);
    expect(Array.isArray(o.listeners)).toBe(true);
    expect(o.fresh.get("no-such-unit-here")).toEqual({ youngestStart: null, files: [{ path: cfg, mtime: 1_000_000 }] });
    expect(
      freshnessProbes(d.resources)
        .map((p) => p.unit)
        .sort(),
    ).toEqual(["nginx", "prometheus-nginx-exporter", "prometheus-node-exporter", "rampart-app"]);
  });

  it("a listener started here shows up with its port", async () => {
    const server = spawn(process.execPath, ["-e", "require('net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port) })"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const port = Number(await new Promise<string>((r) => server.stdout!.once("data", (d) => r(String(d).trim()))));
      const cmd = observeCommand([], { listeners: true });
      const o = parseHostObservation([], { listeners: true }, execFileSync(cmd.argv[0]!, cmd.argv.slice(1), { encoding: "utf8" }));
      const mine = o.listeners!.find((l) => l.port === port);
      expect(mine?.address).toBe("127.0.0.1");
      expect(mine?.processes[0]?.pid).toBe(server.pid);
      // Its unit, as the script cut it from /proc/<pid>/cgroup with the shell's own expansions.
      const line = readFileSync(`/proc/${server.pid}/cgroup`, "utf8")
        .split("\n")
        .find((l) => /^0::|:name=systemd:/.test(l))!;
      expect(mine?.processes[0]?.unit).toBe(line.slice(line.lastIndexOf("/") + 1) || null); // null: no unit (the root cgroup)
    } finally {
      server.kill();
    }
  });
});

describe("rollout", () => {
  it("one host first, then batches of the configured size", () => {
    expect(batchesOf([1, 2, 3, 4, 5, 6, 7], 3)).toEqual([[1], [2, 3, 4], [5, 6, 7]]);
    expect(batchesOf([1], 5)).toEqual([[1]]);
    expect(batchesOf([], 5)).toEqual([]);
    expect(batchesOf([1, 2, 3], 0)).toEqual([[1], [2], [3]]);
  });

  it("skips unreachable hosts and the hosts that depend on them, with the reason", () => {
    const db = withTls({
      id: "d",
      name: "db.test",
      balance: "roundrobin",
      hosts: [
        { serverId: "p", name: "db1", address: "10.0.0.1", roles: ["db-primary"], monitoring: false, drained: false },
        { serverId: "r", name: "db2", address: "10.0.0.2", roles: ["db-replica"], monitoring: false, drained: false },
        { serverId: "w", name: "web1", address: "10.0.0.3", roles: ["web", "load-balancer"], monitoring: false, drained: false },
      ],
    });
    const obs = new Map<string, HostObservation>([
      ["p", { ok: false, error: "10.0.0.1 is unreachable: ETIMEDOUT", unreachable: true }],
      ["r", { ok: true, observed: new Map() }],
      ["w", { ok: true, observed: new Map() }],
    ]);
    const skipped = skippedHosts(db, planTopology(db, desiredState(db), obs, new Date(0)));
    expect(skipped.get("p")).toMatch(/^unreachable: /);
    expect(skipped.get("r")).toBe("depends on db1, which is skipped");
    // The web tier does not depend on the database roles of this issue: it converges.
    expect(skipped.has("w")).toBe(false);
  });
});

describe("role modules", () => {
  it("every role has a module with a tier, and every port claim has a check", () => {
    for (const role of ROLES) {
      const m = ROLE_MODULES[role];
      expect(m.role).toBe(role);
      for (const h of spec.hosts.filter((x) => x.roles.includes(role))) {
        const checked = m.checks(spec, h).flatMap((c) => (c.kind === "listening" ? [c.claim.port] : []));
        expect(
          m
            .ports(spec, h)
            .map((p) => p.port)
            .sort(),
        ).toEqual(checked.sort());
      }
    }
  });

  it("declares the traffic between the tiers", () => {
    const h = hops(spec);
    expect(h.filter((x) => x.to.role === "web").map((x) => [x.to.serverId, x.port, x.from])).toEqual([
      // The nginx exporter's metrics, through nginx: from the control plane only.
      ["s2", 9114, { kind: "control-plane" }],
      ["s2", 443, { kind: "role", role: "load-balancer" }],
      ["s3", 9114, { kind: "control-plane" }],
      ["s3", 443, { kind: "role", role: "load-balancer" }],
    ]);
    expect(h.find((x) => x.to.role === "load-balancer" && x.port === 443)?.from).toEqual({ kind: "internet" });
  });

  it("refuses two roles that need the same port for different daemons", () => {
    const bad = withTls({ id: "x", name: "x.test", balance: "roundrobin", hosts: [{ serverId: "a", name: "a", address: "10.0.0.9", roles: ["web", "app"], monitoring: false, drained: false }] });
    expect(() => desiredState({ ...bad, app: { ...bad.app, port: 443 } })).toThrow(/two roles need port 443 on a: (nginx|rampart-app).service .* and (nginx|rampart-app).service/);
  });
});
