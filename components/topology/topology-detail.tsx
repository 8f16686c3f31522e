"use client";
// One topology: its diagram, its drift state, the last plan (followed live while a
// plan run is going), and its recent runs. Plan observes and changes nothing; "Apply
// this plan", under the latest plan, applies exactly what it shows (the worker refuses
// if a host changed since) after a confirmation with the counts, and opens the run to
// follow it. The topology is re-read every 3 seconds so the load balancers' view of
// the web servers is live.
import { useCallback, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { ClipboardList, Loader2, Pencil, Rocket, Trash2 } from "lucide-react";
import { isTerminal, type RunEventDto } from "@/server/schemas/run";
import { planCounts, type PlanDto, type TopologyDto } from "@/server/schemas/topology";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { FormError } from "../ui/field";
import { ConfirmDialog } from "../ui/confirm";
import { RunStatusBadge } from "../runs/status-badge";
import { runKindLabel, RunRowsTable } from "../runs/runs-table";
import { formatTime } from "../runs/time";
import { DriftBadge } from "./drift-badge";
import { TopologyDiagram } from "./topology-diagram";
import { TopologyForm } from "./topology-form";
import { AppForm } from "./app-form";
import { PlanView } from "./plan-view";

export function TopologyDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const isAdmin = useCan("admin");
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  // The plan on screen stays the one the operator is reading: a newer one (a scheduled drift
  // check) is offered, never swapped in under them (they might apply what they did not read).
  const [shownPlanRunId, setShownPlanRunId] = useState<string | null>(null);

  const topology = useQuery({ ...trpc.topologies.get.queryOptions({ id }), refetchInterval: 3_000 });
  const invalidateRuns = () => queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
  const plan = useMutation(
    trpc.topologies.startPlan.mutationOptions({
      onSuccess: (run) => {
        setShownPlanRunId(run.id);
        void invalidateRuns();
      },
    }),
  );
  const approve = useMutation(
    trpc.topologies.approveMembers.mutationOptions({
      onSuccess: (updated) => queryClient.setQueryData(trpc.topologies.get.queryKey({ id }), updated),
    }),
  );
  const del = useMutation(
    trpc.topologies.delete.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.topologies.list.queryKey() });
        router.push("/topology");
      },
    }),
  );

  if (topology.error && !topology.data)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {topology.error.message}
      </p>
    );
  const t = topology.data;
  if (!t) return <p className="text-sm text-slate-500">Loading…</p>;

  const planRunId = shownPlanRunId ?? t.lastPlanRunId;
  if (!shownPlanRunId && t.lastPlanRunId) setShownPlanRunId(t.lastPlanRunId);
  const denied = canOperate ? undefined : "Only operators and admins can do this";
  const actionError = plan.error;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <div className="flex flex-wrap items-center gap-3">
            <h1 className="text-xl font-semibold tracking-tight text-slate-900">{t.name}</h1>
            <DriftBadge topology={t} />
          </div>
          <p className="mt-1 text-sm text-slate-500" data-testid="drift-checked">
            {t.members.length} server{t.members.length === 1 ? "" : "s"} · balancing {t.balance} ·{" "}
            {t.driftCheckedAt ? `checked ${formatTime(t.driftCheckedAt)}` : "never checked: press Plan to compare the servers with the topology"}
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          <Button
            variant="secondary"
            onClick={() => plan.mutate({ id: t.id })}
            disabled={!canOperate || plan.isPending}
            title={denied ?? "Observe the servers and show what would change (changes nothing)"}
          >
            <ClipboardList size={16} aria-hidden /> {plan.isPending ? "Planning…" : "Plan"}
          </Button>
          <Button variant="secondary" onClick={() => setEditing((e) => !e)} disabled={!canOperate} title={denied} aria-expanded={editing}>
            <Pencil size={16} aria-hidden /> {editing ? "Close editor" : "Edit"}
          </Button>
          <Button
            variant="danger"
            onClick={() => {
              del.reset();
              setConfirmDelete(true);
            }}
            disabled={!canOperate}
            title={denied}
          >
            <Trash2 size={16} aria-hidden /> Delete
          </Button>
        </div>
      </div>
      <FormError message={actionError?.message} />

      {t.members.some((m) => !m.approved) ? (
        <div
          role="status"
          data-testid="members-awaiting-approval"
          className="flex flex-wrap items-center justify-between gap-3 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900"
        >
          <p>
            Waiting for an admin:{" "}
            <strong>
              {t.members
                .filter((m) => !m.approved)
                .map((m) => m.serverName)
                .join(", ")}
            </strong>{" "}
            (added or moved by an operator) will not receive this topology&apos;s secrets — the app&apos;s secret values, the site&apos;s private key — until an admin approves; an apply that would
            send them stops and says so.
          </p>
          {isAdmin ? (
            <Button variant="secondary" onClick={() => approve.mutate({ id: t.id })} disabled={approve.isPending}>
              {approve.isPending ? "Approving…" : "Approve"}
            </Button>
          ) : null}
          <FormError message={approve.error?.message} />
        </div>
      ) : null}

      <ConfirmDialog
        open={confirmDelete}
        title={`Delete the topology ${t.name}?`}
        confirmLabel="Delete topology"
        pending={del.isPending}
        error={del.error?.message}
        onConfirm={() => del.mutate({ id: t.id })}
        onClose={() => setConfirmDelete(false)}
      >
        Rampart forgets this topology and its roles. Nothing on its {t.members.length} server{t.members.length === 1 ? "" : "s"} changes: they keep their configuration, and the servers stay
        registered.
      </ConfirmDialog>

      {editing ? (
        <Card>
          <CardHeader title="Edit topology" description="Saving changes nothing on the servers: plan to see the difference, then apply." />
          <div className="p-4">
            <TopologyForm initial={t} onDone={() => setEditing(false)} />
          </div>
        </Card>
      ) : null}

      <Card>
        <CardHeader
          title="Diagram"
          description="How a request travels: from the Internet through the load balancers to the web, app and database tiers, and how each hop is protected. Web servers show their health as the load balancer sees it."
          actions={
            <span className="flex shrink-0 gap-3">
              <Link href={`/firewall/${t.id}`} className="text-xs text-sky-700 hover:underline">
                View firewall
              </Link>
              <Link href="/certificates" className="text-xs text-sky-700 hover:underline">
                View certificates
              </Link>
            </span>
          }
        />
        <TopologyDiagram topology={t} />
      </Card>

      <Card>
        <CardHeader title="Application" description="What the app servers run behind the web servers. Saved settings take effect with the next apply." />
        <div className="p-4">
          <AppForm key={t.id} topology={t} />
        </div>
      </Card>

      <Card>
        <CardHeader
          title="Last plan"
          description="What Rampart would change on the servers, as last observed. A plan changes nothing; applying it changes exactly what it shows."
          actions={
            planRunId ? (
              <Link href={`/runs/${planRunId}`} className="text-xs text-sky-700 hover:underline">
                Open the plan run
              </Link>
            ) : null
          }
        />
        <div className="p-4">
          {planRunId ? (
            <PlanRunPanel key={planRunId} runId={planRunId} topology={t} onShowLatest={() => setShownPlanRunId(t.lastPlanRunId)} />
          ) : (
            <p className="text-sm text-slate-500">
              No plan yet. Press Plan: Rampart connects to each server, reads what is installed and configured, and lists the steps that would bring it in line with this topology.
            </p>
          )}
        </div>
      </Card>

      <Card>
        <CardHeader title="Recent runs" description="Plans, applies and drift checks of this topology." />
        <TopologyRuns topologyId={t.id} />
      </Card>
    </div>
  );
}

