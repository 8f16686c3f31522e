// The seed in one flow: three fresh lab hosts (lab6–lab8), "New site" in the console, the
// three servers picked, the generated plan reviewed and applied, and the site answering over
// HTTPS through the load balancer, from the app on a web server, with the database replicating.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test, expect, signIn, recordMutation } from "./support/fixtures";
import { ADMIN } from "./support/accounts";
import { ensureLab, labSsh } from "./lab/fixture";
import { applyThisPlan } from "./support/apply";
import { FRESH_HOST_COMMAND } from "../tests/support/fresh-host";

test.setTimeout(900_000);

const SITE = "seed.foobar.test";
const baseURL = () => `http://localhost:${process.env.E2E_PORT || 3210}`;
type Page = import("@playwright/test").Page;

async function api<T>(page: Page, proc: string, input?: unknown, mutation = false): Promise<T> {
  const res = mutation
    ? await page.request.post(`/api/trpc/${proc}`, { headers: { "x-rampart-csrf": "1", origin: baseURL() }, data: { json: input } })
    : await page.request.get(`/api/trpc/${proc}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`);
  if (mutation) recordMutation(proc);
  expect(res.status(), await res.text()).toBe(200);
  return (await res.json()).result.data.json as T;
}

test.beforeEach(async ({ context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
});

test("New site builds the seed's three-server site on fresh hosts from the console, and it answers over HTTPS through the load balancer", async ({ page }) => {
  const lab = await ensureLab(8);
  const hosts = lab.hosts.slice(5, 8);
  for (const h of hosts) await labSsh(h.name, FRESH_HOST_COMMAND);
  // The three servers are registered with their host keys pinned from the lab's record (adding
  // servers in the console is servers.spec.ts's part).
  const keys = await api<Array<{ id: string; name: string }>>(page, "sshKeys.list");
  const existing = await api<Array<{ id: string; name: string }>>(page, "servers.list");
  for (const h of hosts) {
    const server =
      existing.find((s) => s.name === h.name) ??
      (await api<{ id: string }>(page, "servers.create", { name: h.name, address: h.address, port: 22, user: "root", sshKeyId: keys.find((k) => k.name === "lab")!.id, labels: [] }, true));
    await api(page, "servers.pinHostKey", { id: server.id, knownHostsLine: `${h.address} ${h.hostKey}` }, true);
  }

  await page.goto("/topology");
  await page.getByRole("link", { name: "New site" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "New site" })).toBeVisible();
  await page.getByLabel("Site name").fill(SITE);
  const pick = (n: 1 | 2 | 3) => page.getByLabel(new RegExp(`^Server ${n}:`));
  await pick(1).selectOption({ label: `lab6 (${hosts[0]!.address})` });
  await pick(2).selectOption({ label: `lab6 (${hosts[0]!.address})` });
  await pick(3).selectOption({ label: `lab8 (${hosts[2]!.address})` });
  await page.getByRole("button", { name: "Create the site and plan it" }).click();
  // The same server twice is refused under its field, and nothing is created.
  await expect(page.getByText("choose three different servers: each has its own part")).toBeVisible();
  expect((await api<Array<{ name: string }>>(page, "topologies.list")).some((t) => t.name === SITE)).toBe(false);
  await pick(2).selectOption({ label: `lab7 (${hosts[1]!.address})` });
  await page.getByRole("button", { name: "Create the site and plan it" }).click();

  // The topology's page opens on its plan being made: the seed's layout, planned on three hosts.
  await expect(page.getByRole("heading", { level: 1, name: SITE })).toBeVisible({ timeout: 30_000 });
  const diagram = page.getByRole("figure", { name: "Topology diagram" });
  await expect(diagram.locator('[data-testid="diagram-node"][data-role="load-balancer"]')).toHaveAttribute("data-server", "lab6");
  await expect(diagram.locator('[data-testid="diagram-node"][data-role="web"]')).toHaveCount(2);
  await expect(diagram.locator('[data-testid="diagram-node"][data-role="app"]')).toHaveCount(2);
  const planRun = page.getByTestId("plan-run");
  const counts = planRun.getByTestId("plan-counts");
  await expect(counts).toHaveText(/^\d+ changes on 3 hosts/, { timeout: 180_000 });
  for (const step of ["install haproxy", "install nginx", "install mariadb-server", "install prometheus-node-exporter"])
    await expect(planRun.getByTestId("plan-step").filter({ hasText: step }).first()).toBeVisible();
  await applyThisPlan(page, `${await counts.textContent()}.`);
  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 600_000 });

  // HTTPS through the load balancer with the internal CA's certificate: the app answers from a
  // web server, and each of the two serves in turn.
  const ca = await page.request.get("/api/v1/certificates/ca");
  const caFile = path.join(process.env.E2E_DATA_DIR!, "rampart-ca-seed.pem");
  writeFileSync(caFile, ((await ca.json()) as { certPem: string }).certPem);
  const viaLb = () => execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", caFile, "--resolve", `${SITE}:443:${hosts[0]!.address}`, `https://${SITE}/`], { encoding: "utf8" });
  await expect.poll(viaLb, { timeout: 30_000 }).toMatch(/app on lab[78], through web server lab[78]/);
  const served = new Set(Array.from({ length: 4 }, () => /through web server (lab\d)/.exec(viaLb())?.[1]));
  expect(served).toEqual(new Set(["lab7", "lab8"]));

  // The rest of the seed, from outside Rampart's files: the replica replicates over TLS from the
  // primary, and every server has its firewall table and its node exporter.
  const slave = (await labSsh("lab8", ["mariadb", "-e", "SHOW SLAVE STATUS\\G"])).stdout;
  expect(slave).toMatch(/Slave_IO_Running: Yes/);
  expect(slave).toMatch(/Slave_SQL_Running: Yes/);
  expect(slave).toContain(`Master_Host: ${hosts[1]!.address}`);
  for (const h of hosts) {
    expect((await labSsh(h.name, ["nft", "list", "table", "inet", "rampart"])).stdout).toContain("policy drop");
    expect((await labSsh(h.name, ["systemctl", "is-active", "prometheus-node-exporter"])).stdout.trim()).toBe("active");
  }
});
