// The provisioning engine's pure parts: renderers and plans (golden files), the
// observe script and its parser (run under a real shell), topology validation,
// and the planner's central property: after applying a plan, planning again
// finds nothing to do — also when an apply was cut short halfway.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { renderHostPage, renderNginxSite } from "@/server/provision/render/nginx";
import { renderHaproxyConfig } from "@/server/provision/render/haproxy";
import { desiredState, needsBackendCert, NGINX_SITE, type TopologySpec } from "@/server/provision/roles";
import { renderAppTlsFront } from "@/server/provision/render/nginx";
import { renderAppUnit, renderEnvFile } from "@/server/provision/render/app";
import { observeCommand, parseObservation } from "@/server/provision/observe";
import { planTopology, toPlanDto, type HostObservation, type Plan } from "@/server/provision/planner";
import { type Resource, resourceId } from "@/server/provision/resources";
import { DEFAULT_APP, topologyProblems, type Role } from "@/server/schemas/topology";
import { SimHost } from "../support/host-sim";
import { testDatabase } from "../support/db-credentials";

/** Stand-ins for certificates (the planner only copies them into files). */
function withTls(spec: Omit<TopologySpec, "tls" | "app" | "appEnv">, appEnv: Array<[string, string]> = []): TopologySpec {
  const backends = new Map(spec.hosts.filter(needsBackendCert).map((h) => [h.serverId, { certPem: `CERT ${h.name}\n`, keyPem: `KEY ${h.name}\n` }]));
  return { ...spec, app: DEFAULT_APP, appEnv, database: testDatabase(spec.hosts), tls: { caPem: "CA CERT\n", siteBundle: "SITE CERT\nSITE KEY\n", backends } };
}

const spec3: TopologySpec = withTls(
  {
    id: "topo1",
    name: "www.foobar.test",
    balance: "roundrobin",
    hosts: [
      { serverId: "s1", name: "lab1", address: "10.213.47.11", roles: ["load-balancer"], monitoring: true, drained: false },
      { serverId: "s2", name: "lab2", address: "10.213.47.12", roles: ["web", "app"], monitoring: true, drained: false },
      { serverId: "s3", name: "lab3", address: "10.213.47.13", roles: ["web"], monitoring: false, drained: true },
    ],
  },
  [["API_TOKEN", "s3cr3t-value"]],
);

function watchedFor(resources: Resource[]): Map<string, string[]> {
  const w = new Map<string, string[]>();
  for (const r of resources)
    if (r.kind === "service")
      w.set(
        r.name,
        [...r.reloadOn, ...r.restartOn].map((id) => id.slice(id.indexOf(":") + 1)),
      );
  return w;
}

function simulate(spec: TopologySpec) {
  const desired = desiredState(spec);
  const hosts = new Map(spec.hosts.map((h) => [h.serverId, new SimHost(watchedFor(desired.get(h.serverId)!.resources))]));
  const observe = (): Map<string, HostObservation> =>
    new Map(
      spec.hosts.map((h) => {
        const resources = desired.get(h.serverId)!.resources;
        return [h.serverId, { ok: true, observed: parseObservation(resources, hosts.get(h.serverId)!.observeOutput(resources)) }];
      }),
    );
  const plan = () => planTopology(spec, desired, observe(), new Date("2026-11-27T00:00:00Z"));
  const apply = (p: Plan, limit = Infinity) => {
    let n = 0;
    for (const h of p.hosts) for (const s of h.steps) if (n++ < limit) hosts.get(h.serverId)!.apply(s.action);
  };
  return { desired, hosts, plan, apply };
}

