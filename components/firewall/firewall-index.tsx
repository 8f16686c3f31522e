"use client";
// The Firewall section's start: one entry per topology, each leading to its firewall.
import Link from "next/link";
import { DataTable } from "../ui/data-table";
import { topologyColumn } from "../topology/topology-column";
import { useQuery } from "@tanstack/react-query";
import { Shield } from "lucide-react";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { EmptyState } from "../ui/empty-state";

export function FirewallIndex() {
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
        icon={<Shield size={32} />}
        title="No firewalls yet"
        action={
          <Link
            href={canOperate ? "/topology/new" : "/topology"}
            className="inline-flex items-center gap-2 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-sky-800"
          >
            {canOperate ? "Create a topology" : "Go to topologies"}
          </Link>
        }
      >
        Every server of a topology gets a firewall: inbound traffic dropped unless its roles need it (the load balancer&apos;s 80/443 from anywhere, each tier&apos;s port from the tier in front of it
        only, MySQL from the app servers and replicas), plus your rules.
      </EmptyState>
    );
  return (
    <DataTable
      label="Topologies and their firewalls"
      rows={list.data}
      columns={[
        topologyColumn("/firewall"),
        { id: "count", header: "Servers", value: (t) => t.members.length, cell: (t) => t.members.length },
        {
          id: "servers",
          header: "Which",
          value: (t) => t.members.map((m) => m.serverName).join(", "),
          className: "px-4 py-2 text-slate-600",
          cell: (t) => t.members.map((m) => m.serverName).join(", "),
        },
      ]}
    />
  );
}
