// Run page benchmark (issue 17). Starts Rampart like a user does (npm start →
// scripts/start.sh, built already) on free ports with a fresh data directory, writes a
// finished run of 100,000 events into its database, and opens the run page in
// Debian's Chromium several times. Prints, as medians over the loads:
//   1. navigation → the first log rows on screen,
//   2. navigation → the run's last line (seq 100,000) on screen,
//   3. scrolling to the top → line 1 on screen, and to the middle → a line there,
//   4. the rows in the page, and the page's JS heap after a garbage collection.
// Target: the run opens (its last lines on screen) in under 2 s.
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

/** Milliseconds since the page's navigation started when `seq` (or any row, seq = 0) is inside the log's visible box. */
async function shownAt(page: Page, seq: number, timeout = 60_000): Promise<number> {
  const handle = await page.waitForFunction(
    (s) => {
      const log = document.querySelector('[role="log"]');
      const row = log?.querySelector(s > 0 ? `[data-seq="${s}"]` : "[data-seq]");
      if (!log || !row) return false;
      const a = log.getBoundingClientRect();
      const b = row.getBoundingClientRect();
      return b.top >= a.top - 1 && b.bottom <= a.bottom + 1 ? performance.now() : false;
    },
    seq,
    { polling: "raf", timeout },
  );
  return (await handle.jsonValue()) as number;
}

/** Scrolls the log and returns how long until `seq` is on screen. */
async function scrollTo(page: Page, where: "top" | "middle", seq: number): Promise<number> {
  const t0 = await page.evaluate((w) => {
    const log = document.querySelector('[role="log"]')!;
    const t = performance.now();
    log.scrollTop = w === "top" ? 0 : log.scrollHeight / 2 - log.clientHeight / 2;
    return t;
  }, where);
  return (await shownAt(page, seq)) - t0;
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
      first.push(await shownAt(page, 0));
      last.push(await shownAt(page, EVENTS));
      rows = Math.max(rows, await page.locator("[data-seq]").count());
      top.push(await scrollTo(page, "top", 1));
      middle.push(await scrollTo(page, "middle", 0));
      if (i === LOADS - 1) {
        const cdp = await context.newCDPSession(page);
        await cdp.send("HeapProfiler.collectGarbage");
        heapMb = (await cdp.send("Runtime.getHeapUsage")).usedSize / 1024 / 1024;
      }
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
    ];
    console.log(`\nRampart run page benchmark (${os.cpus().length} cores, ${new Date().toISOString()})`);
    for (const [k, v] of rowsOut) console.log(`  ${k.padEnd(62)} ${v}`);
    console.log(`  target: a run of ${EVENTS.toLocaleString("en")} events opens (last line on screen) in under 2 s → ${median(last) < TARGET_MS ? "met" : "NOT met"}`);
  } finally {
    start.kill("SIGTERM");
    await exited;
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
