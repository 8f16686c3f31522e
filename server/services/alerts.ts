// Alerts as Alertmanager delivers them (POST /api/alertmanager, the embedded one's
// token): one row per firing of an alert, resolved when Alertmanager says so. The
// console's Monitoring pages list the firing ones and the history.
import type { Db } from "../db";
import type { AlertDto, AlertmanagerWebhook } from "../schemas/monitoring";

/** Alertmanager's "no end yet" (0001-01-01). */
const open = (d: Date) => d.getUTCFullYear() < 1000;

export async function ingestAlerts(db: Db, payload: AlertmanagerWebhook): Promise<{ firing: number; resolved: number }> {
  let firing = 0;
  let resolved = 0;
  for (const a of payload.alerts) {
    const endsAt = a.status === "resolved" && !open(a.endsAt) ? a.endsAt : null;
    const data = {
      name: a.labels.alertname ?? "unnamed",
      severity: a.labels.severity ?? "warning",
      status: a.status,
      labels: JSON.stringify(a.labels),
      summary: (a.annotations.summary ?? "").slice(0, 1000),
      description: (a.annotations.description ?? "").slice(0, 4000),
      topologyId: a.labels.topology_id ?? null,
      serverId: a.labels.server_id ?? null,
      endsAt,
    };
    await db.alert.upsert({
      where: { fingerprint_startsAt: { fingerprint: a.fingerprint, startsAt: a.startsAt } },
      create: { fingerprint: a.fingerprint, startsAt: a.startsAt, ...data },
      update: data,
    });
    if (a.status === "firing") firing++;
    else resolved++;
  }
  return { firing, resolved };
}

type Row = Awaited<ReturnType<Db["alert"]["findFirstOrThrow"]>>;
const toDto = (r: Row): AlertDto => ({
  id: r.id,
  name: r.name,
  severity: r.severity,
  status: r.status === "resolved" ? "resolved" : "firing",
  summary: r.summary,
  description: r.description,
  labels: JSON.parse(r.labels) as Record<string, string>,
  topologyId: r.topologyId,
  serverId: r.serverId,
  startsAt: r.startsAt,
  endsAt: r.endsAt,
  receivedAt: r.receivedAt,
});

export async function listAlerts(db: Db, input: { topologyId?: string; limit: number }): Promise<{ firing: AlertDto[]; history: AlertDto[] }> {
  const where = input.topologyId ? { topologyId: input.topologyId } : {};
  const [firing, history] = await Promise.all([
    db.alert.findMany({ where: { ...where, status: "firing" }, orderBy: { startsAt: "desc" }, take: input.limit }),
    db.alert.findMany({ where: { ...where, status: "resolved" }, orderBy: { startsAt: "desc" }, take: input.limit }),
  ]);
  return { firing: firing.map(toDto), history: history.map(toDto) };
}
