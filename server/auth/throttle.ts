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

interface Entry {
  failures: number;
  lastFailure: number;
}

const KNOWN_ADDRESS_MS = 30 * 24 * 3600_000;

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly known = new Map<string, number>();
  constructor(readonly config: ThrottleConfig = DEFAULT_THROTTLE) {}

  private delayFor(key: string, free: number, now: number): number {
    const e = this.entries.get(key);
    if (!e || now - e.lastFailure > this.config.windowMs || e.failures < free) return 0;
    const delay = Math.min(this.config.maxDelayMs, this.config.baseDelayMs * 2 ** (e.failures - free));
    return Math.max(0, e.lastFailure + delay - now);
  }

  /** Milliseconds the caller must still wait before an attempt is considered (0: go ahead). */
  retryAfterMs(account: string, address: string, now = Date.now()): number {
    const knownAt = this.known.get(`${account}|${address}`);
    const isKnown = knownAt !== undefined && now - knownAt < KNOWN_ADDRESS_MS;
    return Math.max(
      this.delayFor(`pair:${account}|${address}`, this.config.freeAttempts, now),
      this.delayFor(`addr:${address}`, this.config.perAddressFreeAttempts, now),
      isKnown ? 0 : this.delayFor(`acct:${account}`, this.config.perAccountFreeAttempts, now),
    );
  }

  private readonly queues = new Map<string, Promise<unknown>>();

  /**
   * Runs sign-in attempts for one (account, address) one after another, so parallel
   * requests cannot all pass the check before the first failure is counted.
   */
  serialize<T>(account: string, address: string, fn: () => Promise<T>): Promise<T> {
    const key = `${account}|${address}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }

  recordFailure(account: string, address: string, now = Date.now()): void {
    for (const key of [`pair:${account}|${address}`, `addr:${address}`, `acct:${account}`]) {
      const e = this.entries.get(key);
      const fresh = !e || now - e.lastFailure > this.config.windowMs;
      this.entries.set(key, { failures: fresh ? 1 : e.failures + 1, lastFailure: now });
    }
    if (this.entries.size > 100_000) this.prune(now);
  }

  recordSuccess(account: string, address: string, now = Date.now()): void {
    this.entries.delete(`pair:${account}|${address}`);
    this.known.set(`${account}|${address}`, now);
  }

  private prune(now: number) {
    for (const [k, e] of this.entries) if (now - e.lastFailure > this.config.windowMs) this.entries.delete(k);
    for (const [k, at] of this.known) if (now - at > KNOWN_ADDRESS_MS) this.known.delete(k);
  }
}
