// The operator's webhook in the browser tests: npm start's Alertmanager is told to send
// alerts here (global-setup.ts), and monitoring.spec.ts listens.
import http from "node:http";

export const ALERT_HOOK_PORT = Number(process.env.E2E_ALERT_HOOK_PORT || 3297);

export interface HookAlert {
  status: string;
  labels: Record<string, string>;
  receivedAt: number;
}

export async function listenForAlerts(): Promise<{ alerts: HookAlert[]; close: () => Promise<void> }> {
  const alerts: HookAlert[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      try {
        for (const a of (JSON.parse(body) as { alerts: Array<{ status: string; labels: Record<string, string> }> }).alerts) alerts.push({ status: a.status, labels: a.labels, receivedAt: Date.now() });
      } catch {
        // not JSON: ignored
      }
      res.end("ok");
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(ALERT_HOOK_PORT, "127.0.0.1", () => resolve()));
  return { alerts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
