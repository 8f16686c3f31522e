// Every console page, as the suite left it (servers, topologies with every role, runs,
// certificates, alerts): no WCAG 2.1 AA violation found by axe-core, as an admin and as a
// viewer, in the light and the dark theme (which follows the system setting); and on a
// phone (390×844) every page fits the screen, its navigation behind a menu.
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { test, expect, signIn } from "./support/fixtures";
import { ADMIN, VIEWER } from "./support/accounts";

const LIST_PAGES = [
  "/",
  "/servers",
  "/topology",
  "/runs",
  "/certificates",
  "/firewall",
  "/monitoring",
  "/databases",
  "/settings/account",
  "/settings/audit",
  "/settings/ssh-keys",
  "/settings/tokens",
  "/settings/users",
];
const ADMIN_ONLY = new Set(["/settings/audit", "/settings/users"]);

// A detail page of each kind, found from its list page's links.
const DETAILS: Array<{ list: string; link: RegExp }> = [
  { list: "/servers", link: /^\/servers\/[a-z0-9]+$/ },
  { list: "/topology", link: /^\/topology\/(?!new$)[a-z0-9]+$/ },
  { list: "/runs", link: /^\/runs\/[a-z0-9]+$/ },
  { list: "/firewall", link: /^\/firewall\/[a-z0-9]+$/ },
  { list: "/monitoring", link: /^\/monitoring\/[a-z0-9]+$/ },
  { list: "/databases", link: /^\/databases\/[a-z0-9]+$/ },
];

async function settle(page: Page) {
  await expect(page.locator("main")).toBeVisible();
  await expect(page.getByText(/^Loading/)).toHaveCount(0, { timeout: 20_000 });
  await page.waitForTimeout(300); // charts and late queries
}

async function consolePages(page: Page, role: "admin" | "viewer"): Promise<string[]> {
  const pages = [...LIST_PAGES, "/topology/new", "/topology/new-site"].filter((p) => role === "admin" || !ADMIN_ONLY.has(p));
  for (const { list, link } of DETAILS) {
    await page.goto(list);
    await settle(page);
    const hrefs = await page.locator("main a[href]").evaluateAll((as) => as.map((a) => a.getAttribute("href") ?? ""));
    const found = hrefs.filter((h) => link.test(h));
    // The topology page with the most roles (the databases one) and a firewall server page too.
    if (found.length) pages.push(found[found.length - 1]!);
    if (list === "/firewall" && found.length) {
      await page.goto(found[0]!);
      await settle(page);
      const server = (await page.locator("main a[href]").evaluateAll((as) => as.map((a) => a.getAttribute("href") ?? ""))).find((h) => /^\/firewall\/[a-z0-9]+\/[a-z0-9]+$/.test(h));
      if (server) pages.push(server);
    }
  }
  return pages;
}

const AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/** The page at url, checked in the light and then the dark theme (a system setting: no reload). */
async function violations(page: Page, url: string): Promise<string[]> {
  await page.goto(url);
  await settle(page);
  const found: string[] = [];
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(100); // charts redraw with the theme's colours
    const result = await new AxeBuilder({ page }).withTags(AA).analyze();
    found.push(
      ...result.violations.flatMap((v) =>
        v.nodes.slice(0, 3).map((n) => `${url} (${scheme}): ${v.id} (${v.impact}) at ${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1).join(" ").trim()}`),
      ),
    );
  }
  await page.emulateMedia({ colorScheme: "light" });
  return found;
}

for (const role of ["admin", "viewer"] as const) {
  test(`no WCAG 2.1 AA violation on any console page, as ${role}, in the light and the dark theme`, async ({ page, context }) => {
    test.setTimeout(300_000);
    const who = role === "admin" ? ADMIN : VIEWER;
    await signIn(context, who.email, who.password);
    const found: string[] = [];
    const pages = await consolePages(page, role);
    expect(pages.length).toBeGreaterThan(LIST_PAGES.length); // detail pages were found
    for (const url of pages) found.push(...(await violations(page, url)));
    expect(found, found.join("\n")).toEqual([]);
  });
}

test("the sign-in page has no WCAG 2.1 AA violation, light and dark", async ({ page }) => {
  const found = await violations(page, "/login");
  expect(found, found.join("\n")).toEqual([]);
});

test("on a phone (390×844) every page fits the screen, and the navigation is a menu", async ({ page, context }) => {
  test.setTimeout(300_000);
  await signIn(context, ADMIN.email, ADMIN.password);
  const pages = await consolePages(page, "admin");
  await page.setViewportSize({ width: 390, height: 844 });
  const wide: string[] = [];
  for (const url of pages) {
    await page.goto(url);
    await settle(page);
    const { scroll, client, culprits } = await page.evaluate(() => {
      const client = document.documentElement.clientWidth;
      // What sticks out: the outermost elements wider than the screen whose parent is not.
      const culprits = [...document.querySelectorAll("body *")]
        .filter((el) => {
          if (el.getBoundingClientRect().right <= client + 1 || (el.parentElement?.getBoundingClientRect().right ?? 0) > client + 1) return false;
          for (let a = el.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== "visible") return false; // scrolls in its box
          return true;
        })
        .slice(0, 4)
        .map((el) => `<${el.tagName.toLowerCase()} class="${el.getAttribute("class")?.slice(0, 80) ?? ""}"> ${Math.round(el.getBoundingClientRect().right)} px`);
      if (culprits.length === 0)
        culprits.push(
          ...[...document.querySelectorAll("body *")]
            .filter((el) => Math.abs(el.getBoundingClientRect().right + window.scrollX - document.documentElement.scrollWidth) < 2)
            .slice(0, 4)
            .map((el) => `<${el.tagName.toLowerCase()} class="${el.getAttribute("class")?.slice(0, 80) ?? ""}"> ${Math.round(el.getBoundingClientRect().right)} px`),
        );
      return { scroll: document.documentElement.scrollWidth, client, culprits };
    });
    if (scroll > client) wide.push(`${url}: ${scroll} px wide on a ${client} px screen: ${culprits.join("; ")}`);
  }
  expect(wide, wide.join("\n")).toEqual([]);

  // The sidebar is a menu: closed, its links are hidden; opened, they navigate.
  await page.goto("/");
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Servers" })).toBeHidden();
  await page.getByRole("button", { name: "Menu" }).click();
  await nav.getByRole("link", { name: "Servers" }).click();
  await expect(page).toHaveURL(/\/servers$/);
  await expect(nav.getByRole("link", { name: "Servers" })).toBeHidden();
});

test("the keyboard: a skip link first, then the page's controls with a visible focus ring", async ({ page, context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
  await page.goto("/servers");
  await settle(page);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press("Tab");
    const ring = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const cs = getComputedStyle(el);
      return { inMain: !!el.closest("main"), visible: (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== "none", what: el.outerHTML.slice(0, 80) };
    });
    expect(ring.inMain, ring.what).toBe(true);
    expect(ring.visible, `no focus ring on ${ring.what}`).toBe(true);
  }
});
