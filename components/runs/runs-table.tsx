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

// The labels live with the kinds' policy, in the one registry.
export { runKindLabel };

export function RunsTable({ limit = 50 }: { limit?: number }) {
  const trpc = useTRPC();
  const runs = useQuery({ ...trpc.runs.list.queryOptions({ limit }), refetchInterval: 3_000 });
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
  return (
    <div className="overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
      <RunRowsTable runs={runs.data.items} rowTestId="run-row" showIds />
    </div>
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
              {showIds ? <div className="font-mono text-xs text-slate-400">{run.id}</div> : null}
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
  );
}
