// Onboarding four lab hosts (three through the console's form, one through REST
// with an API token), accepting their host keys, and reading their facts. No API response ever carries a private key.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Page } from "@playwright/test";
import { test, expect, signIn, recordMutation } from "./support/fixtures";
import { ADMIN } from "./support/accounts";
import { ensureLab, type LabInfo } from "./lab/fixture";

test.describe.configure({ mode: "serial" });
test.setTimeout(180_000);

let lab: LabInfo;
const responses: string[] = [];
const baseURL = () => `http://localhost:${process.env.E2E_PORT || 3210}`;

test.beforeAll(async () => {
  lab = await ensureLab(4);
  lab = { ...lab, hosts: lab.hosts.slice(0, 4) };
});

test.beforeEach(async ({ context, page }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
  page.on("response", async (res) => {
    if (!res.url().includes("/api/") || res.headers()["content-type"]?.includes("text/event-stream")) return;
    responses.push(await res.text().catch(() => ""));
  });
});

async function addServerWithForm(page: Page, name: string, address: string) {
  await page.goto("/servers");
  await page.getByRole("button", { name: "Add server" }).first().click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Address").fill(address);
  await page.getByLabel("SSH key").selectOption({ index: 1 });
  await page.getByRole("button", { name: "Add server" }).last().click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
}

test("an admin imports the lab's SSH key; the console shows only its public half", async ({ page }) => {
  await page.goto("/settings/ssh-keys");
  await page.getByRole("button", { name: "Import" }).click();
  await page.getByLabel("Key name").fill("lab");
  await page.getByLabel("Private key").fill("not a key");
  await page.getByRole("button", { name: "Import key" }).click();
  await expect(page.getByText(/The private key is not a private key in OpenSSH or PEM format/)).toBeVisible();
  await page.getByLabel("Private key").fill(readFileSync(lab.sshKey, "utf8"));
  await page.getByRole("button", { name: "Import key" }).click();
  const card = page.getByTestId("ssh-key").filter({ hasText: "lab" });
  await expect(card.getByTestId("public-key")).toContainText(lab.sshPublicKey.trim().split(" ")[1]!);
  await expect(card.getByTestId("install-command")).toContainText("authorized_keys");
  expect(await page.content()).not.toContain("PRIVATE KEY");
});

test("servers are added with the form and through REST with a token, with clear errors for bad input", async ({ page }) => {
  await page.goto("/servers");
  await page.getByRole("button", { name: "Add server" }).first().click();
  await page.getByLabel("Name").fill("Bad Name!");
  await page.getByLabel("Address").fill("300.1.2.3");
  await page.getByLabel("SSH port").fill("70000");
  await page.getByRole("button", { name: "Add server" }).last().click();
  await expect(page.getByText("may use lower-case letters, digits and dashes", { exact: false })).toBeVisible();
  await expect(page.getByText("must be an IPv4 or IPv6 address or a host name", { exact: false })).toBeVisible();
  await expect(page.getByText("must be between 1 and 65535")).toBeVisible();

  await addServerWithForm(page, "lab1", lab.hosts[0]!.address);
  await addServerWithForm(page, "lab2", lab.hosts[1]!.address);
  await addServerWithForm(page, "lab3", lab.hosts[2]!.address);

  // A duplicate name is refused next to the field.
  await page.goto("/servers");
  await page.getByRole("button", { name: "Add server" }).first().click();
  await page.getByLabel("Name").fill("lab1");
  await page.getByLabel("Address").fill("10.213.47.99");
  await page.getByLabel("SSH key").selectOption({ index: 1 });
  await page.getByRole("button", { name: "Add server" }).last().click();
  await expect(page.getByText("A server named lab1 already exists")).toBeVisible();

  // lab4 through the REST API, with an operate-scoped token.
  const tokenRes = await page.request.post("/api/trpc/tokens.create", {
    headers: { "x-rampart-csrf": "1", origin: baseURL() },
    data: { json: { name: "onboarding", scope: "operate", expiresInDays: 1 } },
  });
  recordMutation("tokens.create");
  const token = (await tokenRes.json()).result.data.json.token as string;
  const curl = (args: string[]) => execFileSync("curl", ["-s", "-H", `Authorization: Bearer ${token}`, ...args], { encoding: "utf8" });
  const keys = JSON.parse(curl([`${baseURL()}/api/v1/ssh-keys`])) as Array<{ id: string; name: string }>;
  const created = JSON.parse(
    curl([
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "-d",
      JSON.stringify({ name: "lab4", address: lab.hosts[3]!.address, port: 22, user: "root", sshKeyId: keys.find((k) => k.name === "lab")!.id, labels: ["rest"] }),
      `${baseURL()}/api/v1/servers`,
    ]),
  );
  recordMutation("servers.create");
  expect(created).toMatchObject({ name: "lab4", hostKeyStatus: "unknown", labels: ["rest"] });
  await page.goto("/servers");
  await expect(page.getByTestId("server-row")).toHaveCount(4);

  // The list searches, sorts by a column's header, and says how many rows match.
  await page.getByLabel("Search servers").fill("lab2");
  await expect(page.getByTestId("server-row")).toHaveCount(1);
  await expect(page.getByTestId("table-count")).toHaveText("1 of 4");
  await page.getByLabel("Search servers").fill("");
  const header = page.getByRole("button", { name: "Server", exact: true });
  await header.click();
  await header.click();
  await expect(page.getByTestId("server-row").first()).toContainText("lab4");
  await expect(page.getByRole("columnheader", { name: "Server" })).toHaveAttribute("aria-sort", "descending");
});

