"use client";
// A run's log, however long: filters (host, levels, search, command echoes) applied by
// the server, and a virtualised list that puts only the rows on screen (and a margin)
// in the page, reading them from the store (run-log-store.ts) as they scroll into
// view. Follow mode sticks to the newest line while the run goes on; scrolling up
// stops it, and "Jump to latest" brings it back.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import { ArrowDownToLine, Download } from "lucide-react";
import { Card, CardHeader } from "../ui/card";
import { Button } from "../ui/button";
import { cn } from "../ui/cn";
import { EVENT_LEVELS, type EventLevel, type RunEventDto, type RunLogFilter, type RunLogSummaryDto } from "@/server/schemas/run";
import type { RunLogStore } from "./run-log-store";
import { type ReadEventsAfter, logAsText, saveText } from "./run-log-text";

const LEVEL_STYLE: Record<string, string> = {
  debug: "text-slate-400",
  info: "text-slate-100",
  warn: "text-amber-300",
  error: "text-rose-300",
  status: "text-sky-300 font-semibold",
  output: "text-slate-400",
  progress: "text-sky-300/70",
};

/** Every row is this tall (one line, no wrapping: long lines scroll sideways), so positions are arithmetic. */
const ROW_PX = 20;
/** The rendered window moves in steps of this many rows (fewer renders while scrolling)… */
const STEP = 50;
/** …and reaches this many rows past the screen on each side. */
const OVERSCAN = 150;
const SEARCH_DELAY_MS = 100;

const fmt = new Intl.NumberFormat("en");
const plural = (n: number, one: string) => `${fmt.format(n)} ${one}${n === 1 ? "" : "s"}`;

