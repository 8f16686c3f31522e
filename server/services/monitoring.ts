// What Prometheus needs to scrape the servers' exporters, written to
// DATA_DIR/prometheus (the embedded Prometheus reads it; see scripts/prometheus-config.mjs):
//   targets/servers.json — file-based service discovery: every monitored member of
//                          every topology applied at least once, with its labels;
//   tls/                 — the internal CA's certificate and Rampart's collector
//                          certificate and key (the exporters require it).
// Files are replaced atomically and only when their content changes (Prometheus
// watches the targets file). A change of the TLS files needs a configuration reload
// when they did not exist before (Prometheus refuses a scrape job whose files are missing).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Db } from "../db";
import type { SecretBox } from "../secrets/envelope";
import { NODE_EXPORTER_PORT } from "../provision/roles/monitoring";
import { memberRoles } from "./topologies";
import { ensureCa, ensureCollectorCert } from "./certificates";

export interface ScrapeTargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export const prometheusDir = (dataDir: string) => path.join(dataDir, "prometheus");
export const collectorFiles = (dataDir: string) => {
  const tls = path.join(prometheusDir(dataDir), "tls");
  return { ca: path.join(tls, "ca.pem"), cert: path.join(tls, "collector.pem"), key: path.join(tls, "collector.key") };
};
export const targetsFile = (dataDir: string) => path.join(prometheusDir(dataDir), "targets", "servers.json");

const hostPort = (address: string, port: number) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);

/**
 * The exporters to scrape, one group per server and exporter. Only topologies applied at
 * least once: a server whose exporter was never installed would read as down.
 */
export async function scrapeTargets(db: Db): Promise<ScrapeTargetGroup[]> {
  const topologies = await db.topology.findMany({
    where: { lastApplyRunId: { not: null } },
    orderBy: { name: "asc" },
    include: { members: { where: { monitoring: true }, include: { server: { select: { id: true, name: true, address: true } } } } },
  });
  const out: ScrapeTargetGroup[] = [];
  for (const t of topologies)
    for (const m of [...t.members].sort((a, b) => a.server.name.localeCompare(b.server.name)))
      out.push({
        targets: [hostPort(m.server.address, NODE_EXPORTER_PORT)],
        labels: {
          exporter: "node",
          server: m.server.name,
          server_id: m.server.id,
          topology: t.name,
          topology_id: t.id,
          // Comma-wrapped so that a query can match one role: roles=~".*,web,.*"
          roles: `,${memberRoles(m).join(",")},`,
        },
      });
  return out;
}

/** Writes `content` to `file` (mode `mode`) unless it already holds exactly that; says whether it changed. */
function replaceFile(file: string, content: string, mode: number): boolean {
  try {
    if (readFileSync(file, "utf8") === content) return false;
  } catch {
    // absent: written below
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
  return true;
}

/** Writes the targets and the collector's TLS files; says what changed. */
export async function writeScrapeFiles(db: Db, box: SecretBox, dataDir: string): Promise<{ targets: number; targetsChanged: boolean; tlsChanged: boolean }> {
  const ca = await ensureCa(db, box);
  const collector = await ensureCollectorCert(db, box, ca);
  const f = collectorFiles(dataDir);
  // The key first: a certificate must never be paired with a key it does not match for longer than this takes.
  let tlsChanged = replaceFile(f.key, collector.keyPem, 0o600);
  tlsChanged = replaceFile(f.cert, collector.certPem, 0o644) || tlsChanged;
  tlsChanged = replaceFile(f.ca, ca.certPem, 0o644) || tlsChanged;
  const groups = await scrapeTargets(db);
  const targetsChanged = replaceFile(targetsFile(dataDir), `${JSON.stringify(groups, null, 2)}\n`, 0o644);
  return { targets: groups.length, targetsChanged, tlsChanged };
}

/** Asks Prometheus to read its configuration again (it must run with --web.enable-lifecycle). */
export async function reloadPrometheus(url: string): Promise<void> {
  const res = await fetch(new URL("/-/reload", url), { method: "POST", signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`Prometheus answered the reload with HTTP ${res.status}: ${(await res.text()).trim().slice(0, 200)}`);
}
