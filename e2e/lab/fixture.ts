/**
 * Test fixture for the Rampart test lab (e2e/lab/lab.sh).
 *
 *   const lab = await ensureLab(3);          // brings the lab up once per test run
 *   const { stdout } = await labSsh("lab1", ["systemctl", "is-active", "nginx"]);
 *
 * Node builtins only (no npm dependencies), ESM, strict TypeScript, so it can
 * be imported from vitest, Playwright or a script alike. Needs root, like the
 * lab itself. SSH goes through the system `ssh` with the lab's key and a
 * known_hosts built from the host keys pinned in lab.json
 * (StrictHostKeyChecking=yes): a host that presents another key is refused.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** One lab host, as written by `lab.sh up` into lab.json. */
export interface LabHost {
  /** lab1, lab2, ... */
  name: string;
  /** IPv4 address on the lab bridge (.11, .12, ... of the subnet). */
  address: string;
  port: number;
  /** The host's ed25519 public key, "ssh-ed25519 AAAA..." (no comment). */
  hostKey: string;
  /** "SHA256:..." fingerprint of hostKey, as `ssh-keygen -l -E sha256` prints it. */
  fingerprint: string;
  /** Network namespace name (`ip netns exec <netns> ...` reaches the host's network from outside). */
  netns: string;
  /** The host's root filesystem as mounted on the machine (the overlay). */
  root: string;
  /** PID of the host's systemd-nspawn, and of the host's PID 1. */
  pid: number;
  leaderPid: number;
}

/** The lab's state file (lab.json). */
export interface LabInfo {
  version: 1;
  stateFile: string;
  stateDir: string;
  subnet: string;
  bridge: string;
  /** Address of the machine on the lab bridge (the hosts reach the machine here). */
  bridgeAddress: string;
  /** apt-cacher-ng URL the hosts' apt uses. */
  aptProxy: string;
  image: string;
  user: "root";
  /** Private key (ed25519, mode 0600) that logs in as root on every host. */
  sshKey: string;
  sshPublicKey: string;
  /** known_hosts written by lab.sh (the fixture writes its own from hostKey). */
  knownHosts: string;
  hosts: LabHost[];
}

export interface LabSshOptions {
  /** Data written to the remote command's stdin. */
  input?: string | Uint8Array;
  /** Kill ssh after this many ms (default 120 000). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Reject when the remote command exits non-zero (default true). */
  check?: boolean;
}

export interface LabSshResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export class LabSshError extends Error {
  constructor(
    readonly host: string,
    readonly argv: readonly string[],
    readonly result: LabSshResult,
  ) {
    super(`ssh ${host} ${argv.join(" ")} exited with ${result.code ?? result.signal}` + (result.stderr ? `:\n${result.stderr.trimEnd()}` : ""));
    this.name = "LabSshError";
  }
}

/** Path of lab.sh (override with LAB_SCRIPT). */
export const LAB_SCRIPT: string = process.env["LAB_SCRIPT"] ?? fileURLToPath(new URL("./lab.sh", import.meta.url));

const DEFAULT_HOSTS = 3;

type RunResult = LabSshResult;

function run(cmd: string, args: readonly string[], opts: { input?: string | Uint8Array; timeoutMs?: number; signal?: AbortSignal; echoStderr?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (opts.echoStderr) process.stderr.write(d);
    });
    const timer = opts.timeoutMs !== undefined ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on("error", () => {}); // EPIPE when the command exits without reading stdin
    if (opts.input === undefined) child.stdin.end();
    else child.stdin.end(opts.input);
  });
}

/** Settings printed by `lab.sh env` (LAB_STATE_FILE, LAB_SSH_KEY, ...). */
export async function labEnv(): Promise<Record<string, string>> {
  const r = await run("bash", [LAB_SCRIPT, "env"], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`lab.sh env failed: ${r.stderr}`);
  const env: Record<string, string> = {};
  for (const line of r.stdout.split("\n")) {
    const i = line.indexOf("=");
    // Values are plain paths/addresses; lab.sh only quotes (%q) unusual ones.
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1).replace(/^'(.*)'$/, "$1");
  }
  return env;
}

function isLabInfo(v: unknown): v is LabInfo {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Partial<LabInfo>;
  return o.version === 1 && typeof o.sshKey === "string" && Array.isArray(o.hosts);
}

/** The lab's state as written by `lab.sh up`, or undefined if the lab is not up. Does not start anything. */
export async function readLab(): Promise<LabInfo | undefined> {
  const stateFile = (await labEnv())["LAB_STATE_FILE"];
  if (!stateFile || !existsSync(stateFile)) return undefined;
  const parsed: unknown = JSON.parse(await readFile(stateFile, "utf8"));
  if (!isLabInfo(parsed)) throw new Error(`${stateFile} is not a lab state file (version 1)`);
  return parsed;
}

