// The whole of Rampart started with npm start, then stopped with SIGTERM while a
// run is in flight and a browser-like client follows it: the worker finishes the
// run, the live stream closes, and everything exits cleanly.
import { spawn } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createDb } from "@/server/db";
import { freePort } from "../support/redis-server";
import { monitoringPorts, waitUntil } from "../support/processes";
import { setupAdminFromStartOutput } from "../support/first-run";

/** The first line Redis answers to PING, without a password. */
function redisPing(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write("PING\r\n"));
    let buf = "";
    s.on("data", (d) => {
      buf += d;
      if (buf.includes("\r\n")) {
        s.destroy();
        resolve(buf.split("\r\n")[0]!);
      }
    });
    s.on("error", reject);
  });
}

describe("npm start and SIGTERM", () => {
  it("drains an active run and closes live streams before exiting 0", async () => {
    const port = await freePort();
    const redisPort = await freePort();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "rampart-life-"));
    const child = spawn("bash", ["scripts/start.sh"], {
      env: { ...process.env, PORT: String(port), REDIS_PORT: String(redisPort), DATA_DIR: dataDir, REDIS_URL: "", ...(await monitoringPorts()) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitUntil(async () => out.includes("First run: create the first admin"), 240_000, "Rampart to start");
    expect(out).toContain(`Rampart is up at http://localhost:${port}`);

    // The control plane's own host: DATA_DIR and what is in it are root's alone, and
    // the Redis it runs refuses a client without its generated password.
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const f of ["rampart.db", "master.key", "redis/password", "redis/redis.conf", "logs/redis.log"]) expect(statSync(path.join(dataDir, f)).mode & 0o077, f).toBe(0);
    const noPassword = await redisPing(redisPort);
    expect(noPassword).toMatch(/^-NOAUTH/);
    const origin = `http://localhost:${port}`;
    const { cookie } = await setupAdminFromStartOutput(out, origin);

    const base = `${origin}/api/trpc`;
    const res = await fetch(`${base}/runs.startSystemCheck`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-rampart-csrf": "1", origin, cookie },
      body: JSON.stringify({ json: { delayBetweenChecksMs: 1000 } }),
    });
    const runId = (await res.json()).result.data.json.id as string;

    const stream = await fetch(`${base}/runs.follow?input=${encodeURIComponent(JSON.stringify({ json: { id: runId } }))}`, { headers: { cookie } });
    const reader = stream.body!.getReader();
    let sse = "";
    const streamClosed = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return true;
        sse += Buffer.from(value).toString();
      }
    })();
    await waitUntil(async () => sse.includes("[1/4] Database"), 20_000, "the first event on the stream");

    const t0 = Date.now();
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(await streamClosed).toBe(true);
    expect(out).toContain("SIGTERM: finishing active runs");

    const db = await createDb(`file:${path.join(dataDir, "rampart.db")}`);
    const run = await db.run.findUniqueOrThrow({ where: { id: runId } });
    await db.$disconnect();
    expect(run.status).toBe("succeeded");
  }, 300_000);
});
