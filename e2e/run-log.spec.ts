// The run page with a long log (issue 17): a run of 100,000 events written into the
// database, opened in the console. Only the rows near the screen are in the page;
// every line can still be reached, filtered, followed live and downloaded.
// (How fast it opens is measured by `npm run bench:run-page`, not asserted here.)
import path from "node:path";
import { readFileSync } from "node:fs";
import type { Locator, Page } from "@playwright/test";
import { test, expect, signIn } from "./support/fixtures";
import { ADMIN } from "./support/accounts";
import { SEED_HOSTS, seedRun, seedTag, seededEvent } from "./support/seed-run";
import { createDb, type Db } from "@/server/db";
import { createRedis } from "@/server/queue/redis";
import { embeddedRedisUrl } from "@/server/env";
import { RunReporter, finishRun } from "@/server/queue/run-events";

const N = 100_000;
/** Live lines in one go, more than the page keeps before moving its snapshot on (2,000). */
const BURST = 2_500;
/** The run's last event: the seeded ones, two live lines, the burst, then "succeeded". */
const FINAL = N + 2 + BURST + 1;
const seeded = Array.from({ length: N }, (_, i) => seededEvent(i + 1, N, false));
const fmt = new Intl.NumberFormat("en");

let db: Db;
let runId: string;

test.describe.configure({ mode: "serial" });
test.use({ viewport: { width: 1400, height: 1000 } });

test.beforeAll(async () => {
  test.setTimeout(120_000);
  db = await createDb(`file:${path.join(process.env.E2E_DATA_DIR!, "rampart.db")}`);
  runId = await seedRun(db, { events: N, ended: false });
});
test.afterAll(async () => {
  await db?.$disconnect();
});
test.beforeEach(async ({ context }) => {
  await signIn(context, ADMIN.email, ADMIN.password);
});

const logOf = (page: Page) => page.getByRole("log", { name: "Run events" });

/** Whether the row of this seq is inside the log's visible box (not only in the DOM). */
function onScreen(log: Locator, seq: number) {
  return log.evaluate((el, s) => {
    const row = el.querySelector(`[data-seq="${s}"]`);
    if (!row) return false;
    const a = el.getBoundingClientRect();
    const b = row.getBoundingClientRect();
    return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
  }, seq);
}
const rowsInPage = (log: Locator) => log.locator("[data-seq]").count();
const shownSeqs = (log: Locator) => log.locator("[data-seq]").evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.seq)));

test("a run of 100,000 events opens at its last lines, with only the rows near the screen in the page", async ({ page }) => {
  await page.goto(`/runs/${runId}`);
  const log = logOf(page);
  await expect.poll(() => onScreen(log, N)).toBe(true);
  await expect(page.getByText(`${fmt.format(N)} events`, { exact: true })).toBeVisible();
  const rows = await rowsInPage(log);
  expect(rows).toBeGreaterThan(10);
  expect(rows).toBeLessThan(1_000);

  // Each host's bar shows its latest progress event, though the page never read most of the log.
  for (const host of SEED_HOSTS) {
    const latest = seeded.findLast((e) => e.level === "progress" && e.host === host)!;
    await expect(page.locator(`[data-testid="host-progress"][data-host="${host}"]`).getByTestId("host-progress-count")).toHaveText(`${latest.data!.done} of ${latest.data!.total}`);
  }

  // The first line and one in the middle are reachable by scrolling; the page still holds a window only.
  await log.evaluate((el) => (el.scrollTop = 0));
  await expect.poll(() => onScreen(log, 1)).toBe(true);
  await expect(log.locator('[data-seq="1"]')).toContainText("running");
  await log.evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
  await expect.poll(async () => (await shownSeqs(log)).some((s) => s > 45_000 && s < 55_000)).toBe(true);
  expect(await rowsInPage(log)).toBeLessThan(1_000);
  await expect.poll(() => onScreen(log, N)).toBe(false);

  // Scrolled up, the page offers to go back to the newest line.
  await page.getByRole("button", { name: "Jump to latest" }).click();
  await expect.poll(() => onScreen(log, N)).toBe(true);
  await expect(page.getByRole("button", { name: "Jump to latest" })).toHaveCount(0);
});

