"use client";
// What a topology's Monitoring page and a server's page share: the range picker, each
// exporter up or down, and the grid of charts (QPS charts carry the apply and renewal
// markers).
import Link from "next/link";
import { MONITORING_RANGES, type MonitoringViewDto } from "@/server/schemas/monitoring";
import { Badge } from "../ui/badge";
import { TimeChart } from "./time-chart";
import { TableScroll } from "../ui/table-scroll";

const RANGE_LABELS: Record<number, string> = { 900: "15 min", 3600: "1 hour", 21600: "6 hours", 86400: "24 hours" };
/** The charts that carry the apply and renewal markers. */
const MARKED = new Set(["lb-qps", "web-qps"]);

export function RangeSelect({ value, onChange }: { value: number; onChange: (rangeS: number) => void }) {
  return (
    <label className="text-sm text-slate-700">
      Range{" "}
      <select className="ml-1 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm" value={value} onChange={(e) => onChange(Number(e.target.value))} data-testid="range">
        {MONITORING_RANGES.map((r) => (
          <option key={r} value={r}>
            {RANGE_LABELS[r]}
          </option>
        ))}
      </select>
    </label>
  );
}

export function NoMetrics({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
      No metrics: {error}
    </p>
  );
}

const HEALTH_TONE = { healthy: "success", degraded: "warning", down: "danger", unknown: "neutral" } as const;

export function ServerHealthTable({ servers }: { servers: MonitoringViewDto["servers"] }) {
  return (
    <section aria-labelledby="health-title" className="rounded-lg border border-slate-200 bg-white shadow-sm">
      <h2 id="health-title" className="border-b border-slate-100 px-4 py-2 text-sm font-semibold text-slate-900">
        Servers
      </h2>
      <TableScroll>
        <table className="w-full text-sm">
          <thead className="text-left text-xs text-slate-500">
            <tr>
              <th className="px-4 py-2 font-medium">Server</th>
              <th className="px-4 py-2 font-medium">Health</th>
              <th className="px-4 py-2 font-medium">Exporters (last scrape)</th>
            </tr>
          </thead>
          <tbody>
            {servers.map((s) => (
              <tr key={s.serverId} className="border-t border-slate-100 align-top" data-testid="server-health" data-server={s.name} data-health={s.health.state}>
                <td className="px-4 py-2">
                  <Link href={`/servers/${s.serverId}`} className="font-medium text-slate-900 hover:underline">
                    {s.name}
                  </Link>
                </td>
                <td className="px-4 py-2">
                  <Badge tone={HEALTH_TONE[s.health.state]}>{s.health.state}</Badge>
                  {s.health.reasons.length > 0 && (
                    <ul className="mt-1 text-xs text-slate-600">
                      {s.health.reasons.map((r) => (
                        <li key={r}>{r}</li>
                      ))}
                    </ul>
                  )}
                </td>
                <td className="flex flex-wrap gap-2 px-4 py-2">
                  {s.exporters.length === 0 ? (
                    <span className="text-slate-500">monitoring off</span>
                  ) : (
                    s.exporters.map((e) => (
                      <span key={e.name} data-testid="exporter" data-exporter={e.name} data-up={String(e.up)}>
                        <Badge tone={e.up === null ? "neutral" : e.up ? "success" : "danger"}>
                          {e.name} {e.up === null ? "not scraped yet" : e.up ? "up" : "down"}
                        </Badge>
                      </span>
                    ))
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </section>
  );
}

export function ChartGrid({ view }: { view: MonitoringViewDto }) {
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      {view.charts.map((c) => (
        <TimeChart key={c.id} chart={c} markers={MARKED.has(c.id) ? view.markers : []} range={view.range} />
      ))}
    </div>
  );
}
