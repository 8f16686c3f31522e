// Run events: written by the worker, stored in the database (the record), then
// published on Redis (the fast path for live followers). seq is assigned here,
// dense per run, so followers can resume after a reconnect without gaps or repeats.
import type { Redis } from "ioredis";
import { type Db, isPostgresDb } from "../db";
import { redisKeys } from "./names";
import { type EventLevel, type RunEventDto, type RunPhaseDto, type TerminalStatus, CLAIMABLE_STATUSES, PhaseStatus, isTerminal } from "../schemas/run";

const REDACTED = "[redacted]";

/** At most this many events go into one insert. */
const MAX_BATCH = 500;
/** Past this many events waiting to be stored, emit waits for the database (back-pressure). */
const HIGH_WATER = 5_000;
/** A batch the database refused (a blip) is tried again this many times before the error reaches the run. */
const STORE_ATTEMPTS = 4;

/**
 * Writes a run's events. Each event gets its seq at once (so order is fixed when it
 * is emitted), and is stored with the others emitted meanwhile: while one insert is
 * in flight, the next events queue up and go in the next one (one statement per
 * batch, in seq order), then each batch is published in order. A quiet run thus
 * stores each line at once; a busy one stores hundreds per statement.
 *
 * emit resolves as soon as the event is queued, except for status events (the run's
 * state changes: stored and published before it resolves) and when too many events
 * wait. flush() waits until everything emitted so far is stored, and reports a
 * batch the database kept refusing. A worker killed mid-batch loses only what was
 * not stored yet; stored events have no holes (each batch is one statement), so
 * the next worker continues the sequence after the last stored one.
 */
export class RunReporter {
  private readonly secrets = new Set<string>();
  private pending: RunEventDto[] = [];
  private draining: Promise<void> | null = null;
  private failure: unknown = null;

  private constructor(
    private readonly db: Db,
    private readonly publisher: Redis | null,
    readonly runId: string,
    private nextSeq: number,
  ) {}

  /** Continues a run's event sequence where the database left it (a resumed run keeps counting). */
  static async open(db: Db, publisher: Redis | null, runId: string): Promise<RunReporter> {
    return new RunReporter(db, publisher, runId, (await maxSeq(db, runId)) + 1);
  }

  /** Values that must never appear in an event (passwords, tokens, keys): replaced before storing. */
  addSecret(value: string): void {
    if (value.length < 4 || this.secrets.has(value)) return;
    this.secrets.add(value);
    this.byLength = null;
  }

  /** The secrets, longest first (a secret inside a longer one is redacted with it); kept sorted between additions. */
  private byLength: string[] | null = null;

