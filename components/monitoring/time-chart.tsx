"use client";
// One time-series chart (uPlot, drawn on a canvas), with the topology's applies and
// certificate renewals as vertical markers. The values are also listed for screen
// readers and tests (the last value of each line, and every marker with its time).
import { useEffect, useRef } from "react";
import type uPlotType from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MonitoringViewDto } from "@/server/schemas/monitoring";

type Chart = MonitoringViewDto["charts"][number];
type Marker = MonitoringViewDto["markers"][number];

// Theme colours (the dark theme redefines them), with the light theme's value as fallback.
const COLORS: Array<[string, string]> = [
  ["--color-sky-700", "#0369a1"],
  ["--color-amber-700", "#b45309"],
  ["--color-emerald-700", "#047857"],
  ["--color-violet-600", "#7c3aed"],
  ["--color-rose-700", "#be123c"],
  ["--color-slate-700", "#334155"],
];
const MARKER_COLORS: Record<Marker["kind"], [string, string]> = { apply: ["--color-emerald-700", "#047857"], renewal: ["--color-violet-700", "#6d28d9"] };
const cssVar = ([name, fallback]: [string, string]) => `var(${name}, ${fallback})`;
/** A theme colour for the canvas, as the page computes it now. */
function resolve([name, fallback]: [string, string]): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function formatValue(unit: Chart["unit"], v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (unit === "ratio") return `${(v * 100).toFixed(1)} %`;
  if (unit === "req/s") return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} req/s`;
  if (unit === "seconds") return v < 1 ? `${(v * 1000).toFixed(0)} ms` : `${v.toFixed(2)} s`;
  if (unit === "days") return `${v.toFixed(1)} d`;
  return v.toFixed(2);
}

/** Aligns every series on one time axis (uPlot's data layout): null where a line has no sample. */
function aligned(chart: Chart): uPlotType.AlignedData {
  const times = [...new Set(chart.series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const cols = chart.series.map((s) => {
    const col: (number | null)[] = new Array(times.length).fill(null);
    for (const [t, v] of s.points) col[index.get(t)!] = v;
    return col;
  });
  return [times, ...cols] as uPlotType.AlignedData;
}

export function TimeChart({ chart, markers, range }: { chart: Chart; markers: Marker[]; range: { start: Date; end: Date } }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || chart.series.length === 0) return;
    let plot: uPlotType | null = null;
    let cancelled = false;
    const markerPlugin: uPlotType.Plugin = {
      hooks: {
        draw: (u) => {
          const ctx = u.ctx;
          ctx.save();
          for (const m of markers) {
            const x = u.valToPos(m.at.getTime() / 1000, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = resolve(MARKER_COLORS[m.kind]);
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.setLineDash(m.kind === "renewal" ? [6 * devicePixelRatio, 4 * devicePixelRatio] : []);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      },
    };
    void import("uplot").then(({ default: uPlot }) => {
      if (cancelled) return;
      plot = new uPlot(
        {
          width: el.clientWidth || 480,
          height: 200,
          plugins: [markerPlugin],
          scales: {
            x: { time: true, min: range.start.getTime() / 1000, max: range.end.getTime() / 1000 },
            y: { range: (_u, min, max) => [Math.min(0, min), chart.unit === "ratio" ? Math.max(1, max) : Math.max(max * 1.1, 0.1)] },
          },
          axes: [
            { stroke: resolve(["--color-slate-600", "#45556c"]), grid: { stroke: resolve(["--color-slate-200", "#e2e8f0"]) }, ticks: { stroke: resolve(["--color-slate-200", "#e2e8f0"]) } },
            {
              values: (_u, vals) => vals.map((v) => formatValue(chart.unit, v)),
              size: 70,
              stroke: resolve(["--color-slate-600", "#45556c"]),
              grid: { stroke: resolve(["--color-slate-200", "#e2e8f0"]) },
              ticks: { stroke: resolve(["--color-slate-200", "#e2e8f0"]) },
            },
          ],
          series: [
            {},
            ...chart.series.map((s, i) => ({ label: s.name, stroke: resolve(COLORS[i % COLORS.length]!), width: 1.5, value: (_u: uPlotType, v: number | null) => formatValue(chart.unit, v) })),
          ],
        },
        aligned(chart),
        el,
      );
    });
    const resize = new ResizeObserver(() => plot?.setSize({ width: el.clientWidth, height: 200 }));
    resize.observe(el);
    return () => {
      cancelled = true;
      resize.disconnect();
      plot?.destroy();
    };
  }, [chart, markers, range.start, range.end]);

  const inRange = markers.filter((m) => m.at >= range.start && m.at <= range.end);
  return (
    <figure className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm" data-testid="chart" data-chart={chart.id}>
      <figcaption className="mb-2 text-sm font-medium text-slate-900">{chart.title}</figcaption>
      {chart.series.length === 0 ? (
        <p className="py-12 text-center text-sm text-slate-500">No data in this range.</p>
      ) : (
        <div ref={box} role="img" aria-label={`${chart.title}: ${chart.series.map((s) => `${s.name} ${formatValue(chart.unit, s.points.at(-1)?.[1])}`).join(", ")}`} />
      )}
      <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600">
        {chart.series.map((s) => (
          <li key={s.name} data-testid="chart-series" data-name={s.name} data-last={s.points.at(-1)?.[1] ?? ""}>
            {s.name}: <span className="font-medium text-slate-800">{formatValue(chart.unit, s.points.at(-1)?.[1])}</span>
          </li>
        ))}
        {inRange.map((m) => (
          <li key={`${m.kind}-${m.at.getTime()}`} data-testid="chart-marker" data-kind={m.kind} data-at={m.at.toISOString()} style={{ color: cssVar(MARKER_COLORS[m.kind]) }}>
            {m.kind === "apply" ? "│" : "┆"} {m.label} at {m.at.toLocaleTimeString()}
          </li>
        ))}
      </ul>
      <details className="mt-1 text-xs text-slate-500">
        <summary className="cursor-pointer">PromQL</summary>
        <code className="block break-all pt-1">{chart.query}</code>
      </details>
    </figure>
  );
}
