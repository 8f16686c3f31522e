// The firewall's pure parts: the policy (role defaults, operator rules, order), the
// lockout guard, the rendered rule set, the expected reachability, and the diff.
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { contains, evaluate, expectedReachability, hostRules, lockoutProblem, type FirewallSpec } from "@/server/provision/firewall/policy";
import { parseReachProbe, reachProbeCommand, renderRuleset } from "@/server/provision/firewall/render";
import { parseFirewall } from "@/server/provision/observe";
import { diffFirewall, sha256, type FirewallRes } from "@/server/provision/resources";
import type { TopologySpec } from "@/server/provision/roles";
import { cidrProblem, FirewallRuleInput } from "@/server/schemas/firewall";
import { DEFAULT_APP } from "@/server/schemas/topology";

const host = (n: number, roles: TopologySpec["hosts"][number]["roles"]) => ({ serverId: `s${n}`, name: `h${n}`, address: `10.0.0.${n}`, roles, monitoring: false, drained: false });
const spec = (fw: Partial<FirewallSpec> = {}): TopologySpec => ({
  id: "t",
  name: "shop.test",
  balance: "roundrobin",
  hosts: [host(1, ["load-balancer"]), host(2, ["web", "app"]), host(3, ["web", "app"]), host(4, ["db-primary"]), host(5, ["db-replica"])],
  app: DEFAULT_APP,
  appEnv: [],
  tls: { caPem: "", siteBundle: null, backends: new Map() },
  firewall: { enabled: true, adminNetworks: ["192.0.2.0/24"], rules: [], controlPlane: ["10.0.0.100"], serverIps: {}, confirmWindowS: 60, ...fw },
});
const rule = (over: Partial<FirewallSpec["rules"][number]>) => ({ ...FirewallRuleInput.parse({ name: "r", portFrom: 22 }), id: "r1", ...over });

