// The firewall through the console, on the topology topology.spec.ts and
// web-tier.spec.ts applied (firewall on, the default): the reachability matrix
// the console shows agrees, cell by cell, with the test's own TCP connects from
// the root namespace and from inside each host; the rule form puts errors under
// the field, refuses a rule that would lock Rampart out (naming the rule), and a
// saved rule shows in each server's rendered nftables text until it is deleted.
import { test, expect, signIn } from "./support/fixtures";
import { ADMIN } from "./support/accounts";
import { ensureLab } from "./lab/fixture";
import { probeFrom, probeHere } from "../tests/support/reach-probe";

test.describe.configure({ mode: "serial" });
test.setTimeout(180_000);

const SITE = "www.foobar.test";

test.beforeAll(async () => {
  await ensureLab(4);
});

test.beforeEach(async ({ context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
});

test("the console's reachability matrix agrees with the test's own probes", async ({ page }) => {
  await page.goto("/firewall");
  await page.getByRole("link", { name: new RegExp(SITE.replaceAll(".", "\\.")) }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Firewall · ${SITE}` })).toBeVisible();
  const matrix = page.getByTestId("reach-matrix");
  await expect(matrix).toHaveAttribute("data-mismatches", "0");

  const cells = await matrix.getByTestId("reach-cell").evaluateAll((els) =>
    els.map((e) => ({
      from: e.getAttribute("data-from")!,
      to: e.getAttribute("data-to")!,
      address: e.getAttribute("data-address")!,
      port: Number(e.getAttribute("data-port")),
      observed: e.getAttribute("data-observed")!,
    })),
  );
  // Control plane, the load balancer and both web servers, each to every port the topology uses.
  expect(new Set(cells.map((c) => c.from)).size).toBeGreaterThanOrEqual(4);
  expect(cells.filter((c) => c.observed === "open").length).toBeGreaterThan(0);
  expect(cells.filter((c) => c.observed !== "open").length).toBeGreaterThan(0);
  const found: string[] = [];
  const shown: string[] = [];
  for (const c of cells) {
    const seen = c.from.startsWith("lab") ? await probeFrom(c.from, c.address, c.port) : await probeHere(c.address, c.port);
    found.push(`${c.from}→${c.to}:${c.port} ${seen}`);
    shown.push(`${c.from}→${c.to}:${c.port} ${c.observed}`);
  }
  expect(found).toEqual(shown);

  // A server's own page narrows the matrix to it and marks where each rule comes from.
  await page.getByRole("link", { name: "lab1", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Firewall · lab1" })).toBeVisible();
  await expect(page.getByTestId("effective-rule").filter({ hasText: "role default (load balancer)" }).first()).toBeVisible();
  await expect(page.getByTestId("effective-rule").filter({ hasText: "443/tcp" }).first()).toContainText("anywhere");
  const lab1Cells = await page.getByTestId("reach-cell").evaluateAll((els) => els.map((e) => `${e.getAttribute("data-from")}→${e.getAttribute("data-to")}`));
  expect(lab1Cells.length).toBeGreaterThan(0);
  expect(lab1Cells.every((c) => c.includes("lab1"))).toBe(true);
});

test("the rule form: errors under the field, the lockout guard names the rule, a saved rule is rendered until deleted", async ({ page }) => {
  await page.goto("/firewall");
  await page.getByRole("link", { name: new RegExp(SITE.replaceAll(".", "\\.")) }).click();
  await page.getByRole("button", { name: "Add rule" }).click();
  const form = page.getByRole("form", { name: "Add a firewall rule" });

  // Browser-side: the shared schema's messages, under their fields; nothing is sent.
  await form.getByLabel("Rule name").fill("office https");
  await form.getByLabel("Port", { exact: true }).fill("70000");
  await form.getByLabel("From").selectOption("cidr");
  await form.getByLabel("Address or network").fill("203.0.113.7/24");
  await form.getByRole("button", { name: "Add rule" }).click();
  await expect(form.getByText("must be between 1 and 65535")).toBeVisible();
  await expect(form.getByText("203.0.113.7/24 has host bits set: write the network address")).toBeVisible();

  // Server-side: a rule that drops SSH from the control plane is refused, naming it.
  await form.getByLabel("Rule name").fill("no-ssh");
  await form.getByLabel("Action").selectOption("drop");
  await form.getByLabel("Port", { exact: true }).fill("22");
  await form.getByLabel("From").selectOption("control-plane");
  await form.getByRole("button", { name: "Add rule" }).click();
  await expect(form.getByText(/the rule 'no-ssh' drops SSH \(22\/tcp\) from the control plane \(.+\): Rampart would lock itself out of lab\d/)).toBeVisible();
  await expect(page.getByTestId("operator-rule")).toHaveCount(0);

  // A good rule: saved, listed, and in the web servers' rendered rule set (not the LB's).
  await form.getByLabel("Rule name").fill("office-metrics");
  await form.getByLabel("Comment").fill("the office scrapes node metrics");
  await form.getByLabel("Action").selectOption("accept");
  await form.getByLabel("Port", { exact: true }).fill("9100");
  await form.getByLabel("Applies to").selectOption("role");
  await form.getByLabel("Role").selectOption("web");
  await form.getByLabel("From").selectOption("cidr");
  await form.getByLabel("Address or network").fill("203.0.113.0/24");
  await form.getByRole("button", { name: "Add rule" }).click();
  const rule = page.getByTestId("operator-rule").filter({ hasText: "office-metrics" });
  await expect(rule).toContainText("accept in 9100/tcp from 203.0.113.0/24");
  await expect(rule).toContainText("Web servers");
  const rendered = (name: string) => page.getByRole("region", { name: `Firewall of ${name}` }).getByTestId("ruleset");
  await page.getByRole("region", { name: "Firewall of lab2" }).getByText("nftables rule set").click();
  await expect(rendered("lab2")).toContainText("203.0.113.0/24");
  await expect(rendered("lab2")).toContainText("rule: office-metrics");
  await page.getByRole("region", { name: "Firewall of lab1" }).getByText("nftables rule set").click();
  await expect(rendered("lab1")).not.toContainText("office-metrics");

  // Deleting asks first, then the rule leaves the rendered text.
  await page.getByRole("button", { name: "Delete office-metrics" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete rule" }).click();
  await expect(page.getByTestId("operator-rule")).toHaveCount(0);
  await expect(rendered("lab2")).not.toContainText("office-metrics");
});
