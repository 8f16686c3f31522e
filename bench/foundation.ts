// Foundation benchmark (issue 2). Prints:
//   1. time from the start command (npm start → scripts/start.sh) to the console answering,
//      with the build already done (a fresh data directory, so migrations run);
//   2. RSS of the web and worker processes at idle;
//   3. run-event latency from the worker's emit to the browser receiving it
//      (p50/p95 over 200 events), measured in Debian's Chromium on the run page.
// Run: bash bench/foundation.sh
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium } from "@playwright/test";
import { createDb } from "@/server/db";
import { createRedis } from "@/server/queue/redis";
import { embeddedRedisUrl } from "@/server/env";
import { RunReporter, finishRun } from "@/server/queue/run-events";

const EVENTS = 200;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
};
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main() {
  const port = await freePort();
  const redisPort = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "rampart-bench-"));
  const env = { ...process.env, PORT: String(port), REDIS_PORT: String(redisPort), DATA_DIR: dataDir, REDIS_URL: "" };

  // 1. Start to answering.
  const t0 = performance.now();
  const start: ChildProcess = spawn("bash", ["scripts/start.sh"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  start.stdout!.on("data", (d) => (output += d));
  start.stderr!.on("data", (d) => (output += d));
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/login`);
      if (r.status < 500) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const startMs = performance.now() - t0;
  while (!output.includes("First run:")) await new Promise((r) => setTimeout(r, 50));
  const origin = `http://localhost:${port}`;
  const token = /setup\?token=(\S+)/.exec(output)![1];
  const setup = await fetch(`${origin}/api/trpc/auth.setup`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-rampart-csrf": "1", origin },
    body: JSON.stringify({ json: { token, email: "bench@example.test", name: "Bench", password: "bench password 123" } }),
  });
  const session = /rampart_session=([^;]+)/.exec(setup.headers.get("set-cookie") ?? "")![1]!;

  try {
    // 2. Idle memory, after the console has served a page once.
    await fetch(`${origin}/runs`, { headers: { cookie: `rampart_session=${session}` } });
    await new Promise((r) => setTimeout(r, 3000));
    let web = 0;
    let worker = 0;
    let redis = 0;
    for (const pid of descendants(start.pid!)) {
      const cmd = cmdline(pid);
      if (cmd.includes("dist/worker.mjs")) worker += rssMb(pid);
      else if (cmd.includes("web-server.mjs")) web += rssMb(pid);
      else if (cmd.includes("redis-server")) redis += rssMb(pid);
    }

    // 3. Event latency: the bench plays the worker (same RunReporter code: database
    // insert, then Redis publish) while Chromium follows the run page.
    const db = await createDb(`file:${path.join(dataDir, "rampart.db")}`);
    const publisher = createRedis(embeddedRedisUrl(dataDir, redisPort), "worker");
    const run = await db.run.create({ data: { kind: "system-check", requestedBy: "bench", status: "running" } });
    const reporter = await RunReporter.open(db, publisher, run.id);
    await reporter.emit("status", "running");

    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    });
    const context = await browser.newContext();
    await context.addCookies([{ name: "rampart_session", value: session, url: origin }]);
    const page = await context.newPage();
    await page.goto(`${origin}/runs/${run.id}`);
    await page.waitForSelector('[data-seq="1"]');
    await page.evaluate(() => {
      const w = window as unknown as { arrivals: Record<number, number> };
      w.arrivals = {};
      new MutationObserver((muts) => {
        const now = Date.now();
        for (const m of muts)
          for (const n of m.addedNodes) {
            const seq = (n as HTMLElement).dataset?.seq;
            if (seq) w.arrivals[Number(seq)] = now;
          }
      }).observe(document.querySelector('[role="log"]')!, { childList: true, subtree: true });
    });

    const emitted = new Map<number, number>();
    for (let i = 1; i <= EVENTS; i++) {
      const at = Date.now();
      const e = await reporter.info(`bench event ${i}`);
      emitted.set(e.seq, at);
      await new Promise((r) => setTimeout(r, 10));
    }
    await finishRun(db, reporter, "succeeded", "bench");
    const lastSeq = Math.max(...emitted.keys());
    await page.waitForSelector(`[data-seq="${lastSeq}"]`, { timeout: 30_000 });
    const arrivals = await page.evaluate(() => (window as unknown as { arrivals: Record<number, number> }).arrivals);
    const latencies = [...emitted]
      .map(([seq, at]) => (arrivals[seq] ?? NaN) - at)
      .filter((x) => !Number.isNaN(x))
      .sort((a, b) => a - b);
    await browser.close();
    publisher.disconnect();
    await db.$disconnect();

    const rows: Array<[string, string]> = [
      ["start command → console answering (built, fresh data dir)", `${(startMs / 1000).toFixed(2)} s`],
      ["RSS at idle: web (scripts/web-server.mjs, Next.js)", `${web.toFixed(0)} MB`],
      ["RSS at idle: worker", `${worker.toFixed(0)} MB`],
      ["RSS at idle: redis-server", `${redis.toFixed(0)} MB`],
      [`run-event latency, worker emit → browser (${latencies.length}/${EVENTS} events)`, `p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, max ${latencies.at(-1)} ms`],
    ];
    console.log(`\nRampart foundation benchmark (${os.cpus().length} cores, ${new Date().toISOString()})`);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(68)} ${v}`);
    console.log(`  target: event latency p95 < 100 ms → ${percentile(latencies, 95) < 100 ? "met" : "NOT met"}`);
  } finally {
    await new Promise<void>((resolve) => {
      start.once("exit", () => resolve());
      start.kill("SIGTERM");
    });
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