/** A plan run's result; while the run is going, its events are followed live and the plan appears when it ends. */
function PlanRunPanel({ runId, topology, onShowLatest }: { runId: string; topology: TopologyDto; onShowLatest: () => void }) {
  const topologyId = topology.id;
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const run = useQuery({
    ...trpc.runs.get.queryOptions({ id: runId }),
    refetchInterval: (q) => (q.state.data && isTerminal(q.state.data.status) ? false : 5_000),
  });
  const ended = !!run.data && isTerminal(run.data.status);
  const plan = useQuery({
    ...trpc.topologies.runPlan.queryOptions({ id: runId }),
    refetchInterval: (q) => (q.state.data || ended ? false : 3_000),
  });
  const [latest, setLatest] = useState<RunEventDto | null>(null);
  const [liveStatus, setLiveStatus] = useState<string | null>(null);

  const onData = useCallback(
    (msg: { id: string; data: RunEventDto }) => {
      const e = msg.data;
      if (e.level === "status") {
        setLiveStatus(e.text);
        if (isTerminal(e.text)) {
          void run.refetch();
          void plan.refetch();
          void queryClient.invalidateQueries({ queryKey: trpc.topologies.get.queryKey({ id: topologyId }) });
          void queryClient.invalidateQueries({ queryKey: trpc.topologies.list.queryKey() });
          void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
        }
      } else if (e.level !== "progress" && e.level !== "debug") setLatest(e);
    },
    [run, plan, queryClient, trpc, topologyId],
  );
  useSubscription(trpc.runs.follow.subscriptionOptions(run.data && !isTerminal(run.data.status) ? { id: runId } : skipToken, { onData }));

  const r = run.data;
  const status = r && isTerminal(r.status) ? r.status : (liveStatus ?? r?.status ?? "queued");
  const done = isTerminal(status);

  return (
    <div className="space-y-4" data-testid="plan-run" data-run-id={runId}>
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <RunStatusBadge status={status} />
        <span className="text-slate-600">{r ? `${runKindLabel(r.kind)} requested by ${r.requestedBy} · ${formatTime(r.startedAt ?? r.createdAt)}` : "…"}</span>
      </div>
      {!done ? (
        <div className="flex items-start gap-2 rounded-md bg-slate-50 px-3 py-2 text-sm text-slate-600" role="status">
          <Loader2 size={16} className="mt-0.5 shrink-0 animate-spin text-sky-600" aria-hidden />
          <div className="min-w-0">
            <p>Observing the servers… the plan appears here when the run ends.</p>
            {latest ? (
              <p className="truncate font-mono text-xs text-slate-500" data-testid="plan-run-latest">
                {latest.host ? `${latest.host}: ` : ""}
                {latest.text}
              </p>
            ) : null}
          </div>
        </div>
      ) : null}
      {done && r?.outcome && status !== "succeeded" ? <p className="text-sm text-rose-700">{r.outcome}</p> : null}
      {plan.data && done && r?.kind === "topology-plan" ? <ApplyThisPlan topology={topology} planRunId={runId} plan={plan.data} onShowLatest={onShowLatest} /> : null}
      {plan.data ? <PlanView plan={plan.data} /> : done && !plan.isPending ? <p className="text-sm text-slate-500">This run produced no plan.</p> : null}
    </div>
  );
}

