import { cn } from "./cn";

/** A determinate progress bar: `value` of `max`, announced under `label`. */
export function Progress({ value, max, label, tone = "info", className }: { value: number; max: number; label: string; tone?: "info" | "success" | "danger"; className?: string }) {
  const safeMax = max > 0 ? max : 1;
  const clamped = Math.min(Math.max(value, 0), safeMax);
  const pct = max > 0 ? (clamped / safeMax) * 100 : 100;
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={clamped}
      aria-valuetext={`${clamped} of ${max}`}
      className={cn("h-2 w-full overflow-hidden rounded-full bg-slate-200", className)}
    >
      <div
        className={cn("h-full rounded-full transition-[width] duration-300", tone === "success" ? "bg-emerald-500" : tone === "danger" ? "bg-rose-500" : "bg-sky-500")}
        style={{ width: `${pct}%` }}
      />
    </div>
  );
}
