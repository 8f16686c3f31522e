// The Monitoring page of the site the earlier specs applied (www.foobar.test on lab1–lab3)
// and gave an ACME certificate (acme.spec.ts), with npm start's embedded Prometheus
// scraping the servers: every exporter reads up, the QPS chart of the load balancer has a
// line for lab1, and it marks the applies and the certificate's issue at their times.
// Then nginx stops on lab3: the alert shows in the console and reaches the operator's
// webhook (global-setup.ts points ALERT_WEBHOOK_URLS at this spec), and clears.
import { test, expect, signIn } from "./support/fixtures";
import { ADMIN, VIEWER } from "./support/accounts";
import { listenForAlerts } from "./support/alert-hook";
import { ensureLab, labSsh } from "./lab/fixture";
import { fixedRateLoad } from "./support/fixed-rate";

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

  // The topology diagram, coloured by each server's health: every exporter answers, no alert fires.
  for (const server of ["lab1", "lab2", "lab3"]) await expect(page.locator(`[data-testid="diagram-node"][data-server="${server}"]`).first()).toHaveAttribute("data-health", "healthy");

  // A web server's own page: its charts only (its QPS, CPU, memory, disk, load).
  await page.getByTestId("server-health").filter({ hasText: "lab2" }).getByRole("link", { name: "lab2" }).click();
  await expect(page.getByRole("heading", { name: "lab2", level: 1 })).toBeVisible();
  const own = page.getByTestId("server-monitoring");
  await expect(own.locator('[data-chart="web-qps"]').getByTestId("chart-series").filter({ hasText: "lab2" })).toBeVisible({ timeout: 30_000 });
  expect(await own.getByTestId("chart").evaluateAll((els) => els.map((e) => e.getAttribute("data-chart")))).toEqual(["web-qps", "cpu", "memory", "disk", "load"]);
  await expect(own.locator('[data-exporter="nginx"]')).toHaveAttribute("data-up", "true");
});

test("under a fixed-rate load through the load balancer, the console's QPS for it is within 10 % of the rate", async ({ page }) => {
  const lab = await ensureLab(4);
  await page.goto("/monitoring");
  await page.getByRole("link", { name: new RegExp(SITE.replace(/\./g, "\\.")) }).click();
  await expect(page.getByRole("heading", { name: `Monitoring · ${SITE}` })).toBeVisible();
  const load = fixedRateLoad({ address: lab.hosts[0]!.address, name: SITE, rate: 40 });
  try {
    // The chart's last point is a rate over the minute before it: let a whole minute (and its scrapes) lie inside the load.
    await page.waitForTimeout(80_000);
    await page.reload();
    const last = async (chart: string) =>
      Object.fromEntries(
        await page
          .locator(`[data-chart="${chart}"] [data-testid="chart-series"]`)
          .evaluateAll((els) => els.map((e) => [e.getAttribute("data-name")!, Number(e.getAttribute("data-last"))] as [string, number])),
      ) as Record<string, number>;
    await expect(page.locator('[data-chart="lb-qps"]').getByTestId("chart-series").filter({ hasText: "lab1" })).toBeVisible();
    const lb = await last("lb-qps");
    const web = await last("web-qps");
    const measured = load.measured();
    const webSum = Object.values(web).reduce((a, b) => a + b, 0);
    console.log(
      `load ${measured.toFixed(2)} req/s (${load.counts.failed} failed); the console: load balancer ${lb.lab1?.toFixed(2)}, web servers ${JSON.stringify(web)} (sum ${webSum.toFixed(2)}, with the load balancer's health checks)`,
    );
    expect(load.counts.failed).toBe(0);
    expect(Math.abs(lb.lab1! - measured) / measured).toBeLessThan(0.1);
    // Each web server's count also holds the load balancer's health checks and the exporter's scrapes (about 3 % here).
    expect(Math.abs(webSum - measured) / measured).toBeLessThan(0.1);
  } finally {
    load.stop();
  }
});

