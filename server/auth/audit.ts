// The audit log: append-only (the database refuses UPDATE and DELETE on it), with
// secrets redacted before anything is written.
import type { Db } from "../db";
import type { Principal } from "./principal";
import { principalLabel } from "./principal";
import { throttleSource } from "./throttle";

export type AuditOutcome = "ok" | "denied" | "error";

export interface AuditActor {
  kind: "user" | "token" | "system" | "anonymous";
  id: string | null;
  label: string;
}

export function actorOf(p: Principal | null, fallbackLabel = "anonymous"): AuditActor {
  if (!p) return { kind: "anonymous", id: null, label: fallbackLabel };
  return { kind: p.via === "token" ? "token" : "user", id: p.userId, label: principalLabel(p) };
}

export const SYSTEM_ACTOR: AuditActor = { kind: "system", id: null, label: "rampart" };

const SECRET_KEY = /pass(word|phrase)?|secret|token|private|key|credential|authorization|cookie/i;

/** A copy of a value with every secret-looking field replaced. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[…]";
  // Uploads (archives, certificate chains) are not copied into the log.
  if (typeof value === "string" && value.length > 4096) return `[${value.length} characters]`;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === "object" && !(value instanceof Date)) {
    // { name, value, secret: true }: an app's secret environment variable.
    const secretValue = (value as { secret?: unknown }).secret === true;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) || (secretValue && k === "value") ? "[redacted]" : redact(v, depth + 1)]));
  }
  return value;
}

export interface AuditInput {
  actor: AuditActor;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  detail?: Record<string, unknown>;
  ip?: string | null;
  userAgent?: string | null;
}

/** Where attempts from more sources than a minute's window can track are counted together. */
const OVERFLOW = "many sources";

/**
 * Denied attempts (refused calls, failed and throttled sign-ins) cost the caller
 * nothing, so a flood of them must not grow the log without bound: per source (an
 * IPv4 address or an IPv6 /64) and minute, the first few are written one by one; the
 * rest are counted and written as one "audit.suppressed" entry when the minute ends.
 * Past a cap across all sources, every further one is folded into that minute's
 * summary too. Allowed calls are always written.
 */
export class DeniedAttempts {
  private readonly windows = new Map<string, { from: number; written: number; suppressed: number; actions: Map<string, number> }>();
  private total = { from: 0, written: 0 };

  constructor(
    private readonly opts: { perSource: number; total: number; windowMs: number; maxSources: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** True: write this attempt; false: it was counted for a summary. */
  admit(source: string, action: string): boolean {
    const now = this.now();
    if (now - this.total.from >= this.opts.windowMs) this.total = { from: now, written: 0 };
    // Too many sources at once: the newcomers share one window, and one summary.
    const key = this.windows.has(source) || this.windows.size < this.opts.maxSources ? source : OVERFLOW;
    let w = this.windows.get(key);
    if (!w) {
      w = { from: now, written: 0, suppressed: 0, actions: new Map() };
      this.windows.set(key, w);
    }
    if (key !== OVERFLOW && w.written < this.opts.perSource && this.total.written < this.opts.total) {
      w.written++;
      this.total.written++;
      return true;
    }
    w.suppressed++;
    w.actions.set(action, (w.actions.get(action) ?? 0) + 1);
    return false;
  }

  /** The summaries of the windows that ended (all of them with `all`), removed from memory. */
  drain(all = false): Array<{ source: string; from: Date; to: Date; count: number; actions: Record<string, number> }> {
    const now = this.now();
    const out = [];
    for (const [source, w] of this.windows) {
      if (!all && now - w.from < this.opts.windowMs) continue;
      this.windows.delete(source);
      if (w.suppressed > 0) out.push({ source, from: new Date(w.from), to: new Date(Math.min(now, w.from + this.opts.windowMs)), count: w.suppressed, actions: Object.fromEntries(w.actions) });
    }
    return out;
  }
}

export const DENIED_LIMITS = { perSource: 20, total: 300, windowMs: 60_000, maxSources: 10_000 };
// Per database handle (a process has one; tests have several).
const denied = new Map<Db, { attempts: DeniedAttempts; timer: NodeJS.Timeout }>();

function deniedFor(db: Db) {
  let d = denied.get(db);
  if (!d) {
    const attempts = new DeniedAttempts(DENIED_LIMITS);
    const timer = setInterval(() => void flushDenied(db).catch((err: Error) => console.error(`audit: could not write a summary of denied attempts: ${err.message}`)), 10_000);
    timer.unref();
    d = { attempts, timer };
    denied.set(db, d);
  }
  return d;
}

/** flushDenied for every database handle of this process. */
export async function flushAllDenied(all = false): Promise<number> {
  let n = 0;
  for (const db of denied.keys()) n += await flushDenied(db, all);
  return n;
}

/** Writes the summaries of suppressed denied attempts whose minute ended (all with `all`, at shutdown). */
export async function flushDenied(db: Db, all = false): Promise<number> {
  const d = denied.get(db);
  if (!d) return 0;
  const summaries = d.attempts.drain(all);
  for (const s of summaries)
    await writeAudit(db, {
      actor: SYSTEM_ACTOR,
      action: "audit.suppressed",
      target: s.source,
      outcome: "denied",
      detail: { reason: `${s.count} more denied attempt(s) from ${s.source} in this minute, counted here instead of one entry each`, ...s },
      ip: s.source === OVERFLOW ? null : s.source,
    });
  return summaries.length;
}

export async function recordAudit(db: Db, entry: AuditInput): Promise<void> {
  // Rampart's own refusals (a host key that changed) are not a caller's flood.
  if (entry.outcome === "denied" && entry.actor.kind !== "system") {
    const d = deniedFor(db);
    await flushDenied(db);
    if (!d.attempts.admit(throttleSource(entry.ip ?? "unknown"), entry.action)) return;
  }
  await writeAudit(db, entry);
}

async function writeAudit(db: Db, entry: AuditInput): Promise<void> {
  await db.auditEntry.create({
    data: {
      actorKind: entry.actor.kind,
      actorId: entry.actor.id,
      actorLabel: entry.actor.label,
      action: entry.action,
      target: entry.target ?? null,
      outcome: entry.outcome,
      detail: JSON.stringify(redact(entry.detail ?? {})),
      ip: entry.ip ?? null,
      userAgent: entry.userAgent?.slice(0, 300) ?? null,
    },
  });
}
