// Run page benchmark (issue 17). Starts Rampart like a user does (npm start →
// scripts/start.sh, built already) on free ports with a fresh data directory, writes a
// finished run of 100,000 events into its database, and opens the run page in
// Debian's Chromium several times. Prints, as medians over the loads:
//   1. navigation → the first log rows on screen,
//   2. navigation → the run's last line (seq 100,000) on screen,
//   3. scrolling to the top → line 1 on screen, and to the middle → a line there,
//   4. the rows in the page, and the page's JS heap after a garbage collection;
//   5. how long "Download" takes to hand over the whole log as text.
//   6. on a run of 20,000 events (issue 18): a host filter, a level filter and a search
//      (from the last keystroke, its pause included) → the matching rows on screen.
// Targets: the run opens (its last lines on screen) in under 2 s; filter and search
// under 200 ms.
// Run: npm run bench:run-page (RUNS=… LOADS=… to change the defaults).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium, type Page } from "@playwright/test";
import { createDb } from "@/server/db";
import { seedRun } from "@/e2e/support/seed-run";

const EVENTS = Number(process.env.EVENTS || 100_000);
const LOADS = Number(process.env.LOADS || 7);
const TARGET_MS = 2_000;
const FILTER_EVENTS = Number(process.env.FILTER_EVENTS || 20_000);
const FILTER_TARGET_MS = 200;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Installed in every page before its scripts: each animation frame, notes when a row
 * is first inside the log's visible box ("any": the row at the box's middle; or one
 * of the seqs in window.benchSeqs), in ms since the navigation started. Measured in
 * the page, so the benchmark's own polling adds nothing.
 */
