// Starts Rampart the way a user does (npm start → scripts/start.sh) on a test port
// with its own data directory and Redis, and stops it (SIGTERM) after the suite.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FullConfig } from "@playwright/test";
import { ALERT_HOOK_PORT } from "./alert-hook";

export default async function globalSetup(_config: FullConfig) {
  const port = process.env.E2E_PORT || "3210";
  // E2E_REUSE_DATA_DIR: start on the data a previous run left (to run one spec with --no-deps
  // against the servers, topologies and runs the whole suite made); fresh by default.
  const reuse = process.env.E2E_REUSE_DATA_DIR;
  const dataDir = reuse || mkdtempSync(path.join(os.tmpdir(), "rampart-e2e-"));
  const child = spawn("bash", ["scripts/start.sh"], {
    env: {
      ...process.env,
      PORT: port,
      DATA_DIR: dataDir,
      REDIS_PORT: process.env.E2E_REDIS_PORT || "6411",
      REDIS_URL: "",
      // The operator's webhook: monitoring.spec.ts listens there.
      ALERT_WEBHOOK_URLS: `http://127.0.0.1:${ALERT_HOOK_PORT}/alerts`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Rampart did not start within 5 minutes:\n${output}`)), 300_000);
    const onData = (d: Buffer) => {
      output += d;
      process.stderr.write(d);
      if (output.includes("First run: create the first admin at") || (reuse && output.includes("Rampart is up at"))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  process.env.E2E_DATA_DIR = dataDir;
  // The one-time link npm start printed, for the first-run journey (access.spec.ts).
  process.env.E2E_SETUP_URL = /First run: create the first admin at (\S+)/.exec(output)?.[1] ?? "";
  return async () => {
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  };
}