describe("firewall policy", () => {
  it("role defaults: web TLS from the load balancer only, MySQL on the primary from app servers and the replica, SSH from the control plane and admin networks", () => {
    const t = spec();
    const rules = (i: number) => hostRules(t, t.firewall!, t.hosts[i]!);
    expect(evaluate(rules(1), "10.0.0.1", "tcp", 443).action).toBe("accept");
    expect(evaluate(rules(1), "10.0.0.3", "tcp", 443).action).toBe("drop");
    expect(evaluate(rules(0), "203.0.113.9", "tcp", 443).action).toBe("accept");
    expect(evaluate(rules(3), "10.0.0.5", "tcp", 3306).action).toBe("accept");
    expect(evaluate(rules(3), "10.0.0.2", "tcp", 3306).action).toBe("accept");
    expect(evaluate(rules(3), "10.0.0.1", "tcp", 3306).action).toBe("drop");
    expect(evaluate(rules(4), "10.0.0.5", "tcp", 3306).action).toBe("drop");
    expect(evaluate(rules(2), "10.0.0.100", "tcp", 22).action).toBe("accept");
    expect(evaluate(rules(2), "192.0.2.77", "tcp", 22).action).toBe("accept");
    expect(evaluate(rules(2), "10.0.0.1", "tcp", 22).action).toBe("drop");
  });

  it("operator drop rules come before every accept; disabled rules and other servers' rules do nothing", () => {
    const t = spec({
      rules: [
        rule({ name: "no office", action: "drop", portFrom: 443, peer: "cidr", peerValue: "10.0.0.0/30" }),
        rule({ id: "r2", name: "off", enabled: false, portFrom: 8080 }),
        rule({ id: "r3", name: "h3 only", portFrom: 9000, scope: "server", scopeValue: "s3" }),
      ],
    });
    const r2 = hostRules(t, t.firewall!, t.hosts[1]!);
    expect(evaluate(r2, "10.0.0.1", "tcp", 443)).toMatchObject({ action: "drop", rule: { origin: "rule: no office" } });
    expect(evaluate(r2, "10.0.0.9", "tcp", 8080).action).toBe("drop");
    expect(evaluate(r2, "10.0.0.9", "tcp", 9000).action).toBe("drop");
    expect(evaluate(hostRules(t, t.firewall!, t.hosts[2]!), "10.0.0.9", "tcp", 9000).action).toBe("accept");
  });

  it("the lockout guard names the rule that drops SSH from the control plane", () => {
    const t = spec({ rules: [rule({ name: "close ssh", action: "drop", portFrom: 22, peer: "anywhere" })] });
    const r = hostRules(t, t.firewall!, t.hosts[0]!);
    expect(lockoutProblem(r, { name: "h1", sshPort: 22 }, "10.0.0.100")).toMatch(/rule 'close ssh' drops SSH \(22\/tcp\) from the control plane \(10\.0\.0\.100\)/);
    expect(lockoutProblem(hostRules(spec(), spec().firewall!, spec().hosts[0]!), { name: "h1", sshPort: 22 }, "10.0.0.100")).toBeNull();
    expect(lockoutProblem(hostRules(spec(), spec().firewall!, spec().hosts[0]!), { name: "h1", sshPort: 22 }, "10.9.9.9")).toMatch(/no rule lets SSH/);
  });

  it("addresses and networks match by prefix, for IPv4 and IPv6", () => {
    expect(contains("10.0.0.0/8", "10.200.1.1")).toBe(true);
    expect(contains("10.0.0.0/8", "11.0.0.1")).toBe(false);
    expect(contains("2001:db8::/32", "2001:db8:1::5")).toBe(true);
    expect(contains("2001:db8::/32", "10.0.0.1")).toBe(false);
    expect(cidrProblem("10.0.0.1/8")).toMatch(/host bits/);
    expect(cidrProblem("2001:db8::/129")).toMatch(/prefix length/);
  });

  it("renders one table of Rampart's own, loaded in one transaction, IPv4 and IPv6 peers apart", () => {
    const text = renderRuleset("h1", "shop.test", [
      { direction: "in", action: "accept", protocol: "tcp", ports: [22, 22], peers: ["10.0.0.100", "2001:db8::/32"], origin: "SSH", comment: "ssh" },
      { direction: "out", action: "drop", protocol: "udp", ports: [53, 53], peers: "any", origin: "rule: no dns", comment: "" },
    ]);
    expect(text).toContain("table inet rampart {}\ndelete table inet rampart\ntable inet rampart {");
    expect(text).toContain("policy drop;");
    expect(text).toMatch(/ip saddr 10\.0\.0\.100 tcp dport 22 accept comment "SSH: ssh"/);
    expect(text).toMatch(/ip6 saddr 2001:db8::\/32 tcp dport 22 accept/);
    expect(text).toMatch(/chain output \{[^}]*udp dport 53 drop comment "rule: no dns"/);
    expect(text).not.toMatch(/flush ruleset/);
  });

  it("expects open where allowed and listening, refused where allowed and idle, filtered where dropped", () => {
    const t = spec();
    const cells = expectedReachability(t, t.firewall, "10.0.0.100", (h) => new Set(h.roles.includes("web") ? [443] : h.roles.includes("load-balancer") ? [80, 443] : []));
    const cell = (from: string, to: string, port: number) => cells.find((c) => c.fromName === from && c.toName === to && c.port === port)?.expected;
    expect(cell("h1", "h2", 443)).toBe("open");
    expect(cell("control plane", "h2", 443)).toBe("filtered");
    expect(cell("h2", "h4", 3306)).toBe("refused");
    expect(cell("h1", "h4", 3306)).toBe("filtered");
    expect(cell("control plane", "h3", 22)).toBe("open");
  });
});

