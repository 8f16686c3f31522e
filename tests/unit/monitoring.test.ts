// The monitoring client's pure parts: which servers get it, what it writes, its
// port claimed on the server's own address, its firewall opening (control plane only).
import { describe, expect, it } from "vitest";
import { evaluate, hostRules } from "@/server/provision/firewall/policy";
import { listenedBy } from "@/server/provision/listeners";
import { judgeHostCheck } from "@/server/provision/checks";
import {
  desiredState,
  EXPORTER_KEY,
  exportersOf,
  HAPROXY_CONFIG,
  hops,
  modulesOf,
  NGINX_METRICS_SITE,
  NODE_EXPORTER_DEFAULTS,
  renderNodeExporterDefaults,
  type TopologySpec,
} from "@/server/provision/roles";
import { DEFAULT_APP } from "@/server/schemas/topology";
import { testDatabase } from "../support/db-credentials";

const host = (n: number, roles: TopologySpec["hosts"][number]["roles"], monitoring = true) => ({ serverId: `s${n}`, name: `h${n}`, address: `10.0.0.${n}`, roles, monitoring, drained: false });
const spec: TopologySpec = {
  id: "t",
  name: "shop.test",
  balance: "roundrobin",
  hosts: [host(1, ["load-balancer"]), host(2, ["web", "app"]), host(3, ["db-primary"], false)],
  app: DEFAULT_APP,
  appEnv: [],
  database: testDatabase([{ serverId: "s3" }]),
  tls: {
    caPem: "CA",
    siteBundle: "SITE",
    backends: new Map([1, 2, 3].map((n) => [`s${n}`, { certPem: `CERT h${n}`, keyPem: `KEY h${n}` }])),
  },
  firewall: { enabled: true, adminNetworks: [], rules: [], controlPlane: ["10.0.0.100"], serverIps: {}, confirmWindowS: 60 },
};

