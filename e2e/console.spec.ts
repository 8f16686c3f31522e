// The console as an operator uses it, in Debian's Chromium, against Rampart started
// with npm start (see support/global-setup.ts).
import http from "node:http";
import type { Page } from "@playwright/test";
import { test, expect, signIn, recordMutation } from "./support/fixtures";
import { ADMIN } from "./support/accounts";

test.beforeEach(async ({ context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
});

const SECTIONS = ["Servers", "Topology", "Firewall", "Certificates", "Databases", "Monitoring", "Runs", "Settings"];

async function seqsOnPage(page: Page): Promise<number[]> {
  return page.locator("[data-seq]").evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.seq)));
}

test("every section is in the navigation, and empty sections say what will appear there", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of SECTIONS) await expect(nav.getByRole("link", { name })).toBeVisible();

  await nav.getByRole("link", { name: "Servers" }).click();
  await expect(page.getByRole("heading", { name: "No servers yet" })).toBeVisible();
  await expect(page.getByText(/pinned host-key fingerprint/)).toBeVisible();
  await nav.getByRole("link", { name: "Topology" }).click();
  await expect(page.getByRole("heading", { name: "No topology defined yet" })).toBeVisible();
  await nav.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("cell", { name: "DATA_DIR" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Audit log" })).toBeVisible();
});

test("the sidebar shows the database, Redis and a worker as healthy", async ({ page }) => {
  await page.goto("/");
  const health = page.getByRole("list", { name: "System health" });
  await expect(health.getByText("1 worker online")).toBeVisible();
});

test("a system check started from the console streams its events live", async ({ page }) => {
  await page.goto("/runs");
  // 3 s between checks: time enough to see the run going, even on a busy machine.
  await page.getByLabel("Pause between checks").selectOption({ label: "3 s" });
  await page.getByRole("button", { name: "Run system check" }).click();
  await expect(page).toHaveURL(/\/runs\/[a-z0-9]+$/);

  const log = page.getByRole("log", { name: "Run events" });
  // The first check arrives while the run is still going: the later ones are not there yet.
  await expect(log.getByText(/\[1\/4\] Database: OK/)).toBeVisible();
  await expect(page.getByTestId("run-status")).toHaveText("running");
  await expect(log.getByText(/\[4\/4\] Disk space/)).toHaveCount(0);
  await expect(page.getByTestId("stream-state")).toHaveText("● Live");

  // Then the rest, as the worker emits them.
  await expect(log.getByText(/\[2\/4\] Redis: OK/)).toBeVisible();
  await expect(log.getByText(/\[4\/4\] Disk space: OK/)).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("run-status")).toHaveText("succeeded");
  await expect(page.getByTestId("run-outcome")).toHaveText("4 passed, 0 warnings, 0 failed");
  expect(await seqsOnPage(page)).toEqual([1, 2, 3, 4, 5, 6]);

  // The run is listed with its outcome.
  await page.getByRole("link", { name: "Runs" }).first().click();
  await expect(page.getByTestId("run-row").first()).toContainText("succeeded");
});

test("after the connection drops, the run page resumes without gaps or duplicates", async ({ page, context }) => {
  await page.goto("/runs");
  await page.getByLabel("Pause between checks").selectOption({ label: "1 s" });
  await page.getByRole("button", { name: "Run system check" }).click();
  const log = page.getByRole("log", { name: "Run events" });
  await expect(log.getByText(/\[1\/4\] Database/)).toBeVisible();

  await context.setOffline(true);
  // The stream really drops (the page says so) while the worker goes on emitting.
  // (A line already on its way when the connection went may still show.)
  await expect(page.getByTestId("stream-state")).not.toHaveText("● Live", { timeout: 5_000 });
  await page.waitForTimeout(2_000);
  await context.setOffline(false);

  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 30_000 });
  expect(await seqsOnPage(page)).toEqual([1, 2, 3, 4, 5, 6]);
  // The tab says what the page is about.
  await expect(page).toHaveTitle("System check · Run · Rampart");
});

test("an unknown id answers 404 inside the console's layout; the console has a favicon", async ({ page }) => {
  for (const path of ["/runs/nope", "/servers/nope", "/topology/nope", "/monitoring/nope", "/databases/nope", "/firewall/nope", "/firewall/nope/nope"]) {
    const res = await page.goto(path);
    expect(res!.status(), path).toBe(404);
    await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
    await expect(page).toHaveTitle("Not found · Rampart");
  }
  const icon = await page.request.get("/icon.svg");
  expect(icon.status()).toBe(200);
  expect(icon.headers()["content-type"]).toContain("image/svg+xml");
  await page.goto("/");
  await expect(page.locator('link[rel="icon"]')).toHaveAttribute("href", /\/icon\.svg/);
});

test("opening a finished run shows its whole story", async ({ page }) => {
  const res = await page.request.post("/api/trpc/runs.startSystemCheck", {
    headers: { "x-rampart-csrf": "1", origin: `http://localhost:${process.env.E2E_PORT || 3210}` },
    data: { json: { delayBetweenChecksMs: 0 } },
  });
  recordMutation("runs.startSystemCheck");
  expect(res.ok()).toBe(true);
  const id = (await res.json()).result.data.json.id as string;
  await page.waitForTimeout(1_500);
  await page.goto(`/runs/${id}`);
  await expect(page.getByTestId("run-status")).toHaveText("succeeded");
  await expect(page.getByTestId("stream-state")).toHaveText("Run ended");
  expect(await seqsOnPage(page)).toEqual([1, 2, 3, 4, 5, 6]);
});

test("every page runs under the Content-Security-Policy without a violation, and responses carry the security headers", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to (execute|load|apply|connect)/i.test(m.text())) violations.push(m.text());
  });
  const res = await page.goto("/");
  const headers = res!.headers();
  expect(headers["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("same-origin");
  // Next's own scripts carry this response's nonce.
  const nonce = /'nonce-([^']+)'/.exec(headers["content-security-policy"]!)![1]!;
  expect(await page.locator(`script[nonce]`).count()).toBeGreaterThan(0);
  expect(await page.evaluate(() => [...document.scripts].filter((s) => !s.nonce).length)).toBe(0);
  expect(nonce.length).toBeGreaterThanOrEqual(16);
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of SECTIONS) {
    await nav.getByRole("link", { name }).click();
    await expect(page).toHaveURL(new RegExp(`/${name === "Topology" ? "topolog" : name.toLowerCase().slice(0, 5)}`));
  }
  // A page rendered on the client after navigation still works (React ran): the run list loads.
  await nav.getByRole("link", { name: "Runs" }).click();
  await expect(page.getByRole("heading", { name: "Runs", exact: true })).toBeVisible();
  const api = await page.request.get("/api/trpc/system.status");
  expect(api.headers()["x-content-type-options"]).toBe("nosniff");
  expect(violations).toEqual([]);
});

test("a request for another host name is refused (DNS rebinding)", async ({ baseURL }) => {
  const { port } = new URL(baseURL!);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port: Number(port), path: "/", headers: { host: `attacker.example:${port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
  });
  expect(status).toBe(421);
});