export function RunLog({
  store,
  runId,
  summary,
  streamState,
  readEventsAfter,
}: {
  store: RunLogStore;
  runId: string;
  summary: RunLogSummaryDto | undefined;
  streamState: ReactNode;
  readEventsAfter: (filter: RunLogFilter) => ReadEventsAfter;
}) {
  useSyncExternalStore(store.subscribe, store.getVersion, store.getVersion);
  const [levels, setLevels] = useState<EventLevel[]>([]);
  const [host, setHost] = useState("");
  const [searchInput, setSearchInput] = useState("");
  const [search, setSearch] = useState("");
  const [hideEchoes, setHideEchoes] = useState(false);
  const [download, setDownload] = useState<{ fraction: number } | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);

  useEffect(() => {
    const t = setTimeout(() => setSearch(searchInput.trim()), SEARCH_DELAY_MS);
    return () => clearTimeout(t);
  }, [searchInput]);

  const filter = useMemo<RunLogFilter>(
    () => ({ levels: levels.length > 0 ? [...levels].sort() : undefined, host: host || undefined, search: search || undefined, echoes: hideEchoes ? "hide" : undefined }),
    [levels, host, search, hideEchoes],
  );
  const filterKey = JSON.stringify(filter);
  useEffect(() => {
    if (!store.ready && store.filtering) return; // opening already
    if (store.ready && JSON.stringify(store.filter) === filterKey) return;
    store.setFilter(JSON.parse(filterKey) as RunLogFilter);
  }, [store, filterKey]);

  const filtered = filterKey !== "{}";
  const count = store.count;
  const levelCounts = new Map(summary?.levels.map((l) => [l.level, l.count]));
  const levelChoices = EVENT_LEVELS.filter((l) => levelCounts.has(l) || levels.includes(l) || !summary);
  const hosts = summary?.hosts ?? [];

  const onDownload = async () => {
    setDownloadError(null);
    setDownload({ fraction: 0 });
    try {
      const text = await logAsText(readEventsAfter(filter), store.lastSeq, (fraction) => setDownload({ fraction }));
      saveText(text, `run-${runId}${filtered ? "-filtered" : ""}.log`);
    } catch (err) {
      setDownloadError(err instanceof Error ? err.message : String(err));
    } finally {
      setDownload(null);
    }
  };

  return (
    <Card>
      <CardHeader
        title="Events"
        description={!store.ready ? "Loading the log…" : filtered ? `${fmt.format(count)} of ${plural(store.lastSeq, "event")} match the filters` : plural(store.lastSeq, "event")}
        actions={
          <span className="text-xs text-slate-500" data-testid="stream-state">
            {streamState}
          </span>
        }
      />
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2 border-b border-slate-100 px-4 py-2 text-xs" role="toolbar" aria-label="Log filters">
        <label className="flex items-center gap-1.5 text-slate-600">
          Host
          <select aria-label="Host" className="rounded-md border border-slate-300 bg-white px-1.5 py-1 text-xs" value={host} onChange={(e) => setHost(e.target.value)}>
            <option value="">All hosts</option>
            {hosts.map((h) => (
              <option key={h.host} value={h.host}>
                {h.host} ({fmt.format(h.count)})
              </option>
            ))}
            {host && !hosts.some((h) => h.host === host) ? <option value={host}>{host}</option> : null}
          </select>
        </label>
        <div role="group" aria-label="Levels" className="flex flex-wrap items-center gap-1">
          <button
            type="button"
            aria-pressed={levels.length === 0}
            onClick={() => setLevels([])}
            className={cn("rounded-full border px-2 py-0.5", levels.length === 0 ? "border-sky-600 bg-sky-50 text-sky-800" : "border-slate-300 text-slate-600 hover:bg-slate-50")}
          >
            All levels
          </button>
          {levelChoices.map((l) => {
            const on = levels.includes(l);
            return (
              <button
                key={l}
                type="button"
                aria-pressed={on}
                title={on ? `Stop showing ${l} lines only` : `Show ${l} lines (with the other levels picked)`}
                onClick={() => setLevels((prev) => (on ? prev.filter((x) => x !== l) : [...prev, l]))}
                className={cn("rounded-full border px-2 py-0.5", on ? "border-sky-600 bg-sky-50 text-sky-800" : "border-slate-300 text-slate-600 hover:bg-slate-50")}
              >
                {l}
                {levelCounts.has(l) ? <span className="ml-1 tabular-nums text-slate-500">{fmt.format(levelCounts.get(l)!)}</span> : null}
              </button>
            );
          })}
        </div>
        <input
          type="search"
          aria-label="Search the log"
          placeholder="Search the log"
          value={searchInput}
          onChange={(e) => setSearchInput(e.target.value)}
          className="w-48 rounded-md border border-slate-300 bg-white px-2 py-1 text-xs"
        />
        <label className="flex items-center gap-1.5 text-slate-600" title='Leave out the commands Rampart ran ("$ …" lines), keeping what they printed'>
          <input type="checkbox" checked={hideEchoes} onChange={(e) => setHideEchoes(e.target.checked)} />
          Hide command echoes{summary && summary.echoes > 0 ? ` (${fmt.format(summary.echoes)})` : ""}
        </label>
        <Button
          variant="secondary"
          className="ml-auto px-2 py-1 text-xs"
          onClick={() => void onDownload()}
          disabled={!store.ready || download !== null || store.lastSeq === 0}
          title={filtered ? "Download the lines that match the filters, as text" : "Download the whole log as text"}
        >
          <Download size={14} aria-hidden />
          {download ? `Preparing… ${Math.round(download.fraction * 100)}%` : "Download"}
        </Button>
      </div>
      {downloadError ? (
        <p role="alert" className="px-4 py-2 text-xs text-rose-700">
          Could not download the log: {downloadError}
        </p>
      ) : null}
      {store.error ? (
        <p role="alert" className="flex items-center gap-3 px-4 py-2 text-xs text-rose-700">
          Could not read the log: {store.error}
          <button type="button" className="underline" onClick={() => store.setFilter(filter)}>
            Try again
          </button>
        </p>
      ) : null}
      <LogViewport store={store} count={count} search={filter.search} jumpKey={filterKey}>
        {!store.ready ? (
          <p className="px-4 py-3 text-slate-500">Loading the log…</p>
        ) : count === 0 ? (
          <p className="px-4 py-3 text-slate-500">{filtered ? "No line matches these filters." : "Waiting for the worker to pick up this run…"}</p>
        ) : null}
      </LogViewport>
    </Card>
  );
}

