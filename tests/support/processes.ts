// Starting Rampart's real processes (the bundled worker) from tests.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";

export function requireBuild() {
  if (!existsSync("dist/worker.mjs")) throw new Error("dist/worker.mjs is missing: run `bash scripts/build-node.sh` (npm test does it)");
}

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWorker(env: Record<string, string>): WorkerProcess {
  requireBuild();
  const child = spawn(process.execPath, ["dist/worker.mjs"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

export async function waitUntil<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Free loopback ports for the Prometheus and Alertmanager an `npm start` runs, so that several can run at once. */
export async function monitoringPorts(): Promise<{ PROMETHEUS_PORT: string; ALERTMANAGER_PORT: string }> {
  const { freePort } = await import("./redis-server");
  return { PROMETHEUS_PORT: String(await freePort()), ALERTMANAGER_PORT: String(await freePort()) };
}
