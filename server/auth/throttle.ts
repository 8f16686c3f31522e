// Login throttling, per account and per source address. Past a few failures, each
// further attempt must wait, doubling up to a bounded delay; the correct password
// works again once that delay has passed. Attempts made while throttled are refused
// before the password is checked and do not count.
//
// So that throttling cannot become a lockout an attacker uses against a real user:
//  - the tight limit is per (account, address): guessing from elsewhere does not
//    slow the real user down;
//  - the account-wide limit (many addresses guessing one account) is looser and is
//    skipped for addresses that have signed in to that account successfully before;
//  - every delay is bounded by maxDelayMs.
//
// The counts live in a ThrottleStore: in memory for one process, or in Redis
// (RedisThrottleStore) so that every console process of an installation sees the same
// counts and attempts for one (account, address) take turns across processes.
export interface ThrottleConfig {
  /** Failures allowed per (account, address) before delays start. */
  freeAttempts: number;
  /** Failures allowed per account (all addresses) before delays start. */
  perAccountFreeAttempts: number;
  /** Failures allowed per address (all accounts) before delays start. */
  perAddressFreeAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures are forgotten after this long without one. */
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleConfig = {
  freeAttempts: 5,
  perAccountFreeAttempts: 20,
  perAddressFreeAttempts: 50,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  windowMs: 15 * 60_000,
};

export interface Entry {
  failures: number;
  lastFailure: number;
}

/** Where the counts live. Each method is atomic on its key. */
export interface ThrottleStore {
  get(key: string): Promise<Entry | undefined>;
  /** Counts one failure at `now`: a fresh count if the last was more than windowMs ago. Forgotten after windowMs. */
  bump(key: string, now: number, windowMs: number): Promise<void>;
  /** Records `at` (a success) under `key` for ttlMs. */
  mark(key: string, at: number, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Runs fn while holding `key` against every other holder of the store. */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** One process's counts. */
export class MemoryThrottleStore implements ThrottleStore {
  private readonly entries = new Map<string, Entry & { until: number }>();
  async get(key: string) {
    return this.entries.get(key);
  }
  async bump(key: string, now: number, windowMs: number) {
    const e = this.entries.get(key);
    const fresh = !e || now - e.lastFailure > windowMs;
    this.entries.set(key, { failures: fresh ? 1 : e.failures + 1, lastFailure: now, until: now + windowMs });
    if (this.entries.size > 100_000) this.prune(now);
  }
  async mark(key: string, at: number, ttlMs: number) {
    this.entries.set(key, { failures: 0, lastFailure: at, until: at + ttlMs });
  }
  async delete(key: string) {
    this.entries.delete(key);
  }
  async exclusive<T>(_key: string, fn: () => Promise<T>) {
    return fn(); // LoginThrottle already queues one process's attempts
  }
  private prune(now: number) {
    for (const [k, e] of this.entries) if (e.until < now) this.entries.delete(k);
  }
}

const KNOWN_ADDRESS_MS = 30 * 24 * 3600_000;

/**
 * The source a sign-in attempt is counted against: an IPv4 address (also written as
 * IPv4-mapped IPv6), or an IPv6 address's /64 — one machine, or one customer of an
 * ISP, commonly holds a whole /64 and could otherwise try from a fresh address each time.
 */
export function throttleSource(address: string): string {
  const a = address
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(":")) return a;
  const [head, tail] = a.includes("::") ? (a.split("::") as [string, string]) : [a, null];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  // An embedded IPv4 tail counts as two groups.
  const last = right.length ? right : left;
  if (last.length && last[last.length - 1]!.includes(".")) {
    const v4 = last.pop()!.split(".").map(Number);
    last.push(((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16));
  }
  const groups = tail === null ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return a;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

export class LoginThrottle {
  constructor(
    readonly config: ThrottleConfig = DEFAULT_THROTTLE,
    private readonly store: ThrottleStore = new MemoryThrottleStore(),
  ) {}

  private async delayFor(key: string, free: number, now: number): Promise<number> {
    const e = await this.store.get(key);
    if (!e || now - e.lastFailure > this.config.windowMs || e.failures < free) return 0;
    const delay = Math.min(this.config.maxDelayMs, this.config.baseDelayMs * 2 ** (e.failures - free));
    return Math.max(0, e.lastFailure + delay - now);
  }

  /** Milliseconds the caller must still wait before an attempt is considered (0: go ahead). */
  async retryAfterMs(account: string, rawAddress: string, now = Date.now()): Promise<number> {
    const address = throttleSource(rawAddress);
    const known = await this.store.get(`known:${account}|${address}`);
    const isKnown = known !== undefined && now - known.lastFailure < KNOWN_ADDRESS_MS;
    const delays = await Promise.all([
      this.delayFor(`pair:${account}|${address}`, this.config.freeAttempts, now),
      this.delayFor(`addr:${address}`, this.config.perAddressFreeAttempts, now),
      isKnown ? 0 : this.delayFor(`acct:${account}`, this.config.perAccountFreeAttempts, now),
    ]);
    return Math.max(...delays);
  }

  private readonly queues = new Map<string, Promise<unknown>>();

  /**
   * Runs sign-in attempts for one (account, address) one after another, in this
   * process and across processes sharing the store, so parallel requests cannot all
   * pass the check before the first failure is counted.
   */
  serialize<T>(account: string, rawAddress: string, fn: () => Promise<T>): Promise<T> {
    const key = `${account}|${throttleSource(rawAddress)}`;
    const run = () => this.store.exclusive(`turn:${key}`, fn);
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(run, run);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }

  async recordFailure(account: string, rawAddress: string, now = Date.now()): Promise<void> {
    const address = throttleSource(rawAddress);
    await Promise.all([`pair:${account}|${address}`, `addr:${address}`, `acct:${account}`].map((key) => this.store.bump(key, now, this.config.windowMs)));
  }

  async recordSuccess(account: string, rawAddress: string, now = Date.now()): Promise<void> {
    const address = throttleSource(rawAddress);
    await this.store.delete(`pair:${account}|${address}`);
    await this.store.mark(`known:${account}|${address}`, now, KNOWN_ADDRESS_MS);
  }
}
