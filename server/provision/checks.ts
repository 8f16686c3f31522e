// Checks that prove a role works, judged purely. Host checks (who listens, whether
// a daemon runs the configuration on disk) are judged from the host's observation;
// the worker carries out the others (HTTPS through the load balancer, backend
// health, the certificate a server presents) and reports them in the same shape.
import type { Listener } from "./listeners";
import { listenedBy } from "./listeners";
import type { Freshness } from "./observe";
import { staleFile } from "./planner";
import type { CheckSpec, ModuleName } from "./roles/types";

export interface CheckResult {
  role: ModuleName;
  /** Short and stable: "listening :443", "running configuration of haproxy". */
  name: string;
  ok: boolean;
  expected: string;
  found: string;
  /** A TLS check's record of what the port served and what Rampart deployed there (fingerprints; null: none). */
  served?: { purpose: "site" | "backend"; port: number; fingerprint: string | null; deployed: string | null };
}

export const unitName = (u: string) => u.replace(/\.service$/, "");

const describeHolder = (l: Listener) => l.processes.map((p) => `${p.name} (pid ${p.pid}${p.unit ? `, ${p.unit}` : ""})`).join(", ") || "an unknown process";

/** Is a check judged from the host's own observation? */
export const isHostCheck = (c: CheckSpec) => c.kind === "listening" || c.kind === "running-config";

export function checkName(c: CheckSpec): string {
  switch (c.kind) {
    case "listening":
      return `listening on :${c.claim.port}`;
    case "running-config":
      return `${unitName(c.unit)} runs the configuration on disk`;
    case "https-site":
      return `HTTPS on :${c.port}`;
    case "backends-up":
      return "backends up";
    case "served-certificate":
      return `certificate on :${c.port}`;
    case "exporter":
      return `${c.name} exporter on :${c.port}`;
    case "mysql-server":
      return `database server settings (${c.role})`;
    case "replication":
      return "replication from the primary";
  }
}

/** Judges a host check from what was observed on the host. */
export function judgeHostCheck(role: ModuleName, c: CheckSpec, obs: { listeners: Listener[] | null; fresh: Map<string, Freshness> }): CheckResult {
  const name = checkName(c);
  if (c.kind === "listening") {
    const { port, unit, scope } = c.claim;
    const expected = `${unit} listens on port ${port}${scope === "loopback" ? " (loopback is enough)" : c.claim.address ? ` on ${c.claim.address}` : " on the host's addresses"}`;
    if (!obs.listeners) return { role, name, ok: false, expected, found: "the listening sockets could not be read (is `ss` installed?)" };
    if (listenedBy(obs.listeners, port, unit, scope, c.claim.address)) return { role, name, ok: true, expected, found: `${unit} listens on port ${port}` };
    const others = obs.listeners.filter((l) => l.port === port);
    const found = others.length === 0 ? `nothing listens on port ${port}` : others.map((l) => `${l.address}:${l.port} is held by ${describeHolder(l)}`).join("; ");
    return { role, name, ok: false, expected, found };
  }
  if (c.kind === "running-config") {
    const unit = unitName(c.unit);
    const expected = `${unit}'s processes started after its configuration files last changed`;
    const f = obs.fresh.get(unit);
    if (!f || f.youngestStart === null) return { role, name, ok: false, expected, found: `${unit} has no running processes` };
    const stale = staleFile(f);
    if (!stale)
      return {
        role,
        name,
        ok: true,
        expected,
        found: `running the files on disk: its newest process started at ${new Date(f.youngestStart * 1000).toISOString()}${f.files.length ? `, its configuration last changed at ${new Date(Math.max(...f.files.map((x) => x.mtime)) * 1000).toISOString()}` : ""}`,
      };
    return {
      role,
      name,
      ok: false,
      expected,
      found: `${unit} runs an older configuration: ${stale.path} changed at ${new Date(stale.changedAt * 1000).toISOString()}, its newest process started at ${new Date(f.youngestStart * 1000).toISOString()} (a reload that did not take effect)`,
    };
  }
  throw new Error(`${c.kind} is not judged from the host's observation`);
}
