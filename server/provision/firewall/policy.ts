// The firewall policy: one pure function of the topology (its roles, the operator's
// rules, the control plane's addresses) gives each server's rules, which feed both
// the nftables rule set (render.ts) and the reachability Rampart expects (the matrix).
// Every peer is an IP literal here: host names were resolved before planning.
import { ipFamily, type Reach } from "../../schemas/firewall";
import type { Role } from "../../schemas/topology";
import { ROLE_LABELS } from "../../schemas/topology";
import type { HostSpec, TopologySpec } from "../roles/types";
import { modulesOf } from "../roles/modules";
import type { EffectiveRule, FirewallRuleSpec, FirewallSpec } from "./types";
import { evaluate } from "./match";

export type { EffectiveRule, FirewallRuleSpec, FirewallSpec } from "./types";
export { contains, evaluate, lockoutProblem } from "./match";

export const sshPortOf = (h: HostSpec) => h.sshPort ?? 22;
/** The address Rampart uses for a server in rules and probes (its name resolved, when it is one). */
export const ipsOf = (h: HostSpec) => (h.ips && h.ips.length > 0 ? h.ips : ipFamily(h.address) ? [h.address] : []);

function applies(r: FirewallRuleSpec, h: HostSpec): boolean {
  if (!r.enabled) return false;
  if (r.scope === "topology") return true;
  if (r.scope === "role") return h.roles.includes(r.scopeValue as Role);
  return r.scopeValue === h.serverId;
}

const withRole = (t: TopologySpec, role: Role) => t.hosts.filter((x) => x.roles.includes(role)).flatMap(ipsOf);

function peersOf(t: TopologySpec, fw: FirewallSpec, r: FirewallRuleSpec): "any" | string[] {
  switch (r.peer) {
    case "anywhere":
      return "any";
    case "cidr":
      return [r.peerValue!];
    case "control-plane":
      return [...fw.controlPlane];
    case "role":
      return withRole(t, r.peerValue as Role);
    case "server": {
      const member = t.hosts.find((x) => x.serverId === r.peerValue);
      return member ? ipsOf(member) : (fw.serverIps[r.peerValue!] ?? []);
    }
  }
}

const operatorRule = (t: TopologySpec, fw: FirewallSpec, r: FirewallRuleSpec): EffectiveRule => ({
  direction: r.direction,
  action: r.action,
  protocol: r.protocol,
  ports: [r.portFrom, r.portTo ?? r.portFrom],
  peers: peersOf(t, fw, r),
  origin: `rule: ${r.name}`,
  comment: r.comment,
});

/**
 * A server's rules, in the order nftables evaluates them: the operator's drop rules,
 * SSH from the control plane and the admin networks, the roles' defaults, then the
 * operator's accept rules (inbound; outbound rules likewise, before a policy of accept).
 * Connections already established, loopback and essential ICMP come first in the
 * rendered rule set and are not listed here.
 */
export function hostRules(t: TopologySpec, fw: FirewallSpec, h: HostSpec): EffectiveRule[] {
  const mine = fw.rules.filter((r) => applies(r, h)).map((r) => operatorRule(t, fw, r));
  const out: EffectiveRule[] = [];
  for (const direction of ["in", "out"] as const) {
    out.push(...mine.filter((r) => r.direction === direction && r.action === "drop"));
    if (direction === "in") {
      out.push({
        direction,
        action: "accept",
        protocol: "tcp",
        ports: [sshPortOf(h), sshPortOf(h)],
        peers: [...new Set([...fw.controlPlane, ...fw.adminNetworks])],
        origin: "SSH",
        comment: "SSH from the control plane and the admin networks",
      });
      out.push(...roleDefaults(t, fw, h));
    }
    out.push(...mine.filter((r) => r.direction === direction && r.action === "accept"));
  }
  return out;
}

