// Alertmanager's webhook into Rampart: the embedded Alertmanager delivers every alert
// (and its resolution) here with its own token (DATA_DIR/prometheus/alertmanager-token).
import { db } from "@/server/db";
import { AlertmanagerWebhook } from "@/server/schemas/monitoring";
import { ingestAlerts } from "@/server/services/alerts";
import { isPrometheusToken } from "@/server/services/metrics";

export const dynamic = "force-dynamic";

const text = (body: string, status: number) => new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

export async function POST(req: Request): Promise<Response> {
  if (!isPrometheusToken(req.headers.get("authorization"), "alertmanager-token")) return text("Only the Alertmanager Rampart runs may deliver alerts here", 401);
  let body: unknown;
  try {
    body = await req.json();
  } catch {
    return text("The body is not JSON", 400);
  }
  const parsed = AlertmanagerWebhook.safeParse(body);
  if (!parsed.success) return text(`Not an Alertmanager webhook: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`, 400);
  const r = await ingestAlerts(await db(), parsed.data);
  return text(`${r.firing} firing, ${r.resolved} resolved`, 200);
}
