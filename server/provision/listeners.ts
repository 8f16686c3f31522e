// Who listens on the ports a role needs. The observe script prints `ss -Htlnp`
// and, for each listening process, its systemd unit (from /proc/PID/cgroup);
// this file parses that and decides, purely, what a plan must do about it.
export interface Listener {
  address: string;
  port: number;
  /** The processes holding the socket: name, pid and systemd unit (e.g. "nginx.service", "session-3.scope"). */
  processes: Array<{ name: string; pid: number; unit: string | null }>;
}

/** Parses the body of the observe script's "listen" record. */
export function parseListeners(lines: readonly string[]): Listener[] {
  const units = new Map<number, string>();
  for (const l of lines) {
    const m = /^unit (\d+) (\S+)$/.exec(l);
    if (m) units.set(Number(m[1]), m[2] === "-" ? "" : m[2]!);
  }
  const out: Listener[] = [];
  for (const l of lines) {
    if (l.startsWith("unit ")) continue;
    // LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=12,fd=6),("nginx",pid=13,fd=6))
    const f = l.trim().split(/\s+/);
    if (f.length < 5 || f[0] !== "LISTEN") continue;
    const local = f[3]!;
    const colon = local.lastIndexOf(":");
    const port = Number(local.slice(colon + 1));
    if (!Number.isInteger(port)) continue;
    const address = local
      .slice(0, colon)
      .replace(/^\[|\]$/g, "")
      .replace(/%.*$/, "");
    const processes = [...l.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+)/g)].map((m) => ({ name: m[1]!, pid: Number(m[2]), unit: units.get(Number(m[2])) || null }));
    out.push({ address, port, processes });
  }
  return out;
}

const LOOPBACK = (a: string) => a.startsWith("127.") || a === "::1";

/** Daemons a role may replace on its ports: stopped and disabled by an explicit step of the plan. */
export const REPLACEABLE_UNITS = ["nginx.service", "apache2.service", "lighttpd.service", "haproxy.service", "caddy.service", "varnish.service", "httpd.service"];

export interface PortClaimLike {
  port: number;
  unit: string;
  purpose: string;
}

export type PortFinding =
  | { kind: "ok" }
  /** Held by a unit that this plan reconfigures anyway (a managed service whose new configuration frees it). */
  | { kind: "freed-by-plan"; unit: string; port: number; message: string }
  /** Held by a known daemon Rampart does not run here: stop and disable it. */
  | { kind: "stop"; unit: string; port: number; message: string }
  /** Held by something Rampart cannot decide about: refuse. */
  | { kind: "refuse"; port: number; message: string };

const holderText = (l: Listener) => {
  const p = l.processes[0];
  if (!p) return `an unknown process (${l.address}:${l.port})`;
  return `${p.name} (pid ${p.pid}${p.unit ? `, ${p.unit}` : ""}) on ${l.address.includes(":") ? `[${l.address}]` : l.address}:${l.port}`;
};

/**
 * What to do about each port a host's roles need, given who listens now.
 * `managedUnits`: units Rampart runs on this host (their own configuration decides
 * their ports); `reconfigured`: those this plan reloads or restarts.
 */
export function portFindings(claims: readonly PortClaimLike[], listeners: readonly Listener[], managedUnits: ReadonlySet<string>, reconfigured: ReadonlySet<string>): PortFinding[] {
  const out: PortFinding[] = [];
  for (const c of claims) {
    // A loopback listener of the same port conflicts with a wildcard claim too: any holder counts.
    const holders = listeners.filter((l) => l.port === c.port);
    for (const l of holders) {
      const units = new Set(l.processes.map((p) => p.unit));
      if (units.has(c.unit)) continue;
      const unit = [...units][0] ?? null;
      if (unit && managedUnits.has(unit)) {
        if (reconfigured.has(unit))
          out.push({
            kind: "freed-by-plan",
            unit,
            port: c.port,
            message: `${holderText(l)} holds port ${c.port}, which ${c.unit} needs (${c.purpose}); its new configuration no longer listens there`,
          });
        else
          out.push({
            kind: "refuse",
            port: c.port,
            message: `port ${c.port}, which ${c.unit} needs (${c.purpose}), is held by ${holderText(l)} from a configuration Rampart does not manage: remove that listener from ${unit}'s configuration`,
          });
      } else if (unit && REPLACEABLE_UNITS.includes(unit)) {
        out.push({ kind: "stop", unit, port: c.port, message: `port ${c.port}, which ${c.unit} needs (${c.purpose}), is held by ${holderText(l)}, which this host's roles do not use` });
      } else {
        out.push({
          kind: "refuse",
          port: c.port,
          message: `port ${c.port}, which ${c.unit} needs (${c.purpose}), is held by ${holderText(l)}, which Rampart does not manage: stop it (or free the port), then plan again`,
        });
      }
    }
    if (holders.length === 0 || holders.every((l) => l.processes.some((p) => p.unit === c.unit))) out.push({ kind: "ok" });
  }
  return dedupeFindings(out);
}

function dedupeFindings(f: PortFinding[]): PortFinding[] {
  const seen = new Set<string>();
  return f.filter((x) => {
    const k = JSON.stringify(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const WILDCARD = (a: string) => a === "0.0.0.0" || a === "::" || a === "*";

/** Is `port` listened on by `unit` (on every address, loopback only, or the one address the claim names)? */
export function listenedBy(listeners: readonly Listener[], port: number, unit: string, scope: "loopback" | "any", address?: string): Listener | null {
  const where = (a: string) => (address ? a === address || WILDCARD(a) : scope === "loopback" || !LOOPBACK(a));
  return listeners.find((l) => l.port === port && l.processes.some((p) => p.unit === unit) && where(l.address)) ?? null;
}