describe("renderers (golden)", () => {
  const tls = { cert: "/etc/rampart/tls/server.pem", key: "/etc/rampart/tls/server.key", ca: "/etc/rampart/tls/ca.pem" };
  const site = { siteName: "www.foobar.test", hostName: "lab2", port: 443, root: "/var/www/rampart", tls };
  it("renders the nginx site: HTTPS only, the app on loopback", async () => {
    const conf = renderNginxSite({ ...site, app: { kind: "local", port: 8000, healthPath: "/healthz" } });
    await expect(conf).toMatchFileSnapshot("golden/nginx-site-local-app.conf");
    expect(conf).not.toMatch(/listen 80\b/);
  });
  it("renders the nginx site: apps on other hosts over verified TLS", async () => {
    const conf = renderNginxSite({
      ...site,
      app: {
        kind: "remote",
        servers: [
          { address: "10.0.0.7", port: 9443 },
          { address: "10.0.0.8", port: 9443 },
        ],
        verifyName: "rampart-app",
      },
    });
    await expect(conf).toMatchFileSnapshot("golden/nginx-site-remote-app.conf");
    expect(conf).toContain("proxy_ssl_verify on;");
    expect(conf).toContain("proxy_ssl_certificate /etc/rampart/tls/server.pem;");
    expect(conf).toContain("ssl_verify_client on;");
  });
  it("renders the nginx site without app servers, and the app servers' TLS front", async () => {
    await expect(renderNginxSite({ ...site, app: { kind: "none" } })).toMatchFileSnapshot("golden/nginx-site-static.conf");
    await expect(renderAppTlsFront({ siteName: "www.foobar.test", port: 9443, appPort: 8000, tls })).toMatchFileSnapshot("golden/nginx-app-tls.conf");
  });
  it("renders the page that names the host, escaping HTML", async () => {
    await expect(renderHostPage(site)).toMatchFileSnapshot("golden/host-page.html");
    expect(renderHostPage({ ...site, hostName: "<b>x</b>" })).toContain("&#60;b&#62;x&#60;/b&#62;");
  });
  it("renders the app's unit and environment file", async () => {
    await expect(
      renderAppUnit({ siteName: "www.foobar.test", user: "rampart-app", workingDirectory: "/opt/rampart-app/sample", startCommand: "/usr/bin/python3 app.py", envFile: "/etc/rampart/app.env" }),
    ).toMatchFileSnapshot("golden/rampart-app.service");
    expect(renderEnvFile([["A", 'x "quoted" \\ $HOME']])).toBe('A="x \\"quoted\\" \\\\ $HOME"\n');
  });
  it("renders the HAProxy configuration", async () => {
    const cfg = renderHaproxyConfig({
      siteName: "www.foobar.test",
      balance: "leastconn",
      checkIntervalMs: 2000,
      siteCertFile: "/etc/haproxy/site.pem",
      caFile: "/etc/rampart/tls/ca.pem",
      clientCertFile: "/etc/haproxy/client.pem",
      backends: [
        { name: "lab2", address: "10.213.47.12", port: 443, drained: false },
        { name: "web6", address: "2001:db8::6", port: 8443, drained: true },
      ],
    });
    await expect(cfg).toMatchFileSnapshot("golden/haproxy.cfg");
    expect(cfg).toContain("server web6 [2001:db8::6]:8443 verifyhost web6 sni str(web6) weight 0");
    expect(cfg).toContain("ssl verify required ca-file /etc/rampart/tls/ca.pem crt /etc/haproxy/client.pem");
    expect(cfg).not.toContain("http-request return");
  });

  it("answers ACME HTTP-01 challenges statelessly with the account's thumbprint, and refuses anything else as one", () => {
    const base = { siteName: "www.foobar.test", balance: "roundrobin" as const, checkIntervalMs: 2000, siteCertFile: "/s", caFile: "/c", clientCertFile: "/k", backends: [] };
    const thumb = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
    const cfg = renderHaproxyConfig({ ...base, acmeThumbprint: thumb });
    const lines = cfg.split("\n");
    const answer = lines.findIndex((l) => l.includes("http-request return"));
    expect(lines[answer]).toBe(`    http-request return status 200 content-type text/plain lf-string "%[path,field(4,/)].${thumb}" if { path_reg ^/[.]well-known/acme-challenge/[A-Za-z0-9_-]+$ }`);
    // Before the redirect to HTTPS, which would otherwise take the challenge.
    expect(answer).toBeLessThan(lines.findIndex((l) => l.includes("redirect scheme https")));
    expect(() => renderHaproxyConfig({ ...base, acmeThumbprint: 'x" if TRUE\n    server evil 1.2.3.4:80' })).toThrow(/not an ACME account thumbprint/);
  });
});

