"use client";
// A run followed live. The log is read in windows (the newest first, the rest as it
// is scrolled to: run-log.tsx), so a run of any length opens at once; the
// subscription then streams the events after the last one read, and on reconnect
// EventSource resends the last seq it saw, so the log never shows a gap or a
// duplicate. Progress events drive one bar per host (the log summary gives each
// host's latest when the page opens). An operation also shows its journal: the
// preview to confirm, then its phases.
import { useCallback, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { skipToken, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { Ban, RotateCcw } from "lucide-react";
import { useTRPC, useTRPCClient } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { ConfirmDialog } from "../ui/confirm";
import { FormError } from "../ui/field";
import { cn } from "../ui/cn";
import { RunStatusBadge } from "./status-badge";
import { runKindLabel } from "./runs-table";
import { formatDuration, formatTime } from "./time";
import { PlanView } from "../topology/plan-view";
import { RunPhases, RunPreview } from "./run-phases";
import type { RunEventDto, RunLogFilter } from "@/server/schemas/run";
import { PREVIEW_PHASE, RETRYABLE_STATUSES, isTerminal } from "@/server/schemas/run";
import { runKindPolicy } from "@/server/schemas/run-kinds";
import { RunLogStore } from "./run-log-store";
import { RunLog } from "./run-log";
import { RunProgress } from "./run-progress";

export function RunView({ id }: { id: string }) {
  // A new run (after Retry) starts from nothing: its own log, stream and status.
  return <RunViewOf key={id} id={id} />;
}

function RunViewOf({ id }: { id: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const run = useQuery({
    ...trpc.runs.get.queryOptions({ id }),
    // While the run is going, pick up changes the event stream does not carry (a cancel requested elsewhere).
    refetchInterval: (q) => (q.state.data && isTerminal(q.state.data.status) ? false : 5_000),
  });
  const client = useTRPCClient();
  const [store] = useState(() => new RunLogStore((q) => client.runs.log.query({ id, ...q })));
  const [liveStatus, setLiveStatus] = useState<string | null>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);

  const policy = run.data ? runKindPolicy(run.data.kind) : null;
  const planKey = trpc.topologies.runPlan.queryKey({ id });
  const phasesKey = trpc.runs.phases.queryKey({ id });
  const summaryKey = trpc.runs.logSummary.queryKey({ id });
  const phases = useQuery({
    ...trpc.runs.phases.queryOptions({ id }),
    // Phase events refresh it at once; this only catches what the stream missed.
    refetchInterval: () => (run.data && isTerminal(run.data.status) ? false : 5_000),
  });

  // Live events start after the last one the first window of the log read.
  const followFrom = useSyncExternalStore(
    store.subscribe,
    () => store.followFrom,
    () => null,
  );
  const summary = useQuery({
    ...trpc.runs.logSummary.queryOptions({ id }),
    // After the log's first window (it counts every event: the lines come first), then for
    // new hosts and counts; live events move the progress bars meanwhile.
    enabled: followFrom !== null,
    refetchInterval: () => (run.data && isTerminal(run.data.status) ? false : 10_000),
  });
  useEffect(() => {
    if (summary.data) store.mergeProgress(summary.data.progress);
  }, [summary.data, store]);

  const onData = useCallback(
    (msg: { id: string; data: RunEventDto }) => {
      const e = msg.data;
      if (!store.push(e)) return; // already shown
      if (e.data?.phase) void queryClient.invalidateQueries({ queryKey: phasesKey });
      if (e.level === "status") {
        setLiveStatus(e.text);
        // Terminal, or awaiting confirmation: the run's row (outcome, confirmation) changed.
        void run.refetch();
        void queryClient.invalidateQueries({ queryKey: phasesKey });
        if (isTerminal(e.text)) {
          void queryClient.invalidateQueries({ queryKey: planKey });
          void queryClient.invalidateQueries({ queryKey: summaryKey });
        }
      }
    },
    [run, queryClient, planKey, phasesKey, summaryKey, store],
  );
  // Status and phases as of at least the log's first window: later changes then come live
  // (the events before it, such as "running", are not streamed to this page).
  useEffect(() => {
    if (followFrom === null) return;
    void queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ id }) });
    void queryClient.invalidateQueries({ queryKey: trpc.runs.phases.queryKey({ id }) });
  }, [followFrom, queryClient, trpc, id]);
  const sub = useSubscription(trpc.runs.follow.subscriptionOptions(followFrom === null ? skipToken : { id, lastEventId: String(followFrom) }, { onData }));
  const readEventsAfter = useCallback((filter: RunLogFilter) => (afterSeq: number) => client.runs.events.query({ id, afterSeq, limit: 5000, ...filter }), [client, id]);

  const cancel = useMutation(
    trpc.runs.cancel.mutationOptions({
      onSuccess: (detail) => {
        queryClient.setQueryData(trpc.runs.get.queryKey({ id }), detail);
        setConfirmCancel(false);
      },
    }),
  );
  const confirm = useMutation(
    trpc.runs.confirm.mutationOptions({
      onSuccess: (detail) => {
        queryClient.setQueryData(trpc.runs.get.queryKey({ id }), detail);
        setLiveStatus(detail.status);
      },
    }),
  );
  const retry = useMutation(
    trpc.runs.retry.mutationOptions({
      onSuccess: (next) => {
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
        router.push(`/runs/${next.id}`);
      },
    }),
  );

  if (run.error && !run.data)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {run.error.message}
      </p>
    );
  const r = run.data;
  const status = r && isTerminal(r.status) ? r.status : (liveStatus ?? r?.status ?? "queued");
  const ended = isTerminal(status);
  const awaiting = status === "awaiting-confirmation";
  const canCancel = !ended && (status === "queued" || status === "running" || awaiting);
  const canRetry = (RETRYABLE_STATUSES as readonly string[]).includes(status) && !!policy?.retryable;
  const journal = phases.data ?? [];
  const preview = journal.find((p) => p.name === PREVIEW_PHASE);
  const denied = canOperate ? undefined : "Only operators and admins can do this";
  const cancelRequestedBy = r?.cancelRequestedBy ?? null;

  const log = (
    <RunLog
      store={store}
      runId={id}
      summary={summary.data}
      readEventsAfter={readEventsAfter}
      streamState={
        ended ? "Run ended" : sub.status === "pending" ? "● Live" : sub.status === "connecting" || followFrom === null ? "Connecting…" : sub.status === "error" ? "Reconnecting…" : sub.status
      }
    />
  );

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm text-slate-600">
          {r ? (
            <span className="font-medium text-slate-800" data-testid="run-kind">
              {runKindLabel(r.kind)}
            </span>
          ) : null}
          {r?.topologyId ? (
            <Link href={`/topology/${r.topologyId}`} className="text-sky-700 hover:underline">
              Open the topology
            </Link>
          ) : null}
          {r?.retryOf ? (
            <span>
              Retry of{" "}
              <Link href={`/runs/${r.retryOf}`} className="font-mono text-xs text-sky-700 hover:underline">
                {r.retryOf}
              </Link>
            </span>
          ) : null}
        </div>
        <div className="flex gap-2">
          {canCancel ? (
            <Button
              variant="secondary"
              onClick={() => {
                cancel.reset();
                setConfirmCancel(true);
              }}
              disabled={!canOperate || cancel.isPending || (!!r?.cancelRequestedAt && status === "running")}
              title={denied}
            >
              <Ban size={16} aria-hidden /> Cancel
            </Button>
          ) : null}
          {canRetry && r ? (
            <Button onClick={() => retry.mutate({ id })} disabled={!canOperate || retry.isPending} title={denied ?? "Start the same work again as a new run"}>
              <RotateCcw size={16} aria-hidden /> {retry.isPending ? "Starting…" : "Retry"}
            </Button>
          ) : null}
        </div>
      </div>
      <FormError message={retry.error?.message} />
      <ConfirmDialog
        open={confirmCancel}
        title="Cancel this run?"
        confirmLabel="Cancel run"
        cancelLabel="Keep running"
        pending={cancel.isPending}
        error={cancel.error?.message}
        onConfirm={() => cancel.mutate({ id })}
        onClose={() => setConfirmCancel(false)}
      >
        {awaiting
          ? "Nothing has been done yet: the run ends here and its phases never run."
          : status === "queued"
            ? "The run has not started yet: it ends at once and nothing runs."
            : "The worker stops the commands it is running on the servers. Steps already done stay done; a retry continues from where it stopped."}
      </ConfirmDialog>

      <Card>
        <dl className="grid grid-cols-2 gap-4 px-4 py-3 text-sm md:grid-cols-5">
          <div>
            <dt className="text-xs text-slate-500">Status</dt>
            <dd className="mt-1">
              <RunStatusBadge status={status} />
            </dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Requested by</dt>
            <dd className="mt-1 text-slate-800">{r?.requestedBy ?? "…"}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Started</dt>
            <dd className="mt-1 text-slate-800">{formatTime(r?.startedAt ?? r?.createdAt)}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Duration</dt>
            <dd className="mt-1 text-slate-800">{formatDuration(r?.startedAt, r?.finishedAt)}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Attempts</dt>
            <dd className="mt-1 text-slate-800">{r?.attempts ?? "…"}</dd>
          </div>
        </dl>
        {r?.cancelRequestedAt && !ended ? (
          <p data-testid="cancel-requested" role="status" className="border-t border-amber-100 bg-amber-50 px-4 py-2 text-sm text-amber-900">
            Cancel requested{cancelRequestedBy ? ` by ${cancelRequestedBy}` : ""} at {formatTime(r.cancelRequestedAt)}: the worker is stopping the remote commands…
          </p>
        ) : null}
        {r?.outcome ? (
          <p
            data-testid="run-outcome"
            className={cn("border-t border-slate-100 px-4 py-2 text-sm", status === "failed" ? "text-rose-700" : status === "partial" ? "text-amber-800" : "text-slate-700")}
          >
            {r.outcome}
          </p>
        ) : null}
      </Card>

      {preview || awaiting ? (
        <RunPreview
          preview={preview}
          awaiting={awaiting}
          confirmedBy={r?.confirmedBy ?? null}
          canOperate={canOperate}
          pending={confirm.isPending}
          error={confirm.error?.message}
          onConfirm={() => confirm.mutate({ id })}
          onCancel={() => {
            cancel.reset();
            setConfirmCancel(true);
          }}
        />
      ) : null}
      {journal.some((p) => p.name !== PREVIEW_PHASE) || (preview && !awaiting) ? <RunPhases phases={journal} ended={ended} /> : null}

      <RunProgress store={store} ended={ended} status={status} />

      {policy?.showsPlan ? (
        <RunTabs
          // A run that has ended opens on its plan; one going on, on its live log.
          initial={ended ? "plan" : "log"}
          plan={<RunPlan id={id} kind={r!.kind} ended={ended} />}
          log={log}
        />
      ) : (
        log
      )}
    </div>
  );
}

