// The system check: is everything Rampart itself depends on healthy? One event per
// check, then an outcome. Safe to run again from the start if a worker dies mid-way.
import { statfs, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { SystemCheckInput } from "@/server/schemas/run";
import { inspectRedisConfig } from "@/server/queue/redis-config";
import type { KindContext, RunKindHandler } from "./types";

type Verdict = "ok" | "warn" | "fail";
interface Check {
  name: string;
  run(ctx: KindContext<SystemCheckInput>): Promise<{ verdict: Verdict; detail: string }>;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const gb = (bytes: number) => `${(bytes / 1024 / 1024 / 1024).toFixed(1)} GB`;
const ms = (start: bigint) => `${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms`;

const checks: Check[] = [
  {
    name: "Database",
    async run({ db, env }) {
      const t0 = process.hrtime.bigint();
      await db.$queryRawUnsafe("SELECT 1");
      const latency = ms(t0);
      const migrations = (await db.$queryRawUnsafe("SELECT COUNT(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL")) as Array<{ n: number | bigint }>;
      const file = env.DATABASE_URL.slice("file:".length);
      const size = await stat(file).then(
        (s) => mb(s.size),
        () => "size unknown",
      );
      return { verdict: "ok", detail: `SQLite at ${file} answers in ${latency}; ${Number(migrations[0]?.n ?? 0)} migration(s) applied; ${size}` };
    },
  },
  {
    name: "Redis",
    async run({ redis }) {
      const t0 = process.hrtime.bigint();
      await redis.ping();
      const latency = ms(t0);
      const info = await redis.info("server");
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
      const config = await inspectRedisConfig(redis);
      const notes = [...config.problems, ...config.warnings];
      const settings = `appendonly ${config.appendonly ?? "?"}, maxmemory-policy ${config.maxmemoryPolicy ?? "?"}`;
      if (config.problems.length > 0) return { verdict: "fail", detail: `Redis ${version} answers in ${latency}, but ${notes.join("; ")}` };
      if (notes.length > 0) return { verdict: "warn", detail: `Redis ${version} answers in ${latency}, but ${notes.join("; ")}` };
      return { verdict: "ok", detail: `Redis ${version} answers PING in ${latency}; ${settings}` };
    },
  },
  {
    name: "Job queue",
    async run({ queue }) {
      const c = await queue.getJobCounts("waiting", "active", "delayed", "failed");
      return { verdict: "ok", detail: `${c.waiting ?? 0} waiting, ${c.active ?? 0} active, ${c.delayed ?? 0} delayed, ${c.failed ?? 0} failed` };
    },
  },
  {
    name: "Disk space",
    async run({ env }) {
      const s = await statfs(env.DATA_DIR);
      const free = s.bavail * s.bsize;
      const total = s.blocks * s.bsize;
      const detail = `${gb(free)} free of ${gb(total)} (${((free / total) * 100).toFixed(0)}%) for ${env.DATA_DIR}`;
      if (free < env.DISK_MIN_FREE_MB * 1024 * 1024) return { verdict: "fail", detail: `${detail}; below DISK_MIN_FREE_MB (${env.DISK_MIN_FREE_MB} MB)` };
      if (free / total < 0.05) return { verdict: "warn", detail: `${detail}; less than 5% left` };
      return { verdict: "ok", detail };
    },
  },
];

export const systemCheck: RunKindHandler<typeof SystemCheckInput> = {
  input: SystemCheckInput,
  async run(ctx) {
    const { reporter, input, signal } = ctx;
    if (ctx.resumed) await reporter.info("Starting the checks again from the first one (they only read state).");
    const tally: Record<Verdict, number> = { ok: 0, warn: 0, fail: 0 };
    for (const [i, check] of checks.entries()) {
      if (i > 0 && input.delayBetweenChecksMs > 0) await sleep(input.delayBetweenChecksMs, undefined, { signal });
      signal.throwIfAborted();
      let result: { verdict: Verdict; detail: string };
      try {
        result = await check.run(ctx);
      } catch (err) {
        result = { verdict: "fail", detail: err instanceof Error ? err.message : String(err) };
      }
      tally[result.verdict]++;
      const level = result.verdict === "ok" ? "info" : result.verdict === "warn" ? "warn" : "error";
      await reporter.emit(level, `[${i + 1}/${checks.length}] ${check.name}: ${result.verdict.toUpperCase()} — ${result.detail}`);
    }
    const summary = `${tally.ok} passed, ${tally.warn} warning${tally.warn === 1 ? "" : "s"}, ${tally.fail} failed`;
    return { status: tally.fail > 0 ? "failed" : "succeeded", outcome: summary };
  },
};
