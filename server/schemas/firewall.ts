// Firewall: the operator's rules and settings (forms, REST, tRPC share these), and
// what a run found (the effective rules, the reachability matrix, rollbacks).
import { z } from "zod";
import { Role } from "./topology";

export const FIREWALL_PROTOCOLS = ["tcp", "udp"] as const;
export const FIREWALL_ACTIONS = ["accept", "drop"] as const;
export const FIREWALL_DIRECTIONS = ["in", "out"] as const;
/** Where a rule applies: every server of the topology, the servers with a role, or one server. */
export const FIREWALL_SCOPES = ["topology", "role", "server"] as const;
/** Who the rule is about: the source of inbound traffic, the destination of outbound traffic. */
export const FIREWALL_PEERS = ["anywhere", "cidr", "server", "role", "control-plane"] as const;

/** An IPv4 or IPv6 address, or a network in CIDR form (host bits must be zero). */
export function cidrProblem(v: string): string | null {
  const [addr, bits, extra] = v.split("/");
  if (extra !== undefined || !addr) return "must be an address or a network such as 203.0.113.0/24";
  const family = ipFamily(addr);
  if (family === 0) return `"${addr}" is not an IP address`;
  if (bits === undefined) return null;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return `/${bits} is not a prefix length for IPv${family}`;
  if (!hostBitsZero(addr, Number(bits), family)) return `${v} has host bits set: write the network address`;
  return null;
}

function hostBitsZero(addr: string, bits: number, family: number): boolean {
  const bytes = family === 4 ? addr.split(".").map(Number) : ipv6Bytes(addr);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    if ((bytes[i]! & (0xff >> keep)) !== 0) return false;
  }
  return true;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** 4 or 6 for an IP literal, 0 for anything else (this file also runs in the browser: no node:net). */
export function ipFamily(s: string): 0 | 4 | 6 {
  if (IPV4.test(s)) return 4;
  if (!s.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(s) || (s.match(/::/g)?.length ?? 0) > 1) return 0;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4 && !IPV4.test(v4[1]!)) return 0;
  const body = v4 ? s.slice(0, -v4[1]!.length - 1) : s;
  const groups = body.split(":");
  if (groups.some((g) => g.length > 4)) return 0;
  const want = v4 ? 6 : 8;
  if (s.includes("::")) return groups.filter((g) => g !== "").length < want ? 6 : 0;
  return groups.length === want && groups.every((g) => g !== "") ? 6 : 0;
}

/** The 16 bytes of an IPv6 address (no zone). */
export function ipv6Bytes(addr: string): number[] {
  let s = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4) {
    tail = v4[1]!.split(".").map(Number);
    s = s.slice(0, -v4[1]!.length) + "0:0";
  }
  const [head, rest] = s.split("::");
  const parts = (x: string | undefined) => (x ? x.split(":").filter((p) => p !== "") : []);
  const h = parts(head);
  const r = parts(rest);
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill("0"), ...r];
  const out = groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (v4) out.splice(12, 4, ...tail);
  return out;
}

const Cidr = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    const p = cidrProblem(v);
    if (p) ctx.addIssue({ code: "custom", message: p });
  });

const Port = z.number().int().min(1, "must be between 1 and 65535").max(65535, "must be between 1 and 65535");