describe("plans (golden)", () => {
  it("plans a fresh 3-host topology tier by tier", async () => {
    const sim = simulate(spec3);
    const plan = toPlanDto(sim.plan());
    await expect(JSON.stringify(plan, null, 2) + "\n").toMatchFileSnapshot("golden/plan-fresh.json");
    const lb = plan.hosts.find((h) => h.name === "lab1")!;
    expect(lb.steps.map((s) => s.summary)).toEqual([
      // The monitoring client first (base tier), on every monitored server.
      "install prometheus-node-exporter",
      "create /var/lib/rampart",
      "create /etc/rampart",
      "create /etc/rampart/tls",
      "create /etc/prometheus",
      "create /etc/rampart/tls/ca.pem",
      "create /etc/rampart/tls/exporter.pem",
      "create /etc/rampart/tls/exporter.key",
      "create /etc/prometheus/rampart-exporter-web.yml",
      "create /etc/default/prometheus-node-exporter",
      "enable prometheus-node-exporter",
      "start prometheus-node-exporter",
      "install haproxy, socat",
      "create /etc/haproxy/site.pem",
      "create /etc/haproxy/client.pem",
      "create /etc/haproxy/haproxy.cfg",
      "enable haproxy",
      "start haproxy",
    ]);
    // The app tier runs before the web tier, on every host.
    const lab2 = plan.hosts.find((h) => h.name === "lab2")!;
    expect(lab2.steps.map((s) => s.tier)).toEqual(
      [...lab2.steps.map((s) => s.tier)].sort((a, b) => ["base", "database", "app", "web", "load-balancer"].indexOf(a) - ["base", "database", "app", "web", "load-balancer"].indexOf(b)),
    );
    // Secrets are in files, never in the plan.
    const text = JSON.stringify(plan);
    for (const secret of ["KEY lab2", "SITE KEY", "s3cr3t-value"]) expect(text).not.toContain(secret);
    expect(lab2.steps.find((s) => s.resource === "file /etc/rampart/tls/server.key")!.diff).toBeNull();
    expect(lab2.steps.find((s) => s.resource === "file /etc/rampart/tls/exporter.key")!.diff).toBeNull();
    // Its package starts the exporter with Debian's defaults (every address, no TLS): it is restarted, not only started.
    expect(lb.steps.find((s) => s.summary === "start prometheus-node-exporter")!.commands[0]).toBe("systemctl restart -- prometheus-node-exporter");
    // A server with monitoring turned off gets none of it.
    const lab3 = plan.hosts.find((h) => h.name === "lab3")!;
    expect(lab3.steps.some((s) => s.resource.includes("prometheus"))).toBe(false);
  });

  it("plans a hand-edited nginx file as an update with a diff and a reload", async () => {
    const sim = simulate(spec3);
    sim.apply(sim.plan());
    sim.hosts.get("s2")!.paths.get(NGINX_SITE)!.content = sim.hosts.get("s2")!.paths.get(NGINX_SITE)!.content.replace("listen 443 ssl", "listen 9999 ssl");
    const plan = toPlanDto(sim.plan());
    expect(plan.changes).toBe(2);
    await expect(JSON.stringify(plan.hosts[1], null, 2) + "\n").toMatchFileSnapshot("golden/plan-drift.json");
    const [update, reload] = plan.hosts[1]!.steps;
    expect(update!.diff).toContain("-    listen 9999 ssl http2 default_server;");
    expect(update!.diff).toContain("+    listen 443 ssl http2 default_server;");
    expect(reload!.summary).toBe("reload nginx");
    expect(reload!.commands).toEqual(["nginx -t -q", "systemctl reload -- nginx", "rm -f -- /var/lib/rampart/pending/nginx"]);
  });

  it("never puts a secret file's content or diff in the plan", () => {
    const secret = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----\n";
    const resources: Resource[] = [{ kind: "file", tier: "web", path: "/etc/ssl/private/site.key", content: secret, mode: 0o600, owner: "root", group: "root", secret: true }];
    const sim = new SimHost(new Map());
    sim.paths.set("/etc/ssl/private/site.key", { type: "file", content: "old secret", mode: 0o600, owner: "root", group: "root" });
    const out = sim.observeOutput(resources);
    expect(out).not.toContain(Buffer.from("old secret").toString("base64"));
    const plan = planTopology(
      withTls({ id: "t", name: "a.test", balance: "roundrobin", hosts: [{ serverId: "x", name: "x", address: "10.0.0.1", roles: [], monitoring: false, drained: false }] }),
      new Map([["x", { resources, notes: [], ports: [], checks: [] }]]),
      new Map([["x", { ok: true, observed: parseObservation(resources, out) }]]),
      new Date(0),
    );
    const text = JSON.stringify(toPlanDto(plan));
    expect(plan.changes).toBe(1);
    expect(text).not.toContain("MIIEsecret");
    expect(text).not.toContain("old secret");
  });
});

