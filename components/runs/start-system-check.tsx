"use client";
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { Stethoscope } from "lucide-react";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { StartSampleOperationButton } from "./start-sample-operation";

const PACES = [
  { ms: 0, label: "no pause" },
  { ms: 1000, label: "1 s" },
  { ms: 3000, label: "3 s" },
];

/**
 * Starts a system check and opens its run page to follow it live. With `pacing`,
 * the operator can pause between checks to watch events arrive one by one.
 * `samples` (by default on the runs page, where `pacing` is set) also offers the
 * sample operations: the runs page's tools for watching the run machinery.
 */
export function StartSystemCheckButton({ pacing = false, samples = pacing }: { pacing?: boolean; samples?: boolean }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [delay, setDelay] = useState(0);
  const allowed = useCan("operate");
  const start = useMutation(
    trpc.runs.startSystemCheck.mutationOptions({
      onSuccess: (run) => {
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
        router.push(`/runs/${run.id}`);
      },
    }),
  );
  const check = (
    <div className="flex flex-col items-end gap-1">
      <div className="flex flex-wrap items-center gap-2">
        {pacing ? (
          <label className="flex items-center gap-1.5 text-xs text-slate-600">
            Pause between checks
            <select className="rounded-md border border-slate-300 bg-white px-1.5 py-1 text-xs" value={delay} onChange={(e) => setDelay(Number(e.target.value))}>
              {PACES.map((p) => (
                <option key={p.ms} value={p.ms}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <Button onClick={() => start.mutate({ delayBetweenChecksMs: delay })} disabled={start.isPending || !allowed} title={allowed ? undefined : "Only operators and admins can start runs"}>
          <Stethoscope size={16} aria-hidden />
          {start.isPending ? "Starting…" : "Run system check"}
        </Button>
      </div>
      {start.error ? (
        <p role="alert" className="max-w-sm text-right text-xs text-rose-700">
          {start.error.message}
        </p>
      ) : null}
    </div>
  );
  if (!samples) return check;
  return (
    <div className="flex flex-wrap items-start justify-end gap-3">
      <StartSampleOperationButton />
      {check}
    </div>
  );
}
