"use client";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { ListChecks } from "lucide-react";
import { useTRPC } from "../trpc";
import { EmptyState } from "../ui/empty-state";
import { RunStatusBadge } from "./status-badge";
import { formatDuration, formatTime } from "./time";
import { StartSystemCheckButton } from "./start-system-check";
import { runKindLabel } from "@/server/schemas/run-kinds";
import { DataTable } from "../ui/data-table";
import { TableScroll } from "../ui/table-scroll";

// The labels live with the kinds' policy, in the one registry.
export { runKindLabel };

export function RunsTable({ limit = 50 }: { limit?: number }) {
  const trpc = useTRPC();
  const runs = useQuery({ ...trpc.runs.list.queryOptions({ limit }), refetchInterval: 3_000 });
  const topologies = useQuery(trpc.topologies.list.queryOptions());
  if (runs.isPending) return <p className="text-sm text-slate-500">Loading runs…</p>;
  if (runs.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        Could not load runs: {runs.error.message}
      </p>
    );
  if (runs.data.items.length === 0)
    return (
      <EmptyState icon={<ListChecks size={32} />} title="No runs yet" action={<StartSystemCheckButton />}>
        Every job Rampart does (a system check, a plan being applied, a certificate renewal) is a run. Runs are listed here with their status, and each one can be followed live. Start with a system
        check, which verifies the database, Redis and disk space.
      </EmptyState>
    );
  const names = new Map((topologies.data ?? []).map((t) => [t.id, t.name]));
  return (
    <DataTable
      label="Runs"
      rows={runs.data.items}
      rowTestId="run-row"
      searchPlaceholder="Search runs"
      columns={[
        {
          id: "run",
          header: "Run",
          value: (run) => `${runKindLabel(run.kind)} ${run.id}`,
          cell: (run) => (
            <>
              <Link href={`/runs/${run.id}`} className="font-medium text-sky-700 hover:underline">
                {runKindLabel(run.kind)}
              </Link>
              <div className="font-mono text-xs text-slate-500">{run.id}</div>
            </>
          ),
        },
        {
          id: "topology",
          header: "Topology",
          filter: true,
          value: (run) => (run.topologyId ? (names.get(run.topologyId) ?? "") : ""),
          cell: (run) =>
            run.topologyId ? (
              <Link href={`/topology/${run.topologyId}`} className="text-sky-700 hover:underline">
                {names.get(run.topologyId) ?? "deleted topology"}
              </Link>
            ) : (
              <span className="text-slate-500">—</span>
            ),
        },
        { id: "status", header: "Status", filter: true, value: (run) => run.status, cell: (run) => <RunStatusBadge status={run.status} /> },
        { id: "requestedBy", header: "Requested by", filter: true, value: (run) => run.requestedBy, cell: (run) => <span className="text-slate-600">{run.requestedBy}</span> },
        {
          id: "started",
          header: "Started",
          value: (run) => new Date(run.startedAt ?? run.createdAt).getTime(),
          cell: (run) => <span className="text-slate-600">{formatTime(run.startedAt ?? run.createdAt)}</span>,
        },
        { id: "duration", header: "Duration", cell: (run) => <span className="text-slate-600">{formatDuration(run.startedAt, run.finishedAt)}</span> },
        {
          id: "outcome",
          header: "Outcome",
          value: (run) => run.outcome ?? "",
          className: "max-w-xs truncate px-4 py-2 text-slate-600",
          cell: (run) => <span title={run.outcome ?? undefined}>{run.outcome ?? "—"}</span>,
        },
      ]}
    />
  );
}

type RunRow = {
  id: string;
  kind: string;
  status: Parameters<typeof RunStatusBadge>[0]["status"];
  requestedBy: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  outcome: string | null;
};

/** Runs as a table: kind (a link to the run), status, who asked, when, how long, how it ended. */
export function RunRowsTable({ runs, rowTestId, showIds = false, label }: { runs: RunRow[]; rowTestId: string; showIds?: boolean; label?: string }) {
  return (
    <TableScroll>
      <table className="w-full text-left text-sm" aria-label={label}>
        <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            <th className="px-4 py-2 font-medium">Run</th>
            <th className="px-4 py-2 font-medium">Status</th>
            <th className="px-4 py-2 font-medium">Requested by</th>
            <th className="px-4 py-2 font-medium">Started</th>
            <th className="px-4 py-2 font-medium">Duration</th>
            <th className="px-4 py-2 font-medium">Outcome</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {runs.map((run) => (
            <tr key={run.id} className="hover:bg-slate-50" data-testid={rowTestId}>
              <td className="px-4 py-2">
                <Link href={`/runs/${run.id}`} className="font-medium text-sky-700 hover:underline">
                  {runKindLabel(run.kind)}
                </Link>
                {showIds ? <div className="font-mono text-xs text-slate-500">{run.id}</div> : null}
              </td>
              <td className="px-4 py-2">
                <RunStatusBadge status={run.status} />
              </td>
              <td className="px-4 py-2 text-slate-600">{run.requestedBy}</td>
              <td className="px-4 py-2 text-slate-600">{formatTime(run.startedAt ?? run.createdAt)}</td>
              <td className="px-4 py-2 text-slate-600">{formatDuration(run.startedAt, run.finishedAt)}</td>
              <td className="max-w-xs truncate px-4 py-2 text-slate-600" title={run.outcome ?? undefined}>
                {run.outcome ?? "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
