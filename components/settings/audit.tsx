"use client";
import { useState } from "react";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useTRPC } from "../trpc";
import { Card } from "../ui/card";
import { Input, Select } from "../ui/field";
import { Badge } from "../ui/badge";
import { Button } from "../ui/button";
import { formatTime } from "../runs/time";
import { TableScroll } from "../ui/table-scroll";

export function AuditPanel() {
  const trpc = useTRPC();
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [outcome, setOutcome] = useState<"" | "ok" | "denied" | "error">("");
  const entries = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { actor: actor || undefined, action: action || undefined, outcome: outcome || undefined, limit: 100 },
      { getNextPageParam: (last) => last.nextCursor, initialCursor: null },
    ),
  );
  const rows = entries.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end gap-3">
        <label className="text-xs text-slate-600">
          Who
          <Input value={actor} onChange={(e) => setActor(e.target.value)} placeholder="email or token" className="mt-1 w-56" />
        </label>
        <label className="text-xs text-slate-600">
          Action
          <Input value={action} onChange={(e) => setAction(e.target.value)} placeholder="e.g. runs. or auth.login" className="mt-1 w-56" />
        </label>
        <label className="text-xs text-slate-600">
          Outcome
          <Select value={outcome} onChange={(e) => setOutcome(e.target.value as typeof outcome)} className="mt-1 w-32">
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="denied">denied</option>
            <option value="error">error</option>
          </Select>
        </label>
      </div>
      <Card>
        {rows.length === 0 && !entries.isPending ? (
          <p className="p-4 text-sm text-slate-500">No audit entries match. Every change made in Rampart, and every sign-in, is recorded here.</p>
        ) : (
          <TableScroll>
            <table className="w-full text-left text-sm">
              <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="px-4 py-2 font-medium">When</th>
                  <th className="px-4 py-2 font-medium">Who</th>
                  <th className="px-4 py-2 font-medium">Action</th>
                  <th className="px-4 py-2 font-medium">Target</th>
                  <th className="px-4 py-2 font-medium">Outcome</th>
                  <th className="px-4 py-2 font-medium">From</th>
                  <th className="px-4 py-2 font-medium">Detail</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {rows.map((e) => (
                  <tr key={e.id} data-testid="audit-row">
                    <td className="whitespace-nowrap px-4 py-2 text-slate-600">{formatTime(e.at)}</td>
                    <td className="px-4 py-2">{e.actorLabel}</td>
                    <td className="px-4 py-2 font-mono text-xs">{e.action}</td>
                    <td className="max-w-40 truncate px-4 py-2 text-slate-600" title={e.target ?? undefined}>
                      {e.target ?? "—"}
                    </td>
                    <td className="px-4 py-2">
                      <Badge tone={e.outcome === "ok" ? "success" : e.outcome === "denied" ? "warning" : "danger"}>{e.outcome}</Badge>
                    </td>
                    <td className="px-4 py-2 font-mono text-xs text-slate-500">{e.ip ?? "—"}</td>
                    <td className="max-w-xs truncate px-4 py-2 font-mono text-xs text-slate-500" title={e.detail}>
                      {e.detail}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </Card>
      {entries.hasNextPage ? (
        <Button variant="secondary" onClick={() => void entries.fetchNextPage()} disabled={entries.isFetchingNextPage}>
          Load older entries
        </Button>
      ) : null}
    </div>
  );
}
