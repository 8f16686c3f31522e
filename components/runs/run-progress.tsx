"use client";
// One progress bar per host: each host's latest progress event, as the log summary
// read it when the page opened and as live events move it on (run-log-store.ts).
import { useSyncExternalStore } from "react";
import { Card, CardHeader } from "../ui/card";
import { Progress } from "../ui/progress";
import type { RunLogStore } from "./run-log-store";

export function RunProgress({ store, ended, status }: { store: RunLogStore; ended: boolean; status: string }) {
  useSyncExternalStore(store.subscribe, store.getVersion, store.getVersion);
  const hosts = store.progress;
  if (hosts.length === 0) return null;
  return (
    <Card>
      <CardHeader title="Progress" description={`${hosts.filter((h) => h.total > 0 && h.done >= h.total).length} of ${hosts.length} host${hosts.length === 1 ? "" : "s"} done`} />
      <ul className="divide-y divide-slate-100" aria-label="Progress per host">
        {hosts.map((h) => {
          const complete = h.done >= h.total;
          const tone = complete ? "success" : ended && status !== "succeeded" ? "danger" : "info";
          return (
            <li key={h.host} data-testid="host-progress" data-host={h.host} className="grid grid-cols-[10rem_6rem_1fr] items-center gap-x-4 gap-y-1 px-4 py-2 text-sm">
              <span className="truncate font-medium text-slate-800">{h.host}</span>
              <span className="text-xs tabular-nums text-slate-500" data-testid="host-progress-count">
                {h.done} of {h.total}
              </span>
              <Progress value={h.done} max={h.total} label={`${h.host} progress`} tone={tone} />
              <span className="col-start-3 truncate font-mono text-xs text-slate-500" data-testid="host-progress-text" title={h.text}>
                {h.text}
              </span>
            </li>
          );
        })}
      </ul>
    </Card>
  );
}
