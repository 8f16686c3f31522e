// A run's journal: its phases in the database, with what each did and how far the
// run got. Kinds write it through ctx.journal; the worker that takes a run over
// reads it to skip the phases already done, and to learn which phase its
// predecessor died in (the one left "running").
import type { Db } from "@/server/db";
import { type RunReporter, toPhaseDto } from "@/server/queue/run-events";
import type { RunPhaseDto } from "@/server/schemas/run";

export class RunJournal {
  constructor(
    private readonly db: Db,
    private readonly reporter: RunReporter,
    readonly runId: string,
  ) {}

  /** The phases, in the order they were first started. */
  async list(): Promise<RunPhaseDto[]> {
    const rows = await this.db.runPhase.findMany({ where: { runId: this.runId }, orderBy: { position: "asc" } });
    return rows.map(toPhaseDto);
  }

  /** Marks a phase running; starting it again (after a takeover) counts another attempt. */
  async start(name: string): Promise<void> {
    const key = { runId_name: { runId: this.runId, name } };
    const existing = await this.db.runPhase.findUnique({ where: key });
    if (existing) {
      await this.db.runPhase.update({ where: key, data: { status: "running", startedAt: new Date(), finishedAt: null, error: null, attempts: { increment: 1 } } });
    } else {
      const position = await this.db.runPhase.count({ where: { runId: this.runId } });
      await this.db.runPhase.create({ data: { runId: this.runId, name, position, status: "running" } });
    }
    const again = existing ? ` again (attempt ${existing.attempts + 1})` : "";
    await this.reporter.emit("info", `Phase '${name}' started${again}`, null, { phase: name, status: "running" });
  }

  /** Marks a phase done, with what it recorded (never secrets: registered ones are redacted anyway). */
  async finish(name: string, data?: Record<string, unknown> | null): Promise<void> {
    await this.db.runPhase.update({
      where: { runId_name: { runId: this.runId, name } },
      data: { status: "done", finishedAt: new Date(), ...(data ? { data: this.reporter.redact(JSON.stringify(data)) } : {}) },
    });
    await this.reporter.emit("info", `Phase '${name}' done`, null, { phase: name, status: "done" });
  }

  /** Marks a phase failed with the reason. */
  async fail(name: string, error: string): Promise<void> {
    const reason = this.reporter.redact(error);
    await this.db.runPhase.update({ where: { runId_name: { runId: this.runId, name } }, data: { status: "failed", finishedAt: new Date(), error: reason } });
    await this.reporter.emit("error", `Phase '${name}' failed: ${reason}`, null, { phase: name, status: "failed" });
  }
}
