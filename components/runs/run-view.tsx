"use client";
// A run followed live. The subscription replays stored events from the start, then
// streams new ones; on reconnect EventSource resends the last seq it saw, so the
// log never shows a gap or a duplicate.
import { useCallback, useEffect, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useTRPC } from "../trpc";
import { Card, CardHeader } from "../ui/card";
import { cn } from "../ui/cn";
import { RunStatusBadge } from "./status-badge";
import { formatDuration, formatTime } from "./time";
import type { RunEventDto } from "@/server/schemas/run";
import { isTerminal } from "@/server/schemas/run";

const LEVEL_STYLE: Record<string, string> = {
  debug: "text-slate-400",
  info: "text-slate-100",
  warn: "text-amber-300",
  error: "text-rose-300",
  status: "text-sky-300 font-semibold",
};

export function RunView({ id }: { id: string }) {
  const trpc = useTRPC();
  const run = useQuery(trpc.runs.get.queryOptions({ id }));
  const [events, setEvents] = useState<RunEventDto[]>([]);
  const lastSeq = useRef(0);
  const [liveStatus, setLiveStatus] = useState<string | null>(null);

  const onData = useCallback(
    (msg: { id: string; data: RunEventDto }) => {
      const e = msg.data;
      if (e.seq <= lastSeq.current) return; // already shown
      lastSeq.current = e.seq;
      setEvents((prev) => [...prev, e]);
      if (e.level === "status") {
        setLiveStatus(e.text);
        if (isTerminal(e.text)) void run.refetch();
      }
    },
    [run],
  );
  const sub = useSubscription(trpc.runs.follow.subscriptionOptions({ id }, { onData }));

  const logRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = logRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [events]);

  if (run.error) return <p role="alert" className="text-sm text-rose-700">{run.error.message}</p>;
  const r = run.data;
  const status = r && isTerminal(r.status) ? r.status : (liveStatus ?? r?.status ?? "queued");
  const ended = isTerminal(status);

  return (
    <div className="space-y-4">
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
        {r?.outcome ? (
          <p data-testid="run-outcome" className={cn("border-t border-slate-100 px-4 py-2 text-sm", status === "failed" ? "text-rose-700" : "text-slate-700")}>
            {r.outcome}
          </p>
        ) : null}
      </Card>

      <Card>
        <CardHeader
          title="Events"
          description={`${events.length} event${events.length === 1 ? "" : "s"}`}
          actions={
            <span className="text-xs text-slate-500" data-testid="stream-state">
              {ended ? "Run ended" : sub.status === "pending" ? "● Live" : sub.status === "connecting" ? "Connecting…" : sub.status === "error" ? "Reconnecting…" : sub.status}
            </span>
          }
        />
        <div
          ref={logRef}
          onScroll={(e) => {
            const el = e.currentTarget;
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
          className="max-h-[60vh] overflow-auto rounded-b-lg bg-slate-950 px-4 py-3 font-mono text-xs leading-relaxed"
          role="log"
          aria-live="polite"
          aria-label="Run events"
        >
          {events.length === 0 ? <p className="text-slate-500">Waiting for the worker to pick up this run…</p> : null}
          {events.map((e) => (
            <div key={e.seq} data-seq={e.seq} data-level={e.level} className="flex gap-3 whitespace-pre-wrap">
              <span className="shrink-0 text-slate-500">{new Date(e.time).toLocaleTimeString()}</span>
              {e.host ? <span className="shrink-0 text-violet-300">{e.host}</span> : null}
              <span className={LEVEL_STYLE[e.level] ?? "text-slate-100"}>{e.level === "status" ? `● ${e.text}` : e.text}</span>
            </div>
          ))}
        </div>
      </Card>
    </div>
  );
}
