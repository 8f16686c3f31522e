// The first-run journey: create the first admin with the link npm start printed,
// sign out and in, invite a viewer, use an API token with curl, and see that the
// viewer can read but not apply (disabled in the console, refused by the server).
import { execFileSync } from "node:child_process";
import type { Page } from "@playwright/test";
import { test, expect, recordMutation } from "./support/fixtures";
import { ADMIN, VIEWER } from "./support/accounts";

test.describe.configure({ mode: "serial" });

const baseURL = () => `http://localhost:${process.env.E2E_PORT || 3210}`;

function curl(args: string[]): { status: number; body: string } {
  const out = execFileSync("curl", ["-s", "-w", "\n%{http_code}", ...args], { encoding: "utf8" });
  const i = out.lastIndexOf("\n");
  return { body: out.slice(0, i), status: Number(out.slice(i + 1)) };
}

let inviteUrl = "";

async function signInWithForm(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
}

test("first run: the console asks for the first admin, created with the one-time setup link", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole("heading", { name: "Create the first admin" })).toBeVisible();

  await page.goto(process.env.E2E_SETUP_URL!);
  await expect(page.getByLabel("Setup link token")).not.toHaveValue("");
  await page.getByLabel("Your name").fill(ADMIN.name);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create admin and sign in" }).click();
  await expect(page.getByText("must be at least 12 characters")).toBeVisible();
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Create admin and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.getByTestId("signed-in-as")).toHaveText(ADMIN.email);

  // The link worked once: setup is closed (signed in, it leads to the console).
  await page.goto(process.env.E2E_SETUP_URL!);
  await expect(page).toHaveURL(`${baseURL()}/`);
});

test("sign out, then sign in again (a wrong password is refused)", async ({ page, context }) => {
  await page.goto("/login");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Wrong email or password" })).toBeVisible();
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const cookie = (await context.cookies()).find((c) => c.name === "rampart_session")!;
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax" });

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/runs");
  await expect(page).toHaveURL(/\/login$/);
});

test("an admin invites a viewer from the Users page", async ({ page }) => {
  await signInWithForm(page, ADMIN.email, ADMIN.password);
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Users" }).click();
  await page.getByLabel("Email").fill(VIEWER.email);
  await page.getByLabel("Name").fill(VIEWER.name);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Invite" }).click();
  inviteUrl = (await page.getByTestId("invite-link").textContent())!;
  expect(inviteUrl).toMatch(/\/invite\?token=/);
  await expect(page.getByTestId("user-row").filter({ hasText: VIEWER.email })).toContainText("invited");

  // A role changes only with its own button and a confirmation (then back to viewer).
  const row = page.getByTestId("user-row").filter({ hasText: VIEWER.email });
  const role = row.getByLabel(`Role of ${VIEWER.email}`);
  await role.selectOption("operator");
  await expect(row.getByRole("button", { name: "Save role" })).toBeVisible();
  await row.getByRole("button", { name: "Save role" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText(`Make ${VIEWER.email} an operator?`);
  await dialog.getByRole("button", { name: "Make operator" }).click();
  await expect(row.getByRole("button", { name: "Save role" })).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId("user-row").filter({ hasText: VIEWER.email }).getByLabel(`Role of ${VIEWER.email}`)).toHaveValue("operator");
  await page.getByTestId("user-row").filter({ hasText: VIEWER.email }).getByLabel(`Role of ${VIEWER.email}`).selectOption("viewer");
  await page.getByTestId("user-row").filter({ hasText: VIEWER.email }).getByRole("button", { name: "Save role" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Make viewer" }).click();
  await expect(page.getByTestId("user-row").filter({ hasText: VIEWER.email }).getByRole("button", { name: "Save role" })).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId("user-row").filter({ hasText: VIEWER.email }).getByLabel(`Role of ${VIEWER.email}`)).toHaveValue("viewer");
});

test("an API token created in the console works with curl until it is revoked", async ({ page }) => {
  await signInWithForm(page, ADMIN.email, ADMIN.password);
  await page.goto("/settings/tokens");
  await page.getByLabel("Name").fill("e2e script");
  await page.getByLabel("Scope", { exact: true }).selectOption("operate");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.getByTestId("new-token").textContent())!;
  expect(token).toMatch(/^rp_/);

  const list = curl(["-H", `Authorization: Bearer ${token}`, `${baseURL()}/api/v1/runs`]);
  expect(list.status).toBe(200);
  expect(JSON.parse(list.body)).toHaveProperty("items");
  const started = curl(["-X", "POST", "-H", `Authorization: Bearer ${token}`, "-H", "content-type: application/json", "-d", '{"delayBetweenChecksMs":0}', `${baseURL()}/api/v1/runs/system-check`]);
  recordMutation("runs.startSystemCheck");
  expect(started.status).toBe(200);
  expect(JSON.parse(started.body)).toMatchObject({ kind: "system-check", requestedBy: expect.stringMatching(/^token rp_/) });
  // Admin-only routes stay closed to an operate-scoped token.
  expect(curl(["-H", `Authorization: Bearer ${token}`, `${baseURL()}/api/v1/users`]).status).toBe(403);

  await page.getByTestId("token-row").filter({ hasText: "e2e script" }).getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
  await expect(page.getByTestId("token-row").filter({ hasText: "e2e script" })).toContainText("revoked");
  expect(curl(["-H", `Authorization: Bearer ${token}`, `${baseURL()}/api/v1/runs`]).status).toBe(401);
});

test("the invited viewer sets a password, can read, and cannot apply", async ({ page }) => {
  await page.goto(inviteUrl);
  await page.getByLabel("Password").fill(VIEWER.password);
  await page.getByRole("button", { name: "Set password and sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(VIEWER.email);

  await page.getByRole("link", { name: "Runs" }).first().click();
  await expect(page.getByTestId("run-row").first()).toBeVisible(); // reading works
  const apply = page.getByRole("button", { name: "Run system check" });
  await expect(apply).toBeDisabled();
  await expect(apply).toHaveAttribute("title", "Only operators and admins can start runs");

  // The server refuses the mutation too, whatever the console shows.
  const res = await page.request.post("/api/trpc/runs.startSystemCheck", {
    headers: { "x-rampart-csrf": "1", origin: baseURL() },
    data: { json: { delayBetweenChecksMs: 0 } },
  });
  recordMutation("runs.startSystemCheck");
  expect(res.status()).toBe(403);
  expect(await res.text()).toContain("Only operators and admins may do this (you are a viewer)");

  // Admin pages are not for viewers.
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Users" })).toHaveCount(0);
  await page.goto("/settings/users");
  await expect(page.getByRole("heading", { name: "Admins only" })).toBeVisible();
});
