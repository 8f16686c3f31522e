"use client";
// Starts a sample operation: a demonstration of the operation machinery (a preview
// to confirm, then two phases that only wait and record themselves in the journal).
// Nothing on any server changes. Its run page shows the preview, the phases, and
// what happens when a worker dies mid-phase for each policy.
import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { Layers } from "lucide-react";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { runKindLabel } from "@/server/schemas/run-kinds";

const KINDS = ["sample-operation", "sample-operation-strict"] as const;

export function StartSampleOperationButton() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<(typeof KINDS)[number]>("sample-operation");
  const allowed = useCan("operate");
  const start = useMutation(
    trpc.runs.startSampleOperation.mutationOptions({
      onSuccess: (run) => {
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
        router.push(`/runs/${run.id}`);
      },
    }),
  );
  return (
    <div className="flex flex-col items-end gap-1">
      <div className="flex flex-wrap items-center gap-2">
        <label className="flex items-center gap-1.5 text-xs text-slate-600">
          Sample
          <select className="rounded-md border border-slate-300 bg-white px-1.5 py-1 text-xs" value={kind} onChange={(e) => setKind(e.target.value as (typeof KINDS)[number])}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {runKindLabel(k)}
              </option>
            ))}
          </select>
        </label>
        <Button
          variant="secondary"
          onClick={() => start.mutate({ kind, phaseDelayMs: 5000 })}
          disabled={start.isPending || !allowed}
          title={allowed ? "A demonstration of operations: a preview to confirm, then two phases of 5 s that change nothing" : "Only operators and admins can start runs"}
        >
          <Layers size={16} aria-hidden />
          {start.isPending ? "Starting…" : "Try a sample operation"}
        </Button>
      </div>
      {start.error ? (
        <p role="alert" className="max-w-sm text-right text-xs text-rose-700">
          {start.error.message}
        </p>
      ) : null}
    </div>
  );
}
