// The engine through the console, the way an operator uses it, on three lab hosts
// onboarded by servers.spec.ts (their nginx/HAProxy removed first, so they start
// fresh): create the topology (with a validation error on the way), read the
// plan, apply it and watch the output and per-host progress live, check with
// curl over HTTPS that HAProxy alternates between the web servers, and see a
// second apply plan no changes.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test, expect, signIn } from "./support/fixtures";
import { ADMIN } from "./support/accounts";
import { applyThisPlan, planOnPage } from "./support/apply";
import { ensureLab, labSsh, type LabInfo } from "./lab/fixture";
import { FRESH_HOST_COMMAND } from "../tests/support/fresh-host";

test.describe.configure({ mode: "serial" });
test.setTimeout(300_000);

let lab: LabInfo;

test.beforeAll(async () => {
  lab = await ensureLab(4);
  for (const h of lab.hosts.slice(0, 3)) await labSsh(h.name, FRESH_HOST_COMMAND);
});

test.beforeEach(async ({ context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
});

let caFile = "";
/** HTTPS through the load balancer, trusting only Rampart's CA (it issued the site's certificate). */
const servedBy = (address: string) => {
  const body = execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", caFile, "--resolve", `www.foobar.test:443:${address}`, "https://www.foobar.test/"], { encoding: "utf8" });
  return /Served by (\S+)<\/p>/.exec(body)?.[1] ?? `unexpected page: ${body.slice(0, 60)}`;
};

test("create a topology, read its plan, apply it live, and curl through the load balancer", async ({ page }) => {
  await page.goto("/topology");
  await page.getByRole("link", { name: "New topology" }).click();
  await page.getByLabel("Site name").fill("www.foobar.test");
  await page.getByLabel("load-balancer on lab1", { exact: true }).check();
  await page.getByRole("button", { name: "Create topology" }).click();
  // Validation names the problem next to the row, and nothing is created.
  await expect(page.getByText("the load balancer needs at least one web server behind it")).toBeVisible();
  await page.getByLabel("web on lab2", { exact: true }).check();
  await page.getByLabel("web on lab3", { exact: true }).check();
  await page.getByRole("button", { name: "Create topology" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "www.foobar.test" })).toBeVisible();

  // The diagram draws every server in its tier.
  const diagram = page.getByRole("figure", { name: "Topology diagram" });
  await expect(diagram.locator('[data-testid="diagram-node"][data-role="load-balancer"]')).toHaveAttribute("data-server", "lab1");
  await expect(diagram.locator('[data-testid="diagram-node"][data-role="web"]')).toHaveCount(2);

  // The plan, before anything changes.
  await page.getByRole("button", { name: "Plan", exact: true }).click();
  const planRun = page.getByTestId("plan-run");
  await expect(planRun.getByTestId("plan-summary")).toHaveText(/changes on 3 hosts/, { timeout: 60_000 });
  // Counts first; a step both web servers take is listed once, with both.
  await expect(planRun.getByTestId("plan-counts-actions")).toContainText("install");
  await expect(planRun.getByTestId("shared-steps").getByTestId("plan-step").filter({ hasText: "install nginx" })).toHaveAttribute("data-hosts", "lab2,lab3");
  // A file's diff is closed, with its size; opened, its lines.
  const confStep = planRun.getByTestId("plan-step").filter({ hasText: "create /etc/nginx/conf.d/rampart-site.conf" }).first();
  await expect(confStep.getByTestId("plan-diff")).toHaveCount(0);
  await confStep.getByTestId("plan-diff-toggle").locator("summary").click();
  await expect(confStep.getByTestId("plan-diff").filter({ hasText: "+    listen 443 ssl http2 default_server;" })).toHaveCount(1);
  expect((await labSsh("lab2", ["sh", "-c", "command -v nginx || echo none"])).stdout.trim()).toBe("none");

  // Apply this plan, confirmed with its counts: the run page streams output and per-host progress live.
  const counts = (await planRun.getByTestId("plan-counts").textContent())!;
  expect(counts).toMatch(/^\d+ changes on 3 hosts/);
  await applyThisPlan(page, `${counts}.`);
  const lab2Progress = page.getByRole("progressbar", { name: "lab2 progress" });
  await expect(lab2Progress).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("run-status")).toHaveText("running");
  // apt's own output, streamed while the run is still going.
  await expect(
    page
      .getByRole("log", { name: "Run events" })
      .getByText(/Setting up nginx/)
      .first(),
  ).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 240_000 });
  await expect(page.getByTestId("run-outcome")).toContainText("every host matches the topology and passes its checks");
  const max = await lab2Progress.getAttribute("aria-valuemax");
  await expect(lab2Progress).toHaveAttribute("aria-valuenow", max!);

  // HAProxy balances across the web servers (checked with curl, not Rampart's database),
  // over HTTPS with the internal CA's certificate, as the console hands it out.
  const ca = await page.request.get("/api/v1/certificates/ca");
  expect(ca.status()).toBe(200);
  caFile = path.join(process.env.E2E_DATA_DIR!, "rampart-ca.pem");
  writeFileSync(caFile, ((await ca.json()) as { certPem: string }).certPem);
  const lb = lab.hosts[0]!.address;
  await expect.poll(() => servedBy(lb), { timeout: 20_000 }).toMatch(/^lab[23]$/);
  const names = Array.from({ length: 6 }, () => servedBy(lb));
  expect(new Set(names)).toEqual(new Set(["lab2", "lab3"]));
  for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]);
});