describe("files found on a host", () => {
  const res: Resource = { kind: "file", tier: "web", path: "/etc/haproxy/haproxy.cfg", content: "# Managed by Rampart for x.\nglobal\n", mode: 0o644, owner: "root", group: "root" };
  const planFor = (content: string) => {
    const sim = new SimHost(new Map());
    sim.paths.set(res.path, { type: "file", content, mode: 0o644, owner: "root", group: "root" });
    return planTopology(
      { ...spec3, hosts: [spec3.hosts[0]!] },
      new Map([["s1", { resources: [res], notes: [], ports: [], checks: [] }]]),
      new Map([["s1", { ok: true, observed: parseObservation([res], sim.observeOutput([res])) }]]),
      new Date(0),
    ).hosts[0]!.steps[0]!;
  };
  it("keeps a copy of a file Rampart did not write before replacing it, once", () => {
    const step = planFor("global\n  daemon\n");
    expect(step.action).toMatchObject({ op: "write", backup: true });
    expect(toPlanDto({ ...sim0(), hosts: [{ ...sim0().hosts[0]!, steps: [step] }] }).hosts[0]!.steps[0]!.commands[0]).toMatch(
      /^sh -c .*rampart-backup \/var\/lib\/rampart\/backup \/etc\/haproxy\/haproxy.cfg$/,
    );
    expect(planFor("# Managed by Rampart for x.\nold\n").action).toMatchObject({ op: "write", backup: false });
  });
  it("masks credential lines of the file on the host in the plan's diff", () => {
    const step = planFor("global\nuserlist admins\n  user admin insecure-password hunter2\nlisten stats\n  stats auth admin:s3cret\n");
    expect(step.diff).not.toContain("hunter2");
    expect(step.diff).not.toContain("s3cret");
    expect(step.diff).toContain("-  user [redacted by Rampart]");
  });
});

function sim0(): Plan {
  return { topologyId: "t", topologyName: "x", observedAt: new Date(0), changes: 0, hosts: [{ serverId: "s1", name: "lab1", address: "10.0.0.1", roles: [], error: null, steps: [], notes: [] }] };
}

