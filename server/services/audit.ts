// Reading the audit log (admins). Writing happens in server/auth/audit.ts.
import type { Db } from "../db";

export async function listAudit(db: Db, f: { actor?: string; action?: string; outcome?: "ok" | "denied" | "error"; limit: number; cursor?: number | null }) {
  const rows = await db.auditEntry.findMany({
    where: {
      actorLabel: f.actor ? { contains: f.actor } : undefined,
      action: f.action ? { contains: f.action } : undefined,
      outcome: f.outcome,
      id: f.cursor ? { lt: f.cursor } : undefined,
    },
    orderBy: { id: "desc" },
    take: f.limit + 1,
  });
  const more = rows.length > f.limit;
  const items = (more ? rows.slice(0, f.limit) : rows).map((r) => ({
    id: r.id,
    at: r.at,
    actorKind: r.actorKind,
    actorLabel: r.actorLabel,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    detail: r.detail,
    ip: r.ip,
  }));
  return { items, nextCursor: more ? items[items.length - 1]!.id : null };
}
