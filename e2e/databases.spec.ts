// The Databases page: a topology of its own on lab4 (MariaDB primary) and lab5 (replica),
// created and applied through the API, then in the browser: the replication diagram and
// table as the worker reads them, and a promotion from the console (Promote… → the run's
// preview → Confirm → its journal), after which the page shows lab5 as the primary and
// lab4 replicating from it.
import { test, expect, signIn, recordMutation } from "./support/fixtures";
import { ADMIN } from "./support/accounts";
import { ensureLab, labSsh } from "./lab/fixture";
import { FRESH_HOST_COMMAND } from "../tests/support/fresh-host";

test.setTimeout(600_000);

const SITE = "db.foobar.test";
const baseURL = () => `http://localhost:${process.env.E2E_PORT || 3210}`;
type Page = import("@playwright/test").Page;

async function mutate<T>(page: Page, proc: string, input: unknown): Promise<T> {
  const res = await page.request.post(`/api/trpc/${proc}`, { headers: { "x-rampart-csrf": "1", origin: baseURL() }, data: { json: input } });
  recordMutation(proc);
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).result.data.json as T;
}
async function query<T>(page: Page, proc: string, input: unknown): Promise<T> {
  const res = await page.request.get(`/api/trpc/${proc}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).result.data.json as T;
}

test.beforeEach(async ({ context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
});

test("the Databases page shows the primary and its replica live, and promotes the replica from the console through a confirmed preview", async ({ page }) => {
  const lab = await ensureLab(5);
  const [h4, h5] = [lab.hosts[3]!, lab.hosts[4]!];
  for (const h of [h4, h5]) await labSsh(h.name, FRESH_HOST_COMMAND);
  // lab4 was added by servers.spec.ts; lab5 joins here, its host key pinned from the lab's record.
  const servers = await query<Array<{ id: string; name: string }>>(page, "servers.list", undefined);
  const keys = await query<Array<{ id: string; name: string }>>(page, "sshKeys.list", undefined);
  const lab4 = servers.find((s) => s.name === "lab4")!;
  const lab5 =
    servers.find((s) => s.name === "lab5") ??
    (await mutate<{ id: string }>(page, "servers.create", { name: "lab5", address: h5.address, port: 22, user: "root", sshKeyId: keys.find((k) => k.name === "lab")!.id, labels: [] }));
  await mutate(page, "servers.pinHostKey", { id: lab5.id, knownHostsLine: `${h5.address} ${h5.hostKey}` });
  const topology = await mutate<{ id: string }>(page, "topologies.create", {
    name: SITE,
    members: [
      { serverId: lab4.id, roles: ["db-primary"], monitoring: true },
      { serverId: lab5.id, roles: ["db-replica"], monitoring: true },
    ],
  });
  const apply = await mutate<{ id: string }>(page, "topologies.startApply", { id: topology.id, unreviewed: true });
  await expect.poll(async () => (await query<{ status: string }>(page, "runs.get", { id: apply.id })).status, { timeout: 300_000, intervals: [2000] }).toBe("succeeded");

  // Prometheus scrapes the mysqld exporters (Rampart's client certificate): up, and the replica's lag charted.
  await page.goto(`/monitoring/${topology.id}`);
  for (const server of ["lab4", "lab5"])
    await expect(page.locator(`[data-testid="server-health"][data-server="${server}"] [data-exporter="mysqld"]`)).toHaveAttribute("data-up", "true", { timeout: 90_000 });
  await expect(page.locator('[data-chart="replica-lag"]').getByTestId("chart-series").filter({ hasText: "lab5" })).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('[data-chart="replica-lag"] [data-testid="chart-series"][data-name="lab5"]')).toHaveAttribute("data-last", /^[0-4]$/);

  await page.goto("/databases");
  await page.getByRole("link", { name: new RegExp(SITE.replace(/\./g, "\\.")) }).click();
  await expect(page.getByRole("heading", { name: `Databases · ${SITE}` })).toBeVisible();
  const row = (name: string) => page.getByTestId("database-servers").locator(`tr[data-server="${name}"]`);
  // The worker reads the servers every 5 s; the page refreshes as often.
  await expect(row("lab5")).toContainText(/replicating, \d+ s behind/, { timeout: 30_000 });
  await expect(row("lab5")).toContainText("Yes / Yes · TLS");
  await expect(row("lab4")).toContainText("writable");
  await expect(page.getByTestId("replication-diagram").getByTestId("db-lab4")).toContainText("primary");

  // Promote lab5: the dialog, then the run's preview, confirmed on the run's page.
  await row("lab5").getByRole("button", { name: "Promote…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Compute the preview" }).click();
  await expect(page).toHaveURL(/\/runs\/[a-z0-9]+$/);
  await expect(page.getByTestId("preview-summary")).toContainText("will fence lab4 (read-only, the app's accounts locked), let lab5 apply everything", { timeout: 60_000 });
  await page.getByTestId("confirm-run").click();
  await expect(page.getByTestId("run-status")).toHaveAttribute("data-status", "succeeded", { timeout: 300_000 });
  for (const phase of ["fence old primary", "catch up", "change roles", "promote", "repoint replicas", "switch app", "converge"])
    await expect(page.locator(`[data-testid="run-phase"][data-phase="${phase}"]`)).toHaveAttribute("data-status", "done");

  await page.goto(`/databases/${topology.id}`);
  await expect(row("lab5")).toContainText("primary");
  await expect(row("lab5")).toContainText("writable", { timeout: 30_000 });
  await expect(row("lab4")).toContainText(/replicating, \d+ s behind/, { timeout: 30_000 });
  await expect(page.getByTestId("replication-diagram").getByTestId("db-lab5")).toContainText("primary");
});
