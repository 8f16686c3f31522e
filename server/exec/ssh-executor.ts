// The only code that touches SSH. One pooled connection per host (keepalive,
// bounded reconnect with backoff), one channel per command, at most
// `maxChannels` at once per connection (OpenSSH's MaxSessions is 10). A
// connection is never closed while it has open channels. The pinned host key is
// verified on every connection, before authentication.
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import ssh2, { type ClientChannel, type SFTPWrapper } from "ssh2";
import type { Secret } from "../secrets/secret";
import { type Command, describeCommand, PGID_MARKER, renderCancellable, renderKillGroup } from "../provision/command";
import { fingerprintOfBlob } from "./keys";
import {
  AuthFailedError,
  CancelledError,
  CommandFailedError,
  type ExecError,
  HostKeyMismatchError,
  HostKeyUnknownError,
  TimeoutError,
  UnreachableError,
} from "./errors";

export interface Target {
  /** For messages: the server's name. */
  name: string;
  address: string;
  port: number;
  user: string;
  privateKey: Secret;
  passphrase?: Secret | null;
  /** The pinned host key ("ssh-ed25519 AAAA…"), or null on first contact. */
  hostKey: string | null;
}

export interface RunOptions {
  signal?: AbortSignal;
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** stdout/stderr were longer than the capture limit and were cut (lines were still streamed). */
  truncated: boolean;
}

export interface UploadFile {
  path: string;
  content: string | Buffer | Secret;
  mode: number;
  owner?: string;
  group?: string;
}

export interface ExecutorOptions {
  maxChannels?: number;
  readyTimeoutMs?: number;
  keepaliveMs?: number;
  idleCloseMs?: number;
  connectAttempts?: number;
  /** Bytes of stdout and of stderr kept in the result (lines are streamed regardless). */
  captureLimit?: number;
  maxLineLength?: number;
}

// ssh2 is CommonJS: take its members from the default export (named imports fail under Node ESM).
const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

const KILL_GRACE_MS = 3000;
const LAST_LINES = 20;

class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

class HostConnection {
  readonly slots: Semaphore;
  channels = 0;
  lastUsed = Date.now();
  closed = false;
  constructor(
    readonly client: Client,
    readonly hostKey: string,
    maxChannels: number,
  ) {
    this.slots = new Semaphore(maxChannels);
  }
}

