// Facts about a server: the commands that read them, and the pure parser of their
// output. Only reads; safe to run at any time.
import type { Command } from "./command";
import type { Facts } from "../schemas/servers";

/** The packages Rampart cares about, by Debian package name. */
export const WATCHED_PACKAGES = ["nginx", "haproxy", "mariadb-server", "mysql-server", "nftables", "prometheus-node-exporter"] as const;

export const FACT_COMMANDS = {
  osRelease: { argv: ["cat", "/etc/os-release"], asRoot: false },
  kernel: { argv: ["uname", "-r"], asRoot: false },
  cpus: { argv: ["nproc"], asRoot: false },
  meminfo: { argv: ["cat", "/proc/meminfo"], asRoot: false },
  disk: { argv: ["df", "-P", "-B1", "/"], asRoot: false },
  // Exits non-zero when degraded: read its output, not its status.
  systemd: { argv: ["systemctl", "is-system-running"], asRoot: false },
  // Exits 1 when some package is unknown: also read the output only.
  packages: { argv: ["dpkg-query", "-W", "-f=${Package}\\t${Version}\\t${db:Status-Status}\\n", ...WATCHED_PACKAGES], asRoot: false },
} satisfies Record<string, Command>;

export type FactOutputs = Record<keyof typeof FACT_COMMANDS, string>;

export class FactsParseError extends Error {
  override name = "FactsParseError";
}

function osRelease(text: string): Facts["os"] {
  const kv = Object.fromEntries(
    text
      .split("\n")
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]!.replace(/^"(.*)"$/, "$1")]),
  );
  return { id: kv.ID ?? "unknown", version: kv.VERSION_ID ?? "", pretty: kv.PRETTY_NAME ?? kv.NAME ?? "unknown" };
}

export function parseFacts(out: FactOutputs): Facts {
  const memKb = /^MemTotal:\s+(\d+)\s+kB/m.exec(out.meminfo);
  if (!memKb) throw new FactsParseError("no MemTotal in /proc/meminfo");
  const dfLine = out.disk.trim().split("\n")[1]?.trim().split(/\s+/);
  if (!dfLine || dfLine.length < 4) throw new FactsParseError(`unexpected df output: ${out.disk.trim()}`);
  const cpus = Number(out.cpus.trim());
  if (!Number.isInteger(cpus) || cpus < 1) throw new FactsParseError(`unexpected nproc output: ${out.cpus.trim()}`);
  const packages: Record<string, string | null> = Object.fromEntries(WATCHED_PACKAGES.map((p) => [p, null]));
  for (const line of out.packages.split("\n")) {
    const [name, version, status] = line.split("\t");
    if (name && name in packages && status === "installed" && version) packages[name] = version;
  }
  return {
    os: osRelease(out.osRelease),
    kernel: out.kernel.trim(),
    cpus,
    memoryBytes: Number(memKb[1]) * 1024,
    disk: { totalBytes: Number(dfLine[1]), freeBytes: Number(dfLine[3]) },
    systemd: out.systemd.trim().split("\n")[0] || "unknown",
    packages,
  };
}
