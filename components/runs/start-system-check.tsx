"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { Stethoscope } from "lucide-react";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";

/** Starts a system check and opens its run page to follow it live. */
export function StartSystemCheckButton({ delayBetweenChecksMs = 0 }: { delayBetweenChecksMs?: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const start = useMutation(
    trpc.runs.startSystemCheck.mutationOptions({
      onSuccess: (run) => {
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
        router.push(`/runs/${run.id}`);
      },
    }),
  );
  return (
    <div className="flex flex-col items-end gap-1">
      <Button onClick={() => start.mutate({ delayBetweenChecksMs })} disabled={start.isPending}>
        <Stethoscope size={16} aria-hidden />
        {start.isPending ? "Starting…" : "Run system check"}
      </Button>
      {start.error ? (
        <p role="alert" className="max-w-sm text-right text-xs text-rose-700">
          {start.error.message}
        </p>
      ) : null}
    </div>
  );
}