test("follow mode: a live event shows at the bottom; scrolled up it waits, Jump to latest shows it, and a burst keeps every line in place", async ({ page }) => {
  // The Redis npm start runs, with the password it generated in the data directory.
  const publisher = createRedis(embeddedRedisUrl(process.env.E2E_DATA_DIR!, process.env.E2E_REDIS_PORT || "6411"), "worker");
  try {
    await page.goto(`/runs/${runId}`);
    const log = logOf(page);
    await expect.poll(() => onScreen(log, N)).toBe(true);
    await expect(page.getByTestId("stream-state")).toHaveText("● Live");

    // Through the worker's own path: stored, then published on Redis to the page's stream.
    const reporter = await RunReporter.open(db, publisher, runId);
    await reporter.info("first live line after the seeded ones", "web-1");
    await expect.poll(() => onScreen(log, N + 1)).toBe(true);
    await expect(log.locator(`[data-seq="${N + 1}"]`)).toContainText("first live line after the seeded ones");

    // The operator scrolls up to read: new lines do not pull the log down.
    await log.evaluate((el) => (el.scrollTop = el.scrollTop - 3_000));
    await expect(page.getByRole("button", { name: "Jump to latest" })).toBeVisible();
    const top = await log.evaluate((el) => el.scrollTop);
    await reporter.info("second live line", "web-1");
    await expect(page.getByText(`${fmt.format(N + 2)} events`, { exact: true })).toBeVisible();
    expect(await log.evaluate((el) => el.scrollTop)).toBe(top);
    expect(await onScreen(log, N + 2)).toBe(false);
    await page.getByRole("button", { name: "Jump to latest" }).click();
    await expect.poll(() => onScreen(log, N + 2)).toBe(true);

    // A burst of live lines: the page follows it, and every line keeps its place in the log.
    for (let k = 1; k <= BURST; k++) void reporter.output(`burst line ${k}`, "db-1");
    await reporter.flush();
    await expect.poll(() => onScreen(log, N + 2 + BURST)).toBe(true);
    await expect(page.getByText(`${fmt.format(N + 2 + BURST)} events`, { exact: true })).toBeVisible();
    const middle = N + 2 + 1_000;
    await log.evaluate((el, seq) => {
      const rowPx = el.scrollHeight / Number((el as HTMLElement).dataset.rows);
      el.scrollTop = (seq - 1) * rowPx - el.clientHeight / 2;
    }, middle);
    await expect.poll(() => onScreen(log, middle)).toBe(true);
    await expect(log.locator(`[data-seq="${middle}"]`)).toContainText("burst line 1000");
    await expect.poll(async () => (await shownSeqs(log)).every((seq, k, all) => k === 0 || seq === all[k - 1]! + 1)).toBe(true);
    await page.getByRole("button", { name: "Jump to latest" }).click();

    // Back at the bottom it follows again, up to the run's end.
    expect(await finishRun(db, reporter, "succeeded", "seeded, then live lines")).toBe(true);
    await expect(page.getByTestId("run-status")).toHaveText("succeeded");
    await expect.poll(() => onScreen(log, FINAL)).toBe(true);
    await expect(log.locator(`[data-seq="${FINAL}"]`)).toContainText("succeeded");
    await expect(page.getByTestId("stream-state")).toHaveText("Run ended");
  } finally {
    publisher.disconnect();
  }
});

