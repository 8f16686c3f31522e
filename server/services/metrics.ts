// The metrics read at scrape time (server/metrics.ts counts the rest): runs by
// kind and status from the database, the queue's depth, and each worker's SSH pool
// and active runs from its presence in Redis. Registered once, on the first scrape.
import { readFileSync } from "node:fs";
import path from "node:path";
import { timingSafeEqual } from "node:crypto";
import { Gauge, type Registry } from "prom-client";
import { env } from "../env";
import { db } from "../db";
import { metrics } from "../metrics";
import { redis, runsQueue } from "../queue/producer";
import { listWorkers, type WorkerPresence } from "./workers";

const g = globalThis as unknown as { rampartScrapeGauges?: boolean };
/** What one scrape read once for several gauges (cleared at the start of each). */
const scrape: { presence?: Promise<WorkerPresence[] | null> } = {};

function register(registry: Registry) {
  const registers = [registry];
  new Gauge({
    name: "rampart_runs",
    help: "Runs on record, by kind and status (status is the outcome once a run ended)",
    labelNames: ["kind", "status"] as const,
    registers,
    async collect() {
      this.reset();
      const rows = await (await db()).run.groupBy({ by: ["kind", "status"], _count: { _all: true } });
      for (const r of rows) this.set({ kind: r.kind, status: r.status }, r._count._all);
    },
  });
  new Gauge({
    name: "rampart_queue_jobs",
    help: "Jobs in the run queue, by state",
    labelNames: ["state"] as const,
    registers,
    async collect() {
      this.reset();
      const counts = await runsQueue().getJobCounts("waiting", "active", "delayed", "prioritized", "failed");
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  // The workers' presence is read once per scrape (the gauges are collected in parallel).
  const presence = () => (scrape.presence ??= listWorkers(redis()).catch(() => null));
  const perWorker = (name: string, help: string, value: (w: WorkerPresence) => Array<[Record<string, string>, number]>, labelNames: string[] = ["worker"]) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset();
        for (const w of (await presence()) ?? []) for (const [labels, v] of value(w)) this.set({ worker: w.id, ...labels }, v);
      },
    });
  new Gauge({
    name: "rampart_workers",
    help: "Workers that announced themselves in the last 15 s",
    registers,
    async collect() {
      const list = await presence();
      if (list) this.set(list.length);
    },
  });
  new Gauge({
    name: "rampart_worker_presence_read",
    help: "1 when the workers' presence could be read from Redis at this scrape",
    registers,
    async collect() {
      this.set((await presence()) ? 1 : 0);
    },
  });
  perWorker(
    "rampart_worker_ssh_connections",
    "SSH connections in a worker's pool (state: open, connecting)",
    (w) =>
      w.ssh
        ? [
            [{ state: "open" }, w.ssh.connections],
            [{ state: "connecting" }, w.ssh.connecting],
          ]
        : [],
    ["worker", "state"],
  );
  perWorker("rampart_worker_ssh_channels", "SSH channels (commands, transfers, forwards) in use on a worker's connections", (w) => (w.ssh ? [[{}, w.ssh.channels]] : []));
  perWorker("rampart_worker_ssh_connections_opened", "SSH connections a worker opened since it started", (w) => (w.ssh ? [[{}, w.ssh.opened]] : []));
  new Gauge({
    name: "rampart_certificate_expires_in_seconds",
    help: "Seconds until each certificate in use expires (negative: expired)",
    labelNames: ["purpose", "source", "names", "topology", "server"] as const,
    registers,
    async collect() {
      this.reset();
      const d = await db();
      const rows = await d.certificate.findMany({
        where: { replacedAt: null },
        select: { purpose: true, source: true, names: true, notAfter: true, topology: { select: { name: true } }, server: { select: { name: true } } },
      });
      const now = Date.now();
      for (const c of rows)
        this.set(
          { purpose: c.purpose, source: c.source, names: (JSON.parse(c.names) as string[]).join(","), topology: c.topology?.name ?? "", server: c.server?.name ?? "" },
          Math.round((c.notAfter.getTime() - now) / 1000),
        );
    },
  });
  new Gauge({
    name: "rampart_acme_renewal_failures",
    help: "Failed ACME attempts in a row, per site",
    labelNames: ["topology", "topology_id"] as const,
    registers,
    async collect() {
      this.reset();
      const sites = await (await db()).acmeSite.findMany({ select: { topologyId: true, failures: true, topology: { select: { name: true } } } });
      for (const s of sites) this.set({ topology: s.topology.name, topology_id: s.topologyId }, s.failures);
    },
  });
  perWorker("rampart_worker_active_runs", "Runs a worker is carrying out", (w) => (w.activeRuns !== undefined ? [[{}, w.activeRuns]] : []));
}

/** Prometheus's text for GET /metrics. */
export async function scrapeMetrics(): Promise<{ text: string; contentType: string }> {
  const { registry } = metrics();
  if (!g.rampartScrapeGauges) {
    register(registry);
    g.rampartScrapeGauges = true;
  }
  delete scrape.presence;
  return { text: await registry.metrics(), contentType: registry.contentType };
}

/**
 * The embedded Prometheus's own token (DATA_DIR/prometheus/metrics-token, written once
 * by npm start): it may read /metrics and nothing else, and belongs to no user. The
 * embedded Alertmanager's (alertmanager-token) may only deliver alerts.
 */
export function isPrometheusToken(authorization: string | null, file: "metrics-token" | "alertmanager-token" = "metrics-token"): boolean {
  if (!authorization?.startsWith("Bearer ")) return false;
  let want: string;
  try {
    want = readFileSync(path.join(env().DATA_DIR, "prometheus", file), "utf8").trim();
  } catch {
    return false;
  }
  const got = Buffer.from(authorization.slice("Bearer ".length).trim());
  return want.length >= 32 && got.length === want.length && timingSafeEqual(got, Buffer.from(want));
}
