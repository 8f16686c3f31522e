"use client";
// The managed infrastructure at a glance: every topology with its state, then what needs
// an operator — servers Rampart cannot reach, runs that failed in the last day,
// certificates expiring soon, alerts firing — each linking to where to act.
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import type { OverviewDto } from "@/server/schemas/overview";
import { runKindLabel } from "@/server/schemas/run-kinds";
import { useTRPC } from "../trpc";
import { Badge, type Tone } from "../ui/badge";
import { Card, CardHeader } from "../ui/card";
import { formatTime } from "../runs/time";
import { TableScroll } from "../ui/table-scroll";

const STATES: Record<OverviewDto["topologies"][number]["state"], { label: string; tone: Tone }> = {
  "in-sync": { label: "in sync", tone: "success" },
  drifted: { label: "drifted", tone: "warning" },
  failing: { label: "failing checks", tone: "danger" },
  "partially-applied": { label: "partially applied", tone: "warning" },
  failed: { label: "apply failed", tone: "danger" },
  error: { label: "cannot observe", tone: "danger" },
  "never-applied": { label: "never applied", tone: "neutral" },
  unknown: { label: "not checked", tone: "neutral" },
};

function Section({ title, empty, count, children, testId }: { title: string; empty: string; count: number; children: React.ReactNode; testId: string }) {
  return (
    <Card>
      <CardHeader title={`${title}${count ? ` (${count})` : ""}`} />
      <div data-testid={testId}>{count === 0 ? <p className="px-4 py-3 text-sm text-slate-500">{empty}</p> : <ul className="divide-y divide-slate-100 text-sm">{children}</ul>}</div>
    </Card>
  );
}

export function InfrastructureOverview() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.overview.get.queryOptions(), refetchInterval: 15_000 });
  if (q.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {q.error.message}
      </p>
    );
  const o = q.data;
  if (!o) return <p className="text-sm text-slate-500">Loading the infrastructure…</p>;
  return (
    <div className="space-y-4">
      <Card>
        <CardHeader title="Topologies" description="Each site and its state, from its last apply and its last plan or drift check." />
        {o.topologies.length === 0 ? (
          <p className="px-4 py-3 text-sm text-slate-500">
            No topology yet.{" "}
            <Link href="/topology/new" className="text-sky-700 underline">
              Create one
            </Link>
            .
          </p>
        ) : (
          <TableScroll>
            <table className="w-full text-sm" data-testid="overview-topologies">
              <thead className="text-left text-xs text-slate-500">
                <tr>
                  <th className="px-4 py-2 font-medium">Topology</th>
                  <th className="px-4 py-2 font-medium">State</th>
                  <th className="px-4 py-2 font-medium">Servers</th>
                  <th className="px-4 py-2 font-medium">Alerts</th>
                  <th className="px-4 py-2 font-medium">Checked</th>
                </tr>
              </thead>
              <tbody>
                {o.topologies.map((t) => (
                  <tr key={t.id} className="border-t border-slate-100 align-top" data-testid="overview-topology" data-name={t.name} data-state={t.state}>
                    <td className="px-4 py-2">
                      <Link href={`/topology/${t.id}`} className="font-medium text-sky-800 hover:underline">
                        {t.name}
                      </Link>
                    </td>
                    <td className="px-4 py-2">
                      <Badge tone={STATES[t.state].tone}>{STATES[t.state].label}</Badge>
                      <p className="mt-0.5 text-xs text-slate-600">{t.detail}</p>
                    </td>
                    <td className="px-4 py-2 text-slate-700">{t.servers}</td>
                    <td className="px-4 py-2">
                      {t.firingAlerts > 0 ? (
                        <Link href={`/monitoring/${t.id}`} className="text-rose-700 underline">
                          {t.firingAlerts} firing
                        </Link>
                      ) : (
                        <span className="text-slate-500">none</span>
                      )}
                    </td>
                    <td className="px-4 py-2 text-xs text-slate-500">{t.checkedAt ? formatTime(t.checkedAt) : "never"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </Card>
      <div className="grid gap-4 lg:grid-cols-2">
        <Section title="Alerts firing" empty="No alert fires." count={o.alerts.length} testId="overview-alerts">
          {o.alerts.map((a) => (
            <li key={a.id} className="px-4 py-2">
              <Badge tone={a.severity === "critical" ? "danger" : "warning"}>{a.severity}</Badge>{" "}
              <Link href={a.topologyId ? `/monitoring/${a.topologyId}` : "/monitoring"} className="font-medium text-slate-900 hover:underline">
                {a.summary || a.name}
              </Link>
              <span className="ml-2 text-xs text-slate-500">since {formatTime(a.startsAt)}</span>
            </li>
          ))}
        </Section>
        <Section title="Servers Rampart cannot reach" empty="Every server answered its last check." count={o.unreachableServers.length} testId="overview-unreachable">
          {o.unreachableServers.map((s) => (
            <li key={s.id} className="px-4 py-2">
              <Link href={`/servers/${s.id}`} className="font-medium text-slate-900 hover:underline">
                {s.name}
              </Link>{" "}
              <span className="font-mono text-xs text-slate-500">{s.address}</span>
              <p className="break-words text-xs text-rose-700">{s.problem}</p>
            </li>
          ))}
        </Section>
        <Section title="Failed runs, last 24 hours" empty="No run failed in the last day." count={o.failedRuns.length} testId="overview-failed-runs">
          {o.failedRuns.map((r) => (
            <li key={r.id} className="px-4 py-2">
              <Link href={`/runs/${r.id}`} className="font-medium text-slate-900 hover:underline">
                {runKindLabel(r.kind)}
                {r.topologyName ? ` · ${r.topologyName}` : ""}
              </Link>{" "}
              <Badge tone={r.status === "failed" ? "danger" : "warning"}>{r.status}</Badge>
              <span className="ml-2 text-xs text-slate-500">{formatTime(r.finishedAt)}</span>
              {r.outcome ? (
                <p className="truncate text-xs text-slate-600" title={r.outcome}>
                  {r.outcome}
                </p>
              ) : null}
            </li>
          ))}
        </Section>
        <Section title="Certificates expiring within 21 days" empty="No certificate expires within 21 days." count={o.expiringCertificates.length} testId="overview-certificates">
          {o.expiringCertificates.map((c) => (
            <li key={c.id} className="px-4 py-2">
              <Link href="/certificates" className="font-medium text-slate-900 hover:underline">
                {c.purpose} · {c.names}
              </Link>
              <span className={c.daysLeft < 7 ? "ml-2 text-xs font-semibold text-rose-700" : "ml-2 text-xs text-amber-800"}>{c.daysLeft < 0 ? "expired" : `${c.daysLeft} days left`}</span>
              <p className="text-xs text-slate-500">
                {c.source}
                {c.topologyName ? ` · ${c.topologyName}` : ""} · until {formatTime(c.notAfter)}
              </p>
            </li>
          ))}
        </Section>
      </div>
    </div>
  );
}