  redact(text: string): string {
    this.byLength ??= [...this.secrets].sort((a, b) => b.length - a.length);
    let out = text;
    // A secret longer than the text cannot be in it: a run holding a thousand private
    // keys pays nothing for them on its short lines.
    for (const s of this.byLength) if (s.length <= out.length && out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  }

  info(text: string, host?: string) {
    return this.emit("info", text, host);
  }
  warn(text: string, host?: string) {
    return this.emit("warn", text, host);
  }
  error(text: string, host?: string) {
    return this.emit("error", text, host);
  }

  /** A line a remote command printed. */
  output(text: string, host: string) {
    return this.emit("output", text, host);
  }
  /** Step `done` of `total` on a host (the console draws a progress bar per host). */
  progress(host: string, done: number, total: number, text: string) {
    return this.emit("progress", text, host, { done, total });
  }

  /** Appends one event: seq order = storage order = publish order. */
  emit(level: EventLevel, text: string, host?: string | null, data?: Record<string, unknown>): Promise<RunEventDto> {
    const dto: RunEventDto = { runId: this.runId, seq: this.nextSeq++, time: new Date(), level, host: host ?? null, text: this.redact(text), data: data ?? null };
    this.pending.push(dto);
    this.draining ??= this.drain();
    if (level === "status" || this.pending.length > HIGH_WATER) return this.flush().then(() => dto);
    return Promise.resolve(dto);
  }

  /** Resolves once every event emitted so far is stored (and published); rejects with a storage error. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
    if (this.pending.length > 0) {
      // Left over from a batch the database refused: try again now.
      this.failure = null;
      this.draining = this.drain();
      await this.draining;
    }
    if (this.failure) {
      const err = this.failure;
      this.failure = null;
      throw err;
    }
  }

  private async drain(): Promise<void> {
    try {
      // Let the events emitted in this same tick join the first batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.pending.length > 0 && !this.failure) {
        const batch = this.pending.slice(0, MAX_BATCH);
        try {
          await this.store(batch);
        } catch (err) {
          this.failure = err;
          break;
        }
        this.pending.splice(0, batch.length);
        await publishEvents(this.publisher, batch);
      }
    } finally {
      this.draining = null;
    }
  }

  private async store(batch: RunEventDto[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await insertEvents(this.db, batch);
        return;
      } catch (err) {
        if (attempt >= STORE_ATTEMPTS) throw err;
        if (isUniqueViolation(err)) {
          // Another writer took these seqs (a worker that was presumed dead): continue after it,
          // renumbering everything not stored yet so the order stays the one of emission.
          let seq = (await maxSeq(this.db, this.runId)) + 1;
          for (const e of this.pending) e.seq = seq++;
          this.nextSeq = seq;
        } else {
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
        }
      }
    }
  }
}

/**
 * One statement per batch. On PostgreSQL, the batch goes as one array per column
 * through unnest (Prisma's createMany spends most of its time building the statement:
 * about 3,300 events/s against 20,000 this way, measured with bench/fleet.sh).
 */
async function insertEvents(db: Db, batch: RunEventDto[]): Promise<void> {
  const data = batch.map((e) => (e.data ? JSON.stringify(e.data) : null));
  if (isPostgresDb(db)) {
    await db.$executeRaw`INSERT INTO "RunEvent" ("runId", "seq", "time", "level", "host", "text", "data")
      SELECT * FROM unnest(${batch.map((e) => e.runId)}::text[], ${batch.map((e) => e.seq)}::int[], ${batch.map((e) => e.time.toISOString().slice(0, -1))}::timestamp(3)[],
        ${batch.map((e) => e.level)}::text[], ${batch.map((e) => e.host)}::text[], ${batch.map((e) => e.text)}::text[], ${data}::text[])`;
    return;
  }
  await db.runEvent.createMany({ data: batch.map((e, i) => ({ runId: e.runId, seq: e.seq, time: e.time, level: e.level, host: e.host, text: e.text, data: data[i] })) });
}

/** A stored event as followers and the API see it. */
export function toEventDto(r: { runId: string; seq: number; time: Date; level: string; host: string | null; text: string; data?: string | null }): RunEventDto {
  return { runId: r.runId, seq: r.seq, time: r.time, level: r.level as RunEventDto["level"], host: r.host, text: r.text, data: parseData(r.data) };
}

/** A stored journal phase as the API and the worker see it. */
export function toPhaseDto(r: { name: string; status: string; startedAt: Date; finishedAt: Date | null; attempts: number; data: string | null; error: string | null }): RunPhaseDto {
  return { name: r.name, status: PhaseStatus.catch("failed").parse(r.status), startedAt: r.startedAt, finishedAt: r.finishedAt, attempts: r.attempts, data: parseData(r.data), error: r.error };
}

function parseData(s: string | null | undefined): Record<string, unknown> | null {
  if (!s) return null;
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function maxSeq(db: Db, runId: string): Promise<number> {
  const agg = await db.runEvent.aggregate({ where: { runId }, _max: { seq: true } });
  return agg._max.seq ?? 0;
}

function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: string; meta?: { code?: string }; message?: string };
  // P2002 from createMany; from a raw statement, PostgreSQL's own 23505.
  return e.code === "P2002" || (e.code === "P2010" && (e.meta?.code === "23505" || /duplicate key|unique constraint/i.test(e.message ?? "")));
}

async function publishEvents(publisher: Redis | null, batch: RunEventDto[]): Promise<void> {
  if (!publisher || batch.length === 0) return;
  try {
    const pipeline = publisher.pipeline();
    for (const dto of batch) {
      const payload = JSON.stringify(dto);
      pipeline.publish(redisKeys.runEventsChannel(dto.runId), payload);
      if (dto.level === "status") pipeline.publish(redisKeys.runsChannel, payload);
    }
    await pipeline.exec();
  } catch {
    // Followers also poll the database, so a lost publish only delays an event.
  }
}

/**
 * Moves a run to a terminal state exactly once and tells followers. Returns false if
 * the run had already ended (another worker or the reconciler got there first).
 */
/** Tries to end a run this many times before giving up (the reconciler ends it then). */
const FINISH_ATTEMPTS = 4;

export async function finishRun(db: Db, reporter: RunReporter, status: TerminalStatus, outcome: string): Promise<boolean> {
  const redacted = reporter.redact(outcome);
  // Whoever sees the run ended sees every event it emitted before (all but this status
  // event). A storage error here is not the run's outcome: flush() reports it again later.
  await reporter.flush().catch(() => {});
  // One transaction: whoever sees the run ended also sees its journal closed. A busy
  // database may refuse to start it in time: try again, or the run would stay "running"
  // until the reconciler finds it.
  const end = () =>
    db.$transaction(async (tx) => {
      const { count } = await tx.run.updateMany({
        where: { id: reporter.runId, status: { in: [...CLAIMABLE_STATUSES] } },
        data: { status, outcome: redacted, finishedAt: new Date() },
      });
      if (count === 0) return false;
      await closeOpenPhases(tx, reporter.runId, redacted);
      return true;
    });
  let ended: boolean;
  for (let attempt = 1; ; attempt++) {
    try {
      ended = await end();
      break;
    } catch (err) {
      if (attempt >= FINISH_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
  if (!ended) return false;
  await reporter.emit("status", status);
  return true;
}

/** A phase still "running" when its run ends was cut short (cancel, failure, a refused takeover): the journal says why. */
export async function closeOpenPhases(db: Pick<Db, "runPhase">, runId: string, why: string): Promise<void> {
  await db.runPhase.updateMany({ where: { runId, status: "running" }, data: { status: "failed", error: why, finishedAt: new Date() } });
}

/**
 * Parks a running operation once its preview is recorded: the run waits for an
 * operator, no worker holds it, and its job completes. Returns false if the run
 * is no longer running, or a cancel was requested.
 */
export async function awaitConfirmation(db: Db, reporter: RunReporter, summary: string): Promise<boolean> {
  const { count } = await db.run.updateMany({
    // A cancel requested meanwhile wins: the caller then ends the run cancelled.
    where: { id: reporter.runId, status: "running", cancelRequestedAt: null },
    data: { status: "awaiting-confirmation", outcome: reporter.redact(`awaiting confirmation: ${summary}`) },
  });
  if (count === 0) return false;
  await reporter.emit("status", "awaiting-confirmation");
  return true;
}

export const isTerminalStatusEvent = (e: Pick<RunEventDto, "level" | "text">) => e.level === "status" && isTerminal(e.text);