/** The scrolling part: a spacer as tall as every row, and the rows near the screen placed inside it. */
function LogViewport({ store, count, search, jumpKey, children }: { store: RunLogStore; count: number; search?: string; jumpKey: string; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  // A ref as well as state: scroll events and new rows can land in the same frame, and
  // the scroll position the operator chose must win over "stick to the bottom".
  const following = useRef(true);
  const [follow, setFollow] = useState(true);
  const [win, setWin] = useState<[number, number]>([0, 0]);

  const measure = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const first = Math.floor(el.scrollTop / ROW_PX);
    const visible = Math.ceil(el.clientHeight / ROW_PX) + 1;
    const start = Math.max(0, Math.floor(first / STEP) * STEP - OVERSCAN);
    const end = Math.min(count, Math.ceil((first + visible) / STEP) * STEP + OVERSCAN);
    setWin((w) => (w[0] === start && w[1] === end ? w : [start, end]));
    store.ensure(start, end);
  }, [count, store]);

  const toBottom = useCallback(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, []);

  // New rows while following: stay at the bottom (before the browser paints).
  useLayoutEffect(() => {
    if (following.current) toBottom();
    measure();
  }, [count, measure, toBottom]);

  // A new filter shows its newest lines.
  useLayoutEffect(() => {
    following.current = true;
    setFollow(true);
    toBottom();
  }, [jumpKey, toBottom]);

  // The box changed size (the window, or the log growing to its full height).
  const measureRef = useRef(measure);
  measureRef.current = measure;
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => {
      if (following.current) toBottom();
      measureRef.current();
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [toBottom]);

  const onScroll = () => {
    const el = ref.current!;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_PX * 1.5;
    following.current = atBottom;
    if (atBottom !== follow) setFollow(atBottom);
    measure();
  };

  const rows: ReactNode[] = [];
  for (let i = win[0]; i < Math.min(win[1], count); i++) {
    const e = store.row(i);
    rows.push(
      e ? (
        <LogRow key={e.seq} e={e} search={search} />
      ) : (
        <div key={`p${i}`} style={{ height: ROW_PX }} className="px-4 py-1" aria-hidden data-placeholder>
          <div className="h-full w-64 rounded bg-slate-800/60" />
        </div>
      ),
    );
  }

  return (
    <div className="relative">
      <div
        ref={ref}
        onScroll={onScroll}
        tabIndex={0}
        className="max-h-[60vh] overflow-auto rounded-b-lg bg-slate-950 font-mono text-xs focus-visible:outline-2 focus-visible:outline-sky-600"
        role="log"
        aria-live={follow ? "polite" : "off"}
        aria-label="Run events"
        data-testid="run-log"
        data-rows={count}
        style={{ overflowAnchor: "none" }}
      >
        {children}
        {count > 0 ? (
          <div style={{ height: count * ROW_PX, minWidth: "100%", width: "max-content", position: "relative" }}>
            <div style={{ position: "absolute", top: win[0] * ROW_PX, left: 0, minWidth: "100%" }}>{rows}</div>
          </div>
        ) : null}
      </div>
      {!follow && count > 0 ? (
        <Button
          className="absolute right-6 bottom-4 px-2.5 py-1 text-xs shadow-lg"
          onClick={() => {
            following.current = true;
            setFollow(true);
            toBottom();
          }}
        >
          <ArrowDownToLine size={14} aria-hidden /> Jump to latest
        </Button>
      ) : null}
    </div>
  );
}

function LogRow({ e, search }: { e: RunEventDto; search?: string }) {
  const quiet = e.level === "output" || e.level === "debug";
  const text = (e.level === "status" ? `● ${e.text}` : e.level === "progress" ? `▸ ${e.text}` : e.text).replace(/\r?\n/g, " ⏎ ");
  return (
    <div data-seq={e.seq} data-level={e.level} data-host={e.host ?? undefined} style={{ height: ROW_PX, lineHeight: `${ROW_PX}px` }} className="flex gap-3 px-4 whitespace-pre">
      <span className={cn("shrink-0", quiet ? "text-slate-400" : "text-slate-300")}>{new Date(e.time).toLocaleTimeString()}</span>
      {e.host ? <span className={cn("shrink-0", quiet ? "text-violet-300/80" : "text-violet-300")}>{e.host}</span> : null}
      <span className={LEVEL_STYLE[e.level] ?? "text-slate-100"}>{search ? highlight(text, search) : text}</span>
    </div>
  );
}

function highlight(text: string, search: string): ReactNode {
  const lower = text.toLowerCase();
  const needle = search.toLowerCase();
  const parts: ReactNode[] = [];
  let at = 0;
  for (let hit = lower.indexOf(needle); hit >= 0 && needle.length > 0; hit = lower.indexOf(needle, at)) {
    if (hit > at) parts.push(text.slice(at, hit));
    parts.push(
      <mark key={hit} className="rounded-sm bg-amber-300/30 text-inherit">
        {text.slice(hit, hit + needle.length)}
      </mark>,
    );
    at = hit + needle.length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}