// The login key is part of a connection's identity: another key must not reuse a session.
/** The host-key algorithms that can present a key of this type. */
function algorithmsFor(keyType: string): Array<"ssh-ed25519" | "rsa-sha2-512" | "rsa-sha2-256" | "ssh-rsa" | "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521"> | undefined {
  if (keyType === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  if (keyType === "ssh-ed25519" || keyType === "ecdsa-sha2-nistp256" || keyType === "ecdsa-sha2-nistp384" || keyType === "ecdsa-sha2-nistp521") return [keyType];
  return undefined;
}

const keyOf = (t: Target) => `${t.user}@${t.address}:${t.port}#${createHash("sha256").update(t.privateKey.reveal()).digest("hex").slice(0, 16)}`;
const label = (t: Target) => `${t.name} (${t.address}:${t.port})`;

export class SshExecutor {
  private readonly pool = new Map<string, Promise<HostConnection>>();
  private readonly opts: Required<ExecutorOptions>;
  private readonly idleTimer: NodeJS.Timeout;
  /** Counters for tests and benchmarks. */
  readonly stats = { connectionsOpened: 0, channelsOpened: 0 };

  constructor(opts: ExecutorOptions = {}) {
    this.opts = {
      // Below OpenSSH's MaxSessions (10): a closing session still counts on the server for a moment.
      maxChannels: 6,
      readyTimeoutMs: 10_000,
      keepaliveMs: 15_000,
      idleCloseMs: 5 * 60_000,
      connectAttempts: 3,
      captureLimit: 4 * 1024 * 1024,
      maxLineLength: 16 * 1024,
      ...opts,
    };
    this.idleTimer = setInterval(() => this.closeIdle(), Math.min(this.opts.idleCloseMs, 60_000));
    this.idleTimer.unref();
  }

  /** Runs one command and resolves when it exits 0; rejects with a typed ExecError otherwise. */
  async run(target: Target, cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    const result = await this.exec(target, cmd, opts);
    if (result.exitCode !== 0) {
      const lines = `${result.stdout}\n${result.stderr}`.split("\n").filter((l) => l.trim() !== "");
      throw new CommandFailedError(label(target), describeCommand(cmd), result.exitCode, null, lines.slice(-LAST_LINES));
    }
    return result;
  }

  /** Runs one command and resolves with its exit code, whatever it is. */
  async exec(target: Target, cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    opts.signal?.throwIfAborted();
    const conn = await this.connection(target);
    // Counted before waiting for a slot, so forget()/closeIdle never end a connection a caller is about to use.
    conn.channels++;
    const release = await conn.slots.acquire();
    try {
      return await this.execOn(conn, target, cmd, opts);
    } finally {
      conn.channels--;
      conn.lastUsed = Date.now();
      release();
    }
  }

  /** Writes a file atomically (temporary file + rename) with its mode and owner. */
  async upload(target: Target, file: UploadFile, opts: RunOptions = {}): Promise<void> {
    const content = typeof file.content === "string" ? Buffer.from(file.content) : Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content.reveal());
    const tmp = path.posix.join(path.posix.dirname(file.path), `.${path.posix.basename(file.path)}.rampart-${randomBytes(4).toString("hex")}`);
    const mode = (file.mode & 0o7777).toString(8).padStart(4, "0");
    const owner = `${file.owner ?? "root"}:${file.group ?? file.owner ?? "root"}`;
    // Constant scripts; every value arrives as a positional argument.
    // chown before chmod: chown clears setuid/setgid bits. The trap removes the
    // temporary copy if anything fails (after a successful mv there is nothing left).
    const finish = 'set -e; trap \'rm -f -- "$3"\' EXIT; chown "$2" "$3"; chmod "$1" "$3"; mv -f -- "$3" "$4"';
    let viaSftp = false;
    if (target.user === "root") {
      try {
        await this.sftpWrite(target, tmp, content);
        viaSftp = true;
      } catch {
        viaSftp = false; // no SFTP subsystem: fall back to stdin
      }
    }
    if (viaSftp) {
      await this.run(target, { argv: ["sh", "-c", finish, "rampart-upload", mode, owner, tmp, file.path] }, opts);
    } else {
      const script = `set -e; trap 'rm -f -- "$3"' EXIT; umask 077; cat > "$3"; ${finish}`;
      await this.run(target, { argv: ["sh", "-c", script, "rampart-upload", mode, owner, tmp, file.path], stdin: content }, opts);
    }
  }

  /** Closes every connection that has no open channel; waits for the others to finish. */
  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    const conns = await Promise.allSettled([...this.pool.values()]);
    this.pool.clear();
    await Promise.all(
      conns.map(async (c) => {
        if (c.status !== "fulfilled") return;
        while (c.value.channels > 0) await new Promise((r) => setTimeout(r, 50));
        c.value.closed = true;
        c.value.client.end();
      }),
    );
  }

  /** Drops a host's pooled connection (after its key was re-pinned, say) once it is idle. */
  forget(target: Target): void {
    const entry = this.pool.get(keyOf(target));
    this.pool.delete(keyOf(target));
    void entry?.then((c) => this.endWhenIdle(c), () => {});
  }

  private async endWhenIdle(c: HostConnection): Promise<void> {
    while (c.channels > 0) await new Promise((r) => setTimeout(r, 50));
    c.closed = true;
    c.client.end();
  }

  private closeIdle() {
    const now = Date.now();
    for (const [key, p] of this.pool) {
      void p.then((c) => {
        if (c.channels === 0 && now - c.lastUsed > this.opts.idleCloseMs && this.pool.get(key) === p) {
          this.pool.delete(key);
          c.closed = true;
          c.client.end();
        }
      }, () => {});
    }
  }

  private async connection(target: Target): Promise<HostConnection> {
    const key = keyOf(target);
    const existing = this.pool.get(key);
    if (existing) {
      const conn = await existing.catch(() => null);
      if (conn && !conn.closed && conn.hostKey === (target.hostKey ?? "")) return conn;
      if (this.pool.get(key) === existing) {
        this.pool.delete(key);
        if (conn && !conn.closed) this.endWhenIdle(conn); // pinned key changed: retire the old connection
      }
      // Another caller may have started a new connection while we waited.
      const current = this.pool.get(key);
      if (current && current !== existing) return this.connection(target);
    }
    const fresh = this.connectWithRetry(target);
    this.pool.set(key, fresh);
    fresh.catch(() => {
      if (this.pool.get(key) === fresh) this.pool.delete(key);
    });
    return fresh;
  }

  private async connectWithRetry(target: Target): Promise<HostConnection> {
    let delay = 500;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connect(target);
      } catch (err) {
        const transient = err instanceof UnreachableError || err instanceof TimeoutError;
        if (!transient || attempt >= this.opts.connectAttempts) throw err;
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }

  private connect(target: Target): Promise<HostConnection> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let hostKeyError: ExecError | null = null;
      let settled = false;
      const pinned = target.hostKey?.trim().split(/\s+/).slice(0, 2) ?? null;
      client.on("ready", () => {
        settled = true;
        // Small request/response packets: without this, Nagle and delayed ACKs add ~40 ms per command.
        client.setNoDelay(true);
        this.stats.connectionsOpened++;
        const conn = new HostConnection(client, target.hostKey ?? "", this.opts.maxChannels);
        client.on("close", () => {
          conn.closed = true;
        });
        resolve(conn);
      });
      client.on("error", (err: Error & { level?: string; code?: string }) => {
        if (settled) return;
        settled = true;
        client.end();
        if (hostKeyError) return reject(hostKeyError);
        const where = label(target);
        if (err.level === "client-authentication") return reject(new AuthFailedError(`${where} refused the key for ${target.user} (check the key is in ~${target.user}/.ssh/authorized_keys)`, where));
        if (err.level === "client-timeout" || /Timed out while waiting for handshake/.test(err.message))
          return reject(new TimeoutError(`${where} did not complete the SSH handshake within ${this.opts.readyTimeoutMs / 1000} s`, where));
        if (err.code && ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET"].includes(err.code))
          return reject(new UnreachableError(`${where} is unreachable: ${err.code}${err.code === "ECONNREFUSED" ? " (is sshd running on that port?)" : ""}`, where));
        reject(new UnreachableError(`${where}: ${err.message}`, where));
      });
      client.on("close", () => {
        if (!settled) {
          settled = true;
          reject(hostKeyError ?? new UnreachableError(`${label(target)} closed the connection during the handshake`, label(target)));
        }
      });
      // Ask for the pinned key's own type: a server has several host keys, and ssh2
      // would otherwise pick ed25519 and report a "changed" key for an RSA pin.
      const hostKeyAlgorithms = pinned ? algorithmsFor(pinned[0]!) : undefined;
      client.connect({
        ...(hostKeyAlgorithms ? { algorithms: { serverHostKey: hostKeyAlgorithms } } : {}),
        host: target.address,
        port: target.port,
        username: target.user,
        privateKey: target.privateKey.reveal(),
        passphrase: target.passphrase?.reveal(),
        readyTimeout: this.opts.readyTimeoutMs,
        keepaliveInterval: this.opts.keepaliveMs,
        keepaliveCountMax: 3,
        // Called before authentication: a wrong key means we never log in, let alone run anything.
        hostVerifier: (blob: Buffer) => {
          const nameLen = blob.readUInt32BE(0);
          const presented = { type: blob.subarray(4, 4 + nameLen).toString(), base64: blob.toString("base64"), fingerprint: fingerprintOfBlob(blob) };
          if (!pinned) {
            hostKeyError = new HostKeyUnknownError(label(target), presented);
            return false;
          }
          if (pinned[0] !== presented.type || pinned[1] !== presented.base64) {
            const expected = pinned[1] ? fingerprintOfBlob(Buffer.from(pinned[1], "base64")) : "a pinned key";
            hostKeyError = new HostKeyMismatchError(label(target), expected, presented);
            return false;
          }
          return true;
        },
      });
    });
  }

  private sftpWrite(target: Target, file: string, content: Buffer): Promise<void> {
    return this.connection(target).then(
      (conn) =>
        new Promise<void>((resolve, reject) => {
          conn.channels++;
          conn.client.sftp((err: Error | undefined, sftp: SFTPWrapper) => {
            if (err) {
              conn.channels--;
              return reject(err);
            }
            sftp.writeFile(file, content, { mode: 0o600 }, (werr) => {
              sftp.end();
              conn.channels--;
              conn.lastUsed = Date.now();
              if (werr) reject(werr);
              else resolve();
            });
          });
        }),
    );
  }

  /**
   * Opens an exec channel, retrying briefly when the server is still tearing down
   * closed sessions. `attach` runs synchronously in ssh2's callback: the command's
   * output and exit status may arrive in the same packet batch as the channel
   * confirmation, before a promise continuation could add listeners.
   */
  private openChannel(conn: HostConnection, line: string, where: string, attach: (stream: ClientChannel) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let attempt = 0;
      const tryOpen = () => {
        conn.client.exec(line, (err: Error | undefined, stream: ClientChannel) => {
          if (!err) {
            attach(stream);
            return resolve();
          }
          if (/open failed/i.test(err.message) && attempt < 6 && !conn.closed) {
            attempt++;
            setTimeout(tryOpen, 50 * 2 ** attempt);
            return;
          }
          reject(new UnreachableError(`${where}: could not open a channel: ${err.message}`, where));
        });
      };
      tryOpen();
    });
  }

  /** Runs a short helper command (a kill) on a connection, outside the channel limit. */
  private async sideCommand(conn: HostConnection, line: string, where: string): Promise<void> {
    let done!: () => void;
    const closed = new Promise<void>((r) => (done = r));
    const opened = await this.openChannel(conn, line, where, (stream) => {
      stream.on("close", () => done());
      stream.on("data", () => {});
      stream.stderr.on("data", () => {});
      stream.end();
    }).then(() => true, () => false);
    if (opened) await closed;
  }

  private async execOn(conn: HostConnection, target: Target, cmd: Command, opts: RunOptions): Promise<RunResult> {
    const where = label(target);
    const line = renderCancellable(cmd, target.user);
    const asRoot = cmd.asRoot ?? true;
    const started = Date.now();
    const secrets = (cmd.secrets ?? []).map((s) => s.reveal()).filter((s) => s.length >= 4);
    const hide = (s: string) => secrets.reduce((acc, v) => acc.split(v).join("[redacted]"), s);
    let settle!: { resolve: (r: RunResult) => void; reject: (e: unknown) => void };
    const result = new Promise<RunResult>((resolve, reject) => (settle = { resolve, reject }));
    await this.openChannel(conn, line, where, (stream) => this.attachCommand(stream, conn, target, cmd, opts, started, hide, asRoot, settle));
    this.stats.channelsOpened++;
    return result;
  }

  private attachCommand(
    stream: ClientChannel,
    conn: HostConnection,
    target: Target,
    cmd: Command,
    opts: RunOptions,
    started: number,
    hide: (s: string) => string,
    asRoot: boolean,
    { resolve, reject }: { resolve: (r: RunResult) => void; reject: (e: unknown) => void },
  ): void {
    const where = label(target);
    const captured = { stdout: "", stderr: "" };
    const partial = { stdout: "", stderr: "" };
    let truncated = false;
    let stopReason: ExecError | null = null;
    let pgid: number | null = null;
    let markerSeen = false;
    const timers: NodeJS.Timeout[] = [];

    const max = this.opts.maxLineLength;
    // Very long lines are passed on in pieces rather than held (or sent) whole.
    const line = (which: "stdout" | "stderr", l: string) => {
      for (let i = 0; i + max < l.length; i += max) opts.onLine?.(which, `${hide(l.slice(i, i + max))} …(line continues)`);
      opts.onLine?.(which, hide(l.slice(Math.floor(Math.max(0, l.length - 1) / max) * max)));
    };

    const emit = (which: "stdout" | "stderr", text: string) => {
      if (which === "stderr" && !markerSeen) {
        // The wrapper's first stderr line is the process group id: keep it, show nothing.
        const buf = partial.stderr + text;
        const nl = buf.indexOf("\n");
        if (nl < 0 && buf.length < 64) {
          partial.stderr = buf;
          return;
        }
        markerSeen = true;
        partial.stderr = "";
        const first = nl < 0 ? buf : buf.slice(0, nl);
        if (first.startsWith(PGID_MARKER)) {
          pgid = Number(first.slice(PGID_MARKER.length));
          text = nl < 0 ? "" : buf.slice(nl + 1);
          if (stopReason) kill();
        } else text = buf;
        if (!text) return;
      }
      const room = this.opts.captureLimit - captured[which].length;
      if (text.length <= room) captured[which] += text;
      else {
        captured[which] += text.slice(0, Math.max(0, room));
        truncated = true;
      }
      partial[which] += text;
      let nl: number;
      while ((nl = partial[which].indexOf("\n")) >= 0) {
        line(which, partial[which].slice(0, nl));
        partial[which] = partial[which].slice(nl + 1);
      }
      while (partial[which].length > max) {
        opts.onLine?.(which, `${hide(partial[which].slice(0, max))} …(line continues)`);
        partial[which] = partial[which].slice(max);
      }
    };
    stream.on("data", (d: Buffer) => emit("stdout", d.toString("utf8")));
    stream.stderr.on("data", (d: Buffer) => emit("stderr", d.toString("utf8")));

    // TERM to the whole process group, KILL if it lingers, then give up on the channel.
    let killing = false;
    const kill = () => {
      if (killing || pgid === null) return;
      killing = true;
      void this.sideCommand(conn, renderKillGroup(pgid, "TERM", asRoot, target.user), where);
      timers.push(setTimeout(() => void this.sideCommand(conn, renderKillGroup(pgid!, "KILL", asRoot, target.user), where), KILL_GRACE_MS));
    };
    const stop = (reason: ExecError) => {
      if (stopReason) return;
      stopReason = reason;
      kill();
      timers.push(setTimeout(() => stream.close(), KILL_GRACE_MS * 2));
    };
    const onAbort = () => stop(new CancelledError(`cancelled: ${describeCommand(cmd)} on ${where}`, where));
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (cmd.timeoutMs)
      timers.push(setTimeout(() => stop(new TimeoutError(`${describeCommand(cmd)} on ${where} did not finish within ${cmd.timeoutMs! / 1000} s`, where)), cmd.timeoutMs));

    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    stream.on("exit", (code: number | null, signal?: string) => {
      exitCode = code;
      exitSignal = signal ?? null;
    });
    stream.on("close", () => {
      for (const t of timers) clearTimeout(t);
      opts.signal?.removeEventListener("abort", onAbort);
      for (const which of ["stdout", "stderr"] as const) if (partial[which]) opts.onLine?.(which, hide(partial[which]));
      if (stopReason) return reject(stopReason);
      if (exitCode === null) {
        const lines = hide(`${captured.stdout}\n${captured.stderr}`).split("\n").filter(Boolean).slice(-LAST_LINES);
        return reject(new CommandFailedError(where, describeCommand(cmd), null, exitSignal ?? "connection lost", lines));
      }
      resolve({ exitCode, stdout: hide(captured.stdout), stderr: hide(captured.stderr), durationMs: Date.now() - started, truncated });
    });

    const input = cmd.stdin;
    if (input === undefined) stream.end();
    else stream.end(typeof input === "string" || Buffer.isBuffer(input) ? input : input.reveal());
  }
}
