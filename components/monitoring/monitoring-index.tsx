"use client";
// The Monitoring section's start: one entry per topology, each leading to its charts.
import Link from "next/link";
import { DataTable } from "../ui/data-table";
import { topologyColumn } from "../topology/topology-column";
import { useQuery } from "@tanstack/react-query";
import { Activity } from "lucide-react";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { EmptyState } from "../ui/empty-state";

export function MonitoringIndex() {
  const trpc = useTRPC();
  const canOperate = useCan("operate");
  const list = useQuery(trpc.topologies.list.queryOptions());
  if (list.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {list.error.message}
      </p>
    );
  if (!list.data) return <p className="text-sm text-slate-500">Loading…</p>;
  if (list.data.length === 0)
    return (
      <EmptyState
        icon={<Activity size={32} />}
        title="Nothing monitored yet"
        action={
          <Link
            href={canOperate ? "/topology/new" : "/topology"}
            className="inline-flex items-center gap-2 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-sky-800"
          >
            {canOperate ? "Create a topology" : "Go to topologies"}
          </Link>
        }
      >
        Every server of an applied topology runs a node exporter (and its load balancers and web servers their own), scraped by Prometheus every 15 s: requests per second, errors, CPU, memory, disk
        and load are charted here.
      </EmptyState>
    );
  const monitored = (t: (typeof list.data)[number]) => t.members.filter((m) => m.monitoring).length;
  return (
    <DataTable
      label="Monitored topologies"
      rows={list.data}
      columns={[topologyColumn("/monitoring"), { id: "monitored", header: "Servers monitored", value: (t) => monitored(t), cell: (t) => `${monitored(t)} of ${t.members.length}` }]}
    />
  );
}