test("first check shows each host's fingerprint; after accepting them the check reads their facts", async ({ page }) => {
  await page.goto("/servers");
  await page.getByRole("button", { name: "Check all" }).click();
  await expect(page).toHaveURL(/\/runs\//);
  await expect(page.getByTestId("run-status")).toHaveText("failed", { timeout: 60_000 });
  await expect(page.getByText(/first contact: the server presented host key/).first()).toBeVisible();

  for (const h of lab.hosts) {
    await page.goto("/servers");
    await page.getByRole("link", { name: h.name, exact: true }).click();
    await expect(page.getByTestId("presented-fingerprint")).toHaveText(h.fingerprint);
    await page.getByRole("button", { name: "Accept this host key" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Accept host key" }).click();
    await expect(page.getByTestId("pinned-fingerprint")).toHaveText(h.fingerprint);
  }

  await page.goto("/servers");
  await page.getByRole("button", { name: "Check all" }).click();
  await expect(page.getByTestId("run-status")).toHaveText("succeeded", { timeout: 60_000 });
  await expect(page.getByTestId("run-outcome")).toHaveText("4 of 4 server(s) checked");
  await expect(page.getByText(/Debian GNU\/Linux 12 \(bookworm\), kernel/).first()).toBeVisible();

  await page.goto("/servers");
  await page.getByRole("link", { name: "lab2", exact: true }).click();
  const facts = page.getByTestId("facts");
  await expect(facts).toContainText("Debian GNU/Linux 12 (bookworm)");
  await expect(facts).toContainText("running");
});

test("a server that refuses the key says what it means, what to check, and the command that installs the key", async ({ page }) => {
  // lab5 (the databases spec adds it later as itself), logging in as a user whose authorized_keys does not hold the lab's key.
  const host = (await ensureLab(5)).hosts[4]!;
  await page.goto("/servers");
  await page.getByRole("button", { name: "Add server" }).first().click();
  await page.getByLabel("Name").fill("wrong-user");
  await page.getByLabel("Address").fill(host.address);
  await page.getByLabel("Login user").fill("nobody");
  await page.getByLabel("SSH key").selectOption({ index: 1 });
  await page.getByRole("button", { name: "Add server" }).last().click();
  await expect(page.getByRole("heading", { name: "wrong-user" })).toBeVisible();
  await page.getByText("Pin a known key (a known_hosts line)").click();
  await page.getByLabel("known_hosts line").fill(`${host.address} ${host.hostKey}`);
  await page.getByRole("button", { name: "Pin this key" }).click();
  await expect(page.getByTestId("pinned-fingerprint")).toHaveText(host.fingerprint);

  await page.getByRole("button", { name: "Check", exact: true }).click();
  await expect(page.getByTestId("run-status")).toHaveText("failed", { timeout: 60_000 });
  await page.goBack();
  const advice = page.getByTestId("connection-advice");
  await expect(advice).toContainText(`refused Rampart's key "lab" for nobody`);
  await expect(advice).toContainText("~nobody/.ssh/authorized_keys");
  const publicKey = readFileSync(`${lab.sshKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  await expect(page.getByTestId("install-key-command")).toContainText(publicKey);

  await page.getByRole("button", { name: "Remove" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Remove server" }).click();
  await expect(page).toHaveURL(/\/servers$/);
});

test("no API response carried a private key", async () => {
  const pem = readFileSync(lab.sshKey, "utf8");
  const bodyLines = pem.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));
  expect(responses.length).toBeGreaterThan(20);
  const all = responses.join("\n");
  // A PEM block with content (the error message that names the format doesn't count).
  expect(/-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=]{20}/.test(all), "a private key block in an API response").toBe(false);
  for (const l of bodyLines) expect(all.includes(l), "a line of the private key in an API response").toBe(false);
});
