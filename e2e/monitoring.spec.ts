// The Monitoring page of the site the earlier specs applied (www.foobar.test on lab1–lab3)
// and gave an ACME certificate (acme.spec.ts), with npm start's embedded Prometheus
// scraping the servers: every exporter reads up, the QPS chart of the load balancer has a
// line for lab1, and it marks the applies and the certificate's issue at their times.
// Then nginx stops on lab3: the alert shows in the console and reaches the operator's
// webhook (global-setup.ts points ALERT_WEBHOOK_URLS at this spec), and clears.
import { test, expect, signIn } from "./support/fixtures";
import { VIEWER } from "./support/accounts";
import { listenForAlerts } from "./support/alert-hook";
import { ensureLab, labSsh } from "./lab/fixture";

test.setTimeout(180_000);

const SITE = "www.foobar.test";

test.beforeEach(async ({ context }) => {
  await signIn(context, VIEWER.email, VIEWER.password);
});

const trpcGet = async (page: import("@playwright/test").Page, proc: string, input: unknown) => {
  const res = await page.request.get(`/api/trpc/${proc}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).result.data.json;
};

test("a topology's Monitoring page: exporters up, QPS per load balancer, apply and renewal markers at their times", async ({ page }) => {
  await page.goto("/monitoring");
  await page.getByRole("link", { name: new RegExp(SITE.replace(/\./g, "\\.")) }).click();
  await expect(page).toHaveURL(/\/monitoring\/[a-z0-9]+$/);
  await expect(page.getByRole("heading", { name: `Monitoring · ${SITE}` })).toBeVisible();
  const topologyId = page.url().split("/").pop()!;

  // Prometheus scrapes every 15 s; the page refreshes as often.
  const exporter = (server: string, name: string) =>
    page
      .getByTestId("server-health")
      .filter({ has: page.locator(`text=${server}`) })
      .locator(`[data-exporter="${name}"]`);
  for (const [server, names] of [
    ["lab1", ["node", "haproxy"]],
    ["lab2", ["node", "nginx"]],
    ["lab3", ["node", "nginx"]],
  ] as const)
    for (const name of names) await expect(exporter(server, name)).toHaveAttribute("data-up", "true", { timeout: 90_000 });

  const qps = page.locator('[data-chart="lb-qps"]');
  await expect(qps.getByTestId("chart-series").filter({ hasText: "lab1" })).toBeVisible({ timeout: 60_000 });
  await expect(qps.locator("canvas").first()).toBeVisible();
  // Days left on the site's certificate, from Rampart's own metrics (which Prometheus scrapes too).
  await expect(page.locator('[data-chart="certificates"]').getByTestId("chart-series").filter({ hasText: "site" })).toBeVisible({ timeout: 60_000 });

  // The markers: each apply of the last hour where it ended, the ACME certificate where it was issued.
  const runs = (await trpcGet(page, "runs.list", { topologyId, kind: "topology-apply", limit: 50 })) as { items: Array<{ finishedAt: string | null }> };
  const applies = runs.items.filter((r) => r.finishedAt && Date.now() - Date.parse(r.finishedAt) < 3600_000).map((r) => new Date(r.finishedAt!).toISOString());
  expect(applies.length).toBeGreaterThan(0);
  const applyMarkers = await qps.locator('[data-testid="chart-marker"][data-kind="apply"]').evaluateAll((els) => els.map((e) => e.getAttribute("data-at")));
  expect(new Set(applyMarkers)).toEqual(new Set(applies));
  const certs = (await trpcGet(page, "certificates.list", undefined)) as { certificates: Array<{ purpose: string; source: string; topologyId: string | null; createdAt: string }> };
  const acme = certs.certificates.find((c) => c.purpose === "site" && c.topologyId === topologyId && c.source === "acme");
  expect(acme).toBeDefined();
  const renewal = qps.locator('[data-testid="chart-marker"][data-kind="renewal"]').filter({ hasText: "site certificate (acme)" });
  await expect(renewal).toHaveCount(1);
  await expect(renewal).toHaveAttribute("data-at", new Date(acme!.createdAt).toISOString());
});

test("stopping nginx on a web server raises an alert within 45 s, in the console and at the operator's webhook; starting it again resolves it", async ({ page }) => {
  const hook = await listenForAlerts();
  const lab = await ensureLab(4);
  try {
    await page.goto("/monitoring");
    await page.getByRole("link", { name: new RegExp(SITE.replace(/\./g, "\\.")) }).click();
    const alert = page.getByTestId("alert").and(page.locator('[data-name="WebServerDown"][data-server="lab3"]'));
    await expect(alert.and(page.locator('[data-status="firing"]'))).toHaveCount(0);
    const stopped = Date.now();
    await labSsh(lab.hosts[2]!.name, ["systemctl", "stop", "nginx"]);
    await expect(alert.and(page.locator('[data-status="firing"]'))).toBeVisible({ timeout: 45_000 });
    const inConsole = (Date.now() - stopped) / 1000;
    await expect
      .poll(() => hook.alerts.some((a) => a.status === "firing" && a.labels.alertname === "WebServerDown" && a.labels.server === "lab3"), { timeout: 45_000 - (Date.now() - stopped) })
      .toBe(true);
    const atHook = (hook.alerts.find((a) => a.status === "firing" && a.labels.server === "lab3")!.receivedAt - stopped) / 1000;
    console.log(`WebServerDown for lab3: in the console after ${inConsole.toFixed(1)} s, at the webhook after ${atHook.toFixed(1)} s`);
    expect(atHook).toBeLessThanOrEqual(45);
    await expect(alert.first()).toContainText("nginx on lab3 does not answer");

    await labSsh(lab.hosts[2]!.name, ["systemctl", "start", "nginx"]);
    await expect(alert.and(page.locator('[data-status="resolved"]')).first()).toBeVisible({ timeout: 90_000 });
    await expect.poll(() => hook.alerts.some((a) => a.status === "resolved" && a.labels.server === "lab3"), { timeout: 30_000 }).toBe(true);
  } finally {
    await labSsh(lab.hosts[2]!.name, ["systemctl", "start", "nginx"]);
    await hook.close();
  }
});
