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
import { exportersOf } from "../provision/roles/monitoring";
import { memberRoles } from "./topologies";
import { ensureCa, ensureCollectorCert } from "./certificates";
import { ServiceError } from "./errors";
import { serverViews, topologyViews, upQuery } from "../monitoring/views";
import { serverHealth } from "../monitoring/health";
import type { MonitoringViewDto } from "../schemas/monitoring";

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
      for (const e of exportersOf({ roles: memberRoles(m), monitoring: true }))
        out.push({
          targets: [hostPort(m.server.address, e.port)],
          labels: {
            exporter: e.name,
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
export function replaceFile(file: string, content: string, mode: number): boolean {
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

// ---- Reading Prometheus (the console's Monitoring page and the API)

interface PromResult<T> {
  status: "success" | "error";
  data?: { resultType: string; result: T };
  error?: string;
}
type Matrix = Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

async function prom<T>(url: string, pathname: string, params: Record<string, string>): Promise<T> {
  const u = new URL(pathname, url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(u, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`Prometheus at ${url} did not answer (${(err as Error).message})`);
  }
  const body = (await res.json().catch(() => null)) as PromResult<T> | null;
  if (!body || body.status !== "success") throw new Error(`Prometheus refused the query: ${body?.error ?? `HTTP ${res.status}`}`);
  return body.data!.result;
}

export const queryRange = (url: string, query: string, start: Date, end: Date, stepS: number) =>
  prom<Matrix>(url, "/api/v1/query_range", { query, start: String(start.getTime() / 1000), end: String(end.getTime() / 1000), step: `${stepS}s` });
export const queryInstant = (url: string, query: string, at?: Date) => prom<Vector>(url, "/api/v1/query", { query, ...(at ? { time: String(at.getTime() / 1000) } : {}) });

/** About 240 points per chart, never finer than the scrape interval. */
export const stepFor = (rangeS: number) => Math.max(15, Math.round(rangeS / 240));

export async function topologyMonitoring(db: Db, prometheusUrl: string | undefined, input: { id: string; rangeS: number; end?: Date }): Promise<MonitoringViewDto> {
  const t = await db.topology.findUnique({ where: { id: input.id }, include: { members: { include: { server: { select: { id: true, name: true } } } } } });
  if (!t) throw new ServiceError("NOT_FOUND", `No topology with id ${input.id}`, "id");
  return monitoringView(db, prometheusUrl, input, { topology: t, members: t.members, server: null });
}

/** One server's own charts (its page): null when it is in no topology (nothing monitors it). */
export async function serverMonitoring(db: Db, prometheusUrl: string | undefined, input: { id: string; rangeS: number; end?: Date }): Promise<MonitoringViewDto | null> {
  const s = await db.server.findUnique({ where: { id: input.id }, select: { id: true, name: true } });
  if (!s) throw new ServiceError("NOT_FOUND", `No server with id ${input.id}`, "id");
  const m = await db.topologyMember.findUnique({ where: { serverId: s.id }, include: { topology: true, server: { select: { id: true, name: true } } } });
  if (!m) return null;
  return monitoringView(db, prometheusUrl, input, { topology: m.topology, members: [m], server: s });
}

type Member = Parameters<typeof memberRoles>[0] & { monitoring: boolean; server: { id: string; name: string } };

async function monitoringView(
  db: Db,
  prometheusUrl: string | undefined,
  input: { rangeS: number; end?: Date },
  scope: { topology: { id: string; name: string }; members: Member[]; server: { id: string; name: string } | null },
): Promise<MonitoringViewDto> {
  const t = scope.topology;
  const end = input.end ?? new Date();
  const start = new Date(end.getTime() - input.rangeS * 1000);
  const stepS = stepFor(input.rangeS);
  const firing = await db.alert.findMany({
    where: { status: "firing", ...(scope.server ? { serverId: scope.server.id } : { topologyId: t.id }) },
    select: { name: true, severity: true, summary: true, serverId: true },
  });
  const servers = [...scope.members]
    .sort((a, b) => a.server.name.localeCompare(b.server.name))
    .map((m) => ({
      serverId: m.server.id,
      name: m.server.name,
      exporters: exportersOf({ roles: memberRoles(m), monitoring: m.monitoring }).map((e) => ({ name: e.name, up: null as boolean | null })),
      health: serverHealth([], []),
    }));
  const withHealth = () =>
    servers.map((s) => ({
      ...s,
      health: serverHealth(
        s.exporters,
        firing.filter((a) => a.serverId === s.serverId),
      ),
    }));
  const markers = await monitoringMarkers(db, t.id, start, end);
  const base = { topologyId: t.id, topologyName: t.name, server: scope.server, range: { start, end, stepS }, markers };
  const views = scope.server ? serverViews(scope.server.id, memberRoles(scope.members[0]!), stepS) : topologyViews(t.id, stepS, t.name);
  const empty = () => views.map((v) => ({ id: v.id, title: v.title, unit: v.unit, query: v.query, series: [] }));
  if (!prometheusUrl) return { ...base, error: "no Prometheus is configured (PROMETHEUS_URL)", charts: empty(), servers: withHealth() };
  try {
    const [charts, up] = await Promise.all([
      Promise.all(
        views.map(async (v) => {
          const m = await queryRange(prometheusUrl, v.query, start, end, stepS);
          const series = m
            .map((s) => ({
              name: (v.by ? s.metric[v.by] : undefined) ?? "total",
              points: s.values.map(([at, val]) => [at, Number(val)] as [number, number]).filter(([, val]) => Number.isFinite(val)),
            }))
            .sort((a, b) => a.name.localeCompare(b.name));
          return { id: v.id, title: v.title, unit: v.unit, query: v.query, series };
        }),
      ),
      queryInstant(prometheusUrl, upQuery(t.id, scope.server?.id), end),
    ]);
    for (const s of servers)
      for (const e of s.exporters) {
        const sample = up.find((u) => u.metric.server_id === s.serverId && u.metric.exporter === e.name);
        e.up = sample ? sample.value[1] === "1" : null;
      }
    return { ...base, error: null, charts, servers: withHealth() };
  } catch (err) {
    return { ...base, error: (err as Error).message, charts: empty(), servers: withHealth() };
  }
}

/** What happened to the topology in the range: applies (when each ended) and site certificates issued (renewals). */
async function monitoringMarkers(db: Db, topologyId: string, start: Date, end: Date): Promise<MonitoringViewDto["markers"]> {
  const runs = await db.run.findMany({
    where: { topologyId, kind: "topology-apply", finishedAt: { gte: start, lte: end } },
    select: { id: true, status: true, finishedAt: true },
    orderBy: { finishedAt: "asc" },
    take: 200,
  });
  const certs = await db.certificate.findMany({
    where: { topologyId, purpose: "site", createdAt: { gte: start, lte: end } },
    select: { createdAt: true, source: true, fingerprint: true },
    orderBy: { createdAt: "asc" },
    take: 200,
  });
  return [
    ...runs.map((r) => ({ at: r.finishedAt!, kind: "apply" as const, label: `apply ${r.status}`, runId: r.id })),
    ...certs.map((c) => ({ at: c.createdAt, kind: "renewal" as const, label: `site certificate (${c.source}) ${c.fingerprint.slice(0, 11)}…`, runId: null })),
  ].sort((a, b) => a.at.getTime() - b.at.getTime());
}
