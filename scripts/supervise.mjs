// Runs Rampart's processes together: Redis (unless REDIS_URL is set), Prometheus and
// Alertmanager (unless PROMETHEUS_URL is set), the worker and the console (or only one
// of them: RAMPART_PROCESSES). Prints the URL once the console answers. On
// SIGTERM/SIGINT it stops the console and the worker gracefully (they finish what
// they are doing), then Prometheus, Alertmanager and Redis. A worker, Prometheus or
// Alertmanager that dies is restarted; if the console or Redis dies, all stop.
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { alertmanagerConfig, prometheusConfig } from "./prometheus-config.mjs";

const env = { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" };
const port = Number(env.PORT || 3000);
const bind = env.BIND_ADDRESS || "127.0.0.1";
const dataDir = path.resolve(env.DATA_DIR || "./data");
const redisPort = Number(env.REDIS_PORT || 6390);
const prometheusPort = Number(env.PROMETHEUS_PORT || 9390);
const alertmanagerPort = Number(env.ALERTMANAGER_PORT || 9393);
const logDir = path.join(dataDir, "logs");
// DATA_DIR holds the database, the master key, Redis's data and logs: only root (its
// owner) reads it. Everything Rampart's processes create in it is 0600 / 0700.
process.umask(0o077);
mkdirSync(logDir, { recursive: true });
chmodSync(dataDir, 0o700);

const say = (msg) => process.stderr.write(`\x1b[1;34m[rampart]\x1b[0m ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`\x1b[1;31m[rampart]\x1b[0m ${msg}\n`);
  process.exit(1);
};

const children = new Map(); // name -> ChildProcess
let stopping = false;

function start(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { env, stdio: opts.stdio ?? ["ignore", "inherit", "inherit"] });
  children.set(name, child);
  child.on("exit", (code, signal) => {
    children.delete(name);
    opts.onExit?.(code, signal);
  });
  return child;
}

function redisAnswers(p) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port: p });
    let buf = "";
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      buf += d;
      if (buf.includes("\r\n")) {
        s.destroy();
        resolve(buf.startsWith("+PONG") || buf.startsWith("-NOAUTH"));
      }
    });
    s.on("error", () => resolve(false));
  });
}

async function waitFor(check, ms, what) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stderr.write(`\x1b[1;31m[rampart]\x1b[0m ${what} did not come up within ${ms / 1000} s\n`);
  await stopAll(1); // never leave Redis, the worker or the console behind
}

async function startRedis() {
  const dir = path.join(dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const pidfile = path.join(dir, "redis.pid");
  // A Redis of ours left over from a start that was killed: stop it, by its PID.
  if (existsSync(pidfile)) {
    const pid = Number(readFileSync(pidfile, "utf8").trim());
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (comm.startsWith("redis-server")) {
        say(`stopping a Redis left over from an earlier start (pid ${pid})`);
        process.kill(pid, "SIGTERM");
        await waitFor(async () => !existsSync(`/proc/${pid}`), 10_000, "the old Redis to stop");
      }
    } catch {
      /* not running */
    }
  }
  if (await redisAnswers(redisPort)) fail(`port ${redisPort} is already used by another Redis; set REDIS_PORT to a free port, or REDIS_URL to use that server`);
  const log = openSync(path.join(logDir, "redis.log"), "a");
  // A password of its own, generated once (mode 0600), so that another user of this
  // machine cannot talk to Rampart's Redis on 127.0.0.1. It goes in a configuration
  // file, not on the command line (which every local user can read).
  const passwordFile = path.join(dir, "password");
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(24).toString("hex") + "\n", { mode: 0o600 });
  const password = readFileSync(passwordFile, "utf8").trim();
  const conf = path.join(dir, "redis.conf");
  writeFileSync(conf, `# Written by Rampart at each start.\nrequirepass ${password}\n`, { mode: 0o600 });
  const args = [
    conf,
    "--port",
    String(redisPort),
    "--bind",
    "127.0.0.1",
    "--protected-mode",
    "yes",
    "--dir",
    dir,
    "--pidfile",
    pidfile,
    "--daemonize",
    "no",
    "--appendonly",
    "yes",
    "--maxmemory-policy",
    "noeviction",
    "--save",
    "",
  ];
  start("redis", "redis-server", args, {
    stdio: ["ignore", log, log],
    onExit: (code, signal) => {
      if (!stopping) {
        say(`Redis exited (${signal ?? code}); stopping Rampart. See ${path.join(logDir, "redis.log")}`);
        void stopAll(1);
      }
    },
  });
  await waitFor(() => redisAnswers(redisPort), 10_000, `Redis on port ${redisPort}`);
  env.REDIS_URL = `redis://:${password}@127.0.0.1:${redisPort}`;
}

/** GET url answers 200 (Prometheus's and Alertmanager's /-/ready). */
async function ready(url) {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200;
  } catch {
    return false;
  }
}

/** A child that is restarted with backoff when it dies (until Rampart stops). */
function startKept(name, cmd, args, logFile) {
  let restarts = 0;
  const run = () =>
    start(name, cmd, args, {
      stdio: ["ignore", openSync(logFile, "a"), openSync(logFile, "a")],
      onExit: (code, signal) => {
        if (stopping) return;
        restarts++;
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(restarts, 5));
        say(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s. See ${logFile}`);
        setTimeout(() => !stopping && run(), delay);
      },
    });
  run();
}

/**
 * The embedded time-series store and alerting: Prometheus and Alertmanager on
 * loopback, their data in DATA_DIR/prometheus. Prometheus scrapes Rampart's own
 * /metrics with a token of its own (DATA_DIR/prometheus/metrics-token, generated once),
 * and the servers' exporters from the target files Rampart writes (targets/).
 */
async function startMonitoring() {
  const dir = path.join(dataDir, "prometheus");
  for (const d of ["data", "targets", "rules", "alertmanager", "tls"]) mkdirSync(path.join(dir, d), { recursive: true });
  for (const [what, p] of [
    ["Prometheus", prometheusPort],
    ["Alertmanager", alertmanagerPort],
  ])
    if (await ready(`http://127.0.0.1:${p}/-/ready`))
      fail(`port ${p} is already used by another ${what}; set ${what.toUpperCase()}_PORT to a free port, or PROMETHEUS_URL (and ALERTMANAGER_URL) to use existing ones`);
  const tokenFile = path.join(dir, "metrics-token");
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(24).toString("hex") + "\n", { mode: 0o600 });
  const consoleHost = bind === "0.0.0.0" ? "127.0.0.1" : bind;
  const config = path.join(dir, "prometheus.yml");
  writeFileSync(config, prometheusConfig({ dir, rampartTarget: `${consoleHost}:${port}`, alertmanager: `127.0.0.1:${alertmanagerPort}` }), { mode: 0o600 });
  // The alerting rules (rules/rampart.yml) are the worker's to write, with the thresholds set in the console.
  // Alertmanager delivers every alert to Rampart with a token of its own, and to the operator's webhooks.
  const amTokenFile = path.join(dir, "alertmanager-token");
  if (!existsSync(amTokenFile)) writeFileSync(amTokenFile, randomBytes(24).toString("hex") + "\n", { mode: 0o600 });
  const webhooks = (env.ALERT_WEBHOOK_URLS || "")
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
  for (const u of webhooks) {
    let ok = false;
    try {
      ok = ["http:", "https:"].includes(new URL(u).protocol);
    } catch {
      // refused below
    }
    if (!ok) fail(`ALERT_WEBHOOK_URLS: ${JSON.stringify(u)} is not an http:// or https:// URL`);
  }
  const amConfig = path.join(dir, "alertmanager.yml");
  writeFileSync(amConfig, alertmanagerConfig({ rampartUrl: `http://${consoleHost}:${port}/api/alertmanager`, tokenFile: amTokenFile, webhooks }), { mode: 0o600 });
  startKept(
    "prometheus",
    "prometheus",
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${prometheusPort}`, "--web.enable-lifecycle", "--storage.tsdb.retention.time=15d"],
    path.join(logDir, "prometheus.log"),
  );
  startKept(
    "alertmanager",
    "prometheus-alertmanager",
    [`--config.file=${amConfig}`, `--storage.path=${path.join(dir, "alertmanager")}`, `--web.listen-address=127.0.0.1:${alertmanagerPort}`, "--cluster.listen-address="],
    path.join(logDir, "alertmanager.log"),
  );
  await waitFor(() => ready(`http://127.0.0.1:${prometheusPort}/-/ready`), 30_000, `Prometheus on port ${prometheusPort}`);
  await waitFor(() => ready(`http://127.0.0.1:${alertmanagerPort}/-/ready`), 30_000, `Alertmanager on port ${alertmanagerPort}`);
  env.PROMETHEUS_URL = `http://127.0.0.1:${prometheusPort}`;
  env.ALERTMANAGER_URL = `http://127.0.0.1:${alertmanagerPort}`;
}

let workerRestarts = 0;
function startWorker() {
  const startedAt = Date.now();
  start("worker", process.execPath, ["dist/worker.mjs"], {
    onExit: (code, signal) => {
      if (stopping) return;
      // Exit 1 within seconds of starting: it refused to start, and its message says why.
      if (code === 1 && !signal && Date.now() - startedAt < 10_000) return void stopAll(1);
      workerRestarts++;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(workerRestarts, 5));
      say(`worker exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s`);
      setTimeout(() => !stopping && startWorker(), delay);
    },
  });
}

function startWeb() {
  start("web", process.execPath, ["scripts/web-server.mjs"], {
    stdio: ["ignore", openSync(path.join(logDir, "web.log"), "a"), "inherit"],
    onExit: (code, signal) => {
      if (!stopping) {
        say(`the console exited (${signal ?? `code ${code}`}); stopping Rampart. See ${path.join(logDir, "web.log")}`);
        void stopAll(1);
      }
    },
  });
}

async function consoleAnswers() {
  try {
    const res = await fetch(`http://${bind === "0.0.0.0" ? "127.0.0.1" : bind}:${port}/api/trpc/system.status`);
    return res.status < 500;
  } catch {
    return false;
  }
}

function stopChild(name, timeoutMs) {
  const child = children.get(name);
  if (!child) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      say(`${name} did not stop within ${timeoutMs / 1000} s; killing it`);
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  say("stopping: the console and the worker finish what they are doing");
  const workerTimeout = Number(env.WORKER_SHUTDOWN_TIMEOUT_MS || 30_000) + 10_000;
  await Promise.all([stopChild("web", 15_000), stopChild("worker", workerTimeout)]);
  await Promise.all([stopChild("prometheus", 15_000), stopChild("alertmanager", 15_000)]);
  await stopChild("redis", 15_000);
  say("stopped");
  process.exit(code);
}

process.on("SIGTERM", () => void stopAll(0));
process.on("SIGINT", () => void stopAll(0));

const t0 = Date.now();
if (!env.REDIS_URL) await startRedis();
try {
  execFileSync(process.execPath, ["dist/preflight.mjs", "--stage=services"], { env, stdio: ["ignore", "inherit", "inherit"] });
} catch {
  // preflight printed the reason; stop our Redis quietly and give up
  stopping = true;
  children.get("redis")?.kill("SIGTERM");
  process.exit(1);
}
if (!env.PROMETHEUS_URL && (env.RAMPART_PROCESSES || "all") !== "worker") await startMonitoring();
// RAMPART_PROCESSES (checked by preflight): both here, or only one of them (several machines).
const processes = env.RAMPART_PROCESSES || "all";
if (processes !== "console") startWorker();
if (processes === "worker") {
  say(`Rampart worker started (in ${((Date.now() - t0) / 1000).toFixed(1)} s; logs in ${logDir}); it takes runs from ${env.REDIS_URL.replace(/\/\/[^@/]*@/, "//****@")}`);
  await new Promise(() => {}); // until SIGTERM
}
startWeb();
await waitFor(consoleAnswers, 60_000, "The console");
const host = bind === "0.0.0.0" || bind === "127.0.0.1" ? "localhost" : bind;
const url = (env.PUBLIC_URL || `http://${host}:${port}`).replace(/\/+$/, "");
say(`Rampart is up at ${url} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; data in ${dataDir}; logs in ${logDir})`);
const keyFlag = path.join(dataDir, ".master-key-created");
if (existsSync(keyFlag)) {
  say(`Created the master key ${path.join(dataDir, "master.key")} (mode 0600). It encrypts SSH keys and other secrets: BACK IT UP, without it they cannot be read.`);
  rmSync(keyFlag, { force: true });
}
// First run: no user yet. Print a one-time link to create the first admin.
try {
  const token = execFileSync(process.execPath, ["dist/preflight.mjs", "--stage=setup-link"], { env, encoding: "utf8" }).trim();
  if (token) say(`First run: create the first admin at ${url}/setup?token=${token} (this link works once, for 24 hours)`);
} catch {
  say("could not create a setup link; see the message above");
}
