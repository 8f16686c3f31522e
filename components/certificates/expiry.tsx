"use client";
// A certificate's expiry: the date, the days left, and a warning when it is close.
import { AlertTriangle } from "lucide-react";
import { cn } from "../ui/cn";

const DAY_MS = 86_400_000;

/** Whole days left, rounded (a fresh 30-day certificate has 30). */
export function daysLeft(notAfter: Date, now = Date.now()): number {
  return Math.round((notAfter.getTime() - now) / DAY_MS);
}

export function formatDate(d: Date): string {
  return d.toLocaleDateString(undefined, { dateStyle: "medium" });
}

/**
 * "27 Dec 2026 · 30 days left". Amber (with a warning icon) under `warnDays`,
 * red once expired. `note` says what to do about it.
 */
export function Expiry({ notAfter, warnDays, note }: { notAfter: Date; warnDays: number; note?: string }) {
  const now = Date.now();
  const left = daysLeft(notAfter, now);
  const expired = notAfter.getTime() <= now;
  const warning = !expired && notAfter.getTime() - now < warnDays * DAY_MS;
  const leftText = expired ? "expired" : left <= 0 ? "expires today" : `${left} day${left === 1 ? "" : "s"} left`;
  return (
    <span
      data-testid="cert-expiry"
      data-days-left={left}
      data-warning={warning || expired ? "true" : "false"}
      title={notAfter.toISOString()}
      className={cn("inline-flex flex-wrap items-center gap-1", expired ? "font-semibold text-rose-700" : warning ? "font-medium text-amber-800" : "text-slate-700")}
    >
      {warning || expired ? <AlertTriangle size={14} aria-hidden className="shrink-0" /> : null}
      <span>
        {formatDate(notAfter)} · {leftText}
      </span>
      {(warning || expired) && note ? <span className="font-normal text-slate-600">({note})</span> : null}
    </span>
  );
}

/** When the schedule renews a certificate of the internal CA: once two-thirds of its lifetime has passed (as the worker's scan decides). */
export function internalRenewalAt(c: { notBefore: Date; notAfter: Date }): Date {
  return new Date(c.notBefore.getTime() + ((c.notAfter.getTime() - c.notBefore.getTime()) * 2) / 3);
}

/** "3 Dec 2026, 14:00", or "due now" once it has passed (the next scan starts it). */
export function NextRenewal({ at }: { at: Date }) {
  const due = at.getTime() <= Date.now();
  return (
    <span data-testid="cert-next-renewal" title={at.toISOString()} className="text-slate-700">
      {due ? "due now (the next scan starts it)" : at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}
    </span>
  );
}