/** Traffic the roles on this host receive (what the diagram draws), as accept rules. */
function roleDefaults(t: TopologySpec, fw: FirewallSpec, h: HostSpec): EffectiveRule[] {
  const out: EffectiveRule[] = [];
  for (const m of modulesOf(h)) {
    for (const i of m.inbound(t, h)) {
      if (i.from.kind === "same-host") continue; // loopback: always allowed
      const peers: "any" | string[] = i.from.kind === "internet" ? "any" : i.from.kind === "control-plane" ? [...fw.controlPlane] : withRole(t, i.from.role);
      const from = i.from.kind === "internet" ? "anywhere" : i.from.kind === "control-plane" ? "the control plane" : ROLE_LABELS[i.from.role].toLowerCase();
      const same = out.find((r) => r.ports[0] === i.port && r.origin === `role default: ${m.label.toLowerCase()}`);
      if (same && same.peers !== "any" && peers !== "any") same.peers = [...new Set([...same.peers, ...peers])];
      else if (same) same.peers = "any";
      else out.push({ direction: "in", action: "accept", protocol: "tcp", ports: [i.port, i.port], peers, origin: `role default: ${m.label.toLowerCase()}`, comment: `${i.purpose} from ${from}` });
    }
  }
  return out;
}

// ---- Expected reachability

export interface ReachProbe {
  from: string;
  fromName: string;
  /** The source's address (what the target's rules see). */
  fromAddress: string;
  toServerId: string;
  toName: string;
  address: string;
  port: number;
  purpose: string;
  expected: Reach;
}

/** Ports the topology uses, each with what it is for: SSH, every role's inbound port, and the operator's TCP rules. */
export function topologyPorts(t: TopologySpec, fw: FirewallSpec | undefined): Map<number, string> {
  const out = new Map<number, string>();
  for (const h of t.hosts) if (!out.has(sshPortOf(h))) out.set(sshPortOf(h), "SSH");
  for (const h of t.hosts)
    for (const m of modulesOf(h)) for (const i of m.inbound(t, h)) if (i.from.kind !== "same-host" && !out.has(i.port)) out.set(i.port, `${i.purpose} (${m.label.toLowerCase()})`);
  for (const r of fw?.rules ?? []) if (r.enabled && r.direction === "in" && r.protocol === "tcp" && !out.has(r.portFrom)) out.set(r.portFrom, `rule: ${r.name}`);
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/**
 * What each source should find on each server's ports: open where the rules accept
 * and a daemon listens, refused where they accept and nothing listens, filtered
 * where they drop. `listening` gives the ports each server's daemons hold.
 */
export function expectedReachability(t: TopologySpec, fw: FirewallSpec | undefined, controlPlaneAddress: string, listening: (h: HostSpec) => ReadonlySet<number>): ReachProbe[] {
  const ports = topologyPorts(t, fw);
  const sources = [
    { from: "control-plane", fromName: "control plane", fromAddress: controlPlaneAddress },
    ...t.hosts.flatMap((h) => (ipsOf(h)[0] ? [{ from: h.serverId, fromName: h.name, fromAddress: ipsOf(h)[0]! }] : [])),
  ];
  const out: ReachProbe[] = [];
  for (const h of t.hosts) {
    const address = ipsOf(h)[0];
    if (!address) continue;
    const rules = fw?.enabled ? hostRules(t, fw, h) : null;
    const listens = listening(h);
    for (const [port, purpose] of ports) {
      for (const s of sources) {
        if (s.from === h.serverId) continue;
        const allowed = !rules || evaluate(rules, s.fromAddress, "tcp", port).action === "accept";
        const expected: Reach = !allowed ? "filtered" : listens.has(port) || port === sshPortOf(h) ? "open" : "refused";
        out.push({ ...s, toServerId: h.serverId, toName: h.name, address, port, purpose: port === sshPortOf(h) ? "SSH" : purpose, expected });
      }
    }
  }
  return out;
}