describe("the observe script under a real shell", () => {
  it("reports files, directories, absent paths, packages and users as the parser expects", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-observe-"));
    writeFileSync(path.join(dir, "same"), "hello\n");
    writeFileSync(path.join(dir, "differs"), "it's 'quoted' $(not run)\n");
    chmodSync(path.join(dir, "differs"), 0o640);
    mkdirSync(path.join(dir, "sub dir"));
    const owner = os.userInfo().username;
    const group = execFileSync("id", ["-gn"], { encoding: "utf8" }).trim();
    const f = (p: string, content: string | null): Resource => ({ kind: "file", tier: "base", path: path.join(dir, p), content, mode: 0o644, owner, group });
    const resources: Resource[] = [
      f("same", "hello\n"),
      f("differs", "new\n"),
      f("absent", "x"),
      { kind: "directory", tier: "base", path: path.join(dir, "sub dir"), mode: 0o755, owner, group },
      { kind: "package", tier: "base", name: "dpkg" },
      { kind: "package", tier: "base", name: "no-such-package-rampart" },
      { kind: "user", tier: "base", name: "root", home: "/root" },
      { kind: "user", tier: "base", name: "nosuchuserrampart", home: "/" },
    ];
    const cmd = observeCommand(resources);
    const stdout = execFileSync(cmd.argv[0]!, cmd.argv.slice(1), { encoding: "utf8" });
    const o = parseObservation(resources, stdout);
    const get = (r: Resource) => o.get(resourceId(r))!;
    expect(get(resources[0]!)).toMatchObject({ kind: "path", type: "file", mode: 0o644, content: null });
    expect(get(resources[1]!)).toMatchObject({ kind: "path", type: "file", mode: 0o640, content: "it's 'quoted' $(not run)\n" });
    expect(get(resources[2]!)).toMatchObject({ kind: "path", type: "absent" });
    expect(get(resources[3]!)).toMatchObject({ kind: "path", type: "directory", mode: 0o755, owner, group });
    expect(get(resources[4]!)).toMatchObject({ kind: "package", status: "installed" });
    expect(get(resources[5]!)).toMatchObject({ kind: "package", status: "absent" });
    expect(get(resources[6]!)).toMatchObject({ kind: "user", exists: true, home: "/root" });
    expect(get(resources[7]!)).toMatchObject({ kind: "user", exists: false });
  });
});

describe("topology validation", () => {
  const m = (serverId: string, ...roles: Role[]) => ({ serverId, roles });
  const messages = (ms: ReturnType<typeof m>[]) => topologyProblems(ms).map((i) => `${i.path.join(".")}: ${i.message}`);
  it("accepts the seed's shape and shared roles", () => {
    expect(messages([m("a", "load-balancer"), m("b", "web", "app"), m("c", "db-primary"), m("d", "db-replica")])).toEqual([]);
    expect(messages([m("a", "load-balancer", "web", "app", "db-primary")])).toEqual([]);
  });
  it("names each problem and where it is", () => {
    expect(messages([m("a", "load-balancer")])).toEqual(["members.0.roles: the load balancer needs at least one web server behind it"]);
    expect(messages([m("a", "web")])).toEqual(["members.0.roles: web servers need a load balancer in front of them"]);
    expect(messages([m("a", "load-balancer", "web"), m("b", "db-primary"), m("c", "db-primary")])).toEqual(["members.2.roles: there must be exactly one database primary"]);
    expect(messages([m("a", "db-primary", "db-replica")])).toEqual(["members.0.roles: a database replica cannot be its own primary: choose primary or replica"]);
    expect(messages([m("a", "db-replica")])).toEqual(["members.0.roles: a database replica needs a database primary to replicate from"]);
    expect(messages([m("a", "load-balancer", "web"), m("a", "app")])[0]).toBe("members.1.serverId: this server is already listed (row 1)");
    expect(messages([])).toEqual(["members: add at least one server"]);
    expect(messages([m("a")])).toEqual(["members.0.roles: give this server at least one role, or remove it"]);
  });
});

// ---- Properties

const roleSets: Role[][] = [["load-balancer"], ["web"], ["web", "app"], ["load-balancer", "web"], ["app"], ["db-primary"], ["web", "db-replica"]];
const archive = Buffer.from("not really a tarball");
const apps: Array<Pick<TopologySpec, "app" | "appArchive">> = [
  { app: DEFAULT_APP },
  { app: { ...DEFAULT_APP, source: "path", path: "/srv/app", startCommand: "/usr/bin/node server.js" } },
  { app: { ...DEFAULT_APP, source: "tarball", artifact: "a".repeat(64), startCommand: "/usr/bin/python3 app.py" }, appArchive: archive },
];
const arbSpec = fc.tuple(fc.array(fc.constantFrom(...roleSets), { minLength: 1, maxLength: 6 }), fc.constantFrom(...apps)).map(([sets, app]): TopologySpec => ({
  ...withTls({
    id: "t",
    name: "www.prop.test",
    balance: "roundrobin",
    hosts: sets.map((roles, i) => ({ serverId: `s${i}`, name: `h${i}`, address: `10.0.0.${i + 1}`, roles, monitoring: true, drained: i % 3 === 2 })),
  }),
  ...app,
}));

