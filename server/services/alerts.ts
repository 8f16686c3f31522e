// Alerts as Alertmanager delivers them (POST /api/alertmanager, the embedded one's
// token): one row per firing of an alert, resolved when Alertmanager says so. The
// console's Monitoring pages list the firing ones and the history.
import type { Db } from "../db";
import type { AlertDto, AlertmanagerWebhook, SilenceDto } from "../schemas/monitoring";
import { ServiceError } from "./errors";

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

// ---- Silences, kept by Alertmanager itself (its API v2): an alert silenced there sends no
// notification, to Rampart or to the operator's webhooks, until the silence ends.

const amFetch = async (url: string | undefined, pathname: string, init: RequestInit = {}) => {
  if (!url) throw new ServiceError("UNAVAILABLE", "No Alertmanager is configured (ALERTMANAGER_URL)");
  let res: Response;
  try {
    res = await fetch(new URL(pathname, url), { ...init, signal: AbortSignal.timeout(10_000), headers: { "content-type": "application/json", ...init.headers } });
  } catch (err) {
    throw new ServiceError("UNAVAILABLE", `Alertmanager at ${url} did not answer (${(err as Error).message})`);
  }
  if (!res.ok) throw new ServiceError("UNAVAILABLE", `Alertmanager refused: HTTP ${res.status} ${(await res.text()).trim().slice(0, 200)}`);
  return res;
};

/** Silences an alert (its rule on its server and topology) for a while. */
export async function silenceAlert(db: Db, alertmanagerUrl: string | undefined, caller: { name: string }, input: { alertId: string; durationS: number; comment: string }): Promise<SilenceDto> {
  const a = await db.alert.findUnique({ where: { id: input.alertId } });
  if (!a) throw new ServiceError("NOT_FOUND", `No alert with id ${input.alertId}`, "alertId");
  const labels = JSON.parse(a.labels) as Record<string, string>;
  const matchers = ["alertname", "server_id", "topology_id"].filter((k) => labels[k]).map((name) => ({ name, value: labels[name]!, isRegex: false, isEqual: true }));
  const startsAt = new Date();
  const endsAt = new Date(startsAt.getTime() + input.durationS * 1000);
  const comment = input.comment || `Silenced from Rampart: ${a.summary || a.name}`;
  const res = await amFetch(alertmanagerUrl, "/api/v2/silences", { method: "POST", body: JSON.stringify({ matchers, startsAt, endsAt, createdBy: caller.name, comment }) });
  const { silenceID } = (await res.json()) as { silenceID: string };
  return { id: silenceID, matchers: matchers.map(({ name, value }) => ({ name, value })), startsAt, endsAt, createdBy: caller.name, comment };
}

/** The silences in force. */
export async function listSilences(alertmanagerUrl: string | undefined): Promise<SilenceDto[]> {
  if (!alertmanagerUrl) return [];
  const res = await amFetch(alertmanagerUrl, "/api/v2/silences");
  const all = (await res.json()) as Array<{
    id: string;
    status: { state: string };
    matchers: Array<{ name: string; value: string }>;
    startsAt: string;
    endsAt: string;
    createdBy: string;
    comment: string;
  }>;
  return all
    .filter((s) => s.status.state === "active")
    .map((s) => ({
      id: s.id,
      matchers: s.matchers.map(({ name, value }) => ({ name, value })),
      startsAt: new Date(s.startsAt),
      endsAt: new Date(s.endsAt),
      createdBy: s.createdBy,
      comment: s.comment,
    }))
    .sort((a, b) => a.endsAt.getTime() - b.endsAt.getTime());
}

/** Ends a silence now. */
export async function expireSilence(alertmanagerUrl: string | undefined, id: string): Promise<void> {
  if (!/^[0-9a-f-]{1,64}$/i.test(id)) throw new ServiceError("BAD_REQUEST", "Not a silence id", "id");
  await amFetch(alertmanagerUrl, `/api/v2/silence/${id}`, { method: "DELETE" });
}
