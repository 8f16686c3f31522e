"use client";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { LayoutTemplate, Network, Plus } from "lucide-react";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { EmptyState } from "../ui/empty-state";
import { formatTime } from "../runs/time";
import { DriftBadge } from "./drift-badge";
import { DataTable } from "../ui/data-table";

const LINK_BUTTON =
  "inline-flex items-center gap-2 rounded-md px-3 py-1.5 text-sm font-medium shadow-sm transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-700";

/** "New site" (the seed's three-server layout) and "New topology": links for those who may create one, disabled buttons for viewers. */
export function NewTopologyButton() {
  const canOperate = useCan("operate");
  if (!canOperate)
    return (
      <div className="flex flex-wrap gap-2">
        <Button disabled title="Only operators and admins can create sites">
          <LayoutTemplate size={16} aria-hidden /> New site
        </Button>
        <Button variant="secondary" disabled title="Only operators and admins can create topologies">
          <Plus size={16} aria-hidden /> New topology
        </Button>
      </div>
    );
  return (
    <div className="flex flex-wrap gap-2">
      <Link href="/topology/new-site" className={`${LINK_BUTTON} bg-sky-700 text-white hover:bg-sky-800`}>
        <LayoutTemplate size={16} aria-hidden /> New site
      </Link>
      <Link href="/topology/new" className={`${LINK_BUTTON} border border-slate-300 bg-white text-slate-800 hover:bg-slate-50`}>
        <Plus size={16} aria-hidden /> New topology
      </Link>
    </div>
  );
}

export function TopologiesList() {
  const trpc = useTRPC();
  const topologies = useQuery({ ...trpc.topologies.list.queryOptions(), refetchInterval: 10_000 });
  const servers = useQuery(trpc.servers.list.queryOptions());

  if (topologies.isPending) return <p className="text-sm text-slate-500">Loading topologies…</p>;
  if (topologies.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        Could not load topologies: {topologies.error.message}
      </p>
    );

  if (topologies.data.length === 0) {
    const noServers = servers.data?.length === 0;
    return (
      <EmptyState
        icon={<Network size={32} />}
        title="No topology defined yet"
        action={
          noServers ? (
            <Link href="/servers" className="inline-flex items-center gap-2 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-sky-800">
              Add servers first
            </Link>
          ) : (
            <NewTopologyButton />
          )
        }
      >
        <p>
          A topology (a site such as www.foobar.com) will be drawn here as a diagram: the load balancer, web, app and database tiers, the servers in each, and how traffic flows between them. You
          assign roles to servers, read the plan Rampart computes, and apply it.
        </p>
        <p className="mt-2">
          It needs servers first
          {noServers ? (
            <>
              : none are registered yet.{" "}
              <Link href="/servers" className="text-sky-700 underline">
                Add them on the Servers page
              </Link>
              .
            </>
          ) : (
            <>: give some of your servers roles with “New topology”.</>
          )}
        </p>
      </EmptyState>
    );
  }

  return (
    <div className="space-y-4">
      <div className="flex justify-end">
        <NewTopologyButton />
      </div>
      <DataTable
        label="Topologies"
        rows={topologies.data}
        rowTestId="topology-row"
        searchPlaceholder="Search topologies"
        columns={[
          {
            id: "site",
            header: "Site",
            value: (t) => t.name,
            cell: (t) => (
              <>
                <Link href={`/topology/${t.id}`} className="font-medium text-sky-700 hover:underline">
                  {t.name}
                </Link>
                <div className="text-xs text-slate-500">balancing: {t.balance}</div>
              </>
            ),
          },
          {
            id: "servers",
            header: "Servers",
            value: (t) => t.members.length,
            cell: (t) => (
              <span className="text-slate-600" title={t.members.map((m) => m.serverName).join(", ")}>
                {t.members.length} server{t.members.length === 1 ? "" : "s"}
              </span>
            ),
          },
          { id: "state", header: "State", filter: true, value: (t) => t.driftStatus, cell: (t) => <DriftBadge topology={t} /> },
          {
            id: "checked",
            header: "Last checked",
            value: (t) => (t.driftCheckedAt ? new Date(t.driftCheckedAt).getTime() : null),
            cell: (t) => <span className="text-slate-600">{t.driftCheckedAt ? formatTime(t.driftCheckedAt) : "never"}</span>,
          },
        ]}
      />
    </div>
  );
}
