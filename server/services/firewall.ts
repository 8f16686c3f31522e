// Firewalls: the operator's rules and settings per topology, what the worker plans
// from (rules, admin networks, the control plane's addresses, names resolved to IPs),
// and what the console shows (effective rules, rendered rule sets, the matrix, rollbacks).
import { lookup } from "node:dns/promises";
import type { Db } from "../db";
import { ServiceError } from "./errors";
import { FirewallRuleDto, FirewallRuleInput, FirewallSettingsInput, ReachabilityDto, type FirewallViewDto, ipFamily } from "../schemas/firewall";
import type { FirewallRuleSpec, FirewallSpec } from "../provision/firewall/types";
import { hostRules, lockoutProblem, sshPortOf } from "../provision/firewall/policy";
import { renderRuleset } from "../provision/firewall/render";
import type { HostSpec, TopologySpec } from "../provision/roles";
import { memberRoles, readApp } from "./topologies";

const toRuleDto = (r: {
  id: string;
  topologyId: string;
  name: string;
  comment: string;
  enabled: boolean;
  direction: string;
  action: string;
  protocol: string;
  portFrom: number;
  portTo: number | null;
  scope: string;
  scopeValue: string | null;
  peer: string;
  peerValue: string | null;
  createdBy: string;
  createdAt: Date;
}): FirewallRuleDto => FirewallRuleDto.parse(r);

const toSpec = (r: FirewallRuleDto): FirewallRuleSpec => ({
  id: r.id,
  name: r.name,
  comment: r.comment,
  enabled: r.enabled,
  direction: r.direction,
  action: r.action,
  protocol: r.protocol,
  portFrom: r.portFrom,
  portTo: r.portTo,
  scope: r.scope,
  scopeValue: r.scopeValue,
  peer: r.peer,
  peerValue: r.peerValue,
});

const adminNetworksOf = (json: string): string[] => {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
};

/** A server's IP addresses: its address if it is one, else what its name resolves to now. */
export async function resolveAddress(address: string): Promise<string[]> {
  if (ipFamily(address)) return [address];
  try {
    return [...new Set((await lookup(address, { all: true })).map((a) => a.address))];
  } catch {
    return [];
  }
}

/**
 * What the planner needs of the firewall: the settings, the rules, the control
 * plane's addresses, and the IPs of every server involved (names resolved now: the
 * plan shows the addresses used). Fills in each host's SSH port and IPs.
 */
export async function loadFirewall<T extends Omit<TopologySpec, "tls">>(db: Db, spec: T, opts: { confirmWindowS: number; force?: boolean }): Promise<T> {
  const t = await db.topology.findUniqueOrThrow({ where: { id: spec.id }, include: { firewallRules: { orderBy: { createdAt: "asc" } } } });
  const servers = await db.server.findMany({ where: { id: { in: spec.hosts.map((h) => h.serverId) } }, select: { id: true, port: true } });
  const hosts: HostSpec[] = await Promise.all(spec.hosts.map(async (h) => ({ ...h, sshPort: servers.find((s) => s.id === h.serverId)?.port ?? 22, ips: await resolveAddress(h.address) })));
  const rules = t.firewallRules.map((r) => toSpec(toRuleDto(r)));
  const named = [...new Set(rules.flatMap((r) => (r.peer === "server" && r.peerValue && !hosts.some((h) => h.serverId === r.peerValue) ? [r.peerValue] : [])))];
  const others = await db.server.findMany({ where: { id: { in: named } }, select: { id: true, address: true } });
  const serverIps: Record<string, string[]> = {};
  for (const s of others) serverIps[s.id] = await resolveAddress(s.address);
  const controlPlane = (await db.controlPlaneAddress.findMany({ orderBy: { address: "asc" } })).map((a) => a.address);
  const firewall: FirewallSpec = {
    enabled: t.firewallEnabled,
    adminNetworks: adminNetworksOf(t.adminNetworks),
    rules,
    controlPlane,
    serverIps,
    confirmWindowS: opts.confirmWindowS,
    force: !!opts.force,
  };
  return { ...spec, hosts, firewall };
}

// ---- The API

export type FirewallView = FirewallViewDto;

async function topologyOrThrow(db: Db, id: string) {
  const t = await db.topology.findUnique({ where: { id }, include: { members: { include: { server: true } }, firewallRules: { orderBy: { createdAt: "asc" } } } });
  if (!t) throw new ServiceError("NOT_FOUND", "no such topology");
  return t;
}

/** What the policy reads of a topology (its roles' inbound traffic), without certificates or secrets. */
function policySpec(t: Awaited<ReturnType<typeof topologyOrThrow>>): TopologySpec {
  return {
    id: t.id,
    name: t.name,
    balance: t.balance === "leastconn" ? "leastconn" : "roundrobin",
    hosts: t.members.map((m) => ({ serverId: m.serverId, name: m.server.name, address: m.server.address, roles: memberRoles(m), monitoring: m.monitoring, drained: m.drained })),
    app: readApp(t.app),
    appEnv: [],
    tls: { caPem: "", siteBundle: null, backends: new Map() },
  };
}

