// Following a run live. One Redis subscriber per web process fans events out to
// every open stream; the database fills whatever pub/sub missed (before the
// subscription, across a Redis blip, or after a client reconnect).
import { observeEventDelivery } from "../metrics";
import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import type { Db } from "../db";
import { redisKeys } from "./names";
import { RunEventSchema, type RunEventDto } from "../schemas/run";
import { isTerminalStatusEvent, toEventDto } from "./run-events";

export class EventHub {
  private readonly emitter = new EventEmitter();
  private readonly counts = new Map<string, number>();

  constructor(private readonly subscriber: Redis) {
    this.emitter.setMaxListeners(0);
    subscriber.on("message", (channel: string, message: string) => {
      this.emitter.emit(channel, message);
    });
  }

  /** Resolves once Redis has confirmed the subscription, so nothing published after it is missed. */
  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    this.emitter.on(channel, listener);
    const n = (this.counts.get(channel) ?? 0) + 1;
    this.counts.set(channel, n);
    try {
      await this.subscriber.subscribe(channel);
    } catch (err) {
      this.emitter.off(channel, listener);
      this.release(channel);
      throw err;
    }
    return async () => {
      this.emitter.off(channel, listener);
      if (this.release(channel) === 0) await this.subscriber.unsubscribe(channel).catch(() => {});
    };
  }

  private release(channel: string): number {
    const left = (this.counts.get(channel) ?? 1) - 1;
    if (left <= 0) this.counts.delete(channel);
    else this.counts.set(channel, left);
    return Math.max(left, 0);
  }
}

export interface FollowOptions {
  db: Db;
  hub: EventHub | null;
  runId: string;
  afterSeq: number;
  signal?: AbortSignal;
  /** How often to look in the database in case pub/sub dropped something. */
  pollMs?: number;
}

/**
 * Yields every event of a run with seq > afterSeq, in order, exactly once, then
 * keeps yielding live events until the run's terminal status event or the signal.
 */
export async function* followRun(opts: FollowOptions): AsyncGenerator<RunEventDto> {
  const { db, hub, runId, signal } = opts;
  const pollMs = opts.pollMs ?? 2000;
  let last = opts.afterSeq;
  const inbox: RunEventDto[] = [];
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  const unsubscribe = hub
    ? await hub
        .subscribe(redisKeys.runEventsChannel(runId), (message) => {
          const parsed = RunEventSchema.safeParse(JSON.parse(message));
          if (parsed.success) {
            inbox.push(parsed.data);
            poke();
          }
        })
        .catch(() => null)
    : null;
  signal?.addEventListener("abort", poke, { once: true });

  const fromDb = async (uptoSeq?: number) => {
    const rows = await db.runEvent.findMany({
      where: { runId, seq: uptoSeq === undefined ? { gt: last } : { gt: last, lt: uptoSeq } },
      orderBy: { seq: "asc" },
      take: 1000,
    });
    return rows.map(toEventDto);
  };

  try {
    while (!signal?.aborted) {
      // Catch up from the record first (this also covers the first pass and polling).
      let ended = false;
      for (let page = await fromDb(); page.length > 0 && !signal?.aborted; page = await fromDb()) {
        for (const e of page) {
          if (e.seq !== last + 1) break; // a hole means the row is not committed yet; pub/sub or the next poll fills it
          last = e.seq;
          yield e;
          if (isTerminalStatusEvent(e)) ended = true;
        }
        if (page[page.length - 1]!.seq !== last) break;
      }
      if (ended) return;

      // Then live events, in order; a gap is filled from the database before going on.
      while (inbox.length > 0 && !signal?.aborted) {
        const e = inbox.shift()!;
        if (e.seq <= last) continue;
        if (e.seq > last + 1) {
          for (const missed of await fromDb(e.seq)) {
            if (missed.seq !== last + 1) break;
            last = missed.seq;
            yield missed;
          }
          if (e.seq !== last + 1) {
            inbox.unshift(e);
            break; // still a hole: wait for the database to catch up
          }
        }
        last = e.seq;
        observeEventDelivery(e.time);
        yield e;
        if (isTerminalStatusEvent(e)) return;
      }
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        // Wake at once only if there is something we can deliver now (not a hole).
        if (inbox.some((e) => e.seq <= last + 1) || signal?.aborted) poke();
      });
    }
  } finally {
    await unsubscribe?.();
  }
}