test("alert rules: a viewer reads them; an admin's threshold is refused out of bounds, then saved and run by Prometheus", async ({ page, context }) => {
  await page.goto("/monitoring");
  const disk = page.getByTestId("alert-rule").and(page.locator('[data-rule="DiskAlmostFull"]'));
  await expect(disk.getByLabel("DiskAlmostFull: Free below (%)")).toHaveValue("10");
  await expect(disk.getByLabel("DiskAlmostFull: Free below (%)")).toBeDisabled();
  await expect(disk.getByRole("button", { name: "Save" })).toHaveCount(0);

  await signIn(context, ADMIN.email, ADMIN.password);
  await page.reload();
  const threshold = disk.getByLabel("DiskAlmostFull: Free below (%)");
  await threshold.fill("150");
  await disk.getByRole("button", { name: "Save" }).click();
  await expect(disk.getByRole("alert")).toContainText("Threshold: must be between 1 and 99 %");
  await threshold.fill("20");
  await disk.getByLabel("DiskAlmostFull: for (seconds)").fill("120");
  await disk.getByRole("button", { name: "Save" }).click();
  await expect(disk).toContainText(`changed by`);
  // The worker writes the rules file and reloads the embedded Prometheus (every 10 s).
  const prometheus = `http://127.0.0.1:${process.env.PROMETHEUS_PORT || 9390}`;
  const ruleInPrometheus = async () => {
    const body = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; query: string; duration: number }> }> } };
    const r = body.data.groups.flatMap((g) => g.rules).find((x) => x.name === "DiskAlmostFull");
    return r ? `${r.query} for ${r.duration}` : "absent";
  };
  await expect.poll(ruleInPrometheus, { timeout: 30_000 }).toMatch(/< 0\.2 for 120$/);
  // Back to the defaults, for whoever comes next.
  await threshold.fill("10");
  await disk.getByLabel("DiskAlmostFull: for (seconds)").fill("300");
  await disk.getByRole("button", { name: "Save" }).click();
  await expect.poll(ruleInPrometheus, { timeout: 30_000 }).toMatch(/< 0\.1 for 300$/);
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
    // The diagram shows lab3 down, and why.
    const node = page.locator('[data-testid="diagram-node"][data-server="lab3"]').first();
    await expect(node).toHaveAttribute("data-health", "down", { timeout: 20_000 });
    await expect(node.getByTestId("node-state")).toContainText("nginx exporter down");

    // An operator silences it from the console: Alertmanager holds the silence; ended early, it is gone.
    await signIn(page.context(), ADMIN.email, ADMIN.password);
    await page.reload();
    const firing = alert.and(page.locator('[data-status="firing"]')).first();
    await firing.getByRole("button", { name: "Silence…" }).click();
    await page.getByRole("dialog").getByRole("combobox").selectOption({ label: "4 hours" });
    await page.getByRole("dialog").getByRole("button", { name: "Silence for 4 hours" }).click();
    const silence = page.getByTestId("silence").filter({ hasText: "alertname=WebServerDown" });
    await expect(silence).toBeVisible();
    await expect(silence).toContainText(`by ${ADMIN.email}`);
    const held = (await trpcGet(page, "monitoring.silences", undefined)) as Array<{ id: string; matchers: Array<{ name: string; value: string }>; endsAt: string }>;
    const mine = held.find((x) => x.matchers.some((m) => m.name === "alertname" && m.value === "WebServerDown"));
    expect(mine).toBeDefined();
    expect(Math.round((Date.parse(mine!.endsAt) - Date.now()) / 3600_000)).toBe(4);
    await silence.getByRole("button", { name: "End now" }).click();
    await expect(silence).toHaveCount(0);
    expect(((await trpcGet(page, "monitoring.silences", undefined)) as unknown[]).length).toBe(held.length - 1);

    // The Overview shows it too, with the topology it belongs to.
    await page.goto("/");
    await expect(page.getByTestId("overview-alerts")).toContainText("nginx on lab3 does not answer");
    await expect(page.locator(`[data-testid="overview-topology"][data-name="${SITE}"]`)).toContainText("1 firing");
    await page.goBack();

    await labSsh(lab.hosts[2]!.name, ["systemctl", "start", "nginx"]);
    await expect(alert.and(page.locator('[data-status="resolved"]')).first()).toBeVisible({ timeout: 90_000 });
    await expect.poll(() => hook.alerts.some((a) => a.status === "resolved" && a.labels.server === "lab3"), { timeout: 30_000 }).toBe(true);
  } finally {
    await labSsh(lab.hosts[2]!.name, ["systemctl", "start", "nginx"]);
    await hook.close();
  }
});
