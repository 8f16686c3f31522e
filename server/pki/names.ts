// What the internal CA may issue for (INTERNAL_CA_PERMITTED_NAMES): DNS suffixes and
// IP networks, and whether a certificate's names stay inside them. Pure, and light
// enough for the environment's validation to use.
import { isIP } from "node:net";
import { contains } from "../provision/firewall/match";

/** A DNS suffix ("example.com": it and every name under it) or an IP network ("10.0.0.0/8"). */
export function permittedNameProblem(entry: string): string | null {
  if (entry.includes("/")) {
    const [addr, bits, extra] = entry.split("/");
    const family = isIP(addr ?? "");
    if (extra !== undefined || !family || !/^\d{1,3}$/.test(bits ?? "") || Number(bits) > (family === 4 ? 32 : 128)) return `"${entry}" is not a network such as 10.0.0.0/8`;
    return null;
  }
  if (isIP(entry)) return `"${entry}" is an address: write a network such as ${entry}/32`;
  return /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(entry) ? null : `"${entry}" is not a DNS name`;
}

/**
 * Why a certificate for `names` would break the CA's name constraints (null: it would
 * not). Per RFC 5280, a kind of name (DNS, IP) with no permitted subtree is free.
 */
export function nameConstraintProblem(permitted: readonly string[], names: readonly string[]): string | null {
  const nets = permitted.filter((p) => p.includes("/"));
  const dns = permitted.filter((p) => !p.includes("/")).map((d) => d.toLowerCase());
  for (const n of names) {
    const ok = isIP(n) ? nets.length === 0 || nets.some((net) => contains(net, n)) : dns.length === 0 || dns.some((d) => n.toLowerCase() === d || n.toLowerCase().endsWith(`.${d}`));
    if (!ok) return `the internal CA may only issue certificates for ${permitted.join(", ")} (its name constraints, from INTERNAL_CA_PERMITTED_NAMES): ${n} is outside them`;
  }
  return null;
}