/** The rules as they would be rendered now (names resolved now), without touching any host. */
export async function getFirewall(db: Db, id: string): Promise<FirewallView> {
  const t = await topologyOrThrow(db, id);
  const members = [...t.members].sort((a, b) => a.server.name.localeCompare(b.server.name));
  const spec = await loadFirewall(db, policySpec({ ...t, members }), { confirmWindowS: 60 });
  const fw = spec.firewall!;
  const events = await db.firewallEvent.findMany({ where: { topologyId: id }, orderBy: { at: "desc" }, take: 50 });
  return {
    topologyId: id,
    enabled: fw.enabled,
    adminNetworks: fw.adminNetworks,
    controlPlane: fw.controlPlane,
    rules: t.firewallRules.map(toRuleDto),
    servers: spec.hosts.map((h) => {
      const rules = hostRules(spec, fw, h);
      return {
        serverId: h.serverId,
        name: h.name,
        address: h.address,
        ips: h.ips ?? [],
        rules: rules.map((r) => ({
          direction: r.direction,
          action: r.action,
          protocol: r.protocol,
          ports: r.ports[0] === r.ports[1] ? String(r.ports[0]) : `${r.ports[0]}-${r.ports[1]}`,
          peers: r.peers === "any" ? ["anywhere"] : r.peers,
          origin: r.origin,
          comment: r.comment,
        })),
        ruleset: fw.enabled ? renderRuleset(h.name, spec.name, rules) : null,
      };
    }),
    reachability: t.reachability ? ReachabilityDto.catch(null as never).parse(JSON.parse(t.reachability)) : null,
    events: events.map((e) => ({
      id: e.id,
      serverId: e.serverId,
      serverName: e.serverName,
      runId: e.runId,
      kind: e.kind === "forced" ? "forced" : "rolled-back",
      rulesetHash: e.rulesetHash,
      detail: e.detail,
      at: e.at,
    })),
  };
}

/**
 * Refuses a rule that would drop SSH from an address the control plane is known to
 * connect from, or from an admin network (the lockout guard; the plan checks again
 * against the address each host sees).
 */
async function guard(db: Db, topologyId: string, candidate: FirewallRuleInput & { id?: string }, enabled: boolean): Promise<void> {
  const t = await topologyOrThrow(db, topologyId);
  const rules = t.firewallRules.filter((r) => r.id !== candidate.id).map((r) => toSpec(toRuleDto(r)));
  if (enabled) rules.push({ ...candidate, id: candidate.id ?? "new" });
  const spec = await loadFirewall(db, policySpec(t), { confirmWindowS: 60 });
  const fw = { ...spec.firewall!, rules };
  for (const h of spec.hosts) {
    const effective = hostRules(spec, fw, h);
    for (const address of fw.controlPlane) {
      const problem = lockoutProblem(effective, { name: h.name, sshPort: sshPortOf(h) }, address);
      if (problem) throw new ServiceError("BAD_REQUEST", problem, "action");
    }
  }
}

async function uniqueName(db: Db, topologyId: string, name: string, id?: string) {
  const other = await db.firewallRule.findFirst({ where: { topologyId, name, ...(id ? { NOT: { id } } : {}) } });
  if (other) throw new ServiceError("CONFLICT", `a rule named "${name}" already exists in this topology`, "name");
}

export async function addFirewallRule(db: Db, topologyId: string, input: FirewallRuleInput, by: string): Promise<FirewallRuleDto> {
  const r = FirewallRuleInput.parse(input);
  await uniqueName(db, topologyId, r.name);
  await guard(db, topologyId, r, r.enabled);
  return toRuleDto(await db.firewallRule.create({ data: { ...r, topologyId, createdBy: by } }));
}

export async function updateFirewallRule(db: Db, id: string, input: FirewallRuleInput): Promise<FirewallRuleDto> {
  const existing = await db.firewallRule.findUnique({ where: { id } });
  if (!existing) throw new ServiceError("NOT_FOUND", "no such firewall rule");
  const r = FirewallRuleInput.parse(input);
  await uniqueName(db, existing.topologyId, r.name, id);
  await guard(db, existing.topologyId, { ...r, id }, r.enabled);
  return toRuleDto(await db.firewallRule.update({ where: { id }, data: r }));
}

export async function deleteFirewallRule(db: Db, id: string): Promise<FirewallRuleDto> {
  const existing = await db.firewallRule.findUnique({ where: { id } });
  if (!existing) throw new ServiceError("NOT_FOUND", "no such firewall rule");
  await db.firewallRule.delete({ where: { id } });
  return toRuleDto(existing);
}

export async function setFirewallSettings(db: Db, topologyId: string, input: FirewallSettingsInput): Promise<FirewallView> {
  const s = FirewallSettingsInput.parse(input);
  await topologyOrThrow(db, topologyId);
  await db.topology.update({ where: { id: topologyId }, data: { firewallEnabled: s.enabled, adminNetworks: JSON.stringify(s.adminNetworks) } });
  return getFirewall(db, topologyId);
}