describe("firewall diff", () => {
  const ruleset = renderRuleset("h1", "t", []);
  const res = (over: Partial<FirewallRes> = {}): FirewallRes => ({
    kind: "firewall",
    tier: "base",
    ruleset,
    hash: sha256(ruleset),
    rules: [{ direction: "in", action: "accept", protocol: "tcp", ports: [22, 22], peers: ["10.0.0.100"], origin: "SSH", comment: "" }],
    host: { name: "h1", sshPort: 22 },
    confirmWindowS: 60,
    force: false,
    ...over,
  });
  const observed = (lines: string[]) => parseFirewall(lines);
  const converged = [`client 10.0.0.100 5555 22`, "nft", "live aaa", "recorded aaa", `applied ${sha256(ruleset)}`, `persisted ${sha256(ruleset)}`, "enabled enabled"];

  it("plans nothing when the confirmed rules are live, unchanged and loaded at boot", () => {
    expect(diffFirewall(res(), observed(converged))).toBeNull();
  });
  it("a table changed by hand is drift, with the hand edit as the diff", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const c = diffFirewall(res(), observed([...converged.filter((l) => !l.startsWith("live")), "live bbb", `livetext ${b64("a\nextra rule\n")}`, `recordedtext ${b64("a\n")}`]));
    expect(c?.reason).toMatch(/was changed on the host/);
    expect(c?.diff).toMatch(/^\+extra rule/m);
  });
  it("a rule set the host rolled back is refused until it changes or is forced; a pending rollback blocks planning", () => {
    const rolled = [...converged.filter((l) => !l.startsWith("applied")), "applied 00", `rolledback ${sha256(ruleset)} 1700000000`];
    expect(() => diffFirewall(res(), observed(rolled))).toThrow(/rolled this firewall rule set back at 2023-11-14/);
    expect(diffFirewall(res({ force: true }), observed(rolled))?.action.op).toBe("firewall-apply");
    expect(() => diffFirewall(res(), observed([...converged, "timer rampart-firewall-rollback-0123456789abcdef.timer"]))).toThrow(/rollback armed by an earlier run/);
  });
  it("the plan refuses rules that would drop SSH from the address the host sees Rampart come from", () => {
    const stale = [...converged.filter((l) => !l.startsWith("applied")), "applied 00"];
    expect(() => diffFirewall(res(), observed(stale.map((l) => (l.startsWith("client") ? "client ::ffff:10.9.9.9 5555 22" : l))))).toThrow(
      /no rule lets SSH \(22\/tcp\) in from the control plane \(10\.9\.9\.9\)/,
    );
  });
});

describe("the reachability probe script (run here with bash, against local ports)", () => {
  it("tells open from refused (in English whatever the locale), and says it finished", async () => {
    const server = net.createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const open = (server.address() as net.AddressInfo).port;
    const closed = net.createServer().listen(0, "127.0.0.1");
    await once(closed, "listening");
    const refused = (closed.address() as net.AddressInfo).port;
    closed.close();
    try {
      // Loopback only (tests send nothing elsewhere); "filtered" is proven on the lab.
      const cmd = reachProbeCommand(
        [
          { address: "127.0.0.1", port: open },
          { address: "127.0.0.1", port: refused },
        ],
        0.5,
      );
      const t0 = Date.now();
      const r = spawnSync(cmd.argv[0]!, cmd.argv.slice(1), { encoding: "utf8", timeout: 10_000, env: { ...process.env, LANG: "de_DE.UTF-8" } });
      const { found, complete } = parseReachProbe(r.stdout);
      expect(complete).toBe(true);
      expect(found.get(`127.0.0.1 ${open}`)).toBe("open");
      expect(found.get(`127.0.0.1 ${refused}`)).toBe("refused");
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      server.close();
    }
  });
  it("without the end marker a missing pair is not known", () => {
    expect(parseReachProbe("reach 10.0.0.1 22 open\n")).toEqual({ found: new Map([["10.0.0.1 22", "open"]]), complete: false });
    expect(parseReachProbe("rampart-reach: line 3: /dev/tcp/fd00::1/3306: Connection refused\ndone\n").found.get("fd00::1 3306")).toBe("refused");
  });
});
