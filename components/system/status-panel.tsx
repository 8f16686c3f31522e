"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../trpc";
import { Card, CardHeader } from "../ui/card";
import { Badge } from "../ui/badge";
import { formatTime } from "../runs/time";

export function StatusPanel() {
  const trpc = useTRPC();
  const status = useQuery({ ...trpc.system.status.queryOptions(), refetchInterval: 5_000 });
  const d = status.data;
  const row = (label: string, ok: boolean | undefined, detail: string | undefined) => (
    <div className="flex items-center justify-between gap-4 px-4 py-2.5 text-sm">
      <span className="shrink-0 text-slate-700">{label}</span>
      <span className="flex min-w-0 items-center gap-2 text-right text-xs text-slate-500">
        <span className="max-w-md truncate">{detail}</span>
        {ok === undefined ? <Badge>…</Badge> : ok ? <Badge tone="success">ok</Badge> : <Badge tone="danger">down</Badge>}
      </span>
    </div>
  );
  return (
    <Card>
      <CardHeader title="Rampart" description="The control plane's own health, refreshed every 5 seconds." />
      <div className="divide-y divide-slate-100">
        {row("Database", d?.database.ok, d?.database.detail)}
        {row("Redis", d?.redis.ok, d?.redis.detail)}
        {row(
          "Workers",
          d ? d.workers.length > 0 : undefined,
          d ? (d.workers.length > 0 ? d.workers.map((w) => `${w.id} (since ${formatTime(w.startedAt)})`).join(", ") : "no worker is running: runs will wait in the queue") : undefined,
        )}
      </div>
    </Card>
  );
}
