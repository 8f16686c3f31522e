// What the internal CA may issue for (INTERNAL_CA_PERMITTED_NAMES): DNS suffixes and
// IP networks, and whether a certificate's names stay inside them. Pure, and light
// enough for the environment's validation to use.
import { isIP } from "node:net";
import { ipv6Bytes } from "../schemas/firewall";

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

/** An address's bytes (4 or 16). */
const ipBytes = (addr: string): number[] => (isIP(addr) === 4 ? addr.split(".").map(Number) : ipv6Bytes(addr));

function maskBytes(bits: number, len: number): number[] {
  return Array.from({ length: len }, (_, i) => (bits >= (i + 1) * 8 ? 0xff : bits <= i * 8 ? 0 : (0xff << (8 - (bits - i * 8))) & 0xff));
}

function inNetwork(ip: string, network: string): boolean {
  const [addr, bits] = network.split("/") as [string, string];
  if (isIP(ip) !== isIP(addr)) return false;
  const a = ipBytes(ip);
  const n = ipBytes(addr);
  const m = maskBytes(Number(bits), a.length);
  return a.every((b, i) => (b & m[i]!) === (n[i]! & m[i]!));
}

/**
 * Why a certificate for `names` would break the CA's name constraints (null: it would
 * not). Per RFC 5280, a kind of name (DNS, IP) with no permitted subtree is free.
 */
export function nameConstraintProblem(permitted: readonly string[], names: readonly string[]): string | null {
  const nets = permitted.filter((p) => p.includes("/"));
  const dns = permitted.filter((p) => !p.includes("/")).map((d) => d.toLowerCase());
  for (const n of names) {
    const ok = isIP(n) ? nets.length === 0 || nets.some((net) => inNetwork(n, net)) : dns.length === 0 || dns.some((d) => n.toLowerCase() === d || n.toLowerCase().endsWith(`.${d}`));
    if (!ok) return `the internal CA may only issue certificates for ${permitted.join(", ")} (its name constraints, from INTERNAL_CA_PERMITTED_NAMES): ${n} is outside them`;
  }
  return null;
}
