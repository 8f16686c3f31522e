// Applying from the console as an operator does: Plan, read it, "Apply this plan", confirm
// the counts. Leaves the page on the apply run's page.
import { expect, type Page } from "@playwright/test";

/** Plans the topology whose page is open and waits for the plan; returns the counts it shows. */
export async function planOnPage(page: Page): Promise<string> {
  // The panel shows the previous plan (with its counts) until the new run is made: wait for
  // the new run's panel, or the old plan's counts would be read.
  const planButton = page.getByRole("button", { name: "Plan", exact: true });
  await expect(planButton).toBeEnabled(); // the topology is loaded: its last plan's panel too, if any
  const panel = page.getByTestId("plan-run");
  const before = (await panel.count()) > 0 ? await panel.getAttribute("data-run-id") : null;
  await planButton.click();
  await expect(panel).toHaveAttribute("data-run-id", before ? new RegExp(`^(?!${before}$)`) : /./, { timeout: 30_000 });
  const counts = panel.getByTestId("plan-counts");
  await expect(counts).toBeVisible({ timeout: 120_000 });
  await expect(page.getByRole("button", { name: "Apply this plan" })).toBeEnabled({ timeout: 15_000 });
  return (await counts.textContent()) ?? "";
}

/** "Apply this plan" and its confirmation (which names the counts); on the run's page after. */
export async function applyThisPlan(page: Page, counts?: string | RegExp): Promise<void> {
  await page.getByRole("button", { name: "Apply this plan" }).click();
  const dialog = page.getByRole("dialog");
  if (counts) await expect(dialog.getByTestId("apply-confirm-counts")).toHaveText(counts);
  await dialog.getByRole("button", { name: /^Apply/ }).click();
  await expect(page).toHaveURL(/\/runs\/[a-z0-9]+$/);
}
