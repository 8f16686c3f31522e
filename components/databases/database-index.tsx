"use client";
// The Databases section's start: each topology with database servers, leading to its replication state.
import { DataTable } from "../ui/data-table";
import { topologyColumn } from "../topology/topology-column";
import { useQuery } from "@tanstack/react-query";
import { Database } from "lucide-react";
import { useTRPC } from "../trpc";
import { EmptyState } from "../ui/empty-state";

export function DatabaseIndex() {
  const trpc = useTRPC();
  const list = useQuery(trpc.topologies.list.queryOptions());
  if (list.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {list.error.message}
      </p>
    );
  if (!list.data) return <p className="text-sm text-slate-500">Loading…</p>;
  const withDb = list.data.filter((t) => t.members.some((m) => m.roles.includes("db-primary") || m.roles.includes("db-replica")));
  if (withDb.length === 0)
    return (
      <EmptyState icon={<Database size={32} />} title="No databases yet">
        Give servers of a topology the roles <em>DB primary</em> and <em>DB replica</em>: Rampart installs MariaDB on them (TLS required, GTIDs), loads each replica from the primary and hands the app
        its credentials. Their replication state (threads, lag, GTID positions) appears here.
      </EmptyState>
    );
  const primaryOf = (t: (typeof withDb)[number]) => t.members.find((m) => m.roles.includes("db-primary"))?.serverName ?? "";
  const replicasOf = (t: (typeof withDb)[number]) => t.members.filter((m) => m.roles.includes("db-replica")).length;
  return (
    <DataTable
      label="Topologies with databases"
      rows={withDb}
      columns={[
        topologyColumn("/databases"),
        { id: "primary", header: "Primary", value: (t) => primaryOf(t), cell: (t) => primaryOf(t) || "no primary" },
        { id: "replicas", header: "Replicas", value: (t) => replicasOf(t), cell: (t) => replicasOf(t) },
      ]}
    />
  );
}
