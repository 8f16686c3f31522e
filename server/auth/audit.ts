// The audit log: append-only (the database refuses UPDATE and DELETE on it), with
// secrets redacted before anything is written.
import type { Db } from "../db";
import type { Principal } from "./principal";
import { principalLabel } from "./principal";

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

export async function recordAudit(db: Db, entry: AuditInput): Promise<void> {
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