function watchRows() {
  const w = window as unknown as { benchSeqs: number[]; benchShown: Record<string, number> };
  w.benchSeqs = [];
  w.benchShown = {};
  const inside = (row: Element | null | undefined, box: DOMRect) => {
    if (!row) return false;
    const b = row.getBoundingClientRect();
    return b.top >= box.top - 1 && b.bottom <= box.bottom + 1;
  };
  const tick = () => {
    const log = document.querySelector('[role="log"]');
    if (log) {
      const box = log.getBoundingClientRect();
      const now = performance.now();
      const middle = document.elementFromPoint(box.left + 40, box.top + box.height / 2)?.closest("[data-seq]");
      if (inside(middle, box)) w.benchShown.any ??= now;
      for (const s of w.benchSeqs) if (inside(log.querySelector(`[data-seq="${s}"]`), box)) w.benchShown[s] ??= now;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/** When (ms since navigation) `what` was first on screen. */
async function shownAt(page: Page, what: number | "any", timeout = 60_000): Promise<number> {
  const handle = await page.waitForFunction((k) => (window as unknown as { benchShown: Record<string, number> }).benchShown[String(k)] ?? false, what, { timeout });
  return (await handle.jsonValue()) as number;
}

/** Scrolls the log and returns how long until `seq` (or a row at the middle of the box) is on screen. */
async function scrollTo(page: Page, where: "top" | "middle", seq: number | "any"): Promise<number> {
  const t0 = await page.evaluate(
    ([w, s]) => {
      const win = window as unknown as { benchSeqs: number[]; benchShown: Record<string, number> };
      delete win.benchShown[String(s)];
      if (typeof s === "number") win.benchSeqs.push(s);
      const log = document.querySelector('[role="log"]')!;
      const t = performance.now();
      log.scrollTop = w === "top" ? 0 : log.scrollHeight / 2 - log.clientHeight / 2;
      return t;
    },
    [where, seq] as const,
  );
  return (await shownAt(page, seq)) - t0;
}

/**
 * Changes a filter control in the page (as a person would, through Playwright) and
 * returns how long until the log shows only rows that match, and at least one.
 */
async function filterTime(page: Page, change: { select?: string; level?: string; search?: string }, match: { host?: string; level?: string; text?: string; unfiltered?: boolean }): Promise<number> {
  // Timed from just before Playwright acts (its own round trip is counted: an upper bound).
  const t0 = await page.evaluate(() => performance.now());
  if (change.select !== undefined) await page.getByLabel("Host", { exact: true }).selectOption(change.select);
  else if (change.level !== undefined)
    await page
      .getByRole("group", { name: "Levels" })
      .getByRole("button", { name: new RegExp(`^${change.level}`) })
      .click();
  else await page.getByLabel("Search the log").fill(change.search ?? "");
  const handle = await page.waitForFunction(
    (m) => {
      const rows = [...document.querySelectorAll<HTMLElement>('[role="log"] [data-seq]')];
      if (rows.length === 0) return false;
      // Back to the whole log: no filter said, and the rows on screen are of several levels again (not the last filter's).
      if (m.unfiltered && ([...document.querySelectorAll("p")].some((p) => p.textContent?.includes("match the filters")) || new Set(rows.map((r) => r.dataset.level)).size < 3)) return false;
      const ok = rows.every((r) => (!m.host || r.dataset.host === m.host) && (!m.level || r.dataset.level === m.level) && (!m.text || r.textContent!.includes(m.text)));
      return ok ? performance.now() : false;
    },
    match,
    { polling: "raf", timeout: 30_000 },
  );
  return ((await handle.jsonValue()) as number) - t0;
}

async function main() {
  const port = await freePort();
  const redisPort = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "rampart-bench-run-page-"));
  const env = { ...process.env, PORT: String(port), REDIS_PORT: String(redisPort), DATA_DIR: dataDir, REDIS_URL: "" };
  const start: ChildProcess = spawn("bash", ["scripts/start.sh"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  start.stdout!.on("data", (d) => (output += d));
  start.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => start.once("exit", () => resolve()));
  try {
    for (let waited = 0; !output.includes("First run:"); waited += 100) {
      if (start.exitCode !== null || waited > 300_000) throw new Error(`Rampart did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const origin = `http://localhost:${port}`;
    const token = /setup\?token=(\S+)/.exec(output)![1];
    const setup = await fetch(`${origin}/api/trpc/auth.setup`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-rampart-csrf": "1", origin },
      body: JSON.stringify({ json: { token, email: "bench@example.test", name: "Bench", password: "bench password 123" } }),
    });
    const session = /rampart_session=([^;]+)/.exec(setup.headers.get("set-cookie") ?? "")![1]!;

    const db = await createDb(`file:${path.join(dataDir, "rampart.db")}`);
    const t0 = performance.now();
    const runId = await seedRun(db, { events: EVENTS, ended: true });
    const seedMs = performance.now() - t0;
    await db.$disconnect();

    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await context.addCookies([{ name: "rampart_session", value: session, url: origin }]);
    await context.addInitScript(watchRows);
    await context.addInitScript((n) => (window as unknown as { benchSeqs: number[] }).benchSeqs.push(n), EVENTS);
    const page = await context.newPage();
    // A first load warms the console (compiled pages, the database's cache), as any page an operator opened before.
    await page.goto(`${origin}/runs/${runId}`);
    await shownAt(page, EVENTS);

    const first: number[] = [];
    const last: number[] = [];
    const top: number[] = [];
    const middle: number[] = [];
    let rows = 0;
    let heapMb = 0;
    for (let i = 0; i < LOADS; i++) {
      await page.goto(`${origin}/runs/${runId}`, { waitUntil: "commit" });
      first.push(await shownAt(page, "any"));
      last.push(await shownAt(page, EVENTS));
      rows = Math.max(rows, await page.locator("[data-seq]").count());
      top.push(await scrollTo(page, "top", 1));
      middle.push(await scrollTo(page, "middle", "any"));
      if (i === LOADS - 1) {
        const cdp = await context.newCDPSession(page);
        await cdp.send("HeapProfiler.collectGarbage");
        heapMb = (await cdp.send("Runtime.getHeapUsage")).usedSize / 1024 / 1024;
      }
    }
    // Download: every line as text, read from the API in pages.
    const t1 = performance.now();
    const downloading = page.waitForEvent("download", { timeout: 120_000 });
    await page.getByRole("button", { name: "Download" }).click();
    const download = await downloading;
    await download.path();
    const downloadMs = performance.now() - t1;

    // Filters and search on a run of FILTER_EVENTS events.
    const db2 = await createDb(`file:${path.join(dataDir, "rampart.db")}`);
    const filterRunId = await seedRun(db2, { events: FILTER_EVENTS, ended: true });
    await db2.$disconnect();
    await page.goto(`${origin}/runs/${filterRunId}`);
    await page.evaluate((n) => (window as unknown as { benchSeqs: number[] }).benchSeqs.push(n), FILTER_EVENTS);
    await shownAt(page, FILTER_EVENTS);
    const byHost: number[] = [];
    const byLevel: number[] = [];
    const bySearch: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      byHost.push(await filterTime(page, { select: "db-1" }, { host: "db-1" }));
      await filterTime(page, { select: "" }, { unfiltered: true });
      byLevel.push(await filterTime(page, { level: "error" }, { level: "error" }));
      await filterTime(page, { level: "All levels" }, { unfiltered: true });
      bySearch.push(await filterTime(page, { search: "batch checked" }, { text: "batch checked" }));
      await filterTime(page, { search: "" }, { unfiltered: true });
    }
    await browser.close();

    const ms = (x: number) => `${Math.round(x)} ms`;
    const rowsOut: Array<[string, string]> = [
      [`seeding the run (${EVENTS.toLocaleString("en")} events, Prisma createMany)`, `${(seedMs / 1000).toFixed(1)} s`],
      [`navigation → first log rows on screen (median of ${LOADS})`, `${ms(median(first))}  (min ${ms(Math.min(...first))}, max ${ms(Math.max(...first))})`],
      [`navigation → last line (seq ${EVENTS.toLocaleString("en")}) on screen`, `${ms(median(last))}  (min ${ms(Math.min(...last))}, max ${ms(Math.max(...last))})`],
      ["scroll to the top → line 1 on screen", ms(median(top))],
      ["scroll to the middle → a line there on screen", ms(median(middle))],
      ["log rows in the page (most seen)", String(rows)],
      ["page JS heap after GC", `${heapMb.toFixed(1)} MB`],
      ["Download (every line as text) → file saved", `${(downloadMs / 1000).toFixed(1)} s`],
      [`${FILTER_EVENTS.toLocaleString("en")} events: host filter → its rows on screen (median)`, `${ms(median(byHost))}  (max ${ms(Math.max(...byHost))})`],
      [`${FILTER_EVENTS.toLocaleString("en")} events: level filter → its rows on screen`, `${ms(median(byLevel))}  (max ${ms(Math.max(...byLevel))})`],
      [`${FILTER_EVENTS.toLocaleString("en")} events: search, last keystroke → matches on screen`, `${ms(median(bySearch))}  (max ${ms(Math.max(...bySearch))})`],
    ];
    console.log(`\nRampart run page benchmark (${os.cpus().length} cores, ${new Date().toISOString()})`);
    for (const [k, v] of rowsOut) console.log(`  ${k.padEnd(62)} ${v}`);
    console.log(`  target: a run of ${EVENTS.toLocaleString("en")} events opens (last line on screen) in under 2 s → ${median(last) < TARGET_MS ? "met" : "NOT met"}`);
    const slowest = Math.max(median(byHost), median(byLevel), median(bySearch));
    console.log(`  target: filter and search on ${FILTER_EVENTS.toLocaleString("en")} events under ${FILTER_TARGET_MS} ms → ${slowest < FILTER_TARGET_MS ? "met" : "NOT met"}`);
  } finally {
    start.kill("SIGTERM");
    await exited;
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
