"use client";
// Alerts from Prometheus's rules, as Alertmanager delivered them to Rampart: the firing
// ones first (what to check is in each description), then the history.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { SILENCE_DURATIONS, type AlertDto } from "@/server/schemas/monitoring";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Badge } from "../ui/badge";
import { Button } from "../ui/button";
import { ConfirmDialog } from "../ui/confirm";

const HOURS: Record<number, string> = { 3600: "1 hour", 14400: "4 hours", 86400: "24 hours" };

/** Silence a firing alert in Alertmanager, for a while, with the shared confirmation. */
function SilenceButton({ a }: { a: AlertDto }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [durationS, setDurationS] = useState<number>(3600);
  const silence = useMutation(
    trpc.monitoring.silence.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        await qc.invalidateQueries({ queryKey: trpc.monitoring.silences.queryKey() });
      },
    }),
  );
  return (
    <>
      <Button variant="secondary" onClick={() => setOpen(true)}>
        Silence…
      </Button>
      <ConfirmDialog
        open={open}
        title={`Silence “${a.summary || a.name}”`}
        confirmLabel={`Silence for ${HOURS[durationS]}`}
        pending={silence.isPending}
        error={silence.error?.message ?? null}
        onConfirm={() => silence.mutate({ alertId: a.id, durationS, comment: "" })}
        onClose={() => setOpen(false)}
      >
        <p>No notification for this alert on {a.labels.server ?? "its server"} (to Rampart or to the webhooks) until the silence ends.</p>
        <label className="mt-3 block text-sm">
          For{" "}
          <select className="ml-1 rounded-md border border-slate-300 bg-white px-2 py-1" value={durationS} onChange={(e) => setDurationS(Number(e.target.value))}>
            {SILENCE_DURATIONS.map((d) => (
              <option key={d} value={d}>
                {HOURS[d]}
              </option>
            ))}
          </select>
        </label>
      </ConfirmDialog>
    </>
  );
}

function Silences() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const canOperate = useCan("operate");
  const q = useQuery({ ...trpc.monitoring.silences.queryOptions(), refetchInterval: 15_000 });
  const expire = useMutation(trpc.monitoring.expireSilence.mutationOptions({ onSuccess: () => qc.invalidateQueries({ queryKey: trpc.monitoring.silences.queryKey() }) }));
  if (!q.data || q.data.length === 0) return null;
  return (
    <div className="border-t border-slate-100 px-4 py-3">
      <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">Silences in force</h3>
      <ul className="mt-1 space-y-1 text-sm">
        {q.data.map((s) => (
          <li key={s.id} className="flex flex-wrap items-center gap-2" data-testid="silence">
            <span className="text-slate-800">{s.matchers.map((m) => `${m.name}=${m.value}`).join(", ")}</span>
            <span className="text-xs text-slate-500">
              until {s.endsAt.toLocaleString()} · by {s.createdBy}
            </span>
            {canOperate && (
              <Button variant="secondary" onClick={() => expire.mutate({ id: s.id })} disabled={expire.isPending}>
                End now
              </Button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function AlertRow({ a }: { a: AlertDto }) {
  const canOperate = useCan("operate");
  return (
    <li className="px-4 py-3" data-testid="alert" data-name={a.name} data-status={a.status} data-server={a.labels.server ?? ""}>
      <div className="flex flex-wrap items-center gap-2">
        <Badge tone={a.status === "resolved" ? "neutral" : a.severity === "critical" ? "danger" : "warning"}>{a.status === "resolved" ? "resolved" : a.severity}</Badge>
        <span className="font-medium text-slate-900">{a.summary || a.name}</span>
        <span className="text-xs text-slate-500">
          {a.name} · since {a.startsAt.toLocaleString()}
          {a.endsAt ? ` · resolved ${a.endsAt.toLocaleString()}` : ""}
        </span>
        {a.status === "firing" && canOperate && <SilenceButton a={a} />}
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
      <Silences />
    </section>
  );
}
