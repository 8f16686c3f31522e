"use client";
// A topology's Monitoring page: alerts, the topology diagram coloured by each server's
// health (exporters answering, alerts firing), each exporter up or down per server, then
// the charts from Prometheus over the chosen range (QPS at the load balancers and per web
// server, with applies and certificate renewals marked; errors; CPU, memory, disk, load).
// Refreshed every 15 s, Prometheus's scrape interval.
import { useState } from "react";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../trpc";
import { TopologyDiagram } from "../topology/topology-diagram";
import { AlertList } from "./alert-list";
import { ChartGrid, NoMetrics, RangeSelect, ServerHealthTable } from "./charts";

export function MonitoringView({ topologyId }: { topologyId: string }) {
  const trpc = useTRPC();
  const [rangeS, setRangeS] = useState<number>(3600);
  const q = useQuery({ ...trpc.monitoring.topology.queryOptions({ id: topologyId, rangeS }), refetchInterval: 15_000 });
  const topology = useQuery({ ...trpc.topologies.get.queryOptions({ id: topologyId }), refetchInterval: 15_000 });
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
        <RangeSelect value={rangeS} onChange={setRangeS} />
      </div>
      <NoMetrics error={v.error} />
      <AlertList topologyId={v.topologyId} />
      {topology.data && (
        <section aria-labelledby="diagram-title" className="rounded-lg border border-slate-200 bg-white shadow-sm">
          <h2 id="diagram-title" className="border-b border-slate-100 px-4 py-2 text-sm font-semibold text-slate-900">
            Health
          </h2>
          <TopologyDiagram topology={topology.data} health={Object.fromEntries(v.servers.map((s) => [s.serverId, s.health]))} />
        </section>
      )}
      <ServerHealthTable servers={v.servers} />
      <ChartGrid view={v} />
    </div>
  );
}

/** A server's own charts (on its page), when it is in a topology. */
export function ServerCharts({ serverId }: { serverId: string }) {
  const trpc = useTRPC();
  const [rangeS, setRangeS] = useState<number>(3600);
  const q = useQuery({ ...trpc.monitoring.server.queryOptions({ id: serverId, rangeS }), refetchInterval: 15_000 });
  if (q.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {q.error.message}
      </p>
    );
  if (q.data === undefined) return <p className="text-sm text-slate-500">Loading the metrics…</p>;
  const v = q.data;
  if (v === null) return null;
  return (
    <section aria-labelledby="server-monitoring-title" className="space-y-4" data-testid="server-monitoring">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h2 id="server-monitoring-title" className="text-base font-semibold text-slate-900">
            Monitoring
          </h2>
          <p className="text-sm text-slate-600">
            This server&apos;s exporters, from Prometheus every 15 s.{" "}
            <Link href={`/monitoring/${v.topologyId}`} className="text-sky-700 underline">
              All of {v.topologyName}
            </Link>
          </p>
        </div>
        <RangeSelect value={rangeS} onChange={setRangeS} />
      </div>
      <NoMetrics error={v.error} />
      <ServerHealthTable servers={v.servers} />
      <ChartGrid view={v} />
    </section>
  );
}