const alive = (pid: number): boolean => pid > 0 && existsSync(`/proc/${pid}`);

let current: { hosts: number; lab: Promise<LabInfo> } | undefined;

/**
 * Make sure the lab runs with at least `hosts` hosts and return its state.
 * Runs `lab.sh up` at most once per process for a given size (lab.sh itself
 * serialises concurrent callers and is a no-op when the lab is up, so
 * parallel test workers share one lab). lab.sh's progress goes to stderr.
 */
export function ensureLab(hosts: number = Number(process.env["LAB_HOSTS"] ?? DEFAULT_HOSTS)): Promise<LabInfo> {
  if (!Number.isInteger(hosts) || hosts < 1) throw new RangeError(`bad host count ${hosts}`);
  if (current && current.hosts >= hosts) return current.lab;
  const lab = (async (): Promise<LabInfo> => {
    const existing = await readLab();
    if (existing && existing.hosts.length >= hosts && existing.hosts.every((h) => alive(h.pid))) {
      return existing;
    }
    const r = await run("bash", [LAB_SCRIPT, "up", String(hosts)], {
      echoStderr: true,
      timeoutMs: 15 * 60_000,
    });
    if (r.code !== 0) {
      throw new Error(`lab.sh up ${hosts} failed (exit ${r.code ?? r.signal}):\n${r.stderr.split("\n").slice(-30).join("\n")}`);
    }
    const info = await readLab();
    if (!info) throw new Error("lab.sh up succeeded but wrote no state file");
    return info;
  })();
  current = { hosts, lab };
  // A failed attempt must not be cached: the next call tries again.
  lab.catch(() => {
    if (current?.lab === lab) current = undefined;
  });
  return lab;
}

/** Find a host by name or address. */
export function labHost(info: LabInfo, nameOrAddress: string): LabHost {
  const h = info.hosts.find((x) => x.name === nameOrAddress || x.address === nameOrAddress);
  if (!h) throw new Error(`no lab host '${nameOrAddress}' (have ${info.hosts.map((x) => x.name).join(", ")})`);
  return h;
}

/** known_hosts content pinning every host's ed25519 key. */
export function labKnownHosts(info: LabInfo): string {
  return info.hosts.map((h) => `${h.port === 22 ? h.address : `[${h.address}]:${h.port}`} ${h.hostKey}\n`).join("");
}

const knownHostsFiles = new Map<string, Promise<string>>();

/** A known_hosts file (in a private temp dir) made from the pinned keys. */
export function labKnownHostsFile(info: LabInfo): Promise<string> {
  const content = labKnownHosts(info);
  let file = knownHostsFiles.get(content);
  if (!file) {
    file = (async () => {
      const dir = await mkdtemp(join(tmpdir(), "rampart-lab-"));
      process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
      const path = join(dir, "known_hosts");
      await writeFile(path, content, { mode: 0o600 });
      return path;
    })();
    knownHostsFiles.set(content, file);
  }
  return file;
}

/** Quote one argument for a POSIX shell (the remote login shell). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Arguments for the system `ssh` to reach `host` as root with pinned host keys (append the remote command). */
export async function labSshArgs(host: string | LabHost, info?: LabInfo): Promise<string[]> {
  const lab = info ?? (await ensureLab());
  const h = typeof host === "string" ? labHost(lab, host) : host;
  return [
    "-i",
    lab.sshKey,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${await labKnownHostsFile(lab)}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "CheckHostIP=no",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
    "-p",
    String(h.port),
    "-T",
    `${lab.user}@${h.address}`,
  ];
}

/**
 * Run `argv` on a lab host over SSH. argv is an argument vector, not a shell
 * string: each element arrives as one literal argument (it is quoted for the
 * remote shell here). For a pipeline, pass ["sh", "-c", "a | b"].
 * Rejects with LabSshError on a non-zero exit unless `check: false`.
 */
export async function labSsh(host: string | LabHost, argv: readonly string[], opts: LabSshOptions = {}): Promise<LabSshResult> {
  if (argv.length === 0) throw new Error("labSsh needs a command");
  const args = await labSshArgs(host);
  const result = await run("ssh", [...args, "--", argv.map(shellQuote).join(" ")], {
    timeoutMs: opts.timeoutMs ?? 120_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if ((opts.check ?? true) && result.code !== 0) {
    throw new LabSshError(typeof host === "string" ? host : host.name, argv, result);
  }
  return result;
}
