// The only code that touches SSH. One pooled connection per host (keepalive,
// bounded reconnect with backoff), one channel per command, at most
// `maxChannels` at once per connection (OpenSSH's MaxSessions is 10). A
// connection is never closed while it has open channels. The pinned host key is
// verified on every connection, before authentication.
//
// Nothing waits forever: a connect gives up after readyTimeoutMs (TCP connect
// included, so a host whose packets are dropped fails like one that refuses), a
// channel that does not open within channelOpenTimeoutMs marks its connection dead
// (a host cut off after the connection was made), keepalives notice a silent
// connection under running commands, and every command and upload has a timeout.
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { type Duplex, type Readable, Transform, type Writable } from "node:stream";
import ssh2, { type ClientChannel, type SFTPWrapper } from "ssh2";
import type { Secret } from "../secrets/secret";
import { type Command, describeCommand, PGID_MARKER, renderCancellable, renderKillGroup } from "../provision/command";
import { fingerprintOfBlob } from "./keys";
import { AuthFailedError, CancelledError, CommandFailedError, ExecError, ForwardFailedError, HostKeyMismatchError, HostKeyUnknownError, TimeoutError, UnreachableError } from "./errors";

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

export interface ConnectOptions {
  signal?: AbortSignal;
  /**
   * Connect attempts when there is no pooled connection yet (default: the
   * executor's connectAttempts). 1 answers "is this host reachable?" within one
   * readyTimeoutMs instead of retrying with backoff. A connect already in progress
   * is shared: a single-attempt caller gets the outcome of its current attempt.
   */
  connectAttempts?: number;
  /**
   * Called once when a new connection is not up after slowConnectMs (a host that does not
   * answer, a slow handshake): the caller says it is still trying, and for how long at most.
   */
  onSlowConnect?: (info: { timeoutMs: number }) => void;
}

export interface RunOptions extends ConnectOptions {
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
  /** The command's stdout, byte for byte, into this stream (with backpressure) instead of lines and the result: see pipe(). */
  stdoutTo?: Writable;
  /** The command's stdin from this stream (instead of cmd.stdin). */
  stdinFrom?: Readable;
}

export interface UploadOptions extends RunOptions {
  /** Default: the executor's uploadTimeoutMs. */
  timeoutMs?: number;
}

export type ForwardOptions = ConnectOptions;

export interface ReachableOptions {
  signal?: AbortSignal;
  /** The whole answer (connect if needed, open a channel, run `true`) within this time. Default: channelOpenTimeoutMs. */
  timeoutMs?: number;
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
  /** TCP connect + SSH handshake + authentication, per attempt. */
  readyTimeoutMs?: number;
  /** A channel (command, SFTP, forward) not opened within this time means the connection is dead. */
  channelOpenTimeoutMs?: number;
  /** For commands without their own timeoutMs. */
  commandTimeoutMs?: number;
  /** For each upload (SFTP or stdin), unless the call gives its own. */
  uploadTimeoutMs?: number;
  keepaliveMs?: number;
  /** Unanswered keepalives before the connection is declared dead (≈ keepaliveMs × (n + 1)). */
  keepaliveCountMax?: number;
  idleCloseMs?: number;
  connectAttempts?: number;
  /** After this long without a connection, onSlowConnect is called. */
  slowConnectMs?: number;
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
  /** Why the connection ended, when it was not closed on purpose. */
  lostReason: string | null = null;
  constructor(
    readonly client: Client,
    readonly hostKey: string,
    maxChannels: number,
  ) {
    this.slots = new Semaphore(maxChannels);
  }
}

/** A pooled connection, connected or on its way. */
class PoolEntry {
  conn: HostConnection | null = null;
  private failure: Error | null = null;
  private failureWaiters: Array<(e: Error) => void> = [];
  readonly promise: Promise<HostConnection>;
  constructor(
    readonly hostKey: string,
    start: (onAttemptFailed: (e: Error) => void) => Promise<HostConnection>,
  ) {
    this.promise = start((e) => this.attemptFailed(e));
    this.promise.then(
      (c) => {
        this.conn = c;
        this.failureWaiters = [];
      },
      (e: Error) => this.attemptFailed(e),
    );
  }
  private attemptFailed(e: Error) {
    this.failure ??= e;
    for (const w of this.failureWaiters.splice(0)) w(e);
  }
  /** Settles (never rejects) with the error of the first failed attempt. */
  firstFailure(): Promise<Error> {
    return this.failure ? Promise.resolve(this.failure) : new Promise((r) => this.failureWaiters.push(r));
  }
}

