// The role modules, and what the rest of the engine asks of them: a host's
// desired resources, the ports it must own, its checks, its certificates, and
// the traffic between hosts.
import type { Role, Tier } from "../../schemas/topology";
import { TIERS } from "../../schemas/topology";
import type { Resource } from "../resources";
import { resourceId, sha256 } from "../resources";
import { hostRules, sshPortOf } from "../firewall/policy";
import { renderRuleset } from "../firewall/render";
import type { CheckSpec, HostSpec, InboundTraffic, ModuleName, PortClaim, RoleModule, TopologySpec } from "./types";
import { modulesOf } from "./modules";

export * from "./types";
export * from "./common";
export { ROLE_MODULES, modulesOf } from "./modules";
export * from "./monitoring";

export interface HostDesired {
  resources: Resource[];
  notes: string[];
  /** Ports this host's roles must own, each with the unit that must hold it and the claiming role's tier. */
  ports: Array<PortClaim & { tier: Tier }>;
  /** The checks that prove this host's roles work, with the role each belongs to. */
  checks: Array<{ role: ModuleName; check: CheckSpec }>;
}

/** The desired state of every host in the topology, by server id. */
export function desiredState(t: TopologySpec): Map<string, HostDesired> {
  const out = new Map<string, HostDesired>();
  for (const h of t.hosts) {
    const resources: Resource[] = [{ kind: "directory", tier: "base", path: "/var/lib/rampart", mode: 0o755, owner: "root", group: "root" }];
    const notes: string[] = [];
    const ports: HostDesired["ports"] = [];
    const checks: HostDesired["checks"] = [];
    for (const m of modulesOf(h)) {
      resources.push(...m.resources(t, h));
      for (const p of m.ports(t, h)) if (!ports.some((q) => q.port === p.port && q.unit === p.unit)) ports.push({ ...p, tier: m.tier });
      for (const c of m.checks(t, h)) if (!checks.some((x) => JSON.stringify(x.check) === JSON.stringify(c))) checks.push({ role: m.role, check: c });
      if (m.note) notes.push(m.note);
    }
    if (h.roles.includes("load-balancer")) for (const w of t.tls.siteWarnings ?? []) notes.push(`site certificate: ${w}`);
    if (t.firewall) {
      const fw = t.firewall;
      const rules = fw.enabled ? hostRules(t, fw, h) : [];
      const ruleset = fw.enabled ? renderRuleset(h.name, t.name, rules) : null;
      if (fw.enabled) resources.push({ kind: "package", tier: "base", name: "nftables" });
      resources.push({
        kind: "firewall",
        tier: "base",
        ruleset,
        hash: ruleset ? sha256(ruleset) : "",
        rules,
        host: { name: h.name, sshPort: sshPortOf(h) },
        confirmWindowS: fw.confirmWindowS,
        force: !!fw.force,
      });
      if (fw.enabled && h.ips?.length && h.ips[0] !== h.address) notes.push(`firewall: ${h.address} resolves to ${h.ips.join(", ")}; the rules use that`);
    }
    const taken = new Map<number, PortClaim>();
    for (const p of ports) {
      const other = taken.get(p.port);
      if (other && other.unit !== p.unit) throw new Error(`two roles need port ${p.port} on ${h.name}: ${other.unit} (${other.purpose}) and ${p.unit} (${p.purpose})`);
      taken.set(p.port, p);
    }
    out.set(h.serverId, { resources: dedupe(resources), notes, ports, checks });
  }
  return out;
}

/** Roles sharing a host may want the same directory or file: keep the first. */
function dedupe(resources: Resource[]): Resource[] {
  const seen = new Map<string, Resource>();
  for (const r of resources) {
    const id = resourceId(r);
    const prev = seen.get(id);
    if (!prev) seen.set(id, r);
    else if (JSON.stringify({ ...prev, tier: null }) !== JSON.stringify({ ...r, tier: null }) && r.kind !== "service") throw new Error(`two roles want different ${id}`);
  }
  return [...seen.values()];
}

/** Does this host need a certificate from the internal CA, and for which names? */
export function backendCertNames(t: Pick<TopologySpec, "hosts"> & Partial<TopologySpec>, h: HostSpec): string[] | null {
  const names = new Set<string>();
  for (const m of modulesOf(h)) for (const c of m.certificates(t as TopologySpec, h)) if (c.kind === "backend") for (const n of c.names ?? []) names.add(n);
  return names.size > 0 ? [...names] : null;
}

/** Does this host need a certificate from the internal CA? (Its roles decide; the load balancer shows its own to the web servers.) */
export const needsBackendCert = (h: HostSpec) => backendCertNames({ hosts: [] }, h) !== null;
/** The names a host's certificate from the internal CA is issued for. */
export const backendNames = (h: HostSpec): string[] => backendCertNames({ hosts: [] }, h) ?? [h.name, h.address];

/** The hosts each host cannot be converged without. */
export function dependencies(t: TopologySpec, h: HostSpec): string[] {
  return [...new Set(modulesOf(h).flatMap((m) => m.dependsOn?.(t, h) ?? []))].filter((id) => id !== h.serverId);
}

/** One hop of traffic between the topology's parts: what the diagram draws and the firewall will allow. */
export interface Hop extends InboundTraffic {
  to: { serverId: string; role: ModuleName };
}

export function hops(t: TopologySpec): Hop[] {
  return t.hosts.flatMap((h) => modulesOf(h).flatMap((m) => m.inbound(t, h).map((i) => ({ ...i, to: { serverId: h.serverId, role: m.role } }))));
}
