// The web tier through the console, on the topology topology.spec.ts applied:
// upload the site's certificate (bad ones refused with the reason under the
// field), give the web servers the app role, apply, reach the app over HTTPS
// with the uploaded chain's root, see every hop marked, each backend's health as
// HAProxy reports it and what each host serves, and drain a web server.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { test, expect, signIn } from "./support/fixtures";
import { ADMIN } from "./support/accounts";
import { ensureLab, type LabInfo } from "./lab/fixture";
import { applyThisPlan, planOnPage } from "./support/apply";
import { makeChain, type TestChain } from "../tests/support/cert-fixtures";

test.describe.configure({ mode: "serial" });
test.setTimeout(300_000);

const SITE = "www.foobar.test";
let lab: LabInfo;
let chain: TestChain;

test.beforeAll(async () => {
  lab = await ensureLab(4);
  chain = makeChain(SITE);
});

test.beforeEach(async ({ context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
});

const viaLb = () =>
  execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", path.join(chain.dir, "root.pem"), "--resolve", `${SITE}:443:${lab.hosts[0]!.address}`, `https://${SITE}/`], { encoding: "utf8" });

test("a bad site certificate is refused with the reason under the field; a good one is accepted", async ({ page }) => {
  await page.goto("/certificates");
  await expect(page.getByRole("heading", { name: "Internal CA" })).toBeVisible();
  await expect(page.getByTestId("ca-pem")).toContainText("BEGIN CERTIFICATE");
  const site = page.getByRole("region", { name: SITE });
  const upload = site.getByRole("form", { name: `Upload a certificate for ${SITE}` });

  await upload.getByLabel("Certificate chain (PEM)").fill(chain.leaf + chain.int);
  await upload.getByLabel("Private key (PEM)").fill(chain.otherKey);
  await upload.getByRole("button", { name: "Upload certificate" }).click();
  await expect(upload.getByText(/the private key does not match the certificate/)).toBeVisible();

  await upload.getByLabel("Certificate chain (PEM)").fill(chain.other + chain.int);
  await upload.getByLabel("Private key (PEM)").fill(chain.otherKey);
  await upload.getByRole("button", { name: "Upload certificate" }).click();
  await expect(upload.getByText(`the certificate is for www.other.test, not ${SITE}`)).toBeVisible();

  await upload.getByLabel("Certificate chain (PEM)").fill(chain.leaf + chain.root + chain.int);
  await upload.getByLabel("Private key (PEM)").fill(chain.leafKey);
  await upload.getByRole("button", { name: "Upload certificate" }).click();
  await expect(upload.getByText(/the chain is out of order/)).toBeVisible();

  await upload.getByLabel("Certificate chain (PEM)").fill(chain.leaf + chain.int);
  await upload.getByLabel("Private key (PEM)").fill(chain.leafKey);
  await upload.getByRole("button", { name: "Upload certificate" }).click();
  await expect(site.getByTestId("cert-deployed-note")).toBeVisible();
  await expect(site.getByTestId("site-cert")).toHaveAttribute("data-source", "uploaded");
  expect(await page.content()).not.toContain("PRIVATE KEY-----\nMI");
});

test("with the app role on the web servers, an apply serves the app over HTTPS end to end, every hop marked", async ({ page }) => {
  await page.goto("/topology");
  await page.getByRole("link", { name: SITE }).click();
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  await page.getByLabel("app on lab2", { exact: true }).check();
  await page.getByLabel("app on lab3", { exact: true }).check();
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.locator('[data-testid="diagram-node"][data-role="app"]')).toHaveCount(2);

  await planOnPage(page);
  await applyThisPlan(page);
  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 240_000 });

  // The uploaded chain's root is all curl trusts; the body names app and web server.
  await expect.poll(() => viaLb(), { timeout: 20_000 }).toMatch(/app on lab[23], through web server lab[23]/);
  const apps = Array.from({ length: 4 }, () => /app on (lab\d)/.exec(viaLb())?.[1]);
  expect(new Set(apps)).toEqual(new Set(["lab2", "lab3"]));

  await page.goto("/topology");
  await page.getByRole("link", { name: SITE }).click();
  const hops = page.getByTestId("hop");
  await expect(hops.filter({ hasText: "HTTPS" }).first()).toHaveAttribute("data-encrypted", "true");
  await expect(hops.filter({ hasText: "TLS (internal CA)" }).first()).toHaveAttribute("data-encrypted", "true");
  await expect(page.locator('[data-testid="hop"][data-encrypted="false"]:not([data-hop="loopback"])')).toHaveCount(0);
  // Health as HAProxy reports it, read by the worker every few seconds.
  const lab2 = page.locator('[data-testid="diagram-node"][data-role="web"][data-server="lab2"]');
  await expect(lab2.getByTestId("lb-health")).toHaveAttribute("data-status", "UP", { timeout: 20_000 });

  // What each host served when the apply checked it, beside each certificate.
  await page.goto("/certificates");
  const site = page.getByRole("region", { name: SITE });
  await expect(site.locator('[data-testid="served-cert"][data-server="lab1"]')).toHaveAttribute("data-matches", "true");
  // Each web server's TLS port (and its exporters' ports, also checked after the apply) serves the certificate Rampart issued it.
  for (const web of ["lab2", "lab3"]) {
    const served = page.locator(`[data-testid="backend-cert-row"][data-server="${web}"] [data-testid="served-cert"]`);
    await expect(served.filter({ hasText: `${web}:443` })).toHaveAttribute("data-matches", "true");
    for (const one of await served.all()) await expect(one).toHaveAttribute("data-matches", "true");
  }
});

test("draining a web server from the console: HAProxy stops sending it requests, and the diagram says so", async ({ page }) => {
  await page.goto("/topology");
  await page.getByRole("link", { name: SITE }).click();
  await page.getByRole("button", { name: "Drain lab3", exact: true }).click();
  await page.getByRole("button", { name: "Drain now" }).click();
  await expect(page).toHaveURL(/\/runs\/[a-z0-9]+$/);
  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 60_000 });
  const apps = Array.from({ length: 6 }, () => /app on (lab\d)/.exec(viaLb())?.[1]);
  expect(new Set(apps)).toEqual(new Set(["lab2"]));
  await page.goto("/topology");
  await page.getByRole("link", { name: SITE }).click();
  const lab3 = page.locator('[data-testid="diagram-node"][data-role="web"][data-server="lab3"]');
  await expect(lab3.getByTestId("lb-health")).toHaveAttribute("data-status", "DRAIN", { timeout: 20_000 });
  await page.getByRole("button", { name: "Undrain lab3", exact: true }).click();
  await page.getByRole("button", { name: "Undrain now" }).click();
  await expect(page).toHaveURL(/\/runs\/[a-z0-9]+$/);
  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 60_000 });
  await expect.poll(() => new Set(Array.from({ length: 6 }, () => /app on (lab\d)/.exec(viaLb())?.[1])), { timeout: 20_000 }).toEqual(new Set(["lab2", "lab3"]));
});
