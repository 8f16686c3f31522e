// A server's health at a glance, from what monitoring knows: whether Prometheus could
// scrape each of its exporters and which alerts fire for it. Pure; the Monitoring page
// colours the topology diagram with it.

export type HealthState = "healthy" | "degraded" | "down" | "unknown";

export interface Health {
  state: HealthState;
  /** Why, one short line each (empty when healthy). */
  reasons: string[];
}

/**
 * - down: the node exporter does not answer (the host, or the network to it), another
 *   exporter does not answer (its service is stopped: nginx, HAProxy, MariaDB's exporter),
 *   or a critical alert fires;
 * - degraded: a warning alert fires;
 * - unknown: monitoring is off, or an exporter was not scraped yet;
 * - healthy: every exporter answered its last scrape and no alert fires.
 */
export function serverHealth(exporters: ReadonlyArray<{ name: string; up: boolean | null }>, firing: ReadonlyArray<{ name: string; severity: string; summary: string }>): Health {
  if (exporters.length === 0) return { state: "unknown", reasons: ["monitoring is off"] };
  const reasons: string[] = [];
  const down = exporters.filter((e) => e.up === false);
  const hostDown = down.some((e) => e.name === "node");
  if (hostDown) reasons.push("does not answer (node exporter down)");
  for (const e of down) if (e.name !== "node") reasons.push(`${e.name} exporter down`);
  const critical = firing.filter((a) => a.severity === "critical");
  const warnings = firing.filter((a) => a.severity !== "critical");
  for (const a of [...critical, ...warnings]) reasons.push(`${a.name}: ${a.summary || a.name}`);
  if (down.length > 0 || critical.length > 0) return { state: "down", reasons };
  if (warnings.length > 0) return { state: "degraded", reasons };
  const notYet = exporters.filter((e) => e.up === null);
  if (notYet.length > 0) return { state: "unknown", reasons: [`not scraped yet: ${notYet.map((e) => e.name).join(", ")}`] };
  return { state: "healthy", reasons: [] };
}
