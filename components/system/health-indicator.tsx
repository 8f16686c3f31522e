"use client";
// Shown in the sidebar on every page: is the database, Redis and a worker alive?
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../trpc";
import { cn } from "../ui/cn";

function Dot({ ok, label, title }: { ok: boolean | null; label: string; title?: string }) {
  return (
    <li className="flex items-center gap-2" title={title}>
      <span className={cn("h-2 w-2 rounded-full", ok === null ? "bg-slate-500" : ok ? "bg-emerald-400" : "bg-rose-500")} aria-hidden />
      <span>{label}</span>
    </li>
  );
}

export function HealthIndicator() {
  const trpc = useTRPC();
  const status = useQuery({ ...trpc.system.status.queryOptions(), refetchInterval: 5_000 });
  const d = status.data;
  const workers = d?.workers.length ?? 0;
  return (
    <ul aria-label="System health" className="space-y-1 text-xs text-slate-400">
      <Dot ok={d ? d.database.ok : null} label="Database" title={d?.database.detail} />
      <Dot ok={d ? d.redis.ok : null} label="Redis" title={d?.redis.detail} />
      <Dot ok={d ? workers > 0 : null} label={d ? (workers > 0 ? `${workers} worker${workers > 1 ? "s" : ""} online` : "No worker online") : "Worker"} />
    </ul>
  );
}
