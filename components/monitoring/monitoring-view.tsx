"use client";
// A topology's Monitoring page: each exporter up or down per server, then the charts
// from Prometheus over the chosen range (QPS at the load balancers and per web server,
// with applies and certificate renewals marked; errors; CPU, memory, disk, load).
// Refreshed every 15 s, Prometheus's scrape interval.
import { useState } from "react";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { MONITORING_RANGES } from "@/server/schemas/monitoring";
import { useTRPC } from "../trpc";
import { Badge } from "../ui/badge";
import { TimeChart } from "./time-chart";
import { AlertList } from "./alert-list";

const RANGE_LABELS: Record<number, string> = { 900: "15 min", 3600: "1 hour", 21600: "6 hours", 86400: "24 hours" };
/** The charts that carry the apply and renewal markers. */
const MARKED = new Set(["lb-qps", "web-qps"]);

export function MonitoringView({ topologyId }: { topologyId: string }) {
  const trpc = useTRPC();
  const [rangeS, setRangeS] = useState<number>(3600);
  const q = useQuery({ ...trpc.monitoring.topology.queryOptions({ id: topologyId, rangeS }), refetchInterval: 15_000 });
  if (q.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {q.error.message}
      </p>
    );
  const v = q.data;
  if (!v) return <p className="text-sm text-slate-500">Loading the metrics…</p>;
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-xl font-semibold tracking-tight text-slate-900">Monitoring · {v.topologyName}</h1>
          <p className="mt-1 text-sm text-slate-600">
            From Prometheus, every 15 s.{" "}
            <Link href={`/topology/${v.topologyId}`} className="text-sky-700 underline">
              The topology
            </Link>
          </p>
        </div>
        <label className="text-sm text-slate-700">
          Range{" "}
          <select className="ml-1 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm" value={rangeS} onChange={(e) => setRangeS(Number(e.target.value))} data-testid="range">
            {MONITORING_RANGES.map((r) => (
              <option key={r} value={r}>
                {RANGE_LABELS[r]}
              </option>
            ))}
          </select>
        </label>
      </div>
      {v.error && (
        <p role="alert" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
          No metrics: {v.error}
        </p>
      )}
      <AlertList topologyId={v.topologyId} />
      <section aria-labelledby="health-title" className="rounded-lg border border-slate-200 bg-white shadow-sm">
        <h2 id="health-title" className="border-b border-slate-100 px-4 py-2 text-sm font-semibold text-slate-900">
          Servers
        </h2>
        <table className="w-full text-sm">
          <thead className="text-left text-xs text-slate-500">
            <tr>
              <th className="px-4 py-2 font-medium">Server</th>
              <th className="px-4 py-2 font-medium">Exporters (last scrape)</th>
            </tr>
          </thead>
          <tbody>
            {v.servers.map((s) => (
              <tr key={s.serverId} className="border-t border-slate-100" data-testid="server-health" data-server={s.name}>
                <td className="px-4 py-2">
                  <Link href={`/servers/${s.serverId}`} className="font-medium text-slate-900 hover:underline">
                    {s.name}
                  </Link>
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
      </section>
      <div className="grid gap-4 lg:grid-cols-2">
        {v.charts.map((c) => (
          <TimeChart key={c.id} chart={c} markers={MARKED.has(c.id) ? v.markers : []} range={v.range} />
        ))}
      </div>
    </div>
  );
}
