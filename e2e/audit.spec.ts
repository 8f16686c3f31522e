// Runs last: every mutation the e2e suite made (recorded by support/fixtures.ts)
// left an audit row, and the audit page shows it.
import { readFileSync } from "node:fs";
import { test, expect, signIn, mutationsLog } from "./support/fixtures";
import { ADMIN } from "./support/accounts";

test("every mutation made by the e2e suite is in the audit log, and the audit page shows it", async ({ page, context }) => {
  const made = readFileSync(mutationsLog(), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { action: string });
  const counts = new Map<string, number>();
  for (const m of made) counts.set(m.action, (counts.get(m.action) ?? 0) + 1);
  expect([...counts.keys()]).toEqual(
    expect.arrayContaining(["auth.setup", "auth.login", "auth.logout", "users.invite", "tokens.create", "tokens.revoke", "auth.acceptInvite", "runs.startSystemCheck"]),
  );

  await signIn(context, ADMIN.email, ADMIN.password);
  for (const [action, n] of counts) {
    const res = await page.request.get(`/api/trpc/audit.list?input=${encodeURIComponent(JSON.stringify({ json: { action, limit: 500 } }))}`);
    const items = (await res.json()).result.data.json.items as Array<{ action: string }>;
    expect(items.filter((i) => i.action === action).length, `audit rows for ${action}`).toBeGreaterThanOrEqual(n);
  }

  await page.goto("/settings/audit");
  for (const action of counts.keys()) {
    await page.getByPlaceholder("e.g. runs. or auth.login").fill(action);
    await expect(page.getByTestId("audit-row").first()).toContainText(action);
  }
  // The viewer's refused attempt is there, marked denied.
  await page.getByPlaceholder("e.g. runs. or auth.login").fill("runs.startSystemCheck");
  await page.getByLabel("Outcome").selectOption("denied");
  await expect(page.getByTestId("audit-row").first()).toContainText("viewer@foobar.test");
});
