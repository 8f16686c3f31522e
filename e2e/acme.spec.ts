// A certificate from an ACME CA through the console, on the site the earlier specs
// applied (www.foobar.test, load balancer lab1), with Debian's Pebble as the CA on the
// lab bridge: an admin adds the account (terms read and accepted explicitly), the
// site uses it, an operator orders; the order's run ends with the certificate
// deployed; curl trusting only Pebble's root reaches the app through the load
// balancer; the Certificates page shows the ACME certificate and the fingerprint
// lab1 serves, equal to what openssl sees.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test, expect, signIn } from "./support/fixtures";
import { ADMIN } from "./support/accounts";
import { ensureLab, type LabInfo } from "./lab/fixture";
import { startPebble, type Pebble } from "../tests/support/pebble";

test.describe.configure({ mode: "serial" });
test.setTimeout(300_000);

const SITE = "www.foobar.test";
let lab: LabInfo;
let pebble: Pebble;

test.beforeAll(async () => {
  lab = await ensureLab(4);
  pebble = await startPebble(lab.bridgeAddress);
  await pebble.addA(SITE, lab.hosts[0]!.address);
});

test.afterAll(async () => {
  await pebble?.close();
});

test.beforeEach(async ({ context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
});

test("an admin adds an ACME account: the CA's terms are read and must be accepted", async ({ page }) => {
  await page.goto("/certificates");
  await page.getByRole("button", { name: "Add an ACME account" }).click();
  const form = page.getByRole("form", { name: "Add an ACME account" });
  await form.getByLabel("Name").fill("pebble");
  await form.getByLabel("Certificate authority").selectOption("custom");
  await form.getByLabel("Directory URL").fill(pebble.directoryUrl);
  await form.getByLabel("Contact e-mail").fill("ops@example.test");
  // Without the CA behind Pebble's own HTTPS certificate, Rampart refuses to talk to it.
  await form.getByRole("button", { name: "Read the CA's terms" }).click();
  await expect(form.getByText(/HTTPS certificate is not trusted/)).toBeVisible();
  await form.getByLabel("CA certificate of a private ACME server (optional)").fill(pebble.tlsCaPem);
  await form.getByRole("button", { name: "Read the CA's terms" }).click();
  await expect(form.getByTestId("acme-terms")).toContainText("Do what thou wilt");
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(form.getByText("the CA's terms of service must be accepted to create an account")).toBeVisible();
  await form.getByLabel("I have read and accept the CA's terms of service.").check();
  await form.getByRole("button", { name: "Create account" }).click();
  const row = page.getByTestId("acme-account").filter({ hasText: "pebble" });
  await expect(row).toContainText(pebble.directoryUrl);
  await expect(row).toContainText("private CA");
  await expect(row).toContainText("ops@example.test");
});

test("an ordered certificate is deployed: curl trusting Pebble's root verifies through the load balancer, and the console shows the fingerprint lab1 serves", async ({ page }) => {
  await page.goto("/certificates");
  const site = page.getByRole("region", { name: SITE });
  const settings = site.getByRole("form", { name: `ACME for ${SITE}` });
  await settings.getByLabel("More names (optional)").fill("shop_example!.test");
  await settings.getByRole("button", { name: "Use this account" }).click();
  await expect(settings.getByText(/shop_example!.test: must be a DNS name/)).toBeVisible();
  await settings.getByLabel("More names (optional)").fill("");
  await settings.getByRole("button", { name: "Use this account" }).click();
  await expect(site.getByTestId("site-acme")).toHaveAttribute("data-account", "pebble");

  await site.getByRole("button", { name: "Order certificate" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Order certificate" }).click();
  await expect(page).toHaveURL(/\/runs\/[a-z0-9]+$/);
  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 240_000 });

  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-e2e-pebble-"));
  const root = path.join(dir, "root.pem");
  writeFileSync(root, await pebble.issuingRoot());
  const body = execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", root, "--resolve", `${SITE}:443:${lab.hosts[0]!.address}`, `https://${SITE}/`], { encoding: "utf8" });
  expect(body).toMatch(/app on lab\d/);
  // What lab1 serves, as openssl sees it: s_client's output read by x509 (argument arrays, no shell).
  const handshake = spawnSync("openssl", ["s_client", "-connect", `${lab.hosts[0]!.address}:443`, "-servername", SITE], { input: "", encoding: "utf8" });
  const seen = spawnSync("openssl", ["x509", "-noout", "-fingerprint", "-sha256"], { input: handshake.stdout, encoding: "utf8" });
  const fingerprint = /Fingerprint=([0-9A-F:]+)/i.exec(seen.stdout)![1]!.toUpperCase();

  await page.goto("/certificates");
  const section = page.getByRole("region", { name: SITE });
  await expect(section.getByTestId("site-cert")).toHaveAttribute("data-source", "acme");
  await expect(section.getByTestId("cert-issuer")).toContainText("Pebble");
  const served = section.getByTestId("served-cert").filter({ hasText: "lab1:443" });
  await expect(served).toHaveAttribute("data-matches", "true");
  await expect(served).toHaveAttribute("data-fingerprint", fingerprint);
  await expect(section.getByTestId("acme-last")).toHaveAttribute("data-outcome", "succeeded");
  await expect(section.getByRole("button", { name: "Renew now" })).toBeVisible();
});
