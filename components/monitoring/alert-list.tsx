"use client";
// Alerts from Prometheus's rules, as Alertmanager delivered them to Rampart: the firing
// ones first (what to check is in each description), then the history.
import { useQuery } from "@tanstack/react-query";
import type { AlertDto } from "@/server/schemas/monitoring";
import { useTRPC } from "../trpc";
import { Badge } from "../ui/badge";

function AlertRow({ a }: { a: AlertDto }) {
  return (
    <li className="px-4 py-3" data-testid="alert" data-name={a.name} data-status={a.status} data-server={a.labels.server ?? ""}>
      <div className="flex flex-wrap items-center gap-2">
        <Badge tone={a.status === "resolved" ? "neutral" : a.severity === "critical" ? "danger" : "warning"}>{a.status === "resolved" ? "resolved" : a.severity}</Badge>
        <span className="font-medium text-slate-900">{a.summary || a.name}</span>
        <span className="text-xs text-slate-500">
          {a.name} · since {a.startsAt.toLocaleString()}
          {a.endsAt ? ` · resolved ${a.endsAt.toLocaleString()}` : ""}
        </span>
      </div>
      {a.description && <p className="mt-1 text-sm text-slate-600">{a.description}</p>}
    </li>
  );
}

export function AlertList({ topologyId }: { topologyId?: string }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.monitoring.alerts.queryOptions({ topologyId, limit: 50 }), refetchInterval: 5_000 });
  if (q.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {q.error.message}
      </p>
    );
  if (!q.data) return null;
  const { firing, history } = q.data;
  return (
    <section aria-labelledby="alerts-title" className="rounded-lg border border-slate-200 bg-white shadow-sm">
      <h2 id="alerts-title" className="border-b border-slate-100 px-4 py-2 text-sm font-semibold text-slate-900">
        Alerts {firing.length > 0 ? <span className="text-rose-700">· {firing.length} firing</span> : <span className="font-normal text-slate-500">· none firing</span>}
      </h2>
      {firing.length + history.length === 0 ? (
        <p className="px-4 py-3 text-sm text-slate-500">No alert has fired. Prometheus evaluates the rules (host down, web server down, 5xx ratio, disk almost full, certificates) every 5 s.</p>
      ) : (
        <ul className="divide-y divide-slate-100">
          {firing.map((a) => (
            <AlertRow key={a.id} a={a} />
          ))}
          {history.map((a) => (
            <AlertRow key={a.id} a={a} />
          ))}
        </ul>
      )}
    </section>
  );
}
