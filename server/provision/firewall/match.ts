// Which rule of a rule set a connection meets: pure, and free of the role modules
// (the resource diff uses it for the lockout guard).
import { ipFamily, ipv6Bytes } from "../../schemas/firewall";
import type { EffectiveRule } from "./types";

function bytesOf(ip: string): number[] | null {
  const f = ipFamily(ip);
  if (f === 4) return ip.split(".").map(Number);
  if (f === 6) return ipv6Bytes(ip);
  return null;
}

/** Does `peer` (an address or a network) contain the address `ip`? */
export function contains(peer: string, ip: string): boolean {
  const [net, bits] = peer.split("/");
  const a = bytesOf(net!);
  const b = bytesOf(ip);
  if (!a || !b || a.length !== b.length) return false;
  const n = bits === undefined ? a.length * 8 : Number(bits);
  for (let i = 0; i < a.length; i++) {
    const keep = Math.max(0, Math.min(8, n - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

const matches = (r: EffectiveRule, src: string, protocol: "tcp" | "udp", port: number) =>
  r.direction === "in" && r.protocol === protocol && port >= r.ports[0] && port <= r.ports[1] && (r.peers === "any" || r.peers.some((p) => contains(p, src)));

/** What the rule set does with a new inbound connection: the first rule that matches, or the policy (drop). */
export function evaluate(rules: readonly EffectiveRule[], src: string, protocol: "tcp" | "udp", port: number): { action: "accept" | "drop"; rule: EffectiveRule | null } {
  const r = rules.find((x) => matches(x, src, protocol, port));
  return r ? { action: r.action, rule: r } : { action: "drop", rule: null };
}

/**
 * The lockout guard: the rule set must let SSH in from the address the control plane
 * connects from (as the host sees it). Returns why not, naming the rule, or null.
 */
export function lockoutProblem(rules: readonly EffectiveRule[], h: { name: string; sshPort: number }, controlPlaneAddress: string): string | null {
  const port = h.sshPort;
  const { action, rule } = evaluate(rules, controlPlaneAddress, "tcp", port);
  if (action === "accept") return null;
  if (rule)
    return `the ${rule.origin.replace(/^rule: /, "rule '")}${rule.origin.startsWith("rule: ") ? "'" : ""} drops SSH (${port}/tcp) from the control plane (${controlPlaneAddress}): Rampart would lock itself out of ${h.name}`;
  return `no rule lets SSH (${port}/tcp) in from the control plane (${controlPlaneAddress}): Rampart would lock itself out of ${h.name}`;
}