test("filters by host, level and text, and hiding command echoes, narrow the log to what matches", async ({ page }) => {
  // What the run holds now: the seeded events, two live lines on web-1, the burst on db-1, and the final status.
  const all = [
    ...seeded,
    { seq: N + 1, level: "info", host: "web-1", text: "first live line after the seeded ones" },
    { seq: N + 2, level: "info", host: "web-1", text: "second live line" },
    ...Array.from({ length: BURST }, (_, k) => ({ seq: N + 3 + k, level: "output", host: "db-1", text: `burst line ${k + 1}` })),
  ];
  const count = (pred: (e: (typeof all)[number]) => boolean) => all.filter(pred).length;
  await page.goto(`/runs/${runId}`);
  const log = logOf(page);
  await expect.poll(() => onScreen(log, FINAL)).toBe(true);
  const matching = (n: number) => expect(page.getByText(`${fmt.format(n)} of ${fmt.format(FINAL)} events match the filters`)).toBeVisible();

  // One host: every row shown is that host's, and the count is that host's.
  await page.getByLabel("Host", { exact: true }).selectOption("web-2");
  await matching(count((e) => e.host === "web-2"));
  await expect.poll(async () => new Set(await log.locator("[data-seq]").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.host)))).toEqual(new Set(["web-2"]));
  const lastWeb2 = all.findLast((e) => e.host === "web-2")!.seq;
  await expect.poll(() => onScreen(log, lastWeb2)).toBe(true);

  // And one level on that host.
  const levels = page.getByRole("group", { name: "Levels" });
  await levels.getByRole("button", { name: /^warn/ }).click();
  const warnWeb2 = all.filter((e) => e.host === "web-2" && e.level === "warn");
  await matching(warnWeb2.length);
  await expect.poll(async () => (await shownSeqs(log)).slice(-5)).toEqual(warnWeb2.slice(-5).map((e) => e.seq));
  await expect(log.locator('[data-seq]:not([data-level="warn"])')).toHaveCount(0);

  // A second level adds its lines; the first row of the filtered log is reachable.
  await levels.getByRole("button", { name: /^error/ }).click();
  const warnOrError = all.filter((e) => e.host === "web-2" && (e.level === "warn" || e.level === "error"));
  await matching(warnOrError.length);
  await log.evaluate((el) => (el.scrollTop = 0));
  await expect.poll(() => onScreen(log, warnOrError[0]!.seq)).toBe(true);

  // Back to every host and level; debug lines without the commands Rampart echoed.
  await page.getByLabel("Host", { exact: true }).selectOption("");
  await levels.getByRole("button", { name: "All levels" }).click();
  await expect(page.getByText(`${fmt.format(FINAL)} events`, { exact: true })).toBeVisible();
  await levels.getByRole("button", { name: /^debug/ }).click();
  await matching(count((e) => e.level === "debug"));
  await page.getByLabel(/Hide command echoes/).check();
  await matching(count((e) => e.level === "debug" && !e.text.startsWith("$ ")));
  await expect(log.getByText(/^\$ /)).toHaveCount(0);
  await expect(log.getByText("reusing the SSH connection").first()).toBeVisible();

  // Search: one line in the middle of the log, whatever the case.
  await levels.getByRole("button", { name: "All levels" }).click();
  await page.getByLabel("Hide command echoes").uncheck();
  await page.getByLabel("Search the log").fill(seedTag(54_321));
  await matching(1);
  await expect.poll(() => shownSeqs(log)).toEqual([54_321]);
  await page.getByLabel("Search the log").fill("SECOND LIVE");
  await matching(1);
  await expect.poll(() => shownSeqs(log)).toEqual([N + 2]);
});

test("Download gives every line of the log as text", async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(`/runs/${runId}`);
  const log = logOf(page);
  await expect.poll(() => onScreen(log, FINAL)).toBe(true);
  const downloading = page.waitForEvent("download", { timeout: 90_000 });
  await page.getByRole("button", { name: "Download" }).click();
  const download = await downloading;
  const lines = readFileSync(await download.path(), "utf8")
    .trimEnd()
    .split("\n");
  expect(lines).toHaveLength(FINAL);
  expect(lines[0]).toMatch(/^\S+Z status\s+running$/);
  expect(lines[1]).toContain(seeded[1]!.text);
  expect(lines[1]).toContain(`[${seeded[1]!.host}]`);
  expect(lines[54_320]).toContain(seedTag(54_321));
  expect(lines[N]).toContain("[web-1] first live line after the seeded ones");
  expect(lines[N + 2 + BURST - 1]).toContain(`[db-1] burst line ${BURST}`);
  expect(lines[FINAL - 1]).toMatch(/status\s+succeeded$/);
});