describe("monitoring client", () => {
  it("every monitored server gets it, first (base tier); one with monitoring off does not", () => {
    expect(modulesOf(spec.hosts[0]!).map((m) => m.role)).toEqual(["monitoring", "load-balancer"]);
    expect(modulesOf(spec.hosts[2]!).map((m) => m.role)).toEqual(["db-primary"]);
    const d = desiredState(spec);
    expect(d.get("s3")!.resources.some((r) => r.kind === "package" && r.name === "prometheus-node-exporter")).toBe(false);
    const lb = d.get("s1")!;
    const key = lb.resources.find((r) => r.kind === "file" && r.path === EXPORTER_KEY);
    // The exporter runs as Debian's "prometheus" user: its key is readable by that group only, and never shown.
    expect(key).toMatchObject({ mode: 0o640, owner: "root", group: "prometheus", secret: true, content: "KEY h1" });
    expect(lb.checks.filter((c) => c.role === "monitoring").map((c) => c.check.kind)).toEqual(["listening", "running-config", "exporter"]);
  });

  it("listens on the server's own address over TLS, with the web configuration", () => {
    expect(renderNodeExporterDefaults("10.0.0.7")).toContain(
      "ARGS='--web.listen-address=10.0.0.7:9100 --web.config.file=/etc/prometheus/rampart-exporter-web.yml --collector.filesystem.fs-types-exclude=^(",
    );
    // A root file system on overlay (a server in a container) is measured.
    expect(renderNodeExporterDefaults("10.0.0.7")).not.toContain("overlay");
    expect(renderNodeExporterDefaults("fd00::7")).toContain("--web.listen-address=[fd00::7]:9100 ");
    const defaults = desiredState(spec)
      .get("s2")!
      .resources.find((r) => r.kind === "file" && r.path === NODE_EXPORTER_DEFAULTS);
    expect(defaults).toMatchObject({ content: expect.stringContaining("10.0.0.2:9100") });
  });

  it("its port counts as listened on only on the server's address (or every address), by its own unit", () => {
    const unit = "prometheus-node-exporter.service";
    const l = (address: string, u = unit) => [{ address, port: 9100, processes: [{ name: "prometheus-node", pid: 9, unit: u }] }];
    expect(listenedBy(l("10.0.0.2"), 9100, unit, "any", "10.0.0.2")).not.toBeNull();
    expect(listenedBy(l("0.0.0.0"), 9100, unit, "any", "10.0.0.2")).not.toBeNull();
    expect(listenedBy(l("127.0.0.1"), 9100, unit, "any", "10.0.0.2")).toBeNull();
    expect(listenedBy(l("10.0.0.9"), 9100, unit, "any", "10.0.0.2")).toBeNull();
    expect(listenedBy(l("10.0.0.2", "other.service"), 9100, unit, "any", "10.0.0.2")).toBeNull();
    const check = desiredState(spec)
      .get("s2")!
      .checks.find((c) => c.role === "monitoring" && c.check.kind === "listening")!;
    expect(judgeHostCheck("monitoring", check.check, { listeners: l("127.0.0.1"), fresh: new Map() })).toMatchObject({ ok: false, found: expect.stringContaining("127.0.0.1:9100") });
    expect(judgeHostCheck("monitoring", check.check, { listeners: l("10.0.0.2"), fresh: new Map() }).ok).toBe(true);
  });

  it("role exporters: HAProxy's own on load balancers, nginx's behind nginx's TLS front on web servers; none without monitoring", () => {
    expect(exportersOf(spec.hosts[0]!).map((e) => [e.name, e.port])).toEqual([
      ["node", 9100],
      ["haproxy", 8405],
    ]);
    expect(exportersOf(spec.hosts[1]!).map((e) => [e.name, e.port])).toEqual([
      ["node", 9100],
      ["nginx", 9114],
    ]);
    expect(exportersOf(spec.hosts[2]!)).toEqual([]);
    const d = desiredState(spec);
    const cfg = d.get("s1")!.resources.find((r) => r.kind === "file" && r.path === HAPROXY_CONFIG) as { content: string };
    expect(cfg.content).toMatch(/frontend metrics\n(.*\n)*? {4}bind 10\.0\.0\.1:8405 ssl crt \S+ ca-file \S+ verify required\n/);
    expect(cfg.content).toContain("http-request use-service prometheus-exporter if { path /metrics }");
    const site = d.get("s2")!.resources.find((r) => r.kind === "file" && r.path === NGINX_METRICS_SITE) as { content: string };
    expect(site.content).toContain("listen 127.0.0.1:8081;");
    expect(site.content).toContain("listen 10.0.0.2:9114 ssl;");
    expect(site.content).toContain("ssl_verify_client on;");
    expect(site.content).toContain("proxy_pass http://127.0.0.1:9113/metrics;");
    // The exporter restarts after nginx (it reads stub_status when it starts).
    const services = d.get("s2")!.resources.flatMap((r) => (r.kind === "service" ? [r.name] : []));
    expect(services.indexOf("prometheus-nginx-exporter")).toBeGreaterThan(services.indexOf("nginx"));
    expect(
      d
        .get("s2")!
        .checks.filter((c) => c.check.kind === "exporter")
        .map((c) => [c.role, (c.check as { port: number }).port]),
    ).toEqual([
      ["monitoring", 9100],
      ["web", 9114],
    ]);
  });

  it("the firewall opens its port to the control plane only; the diagram's hops name it", () => {
    const rules = hostRules(spec, spec.firewall!, spec.hosts[1]!);
    expect(evaluate(rules, "10.0.0.100", "tcp", 9100).action).toBe("accept");
    expect(evaluate(rules, "10.0.0.1", "tcp", 9100).action).toBe("drop");
    expect(evaluate(rules, "203.0.113.5", "tcp", 9100).action).toBe("drop");
    expect(evaluate(hostRules(spec, spec.firewall!, spec.hosts[0]!), "10.0.0.100", "tcp", 8405).action).toBe("accept");
    expect(evaluate(hostRules(spec, spec.firewall!, spec.hosts[0]!), "10.0.0.2", "tcp", 8405).action).toBe("drop");
    expect(evaluate(rules, "10.0.0.100", "tcp", 9114).action).toBe("accept");
    expect(evaluate(rules, "10.0.0.1", "tcp", 9114).action).toBe("drop");
    // Loopback only: never opened.
    expect(evaluate(rules, "10.0.0.100", "tcp", 9113).action).toBe("drop");
    // Not monitored: not opened.
    expect(evaluate(hostRules(spec, spec.firewall!, spec.hosts[2]!), "10.0.0.100", "tcp", 9100).action).toBe("drop");
    expect(
      hops(spec)
        .filter((h) => h.from.kind === "control-plane" && h.port !== 22)
        .map((h) => [h.to.serverId, h.to.role, h.port]),
    ).toEqual([
      ["s1", "monitoring", 9100],
      ["s1", "load-balancer", 8405],
      ["s2", "monitoring", 9100],
      ["s2", "web", 9114],
    ]);
    expect(hops(spec).filter((h) => h.to.role === "monitoring")).toEqual([
      expect.objectContaining({ port: 9100, from: { kind: "control-plane" }, protection: "tls", to: { serverId: "s1", role: "monitoring" } }),
      expect.objectContaining({ port: 9100, to: { serverId: "s2", role: "monitoring" } }),
    ]);
  });
});