/** Random starting states: packages already there, services stopped or disabled, files wrong, a stale pending reload. */
const arbMess = fc.record({
  nginx: fc.boolean(),
  haproxy: fc.boolean(),
  stopped: fc.boolean(),
  disabled: fc.boolean(),
  wrongSite: fc.boolean(),
  wrongMode: fc.boolean(),
  pendingReload: fc.boolean(),
});

type Mess = { nginx: boolean; haproxy: boolean; stopped: boolean; disabled: boolean; wrongSite: boolean; wrongMode: boolean; pendingReload: boolean };

function mess(sim: ReturnType<typeof simulate>, m: Mess) {
  for (const host of sim.hosts.values()) {
    if (m.nginx) host.apply({ op: "apt-install", packages: ["nginx"] });
    if (m.haproxy) host.apply({ op: "apt-install", packages: ["haproxy"] });
    for (const s of host.services.values()) {
      if (m.stopped) s.active = false;
      if (m.disabled) s.enabled = false;
    }
    if (m.wrongSite) host.paths.set(NGINX_SITE, { type: "file", content: "server { listen 1; }\n", mode: 0o644, owner: "root", group: "root" });
    if (m.wrongMode) host.paths.set("/var/lib/rampart", { type: "directory", content: "", mode: 0o700, owner: "root", group: "root" });
    if (m.pendingReload && host.services.has("nginx"))
      host.apply({ op: "write", path: "/tmp/x", content: "", mode: 0o644, owner: "root", group: "root", secret: false, notify: [{ unit: "nginx", how: "reload" }] });
  }
}

function expectConverged(sim: ReturnType<typeof simulate>) {
  const again = sim.plan();
  expect(again.hosts.flatMap((h) => h.steps.map((s) => `${h.name}: ${s.summary}`))).toEqual([]);
  // Every service runs the configuration on disk (no reload was lost).
  for (const [id, host] of sim.hosts)
    for (const r of sim.desired.get(id)!.resources) {
      if (r.kind !== "service") continue;
      const unit = r.name;
      const s = host.services.get(unit)!;
      expect(s.active && s.enabled, `${unit} active and enabled`).toBe(true);
      expect(s.loaded, `${unit} runs the current configuration`).toBe(host.configOf(unit));
    }
}

describe("planner properties", () => {
  it("plan(desired, observe(apply(plan))) is empty, from any starting state", () => {
    fc.assert(
      fc.property(arbSpec, arbMess, (spec, m) => {
        const sim = simulate(spec);
        mess(sim, m);
        sim.apply(sim.plan());
        expectConverged(sim);
      }),
      { numRuns: 300 },
    );
  });

  it("an apply cut short after any step converges on the next apply, without losing a reload", () => {
    fc.assert(
      fc.property(arbSpec, arbMess, fc.nat({ max: 40 }), (spec, m, cut) => {
        const sim = simulate(spec);
        mess(sim, m);
        sim.apply(sim.plan(), cut); // the worker died after `cut` steps
        sim.apply(sim.plan());
        expectConverged(sim);
      }),
      { numRuns: 300 },
    );
  });

  it("plans database before app before web before load balancer", () => {
    fc.assert(
      fc.property(arbSpec, (spec) => {
        const plan = simulate(spec).plan();
        for (const h of plan.hosts) {
          const tiers = h.steps.map((s) => ["base", "database", "app", "web", "load-balancer"].indexOf(s.tier));
          expect(tiers).toEqual([...tiers].sort((a, b) => a - b));
        }
      }),
    );
  });
});