/** The plan and the log of a plan or apply run, each in its own tab (both stay mounted: the log keeps following). */
function RunTabs({ initial, plan, log }: { initial: "plan" | "log"; plan: ReactNode; log: ReactNode }) {
  const [tab, setTab] = useState<"plan" | "log">(initial);
  const tabs = [
    { key: "plan", label: "Plan" },
    { key: "log", label: "Log" },
  ] as const;
  return (
    <div className="space-y-3">
      <div role="tablist" aria-label="Run details" className="flex gap-1 border-b border-slate-200">
        {tabs.map((t) => (
          <button
            key={t.key}
            type="button"
            role="tab"
            id={`run-tab-${t.key}`}
            aria-selected={tab === t.key}
            aria-controls={`run-panel-${t.key}`}
            tabIndex={tab === t.key ? 0 : -1}
            onClick={() => setTab(t.key)}
            onKeyDown={(e) => {
              if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
                const next = tab === "plan" ? "log" : "plan";
                setTab(next);
                document.getElementById(`run-tab-${next}`)?.focus();
              }
            }}
            className={cn(
              "-mb-px border-b-2 px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600",
              tab === t.key ? "border-sky-700 text-sky-800" : "border-transparent text-slate-600 hover:text-slate-900",
            )}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="run-panel-plan" aria-labelledby="run-tab-plan" hidden={tab !== "plan"}>
        {plan}
      </div>
      <div role="tabpanel" id="run-panel-log" aria-labelledby="run-tab-log" hidden={tab !== "log"}>
        {log}
      </div>
    </div>
  );
}

/** The plan a topology plan or apply run computed, once it has one. */
function RunPlan({ id, kind, ended }: { id: string; kind: string; ended: boolean }) {
  const trpc = useTRPC();
  const plan = useQuery({
    ...trpc.topologies.runPlan.queryOptions({ id }),
    refetchInterval: (q) => (q.state.data || ended ? false : 3_000),
  });
  return (
    <Card>
      <CardHeader
        title="Plan"
        description={
          kind === "topology-apply" ? "What this apply found to change when it observed the servers, before changing anything." : "What would change on the servers. This run changes nothing."
        }
      />
      <div className="p-4">
        {plan.error ? (
          <p role="alert" className="text-sm text-rose-700">
            Could not load the plan: {plan.error.message}
          </p>
        ) : plan.data ? (
          <PlanView plan={plan.data} />
        ) : ended ? (
          <p className="text-sm text-slate-500">This run ended before it computed a plan.</p>
        ) : (
          <p className="text-sm text-slate-500">The plan appears here once the worker has observed the servers.</p>
        )}
      </div>
    </Card>
  );
}