/** The host-key algorithms that can present a key of this type. */
function algorithmsFor(keyType: string): Array<"ssh-ed25519" | "rsa-sha2-512" | "rsa-sha2-256" | "ssh-rsa" | "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521"> | undefined {
  if (keyType === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  if (keyType === "ssh-ed25519" || keyType === "ecdsa-sha2-nistp256" || keyType === "ecdsa-sha2-nistp384" || keyType === "ecdsa-sha2-nistp521") return [keyType];
  return undefined;
}

// The login key is part of a connection's identity: another key must not reuse a session.
const keyOf = (t: Target) => `${t.user}@${t.address}:${t.port}#${createHash("sha256").update(t.privateKey.reveal()).digest("hex").slice(0, 16)}`;
const label = (t: Target) => `${t.name} (${t.address}:${t.port})`;
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`, or a rejection with `late()` after `ms`, or with a CancelledError when `signal` aborts. The work behind `p` is not stopped. */
function bounded<T>(p: Promise<T>, opts: { ms?: number; late?: () => Error; signal?: AbortSignal; cancelled?: () => Error }): Promise<T> {
  const { ms, late, signal, cancelled } = opts;
  if (ms === undefined && !signal) return p;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      reject(cancelled?.() ?? new Error("aborted"));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (ms !== undefined) timer = setTimeout(() => (finish(), reject(late?.() ?? new Error("timed out"))), Math.max(0, ms));
    p.then(
      (v) => (finish(), resolve(v)),
      (e: unknown) => (finish(), reject(e)),
    );
  });
}

export class SshExecutor {
  private readonly pool = new Map<string, PoolEntry>();
  private readonly opts: Required<ExecutorOptions>;
  private readonly idleTimer: NodeJS.Timeout;
  /** Counters for tests and benchmarks. channelsOpened counts commands (not SFTP, forwards or reachability probes). */
  readonly stats = { connectionsOpened: 0, channelsOpened: 0, forwardsOpened: 0 };

  constructor(opts: ExecutorOptions = {}) {
    this.opts = {
      // Below OpenSSH's MaxSessions (10): a closing session still counts on the server for a moment.
      maxChannels: 6,
      readyTimeoutMs: 10_000,
      channelOpenTimeoutMs: 10_000,
      commandTimeoutMs: 10 * 60_000,
      uploadTimeoutMs: 5 * 60_000,
      // A silent connection under a running command is declared dead after ≈15 s.
      keepaliveMs: 5_000,
      keepaliveCountMax: 2,
      idleCloseMs: 5 * 60_000,
      connectAttempts: 3,
      slowConnectMs: 2_000,
      captureLimit: 4 * 1024 * 1024,
      maxLineLength: 16 * 1024,
      ...opts,
    };
    this.idleTimer = setInterval(() => this.closeIdle(), Math.min(this.opts.idleCloseMs, 60_000));
    this.idleTimer.unref();
  }

  /** The pool now: connections open (and being opened), and channels in use on them (for /metrics). */
  poolStats(): { connections: number; connecting: number; channels: number } {
    let connections = 0;
    let connecting = 0;
    let channels = 0;
    for (const e of this.pool.values()) {
      if (e.conn) {
        connections++;
        channels += e.conn.channels;
      } else connecting++;
    }
    return { connections, connecting, channels };
  }

  /** Runs one command and resolves when it exits 0; rejects with a typed ExecError otherwise. */
  async run(target: Target, cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    return this.checked(target, cmd, await this.exec(target, cmd, opts));
  }

  /** Runs one command on the host's pooled connection and resolves with its exit code, whatever it is. */
  async exec(target: Target, cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    opts.signal?.throwIfAborted();
    const conn = await this.connection(target, opts);
    // Counted before waiting for a slot, so forget()/closeIdle never end a connection a caller is about to use.
    conn.channels++;
    const release = await conn.slots.acquire();
    try {
      if (opts.signal?.aborted) throw this.cancelled(target, describeCommand(cmd));
      return await this.execOn(conn, target, cmd, opts);
    } finally {
      conn.channels--;
      conn.lastUsed = Date.now();
      release();
    }
  }

  /**
   * Runs one command on a NEW connection (not the pool), closed afterwards: the
   * proof that new connections work (after a firewall change, say). The host key
   * is verified before authentication as always; errors are the same typed ones.
   * One connect attempt unless opts.connectAttempts says otherwise.
   */
  async execFresh(target: Target, cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    opts.signal?.throwIfAborted();
    const connecting = this.connectWithRetry(target, opts.connectAttempts ?? 1);
    let conn: HostConnection;
    try {
      conn = await bounded(connecting, { signal: opts.signal, cancelled: () => this.cancelled(target, describeCommand(cmd)) });
    } catch (err) {
      void connecting.then(
        (c) => this.endNow(c),
        () => {},
      );
      throw err;
    }
    conn.channels++;
    try {
      return await this.execOn(conn, target, cmd, opts);
    } finally {
      conn.channels--;
      this.endNow(conn);
    }
  }

  /**
   * Streams one host's command output into another host's command (a database dump
   * into a new replica): through this process, with backpressure, never held whole.
   * The sink's stdin ends only once the source exited 0; if the source fails, the sink
   * is cancelled before it sees the end of its input (a cut dump is never loaded as if
   * it were whole). Resolves when both exited 0; otherwise rejects with the first error.
   */
  async pipe(from: Target, source: Command, to: Target, sink: Command, opts: RunOptions = {}): Promise<{ bytes: number; durationMs: number }> {
    const started = Date.now();
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    let bytes = 0;
    const through = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const src = this.run(from, source, { signal, stdoutTo: through, onLine: (which, line) => opts.onLine?.(which, `${from.name}: ${line}`) }).then(
      () => void through.end(),
      (err: unknown) => {
        stop.abort(err);
        throw err;
      },
    );
    const dst = this.run(to, sink, { signal, stdinFrom: through, onLine: opts.onLine }).catch((err: unknown) => {
      stop.abort(err);
      throw err;
    });
    const [a, b] = await Promise.allSettled([src, dst]);
    // The source's failure is the cause when both failed (the sink was cancelled for it).
    if (a.status === "rejected") throw a.reason;
    if (b.status === "rejected") throw b.reason;
    return { bytes, durationMs: Date.now() - started };
  }

  /** Like run(), on a new connection: see execFresh. */
  async runFresh(target: Target, cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    return this.checked(target, cmd, await this.execFresh(target, cmd, opts));
  }

  /**
   * Proves the host answers: connects if there is no pooled connection (one
   * attempt), opens a channel on it and runs `true`, all within timeoutMs
   * (default channelOpenTimeoutMs). A pooled connection that cannot do that in time
   * is treated as dead (dropped and ended). Resolves with the time it took; rejects
   * with UnreachableError (or the typed error of the connect: host key, auth…).
   */
  async reachable(target: Target, opts: ReachableOptions = {}): Promise<{ ms: number }> {
    opts.signal?.throwIfAborted();
    const where = label(target);
    const timeoutMs = opts.timeoutMs ?? this.opts.channelOpenTimeoutMs;
    const started = Date.now();
    const left = () => timeoutMs - (Date.now() - started);
    const late = () => new UnreachableError(`${where} did not answer within ${seconds(timeoutMs)}`, where);
    const cancelled = () => this.cancelled(target, "reachability check");
    const conn = await bounded(this.connection(target, { connectAttempts: 1 }), { ms: left(), late, signal: opts.signal, cancelled });
    // Outside the channel limit, like the kill helper: a busy connection can still prove it is alive.
    conn.channels++;
    try {
      let exited!: Promise<number | null>;
      await this.openChannel(conn, where, "`true`", (cb) => conn.client.exec("true", cb), {
        attach: (stream: ClientChannel) => {
          exited = new Promise((resolve) => {
            let code: number | null = null;
            stream.on("exit", (c: number | null) => (code = c));
            stream.on("close", () => resolve(code));
          });
          stream.resume();
          stream.stderr.resume();
          stream.end();
        },
        discard: (stream: ClientChannel) => stream.close(),
        timeoutMs: Math.min(left(), this.opts.channelOpenTimeoutMs),
        signal: opts.signal,
        cancelled,
      });
      const code = await bounded(exited, {
        ms: left(),
        late: () => {
          this.markDead(conn, `it did not run \`true\` within ${seconds(timeoutMs)}`);
          return late();
        },
        signal: opts.signal,
        cancelled,
      });
      if (code === null) throw new UnreachableError(`${where}: the connection was lost${conn.lostReason ? ` (${conn.lostReason})` : ""}`, where);
      return { ms: Date.now() - started };
    } finally {
      conn.channels--;
      conn.lastUsed = Date.now();
    }
  }

  /**
   * A TCP connection from the host to address:port (its loopback, typically, or
   * any address the host can reach), carried by the host's pooled SSH connection
   * (direct-tcpip). The returned Duplex works as `tls.connect({ socket })`. It takes
   * one of the connection's channel slots until it closes (destroy() it when done);
   * aborting the signal closes it. Rejects with ForwardFailedError when the host
   * cannot connect there (nothing listening, forwarding disabled), UnreachableError
   * when the channel does not open within channelOpenTimeoutMs.
   */
  async forward(target: Target, address: string, port: number, opts: ForwardOptions = {}): Promise<Duplex> {
    opts.signal?.throwIfAborted();
    const where = label(target);
    const what = `forward to ${address}:${port}`;
    const cancelled = () => this.cancelled(target, what);
    const conn = await this.connection(target, opts);
    conn.channels++;
    let release: (() => void) | null = null;
    let stream: ClientChannel | null = null;
    try {
      const slot = conn.slots.acquire();
      release = await bounded(slot, { signal: opts.signal, cancelled }).catch((err: unknown) => {
        void slot.then((r) => r());
        throw err;
      });
      await this.openChannel(conn, where, what, (cb) => conn.client.forwardOut("127.0.0.1", 0, address, port, cb), {
        attach: (s: ClientChannel) => (stream = s),
        discard: (s: ClientChannel) => s.close(),
        signal: opts.signal,
        cancelled,
        forward: { address, port },
      });
    } catch (err) {
      conn.channels--;
      release?.();
      throw err;
    }
    this.stats.forwardsOpened++;
    const channel = stream as unknown as ClientChannel;
    // Socket-like: ssh2 emits "close" only once the readable side has ended, so a
    // destroyed (or aborted) forward drains what is left unread, and the remote end
    // finishing (EOF) finishes ours, as a net.Socket without allowHalfOpen does.
    // Either way the channel closes and its slot is released.
    const closeChannel = channel.destroy.bind(channel);
    channel.destroy = (() => {
      channel.resume();
      closeChannel();
      return channel;
    }) as typeof channel.destroy;
    channel.once("end", () => channel.end());
    let finished = false;
    const onAbort = () => channel.destroy();
    const finish = () => {
      if (finished) return;
      finished = true;
      conn.channels--;
      conn.lastUsed = Date.now();
      release?.();
      opts.signal?.removeEventListener("abort", onAbort);
    };
    channel.once("close", finish);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    return channel;
  }

  /** Writes a file atomically (temporary file + rename) with its mode and owner, within opts.timeoutMs (default uploadTimeoutMs). */
  async upload(target: Target, file: UploadFile, opts: UploadOptions = {}): Promise<void> {
    const content = typeof file.content === "string" ? Buffer.from(file.content) : Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content.reveal());
    const tmp = path.posix.join(path.posix.dirname(file.path), `.${path.posix.basename(file.path)}.rampart-${randomBytes(4).toString("hex")}`);
    const mode = (file.mode & 0o7777).toString(8).padStart(4, "0");
    const owner = `${file.owner ?? "root"}:${file.group ?? file.owner ?? "root"}`;
    const timeoutMs = opts.timeoutMs ?? this.opts.uploadTimeoutMs;
    const { timeoutMs: _t, ...runOpts } = opts;
    // Constant scripts; every value arrives as a positional argument.
    // chown before chmod: chown clears setuid/setgid bits. The trap removes the
    // temporary copy if anything fails (after a successful mv there is nothing left).
    const finish = 'set -e; trap \'rm -f -- "$3"\' EXIT; chown "$2" "$3"; chmod "$1" "$3"; mv -f -- "$3" "$4"';
    let viaSftp = false;
    if (target.user === "root") {
      try {
        await this.sftpWrite(target, tmp, content, { ...runOpts, timeoutMs });
        viaSftp = true;
      } catch (err) {
        // No SFTP subsystem (or it refused the write): fall back to stdin. A dead
        // host, a timeout or a cancel is not a reason to try again another way.
        if (err instanceof TimeoutError || err instanceof CancelledError) {
          // The partial temporary file: removed on a best-effort basis (the host may be gone).
          void this.exec(target, { argv: ["rm", "-f", "--", tmp], timeoutMs: this.opts.channelOpenTimeoutMs }, { connectAttempts: 1 }).catch(() => {});
        }
        if (err instanceof ExecError) throw err;
        viaSftp = false;
      }
    }
    if (viaSftp) {
      await this.run(target, { argv: ["sh", "-c", finish, "rampart-upload", mode, owner, tmp, file.path] }, runOpts);
    } else {
      const script = `set -e; trap 'rm -f -- "$3"' EXIT; umask 077; cat > "$3"; ${finish}`;
      await this.run(target, { argv: ["sh", "-c", script, "rampart-upload", mode, owner, tmp, file.path], stdin: content, timeoutMs }, runOpts);
    }
  }

  /** Closes every connection that has no open channel; waits for the others to finish. */
  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    const entries = [...this.pool.values()];
    this.pool.clear();
    const conns = await Promise.allSettled(entries.map((e) => e.promise));
    await Promise.all(
      conns.map(async (c) => {
        if (c.status !== "fulfilled") return;
        while (c.value.channels > 0) await sleep(50);
        this.endNow(c.value);
      }),
    );
  }

  /** Drops a host's pooled connection (after its key was re-pinned, say) once it is idle. */
  forget(target: Target): void {
    const entry = this.pool.get(keyOf(target));
    this.pool.delete(keyOf(target));
    void entry?.promise.then(
      (c) => this.endWhenIdle(c),
      () => {},
    );
  }

  private checked(target: Target, cmd: Command, result: RunResult): RunResult {
    if (result.exitCode !== 0) {
      const lines = `${result.stdout}\n${result.stderr}`.split("\n").filter((l) => l.trim() !== "");
      throw new CommandFailedError(label(target), describeCommand(cmd), result.exitCode, null, lines.slice(-LAST_LINES));
    }
    return result;
  }

  private cancelled(target: Target, what: string): CancelledError {
    return new CancelledError(`cancelled: ${what} on ${label(target)}`, label(target));
  }

  private endNow(c: HostConnection): void {
    c.closed = true;
    c.client.end();
  }

  private async endWhenIdle(c: HostConnection): Promise<void> {
    // One turn first: callers that were handed this connection count their channel in a microtask.
    do await sleep(50);
    while (c.channels > 0);
    this.endNow(c);
  }

  /** A connection that stopped answering: out of the pool and torn down, so its channels fail now and the next call reconnects. */
  private markDead(conn: HostConnection, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.lostReason ??= reason;
    for (const [key, e] of this.pool) if (e.conn === conn) this.pool.delete(key);
    // destroy, not end: a polite SSH disconnect would wait on a peer that does not answer.
    conn.client.destroy();
  }

  private closeIdle() {
    const now = Date.now();
    for (const [key, e] of this.pool) {
      const c = e.conn;
      if (c && c.channels === 0 && now - c.lastUsed > this.opts.idleCloseMs) {
        this.pool.delete(key);
        this.endNow(c);
      }
    }
  }

  private async connection(target: Target, opts: ConnectOptions = {}): Promise<HostConnection> {
    const key = keyOf(target);
    const pin = target.hostKey ?? "";
    let entry = this.pool.get(key);
    if (entry && (entry.hostKey !== pin || entry.conn?.closed)) {
      // Dead, or the pinned key changed: a new connection, verified against today's pin.
      this.pool.delete(key);
      const old = entry;
      void old.promise.then(
        (c) => (c.closed ? undefined : this.endWhenIdle(c)),
        () => {},
      );
      entry = undefined;
    }
    if (!entry) {
      const created = new PoolEntry(pin, (onAttemptFailed) => this.connectWithRetry(target, opts.connectAttempts ?? this.opts.connectAttempts, onAttemptFailed));
      this.pool.set(key, created);
      created.promise.then(
        (c) => {
          // Replaced while connecting (re-pinned): nobody will find it in the pool again.
          if (this.pool.get(key) !== created) void this.endWhenIdle(c);
        },
        () => {
          if (this.pool.get(key) === created) this.pool.delete(key);
        },
      );
      entry = created;
    }
    const single = (opts.connectAttempts ?? this.opts.connectAttempts) <= 1 && !entry.conn;
    const wait = single ? Promise.race([entry.promise, entry.firstFailure().then((e) => Promise.reject(e))]) : entry.promise;
    const slow = opts.onSlowConnect && !entry.conn ? setTimeout(() => opts.onSlowConnect!({ timeoutMs: this.opts.readyTimeoutMs }), this.opts.slowConnectMs) : undefined;
    try {
      return await bounded(wait, { signal: opts.signal, cancelled: () => this.cancelled(target, "connect") });
    } finally {
      clearTimeout(slow);
    }
  }

  private async connectWithRetry(target: Target, attempts: number, onAttemptFailed?: (e: Error) => void): Promise<HostConnection> {
    let delay = 500;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connect(target);
      } catch (err) {
        onAttemptFailed?.(err as Error);
        const transient = err instanceof UnreachableError || err instanceof TimeoutError;
        if (!transient || attempt >= attempts) throw err;
        await sleep(delay);
        delay *= 2;
      }
    }
  }

  private connect(target: Target): Promise<HostConnection> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      const where = label(target);
      let hostKeyError: ExecError | null = null;
      let settled = false;
      let tcpConnected = false;
      let conn: HostConnection | null = null;
      const pinned = target.hostKey?.trim().split(/\s+/).slice(0, 2) ?? null;
      client.on("connect", () => (tcpConnected = true));
      client.on("ready", () => {
        settled = true;
        // Small request/response packets: without this, Nagle and delayed ACKs add ~40 ms per command.
        client.setNoDelay(true);
        this.stats.connectionsOpened++;
        const c = new HostConnection(client, target.hostKey ?? "", this.opts.maxChannels);
        conn = c;
        client.on("close", () => {
          if (!c.closed) c.lostReason ??= "the connection closed";
          c.closed = true;
        });
        resolve(c);
      });
      client.on("error", (err: Error & { level?: string; code?: string }) => {
        if (settled) {
          // After the handshake: keepalive timeout, reset… The close that follows fails the open channels.
          if (conn) conn.lostReason ??= err.level === "client-timeout" ? `no answer to keepalives for ${seconds(this.opts.keepaliveMs * (this.opts.keepaliveCountMax + 1))}` : err.message;
          return;
        }
        settled = true;
        client.destroy();
        if (hostKeyError) return reject(hostKeyError);
        if (err.level === "client-authentication") return reject(new AuthFailedError(`${where} refused the key for ${target.user} (check the key is in ~${target.user}/.ssh/authorized_keys)`, where));
        if (err.level === "client-timeout" || /Timed out while waiting for handshake/.test(err.message)) {
          // ssh2's readyTimeout starts before the TCP connect: a host whose packets are dropped ends here too.
          return reject(
            tcpConnected
              ? new UnreachableError(`${where} accepted the connection but did not complete the SSH handshake within ${seconds(this.opts.readyTimeoutMs)}`, where)
              : new UnreachableError(`${where} is unreachable: no answer within ${seconds(this.opts.readyTimeoutMs)} (host down, or its packets are dropped)`, where),
          );
        }
        if (err.code && ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET"].includes(err.code))
          return reject(new UnreachableError(`${where} is unreachable: ${err.code}${err.code === "ECONNREFUSED" ? " (is sshd running on that port?)" : ""}`, where));
        reject(new UnreachableError(`${where}: ${err.message}`, where));
      });
      client.on("close", () => {
        if (!settled) {
          settled = true;
          reject(hostKeyError ?? new UnreachableError(`${where} closed the connection during the handshake`, where));
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
        keepaliveCountMax: this.opts.keepaliveCountMax,
        // Called before authentication: a wrong key means we never log in, let alone run anything.
        hostVerifier: (blob: Buffer) => {
          const nameLen = blob.readUInt32BE(0);
          const presented = { type: blob.subarray(4, 4 + nameLen).toString(), base64: blob.toString("base64"), fingerprint: fingerprintOfBlob(blob) };
          if (!pinned) {
            hostKeyError = new HostKeyUnknownError(where, presented);
            return false;
          }
          if (pinned[0] !== presented.type || pinned[1] !== presented.base64) {
            const expected = pinned[1] ? fingerprintOfBlob(Buffer.from(pinned[1], "base64")) : "a pinned key";
            hostKeyError = new HostKeyMismatchError(where, expected, presented);
            return false;
          }
          return true;
        },
      });
    });
  }

  /** Writes `content` to `file` over SFTP within opts.timeoutMs (counted once a channel slot is free). */
  private async sftpWrite(target: Target, file: string, content: Buffer, opts: RunOptions & { timeoutMs: number }): Promise<void> {
    const where = label(target);
    const late = () => new TimeoutError(`uploading ${file} to ${where} did not finish within ${seconds(opts.timeoutMs)}`, where);
    const cancelled = () => this.cancelled(target, `upload of ${file}`);
    const conn = await this.connection(target, opts);
    conn.channels++;
    const release = await conn.slots.acquire();
    const started = Date.now();
    let sftp: SFTPWrapper | null = null;
    let gaveUp = false;
    try {
      // The channel-open timeout judges the connection; the upload timeout only this upload.
      const opening = this.openChannel(conn, where, "sftp", (cb) => conn.client.sftp(cb), {
        attach: (s: SFTPWrapper) => {
          if (gaveUp) s.end();
          else sftp = s;
        },
        discard: (s: SFTPWrapper) => s.end(),
        requestErrorsAsIs: true,
        signal: opts.signal,
        cancelled,
      });
      await bounded(opening, { ms: opts.timeoutMs, late });
      const s = sftp as SFTPWrapper | null;
      if (!s) throw late();
      const writing = new Promise<void>((resolve, reject) => s.writeFile(file, content, { mode: 0o600 }, (err) => (err ? reject(err) : resolve())));
      await bounded(writing, { ms: opts.timeoutMs - (Date.now() - started), late, signal: opts.signal, cancelled });
    } finally {
      gaveUp = true;
      (sftp as SFTPWrapper | null)?.end();
      conn.channels--;
      conn.lastUsed = Date.now();
      release();
    }
  }

  /**
   * Opens a channel with `open` (exec, sftp, forwardOut), retrying briefly when a
   * session channel is refused because the server is still tearing down closed
   * sessions. `attach` runs synchronously in ssh2's callback: a command's output
   * and exit status may arrive in the same packet batch as the channel
   * confirmation, before a promise continuation could add listeners.
   *
   * If no channel opens within the timeout the connection is declared dead: a host
   * cut off the network never answers, and waiting for TCP to notice takes minutes.
   */
  private openChannel<T>(
    conn: HostConnection,
    where: string,
    what: string,
    open: (cb: (err: Error | undefined, ch: T) => void) => void,
    o: {
      attach: (ch: T) => void;
      discard: (ch: T) => void;
      timeoutMs?: number;
      signal?: AbortSignal;
      cancelled?: () => Error;
      forward?: { address: string; port: number };
      /** Pass on as they are the errors of a request refused on an open channel (an SFTP subsystem that is not there). */
      requestErrorsAsIs?: boolean;
      /** Called once if the channel is not open after slowConnectMs (a pooled connection whose host stopped answering). */
      onSlow?: (info: { timeoutMs: number }) => void;
    },
  ): Promise<void> {
    const timeoutMs = o.timeoutMs ?? this.opts.channelOpenTimeoutMs;
    return new Promise((resolve, reject) => {
      let attempt = 0;
      let done = false;
      const slow = o.onSlow ? setTimeout(() => o.onSlow!({ timeoutMs }), this.opts.slowConnectMs) : undefined;
      const lost = () => new UnreachableError(`${where}: the connection was lost${conn.lostReason ? ` (${conn.lostReason})` : ""}`, where);
      const finish = (err?: Error) => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        clearTimeout(slow);
        o.signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve();
        return true;
      };
      const timer = setTimeout(() => {
        this.markDead(conn, `no channel opened within ${seconds(timeoutMs)}`);
        finish(new UnreachableError(`${where} did not open a channel (${what}) within ${seconds(timeoutMs)}: the connection is treated as dead`, where));
      }, timeoutMs);
      const onAbort = () => finish(o.cancelled?.() ?? new Error("aborted"));
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener("abort", onAbort, { once: true });
      const tryOpen = () => {
        if (done) return;
        if (conn.closed) return finish(lost());
        try {
          open((err, ch) => {
            if (done) {
              if (!err) o.discard(ch); // opened after we gave up on it
              return;
            }
            if (!err) {
              o.attach(ch);
              finish();
              return;
            }
            const reason = (err as Error & { reason?: number | string }).reason;
            if (o.forward && typeof reason === "number") {
              const hint = reason === 1 ? " (is AllowTcpForwarding disabled in its sshd_config?)" : "";
              return finish(
                new ForwardFailedError(
                  `${where} could not connect to ${o.forward.address}:${o.forward.port}: ${err.message.replace(/^\(SSH\) Channel open failure: /, "") || "refused"}${hint}`,
                  where,
                ),
              );
            }
            if (o.requestErrorsAsIs && reason === undefined && !conn.closed) return finish(err);
            if (!o.forward && /open failed/i.test(err.message) && attempt < 6 && !conn.closed) {
              attempt++;
              setTimeout(tryOpen, 50 * 2 ** attempt);
              return;
            }
            finish(conn.closed ? lost() : new UnreachableError(`${where}: could not open a channel: ${err.message}`, where));
          });
        } catch (err) {
          // ssh2 throws "Not connected" synchronously when the socket is already gone.
          finish(conn.closed ? lost() : new UnreachableError(`${where}: could not open a channel: ${(err as Error).message}`, where));
        }
      };
      tryOpen();
    });
  }

  /** Runs a short helper command (a kill) on a connection, outside the channel limit. */
  private async sideCommand(conn: HostConnection, line: string, where: string): Promise<void> {
    let done!: () => void;
    const closed = new Promise<void>((r) => (done = r));
    const opened = await this.openChannel(conn, where, "kill", (cb) => conn.client.exec(line, cb), {
      attach: (stream: ClientChannel) => {
        stream.on("close", () => done());
        stream.on("data", () => {});
        stream.stderr.on("data", () => {});
        stream.end();
      },
      discard: (stream: ClientChannel) => stream.close(),
    }).then(
      () => true,
      () => false,
    );
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
    await this.openChannel(conn, where, describeCommand(cmd).slice(0, 80), (cb) => conn.client.exec(line, cb), {
      attach: (stream: ClientChannel) => this.attachCommand(stream, conn, target, cmd, opts, started, hide, asRoot, settle),
      // No signal here: once the exec request went out, a cancel must go through the kill in attachCommand.
      discard: (stream: ClientChannel) => stream.close(),
      onSlow: opts.onSlowConnect,
    });
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
    const sink = opts.stdoutTo;
    if (sink) {
      stream.on("data", (d: Buffer) => {
        if (!sink.write(d)) {
          stream.pause();
          sink.once("drain", () => stream.resume());
        }
      });
    } else stream.on("data", (d: Buffer) => emit("stdout", d.toString("utf8")));
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
    const timeoutMs = cmd.timeoutMs ?? this.opts.commandTimeoutMs;
    timers.push(setTimeout(() => stop(new TimeoutError(`${describeCommand(cmd)} on ${where} did not finish within ${seconds(timeoutMs)}`, where)), timeoutMs));

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
      if (exitCode === null && conn.closed)
        return reject(new UnreachableError(`${where}: the connection was lost while running ${describeCommand(cmd)}${conn.lostReason ? ` (${conn.lostReason})` : ""}`, where));
      if (exitCode === null) {
        const lines = hide(`${captured.stdout}\n${captured.stderr}`).split("\n").filter(Boolean).slice(-LAST_LINES);
        return reject(new CommandFailedError(where, describeCommand(cmd), null, exitSignal ?? "connection lost", lines));
      }
      resolve({ exitCode, stdout: hide(captured.stdout), stderr: hide(captured.stderr), durationMs: Date.now() - started, truncated });
    });

    const input = cmd.stdin;
    if (opts.stdinFrom) opts.stdinFrom.pipe(stream);
    else if (input === undefined) stream.end();
    else stream.end(typeof input === "string" || Buffer.isBuffer(input) ? input : input.reveal());
  }
}
