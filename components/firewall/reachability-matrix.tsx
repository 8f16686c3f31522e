"use client";
// Who can reach which port of which server: one row per source (the control plane,
// then each server from its own network namespace), one column per target port.
// Each cell shows what was observed; a mismatch with the policy is marked and named.
import type { ReachabilityDto, ReachCellDto } from "@/server/schemas/reachability";
import { cn } from "../ui/cn";
import { formatTime } from "../runs/time";
import { TableScroll } from "../ui/table-scroll";

const SHORT = { open: "open", refused: "refused", filtered: "filtered" } as const;

function cellTitle(c: ReachCellDto): string {
  const seen = c.observed ?? "not probed";
  return `${c.fromName} → ${c.toName} ${c.address}:${c.port} (${c.purpose}): expected ${c.expected}, observed ${seen}`;
}

/** The matrix, optionally narrowed to the cells that involve one server (as source or target). */
export function ReachabilityMatrix({ reachability, serverId }: { reachability: ReachabilityDto | null; serverId?: string }) {
  if (!reachability)
    return (
      <p className="text-sm text-slate-500" data-testid="reach-none">
        Not probed yet: the matrix is filled in by every plan and apply while the firewall is on.
      </p>
    );
  const cells = serverId ? reachability.cells.filter((c) => c.toServerId === serverId || c.from === serverId) : reachability.cells;
  const sources = [...new Map(cells.map((c) => [c.from, c.fromName])).entries()];
  const targets = [...new Map(cells.map((c) => [`${c.toServerId}:${c.port}`, c])).values()].sort((a, b) => a.toName.localeCompare(b.toName) || a.port - b.port);
  const mismatches = cells.filter((c) => !c.ok);
  const at = (from: string, t: ReachCellDto) => cells.find((c) => c.from === from && c.toServerId === t.toServerId && c.port === t.port);

  return (
    <div className="space-y-2" data-testid="reach-matrix" data-mismatches={mismatches.length}>
      <p className="text-xs text-slate-500">
        Probed {formatTime(reachability.checkedAt)} with a short TCP connect from each source.{" "}
        {mismatches.length === 0 ? (
          <span className="font-medium text-emerald-700">Every probe matches the policy.</span>
        ) : (
          <span className="font-medium text-rose-700" role="alert">
            {mismatches.length} {mismatches.length === 1 ? "probe differs" : "probes differ"} from the policy.
          </span>
        )}
      </p>
      <TableScroll className="rounded-md border border-slate-200">
        <table className="min-w-full border-collapse text-xs">
          <caption className="sr-only">Reachability: rows are sources, columns are target ports; each cell is what a TCP connect found</caption>
          <thead className="bg-slate-50">
            <tr>
              <th scope="col" className="sticky left-0 bg-slate-50 px-2 py-1.5 text-left font-medium text-slate-600">
                From ↓ / to →
              </th>
              {targets.map((t) => (
                <th key={`${t.toServerId}:${t.port}`} scope="col" className="px-2 py-1.5 text-left font-medium whitespace-nowrap text-slate-700" title={t.purpose}>
                  <div>
                    {t.toName}:{t.port}
                  </div>
                  <div className="max-w-32 truncate font-normal text-slate-500">{t.purpose}</div>
                </th>
              ))}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {sources.map(([from, fromName]) => (
              <tr key={from}>
                <th scope="row" className="sticky left-0 bg-white px-2 py-1.5 text-left font-medium whitespace-nowrap text-slate-800">
                  {fromName}
                </th>
                {targets.map((t) => {
                  const c = at(from, t);
                  if (!c) return <td key={`${t.toServerId}:${t.port}`} className="px-2 py-1.5 text-slate-300" aria-label="not applicable" />;
                  return (
                    <td
                      key={`${t.toServerId}:${t.port}`}
                      title={cellTitle(c)}
                      data-testid="reach-cell"
                      data-from={c.fromName}
                      data-to={c.toName}
                      data-address={c.address}
                      data-port={c.port}
                      data-expected={c.expected}
                      data-observed={c.observed ?? ""}
                      data-ok={c.ok}
                      className={cn("px-2 py-1.5 whitespace-nowrap", c.ok ? (c.observed === "open" ? "bg-emerald-50 text-emerald-800" : "text-slate-600") : "bg-rose-100 font-semibold text-rose-800")}
                    >
                      {c.observed ? SHORT[c.observed] : "not probed"}
                      {!c.ok ? <span className="block font-normal">expected {c.expected}</span> : null}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      <p className="text-xs text-slate-500">
        <span className="rounded bg-emerald-50 px-1 text-emerald-800">open</span> a connection succeeded · <span className="px-1">refused</span> the host answered with a reset ·{" "}
        <span className="px-1">filtered</span> no answer (dropped) · <span className="rounded bg-rose-100 px-1 text-rose-800">red</span> differs from the policy
      </p>
    </div>
  );
}