const FirewallRuleFields = z.object({
  name: z
    .string()
    .trim()
    .min(1, "is required")
    .max(60, "must be at most 60 characters")
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, "letters, digits, spaces, dots, dashes and underscores only"),
  comment: z
    .string()
    .trim()
    .max(200, "must be at most 200 characters")
    .regex(/^[^"\\\n\r]*$/, "must not contain quotes, backslashes or line breaks")
    .default(""),
  enabled: z.boolean().default(true),
  direction: z.enum(FIREWALL_DIRECTIONS).default("in"),
  action: z.enum(FIREWALL_ACTIONS).default("accept"),
  protocol: z.enum(FIREWALL_PROTOCOLS).default("tcp"),
  portFrom: Port,
  /** The end of a range (inclusive); omitted: one port. */
  portTo: Port.nullable().default(null),
  scope: z.enum(FIREWALL_SCOPES).default("topology"),
  /** For scope "role": the role; for "server": the server's id. */
  scopeValue: z.string().trim().nullable().default(null),
  peer: z.enum(FIREWALL_PEERS).default("anywhere"),
  /** For peer "cidr": the network; "role": the role; "server": the server's id. */
  peerValue: z.string().trim().nullable().default(null),
});

function refineRule(r: z.infer<typeof FirewallRuleFields>, ctx: z.RefinementCtx) {
  if (r.portTo !== null && r.portTo < r.portFrom) ctx.addIssue({ code: "custom", path: ["portTo"], message: "must not be below the first port" });
  if (r.scope === "role" && !Role.safeParse(r.scopeValue).success) ctx.addIssue({ code: "custom", path: ["scopeValue"], message: "choose a role" });
  if (r.scope === "server" && !r.scopeValue) ctx.addIssue({ code: "custom", path: ["scopeValue"], message: "choose a server" });
  if (r.peer === "role" && !Role.safeParse(r.peerValue).success) ctx.addIssue({ code: "custom", path: ["peerValue"], message: "choose a role" });
  if (r.peer === "server" && !r.peerValue) ctx.addIssue({ code: "custom", path: ["peerValue"], message: "choose a server" });
  if (r.peer === "cidr") {
    const p = r.peerValue ? cidrProblem(r.peerValue) : "is required: an address or a network such as 203.0.113.0/24";
    if (p) ctx.addIssue({ code: "custom", path: ["peerValue"], message: p });
  }
}

export const FirewallRuleInput = FirewallRuleFields.superRefine(refineRule);
export type FirewallRuleInput = z.infer<typeof FirewallRuleInput>;

export const FirewallSettingsInput = z.object({
  /** Rampart manages a firewall on every server of the topology. */
  enabled: z.boolean(),
  /** Networks SSH is allowed from besides the control plane (the admins' VPN, a bastion). */
  adminNetworks: z.array(Cidr).max(50, "at most 50 networks"),
});
export type FirewallSettingsInput = z.infer<typeof FirewallSettingsInput>;

export const FirewallRuleDto = z.object({
  id: z.string(),
  topologyId: z.string(),
  name: z.string(),
  comment: z.string(),
  enabled: z.boolean(),
  direction: z.enum(FIREWALL_DIRECTIONS),
  action: z.enum(FIREWALL_ACTIONS),
  protocol: z.enum(FIREWALL_PROTOCOLS),
  portFrom: z.number(),
  portTo: z.number().nullable(),
  scope: z.enum(FIREWALL_SCOPES),
  scopeValue: z.string().nullable(),
  peer: z.enum(FIREWALL_PEERS),
  peerValue: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.date(),
});
export type FirewallRuleDto = z.infer<typeof FirewallRuleDto>;

import { ReachabilityDto } from "./reachability";
export { Reach, ReachCellDto, ReachabilityDto } from "./reachability";

/** One rule of a server's rule set as Rampart renders it, with where it comes from. */
export const EffectiveRuleDto = z.object({
  direction: z.enum(FIREWALL_DIRECTIONS),
  action: z.enum(FIREWALL_ACTIONS),
  protocol: z.enum(FIREWALL_PROTOCOLS),
  ports: z.string(),
  peers: z.array(z.string()),
  /** "essential", "role default: web", or "rule: <name>". */
  origin: z.string(),
  comment: z.string(),
});
export type EffectiveRuleDto = z.infer<typeof EffectiveRuleDto>;

export const FirewallEventDto = z.object({
  id: z.string(),
  serverId: z.string(),
  serverName: z.string(),
  runId: z.string().nullable(),
  kind: z.enum(["rolled-back", "forced"]),
  rulesetHash: z.string(),
  detail: z.string(),
  at: z.date(),
});
export type FirewallEventDto = z.infer<typeof FirewallEventDto>;

/** A topology's firewall as the console and the API show it. */
export const FirewallViewDto = z.object({
  topologyId: z.string(),
  enabled: z.boolean(),
  adminNetworks: z.array(z.string()),
  /** Addresses Rampart's workers were seen connecting from: SSH stays open to each. */
  controlPlane: z.array(z.string()),
  rules: z.array(FirewallRuleDto),
  servers: z.array(
    z.object({
      serverId: z.string(),
      name: z.string(),
      address: z.string(),
      /** The addresses the rules use (the address, or what its name resolves to). */
      ips: z.array(z.string()),
      rules: z.array(EffectiveRuleDto),
      /** The nftables rule set as Rampart renders it (null: the firewall is off). */
      ruleset: z.string().nullable(),
    }),
  ),
  reachability: ReachabilityDto.nullable(),
  events: z.array(FirewallEventDto),
});
export type FirewallViewDto = z.infer<typeof FirewallViewDto>;

export const FirewallRuleAddInput = FirewallRuleFields.extend({ topologyId: z.string().min(1) }).superRefine(refineRule);
export const FirewallRuleUpdateInput = FirewallRuleFields.extend({ ruleId: z.string().min(1) }).superRefine(refineRule);
export const FirewallRuleIdInput = z.object({ ruleId: z.string().min(1) });
export const FirewallSettingsUpdateInput = FirewallSettingsInput.extend({ topologyId: z.string().min(1) });
