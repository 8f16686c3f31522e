// A long run written straight into Rampart's database (for e2e/run-log.spec.ts and
// bench/run-page.ts): what a busy apply on three hosts leaves behind, made up the
// same way every time, so a test can count what each filter should find.
import type { Db } from "@/server/db";
import type { EventLevel } from "@/server/schemas/run";

export const SEED_HOSTS = ["web-1", "web-2", "db-1"] as const;

export interface SeededEvent {
  seq: number;
  level: EventLevel;
  host: string | null;
  text: string;
  data: Record<string, unknown> | null;
}

/** "#000123": in every seeded line, so a search finds exactly one. */
export const seedTag = (seq: number) => `#${String(seq).padStart(6, "0")}`;

/** Event `seq` of a run of `total` (the first says "running"; the last "succeeded" when the run ended). */
export function seededEvent(seq: number, total: number, ended: boolean): SeededEvent {
  if (seq === 1) return { seq, level: "status", host: null, text: "running", data: null };
  if (ended && seq === total) return { seq, level: "status", host: null, text: "succeeded", data: null };
  const host = SEED_HOSTS[seq % SEED_HOSTS.length]!;
  const tag = seedTag(seq);
  if (seq % 1000 === 7) return { seq, level: "error", host, text: `${tag} E: could not reach the mirror, retrying`, data: null };
  if (seq % 100 === 3) return { seq, level: "warn", host, text: `${tag} the unit took longer than expected to reload`, data: null };
  if (seq % 10 === 1)
    return seq % 50 === 11
      ? { seq, level: "debug", host, text: `${tag} reusing the SSH connection`, data: null }
      : { seq, level: "debug", host, text: `$ apt-get install -y nginx # ${tag}`, data: null };
  if (seq % 10 === 2) return { seq, level: "progress", host, text: `${tag} step ${Math.floor(seq / 10)}`, data: { done: Math.floor(seq / 10), total: Math.ceil(total / 10) } };
  if (seq % 25 === 0) return { seq, level: "info", host: null, text: `${tag} batch checked`, data: null };
  return { seq, level: "output", host, text: `${tag} Setting up package ${seq % 97} (1.${seq % 13}.${seq % 7}) ...`, data: null };
}

/** Inserts a run and its `events` events; returns the run's id. A running run's createdAt is "now" once seeded. */
export async function seedRun(db: Db, opts: { events: number; ended: boolean; startedAt?: Date }): Promise<string> {
  const startedAt = opts.startedAt ?? new Date(Date.now() - opts.events);
  const run = await db.run.create({
    data: {
      kind: "system-check",
      requestedBy: "seeded long run",
      status: opts.ended ? "succeeded" : "running",
      startedAt,
      finishedAt: opts.ended ? new Date(startedAt.getTime() + opts.events) : null,
      outcome: opts.ended ? `${opts.events} events, seeded` : null,
    },
  });
  const CHUNK = 2_000;
  for (let from = 1; from <= opts.events; from += CHUNK) {
    const rows = [];
    for (let seq = from; seq < from + CHUNK && seq <= opts.events; seq++) {
      const e = seededEvent(seq, opts.events, opts.ended);
      rows.push({ runId: run.id, seq, time: new Date(startedAt.getTime() + seq), level: e.level, host: e.host, text: e.text, data: e.data ? JSON.stringify(e.data) : null });
    }
    await db.runEvent.createMany({ data: rows });
  }
  // The worker's reconciler fails a running run without a job a minute after createdAt: count from now.
  if (!opts.ended) await db.run.update({ where: { id: run.id }, data: { createdAt: new Date() } });
  return run.id;
}
