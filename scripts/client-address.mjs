// Which address a request came from, for login throttling and the audit log: the TCP
// peer, unless the peer is one of the reverse proxies TRUST_PROXY names — then the
// X-Forwarded-For entries those proxies appended, read from the right, up to the first
// address that is not one of them. An X-Forwarded-For from anyone else is ignored.
// Plain JavaScript, pure: used by scripts/web-server.mjs, tested by vitest.
import net from "node:net";

const LOOPBACK = ["127.0.0.0/8", "::1/128"];

/** Parses TRUST_PROXY: false (default), true (a proxy on this machine: loopback), or addresses/CIDRs. Throws on a bad entry. */
export function trustedProxies(value) {
  const v = String(value ?? "")
    .trim()
    .toLowerCase();
  const list = new net.BlockList();
  if (v === "" || v === "false" || v === "0") return list;
  const entries =
    v === "true" || v === "1"
      ? LOOPBACK
      : v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
  for (const e of entries) {
    const [addr, bits] = e.split("/");
    const family = net.isIP(addr ?? "");
    if (family === 0) throw new Error(`${e} is not an IP address or CIDR`);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`${e} has a bad prefix length`);
    list.addSubnet(addr, prefix, family === 4 ? "ipv4" : "ipv6");
  }
  return list;
}

const plain = (a) =>
  String(a ?? "")
    .trim()
    .replace(/^\[|\]$/g, "")
    .replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
const isTrusted = (list, a) => {
  const family = net.isIP(a);
  return family !== 0 && list.check(a, family === 4 ? "ipv4" : "ipv6");
};

/** The client's address: `peer` (the socket's), or what trusted proxies say in `forwardedFor`. */
export function clientAddress(peer, forwardedFor, trusted) {
  const p = plain(peer) || "unknown";
  if (!isTrusted(trusted, p)) return p;
  const hops = String(forwardedFor ?? "")
    .split(",")
    .map(plain)
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (net.isIP(hops[i]) === 0) return p; // garbage from the client: fall back to the proxy itself
    if (!isTrusted(trusted, hops[i]) || i === 0) return hops[i];
  }
  return p;
}
