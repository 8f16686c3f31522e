"use client";
// An operation's journal on its run page: the preview the operator confirms (with
// Confirm and Cancel while the run awaits confirmation), then each phase with its
// status, duration, attempts and error.
import { CheckCircle2, CircleDashed, Loader2, XCircle } from "lucide-react";
import type { RunPhaseDto } from "@/server/schemas/run";
import { PREVIEW_PHASE } from "@/server/schemas/run";
import { Badge, type Tone } from "../ui/badge";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { FormError } from "../ui/field";
import { formatDuration } from "./time";

const PHASE_TONES: Record<RunPhaseDto["status"], Tone> = { running: "info", done: "success", failed: "danger" };
const PHASE_ICONS = {
  running: <Loader2 size={16} className="animate-spin text-sky-600" aria-hidden />,
  done: <CheckCircle2 size={16} className="text-emerald-600" aria-hidden />,
  failed: <XCircle size={16} className="text-rose-600" aria-hidden />,
};

/** The preview an operation computed, and the buttons that decide whether it runs. */
export function RunPreview({
  preview,
  awaiting,
  confirmedBy,
  canOperate,
  pending,
  error,
  onConfirm,
  onCancel,
}: {
  preview: RunPhaseDto | undefined;
  awaiting: boolean;
  confirmedBy: string | null;
  canOperate: boolean;
  pending: boolean;
  error?: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const summary = typeof preview?.data?.summary === "string" ? preview.data.summary : null;
  const denied = canOperate ? undefined : "Only operators and admins can do this";
  return (
    <Card data-testid="run-preview" className={awaiting ? "border-sky-300 ring-1 ring-sky-200" : undefined}>
      <CardHeader
        title="Preview"
        description={
          awaiting
            ? "Nothing has been done yet. Confirm to carry out the phases below, or cancel to end the run here."
            : confirmedBy
              ? `Confirmed by ${confirmedBy}.`
              : "What this operation said it would do."
        }
        actions={
          awaiting ? (
            <div className="flex gap-2">
              <Button variant="secondary" onClick={onCancel} disabled={!canOperate || pending} title={denied}>
                Cancel
              </Button>
              <Button onClick={onConfirm} disabled={!canOperate || pending} title={denied ?? "Carry out the operation as previewed"} data-testid="confirm-run">
                {pending ? "Confirming…" : "Confirm"}
              </Button>
            </div>
          ) : null
        }
      />
      <div className="space-y-2 px-4 py-3 text-sm text-slate-800">
        <p data-testid="preview-summary">{summary ?? (preview ? "The preview recorded no summary." : "The preview appears here once the worker has computed it.")}</p>
        <FormError message={error} />
      </div>
    </Card>
  );
}

/** The phases of the journal (the preview is shown on its own). */
export function RunPhases({ phases, ended }: { phases: RunPhaseDto[]; ended: boolean }) {
  const steps = phases.filter((p) => p.name !== PREVIEW_PHASE);
  return (
    <Card>
      <CardHeader title="Phases" description={`${steps.filter((p) => p.status === "done").length} of ${steps.length} started phase${steps.length === 1 ? "" : "s"} done`} />
      {steps.length === 0 ? (
        <p className="px-4 py-3 text-sm text-slate-500">{ended ? "This run ended before any phase started." : "Each phase appears here when it starts."}</p>
      ) : (
        <ol className="divide-y divide-slate-100" aria-label="Phases">
          {steps.map((p) => (
            <li key={p.name} data-testid="run-phase" data-phase={p.name} data-status={p.status} className="grid grid-cols-[1.25rem_1fr_auto] items-start gap-x-3 gap-y-1 px-4 py-2 text-sm">
              {PHASE_ICONS[p.status] ?? <CircleDashed size={16} aria-hidden />}
              <div className="min-w-0">
                <span className="font-medium text-slate-800">{p.name}</span>
                {p.attempts > 1 ? <span className="ml-2 text-xs text-amber-700">started {p.attempts} times (a worker took the run over)</span> : null}
                {p.error ? (
                  <p className="mt-0.5 text-xs text-rose-700" data-testid="run-phase-error">
                    {p.error}
                  </p>
                ) : null}
              </div>
              <div className="flex items-center gap-3">
                <span className="text-xs tabular-nums text-slate-500">
                  {p.status === "running" && ended ? "—" : formatDuration(new Date(p.startedAt), p.finishedAt ? new Date(p.finishedAt) : null)}
                </span>
                <Badge tone={PHASE_TONES[p.status] ?? "neutral"}>{p.status}</Badge>
              </div>
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}
