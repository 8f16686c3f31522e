"use client";
// The Databases section's start: each topology with database servers, leading to its replication state.
import Link from "next/link";
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
  return (
    <ul className="divide-y divide-slate-100 rounded-lg border border-slate-200 bg-white shadow-sm">
      {withDb.map((t) => {
        const replicas = t.members.filter((m) => m.roles.includes("db-replica")).length;
        const primary = t.members.find((m) => m.roles.includes("db-primary"));
        return (
          <li key={t.id}>
            <Link href={`/databases/${t.id}`} className="flex items-center justify-between gap-4 px-4 py-3 hover:bg-slate-50">
              <span className="font-medium text-slate-900">{t.name}</span>
              <span className="text-sm text-slate-600">
                {primary ? `primary ${primary.serverName}` : "no primary"} · {replicas} {replicas === 1 ? "replica" : "replicas"}
              </span>
            </Link>
          </li>
        );
      })}
    </ul>
  );
}