function TopologyRuns({ topologyId }: { topologyId: string }) {
  const trpc = useTRPC();
  const runs = useQuery({ ...trpc.runs.list.queryOptions({ limit: 10, topologyId }), refetchInterval: 5_000 });
  if (runs.isPending) return <p className="px-4 py-3 text-sm text-slate-500">Loading runs…</p>;
  if (runs.error)
    return (
      <p role="alert" className="px-4 py-3 text-sm text-rose-700">
        Could not load runs: {runs.error.message}
      </p>
    );
  if (runs.data.items.length === 0) return <p className="px-4 py-3 text-sm text-slate-500">No runs yet. Plan and Apply runs of this topology, and scheduled drift checks, are listed here.</p>;
  return <RunRowsTable runs={runs.data.items} rowTestId="topology-run-row" label="Recent runs" />;
}

/**
 * Applies the plan on screen, exactly: a confirmation naming the counts, then an apply run
 * of this plan (the worker plans again under the locks and refuses if a host changed).
 * Only the topology's latest plan can be applied: an older one says so.
 */
function ApplyThisPlan({ topology: t, planRunId, plan, onShowLatest }: { topology: TopologyDto; planRunId: string; plan: PlanDto; onShowLatest: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const [open, setOpen] = useState(false);
  const [strict, setStrict] = useState(false);
  const apply = useMutation(
    trpc.topologies.startApply.mutationOptions({
      onSuccess: (run) => {
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
        router.push(`/runs/${run.id}`);
      },
    }),
  );
  const latest = t.lastPlanRunId === planRunId;
  const counts = planCounts(plan);
  const unplanned = plan.hosts.filter((h) => h.error);
  return (
    <div className="flex flex-wrap items-center gap-3 rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm">
      <Button
        onClick={() => {
          apply.reset();
          setOpen(true);
        }}
        disabled={!canOperate || !latest}
        title={!canOperate ? "Only operators and admins can do this" : !latest ? "A newer plan exists: review that one" : "Apply exactly this plan"}
      >
        <Rocket size={16} aria-hidden /> Apply this plan
      </Button>
      <span className="text-slate-600" data-testid="plan-counts">
        {latest ? counts.text : "A newer plan of this topology exists: only the latest plan can be applied."}
      </span>
      {!latest && t.lastPlanRunId ? (
        <Button variant="secondary" onClick={onShowLatest}>
          Show the latest plan
        </Button>
      ) : null}
      <ConfirmDialog
        open={open}
        title={`Apply this plan to ${t.name}?`}
        confirmLabel={counts.changes === 0 ? "Apply (verify only)" : `Apply ${counts.changes} change${counts.changes === 1 ? "" : "s"}`}
        tone="primary"
        pending={apply.isPending}
        error={apply.error?.message}
        onConfirm={() => apply.mutate({ id: t.id, planRunId, strict })}
        onClose={() => setOpen(false)}
      >
        <p data-testid="apply-confirm-counts" className="font-medium text-slate-900">
          {counts.changes === 0 ? "No changes: the apply verifies every host with its checks." : `${counts.text}.`}
        </p>
        <p className="mt-2">
          Rampart plans again under the hosts&apos; locks and changes exactly what this plan shows. If any host changed since it was computed ({formatTime(plan.observedAt)}), nothing changes and the
          run says which.
        </p>
        {unplanned.length > 0 ? <p className="mt-2 text-amber-800">Not planned, so skipped unless all or nothing is ticked: {unplanned.map((h) => `${h.name} (${h.error})`).join(", ")}.</p> : null}
        <label className="mt-3 flex items-center gap-1.5 text-sm" title="Change nothing if any server cannot be reached or planned">
          <input type="checkbox" checked={strict} onChange={(e) => setStrict(e.target.checked)} data-testid="apply-strict" />
          All or nothing: change nothing if a server cannot be reached
        </label>
      </ConfirmDialog>
    </div>
  );
}
