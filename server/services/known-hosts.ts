// The last host key pinned per SSH endpoint, kept when its server is deleted or
// moved. Without it, an operator could sidestep the admin-only re-pin by deleting a
// server whose key changed and adding it again (or adding the same machine under
// another spelling of its address: an IPv4-mapped IPv6 form, a short or octal IPv4
// form, a host name for the same IP), then accepting the new key as a first contact.
// An endpoint is the address normalised as a client resolves it, with the port;
// a host name also counts under each IP it resolves to when the key is pinned or met.
import { lookup } from "node:dns/promises";
import net from "node:net";
import type { Db } from "../db";

const LOOKUP_TIMEOUT_MS = 2000;

/** The canonical spelling of an address: IPv4 dotted (also from mapped IPv6, octal or short forms), IPv6 compressed, names lowercased. */
export function normaliseAddress(address: string): string {
  let a = address.trim().toLowerCase().replace(/\.$/, "");
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  if (net.isIPv6(a)) {
    const canon = new URL(`http://[${a}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canon);
    if (mapped) {
      const hi = parseInt(mapped[1]!, 16);
      const lo = parseInt(mapped[2]!, 16);
      return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
    }
    return canon;
  }
  // The WHATWG host parser reads IPv4 the way inet_aton (and so ssh) does: 010.1 is 8.0.0.1.
  try {
    const host = new URL(`http://${a}/`).hostname;
    if (net.isIPv4(host)) return host;
  } catch {
    /* not a host name a URL accepts: keep it as written */
  }
  return a;
}

const endpoint = (address: string, port: number) => {
  const a = normaliseAddress(address);
  return net.isIPv6(a) ? `[${a}]:${port}` : `${a}:${port}`;
};

/** Every endpoint an address stands for: its own spelling and, for a name, the IPs it resolves to now. */
export async function endpointsOf(address: string, port: number): Promise<string[]> {
  const out = new Set([endpoint(address, port)]);
  if (net.isIP(normaliseAddress(address)) === 0) {
    const ips = await Promise.race([lookup(address, { all: true }).catch(() => []), new Promise<[]>((resolve) => setTimeout(() => resolve([]), LOOKUP_TIMEOUT_MS).unref())]);
    for (const ip of ips) out.add(endpoint(ip.address, port));
  }
  return [...out];
}

export interface KnownKey {
  endpoint: string;
  fingerprint: string;
  serverName: string;
}

/** A key pinned before for this endpoint (any spelling) that is not `fingerprint`, if any. */
export async function differentKnownKey(db: Db, address: string, port: number, fingerprint: string): Promise<KnownKey | null> {
  const rows = await db.knownHost.findMany({ where: { endpoint: { in: await endpointsOf(address, port) } } });
  const other = rows.find((r) => r.fingerprint !== fingerprint);
  return other ? { endpoint: other.endpoint, fingerprint: other.fingerprint, serverName: other.serverName } : null;
}

/** Remembers the key just pinned for every spelling of the server's endpoint. */
export async function rememberPinnedKey(db: Db, server: { name: string; address: string; port: number }, hostKey: string, fingerprint: string): Promise<void> {
  for (const e of await endpointsOf(server.address, server.port)) {
    await db.knownHost.upsert({
      where: { endpoint: e },
      create: { endpoint: e, hostKey, fingerprint, serverName: server.name },
      update: { hostKey, fingerprint, serverName: server.name, pinnedAt: new Date() },
    });
  }
}