test("a plan made stale by a hand edit is refused with the reason, changing nothing; planned again and applied, nothing is left to change", async ({ page }) => {
  const conf = "/etc/nginx/conf.d/rampart-site.conf";
  await page.goto("/topology");
  await page.getByRole("link", { name: "www.foobar.test" }).click();
  await expect(page.getByTestId("drift-status")).toHaveText("in sync");
  expect(await planOnPage(page)).toBe("0 changes on 0 hosts");
  await expect(page.getByTestId("plan-run").getByTestId("plan-summary")).toHaveText("No changes");

  // Someone edits nginx's configuration on lab2 by hand after the plan was reviewed.
  await labSsh("lab2", ["sh", "-c", `echo '# edited by hand' >> ${conf}`]);
  await applyThisPlan(page, "No changes: the apply verifies every host with its checks.");
  await expect(page.getByTestId("run-status")).toHaveText("failed", { timeout: 60_000 });
  await expect(page.getByTestId("run-outcome")).toContainText("nothing was changed: the hosts changed since the plan you reviewed");
  await expect(page.getByTestId("run-outcome")).toContainText(`lab2: update file ${conf} was not in the plan`);
  expect((await labSsh("lab2", ["tail", "-n", "1", conf])).stdout.trim()).toBe("# edited by hand");

  // Planned again, the change shows; applied as reviewed, the hand edit is gone.
  await page.goto("/topology");
  await page.getByRole("link", { name: "www.foobar.test" }).click();
  expect(await planOnPage(page)).toMatch(/^\d+ changes? on 1 host/);
  const edited = page
    .getByRole("region", { name: "Plan for lab2" })
    .first()
    .getByTestId("plan-step")
    .filter({ hasText: `update ${conf}` })
    .first();
  await edited.getByTestId("plan-diff-toggle").locator("summary").click();
  await expect(edited.getByTestId("plan-diff").filter({ hasText: "-# edited by hand" })).toHaveCount(1);
  await applyThisPlan(page);
  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 120_000 });
  expect((await labSsh("lab2", ["grep", "-c", "edited by hand", conf], { check: false })).stdout.trim()).toBe("0");

  await page.goto("/topology");
  await page.getByRole("link", { name: "www.foobar.test" }).click();
  expect(await planOnPage(page)).toBe("0 changes on 0 hosts");
});
